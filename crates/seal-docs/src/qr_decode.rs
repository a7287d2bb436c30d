//! Reading QR codes back, for the offline verifier: from photos of a printed stamp
//! (PNG or JPEG; turned any angle, seen at a slant, blurred, noisy, in poor light, the
//! code small in a large picture) and from PDFs (each page drawn with hayro, and the
//! images embedded in the pages decoded at their own resolution).
//!
//! The decoder is rxing's port of zxing-cpp's QR reader (finder-pattern sets, then
//! sampling along the estimated perspective), fed with grey levels through rxing's
//! hybrid (local-threshold) binariser, with the classic ZXing reader as a second
//! opinion. When a pass finds nothing, the picture is tried again after preprocessing
//! ([`PASSES`]: at half size, then sharpened); the first pass that finds a code ends
//! the search.
//! `examples/qr_corpus.rs` measures the passes, and the rqrr crate for comparison, on
//! a generated corpus of photos.
//!
//! Every input is bounded by [`DecodeLimits`]: bytes, pixels, pages, the pixels of a
//! drawn page and of an embedded image, so that a hostile file cannot exhaust memory.
//! Parsers of hostile input may panic; a panic counts as "no code found" for that pass
//! or as a malformed file.

use std::collections::HashSet;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use image::{GrayImage, ImageFormat, ImageReader};
use rxing::common::HybridBinarizer;
use rxing::multi::MultipleBarcodeReader;
use rxing::qrcode::QRCodeReader;
use rxing::qrcode::cpp_port::QrReader;
use rxing::{BarcodeFormat, BinaryBitmap, DecodeHints, Luma8LuminanceSource, Reader};

/// Longest side of a drawn page, in pixels.
const MAX_PAGE_SIDE: f32 = 16_000.0;

/// Bounds on what the decoder accepts and how much work it does.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeLimits {
    /// Largest file accepted.
    pub max_bytes: usize,
    /// Most pixels of a photo (width × height, checked from the header before
    /// decoding).
    pub max_image_pixels: u64,
    /// Most pages of a PDF.
    pub max_pages: usize,
    /// Resolution at which PDF pages are drawn.
    pub pdf_dpi: f32,
    /// Most pixels of one drawn page: a larger page is drawn at a lower resolution.
    pub max_page_pixels: u64,
    /// Most pixels drawn for all the pages of a PDF together.
    pub max_total_page_pixels: u64,
    /// Most embedded images of a PDF that are decoded on their own.
    pub max_embedded_images: usize,
    /// Most pixels of an embedded image decoded on its own (larger ones are only seen
    /// on the drawn page).
    pub max_embedded_image_pixels: u64,
}

impl Default for DecodeLimits {
    /// 50 MB files; photos up to 50 megapixels; PDFs of up to 100 pages drawn at
    /// 288 dpi (4 × 72), each page at most 12 megapixels, 400 megapixels in all; up to
    /// 50 embedded images of up to 25 megapixels.
    fn default() -> DecodeLimits {
        DecodeLimits {
            max_bytes: 50 * 1024 * 1024,
            max_image_pixels: 50_000_000,
            max_pages: 100,
            pdf_dpi: 288.0,
            max_page_pixels: 12_000_000,
            max_total_page_pixels: 400_000_000,
            max_embedded_images: 50,
            max_embedded_image_pixels: 25_000_000,
        }
    }
}

/// Why a file could not be searched for QR codes. Finding no code is not an error:
/// the decoders then return an empty list.
#[derive(Debug, thiserror::Error)]
pub enum QrDecodeError {
    #[error("the file is empty")]
    Empty,
    #[error("the file has {actual} bytes; at most {max} are accepted")]
    TooLarge { actual: usize, max: usize },
    #[error("the file is not a PNG or JPEG image")]
    NotAnImage,
    #[error("the file is not a PDF")]
    NotAPdf,
    #[error("the image is {width} × {height} pixels; at most {max} pixels are accepted")]
    ImageTooLarge { width: u32, height: u32, max: u64 },
    #[error("the image cannot be decoded: {0}")]
    MalformedImage(String),
    #[error("the PDF cannot be read: {0}")]
    MalformedPdf(String),
    #[error("the PDF is protected by a password")]
    Encrypted,
    #[error("the PDF has {pages} pages; at most {max} are searched")]
    TooManyPages { pages: usize, max: usize },
}

/// The texts of the QR codes in a PNG or JPEG image, within the default limits.
pub fn decode_image(bytes: &[u8]) -> Result<Vec<String>, QrDecodeError> {
    decode_image_with(bytes, &DecodeLimits::default())
}

/// The texts of the QR codes in a PNG or JPEG image, within `limits`.
pub fn decode_image_with(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<Vec<String>, QrDecodeError> {
    check_size(bytes, limits)?;
    let format = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        ImageFormat::Png
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ImageFormat::Jpeg
    } else {
        return Err(QrDecodeError::NotAnImage);
    };
    let gray = load_gray(bytes, format, limits.max_image_pixels)?;
    Ok(decode_gray(&gray))
}

/// The texts of the QR codes on the pages of a PDF, within the default limits.
pub fn decode_pdf(bytes: &[u8]) -> Result<Vec<String>, QrDecodeError> {
    decode_pdf_with(bytes, &DecodeLimits::default())
}

/// The texts of the QR codes on the pages of a PDF, within `limits`: each page drawn
/// by hayro at `limits.pdf_dpi` (less for pages too large for `max_page_pixels`) and
/// searched, then the JPEG and 8-bit grey or RGB images embedded in the pages searched
/// at their own resolution. Texts are listed once, in the order found.
pub fn decode_pdf_with(bytes: &[u8], limits: &DecodeLimits) -> Result<Vec<String>, QrDecodeError> {
    check_size(bytes, limits)?;
    if !bytes.starts_with(b"%PDF-") {
        return Err(QrDecodeError::NotAPdf);
    }
    let mut found = Found::default();

    let document = catch_unwind(|| lopdf::Document::load_mem(bytes))
        .map_err(|_| QrDecodeError::MalformedPdf("the PDF parser gave up".into()))?
        .map_err(|error| match error {
            lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword => QrDecodeError::Encrypted,
            other => QrDecodeError::MalformedPdf(other.to_string()),
        })?;
    if document.is_encrypted() {
        return Err(QrDecodeError::Encrypted);
    }
    let page_ids: Vec<lopdf::ObjectId> = catch_unwind(AssertUnwindSafe(|| document.get_pages()))
        .map_err(|_| QrDecodeError::MalformedPdf("the page tree cannot be read".into()))?
        .into_values()
        .collect();
    if page_ids.len() > limits.max_pages {
        return Err(QrDecodeError::TooManyPages {
            pages: page_ids.len(),
            max: limits.max_pages,
        });
    }

    for page in render_pages(bytes, limits)? {
        found.extend(decode_gray(&page));
    }
    let mut images = 0;
    for page_id in page_ids {
        if images >= limits.max_embedded_images {
            break;
        }
        let Ok(Ok(page_images)) =
            catch_unwind(AssertUnwindSafe(|| document.get_page_images(page_id)))
        else {
            continue;
        };
        for image in page_images {
            if images >= limits.max_embedded_images {
                break;
            }
            images += 1;
            if let Some(gray) = embedded_gray(&document, &image, limits) {
                found.extend(decode_gray(&gray));
            }
        }
    }
    Ok(found.texts)
}

/// The texts of the QR codes in a grey image, trying the preprocessing passes in turn
/// until one finds a code.
pub fn decode_gray(gray: &GrayImage) -> Vec<String> {
    decode_gray_using(gray, &rxing_pass)
}

/// The [`PASSES`] with another single-pass decoder, to compare decoders on the same
/// preprocessing: the texts of the first pass that finds any.
pub fn decode_gray_using(
    gray: &GrayImage,
    decode: &dyn Fn(&GrayImage) -> Vec<String>,
) -> Vec<String> {
    for pass in PASSES {
        let texts = match pass {
            Pass::Original => decode(gray),
            _ => match pass.prepare(gray) {
                Some(prepared) => decode(&prepared),
                None => continue,
            },
        };
        if !texts.is_empty() {
            return texts;
        }
    }
    Vec::new()
}

/// The preprocessing passes, in the order tried. Each was kept because it decoded
/// photos of the harsh corpus (`examples/qr_corpus.rs`) that the passes before it
/// missed; passes that added nothing there (three-quarter size, a one-pixel Gaussian
/// blur, contrast stretching, a local threshold, enlarging, rxing's global-histogram
/// binariser) were dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// The picture as it is.
    Original,
    /// Half the size, each pixel the mean of four: against heavy noise and dim light
    /// (noise averages out, and the modules come closer to the size of the
    /// binariser's blocks).
    Half,
    /// Unsharp masking (Gaussian of two pixels, 1.5 times the difference added back):
    /// against a blurred or defocused photo.
    Sharpened,
}

/// The passes [`decode_gray`] tries, cheapest first.
pub const PASSES: [Pass; 3] = [Pass::Original, Pass::Half, Pass::Sharpened];

impl Pass {
    /// The preprocessed picture, or `None` for [`Pass::Original`] and for pictures
    /// under 200 pixels a side, too small to shrink.
    pub fn prepare(self, gray: &GrayImage) -> Option<GrayImage> {
        let (w, h) = gray.dimensions();
        let big_enough = w >= 200 && h >= 200;
        match self {
            Pass::Original => None,
            Pass::Half => big_enough.then(|| half(gray)),
            Pass::Sharpened => Some(unsharp(gray, 2.0, 1.5)),
        }
    }
}

/// One pass of rxing over a grey image: zxing-cpp's QR reader (all codes in the
/// picture), then, when it found none, the classic ZXing QR reader, both with the
/// hybrid binariser and "try harder".
pub fn rxing_pass(gray: &GrayImage) -> Vec<String> {
    let hints = hints();
    let (width, height) = gray.dimensions();
    let Ok(source) = Luma8LuminanceSource::new(gray.as_raw().clone(), width, height) else {
        return Vec::new();
    };
    let cpp = catch_unwind(AssertUnwindSafe(|| {
        let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source.clone()));
        QrReader
            .decode_multiple_with_hints(&mut bitmap, &hints)
            .map(|results| {
                results
                    .iter()
                    .map(|r| r.getText().to_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    }))
    .unwrap_or_default();
    if !cpp.is_empty() {
        return dedup(cpp);
    }
    catch_unwind(AssertUnwindSafe(|| {
        let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        QRCodeReader
            .decode_with_hints(&mut bitmap, &hints)
            .map(|result| vec![result.getText().to_owned()])
            .unwrap_or_default()
    }))
    .unwrap_or_default()
}

fn hints() -> DecodeHints {
    DecodeHints {
        TryHarder: Some(true),
        PossibleFormats: Some(HashSet::from([BarcodeFormat::QR_CODE])),
        ..DecodeHints::default()
    }
}

fn dedup(texts: Vec<String>) -> Vec<String> {
    let mut found = Found::default();
    found.extend(texts);
    found.texts
}

/// Texts in the order found, each once.
#[derive(Default)]
struct Found {
    seen: HashSet<String>,
    texts: Vec<String>,
}

impl Found {
    fn extend(&mut self, texts: Vec<String>) {
        for text in texts {
            if self.seen.insert(text.clone()) {
                self.texts.push(text);
            }
        }
    }
}

fn check_size(bytes: &[u8], limits: &DecodeLimits) -> Result<(), QrDecodeError> {
    if bytes.is_empty() {
        return Err(QrDecodeError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(QrDecodeError::TooLarge {
            actual: bytes.len(),
            max: limits.max_bytes,
        });
    }
    Ok(())
}

/// Decodes an image to grey levels after checking its size from the header.
fn load_gray(
    bytes: &[u8],
    format: ImageFormat,
    max_pixels: u64,
) -> Result<GrayImage, QrDecodeError> {
    let malformed = |error: image::ImageError| QrDecodeError::MalformedImage(error.to_string());
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(malformed)?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(QrDecodeError::ImageTooLarge {
            width,
            height,
            max: max_pixels,
        });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(width);
    image_limits.max_image_height = Some(height);
    // RGBA at 16 bits a channel, and some room for the decoder's buffers.
    image_limits.max_alloc = Some(u64::from(width) * u64::from(height) * 8 + (64 << 20));
    reader.limits(image_limits);
    let decoded = catch_unwind(AssertUnwindSafe(|| reader.decode()))
        .map_err(|_| QrDecodeError::MalformedImage("the image decoder gave up".into()))?
        .map_err(malformed)?;
    Ok(decoded.into_luma8())
}

/// Every page drawn by hayro in grey, within the pixel limits; pages hayro cannot draw
/// are left out.
fn render_pages(bytes: &[u8], limits: &DecodeLimits) -> Result<Vec<GrayImage>, QrDecodeError> {
    use hayro::hayro_interpret::InterpreterSettings;
    use hayro::hayro_syntax::Pdf;
    use hayro::vello_cpu::color::palette::css::WHITE;
    use hayro::{PixmapSettings, RenderCache, RenderSettings};

    let data = Arc::new(bytes.to_vec());
    let pdf = catch_unwind(move || Pdf::new(data).ok())
        .ok()
        .flatten()
        .ok_or_else(|| QrDecodeError::MalformedPdf("hayro cannot read the PDF".into()))?;
    let settings = InterpreterSettings::default();
    let cache = RenderCache::new();
    let mut budget = limits.max_total_page_pixels;
    let mut pages = Vec::new();
    for page in pdf.pages().iter().take(limits.max_pages) {
        let (width_pt, height_pt) = page.render_dimensions();
        if !(width_pt.is_finite() && height_pt.is_finite() && width_pt >= 1.0 && height_pt >= 1.0) {
            continue;
        }
        let mut scale = limits.pdf_dpi / 72.0;
        let area_pt = f64::from(width_pt) * f64::from(height_pt);
        let max_pixels = limits.max_page_pixels.min(budget) as f64;
        if area_pt * f64::from(scale * scale) > max_pixels {
            scale = (max_pixels / area_pt).sqrt() as f32;
        }
        // hayro's pixmaps have at most 65535 pixels a side.
        scale = scale
            .min(MAX_PAGE_SIDE / width_pt)
            .min(MAX_PAGE_SIDE / height_pt);
        let pixels = (area_pt * f64::from(scale * scale)) as u64;
        if scale <= 0.0 || pixels == 0 {
            break;
        }
        budget = budget.saturating_sub(pixels);
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
        let gray: Vec<u8> = pixmap
            .data_as_u8_slice()
            .chunks_exact(4)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect();
        if let Some(image) = GrayImage::from_raw(w, h, gray) {
            pages.push(image);
        }
    }
    Ok(pages)
}

/// An embedded image in grey, when it is a JPEG or raw 8-bit grey or RGB samples (the
/// forms scans and photos take) within the pixel limit.
fn embedded_gray(
    document: &lopdf::Document,
    image: &lopdf::xobject::PdfImage<'_>,
    limits: &DecodeLimits,
) -> Option<GrayImage> {
    let width = u32::try_from(image.width).ok()?;
    let height = u32::try_from(image.height).ok()?;
    let pixels = u64::from(width) * u64::from(height);
    if width < 21 || height < 21 || pixels > limits.max_embedded_image_pixels {
        return None;
    }
    let filters: Vec<&str> = image
        .filters
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect();
    match filters.as_slice() {
        ["DCTDecode"] => load_gray(
            image.content,
            ImageFormat::Jpeg,
            limits.max_embedded_image_pixels,
        )
        .ok(),
        [] | ["FlateDecode"] => {
            if image.bits_per_component != Some(8) {
                return None;
            }
            let channels: u64 = match image.color_space.as_deref() {
                Some("DeviceGray") => 1,
                Some("DeviceRGB") => 3,
                _ => return None,
            };
            let expected = usize::try_from(pixels * channels).ok()?;
            let stream = document.get_object(image.id).ok()?.as_stream().ok()?;
            let samples = catch_unwind(AssertUnwindSafe(|| {
                stream.get_plain_content_with_limit(expected)
            }))
            .ok()?
            .ok()?;
            if samples.len() < expected {
                return None;
            }
            let gray: Vec<u8> = if channels == 1 {
                samples[..expected].to_vec()
            } else {
                samples[..expected]
                    .chunks_exact(3)
                    .map(|p| luma(p[0], p[1], p[2]))
                    .collect()
            };
            GrayImage::from_raw(width, height, gray)
        }
        _ => None,
    }
}

/// Rec. 601 luma of an RGB pixel.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114 + 500) / 1000) as u8
}

/// Half the size, each pixel the mean of a 2 × 2 block.
fn half(gray: &GrayImage) -> GrayImage {
    let (w, h) = (gray.width() / 2, gray.height() / 2);
    GrayImage::from_fn(w, h, |x, y| {
        let sum: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
            .iter()
            .map(|&(dx, dy)| u32::from(gray.get_pixel(2 * x + dx, 2 * y + dy).0[0]))
            .sum();
        image::Luma([((sum + 2) / 4) as u8])
    })
}

/// `gray` plus `amount` times its difference from a Gaussian blur of `sigma` pixels.
fn unsharp(gray: &GrayImage, sigma: f32, amount: f32) -> GrayImage {
    let blurred = image::imageops::blur(gray, sigma);
    let mut out = gray.clone();
    for (pixel, smooth) in out.pixels_mut().zip(blurred.pixels()) {
        let value = f32::from(pixel.0[0]);
        let sharpened = value + amount * (value - f32::from(smooth.0[0]));
        pixel.0[0] = sharpened.round().clamp(0.0, 255.0) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_blocks() {
        let gray = GrayImage::from_fn(4, 2, |x, _| image::Luma([if x < 2 { 0 } else { 200 }]));
        let halved = half(&gray);
        assert_eq!(halved.dimensions(), (2, 1));
        assert_eq!(halved.as_raw(), &vec![0, 200]);
    }

    #[test]
    fn unsharp_masking_steepens_edges() {
        let gray = GrayImage::from_fn(20, 1, |x, _| image::Luma([if x < 10 { 100 } else { 150 }]));
        let sharp = unsharp(&gray, 2.0, 1.5);
        assert!(sharp.get_pixel(9, 0).0[0] < 100);
        assert!(sharp.get_pixel(10, 0).0[0] > 150);
        assert_eq!(sharp.get_pixel(0, 0).0[0], 100);
    }

    #[test]
    fn files_are_checked_before_decoding() {
        assert!(matches!(decode_image(b""), Err(QrDecodeError::Empty)));
        assert!(matches!(
            decode_image(b"GIF89a"),
            Err(QrDecodeError::NotAnImage)
        ));
        assert!(matches!(
            decode_pdf(b"\x89PNG"),
            Err(QrDecodeError::NotAPdf)
        ));
        let limits = DecodeLimits {
            max_bytes: 4,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            decode_image_with(b"\x89PNG\r\n\x1a\n", &limits),
            Err(QrDecodeError::TooLarge { actual: 8, max: 4 })
        ));
    }

    #[test]
    fn a_huge_png_header_is_refused_before_decoding() {
        // A PNG header claiming 30000 × 30000 pixels, with a token of data behind it.
        let mut png = Vec::new();
        let mut encoder = png::Encoder::new(&mut png, 30_000, 30_000);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap_or_else(|e| panic!("{e}"));
        writer
            .write_chunk(png::chunk::IDAT, &[0x78, 0x9c, 0x03, 0x00])
            .unwrap_or_else(|e| panic!("{e}"));
        drop(writer);
        let result = decode_image(&png);
        assert!(
            matches!(
                result,
                Err(QrDecodeError::ImageTooLarge {
                    width: 30_000,
                    height: 30_000,
                    ..
                })
            ),
            "{result:?}"
        );
    }
}
