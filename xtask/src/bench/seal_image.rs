//! The seal-image benchmark: builds and runs the `bench_seal_image` example of
//! `seal-docs` in release mode, which times the seal model (SVG; PNG at 150, 300 and
//! 600 dpi) against the same pipeline drawing only the ring and star and against a plain
//! tiny-skia fill, and document inspection against hashing the same bytes, all in one run.

use crate::task::{self, Result};

pub fn run() -> Result {
    task::run(
        &mut task::cargo([
            "run",
            "--release",
            "-p",
            "seal-docs",
            "--example",
            "bench_seal_image",
        ])?,
        "the seal-image benchmark",
    )
}
