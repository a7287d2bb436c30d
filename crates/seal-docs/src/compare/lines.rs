//! Reading only what may have changed: each approved line is looked for in the capture
//! by the shape of its ink, window by window along the line. A line whose ink has the
//! same shape keeps the approved text; only the other lines, and ink the approved page
//! does not have, need OCR. On a genuine page this skips most of the recognition, which
//! is most of the time of a comparison (about 0.1 s of CPU per full-width line).
//!
//! The check only decides what to read: a line it passes is one whose every window
//! correlates at least [`SAME_LINE`] with the approved ink, so a changed character
//! (which correlates −0.01–0.62 with the one it replaced, see `SAME_GLYPH`) makes the
//! line be read, and the text comparison then decides as it does for a page read whole.

use image::GrayImage;
use image::imageops::FilterType;

use crate::capture::RedMap;
use crate::page::{PixelBox, TextLine};

/// A window of a line passes when its ink correlates at least this much with the
/// approved window. Calibrated on the benchmark corpus (see `docs/comparison.md`).
pub const SAME_LINE: f32 = 0.80;

/// Gray level below which a smoothed pixel is ink.
const DARK: f32 = 150.0;

/// Gray level above which a smoothed window holds no trace of ink: a window with ink
/// on one page and nothing darker than this on the other differs; between the two
/// levels (thin strokes blurred in a photo) the correlation decides.
const FAINT: f32 = 215.0;

/// White border around the planes, in pixels: every window and shift stays inside.
const PAD: usize = 64;

/// How far a line is looked for around where it is expected, in pixels (full size).
const LINE_REACH: i64 = 28;

/// How one approved line was found in the capture.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineFit {
    /// Where the line lies in the capture, in the capture's pixels.
    pub captured: PixelBox,
    /// The lowest correlation of a window of the line with the approved ink (1.0 for a
    /// line without ink on either page, 0.0 where only one page has ink).
    pub worst: f32,
    /// The correlation of the whole line at its place (coarse).
    pub fit: f32,
}

impl LineFit {
    /// Whether the line's ink has the shape of the approved line's.
    pub fn same(&self) -> bool {
        self.worst >= SAME_LINE
    }
}

/// What the check found.
#[derive(Clone, Debug, Default)]
pub struct LineCheck {
    /// One per approved line, in the same order.
    pub lines: Vec<LineFit>,
    /// Places of the capture (its pixels) with ink that lies in no approved line and
    /// that the approved page does not have there, red ink aside.
    pub stray: Vec<PixelBox>,
}

impl LineCheck {
    /// Whether reading only the lines that differ is sound: the lines were found where
    /// the page's geometry puts them (the median line correlates well), few of them
    /// differ (more means moved text, another page, or a poor photo: read it whole),
    /// and no ink lies outside them.
    pub fn usable(&self) -> bool {
        let n = self.lines.len();
        if n < 3 || !self.stray.is_empty() {
            return false;
        }
        let mut fits: Vec<f32> = self.lines.iter().map(|l| l.fit).collect();
        fits.sort_by(f32::total_cmp);
        let differing = self.lines.iter().filter(|l| !l.same()).count();
        fits[n / 2] >= 0.6 && differing <= (n / 4).max(2)
    }

    /// The indexes of the lines that differ.
    pub fn differing(&self) -> Vec<usize> {
        (0..self.lines.len())
            .filter(|&i| !self.lines[i].same())
            .collect()
    }
}

/// A smoothed grey page as `f32`, with a white border of `pad` pixels.
struct Plane {
    w: usize,
    h: usize,
    pad: usize,
    /// Row stride: `w + 2·pad`.
    stride: usize,
    px: Vec<f32>,
}

impl Plane {
    /// `img` smoothed by a 3 × 3 box (noise and JPEG blocks out, strokes kept).
    fn smoothed(img: &GrayImage) -> Plane {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let stride = w + 2 * PAD;
        let mut px = vec![255.0f32; stride * (h + 2 * PAD)];
        let raw = img.as_raw();
        // Horizontal then vertical sums of three.
        let mut rows = vec![0.0f32; w * h];
        for y in 0..h {
            let row = &raw[y * w..(y + 1) * w];
            for x in 0..w {
                let l = row[x.saturating_sub(1)];
                let r = row[(x + 1).min(w - 1)];
                rows[y * w + x] = f32::from(l) + f32::from(row[x]) + f32::from(r);
            }
        }
        for y in 0..h {
            let up = y.saturating_sub(1);
            let down = (y + 1).min(h - 1);
            let out = (y + PAD) * stride + PAD;
            for x in 0..w {
                px[out + x] = (rows[up * w + x] + rows[y * w + x] + rows[down * w + x]) / 9.0;
            }
        }
        Plane {
            w,
            h,
            pad: PAD,
            stride,
            px,
        }
    }

    /// This plane shrunk by 4 (4 × 4 means), border included.
    fn shrunk(&self) -> Plane {
        let (fw, fh) = (self.stride, self.px.len() / self.stride);
        let (sw, sh) = (fw / 4, fh / 4);
        let mut px = vec![255.0f32; sw * sh];
        for y in 0..sh {
            for x in 0..sw {
                let mut sum = 0.0;
                for dy in 0..4 {
                    let row = (4 * y + dy) * fw + 4 * x;
                    sum += self.px[row..row + 4].iter().sum::<f32>();
                }
                px[y * sw + x] = sum / 16.0;
            }
        }
        Plane {
            w: self.w / 4,
            h: self.h / 4,
            pad: self.pad / 4,
            stride: sw,
            px,
        }
    }

    /// The index of page pixel (x, y), which may lie up to `pad` outside the page.
    fn at(&self, x: i64, y: i64) -> usize {
        let pad = self.pad as i64;
        let x = (x + pad).clamp(0, self.stride as i64 - 1);
        let y = (y + pad).clamp(0, (self.px.len() / self.stride) as i64 - 1);
        y as usize * self.stride + x as usize
    }

    /// The darkest value of the `w` × `h` window at (x, y).
    fn darkest(&self, x: i64, y: i64, w: usize, h: usize) -> f32 {
        let mut min = 255.0f32;
        for row in 0..h {
            let i = self.at(x, y + row as i64);
            let end = (i + w).min(self.px.len());
            for &v in &self.px[i..end] {
                min = min.min(v);
            }
        }
        min
    }
}

/// The normalised cross-correlation of the `w` × `h` window of `a` at `(ax, ay)` with
/// that of `b` at `(bx, by)`; `None` when either window is flat.
#[allow(clippy::too_many_arguments)]
fn ncc(
    a: &Plane,
    ax: i64,
    ay: i64,
    b: &Plane,
    bx: i64,
    by: i64,
    w: usize,
    h: usize,
) -> Option<f32> {
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0f32, 0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for row in 0..h {
        let i = a.at(ax, ay + row as i64);
        let j = b.at(bx, by + row as i64);
        let (ra, rb) = (
            &a.px[i..(i + w).min(a.px.len())],
            &b.px[j..(j + w).min(b.px.len())],
        );
        for (&va, &vb) in ra.iter().zip(rb) {
            sa += va;
            sb += vb;
            saa += va * va;
            sbb += vb * vb;
            sab += va * vb;
        }
    }
    let n = (w * h) as f32;
    let cov = sab - sa * sb / n;
    let var = (saa - sa * sa / n) * (sbb - sb * sb / n);
    // Flat: a spread of less than about two grey levels.
    if var <= (4.0 * n) * (4.0 * n) {
        return None;
    }
    Some(cov / var.sqrt())
}

/// The best correlation of `a`'s window at `(x, y)` with `b`'s over shifts of up to
/// `reach` around `(ox, oy)`, and the shift.
#[allow(clippy::too_many_arguments)]
fn best_shift(
    a: &Plane,
    b: &Plane,
    (x, y): (i64, i64),
    (w, h): (usize, usize),
    (ox, oy): (i64, i64),
    reach: i64,
) -> (f32, (i64, i64)) {
    let mut best = (-1.0f32, (ox, oy));
    for dy in oy - reach..=oy + reach {
        for dx in ox - reach..=ox + reach {
            if let Some(c) = ncc(a, x, y, b, x + dx, y + dy, w, h)
                && c > best.0
            {
                best = (c, (dx, dy));
            }
        }
    }
    best
}

/// Checks each of `lines` (boxes in `approved`'s pixels) against `capture`, the
/// prepared capture as grey; `red` is where red ink was removed from it.
pub fn check(
    approved: &GrayImage,
    lines: &[TextLine],
    capture: &GrayImage,
    red: &RedMap,
) -> LineCheck {
    let (aw, ah) = approved.dimensions();
    let (cw, ch) = capture.dimensions();
    if aw < 64 || ah < 64 || cw < 64 || ch < 64 || lines.is_empty() {
        return LineCheck::default();
    }
    // The capture at the approved page's size (both are prepared to the same long side,
    // so this only evens out a slightly different aspect).
    let resized;
    let same_size = (aw, ah) == (cw, ch);
    let capture_at = if same_size {
        capture
    } else {
        resized = image::imageops::resize(capture, aw, ah, FilterType::Triangle);
        &resized
    };
    let (sx, sy) = (cw as f32 / aw as f32, ch as f32 / ah as f32);
    let a = Plane::smoothed(approved);
    let c = Plane::smoothed(capture_at);
    let (a4, c4) = (a.shrunk(), c.shrunk());

    let mut fits = Vec::with_capacity(lines.len());
    let mut offsets: Vec<(i64, i64)> = Vec::with_capacity(lines.len());
    let mut previous: Option<(i64, i64)> = None;
    for line in lines {
        let b = clip(line.bounds(), aw as f32, ah as f32);
        let (x0, y0) = (b.x.floor() as i64, b.y.floor() as i64);
        let (lw, lh) = (b.width.ceil() as usize, b.height.ceil() as usize);
        if lw < 4 || lh < 4 {
            fits.push(LineFit {
                captured: b.scaled(sx, sy),
                worst: 1.0,
                fit: 1.0,
            });
            offsets.push(previous.unwrap_or((0, 0)));
            continue;
        }
        // The line's place: on the quarter-size pages, near the line before it (the
        // photo's geometry changes slowly down a page), else anywhere within reach.
        let coarse = |around: (i64, i64), reach: i64| {
            best_shift(
                &a4,
                &c4,
                (x0 / 4, y0 / 4),
                ((lw / 4).max(1), (lh / 4).max(1)),
                around,
                reach,
            )
        };
        let far = LINE_REACH / 4;
        let (mut fit, mut shift) = match previous {
            Some((px, py)) => coarse((px / 4, py / 4), 2),
            None => coarse((0, 0), far),
        };
        if previous.is_some() && fit < 0.5 {
            let wide = coarse((0, 0), far);
            if wide.0 > fit {
                (fit, shift) = wide;
            }
        }
        let mut at = (shift.0 * 4, shift.1 * 4);
        // Window by window along the line, each a little more than a character wide,
        // following the line's drift (a page printed or photographed a little scaled).
        let ww = ((b.height * 0.6).round() as usize).clamp(10, lw.max(10));
        let step = (ww / 2).max(1);
        let mut worst = 1.0f32;
        let mut first = true;
        let mut x = x0;
        let end = x0 + lw as i64;
        loop {
            let wx = x.min(end - ww as i64).max(x0);
            let (score, moved) =
                best_shift(&a, &c, (wx, y0), (ww, lh), at, if first { 4 } else { 2 });
            let a_dark = a.darkest(wx, y0, ww, lh);
            let c_dark = c.darkest(wx + moved.0, y0 + moved.1, ww, lh);
            let (a_ink, c_ink) = (a_dark < DARK, c_dark < DARK);
            let score = if !a_ink && !c_ink {
                1.0
            } else if (a_ink && c_dark > FAINT) || (c_ink && a_dark > FAINT) {
                // Ink on one page, not even a faint trace on the other.
                0.0
            } else {
                at = moved;
                first = false;
                score
            };
            worst = worst.min(score);
            if wx + ww as i64 >= end {
                break;
            }
            x += step as i64;
        }
        previous = Some(at);
        offsets.push(at);
        let moved = PixelBox {
            x: b.x + at.0 as f32,
            y: b.y + at.1 as f32,
            ..b
        };
        fits.push(LineFit {
            captured: moved.scaled(sx, sy),
            worst,
            fit,
        });
    }

    let stray = stray_ink(&a, &c, lines, &offsets, red, (sx, sy));
    LineCheck { lines: fits, stray }
}

/// The part of a box inside a `w` × `h` page.
fn clip(b: PixelBox, w: f32, h: f32) -> PixelBox {
    let x0 = b.x.clamp(0.0, w);
    let y0 = b.y.clamp(0.0, h);
    let x1 = b.right().clamp(0.0, w);
    let y1 = b.bottom().clamp(0.0, h);
    PixelBox {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    }
}

/// Side of the cells ink is counted in.
const CELL: usize = 32;
/// Stray ink pixels that make a cell count: a few strokes, not a speck.
const CELL_INK: usize = 24;

/// Cells of the capture with ink outside every approved line (each at its own place)
/// and away from the approved page's own ink (at the page's median place), red ink and
/// the page's edge band aside; in the capture's pixels.
fn stray_ink(
    a: &Plane,
    c: &Plane,
    lines: &[TextLine],
    offsets: &[(i64, i64)],
    red: &RedMap,
    (sx, sy): (f32, f32),
) -> Vec<PixelBox> {
    let (w, h) = (c.w, c.h);
    // Where the lines are in the capture, grown a little.
    let mut in_line = vec![false; w * h];
    for (line, &(ox, oy)) in lines.iter().zip(offsets) {
        let b = line.bounds();
        let gx = b.height * 0.5;
        let gy = b.height * 0.25;
        let x0 = ((b.x - gx) as i64 + ox).clamp(0, w as i64) as usize;
        let x1 = ((b.right() + gx) as i64 + ox).clamp(0, w as i64) as usize;
        let y0 = ((b.y - gy) as i64 + oy).clamp(0, h as i64) as usize;
        let y1 = ((b.bottom() + gy) as i64 + oy).clamp(0, h as i64) as usize;
        for y in y0..y1 {
            in_line[y * w + x0..y * w + x1].fill(true);
        }
    }
    // The approved page's ink, as a summed-area table, looked up at the median offset
    // with a reach that covers how much the lines' offsets spread.
    let median = |pick: fn(&(i64, i64)) -> i64| {
        let mut v: Vec<i64> = offsets.iter().map(pick).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    let (mx, my) = (median(|o| o.0), median(|o| o.1));
    let spread = offsets
        .iter()
        .map(|&(x, y)| (x - mx).abs().max((y - my).abs()))
        .max()
        .unwrap_or(0);
    let reach = (6 + spread).min(LINE_REACH) as usize;
    let mut table = vec![0u32; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut run = 0u32;
        for x in 0..w {
            run += u32::from(a.px[a.at(x as i64, y as i64)] < DARK);
            table[(y + 1) * (w + 1) + x + 1] = table[y * (w + 1) + x + 1] + run;
        }
    }
    let near_approved_ink = |x: i64, y: i64| -> bool {
        let x0 = (x - mx - reach as i64).clamp(0, w as i64) as usize;
        let x1 = (x - mx + reach as i64 + 1).clamp(0, w as i64) as usize;
        let y0 = (y - my - reach as i64).clamp(0, h as i64) as usize;
        let y1 = (y - my + reach as i64 + 1).clamp(0, h as i64) as usize;
        table[y1 * (w + 1) + x1] + table[y0 * (w + 1) + x0]
            > table[y0 * (w + 1) + x1] + table[y1 * (w + 1) + x0]
    };
    let (edge_x, edge_y) = (w * 2 / 100, h * 2 / 100);
    let mut stray = Vec::new();
    for cy in (edge_y..h.saturating_sub(edge_y)).step_by(CELL) {
        for cx in (edge_x..w.saturating_sub(edge_x)).step_by(CELL) {
            let (x1, y1) = ((cx + CELL).min(w - edge_x), (cy + CELL).min(h - edge_y));
            let mut count = 0usize;
            for y in cy..y1 {
                for x in cx..x1 {
                    if !in_line[y * w + x]
                        && c.px[c.at(x as i64, y as i64)] < DARK
                        && !near_approved_ink(x as i64, y as i64)
                    {
                        count += 1;
                    }
                }
            }
            if count < CELL_INK {
                continue;
            }
            let cell = PixelBox {
                x: cx as f32,
                y: cy as f32,
                width: (x1 - cx) as f32,
                height: (y1 - cy) as f32,
            }
            .scaled(sx, sy);
            if red.share(cell.x, cell.y, cell.right(), cell.bottom()) < 0.05 {
                stray.push(cell);
            }
        }
    }
    stray
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::Point;
    use image::Luma;

    /// A page with bars of "ink" standing for lines of text, each bar a row of blocks
    /// whose widths follow `pattern`.
    fn page(patterns: &[&[u32]], shift: (i64, i64)) -> GrayImage {
        let mut img = GrayImage::from_pixel(800, 600, Luma([255]));
        for (row, pattern) in patterns.iter().enumerate() {
            let y = 60 + row as i64 * 60 + shift.1;
            let mut x = 60 + shift.0;
            for &w in pattern.iter() {
                for yy in y..y + 24 {
                    for xx in x..x + i64::from(w) {
                        img.put_pixel(xx as u32, yy as u32, Luma([20]));
                    }
                }
                x += i64::from(w) + 9;
            }
        }
        img
    }

    fn line(row: usize, width: f32) -> TextLine {
        let (x, y) = (54.0, 54.0 + row as f32 * 60.0);
        TextLine {
            text: format!("line {row}"),
            score: 1.0,
            quad: [
                Point { x, y },
                Point { x: x + width, y },
                Point {
                    x: x + width,
                    y: y + 36.0,
                },
                Point { x, y: y + 36.0 },
            ],
        }
    }

    const ROWS: [&[u32]; 4] = [
        &[4, 12, 6, 3, 20, 5, 9, 4, 4, 14, 6, 3, 7],
        &[8, 3, 3, 16, 5, 12, 4, 9, 3, 3, 10],
        &[5, 5, 18, 4, 7, 3, 11, 6, 4, 9, 13, 4],
        &[12, 4, 6, 6, 3, 15, 4, 8, 3, 5, 6, 10, 4],
    ];

    fn lines() -> Vec<TextLine> {
        (0..4).map(|r| line(r, 300.0)).collect()
    }

    #[test]
    fn the_same_page_moved_passes_every_line() {
        let approved = page(&ROWS, (0, 0));
        let capture = page(&ROWS, (7, -5));
        let check = check(&approved, &lines(), &capture, &RedMap::default());
        assert_eq!(check.lines.len(), 4);
        for fit in &check.lines {
            assert!(fit.same(), "{fit:?}");
            assert!((fit.captured.x - 61.0).abs() < 1.5, "{fit:?}");
            assert!((fit.captured.y - (fit.captured.y.round())).abs() < 1.0);
        }
        assert!(check.stray.is_empty(), "{:?}", check.stray);
        assert!(check.usable());
        assert!(check.differing().is_empty());
    }

    #[test]
    fn a_changed_block_fails_its_line_only() {
        let approved = page(&ROWS, (0, 0));
        let mut rows = ROWS;
        let changed: &[u32] = &[8, 3, 3, 16, 5, 4, 12, 9, 3, 3, 10];
        rows[1] = changed;
        let capture = page(&rows, (3, 2));
        let check = check(&approved, &lines(), &capture, &RedMap::default());
        assert_eq!(check.differing(), vec![1], "{:?}", check.lines);
        assert!(check.usable());
    }

    #[test]
    fn ink_outside_the_lines_is_stray() {
        let approved = page(&ROWS, (0, 0));
        let mut capture = page(&ROWS, (0, 0));
        for y in 400..430 {
            for x in 500..540 {
                capture.put_pixel(x, y, Luma([30]));
            }
        }
        let check = check(&approved, &lines(), &capture, &RedMap::default());
        assert!(!check.stray.is_empty());
        assert!(
            check
                .stray
                .iter()
                .all(|b| b.x >= 470.0 && b.right() <= 570.0 && b.y >= 370.0 && b.bottom() <= 460.0),
            "{:?}",
            check.stray
        );
        assert!(!check.usable());
    }

    #[test]
    fn a_blank_capture_fails_every_line() {
        let approved = page(&ROWS, (0, 0));
        let capture = GrayImage::from_pixel(800, 600, Luma([250]));
        let check = check(&approved, &lines(), &capture, &RedMap::default());
        assert_eq!(check.differing(), vec![0, 1, 2, 3]);
        assert!(!check.usable());
    }

    #[test]
    fn too_few_lines_are_not_checked_this_way() {
        let approved = page(&ROWS[..2], (0, 0));
        let check = check(&approved, &lines()[..2], &approved, &RedMap::default());
        assert!(check.differing().is_empty());
        assert!(!check.usable());
    }
}
