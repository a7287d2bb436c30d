//! Integration tests of the whole HTTP service, spawned on port 0 with a fresh database
//! per test: flows, bad input, tenancy, and the route × role permission matrix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod applications;
mod common;
mod comparisons;
mod device_client;
mod devices;
mod flows;
mod matrix;
mod proofs;
mod webhooks;
