//! Photo effects: the page (with its seal) placed on a desk and photographed — perspective,
//! rotation, uneven light and a shadow band, low light, blur, sensor noise, JPEG — or fed
//! through a seal printer's flat scanner (slight skew, even light). Every strength drawn
//! is recorded.

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use imageproc::filter::gaussian_blur_f32;
use imageproc::geometric_transformations::Projection;
use imageproc::noise::gaussian_noise_mut;
use resvg::tiny_skia::Pixmap;
use serde::Serialize;

use crate::CorpusError;
use crate::layout::{PAGE_H, PAGE_W};
use crate::rng::Rng;
use crate::seal::Seal;

/// The effects a capture went through and their strengths.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Effects {
    /// `photo`, `scan` or `clean`.
    pub mode: &'static str,
    /// Capture size in pixels `[width, height]`.
    pub size: [u32; 2],
    /// Page corners in the capture (top-left, top-right, bottom-right, bottom-left).
    pub page_quad: [[f32; 2]; 4],
    /// Pixels per millimetre the page was rendered at before warping.
    pub page_px_per_mm: f32,
    pub rotation_deg: f32,
    /// Largest corner displacement drawn, as a fraction of the page's side (0 to 0.08).
    pub perspective: f32,
    pub background: &'static str,
    pub paper: String,
    /// Darkening across the page from one side to the other (0 to 0.35).
    pub light_gradient: f32,
    /// Darkening at the centre of a soft shadow band (0 when none).
    pub shadow: f32,
    /// Overall brightness (below 0.7 is low light).
    pub brightness: f32,
    /// Gain of the red, green and blue channels (white balance).
    pub color_cast: [f32; 3],
    /// Gaussian blur σ in pixels at 200 dpi, and as applied to the capture.
    pub blur_sigma_200dpi: f32,
    pub blur_sigma_px: f32,
    /// Gaussian sensor noise σ (0–255 scale).
    pub noise_sigma: f32,
    /// JPEG quality, 0 for a PNG.
    pub jpeg_quality: u8,
    pub seal: Option<Seal>,
}

/// A capture: encoded bytes, extension, effects, and where page millimetres land.
pub struct Capture {
    pub bytes: Vec<u8>,
    pub extension: &'static str,
    pub effects: Effects,
    pub mm_to_px: Projection,
}

fn r3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// Which sort of capture, and at what scale the page must be rendered for it.
pub struct Plan {
    pub scan: bool,
    pub width: u32,
    pub height: u32,
    pub px_per_mm: f32,
    pub paper: [u8; 3],
}

/// Draws the capture's sort and size before the page is rendered: the long side is
/// 10 to 16 times the dpi (2000 to 3200 pixels at 200 dpi).
pub fn plan(rng: &mut Rng, dpi: u32) -> Plan {
    let scan = rng.chance(0.22);
    let long = rng.range(u64::from(dpi) * 10, u64::from(dpi) * 16) as f32;
    if scan {
        // A flat-bed scan of the page with a few millimetres of lid around it.
        let px_per_mm = long / (PAGE_H + 6.0);
        let tone = rng.range(246, 255) as u8;
        Plan {
            scan,
            width: ((PAGE_W + 6.0) * px_per_mm).round() as u32,
            height: long as u32,
            px_per_mm,
            paper: [tone, tone, tone.saturating_sub(rng.range(0, 3) as u8)],
        }
    } else {
        let fill = rng.range_f(0.72, 0.9) as f32;
        let paper_tone = rng.range(236, 252) as u8;
        Plan {
            scan,
            width: (long * 0.75).round() as u32,
            height: long as u32,
            px_per_mm: fill * long / PAGE_H,
            paper: [
                paper_tone,
                paper_tone.saturating_sub(rng.range(0, 4) as u8),
                paper_tone.saturating_sub(rng.range(2, 12) as u8),
            ],
        }
    }
}

/// Desk backgrounds.
const BACKGROUNDS: &[(&str, [f32; 3], [f32; 3])] = &[
    ("wood", [150.0, 105.0, 65.0], [30.0, 22.0, 14.0]),
    ("dark_wood", [90.0, 60.0, 40.0], [20.0, 14.0, 10.0]),
    ("grey_desk", [120.0, 122.0, 125.0], [8.0, 8.0, 8.0]),
    ("white_desk", [205.0, 205.0, 200.0], [6.0, 6.0, 6.0]),
    ("green_mat", [50.0, 95.0, 70.0], [6.0, 8.0, 6.0]),
    ("black_cloth", [35.0, 35.0, 38.0], [5.0, 5.0, 5.0]),
];

/// Photographs or scans the rendered page (`pixmap`, at `plan.px_per_mm`).
pub fn capture(
    pixmap: &Pixmap,
    plan: &Plan,
    seal: Option<Seal>,
    rng: &mut Rng,
) -> Result<Capture, CorpusError> {
    let (w, h) = (plan.width, plan.height);
    let (pw, ph) = (pixmap.width() as f32, pixmap.height() as f32);
    let cx = w as f32 / 2.0;
    let cy = h as f32 / 2.0;
    let (rotation, perspective) = if plan.scan {
        (rng.range_f(-2.0, 2.0) as f32, 0.0)
    } else {
        let r = rng.range_f(-15.0, 15.0) as f32;
        (r, rng.range_f(0.0, 0.08) as f32)
    };
    let theta = rotation.to_radians();
    let (sin, cos) = theta.sin_cos();
    let (ox, oy) = if plan.scan {
        (
            rng.range_f(-2.0, 2.0) as f32 * plan.px_per_mm,
            rng.range_f(-2.0, 2.0) as f32 * plan.px_per_mm,
        )
    } else {
        (
            rng.range_f(-0.03, 0.03) as f32 * w as f32,
            rng.range_f(-0.03, 0.03) as f32 * h as f32,
        )
    };
    let corners = [(0.0, 0.0), (pw, 0.0), (pw, ph), (0.0, ph)];
    let mut quad: Vec<(f32, f32)> = corners
        .iter()
        .map(|(x, y)| {
            let (dx, dy) = (x - pw / 2.0, y - ph / 2.0);
            let jx = rng.range_f(-1.0, 1.0) as f32 * perspective * pw;
            let jy = rng.range_f(-1.0, 1.0) as f32 * perspective * ph;
            (
                cx + ox + dx * cos - dy * sin + jx,
                cy + oy + dx * sin + dy * cos + jy,
            )
        })
        .collect();
    // Keep the whole page in the frame, with a margin.
    if !plan.scan {
        let margin = 0.015 * w as f32;
        let (x0, x1) = min_max(quad.iter().map(|p| p.0));
        let (y0, y1) = min_max(quad.iter().map(|p| p.1));
        let s = ((w as f32 - 2.0 * margin) / (x1 - x0))
            .min((h as f32 - 2.0 * margin) / (y1 - y0))
            .min(1.0);
        let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let half_w = (x1 - x0) * s / 2.0;
        let half_h = (y1 - y0) * s / 2.0;
        let nx = mx
            .max(margin + half_w)
            .min((w as f32 - margin - half_w).max(margin + half_w));
        let ny = my
            .max(margin + half_h)
            .min((h as f32 - margin - half_h).max(margin + half_h));
        for p in &mut quad {
            *p = (nx + (p.0 - mx) * s, ny + (p.1 - my) * s);
        }
    }
    let to: [(f32, f32); 4] = [quad[0], quad[1], quad[2], quad[3]];
    let page_to_capture = Projection::from_control_points(corners, to)
        .ok_or_else(|| CorpusError::Render("degenerate page quadrilateral".into()))?;
    let mm_to_px = Projection::scale(plan.px_per_mm, plan.px_per_mm).and_then(page_to_capture);

    let (bg_name, bg_base, bg_var) = if plan.scan {
        let t = rng.range(228, 250) as f32;
        ("scanner_lid", [t, t, t + 2.0], [2.0, 2.0, 2.0])
    } else {
        *rng.pick(BACKGROUNDS)
    };
    let stripe_freq = rng.range_f(0.01, 0.04) as f32;
    let stripe_phase = rng.range_f(0.0, std::f64::consts::TAU) as f32;
    // Wood-like stripes: the per-column and per-row terms computed once.
    let columns: Vec<f32> = (0..w).map(|x| (x as f32 * 0.003).sin() * 3.0).collect();
    let ramp: Vec<f32> = (0..w)
        .map(|x| 1.0 + (x as f32 / w as f32 - 0.5) * 0.15)
        .collect();
    let rows: Vec<(f32, f32)> = (0..h)
        .map(|y| {
            let y = y as f32;
            (
                y * stripe_freq + stripe_phase,
                0.5 * (y * stripe_freq * 3.7 + stripe_phase).sin(),
            )
        })
        .collect();
    let mut out = warp_onto(pixmap, page_to_capture, w, h, |x, y| {
        let (row, row2) = rows.get(y as usize).copied().unwrap_or((0.0, 0.0));
        let col = columns.get(x as usize).copied().unwrap_or(0.0);
        let g = ramp.get(x as usize).copied().unwrap_or(1.0);
        let s = ((row + col).sin() + row2) / 1.5;
        [
            bg_base[0] * g + bg_var[0] * s,
            bg_base[1] * g + bg_var[1] * s,
            bg_base[2] * g + bg_var[2] * s,
        ]
    });

    // Light: overall brightness, a gradient, a soft shadow band, a colour cast.
    let low = !plan.scan && rng.chance(0.25);
    let brightness = if plan.scan {
        rng.range_f(0.97, 1.03) as f32
    } else if low {
        rng.range_f(0.4, 0.65) as f32
    } else {
        rng.range_f(0.85, 1.05) as f32
    };
    let gradient = if plan.scan {
        rng.range_f(0.0, 0.05) as f32
    } else {
        rng.range_f(0.0, 0.35) as f32
    };
    let ga = rng.range_f(0.0, std::f64::consts::TAU) as f32;
    let (gdx, gdy) = (ga.cos(), ga.sin());
    let shadow = if !plan.scan && rng.chance(0.5) {
        rng.range_f(0.15, 0.45) as f32
    } else {
        0.0
    };
    let sa = rng.range_f(0.0, std::f64::consts::PI) as f32;
    let (snx, sny) = (sa.cos(), sa.sin());
    let (sqx, sqy) = (
        rng.range_f(0.2, 0.8) as f32 * w as f32,
        rng.range_f(0.2, 0.8) as f32 * h as f32,
    );
    let swidth = rng.range_f(0.04, 0.14) as f32 * h as f32;
    let cast = if plan.scan {
        [1.0, 1.0, 1.0]
    } else {
        match rng.index(3) {
            0 => [1.0, 0.97, 0.9],
            1 => [0.93, 0.97, 1.0],
            _ => [1.0, 1.0, 1.0],
        }
    };
    let diag = ((w * w + h * h) as f32).sqrt();
    for (x, y, px) in out.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32, y as f32);
        let t = (((fx - cx) * gdx + (fy - cy) * gdy) / diag + 0.5).clamp(0.0, 1.0);
        let mut light = brightness * (1.0 - gradient * t);
        if shadow > 0.0 {
            let d = ((fx - sqx) * snx + (fy - sqy) * sny) / swidth;
            light *= 1.0 - shadow * (-d * d).exp();
        }
        for (c, gain) in px.0.iter_mut().zip(cast) {
            // `as` saturates: no clamp needed.
            *c = (f32::from(*c) * light * gain + 0.5) as u8;
        }
    }

    let sigma200 = if plan.scan {
        rng.range_f(0.0, 0.7) as f32
    } else {
        rng.range_f(0.0, 1.5) as f32
    };
    let sigma_px = sigma200 * plan.px_per_mm / (200.0 / 25.4);
    if sigma_px >= 0.3 {
        out = gaussian_blur_f32(&out, sigma_px);
    }
    let noise = if plan.scan {
        rng.range_f(1.0, 4.0) as f32
    } else {
        rng.range_f(2.0, 8.0) as f32 / brightness.max(0.4)
    };
    gaussian_noise_mut(&mut out, 0.0, f64::from(noise), rng.next_u64());
    let quality = rng.range(50, 90) as u8;
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(&out)
        .map_err(|e| CorpusError::Render(format!("jpeg: {e}")))?;
    let page_quad = [
        [r3(to[0].0), r3(to[0].1)],
        [r3(to[1].0), r3(to[1].1)],
        [r3(to[2].0), r3(to[2].1)],
        [r3(to[3].0), r3(to[3].1)],
    ];
    Ok(Capture {
        bytes,
        extension: "jpg",
        effects: Effects {
            mode: if plan.scan { "scan" } else { "photo" },
            size: [w, h],
            page_quad,
            page_px_per_mm: r3(plan.px_per_mm),
            rotation_deg: r3(rotation),
            perspective: r3(perspective),
            background: bg_name,
            paper: format!(
                "#{:02x}{:02x}{:02x}",
                plan.paper[0], plan.paper[1], plan.paper[2]
            ),
            light_gradient: r3(gradient),
            shadow: r3(shadow),
            brightness: r3(brightness),
            color_cast: cast,
            blur_sigma_200dpi: r3(sigma200),
            blur_sigma_px: r3(if sigma_px >= 0.3 { sigma_px } else { 0.0 }),
            noise_sigma: r3(noise),
            jpeg_quality: quality,
            seal,
        },
        mm_to_px,
    })
}

/// The clean page as a PNG: no effects at all.
pub fn clean(pixmap: &Pixmap, px_per_mm: f32, seal: Option<Seal>) -> Result<Capture, CorpusError> {
    let img = crate::render::to_rgb(pixmap);
    let bytes = crate::render::png_bytes(&img)?;
    let (w, h) = (img.width(), img.height());
    let (fw, fh) = (w as f32, h as f32);
    Ok(Capture {
        bytes,
        extension: "png",
        effects: Effects {
            mode: "clean",
            size: [w, h],
            page_quad: [[0.0, 0.0], [fw, 0.0], [fw, fh], [0.0, fh]],
            page_px_per_mm: r3(px_per_mm),
            rotation_deg: 0.0,
            perspective: 0.0,
            background: "none",
            paper: "#ffffff".into(),
            light_gradient: 0.0,
            shadow: 0.0,
            brightness: 1.0,
            color_cast: [1.0, 1.0, 1.0],
            blur_sigma_200dpi: 0.0,
            blur_sigma_px: 0.0,
            noise_sigma: 0.0,
            jpeg_quality: 0,
            seal,
        },
        mm_to_px: Projection::scale(px_per_mm, px_per_mm),
    })
}

fn min_max(values: impl Iterator<Item = f32>) -> (f32, f32) {
    values.fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// Draws the page through `projection` onto a `w × h` image whose other pixels come from
/// `background`; bilinear sampling, edges anti-aliased.
fn warp_onto(
    page: &Pixmap,
    projection: Projection,
    w: u32,
    h: u32,
    background: impl Fn(u32, u32) -> [f32; 3],
) -> RgbImage {
    let inverse = projection.invert();
    let (pw, ph) = (page.width() as i64, page.height() as i64);
    let data = page.data();
    let sample = |x: i64, y: i64| -> [f32; 4] {
        if x < 0 || y < 0 || x >= pw || y >= ph {
            return [0.0; 4];
        }
        let i = ((y * pw + x) * 4) as usize;
        match data.get(i..i + 4) {
            // Premultiplied RGBA.
            Some(p) => [
                f32::from(p[0]),
                f32::from(p[1]),
                f32::from(p[2]),
                f32::from(p[3]),
            ],
            None => [0.0; 4],
        }
    };
    let mut out = RgbImage::new(w, h);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let (sx, sy) = inverse * (x as f32 + 0.5, y as f32 + 0.5);
        let (sx, sy) = (sx - 0.5, sy - 0.5);
        if sx < -1.0 || sy < -1.0 || sx > pw as f32 || sy > ph as f32 {
            let bg = background(x, y);
            *px = Rgb([to_u8(bg[0]), to_u8(bg[1]), to_u8(bg[2])]);
            continue;
        }
        let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let a = sample(x0, y0);
        let b = sample(x0 + 1, y0);
        let c = sample(x0, y0 + 1);
        let d = sample(x0 + 1, y0 + 1);
        let mut v = [0.0f32; 4];
        for k in 0..4 {
            v[k] =
                (a[k] * (1.0 - fx) + b[k] * fx) * (1.0 - fy) + (c[k] * (1.0 - fx) + d[k] * fx) * fy;
        }
        let alpha = v[3] / 255.0;
        if alpha >= 0.999 {
            *px = Rgb([to_u8(v[0]), to_u8(v[1]), to_u8(v[2])]);
            continue;
        }
        let bg = background(x, y);
        *px = Rgb([
            to_u8(v[0] + bg[0] * (1.0 - alpha)),
            to_u8(v[1] + bg[1] * (1.0 - alpha)),
            to_u8(v[2] + bg[2] * (1.0 - alpha)),
        ]);
    }
    out
}

fn to_u8(v: f32) -> u8 {
    // `as` saturates (and maps NaN to 0).
    (v + 0.5) as u8
}
