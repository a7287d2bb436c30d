//! Devices end to end with real processes over loopback: `sealkeeper serve` on a fresh
//! SQLite folder, the people's side driven over the JSON API (cookie session and
//! `X-CSRF-Token`), and seal boxes and seal printers as `sealkeeper device simulate`
//! processes whose machine-readable stdout lines are checked. The stories: the happy path
//! from application to completed grant with photos; every unlock refusal the simulator
//! can meet; a replayed signed request; an offline outbox synchronised across a kill -9
//! without loss or duplicates; the alarms a device raises; a lock command obeyed at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// An order number no application has.
const UNKNOWN_ORDER: &str = "ACME-2099-999999";
/// The simulator's home position (People's Square, Shanghai) and Beijing.
const HOME: (f64, f64) = (31.2304, 121.4737);
const BEIJING: (f64, f64) = (39.9042, 116.4074);

static SCRIPTS: AtomicUsize = AtomicUsize::new(0);

/// `sealkeeper device simulate` against `server` with its devices in `state`, running
/// `script` (written next to the state folder).
fn simulate(server: &str, state: &Path, token: Option<&str>, script: &str, extra: &[&str]) -> Proc {
    let n = SCRIPTS.fetch_add(1, Ordering::SeqCst);
    let file = state
        .parent()
        .expect("the state folder has a parent")
        .join(format!("script-{n}.txt"));
    std::fs::write(&file, script).expect("script written");
    let mut command = sealkeeper();
    command
        .args(["device", "simulate", "--server", server, "--state"])
        .arg(state)
        .arg("--script")
        .arg(&file)
        .args(extra)
        .env("RUST_LOG", "warn");
    if let Some(token) = token {
        command.args(["--token", token]);
    }
    Proc::spawn(&format!("simulator {n}"), command)
}

/// Runs a script on an enrolled device to its end; it must succeed. Returns its lines.
async fn simulate_all(server: &str, state: &Path, script: &str, extra: &[&str]) -> Vec<String> {
    simulate(server, state, None, script, extra).succeed().await
}

/// The value of `key=` in a simulator line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

/// The lines that start with `prefix`.
fn starting<'a>(lines: &'a [String], prefix: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter(|l| l.starts_with(prefix))
        .map(String::as_str)
        .collect()
}

/// The (step, code) of every refusal line: `refused STEP code=CODE message=…`.
fn refusals(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("refused ")?;
            let step = rest.split_whitespace().next()?.to_owned();
            Some((step, field(l, "code")?.to_owned()))
        })
        .collect()
}

/// The simulator's first device folder.
fn device_dir(state: &Path) -> PathBuf {
    state.join("device-001")
}

/// Events waiting in a device's outbox on disk.
fn outbox_files(state: &Path) -> usize {
    match std::fs::read_dir(device_dir(state).join("outbox")) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count(),
        Err(_) => 0,
    }
}

/// An application: its id and its number (the work order a device unlocks with).
struct Order {
    id: String,
    number: String,
}

/// A window from an hour ago to two days from now.
fn open_window() -> (i64, i64) {
    let now = unix_now();
    (now - 3600, now + 2 * 86_400)
}

/// The employee files an application for `count` presses of `seal` in `window` (Unix
/// seconds) with one document, and submits it: it waits for the approver.
async fn filed(
    o: &Org,
    seal: &str,
    count: i64,
    window: (i64, i64),
    document: (&str, Vec<u8>),
) -> Order {
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
                "from": rfc3339(window.0),
                "until": rfc3339(window.1),
            }),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    let order = Order {
        id: text(&answer.body["id"]),
        number: text(&answer.body["number"]),
    };
    let uploaded = o
        .employee
        .upload(
            &format!(
                "/api/v1/applications/{}/documents?name={}",
                order.id, document.0
            ),
            document.1,
        )
        .await;
    check(&uploaded, StatusCode::CREATED);
    let submitted = o
        .employee
        .post(
            &format!("/api/v1/applications/{}/submit", order.id),
            json!({}),
        )
        .await;
    check(&submitted, StatusCode::OK);
    assert_eq!(submitted.body["status"], "in_review");
    order
}

async fn approve(o: &Org, order: &Order) {
    let answer = o
        .approver
        .post(
            &format!("/api/v1/applications/{}/decision", order.id),
            json!({"verdict": "approve", "comment": "同意"}),
        )
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "approved", "{:#}", answer.body);
}

/// An approved application for `count` presses of `seal`, with a PDF, open now.
async fn approved(o: &Org, seal: &str, count: i64) -> Order {
    let order = filed(o, seal, count, open_window(), ("contract.pdf", tiny_pdf())).await;
    approve(o, &order).await;
    order
}

async fn application(api: &Api, order: &Order) -> Value {
    let answer = api.get(&format!("/api/v1/applications/{}", order.id)).await;
    check(&answer, StatusCode::OK);
    answer.body
}

async fn stamps(api: &Api, order: &Order) -> Vec<Value> {
    let answer = api
        .get(&format!("/api/v1/applications/{}/stamps", order.id))
        .await;
    check(&answer, StatusCode::OK);
    list(&answer.body)
}

/// A one-time enrolment token (`sket_…`) for a kind of device.
async fn enrolment_token(admin: &Api, kind: &str) -> String {
    let answer = admin
        .post(
            "/api/v1/device-enrolment-tokens",
            json!({"kind": kind, "note": "模拟设备"}),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    text(&answer.body["token"])
}

/// Binds a device to a seal (before approval, so the device never runs unbound).
async fn bind(admin: &Api, device: &str, seal: &str) {
    let answer = admin
        .patch(
            &format!("/api/v1/devices/{device}"),
            json!({"seal_id": seal}),
        )
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["seal_id"], seal);
}

async fn approve_device(admin: &Api, device: &str) {
    let answer = admin
        .post(&format!("/api/v1/devices/{device}/approve"), json!({}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "active");
}

/// Waits for the simulator's enrolment line, then binds the device to `seal` and
/// approves it (the script is waiting for approval). Returns the device id.
async fn admit(sim: &mut Proc, admin: &Api, seal: &str) -> String {
    let line = sim
        .line("its enrolment", |l| l.starts_with("ok enrol "), WAIT)
        .await;
    assert_eq!(field(&line, "status"), Some("pending"), "{line}");
    let device = field(&line, "device_id").expect("device_id").to_owned();
    bind(admin, &device, seal).await;
    approve_device(admin, &device).await;
    device
}

/// `GET /api/v1/devices/{id}`: the device and its recent stamps, commands, unlocks, alarms.
async fn device_detail(admin: &Api, device: &str) -> Value {
    let answer = admin.get(&format!("/api/v1/devices/{device}")).await;
    check(&answer, StatusCode::OK);
    answer.body
}

/// The device's alarms (any status).
async fn alarms(admin: &Api, device: &str) -> Vec<Value> {
    let answer = admin
        .get(&format!("/api/v1/alarms?device_id={device}&per_page=100"))
        .await;
    check(&answer, StatusCode::OK);
    list(&answer.body)
}

/// The kinds of the device's alarms.
async fn alarm_kinds(admin: &Api, device: &str) -> BTreeSet<String> {
    alarms(admin, device)
        .await
        .iter()
        .map(|a| text(&a["kind"]))
        .collect()
}

fn kinds(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|k| (*k).to_owned()).collect()
}

async fn audit_count(admin: &Api, action: &str) -> i64 {
    let answer = admin
        .get(&format!("/api/v1/audit-events?action={action}"))
        .await;
    check(&answer, StatusCode::OK);
    answer.body["total"].as_i64().expect("total")
}

// ----- documents ----------------------------------------------------------------------

/// A one-page PDF with a correct cross-reference table.
fn tiny_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
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

/// The first page of generated document `index` (0: a Chinese contract, 1: an English
/// letter) as a 150-dpi PNG: a page the comparison engine reads like a real one.
fn text_page(index: usize) -> Vec<u8> {
    seal_corpus::sample::SampleDocument::new(7, index)
        .expect("fonts for the sample document (cargo xtask setup)")
        .page_png(0, 150)
        .expect("the page renders")
}

// ----- a proxy that holds answers back ------------------------------------------------

/// A TCP proxy in front of the server that passes every request through but never
/// delivers the answer to a `POST /device/v1/events`: the server has stored the batch,
/// the device is left waiting for its acknowledgement. Each held answer is reported on
/// `held`.
struct HoldingProxy {
    url: String,
    held: mpsc::UnboundedReceiver<()>,
    /// The device's side of the held connections, kept open (a closed connection would
    /// make the device retry at once).
    _kept: Arc<Mutex<Vec<TcpStream>>>,
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

impl HoldingProxy {
    fn start(upstream: SocketAddr) -> HoldingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (report, held) = mpsc::unbounded_channel();
        let kept = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&kept);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let events = Arc::new(AtomicBool::new(false));
                // Device → server: note an events request before passing it on.
                let (mut from, mut to) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let seen = Arc::clone(&events);
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut tail: Vec<u8> = Vec::new();
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        tail.extend_from_slice(&buf[..n]);
                        if contains(&tail, b"POST /device/v1/events ") {
                            seen.store(true, Ordering::SeqCst);
                        }
                        let keep_from = tail.len().saturating_sub(32);
                        tail.drain(..keep_from);
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                });
                // Server → device: pass on, unless it answers an events request.
                let (mut from, mut to) = (server, client);
                let report = report.clone();
                let keep = Arc::clone(&keep);
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if events.load(Ordering::SeqCst) {
                            let _ = report.send(());
                            keep.lock().unwrap().push(to);
                            // Swallow the rest of the answer.
                            while matches!(from.read(&mut buf), Ok(n) if n > 0) {}
                            return;
                        }
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        });
        HoldingProxy {
            url,
            held,
            _kept: kept,
        }
    }
}

// ----- the stories --------------------------------------------------------------------

/// Apply → approve → enrol, bind and approve the seal box → unlock with the order number
/// and the fingerprint the level-2 seal demands → three presses with photos → the box
/// locks itself and refuses a fourth press → the application is completed, the grant
/// consumed, and each of the three stamps has a photo that downloads as a JPEG.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_from_application_to_completed_grant() {
    let server = Server::start().await;
    let o = org(&server).await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let order = approved(&o, &seal_id, 3).await;
    let token = enrolment_token(&o.admin, "seal_box").await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    let n = &order.number;
    let script = format!(
        "wait-approval 30
         template fingerprint alice-fp
         # the wrong finger and a PIN do not satisfy level 2: the box stays locked
         unlock {n} fingerprint:mallory-fp
         expect refused factors.not_satisfied
         unlock {n} pin:1234
         expect refused factors.not_satisfied
         expect locked
         unlock {n} fingerprint:alice-fp
         expect unlocked
         expect uses 3
         press 3
         expect locked
         press
         expect refused press.locked
         status
         "
    );
    let mut sim = simulate(
        &server.base,
        &state,
        Some(&token),
        &script,
        &["--photo-kb", "16"],
    );
    let device = admit(&mut sim, &o.admin, &seal_id).await;
    let lines = sim.succeed().await;

    let unlocked = starting(&lines, "ok unlock ");
    assert_eq!(unlocked.len(), 1, "{lines:#?}");
    assert_eq!(field(unlocked[0], "order"), Some(n.as_str()));
    assert_eq!(field(unlocked[0], "uses"), Some("3"));
    assert_eq!(field(unlocked[0], "factors"), Some("fingerprint"));
    let presses: Vec<(String, String, String, String)> = starting(&lines, "ok press ")
        .iter()
        .map(|l| {
            let f = |k| field(l, k).unwrap_or("?").to_owned();
            (f("seq"), f("uses_left"), f("locked"), f("buffered"))
        })
        .collect();
    let s = |v: &str| v.to_owned();
    assert_eq!(
        presses,
        vec![
            (s("1"), s("2"), s("false"), s("0")),
            (s("2"), s("1"), s("false"), s("0")),
            (s("3"), s("0"), s("true"), s("0")),
        ],
        "{lines:#?}"
    );
    assert_eq!(
        refusals(&lines),
        vec![
            (s("unlock"), s("factors.not_satisfied")),
            (s("unlock"), s("factors.not_satisfied")),
            (s("press"), s("press.locked")),
        ]
    );
    let status = starting(&lines, "ok status ");
    assert_eq!(field(status[0], "device_id"), Some(device.as_str()));
    assert_eq!(field(status[0], "locked"), Some("true"));
    assert_eq!(
        field(status[0], "next_seq"),
        Some("4"),
        "the refused press used no number"
    );

    // The people's side.
    let view = application(&o.employee, &order).await;
    assert_eq!(view["status"], "completed", "{view:#}");
    assert_eq!(view["uses_done"], 3);
    assert_eq!(view["grant"]["status"], "consumed", "{view:#}");
    let recorded = stamps(&o.employee, &order).await;
    let mut seqs: Vec<i64> = recorded
        .iter()
        .map(|s| s["seq"].as_i64().expect("seq"))
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, vec![1, 2, 3], "{recorded:#?}");
    for stamp in &recorded {
        assert_eq!(stamp["kind"], "press");
        assert_eq!(stamp["device_id"], device.as_str());
        assert_eq!(stamp["seal_id"], seal_id.as_str());
        assert_eq!(stamp["beyond_grant"], false);
        assert_eq!(stamp["factors"], json!(["fingerprint"]));
        assert_eq!(stamp["has_photo"], true, "{stamp:#}");
        let (status, media, photo) = o
            .employee
            .bytes(&format!(
                "/api/v1/applications/{}/stamps/{}/photo",
                order.id,
                text(&stamp["id"])
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(media, "image/jpeg");
        assert!(photo.starts_with(&[0xFF, 0xD8, 0xFF]), "not a JPEG");
        let decoded = image::load_from_memory_with_format(&photo, image::ImageFormat::Jpeg)
            .expect("the photo decodes as a JPEG");
        assert!(decoded.width() > 16 && decoded.height() > 16);
    }
    assert!(
        alarms(&o.admin, &device).await.is_empty(),
        "an ordinary use raises no alarm"
    );
}

/// Every unlock refusal as the simulator meets it: an unknown order, one still in review,
/// one for another seal, one whose window has not begun, one whose presses are all made,
/// one whose grant was revoked (while the box was unlocked: the `cancel_grant` command
/// locks it), and a revoked device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unlock_refusal_reaches_the_simulator() {
    let server = Server::start().await;
    let o = org(&server).await;
    let seal_a = seal(&o.admin, "合同专用章", 2).await;
    let seal_b = seal(&o.admin, "财务专用章", 2).await;
    let in_review = filed(&o, &seal_a, 1, open_window(), ("contract.pdf", tiny_pdf())).await;
    let other_seal = approved(&o, &seal_b, 1).await;
    let now = unix_now();
    let later = filed(
        &o,
        &seal_a,
        1,
        (now + 86_400, now + 2 * 86_400),
        ("contract.pdf", tiny_pdf()),
    )
    .await;
    approve(&o, &later).await;
    let one = approved(&o, &seal_a, 1).await;
    let revoked = approved(&o, &seal_a, 2).await;
    let spare = approved(&o, &seal_a, 1).await;

    let token = enrolment_token(&o.admin, "seal_box").await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    let fp = "fingerprint:fp-1";
    let script = format!(
        "wait-approval 30
         template fingerprint fp-1
         unlock {UNKNOWN_ORDER} {fp}
         unlock {in_review} {fp}
         unlock {other_seal} {fp}
         unlock {later} {fp}
         unlock {one} {fp}
         press
         unlock {one} {fp}
         unlock {revoked} {fp}
         # the test revokes the grant now; the long-poll brings cancel_grant
         commands 20
         expect locked
         unlock {revoked} {fp}
         press
         ",
        in_review = in_review.number,
        other_seal = other_seal.number,
        later = later.number,
        one = one.number,
        revoked = revoked.number,
    );
    let mut sim = simulate(
        &server.base,
        &state,
        Some(&token),
        &script,
        &["--photo-kb", "0"],
    );
    let device = admit(&mut sim, &o.admin, &seal_a).await;
    let prefix = format!("ok unlock order={} ", revoked.number);
    sim.line("the unlock to be revoked", |l| l.starts_with(&prefix), WAIT)
        .await;
    let answer = o
        .admin
        .post(
            &format!("/api/v1/applications/{}/grant/revoke", revoked.id),
            json!({"reason": "合同取消"}),
        )
        .await;
    check(&answer, StatusCode::OK);
    let lines = sim.succeed().await;

    let s = |v: &str| v.to_owned();
    assert_eq!(
        refusals(&lines),
        vec![
            (s("unlock"), s("unlock.unknown_order")),
            (s("unlock"), s("unlock.not_approved")),
            (s("unlock"), s("unlock.wrong_seal")),
            (s("unlock"), s("unlock.outside_window")),
            // Every approved press made (docs/device-protocol.md: `no_uses_left`).
            (s("unlock"), s("unlock.no_uses_left")),
            // The grant was revoked (the application had been approved).
            (s("unlock"), s("unlock.grant_not_active")),
            (s("press"), s("press.locked")),
        ],
        "{lines:#?}"
    );
    let cancelled = starting(&lines, "ok command ");
    assert_eq!(cancelled.len(), 1, "{lines:#?}");
    assert_eq!(field(cancelled[0], "kind"), Some("cancel_grant"));
    assert_eq!(field(cancelled[0], "result"), Some("done"));
    assert_eq!(field(cancelled[0], "acked"), Some("true"));
    assert_eq!(application(&o.admin, &one).await["status"], "completed");
    assert_eq!(
        application(&o.admin, &revoked).await["grant"]["status"],
        "revoked"
    );

    // A revoked device: its very next request is refused; it may still ask who it is.
    let answer = o
        .admin
        .post(&format!("/api/v1/devices/{device}/revoke"), json!({}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "revoked");
    let lines = simulate_all(
        &server.base,
        &state,
        &format!(
            "unlock {} {fp}
             heartbeat
             refresh
             expect status revoked
             ",
            spare.number
        ),
        &[],
    )
    .await;
    assert_eq!(starting(&lines, "ok resume ").len(), 1, "{lines:#?}");
    let codes = refusals(&lines);
    assert_eq!(codes.len(), 2, "{lines:#?}");
    assert_eq!(codes[0].0, "unlock");
    assert!(
        ["unlock.device_not_active", "device.not_active"].contains(&codes[0].1.as_str()),
        "{lines:#?}"
    );
    assert_eq!(
        codes[1],
        (s("heartbeat"), s("device.not_active")),
        "{lines:#?}"
    );
    assert_eq!(
        field(starting(&lines, "ok refresh ")[0], "status"),
        Some("revoked")
    );
    assert_eq!(application(&o.admin, &spare).await["uses_done"], 0);

    // Every attempt is on the device's record.
    let mut outcomes: Vec<String> = list(&device_detail(&o.admin, &device).await["unlocks"])
        .iter()
        .map(|u| text(&u["outcome"]))
        .collect();
    outcomes.sort();
    let mut expected = vec![
        "unknown_order",
        "not_approved",
        "wrong_seal",
        "outside_window",
        "granted",
        "no_uses_left",
        "granted",
        "grant_not_active",
        "device_not_active",
    ];
    expected.sort_unstable();
    assert_eq!(outcomes, expected);
}

/// A request signed with the simulator's own key (read from its state folder), sent
/// twice: the second is refused as a replay and changes nothing. A fresh request with the
/// same content does have an effect, so the check could see one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_device_request_is_refused_and_changes_nothing() {
    use seal_proof::httpsig;

    let server = Server::start().await;
    let o = org(&server).await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let order = approved(&o, &seal_id, 1).await;
    let token = enrolment_token(&o.admin, "seal_box").await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    let mut sim = simulate(
        &server.base,
        &state,
        Some(&token),
        "wait-approval 30\n",
        &[],
    );
    let device = admit(&mut sim, &o.admin, &seal_id).await;
    sim.succeed().await;

    // The device's identity as the simulator keeps it.
    let dir = device_dir(&state);
    let key = seal_proof::SigningKey::from_bytes(
        &std::fs::read(dir.join("device.key")).expect("device.key"),
    )
    .expect("a 32-byte Ed25519 secret");
    let identity: Value =
        serde_json::from_slice(&std::fs::read(dir.join("identity.json")).expect("identity.json"))
            .expect("JSON");
    assert_eq!(identity["device_id"], device.as_str());

    let http = reqwest::Client::new();
    let sign = |path: &str, body: &Value| {
        let body = serde_json::to_vec(body).expect("json");
        let digest = httpsig::content_digest(&body);
        let headers = httpsig::sign(
            &key,
            &httpsig::Request {
                method: "POST",
                path,
                query: None,
                content_digest: &digest,
            },
            &httpsig::SignatureParams {
                created: unix_now(),
                nonce: httpsig::new_nonce(),
                keyid: device.clone(),
            },
        );
        http.post(format!("{}{path}", server.base))
            .header("content-type", "application/json")
            .header("content-digest", digest)
            .header("signature-input", headers.signature_input)
            .header("signature", headers.signature)
            .body(body)
    };
    let send = |request: &reqwest::RequestBuilder| {
        let request = request.try_clone().expect("a cloneable request");
        async move { Api::send(request).await }
    };

    // An unlock: granted once; its replay is refused and records no attempt.
    let nonce = httpsig::new_nonce();
    let unlock = sign(
        "/device/v1/unlock",
        &json!({"order": order.number, "device_time": unix_now() * 1000, "nonce": nonce}),
    );
    let answer = send(&unlock).await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["grant"]["nonce"], nonce.as_str());
    assert_eq!(answer.body["grant"]["device_id"], device.as_str());
    let replay = send(&unlock).await;
    check_error(&replay, StatusCode::UNAUTHORIZED, "device.signature.replay");
    let unlocks = list(&device_detail(&o.admin, &device).await["unlocks"]);
    assert_eq!(unlocks.len(), 1, "{unlocks:#?}");
    assert_eq!(unlocks[0]["outcome"], "granted");
    assert_eq!(audit_count(&o.admin, "device.unlocked").await, 1);

    // A heartbeat with the tamper sensor set: one occurrence; the replay adds none; a
    // freshly signed one does.
    let heartbeat = json!({
        "at": unix_now() * 1000,
        "battery_pct": 80,
        "position": {"lat": HOME.0, "lon": HOME.1, "accuracy_m": 8.0},
        "on_base": true,
        "tamper": true,
        "locked": true,
        "firmware": "1.0.0",
        "buffered_events": 0,
    });
    let first = sign("/device/v1/heartbeat", &heartbeat);
    check(&send(&first).await, StatusCode::OK);
    let occurrences = |alarms: Vec<Value>| {
        alarms
            .iter()
            .find(|a| a["kind"] == "tamper")
            .map(|a| a["occurrences"].as_i64().expect("occurrences"))
    };
    assert_eq!(occurrences(alarms(&o.admin, &device).await), Some(1));
    check_error(
        &send(&first).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.replay",
    );
    assert_eq!(occurrences(alarms(&o.admin, &device).await), Some(1));
    check(
        &send(&sign("/device/v1/heartbeat", &heartbeat)).await,
        StatusCode::OK,
    );
    assert_eq!(occurrences(alarms(&o.admin, &device).await), Some(2));
}

/// A box offline presses N times into its outbox, comes back online and is killed (-9)
/// while it waits for the acknowledgement of the first batch (the server has stored it;
/// a proxy holds the answer back). Restarted from the same state folder it sends the
/// outbox again: the first batch comes back as duplicates, the rest is stored. The server
/// holds exactly N stamps, seqs 1..=N, and the outbox is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_outbox_survives_a_kill_during_sync() {
    // More than one batch (100 events): the kill leaves one stored but unacknowledged
    // batch and one never sent.
    const N: usize = 150;
    let server = Server::start().await;
    let o = org(&server).await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let order = approved(&o, &seal_id, i64::try_from(N).expect("N")).await;
    let token = enrolment_token(&o.admin, "seal_box").await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    let mut proxy = HoldingProxy::start(server.addr);
    let script = format!(
        "wait-approval 30
         template fingerprint fp-1
         unlock {} fingerprint:fp-1
         offline
         press {N}
         expect buffered {N}
         online
         ",
        order.number
    );
    let mut sim = simulate(
        &proxy.url,
        &state,
        Some(&token),
        &script,
        &["--photo-kb", "0"],
    );
    let device = admit(&mut sim, &o.admin, &seal_id).await;
    let last = N.to_string();
    sim.line(
        "the last offline press",
        |l| l.starts_with("ok press ") && field(l, "seq") == Some(last.as_str()),
        WAIT,
    )
    .await;
    tokio::time::timeout(WAIT, proxy.held.recv())
        .await
        .expect("the simulator sent a batch of events")
        .expect("the proxy runs");
    let lines = sim.kill9().await;
    assert!(
        starting(&lines, "ok online").is_empty(),
        "killed before the synchronisation ended: {lines:#?}"
    );
    assert_eq!(starting(&lines, "ok press ").len(), N);
    assert!(
        starting(&lines, "ok press ")
            .iter()
            .all(|l| field(l, "buffered") == field(l, "seq")),
        "offline presses are only buffered"
    );
    // The server stored the first batch; the device never heard so and keeps everything.
    assert_eq!(stamps(&o.admin, &order).await.len(), 100);
    assert_eq!(outbox_files(&state), N);

    // Restarted (straight to the server): it resumes and sends the outbox first.
    let lines = simulate(&server.base, &state, None, "status\n", &[])
        .succeed()
        .await;
    let resumed = starting(&lines, "ok resume ");
    assert_eq!(resumed.len(), 1, "{lines:#?}");
    assert_eq!(field(resumed[0], "device_id"), Some(device.as_str()));
    assert_eq!(field(resumed[0], "buffered"), Some(N.to_string().as_str()));
    let synced = starting(&lines, "ok sync ");
    assert_eq!(synced.len(), 1, "{lines:#?}");
    assert_eq!(field(synced[0], "stored"), Some("50"), "{lines:#?}");
    assert_eq!(field(synced[0], "duplicates"), Some("100"), "{lines:#?}");
    assert_eq!(field(synced[0], "buffered"), Some("0"), "{lines:#?}");
    let status = starting(&lines, "ok status ");
    assert_eq!(field(status[0], "buffered"), Some("0"));
    assert_eq!(
        field(status[0], "next_seq"),
        Some((N + 1).to_string().as_str())
    );
    assert_eq!(outbox_files(&state), 0, "the outbox is empty");

    let recorded = stamps(&o.admin, &order).await;
    let mut seqs: Vec<i64> = recorded
        .iter()
        .map(|s| s["seq"].as_i64().expect("seq"))
        .collect();
    seqs.sort_unstable();
    let expected: Vec<i64> = (1..=i64::try_from(N).expect("N")).collect();
    assert_eq!(seqs, expected, "exactly one stamp per press");
    assert!(recorded.iter().all(|s| s["beyond_grant"] == false));
    let view = application(&o.admin, &order).await;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["uses_done"], i64::try_from(N).expect("N"));
    assert_eq!(view["grant"]["status"], "consumed");
    assert!(
        !alarm_kinds(&o.admin, &device)
            .await
            .contains("uses_exceeded"),
        "no press counted twice"
    );
}

/// The alarms a seal box raises, one step at a time (each a short simulator run resumed
/// from the same state folder): tamper, geofence, lifted, low battery (heartbeats), a
/// press held too long, and three refused unlocks; and a seal printer scanning a page
/// that is not the approved one raises `content_mismatch`.
///
/// Not here: `offline`. `devices.offline_after_seconds` can be set short, but the timer
/// that looks for silent devices runs with the housekeeping every 60 s
/// (`HOUSEKEEPING_EVERY`, a constant in seal-server's lib.rs, not configurable), which
/// would cost this file a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_device_raises_every_alarm_kind() {
    let server = Server::start().await;
    let o = org(&server).await;
    let seal_a = seal(&o.admin, "合同专用章", 2).await;
    let token = enrolment_token(&o.admin, "seal_box").await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    let mut sim = simulate(
        &server.base,
        &state,
        Some(&token),
        "wait-approval 30\nheartbeat\n",
        &["--photo-kb", "0"],
    );
    let line = sim
        .line("its enrolment", |l| l.starts_with("ok enrol "), WAIT)
        .await;
    let device = field(&line, "device_id").expect("device_id").to_owned();
    bind(&o.admin, &device, &seal_a).await;
    let answer = o
        .admin
        .patch(
            &format!("/api/v1/devices/{device}"),
            json!({
                "geofence": {"lat": HOME.0, "lon": HOME.1, "radius_m": 200},
                "parameters": {"heartbeat_seconds": 30, "press_max_ms": 3000, "low_battery_pct": 15},
            }),
        )
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["press_max_ms"], 3000);
    approve_device(&o.admin, &device).await;
    sim.succeed().await;
    // A healthy box at home raises nothing.
    assert_eq!(alarm_kinds(&o.admin, &device).await, kinds(&[]));

    let base = server.base.as_str();
    let steps: [(String, &[&str]); 4] = [
        ("tamper on\nheartbeat\ntamper off\n".into(), &["tamper"]),
        (
            format!("move {} {}\nheartbeat\nmove home\n", BEIJING.0, BEIJING.1),
            &["tamper", "geofence"],
        ),
        (
            "lift\nheartbeat\nplace\n".into(),
            &["tamper", "geofence", "lifted"],
        ),
        (
            "battery 5\nheartbeat\nbattery 100\n".into(),
            &["tamper", "geofence", "lifted", "low_battery"],
        ),
    ];
    for (script, expected) in steps {
        let lines = simulate_all(base, &state, &script, &[]).await;
        assert_eq!(starting(&lines, "ok heartbeat ").len(), 1, "{lines:#?}");
        assert_eq!(
            alarm_kinds(&o.admin, &device).await,
            kinds(expected),
            "after:\n{script}"
        );
    }
    let all = alarms(&o.admin, &device).await;
    let details = |kind: &str| {
        all.iter()
            .find(|a| a["kind"] == kind)
            .map(|a| text(&a["details"]))
            .unwrap_or_default()
    };
    assert!(details("geofence").contains("from home"), "{all:#?}");

    // A press held ten seconds (press_max_ms is 3000).
    let order = approved(&o, &seal_a, 1).await;
    let lines = simulate_all(
        base,
        &state,
        &format!(
            "template fingerprint fp-1\nunlock {} fingerprint:fp-1\npress 1 --hold-ms 10000\n",
            order.number
        ),
        &["--photo-kb", "0"],
    )
    .await;
    assert_eq!(
        field(starting(&lines, "ok press ")[0], "hold_ms"),
        Some("10000")
    );
    let found = alarms(&o.admin, &device).await;
    let long = found
        .iter()
        .find(|a| a["kind"] == "press_too_long")
        .unwrap_or_else(|| panic!("no press_too_long in {found:#?}"));
    assert_eq!(long["application_id"], order.id.as_str());
    assert_eq!(
        alarm_kinds(&o.admin, &device).await,
        kinds(&[
            "tamper",
            "geofence",
            "lifted",
            "low_battery",
            "press_too_long"
        ])
    );

    // Refused unlocks: two raise nothing, the third the alarm.
    let refuse = format!("unlock {UNKNOWN_ORDER}\nexpect refused unlock.unknown_order\n");
    simulate_all(base, &state, &refuse.repeat(2), &[]).await;
    assert!(
        !alarm_kinds(&o.admin, &device)
            .await
            .contains("unlock_refused")
    );
    simulate_all(base, &state, &refuse, &[]).await;
    assert_eq!(
        alarm_kinds(&o.admin, &device).await,
        kinds(&[
            "tamper",
            "geofence",
            "lifted",
            "low_battery",
            "press_too_long",
            "unlock_refused",
        ])
    );

    // A seal printer: the approved page prints, another page is refused with an alarm.
    let seal_b = seal(&o.admin, "财务专用章", 2).await;
    let page = text_page(0);
    let order = filed(&o, &seal_b, 2, open_window(), ("page.png", page.clone())).await;
    approve(&o, &order).await;
    let pages = tmp.path().join("pages");
    std::fs::create_dir_all(&pages).expect("mkdir");
    std::fs::write(pages.join("page.png"), &page).expect("write");
    std::fs::write(pages.join("other.png"), text_page(1)).expect("write");
    let token = enrolment_token(&o.admin, "seal_printer").await;
    let printer_state = tmp.path().join("printer");
    let script = format!(
        "wait-approval 30\nscan {n} {p}\nscan {n} {q}\nexpect refused scan.content_mismatch\n",
        n = order.number,
        p = pages.join("page.png").display(),
        q = pages.join("other.png").display(),
    );
    let mut sim = simulate(
        &server.base,
        &printer_state,
        Some(&token),
        &script,
        &["--kind", "seal_printer"],
    );
    let printer = admit(&mut sim, &o.admin, &seal_b).await;
    let lines = sim.succeed().await;
    let printed = starting(&lines, "ok scan ");
    assert_eq!(printed.len(), 1, "{lines:#?}");
    assert_eq!(field(printed[0], "uses_left"), Some("1"));
    let svg = std::fs::read_to_string(field(printed[0], "svg").expect("svg")).expect("the SVG");
    assert!(svg.contains("<svg"), "{svg}");
    assert_eq!(
        alarm_kinds(&o.admin, &printer).await,
        kinds(&["content_mismatch"])
    );
    let recorded = stamps(&o.admin, &order).await;
    assert_eq!(recorded.len(), 1, "the mismatch printed nothing");
    assert_eq!(recorded[0]["kind"], "print");
    assert_eq!(application(&o.admin, &order).await["uses_done"], 1);
}

/// An admin sends `lock` while the unlocked box runs (heartbeats and the command
/// stream): the box obeys at once, acknowledges, and refuses the next press; the command
/// shows `done` on the device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_command_locks_a_running_box_at_once() {
    let server = Server::start().await;
    let o = org(&server).await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let order = approved(&o, &seal_id, 2).await;
    let token = enrolment_token(&o.admin, "seal_box").await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state");
    let script = format!(
        "wait-approval 30
         template fingerprint fp-1
         unlock {} fingerprint:fp-1
         expect unlocked
         run 8
         expect locked
         press
         expect refused press.locked
         ",
        order.number
    );
    let mut sim = simulate(
        &server.base,
        &state,
        Some(&token),
        &script,
        &["--photo-kb", "0"],
    );
    let device = admit(&mut sim, &o.admin, &seal_id).await;
    sim.line("the unlock", |l| l.starts_with("ok unlock "), WAIT)
        .await;

    let sent = Instant::now();
    let made = o
        .admin
        .post(
            &format!("/api/v1/devices/{device}/commands"),
            json!({"kind": "lock"}),
        )
        .await;
    check(&made, StatusCode::ACCEPTED);
    let command = text(&made.body["id"]);
    let deadline = sent + Duration::from_secs(5);
    let row = loop {
        let detail = device_detail(&o.admin, &device).await;
        let row = list(&detail["commands"])
            .into_iter()
            .find(|c| c["id"] == command.as_str())
            .expect("the command is listed");
        if row["status"] != "pending" {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "the lock command is still pending after 5 s: {detail:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(row["status"], "done", "{row:#}");
    assert_eq!(row["note"], "locked", "{row:#}");

    let lines = sim.succeed().await;
    let ran = starting(&lines, "ok run ");
    assert_eq!(ran.len(), 1, "{lines:#?}");
    assert_eq!(field(ran[0], "locked"), Some("true"), "{lines:#?}");
    assert_eq!(field(ran[0], "uses_left"), Some("0"));
    assert!(starting(&lines, "ok press ").is_empty(), "{lines:#?}");
    let view = application(&o.admin, &order).await;
    assert_eq!(view["uses_done"], 0);
}
