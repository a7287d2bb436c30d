//! The webhooks benchmark: builds and runs the `webhook_bench` example of `seal-server`
//! in release mode, which queues 2000 events for a receiver on loopback, has the delivery
//! worker deliver them (claim, sign, send 16 at a time, record each attempt), and compares
//! with raw POSTs of the same body to the same receiver in the same run.

use crate::task::{self, Result};

pub fn run() -> Result {
    task::run(
        &mut task::cargo([
            "run",
            "--release",
            "-p",
            "seal-server",
            "--example",
            "webhook_bench",
            "--",
            "2000",
            "3",
        ])?,
        "the webhook delivery benchmark",
    )
}
