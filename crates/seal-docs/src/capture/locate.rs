//! Finding the page in a photo: paper is brighter and less coloured than the desk
//! around it, so each pixel's darkest channel less its colour's strength (low for dark
//! and for coloured surfaces alike) is thresholded (Otsu), the largest bright region is taken, its convex
//! hull reduced to the inscribed quadrilateral of largest area, and each side refined by
//! a line fitted through the region's edge pixels.
//!
//! Works on a small image (long side ≤ [`LOCATE_LONG_SIDE`]); the caller scales the
//! corners back.

use image::RgbImage;

use super::geometry::{Pt, area2, polygon_area};
use super::raster::{Plane, box_blur};

/// The long side of the image the page is looked for in.
pub(crate) const LOCATE_LONG_SIDE: u32 = 480;

/// The least share of the frame the page must cover.
const MIN_PAGE_SHARE: f64 = 0.12;

/// The least share of the region's hull the quadrilateral must cover (a page is a
/// quadrilateral; anything else is not trusted).
const MIN_QUAD_SHARE_OF_HULL: f64 = 0.9;

/// Region pixels on the frame's border, as a share of the border's length, above which
/// the page runs out of the frame (photographed without its edges, or a scan).
const MAX_BORDER_SHARE: f64 = 0.04;

/// Corners within this share of the frame's diagonal from the frame's own corners mean
/// the page fills the frame.
const FILLS_FRAME: f64 = 0.02;

/// The most hull vertices the quadrilateral is looked for among.
const MAX_HULL: usize = 32;

/// The least brightness step from desk to paper (0–255) for a page to be told apart.
const MIN_CONTRAST: f32 = 25.0;

/// The page's corners in `small` (top-left, top-right, bottom-right, bottom-left), or
/// `None` when no plausible page stands out from its surroundings, or it fills or runs
/// out of the frame.
pub(crate) fn find_page(small: &RgbImage) -> Option<[Pt; 4]> {
    let (w, h) = (small.width() as usize, small.height() as usize);
    if w < 8 || h < 8 {
        return None;
    }
    // Paper score: bright and colourless — the darkest channel less the colour's
    // strength (max − min), so that a light yellow desk scores far below paper even in
    // a shadow; lightly smoothed (text fades into the paper).
    let mut score = Plane::new(w, h, 0.0);
    for (s, px) in score.data.iter_mut().zip(small.as_raw().chunks_exact(3)) {
        let (lo, hi) = (px[0].min(px[1]).min(px[2]), px[0].max(px[1]).max(px[2]));
        *s = (2.0 * f32::from(lo) - f32::from(hi)).max(0.0);
    }
    let score = box_blur(&score, 1);
    let level = otsu(&score.data)?;
    let bright: Vec<bool> = score.data.iter().map(|&v| v > level).collect();
    let mask = open(&bright, w, h, 2);
    let region = largest_region(&mask, w, h)?;
    let area = region.iter().filter(|&&r| r).count();
    if (area as f64) < MIN_PAGE_SHARE * (w * h) as f64 {
        return None;
    }
    let on_border = (0..w)
        .flat_map(|x| [(x, 0), (x, h - 1)])
        .chain((1..h - 1).flat_map(|y| [(0, y), (w - 1, y)]))
        .filter(|&(x, y)| region[y * w + x])
        .count();
    if on_border as f64 > MAX_BORDER_SHARE * (2 * (w + h)) as f64 {
        return None;
    }
    let edge = outer_edge(&region, w, h);
    let hull = convex_hull(&edge);
    let quad = largest_quad(&hull)?;
    let hull_area = polygon_area(&hull);
    let quad_area = polygon_area(&quad);
    if quad_area < MIN_QUAD_SHARE_OF_HULL * hull_area
        || quad_area < MIN_PAGE_SHARE * (w * h) as f64
        || !angles_plausible(&quad)
    {
        return None;
    }
    let quad = refine(quad, &edge, w, h).unwrap_or(quad);
    let quad = order(quad);
    let frame = [
        (-0.5, -0.5),
        (w as f64 - 0.5, -0.5),
        (w as f64 - 0.5, h as f64 - 0.5),
        (-0.5, h as f64 - 0.5),
    ];
    let diag = ((w * w + h * h) as f64).sqrt();
    let fills = quad
        .iter()
        .zip(&frame)
        .all(|(a, b)| dist(*a, *b) < FILLS_FRAME * diag);
    (!fills).then_some(quad)
}

/// Otsu's threshold of values in 0..=255, or `None` when the two classes are not
/// [`MIN_CONTRAST`] apart.
fn otsu(values: &[f32]) -> Option<f32> {
    let mut hist = [0u64; 256];
    for &v in values {
        hist[v.clamp(0.0, 255.0) as usize] += 1;
    }
    let total = values.len() as f64;
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w0, mut sum0) = (0.0, 0.0);
    let mut best = (f64::MIN, 0usize, 0.0f64, 0.0f64);
    for (t, &c) in hist.iter().enumerate() {
        w0 += c as f64;
        sum0 += t as f64 * c as f64;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0, (sum_all - sum0) / w1);
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best.0 {
            best = (between, t, m0, m1);
        }
    }
    let (_, t, m0, m1) = best;
    ((m1 - m0) as f32 >= MIN_CONTRAST).then_some(t as f32 + 0.5)
}

/// Morphological opening (erosion then dilation) of a binary mask by a square of
/// radius `r`: cuts thin bridges between the page and bright things beside it.
fn open(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    let plane = Plane {
        w,
        h,
        data: mask.iter().map(|&m| if m { 1.0 } else { 0.0 }).collect(),
    };
    let opened = super::raster::max_filter(&super::raster::min_filter(&plane, r), r);
    opened.data.iter().map(|&v| v > 0.5).collect()
}

/// The largest 4-connected region of `mask`.
fn largest_region(mask: &[bool], w: usize, h: usize) -> Option<Vec<bool>> {
    let mut label = vec![0u32; w * h];
    let mut best = (0usize, 0u32);
    let mut next = 0u32;
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask[start] || label[start] != 0 {
            continue;
        }
        next += 1;
        label[start] = next;
        stack.push(start);
        let mut size = 0;
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % w, i / w);
            let mut visit = |j: usize| {
                if mask[j] && label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        if size > best.0 {
            best = (size, next);
        }
    }
    (best.0 > 0).then(|| label.iter().map(|&l| l == best.1).collect())
}

/// The region's outer edge as seen from outside: the first and last pixel of each row
/// and of each column (holes inside are not seen; the hull needs no more).
fn outer_edge(region: &[bool], w: usize, h: usize) -> Vec<Pt> {
    let mut points = Vec::new();
    for y in 0..h {
        let row = &region[y * w..][..w];
        if let (Some(l), Some(r)) = (row.iter().position(|&b| b), row.iter().rposition(|&b| b)) {
            points.push((l as f64, y as f64));
            points.push((r as f64, y as f64));
        }
    }
    for x in 0..w {
        let top = (0..h).find(|&y| region[y * w + x]);
        let bottom = (0..h).rev().find(|&y| region[y * w + x]);
        if let (Some(t), Some(b)) = (top, bottom) {
            points.push((x as f64, t as f64));
            points.push((x as f64, b as f64));
        }
    }
    points
}

/// Convex hull (Andrew's monotone chain), clockwise on screen.
fn convex_hull(points: &[Pt]) -> Vec<Pt> {
    let mut pts = points.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let mut hull: Vec<Pt> = Vec::with_capacity(pts.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &Pt>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && area2(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// The quadrilateral of largest area with its corners among the vertices of the convex
/// polygon `hull` (first thinned to at most [`MAX_HULL`] vertices by dropping those that
/// matter least; the sides are refined afterwards anyway).
fn largest_quad(hull: &[Pt]) -> Option<[Pt; 4]> {
    let mut poly = hull.to_vec();
    while poly.len() > MAX_HULL {
        // Drop the vertex whose removal loses the least area.
        let n = poly.len();
        let (i, _) = (0..n)
            .map(|i| {
                let lost = area2(poly[(i + n - 1) % n], poly[i], poly[(i + 1) % n]).abs();
                (i, lost)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        poly.remove(i);
    }
    let n = poly.len();
    if n < 4 {
        return None;
    }
    let tri = |a: usize, b: usize, c: usize| area2(poly[a % n], poly[b % n], poly[c % n]).abs();
    let mut best = (0.0, [0usize; 4]);
    for i in 0..n {
        for k in i + 2..n {
            if n - (k - i) < 2 {
                continue;
            }
            let Some((j, a1)) = (i + 1..k)
                .map(|j| (j, tri(i, j, k)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
            else {
                continue;
            };
            let Some((l, a2)) = (k + 1..i + n)
                .map(|l| (l, tri(k, l, i)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
            else {
                continue;
            };
            if a1 + a2 > best.0 {
                best = (a1 + a2, [i, j, k, l % n]);
            }
        }
    }
    (best.0 > 0.0).then(|| best.1.map(|i| poly[i]))
}

/// Every interior angle between 35° and 145° (a page seen at any sane slant).
fn angles_plausible(q: &[Pt; 4]) -> bool {
    (0..4).all(|i| {
        let (a, b, c) = (q[(i + 3) % 4], q[i], q[(i + 1) % 4]);
        let (u, v) = ((a.0 - b.0, a.1 - b.1), (c.0 - b.0, c.1 - b.1));
        let cos = (u.0 * v.0 + u.1 * v.1) / ((u.0.hypot(u.1)) * (v.0.hypot(v.1)));
        cos.is_finite() && cos.abs() < 35f64.to_radians().cos()
    })
}

/// Each side of `quad` replaced by the line fitted through the region's outer edge
/// pixels near its middle part, moved half a pixel out (the edge lies between the last
/// paper pixel and the first desk pixel); `None` when a side has too few pixels or a
/// corner would move implausibly far.
fn refine(quad: [Pt; 4], edge: &[Pt], w: usize, h: usize) -> Option<[Pt; 4]> {
    let diag = ((w * w + h * h) as f64).sqrt();
    let tol = (0.012 * diag).max(2.5);
    let mut sides: [Vec<Pt>; 4] = Default::default();
    for (s, side) in sides.iter_mut().enumerate() {
        let (a, b) = (quad[s], quad[(s + 1) % 4]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        if len2 < 1.0 {
            return None;
        }
        for &p in edge {
            let t = ((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2;
            let d = ((p.0 - a.0) * dy - (p.1 - a.1) * dx).abs() / len2.sqrt();
            if (0.1..=0.9).contains(&t) && d <= tol {
                side.push(p);
            }
        }
        side.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.total_cmp(&q.1)));
        side.dedup();
    }
    let centre = (
        quad.iter().map(|p| p.0).sum::<f64>() / 4.0,
        quad.iter().map(|p| p.1).sum::<f64>() / 4.0,
    );
    let mut lines = [(0.0, 0.0, 0.0); 4];
    for (line, points) in lines.iter_mut().zip(&sides) {
        *line = fit_line(points, centre)?;
    }
    let mut out = quad;
    for i in 0..4 {
        // Corner i is where side i−1 meets side i.
        let p = intersect(lines[(i + 3) % 4], lines[i])?;
        if dist(p, quad[i]) > (0.03 * diag).max(4.0) {
            return None;
        }
        out[i] = p;
    }
    Some(out)
}

/// The line `a·x + b·y = c` (with `a² + b² = 1`) through `points` by total least
/// squares, its normal pointing away from `centre`, moved half a pixel outwards.
fn fit_line(points: &[Pt], centre: Pt) -> Option<(f64, f64, f64)> {
    if points.len() < 6 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for p in points {
        let (dx, dy) = (p.0 - mx, p.1 - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    // Direction of the largest spread; the normal is perpendicular to it.
    let theta = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (mut a, mut b) = (-theta.sin(), theta.cos());
    if a * (mx - centre.0) + b * (my - centre.1) < 0.0 {
        (a, b) = (-a, -b);
    }
    let c = a * mx + b * my + 0.5;
    Some((a, b, c))
}

fn intersect(l1: (f64, f64, f64), l2: (f64, f64, f64)) -> Option<Pt> {
    let det = l1.0 * l2.1 - l1.1 * l2.0;
    if det.abs() < 1e-6 {
        return None;
    }
    Some((
        (l1.2 * l2.1 - l1.1 * l2.2) / det,
        (l1.0 * l2.2 - l1.2 * l2.0) / det,
    ))
}

/// The corners clockwise on screen from the one towards the top-left.
fn order(q: [Pt; 4]) -> [Pt; 4] {
    let c = (
        q.iter().map(|p| p.0).sum::<f64>() / 4.0,
        q.iter().map(|p| p.1).sum::<f64>() / 4.0,
    );
    let mut by_angle = q;
    by_angle.sort_by(|a, b| {
        (a.1 - c.1)
            .atan2(a.0 - c.0)
            .total_cmp(&(b.1 - c.1).atan2(b.0 - c.0))
    });
    // atan2 with y down grows clockwise; top-left is nearest −135°.
    let top_left = (0..4)
        .min_by(|&i, &j| {
            let d = |p: Pt| {
                let a = (p.1 - c.1).atan2(p.0 - c.0) + 0.75 * std::f64::consts::PI;
                a.sin().atan2(a.cos()).abs()
            };
            d(by_angle[i]).total_cmp(&d(by_angle[j]))
        })
        .unwrap_or(0);
    [0, 1, 2, 3].map(|k| by_angle[(top_left + k) % 4])
}

fn dist(a: Pt, b: Pt) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}
