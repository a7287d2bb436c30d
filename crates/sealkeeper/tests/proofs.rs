//! Stamp proofs from the command line, with real processes over loopback: `sealkeeper
//! serve` on a fresh SQLite folder, stamps made through the real flow (an application
//! approved over the JSON API, a seal box run by `sealkeeper device simulate`), then
//! `sealkeeper verify` in every form (offline token, code and numeric code online, the
//! QR URL, a photo of the QR code, a document, a cached checkpoint; tampered tokens,
//! mistyped codes and revoked stamps), `sealkeeper log verify` on the server's database
//! (intact, then with one entry changed behind the server's back) and `sealkeeper log
//! monitor` following the server. A fake server that forks and rolls back its log makes
//! `log monitor` and `verify fetch` exit 2.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use seal_proof::SigningKey;
use seal_proof::keyset::{KeySet, LogKey};
use seal_proof::merkle::MemoryTree;
use seal_proof::note::{Checkpoint, NoteVerifier, sign_checkpoint};
use seal_proof::qr_payload::QrPayload;
use serde_json::{Value, json};

// ----- processes ----------------------------------------------------------------------

/// How a CLI run ended.
struct Run {
    args: Vec<String>,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{self}");
        self
    }

    #[track_caller]
    fn says(&self, text: &str) -> &Self {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}\n{self}");
        self
    }

    #[track_caller]
    fn complains(&self, text: &str) -> &Self {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}\n{self}");
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sealkeeper {}\nexit {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `sealkeeper ARGS` to its end (blocking; inside async tests through
/// `block_in_place`).
fn cli<S: AsRef<str>>(args: &[S]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    let output = tokio::task::block_in_place(|| {
        sealkeeper()
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("sealkeeper runs")
    });
    Run {
        args,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A one-page PDF with a correct cross-reference table; `mark` makes it unique.
fn tiny_pdf(mark: &str) -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /SK ({mark}) >>"
        ),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// An approved application for `count` presses of `seal` with `document`, open now.
/// Returns (id, number).
async fn approved(o: &Org, seal: &str, count: i64, document: Vec<u8>) -> (String, String) {
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let answer = o
        .employee
        .post(
            "/api/v1/applications",
            json!({
                "seal_id": seal,
                "stamp_kind": "ordinary",
                "title": "采购合同盖章",
                "reason": "与供应商签订年度采购合同",
                "count": count,
                "from": rfc3339(now - 3600),
                "until": rfc3339(now + 2 * 86_400),
            }),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    let id = text(&answer.body["id"]);
    let number = text(&answer.body["number"]);
    let uploaded = o
        .employee
        .upload(
            &format!("/api/v1/applications/{id}/documents?name=contract.pdf"),
            document,
        )
        .await;
    check(&uploaded, StatusCode::CREATED);
    let submitted = o
        .employee
        .post(&format!("/api/v1/applications/{id}/submit"), json!({}))
        .await;
    check(&submitted, StatusCode::OK);
    let decided = o
        .approver
        .post(
            &format!("/api/v1/applications/{id}/decision"),
            json!({"verdict": "approve", "comment": "同意"}),
        )
        .await;
    check(&decided, StatusCode::OK);
    (id, number)
}

/// `sealkeeper device simulate` running `script` with its state in `state`.
fn simulate(server: &str, state: &Path, token: Option<&str>, script: &str) -> Proc {
    let file = state.with_extension(format!(
        "script-{}.txt",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::write(&file, script).expect("script written");
    let mut command = sealkeeper();
    command
        .args(["device", "simulate", "--server", server, "--state"])
        .arg(state)
        .arg("--script")
        .arg(&file)
        .args(["--photo-kb", "8"])
        .env("RUST_LOG", "warn");
    if let Some(token) = token {
        command.args(["--token", token]);
    }
    Proc::spawn("simulator", command)
}

/// The stamps of an application (oldest first by sequence number).
async fn stamps(api: &Api, application: &str) -> Vec<Value> {
    let answer = api
        .get(&format!("/api/v1/applications/{application}/stamps"))
        .await;
    check(&answer, StatusCode::OK);
    let mut list = answer.body.as_array().expect("stamps").clone();
    list.sort_by_key(|s| s["seq"].as_i64());
    list
}

/// A picture of a QR code of `text`, 6 pixels a module, grey on a light background.
fn qr_image(text: &str) -> image::GrayImage {
    let symbol = seal_docs::qr::QrSymbol::encode(text, 40).expect("encodes");
    let quiet = (symbol.side_with_quiet_zone() - symbol.side_modules()) / 2;
    let scale = 6;
    let side = symbol.side_with_quiet_zone() * scale + 40;
    image::GrayImage::from_fn(side, side, |x, y| {
        let module = |p: u32| (p.checked_sub(20)? / scale).checked_sub(quiet);
        let dark = match (module(x), module(y)) {
            (Some(mx), Some(my)) => symbol.is_dark(mx, my),
            _ => false,
        };
        image::Luma([if dark { 30 } else { 235 }])
    })
}

/// [`qr_image`] as a PNG.
fn qr_png(text: &str) -> Vec<u8> {
    let image = qr_image(text);
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// An A4 page with [`qr_image`] of `text` drawn 5 cm wide near its top right corner (an
/// uncompressed grey image XObject).
fn qr_pdf(text: &str) -> Vec<u8> {
    let image = qr_image(text);
    let (width, height) = image.dimensions();
    let pixels = image.into_raw();
    let content = b"q 142 0 0 142 400 650 cm /Im1 Do Q\n".to_vec();
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
           /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>"
            .to_vec(),
        [
            format!(
                "<< /Type /XObject /Subtype /Image /Width {width} /Height {height} \
                 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length {} >>\nstream\n",
                pixels.len()
            )
            .into_bytes(),
            pixels,
            b"\nendstream".to_vec(),
        ]
        .concat(),
        [
            format!("<< /Length {} >>\nstream\n", content.len()).into_bytes(),
            content,
            b"\nendstream".to_vec(),
        ]
        .concat(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(object);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// Changes the last byte of the log entry at `index` in the SQLite file, dropping the
/// trigger that keeps the log append-only.
async fn tamper_with_entry(db: &Path, index: u64) {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("the database opens");
    sqlx::query("DROP TRIGGER log_entries_no_update")
        .execute(&mut conn)
        .await
        .expect("trigger dropped");
    let index = i64::try_from(index).unwrap();
    let row = sqlx::query("SELECT entry FROM log_entries WHERE idx = $1")
        .bind(index)
        .fetch_one(&mut conn)
        .await
        .expect("the entry");
    let mut entry: Vec<u8> = row.get("entry");
    *entry.last_mut().unwrap() ^= 0x01;
    sqlx::query("UPDATE log_entries SET entry = $1 WHERE idx = $2")
        .bind(entry)
        .bind(index)
        .execute(&mut conn)
        .await
        .expect("entry changed");
    conn.close().await.expect("closed");
}

fn check_names(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| text(&c["check"]))
        .collect()
}

#[track_caller]
fn all_passed(report: &Value) {
    for c in report["checks"].as_array().expect("checks") {
        assert_eq!(c["passed"], true, "{report:#}");
    }
}

// ----- the story ----------------------------------------------------------------------

/// Stamps made by a simulated seal box, verified every way the CLI offers; the log
/// verified from the database and monitored from outside; then one entry changed in the
/// database is found at its index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stamps_and_the_log_verify_from_the_command_line() {
    let server = Server::start().await;
    let base = server.base.clone();
    let o = org(&server).await;
    let seal = o
        .admin
        .post(
            "/api/v1/seals",
            json!({"name": "合同专用章", "kind": "seal_box", "seal_type": "contract", "level": 2}),
        )
        .await;
    check(&seal, StatusCode::CREATED);
    let seal = text(&seal.body["id"]);
    let contract = tiny_pdf("first");
    let (application, number) = approved(&o, &seal, 2, contract.clone()).await;
    let token = o
        .admin
        .post(
            "/api/v1/device-enrolment-tokens",
            json!({"kind": "seal_box", "note": "模拟设备"}),
        )
        .await;
    check(&token, StatusCode::CREATED);
    let token = text(&token.body["token"]);

    // Two presses through the real flow.
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("device");
    let mut sim = simulate(
        &base,
        &state,
        Some(&token),
        &format!(
            "wait-approval 30\ntemplate fingerprint alice-fp\nunlock {number} fingerprint:alice-fp\nexpect unlocked\npress 2\n"
        ),
    );
    let enrolled = sim
        .line("its enrolment", |l| l.starts_with("ok enrol "), WAIT)
        .await;
    let device = enrolled
        .split_whitespace()
        .find_map(|w| w.strip_prefix("device_id="))
        .expect("device_id")
        .to_owned();
    let bound = o
        .admin
        .patch(
            &format!("/api/v1/devices/{device}"),
            json!({"seal_id": seal}),
        )
        .await;
    check(&bound, StatusCode::OK);
    let approved_device = o
        .admin
        .post(&format!("/api/v1/devices/{device}/approve"), json!({}))
        .await;
    check(&approved_device, StatusCode::OK);
    sim.succeed().await;
    let made = stamps(&o.employee, &application).await;
    assert_eq!(made.len(), 2, "{made:#?}");
    let code = text(&made[0]["code"]);
    let numeric = text(&made[0]["numeric_code"]);
    let second = text(&made[1]["code"]);

    // The log's origin (the key name of its checkpoints), as the server publishes it.
    let published = o.employee.get("/.well-known/sealkeeper/keys.json").await;
    check(&published, StatusCode::OK);
    let origin = text(&published.body["log"]["origin"]);
    let vkey = text(&published.body["log"]["vkey"]);

    // The monitor pins the log key and the current checkpoint.
    let monitor_state = tmp.path().join("monitor.json");
    let monitor_state = monitor_state.to_str().unwrap();
    cli(&["log", "monitor", &base, "--state", monitor_state, "--once"])
        .expect(0)
        .says(&format!("✓ pinned log key {vkey};"));

    // Keys and checkpoint cached for offline use.
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().unwrap();
    cli(&["verify", "fetch", &base, "--out", cache])
        .expect(0)
        .says(&format!(
            "keys.json: 1 organisation key, log {origin} ({vkey})"
        ))
        .says("(signature verified)");
    let keys_file = format!("{cache}/keys.json");
    let cached = std::fs::read_to_string(format!("{cache}/checkpoint")).unwrap();
    assert!(cached.starts_with(&format!("{origin}\n")), "{cached}");
    KeySet::from_json(&std::fs::read_to_string(&keys_file).unwrap()).expect("a key set");

    // Online by code: every check made here, against the cached keys and checkpoint.
    let run = cli(&[
        "verify",
        &code,
        "--online",
        &base,
        "--keys",
        cache,
        "--checkpoint",
        cache,
    ]);
    run.expect(0)
        .says(&format!("Stamp {code}"))
        .says("✓ signature: the token's signature verifies")
        .says(&format!("✓ checkpoint: signed by the log {origin}, size "))
        .says("✓ inclusion: entry ")
        .says("✓ log_entry: entry ")
        .says("✓ status: valid (no status change in the log)")
        .says("✓ consistency: the cached checkpoint")
        .says("Acme 有限公司")
        .says("Result: GENUINE and VALID");
    assert!(!run.stdout.contains('✗'), "{run}");

    // The same as JSON, by the numeric code, with the server's own key set.
    let run = cli(&["verify", &numeric, "--online", &base, "--json"]);
    let report = run.expect(0).json();
    all_passed(&report);
    assert_eq!(report["verdict"], "valid");
    assert_eq!(report["status"], "valid");
    assert_eq!(report["form"], "numeric_code");
    assert_eq!(report["stamp"]["code"], code.as_str());
    assert_eq!(report["stamp"]["organisation"], "Acme 有限公司");
    assert_eq!(report["stamp"]["seal"], "合同专用章");
    assert_eq!(report["stamp"]["seal_id"], seal.as_str());
    for name in [
        "record",
        "token",
        "key",
        "key_time",
        "signature",
        "token_matches",
        "checkpoint",
        "inclusion",
        "log_entry",
        "status",
    ] {
        assert!(
            check_names(&report).iter().any(|c| c == name),
            "{name}: {report:#}"
        );
    }

    // The QR code's URL form names its server itself.
    cli(&["verify", &format!("{base}/V/{code}")])
        .expect(0)
        .says("Result: GENUINE and VALID");

    // Without a server, a code cannot be checked; a mistyped numeric code is caught by
    // its check digit before anything is asked.
    cli(&["verify", &code])
        .expect(1)
        .says("✗ online: this code names a stamp kept on a server")
        .says("NOT VERIFIED");
    let mut typo = numeric.clone();
    let last = typo.pop().and_then(|c| c.to_digit(10)).unwrap();
    typo.push(char::from_digit((last + 1) % 10, 10).unwrap());
    cli(&["verify", &typo, "--online", &base])
        .expect(1)
        .says("the check digit does not match: a digit is mistyped");

    // The offline token, from the verification answer, against the cached keys.
    let answer = o.employee.get(&format!("/api/v1/verify/{code}")).await;
    check(&answer, StatusCode::OK);
    let entry_index = answer.body["entries"][0]["index"].as_u64().expect("index");
    let token_bytes = URL_SAFE_NO_PAD
        .decode(text(&answer.body["token"]))
        .expect("base64url");
    let offline = QrPayload::Token(token_bytes.clone()).format();
    let contract_file = tmp.path().join("contract.pdf");
    std::fs::write(&contract_file, &contract).unwrap();
    let contract_file = contract_file.to_str().unwrap();
    cli(&[
        "verify",
        &offline,
        "--keys",
        &keys_file,
        "--document",
        contract_file,
    ])
    .expect(0)
    .says(&format!("Stamp {code}"))
    .says("✓ key: published key ")
    .says("✓ key_time: the key was signing at the stamp's time")
    .says("✓ signature: the token's signature verifies")
    .says("✓ document: ")
    .says("Acme 有限公司")
    .says(&seal)
    .says("Result: GENUINE (offline: revocation not checked)");
    let other_file = tmp.path().join("other.pdf");
    std::fs::write(&other_file, tiny_pdf("other")).unwrap();
    cli(&[
        "verify",
        &offline,
        "--keys",
        cache,
        "--document",
        other_file.to_str().unwrap(),
    ])
    .expect(1)
    .says("✗ document: ")
    .says("is not the stamped document");
    // An SK1: token needs a key set or a server.
    cli(&["verify", &offline]).expect(1).says("✗ keys: ");

    // A token with one byte changed does not verify.
    let mut tampered = token_bytes.clone();
    *tampered.last_mut().unwrap() ^= 0x01;
    let tampered = QrPayload::Token(tampered).format();
    let run = cli(&["verify", &tampered, "--keys", &keys_file, "--json"]);
    let report = run.expect(1).json();
    assert_eq!(report["verdict"], "not_verified");
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["check"], "signature");
    assert_eq!(report["stamp"]["verified"], false);

    // A photo of the offline QR code.
    let photo = tmp.path().join("photo.png");
    std::fs::write(&photo, qr_png(&offline)).unwrap();
    cli(&["verify", photo.to_str().unwrap(), "--keys", cache])
        .expect(0)
        .says(&format!("Stamp {code}"))
        .says("Result: GENUINE (offline: revocation not checked)");
    // A PDF page showing the QR code's URL form: checked online at that URL.
    let page = tmp.path().join("stamped.pdf");
    std::fs::write(&page, qr_pdf(&format!("{base}/V/{code}"))).unwrap();
    let report = cli(&["verify", page.to_str().unwrap(), "--keys", cache, "--json"])
        .expect(0)
        .json();
    assert_eq!(report["form"], "url");
    assert_eq!(report["verdict"], "valid");
    assert_eq!(report["server"], base.as_str());
    let blank = tmp.path().join("blank.png");
    std::fs::write(&blank, qr_png("not a stamp")).unwrap();
    cli(&["verify", blank.to_str().unwrap(), "--keys", cache])
        .expect(1)
        .complains("no stamp QR code found (1 other QR code found)");

    // The log, recomputed from the database while the server runs (small chunks cross
    // many chunk boundaries).
    let data = server.data_dir();
    cli(&["log", "verify", "--data", &data])
        .expect(0)
        .says("✓ log verified: ")
        .says(&format!("origin  {origin}\n"));
    cli(&["log", "verify", "--data", &data, "--chunk", "3"]).expect(0);

    // A revoked stamp is genuine but not valid (exit 3); the revocation is new log
    // entries, which the monitor sees as a consistent extension.
    let revoked = o
        .admin
        .post(
            &format!("/api/v1/stamps/{}/status", text(&made[1]["id"])),
            json!({"status": "revoked", "note": "合同作废"}),
        )
        .await;
    check(&revoked, StatusCode::OK);
    let run = cli(&["verify", &second, "--online", &base, "--json"]);
    let report = run.expect(3).json();
    all_passed(&report);
    assert_eq!(report["verdict"], "revoked");
    assert_eq!(report["status"], "revoked");
    assert!(report["status_since"].is_string(), "{report:#}");
    cli(&["verify", &second, "--online", &base])
        .expect(3)
        .says("✓ status: revoked (log entry ")
        .says("Result: GENUINE but REVOKED");

    // A new stamp, then the monitor's second round proves the log only grew.
    let (application2, number2) = approved(&o, &seal, 1, tiny_pdf("second")).await;
    simulate(
        &base,
        &state,
        None,
        &format!(
            "template fingerprint alice-fp\nunlock {number2} fingerprint:alice-fp\nexpect unlocked\npress 1\n"
        ),
    )
    .succeed()
    .await;
    let third = stamps(&o.employee, &application2).await;
    assert_eq!(third.len(), 1);
    // Verifying it makes the server sign a checkpoint that covers it.
    cli(&["verify", &text(&third[0]["code"]), "--online", &base])
        .expect(0)
        .says("✓ inclusion: ");
    let run = cli(&["log", "monitor", &base, "--state", monitor_state, "--once"]);
    run.expect(0)
        .says("signature and consistency proof verified");
    let pinned: Value =
        serde_json::from_str(&std::fs::read_to_string(monitor_state).unwrap()).unwrap();
    assert_eq!(text(&pinned["vkey"]), vkey);
    assert!(text(&pinned["checkpoint"]).starts_with(&format!("{origin}\n")));
    // The cache follows too, consistently.
    cli(&["verify", "fetch", &base, "--out", cache])
        .expect(0)
        .says("consistent with the size ");

    // One entry's bytes changed behind the server's back: found at its index.
    let data = server.stop();
    let db = data.path().join("sealkeeper.db");
    let data_text = data.path().display().to_string();
    cli(&["log", "verify", "--data", &data_text]).expect(0);
    tamper_with_entry(&db, entry_index).await;
    let run = cli(&["log", "verify", "--data", &data_text]);
    run.expect(1).says(&format!(
        "✗ the log diverges at entry {entry_index}: the entry's bytes do not hash to its stored leaf hash"
    ));
    // A folder without a database is refused, and none is created.
    let empty = tempfile::tempdir().unwrap();
    cli(&["log", "verify", "--data", empty.path().to_str().unwrap()])
        .expect(1)
        .complains("no database at ");
    assert!(!empty.path().join("sealkeeper.db").exists());
}

// ----- a log that forks and rolls back ------------------------------------------------

const ORIGIN: &str = "fake.example/sealkeeper";

/// What the fake server serves.
struct FakeLog {
    keys_json: String,
    checkpoint: String,
    /// The tree consistency proofs come from.
    tree: MemoryTree,
}

/// A tree of `n` entries: the first `shared` the same in every history, the rest
/// particular to `history`.
fn tree(history: &str, shared: u64, n: u64) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for i in 0..n {
        let entry = if i < shared {
            format!("entry {i}")
        } else {
            format!("entry {i} of {history}")
        };
        tree.append_entry(entry.as_bytes()).unwrap();
    }
    tree
}

fn keys_json(log_key: &SigningKey) -> String {
    KeySet {
        issuer: "http://fake.example".to_owned(),
        generated_at: "2026-01-01T00:00:00Z".to_owned(),
        log: Some(LogKey {
            origin: ORIGIN.to_owned(),
            vkey: NoteVerifier::new(ORIGIN, log_key.public_key())
                .unwrap()
                .to_vkey(),
        }),
        keys: Vec::new(),
    }
    .to_json()
    .unwrap()
}

/// The checkpoint of `tree` at `size`, signed by `key`.
fn checkpoint(tree: &MemoryTree, size: u64, key: &SigningKey) -> String {
    let root = tree.root_at(size).unwrap();
    sign_checkpoint(&Checkpoint::new(ORIGIN, size, root), ORIGIN, key).unwrap()
}

/// A plain HTTP/1.1 server on loopback answering the three endpoints the monitor asks.
fn fake_server(log: Arc<Mutex<FakeLog>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let request = String::from_utf8_lossy(&request);
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let (status, media, body) = {
                let log = log.lock().unwrap();
                if path == "/.well-known/sealkeeper/keys.json" {
                    ("200 OK", "application/json", log.keys_json.clone())
                } else if path == "/log/checkpoint" {
                    (
                        "200 OK",
                        "text/plain; charset=utf-8",
                        log.checkpoint.clone(),
                    )
                } else if let Some(query) = path.strip_prefix("/log/proof/consistency?") {
                    let number = |key: &str| {
                        query
                            .split('&')
                            .find_map(|p| p.strip_prefix(key)?.strip_prefix('='))
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(u64::MAX)
                    };
                    match log.tree.consistency_proof(number("from"), number("to")) {
                        Ok(proof) => {
                            let proof: Vec<String> =
                                proof.iter().map(|h| STANDARD.encode(h)).collect();
                            (
                                "200 OK",
                                "application/json",
                                json!({"proof": proof}).to_string(),
                            )
                        }
                        Err(_) => (
                            "422 Unprocessable Entity",
                            "application/json",
                            json!({"error": {"code": "invalid.log_range", "message": "no"}})
                                .to_string(),
                        ),
                    }
                } else {
                    ("404 Not Found", "text/plain", "not found".to_owned())
                }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: {media}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// The monitor against a log that grows, then rolls back, forks, lies in a proof,
/// changes its key and signs with a stranger's: every misbehaviour is caught, the
/// state survives it, and an honest log is followed again afterwards.
#[test]
fn the_monitor_catches_forks_and_rollbacks() {
    let key = SigningKey::generate();
    let honest = tree("honest", 20, 20);
    let forked = tree("forked", 4, 20);
    let log = Arc::new(Mutex::new(FakeLog {
        keys_json: keys_json(&key),
        checkpoint: checkpoint(&honest, 5, &key),
        tree: honest.clone(),
    }));
    let url = fake_server(Arc::clone(&log));
    let dir = tempfile::tempdir().unwrap();
    let state: PathBuf = dir.path().join("monitor.json");
    let state = state.to_str().unwrap().to_owned();
    let monitor = || cli_blocking(&["log", "monitor", &url, "--state", &state, "--once"]);
    let serve = |tree: &MemoryTree, size: u64, signer: &SigningKey| {
        let mut log = log.lock().unwrap();
        log.checkpoint = checkpoint(tree, size, signer);
        log.tree = tree.clone();
    };

    monitor()
        .expect(0)
        .says("✓ pinned log key fake.example/sealkeeper+")
        .says("checkpoint size 5");
    serve(&honest, 8, &key);
    monitor()
        .expect(0)
        .says("✓ checkpoint size 5 → 8: signature and consistency proof verified");
    monitor().expect(0).says("✓ checkpoint size 8: unchanged");

    // Rolled back to 6.
    serve(&honest, 6, &key);
    let run = monitor();
    run.expect(2)
        .says("✗ rollback: the log had 8 entries and now shows 6")
        .complains("FORKED OR WAS ROLLED BACK")
        .complains("evidence saved in ");
    let evidence: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".fork-"))
        .collect();
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    let saved = std::fs::read_to_string(&evidence[0]).unwrap();
    assert!(saved.contains(&checkpoint(&honest, 8, &key)), "{saved}");
    assert!(saved.contains("\n6\n"), "{saved}");

    // Another root for the same size.
    serve(&forked, 8, &key);
    monitor()
        .expect(2)
        .says("✗ fork: two different roots for size 8");
    // A larger tree of another history: its proof cannot lead from the pinned root.
    serve(&forked, 12, &key);
    monitor()
        .expect(2)
        .says("✗ fork: the consistency proof from size 8 to size 12 does not verify");

    // A checkpoint signed by a stranger, then a changed log key: refused (exit 1).
    let stranger = SigningKey::generate();
    serve(&honest, 12, &stranger);
    monitor()
        .expect(1)
        .complains("does not verify with the pinned log key");
    log.lock().unwrap().keys_json = keys_json(&stranger);
    monitor().expect(1).complains("the log key changed");

    // The honest log again: the state kept size 8 through all of it.
    log.lock().unwrap().keys_json = keys_json(&key);
    serve(&honest, 12, &key);
    monitor()
        .expect(0)
        .says("✓ checkpoint size 8 → 12: signature and consistency proof verified");

    // `verify fetch` keeps its cache consistent the same way.
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap().to_owned();
    cli_blocking(&["verify", "fetch", &url, "--out", &cache]).expect(0);
    serve(&honest, 15, &key);
    cli_blocking(&["verify", "fetch", &url, "--out", &cache])
        .expect(0)
        .says("consistent with the size 12 fetched before");
    serve(&honest, 9, &key);
    cli_blocking(&["verify", "fetch", &url, "--out", &cache])
        .expect(2)
        .says("✗ rollback: the log had 15 entries and now shows 9");
    let kept = std::fs::read_to_string(format!("{cache}/checkpoint")).unwrap();
    assert_eq!(
        kept,
        checkpoint(&honest, 15, &key),
        "the old files are kept"
    );

    // A server that is not there: an error, not a fork.
    drop(log);
    cli_blocking(&[
        "log",
        "monitor",
        "http://127.0.0.1:9",
        "--state",
        &format!("{state}.other"),
        "--once",
    ])
    .expect(1)
    .complains("cannot connect");
}

/// [`cli`] outside a runtime.
fn cli_blocking<S: AsRef<str>>(args: &[S]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    let output = sealkeeper()
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .expect("sealkeeper runs");
    Run {
        args,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
