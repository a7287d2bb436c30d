//! Sealkeeper signatures and evidence: Ed25519 keys (`keys`, `short_kid`), RFC 9421 HTTP
//! message signatures for device requests (`httpsig`), JWS-signed unlock grants (`jws`), the
//! device protocol's message bodies (`wire`), the RFC 6962 Merkle log (`merkle`) with C2SP
//! signed notes and checkpoints (`note`), COSE_Sign1 stamp tokens (`token`), the texts of
//! stamp QR codes (`qr_payload`) and the published key set (`keyset`). No I/O: callers pass
//! the clock and the bytes.

pub mod error;
pub mod httpsig;
pub mod jws;
pub mod keys;
pub mod keyset;
pub mod merkle;
pub mod note;
pub mod qr_payload;
pub mod short_kid;
pub mod token;
pub mod wire;

pub use error::ProofError;
pub use keys::{PublicKey, SigningKey};
