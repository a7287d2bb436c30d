//! What is measured on a small copy of the corrected page before the full-resolution
//! pass: the paper's brightness (a morphological closing of each pixel's brightest
//! channel wipes out the ink, a blur smooths what is left) and the paper's colour (the
//! white balance), each pixel's brightness relative to the paper (for the skew
//! estimate), and the tone stretch that makes paper white and ink black.

use image::RgbImage;

use super::geometry::Homography;
use super::raster::{Plane, downscale_plane, paper_background, quantiles, sample_rgb};
use super::render::Tone;

/// Below this share of the paper's brightness, a pixel is ink for the skew estimate.
pub(crate) const SKEW_INK_BELOW: f32 = 0.75;

/// The long side of the copy everything here is measured on.
const ANALYSIS_LONG_SIDE: u32 = 600;

/// Copy pixels per cell of the light grid (a 200-cell grid on the long side).
const LIGHT_CELL: usize = 3;

/// The radius, in grid cells, of the closing that wipes ink out of the light estimate
/// (9 cells: about 13 mm on an A4 page).
const LIGHT_CLOSING_RADIUS: usize = 4;

/// Pixels at least this bright relative to the paper around them are paper, for the
/// white balance.
const PAPER_ABOVE: f32 = 0.9;

/// The paper's light over the upright page: its brightness on a coarse grid (as gains,
/// its reciprocal) and its colour (one gain per channel, the same everywhere).
pub(crate) struct Light {
    pub gains: Plane,
    pub balance: [f32; 3],
    /// Page pixel `p` lies at grid coordinate `(p + 0.5)·inv_cell − 0.5`, per axis.
    pub inv_cell: (f32, f32),
}

impl Light {
    /// The brightness gain at page coordinates `(x, y)`.
    #[inline]
    pub fn at(&self, x: f32, y: f32) -> f32 {
        self.gains.sample(
            (x + 0.5) * self.inv_cell.0 - 0.5,
            (y + 0.5) * self.inv_cell.1 - 0.5,
        )
    }
}

pub(crate) struct Analysis {
    /// Each pixel's brightest channel over the paper's there (paper ≈ 1, ink below;
    /// red ink is bright in red, so it hardly counts as ink).
    pub ratio: Plane,
    pub tone: Tone,
    pub light: Light,
}

impl Analysis {
    /// Samples the `size` page (mapped into `image` by `page_to_input`) at a long side
    /// of [`ANALYSIS_LONG_SIDE`] at most, and measures it.
    pub fn sample(image: &RgbImage, page_to_input: &Homography, size: (u32, u32)) -> Analysis {
        let long = size.0.max(size.1).max(1);
        let s = f64::from(ANALYSIS_LONG_SIDE.min(long)) / f64::from(long);
        let aw = ((f64::from(size.0) * s).round() as usize).max(1);
        let ah = ((f64::from(size.1) * s).round() as usize).max(1);
        let (sx, sy) = (f64::from(size.0) / aw as f64, f64::from(size.1) / ah as f64);
        let to_page = Homography::translate(0.5, 0.5)
            .then(&Homography::scale(sx, sy))
            .then(&Homography::translate(-0.5, -0.5));
        let m = to_page.then(page_to_input).m.map(|v| v as f32);
        let mut colours = vec![[0.0f32; 3]; aw * ah];
        let mut brightest = Plane::new(aw, ah, 0.0);
        for y in 0..ah {
            let yf = y as f32;
            for x in 0..aw {
                let xf = x as f32;
                let z = m[6] * xf + m[7] * yf + m[8];
                let ix = (m[0] * xf + m[1] * yf + m[2]) / z;
                let iy = (m[3] * xf + m[4] * yf + m[5]) / z;
                let rgb = sample_rgb(image, ix, iy);
                colours[y * aw + x] = rgb;
                brightest.data[y * aw + x] = rgb[0].max(rgb[1]).max(rgb[2]);
            }
        }
        let paper = paper_background(
            &downscale_plane(&brightest, LIGHT_CELL),
            LIGHT_CLOSING_RADIUS,
        );
        // The brightest channel over the paper's, the paper taken from the nearest grid
        // cell (it changes slowly); and the paper's colour where it is paper.
        let (gw, gh) = (paper.w, paper.h);
        let mut ratio = brightest;
        let mut shares: [Vec<f32>; 3] = Default::default();
        for y in 0..ah {
            let gy = (y / LIGHT_CELL).min(gh - 1);
            for x in 0..aw {
                let i = y * aw + x;
                let level = paper.data[gy * gw + (x / LIGHT_CELL).min(gw - 1)].max(8.0);
                let bright = ratio.data[i];
                ratio.data[i] = bright / level;
                if ratio.data[i] >= PAPER_ABOVE && (x + y) % 2 == 0 {
                    for (share, v) in shares.iter_mut().zip(colours[i]) {
                        share.push(v / bright.max(1.0));
                    }
                }
            }
        }
        let balance = shares.map(|share| {
            let [median] = quantiles(&share, 1.0, [0.5]);
            if share.is_empty() {
                1.0
            } else {
                1.0 / median.max(0.2)
            }
        });
        let tone = tone_of(&ratio);
        let mut gains = paper;
        gains.data.iter_mut().for_each(|v| *v = 1.0 / v.max(8.0));
        let cell = LIGHT_CELL as f64;
        Analysis {
            ratio,
            tone,
            light: Light {
                gains,
                balance,
                inv_cell: ((1.0 / (sx * cell)) as f32, (1.0 / (sy * cell)) as f32),
            },
        }
    }
}

/// The stretch that makes paper white and ink black, from the normalised brightness:
/// white from a little below the paper's level (its noise vanishes); the typical ink
/// pixel (the median of those below [`SKEW_INK_BELOW`]) near black, so that blurred,
/// greyish text comes out as dark as sharp text — but black never starts above 45 % of
/// the paper's level, so that a blank page's noise is not stretched into ink.
fn tone_of(ratio: &Plane) -> Tone {
    let [q25, median] = quantiles(&ratio.data, 2.0, [0.25, 0.5]);
    let sigma = ((median - q25) / 0.674).max(0.0);
    let hi = (median - 2.5 * sigma).min(0.96 * median);
    let ink: Vec<f32> = ratio
        .data
        .iter()
        .copied()
        .filter(|&v| v < SKEW_INK_BELOW * median)
        .collect();
    let lo = if ink.len() * 1000 >= ratio.data.len() {
        let [typical] = quantiles(&ink, 2.0, [0.5]);
        // The typical ink level maps to INK_LEVEL of the way up from black.
        (typical - INK_LEVEL * hi) / (1.0 - INK_LEVEL)
    } else {
        0.0
    };
    let lo = lo.clamp(0.0, 0.45 * median.max(0.1));
    Tone {
        lo,
        hi: hi.max(lo + 0.2),
    }
}

/// Where the typical ink pixel lands between black (0) and white (1).
const INK_LEVEL: f32 = 0.15;
