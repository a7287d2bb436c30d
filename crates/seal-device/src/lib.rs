//! The device side of Sealkeeper: the reference implementation of the `/device/v1`
//! protocol (`docs/device-protocol.md`) that a hardware vendor ports, and a full simulator
//! of smart seal boxes and seal printers built on it.
//!
//! # What a vendor ports
//!
//! The protocol part is small and has no simulator in it:
//!
//! - [`identity`] — the device's own storage: an Ed25519 secret key made once on the
//!   device (file mode 0600), the device id the server gave at enrolment, the server URL,
//!   kind, serial, MAC and firmware, and the **sequence number**, which is written and
//!   fsync'd *before* it is used (write-ahead), so a number is never given to two presses,
//!   even across a power cut.
//! - [`client`] — [`client::DeviceClient`]: every request carries an RFC 9421 signature
//!   (`Content-Digest`, `Signature-Input`, `Signature`, label `sk`, components `"@method"
//!   "@path" "@query" "content-digest"`, `created` = now in Unix seconds, a fresh nonce
//!   per request and per retry, `keyid` = the device id, or the base64 public key for the
//!   enrolment). Retries (network failures and 5xx, exponential backoff) only for
//!   requests that are safe to repeat: never the enrolment (it spends the token) nor a
//!   scan (it spends a use). An unlock answer is believed only when its JWS token verifies
//!   with one of the organisation's keys from `GET /device/v1/me` (chosen by `kid`) and
//!   the signed grant names this device and the nonce of this very request
//!   ([`client::verify_grant`]). Commands arrive over the WebSocket stream
//!   (`GET /device/v1/stream`, a signed upgrade; reconnects with backoff) or by
//!   long-polling. Errors are typed: [`client::ClientError`] tells a refusal with the
//!   server's code (`unlock.not_approved`, …) from an authentication failure (401), a
//!   network failure and a server error (both retryable).
//! - [`buffer`] — [`buffer::EventBuffer`], the outbox: every press is stored as one file
//!   (temporary file, fsync, rename, directory fsync) before it counts, so a kill at any
//!   instant loses nothing and never leaves a torn event. It is bounded (10,000 by
//!   default) and **a full outbox refuses the press**: a box must not stamp what it cannot
//!   report. [`buffer::sync`] sends events in sequence order in batches of at most 100
//!   and deletes only those the server acknowledged (`stored` or `duplicate`).
//! - [`factors`] — the factor rule of a grant (`fingerprint+face`: all of;
//!   `pin|id_code`: any of) checked against the templates enrolled on the device.
//!
//! A port keeps the order of operations: reserve the sequence number, take the photo,
//! persist the event, *then* release the press; lock after the last allowed use; obey
//! `lock`, `cancel_grant` and `update_parameters` and acknowledge each command.
//!
//! # The simulator
//!
//! - [`sim`] — [`sim::SimDevice`]: a seal box or seal printer with its state folder (lock
//!   state, grant and uses left, templates, base and tamper sensors, a slowly draining
//!   battery, GPS with jitter around a home position, the offline switch), presses with
//!   generated JPEG photos ([`photo`]), commands, heartbeats, and the printer's scan that
//!   saves the print job's SVG. Its async methods are the programmatic API for tests.
//! - [`scenario`] — a line-based script language (`unlock ORDER fingerprint:alice-fp`,
//!   `press 3`, `expect locked` …) printing one machine-readable line per step.
//! - [`cli`] — `sealkeeper device simulate` ([`cli::SimulateArgs`]) and the in-process
//!   entry points [`simulate`] and [`simulate_with`] (N devices at once, resume, script,
//!   heartbeat loop until stopped).

pub mod buffer;
pub mod cli;
pub mod client;
pub mod factors;
mod fsutil;
pub mod identity;
pub mod photo;
pub mod scenario;
pub mod sim;

pub use buffer::EventBuffer;
pub use cli::{SimulateArgs, SimulateError, SimulateReport, simulate, simulate_with};
pub use client::{ClientError, DeviceClient};
pub use identity::Identity;
pub use sim::{DeviceKind, SimConfig, SimDevice, SimError};
