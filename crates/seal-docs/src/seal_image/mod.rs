//! The seal model (印章模型): a Chinese company seal drawn at true size in millimetres,
//! as a self-contained SVG (text turned into outlines) or as a PNG at a chosen dpi.
//!
//! Three shapes are drawn:
//! - **round** (公章, 合同专用章 …): the organisation name along the upper arc, each
//!   character turned to follow the circle; a solid five-pointed star in the centre; the
//!   seal's name in a straight line below it; the filing code along the lower arc;
//! - **oval** (财务专用章, 发票专用章): the name along the upper elliptical arc, the code
//!   (for example the taxpayer number) in a straight line across the middle, the seal's
//!   name below it, the star optional;
//! - **square** (法定代表人名章): the seal's name, typically a person's name such as
//!   张伟之印, in a grid of columns read from right to left inside a square border.
//!
//! A [`SealRenderer`] holds the font database, loaded once; building one from the system
//! fonts scans every font file, so build it once and share it (it is `Clone`, `Send` and
//! `Sync`).

mod font;
mod layout;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use resvg::tiny_skia;
use resvg::usvg::{self, fontdb};

/// The red of the seal's ink.
pub const SEAL_RED: &str = "#d7000f";

/// Longest organisation name, seal name or code accepted.
pub const MAX_TEXT_CHARS: usize = 40;
/// Most characters a square seal holds (a 3 × 3 grid).
pub const MAX_SQUARE_CHARS: usize = 9;
/// Accepted diameters of a round seal, in millimetres.
pub const ROUND_DIAMETER_MM: (f32, f32) = (20.0, 60.0);
/// Accepted width and height of an oval seal, in millimetres.
pub const OVAL_SIDE_MM: (f32, f32) = (15.0, 60.0);
/// Accepted sides of a square seal, in millimetres.
pub const SQUARE_SIDE_MM: (f32, f32) = (10.0, 60.0);
/// Accepted resolutions of a PNG, in dots per inch.
pub const DPI: (u32, u32) = (72, 1200);

/// The outline of a seal and its size in millimetres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SealShape {
    /// A circle, typically 38, 40, 42 or 45 mm across.
    Round { diameter_mm: f32 },
    /// A horizontal ellipse, typically 40 × 30 or 45 × 30 mm.
    Oval { width_mm: f32, height_mm: f32 },
    /// A square, typically 20–30 mm.
    Square { side_mm: f32 },
}

impl SealShape {
    /// Width and height of the drawing in millimetres.
    pub fn size_mm(&self) -> (f32, f32) {
        match *self {
            SealShape::Round { diameter_mm } => (diameter_mm, diameter_mm),
            SealShape::Oval {
                width_mm,
                height_mm,
            } => (width_mm, height_mm),
            SealShape::Square { side_mm } => (side_mm, side_mm),
        }
    }
}

/// What is engraved on a seal.
#[derive(Clone, Debug, PartialEq)]
pub struct SealSpec {
    /// The organisation's name (上海某某科技有限公司); along the upper arc of round and
    /// oval seals, required there; not drawn on square seals.
    pub org_name: String,
    /// The seal's name (合同专用章, 财务专用章; empty for the official seal 公章); on a
    /// square seal, the characters of the grid (张伟之印), required there.
    pub seal_name: String,
    /// The filing or serial code (3101150012345) or, on an invoice seal, the taxpayer
    /// number: ASCII letters, digits and hyphens, may be empty. Not drawn on square seals.
    pub code: String,
    pub shape: SealShape,
    /// Whether to draw the five-pointed star (round and oval seals).
    pub star: bool,
}

/// A field of [`SealSpec`], as errors name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealField {
    OrgName,
    SealName,
    Code,
}

impl fmt::Display for SealField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealField::OrgName => "organisation name",
            SealField::SealName => "seal name",
            SealField::Code => "code",
        })
    }
}

/// Why a seal image could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SealImageError {
    #[error(
        "no CJK font found: install fonts-noto-cjk or fonts-wqy-microhei (apt-get install fonts-noto-cjk)"
    )]
    NoCjkFont,
    #[error("cannot read the font file {path}: {source}")]
    FontFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the {field} is empty")]
    Empty { field: SealField },
    #[error("the {field} has {actual} characters; at most {max} fit on this seal")]
    TooLong {
        field: SealField,
        actual: usize,
        max: usize,
    },
    #[error("the {field} contains {ch:?}, which cannot be engraved")]
    InvalidCharacter { field: SealField, ch: char },
    #[error("the font {font} has no glyph for {ch:?} in the {field}")]
    MissingGlyph {
        field: SealField,
        ch: char,
        font: String,
    },
    #[error("the {what} of {value} mm is outside {min}–{max} mm")]
    SizeOutOfRange {
        what: &'static str,
        value: f32,
        min: f32,
        max: f32,
    },
    #[error("an oval seal is wider than tall: {width_mm} × {height_mm} mm is not")]
    OvalUpright { width_mm: f32, height_mm: f32 },
    #[error("{dpi} dpi is outside {}–{} dpi", DPI.0, DPI.1)]
    DpiOutOfRange { dpi: u32 },
    #[error("drawing the seal failed: {0}")]
    Render(String),
}

/// RGBA pixels of a seal, not premultiplied, row by row from the top, on a transparent
/// background.
#[derive(Clone, PartialEq, Eq)]
pub struct SealBitmap {
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    pub rgba: Vec<u8>,
}

impl fmt::Debug for SealBitmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealBitmap")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("dpi", &self.dpi)
            .field("rgba", &format_args!("{} bytes", self.rgba.len()))
            .finish()
    }
}

/// Draws seals with one CJK font, loaded once.
#[derive(Clone)]
pub struct SealRenderer {
    fontdb: Arc<fontdb::Database>,
    face: font::ChosenFace,
}

impl fmt::Debug for SealRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealRenderer")
            .field("family", &self.face.family)
            .field("weight", &self.face.weight)
            .field("file", &self.face.file)
            .finish_non_exhaustive()
    }
}

impl SealRenderer {
    /// Scans the system's fonts (slow: do it once) and picks the CJK face seals are set
    /// in: the first installed of Noto Serif CJK SC, Source Han Serif SC, Noto Sans CJK
    /// SC, Source Han Sans SC, WenQuanYi Zen Hei, WenQuanYi Micro Hei, AR PL UMing/UKai
    /// CN, else any face with glyphs for 印 and 章; always the face nearest to bold.
    /// Then only the file holding that face is kept, read into memory as
    /// [`SealRenderer::with_font_file`] does.
    pub fn from_system_fonts() -> Result<SealRenderer, SealImageError> {
        let mut all = fontdb::Database::new();
        all.load_system_fonts();
        let chosen = font::choose(&all).ok_or(SealImageError::NoCjkFont)?;
        match &chosen.file {
            Some(path) => SealRenderer::with_font_file(path),
            None => SealRenderer::from_fontdb(all),
        }
    }

    /// Uses the faces in one font file (a `.ttf`, `.otf` or `.ttc` collection), picking
    /// among them as [`SealRenderer::from_system_fonts`] does.
    ///
    /// The whole file is read into memory (27 MB for Noto Serif CJK Bold): shaping from
    /// memory makes a seal about four times faster than from a file mapped anew for each
    /// glyph run. A server should therefore build its renderer on first use rather than
    /// at start-up, and share it.
    pub fn with_font_file(path: impl AsRef<Path>) -> Result<SealRenderer, SealImageError> {
        let path = path.as_ref();
        let mut db = fontdb::Database::new();
        let data = std::fs::read(path).map_err(|source| SealImageError::FontFile {
            path: path.to_path_buf(),
            source,
        })?;
        db.load_font_data(data);
        let mut renderer = SealRenderer::from_fontdb(db)?;
        renderer.face.file = Some(path.to_path_buf());
        Ok(renderer)
    }

    /// Uses the faces of a font database built by the caller.
    pub fn from_fontdb(db: fontdb::Database) -> Result<SealRenderer, SealImageError> {
        let face = font::choose(&db).ok_or(SealImageError::NoCjkFont)?;
        Ok(SealRenderer {
            fontdb: Arc::new(db),
            face,
        })
    }

    /// The family the seals are set in, such as `Noto Serif CJK SC`.
    pub fn font_family(&self) -> &str {
        &self.face.family
    }

    /// The weight of the face used (700 is bold).
    pub fn font_weight(&self) -> u16 {
        self.face.weight
    }

    /// The file the face was read from, unless the renderer was built from a font
    /// database.
    pub fn font_file(&self) -> Option<&Path> {
        self.face.file.as_deref()
    }

    /// The seal as a self-contained SVG document: `width` and `height` in millimetres,
    /// the `viewBox` in millimetres, every character turned into an outline so that it
    /// looks the same in any browser without the font.
    pub fn svg(&self, spec: &SealSpec) -> Result<String, SealImageError> {
        let tree = self.tree(spec)?;
        let written = tree.to_string(&usvg::WriteOptions {
            coordinates_precision: 4,
            transforms_precision: 6,
            indent: usvg::Indent::None,
            ..usvg::WriteOptions::default()
        });
        let (width, height) = spec.shape.size_mm();
        with_mm_root(&written, width, height)
    }

    /// The seal as a PNG at `dpi` dots per inch: each side `mm / 25.4 × dpi` pixels
    /// (rounded), transparent background, with the resolution recorded in the file
    /// (`pHYs`) so that printing software prints it at true size.
    pub fn png(&self, spec: &SealSpec, dpi: u32) -> Result<Vec<u8>, SealImageError> {
        let pixmap = self.render(spec, dpi)?;
        encode_png(&pixmap, dpi)
    }

    /// The seal's pixels at `dpi`, for drawing onto other images (printers, PDF pages).
    pub fn bitmap(&self, spec: &SealSpec, dpi: u32) -> Result<SealBitmap, SealImageError> {
        let pixmap = self.render(spec, dpi)?;
        Ok(SealBitmap {
            width: pixmap.width(),
            height: pixmap.height(),
            dpi,
            rgba: straight_rgba(&pixmap),
        })
    }

    fn render(&self, spec: &SealSpec, dpi: u32) -> Result<tiny_skia::Pixmap, SealImageError> {
        if !(DPI.0..=DPI.1).contains(&dpi) {
            return Err(SealImageError::DpiOutOfRange { dpi });
        }
        let tree = self.tree(spec)?;
        let (width_mm, height_mm) = spec.shape.size_mm();
        let scale = dpi as f32 / 25.4;
        let width = pixels(width_mm, scale);
        let height = pixels(height_mm, scale);
        let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or_else(|| {
            SealImageError::Render(format!("cannot allocate {width} × {height} pixels"))
        })?;
        let transform = tiny_skia::Transform::from_scale(
            width as f32 / tree.size().width(),
            height as f32 / tree.size().height(),
        );
        resvg::render(&tree, transform, &mut pixmap.as_mut());
        Ok(pixmap)
    }

    /// The parsed drawing: text is shaped here, with this renderer's fonts only.
    fn tree(&self, spec: &SealSpec) -> Result<usvg::Tree, SealImageError> {
        validate(spec)?;
        self.check_glyphs(spec)?;
        let style = layout::FontStyle {
            family: &self.face.family,
            weight: self.face.weight,
        };
        let source = layout::svg_source(spec, &style);
        let options = usvg::Options {
            font_family: self.face.family.clone(),
            fontdb: Arc::clone(&self.fontdb),
            ..usvg::Options::default()
        };
        usvg::Tree::from_str(&source, &options)
            .map_err(|error| SealImageError::Render(error.to_string()))
    }

    fn check_glyphs(&self, spec: &SealSpec) -> Result<(), SealImageError> {
        for (field, text) in drawn_fields(spec) {
            let chars: Vec<char> = text.chars().collect();
            if let Some(ch) = font::first_missing(&self.fontdb, self.face.id, &chars) {
                return Err(SealImageError::MissingGlyph {
                    field,
                    ch,
                    font: self.face.family.clone(),
                });
            }
        }
        Ok(())
    }
}

/// The fields a shape draws.
fn drawn_fields(spec: &SealSpec) -> Vec<(SealField, &str)> {
    match spec.shape {
        SealShape::Square { .. } => vec![(SealField::SealName, spec.seal_name.as_str())],
        SealShape::Round { .. } | SealShape::Oval { .. } => vec![
            (SealField::OrgName, spec.org_name.as_str()),
            (SealField::SealName, spec.seal_name.as_str()),
            (SealField::Code, spec.code.as_str()),
        ],
    }
}

fn validate(spec: &SealSpec) -> Result<(), SealImageError> {
    check_size(spec.shape)?;
    let square = matches!(spec.shape, SealShape::Square { .. });
    let required = if square {
        SealField::SealName
    } else {
        SealField::OrgName
    };
    for (field, text) in drawn_fields(spec) {
        if text.trim().is_empty() {
            if field == required {
                return Err(SealImageError::Empty { field });
            }
            if !text.is_empty() {
                // Only blanks: nothing to engrave, and surely a mistake.
                return Err(SealImageError::Empty { field });
            }
            continue;
        }
        let max = if square {
            MAX_SQUARE_CHARS
        } else {
            MAX_TEXT_CHARS
        };
        let actual = text.chars().count();
        if actual > max {
            return Err(SealImageError::TooLong { field, actual, max });
        }
        let bad = text.chars().find(|&ch| match field {
            SealField::Code => !(ch.is_ascii_alphanumeric() || ch == '-'),
            SealField::OrgName | SealField::SealName => {
                ch.is_control() || ch == '\u{FFFD}' || ('\u{E000}'..='\u{F8FF}').contains(&ch)
            }
        });
        if let Some(ch) = bad {
            return Err(SealImageError::InvalidCharacter { field, ch });
        }
    }
    Ok(())
}

fn check_size(shape: SealShape) -> Result<(), SealImageError> {
    let in_range = |what: &'static str, value: f32, (min, max): (f32, f32)| {
        if value.is_finite() && (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(SealImageError::SizeOutOfRange {
                what,
                value,
                min,
                max,
            })
        }
    };
    match shape {
        SealShape::Round { diameter_mm } => in_range("diameter", diameter_mm, ROUND_DIAMETER_MM),
        SealShape::Oval {
            width_mm,
            height_mm,
        } => {
            in_range("width", width_mm, OVAL_SIDE_MM)?;
            in_range("height", height_mm, OVAL_SIDE_MM)?;
            if height_mm > width_mm {
                return Err(SealImageError::OvalUpright {
                    width_mm,
                    height_mm,
                });
            }
            Ok(())
        }
        SealShape::Square { side_mm } => in_range("side", side_mm, SQUARE_SIDE_MM),
    }
}

/// Pixels for `mm` millimetres at `scale` pixels per millimetre, at least one.
fn pixels(mm: f32, scale: f32) -> u32 {
    ((mm * scale).round() as u32).max(1)
}

/// Replaces the root element usvg writes (sizes in user units, no `viewBox`) with one
/// that gives the size in millimetres and a `viewBox` in millimetres.
pub(crate) fn with_mm_root(
    written: &str,
    width: f32,
    height: f32,
) -> Result<String, SealImageError> {
    let start = written
        .find("<svg")
        .ok_or_else(|| SealImageError::Render("the SVG writer wrote no <svg> element".into()))?;
    let end = written[start..]
        .find('>')
        .map(|i| start + i + 1)
        .ok_or_else(|| SealImageError::Render("the SVG writer wrote an unclosed <svg>".into()))?;
    let xlink = if written[start..end].contains("xmlns:xlink") {
        r#" xmlns:xlink="http://www.w3.org/1999/xlink""#
    } else {
        ""
    };
    let self_closing = written[start..end].ends_with("/>");
    let mut out = String::with_capacity(written.len() + 64);
    out.push_str(&written[..start]);
    out.push_str(&format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg"{xlink} width="{width}mm" height="{height}mm" viewBox="0 0 {width} {height}"{}>"#,
        if self_closing { "/" } else { "" }
    ));
    out.push_str(&written[end..]);
    Ok(out)
}

/// Not-premultiplied RGBA bytes of a pixmap.
pub(crate) fn straight_rgba(pixmap: &tiny_skia::Pixmap) -> Vec<u8> {
    let mut rgba = Vec::with_capacity(pixmap.data().len());
    for pixel in pixmap.pixels() {
        let c = pixel.demultiply();
        rgba.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
    }
    rgba
}

/// A pixmap as an RGBA PNG with its resolution recorded (`pHYs`), so that it prints at
/// true size.
pub(crate) fn encode_png(pixmap: &tiny_skia::Pixmap, dpi: u32) -> Result<Vec<u8>, SealImageError> {
    let rgba = straight_rgba(pixmap);
    let mut out = Vec::with_capacity(rgba.len() / 8);
    let failed = |error: png::EncodingError| SealImageError::Render(error.to_string());
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let per_metre = (f64::from(dpi) / 0.0254).round() as u32;
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: per_metre,
        yppu: per_metre,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(&rgba).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}
