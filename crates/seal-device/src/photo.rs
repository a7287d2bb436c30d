//! The simulated press camera: a generated JPEG of a stamped page (paper grain, lines of
//! "text", a red seal ring with a star), sized near a target number of bytes.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

/// The JPEG quality used.
const QUALITY: u8 = 80;

/// Why a photo could not be made.
#[derive(Debug, thiserror::Error)]
#[error("making the press photo failed: {0}")]
pub struct PhotoError(String);

/// Makes press photos near a target size, learning the bytes-per-pixel ratio as it goes.
#[derive(Clone, Debug)]
pub struct PhotoMaker {
    target_bytes: usize,
    /// Estimated JPEG bytes per pixel for these pictures.
    bytes_per_pixel: f64,
}

impl PhotoMaker {
    /// A maker aiming at `target_kb` kilobytes per photo (0: no photos).
    pub fn new(target_kb: u32) -> Self {
        PhotoMaker {
            target_bytes: usize::try_from(target_kb)
                .unwrap_or(usize::MAX)
                .saturating_mul(1024),
            bytes_per_pixel: 0.5,
        }
    }

    /// Whether photos are made at all.
    pub fn enabled(&self) -> bool {
        self.target_bytes > 0
    }

    /// A JPEG of a stamped page, different for each `seed`, within about a quarter of the
    /// target size (a second encoding corrects a bad first guess). `None` when disabled.
    pub fn make(&mut self, seed: u64) -> Result<Option<Vec<u8>>, PhotoError> {
        if !self.enabled() {
            return Ok(None);
        }
        let target = self.target_bytes as f64;
        let mut jpeg = Vec::new();
        for _ in 0..3 {
            let pixels = (target / self.bytes_per_pixel).clamp(64.0 * 90.0, 4000.0 * 5600.0);
            // A4 proportions: height = width × √2.
            let width = (pixels / std::f64::consts::SQRT_2).sqrt().round() as u32;
            let height = (f64::from(width) * std::f64::consts::SQRT_2).round() as u32;
            jpeg = encode(&draw_page(width, height, seed))?;
            let actual = jpeg.len() as f64;
            self.bytes_per_pixel = (actual / (f64::from(width) * f64::from(height))).max(0.01);
            if (actual / target - 1.0).abs() <= 0.25 {
                break;
            }
        }
        Ok(Some(jpeg))
    }
}

/// A small, fast generator for the paper grain (quality does not matter here).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..n`.
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }
}

/// Draws the page: paper with grain, a title bar, lines of words, a signature scrawl and
/// a red seal ring with a five-pointed star over the lower right.
pub fn draw_page(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut image = RgbImage::from_fn(width, height, |_, _| Rgb([244, 241, 232]));
    for pixel in image.pixels_mut() {
        let grain = rng.below(25) as i16 - 12;
        for channel in pixel.0.iter_mut() {
            *channel = (i16::from(*channel) + grain).clamp(0, 255) as u8;
        }
    }
    let w = f64::from(width);
    let h = f64::from(height);
    let ink = Rgb([40, 40, 48]);
    // Title.
    let title_w = (w * (0.3 + f64::from(rng.below(20)) / 100.0)) as u32;
    fill_rect(
        &mut image,
        (w / 2.0) as u32 - title_w / 2,
        (h * 0.07) as u32,
        title_w,
        (h * 0.018).max(2.0) as u32,
        ink,
    );
    // Lines of words.
    let margin = (w * 0.1) as u32;
    let line_h = (h * 0.008).max(1.0) as u32;
    let pitch = (h * 0.028).max(3.0);
    let mut y = h * 0.14;
    while y < h * 0.7 {
        let mut x = margin + if rng.below(6) == 0 { margin / 2 } else { 0 };
        let end = width - margin - rng.below((w * 0.15) as u32 + 1);
        while x < end {
            let word = (w * (0.02 + f64::from(rng.below(60)) / 1000.0)) as u32;
            let word = word.min(end - x).max(1);
            fill_rect(&mut image, x, y as u32, word, line_h, ink);
            x += word + (w * 0.012).max(1.0) as u32;
        }
        y += pitch;
    }
    // A signature scrawl.
    let mut sx = w * 0.15;
    let sy = h * 0.8;
    let stroke = (w * 0.003).max(1.0);
    for i in 0..200 {
        let t = f64::from(i) / 200.0;
        let yy = sy + (t * 25.0 + (seed % 7) as f64).sin() * h * 0.015;
        fill_disc(&mut image, sx, yy, stroke, ink, 1.0);
        sx += w * 0.25 / 200.0;
    }
    // The seal: ring and star in red ink, a little translucent.
    let red = Rgb([200, 28, 36]);
    let cx = w * (0.66 + f64::from(rng.below(8)) / 100.0);
    let cy = h * (0.76 + f64::from(rng.below(6)) / 100.0);
    let r = w * 0.16;
    let ring = r * 0.08;
    let star_r = r * 0.38;
    let x0 = (cx - r - 1.0).max(0.0) as u32;
    let y0 = (cy - r - 1.0).max(0.0) as u32;
    let x1 = ((cx + r + 1.0) as u32).min(width);
    let y1 = ((cy + r + 1.0) as u32).min(height);
    for py in y0..y1 {
        for px in x0..x1 {
            let dx = f64::from(px) - cx;
            let dy = f64::from(py) - cy;
            let d = (dx * dx + dy * dy).sqrt();
            let in_ring = d <= r && d >= r - ring;
            let in_star = in_star(dx, dy + star_r * 0.1, star_r);
            // Text-like dashes along the inside of the ring.
            let angle = dy.atan2(dx);
            let in_text = d <= r - ring * 2.0
                && d >= r - ring * 4.5
                && angle < -0.35
                && angle > -2.8
                && (angle * 14.0).sin() > 0.1;
            // The name line under the star.
            let in_bar = dy > r * 0.5 && dy < r * 0.6 && dx.abs() < r * 0.42;
            if in_ring || in_star || in_text || in_bar {
                // Uneven ink.
                let alpha = 0.65 + f64::from(rng.below(30)) / 100.0;
                blend(&mut image, px, py, red, alpha);
            }
        }
    }
    image
}

/// Whether a point (relative to the centre, y down) lies in an upward five-pointed star.
fn in_star(x: f64, y: f64, r: f64) -> bool {
    let inner = r * 0.382;
    let mut points = [(0.0f64, 0.0f64); 10];
    for (i, point) in points.iter_mut().enumerate() {
        let angle = -std::f64::consts::FRAC_PI_2 + i as f64 * std::f64::consts::PI / 5.0;
        let radius = if i % 2 == 0 { r } else { inner };
        *point = (radius * angle.cos(), radius * angle.sin());
    }
    // Even-odd rule.
    let mut inside = false;
    let mut j = points.len() - 1;
    for i in 0..points.len() {
        let (xi, yi) = points[i];
        let (xj, yj) = points[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn fill_rect(image: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, color: Rgb<u8>) {
    let x1 = x.saturating_add(w).min(image.width());
    let y1 = y.saturating_add(h).min(image.height());
    for py in y.min(y1)..y1 {
        for px in x.min(x1)..x1 {
            blend(image, px, py, color, 0.9);
        }
    }
}

fn fill_disc(image: &mut RgbImage, cx: f64, cy: f64, r: f64, color: Rgb<u8>, alpha: f64) {
    let x0 = (cx - r).max(0.0) as u32;
    let y0 = (cy - r).max(0.0) as u32;
    let x1 = ((cx + r + 1.0).max(0.0) as u32).min(image.width());
    let y1 = ((cy + r + 1.0).max(0.0) as u32).min(image.height());
    for py in y0..y1 {
        for px in x0..x1 {
            let dx = f64::from(px) - cx;
            let dy = f64::from(py) - cy;
            if dx * dx + dy * dy <= r * r {
                blend(image, px, py, color, alpha);
            }
        }
    }
}

/// Multiplies ink into paper (how ink looks on a page).
fn blend(image: &mut RgbImage, x: u32, y: u32, ink: Rgb<u8>, alpha: f64) {
    if let Some(pixel) = image.get_pixel_mut_checked(x, y) {
        for (channel, ink) in pixel.0.iter_mut().zip(ink.0) {
            let paper = f64::from(*channel);
            let multiplied = paper * f64::from(ink) / 255.0;
            *channel = (paper + (multiplied - paper) * alpha)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
}

fn encode(image: &RgbImage) -> Result<Vec<u8>, PhotoError> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut bytes), QUALITY)
        .encode_image(image)
        .map_err(|e| PhotoError(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_jpegs_near_the_target_and_differ() {
        let mut maker = PhotoMaker::new(40);
        let a = maker.make(1).unwrap().unwrap();
        let b = maker.make(2).unwrap().unwrap();
        assert_eq!(&a[..3], &[0xFF, 0xD8, 0xFF]);
        assert_ne!(a, b);
        for photo in [&a, &b] {
            let ratio = photo.len() as f64 / (40.0 * 1024.0);
            assert!((0.6..=1.5).contains(&ratio), "size {}", photo.len());
        }
        let decoded = image::load_from_memory(&a).unwrap().to_rgb8();
        // Some red ink is on the page.
        assert!(
            decoded
                .pixels()
                .any(|p| p.0[0] > 150 && p.0[1] < 90 && p.0[2] < 90)
        );
    }

    #[test]
    fn zero_means_no_photo() {
        assert_eq!(PhotoMaker::new(0).make(1).unwrap(), None);
    }

    #[test]
    fn the_star_has_its_points_inside_and_the_corners_outside() {
        assert!(in_star(0.0, 0.0, 10.0));
        assert!(in_star(0.0, -9.0, 10.0));
        assert!(!in_star(9.0, -9.0, 10.0));
    }
}
