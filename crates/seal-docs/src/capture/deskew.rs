//! The residual skew of a page's text lines, by projection profiles: ink pixels are
//! projected onto the page's vertical axis turned by each candidate angle, and the
//! angle whose profile is the most peaked (text lines falling into few rows, the gaps
//! between them empty) wins; coarse steps first, then fine ones around the best.

use super::raster::Plane;

/// The least number of ink pixels that make a profile worth reading.
const MIN_INK_POINTS: usize = 300;

/// At most this many ink pixels are projected in the fine search, and in the coarse
/// one (regular subsamples beyond).
const MAX_INK_POINTS: usize = 20_000;
const COARSE_INK_POINTS: usize = 6_000;

/// How much more peaked than the typical candidate the best profile must be for the
/// text to have a direction at all (a blank page or a picture has none).
const MIN_PEAKEDNESS: f64 = 1.08;

/// The clockwise skew in degrees of the text on `ratio` (paper ≈ 1, ink well below),
/// within `±max_deg`; 0 when there is too little text or no clear direction.
///
/// A pixel `(x, y)` (y pointing down) of a line turned clockwise by `α` satisfies
/// `y·cos α − x·sin α = const`, so the profile of `y·cos θ − x·sin θ` is sharpest at
/// `θ = α`.
pub(crate) fn skew_degrees(ratio: &Plane, ink_below: f32, max_deg: f32) -> f32 {
    let (w, h) = (ratio.w, ratio.h);
    let margin_x = w / 30;
    let margin_y = h / 30;
    let mut points: Vec<(f32, f32)> = Vec::new();
    for y in margin_y..h.saturating_sub(margin_y) {
        for x in margin_x..w.saturating_sub(margin_x) {
            if ratio.at(x, y) < ink_below {
                points.push((x as f32 - w as f32 / 2.0, y as f32 - h as f32 / 2.0));
            }
        }
    }
    if points.len() < MIN_INK_POINTS || max_deg <= 0.0 {
        return 0.0;
    }
    let points = subsample(points, MAX_INK_POINTS);
    // The coarse search looks at fewer points: a whole degree off smears the lines
    // plainly enough.
    let few = subsample(points.clone(), COARSE_INK_POINTS);
    let span = ((w * w + h * h) as f32).sqrt() as usize + 4;
    let mut hist = vec![0u32; span];
    let mut score = |deg: f32, points: &[(f32, f32)]| -> f64 {
        hist.iter_mut().for_each(|b| *b = 0);
        let (s, c) = deg.to_radians().sin_cos();
        let offset = span as f32 / 2.0;
        for &(x, y) in points {
            let bin = (y * c - x * s + offset) as usize;
            if let Some(b) = hist.get_mut(bin) {
                *b += 1;
            }
        }
        hist.iter().map(|&b| f64::from(b) * f64::from(b)).sum()
    };
    let steps = max_deg.floor() as i32;
    let coarse: Vec<(f32, f64)> = (-steps..=steps)
        .map(|i| (i as f32, score(i as f32, &few)))
        .collect();
    let Some(&(best_coarse, best_score)) = coarse.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
        return 0.0;
    };
    let mut scores: Vec<f64> = coarse.iter().map(|c| c.1).collect();
    scores.sort_by(f64::total_cmp);
    let median = scores[scores.len() / 2];
    // NaN scores count as flat too.
    if best_score.partial_cmp(&(MIN_PEAKEDNESS * median)) != Some(std::cmp::Ordering::Greater) {
        return 0.0;
    }
    // Then 0.2° steps around the best degree, and 0.05° steps around the best of those.
    let mut best = (best_coarse, 0.0);
    for (step, reach) in [(0.2f32, 5i32), (0.05, 3)] {
        let centre = best.0;
        best = (centre, f64::MIN);
        for i in -reach..=reach {
            let deg = centre + i as f32 * step;
            let s = score(deg, &points);
            if s > best.1 {
                best = (deg, s);
            }
        }
    }
    let fine_step = 0.05f32;
    // A parabola through the best fine step and its neighbours.
    let (l, r) = (
        score(best.0 - fine_step, &points),
        score(best.0 + fine_step, &points),
    );
    let denom = l - 2.0 * best.1 + r;
    let shift = if denom < 0.0 {
        (0.5 * (l - r) / denom).clamp(-0.5, 0.5) as f32
    } else {
        0.0
    };
    (best.0 + shift * fine_step).clamp(-max_deg, max_deg)
}

/// Every n-th point, so that at most `max` are left.
fn subsample(points: Vec<(f32, f32)>, max: usize) -> Vec<(f32, f32)> {
    if points.len() <= max {
        return points;
    }
    let step = points.len().div_ceil(max);
    points.into_iter().step_by(step).collect()
}
