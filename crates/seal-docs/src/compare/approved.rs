//! The approved side, analysed once per document: every page rendered (PDF pages by
//! hayro, images as they are) to the same page size as the captures, cleaned the same
//! way, and read — by OCR, checked and corrected by the PDF's text layer when it has a
//! trustworthy one.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use image::{GrayImage, RgbImage};

use super::CompareError;
use super::text::{PageText, Weighing, align};
use crate::capture::{self, CaptureOptions};
use crate::page::{TextLine, TextReader};

/// Where a page's text came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextSource {
    /// OCR of the rendered page.
    Ocr,
    /// OCR of the rendered page, its letters taken from the PDF's text layer, which
    /// agreed with the OCR (what the text layer says is what the page shows).
    TextLayer,
}

impl TextSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            TextSource::Ocr => "ocr",
            TextSource::TextLayer => "text layer",
        }
    }
}

/// One approved page, ready to be compared with.
#[derive(Clone, Debug)]
pub struct ApprovedPage {
    /// 0-based page number in its document.
    pub index: usize,
    /// The cleaned page (grey), at the comparison's page size.
    pub image: GrayImage,
    pub text: PageText,
    pub source: TextSource,
    /// Share of dark pixels.
    pub ink_ratio: f32,
}

/// An approved document, analysed.
#[derive(Clone, Debug)]
pub struct ApprovedDocument {
    pub pages: Vec<ApprovedPage>,
}

/// Bounds on what an approved document may cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ApprovedLimits {
    /// Pages analysed at most (the rest are left out, and said so by `pages`).
    pub max_pages: usize,
    /// Resolution PDF pages are drawn at.
    pub dpi: f32,
    /// Pixels of one decoded image or drawn page, at most.
    pub max_page_pixels: u64,
}

impl Default for ApprovedLimits {
    fn default() -> Self {
        ApprovedLimits {
            max_pages: 50,
            dpi: 200.0,
            max_page_pixels: 40_000_000,
        }
    }
}

/// A text layer agreeing this well with the OCR of the same page is trusted.
pub const TEXT_LAYER_TRUST: f32 = 0.9;

/// Analyses an approved document (PDF, PNG or JPEG bytes).
pub fn analyse(
    bytes: &[u8],
    reader: &dyn TextReader,
    options: &CaptureOptions,
    limits: &ApprovedLimits,
) -> Result<ApprovedDocument, CompareError> {
    let (rendered, layer) = if bytes.starts_with(b"%PDF-") {
        (
            render_pdf(bytes, limits)?,
            text_layer(bytes, limits.max_pages),
        )
    } else {
        (
            vec![super::decode(bytes, limits.max_page_pixels)?],
            Vec::new(),
        )
    };
    let mut pages = Vec::with_capacity(rendered.len());
    for (index, rgb) in rendered.into_iter().enumerate() {
        let prepared = capture::prepare_flat(&rgb, options);
        let lines = reader.read(&prepared.page)?;
        let (lines, source) = match layer.get(index) {
            Some(layer) if !layer.trim().is_empty() => correct_by_layer(lines, layer),
            _ => (lines, TextSource::Ocr),
        };
        pages.push(ApprovedPage {
            index,
            image: image::DynamicImage::ImageRgb8(prepared.page).into_luma8(),
            text: PageText::new(lines),
            source,
            ink_ratio: prepared.ink_ratio,
        });
    }
    if pages.is_empty() {
        return Err(CompareError::Unreadable(
            "the document has no page that could be drawn".into(),
        ));
    }
    Ok(ApprovedDocument { pages })
}

/// Takes each OCR line's letters from the text layer where the two agree (similarity
/// at least [`TEXT_LAYER_TRUST`] over the page); else keeps the OCR.
fn correct_by_layer(lines: Vec<TextLine>, layer: &str) -> (Vec<TextLine>, TextSource) {
    let ocr = PageText::new(lines);
    let layer_text = PageText::new(vec![TextLine {
        text: layer.to_owned(),
        score: 1.0,
        quad: Default::default(),
    }]);
    let alignment = align(
        &ocr,
        &layer_text,
        &Weighing::default(),
        Duration::from_millis(300),
    );
    if alignment.cut_short || alignment.similarity < TEXT_LAYER_TRUST {
        return (ocr.lines, TextSource::Ocr);
    }
    // Each OCR line takes the layer's letters from its first paired letter up to the
    // next line's first paired letter (so a misread letter at a line's end stays).
    let mut first: Vec<Option<usize>> = vec![None; ocr.lines.len()];
    for &(i, j) in &alignment.equal {
        first[ocr.chars[i].line].get_or_insert(j);
    }
    let layer_chars: Vec<char> = layer_text.chars.iter().map(|p| p.c).collect();
    let mut lines = ocr.lines;
    for index in 0..lines.len() {
        let Some(start) = first[index] else {
            continue;
        };
        let end = first[index + 1..]
            .iter()
            .flatten()
            .next()
            .copied()
            .unwrap_or(layer_chars.len());
        if start < end {
            lines[index].text = layer_chars[start..end].iter().collect();
            lines[index].score = lines[index].score.max(0.99);
        }
    }
    (lines, TextSource::TextLayer)
}

/// The text layer of each page (empty strings where a page has none or it cannot be
/// read); nothing when lopdf cannot read the file.
fn text_layer(bytes: &[u8], max_pages: usize) -> Vec<String> {
    let parsed = catch_unwind(AssertUnwindSafe(|| lopdf::Document::load_mem(bytes)));
    let Ok(Ok(document)) = parsed else {
        return Vec::new();
    };
    let count = document.get_pages().len().min(max_pages);
    (1..=count as u32)
        .map(|page| {
            catch_unwind(AssertUnwindSafe(|| document.extract_text(&[page])))
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        })
        .collect()
}

/// Every page of a PDF drawn by hayro in colour at `limits.dpi` (less for huge pages).
fn render_pdf(bytes: &[u8], limits: &ApprovedLimits) -> Result<Vec<RgbImage>, CompareError> {
    use hayro::hayro_syntax::Pdf;
    use hayro::vello_cpu::color::palette::css::WHITE;
    use hayro::{PixmapSettings, RenderCache, RenderSettings};

    let data = Arc::new(bytes.to_vec());
    let pdf = catch_unwind(move || Pdf::new(data).ok())
        .ok()
        .flatten()
        .ok_or_else(|| CompareError::Unreadable("the PDF cannot be read".into()))?;
    let settings = crate::document::interpreter_settings();
    let cache = RenderCache::new();
    let mut pages = Vec::new();
    for page in pdf.pages().iter().take(limits.max_pages) {
        let (width_pt, height_pt) = page.render_dimensions();
        if !(width_pt.is_finite() && height_pt.is_finite() && width_pt >= 1.0 && height_pt >= 1.0) {
            continue;
        }
        let area = f64::from(width_pt) * f64::from(height_pt);
        let mut scale = limits.dpi / 72.0;
        if area * f64::from(scale * scale) > limits.max_page_pixels as f64 {
            scale = (limits.max_page_pixels as f64 / area).sqrt() as f32;
        }
        scale = scale.min(60_000.0 / width_pt).min(60_000.0 / height_pt);
        let drawn = catch_unwind(AssertUnwindSafe(|| {
            hayro::render(
                page,
                &cache,
                &settings,
                &RenderSettings::default(),
                &PixmapSettings {
                    x_scale: scale,
                    y_scale: scale,
                    bg_color: WHITE,
                },
            )
        }));
        let Ok(pixmap) = drawn else {
            continue;
        };
        let (w, h) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
        if w == 0 || h == 0 {
            continue;
        }
        // Opaque (drawn over white), so premultiplied samples are the colours.
        let rgb: Vec<u8> = pixmap
            .data_as_u8_slice()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        if let Some(image) = RgbImage::from_raw(w, h, rgb) {
            pages.push(image);
        }
    }
    if pages.is_empty() {
        return Err(CompareError::Unreadable(
            "no page of the PDF could be drawn".into(),
        ));
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::Point;

    fn line(text: &str, y: f32) -> TextLine {
        TextLine {
            text: text.into(),
            score: 0.8,
            quad: [
                Point { x: 0.0, y },
                Point { x: 100.0, y },
                Point {
                    x: 100.0,
                    y: y + 10.0,
                },
                Point {
                    x: 0.0,
                    y: y + 10.0,
                },
            ],
        }
    }

    #[test]
    fn a_text_layer_that_agrees_corrects_the_ocr() {
        let ocr = vec![
            line("采购合同", 0.0),
            line("甲方:上海云印信息科技有限公同", 20.0),
            line("金额 123,450.00 元整", 40.0),
        ];
        let layer = "采购合同\n甲方：上海云印信息科技有限公司\n金额 123,450.00 元整";
        let (lines, source) = correct_by_layer(ocr, layer);
        assert_eq!(source, TextSource::TextLayer);
        assert_eq!(lines[1].text, "甲方:上海云印信息科技有限公司");
        assert!(lines[1].score >= 0.99);
    }

    #[test]
    fn a_text_layer_that_disagrees_is_not_trusted() {
        let ocr = vec![
            line("采购合同", 0.0),
            line("甲方:上海云印信息科技有限公司", 20.0),
        ];
        let (lines, source) = correct_by_layer(ocr.clone(), "Invoice 2026 total due");
        assert_eq!(source, TextSource::Ocr);
        assert_eq!(lines, ocr);
    }
}
