//! From paddle-ocr-rs text blocks to [`TextLine`]s in reading order: top to bottom, then
//! left to right within a row, measured along the page's own text direction so that a
//! page photographed at an angle still reads in order.

use paddle_ocr_rs::ocr_result::TextBlock;

use crate::page::{Point, TextLine};

/// The lines of `blocks` with non-empty text, their corners inside a `width` × `height`
/// image, in reading order.
pub(crate) fn to_lines(blocks: Vec<TextBlock>, width: u32, height: u32) -> Vec<TextLine> {
    let (w, h) = (width as f32, height as f32);
    let lines: Vec<TextLine> = blocks
        .into_iter()
        .filter_map(|block| {
            let text = block.text.trim();
            if text.is_empty() {
                return None;
            }
            let corner = |i: usize| {
                block.box_points.get(i).map(|p| Point {
                    x: (p.x as f32).min(w),
                    y: (p.y as f32).min(h),
                })
            };
            let quad = [corner(0)?, corner(1)?, corner(2)?, corner(3)?];
            let score = if block.text_score.is_finite() {
                block.text_score.clamp(0.0, 1.0)
            } else {
                0.0
            };
            Some(TextLine {
                text: text.to_owned(),
                score,
                quad,
            })
        })
        .collect();
    reading_order(lines)
}

/// Sorts lines top to bottom, and lines of one row left to right.
///
/// The page's text direction is the median slope of the lines' top edges; positions are
/// measured in a frame turned by it. Two lines are in one row when their centres are
/// closer, across the text direction, than half the lower line height.
pub(crate) fn reading_order(lines: Vec<TextLine>) -> Vec<TextLine> {
    if lines.len() < 2 {
        return lines;
    }
    let angle = text_angle(&lines);
    let (sin, cos) = angle.sin_cos();
    let mut placed: Vec<(f32, f32, f32, TextLine)> = lines
        .into_iter()
        .map(|line| {
            let [a, b, c, d] = line.quad;
            let cx = (a.x + b.x + c.x + d.x) / 4.0;
            let cy = (a.y + b.y + c.y + d.y) / 4.0;
            // Along and across the text direction.
            let along = cx * cos + cy * sin;
            let across = -cx * sin + cy * cos;
            let height = (distance(a, d) + distance(b, c)) / 2.0;
            (across, along, height, line)
        })
        .collect();
    placed.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.total_cmp(&q.1)));

    let mut ordered = Vec::with_capacity(placed.len());
    let mut row: Vec<(f32, f32, f32, TextLine)> = Vec::new();
    let flush = |row: &mut Vec<(f32, f32, f32, TextLine)>, ordered: &mut Vec<TextLine>| {
        row.sort_by(|p, q| p.1.total_cmp(&q.1));
        ordered.extend(row.drain(..).map(|(_, _, _, line)| line));
    };
    for item in placed {
        let joins = row.first().is_some_and(|first| {
            let mean = row.iter().map(|r| r.0).sum::<f32>() / row.len() as f32;
            let lowest = row.iter().map(|r| r.2).fold(first.2, f32::min).min(item.2);
            (item.0 - mean).abs() < lowest / 2.0
        });
        if !joins {
            flush(&mut row, &mut ordered);
        }
        row.push(item);
    }
    flush(&mut row, &mut ordered);
    ordered
}

/// The median angle of the top edges of lines wider than high (radians, y down), or 0.
fn text_angle(lines: &[TextLine]) -> f32 {
    let mut angles: Vec<f32> = lines
        .iter()
        .filter_map(|line| {
            let [a, b, _, d] = line.quad;
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let wide = (dx * dx + dy * dy).sqrt() > distance(a, d) * 1.5;
            (wide && dx > 0.0).then(|| dy.atan2(dx))
        })
        .collect();
    if angles.is_empty() {
        return 0.0;
    }
    angles.sort_by(f32::total_cmp);
    angles[angles.len() / 2]
}

fn distance(p: Point, q: Point) -> f32 {
    ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, x: f32, y: f32, w: f32, h: f32, angle_deg: f32) -> TextLine {
        let (s, c) = angle_deg.to_radians().sin_cos();
        let p = |dx: f32, dy: f32| Point {
            x: x + dx * c - dy * s,
            y: y + dx * s + dy * c,
        };
        TextLine {
            text: text.to_owned(),
            score: 1.0,
            quad: [p(0.0, 0.0), p(w, 0.0), p(w, h), p(0.0, h)],
        }
    }

    fn texts(lines: &[TextLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn rows_read_top_to_bottom_then_left_to_right() {
        let lines = vec![
            line("c", 100.0, 200.0, 300.0, 30.0, 0.0),
            line("b2", 500.0, 104.0, 200.0, 30.0, 0.0),
            line("b1", 100.0, 100.0, 300.0, 30.0, 0.0),
            line("a", 100.0, 40.0, 600.0, 40.0, 0.0),
        ];
        assert_eq!(texts(&reading_order(lines)), ["a", "b1", "b2", "c"]);
    }

    #[test]
    fn a_tilted_page_reads_in_order() {
        // Rows 50 px apart on a page turned by 10°: the right end of a long upper line
        // lies lower on the image than the left end of the next line.
        let turned = |text: &str, x: f32, row: f32, w: f32| {
            let (s, c) = 10f32.to_radians().sin_cos();
            line(
                text,
                200.0 + x * c - row * s,
                100.0 + x * s + row * c,
                w,
                30.0,
                10.0,
            )
        };
        let lines = vec![
            turned("r2", 0.0, 100.0, 1200.0),
            turned("r1b", 700.0, 50.0, 400.0),
            turned("r1a", 0.0, 50.0, 600.0),
            turned("r0", 0.0, 0.0, 1200.0),
        ];
        assert_eq!(texts(&reading_order(lines)), ["r0", "r1a", "r1b", "r2"]);
    }
}
