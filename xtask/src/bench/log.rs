//! The log benchmark: the stored log's appends per second and proofs from the store
//! (`bench_log` of `seal-store`, 1,000,000 entries on SQLite), then the Merkle code alone
//! at 1 and 10 million leaves (`bench_merkle` of `seal-proof`), each in release mode.

use crate::task::{self, Result};

pub fn run() -> Result {
    task::run(
        &mut task::cargo([
            "run",
            "--release",
            "-p",
            "seal-store",
            "--example",
            "bench_log",
            "--",
            "1000000",
        ])?,
        "the stored log benchmark",
    )?;
    task::run(
        &mut task::cargo([
            "run",
            "--release",
            "-p",
            "seal-proof",
            "--example",
            "bench_merkle",
        ])?,
        "the Merkle benchmark",
    )
}
