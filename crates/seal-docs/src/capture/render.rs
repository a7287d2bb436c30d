//! The one full-resolution pass that makes the prepared page: for each output pixel,
//! turn back the residual skew, map through the page's perspective into the source,
//! sample bilinearly, divide by the paper's brightness there (light normalisation and
//! white balance in one), stretch so that paper is white and ink dark, and replace red
//! ink by what a red filter would see — while counting ink and red pixels. Fusing the
//! steps keeps the 4-megapixel page to one read of the source and one write; going
//! through the output in tiles keeps the source pixels a tile needs in the cache
//! whatever the page's slant.

use image::RgbImage;

use super::analysis::Light;
use super::geometry::Homography;

/// Red ink: the red channel this much (on the normalised 0–1 scale) above both others.
pub(crate) const RED_CHROMA: f32 = 0.10;

/// Red-ink pixels are given their red channel's brightness, lifted so that ink which
/// reflects this share of the paper's red or more becomes white.
const RED_LIFT: f32 = 0.8;

/// A dark pixel (ink) has a luminance below this, on 0–255.
pub(crate) const INK_LUMA: u32 = 128;

/// The side of the square tiles the output is made in.
const TILE: u32 = 64;

/// The light is computed every this many pixels along a row and interpolated between.
const KNOT: usize = 16;

/// How normalised brightness (paper ≈ 1) maps to output: `lo` and below black, `hi`
/// and above white, linear between.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tone {
    pub lo: f32,
    pub hi: f32,
}

/// A clockwise turn by `angle` about `centre`, mapping output pixels to where they lie
/// on the upright page.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Turn {
    pub cos: f32,
    pub sin: f32,
    pub centre: (f32, f32),
}

impl Turn {
    pub fn by_degrees(deg: f32, centre: (f32, f32)) -> Turn {
        let (sin, cos) = deg.to_radians().sin_cos();
        Turn { cos, sin, centre }
    }

    #[inline]
    pub fn apply(&self, (x, y): (f32, f32)) -> (f32, f32) {
        let (dx, dy) = (x - self.centre.0, y - self.centre.1);
        (
            self.centre.0 + self.cos * dx - self.sin * dy,
            self.centre.1 + self.sin * dx + self.cos * dy,
        )
    }

    /// The turn as a homography.
    pub fn homography(&self) -> Homography {
        let (c, s) = (f64::from(self.cos), f64::from(self.sin));
        let (cx, cy) = (f64::from(self.centre.0), f64::from(self.centre.1));
        Homography {
            m: [
                c,
                -s,
                cx - c * cx + s * cy,
                s,
                c,
                cy - s * cx - c * cy,
                0.0,
                0.0,
                1.0,
            ],
        }
    }
}

/// What the pass needs besides the source.
pub(crate) struct Job<'a> {
    /// Upright page coordinates (output pixels before the turn) to source pixels.
    pub page_to_source: &'a Homography,
    pub turn: Turn,
    pub size: (u32, u32),
    /// A band this wide (x, y) along the page's edges is painted white.
    pub margin: (f32, f32),
    /// The paper's brightness over the upright page.
    pub light: &'a Light,
    pub tone: Tone,
    pub remove_red: bool,
}

/// The page, its ink pixel count, its red-ink pixel count, and where the red ink was.
pub(crate) fn render(source: &RgbImage, job: &Job<'_>) -> (RgbImage, u64, u64, RedMap) {
    let (ow, oh) = job.size;
    let mut out = RgbImage::new(ow, oh);
    let mut map = RedMap::new(ow, oh);
    let (sw, sh) = (source.width() as usize, source.height() as usize);
    if ow == 0 || oh == 0 || sw == 0 || sh == 0 {
        return (out, 0, 0, map);
    }
    let pass = Pass::new(source, job);
    let (mut ink, mut red) = (0u64, 0u64);
    let row_len = ow as usize * 3;
    let data: &mut [u8] = out.as_mut();
    for band_top in (0..oh).step_by(TILE as usize) {
        let band_rows = TILE.min(oh - band_top) as usize;
        let band = &mut data[band_top as usize * row_len..][..band_rows * row_len];
        for left in (0..ow).step_by(TILE as usize) {
            let cols = TILE.min(ow - left) as usize;
            for (dv, row) in band.chunks_exact_mut(row_len).enumerate() {
                let v = band_top as usize + dv;
                let dst = &mut row[left as usize * 3..][..cols * 3];
                let (i, r) = pass.span(left as usize, v, dst, &mut map);
                ink += i;
                red += r;
            }
        }
    }
    (out, ink, red, map)
}

/// Where red ink was removed, counted in blocks of [`RedMap::BLOCK`] pixels square: the
/// comparison sets aside text read where a seal was pressed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RedMap {
    cols: usize,
    rows: usize,
    counts: Vec<u16>,
}

impl RedMap {
    /// The side of a block, in pixels of the prepared page.
    pub const BLOCK: usize = 16;

    pub(crate) fn new(width: u32, height: u32) -> RedMap {
        let cols = (width as usize).div_ceil(Self::BLOCK);
        let rows = (height as usize).div_ceil(Self::BLOCK);
        RedMap {
            cols,
            rows,
            counts: vec![0; cols * rows],
        }
    }

    fn add(&mut self, x: usize, y: usize) {
        let (c, r) = (x / Self::BLOCK, y / Self::BLOCK);
        if c < self.cols && r < self.rows {
            let n = &mut self.counts[r * self.cols + c];
            *n = n.saturating_add(1);
        }
    }

    /// The share of the pixels in the rectangle `x0..x1`, `y0..y1` (page pixels) that
    /// were red ink, estimated from the blocks it touches.
    pub fn share(&self, x0: f32, y0: f32, x1: f32, y1: f32) -> f32 {
        if self.counts.is_empty() || x1 <= x0 || y1 <= y0 {
            return 0.0;
        }
        let b = Self::BLOCK as f32;
        let c0 = (x0.max(0.0) / b) as usize;
        let r0 = (y0.max(0.0) / b) as usize;
        let c1 = ((x1.max(0.0) / b).ceil() as usize).min(self.cols);
        let r1 = ((y1.max(0.0) / b).ceil() as usize).min(self.rows);
        let (mut red, mut all) = (0u64, 0u64);
        for r in r0..r1 {
            for c in c0..c1 {
                red += u64::from(self.counts[r * self.cols + c]);
                all += (Self::BLOCK * Self::BLOCK) as u64;
            }
        }
        if all == 0 {
            0.0
        } else {
            red as f32 / all as f32
        }
    }
}

/// The per-pass constants.
struct Pass<'a> {
    src: &'a [u8],
    sw: usize,
    sh: usize,
    /// Output pixel to source pixel (turn and perspective composed).
    m: [f32; 9],
    turn: Turn,
    /// The painted part of the upright page: `x` in `x0..=x1`, `y` in `y0..=y1`.
    x0: f32,
    x1: f32,
    y0: f32,
    y1: f32,
    light: &'a Light,
    /// Output level = normalised brightness × `gain_to_level` + `offset`.
    gain_to_level: f32,
    offset: f32,
    /// [`RED_CHROMA`] in output levels.
    red_chroma: f32,
    remove_red: bool,
}

impl<'a> Pass<'a> {
    fn new(source: &'a RgbImage, job: &Job<'a>) -> Pass<'a> {
        let m = job
            .turn
            .homography()
            .then(job.page_to_source)
            .m
            .map(|v| v as f32);
        Pass {
            src: source.as_raw(),
            sw: source.width() as usize,
            sh: source.height() as usize,
            m,
            turn: job.turn,
            x0: job.margin.0 - 0.5,
            x1: job.size.0 as f32 - 0.5 - job.margin.0,
            y0: job.margin.1 - 0.5,
            y1: job.size.1 as f32 - 0.5 - job.margin.1,
            light: job.light,
            gain_to_level: 255.0 / (job.tone.hi - job.tone.lo).max(1e-3),
            offset: -job.tone.lo * 255.0 / (job.tone.hi - job.tone.lo).max(1e-3),
            red_chroma: RED_CHROMA * 255.0 / (job.tone.hi - job.tone.lo).max(1e-3),
            remove_red: job.remove_red,
        }
    }

    /// Fills `dst` (pixels `left..` of output row `v`); returns its ink and red counts.
    fn span(&self, left: usize, v: usize, dst: &mut [u8], map: &mut RedMap) -> (u64, u64) {
        let mut u = left;
        let m = &self.m;
        let (u0, vf) = (left as f32, v as f32);
        // Page coordinates (for the page's bounds and its light) and homogeneous source
        // coordinates, both stepping along the row.
        let (mut px, mut py) = self.turn.apply((u0, vf));
        let mut hx = m[0] * u0 + m[1] * vf + m[2];
        let mut hy = m[3] * u0 + m[4] * vf + m[5];
        let mut hz = m[6] * u0 + m[7] * vf + m[8];
        let (max_x, max_y) = ((self.sw - 1) as f32, (self.sh - 1) as f32);
        let (sw, sh, src) = (self.sw, self.sh, self.src);
        let (cos, sin) = (self.turn.cos, self.turn.sin);
        let (mut ink, mut red) = (0u64, 0u64);
        for piece in dst.chunks_mut(KNOT * 3) {
            // Output levels per unit of source value (16.16 fixed point) at both ends of
            // the piece, linear between: the light changes slowly.
            let n = (piece.len() / 3) as f32;
            let unit = self.gain_to_level / 65536.0;
            let start = self.light.at(px, py) * unit;
            let end = self.light.at(px + cos * n, py + sin * n) * unit;
            let step = (end - start) / n;
            let balance = self.light.balance;
            let mut gain = start;
            for o in piece.chunks_exact_mut(3) {
                let here = u;
                u += 1;
                let (x, y) = (px, py);
                let (sxh, syh, szh) = (hx, hy, hz);
                let g = [0, 1, 2].map(|c| gain * balance[c]);
                px += cos;
                py += sin;
                hx += m[0];
                hy += m[3];
                hz += m[6];
                gain += step;
                if !(x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1) {
                    o.copy_from_slice(&[255, 255, 255]);
                    continue;
                }
                let sx = (sxh / szh).clamp(0.0, max_x);
                let sy = (syh / szh).clamp(0.0, max_y);
                if !(sx.is_finite() && sy.is_finite()) {
                    o.copy_from_slice(&[255, 255, 255]);
                    continue;
                }
                let (x0, y0) = (sx as usize, sy as usize);
                let x1 = (x0 + 1).min(sw - 1);
                let y1 = (y0 + 1).min(sh - 1);
                let fx = ((sx - x0 as f32) * 256.0) as u32;
                let fy = ((sy - y0 as f32) * 256.0) as u32;
                let w00 = (256 - fx) * (256 - fy);
                let w10 = fx * (256 - fy);
                let w01 = (256 - fx) * fy;
                let w11 = fx * fy;
                let (i00, i10) = ((y0 * sw + x0) * 3, (y0 * sw + x1) * 3);
                let (i01, i11) = ((y1 * sw + x0) * 3, (y1 * sw + x1) * 3);
                let (Some(p00), Some(p10), Some(p01), Some(p11)) = (
                    src.get(i00..i00 + 3),
                    src.get(i10..i10 + 3),
                    src.get(i01..i01 + 3),
                    src.get(i11..i11 + 3),
                ) else {
                    o.copy_from_slice(&[255, 255, 255]);
                    continue;
                };
                let mut level = [0.0f32; 3];
                for c in 0..3 {
                    let value = u32::from(p00[c]) * w00
                        + u32::from(p10[c]) * w10
                        + u32::from(p01[c]) * w01
                        + u32::from(p11[c]) * w11;
                    level[c] = value as f32 * g[c] + self.offset;
                }
                if self.remove_red && level[0] - level[1].max(level[2]) > self.red_chroma {
                    red += 1;
                    map.add(here, v);
                    let r = to_u8((level[0] - self.offset) / RED_LIFT + self.offset);
                    o.copy_from_slice(&[r, r, r]);
                } else {
                    o[0] = to_u8(level[0]);
                    o[1] = to_u8(level[1]);
                    o[2] = to_u8(level[2]);
                }
                let luma =
                    (299 * u32::from(o[0]) + 587 * u32::from(o[1]) + 114 * u32::from(o[2])) / 1000;
                ink += u64::from(luma < INK_LUMA);
            }
        }
        (ink, red)
    }
}

#[inline]
fn to_u8(level: f32) -> u8 {
    (level.clamp(0.0, 255.0) + 0.5) as u8
}
