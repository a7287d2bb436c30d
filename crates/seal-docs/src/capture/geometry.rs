//! Plane geometry of the capture pipeline: 2-D projective maps (homographies) solved
//! from four point pairs, and the aspect ratio of the rectangle a photographed
//! quadrilateral shows (Zhang and He, "Whiteboard scanning and image enhancement",
//! 2007), with the A4 ratio snapped to when it is close.

/// A point in continuous pixel coordinates (pixel centres at integers).
pub(crate) type Pt = (f64, f64);

/// A projective map of the plane, a row-major 3×3 matrix acting on `(x, y, 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Homography {
    pub m: [f64; 9],
}

impl Homography {
    pub fn scale(sx: f64, sy: f64) -> Homography {
        Homography {
            m: [sx, 0.0, 0.0, 0.0, sy, 0.0, 0.0, 0.0, 1.0],
        }
    }

    pub fn translate(tx: f64, ty: f64) -> Homography {
        Homography {
            m: [1.0, 0.0, tx, 0.0, 1.0, ty, 0.0, 0.0, 1.0],
        }
    }

    /// The map taking each `from[i]` to `to[i]`, or `None` when the points are
    /// degenerate (three in a line).
    pub fn from_points(from: [Pt; 4], to: [Pt; 4]) -> Option<Homography> {
        // Condition the system: centre and scale both point sets.
        let (nf, from) = normalise(from)?;
        let (nt, to) = normalise(to)?;
        let mut a = [[0.0f64; 9]; 8];
        for i in 0..4 {
            let ((x, y), (u, v)) = (from[i], to[i]);
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -x * u, -y * u, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -x * v, -y * v, v];
        }
        let h = solve8(a)?;
        let core = Homography {
            m: [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0],
        };
        Some(nf.then(&core).then(&nt.inverse()?))
    }

    /// `self` followed by `next`.
    pub fn then(&self, next: &Homography) -> Homography {
        let (a, b) = (&next.m, &self.m);
        let mut m = [0.0; 9];
        for r in 0..3 {
            for c in 0..3 {
                m[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
            }
        }
        Homography { m }
    }

    pub fn inverse(&self) -> Option<Homography> {
        let m = &self.m;
        let cof = [
            m[4] * m[8] - m[5] * m[7],
            m[2] * m[7] - m[1] * m[8],
            m[1] * m[5] - m[2] * m[4],
            m[5] * m[6] - m[3] * m[8],
            m[0] * m[8] - m[2] * m[6],
            m[2] * m[3] - m[0] * m[5],
            m[3] * m[7] - m[4] * m[6],
            m[1] * m[6] - m[0] * m[7],
            m[0] * m[4] - m[1] * m[3],
        ];
        let det = m[0] * cof[0] + m[1] * cof[3] + m[2] * cof[6];
        let scale = m.iter().fold(0.0f64, |s, v| s.max(v.abs()));
        if !det.is_finite() || det.abs() <= 1e-12 * scale.powi(3) {
            return None;
        }
        Some(Homography {
            m: cof.map(|c| c / det),
        })
    }

    /// Where `(x, y)` goes (`None` on the line sent to infinity).
    #[cfg(test)]
    pub fn apply(&self, (x, y): Pt) -> Option<Pt> {
        let m = &self.m;
        let w = m[6] * x + m[7] * y + m[8];
        if w.abs() < 1e-12 {
            return None;
        }
        Some((
            (m[0] * x + m[1] * y + m[2]) / w,
            (m[3] * x + m[4] * y + m[5]) / w,
        ))
    }
}

/// A similarity moving `points` to their centroid at the origin and mean distance √2,
/// and the moved points.
fn normalise(points: [Pt; 4]) -> Option<(Homography, [Pt; 4])> {
    let cx = points.iter().map(|p| p.0).sum::<f64>() / 4.0;
    let cy = points.iter().map(|p| p.1).sum::<f64>() / 4.0;
    let mean = points
        .iter()
        .map(|p| ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt())
        .sum::<f64>()
        / 4.0;
    if !(mean.is_finite() && mean > 1e-9) {
        return None;
    }
    let s = std::f64::consts::SQRT_2 / mean;
    let h = Homography::translate(-cx, -cy).then(&Homography::scale(s, s));
    Some((h, points.map(|p| ((p.0 - cx) * s, (p.1 - cy) * s))))
}

/// Solves the 8×8 system given as rows `[a | b]` by Gaussian elimination with partial
/// pivoting.
fn solve8(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-10 {
            return None;
        }
        a.swap(col, pivot);
        for row in 0..8 {
            if row != col {
                let f = a[row][col] / a[col][col];
                if f != 0.0 {
                    let pivot_row = a[col];
                    for (cell, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                        *cell -= f * p;
                    }
                }
            }
        }
    }
    let mut x = [0.0; 8];
    for (i, xi) in x.iter_mut().enumerate() {
        *xi = a[i][8] / a[i][i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// The A4 ratio of long to short side.
pub(crate) const A4_RATIO: f64 = std::f64::consts::SQRT_2;

/// How close (relative) an estimated ratio must be to A4's to be taken as A4.
const A4_SNAP: f64 = 0.07;

/// Width over height of the rectangle that the quadrilateral `quad` (top-left,
/// top-right, bottom-right, bottom-left, in an image of `frame` size) shows, snapped to
/// A4 portrait or landscape when within [`A4_SNAP`].
///
/// The camera's focal length is estimated from the quad itself (Zhang and He, with the
/// principal point at the frame's centre); when the quad does not determine it (a
/// vanishing point at infinity, or a value no lens has) a phone's typical focal length
/// of 0.85 × the frame's long side is assumed.
pub(crate) fn aspect_ratio(quad: [Pt; 4], frame: (f64, f64)) -> f64 {
    let raw = aspect_unsnapped(quad, frame);
    let long_over_short = if raw >= 1.0 { raw } else { 1.0 / raw };
    if (long_over_short / A4_RATIO - 1.0).abs() <= A4_SNAP {
        if raw >= 1.0 { A4_RATIO } else { 1.0 / A4_RATIO }
    } else {
        raw
    }
}

fn aspect_unsnapped(quad: [Pt; 4], (fw, fh): (f64, f64)) -> f64 {
    let (cx, cy) = (fw / 2.0, fh / 2.0);
    let long = fw.max(fh).max(1.0);
    let h = |p: Pt| [p.0 - cx, p.1 - cy, 1.0];
    // Zhang and He number the corners m1 top-left, m2 top-right, m3 bottom-left,
    // m4 bottom-right.
    let (m1, m2, m3, m4) = (h(quad[0]), h(quad[1]), h(quad[3]), h(quad[2]));
    let fallback = side_ratio(quad);
    let d2 = dot(cross(m2, m4), m3);
    let d3 = dot(cross(m3, m4), m2);
    if d2.abs() < 1e-9 || d3.abs() < 1e-9 {
        return fallback;
    }
    let k2 = dot(cross(m1, m4), m3) / d2;
    let k3 = dot(cross(m1, m4), m2) / d3;
    let n2 = [k2 * m2[0] - m1[0], k2 * m2[1] - m1[1], k2 * m2[2] - m1[2]];
    let n3 = [k3 * m3[0] - m1[0], k3 * m3[1] - m1[1], k3 * m3[2] - m1[2]];
    let zz = n2[2] * n3[2];
    let f2_estimate = if zz.abs() > 1e-12 {
        -(n2[0] * n3[0] + n2[1] * n3[1]) / zz
    } else {
        f64::NAN
    };
    let plausible = (0.3 * long).powi(2)..(6.0 * long).powi(2);
    let f2 = if plausible.contains(&f2_estimate) {
        f2_estimate
    } else {
        (0.85 * long).powi(2)
    };
    let width = ((n2[0] * n2[0] + n2[1] * n2[1]) / f2 + n2[2] * n2[2]).sqrt();
    let height = ((n3[0] * n3[0] + n3[1] * n3[1]) / f2 + n3[2] * n3[2]).sqrt();
    let ratio = width / height;
    if ratio.is_finite() && ratio > 0.1 && ratio < 10.0 {
        ratio
    } else {
        fallback
    }
}

/// Mean width over mean height of the quad's sides.
fn side_ratio(q: [Pt; 4]) -> f64 {
    let d = |a: Pt, b: Pt| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
    let w = d(q[0], q[1]) + d(q[3], q[2]);
    let h = d(q[0], q[3]) + d(q[1], q[2]);
    if h > 0.0 && w > 0.0 { w / h } else { 1.0 }
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Twice the signed area of the triangle `a b c` (positive when clockwise on screen,
/// y pointing down).
pub(crate) fn area2(a: Pt, b: Pt, c: Pt) -> f64 {
    (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
}

/// Area of a simple polygon.
pub(crate) fn polygon_area(points: &[Pt]) -> f64 {
    let n = points.len();
    if n < 3 {
        return 0.0;
    }
    let twice: f64 = (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum();
    twice.abs() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homography_maps_its_control_points() {
        let from = [(0.0, 0.0), (100.0, 0.0), (100.0, 141.0), (0.0, 141.0)];
        let to = [
            (812.0, 300.0),
            (2900.0, 410.0),
            (3100.0, 2800.0),
            (700.0, 2650.0),
        ];
        let h = Homography::from_points(from, to).unwrap();
        for (f, t) in from.iter().zip(&to) {
            let p = h.apply(*f).unwrap();
            assert!(
                (p.0 - t.0).abs() < 1e-6 && (p.1 - t.1).abs() < 1e-6,
                "{p:?} {t:?}"
            );
        }
        let back = h.inverse().unwrap().apply(to[2]).unwrap();
        assert!((back.0 - 100.0).abs() < 1e-6 && (back.1 - 141.0).abs() < 1e-6);
        assert!(Homography::from_points([(0.0, 0.0); 4], to).is_none());
    }

    #[test]
    fn aspect_of_a_rectangle_seen_straight_on() {
        let q = [
            (100.0, 100.0),
            (300.0, 100.0),
            (300.0, 250.0),
            (100.0, 250.0),
        ];
        assert!((aspect_unsnapped(q, (400.0, 400.0)) - 200.0 / 150.0).abs() < 1e-9);
        let a4 = [(10.0, 10.0), (110.0, 10.0), (110.0, 150.0), (10.0, 150.0)];
        assert_eq!(aspect_ratio(a4, (200.0, 200.0)), 1.0 / A4_RATIO);
    }
}
