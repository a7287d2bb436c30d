//! The public API used the way the device and the server use it: a signed request checked
//! end to end, and an unlock grant signed as a JWS and checked by the device.

use seal_proof::httpsig::{self, Request, SignatureParams};
use seal_proof::wire::UnlockGrant;
use seal_proof::{ProofError, PublicKey, SigningKey, jws};

/// What the server does with a request: digest, parse, find the key by `keyid`, verify.
fn server_accepts(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
    keys: &[(&str, PublicKey)],
) -> Result<SignatureParams, ProofError> {
    let header = |name: &'static str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
            .ok_or(ProofError::MissingHeader(name))
    };
    let digest = header("Content-Digest")?;
    httpsig::check_content_digest(digest, body)?;
    let parsed = httpsig::parse(header("Signature-Input")?, header("Signature")?)?;
    let key = keys
        .iter()
        .find(|(id, _)| *id == parsed.params.keyid)
        .map(|(_, key)| *key)
        .ok_or(ProofError::BadKey)?;
    let request = Request {
        method,
        path,
        query,
        content_digest: digest,
    };
    parsed.verify(&request, &key)?;
    Ok(parsed.params)
}

#[test]
fn a_device_request_is_accepted_and_a_changed_one_refused() {
    let device = SigningKey::generate();
    // The device keeps only the 32 secret bytes on its disk.
    let device = SigningKey::from_bytes(&device.to_bytes()).unwrap();
    let registered = PublicKey::from_base64(&device.public_key().to_base64()).unwrap();
    let keys = [("dev-1", registered)];

    let body = br#"{"order":"ACME-2026-000042","device_time":1763900000123,"nonce":"n"}"#;
    let digest = httpsig::content_digest(body);
    let params = SignatureParams {
        created: 1_763_900_000,
        nonce: httpsig::new_nonce(),
        keyid: "dev-1".into(),
    };
    let request = Request {
        method: "POST",
        path: "/device/v1/unlock",
        query: None,
        content_digest: &digest,
    };
    let signed = httpsig::sign(&device, &request, &params);
    let headers = [
        ("content-digest", digest.as_str()),
        ("signature-input", signed.signature_input.as_str()),
        ("signature", signed.signature.as_str()),
    ];

    let accepted = server_accepts("POST", "/device/v1/unlock", None, &headers, body, &keys);
    assert_eq!(accepted, Ok(params));

    // Another body under the same headers.
    let mut other_body = body.to_vec();
    other_body[10] ^= 1;
    assert_eq!(
        server_accepts(
            "POST",
            "/device/v1/unlock",
            None,
            &headers,
            &other_body,
            &keys
        ),
        Err(ProofError::DigestMismatch)
    );
    // Another route, method or query.
    assert_eq!(
        server_accepts("POST", "/device/v1/scan", None, &headers, body, &keys),
        Err(ProofError::BadSignature)
    );
    assert_eq!(
        server_accepts("PUT", "/device/v1/unlock", None, &headers, body, &keys),
        Err(ProofError::BadSignature)
    );
    assert_eq!(
        server_accepts(
            "POST",
            "/device/v1/unlock",
            Some("x=1"),
            &headers,
            body,
            &keys
        ),
        Err(ProofError::BadSignature)
    );
    // The same keyid registered to another key.
    let impostor = [("dev-1", SigningKey::generate().public_key())];
    assert_eq!(
        server_accepts("POST", "/device/v1/unlock", None, &headers, body, &impostor),
        Err(ProofError::BadSignature)
    );
    // A header left off.
    assert_eq!(
        server_accepts(
            "POST",
            "/device/v1/unlock",
            None,
            &headers[..2],
            body,
            &keys
        ),
        Err(ProofError::MissingHeader("Signature"))
    );
}

#[test]
fn an_unlock_grant_round_trips_as_a_jws() {
    let org = SigningKey::generate();
    let kid = org.public_key().key_id();
    let grant = UnlockGrant {
        grant_id: "g-1".into(),
        order: "ACME-2026-000042".into(),
        device_id: "dev-1".into(),
        seal_id: "seal-1".into(),
        uses: 2,
        not_before: 1_763_900_000_000,
        expires_at: 1_763_903_600_000,
        factors: "fingerprint+face".into(),
        nonce: "n".into(),
        issued_at: 1_763_900_000_500,
    };
    let token = jws::sign_compact(&org, &kid, &serde_json::to_vec(&grant).unwrap());

    // The device picks the org key named by the token's kid, then verifies.
    let org_keys = [(kid.clone(), org.public_key().to_base64())];
    let wanted = jws::header_kid(&token).unwrap();
    let (_, public) = org_keys.iter().find(|(id, _)| *id == wanted).unwrap();
    let public = PublicKey::from_base64(public).unwrap();
    let payload = jws::verify_compact(&token, &public).unwrap();
    let received: UnlockGrant = serde_json::from_slice(&payload).unwrap();
    assert_eq!(received, grant);

    let stranger = SigningKey::generate().public_key();
    assert_eq!(
        jws::verify_compact(&token, &stranger),
        Err(ProofError::BadSignature)
    );
}

#[test]
fn errors_read_as_english() {
    let messages = [
        ProofError::MissingHeader("Signature").to_string(),
        ProofError::Malformed("Signature-Input").to_string(),
        ProofError::TooLong("JWS").to_string(),
        ProofError::MissingLabel.to_string(),
        ProofError::UnsupportedAlgorithm("rsa-v1_5-sha256".into()).to_string(),
        ProofError::BadKey.to_string(),
        ProofError::BadSignature.to_string(),
        ProofError::DigestMismatch.to_string(),
        ProofError::WrongComponents.to_string(),
    ];
    assert_eq!(messages[0], "the Signature header is missing");
    assert_eq!(messages[1], "malformed Signature-Input");
    assert_eq!(messages[4], "unsupported algorithm \"rsa-v1_5-sha256\"");
    assert!(messages.iter().all(|message| !message.is_empty()));
}
