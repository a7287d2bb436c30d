//! Generated pages and photos of them for the capture tests and
//! `examples/capture_preview.rs`, the same on every run (fixed seeds): pages of
//! text-like glyphs (strokes in character cells, CJK-like), red seal impressions
//! multiplied over the text, and photos taken through a pinhole camera (tilt, turn,
//! distance) of the page lying on a textured desk, with uneven light, a soft shadow,
//! blur, noise and JPEG.

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use imageproc::geometric_transformations::Projection;

/// A small deterministic generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u32) -> u32 {
        (self.next_u64() % u64::from(n.max(1))) as u32
    }

    /// Roughly normal, mean 0, standard deviation 1.
    pub fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.range(-1.0, 1.0)).sum::<f32>() * 0.866
    }
}

pub const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
pub const INK: Rgb<u8> = Rgb([20, 20, 24]);
/// Vermilion seal ink.
pub const SEAL_RED: Rgb<u8> = Rgb([214, 38, 44]);
/// Faded, pinkish seal ink.
pub const SEAL_PINK: Rgb<u8> = Rgb([238, 140, 150]);

/// Fills a rectangle (clipped to the image).
pub fn fill_rect(img: &mut RgbImage, x: i64, y: i64, w: i64, h: i64, c: Rgb<u8>) {
    let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
    for yy in y.max(0)..(y + h).min(ih) {
        for xx in x.max(0)..(x + w).min(iw) {
            img.put_pixel(xx as u32, yy as u32, c);
        }
    }
}

/// An A4-shaped page (`width` wide) of `lines` lines of text-like glyphs in paragraphs
/// (or a blank page for 0 lines).
pub fn text_page(width: u32, lines: usize, seed: u64) -> RgbImage {
    let height = (f64::from(width) * std::f64::consts::SQRT_2).round() as u32;
    let mut page = RgbImage::from_pixel(width, height, WHITE);
    let mut rng = Rng::new(seed);
    let per_line = 38u32;
    let left = f64::from(width) * 0.11;
    let cell = (f64::from(width) * 0.78 / f64::from(per_line)).floor();
    let pitch = (cell * 1.65).round();
    let stroke = (cell * 0.14).round().max(2.0) as i64;
    let top = f64::from(height) * 0.08;
    for line in 0..lines {
        let y = top + pitch * line as f64;
        if y + cell > f64::from(height) * 0.93 {
            break;
        }
        // A heading indented, paragraph ends short.
        let (start, count) = match line % 9 {
            0 => (8, 18),
            8 => (0, 6 + rng.below(25)),
            1 => (2, per_line - 2),
            _ => (0, per_line),
        };
        for i in start..start + count {
            if rng.below(13) == 0 {
                continue;
            }
            let x = left + cell * f64::from(i);
            glyph(&mut page, &mut rng, x as i64, y as i64, cell as i64, stroke);
        }
    }
    page
}

/// One character-like glyph: a few horizontal and vertical strokes in a cell.
fn glyph(page: &mut RgbImage, rng: &mut Rng, x: i64, y: i64, cell: i64, stroke: i64) {
    let inset = cell / 9;
    let size = cell - 2 * inset;
    let (x, y) = (x + inset, y + inset);
    for _ in 0..3 + rng.below(3) {
        let along = i64::from(rng.below(size as u32 / 2 + 1)) + size / 2;
        let at = i64::from(rng.below((size - stroke).max(1) as u32));
        let from = i64::from(rng.below((size - along + 1).max(1) as u32));
        if rng.below(2) == 0 {
            fill_rect(page, x + from, y + at, along, stroke, INK);
        } else {
            fill_rect(page, x + at, y + from, stroke, along, INK);
        }
    }
}

/// Presses a round seal of `diameter` px centred at `(cx, cy)`: ring, star and a ring of
/// glyph-like marks, the ink multiplied over what is there (black stays black).
pub fn press_seal(page: &mut RgbImage, cx: f32, cy: f32, diameter: f32, ink: Rgb<u8>) {
    let r = diameter / 2.0;
    let ring = r * 0.07;
    let (w, h) = page.dimensions();
    let x0 = (cx - r - 2.0).max(0.0) as u32;
    let y0 = (cy - r - 2.0).max(0.0) as u32;
    let x1 = ((cx + r + 2.0) as u32).min(w);
    let y1 = ((cy + r + 2.0) as u32).min(h);
    for y in y0..y1 {
        for x in x0..x1 {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let d = dx.hypot(dy);
            let angle = dy.atan2(dx);
            let in_ring = d <= r && d >= r - ring;
            // Star: a five-pointed outline in polar form.
            let star_r = r * 0.28;
            let a = (angle + std::f32::consts::FRAC_PI_2)
                .rem_euclid(2.0 * std::f32::consts::PI / 5.0)
                - std::f32::consts::PI / 5.0;
            let in_star =
                d <= star_r * (0.42 + 0.58 * (1.0 - a.abs() / (std::f32::consts::PI / 5.0)));
            // Arc text: blocks between 0.62 r and 0.86 r on the upper 240°.
            let upper = !(angle > 0.5 && angle < std::f32::consts::PI - 0.5);
            let slot = ((angle + 4.0) / 0.26).fract();
            let radial = (d - r * 0.62) / (r * 0.24);
            let in_text = upper
                && (0.0..1.0).contains(&radial)
                && (slot < 0.18
                    || (slot > 0.4 && slot < 0.55)
                    || (radial > 0.42 && radial < 0.58 && slot < 0.7));
            // The organisation's code along the bottom.
            let in_code = dy > r * 0.45
                && dy < r * 0.6
                && dx.abs() < r * 0.4
                && ((dx / (r * 0.06)).floor() as i32) % 2 == 0;
            if in_ring || in_star || in_text || in_code {
                let p = page.get_pixel_mut(x, y);
                for c in 0..3 {
                    p[c] = ((u32::from(p[c]) * u32::from(ink[c])) / 255) as u8;
                }
            }
        }
    }
}

/// Which kind of desk the page lies on.
#[derive(Clone, Copy, Debug)]
pub enum Desk {
    /// Dark brown wood.
    DarkWood,
    /// Light oak, nearly as bright as the paper but yellower.
    LightWood,
    /// A mid-grey office desk.
    Grey,
}

/// How a photo of a page is taken.
#[derive(Clone, Debug)]
pub struct Shot {
    pub size: (u32, u32),
    /// Turn of the page in its own plane, degrees clockwise.
    pub turn_deg: f64,
    /// Camera tilts about the horizontal and the vertical axis, degrees.
    pub tilt_deg: (f64, f64),
    /// The page's height as a share of the frame's height when seen straight on.
    pub fill: f64,
    /// Page offset from the centre, as shares of its width and height.
    pub offset: (f64, f64),
    pub desk: Desk,
    /// Light falling off by this share towards the bottom-right.
    pub falloff: f32,
    /// A soft shadow (of the phone or hand) darkening this share over a band.
    pub shadow: f32,
    pub blur_sigma: f32,
    pub noise: f32,
    pub jpeg_quality: Option<u8>,
    pub seed: u64,
}

impl Shot {
    pub fn new(size: (u32, u32)) -> Shot {
        Shot {
            size,
            turn_deg: 0.0,
            tilt_deg: (0.0, 0.0),
            fill: 0.8,
            offset: (0.0, 0.0),
            desk: Desk::DarkWood,
            falloff: 0.0,
            shadow: 0.0,
            blur_sigma: 0.0,
            noise: 0.0,
            jpeg_quality: None,
            seed: 1,
        }
    }
}

/// Where a pinhole camera (focal length 0.9 × the frame's long side, looking at the
/// page's centre) sees the corners of a `page` px page: top-left, top-right,
/// bottom-right, bottom-left.
pub fn camera_corners(page: (u32, u32), shot: &Shot) -> [(f64, f64); 4] {
    let (fw, fh) = (f64::from(shot.size.0), f64::from(shot.size.1));
    let f = 0.9 * fw.max(fh);
    let (pw, ph) = (f64::from(page.0), f64::from(page.1));
    let d = f * ph / (shot.fill * fh);
    let (t, (ax, ay)) = (
        shot.turn_deg.to_radians(),
        (shot.tilt_deg.0.to_radians(), shot.tilt_deg.1.to_radians()),
    );
    [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)].map(|(u, v)| {
        let (x, y) = (u * pw, v * ph);
        // Turn in the page plane, then tilt about x, then about y.
        let (x, y) = (x * t.cos() - y * t.sin(), x * t.sin() + y * t.cos());
        let (y, z) = (y * ax.cos(), y * ax.sin());
        let (x, z) = (x * ay.cos() + z * ay.sin(), -x * ay.sin() + z * ay.cos());
        let (x, y, z) = (x + shot.offset.0 * pw, y + shot.offset.1 * ph, z + d);
        (f * x / z + fw / 2.0, f * y / z + fh / 2.0)
    })
}

/// A photo of `page` taken as `shot` says, and where the page's corners are in it
/// (pixel centres at integers, the page's outer edges at −0.5 and size − 0.5).
pub fn photograph(page: &RgbImage, shot: &Shot) -> (RgbImage, [(f64, f64); 4]) {
    let (pw, ph) = page.dimensions();
    let corners = camera_corners((pw, ph), shot);
    let (pwf, phf) = (pw as f32 - 0.5, ph as f32 - 0.5);
    let edges = [(-0.5, -0.5), (pwf, -0.5), (pwf, phf), (-0.5, phf)];
    let seen = corners.map(|(x, y)| (x as f32, y as f32));
    let back = Projection::from_control_points(seen, edges).expect("a valid projection");
    let (w, h) = shot.size;
    let mut rng = Rng::new(shot.seed);
    let phase = rng.range(0.0, 6.0);
    let mut out = vec![0u8; (w * h * 3) as usize];
    let src = page.as_raw();
    let mut i = 0;
    for y in 0..h {
        let yf = y as f32;
        let shift = 4.0 * (yf / 140.0 + phase).sin();
        let fine = 0.2 * (yf / 3.0).sin();
        for x in 0..w {
            let xf = x as f32;
            let (px, py) = back * (xf, yf);
            // Coverage of the pixel by the page: 1 inside, falling to 0 over a pixel.
            let cover = (px + 0.5)
                .min(pwf - px)
                .min(py + 0.5)
                .min(phf - py)
                .clamp(-0.5, 0.5)
                + 0.5;
            let mut colour = [0.0f32; 3];
            if cover < 1.0 {
                let grain = 0.5 * (xf / 9.0 + shift).sin() + fine;
                colour = desk_colour(shot.desk, grain).map(|c| c * (1.0 - cover));
            }
            if cover > 0.0 {
                let paper = sample(src, pw, ph, px, py);
                // Paper is slightly warm under room light.
                for (c, (o, warm)) in colour.iter_mut().zip([0.96, 0.94, 0.88]).enumerate() {
                    *o += paper[c] * warm * cover;
                }
            }
            let (xr, yr) = (xf / w as f32, yf / h as f32);
            let mut light = 1.0 - shot.falloff * (0.6 * xr + 0.4 * yr);
            // A soft diagonal shadow band.
            let band = (xr * 0.8 - yr + 0.35) / 0.12;
            if band > -1.0 && band < 1.0 {
                light *= 1.0 - shot.shadow * (1.0 - band * band);
            }
            for c in colour {
                out[i] = (c * light).clamp(0.0, 255.0) as u8;
                i += 1;
            }
        }
    }
    blur(&mut out, w as usize, h as usize, shot.blur_sigma);
    add_noise(&mut out, shot.noise, &mut rng);
    let mut photo = RgbImage::from_raw(w, h, out).expect("a full buffer");
    if let Some(quality) = shot.jpeg_quality {
        photo = jpeg_round_trip(&photo, quality);
    }
    (photo, corners)
}

/// Bilinear colour of the `w`×`h` RGB buffer `src` at `(x, y)`, edges repeated.
fn sample(src: &[u8], w: u32, h: u32, x: f32, y: f32) -> [f32; 3] {
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(w as usize - 1), (y0 + 1).min(h as usize - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let w = w as usize;
    let at = |x: usize, y: usize, c: usize| f32::from(src[(y * w + x) * 3 + c]);
    let mut out = [0.0; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let top = at(x0, y0, c) + (at(x1, y0, c) - at(x0, y0, c)) * fx;
        let bottom = at(x0, y1, c) + (at(x1, y1, c) - at(x0, y1, c)) * fx;
        *o = top + (bottom - top) * fy;
    }
    out
}

/// An approximate Gaussian blur of standard deviation `sigma`: repeated [1 2 1] passes
/// (each adds a variance of ½) along rows and columns.
fn blur(buf: &mut [u8], w: usize, h: usize, sigma: f32) {
    let passes = (sigma * sigma / 0.5).round() as usize;
    let mut tmp = vec![0u8; buf.len()];
    for _ in 0..passes {
        for (step, len, lines, stride) in [(3, w, h, w * 3), (w * 3, h, w, 3)] {
            for line in 0..lines {
                let base = line * stride;
                for c in 0..3 {
                    for i in 0..len {
                        let at = |j: usize| u32::from(buf[base + j * step + c]);
                        let (a, b) = (at(i.saturating_sub(1)), at((i + 1).min(len - 1)));
                        tmp[base + i * step + c] = ((a + 2 * at(i) + b + 2) / 4) as u8;
                    }
                }
            }
            buf.copy_from_slice(&tmp);
        }
    }
}

/// Adds grey noise of standard deviation `stddev` (the same on all three channels).
fn add_noise(buf: &mut [u8], stddev: f32, rng: &mut Rng) {
    if stddev <= 0.0 {
        return;
    }
    for px in buf.chunks_exact_mut(3) {
        // Two uniforms on [-1, 1): a triangular law of variance 2/3.
        let n = (rng.range(-1.0, 1.0) + rng.range(-1.0, 1.0)) * 1.2247 * stddev;
        for v in px {
            *v = (f32::from(*v) + n).clamp(0.0, 255.0) as u8;
        }
    }
}

fn desk_colour(desk: Desk, grain: f32) -> [f32; 3] {
    match desk {
        Desk::DarkWood => [92.0 + 14.0 * grain, 62.0 + 10.0 * grain, 40.0 + 7.0 * grain],
        Desk::LightWood => [
            196.0 + 16.0 * grain,
            160.0 + 14.0 * grain,
            112.0 + 10.0 * grain,
        ],
        Desk::Grey => [
            118.0 + 6.0 * grain,
            120.0 + 6.0 * grain,
            124.0 + 6.0 * grain,
        ],
    }
}

/// `image` saved as JPEG at `quality` and read back.
pub fn jpeg_round_trip(image: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(image)
        .expect("JPEG encoding");
    image::load_from_memory(&bytes)
        .expect("JPEG decoding")
        .to_rgb8()
}

/// A scan of `page` fed `deg` degrees clockwise (the scanner's white lid around it),
/// a little darker and noisy.
pub fn crooked_scan(page: &RgbImage, deg: f32, seed: u64) -> RgbImage {
    let (w, h) = page.dimensions();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let (sin, cos) = deg.to_radians().sin_cos();
    let src = page.as_raw();
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            // The page point that lands here: turned back anticlockwise.
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let (px, py) = (cx + cos * dx + sin * dy, cy - sin * dx + cos * dy);
            let inside = px >= -0.5 && py >= -0.5 && px <= w as f32 - 0.5 && py <= h as f32 - 0.5;
            let colour = if inside {
                sample(src, w, h, px, py)
            } else {
                [255.0; 3]
            };
            let n = (rng.range(-1.0, 1.0) + rng.range(-1.0, 1.0)) * 3.7;
            out.extend(colour.map(|c| (c * 0.97 + n).clamp(0.0, 255.0) as u8));
        }
    }
    RgbImage::from_raw(w, h, out).expect("a full buffer")
}
