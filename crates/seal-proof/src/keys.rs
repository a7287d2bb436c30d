//! Ed25519 keys: secret keys that sign, public keys that verify strictly, their base64
//! form and their RFC 7638 JWK thumbprint (the key id).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::Signer as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::error::ProofError;

/// The length of an Ed25519 secret key (the seed) and of a public key.
const KEY_LEN: usize = 32;
/// The length of an Ed25519 signature.
const SIGNATURE_LEN: usize = 64;
/// The longest base64 text `PublicKey::from_base64` looks at (32 bytes take 44 characters).
const MAX_BASE64_LEN: usize = 64;

/// An Ed25519 secret key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A new random key: 32 bytes from the operating-system-seeded generator.
    pub fn generate() -> Self {
        let mut seed = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut seed);
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The key from its 32 secret bytes (the seed, RFC 8032's private key).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        let seed: &[u8; KEY_LEN] = bytes.try_into().map_err(|_| ProofError::BadKey)?;
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(seed)))
    }

    /// The 32 secret bytes, for storing the key.
    pub fn to_bytes(&self) -> [u8; KEY_LEN] {
        self.0.to_bytes()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The Ed25519 signature of `message` (deterministic, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.0.sign(message).to_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

/// An Ed25519 public key: a valid curve point that is not of small order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// The key from its 32 bytes; refuses bytes that are not a point or are a weak
    /// (small-order) point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        let bytes: &[u8; KEY_LEN] = bytes.try_into().map_err(|_| ProofError::BadKey)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| ProofError::BadKey)?;
        if key.is_weak() {
            return Err(ProofError::BadKey);
        }
        Ok(Self(key))
    }

    /// The key from standard base64 with padding (the form in the device protocol's bodies).
    pub fn from_base64(text: &str) -> Result<Self, ProofError> {
        if text.len() > MAX_BASE64_LEN {
            return Err(ProofError::BadKey);
        }
        let bytes = STANDARD.decode(text).map_err(|_| ProofError::BadKey)?;
        Self::from_bytes(&bytes)
    }

    /// Standard base64 with padding of the 32 bytes.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_bytes())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        self.0.as_bytes()
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of the key's
    /// RFC 8037 JWK `{"crv":"Ed25519","kty":"OKP","x":…}`.
    pub fn key_id(&self) -> String {
        let jwk = format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(self.0.as_bytes())
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(jwk.as_bytes()))
    }

    /// Checks an Ed25519 signature of `message` strictly (no small-order components, no
    /// non-canonical encodings). A signature that is not 64 bytes is refused as bad.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), ProofError> {
        let bytes: &[u8; SIGNATURE_LEN] =
            signature.try_into().map_err(|_| ProofError::BadSignature)?;
        let signature = ed25519_dalek::Signature::from_bytes(bytes);
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| ProofError::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 Appendix A.1: the Ed25519 example key, `d` and `x` of its JWK.
    const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn rfc8037_key() -> SigningKey {
        SigningKey::from_bytes(&URL_SAFE_NO_PAD.decode(RFC8037_D).unwrap()).unwrap()
    }

    #[test]
    fn rfc8037_a1_secret_key_gives_the_published_public_key() {
        let public = rfc8037_key().public_key();
        assert_eq!(URL_SAFE_NO_PAD.encode(public.as_bytes()), RFC8037_X);
    }

    #[test]
    fn rfc8037_a3_thumbprint_is_the_key_id() {
        let public = PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(RFC8037_X).unwrap()).unwrap();
        assert_eq!(
            public.key_id(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn generated_keys_differ_and_round_trip_through_bytes() {
        let a = SigningKey::generate();
        let b = SigningKey::generate();
        assert_ne!(a.to_bytes(), b.to_bytes());
        let again = SigningKey::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(again.public_key(), a.public_key());
        assert_ne!(a.public_key(), b.public_key());
    }

    #[test]
    fn public_key_round_trips_through_base64_and_bytes() {
        let public = SigningKey::generate().public_key();
        let text = public.to_base64();
        assert_eq!(text.len(), 44);
        assert!(text.ends_with('='));
        assert_eq!(PublicKey::from_base64(&text).unwrap(), public);
        assert_eq!(PublicKey::from_bytes(public.as_bytes()).unwrap(), public);
    }

    #[test]
    fn bad_key_bytes_are_refused() {
        assert_eq!(
            SigningKey::from_bytes(&[1; 31]).unwrap_err(),
            ProofError::BadKey
        );
        assert_eq!(
            SigningKey::from_bytes(&[1; 33]).unwrap_err(),
            ProofError::BadKey
        );
        assert_eq!(PublicKey::from_bytes(&[]).unwrap_err(), ProofError::BadKey);
        assert_eq!(
            PublicKey::from_bytes(&[9; 64]).unwrap_err(),
            ProofError::BadKey
        );
        // The identity point (y = 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            PublicKey::from_bytes(&identity).unwrap_err(),
            ProofError::BadKey
        );
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(
            PublicKey::from_bytes(&off_curve).unwrap_err(),
            ProofError::BadKey
        );
    }

    #[test]
    fn bad_base64_is_refused() {
        let text = SigningKey::generate().public_key().to_base64();
        let unpadded = text.trim_end_matches('=');
        assert_eq!(
            PublicKey::from_base64(unpadded).unwrap_err(),
            ProofError::BadKey
        );
        let url_safe = URL_SAFE_NO_PAD.encode([0xfb; 32]);
        assert_eq!(
            PublicKey::from_base64(&url_safe).unwrap_err(),
            ProofError::BadKey
        );
        assert_eq!(PublicKey::from_base64("").unwrap_err(), ProofError::BadKey);
        assert_eq!(
            PublicKey::from_base64(&"A".repeat(4096)).unwrap_err(),
            ProofError::BadKey
        );
    }

    #[test]
    fn signatures_verify_only_with_the_right_key_and_message() {
        let key = SigningKey::generate();
        let signature = key.sign(b"press");
        let public = key.public_key();
        assert_eq!(public.verify(b"press", &signature), Ok(()));
        assert_eq!(
            public.verify(b"presS", &signature),
            Err(ProofError::BadSignature)
        );
        let other = SigningKey::generate().public_key();
        assert_eq!(
            other.verify(b"press", &signature),
            Err(ProofError::BadSignature)
        );
        let mut flipped = signature;
        flipped[10] ^= 0x01;
        assert_eq!(
            public.verify(b"press", &flipped),
            Err(ProofError::BadSignature)
        );
        assert_eq!(
            public.verify(b"press", &signature[..63]),
            Err(ProofError::BadSignature)
        );
        assert_eq!(public.verify(b"press", &[]), Err(ProofError::BadSignature));
    }

    #[test]
    fn debug_hides_the_secret_and_shows_the_public_key() {
        let key = SigningKey::generate();
        assert_eq!(format!("{key:?}"), "SigningKey([redacted])");
        let public = key.public_key();
        assert_eq!(
            format!("{public:?}"),
            format!("PublicKey({})", public.to_base64())
        );
    }
}
