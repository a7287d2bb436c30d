//! The geometry of a seal: where the ring, the star and every character go, written out
//! as SVG source in millimetres (one `<text>` per character, each placed and rotated on
//! its own, which every SVG renderer draws the same way).
//!
//! The proportions follow real company seals: for a 40 mm round seal the ring is 1.2 mm
//! wide, the organisation name's characters 6.3 mm tall, about 1 mm inside the ring, the
//! star 14 mm across, the seal's name 4.3 mm tall and the code 2.1 mm; every size scales
//! with the seal. Characters on an arc are evenly spaced by arc length and narrowed (never
//! shortened) when many share the arc, as engravers do.

use std::f32::consts::PI;
use std::fmt::Write as _;

use super::{SEAL_RED, SealShape, SealSpec};

/// The font the characters are set in, as the SVG names it.
pub(crate) struct FontStyle<'a> {
    pub family: &'a str,
    pub weight: u16,
}

/// Room left between the outer edge of the border and the edge of the canvas, so that
/// anti-aliasing is never cut off.
const EDGE: f32 = 0.05;

/// Height of the ink of a CJK ideograph as a fraction of the font size (the ideographic
/// em box of Noto/Source Han fonts, less the side bearings).
const CJK_INK: f32 = 0.92;
/// Height of a digit or capital as a fraction of the font size.
const LATIN_INK: f32 = 0.72;

/// The SVG source of the seal, in millimetres, with text as `<text>` elements.
pub(crate) fn svg_source(spec: &SealSpec, font: &FontStyle<'_>) -> String {
    let (width, height) = spec.shape.size_mm();
    let mut svg = Svg::new(width, height, font);
    match spec.shape {
        SealShape::Round { diameter_mm } => round(&mut svg, spec, diameter_mm),
        SealShape::Oval {
            width_mm,
            height_mm,
        } => oval(&mut svg, spec, width_mm, height_mm),
        SealShape::Square { side_mm } => square(&mut svg, spec, side_mm),
    }
    svg.finish()
}

fn round(svg: &mut Svg, spec: &SealSpec, diameter: f32) {
    let k = diameter / 40.0;
    let c = diameter / 2.0;
    let stroke = (1.2 * k).max(0.6);
    let ring = c - EDGE - stroke / 2.0;
    svg.ellipse(c, c, ring, ring, stroke);
    let inner = ring - stroke / 2.0;

    // The organisation name along the upper arc, each character's foot towards the
    // centre.
    let name: Vec<char> = spec.org_name.chars().collect();
    let size = 6.8 * k;
    let centre = inner - 0.95 * k - CJK_INK * size / 2.0;
    upper_arc(svg, &name, c, c, centre, centre, size, span_for(name.len()));

    // The star, a little above the centre when a name sits below it.
    let has_name = !spec.seal_name.is_empty();
    if spec.star {
        let star_y = if has_name { c - 0.4 * k } else { c };
        svg.star(c, star_y, 7.0 * k);
    }

    // The seal's name in a straight line below the star.
    if has_name {
        let name: Vec<char> = spec.seal_name.chars().collect();
        let size = 4.7 * k;
        // Below the centre even without a star: long names come down both sides to
        // below the height of the centre, so the line stays narrower than the gap
        // between their ends.
        let y = c + 9.9 * k;
        straight_line(svg, &name, c, y, size, 1.04 * size, 22.0 * k);
    }

    // The filing code along the lower arc, small, reading left to right.
    let code: Vec<char> = spec.code.chars().collect();
    if !code.is_empty() {
        let size = 2.9 * k;
        let centre = inner - 0.55 * k - LATIN_INK * size / 2.0;
        let pitch = 1.55 * k;
        let span = (code.len() as f32 * pitch / centre).min(PI * 0.6);
        lower_arc(svg, &code, c, c, centre, centre, size, span);
    }
}

fn oval(svg: &mut Svg, spec: &SealSpec, width: f32, height: f32) {
    // Scale by the height: a 40 × 30 mm oval is the invoice seal of the regulations.
    let k = height / 30.0;
    let (cx, cy) = (width / 2.0, height / 2.0);
    let stroke = (1.0 * k).max(0.6);
    let (rx, ry) = (cx - EDGE - stroke / 2.0, cy - EDGE - stroke / 2.0);
    svg.ellipse(cx, cy, rx, ry, stroke);
    let (ix, iy) = (rx - stroke / 2.0, ry - stroke / 2.0);

    let name: Vec<char> = spec.org_name.chars().collect();
    let size = 4.6 * k;
    let inset = 0.6 * k + CJK_INK * size / 2.0;
    upper_arc(
        svg,
        &name,
        cx,
        cy,
        ix - inset,
        iy - inset,
        size,
        span_for(name.len()).min(190.0_f32.to_radians()),
    );

    let has_code = !spec.code.is_empty();
    let has_name = !spec.seal_name.is_empty();
    if spec.star {
        let (y, radius) = if has_code || has_name {
            (cy - 0.2 * height, 0.1 * height)
        } else {
            (cy, 0.2 * height)
        };
        svg.star(cx, y, radius);
    }
    if has_code {
        let code: Vec<char> = spec.code.chars().collect();
        let size = 3.7 * k;
        let y = if spec.star {
            cy + 0.4 * k
        } else {
            cy - 0.6 * k
        };
        // Narrow figures as on invoice seals: 3.7 mm tall, 1.3 mm wide; the line stays
        // clear of the ends of the name.
        straight_line(svg, &code, cx, y, size, 1.25 * k, 0.6 * width);
    }
    if has_name {
        let name: Vec<char> = spec.seal_name.chars().collect();
        let size = 4.6 * k;
        let y = cy + 0.28 * height;
        // Keep the line inside the ellipse at the height of its lower edge.
        let low = ((y + CJK_INK * size / 2.0 - cy) / iy).min(0.99);
        let chord = 2.0 * ix * (1.0 - low * low).sqrt() - 2.0 * k;
        straight_line(svg, &name, cx, y, size, 1.04 * size, chord.min(0.6 * width));
    }
}

fn square(svg: &mut Svg, spec: &SealSpec, side: f32) {
    let stroke = (0.045 * side).max(0.6);
    let half = side / 2.0 - EDGE - stroke / 2.0;
    svg.rect(side / 2.0 - half, side / 2.0 - half, 2.0 * half, stroke);
    let pad = 0.045 * side;
    let inner = 2.0 * half - stroke - 2.0 * pad;
    let left = side / 2.0 - inner / 2.0;

    // Columns read from right to left, each top to bottom; the first columns take the
    // fewer characters, so a three-character name has the surname alone on the right.
    let chars: Vec<char> = spec.seal_name.chars().collect();
    let rows = match chars.len() {
        0..=2 => 1,
        3..=6 => 2,
        _ => 3,
    };
    let columns = chars.len().div_ceil(rows);
    let short = columns * rows - chars.len();
    let cell_w = inner / columns as f32;
    let mut next = chars.iter();
    for column in 0..columns {
        let in_column = if column < short { rows - 1 } else { rows };
        let cell_h = inner / in_column as f32;
        let x = left + inner - (column as f32 + 0.5) * cell_w;
        for row in 0..in_column {
            let Some(&ch) = next.next() else { break };
            let y = left + (row as f32 + 0.5) * cell_h;
            let size = cell_w * 0.97;
            let stretch = (cell_h / cell_w).clamp(0.5, 3.0);
            svg.glyph(ch, x, y, 0.0, 1.0, stretch, size);
        }
    }
}

/// The angle (radians) the organisation name spreads over: it grows with the number of
/// characters, about 210–240° for 10–20 of them, less for short names, whose characters
/// then stand side by side at about their natural width.
fn span_for(count: usize) -> f32 {
    let n = count as f32;
    let degrees = match count {
        0 | 1 => 0.0,
        2..=4 => 30.0 * n,
        5..=20 => (90.0 + 12.0 * n).min(240.0),
        _ => (240.0 + 1.5 * (n - 20.0)).min(270.0),
    };
    degrees.to_radians()
}

/// Characters along the upper arc of an ellipse (a circle when `a == b`) through their
/// centres, evenly spaced by arc length, each rotated so that its top points outwards.
#[allow(clippy::too_many_arguments)]
fn upper_arc(
    svg: &mut Svg,
    chars: &[char],
    cx: f32,
    cy: f32,
    a: f32,
    b: f32,
    size: f32,
    span: f32,
) {
    let (places, pitch) = along_ellipse(a, b, span, chars.len());
    let squeeze = (0.86 * pitch / (CJK_INK * size)).min(1.0);
    for (&ch, theta) in chars.iter().zip(places) {
        let (x, y) = (cx + a * theta.sin(), cy - b * theta.cos());
        let turn = (theta.sin() / a).atan2(theta.cos() / b);
        svg.glyph(ch, x, y, turn.to_degrees(), squeeze, 1.0, size);
    }
}

/// Characters along the lower arc, reading left to right, each with its top towards the
/// centre.
#[allow(clippy::too_many_arguments)]
fn lower_arc(
    svg: &mut Svg,
    chars: &[char],
    cx: f32,
    cy: f32,
    a: f32,
    b: f32,
    size: f32,
    span: f32,
) {
    let (places, pitch) = along_ellipse(a, b, span, chars.len());
    for (&ch, theta) in chars.iter().zip(places) {
        let (x, y) = (cx + a * theta.sin(), cy + b * theta.cos());
        let turn = (-theta.sin() / a).atan2(theta.cos() / b);
        let squeeze = (0.88 * pitch / nominal_width(ch, size)).min(1.0);
        svg.glyph(ch, x, y, turn.to_degrees(), squeeze, 1.0, size);
    }
}

/// Splits the arc of the ellipse `(a sin θ, b cos θ)` for θ in `[-span/2, span/2]` into
/// `count` equal lengths and returns the parameter θ at the middle of each, with the
/// length of one part.
fn along_ellipse(a: f32, b: f32, span: f32, count: usize) -> (Vec<f32>, f32) {
    const STEPS: usize = 720;
    if count == 0 {
        return (Vec::new(), 0.0);
    }
    let start = -span / 2.0;
    let step = span / STEPS as f32;
    let mut lengths = Vec::with_capacity(STEPS + 1);
    let mut total = 0.0_f32;
    lengths.push(0.0);
    for i in 0..STEPS {
        let t = start + (i as f32 + 0.5) * step;
        total += step * (a * a * t.cos() * t.cos() + b * b * t.sin() * t.sin()).sqrt();
        lengths.push(total);
    }
    let pitch = if count > 1 {
        total / count as f32
    } else {
        // A single character: as wide as the ellipse is round there.
        a.min(b)
    };
    let mut places = Vec::with_capacity(count);
    let mut i = 0;
    for n in 0..count {
        let target = total * (n as f32 + 0.5) / count as f32;
        while i + 1 < STEPS && lengths[i + 1] < target {
            i += 1;
        }
        let (l0, l1) = (lengths[i], lengths[i + 1]);
        let frac = if l1 > l0 {
            (target - l0) / (l1 - l0)
        } else {
            0.0
        };
        places.push(start + (i as f32 + frac) * step);
    }
    (places, pitch)
}

/// Characters in a straight, horizontal line centred on `(cx, cy)`, `advance` apart,
/// squeezed horizontally when the line would be wider than `max_width`.
fn straight_line(
    svg: &mut Svg,
    chars: &[char],
    cx: f32,
    cy: f32,
    size: f32,
    advance: f32,
    max_width: f32,
) {
    let n = chars.len() as f32;
    let advance = advance.min(max_width / n);
    for (i, &ch) in chars.iter().enumerate() {
        let x = cx + (i as f32 - (n - 1.0) / 2.0) * advance;
        let squeeze = (0.94 * advance / nominal_width(ch, size)).min(1.0);
        svg.glyph(ch, x, cy, 0.0, squeeze, 1.0, size);
    }
}

/// The width a character takes at `size` before any squeezing.
fn nominal_width(ch: char, size: f32) -> f32 {
    let em = match ch {
        '0'..='9' => 0.5,
        'M' | 'W' => 0.85,
        'A'..='Z' => 0.66,
        _ if ch.is_ascii() => 0.5,
        _ => CJK_INK,
    };
    em * size
}

/// SVG source under construction.
struct Svg {
    out: String,
}

impl Svg {
    fn new(width: f32, height: f32, font: &FontStyle<'_>) -> Svg {
        let mut out = String::with_capacity(4096);
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
        );
        let _ = write!(
            out,
            r#"<g fill="{SEAL_RED}" stroke="none" font-family="'{}'" font-weight="{}" text-anchor="middle">"#,
            escape(font.family),
            font.weight
        );
        Svg { out }
    }

    fn finish(mut self) -> String {
        self.out.push_str("</g></svg>");
        self.out
    }

    fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, stroke: f32) {
        let _ = write!(
            self.out,
            r#"<ellipse cx="{cx:.4}" cy="{cy:.4}" rx="{rx:.4}" ry="{ry:.4}" fill="none" stroke="{SEAL_RED}" stroke-width="{stroke:.4}"/>"#
        );
    }

    fn rect(&mut self, x: f32, y: f32, side: f32, stroke: f32) {
        let _ = write!(
            self.out,
            r#"<rect x="{x:.4}" y="{y:.4}" width="{side:.4}" height="{side:.4}" fill="none" stroke="{SEAL_RED}" stroke-width="{stroke:.4}" stroke-linejoin="miter"/>"#
        );
    }

    /// A solid five-pointed star with one point up; `radius` is the outer radius.
    fn star(&mut self, cx: f32, cy: f32, radius: f32) {
        let inner = radius * (18.0_f32.to_radians().sin() / 54.0_f32.to_radians().sin());
        self.out.push_str(r#"<path d=""#);
        for i in 0..10 {
            let r = if i % 2 == 0 { radius } else { inner };
            let angle = (i as f32) * PI / 5.0;
            let (x, y) = (cx + r * angle.sin(), cy - r * angle.cos());
            let _ = write!(self.out, "{}{x:.4} {y:.4}", if i == 0 { 'M' } else { 'L' });
        }
        self.out.push_str(r#"Z"/>"#);
    }

    /// One character whose ink is centred on `(x, y)`, turned `rotate` degrees clockwise
    /// and scaled `sx` × `sy` about that centre.
    #[allow(clippy::too_many_arguments)]
    fn glyph(&mut self, ch: char, x: f32, y: f32, rotate: f32, sx: f32, sy: f32, size: f32) {
        // The baseline sits below the centre of the ink: by half the height of a digit
        // or capital, or for CJK ideographs by 0.38 em (their em box runs from 0.12 em
        // below the baseline to 0.88 em above it).
        let baseline = if ch.is_ascii() {
            LATIN_INK * size / 2.0
        } else {
            0.38 * size
        };
        let mut buf = [0; 4];
        let _ = write!(
            self.out,
            r#"<text x="0" y="{baseline:.4}" font-size="{size:.4}" transform="translate({x:.4} {y:.4}) rotate({rotate:.4}) scale({sx:.4} {sy:.4})">{}</text>"#,
            escape(ch.encode_utf8(&mut buf))
        );
    }
}

/// `text` with the five XML special characters escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_the_xml_specials() {
        assert_eq!(escape(r#"A&B<C>"D'"#), "A&amp;B&lt;C&gt;&quot;D&apos;");
        assert_eq!(escape("合同专用章"), "合同专用章");
    }

    #[test]
    fn spans_grow_with_the_name_and_stay_credible() {
        assert!(span_for(4).to_degrees() < 150.0);
        assert!(span_for(2) < span_for(3) && span_for(4) < span_for(5));
        for n in 10..=20 {
            let degrees = span_for(n).to_degrees();
            assert!((205.0..=241.0).contains(&degrees), "{n}: {degrees}");
        }
        assert!(span_for(40).to_degrees() <= 270.0);
    }

    #[test]
    fn places_on_a_circle_are_evenly_spaced_and_symmetric() {
        let (places, pitch) = along_ellipse(10.0, 10.0, PI, 5);
        assert_eq!(places.len(), 5);
        assert!((pitch - 10.0 * PI / 5.0).abs() < 1e-3, "{pitch}");
        assert!(places[2].abs() < 1e-3);
        assert!((places[0] + places[4]).abs() < 1e-3);
        for pair in places.windows(2) {
            assert!((pair[1] - pair[0] - PI / 5.0).abs() < 1e-3);
        }
    }

    #[test]
    fn places_on_an_ellipse_are_evenly_spaced_by_arc_length() {
        let (a, b) = (20.0_f32, 12.0_f32);
        let (places, pitch) = along_ellipse(a, b, 200.0_f32.to_radians(), 9);
        let point = |t: f32| (a * t.sin(), b * t.cos());
        let chords: Vec<f32> = places
            .windows(2)
            .map(|pair| {
                let ((x0, y0), (x1, y1)) = (point(pair[0]), point(pair[1]));
                (x1 - x0).hypot(y1 - y0)
            })
            .collect();
        for chord in &chords {
            assert!(
                (chord - pitch).abs() < 0.03 * pitch,
                "{chords:?} vs {pitch}"
            );
        }
    }
}
