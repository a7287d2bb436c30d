//! Captures made ready for reading and comparing: a phone photo or a scan of a paper
//! page becomes a clean, upright page image — the page found in the frame, its
//! perspective corrected, its residual skew turned back, the light evened out, red seal
//! ink removed — comparable with the approved document's page made by
//! [`prepare_flat`].
//!
//! [`prepare`] works in these steps:
//! 1. **Find the page** on a copy shrunk to a long side of 700 px: paper is bright and
//!    colourless, so each pixel's darkest channel is thresholded (Otsu), the largest
//!    bright region kept, its convex hull reduced to the quadrilateral of largest area
//!    and each side refined by a line fitted through the region's edge. A region that is
//!    too small, not a quadrilateral, runs out of the frame or fills it gives `None`:
//!    the whole frame is the page (a scan, or a page photographed without its edges).
//! 2. **Correct the perspective**: the page's aspect ratio is estimated from the quad
//!    (Zhang and He's rectangle-from-a-camera method, snapped to A4 when within 7 %),
//!    and the quad maps to an upright rectangle of `target_long_side`.
//! 3. **Deskew**: the text lines' angle (up to ±`max_skew_deg`) is found by projection
//!    profiles on a 1000 px copy of the corrected page, and turned back.
//! 4. **Normalise the light**: the paper's brightness per channel is estimated on a
//!    coarse grid (a morphological closing wipes out the ink, a blur smooths it) and
//!    divided out; the result is stretched so that paper is white and ink black.
//! 5. **Remove red ink**: pixels whose red clearly exceeds green and blue take their
//!    red channel's brightness (what a red filter sees: red ink vanishes, black text
//!    under it stays black), counted in `red_ratio`.
//! 6. **Count ink**: `ink_ratio` is the share of dark pixels; [`is_blank`] compares it
//!    with a threshold the caller chooses ([`DEFAULT_BLANK_INK_RATIO`] is a start).
//!
//! Steps 2–5 run as one full-resolution pass (perspective and skew composed), after
//! all estimates are made on small copies.
//!
//! Measured with `cargo run --release -p seal-docs --example capture_preview` on this
//! 2-core machine, one thread: a 4000×3000 photo of an A4 page → 1654×2339 page in
//! about 75 ms (locate 15 ms, deskew 7 ms, render 50 ms); a 1654×2339 flat scan in
//! about 45 ms.

mod analysis;
mod deskew;
mod geometry;
mod locate;
mod raster;
mod render;
pub use render::RedMap;

use std::time::{Duration, Instant};

use image::RgbImage;

use crate::page::Point;
use analysis::Analysis;
use geometry::{Homography, Pt};
use raster::box_downscale;
use render::{Job, Turn};

/// The smallest width and height [`prepare`] accepts.
pub const MIN_SIDE: u32 = 16;

/// The range `target_long_side` is clamped to.
pub const TARGET_LONG_SIDE_RANGE: std::ops::RangeInclusive<u32> = 64..=8192;

/// A starting point for [`is_blank`]: a page with less than 0.1 % dark pixels carries
/// at most a few words. Organisations tune their own.
pub const DEFAULT_BLANK_INK_RATIO: f32 = 0.001;

/// How a capture is prepared.
#[derive(Clone, Debug, PartialEq)]
pub struct CaptureOptions {
    /// The prepared page's long side in pixels (2339 is A4 at 200 dpi); clamped to
    /// [`TARGET_LONG_SIDE_RANGE`].
    pub target_long_side: u32,
    /// Remove red (seal) ink.
    pub remove_red: bool,
    /// Look for the page's edges in the frame (off: the whole frame is the page).
    pub find_page: bool,
    /// The largest residual skew looked for, in degrees (0 turns deskewing off).
    pub max_skew_deg: f32,
    /// The largest input accepted, in pixels.
    pub max_pixels: u64,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            target_long_side: 2339,
            remove_red: true,
            find_page: true,
            max_skew_deg: 15.0,
            max_pixels: 64_000_000,
        }
    }
}

/// How long each step took.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// Shrinking the input and finding the page.
    pub locate: Duration,
    /// Estimating the skew and the tone.
    pub deskew: Duration,
    /// Estimating the paper's light and the full-resolution pass.
    pub render: Duration,
    pub total: Duration,
}

/// A page made ready for reading and comparing.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Upright, perspective-corrected, light-normalised, red ink removed, page only.
    pub page: RgbImage,
    /// Where the page's corners were found in the input (top-left, top-right,
    /// bottom-right, bottom-left), or `None` when the whole frame was taken as the page.
    pub corners: Option<[Point; 4]>,
    /// The residual skew turned back, in degrees: positive when the text ran clockwise
    /// (downhill to the right) after the perspective correction.
    pub rotation_deg: f32,
    /// The share of dark pixels on the prepared page (for blank-page detection).
    pub ink_ratio: f32,
    /// The share of the page's pixels removed as red ink.
    pub red_ratio: f32,
    /// Where red ink was removed.
    pub red_map: RedMap,
    pub timings: Timings,
}

/// Why a capture could not be prepared.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CaptureError {
    #[error(
        "the image is too small to show a page: {width}×{height} pixels, at least {MIN_SIDE} a side"
    )]
    TooSmall { width: u32, height: u32 },
    #[error("the image is too large: {pixels} pixels, at most {max}")]
    TooLarge { pixels: u64, max: u64 },
    #[error("the image is too dark to show a page")]
    TooDark,
}

/// Whether `prepared` has less ink than `max_ink_ratio` (see
/// [`DEFAULT_BLANK_INK_RATIO`]). Red seal ink has been removed before counting, so a
/// seal pressed on an empty page still counts as blank.
pub fn is_blank(prepared: &Prepared, max_ink_ratio: f32) -> bool {
    prepared.ink_ratio < max_ink_ratio
}

/// The band along a found page's edges that is painted white, as a share of its width
/// and height (about 2 mm on A4): the desk bleeds into it, and printers leave it empty.
const EDGE_BAND: f32 = 0.008;

/// A frame whose brightest 1 % is darker than this (0–255) shows no page.
const TOO_DARK: f32 = 40.0;

/// Prepares a phone photo or a scan of a page (see the module documentation).
pub fn prepare(image: &RgbImage, options: &CaptureOptions) -> Result<Prepared, CaptureError> {
    let started = Instant::now();
    let (w, h) = image.dimensions();
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(CaptureError::TooSmall {
            width: w,
            height: h,
        });
    }
    let pixels = u64::from(w) * u64::from(h);
    if pixels > options.max_pixels {
        return Err(CaptureError::TooLarge {
            pixels,
            max: options.max_pixels,
        });
    }
    let target = clamp_target(options.target_long_side);

    // 1. Find the page on a thumbnail.
    let k = shrink_factor(w, h, locate::LOCATE_LONG_SIDE);
    let small = raster::thumbnail(image, k);
    let brightest: Vec<f32> = small
        .as_raw()
        .chunks_exact(3)
        .map(|p| f32::from(p[0].max(p[1]).max(p[2])))
        .collect();
    let [bright] = raster::quantiles(&brightest, 255.0, [0.99]);
    if bright < TOO_DARK {
        return Err(CaptureError::TooDark);
    }
    let found = if options.find_page {
        locate::find_page(&small)
    } else {
        None
    };
    let (quad, aspect) = match found {
        Some(q) => {
            let q = q.map(|p| raster::thumbnail_to_image(p, k));
            (q, geometry::aspect_ratio(q, (f64::from(w), f64::from(h))))
        }
        None => (frame_quad(w, h), f64::from(w) / f64::from(h)),
    };
    // 2. The perspective: upright page pixels to input pixels.
    let size = page_size(aspect, target);
    let (page_to_input, corners) = match Homography::from_points(frame_quad(size.0, size.1), quad) {
        Some(map) => (map, found.map(|_| quad.map(point))),
        None => (fit(size, (w, h)), None),
    };
    let t_locate = started.elapsed();

    // 3–4. Skew, tone and light on a small copy of the corrected page.
    let analysis = Analysis::sample(image, &page_to_input, size);
    let rotation_deg = if options.max_skew_deg > 0.0 {
        deskew::skew_degrees(
            &analysis.ratio,
            analysis::SKEW_INK_BELOW,
            options.max_skew_deg.min(45.0),
        )
    } else {
        0.0
    };
    let t_deskew = started.elapsed();

    // 2–5 in one pass at full resolution.
    let turn = Turn::by_degrees(
        rotation_deg,
        ((size.0 as f32 - 1.0) / 2.0, (size.1 as f32 - 1.0) / 2.0),
    );
    let margin = if corners.is_some() {
        (size.0 as f32 * EDGE_BAND, size.1 as f32 * EDGE_BAND)
    } else {
        (0.0, 0.0)
    };
    let (page, ink, red, red_map) = finish(
        image,
        &page_to_input,
        input_per_output(&quad, size),
        &analysis,
        (turn, margin),
        size,
        options.remove_red,
    );
    let total = started.elapsed();
    let area = (u64::from(size.0) * u64::from(size.1)).max(1) as f32;
    Ok(Prepared {
        page,
        corners,
        rotation_deg,
        ink_ratio: ink as f32 / area,
        red_ratio: red as f32 / area,
        red_map,
        timings: Timings {
            locate: t_locate,
            deskew: t_deskew - t_locate,
            render: total - t_deskew,
            total,
        },
    })
}

/// Prepares the approved side — a clean rendering of a PDF page or an uploaded image —
/// the same way as a capture but without finding the page or deskewing: resized to
/// `target_long_side` keeping its aspect ratio, light normalised, red ink removed when
/// asked. An empty image gives a white A4 portrait page.
pub fn prepare_flat(image: &RgbImage, options: &CaptureOptions) -> Prepared {
    let started = Instant::now();
    let target = clamp_target(options.target_long_side);
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        let size = page_size(1.0 / geometry::A4_RATIO, target);
        return Prepared {
            page: RgbImage::from_pixel(size.0, size.1, image::Rgb([255, 255, 255])),
            corners: None,
            rotation_deg: 0.0,
            ink_ratio: 0.0,
            red_ratio: 0.0,
            red_map: render::RedMap::default(),
            timings: Timings {
                total: started.elapsed(),
                ..Timings::default()
            },
        };
    }
    let size = page_size(f64::from(w) / f64::from(h), target);
    let page_to_input = fit(size, (w, h));
    let t_locate = started.elapsed();
    let analysis = Analysis::sample(image, &page_to_input, size);
    let t_deskew = started.elapsed();
    let scale = f64::from(w.max(h)) / f64::from(size.0.max(size.1));
    let turn = Turn::by_degrees(0.0, (0.0, 0.0));
    let (page, ink, red, red_map) = finish(
        image,
        &page_to_input,
        scale,
        &analysis,
        (turn, (0.0, 0.0)),
        size,
        options.remove_red,
    );
    let total = started.elapsed();
    let area = (u64::from(size.0) * u64::from(size.1)).max(1) as f32;
    Prepared {
        page,
        corners: None,
        rotation_deg: 0.0,
        ink_ratio: ink as f32 / area,
        red_ratio: red as f32 / area,
        red_map,
        timings: Timings {
            locate: t_locate,
            deskew: t_deskew - t_locate,
            render: total - t_deskew,
            total,
        },
    }
}

fn clamp_target(target: u32) -> u32 {
    target.clamp(
        *TARGET_LONG_SIDE_RANGE.start(),
        *TARGET_LONG_SIDE_RANGE.end(),
    )
}

/// The integer factor that brings the long side of `w`×`h` to at most `long` (keeping
/// at least 8 pixels on the short side).
fn shrink_factor(w: u32, h: u32, long: u32) -> u32 {
    let k = w.max(h).div_ceil(long.max(1)).max(1);
    k.min((w.min(h) / 8).max(1))
}

/// Coordinates of an image shrunk by `k` (by [`box_downscale`]) from those of the
/// original.
fn shrunk_coordinates(k: u32) -> Homography {
    let k = f64::from(k);
    Homography::translate(-(k - 1.0) / 2.0, -(k - 1.0) / 2.0)
        .then(&Homography::scale(1.0 / k, 1.0 / k))
}

/// The outer corners of a `w`×`h` image (pixel centres at integers), clockwise from
/// the top-left.
fn frame_quad(w: u32, h: u32) -> [Pt; 4] {
    let (w, h) = (f64::from(w) - 0.5, f64::from(h) - 0.5);
    [(-0.5, -0.5), (w, -0.5), (w, h), (-0.5, h)]
}

/// The map stretching a `size` page over a `frame` image.
fn fit(size: (u32, u32), frame: (u32, u32)) -> Homography {
    let sx = f64::from(frame.0) / f64::from(size.0.max(1));
    let sy = f64::from(frame.1) / f64::from(size.1.max(1));
    Homography::translate(0.5, 0.5)
        .then(&Homography::scale(sx, sy))
        .then(&Homography::translate(-0.5, -0.5))
}

/// Width and height of a page of `aspect` (width over height) with long side `long`.
fn page_size(aspect: f64, long: u32) -> (u32, u32) {
    let aspect = if aspect.is_finite() && aspect > 0.0 {
        aspect
    } else {
        1.0
    };
    let long_f = f64::from(long);
    if aspect >= 1.0 {
        (long, ((long_f / aspect).round() as u32).max(1))
    } else {
        (((long_f * aspect).round() as u32).max(1), long)
    }
}

/// Input pixels per output pixel along the page's sides (the largest).
fn input_per_output(quad: &[Pt; 4], size: (u32, u32)) -> f64 {
    let d = |a: Pt, b: Pt| (a.0 - b.0).hypot(a.1 - b.1);
    let (ow, oh) = (f64::from(size.0.max(1)), f64::from(size.1.max(1)));
    [
        d(quad[0], quad[1]) / ow,
        d(quad[3], quad[2]) / ow,
        d(quad[0], quad[3]) / oh,
        d(quad[1], quad[2]) / oh,
    ]
    .into_iter()
    .fold(0.0, f64::max)
}

fn point(p: Pt) -> Point {
    Point {
        x: p.0 as f32,
        y: p.1 as f32,
    }
}

/// The full-resolution pass, from the input or — when the page is more than twice as
/// large in the input as in the output (`scale` input pixels per output pixel) — from
/// the input shrunk by that integer factor, so that no detail is skipped over.
fn finish(
    image: &RgbImage,
    page_to_input: &Homography,
    scale: f64,
    analysis: &Analysis,
    (turn, margin): (Turn, (f32, f32)),
    size: (u32, u32),
    remove_red: bool,
) -> (RgbImage, u64, u64, render::RedMap) {
    let f = (scale.floor() as u32).max(1);
    let shrunk;
    let (source, page_to_source) = if f >= 2 {
        shrunk = box_downscale(image, f);
        (&shrunk, page_to_input.then(&shrunk_coordinates(f)))
    } else {
        (image, *page_to_input)
    };
    render::render(
        source,
        &Job {
            page_to_source: &page_to_source,
            turn,
            size,
            margin,
            light: &analysis.light,
            tone: analysis.tone,
            remove_red,
        },
    )
}
