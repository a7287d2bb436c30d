//! The 8-byte short key id of an Ed25519 public key, which stamp tokens carry and the
//! published key set is searched by.
//!
//! Derivation: take the RFC 7638 JWK thumbprint input of the key's RFC 8037 JWK, the exact
//! UTF-8 text `{"crv":"Ed25519","kty":"OKP","x":"<base64url of the 32 key bytes, no
//! padding>"}` (members in lexicographic order, no whitespace); hash it with SHA-256 (that
//! digest is the thumbprint whose base64url form is [`PublicKey::key_id`]); keep its first 8
//! bytes. So the short kid is the first 8 bytes of the base64url-decoded `key_id()`, and
//! its 16 lowercase hex digits are what the key set publishes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::keys::PublicKey;

/// The length of a short key id.
pub const SHORT_KID_LEN: usize = 8;

/// A short key id: the first 8 bytes of the key's RFC 7638 thumbprint.
pub type ShortKid = [u8; SHORT_KID_LEN];

impl PublicKey {
    /// The first 8 bytes of SHA-256 of the key's RFC 7638 JWK thumbprint input (see the
    /// module documentation): the key id stamp tokens carry.
    pub fn short_kid(&self) -> ShortKid {
        let jwk = format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(self.as_bytes())
        );
        let digest = Sha256::digest(jwk.as_bytes());
        let mut kid = [0u8; SHORT_KID_LEN];
        kid.copy_from_slice(&digest[..SHORT_KID_LEN]);
        kid
    }

    /// [`short_kid`](Self::short_kid) as 16 lowercase hex digits (the key set's form).
    pub fn short_kid_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.short_kid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    /// RFC 8037 Appendix A: the example public key; A.3 gives its thumbprint.
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn rfc8037_key_has_the_first_eight_bytes_of_its_thumbprint() {
        let public = PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(RFC8037_X).unwrap()).unwrap();
        // kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k, decoded, first 8 bytes.
        assert_eq!(public.short_kid_hex(), "90facafea9b15566");
        let thumbprint = URL_SAFE_NO_PAD.decode(public.key_id()).unwrap();
        assert_eq!(public.short_kid().as_slice(), &thumbprint[..8]);
    }

    #[test]
    fn short_kid_is_a_prefix_of_the_key_id_for_any_key() {
        for _ in 0..8 {
            let public = SigningKey::generate().public_key();
            let thumbprint = URL_SAFE_NO_PAD.decode(public.key_id()).unwrap();
            assert_eq!(public.short_kid().as_slice(), &thumbprint[..8]);
            assert_eq!(public.short_kid_hex().len(), 16);
        }
    }

    #[test]
    fn different_keys_have_different_short_kids() {
        let a = SigningKey::generate().public_key();
        let b = SigningKey::generate().public_key();
        assert_ne!(a.short_kid(), b.short_kid());
    }
}
