//! Browser tests: the whole server spawned on port 0, driven through WebDriver
//! (`fantoccini` → Debian's `chromedriver` → headless `chromium`), one browser per test.
//!
//! Run with `cargo test -p seal-server --test browser` (or under `cargo xtask test`).
//! Chromium and ChromeDriver come from `cargo xtask setup`; without them these tests fail,
//! unless `SEALKEEPER_SKIP_BROWSER=1` is set, which turns each into a printed note.
//! Screenshots land in `<target>/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The API tests' server fixture, shared by path: this binary uses only part of it.
mod applications;
#[allow(dead_code)]
#[path = "../api/common.rs"]
mod common;
mod comparisons;
mod console;
// The signed test device of the API tests, shared by path like `common`.
#[allow(dead_code)]
#[path = "../api/device_client.rs"]
mod device_client;
mod devices;
mod harness;
mod smoke;
