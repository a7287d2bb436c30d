//! Benchmark of the seal model and of document inspection, run by
//! `cargo xtask bench seal-image` (or `cargo run --release -p seal-docs --example
//! bench_seal_image`). Prints the median and p95 of each step with its ratio to a
//! baseline measured in the same run: the same pipeline drawing only the ring and the
//! star (no text), and a plain tiny-skia fill of the same canvas, both encoded as the
//! seal is; for document inspection, hashing the same bytes.

use std::hint::black_box;
use std::io::Cursor;
use std::time::{Duration, Instant};

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use resvg::{tiny_skia, usvg};
use seal_docs::{Limits, SealRenderer, SealShape, SealSpec, inspect};
use sha2::Digest;

const ROUNDS: usize = 40;
const WARM_UP: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let renderer = SealRenderer::from_system_fonts()?;
    let scan = started.elapsed();
    println!(
        "seal-image benchmark: 40 mm round contract seal, {} (weight {}) from {}",
        renderer.font_family(),
        renderer.font_weight(),
        renderer
            .font_file()
            .map_or("memory".into(), |p| p.display().to_string())
    );
    println!(
        "  font scan and choice (once per process): {:.1} ms",
        ms(scan)
    );
    println!("  {ROUNDS} rounds each after {WARM_UP} warm-up rounds; median / p95");
    println!();

    let spec = SealSpec {
        org_name: "上海浦东新区海纳百川信息科技股份有限公司".into(),
        seal_name: "合同专用章".into(),
        code: "3101150012345".into(),
        shape: SealShape::Round { diameter_mm: 40.0 },
        star: true,
    };

    let svg = time(|| renderer.svg(&spec).map(|s| s.len()))?;
    report("SVG (text as outlines)", &svg, None);
    for dpi in [150, 300, 600] {
        let seal = time(|| renderer.png(&spec, dpi).map(|p| p.len()))?;
        let no_text = time(|| ring_and_star_png(dpi))?;
        let fill = time(|| fill_png(dpi))?;
        println!("  PNG at {dpi} dpi ({0} × {0} px)", pixels(dpi));
        report("    seal", &seal, None);
        report(
            "    baseline: ring and star only",
            &no_text,
            Some(("seal", &seal)),
        );
        report(
            "    baseline: tiny-skia fill + PNG",
            &fill,
            Some(("seal", &seal)),
        );
    }
    let bitmap = time(|| renderer.bitmap(&spec, 600).map(|b| b.rgba.len()))?;
    report("RGBA bitmap at 600 dpi (no PNG)", &bitmap, None);
    let target = Duration::from_millis(50);
    let at_600 = percentile(&time(|| renderer.png(&spec, 600).map(|p| p.len()))?, 50);
    println!(
        "  PNG at 600 dpi: median {:.1} ms, target <= {:.0} ms: {}",
        ms(at_600),
        ms(target),
        if at_600 <= target { "met" } else { "MISSED" }
    );

    println!();
    println!("document inspection (thumbnail included)");
    for (what, bytes) in [
        ("1-page PDF", pdf(1, 0)),
        ("20-page PDF, about 1 MB", pdf(20, 1_700_000)),
        ("4000 × 3000 JPEG photo", jpeg(4000, 3000)?),
    ] {
        let limits = Limits::default();
        let inspect_times = time(|| inspect(&bytes, &limits).map(|i| i.thumbnail_png.len()))?;
        let hash = time(|| Ok::<_, std::io::Error>(sha2::Sha256::digest(&bytes)[0]))?;
        println!("  {what} ({} KB)", bytes.len() / 1000);
        report("    inspect", &inspect_times, None);
        report(
            "    baseline: SHA-256 of the bytes",
            &hash,
            Some(("inspect", &inspect_times)),
        );
    }
    println!();
    println!("  reproduce: cargo xtask bench seal-image");
    Ok(())
}

fn pixels(dpi: u32) -> u32 {
    (40.0 / 25.4 * dpi as f32).round() as u32
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `f` [`WARM_UP`] + [`ROUNDS`] times and returns the sorted durations of the
/// measured rounds.
fn time<T, E>(mut f: impl FnMut() -> Result<T, E>) -> Result<Vec<Duration>, E> {
    for _ in 0..WARM_UP {
        black_box(f()?);
    }
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        black_box(f()?);
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let index = (sorted.len() * p / 100).min(sorted.len().saturating_sub(1));
    sorted.get(index).copied().unwrap_or_default()
}

/// Prints the median and p95 of `times`; with `relative`, also the ratio of the median
/// of the measured step (named) to this baseline's median.
fn report(what: &str, times: &[Duration], relative: Option<(&str, &[Duration])>) {
    let median = percentile(times, 50);
    let p95 = percentile(times, 95);
    let ratio = match relative {
        Some((step, other)) => format!(
            "   {step} ÷ baseline {:.1}×",
            ms(percentile(other, 50)) / ms(median)
        ),
        None => String::new(),
    };
    println!(
        "  {what:<40} {:>8.2} ms {:>8.2} ms{ratio}",
        ms(median),
        ms(p95)
    );
}

/// The same 40 mm canvas through the same pipeline (usvg parse, resvg render, PNG)
/// with only the ring and a star: what the text costs shows in the ratio.
fn ring_and_star_png(dpi: u32) -> Result<usize, Box<dyn std::error::Error>> {
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40"><g fill="#d7000f"><circle cx="20" cy="20" r="19.35" fill="none" stroke="#d7000f" stroke-width="1.2"/><path d="M20 12.6L21.65 17.73 27.04 17.71 22.67 20.87 24.35 26 20 22.81 15.65 26 17.33 20.87 12.96 17.71 18.35 17.73Z"/></g></svg>"##;
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default())?;
    let side = pixels(dpi);
    let mut pixmap = tiny_skia::Pixmap::new(side, side).ok_or("pixmap")?;
    let scale = side as f32 / 40.0;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    encode_png(&pixmap, dpi)
}

/// A plain fill of the canvas, encoded as PNG.
fn fill_png(dpi: u32) -> Result<usize, Box<dyn std::error::Error>> {
    let side = pixels(dpi);
    let mut pixmap = tiny_skia::Pixmap::new(side, side).ok_or("pixmap")?;
    pixmap.fill(tiny_skia::Color::from_rgba8(0xd7, 0, 0x0f, 0xff));
    encode_png(&pixmap, dpi)
}

/// PNG encoding as `SealRenderer::png` does it (straight alpha, fast compression, pHYs),
/// so that the baselines differ from the seal only in what is drawn.
fn encode_png(pixmap: &tiny_skia::Pixmap, dpi: u32) -> Result<usize, Box<dyn std::error::Error>> {
    let mut rgba = Vec::with_capacity(pixmap.data().len());
    for pixel in pixmap.pixels() {
        let c = pixel.demultiply();
        rgba.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let per_metre = (f64::from(dpi) / 0.0254).round() as u32;
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: per_metre,
        yppu: per_metre,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgba)?;
    writer.finish()?;
    Ok(out.len())
}

/// A PDF of `pages` A4 pages with a line of text and `padding` bytes of line drawing.
fn pdf(pages: usize, padding: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for page in 0..pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 24.into()]),
            Operation::new("Td", vec![72.into(), 750.into()]),
            Operation::new(
                "Tj",
                vec![Object::string_literal(format!("Page {}", page + 1))],
            ),
            Operation::new("ET", vec![]),
        ];
        let mut line = 0;
        while operations.len() * 12 < padding / pages {
            let y = 100 + (line % 400);
            operations.extend([
                Operation::new("m", vec![72.into(), y.into()]),
                Operation::new("l", vec![500.into(), (y + 1).into()]),
                Operation::new("S", vec![]),
            ]);
            line += 1;
        }
        let content = Content { operations }.encode().unwrap_or_default();
        let stream = doc.add_object(Stream::new(dictionary! {}, content));
        kids.push(
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => stream,
            })
            .into(),
        );
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    let _ = doc.save_to(&mut out);
    out
}

fn jpeg(width: u32, height: u32) -> Result<Vec<u8>, image::ImageError> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x / 16 % 256) as u8,
            (y / 12 % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image).write_to(&mut out, image::ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}
