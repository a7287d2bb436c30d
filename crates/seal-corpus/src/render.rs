//! Laid pages to pixels and to PDF: an SVG in millimetres rasterised with resvg at any
//! scale (the approved page at the corpus dpi, a capture's page larger), and a PDF with
//! a real text layer written by krilla with the same faces at the same positions.

use std::sync::Arc;

use krilla::Document as PdfDocument;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use resvg::tiny_skia;
use resvg::usvg;

use crate::CorpusError;
use crate::content::Style;
use crate::fonts::Fonts;
use crate::layout::{LaidPage, PAGE_H, PAGE_W};

/// Escapes text for SVG.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The page as an SVG document in millimetres; `paper` is the background colour and
/// `overlay` extra SVG drawn on top (a seal impression).
pub fn page_svg(
    page: &LaidPage,
    style: &Style,
    fonts: &Fonts,
    paper: &str,
    overlay: &str,
) -> String {
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{PAGE_W}" height="{PAGE_H}" viewBox="0 0 {PAGE_W} {PAGE_H}"><rect width="{PAGE_W}" height="{PAGE_H}" fill="{paper}"/>"#
    );
    for rule in &page.rules {
        svg.push_str(&format!(
            r#"<line x1="{:.3}" y1="{:.3}" x2="{:.3}" y2="{:.3}" stroke="{}" stroke-width="{:.3}"/>"#,
            rule.x0, rule.y0, rule.x1, rule.y1, rule.color, rule.width
        ));
    }
    for line in &page.lines {
        if line.text.trim().is_empty() {
            continue;
        }
        let face = fonts.face(style.font, line.bold);
        svg.push_str(&format!(
            r#"<text x="{:.3}" y="{:.3}" font-family="{}" font-weight="{}" font-size="{:.3}" fill="{}" xml:space="preserve">{}</text>"#,
            line.x,
            line.baseline,
            escape(&face.family),
            face.weight,
            line.size,
            line.color,
            escape(&line.text)
        ));
    }
    svg.push_str(overlay);
    svg.push_str("</svg>");
    svg
}

/// Parses an SVG with the corpus's fonts.
pub fn parse(svg: &str, fonts: &Fonts) -> Result<usvg::Tree, CorpusError> {
    let options = usvg::Options {
        font_family: fonts.sans.family.clone(),
        fontdb: Arc::clone(&fonts.db),
        ..usvg::Options::default()
    };
    usvg::Tree::from_str(svg, &options).map_err(|e| CorpusError::Render(e.to_string()))
}

/// Pixel size of a page at `px_per_mm`.
pub fn page_pixels(px_per_mm: f32) -> (u32, u32) {
    (
        (PAGE_W * px_per_mm).round().max(1.0) as u32,
        (PAGE_H * px_per_mm).round().max(1.0) as u32,
    )
}

/// Pixels per millimetre at `dpi`.
pub fn px_per_mm(dpi: u32) -> f32 {
    dpi as f32 / 25.4
}

/// Rasterises a parsed page at `px_per_mm`: premultiplied RGBA.
pub fn rasterise(tree: &usvg::Tree, px_per_mm: f32) -> Result<tiny_skia::Pixmap, CorpusError> {
    let (w, h) = page_pixels(px_per_mm);
    let mut pixmap = tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| CorpusError::Render(format!("cannot allocate {w} × {h} pixels")))?;
    let transform = tiny_skia::Transform::from_scale(
        w as f32 / tree.size().width(),
        h as f32 / tree.size().height(),
    );
    resvg::render(tree, transform, &mut pixmap.as_mut());
    Ok(pixmap)
}

/// An opaque pixmap as an RGB image.
pub fn to_rgb(pixmap: &tiny_skia::Pixmap) -> image::RgbImage {
    let mut out = image::RgbImage::new(pixmap.width(), pixmap.height());
    for (dst, src) in out.pixels_mut().zip(pixmap.pixels()) {
        let c = src.demultiply();
        *dst = image::Rgb([c.red(), c.green(), c.blue()]);
    }
    out
}

/// Encodes an RGB image as PNG.
pub fn png_bytes(img: &image::RgbImage) -> Result<Vec<u8>, CorpusError> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| CorpusError::Render(e.to_string()))?;
    Ok(out)
}

/// Points per millimetre.
const PT: f32 = 72.0 / 25.4;

fn parse_hex(color: &str) -> rgb::Color {
    let hex = color.trim_start_matches('#');
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    rgb::Color::new(byte(0), byte(2), byte(4))
}

/// The document's pages as a PDF with a text layer: every line drawn as text in the
/// embedded (subset) CJK face, at the positions of the PNG pages.
pub fn pdf(pages: &[LaidPage], style: &Style, fonts: &Fonts) -> Result<Vec<u8>, CorpusError> {
    let regular = Font::new(
        fonts.face(style.font, false).data.clone().into(),
        fonts.face(style.font, false).index,
    )
    .ok_or_else(|| CorpusError::Render("krilla cannot read the regular face".into()))?;
    let bold = Font::new(
        fonts.face(style.font, true).data.clone().into(),
        fonts.face(style.font, true).index,
    )
    .ok_or_else(|| CorpusError::Render("krilla cannot read the bold face".into()))?;
    let mut document = PdfDocument::new();
    for page in pages {
        let settings = PageSettings::from_wh(PAGE_W * PT, PAGE_H * PT)
            .ok_or_else(|| CorpusError::Render("bad page size".into()))?;
        let mut pdf_page = document.start_page_with(settings);
        let mut surface = pdf_page.surface();
        for rule in &page.rules {
            let mut pb = PathBuilder::new();
            pb.move_to(rule.x0 * PT, rule.y0 * PT);
            pb.line_to(rule.x1 * PT, rule.y1 * PT);
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: parse_hex(rule.color).into(),
                    width: rule.width * PT,
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
            }
        }
        surface.set_stroke(None);
        for line in &page.lines {
            if line.text.trim().is_empty() {
                continue;
            }
            surface.set_fill(Some(Fill {
                paint: parse_hex(line.color).into(),
                opacity: NormalizedF32::ONE,
                rule: Default::default(),
            }));
            let font = if line.bold {
                bold.clone()
            } else {
                regular.clone()
            };
            // One run per script (krilla shapes a run with one script), placed by the
            // layout's advances.
            let chars: Vec<char> = line.text.chars().collect();
            let mut i = 0;
            let mut x = line.x;
            while i < chars.len() {
                let cjk = is_wide(chars[i]);
                let mut j = i + 1;
                while j < chars.len() && (is_wide(chars[j]) == cjk || chars[j] == ' ') {
                    j += 1;
                }
                let run: String = chars[i..j].iter().collect();
                let w: f32 = line.advances.get(i..j).map_or(0.0, |a| a.iter().sum());
                if !run.trim().is_empty() {
                    surface.draw_text(
                        Point::from_xy(x * PT, line.baseline * PT),
                        font.clone(),
                        line.size * PT,
                        &run,
                        false,
                        TextDirection::Auto,
                    );
                }
                x += w;
                i = j;
            }
        }
        surface.finish();
        pdf_page.finish();
    }
    document
        .finish()
        .map_err(|e| CorpusError::Render(format!("krilla: {e:?}")))
}

fn is_wide(ch: char) -> bool {
    matches!(ch as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}
