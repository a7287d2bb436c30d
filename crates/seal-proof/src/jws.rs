//! JWS compact serialization (RFC 7515) with Ed25519 (`alg` `EdDSA`, RFC 8037): how the
//! server signs unlock grants and the device checks them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::error::ProofError;
use crate::keys::{PublicKey, SigningKey};

/// The `alg` header value of every token.
const ALG: &str = "EdDSA";

/// The longest token accepted, in bytes.
const MAX_TOKEN_LEN: usize = 64 * 1024;

/// The protected header fields read. Unknown fields are ignored; a repeated field is refused.
#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    /// RFC 7515 §4.1.11: no extension is understood, so any `crit` is refused.
    crit: Option<serde::de::IgnoredAny>,
}

/// Signs `payload` as a compact JWS with protected header `{"alg":"EdDSA","kid":kid}`.
pub fn sign_compact(key: &SigningKey, kid: &str, payload: &[u8]) -> String {
    let kid = serde_json::Value::String(kid.to_owned());
    sign_with_header(key, &format!(r#"{{"alg":"{ALG}","kid":{kid}}}"#), payload)
}

/// `BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature)`.
fn sign_with_header(key: &SigningKey, header_json: &str, payload: &[u8]) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header_json);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

/// The three parts of a compact token, still encoded.
struct Parts<'a> {
    /// `header.payload`: what was signed.
    signing_input: &'a str,
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, ProofError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ProofError::TooLong("JWS"));
    }
    let mut pieces = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(ProofError::Malformed("JWS (not three parts)"));
    };
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or(ProofError::Malformed("JWS"))?;
    Ok(Parts {
        signing_input,
        header,
        payload,
        signature,
    })
}

fn decode(part: &str, what: &'static str) -> Result<Vec<u8>, ProofError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| ProofError::Malformed(what))
}

fn read_header(encoded: &str) -> Result<Header, ProofError> {
    let bytes = decode(encoded, "JWS header")?;
    let header: Header =
        serde_json::from_slice(&bytes).map_err(|_| ProofError::Malformed("JWS header"))?;
    if header.crit.is_some() {
        return Err(ProofError::Malformed("JWS header (crit is not supported)"));
    }
    Ok(header)
}

/// The `kid` of a token's protected header, read without verifying anything, to choose
/// the key for [`verify_compact`].
pub fn header_kid(token: &str) -> Result<String, ProofError> {
    let parts = split(token)?;
    read_header(parts.header)?
        .kid
        .ok_or(ProofError::Malformed("JWS header (no kid)"))
}

/// Verifies a compact token with `key` (header `alg` must be `EdDSA`) and returns the
/// payload bytes.
pub fn verify_compact(token: &str, key: &PublicKey) -> Result<Vec<u8>, ProofError> {
    let parts = split(token)?;
    let header = read_header(parts.header)?;
    if header.alg != ALG {
        return Err(ProofError::UnsupportedAlgorithm(header.alg));
    }
    let signature = decode(parts.signature, "JWS signature")?;
    let payload = decode(parts.payload, "JWS payload")?;
    key.verify(parts.signing_input.as_bytes(), &signature)?;
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 Appendix A.1: the Ed25519 example key.
    const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    /// RFC 8037 Appendix A.4: the payload and the whole compact JWS signed with that key.
    const A4_PAYLOAD: &[u8] = b"Example of Ed25519 signing";
    const A4_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn rfc8037_key() -> SigningKey {
        SigningKey::from_bytes(&URL_SAFE_NO_PAD.decode(RFC8037_D).unwrap()).unwrap()
    }

    fn rfc8037_public() -> PublicKey {
        PublicKey::from_bytes(&URL_SAFE_NO_PAD.decode(RFC8037_X).unwrap()).unwrap()
    }

    #[test]
    fn rfc8037_a4_exact_compact_jws() {
        let token = sign_with_header(&rfc8037_key(), r#"{"alg":"EdDSA"}"#, A4_PAYLOAD);
        assert_eq!(token, A4_JWS);
    }

    #[test]
    fn rfc8037_a5_verifies_and_has_no_kid() {
        assert_eq!(
            verify_compact(A4_JWS, &rfc8037_public()).unwrap(),
            A4_PAYLOAD
        );
        assert_eq!(
            header_kid(A4_JWS).unwrap_err(),
            ProofError::Malformed("JWS header (no kid)")
        );
        let other = SigningKey::generate().public_key();
        assert_eq!(
            verify_compact(A4_JWS, &other).unwrap_err(),
            ProofError::BadSignature
        );
    }

    #[test]
    fn round_trip_with_kid() {
        let key = SigningKey::generate();
        let kid = key.public_key().key_id();
        let payload = br#"{"grant_id":"g1","uses":2}"#;
        let token = sign_compact(&key, &kid, payload);
        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        assert_eq!(
            header,
            format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#).into_bytes()
        );
        assert_eq!(header_kid(&token).unwrap(), kid);
        assert_eq!(verify_compact(&token, &key.public_key()).unwrap(), payload);
    }

    #[test]
    fn kid_is_json_escaped() {
        let key = SigningKey::generate();
        let token = sign_compact(&key, "a\"b\\c\n", b"x");
        assert_eq!(header_kid(&token).unwrap(), "a\"b\\c\n");
        assert_eq!(verify_compact(&token, &key.public_key()).unwrap(), b"x");
    }

    #[test]
    fn empty_payload_round_trips() {
        let key = SigningKey::generate();
        let token = sign_compact(&key, "k", b"");
        assert!(token.contains(".."));
        assert_eq!(verify_compact(&token, &key.public_key()).unwrap(), b"");
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let key = SigningKey::generate();
        let public = key.public_key();
        let token = sign_compact(&key, "k1", br#"{"uses":1}"#);
        let parts: Vec<&str> = token.split('.').collect();

        let other_payload = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(br#"{"uses":9}"#),
            parts[2]
        );
        assert_eq!(
            verify_compact(&other_payload, &public).unwrap_err(),
            ProofError::BadSignature
        );

        let other_header = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":"k2"}"#),
            parts[1],
            parts[2]
        );
        assert_eq!(
            verify_compact(&other_header, &public).unwrap_err(),
            ProofError::BadSignature
        );

        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[0] ^= 0x80;
        let flipped = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode(signature)
        );
        assert_eq!(
            verify_compact(&flipped, &public).unwrap_err(),
            ProofError::BadSignature
        );

        let short = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode([0u8; 32])
        );
        assert_eq!(
            verify_compact(&short, &public).unwrap_err(),
            ProofError::BadSignature
        );

        let wrong_key = SigningKey::generate().public_key();
        assert_eq!(
            verify_compact(&token, &wrong_key).unwrap_err(),
            ProofError::BadSignature
        );
    }

    #[test]
    fn other_algorithms_and_crit_are_refused() {
        let key = SigningKey::generate();
        for (header, error) in [
            (
                r#"{"alg":"none","kid":"k"}"#,
                ProofError::UnsupportedAlgorithm("none".into()),
            ),
            (
                r#"{"alg":"HS256","kid":"k"}"#,
                ProofError::UnsupportedAlgorithm("HS256".into()),
            ),
            (
                r#"{"alg":"Ed25519","kid":"k"}"#,
                ProofError::UnsupportedAlgorithm("Ed25519".into()),
            ),
            (
                r#"{"alg":"EdDSA","kid":"k","crit":["b64"],"b64":false}"#,
                ProofError::Malformed("JWS header (crit is not supported)"),
            ),
            (
                r#"{"alg":"EdDSA","alg":"none"}"#,
                ProofError::Malformed("JWS header"),
            ),
            (r#"{"kid":"k"}"#, ProofError::Malformed("JWS header")),
            (r#"{"alg":1}"#, ProofError::Malformed("JWS header")),
            (r#"["EdDSA"]"#, ProofError::Malformed("JWS header")),
            ("not json", ProofError::Malformed("JWS header")),
        ] {
            let token = sign_with_header(&key, header, b"x");
            assert_eq!(
                verify_compact(&token, &key.public_key()).unwrap_err(),
                error,
                "{header}"
            );
        }
        // An unsigned token (alg none, empty signature).
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(b"x")
        );
        assert_eq!(
            verify_compact(&none, &key.public_key()).unwrap_err(),
            ProofError::UnsupportedAlgorithm("none".into())
        );
    }

    #[test]
    fn garbled_tokens_are_refused() {
        let key = SigningKey::generate();
        let public = key.public_key();
        let token = sign_compact(&key, "k", b"payload");
        for garbled in ["", ".", "..", "a.b", "a.b.c.d", &format!("{token}.")] {
            let error = verify_compact(garbled, &public).unwrap_err();
            assert!(
                matches!(error, ProofError::Malformed(_)),
                "{garbled:?}: {error:?}"
            );
            assert!(matches!(
                header_kid(garbled).unwrap_err(),
                ProofError::Malformed(_)
            ));
        }
        // Padding, standard-alphabet characters and whitespace are not base64url.
        let parts: Vec<&str> = token.split('.').collect();
        for (header, payload, signature) in [
            (
                format!("{}=", parts[0]),
                parts[1].to_owned(),
                parts[2].to_owned(),
            ),
            (
                parts[0].to_owned(),
                format!("{}+", parts[1]),
                parts[2].to_owned(),
            ),
            (
                parts[0].to_owned(),
                parts[1].to_owned(),
                format!(" {}", parts[2]),
            ),
        ] {
            let garbled = format!("{header}.{payload}.{signature}");
            assert!(
                matches!(
                    verify_compact(&garbled, &public).unwrap_err(),
                    ProofError::Malformed(_)
                ),
                "{garbled}"
            );
        }
        let long = format!("{token}{}", "A".repeat(MAX_TOKEN_LEN));
        assert_eq!(
            verify_compact(&long, &public).unwrap_err(),
            ProofError::TooLong("JWS")
        );
        assert_eq!(header_kid(&long).unwrap_err(), ProofError::TooLong("JWS"));
    }
}
