//! Raster helpers of the capture pipeline: integer box downscaling, single-channel
//! float planes with bilinear sampling, and the separable min, max and box filters the
//! background estimate is built from. Everything here is plain loops over slices, fast
//! in release builds and free of panics for any size, including empty images.

use image::RgbImage;

/// A single-channel image of `f32` values, row-major.
#[derive(Clone, Debug)]
pub(crate) struct Plane {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Plane {
    pub fn new(w: usize, h: usize, fill: f32) -> Plane {
        Plane {
            w,
            h,
            data: vec![fill; w * h],
        }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.w + x]
    }

    /// Bilinear value at `(x, y)` (pixel centres at integers), the edge pixels repeated
    /// outside. An empty plane reads as 0.
    #[inline]
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        if self.w == 0 || self.h == 0 {
            return 0.0;
        }
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        let x0 = x as usize;
        let y0 = y as usize;
        let x1 = (x0 + 1).min(self.w - 1);
        let y1 = (y0 + 1).min(self.h - 1);
        let fx = x - x0 as f32;
        let fy = y - y0 as f32;
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
        let bottom = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// The values below which each of `shares` of `values` lie, to within `max / 4096`
/// (values are clamped to `0..=max`; a histogram, so one pass whatever the count).
pub(crate) fn quantiles<const N: usize>(values: &[f32], max: f32, shares: [f32; N]) -> [f32; N] {
    const BINS: usize = 4096;
    let mut hist = vec![0u32; BINS];
    let scale = (BINS - 1) as f32 / max.max(f32::MIN_POSITIVE);
    let mut count = 0u64;
    for &v in values {
        if !v.is_nan() {
            hist[(v.clamp(0.0, max) * scale) as usize] += 1;
            count += 1;
        }
    }
    shares.map(|share| {
        let wanted = (count as f64 * f64::from(share.clamp(0.0, 1.0)))
            .ceil()
            .max(1.0) as u64;
        let mut seen = 0u64;
        for (bin, &c) in hist.iter().enumerate() {
            seen += u64::from(c);
            if seen >= wanted {
                return (bin as f32 + 0.5) / scale;
            }
        }
        max
    })
}

/// `image` shrunk by the integer factor `k` (each output pixel the mean of a `k`×`k`
/// block; the remainder rows and columns are dropped). Output pixel `i` is centred on
/// input coordinate `i·k + (k−1)/2`.
pub(crate) fn box_downscale(image: &RgbImage, k: u32) -> RgbImage {
    let k = k.max(1);
    if k == 1 {
        return image.clone();
    }
    let (w, h) = image.dimensions();
    let (ow, oh) = (w / k, h / k);
    let mut out = RgbImage::new(ow, oh);
    if ow == 0 || oh == 0 {
        return out;
    }
    let src = image.as_raw();
    let stride = w as usize * 3;
    let ku = k as usize;
    let area = (ku * ku) as u32;
    let mut acc = vec![0u32; ow as usize * 3];
    let dst: &mut [u8] = out.as_mut();
    for oy in 0..oh as usize {
        acc.iter_mut().for_each(|a| *a = 0);
        for dy in 0..ku {
            let row = &src[(oy * ku + dy) * stride..][..ow as usize * ku * 3];
            for (ox, block) in row.chunks_exact(ku * 3).enumerate() {
                let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
                for px in block.chunks_exact(3) {
                    r += u32::from(px[0]);
                    g += u32::from(px[1]);
                    b += u32::from(px[2]);
                }
                let a = &mut acc[ox * 3..ox * 3 + 3];
                a[0] += r;
                a[1] += g;
                a[2] += b;
            }
        }
        let out_row = &mut dst[oy * ow as usize * 3..][..ow as usize * 3];
        for (o, a) in out_row.iter_mut().zip(&acc) {
            *o = ((a + area / 2) / area) as u8;
        }
    }
    out
}

/// A quick thumbnail of `image`, `k` times smaller: each pixel the mean of the 2×2
/// input pixels at the centre of its `k`×`k` block (`k` = 1: the image itself). Reads a
/// few pixels per block instead of all of them; the page finder smooths it anyway.
pub(crate) fn thumbnail(image: &RgbImage, k: u32) -> RgbImage {
    if k <= 1 {
        return image.clone();
    }
    let (w, h) = image.dimensions();
    let src = image.as_raw();
    let stride = w as usize * 3;
    let at = |x: u32, y: u32| y as usize * stride + x as usize * 3;
    RgbImage::from_fn(w / k, h / k, |i, j| {
        let xa = i * k + (k - 1) / 2;
        let ya = j * k + (k - 1) / 2;
        let (xb, yb) = ((xa + 1).min(w - 1), (ya + 1).min(h - 1));
        let (a, b, c, d) = (at(xa, ya), at(xb, ya), at(xa, yb), at(xb, yb));
        let mut px = [0u8; 3];
        for (ch, p) in px.iter_mut().enumerate() {
            let sum = u32::from(src[a + ch])
                + u32::from(src[b + ch])
                + u32::from(src[c + ch])
                + u32::from(src[d + ch]);
            *p = ((sum + 2) / 4) as u8;
        }
        image::Rgb(px)
    })
}

/// Where thumbnail coordinates `p` (of [`thumbnail`] with factor `k`) lie in the image.
pub(crate) fn thumbnail_to_image(p: (f64, f64), k: u32) -> (f64, f64) {
    if k <= 1 {
        return p;
    }
    let offset = f64::from((k - 1) / 2) + 0.5;
    let k = f64::from(k);
    (p.0 * k + offset, p.1 * k + offset)
}

/// Bilinear colour of `image` at `(x, y)` (pixel centres at integers), the edge pixels
/// repeated outside. `image` must not be empty.
#[inline]
pub(crate) fn sample_rgb(image: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if w == 0 || h == 0 {
        return [0.0; 3];
    }
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let x0 = x as usize;
    let y0 = y as usize;
    let x1 = (x0 + 1).min(w - 1);
    let y1 = (y0 + 1).min(h - 1);
    let fx = x - x0 as f32;
    let fy = y - y0 as f32;
    let raw = image.as_raw();
    let (i00, i10) = ((y0 * w + x0) * 3, (y0 * w + x1) * 3);
    let (i01, i11) = ((y1 * w + x0) * 3, (y1 * w + x1) * 3);
    let mut out = [0.0; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let top = f32::from(raw[i00 + c]) * (1.0 - fx) + f32::from(raw[i10 + c]) * fx;
        let bottom = f32::from(raw[i01 + c]) * (1.0 - fx) + f32::from(raw[i11 + c]) * fx;
        *o = top * (1.0 - fy) + bottom * fy;
    }
    out
}

/// The plane shrunk by the integer factor `k` (block means; a partial last block is
/// averaged over what it has).
pub(crate) fn downscale_plane(plane: &Plane, k: usize) -> Plane {
    let k = k.max(1);
    let (ow, oh) = (plane.w.div_ceil(k), plane.h.div_ceil(k));
    let mut sum = vec![0.0f32; ow * oh];
    let mut count = vec![0u32; ow * oh];
    for y in 0..plane.h {
        let row = &plane.data[y * plane.w..][..plane.w];
        let base = (y / k) * ow;
        for (x, v) in row.iter().enumerate() {
            sum[base + x / k] += v;
            count[base + x / k] += 1;
        }
    }
    let data = sum
        .iter()
        .zip(&count)
        .map(|(s, &c)| if c == 0 { 0.0 } else { s / c as f32 })
        .collect();
    Plane { w: ow, h: oh, data }
}

/// Which running extreme a filter keeps.
#[derive(Clone, Copy)]
enum Extreme {
    Min,
    Max,
}

/// The min or max of `line` over windows of radius `r` (cut at the ends), into `out`:
/// van Herk and Gil-Werman's method, three comparisons a value whatever `r`.
/// `prefix` and `suffix` are scratch space as long as `line`.
fn running_extreme(
    line: &[f32],
    r: usize,
    which: Extreme,
    prefix: &mut [f32],
    suffix: &mut [f32],
    out: &mut [f32],
) {
    let n = line.len();
    let block = 2 * r + 1;
    let pick = |a: f32, b: f32| match which {
        Extreme::Min => a.min(b),
        Extreme::Max => a.max(b),
    };
    for i in 0..n {
        prefix[i] = if i % block == 0 {
            line[i]
        } else {
            pick(prefix[i - 1], line[i])
        };
    }
    for i in (0..n).rev() {
        suffix[i] = if i + 1 == n || (i + 1) % block == 0 {
            line[i]
        } else {
            pick(suffix[i + 1], line[i])
        };
    }
    for (i, slot) in out.iter_mut().enumerate().take(n) {
        let lo = i.saturating_sub(r);
        let hi = (i + r).min(n - 1);
        // The window lo..=hi spans at most two blocks: the suffix of the first from lo
        // and the prefix of the second up to hi.
        *slot = if lo / block == hi / block {
            // Within one block (only near the ends): fold directly.
            let mut v = line[lo];
            for &x in &line[lo + 1..=hi] {
                v = pick(v, x);
            }
            v
        } else {
            pick(suffix[lo], prefix[hi])
        };
    }
}

/// A separable min or max filter over a (2r+1)² square, windows cut at the edges.
fn extreme_filter(plane: &Plane, r: usize, which: Extreme) -> Plane {
    let (w, h) = (plane.w, plane.h);
    let mut rows = Plane::new(w, h, 0.0);
    if w == 0 || h == 0 {
        return rows;
    }
    let n = w.max(h);
    let (mut prefix, mut suffix) = (vec![0.0; n], vec![0.0; n]);
    for (src, dst) in plane
        .data
        .chunks_exact(w)
        .zip(rows.data.chunks_exact_mut(w))
    {
        running_extreme(src, r, which, &mut prefix[..w], &mut suffix[..w], dst);
    }
    let mut out = Plane::new(w, h, 0.0);
    let (mut column, mut result) = (vec![0.0; h], vec![0.0; h]);
    for x in 0..w {
        for (y, cell) in column.iter_mut().enumerate() {
            *cell = rows.data[y * w + x];
        }
        running_extreme(
            &column,
            r,
            which,
            &mut prefix[..h],
            &mut suffix[..h],
            &mut result,
        );
        for (y, value) in result.iter().enumerate() {
            out.data[y * w + x] = *value;
        }
    }
    out
}

/// Max filter over a (2r+1)² square.
pub(crate) fn max_filter(plane: &Plane, r: usize) -> Plane {
    extreme_filter(plane, r, Extreme::Max)
}

/// Min filter over a (2r+1)² square.
pub(crate) fn min_filter(plane: &Plane, r: usize) -> Plane {
    extreme_filter(plane, r, Extreme::Min)
}

/// Mean over a (2r+1)² square, windows cut at the edges.
pub(crate) fn box_blur(plane: &Plane, r: usize) -> Plane {
    let (w, h) = (plane.w, plane.h);
    let mut rows = Plane::new(w, h, 0.0);
    if w == 0 || h == 0 {
        return rows;
    }
    for (src, dst) in plane
        .data
        .chunks_exact(w)
        .zip(rows.data.chunks_exact_mut(w))
    {
        for (i, d) in dst.iter_mut().enumerate() {
            let window = &src[i.saturating_sub(r)..(i + r + 1).min(w)];
            *d = window.iter().sum::<f32>() / window.len() as f32;
        }
    }
    let mut out = Plane::new(w, h, 0.0);
    for (y, dst) in out.data.chunks_exact_mut(w).enumerate() {
        let (lo, hi) = (y.saturating_sub(r), (y + r).min(h - 1));
        for yy in lo..=hi {
            for (d, &s) in dst.iter_mut().zip(&rows.data[yy * w..][..w]) {
                *d += s;
            }
        }
        let n = (hi - lo + 1) as f32;
        dst.iter_mut().for_each(|d| *d /= n);
    }
    out
}

/// The paper's brightness under `plane` (bright paper, dark ink): a morphological
/// closing of radius `r` (a max filter that wipes out strokes narrower than the window,
/// then a min filter that gives shadow edges back their place), smoothed.
pub(crate) fn paper_background(plane: &Plane, r: usize) -> Plane {
    let closed = min_filter(&max_filter(plane, r), r);
    box_blur(&box_blur(&closed, 1), 1)
}
