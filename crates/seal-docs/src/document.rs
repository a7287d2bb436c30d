//! Inspection of uploaded documents (the files attached to a seal-use application): PDF,
//! PNG or JPEG, recognised by their content, magic bytes and a real parse, never by a
//! file name or a declared media type; with the page count, the SHA-256 and a small PNG
//! thumbnail of the first page.

use std::fmt;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use sha2::{Digest, Sha256};

/// Thumbnails fit in this box, in pixels: an A4 page comes out 320 × 452.
pub const THUMBNAIL_MAX_WIDTH: u32 = 320;
pub const THUMBNAIL_MAX_HEIGHT: u32 = 480;

/// The page size assumed when a PDF's first page has no readable size.
const A4_POINTS: (f32, f32) = (595.0, 842.0);

/// What a document is, by its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Pdf,
    Png,
    Jpeg,
}

impl DocumentKind {
    /// The media type to serve the document with.
    pub fn media_type(&self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Png => "image/png",
            DocumentKind::Jpeg => "image/jpeg",
        }
    }

    /// The usual file name extension, without the dot.
    pub fn extension(&self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Png => "png",
            DocumentKind::Jpeg => "jpg",
        }
    }

    /// The kind the magic bytes at the start of `bytes` announce, if any. This alone
    /// proves nothing: [`inspect`] also parses the document.
    pub fn sniff(bytes: &[u8]) -> Option<DocumentKind> {
        if bytes.starts_with(b"%PDF-") {
            Some(DocumentKind::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(DocumentKind::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(DocumentKind::Jpeg)
        } else {
            None
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DocumentKind::Pdf => "PDF",
            DocumentKind::Png => "PNG",
            DocumentKind::Jpeg => "JPEG",
        })
    }
}

/// How big a document may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, in bytes.
    pub max_bytes: usize,
    /// Most pages of a PDF.
    pub max_pages: u32,
    /// Most pixels (width × height) of an image, checked from its header before it is
    /// decoded, against decompression bombs.
    pub max_pixels: u64,
}

impl Default for Limits {
    /// 50 MiB, 500 pages, 100 megapixels (a 12 000 × 8 000 scan).
    fn default() -> Limits {
        Limits {
            max_bytes: 50 * 1024 * 1024,
            max_pages: 500,
            max_pixels: 100_000_000,
        }
    }
}

/// The size of a document's first page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dimensions {
    /// An image, in pixels as displayed (after its EXIF orientation).
    Pixels { width: u32, height: u32 },
    /// A PDF page, in points (1/72 inch), as displayed (after its rotation).
    Points { width: f32, height: f32 },
}

/// What inspection found out about a document.
#[derive(Clone, PartialEq)]
pub struct Inspected {
    pub kind: DocumentKind,
    /// Pages: 1 for an image.
    pub pages: u32,
    pub sha256: [u8; 32],
    pub dimensions: Dimensions,
    /// A PNG of the first page, at most [`THUMBNAIL_MAX_WIDTH`] ×
    /// [`THUMBNAIL_MAX_HEIGHT`] pixels.
    pub thumbnail_png: Vec<u8>,
    /// Whether the thumbnail is only a placeholder (a blank page with a border) because
    /// the PDF renderer could not draw a PDF that otherwise parsed.
    pub thumbnail_is_placeholder: bool,
}

impl fmt::Debug for Inspected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inspected")
            .field("kind", &self.kind)
            .field("pages", &self.pages)
            .field("sha256", &hex_string(&self.sha256))
            .field("dimensions", &self.dimensions)
            .field(
                "thumbnail_png",
                &format_args!("{} bytes", self.thumbnail_png.len()),
            )
            .field("thumbnail_is_placeholder", &self.thumbnail_is_placeholder)
            .finish()
    }
}

/// Why a document was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the document is empty")]
    Empty,
    #[error("the document has {actual} bytes; at most {max_bytes} are accepted")]
    TooLarge { max_bytes: usize, actual: usize },
    #[error("the document is not a PDF, PNG or JPEG file")]
    UnsupportedType,
    #[error("the document looks like a {kind} file but cannot be read: {detail}")]
    Malformed { kind: DocumentKind, detail: String },
    #[error("the PDF has {pages} pages; at most {max} are accepted")]
    TooManyPages { pages: u32, max: u32 },
    #[error("the PDF is protected by a password")]
    Encrypted,
    #[error("the image is {width} × {height} pixels; at most {max_pixels} pixels are accepted")]
    ImageTooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error("making the thumbnail failed: {0}")]
    Thumbnail(String),
}

/// Checks that `bytes` are a PDF, PNG or JPEG document within `limits` and describes it.
///
/// A PDF is parsed with lopdf (page count, encryption) and its first page drawn with
/// hayro. When hayro cannot draw a PDF that lopdf parsed (hayro does not support every
/// PDF feature yet), the thumbnail is a neutral placeholder, a white page with a grey
/// border in the page's proportions, and [`Inspected::thumbnail_is_placeholder`] is set,
/// rather than refusing a document that is most likely fine. A PDF that can be opened
/// without a password but carries owner-password restrictions is accepted; one that
/// needs a password to open is [`DocumentError::Encrypted`].
///
/// Images are decoded with the `image` crate under limits derived from `limits`, after
/// their header has been checked against `limits.max_pixels`.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<Inspected, DocumentError> {
    if bytes.is_empty() {
        return Err(DocumentError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(DocumentError::TooLarge {
            max_bytes: limits.max_bytes,
            actual: bytes.len(),
        });
    }
    let kind = DocumentKind::sniff(bytes).ok_or(DocumentError::UnsupportedType)?;
    let sha256: [u8; 32] = Sha256::digest(bytes).into();
    match kind {
        DocumentKind::Pdf => inspect_pdf(bytes, limits, sha256),
        DocumentKind::Png => inspect_image(bytes, limits, sha256, kind, ImageFormat::Png),
        DocumentKind::Jpeg => inspect_image(bytes, limits, sha256, kind, ImageFormat::Jpeg),
    }
}

fn malformed(kind: DocumentKind, detail: impl fmt::Display) -> DocumentError {
    DocumentError::Malformed {
        kind,
        detail: detail.to_string(),
    }
}

fn inspect_pdf(
    bytes: &[u8],
    limits: &Limits,
    sha256: [u8; 32],
) -> Result<Inspected, DocumentError> {
    let kind = DocumentKind::Pdf;
    // Parsers of hostile input may panic; a panic means the file is malformed.
    let document = catch_unwind(|| lopdf::Document::load_mem(bytes))
        .map_err(|_| malformed(kind, "the PDF parser gave up"))?
        .map_err(|error| match error {
            lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword => DocumentError::Encrypted,
            other => malformed(kind, other),
        })?;
    if document.is_encrypted() {
        // lopdf tried the empty password: this one needs a real one.
        return Err(DocumentError::Encrypted);
    }
    let page_ids = catch_unwind(AssertUnwindSafe(|| document.get_pages()))
        .map_err(|_| malformed(kind, "the page tree cannot be read"))?;
    let pages = u32::try_from(page_ids.len()).unwrap_or(u32::MAX);
    if pages == 0 {
        return Err(malformed(kind, "the PDF has no pages"));
    }
    if pages > limits.max_pages {
        return Err(DocumentError::TooManyPages {
            pages,
            max: limits.max_pages,
        });
    }
    let lopdf_size = page_ids
        .values()
        .next()
        .and_then(|&id| media_box_size(&document, id));
    drop(document);

    let (thumbnail_png, thumbnail_is_placeholder, (width, height)) = match render_first_page(bytes)
    {
        Some((png, width, height)) => (png, false, (width, height)),
        None => {
            let (width, height) = lopdf_size.unwrap_or(A4_POINTS);
            (placeholder_thumbnail(width, height)?, true, (width, height))
        }
    };
    let dimensions = Dimensions::Points { width, height };
    Ok(Inspected {
        kind,
        pages,
        sha256,
        dimensions,
        thumbnail_png,
        thumbnail_is_placeholder,
    })
}

/// The width and height in points of a page's media box, looked up through the page
/// tree as PDF inheritance requires, after the page's rotation.
fn media_box_size(document: &lopdf::Document, page: lopdf::ObjectId) -> Option<(f32, f32)> {
    let mut node = document.get_dictionary(page).ok()?;
    let mut rotate = None;
    for _ in 0..64 {
        if rotate.is_none() {
            rotate = node.get(b"Rotate").and_then(lopdf::Object::as_i64).ok();
        }
        if let Ok(media_box) = node.get(b"MediaBox") {
            let media_box = document.dereference(media_box).ok()?.1.as_array().ok()?;
            let numbers: Vec<f32> = media_box.iter().filter_map(|n| n.as_float().ok()).collect();
            let [x0, y0, x1, y1] = numbers.as_slice() else {
                return None;
            };
            let (width, height) = ((x1 - x0).abs(), (y1 - y0).abs());
            let quarter_turn = rotate.unwrap_or(0).rem_euclid(180) == 90;
            return Some(if quarter_turn {
                (height, width)
            } else {
                (width, height)
            });
        }
        let parent = node
            .get(b"Parent")
            .and_then(lopdf::Object::as_reference)
            .ok()?;
        node = document.get_dictionary(parent).ok()?;
    }
    None
}

/// The first page drawn by hayro as a PNG thumbnail, with the page's displayed size in
/// points; `None` when hayro cannot read or draw it.
fn render_first_page(bytes: &[u8]) -> Option<(Vec<u8>, f32, f32)> {
    use hayro::hayro_syntax::Pdf;
    use hayro::vello_cpu::color::palette::css::WHITE;
    use hayro::{PixmapSettings, RenderCache, RenderSettings};

    let data = Arc::new(bytes.to_vec());
    catch_unwind(move || {
        let pdf = Pdf::new(data).ok()?;
        let page = pdf.pages().first()?;
        let (width, height) = page.render_dimensions();
        if !(width.is_finite() && height.is_finite() && width >= 1.0 && height >= 1.0) {
            return None;
        }
        let scale = (THUMBNAIL_MAX_WIDTH as f32 / width).min(THUMBNAIL_MAX_HEIGHT as f32 / height);
        let cache = RenderCache::new();
        let pixmap = hayro::render(
            page,
            &cache,
            &interpreter_settings(),
            &RenderSettings::default(),
            &PixmapSettings {
                x_scale: scale,
                y_scale: scale,
                bg_color: WHITE,
            },
        );
        if pixmap.width() == 0 || pixmap.height() == 0 {
            return None;
        }
        let png = pixmap.into_png().ok()?;
        Some((png, width, height))
    })
    .ok()
    .flatten()
}

/// hayro's settings with a fallback for CJK text in fonts that the PDF names but does
/// not embed (STSong-Light, as many Chinese business systems write): a CJK font from the
/// system, else hayro's built-in standard fonts, which have no CJK glyphs.
pub(crate) fn interpreter_settings() -> hayro::hayro_interpret::InterpreterSettings {
    use hayro::hayro_interpret::InterpreterSettings;
    use hayro::hayro_interpret::font::FontQuery;
    use hayro::hayro_interpret::hayro_cmap::CidFamily;

    let settings = InterpreterSettings::default();
    let standard = Arc::clone(&settings.font_resolver);
    InterpreterSettings {
        font_resolver: Arc::new(move |query| {
            if let FontQuery::Fallback(fallback) = query
                && fallback
                    .character_collection
                    .as_ref()
                    .is_some_and(|collection| {
                        matches!(
                            collection.family,
                            CidFamily::AdobeGB1
                                | CidFamily::AdobeCNS1
                                | CidFamily::AdobeJapan1
                                | CidFamily::AdobeKorea1
                        )
                    })
                && let Some(font) = system_cjk_font(fallback.is_serif)
            {
                return Some(font);
            }
            standard(query)
        }),
        ..settings
    }
}

/// A regular-weight CJK face from the system fonts, serif (Song) or sans (Hei), found
/// and read into memory on first need, then kept for the life of the process.
fn system_cjk_font(serif: bool) -> Option<(hayro::hayro_interpret::font::FontData, u32)> {
    use hayro::hayro_interpret::font::FontData;
    use resvg::usvg::fontdb::{Database, Family, Query, Source};
    use std::sync::OnceLock;

    type Found = Option<(FontData, u32)>;
    static SANS_FONT: OnceLock<Found> = OnceLock::new();
    static SERIF_FONT: OnceLock<Found> = OnceLock::new();
    const SANS: &[&str] = &[
        "Noto Sans CJK SC",
        "Source Han Sans SC",
        "WenQuanYi Micro Hei",
        "WenQuanYi Zen Hei",
    ];
    const SERIF: &[&str] = &["Noto Serif CJK SC", "Source Han Serif SC", "AR PL UMing CN"];

    // Each style is looked for (one scan of the system fonts) and read (about 20 MB for
    // a Noto CJK collection) only when a PDF first needs it.
    let find = |names: &[&str]| -> Found {
        let mut db = Database::new();
        db.load_system_fonts();
        let families: Vec<Family<'_>> = names.iter().map(|name| Family::Name(name)).collect();
        let id = db.query(&Query {
            families: &families,
            ..Query::default()
        })?;
        let face = db.face(id)?;
        let data: FontData = match &face.source {
            Source::File(path) | Source::SharedFile(path, _) => Arc::new(std::fs::read(path).ok()?),
            Source::Binary(data) => Arc::clone(data),
        };
        Some((data, face.index))
    };
    let sans = || SANS_FONT.get_or_init(|| find(SANS)).clone();
    let serif_font = || SERIF_FONT.get_or_init(|| find(SERIF)).clone();
    if serif {
        serif_font().or_else(sans)
    } else {
        sans().or_else(serif_font)
    }
}

/// A white page with a grey border, in the proportions of a `width` × `height` page.
fn placeholder_thumbnail(width: f32, height: f32) -> Result<Vec<u8>, DocumentError> {
    let scale = (THUMBNAIL_MAX_WIDTH as f32 / width.max(1.0))
        .min(THUMBNAIL_MAX_HEIGHT as f32 / height.max(1.0));
    let w = ((width * scale).round() as u32).clamp(8, THUMBNAIL_MAX_WIDTH);
    let h = ((height * scale).round() as u32).clamp(8, THUMBNAIL_MAX_HEIGHT);
    let border = image::Rgb([0xB0, 0xB0, 0xB0]);
    let page = image::RgbImage::from_fn(w, h, |x, y| {
        if x < 2 || y < 2 || x >= w - 2 || y >= h - 2 {
            border
        } else {
            image::Rgb([0xFF, 0xFF, 0xFF])
        }
    });
    encode_png(&DynamicImage::ImageRgb8(page))
}

fn inspect_image(
    bytes: &[u8],
    limits: &Limits,
    sha256: [u8; 32],
    kind: DocumentKind,
    format: ImageFormat,
) -> Result<Inspected, DocumentError> {
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|error| malformed(kind, error))?;
    if width == 0 || height == 0 {
        return Err(malformed(kind, "the image has no pixels"));
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(DocumentError::ImageTooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(width);
    decode_limits.max_image_height = Some(height);
    // Room for the widest pixel format (16-bit RGBA) plus the decoder's own buffers.
    decode_limits.max_alloc = Some(u64::from(width) * u64::from(height) * 8 + (64 << 20));
    reader.limits(decode_limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|error| malformed(kind, error))?;
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|error| malformed(kind, error))?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    let dimensions = Dimensions::Pixels {
        width: image.width(),
        height: image.height(),
    };
    let thumbnail = if image.width() > THUMBNAIL_MAX_WIDTH || image.height() > THUMBNAIL_MAX_HEIGHT
    {
        image.thumbnail(THUMBNAIL_MAX_WIDTH, THUMBNAIL_MAX_HEIGHT)
    } else {
        image
    };
    let thumbnail = if thumbnail.color().has_alpha() {
        DynamicImage::ImageRgba8(thumbnail.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(thumbnail.into_rgb8())
    };
    Ok(Inspected {
        kind,
        pages: 1,
        sha256,
        dimensions,
        thumbnail_png: encode_png(&thumbnail)?,
        thumbnail_is_placeholder: false,
    })
}

fn encode_png(image: &DynamicImage) -> Result<Vec<u8>, DocumentError> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|error| DocumentError::Thumbnail(error.to_string()))?;
    Ok(out.into_inner())
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_name_the_kind() {
        assert_eq!(DocumentKind::sniff(b"%PDF-1.7\n"), Some(DocumentKind::Pdf));
        assert_eq!(
            DocumentKind::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(DocumentKind::Png)
        );
        assert_eq!(
            DocumentKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(DocumentKind::Jpeg)
        );
        assert_eq!(DocumentKind::sniff(b"PK\x03\x04"), None);
        assert_eq!(DocumentKind::sniff(b"%PD"), None);
    }

    #[test]
    fn kinds_have_media_types_and_extensions() {
        assert_eq!(DocumentKind::Pdf.media_type(), "application/pdf");
        assert_eq!(DocumentKind::Jpeg.extension(), "jpg");
        assert_eq!(DocumentKind::Png.to_string(), "PNG");
    }

    #[test]
    fn the_placeholder_keeps_the_page_proportions() {
        let png = placeholder_thumbnail(595.0, 842.0).unwrap();
        let image = image::load_from_memory(&png).unwrap();
        assert_eq!((image.width(), image.height()), (320, 453));
    }
}
