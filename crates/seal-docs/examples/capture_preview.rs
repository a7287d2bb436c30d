//! Prepares captures and shows what was found and how long it took:
//! `cargo run --release -p seal-docs --example capture_preview -- PHOTO [OUT_DIR]`
//! prepares one photo or scan and writes `OUT_DIR/<name>.page.png`; without a photo it
//! generates the test suite's scenes — a 4000×3000 phone photo of an A4 page with a red
//! seal (tilted camera, uneven light, shadow, blur, noise, JPEG), and a 1654×2339 flat
//! scan — writes them and their prepared pages to `OUT_DIR` (default
//! `/tmp/capture`), and times `prepare` over a few runs.

// Shared with the tests, which use parts this example does not (and may panic on bad
// generated input, as tests do).
#[allow(dead_code, clippy::expect_used)]
#[path = "../tests/suite/capture/scenes.rs"]
mod scenes;

use std::path::{Path, PathBuf};
use std::time::Duration;

use image::RgbImage;
use seal_docs::capture::{CaptureOptions, Prepared, prepare, prepare_flat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [photo] => one(Path::new(photo), Path::new("/tmp/capture")),
        [photo, out] => one(Path::new(photo), Path::new(out)),
        [] => generated(Path::new("/tmp/capture")),
        _ => Err("usage: capture_preview [PHOTO [OUT_DIR]]".into()),
    }
}

fn one(photo: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let image = image::open(photo)?.to_rgb8();
    let prepared = prepare(&image, &CaptureOptions::default())?;
    report(&photo.display().to_string(), &image, &prepared);
    let name = photo
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("capture");
    let path = out.join(format!("{name}.page.png"));
    prepared.page.save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn generated(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let mut page = scenes::text_page(1654, 40, 7);
    scenes::press_seal(&mut page, 1150.0, 1900.0, 315.0, scenes::SEAL_RED);
    let shot = scenes::Shot {
        turn_deg: 6.0,
        tilt_deg: (18.0, -9.0),
        fill: 0.85,
        desk: scenes::Desk::DarkWood,
        falloff: 0.35,
        shadow: 0.3,
        blur_sigma: 1.2,
        noise: 4.0,
        jpeg_quality: Some(88),
        ..scenes::Shot::new((4000, 3000))
    };
    let (photo, truth) = scenes::photograph(&page, &shot);
    let scan = scenes::crooked_scan(&page, 3.0, 9);
    type Case<'a> = (&'a str, &'a RgbImage, Option<[(f64, f64); 4]>);
    let cases: [Case; 2] = [
        ("photo_4000x3000", &photo, Some(truth)),
        ("scan_1654x2339", &scan, None),
    ];
    for (name, image, truth) in cases {
        image.save(out.join(format!("{name}.png")))?;
        let options = CaptureOptions::default();
        let mut runs: Vec<Duration> = Vec::new();
        let mut last = None;
        let cpu_before = thread_cpu_time();
        for _ in 0..RUNS {
            let prepared = prepare(image, &options)?;
            runs.push(prepared.timings.total);
            last = Some(prepared);
        }
        let cpu = thread_cpu_time()
            .zip(cpu_before)
            .map(|(a, b)| a.saturating_sub(b) / RUNS);
        let Some(prepared) = last else { continue };
        report(name, image, &prepared);
        runs.sort();
        println!(
            "  prepare over {} runs: min {:.1} ms, median {:.1} ms",
            runs.len(),
            ms(runs[0]),
            ms(runs[runs.len() / 2])
        );
        if let Some(cpu) = cpu {
            println!(
                "  CPU time of this thread per prepare: {:.0} ms (wall times above include waiting for a busy CPU)",
                ms(cpu)
            );
        }
        if let (Some(truth), Some(found)) = (truth, prepared.corners) {
            let diag = f64::from(image.width()).hypot(f64::from(image.height()));
            let worst = truth
                .iter()
                .zip(&found)
                .map(|(t, f)| (t.0 - f64::from(f.x)).hypot(t.1 - f64::from(f.y)))
                .fold(0.0, f64::max);
            println!(
                "  corners: worst {worst:.1} px off ({:.2} % of the diagonal)",
                100.0 * worst / diag
            );
        }
        let path: PathBuf = out.join(format!("{name}.page.png"));
        prepared.page.save(&path)?;
        println!("  wrote {}", path.display());
    }
    let flat = prepare_flat(&page, &CaptureOptions::default());
    println!(
        "approved page (prepare_flat): {:.1} ms, ink {:.4}",
        ms(flat.timings.total),
        flat.ink_ratio
    );
    Ok(())
}

fn report(name: &str, image: &RgbImage, p: &Prepared) {
    println!(
        "{name}: {}×{} → page {}×{}",
        image.width(),
        image.height(),
        p.page.width(),
        p.page.height()
    );
    match &p.corners {
        Some(c) => println!(
            "  page found at ({:.0},{:.0}) ({:.0},{:.0}) ({:.0},{:.0}) ({:.0},{:.0})",
            c[0].x, c[0].y, c[1].x, c[1].y, c[2].x, c[2].y, c[3].x, c[3].y
        ),
        None => println!("  no page edges: the whole frame is the page"),
    }
    println!(
        "  deskew {:+.2}°, ink {:.4}, red removed {:.4}",
        p.rotation_deg, p.ink_ratio, p.red_ratio
    );
    let t = &p.timings;
    println!(
        "  locate {:.1} ms, deskew {:.1} ms, render {:.1} ms, total {:.1} ms",
        ms(t.locate),
        ms(t.deskew),
        ms(t.render),
        ms(t.total)
    );
}

/// How many times each generated capture is prepared.
const RUNS: u32 = 10;

/// CPU time used by this thread so far, from `/proc/thread-self/stat` (Linux; in clock
/// ticks of 10 ms, enough over [`RUNS`] runs).
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
