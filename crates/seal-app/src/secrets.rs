//! Random secrets and their digests: session tokens, CSRF tokens, API tokens, recovery
//! codes and generated passwords. Only SHA-256 digests of bearer secrets are stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 128 random bits, URL-safe base64 (22 characters).
pub fn token_128() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token secret: `skt_` and 192 random bits.
pub fn api_token_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("skt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Lower-case hex SHA-256 of a secret, as stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// 16 random bytes for a new id.
pub fn id_bytes() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

/// Alphabet for codes people type: no 0/o, 1/l/i look-alikes.
const TYPEABLE: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A recovery code like `k7m2-q9xa-4fhp` (about 70 bits).
pub fn recovery_code() -> String {
    let mut rng = rand::rng();
    let mut out = String::with_capacity(14);
    for group in 0..3 {
        if group > 0 {
            out.push('-');
        }
        for _ in 0..4 {
            let index = (rng.next_u32() as usize) % TYPEABLE.len();
            out.push(char::from(TYPEABLE[index]));
        }
    }
    out
}

/// Normalises a typed recovery code (case, spaces, missing hyphens) before hashing.
pub fn normalise_recovery_code(input: &str) -> String {
    let compact: String = input
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    compact
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A temporary password for a reset or an invitation: 4 groups of 4 typeable characters
/// (about 79 bits), which also passes the strength check.
pub fn temporary_password() -> String {
    let code = recovery_code();
    let mut rng = rand::rng();
    let mut extra = String::new();
    for _ in 0..4 {
        extra.push(char::from(
            TYPEABLE[(rng.next_u32() as usize) % TYPEABLE.len()],
        ));
    }
    format!("{code}-{extra}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(token_128().len(), 22);
        assert_ne!(token_128(), token_128());
        assert!(api_token_secret().starts_with("skt_"));
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let code = recovery_code();
        assert_eq!(code.len(), 14);
        assert_eq!(
            normalise_recovery_code(&code.to_uppercase().replace('-', " ")),
            code
        );
        assert_eq!(temporary_password().len(), 19);
    }
}
