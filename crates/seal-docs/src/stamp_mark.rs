//! The printable stamp mark (印章标记) at true size: the seal, its QR code, the numeric
//! code (数列密押) as digits in groups of four and, optionally, as a Code 128 barcode;
//! as SVG (sizes and `viewBox` in millimetres, every character outlined), as PNG at a
//! chosen dpi (with `pHYs`, so it prints at true size) and as a one-page PDF of exactly
//! the mark's size (vector paths, no fonts).
//!
//! Layout, in millimetres: the seal at the top left, the QR code to its right with the
//! two centred on one line, the digits centred below them, the barcode centred below
//! the digits, a margin around all. The background is transparent except under the QR
//! code and the barcode, which carry their own white quiet zones.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use resvg::tiny_skia;
use resvg::usvg::{self, fontdb};
use skrifa::MetadataProvider;

use crate::barcode::{BarcodeError, Code128, check_numeric_code};
use crate::qr::{QrError, QrSymbol};
use crate::seal_image::{self, SealImageError, SealRenderer, SealSpec};

/// The smallest QR module accepted: below it a phone camera or an office printer
/// loses modules.
pub const MIN_QR_MODULE_MM: f32 = 0.4;
/// The smallest Code 128 module (narrow bar) accepted.
pub const MIN_BARCODE_MODULE_MM: f32 = 0.25;
/// Accepted QR sizes (with the quiet zone), in millimetres.
pub const QR_SIZE_MM: (f32, f32) = (10.0, 60.0);
/// Accepted heights of the digits' font, in millimetres.
pub const CODE_TEXT_MM: (f32, f32) = (1.5, 10.0);
/// Accepted barcode module widths, in millimetres.
pub const BARCODE_MODULE_MM: (f32, f32) = (MIN_BARCODE_MODULE_MM, 1.0);
/// Accepted barcode heights, in millimetres.
pub const BARCODE_HEIGHT_MM: (f32, f32) = (4.0, 30.0);
/// Accepted gaps and margins, in millimetres.
pub const SPACING_MM: (f32, f32) = (0.0, 20.0);
/// Most pixels a PNG of a mark may have.
pub const MAX_PNG_PIXELS: u64 = 64_000_000;

/// Points per millimetre.
const PT_PER_MM: f32 = 72.0 / 25.4;
/// Tolerance on the module-size check, for sizes such as 26 mm / 65 modules.
const SIZE_EPSILON: f32 = 1e-4;

/// Which of the two QR payloads a mark carries; it sets the largest QR version and the
/// default size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrForm {
    /// The short verification URL: at most version 4 at level M, printed 20 mm wide.
    ShortUrl,
    /// The offline token (`SK1:` and Base45): at most version 10, printed 26 mm wide.
    Offline,
}

impl QrForm {
    /// The highest QR version this form may take.
    pub fn max_version(self) -> u8 {
        match self {
            QrForm::ShortUrl => 4,
            QrForm::Offline => 10,
        }
    }

    /// The default printed size with the quiet zone: the largest version of the form
    /// then has modules of at least [`MIN_QR_MODULE_MM`] (version 4: 41 modules in
    /// 20 mm, 0.49 mm each; version 10: 65 modules in 26 mm, 0.40 mm each).
    pub fn default_size_mm(self) -> f32 {
        match self {
            QrForm::ShortUrl => 20.0,
            QrForm::Offline => 26.0,
        }
    }
}

/// What a stamp mark shows and how large.
#[derive(Clone, Debug, PartialEq)]
pub struct StampMarkSpec {
    pub seal: SealSpec,
    pub qr_form: QrForm,
    /// The QR payload, an opaque text.
    pub qr_text: String,
    /// Width and height of the QR code with its quiet zone.
    pub qr_size_mm: f32,
    /// The numeric code, digits only; shown in groups of four.
    pub numeric_code: String,
    /// Whether to draw the numeric code's Code 128 barcode below the digits.
    pub barcode: bool,
    /// Font size of the digits.
    pub code_text_mm: f32,
    /// Width of one barcode module.
    pub barcode_module_mm: f32,
    /// Height of the bars.
    pub barcode_height_mm: f32,
    /// Space between the seal and the QR code, and between the rows.
    pub gap_mm: f32,
    /// Blank border around the mark.
    pub margin_mm: f32,
}

impl StampMarkSpec {
    /// A mark with the default sizes: the form's QR size, 3.2 mm digits, no barcode
    /// (0.33 mm modules and 8 mm bars when switched on), 3 mm gaps, 2 mm margin.
    pub fn new(
        seal: SealSpec,
        qr_form: QrForm,
        qr_text: impl Into<String>,
        numeric_code: impl Into<String>,
    ) -> StampMarkSpec {
        StampMarkSpec {
            seal,
            qr_form,
            qr_text: qr_text.into(),
            qr_size_mm: qr_form.default_size_mm(),
            numeric_code: numeric_code.into(),
            barcode: false,
            code_text_mm: 3.2,
            barcode_module_mm: 0.33,
            barcode_height_mm: 8.0,
            gap_mm: 3.0,
            margin_mm: 2.0,
        }
    }

    /// The same mark with the barcode drawn.
    pub fn with_barcode(mut self) -> StampMarkSpec {
        self.barcode = true;
        self
    }
}

/// A rectangle of the mark, in millimetres from its top left corner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarkRect {
    pub x_mm: f32,
    pub y_mm: f32,
    pub width_mm: f32,
    pub height_mm: f32,
}

/// Where the parts of a mark are, in millimetres.
#[derive(Clone, Debug, PartialEq)]
pub struct StampMarkLayout {
    pub width_mm: f32,
    pub height_mm: f32,
    pub seal: MarkRect,
    /// The QR code with its quiet zone.
    pub qr: MarkRect,
    pub qr_version: u8,
    pub qr_module_mm: f32,
    /// The ink of the digits.
    pub code_text: MarkRect,
    /// The barcode with its quiet zones, when drawn.
    pub barcode: Option<MarkRect>,
    /// The digits as drawn, in groups of four.
    pub code_text_shown: String,
}

/// Why a stamp mark could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StampMarkError {
    #[error(transparent)]
    Seal(#[from] SealImageError),
    #[error(transparent)]
    Qr(#[from] QrError),
    #[error(transparent)]
    NumericCode(#[from] BarcodeError),
    #[error(
        "a version {version} QR code {size_mm} mm wide has modules of {module_mm:.3} mm; \
         at least {min_mm} mm are needed: make it at least {needed_mm:.1} mm wide"
    )]
    QrModuleTooSmall {
        version: u8,
        size_mm: f32,
        module_mm: f32,
        min_mm: f32,
        needed_mm: f32,
    },
    #[error("the {what} of {value} mm is outside {min}–{max} mm")]
    SizeOutOfRange {
        what: &'static str,
        value: f32,
        min: f32,
        max: f32,
    },
    #[error("{dpi} dpi is outside {}–{} dpi", seal_image::DPI.0, seal_image::DPI.1)]
    DpiOutOfRange { dpi: u32 },
    #[error("a PNG of {width} × {height} pixels is larger than {max} pixels")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("cannot load the font file {path}: {source}")]
    FontFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the font {family} (weight {weight}) is not available to draw the digits")]
    FontMissing { family: String, weight: u16 },
    #[error("the font {family} has no glyph for the digit {digit:?}")]
    MissingDigit { family: String, digit: char },
    #[error(transparent)]
    Pdf(#[from] crate::svg_pdf::SvgPdfError),
    #[error("drawing the mark failed: {0}")]
    Render(String),
}

/// Draws stamp marks: seals through a [`SealRenderer`], the digits in the renderer's
/// font.
#[derive(Clone, Debug)]
pub struct StampMarker {
    renderer: SealRenderer,
    fontdb: Arc<fontdb::Database>,
    family: String,
    weight: u16,
}

impl StampMarker {
    /// Draws with `renderer`, setting the digits in its face.
    ///
    /// [`SealRenderer`] keeps its font database to itself, so the face is loaded again
    /// here from the renderer's font file, memory-mapped rather than read (the digits
    /// are a single short run); a renderer built from a caller's database has no file,
    /// and then the system fonts are scanned. Use [`StampMarker::with_fontdb`] to pass
    /// a database instead.
    pub fn new(renderer: SealRenderer) -> Result<StampMarker, StampMarkError> {
        let mut db = fontdb::Database::new();
        match renderer.font_file() {
            Some(path) => load_file(&mut db, path)?,
            None => db.load_system_fonts(),
        }
        StampMarker::with_fontdb(renderer, db)
    }

    /// Draws with `renderer`, setting the digits in its family from `db`.
    pub fn with_fontdb(
        renderer: SealRenderer,
        db: fontdb::Database,
    ) -> Result<StampMarker, StampMarkError> {
        let family = renderer.font_family().to_owned();
        let weight = renderer.font_weight();
        let families = [fontdb::Family::Name(&family)];
        let id = db
            .query(&fontdb::Query {
                families: &families,
                weight: fontdb::Weight(weight),
                ..fontdb::Query::default()
            })
            .ok_or_else(|| StampMarkError::FontMissing {
                family: family.clone(),
                weight,
            })?;
        if let Some(digit) = first_missing_digit(&db, id) {
            return Err(StampMarkError::MissingDigit { family, digit });
        }
        Ok(StampMarker {
            renderer,
            fontdb: Arc::new(db),
            family,
            weight,
        })
    }

    /// The seal renderer in use.
    pub fn renderer(&self) -> &SealRenderer {
        &self.renderer
    }

    /// Where the parts of the mark go, after every check on `spec`.
    pub fn layout(&self, spec: &StampMarkSpec) -> Result<StampMarkLayout, StampMarkError> {
        Ok(self.plan(spec)?.layout)
    }

    /// The mark as a self-contained SVG document: `width` and `height` in millimetres,
    /// the `viewBox` in millimetres, every character an outline.
    pub fn svg(&self, spec: &StampMarkSpec) -> Result<String, StampMarkError> {
        Ok(self.outlined(spec)?.0)
    }

    /// The mark as a PNG at `dpi` (72–1200): each side `mm / 25.4 × dpi` pixels,
    /// transparent where nothing is drawn, with the resolution in `pHYs` so that it
    /// prints at true size.
    pub fn png(&self, spec: &StampMarkSpec, dpi: u32) -> Result<Vec<u8>, StampMarkError> {
        let pixmap = self.pixmap(spec, dpi)?;
        Ok(crate::seal_image::encode_png(&pixmap, dpi)?)
    }

    /// The mark's pixels at `dpi` on a transparent background: width, height and
    /// straight (not premultiplied) RGBA rows from the top.
    pub fn rgba(
        &self,
        spec: &StampMarkSpec,
        dpi: u32,
    ) -> Result<(u32, u32, Vec<u8>), StampMarkError> {
        let pixmap = self.pixmap(spec, dpi)?;
        Ok((
            pixmap.width(),
            pixmap.height(),
            crate::seal_image::straight_rgba(&pixmap),
        ))
    }

    /// The mark as a one-page PDF whose page (media box) is exactly the mark's size,
    /// drawn with vector paths only: the outlined SVG turned into PDF path operators.
    pub fn pdf(&self, spec: &StampMarkSpec) -> Result<Vec<u8>, StampMarkError> {
        let (svg, layout) = self.outlined(spec)?;
        // The outlined SVG has no text left: parse it without fonts.
        let tree = usvg::Tree::from_str(&svg, &usvg::Options::default())
            .map_err(|error| StampMarkError::Render(error.to_string()))?;
        Ok(crate::svg_pdf::single_page(
            &tree,
            layout.width_mm * PT_PER_MM,
            layout.height_mm * PT_PER_MM,
        )?)
    }

    /// The outlined SVG document and the layout.
    fn outlined(&self, spec: &StampMarkSpec) -> Result<(String, StampMarkLayout), StampMarkError> {
        let plan = self.plan(spec)?;
        let tree = self.parse(&plan.source)?;
        let written = tree.to_string(&usvg::WriteOptions {
            coordinates_precision: 4,
            transforms_precision: 6,
            indent: usvg::Indent::None,
            ..usvg::WriteOptions::default()
        });
        let svg =
            crate::seal_image::with_mm_root(&written, plan.layout.width_mm, plan.layout.height_mm)?;
        Ok((svg, plan.layout))
    }

    fn pixmap(&self, spec: &StampMarkSpec, dpi: u32) -> Result<tiny_skia::Pixmap, StampMarkError> {
        if !(seal_image::DPI.0..=seal_image::DPI.1).contains(&dpi) {
            return Err(StampMarkError::DpiOutOfRange { dpi });
        }
        let plan = self.plan(spec)?;
        let scale = dpi as f32 / 25.4;
        let width = ((plan.layout.width_mm * scale).round() as u32).max(1);
        let height = ((plan.layout.height_mm * scale).round() as u32).max(1);
        if u64::from(width) * u64::from(height) > MAX_PNG_PIXELS {
            return Err(StampMarkError::TooManyPixels {
                width,
                height,
                max: MAX_PNG_PIXELS,
            });
        }
        let tree = self.parse(&plan.source)?;
        let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or_else(|| {
            StampMarkError::Render(format!("cannot allocate {width} × {height} pixels"))
        })?;
        let transform = tiny_skia::Transform::from_scale(
            width as f32 / tree.size().width(),
            height as f32 / tree.size().height(),
        );
        resvg::render(&tree, transform, &mut pixmap.as_mut());
        Ok(pixmap)
    }

    fn parse(&self, source: &str) -> Result<usvg::Tree, StampMarkError> {
        let options = usvg::Options {
            font_family: self.family.clone(),
            fontdb: Arc::clone(&self.fontdb),
            ..usvg::Options::default()
        };
        usvg::Tree::from_str(source, &options)
            .map_err(|error| StampMarkError::Render(error.to_string()))
    }

    /// Checks `spec`, lays the mark out and writes its SVG source (text not outlined).
    fn plan(&self, spec: &StampMarkSpec) -> Result<Plan, StampMarkError> {
        check_sizes(spec)?;
        check_numeric_code(&spec.numeric_code)?;
        let qr = QrSymbol::encode(&spec.qr_text, spec.qr_form.max_version())?;
        let module_mm = qr.module_mm(spec.qr_size_mm);
        if module_mm + SIZE_EPSILON < MIN_QR_MODULE_MM {
            return Err(StampMarkError::QrModuleTooSmall {
                version: qr.version(),
                size_mm: spec.qr_size_mm,
                module_mm,
                min_mm: MIN_QR_MODULE_MM,
                needed_mm: MIN_QR_MODULE_MM * qr.side_with_quiet_zone() as f32,
            });
        }
        let barcode = if spec.barcode {
            Some(Code128::numeric(&spec.numeric_code)?)
        } else {
            None
        };
        let seal_svg = self.renderer.svg(&spec.seal)?;
        let seal_inner = svg_content(&seal_svg)?;
        let (seal_w, seal_h) = spec.seal.shape.size_mm();

        let shown = group_digits(&spec.numeric_code);
        let text_element = |x: f32, y: f32| {
            format!(
                r##"<text x="{x}" y="{y}" font-family="'{}'" font-weight="{}" font-size="{}" word-spacing="{}" fill="#000000">{shown}</text>"##,
                self.family,
                self.weight,
                spec.code_text_mm,
                spec.code_text_mm * 0.35,
            )
        };
        // The ink box of the digits set at the origin, to place them by their ink.
        let ink = self.text_ink(&text_element(0.0, 0.0))?;

        let m = spec.margin_mm;
        let g = spec.gap_mm;
        let q = spec.qr_size_mm;
        let top_h = seal_h.max(q);
        let top_w = seal_w + g + q;
        let barcode_w = barcode
            .as_ref()
            .map(|code| code.width_with_quiet_zones() as f32 * spec.barcode_module_mm);
        let content_w = top_w.max(ink.width()).max(barcode_w.unwrap_or(0.0));
        let width = content_w + 2.0 * m;
        let left = m + (content_w - top_w) / 2.0;
        let seal = MarkRect {
            x_mm: left,
            y_mm: m + (top_h - seal_h) / 2.0,
            width_mm: seal_w,
            height_mm: seal_h,
        };
        let qr_rect = MarkRect {
            x_mm: left + seal_w + g,
            y_mm: m + (top_h - q) / 2.0,
            width_mm: q,
            height_mm: q,
        };
        let text_top = m + top_h + g;
        let code_text = MarkRect {
            x_mm: m + (content_w - ink.width()) / 2.0,
            y_mm: text_top,
            width_mm: ink.width(),
            height_mm: ink.height(),
        };
        let mut bottom = text_top + ink.height();
        let barcode_rect = barcode_w.map(|barcode_w| {
            let rect = MarkRect {
                x_mm: m + (content_w - barcode_w) / 2.0,
                y_mm: bottom + g * 0.5,
                width_mm: barcode_w,
                height_mm: spec.barcode_height_mm,
            };
            bottom = rect.y_mm + rect.height_mm;
            rect
        });
        let height = bottom + m;

        let mut source = String::with_capacity(seal_inner.len() + 16_384);
        let _ = write!(
            source,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
        );
        let _ = write!(
            source,
            r#"<g transform="translate({} {})">{seal_inner}</g>"#,
            seal.x_mm, seal.y_mm
        );
        source.push_str(&qr.svg_element(qr_rect.x_mm, qr_rect.y_mm, q));
        source.push_str(&text_element(
            code_text.x_mm - ink.x(),
            code_text.y_mm - ink.y(),
        ));
        if let (Some(code), Some(rect)) = (&barcode, &barcode_rect) {
            source.push_str(&code.svg_element(rect.x_mm, rect.y_mm, rect.width_mm, rect.height_mm));
        }
        source.push_str("</svg>");

        Ok(Plan {
            layout: StampMarkLayout {
                width_mm: width,
                height_mm: height,
                seal,
                qr: qr_rect,
                qr_version: qr.version(),
                qr_module_mm: module_mm,
                code_text,
                barcode: barcode_rect,
                code_text_shown: shown,
            },
            source,
        })
    }

    /// The ink box of a `<text>` element, in millimetres.
    fn text_ink(&self, element: &str) -> Result<tiny_skia::Rect, StampMarkError> {
        let source = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100">{element}</svg>"#
        );
        let tree = self.parse(&source)?;
        // The glyph outlines, not the text box (which spans the font's whole ascent
        // and descent).
        let ink = tree
            .root()
            .children()
            .iter()
            .find_map(|node| match node {
                usvg::Node::Text(text) if text.flattened().has_children() => {
                    Some(text.flattened().abs_bounding_box())
                }
                _ => None,
            })
            .ok_or_else(|| StampMarkError::Render("the digits were not drawn".into()))?;
        if ink.width() <= 0.0 || ink.height() <= 0.0 {
            return Err(StampMarkError::Render(
                "the digits were drawn without any ink".into(),
            ));
        }
        Ok(ink)
    }
}

/// A checked mark: its layout and SVG source.
struct Plan {
    layout: StampMarkLayout,
    source: String,
}

/// The digits in groups of four from the left: `1234 5678 9012 3456 7890`.
pub fn group_digits(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + code.len() / 4);
    for (i, ch) in code.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

fn check_sizes(spec: &StampMarkSpec) -> Result<(), StampMarkError> {
    let in_range = |what: &'static str, value: f32, (min, max): (f32, f32)| {
        if value.is_finite() && (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(StampMarkError::SizeOutOfRange {
                what,
                value,
                min,
                max,
            })
        }
    };
    in_range("QR size", spec.qr_size_mm, QR_SIZE_MM)?;
    in_range("digit size", spec.code_text_mm, CODE_TEXT_MM)?;
    if spec.barcode {
        in_range("barcode module", spec.barcode_module_mm, BARCODE_MODULE_MM)?;
        in_range("barcode height", spec.barcode_height_mm, BARCODE_HEIGHT_MM)?;
    }
    in_range("gap", spec.gap_mm, SPACING_MM)?;
    in_range("margin", spec.margin_mm, SPACING_MM)
}

fn load_file(db: &mut fontdb::Database, path: &Path) -> Result<(), StampMarkError> {
    db.load_font_file(path)
        .map_err(|source| StampMarkError::FontFile {
            path: path.to_path_buf(),
            source,
        })
}

/// The first digit the face has no glyph for.
fn first_missing_digit(db: &fontdb::Database, id: fontdb::ID) -> Option<char> {
    db.with_face_data(id, |data, index| {
        let Ok(font) = skrifa::FontRef::from_index(data, index) else {
            return Some('0');
        };
        let charmap = font.charmap();
        ('0'..='9').find(|&ch| charmap.map(ch).is_none_or(|glyph| glyph.to_u32() == 0))
    })
    .unwrap_or(Some('0'))
}

/// What lies between the root `<svg …>` start tag and its end tag.
fn svg_content(svg: &str) -> Result<&str, StampMarkError> {
    let start = svg
        .find("<svg")
        .ok_or_else(|| StampMarkError::Render("the seal's SVG has no <svg> element".into()))?;
    let open_end = svg[start..]
        .find('>')
        .map(|i| start + i + 1)
        .ok_or_else(|| StampMarkError::Render("the seal's SVG has an unclosed <svg>".into()))?;
    if svg[..open_end].ends_with("/>") {
        return Ok("");
    }
    let close = svg
        .rfind("</svg>")
        .filter(|&close| close >= open_end)
        .ok_or_else(|| StampMarkError::Render("the seal's SVG has no </svg>".into()))?;
    Ok(&svg[open_end..close])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_in_fours() {
        assert_eq!(
            group_digits("12345678901234567890"),
            "1234 5678 9012 3456 7890"
        );
        assert_eq!(group_digits("123456"), "1234 56");
        assert_eq!(group_digits("1234"), "1234");
    }

    #[test]
    fn svg_content_is_between_the_root_tags() {
        let svg = r#"<?xml version="1.0"?><svg a="1"><g/></svg>"#;
        assert_eq!(svg_content(svg).ok(), Some("<g/>"));
        assert!(svg_content("<g/>").is_err());
        let rooted = crate::seal_image::with_mm_root(svg, 10.0, 5.5).unwrap_or_default();
        assert!(rooted.contains(r#"width="10mm" height="5.5mm" viewBox="0 0 10 5.5""#));
        assert!(rooted.ends_with("<g/></svg>"));
    }

    #[test]
    fn default_sizes_meet_the_module_minimum() {
        // The largest version of each form at its default size.
        for (form, modules) in [(QrForm::ShortUrl, 41.0), (QrForm::Offline, 65.0)] {
            let module = form.default_size_mm() / modules;
            assert!(
                module + SIZE_EPSILON >= MIN_QR_MODULE_MM,
                "{form:?}: {module}"
            );
        }
    }
}
