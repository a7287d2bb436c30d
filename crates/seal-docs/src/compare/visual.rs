//! The picture side of the comparison: the affine map between the two pages (fitted on
//! the characters the texts share), ink compared cell by cell on the aligned pages (for
//! tables, signatures and pages with little text), and the side-by-side image with
//! every difference boxed.

use image::{GrayImage, ImageFormat, Luma, Rgb, RgbImage, imageops::FilterType};
use imageproc::drawing::draw_hollow_rect_mut;
use imageproc::rect::Rect;

use crate::page::{PixelBox, Point};

/// `x' = a·x + b·y + c`, `y' = d·x + e·y + f`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine(pub [f32; 6]);

impl Affine {
    pub const IDENTITY: Affine = Affine([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);

    pub fn apply(&self, p: Point) -> Point {
        let [a, b, c, d, e, f] = self.0;
        Point {
            x: a * p.x + b * p.y + c,
            y: d * p.x + e * p.y + f,
        }
    }

    /// The box around the mapped corners of `r`.
    pub fn map_box(&self, r: &PixelBox) -> PixelBox {
        let corners = [
            Point { x: r.x, y: r.y },
            Point {
                x: r.right(),
                y: r.y,
            },
            Point {
                x: r.right(),
                y: r.bottom(),
            },
            Point {
                x: r.x,
                y: r.bottom(),
            },
        ];
        PixelBox::around(&corners.map(|p| self.apply(p)))
    }

    /// The map back, if there is one.
    pub fn inverse(&self) -> Option<Affine> {
        let [a, b, c, d, e, f] = self.0;
        let det = a * e - b * d;
        if det.abs() < 1e-9 {
            return None;
        }
        let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
        Some(Affine([
            ia,
            ib,
            -(ia * c + ib * f),
            id,
            ie,
            -(id * c + ie * f),
        ]))
    }

    /// Whether this map is a plausible page-to-page map: scale within 0.5–2, little shear.
    pub fn plausible(&self) -> bool {
        let [a, b, _, d, e, _] = self.0;
        let sx = (a * a + d * d).sqrt();
        let sy = (b * b + e * e).sqrt();
        (0.5..=2.0).contains(&sx) && (0.5..=2.0).contains(&sy) && (a * b + d * e).abs() < 0.2
    }
}

/// The least-squares affine map taking each `from` point to its `to` point; `None`
/// with fewer than 3 pairs or when they lie on a line.
pub fn fit_affine(pairs: &[(Point, Point)]) -> Option<Affine> {
    if pairs.len() < 3 {
        return None;
    }
    // Centre the points for a well-conditioned system.
    let n = pairs.len() as f64;
    let (mut mx, mut my) = (0.0f64, 0.0f64);
    for (p, _) in pairs {
        mx += f64::from(p.x);
        my += f64::from(p.y);
    }
    mx /= n;
    my /= n;
    let (mut sxx, mut sxy, mut syy) = (0.0f64, 0.0f64, 0.0f64);
    let (mut sx_u, mut sy_u, mut su) = (0.0f64, 0.0f64, 0.0f64);
    let (mut sx_v, mut sy_v, mut sv) = (0.0f64, 0.0f64, 0.0f64);
    for (p, q) in pairs {
        let (x, y) = (f64::from(p.x) - mx, f64::from(p.y) - my);
        let (u, v) = (f64::from(q.x), f64::from(q.y));
        sxx += x * x;
        sxy += x * y;
        syy += y * y;
        sx_u += x * u;
        sy_u += y * u;
        su += u;
        sx_v += x * v;
        sy_v += y * v;
        sv += v;
    }
    let det = sxx * syy - sxy * sxy;
    if det.abs() < 1e-6 * (sxx * syy).max(1.0) {
        return None;
    }
    let a = (sx_u * syy - sy_u * sxy) / det;
    let b = (sy_u * sxx - sx_u * sxy) / det;
    let d = (sx_v * syy - sy_v * sxy) / det;
    let e = (sy_v * sxx - sx_v * sxy) / det;
    let c = su / n - a * mx - b * my;
    let f = sv / n - d * mx - e * my;
    Some(Affine([a, b, c, d, e, f].map(|v| v as f32)))
}

/// `image` (grey) drawn into a `width`×`height` frame through `map` (a map from the
/// image to the frame; nearest pixel); white outside and when `map` cannot be inverted.
pub fn warp_into(image: &GrayImage, map: &Affine, width: u32, height: u32) -> GrayImage {
    let mut out = GrayImage::from_pixel(width.max(1), height.max(1), Luma([255]));
    let Some(inverse) = map.inverse() else {
        return out;
    };
    let [a, b, c, d, e, f] = inverse.0;
    let (iw, ih) = (image.width() as f32, image.height() as f32);
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32, y as f32);
        let sx = a * fx + b * fy + c;
        let sy = d * fx + e * fy + f;
        if sx >= 0.0 && sy >= 0.0 && sx < iw && sy < ih {
            *pixel = *image.get_pixel(sx as u32, sy as u32);
        }
    }
    out
}

/// Grey level below which a pixel is ink.
const INK: u8 = 150;

/// Cells (in `approved`'s pixels) where the two aligned pages' ink differs: ink in one
/// with none near it in the other, over at least `min_share` of the cell. Both images
/// have the same size; `cell` is the side of a cell in pixels.
pub fn ink_differences(
    approved: &GrayImage,
    captured: &GrayImage,
    cell: u32,
    min_share: f32,
) -> Vec<PixelBox> {
    let (w, h) = approved.dimensions();
    if captured.dimensions() != (w, h) || w < 8 || h < 8 {
        return Vec::new();
    }
    // Quarter size, ink as booleans, each side's ink widened by 2 px (tolerance for the
    // fit and for stroke width) when it is the reference.
    let small = |img: &GrayImage| image::imageops::resize(img, w / 4, h / 4, FilterType::Triangle);
    let (sa, sc) = (small(approved), small(captured));
    let (sw, sh) = sa.dimensions();
    let ink = |img: &GrayImage| -> Vec<bool> { img.pixels().map(|p| p.0[0] < INK).collect() };
    let (ia, ic) = (ink(&sa), ink(&sc));
    let widen = |v: &[bool]| -> Vec<bool> {
        let mut out = vec![false; v.len()];
        for y in 0..sh as i64 {
            for x in 0..sw as i64 {
                if !v[(y * sw as i64 + x) as usize] {
                    continue;
                }
                for dy in -2..=2i64 {
                    for dx in -2..=2i64 {
                        let (nx, ny) = (x + dx, y + dy);
                        if nx >= 0 && ny >= 0 && nx < sw as i64 && ny < sh as i64 {
                            out[(ny * sw as i64 + nx) as usize] = true;
                        }
                    }
                }
            }
        }
        out
    };
    let (wa, wc) = (widen(&ia), widen(&ic));
    let step = (cell / 4).max(4);
    // Leave the outer 3% of the page out: paper edges and shadows live there.
    let margin_x = sw * 3 / 100;
    let margin_y = sh * 3 / 100;
    let mut found = Vec::new();
    let mut y = margin_y;
    while y + step <= sh - margin_y {
        let mut x = margin_x;
        while x + step <= sw - margin_x {
            let (mut extra, mut missing) = (0u32, 0u32);
            for yy in y..y + step {
                for xx in x..x + step {
                    let i = (yy * sw + xx) as usize;
                    extra += u32::from(ic[i] && !wa[i]);
                    missing += u32::from(ia[i] && !wc[i]);
                }
            }
            let share = extra.max(missing) as f32 / (step * step) as f32;
            if share >= min_share {
                found.push(PixelBox {
                    x: (x * 4) as f32,
                    y: (y * 4) as f32,
                    width: (step * 4) as f32,
                    height: (step * 4) as f32,
                });
            }
            x += step;
        }
        y += step;
    }
    merge_boxes(found)
}

/// Joins touching boxes (so a changed signature is one box, not twenty).
pub fn merge_boxes(mut boxes: Vec<PixelBox>) -> Vec<PixelBox> {
    let touches = |a: &PixelBox, b: &PixelBox| {
        a.x <= b.right() + 1.0
            && b.x <= a.right() + 1.0
            && a.y <= b.bottom() + 1.0
            && b.y <= a.bottom() + 1.0
    };
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                if touches(&boxes[i], &boxes[j]) {
                    let (a, b) = (boxes[i], boxes[j]);
                    let x = a.x.min(b.x);
                    let y = a.y.min(b.y);
                    boxes[i] = PixelBox {
                        x,
                        y,
                        width: a.right().max(b.right()) - x,
                        height: a.bottom().max(b.bottom()) - y,
                    };
                    boxes.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    boxes
}

/// A box to draw and its colour.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    pub rect: PixelBox,
    pub material: bool,
}

/// The approved page (left) and the capture (right) side by side, each `height` pixels
/// high, with `left` and `right` boxes drawn (red: a difference that matters, amber:
/// one that might be a misreading), as PNG bytes.
pub fn side_by_side(
    approved: &GrayImage,
    captured: &GrayImage,
    left: &[Mark],
    right: &[Mark],
    height: u32,
) -> Vec<u8> {
    let fit = |img: &GrayImage| -> (RgbImage, f32) {
        let (w, h) = img.dimensions();
        let scale = height as f32 / h.max(1) as f32;
        let nw = ((w as f32 * scale).round() as u32).max(1);
        let small = image::imageops::resize(img, nw, height, FilterType::Triangle);
        (image::DynamicImage::ImageLuma8(small).into_rgb8(), scale)
    };
    let (a, sa) = fit(approved);
    let (c, sc) = fit(captured);
    let gap = 12;
    let mut out = RgbImage::from_pixel(a.width() + gap + c.width(), height, Rgb([96, 96, 96]));
    image::imageops::overlay(&mut out, &a, 0, 0);
    image::imageops::overlay(&mut out, &c, i64::from(a.width() + gap), 0);
    let draw = |out: &mut RgbImage, marks: &[Mark], scale: f32, offset: u32| {
        for m in marks {
            let colour = if m.material {
                Rgb([220, 20, 20])
            } else {
                Rgb([240, 160, 0])
            };
            let r = m.rect.scaled(scale, scale);
            let x = r.x.round() as i32 + offset as i32;
            let y = r.y.round() as i32;
            let (w, h) = (
                (r.width.round() as u32).max(2),
                (r.height.round() as u32).max(2),
            );
            for grow in 0..3i32 {
                draw_hollow_rect_mut(
                    out,
                    Rect::at(x - 2 - grow, y - 2 - grow)
                        .of_size(w + 4 + 2 * grow as u32, h + 4 + 2 * grow as u32),
                    colour,
                );
            }
        }
    };
    draw(&mut out, left, sa, 0);
    draw(&mut out, right, sc, a.width() + gap);
    let mut bytes = std::io::Cursor::new(Vec::new());
    // Writing a PNG into memory cannot fail for a valid RGB image.
    match image::DynamicImage::ImageRgb8(out).write_to(&mut bytes, ImageFormat::Png) {
        Ok(()) => bytes.into_inner(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_affine_fit_recovers_a_known_map() {
        let truth = Affine([0.98, -0.05, 12.0, 0.05, 0.98, -7.0]);
        let pairs: Vec<(Point, Point)> = (0..20)
            .map(|i| {
                let p = Point {
                    x: (i * 37 % 500) as f32,
                    y: (i * 91 % 700) as f32,
                };
                (p, truth.apply(p))
            })
            .collect();
        let fit = fit_affine(&pairs).unwrap();
        for (got, want) in fit.0.iter().zip(truth.0) {
            assert!((got - want).abs() < 1e-3, "{fit:?}");
        }
        assert!(fit.plausible());
        let line: Vec<(Point, Point)> = (0..5)
            .map(|i| {
                (
                    Point {
                        x: i as f32,
                        y: 0.0,
                    },
                    Point {
                        x: i as f32,
                        y: 0.0,
                    },
                )
            })
            .collect();
        assert!(fit_affine(&line).is_none());
    }

    #[test]
    fn ink_differences_find_a_changed_block_only() {
        let mut a = GrayImage::from_pixel(400, 560, Luma([255]));
        for y in 100..120 {
            for x in 60..300 {
                a.put_pixel(x, y, Luma([0]));
            }
        }
        let mut c = a.clone();
        assert!(ink_differences(&a, &c, 32, 0.1).is_empty());
        for y in 300..360 {
            for x in 200..260 {
                c.put_pixel(x, y, Luma([0]));
            }
        }
        let found = ink_differences(&a, &c, 32, 0.1);
        assert_eq!(found.len(), 1, "{found:?}");
        let b = found[0];
        assert!(b.x <= 210.0 && b.right() >= 250.0 && b.y <= 310.0 && b.bottom() >= 350.0);
    }

    #[test]
    fn the_side_by_side_image_is_a_png_of_both_pages() {
        let a = GrayImage::from_pixel(200, 280, Luma([255]));
        let png = side_by_side(
            &a,
            &a,
            &[Mark {
                rect: PixelBox {
                    x: 10.0,
                    y: 10.0,
                    width: 50.0,
                    height: 20.0,
                },
                material: true,
            }],
            &[],
            140,
        );
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (100 + 12 + 100, 140));
        // The box's left edge: x = 10·0.5 − 2 − (0..3).
        assert_eq!(img.get_pixel(2, 8), &Rgb([220, 20, 20]));
        assert_eq!(img.get_pixel(20, 20), &Rgb([255, 255, 255]));
    }
}
