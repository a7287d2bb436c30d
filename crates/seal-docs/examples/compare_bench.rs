//! The document-comparison benchmark: runs the engine over a labelled corpus made by
//! `seal-corpus generate` and prints recall on tampered pairs, false alarms on genuine
//! pairs, the uncertain rate, each tamper kind's figures, the time per capture (median,
//! p95) and per approved page, and the peak memory. Pairs the engine got wrong are
//! listed with what it saw. `cargo xtask bench compare` generates the corpus and runs
//! this.
//!
//! ```text
//! cargo run --release -p seal-docs --example compare_bench -- CORPUS_DIR [--limit N] [--ocr-threads T] [--misses FILE] [--baseline-every N] [--whole-pages]
//! ```
//!
//! By default the engine reads only the lines whose ink differs from the approved page;
//! every `--baseline-every`-th pair (8 by default, 0 for none) is also compared reading
//! the capture whole, in the same process, and the report gives the ratio of the two
//! times and how often their verdicts agree. `--whole-pages` reads every capture whole.
//!
//! ```text
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seal_docs::compare::{ApprovedDocument, Engine, EngineOptions, Thresholds, Verdict};
use seal_docs::ocr::{OcrEngine, OcrOptions};
use serde_json::Value;

fn main() {
    if let Err(message) = run() {
        eprintln!("compare_bench: {message}");
        std::process::exit(1);
    }
}

struct Args {
    dir: PathBuf,
    limit: usize,
    ocr_threads: usize,
    misses: Option<PathBuf>,
    baseline_every: usize,
    whole_pages: bool,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut dir = None;
    let mut args = Args {
        dir: PathBuf::new(),
        limit: usize::MAX,
        ocr_threads: 2,
        misses: None,
        baseline_every: 8,
        whole_pages: false,
    };
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--limit" => {
                args.limit = value("--limit")?
                    .parse()
                    .map_err(|e| format!("--limit: {e}"))?
            }
            "--ocr-threads" => {
                args.ocr_threads = value("--ocr-threads")?
                    .parse()
                    .map_err(|e| format!("--ocr-threads: {e}"))?
            }
            "--misses" => args.misses = Some(PathBuf::from(value("--misses")?)),
            "--baseline-every" => {
                args.baseline_every = value("--baseline-every")?
                    .parse()
                    .map_err(|e| format!("--baseline-every: {e}"))?
            }
            "--whole-pages" => args.whole_pages = true,
            "-h" | "--help" => {
                return Err(
                    "usage: compare_bench CORPUS_DIR [--limit N] [--ocr-threads T] [--misses FILE] [--baseline-every N] [--whole-pages]"
                        .into(),
                );
            }
            other if dir.is_none() && !other.starts_with('-') => dir = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    args.dir = dir.ok_or("give the corpus folder (seal-corpus generate --out DIR)")?;
    Ok(args)
}

/// One pair's result.
struct Row {
    id: String,
    kind: String,
    tampered: bool,
    verdict: Verdict,
    score: f32,
    time: Duration,
    note: String,
    /// Lines read of the page's lines, when only changed lines were read.
    lines_read: Option<(usize, usize)>,
    /// The same pair read whole: its time and verdict.
    baseline: Option<(Duration, Verdict)>,
}

fn run() -> Result<(), String> {
    let args = args()?;
    let manifest_path = args.dir.join("manifest.json");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(&manifest_path).map_err(|e| format!("{}: {e}", manifest_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let pairs = manifest["pairs"]
        .as_array()
        .ok_or("the manifest has no pairs")?;
    let options = OcrOptions {
        instances: 1,
        threads_per_instance: args.ocr_threads,
        ..OcrOptions::default()
    };
    let started = Instant::now();
    let reader = OcrEngine::load(&options).map_err(|e| e.to_string())?;
    eprintln!("engine loaded in {:?}", started.elapsed());
    let reader = Arc::new(reader);
    let engine = Engine::new(
        reader.clone(),
        EngineOptions {
            read_changed_lines: !args.whole_pages,
            ..EngineOptions::default()
        },
    );
    let whole = Engine::new(
        reader,
        EngineOptions {
            read_changed_lines: false,
            ..EngineOptions::default()
        },
    );
    let thresholds = Thresholds::default();

    let mut approved: HashMap<String, ApprovedDocument> = HashMap::new();
    let mut approve_times: Vec<Duration> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let total = pairs.len().min(args.limit);
    for (n, pair) in pairs.iter().take(args.limit).enumerate() {
        let id = pair["id"].as_str().unwrap_or("?").to_owned();
        let document = pair["document"].as_str().unwrap_or("?").to_owned();
        if !approved.contains_key(&document) {
            let files: Vec<PathBuf> = pair["approved_files"]
                .as_array()
                .ok_or("a pair without approved_files")?
                .iter()
                .filter_map(Value::as_str)
                .map(|f| args.dir.join(f))
                .collect();
            let t = Instant::now();
            let analysed = approve(&engine, &files)?;
            let elapsed = t.elapsed();
            for _ in 0..analysed.pages.len() {
                approve_times.push(elapsed / analysed.pages.len().max(1) as u32);
            }
            approved.insert(document.clone(), analysed);
        }
        let capture_path = args.dir.join(pair["capture"].as_str().unwrap_or(""));
        let capture =
            std::fs::read(&capture_path).map_err(|e| format!("{}: {e}", capture_path.display()))?;
        let t = Instant::now();
        let outcome = engine
            .compare(&capture, &[&approved[&document]], &thresholds)
            .map_err(|e| format!("{id}: {e}"))?;
        let time = t.elapsed();
        let baseline =
            if !args.whole_pages && args.baseline_every > 0 && n % args.baseline_every == 0 {
                let t = Instant::now();
                let outcome = whole
                    .compare(&capture, &[&approved[&document]], &thresholds)
                    .map_err(|e| format!("{id}: {e}"))?;
                Some((t.elapsed(), outcome.verdict))
            } else {
                None
            };
        let tampered = pair["label"].as_str() == Some("tampered");
        let kind = pair["kind"].as_str().unwrap_or("genuine").to_owned();
        let note = outcome
            .differences
            .iter()
            .filter(|d| d.material || !tampered)
            .take(3)
            .map(|d| {
                format!(
                    "{}{} «{}»→«{}»",
                    if d.material { "!" } else { "?" },
                    d.kind.as_str(),
                    d.approved_text.chars().take(24).collect::<String>(),
                    d.captured_text.chars().take(24).collect::<String>()
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        eprintln!(
            "[{}/{total}] {id} {kind}: {} {:.3} in {:.2?}{}{}",
            n + 1,
            outcome.verdict.as_str(),
            outcome.score,
            time,
            match outcome.lines_read {
                Some((read, of)) => format!(", {read} of {of} lines read"),
                None => ", read whole".to_owned(),
            },
            match baseline {
                Some((t, v)) => format!(" (whole: {} in {t:.2?})", v.as_str()),
                None => String::new(),
            }
        );
        rows.push(Row {
            id,
            kind,
            tampered,
            verdict: outcome.verdict,
            score: outcome.score,
            time,
            note,
            lines_read: outcome.lines_read,
            baseline,
        });
    }
    report(&rows, &approve_times, &args)
}

/// An approved document from its files: one PDF, or one image per page.
fn approve(engine: &Engine, files: &[PathBuf]) -> Result<ApprovedDocument, String> {
    let mut pages = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let analysed = engine
            .approve(&bytes)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        pages.extend(analysed.pages);
    }
    for (index, page) in pages.iter_mut().enumerate() {
        page.index = index;
    }
    Ok(ApprovedDocument { pages })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn report(rows: &[Row], approve_times: &[Duration], args: &Args) -> Result<(), String> {
    let tampered: Vec<&Row> = rows.iter().filter(|r| r.tampered).collect();
    let genuine: Vec<&Row> = rows.iter().filter(|r| !r.tampered).collect();
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    let caught = tampered
        .iter()
        .filter(|r| r.verdict == Verdict::Mismatch)
        .count();
    let false_alarms = genuine
        .iter()
        .filter(|r| r.verdict == Verdict::Mismatch)
        .count();
    let uncertain = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Uncertain)
        .count();
    let mut times: Vec<Duration> = rows.iter().map(|r| r.time).collect();
    times.sort();
    let mut approve_sorted = approve_times.to_vec();
    approve_sorted.sort();
    println!(
        "document comparison over {} pairs ({} tampered, {} genuine)",
        rows.len(),
        tampered.len(),
        genuine.len()
    );
    println!(
        "  recall on tampered pairs   {:.3}  ({caught}/{}; target >= 0.98)",
        share(caught, tampered.len()),
        tampered.len()
    );
    println!(
        "  false alarms on genuine    {:.3}  ({false_alarms}/{}; target <= 0.02)",
        share(false_alarms, genuine.len()),
        genuine.len()
    );
    println!(
        "  uncertain                  {:.3}  ({uncertain}/{}; target <= 0.05)",
        share(uncertain, rows.len()),
        rows.len()
    );
    println!(
        "  time per capture           median {:.0?}, p95 {:.0?} (target median <= 1 s)",
        percentile(&times, 0.5),
        percentile(&times, 0.95)
    );
    println!(
        "  time per approved page     median {:.0?}, p95 {:.0?} ({} pages, analysed once)",
        percentile(&approve_sorted, 0.5),
        percentile(&approve_sorted, 0.95),
        approve_sorted.len()
    );
    let by_lines: Vec<(usize, usize)> = rows.iter().filter_map(|r| r.lines_read).collect();
    let lines_read: usize = by_lines.iter().map(|l| l.0).sum();
    let lines_all: usize = by_lines.iter().map(|l| l.1).sum();
    println!(
        "  read line by line          {:.3} of captures ({}), {:.3} of their lines read by OCR",
        share(by_lines.len(), rows.len()),
        by_lines.len(),
        share(lines_read, lines_all)
    );
    let paired: Vec<&Row> = rows.iter().filter(|r| r.baseline.is_some()).collect();
    if !paired.is_empty() {
        let mut fast: Vec<Duration> = paired.iter().map(|r| r.time).collect();
        let mut slow: Vec<Duration> = paired
            .iter()
            .filter_map(|r| r.baseline.map(|b| b.0))
            .collect();
        fast.sort();
        slow.sort();
        let agree = paired
            .iter()
            .filter(|r| r.baseline.is_some_and(|b| b.1 == r.verdict))
            .count();
        println!(
            "  baseline, read whole       {} pairs: median {:.0?} vs {:.0?} line by line (ratio {:.2}); verdicts agree on {agree}",
            paired.len(),
            percentile(&slow, 0.5),
            percentile(&fast, 0.5),
            percentile(&fast, 0.5).as_secs_f64() / percentile(&slow, 0.5).as_secs_f64().max(1e-9)
        );
    }
    if let Some(mib) = peak_rss_mib() {
        println!("  peak memory (VmHWM)        {mib:.0} MiB");
    }
    println!("  by kind:                   pairs  mismatch  uncertain  match");
    let mut kinds: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for r in rows {
        let e = kinds.entry(r.kind.as_str()).or_default();
        e[0] += 1;
        match r.verdict {
            Verdict::Mismatch => e[1] += 1,
            Verdict::Uncertain => e[2] += 1,
            Verdict::Match => e[3] += 1,
        }
    }
    for (kind, [n, mismatch, unsure, matched]) in &kinds {
        println!("    {kind:<24}{n:>5}{mismatch:>10}{unsure:>11}{matched:>7}");
    }
    let wrong: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            (r.tampered && r.verdict != Verdict::Mismatch)
                || (!r.tampered && r.verdict != Verdict::Match)
        })
        .collect();
    let lines: Vec<String> = wrong
        .iter()
        .map(|r| {
            format!(
                "{} {} -> {} {:.3}: {}",
                r.id,
                r.kind,
                r.verdict.as_str(),
                r.score,
                r.note
            )
        })
        .collect();
    println!("  wrong or unsure: {}", wrong.len());
    for l in lines.iter().take(40) {
        println!("    {l}");
    }
    if let Some(path) = &args.misses {
        write_misses(path, &lines)?;
    }
    Ok(())
}

fn write_misses(path: &Path, lines: &[String]) -> Result<(), String> {
    std::fs::write(path, lines.join("\n") + "\n").map_err(|e| format!("{}: {e}", path.display()))
}
