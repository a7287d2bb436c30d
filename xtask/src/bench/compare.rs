//! The document-comparison benchmark: generates the labelled corpus (320 pairs,
//! seed 1, 200 dpi, by `seal-corpus generate`) into `target/compare-corpus` unless it is
//! already there, then runs the `compare_bench` example of `seal-docs` over it in
//! release mode: recall on tampered pairs, false alarms on genuine ones, the uncertain
//! rate, time per capture and per approved page, peak memory.

use crate::task::{self, Result};

pub fn run() -> Result {
    let root = task::workspace_root()?;
    let corpus = root.join("target").join("compare-corpus");
    if !corpus.join("manifest.json").is_file() {
        task::run(
            &mut task::cargo([
                "run",
                "--release",
                "-p",
                "seal-corpus",
                "--",
                "generate",
                "--out",
                &corpus.display().to_string(),
                "--pairs",
                "320",
                "--seed",
                "1",
                "--dpi",
                "200",
            ])?,
            "generating the comparison corpus",
        )?;
    } else {
        println!(
            "using the corpus in {} (delete it to make a new one)",
            corpus.display()
        );
    }
    task::run(
        &mut task::cargo([
            "run",
            "--release",
            "-p",
            "seal-docs",
            "--example",
            "compare_bench",
            "--",
            &corpus.display().to_string(),
            "--misses",
            &corpus.join("misses.txt").display().to_string(),
        ])?,
        "the comparison benchmark",
    )
}
