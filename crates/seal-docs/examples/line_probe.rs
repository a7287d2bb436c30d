//! Calibration aid for the line check ([`seal_docs::compare::lines`]): over a corpus made
//! by `seal-corpus generate`, prints for each pair the worst window correlation of the
//! lines a tamper changed and of the lines it left alone, the stray ink found, and
//! whether the check allows reading line by line; then the distributions.
//!
//! ```text
//! cargo run --release -p seal-docs --example line_probe -- CORPUS_DIR [--limit N]
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use seal_docs::capture;
use seal_docs::compare::{ApprovedDocument, Engine, EngineOptions, lines};
use seal_docs::ocr::{OcrEngine, OcrOptions};
use serde_json::Value;

fn main() {
    if let Err(message) = run() {
        eprintln!("line_probe: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut it = std::env::args().skip(1);
    let dir = PathBuf::from(it.next().ok_or("give the corpus folder")?);
    let mut limit = usize::MAX;
    while let Some(a) = it.next() {
        if a == "--limit" {
            limit = it
                .next()
                .ok_or("--limit needs a value")?
                .parse()
                .map_err(|e| format!("--limit: {e}"))?;
        }
    }
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(dir.join("manifest.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let pairs = manifest["pairs"].as_array().ok_or("no pairs")?;
    let reader = OcrEngine::load(&OcrOptions {
        instances: 1,
        threads_per_instance: 2,
        ..OcrOptions::default()
    })
    .map_err(|e| e.to_string())?;
    let engine = Engine::new(Arc::new(reader), EngineOptions::default());
    let mut approved: HashMap<String, ApprovedDocument> = HashMap::new();
    let (mut changed_worst, mut kept_worst) = (Vec::new(), Vec::new());
    for pair in pairs.iter().take(limit) {
        let id = pair["id"].as_str().unwrap_or("?");
        let document = pair["document"].as_str().unwrap_or("?").to_owned();
        if !approved.contains_key(&document) {
            let mut pages = Vec::new();
            for f in pair["approved_files"].as_array().ok_or("no files")? {
                let bytes =
                    std::fs::read(dir.join(f.as_str().unwrap_or(""))).map_err(|e| e.to_string())?;
                pages.extend(engine.approve(&bytes).map_err(|e| e.to_string())?.pages);
            }
            approved.insert(document.clone(), ApprovedDocument { pages });
        }
        let page_index = pair["page"].as_u64().unwrap_or(0) as usize;
        let Some(page) = approved[&document].pages.get(page_index) else {
            continue;
        };
        let bytes = std::fs::read(dir.join(pair["capture"].as_str().unwrap_or("")))
            .map_err(|e| e.to_string())?;
        let rgb = image::load_from_memory(&bytes)
            .map_err(|e| e.to_string())?
            .into_rgb8();
        let prepared =
            capture::prepare(&rgb, &engine.options().capture).map_err(|e| e.to_string())?;
        let gray = image::imageops::grayscale(&prepared.page);
        let t = std::time::Instant::now();
        let check = lines::check(&page.image, &page.text.lines, &gray, &prepared.red_map);
        let took = t.elapsed();
        let boxes: Vec<[f64; 4]> = pair["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let b = c["approved_box"].as_array()?;
                Some([
                    b[0].as_f64()?,
                    b[1].as_f64()?,
                    b[2].as_f64()?,
                    b[3].as_f64()?,
                ])
            })
            .collect();
        let scale =
            page.image.width() as f64 / manifest["page_size_px"][0].as_f64().unwrap_or(1654.0);
        let mut changed = Vec::new();
        let mut kept = Vec::new();
        for (line, fit) in page.text.lines.iter().zip(&check.lines) {
            let b = line.bounds();
            let hit = boxes.iter().any(|c| {
                let (x0, y0, x1, y1) = (c[0] * scale, c[1] * scale, c[2] * scale, c[3] * scale);
                f64::from(b.x) < x1
                    && f64::from(b.right()) > x0
                    && f64::from(b.y) < y1
                    && f64::from(b.bottom()) > y0
            });
            if hit {
                changed.push(fit.worst);
            } else {
                kept.push(fit.worst);
            }
        }
        let kind = pair["kind"].as_str().unwrap_or("?");
        let min_kept = kept.iter().copied().fold(1.0f32, f32::min);
        println!(
            "{id} {kind}: usable {} differing {}/{} stray {} | changed {:?} | kept min {:.2} below {:.0}% | {:.0?}",
            check.usable(),
            check.differing().len(),
            check.lines.len(),
            check.stray.len(),
            changed
                .iter()
                .map(|v| (v * 100.0).round() / 100.0)
                .collect::<Vec<_>>(),
            min_kept,
            100.0 * kept.iter().filter(|&&v| v < lines::SAME_LINE).count() as f32
                / kept.len().max(1) as f32,
            took
        );
        if kind == "genuine" {
            kept_worst.extend(kept);
        } else {
            kept_worst.extend(kept);
            changed_worst.extend(changed);
        }
    }
    let show = |name: &str, v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        let q = |p: f64| {
            v.get(((v.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or(0.0)
        };
        println!(
            "{name}: {} lines; p0 {:.2} p1 {:.2} p5 {:.2} p25 {:.2} p50 {:.2} p75 {:.2} p95 {:.2} p99 {:.2} max {:.2}",
            v.len(),
            q(0.0),
            q(0.01),
            q(0.05),
            q(0.25),
            q(0.5),
            q(0.75),
            q(0.95),
            q(0.99),
            q(1.0)
        );
    };
    show("changed lines", &mut changed_worst);
    show("unchanged lines", &mut kept_worst);
    Ok(())
}
