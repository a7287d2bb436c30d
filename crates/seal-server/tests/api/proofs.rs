//! Stamp proofs over real HTTP: every stamp gets a code, a numeric code and a signed
//! token; anyone verifies it by code (JSON and page) and can check every answer
//! independently — the token against the published key set, the log entry's inclusion
//! proof against the signed checkpoint, consistency between checkpoints; unknown, mistyped
//! and revoked codes are told apart; status changes are the organisation's and new log
//! entries; key rotation keeps old stamps verifying; verification is rate-limited and
//! shows a thumbnail only when the organisation publishes it.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use seal_core::stamp::{EntryKind, StampEntry, StampStatus, StatusEntry};
use seal_proof::keyset::KeySet;
use seal_proof::merkle::{self, leaf_hash};
use seal_proof::note::open_checkpoint;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Answer, TestServer};
use crate::devices::{
    active_device, approved, bind, bytes_of, check, check_error, granted, org, photo, seal, stamps,
    text,
};
use crate::on_both_engines;

fn hash32(text: &Value) -> [u8; 32] {
    let bytes = STANDARD
        .decode(text.as_str().expect("base64 text"))
        .expect("base64");
    bytes.try_into().expect("32 bytes")
}

async fn key_set(server: &TestServer) -> KeySet {
    let answer = server
        .client()
        .get("/.well-known/sealkeeper/keys.json")
        .await;
    check(&answer, StatusCode::OK);
    KeySet::from_json(&answer.text).expect("a valid key set")
}

/// Checks a verification answer the way an outsider would, with nothing but the key set:
/// the token's signature and claims, each log entry's inclusion proof against the
/// checkpoint, and the checkpoint's signature. Returns the decoded entries.
fn check_independently(v: &Value, keys: &KeySet) -> (StampEntry, Vec<StatusEntry>) {
    let token = URL_SAFE_NO_PAD
        .decode(v["token"].as_str().expect("a token"))
        .expect("base64url");
    let verified = keys.verify_token(&token).expect("the token verifies");
    assert_eq!(verified.key.kid, text(&v["token_key"]));
    assert_eq!(
        seal_proof::qr_payload::stamp_code(&verified.claims.stamp_id),
        text(&v["code"])
    );
    let verifier = keys.log_verifier().expect("log key").expect("a log key");
    let checkpoint = open_checkpoint(text(&v["checkpoint"]).as_str(), &[verifier], None)
        .expect("the checkpoint is signed by the log");
    let mut stamp = None;
    let mut statuses = Vec::new();
    for e in v["entries"].as_array().expect("entries") {
        let entry = STANDARD.decode(text(&e["entry"])).expect("base64");
        let proof: Vec<[u8; 32]> = e["proof"]
            .as_array()
            .expect("proof")
            .iter()
            .map(hash32)
            .collect();
        let index = e["index"].as_u64().expect("index");
        merkle::verify_inclusion(
            &leaf_hash(&entry),
            index,
            checkpoint.size,
            &proof,
            &checkpoint.root,
        )
        .expect("the inclusion proof verifies");
        match EntryKind::of(&entry) {
            Some(EntryKind::Stamp) => {
                stamp = Some(StampEntry::decode(&entry).expect("stamp entry"))
            }
            Some(EntryKind::StampStatus) => {
                statuses.push(StatusEntry::decode(&entry).expect("status entry"))
            }
            other => panic!("unexpected entry {other:?}"),
        }
    }
    let stamp = stamp.expect("a stamp entry");
    assert_eq!(
        stamp.document_sha256.map(|d| d[..16].to_vec()),
        verified.claims.document_prefix.map(|p| p.to_vec()),
        "token and log agree on the document"
    );
    (stamp, statuses)
}

fn all_passed(v: &Value) {
    assert_eq!(v["genuine"], true, "{v:#}");
    for c in v["checks"].as_array().expect("checks") {
        assert_eq!(c["passed"], true, "{c}");
    }
    let names: Vec<&str> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["check"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [
            "record",
            "token",
            "token_matches",
            "log_entry",
            "checkpoint",
            "inclusion"
        ]
    );
}

/// The QR code's text in a PNG, as zbarimg (Debian's zbar-tools, not our decoder) reads it.
fn zbar_qr(png: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mark.png");
    std::fs::write(&path, png).expect("write");
    let out = std::process::Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
        .arg(&path)
        .output()
        .expect("zbarimg (Debian zbar-tools) is needed: run `cargo xtask setup`");
    assert!(out.status.success(), "zbarimg found no QR code: {out:?}");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim_end_matches('\n')
        .to_owned()
}

/// Another organisation's admin asks for the mark.
async fn other_org_mark(server: &TestServer, stamp: &str) -> Answer {
    let other = org(server, "intruder").await;
    other
        .admin
        .get(&format!("/api/v1/stamps/{stamp}/mark"))
        .await
}

async fn verify(server: &TestServer, code: &str) -> Answer {
    server
        .client()
        .get(&format!("/api/v1/verify/{}", urlencoding::encode(code)))
        .await
}

async fn verification_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 2).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);
    let answer = device
        .events(vec![
            device.press(1, &grant, json!({})),
            device.press(2, &grant, json!({})),
            device.press(3, &grant, json!({})),
        ])
        .await;
    check(&answer, StatusCode::OK);
    let recorded = stamps(&o.employee, &order).await;
    assert_eq!(recorded.len(), 3);
    let application = o
        .employee
        .get(&format!("/api/v1/applications/{}", order.id))
        .await;
    let document_sha = text(&application.body["documents"][0]["sha256"]);
    let by_seq = |seq: i64| {
        recorded
            .iter()
            .find(|s| s["seq"] == seq)
            .cloned()
            .expect("stamp")
    };
    let first = by_seq(1);
    let beyond = by_seq(3);
    for s in &recorded {
        assert_eq!(s["has_token"], true);
        assert_eq!(text(&s["code"]).len(), 26);
        assert_eq!(text(&s["numeric_code"]).len(), 20);
    }
    assert_eq!(text(&first["document_sha256"]), document_sha);
    let code = text(&first["code"]);

    // Anyone verifies a stamp by its code, and can check the answer on their own.
    let keys = key_set(&server).await;
    let answer = verify(&server, &code).await;
    check(&answer, StatusCode::OK);
    let v = answer.body;
    all_passed(&v);
    assert_eq!(v["status"], "valid");
    assert_eq!(v["organisation"], "acme 有限公司");
    assert_eq!(v["seal"], "合同专用章");
    assert_eq!(v["kind"], "press");
    assert_eq!(v["device_kind"], "seal_box");
    assert_eq!(v["document_sha256"], document_sha.as_str());
    assert_eq!(
        v["place"],
        json!({"lat": 31.23, "lon": 121.47}),
        "coarse place only"
    );
    assert_eq!(v["thumbnail_url"], Value::Null, "not published by default");
    let serialized = v.to_string();
    for private in [
        grant.as_str(),
        order.number.as_str(),
        device.id.as_str(),
        "fingerprint",
    ] {
        assert!(!serialized.contains(private), "{private} is not published");
    }
    let (entry, statuses) = check_independently(&v, &keys);
    assert_eq!(entry.issuer, format!("device:{}", device.id));
    assert!(statuses.is_empty());
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&Sha256::digest(b"")[..]);
    assert_ne!(entry.details_digest, digest);

    // The numeric code, the QR code's whole text, and lower case name the same stamp.
    for form in [
        text(&first["numeric_code"]),
        format!("HTTPS://SEAL.EXAMPLE/V/{code}"),
        code.to_lowercase(),
    ] {
        let answer = verify(&server, &form).await;
        check(&answer, StatusCode::OK);
        assert_eq!(answer.body["code"], code.as_str(), "{form}");
    }
    // A mistyped digit, an unknown code and garbage are told apart.
    let mut typo: Vec<char> = text(&first["numeric_code"]).chars().collect();
    typo[5] = if typo[5] == '1' { '2' } else { '1' };
    let typo: String = typo.into_iter().collect();
    check_error(
        &verify(&server, &typo).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.stamp_code.check_digit",
    );
    let unknown = seal_proof::qr_payload::stamp_code(&[0x5a; 16]);
    check_error(
        &verify(&server, &unknown).await,
        StatusCode::NOT_FOUND,
        "verify.unknown",
    );
    check_error(
        &verify(&server, "hello").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.stamp_code",
    );

    // The stamp's printable mark: its QR code, read by zbarimg at 300 dpi, leads to the
    // verification page; the offline form carries the signed token.
    let stamp_id = text(&first["id"]);
    let mark = bytes_of(
        &o.employee,
        &format!("/api/v1/stamps/{stamp_id}/mark?format=png&dpi=300"),
    )
    .await;
    assert_eq!(mark.0, StatusCode::OK);
    let mark = (mark.0, mark.2);
    let url = zbar_qr(&mark.1);
    assert!(
        url.starts_with("HTTP://127.0.0.1:") || url.starts_with("HTTP://LOCALHOST"),
        "{url}"
    );
    assert!(url.ends_with(&format!("/V/{code}")), "{url}");
    let moved = server
        .client()
        .get(&url[url.find("/V/").unwrap_or(0)..])
        .await;
    check(&moved, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(moved.headers["location"], format!("/v/{code}").as_str());
    let page = server.client().get(&format!("/v/{code}")).await;
    check(&page, StatusCode::OK);
    assert!(page.text.contains("id=\"verdict-genuine\""));
    let offline = bytes_of(
        &o.employee,
        &format!("/api/v1/stamps/{stamp_id}/mark?format=png&dpi=300&form=offline&barcode=true"),
    )
    .await;
    assert_eq!(offline.0, StatusCode::OK);
    let offline = (offline.0, offline.2);
    let offline_text = zbar_qr(&offline.1);
    match seal_proof::qr_payload::QrPayload::parse(&offline_text) {
        Ok(seal_proof::qr_payload::QrPayload::Token(bytes)) => {
            assert_eq!(URL_SAFE_NO_PAD.encode(&bytes), text(&v["token"]));
        }
        other => panic!("not a token: {other:?}"),
    }
    let pdf = bytes_of(
        &o.employee,
        &format!("/api/v1/stamps/{stamp_id}/mark?format=pdf"),
    )
    .await;
    assert_eq!(pdf.0, StatusCode::OK);
    assert!(pdf.2.starts_with(b"%PDF"));
    let svg = bytes_of(&o.employee, &format!("/api/v1/stamps/{stamp_id}/mark")).await;
    assert!(String::from_utf8_lossy(&svg.2).contains("<svg"));
    check_error(
        &o.employee
            .get(&format!("/api/v1/stamps/{stamp_id}/mark?format=png&dpi=5"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.dpi",
    );
    check(
        &other_org_mark(&server, &stamp_id).await,
        StatusCode::NOT_FOUND,
    );

    // A press beyond its grant is disputed from the start, and says so.
    let answer = verify(&server, &text(&beyond["code"])).await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "disputed");
    let (_, statuses) = check_independently(&answer.body, &keys);
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].status, StampStatus::Disputed);

    // Revocation is the organisation's, a new entry in the log; a revoked stamp stays so.
    let path = format!("/api/v1/stamps/{stamp_id}/status");
    let refused = o
        .employee
        .post(&path, json!({"status": "revoked", "note": "x"}))
        .await;
    check(&refused, StatusCode::FORBIDDEN);
    let other = org(&server, "other").await;
    let refused = other
        .admin
        .post(&path, json!({"status": "revoked", "note": "x"}))
        .await;
    check(&refused, StatusCode::NOT_FOUND);
    check_error(
        &o.admin
            .post(&path, json!({"status": "lost", "note": "x"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.stamp_status",
    );
    let revoked = o
        .admin
        .post(
            &path,
            json!({"status": "revoked", "note": "signed in error"}),
        )
        .await;
    check(&revoked, StatusCode::OK);
    assert_eq!(revoked.body["status"], "revoked");
    check_error(
        &o.admin
            .post(&path, json!({"status": "valid", "note": "undo"}))
            .await,
        StatusCode::CONFLICT,
        "conflict.stamp_status",
    );
    let answer = verify(&server, &code).await;
    check(&answer, StatusCode::OK);
    assert_eq!(
        answer.body["status"], "revoked",
        "the cache was dropped on the change"
    );
    assert!(answer.body["status_since"].is_string());
    all_passed(&answer.body);
    assert!(
        !answer.body.to_string().contains("signed in error"),
        "the note stays private"
    );
    let (_, statuses) = check_independently(&answer.body, &keys);
    assert_eq!(
        statuses.iter().map(|s| s.status).collect::<Vec<_>>(),
        vec![StampStatus::Revoked]
    );
    let events = o
        .admin
        .get(&format!("/api/v1/stamps/{stamp_id}/events"))
        .await;
    check(&events, StatusCode::OK);
    assert_eq!(events.body[0]["note"], "signed in error");

    // The log only grows: consecutive checkpoints are consistent.
    let client = server.client();
    let first_note = client.get("/log/checkpoint").await;
    check(&first_note, StatusCode::OK);
    assert!(
        first_note.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain")
    );
    let verifier = keys.log_verifier().expect("log key").expect("a log key");
    let old =
        open_checkpoint(&first_note.text, std::slice::from_ref(&verifier), None).expect("signed");
    server.clock.advance_seconds(60);
    let rotated = o.admin.post("/api/v1/org/keys/rotate", json!({})).await; // appends to the log
    check(&rotated, StatusCode::OK);
    server
        .server
        .as_ref()
        .expect("running")
        .app
        .publish_checkpoint()
        .await
        .expect("publish");
    let new = open_checkpoint(&client.get("/log/checkpoint").await.text, &[verifier], None)
        .expect("signed");
    assert!(new.size > old.size);
    let proof = client
        .get(&format!(
            "/log/proof/consistency?from={}&to={}",
            old.size, new.size
        ))
        .await;
    check(&proof, StatusCode::OK);
    let hashes: Vec<[u8; 32]> = proof.body["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(hash32)
        .collect();
    merkle::verify_consistency(old.size, new.size, &hashes, &old.root, &new.root)
        .expect("consistent");
    check_error(
        &client
            .get(&format!(
                "/log/proof/consistency?from=1&to={}",
                new.size + 5
            ))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.log.range",
    );
    check_error(
        &client
            .get(&format!(
                "/log/proof/inclusion?index={}&size={}",
                new.size, new.size
            ))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.log.range",
    );

    // After rotation the old key stays published (retired) and old stamps verify.
    let keys = key_set(&server).await;
    let mine: Vec<_> = keys
        .keys
        .iter()
        .filter(|k| k.org_name == "acme 有限公司")
        .collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine.iter().filter(|k| k.retired_at.is_some()).count(), 1);
    assert_eq!(
        text(&rotated.body["kid"]),
        mine.iter()
            .find(|k| k.retired_at.is_none())
            .expect("current")
            .kid
    );
    let answer = verify(&server, &text(&by_seq(2)["code"])).await;
    all_passed(&answer.body);
    check_independently(&answer.body, &keys);
    assert_ne!(
        answer.body["token_key"], rotated.body["kid"],
        "signed by the retired key"
    );
    check(
        &o.employee.post("/api/v1/org/keys/rotate", json!({})).await,
        StatusCode::FORBIDDEN,
    );

    // The public page says the same, in words, on any device.
    let page = client.get(&format!("/v/{code}")).await;
    check(&page, StatusCode::OK);
    assert!(page.text.contains("acme 有限公司"));
    assert!(page.text.contains("data-status=\"revoked\""));
    assert!(page.text.contains("id=\"verify-checks\""));
    let page = client.get(&format!("/v/{unknown}")).await;
    check(&page, StatusCode::NOT_FOUND);
    assert!(page.text.contains("id=\"verdict-unknown\""));
    let page = client.get(&format!("/v/{typo}")).await;
    check(&page, StatusCode::OK);
    assert!(page.text.contains("id=\"verify-error\""));
    let seal_svg = client.get(&format!("/v/{code}/seal.svg")).await;
    check(&seal_svg, StatusCode::OK);
    assert!(seal_svg.text.starts_with("<svg"));
    check(
        &client.get(&format!("/v/{code}/thumbnail.jpg")).await,
        StatusCode::NOT_FOUND,
    );
}

on_both_engines!(verification_story: verification_works_on_sqlite, verification_works_on_postgres);

/// Thumbnails only when the organisation publishes them; verification is rate-limited
/// per address.
#[tokio::test]
async fn thumbnails_and_rate_limits() {
    let server = TestServer::spawn_with(|c| c.proofs.verify_per_address_per_minute = 8).await;
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 1).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);
    let jpeg = photo(image::ImageFormat::Jpeg);
    let answer = device
        .events(vec![device.press(
            1,
            &grant,
            json!({"photo": STANDARD.encode(&jpeg)}),
        )])
        .await;
    check(&answer, StatusCode::OK);
    let code = text(&stamps(&o.employee, &order).await[0]["code"]);
    let client = server.client();
    check(
        &client.get(&format!("/v/{code}/thumbnail.jpg")).await,
        StatusCode::NOT_FOUND,
    );
    check(
        &o.employee
            .put("/api/v1/org/verification", json!({"thumbnail": true}))
            .await,
        StatusCode::FORBIDDEN,
    );
    let set = o
        .admin
        .put("/api/v1/org/verification", json!({"thumbnail": true}))
        .await;
    check(&set, StatusCode::OK);
    assert_eq!(
        o.admin.get("/api/v1/org/verification").await.body["thumbnail"],
        true
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await; // the answer cache
    let thumb = client.get(&format!("/v/{code}/thumbnail.jpg")).await;
    check(&thumb, StatusCode::OK);
    assert_eq!(thumb.headers["content-type"], "image/jpeg");
    let v = verify(&server, &code).await;
    assert_eq!(
        v.body["thumbnail_url"],
        format!("/v/{code}/thumbnail.jpg").as_str()
    );

    let mut limited = None;
    for _ in 0..10 {
        let answer = verify(&server, &code).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(answer);
            break;
        }
    }
    let limited = limited.expect("the per-address limit answers 429");
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.headers.contains_key("retry-after"));
}
