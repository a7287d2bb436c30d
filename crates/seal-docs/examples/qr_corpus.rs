//! Measures QR decoding on the generated photo corpus of the tests: for each category
//! of degradation, the share of photos decoded to exactly the right text and the mean
//! and 99th-percentile time per photo (JPEG decoding included), for
//! - `pipeline`: `seal_docs::qr_decode::decode_image`, rxing with the preprocessing
//!   passes (what the verifier uses);
//! - `rxing`: one pass of rxing on the photo as it is;
//! - `rqrr`: one pass of rqrr on the photo as it is;
//! - `rqrr+prep`: rqrr behind the same preprocessing passes as the pipeline.
//!
//! Run it optimised: `cargo run --release -p seal-docs --example qr_corpus`; pass a
//! folder to also write the photos there (`-- /tmp/corpus`).

// Shared with the tests, which use parts this example does not.
#[allow(dead_code)]
#[path = "../tests/suite/stamp_marks/corpus.rs"]
mod corpus;

use std::time::{Duration, Instant};

use image::GrayImage;
use seal_docs::qr_decode::{self, Pass, rxing_pass};
use seal_docs::{SealRenderer, StampMarker};

const FONT: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc";

type Decoder = fn(&[u8]) -> Vec<String>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = std::env::args().nth(1);
    let renderer = if std::path::Path::new(FONT).exists() {
        SealRenderer::with_font_file(FONT)?
    } else {
        SealRenderer::from_system_fonts()?
    };
    let marker = StampMarker::new(renderer)?;
    let started = Instant::now();
    let mut photos = corpus::photos(&marker)?;
    let required = photos.len();
    photos.extend(corpus::hard_photos(&marker)?);
    println!(
        "{} photos generated in {:.1} s ({required} that the tests require to decode, \
         {} harsher ones)",
        photos.len(),
        started.elapsed().as_secs_f64(),
        photos.len() - required
    );
    if let Some(dir) = &out_dir {
        std::fs::create_dir_all(dir)?;
        for (i, photo) in photos.iter().enumerate() {
            let ext = if photo.bytes.starts_with(b"\x89PNG") {
                "png"
            } else {
                "jpg"
            };
            let name = photo.name.replace([' ', '/'], "_");
            std::fs::write(format!("{dir}/{i:02}_{name}.{ext}"), &photo.bytes)?;
            if ext == "jpg" {
                // A PNG copy, for viewers that show PNG only.
                image::load_from_memory(&photo.bytes)?.save(format!("{dir}/{i:02}_{name}.png"))?;
            }
        }
    }

    let decoders: [(&str, Decoder); 4] = [
        ("pipeline", pipeline),
        ("rxing", rxing_once),
        ("rqrr", rqrr_once),
        ("rqrr+prep", rqrr_prepared),
    ];
    println!(
        "{:<16} {:<20} {:>8} {:>10} {:>10}",
        "category", "decoder", "decoded", "mean ms", "p99 ms"
    );
    let mut totals: Vec<(String, usize, Vec<Duration>)> = Vec::new();
    for category in corpus::categories() {
        let in_category: Vec<&corpus::Photo> =
            photos.iter().filter(|p| p.category == category).collect();
        for (name, decode) in decoders {
            let mut ok = 0;
            let mut times = Vec::new();
            for photo in &in_category {
                let start = Instant::now();
                let texts = decode(&photo.bytes);
                times.push(start.elapsed());
                if std::env::var_os("QR_CORPUS_VERBOSE").is_some() {
                    eprintln!("{name} {} {:?}", photo.name, start.elapsed());
                }
                if texts.first() == Some(&photo.text) && texts.len() == 1 {
                    ok += 1;
                } else if name == "pipeline" {
                    println!("  pipeline missed: {}", photo.name);
                }
            }
            print_row(category, name, ok, &mut times);
            let group = if category.starts_with("hard") {
                format!("{name} (harsh)")
            } else {
                format!("{name} (required)")
            };
            match totals.iter_mut().find(|(n, _, _)| *n == group) {
                Some((_, total_ok, total_times)) => {
                    *total_ok += ok;
                    total_times.extend(times);
                }
                None => totals.push((group, ok, times)),
            }
        }
    }
    totals.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, ok, mut times) in totals {
        print_row("ALL", &name, ok, &mut times);
    }

    // What each preprocessing pass contributes: photos it decodes on its own with
    // rxing, and photos it is the first to decode (the pipeline stops there).
    println!(
        "\n{:<16} {:>8} {:>8} {:>10}",
        "pass", "alone", "first", "mean ms"
    );
    let grays: Vec<(GrayImage, &str)> = photos
        .iter()
        .filter_map(|p| gray(&p.bytes).map(|g| (g, p.text.as_str())))
        .collect();
    let mut decoded_before = vec![false; grays.len()];
    let mut by_photo: Vec<Vec<&str>> = vec![Vec::new(); grays.len()];
    for pass in qr_decode::PASSES {
        let (mut alone, mut first) = (0, 0);
        let mut time = Duration::ZERO;
        for (i, (gray, text)) in grays.iter().enumerate() {
            let start = Instant::now();
            let texts = match pass.prepare(gray) {
                Some(prepared) => rxing_pass(&prepared),
                None if pass == Pass::Original => rxing_pass(gray),
                None => Vec::new(),
            };
            time += start.elapsed();
            if texts.first().map(String::as_str) == Some(*text) {
                alone += 1;
                by_photo[i].push(pass_name(pass));
                if !decoded_before[i] {
                    first += 1;
                    decoded_before[i] = true;
                }
            }
        }
        println!(
            "{:<16} {:>8} {:>8} {:>10.1}",
            format!("{pass:?}"),
            alone,
            first,
            time.as_secs_f64() * 1000.0 / grays.len().max(1) as f64
        );
    }
    println!("\nphotos the original picture does not decode, and the passes that do:");
    for (photo, passes) in photos.iter().zip(&by_photo) {
        if passes.first() != Some(&"Original") {
            println!("  {:<90} {}", photo.name, passes.join(" "));
        }
    }
    Ok(())
}

fn pass_name(pass: Pass) -> &'static str {
    match pass {
        Pass::Original => "Original",
        Pass::Half => "Half",
        Pass::Sharpened => "Sharpened",
    }
}

fn print_row(category: &str, decoder: &str, ok: usize, times: &mut [Duration]) {
    times.sort();
    let n = times.len().max(1);
    let mean = times.iter().map(Duration::as_secs_f64).sum::<f64>() / n as f64;
    let p99 = times
        .get(((n as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .map_or(0.0, Duration::as_secs_f64);
    println!(
        "{category:<16} {decoder:<20} {:>8} {:>10.1} {:>10.1}",
        format!("{ok}/{}", times.len()),
        mean * 1000.0,
        p99 * 1000.0
    );
}

fn gray(bytes: &[u8]) -> Option<GrayImage> {
    image::load_from_memory(bytes).ok().map(|i| i.into_luma8())
}

fn pipeline(bytes: &[u8]) -> Vec<String> {
    qr_decode::decode_image(bytes).unwrap_or_default()
}

fn rxing_once(bytes: &[u8]) -> Vec<String> {
    gray(bytes).map(|g| rxing_pass(&g)).unwrap_or_default()
}

fn rqrr_once(bytes: &[u8]) -> Vec<String> {
    gray(bytes).map(|g| rqrr_pass(&g)).unwrap_or_default()
}

/// rqrr behind the pipeline's passes.
fn rqrr_prepared(bytes: &[u8]) -> Vec<String> {
    let Some(gray) = gray(bytes) else {
        return Vec::new();
    };
    for pass in qr_decode::PASSES {
        let texts = match pass {
            Pass::Original => rqrr_pass(&gray),
            _ => match pass.prepare(&gray) {
                Some(prepared) => rqrr_pass(&prepared),
                None => continue,
            },
        };
        if !texts.is_empty() {
            return texts;
        }
    }
    Vec::new()
}

fn rqrr_pass(gray: &GrayImage) -> Vec<String> {
    let (w, h) = gray.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            gray.get_pixel(x as u32, y as u32).0[0]
        });
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}
