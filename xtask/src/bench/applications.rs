//! The applications benchmark: builds and runs the `bench_applications` example of
//! `seal-server` in release mode, which files applications through the JSON API (create,
//! upload a 1 MB PDF, submit) with eight clients, and measures `GET /healthz` on the same
//! server in the same run as the baseline.

use crate::task::{self, Result};

pub fn run() -> Result {
    task::run(
        &mut task::cargo([
            "run",
            "--release",
            "-p",
            "seal-server",
            "--example",
            "bench_applications",
        ])?,
        "the applications benchmark",
    )
}
