//! Compares one capture with one approved document and prints the decision, the
//! differences and the time spent; writes the side-by-side image when asked.
//!
//! ```text
//! cargo run --release -p seal-docs --example compare_pair -- APPROVED.pdf|png CAPTURE.jpg [DIFF.png]
//! ```

use std::sync::Arc;
use std::time::Instant;

use seal_docs::compare::{Engine, EngineOptions, Thresholds};
use seal_docs::ocr::{OcrEngine, OcrOptions};

fn main() {
    if let Err(message) = run() {
        eprintln!("compare_pair: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args.iter().any(|a| a == "-h" || a == "--help") {
        return Err("usage: compare_pair APPROVED CAPTURE [DIFF.png]".into());
    }
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
    let (approved, capture) = (read(&args[0])?, read(&args[1])?);
    let started = Instant::now();
    let reader = OcrEngine::load(&OcrOptions::default()).map_err(|e| e.to_string())?;
    println!("engine loaded in {:?}", started.elapsed());
    let engine = Engine::new(Arc::new(reader), EngineOptions::default());
    let started = Instant::now();
    let document = engine.approve(&approved).map_err(|e| e.to_string())?;
    println!(
        "approved: {} page(s) analysed in {:?} ({})",
        document.pages.len(),
        started.elapsed(),
        document
            .pages
            .iter()
            .map(|p| format!("{} chars by {}", p.text.significant(), p.source.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let started = Instant::now();
    let outcome = engine
        .compare(&capture, &[&document], &Thresholds::default())
        .map_err(|e| e.to_string())?;
    println!(
        "verdict: {} (score {:.3}, page {:?}, blank {}, {} chars read, ink {:.4}, red {:.4}) in {:?} \
         [prepare {:?}, read {:?}, compare {:?}]",
        outcome.verdict.as_str(),
        outcome.score,
        outcome.page,
        outcome.blank,
        outcome.captured_chars,
        outcome.ink_ratio,
        outcome.red_ratio,
        started.elapsed(),
        outcome.timings.prepare,
        outcome.timings.read,
        outcome.timings.compare
    );
    for d in &outcome.differences {
        println!(
            "  {} {:9} «{}» → «{}»  ({})",
            if d.material { "!" } else { "?" },
            d.kind.as_str(),
            d.approved_text,
            d.captured_text,
            d.reason
        );
    }
    if let Some(path) = args.get(2) {
        std::fs::write(path, &outcome.diff_png).map_err(|e| format!("{path}: {e}"))?;
        println!("side-by-side image: {path}");
    }
    Ok(())
}
