//! Sealkeeper signatures and evidence: Ed25519 keys (`keys`), RFC 9421 HTTP message
//! signatures for device requests (`httpsig`), JWS-signed unlock grants (`jws`), and the
//! device protocol's message bodies (`wire`). No I/O: callers pass the clock and the bytes.

pub mod error;
pub mod httpsig;
pub mod jws;
pub mod keys;
pub mod wire;

pub use error::ProofError;
pub use keys::{PublicKey, SigningKey};
