//! The devices benchmark: builds the release `sealkeeper` binary and runs the
//! `bench_devices` example of `seal-device` in release mode against it: 1,000 simulated
//! devices (seal, approved application, enrolment, approval, binding, unlock each) send
//! signed stamp events — one per request, ten per request, and one per request with a
//! 200 KB photo — while `GET /healthz` of the same server is the baseline; then every
//! device holds a WebSocket command stream and the server's RSS is read.

use crate::task::{self, Result};

pub fn run() -> Result {
    run_mode(None)
}

/// The verification benchmark: the same example with `BENCH_MODE=verify` and a few
/// devices, each pressing once; then `GET /api/v1/verify/{code}` of those stamps against
/// `GET /healthz`, alternating.
pub fn run_verify() -> Result {
    run_mode(Some("verify"))
}

fn run_mode(mode: Option<&str>) -> Result {
    task::run(
        &mut task::cargo(["build", "--release", "-p", "sealkeeper"])?,
        "building the release binary",
    )?;
    let binary = task::workspace_root()?.join("target/release/sealkeeper");
    let mut command = task::cargo([
        "run",
        "--release",
        "-p",
        "seal-device",
        "--example",
        "bench_devices",
    ])?;
    command.env("SEALKEEPER_BIN", binary);
    if let Some(mode) = mode {
        command.env("BENCH_MODE", mode).env("BENCH_DEVICES", "16");
    }
    task::run(&mut command, "the devices benchmark")
}
