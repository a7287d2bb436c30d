//! The red seal impression pressed on a capture: a circle or an ellipse with a star, the
//! organisation's name along the top arc and a purpose line, in red or vermilion ink
//! that is partly transparent and mottled, multiplied over the text under it.

use serde::Serialize;

use crate::fonts::{FontKind, Fonts};
use crate::layout::LaidPage;
use crate::render::escape;
use crate::rng::Rng;

/// Where a seal was pressed and how it looks; positions in millimetres on the page.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Seal {
    pub shape: &'static str,
    /// Centre in the approved page's pixels (filled in by the caller) and in mm.
    pub center_px: [f32; 2],
    pub radius_px: [f32; 2],
    #[serde(skip)]
    pub center_mm: [f32; 2],
    #[serde(skip)]
    pub radius_mm: [f32; 2],
    pub rotation_deg: f32,
    pub color: &'static str,
    pub opacity: f32,
    pub text: String,
    pub purpose: String,
}

const INKS: &[&str] = &[
    "#d7261e", "#e0301e", "#c81e1e", "#b5171b", "#e34234", "#d2352a",
];
const PURPOSES: &[&str] = &["合同专用章", "财务专用章", "", "公章", "业务专用章"];

/// Chooses a seal for `page`: over a 盖章处 spot when there is one, else over the text.
pub fn choose(page: &LaidPage, org: &str, rng: &mut Rng) -> Seal {
    let (cx, cy) = if !page.spots.is_empty() && rng.chance(0.85) {
        let (x, y) = *rng.pick(&page.spots);
        (
            x + rng.range_f(-8.0, 8.0) as f32,
            y + rng.range_f(-6.0, 6.0) as f32,
        )
    } else if !page.lines.is_empty() {
        let line = rng.pick(&page.lines);
        let w: f32 = line.advances.iter().sum();
        (
            line.x + w * rng.unit() as f32,
            line.baseline + rng.range_f(-5.0, 5.0) as f32,
        )
    } else {
        (
            rng.range_f(50.0, 160.0) as f32,
            rng.range_f(60.0, 240.0) as f32,
        )
    };
    let ellipse = rng.chance(0.3);
    let (rx, ry) = if ellipse {
        (
            rng.range_f(20.0, 23.0) as f32,
            rng.range_f(14.0, 16.0) as f32,
        )
    } else {
        let r = rng.range_f(17.0, 21.0) as f32;
        (r, r)
    };
    Seal {
        shape: if ellipse { "ellipse" } else { "circle" },
        center_px: [0.0, 0.0],
        radius_px: [0.0, 0.0],
        center_mm: [
            cx.clamp(rx * 0.5, 210.0 - rx * 0.5),
            cy.clamp(ry * 0.5, 297.0 - ry * 0.5),
        ],
        radius_mm: [rx, ry],
        rotation_deg: r3(rng.range_f(-25.0, 25.0)),
        color: INKS[rng.index(INKS.len()) % INKS.len()],
        opacity: r3(rng.range_f(0.65, 0.92)),
        text: org.to_owned(),
        purpose: rng.pick_str(PURPOSES),
    }
}

fn r3(v: f64) -> f32 {
    ((v * 1000.0).round() / 1000.0) as f32
}

/// The seal as SVG elements in page millimetres; `seed` varies the ink's mottling.
pub fn svg(seal: &Seal, fonts: &Fonts, seed: u64) -> String {
    let [cx, cy] = seal.center_mm;
    let [rx, ry] = seal.radius_mm;
    let face = fonts.face(FontKind::Serif, true);
    let family = escape(&face.family);
    let color = seal.color;
    let ring = if seal.shape == "ellipse" { 1.0 } else { 1.2 };
    let n = seal.text.chars().count().max(1) as f32;
    // Text baseline on an arc inside the ring, glyphs standing outward.
    let mut size = (rx.min(ry) * 0.27).clamp(3.2, 6.0);
    let span = if seal.shape == "ellipse" {
        200f32
    } else {
        250f32
    }
    .to_radians();
    let arc_r = |size: f32| (rx.min(ry) - ring - 0.6 - 0.9 * size).max(2.0);
    let mut length = arc_r(size) * span;
    if n * size > length * 0.98 {
        size = (length * 0.98 / n).max(2.0);
        length = arc_r(size) * span;
    }
    let spacing = ((length - n * size) / n).max(0.0);
    let (tx, ty) = (rx - ring - 0.6 - 0.9 * size, ry - ring - 0.6 - 0.9 * size);
    let half = span / 2.0;
    let (sx, sy) = (-tx * half.sin(), -ty * half.cos());
    let (ex, ey) = (tx * half.sin(), -ty * half.cos());
    let star_r = ry.min(rx) * if seal.shape == "ellipse" { 0.22 } else { 0.32 };
    let star: Vec<String> = (0..10)
        .map(|i| {
            let r = if i % 2 == 0 { star_r } else { star_r * 0.38 };
            let a = std::f32::consts::PI * (i as f32) / 5.0 - std::f32::consts::FRAC_PI_2;
            format!("{:.3},{:.3}", r * a.cos(), r * a.sin() - ry * 0.04)
        })
        .collect();
    let id = format!("s{seed:x}");
    let freq = 0.5 + (seed % 7) as f32 * 0.08;
    let purpose = if seal.purpose.is_empty() {
        String::new()
    } else {
        let ps = (rx.min(ry) * 0.2).clamp(2.6, 4.2);
        format!(
            r#"<text x="0" y="{:.3}" text-anchor="middle" font-family="{family}" font-weight="{}" font-size="{ps:.3}" fill="{color}">{}</text>"#,
            ry * 0.58,
            face.weight,
            escape(&seal.purpose)
        )
    };
    let outline = if seal.shape == "ellipse" {
        format!(
            r#"<ellipse rx="{:.3}" ry="{:.3}" fill="none" stroke="{color}" stroke-width="{ring}"/><ellipse rx="{:.3}" ry="{:.3}" fill="none" stroke="{color}" stroke-width="0.3"/>"#,
            rx - ring / 2.0,
            ry - ring / 2.0,
            rx - ring - 0.8,
            ry - ring - 0.8
        )
    } else {
        format!(
            r#"<circle r="{:.3}" fill="none" stroke="{color}" stroke-width="{ring}"/>"#,
            rx - ring / 2.0
        )
    };
    format!(
        concat!(
            r#"<defs><filter id="ink{id}" x="-20%" y="-20%" width="140%" height="140%" color-interpolation-filters="sRGB">"#,
            r#"<feTurbulence type="fractalNoise" baseFrequency="{freq:.3}" numOctaves="2" seed="{seed}" result="n"/>"#,
            r#"<feColorMatrix in="n" type="matrix" values="0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 -2.4 2.0" result="m"/>"#,
            r#"<feComposite in="SourceGraphic" in2="m" operator="in"/></filter>"#,
            r#"<path id="arc{id}" d="M {sx:.3} {sy:.3} A {tx:.3} {ty:.3} 0 1 1 {ex:.3} {ey:.3}"/></defs>"#,
            r#"<g style="mix-blend-mode:multiply" opacity="{op:.3}" transform="translate({cx:.3} {cy:.3}) rotate({rot:.3})">"#,
            r#"<g filter="url(#ink{id})">{outline}<polygon points="{star}" fill="{color}"/>"#,
            r#"<text font-family="{family}" font-weight="{weight}" font-size="{size:.3}" fill="{color}" letter-spacing="{spacing:.3}">"#,
            r##"<textPath xlink:href="#arc{id}" startOffset="50%" text-anchor="middle">{text}</textPath></text>{purpose}</g></g>"##
        ),
        id = id,
        freq = freq,
        seed = seed % 100_000,
        sx = sx,
        sy = sy,
        tx = tx,
        ty = ty,
        ex = ex,
        ey = ey,
        op = seal.opacity,
        cx = cx,
        cy = cy,
        rot = seal.rotation_deg,
        outline = outline,
        star = star.join(" "),
        color = color,
        family = family,
        weight = face.weight,
        size = size,
        spacing = spacing,
        text = escape(&seal.text),
        purpose = purpose,
    )
}
