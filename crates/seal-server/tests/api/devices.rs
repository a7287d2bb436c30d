//! Devices over real HTTP on loopback (see `docs/device-protocol.md`): enrolment with a
//! one-time token and an admin's approval; the RFC 9421 signature on every device request
//! (digest, key, clock window, replay); unlock with an organisation-signed grant and every
//! refusal reason; stamp events (idempotent, completing the application, alarms, photos);
//! heartbeats and the alarm lifecycle; commands by long-poll and WebSocket; the seal
//! printer's scan; tenancy; silent devices going offline. Every story runs on SQLite and,
//! when `SEALKEEPER_TEST_PG_URL` is set, on PostgreSQL.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use seal_proof::httpsig;
use seal_proof::{PublicKey, SigningKey, jws};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite;

use crate::common::{Answer, Client, PASSWORD, TestServer, add_person};
use crate::device_client::{Device, SignedRequest};

/// The manual clock's start (2026-11-22T08:30:00Z) as the harness sets it.
pub(crate) const NOW: &str = "2026-11-22T08:30:00Z";
const NOW_MS: i64 = 1_795_336_200_000;
pub(crate) const UNTIL: &str = "2026-11-30T00:00:00Z";
const UNTIL_MS: i64 = 1_795_996_800_000;

const TOKENS: &str = "/api/v1/device-enrolment-tokens";

/// Runs a story on SQLite, and on PostgreSQL when `SEALKEEPER_TEST_PG_URL` is set; with
/// `threaded`, on a multi-threaded runtime (for the stories about concurrent requests).
#[macro_export]
macro_rules! on_both_engines {
    (threaded $story:ident: $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            $story(TestServer::spawn().await).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            if let Some(server) = TestServer::spawn_postgres().await {
                $story(server).await;
            }
        }
    };
    ($story:ident: $sqlite:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            $story(TestServer::spawn().await).await;
        }

        #[tokio::test]
        async fn $postgres() {
            if let Some(server) = TestServer::spawn_postgres().await {
                $story(server).await;
            }
        }
    };
}

// ----- helpers ------------------------------------------------------------------------

#[track_caller]
pub(crate) fn check(answer: &Answer, status: StatusCode) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
}

#[track_caller]
pub(crate) fn check_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(
        (answer.status, answer.code()),
        (status, code),
        "{:#}",
        answer.body
    );
}

pub(crate) fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

pub(crate) fn list(value: &Value) -> Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .clone()
}

/// A fresh client signed in with the shared password.
pub(crate) async fn signed_in(server: &TestServer, org: &str, phone: &str) -> Client {
    let mut client = server.client();
    let answer = client.login(org, phone, PASSWORD).await;
    check(&answer, StatusCode::OK);
    client
}

/// An organisation with an admin, an approver (the default flow's only step), a seal
/// keeper and an employee, all signed in.
pub(crate) struct Org {
    pub(crate) admin: Client,
    pub(crate) approver: Client,
    pub(crate) keeper: Client,
    pub(crate) keeper_id: String,
    pub(crate) employee: Client,
}

pub(crate) async fn org(server: &TestServer, code: &str) -> Org {
    let admin = server.register(code).await;
    let approver_id = add_person(&admin, "张审批", "13900000011", "approver").await;
    let keeper_id = add_person(&admin, "赵管章", "13900000013", "seal_keeper").await;
    add_person(&admin, "钱员工", "13900000014", "employee").await;
    let answer = admin
        .post(
            "/api/v1/flows",
            json!({
                "name": "默认流程",
                "is_default": true,
                "steps": [{"name": "审批", "approvers": "people", "people": [approver_id], "rule": "any"}],
            }),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    Org {
        approver: signed_in(server, code, "13900000011").await,
        keeper: signed_in(server, code, "13900000013").await,
        employee: signed_in(server, code, "13900000014").await,
        admin,
        keeper_id,
    }
}

/// Registers a contract seal (40 mm round) of the given level; returns its id. Level 1
/// demands fingerprint+face, 2 fingerprint, 3 pin|id_code.
pub(crate) async fn seal(admin: &Client, name: &str, level: i64) -> String {
    let answer = admin
        .post(
            "/api/v1/seals",
            json!({"name": name, "kind": "seal_box", "seal_type": "contract", "level": level}),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    text(&answer.body["id"])
}

/// An application: its id and its number (the work order a device unlocks with).
pub(crate) struct Order {
    pub(crate) id: String,
    pub(crate) number: String,
}

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

/// The employee files an application for `count` presses of `seal` in the window, with
/// one document, and submits it (it waits for the approver).
pub(crate) async fn filed(
    o: &Org,
    seal: &str,
    count: i64,
    window: (&str, &str),
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
                "from": window.0,
                "until": window.1,
            }),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    let id = text(&answer.body["id"]);
    let number = text(&answer.body["number"]);
    let uploaded = o
        .employee
        .send_raw(
            Method::POST,
            &format!("/api/v1/applications/{id}/documents?name={}", document.0),
            document.1,
            Some("application/octet-stream"),
        )
        .await;
    check(&uploaded, StatusCode::CREATED);
    let submitted = o
        .employee
        .post(&format!("/api/v1/applications/{id}/submit"), json!({}))
        .await;
    check(&submitted, StatusCode::OK);
    assert_eq!(submitted.body["status"], "in_review");
    Order { id, number }
}

pub(crate) async fn approve(o: &Org, order: &Order) {
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

/// An approved application for `count` presses of `seal`, now until [`UNTIL`].
pub(crate) async fn approved(o: &Org, seal: &str, count: i64) -> Order {
    let order = filed(o, seal, count, (NOW, UNTIL), ("contract.pdf", tiny_pdf())).await;
    approve(o, &order).await;
    order
}

pub(crate) async fn application(client: &Client, order: &Order) -> Value {
    let answer = client
        .get(&format!("/api/v1/applications/{}", order.id))
        .await;
    check(&answer, StatusCode::OK);
    answer.body
}

pub(crate) async fn stamps(client: &Client, order: &Order) -> Vec<Value> {
    let answer = client
        .get(&format!("/api/v1/applications/{}/stamps", order.id))
        .await;
    check(&answer, StatusCode::OK);
    list(&answer.body)
}

/// A new one-time enrolment token (`sket_…`) for a kind of device.
pub(crate) async fn enrolment_token(admin: &Client, kind: &str) -> String {
    let answer = admin
        .post(TOKENS, json!({"kind": kind, "note": "测试设备"}))
        .await;
    check(&answer, StatusCode::CREATED);
    text(&answer.body["token"])
}

/// A device enrolled with a fresh token, waiting for approval.
async fn pending_device(server: &TestServer, admin: &Client, kind: &str) -> Device {
    let token = enrolment_token(admin, kind).await;
    let mut device = Device::new(server);
    let answer = device.enrol(&token, kind).await;
    check(&answer, StatusCode::CREATED);
    assert_eq!(answer.body["status"], "pending");
    device
}

/// A device enrolled and approved.
pub(crate) async fn active_device(server: &TestServer, admin: &Client, kind: &str) -> Device {
    let device = pending_device(server, admin, kind).await;
    let answer = admin
        .post(&format!("/api/v1/devices/{}/approve", device.id), json!({}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "active");
    device
}

pub(crate) async fn bind(admin: &Client, device: &Device, seal: &str) {
    let answer = admin
        .patch(
            &format!("/api/v1/devices/{}", device.id),
            json!({"seal_id": seal}),
        )
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["seal_id"], seal);
}

/// `GET /api/v1/devices/{id}`: the device and its recent stamps, commands, unlocks, alarms.
async fn device_detail(admin: &Client, device: &Device) -> Value {
    let answer = admin.get(&format!("/api/v1/devices/{}", device.id)).await;
    check(&answer, StatusCode::OK);
    answer.body
}

/// The device's alarms (any status), newest first.
pub(crate) async fn alarms(client: &Client, device: &Device) -> Vec<Value> {
    let answer = client
        .get(&format!(
            "/api/v1/alarms?device_id={}&per_page=100",
            device.id
        ))
        .await;
    check(&answer, StatusCode::OK);
    list(&answer.body)
}

pub(crate) fn of_kind(alarms: &[Value], kind: &str) -> Vec<Value> {
    alarms
        .iter()
        .filter(|a| a["kind"] == kind)
        .cloned()
        .collect()
}

/// The one alarm of a kind.
#[track_caller]
pub(crate) fn the_alarm(alarms: &[Value], kind: &str) -> Value {
    let found = of_kind(alarms, kind);
    assert_eq!(found.len(), 1, "one {kind} alarm in {alarms:#?}");
    found[0].clone()
}

/// How many audit events of an action the organisation has.
async fn audit_count(admin: &Client, action: &str) -> i64 {
    let answer = admin
        .get(&format!("/api/v1/audit-events?action={action}"))
        .await;
    check(&answer, StatusCode::OK);
    answer.body["total"].as_i64().expect("total")
}

/// An unlock that must succeed; returns the grant.
pub(crate) async fn granted(device: &Device, order: &Order) -> Value {
    let answer = device.unlock(&order.number).await;
    check(&answer, StatusCode::OK);
    answer.body["grant"].clone()
}

/// An unlock refused for `reason`, one second after the previous request (records made
/// in the same millisecond have no order among themselves).
async fn refused_later(server: &TestServer, device: &Device, order: &str, reason: &str) {
    server.clock.advance_seconds(1);
    check_error(
        &device.unlock(order).await,
        StatusCode::FORBIDDEN,
        &format!("unlock.{reason}"),
    );
}

/// The results of an event batch as (seq, result).
pub(crate) fn results(answer: &Answer) -> Vec<(u64, String)> {
    list(&answer.body["results"])
        .iter()
        .map(|r| (r["seq"].as_u64().expect("seq"), text(&r["result"])))
        .collect()
}

/// Raw bytes of a GET (the harness reads bodies as text).
pub(crate) async fn bytes_of(
    client: &Client,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let response = client
        .http
        .get(format!("{}{}", client.base, path))
        .send()
        .await
        .expect("answered");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    (status, headers, body)
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn encode(image: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

/// A small photo of a stamped page.
pub(crate) fn photo(format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(48, 32, |x, y| {
        image::Rgb([
            (x * 5) as u8,
            (y * 7) as u8,
            if (x / 8 + y / 8) % 2 == 0 { 200 } else { 30 },
        ])
    });
    encode(&img, format)
}

/// The first page of generated document `index` (0: a Chinese contract, 1: an English
/// letter …) as a 150-dpi PNG: a page the comparison engine reads like a real one. Each
/// is rendered once per test process.
pub(crate) fn text_page(index: usize) -> Vec<u8> {
    static PAGES: std::sync::Mutex<Vec<(usize, Vec<u8>)>> = std::sync::Mutex::new(Vec::new());
    let mut pages = PAGES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, png)) = pages.iter().find(|(i, _)| *i == index) {
        return png.clone();
    }
    let png = seal_corpus::sample::SampleDocument::new(7, index)
        .expect("fonts for the sample document (cargo xtask setup)")
        .page_png(0, 150)
        .expect("the page renders");
    pages.push((index, png.clone()));
    png
}

/// An empty A4 page at 150 dpi.
pub(crate) fn blank_page() -> Vec<u8> {
    seal_corpus::sample::blank_png(150).expect("a blank page")
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/device/v1/stream` with the headers of `request`; the refusal's HTTP status
/// when the server does not upgrade.
async fn open_stream(server: &TestServer, request: &SignedRequest) -> Result<Stream, StatusCode> {
    use tungstenite::client::IntoClientRequest;
    use tungstenite::http::{HeaderName, HeaderValue};
    let mut upgrade = format!("ws://{}{}", server.addr, request.path_and_query())
        .into_client_request()
        .expect("request");
    for (name, value) in &request.headers {
        upgrade.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    match tokio_tungstenite::connect_async(upgrade).await {
        Ok((stream, _)) => Ok(stream),
        Err(tungstenite::Error::Http(response)) => {
            Err(StatusCode::from_u16(response.status().as_u16()).expect("status"))
        }
        Err(other) => panic!("the upgrade failed: {other}"),
    }
}

/// The next command pushed on the stream that is not in `seen`, within `within`. An
/// unacknowledged command may come again (the protocol sends it until acknowledged);
/// those repeats are skipped.
async fn next_command(
    stream: &mut Stream,
    seen: &mut std::collections::HashSet<String>,
    within: Duration,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no command on the stream within {within:?}"))
            .expect("the stream is open")
            .expect("a frame");
        match frame {
            tungstenite::Message::Text(frame) => {
                let command: Value =
                    serde_json::from_str(frame.as_str()).expect("a Command as JSON");
                if seen.insert(text(&command["id"])) {
                    return command;
                }
            }
            tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => continue,
            other => panic!("unexpected frame: {other:?}"),
        }
    }
}

/// The server's time when it decides (the manual clock), Unix milliseconds.
fn now_ms(server: &TestServer) -> i64 {
    use seal_app::clock::Clock;
    server.clock.now().as_millis()
}

// ----- enrolment ----------------------------------------------------------------------

/// A one-time token enrols a device as pending; a pending device may only ask who it is;
/// an admin's approval makes it active and hands it the organisation's grant keys. Spent,
/// unknown, expired and other-kind tokens are refused, as are an enrolment not signed by
/// the key it enrols and a serial, MAC or key already enrolled (until revoked).
async fn enrolment_story(server: TestServer) {
    let o = org(&server, "acme").await;

    // Only device managers make tokens, of a known kind.
    check_error(
        &o.employee.post(TOKENS, json!({"kind": "seal_box"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let answer = o.admin.post(TOKENS, json!({"kind": "toaster"})).await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.unknown_value",
    );
    assert_eq!(answer.body["error"]["field"], "kind");

    let made = o
        .admin
        .post(TOKENS, json!({"kind": "seal_box", "note": "一号章筒"}))
        .await;
    check(&made, StatusCode::CREATED);
    let secret = text(&made.body["token"]);
    assert!(secret.starts_with("sket_"), "{secret}");
    assert_eq!(made.body["kind"], "seal_box");
    assert!(made.body["used_at"].is_null());

    // The enrolment: signed by the new key, keyid = that key in base64.
    let mut device = Device::new(&server);
    let answer = device.enrol(&secret, "seal_box").await;
    check(&answer, StatusCode::CREATED);
    assert_eq!(answer.body["status"], "pending");
    assert!(uuid::Uuid::parse_str(&device.id).is_ok(), "{}", device.id);

    // The list shows the token spent by this device, never its secret.
    let tokens = o.admin.get(TOKENS).await;
    check(&tokens, StatusCode::OK);
    assert!(!tokens.text.contains(&secret), "the secret is shown once");
    let row = list(&tokens.body)
        .into_iter()
        .find(|t| t["id"] == made.body["id"])
        .expect("the token is listed");
    assert!(!row["used_at"].is_null(), "{row:#}");
    assert_eq!(row["device_id"], device.id.as_str());

    // Pending: `me` answers (no keys yet); everything else is refused.
    let me = device.me().await;
    check(&me, StatusCode::OK);
    assert_eq!(me.body["device_id"], device.id.as_str());
    assert_eq!(me.body["status"], "pending");
    assert_eq!(me.body["kind"], "seal_box");
    assert_eq!(me.body["org_keys"], json!([]));
    assert!(me.body["seal_id"].is_null());
    assert_eq!(me.body["parameters"]["heartbeat_seconds"], 30);
    assert_eq!(me.body["server_time"], now_ms(&server));
    check_error(
        &device.heartbeat(json!({})).await,
        StatusCode::FORBIDDEN,
        "device.not_active",
    );
    let grant = uuid::Uuid::new_v4().to_string();
    check_error(
        &device
            .events(vec![device.press(1, &grant, json!({}))])
            .await,
        StatusCode::FORBIDDEN,
        "device.not_active",
    );
    check_error(
        &device.commands(0).await,
        StatusCode::FORBIDDEN,
        "device.not_active",
    );
    // The unlock table names this refusal `unlock.device_not_active`.
    check_error(
        &device.unlock("ACME-2026-000001").await,
        StatusCode::FORBIDDEN,
        "unlock.device_not_active",
    );

    // The admin sees it pending, with what it declared, and approves it.
    let devices = o.admin.get("/api/v1/devices").await;
    check(&devices, StatusCode::OK);
    let row = list(&devices.body)
        .into_iter()
        .find(|d| d["id"] == device.id.as_str())
        .expect("listed");
    assert_eq!(row["status"], "pending");
    assert_eq!(row["kind"], "seal_box");
    assert_eq!(row["serial"], device.serial.as_str());
    assert_eq!(row["mac"], device.mac.as_str());
    assert_eq!(row["firmware"], "1.0.0");
    assert_eq!(row["public_key"], device.public_key());
    check_error(
        &o.employee
            .post(&format!("/api/v1/devices/{}/approve", device.id), json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let answer = o
        .admin
        .post(&format!("/api/v1/devices/{}/approve", device.id), json!({}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "active");
    check_error(
        &o.admin
            .post(&format!("/api/v1/devices/{}/approve", device.id), json!({}))
            .await,
        StatusCode::CONFLICT,
        "conflict.device_status",
    );
    let me = device.me().await;
    check(&me, StatusCode::OK);
    assert_eq!(me.body["status"], "active");
    let keys = list(&me.body["org_keys"]);
    assert_eq!(keys.len(), 1, "{keys:#?}");
    assert!(!text(&keys[0]["kid"]).is_empty());
    assert!(PublicKey::from_base64(&text(&keys[0]["public_key"])).is_ok());
    check(&device.heartbeat(json!({})).await, StatusCode::OK);

    // The token is spent: nobody enrols with it again.
    let mut second = Device::new(&server);
    check_error(
        &second.enrol(&secret, "seal_box").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.enrolment_token",
    );
    // An unknown token.
    check_error(
        &second
            .enrol(
                "sket_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "seal_box",
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.enrolment_token",
    );
    // A token made for another kind of device; it still enrols the kind it is for.
    let scanner_token = enrolment_token(&o.admin, "scanner").await;
    check_error(
        &second.enrol(&scanner_token, "seal_box").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.enrolment_token",
    );
    check(
        &second.enrol(&scanner_token, "scanner").await,
        StatusCode::CREATED,
    );

    // Proof of possession: an enrolment signed by another key than the body's.
    let token = enrolment_token(&o.admin, "seal_box").await;
    let mut third = Device::new(&server);
    let body = third.enrol_body(&token, "seal_box");
    let intruder = SigningKey::generate();
    let now = third.now_seconds();
    // keyid names the body's key, but another key signed.
    let forged = Device::enrol_request(&intruder, &third.public_key(), now, &body);
    check_error(
        &third.send(&forged).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.bad_signature",
    );
    // keyid names the signing key, which is not the body's key.
    let forged = Device::enrol_request(&intruder, &intruder.public_key().to_base64(), now, &body);
    check_error(
        &third.send(&forged).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.unknown_key",
    );
    // Neither spent the token.
    check(&third.enrol(&token, "seal_box").await, StatusCode::CREATED);

    // Declared values are checked.
    let token = enrolment_token(&o.admin, "seal_box").await;
    let mut odd = Device::new(&server);
    odd.serial = "序列号 1".to_owned();
    let answer = odd.enrol(&token, "seal_box").await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.serial",
    );
    assert_eq!(answer.body["error"]["field"], "serial");
    let mut odd = Device::new(&server);
    odd.mac = "02:00:5e:10:00".to_owned();
    check_error(
        &odd.enrol(&token, "seal_box").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.mac",
    );
    let odd = Device::new(&server);
    let mut body = odd.enrol_body(&token, "seal_box");
    body["public_key"] = json!("bm90IGEga2V5");
    let request = Device::enrol_request(&odd.key, "bm90IGEga2V5", now, &body);
    check_error(
        &odd.send(&request).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.public_key",
    );

    // A serial, MAC address or key already enrolled (active or pending) is refused.
    let token = enrolment_token(&o.admin, "seal_box").await;
    let mut twin = Device::new(&server);
    twin.serial = device.serial.clone();
    check_error(
        &twin.enrol(&token, "seal_box").await,
        StatusCode::CONFLICT,
        "conflict.device_duplicate",
    );
    let mut twin = Device::new(&server);
    twin.serial = third.serial.clone(); // third is still pending
    check_error(
        &twin.enrol(&token, "seal_box").await,
        StatusCode::CONFLICT,
        "conflict.device_duplicate",
    );
    let mut twin = Device::new(&server);
    // The same MAC address written another way.
    twin.mac = device.mac.to_uppercase().replace(':', "-");
    check_error(
        &twin.enrol(&token, "seal_box").await,
        StatusCode::CONFLICT,
        "conflict.device_duplicate",
    );
    let fresh = Device::new(&server);
    let mut body = fresh.enrol_body(&token, "seal_box");
    body["public_key"] = json!(device.public_key());
    let same_key = Device::enrol_request(&device.key, &device.public_key(), now, &body);
    check_error(
        &device.send(&same_key).await,
        StatusCode::CONFLICT,
        "conflict.device_duplicate",
    );

    // Once the first device is revoked, its serial and MAC address may be enrolled again.
    check(
        &o.admin
            .post(&format!("/api/v1/devices/{}/revoke", device.id), json!({}))
            .await,
        StatusCode::OK,
    );
    let mut successor = Device::new(&server);
    successor.serial = device.serial.clone();
    successor.mac = device.mac.clone();
    let token = enrolment_token(&o.admin, "seal_box").await;
    check(
        &successor.enrol(&token, "seal_box").await,
        StatusCode::CREATED,
    );

    // Tokens expire after 24 hours (the default).
    let edge = enrolment_token(&o.admin, "seal_box").await;
    let late = enrolment_token(&o.admin, "seal_box").await;
    server.clock.advance_seconds(24 * 3600 - 1);
    check(
        &Device::new(&server).enrol(&edge, "seal_box").await,
        StatusCode::CREATED,
    );
    server.clock.advance_seconds(1);
    check_error(
        &Device::new(&server).enrol(&late, "seal_box").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.enrolment_token",
    );
    server.stop().await;
}

on_both_engines!(enrolment_story:
    devices_enrol_with_a_one_time_token_and_wait_for_approval,
    devices_enrol_with_a_one_time_token_and_wait_for_approval_on_postgres);

/// The signature headers are exactly the protocol's text: a request signed by hand from
/// `docs/device-protocol.md` is accepted, and `seal_proof::httpsig` writes the same
/// headers byte for byte.
async fn header_format_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    for (method, path, query) in [
        ("GET", "/device/v1/me", None),
        ("GET", "/device/v1/commands", Some("wait=0")),
    ] {
        let body: &[u8] = b"";
        let digest = format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)));
        assert_eq!(digest, httpsig::content_digest(body));
        let created = device.now_seconds();
        let nonce = httpsig::new_nonce();
        assert!(nonce.len() >= 22, "{nonce}");
        let params = format!(
            "(\"@method\" \"@path\" \"@query\" \"content-digest\");created={created};nonce=\"{nonce}\";keyid=\"{}\";alg=\"ed25519\"",
            device.id
        );
        let base = format!(
            "\"@method\": {method}\n\"@path\": {path}\n\"@query\": ?{}\n\"content-digest\": {digest}\n\"@signature-params\": {params}",
            query.unwrap_or("")
        );
        let signature_input = format!("sk={params}");
        let signature = format!("sk=:{}:", STANDARD.encode(device.key.sign(base.as_bytes())));
        let by_library = httpsig::sign(
            &device.key,
            &httpsig::Request {
                method,
                path,
                query,
                content_digest: &digest,
            },
            &httpsig::SignatureParams {
                created,
                nonce: nonce.clone(),
                keyid: device.id.clone(),
            },
        );
        assert_eq!(by_library.signature_input, signature_input);
        assert_eq!(by_library.signature, signature);
        let request = SignedRequest {
            method: Method::from_bytes(method.as_bytes()).expect("method"),
            path: path.to_owned(),
            query: query.map(str::to_owned),
            body: Vec::new(),
            headers: vec![
                ("content-digest".to_owned(), digest),
                ("signature-input".to_owned(), signature_input),
                ("signature".to_owned(), signature),
            ],
        };
        check(&device.send(&request).await, StatusCode::OK);
    }
    server.stop().await;
}

on_both_engines!(header_format_story:
    the_signature_headers_are_the_protocol_text,
    the_signature_headers_are_the_protocol_text_on_postgres);

// ----- signatures ---------------------------------------------------------------------

/// Every way a signature can be wrong is refused with its own code, and none of the
/// refused requests reaches the device's record.
async fn signature_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    let path = "/device/v1/heartbeat";
    let body =
        serde_json::to_vec(&device.heartbeat_body(json!({"battery_pct": 55}))).expect("json");
    let now = device.now_seconds();

    // No signature at all, or one header missing.
    let bare = SignedRequest {
        method: Method::POST,
        path: path.to_owned(),
        query: None,
        body: body.clone(),
        headers: Vec::new(),
    };
    check_error(
        &device.send(&bare).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.missing",
    );
    for name in ["content-digest", "signature-input", "signature"] {
        let mut request = device.sign(Method::POST, path, body.clone());
        request.remove_header(name);
        check_error(
            &device.send(&request).await,
            StatusCode::UNAUTHORIZED,
            "device.signature.missing",
        );
    }

    // The body changed after signing.
    let mut request = device.sign(Method::POST, path, body.clone());
    request.body =
        serde_json::to_vec(&device.heartbeat_body(json!({"battery_pct": 5}))).expect("json");
    check_error(
        &device.send(&request).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.digest",
    );
    // ... and the digest with it: the signature covers the digest.
    let digest = httpsig::content_digest(&request.body);
    request.set_header("content-digest", &digest);
    check_error(
        &device.send(&request).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.bad_signature",
    );

    // Signed by another key under the device's id.
    let intruder = SigningKey::generate();
    let request = Device::sign_with(
        &intruder,
        &device.id,
        now,
        &httpsig::new_nonce(),
        Method::POST,
        path,
        body.clone(),
    );
    check_error(
        &device.send(&request).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.bad_signature",
    );

    // The path and the query are covered.
    let mut request = device.sign(Method::POST, path, body.clone());
    request.path = "/device/v1/unlock".to_owned();
    check_error(
        &device.send(&request).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.bad_signature",
    );
    let mut request = device.sign(Method::GET, "/device/v1/commands?wait=0", Vec::new());
    request.query = Some("wait=1".to_owned());
    check_error(
        &device.send(&request).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.bad_signature",
    );

    // Ten minutes off the server's clock, either way.
    for created in [now - 600, now + 600] {
        let request = Device::sign_with(
            &device.key,
            &device.id,
            created,
            &httpsig::new_nonce(),
            Method::POST,
            path,
            body.clone(),
        );
        check_error(
            &device.send(&request).await,
            StatusCode::UNAUTHORIZED,
            "device.signature.clock",
        );
    }

    // A key id that names no device.
    for keyid in [uuid::Uuid::new_v4().to_string(), "somebody".to_owned()] {
        let request = Device::sign_with(
            &device.key,
            &keyid,
            now,
            &httpsig::new_nonce(),
            Method::POST,
            path,
            body.clone(),
        );
        check_error(
            &device.send(&request).await,
            StatusCode::UNAUTHORIZED,
            "device.signature.unknown_key",
        );
    }

    // Headers that are not the protocol's: garbage, or fewer covered components.
    let mut request = device.sign(Method::POST, path, body.clone());
    request.set_header("signature-input", "sk=nonsense");
    check_error(
        &device.send(&request).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.malformed",
    );
    let mut request = device.sign(Method::POST, path, body.clone());
    let input = request
        .header("signature-input")
        .expect("signed")
        .replace(" \"content-digest\"", "");
    request.set_header("signature-input", &input);
    check_error(
        &device.send(&request).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.malformed",
    );

    // None of that reached the device's record.
    let detail = device_detail(&o.admin, &device).await;
    assert!(detail["device"]["battery_pct"].is_null(), "{detail:#}");
    assert!(detail["device"]["last_seen_at"].is_null(), "{detail:#}");

    // Signed 290 s ago is inside the default window of 300 s.
    let request = Device::sign_with(
        &device.key,
        &device.id,
        now - 290,
        &httpsig::new_nonce(),
        Method::POST,
        path,
        body,
    );
    check(&device.send(&request).await, StatusCode::OK);
    let detail = device_detail(&o.admin, &device).await;
    assert_eq!(detail["device"]["battery_pct"], 55);
    server.stop().await;
}

on_both_engines!(signature_story:
    device_signatures_are_checked_part_by_part,
    device_signatures_are_checked_part_by_part_on_postgres);

/// A captured request sent again (same headers, same body) is refused as a replay and
/// changes nothing: no second unlock attempt, no second stamp, no second alarm count.
async fn replay_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 2).await;

    // An enrolment sent twice.
    let token = enrolment_token(&o.admin, "seal_box").await;
    let newcomer = Device::new(&server);
    let enrol = Device::enrol_request(
        &newcomer.key,
        &newcomer.public_key(),
        newcomer.now_seconds(),
        &newcomer.enrol_body(&token, "seal_box"),
    );
    check(&newcomer.send(&enrol).await, StatusCode::CREATED);
    check_error(
        &newcomer.send(&enrol).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.replay",
    );

    // A heartbeat with the tamper sensor set: one alarm occurrence, not two.
    let beat = device.sign_json(
        Method::POST,
        "/device/v1/heartbeat",
        &device.heartbeat_body(json!({"tamper": true})),
    );
    check(&device.send(&beat).await, StatusCode::OK);
    check_error(
        &device.send(&beat).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.replay",
    );
    assert_eq!(
        the_alarm(&alarms(&o.admin, &device).await, "tamper")["occurrences"],
        1
    );

    // A refused unlock, then a granted one, each sent twice: two attempts recorded.
    let (refused, _) = device.unlock_request("ACME-2026-999999");
    check_error(
        &device.send(&refused).await,
        StatusCode::FORBIDDEN,
        "unlock.unknown_order",
    );
    check_error(
        &device.send(&refused).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.replay",
    );
    server.clock.advance_seconds(1);
    let (unlock, _) = device.unlock_request(&order.number);
    let answer = device.send(&unlock).await;
    check(&answer, StatusCode::OK);
    let grant = text(&answer.body["grant"]["grant_id"]);
    check_error(
        &device.send(&unlock).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.replay",
    );
    let detail = device_detail(&o.admin, &device).await;
    let outcomes: Vec<Value> = list(&detail["unlocks"])
        .iter()
        .map(|u| u["outcome"].clone())
        .collect();
    assert_eq!(outcomes, vec![json!("granted"), json!("unknown_order")]);
    assert_eq!(audit_count(&o.admin, "device.unlock_refused").await, 1);
    assert_eq!(audit_count(&o.admin, "device.unlocked").await, 1);

    // An event batch: stored once, used once.
    let batch = device.events_request(vec![device.press(1, &grant, json!({}))]);
    let answer = device.send(&batch).await;
    check(&answer, StatusCode::OK);
    assert_eq!(results(&answer), vec![(1, "stored".to_owned())]);
    check_error(
        &device.send(&batch).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.replay",
    );
    assert_eq!(stamps(&o.admin, &order).await.len(), 1);
    assert_eq!(application(&o.admin, &order).await["uses_done"], 1);

    // `me`, and a nonce reused in a different request.
    let me = device.sign(Method::GET, "/device/v1/me", Vec::new());
    check(&device.send(&me).await, StatusCode::OK);
    check_error(
        &device.send(&me).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.replay",
    );
    let nonce = httpsig::new_nonce();
    let first = Device::sign_with(
        &device.key,
        &device.id,
        device.now_seconds(),
        &nonce,
        Method::GET,
        "/device/v1/commands?wait=0",
        Vec::new(),
    );
    check(&device.send(&first).await, StatusCode::OK);
    let second = Device::sign_with(
        &device.key,
        &device.id,
        device.now_seconds(),
        &nonce,
        Method::POST,
        "/device/v1/heartbeat",
        serde_json::to_vec(&device.heartbeat_body(json!({"tamper": true}))).expect("json"),
    );
    check_error(
        &device.send(&second).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.replay",
    );
    assert_eq!(
        the_alarm(&alarms(&o.admin, &device).await, "tamper")["occurrences"],
        1
    );
    server.stop().await;
}

on_both_engines!(replay_story:
    replayed_device_requests_are_refused_and_change_nothing,
    replayed_device_requests_are_refused_and_change_nothing_on_postgres);

/// A revoked device is refused at its very next request (a waiting long-poll learns it
/// too); it may still ask who it is. Revocation is final, and frees its seal.
async fn revoked_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 2).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);

    // A long-poll is waiting when the device is revoked.
    let sender = device.sender();
    let poll_request = device.sign(Method::GET, "/device/v1/commands?wait=10", Vec::new());
    let poll = tokio::spawn(async move { sender.send(&poll_request).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "the long-poll waits");
    let revoked_at = Instant::now();
    let answer = o
        .admin
        .post(&format!("/api/v1/devices/{}/revoke", device.id), json!({}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "revoked");
    let answer = poll.await.expect("the poll task");
    check_error(&answer, StatusCode::FORBIDDEN, "device.not_active");
    assert!(
        revoked_at.elapsed() < Duration::from_millis(6500),
        "the waiting device learnt it after {:?}",
        revoked_at.elapsed()
    );

    // The very next requests.
    check_error(
        &device.heartbeat(json!({})).await,
        StatusCode::FORBIDDEN,
        "device.not_active",
    );
    check_error(
        &device.unlock(&order.number).await,
        StatusCode::FORBIDDEN,
        "unlock.device_not_active",
    );
    check_error(
        &device
            .events(vec![device.press(1, &grant, json!({}))])
            .await,
        StatusCode::FORBIDDEN,
        "device.not_active",
    );
    check_error(
        &device.commands(0).await,
        StatusCode::FORBIDDEN,
        "device.not_active",
    );
    assert!(stamps(&o.admin, &order).await.is_empty());
    assert_eq!(application(&o.admin, &order).await["uses_done"], 0);
    let me = device.me().await;
    check(&me, StatusCode::OK);
    assert_eq!(me.body["status"], "revoked");
    assert_eq!(me.body["org_keys"], json!([]));

    // Final: neither approved again nor revoked twice, and sent no commands.
    for action in ["approve", "revoke"] {
        check_error(
            &o.admin
                .post(
                    &format!("/api/v1/devices/{}/{action}", device.id),
                    json!({}),
                )
                .await,
            StatusCode::CONFLICT,
            "conflict.device_status",
        );
    }
    check_error(
        &o.admin
            .post(
                &format!("/api/v1/devices/{}/commands", device.id),
                json!({"kind": "lock"}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.device_status",
    );
    // Its seal may be bound to a replacement.
    let replacement = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &replacement, &seal_id).await;
    check(&replacement.unlock(&order.number).await, StatusCode::OK);
    server.stop().await;
}

on_both_engines!(revoked_story:
    a_revoked_device_is_refused_at_its_next_request,
    a_revoked_device_is_refused_at_its_next_request_on_postgres);

/// "A device that is not active may only call `GET /device/v1/me`": a command left
/// pending when the device was revoked cannot be acknowledged by it.
async fn revoked_ack_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    let made = o
        .admin
        .post(
            &format!("/api/v1/devices/{}/commands", device.id),
            json!({"kind": "lock"}),
        )
        .await;
    check(&made, StatusCode::ACCEPTED);
    let command = text(&made.body["id"]);
    check(
        &o.admin
            .post(&format!("/api/v1/devices/{}/revoke", device.id), json!({}))
            .await,
        StatusCode::OK,
    );
    check_error(
        &device.ack(&command, "done", "").await,
        StatusCode::FORBIDDEN,
        "device.not_active",
    );
    let detail = device_detail(&o.admin, &device).await;
    assert_eq!(list(&detail["commands"])[0]["status"], "pending");
    server.stop().await;
}

on_both_engines!(revoked_ack_story:
    a_revoked_device_cannot_acknowledge_commands,
    a_revoked_device_cannot_acknowledge_commands_on_postgres);

// ----- binding ------------------------------------------------------------------------

/// A seal has at most one device, a terminal at most one device; only seal holders hold
/// seals; binding and rebinding are audited; values are checked.
async fn binding_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_a = seal(&o.admin, "合同专用章", 2).await;
    let seal_b = seal(&o.admin, "财务专用章", 2).await;
    let first = active_device(&server, &o.admin, "seal_box").await;
    let second = active_device(&server, &o.admin, "seal_printer").await;
    let scanner = active_device(&server, &o.admin, "scanner").await;
    let path = |d: &Device| format!("/api/v1/devices/{}", d.id);

    bind(&o.admin, &first, &seal_a).await;
    let detail = device_detail(&o.admin, &first).await;
    assert_eq!(detail["seal_name"], "合同专用章");
    let me = first.me().await;
    assert_eq!(me.body["seal_id"], seal_a.as_str());
    assert_eq!(me.body["seal_name"], "合同专用章");

    check_error(
        &o.admin
            .patch(&path(&second), json!({"seal_id": seal_a}))
            .await,
        StatusCode::CONFLICT,
        "conflict.seal_already_bound",
    );
    check_error(
        &o.admin
            .patch(&path(&scanner), json!({"seal_id": seal_b}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.not_a_seal_holder",
    );
    check_error(
        &o.admin
            .patch(
                &path(&second),
                json!({"seal_id": uuid::Uuid::new_v4().to_string()}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.seal.unknown",
    );
    check(
        &o.admin
            .patch(&path(&second), json!({"seal_id": "xyz"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );

    // Terminals.
    let answer = o
        .admin
        .patch(&path(&first), json!({"terminal": "keeper-phone-01"}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["terminal"], "keeper-phone-01");
    assert_eq!(
        answer.body["seal_id"],
        seal_a.as_str(),
        "absent fields stay"
    );
    check_error(
        &o.admin
            .patch(&path(&second), json!({"terminal": "keeper-phone-01"}))
            .await,
        StatusCode::CONFLICT,
        "conflict.terminal_taken",
    );
    check_error(
        &o.admin
            .patch(&path(&second), json!({"terminal": "x".repeat(65)}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.terminal",
    );

    // Geofence and parameters are checked.
    check_error(
        &o.admin
            .patch(
                &path(&first),
                json!({"geofence": {"lat": 31.23, "lon": 121.47, "radius_m": 5}}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.radius",
    );
    check_error(
        &o.admin
            .patch(
                &path(&first),
                json!({"geofence": {"lat": 91.0, "lon": 121.47, "radius_m": 100}}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.position",
    );
    check_error(
        &o.admin
            .patch(
                &path(&first),
                json!({"parameters": {"heartbeat_seconds": 1, "press_max_ms": 3000, "low_battery_pct": 15}}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.parameters",
    );

    // Rebinding: the first device moves to seal B, the second takes seal A.
    bind(&o.admin, &first, &seal_b).await;
    bind(&o.admin, &second, &seal_a).await;
    // Unbinding.
    let answer = o
        .admin
        .patch(&path(&second), json!({"seal_id": null}))
        .await;
    check(&answer, StatusCode::OK);
    assert!(answer.body["seal_id"].is_null());
    // Bound to A, terminal set, rebound to B; second bound to A, unbound.
    assert_eq!(audit_count(&o.admin, "device.bound").await, 5);

    // Who may change and who may look.
    check_error(
        &o.employee
            .patch(&path(&second), json!({"seal_id": seal_a}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    check_error(
        &o.keeper
            .patch(&path(&second), json!({"seal_id": seal_a}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    check(&o.keeper.get(&path(&first)).await, StatusCode::OK);
    check(&o.employee.get(&path(&first)).await, StatusCode::FORBIDDEN);
    check(
        &o.employee.get("/api/v1/devices").await,
        StatusCode::FORBIDDEN,
    );
    server.stop().await;
}

on_both_engines!(binding_story:
    devices_are_bound_to_one_seal_and_one_terminal,
    devices_are_bound_to_one_seal_and_one_terminal_on_postgres);

// ----- unlock -------------------------------------------------------------------------

/// An approved order on the bound seal unlocks: the token is the grant signed with the
/// organisation's key (found in `me`), it echoes the request's nonce, counts the presses
/// left and carries the factor rule of the seal's level.
async fn unlock_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let official = seal(&o.admin, "公章", 1).await;
    let contract = seal(&o.admin, "合同专用章", 3).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &official).await;
    let first = approved(&o, &official, 3).await;
    let third = approved(&o, &contract, 1).await;

    let (request, nonce) = device.unlock_request(&first.number);
    let answer = device.send(&request).await;
    check(&answer, StatusCode::OK);
    let grant = answer.body["grant"].clone();
    let token = text(&answer.body["token"]);

    // The token verifies with the organisation's key named in its header.
    let kid = jws::header_kid(&token).expect("the token names its key");
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().expect("header"))
            .expect("base64url"),
    )
    .expect("json");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], kid.as_str());
    let me = device.me().await;
    let key = list(&me.body["org_keys"])
        .into_iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("key {kid} in {:#}", me.body));
    let key = PublicKey::from_base64(&text(&key["public_key"])).expect("a key");
    let payload = jws::verify_compact(&token, &key).expect("the grant verifies");
    let payload: Value = serde_json::from_slice(&payload).expect("json");
    assert_eq!(payload, grant, "the token carries the grant");
    assert!(
        jws::verify_compact(&token, &SigningKey::generate().public_key()).is_err(),
        "another key does not verify it"
    );

    // What the grant says.
    let view = application(&o.admin, &first).await;
    assert_eq!(grant["grant_id"], view["grant"]["id"]);
    assert_eq!(grant["order"], first.number.as_str());
    assert_eq!(grant["device_id"], device.id.as_str());
    assert_eq!(grant["seal_id"], official.as_str());
    assert_eq!(grant["uses"], 3);
    assert_eq!(grant["factors"], "fingerprint+face");
    assert_eq!(grant["nonce"], nonce.as_str());
    assert_eq!(grant["not_before"], NOW_MS);
    assert_eq!(grant["expires_at"], UNTIL_MS);
    assert_eq!(grant["issued_at"], now_ms(&server));
    // Unlocking uses nothing: the application stays approved.
    assert_eq!(view["status"], "approved");
    assert_eq!(view["uses_done"], 0);

    // Again, later: the same grant, the new nonce.
    server.clock.advance_seconds(30);
    let (request, nonce) = device.unlock_request(&first.number);
    let again = device.send(&request).await;
    check(&again, StatusCode::OK);
    assert_eq!(again.body["grant"]["grant_id"], grant["grant_id"]);
    assert_eq!(again.body["grant"]["nonce"], nonce.as_str());
    assert_eq!(again.body["grant"]["issued_at"], now_ms(&server));
    assert_eq!(again.body["grant"]["uses"], 3);

    // Rebound to the level-3 seal: its order unlocks with pin|id_code; the first no longer.
    bind(&o.admin, &device, &contract).await;
    server.clock.advance_seconds(1);
    let grant = granted(&device, &third).await;
    assert_eq!(grant["factors"], "pin|id_code");
    assert_eq!(grant["uses"], 1);
    assert_eq!(grant["seal_id"], contract.as_str());
    server.clock.advance_seconds(1);
    check_error(
        &device.unlock(&first.number).await,
        StatusCode::FORBIDDEN,
        "unlock.wrong_seal",
    );

    // Each attempt is on the device's record, newest first.
    let detail = device_detail(&o.admin, &device).await;
    let outcomes: Vec<(Value, Value)> = list(&detail["unlocks"])
        .iter()
        .map(|u| (u["order"].clone(), u["outcome"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (json!(first.number), json!("wrong_seal")),
            (json!(third.number), json!("granted")),
            (json!(first.number), json!("granted")),
            (json!(first.number), json!("granted")),
        ]
    );
    assert_eq!(audit_count(&o.admin, "device.unlocked").await, 3);
    server.stop().await;
}

on_both_engines!(unlock_story:
    an_unlock_answers_a_grant_signed_by_the_organisation,
    an_unlock_answers_a_grant_signed_by_the_organisation_on_postgres);

/// Every refusal answers 403 with its stable code, is recorded and audited; three within
/// ten minutes raise an `unlock_refused` alarm.
async fn refusals_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_a = seal(&o.admin, "合同专用章", 2).await;
    let seal_b = seal(&o.admin, "财务专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_a).await;
    // Unknown orders: two refusals, no alarm yet.
    refused_later(&server, &device, "ACME-2026-999999", "unknown_order").await;
    refused_later(&server, &device, "not an order", "unknown_order").await;
    assert!(of_kind(&alarms(&o.admin, &device).await, "unlock_refused").is_empty());

    // Still in review: the third refusal raises the alarm.
    let in_review = filed(&o, &seal_a, 1, (NOW, UNTIL), ("contract.pdf", tiny_pdf())).await;
    refused_later(&server, &device, &in_review.number, "not_approved").await;
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "unlock_refused");
    assert_eq!(alarm["occurrences"], 1);
    assert_eq!(alarm["severity"], "medium");
    assert_eq!(alarm["status"], "open");
    assert!(
        text(&alarm["details"]).contains("not_approved"),
        "{alarm:#}"
    );

    // Approved for another seal.
    let other_seal = approved(&o, &seal_b, 1).await;
    refused_later(&server, &device, &other_seal.number, "wrong_seal").await;
    // A window that has not begun.
    let later = filed(
        &o,
        &seal_a,
        1,
        ("2026-11-24T00:00:00Z", "2026-11-28T00:00:00Z"),
        ("contract.pdf", tiny_pdf()),
    )
    .await;
    approve(&o, &later).await;
    refused_later(&server, &device, &later.number, "outside_window").await;
    // A revoked grant: the application was approved, so the refusal names the grant.
    let revoked = approved(&o, &seal_a, 1).await;
    server.clock.advance_seconds(1);
    check(&device.unlock(&revoked.number).await, StatusCode::OK);
    let answer = o
        .admin
        .post(
            &format!("/api/v1/applications/{}/grant/revoke", revoked.id),
            json!({"reason": "合同取消"}),
        )
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "revoked");
    refused_later(&server, &device, &revoked.number, "grant_not_active").await;
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "unlock_refused");
    assert_eq!(alarm["occurrences"], 4, "{alarm:#}");

    // An unbound device, and a pending one.
    let unbound = active_device(&server, &o.admin, "seal_box").await;
    let mine = approved(&o, &seal_a, 1).await;
    refused_later(&server, &unbound, &mine.number, "wrong_seal").await;
    let pending = pending_device(&server, &o.admin, "seal_box").await;
    refused_later(&server, &pending, &mine.number, "device_not_active").await;

    // Recorded on the device, newest first, and audited.
    let detail = device_detail(&o.admin, &device).await;
    let outcomes: Vec<Value> = list(&detail["unlocks"])
        .iter()
        .map(|u| u["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        vec![
            json!("grant_not_active"),
            json!("granted"),
            json!("outside_window"),
            json!("wrong_seal"),
            json!("not_approved"),
            json!("unknown_order"),
            json!("unknown_order"),
        ]
    );
    assert_eq!(audit_count(&o.admin, "device.unlock_refused").await, 8);

    // The ten minutes: two refusals, eleven minutes later one more — no alarm; two more
    // within the window — the alarm.
    let window = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &window, &seal_b).await;
    for _ in 0..2 {
        refused_later(&server, &window, "ACME-2026-999998", "unknown_order").await;
    }
    server.clock.advance_seconds(601);
    refused_later(&server, &window, "ACME-2026-999998", "unknown_order").await;
    assert!(of_kind(&alarms(&o.admin, &window).await, "unlock_refused").is_empty());
    server.clock.advance_seconds(60);
    refused_later(&server, &window, "ACME-2026-999998", "unknown_order").await;
    refused_later(&server, &window, "ACME-2026-999998", "unknown_order").await;
    the_alarm(&alarms(&o.admin, &window).await, "unlock_refused");
    server.stop().await;
}

on_both_engines!(refusals_story:
    unlock_refusals_carry_their_reason_and_raise_an_alarm,
    unlock_refusals_carry_their_reason_and_raise_an_alarm_on_postgres);

/// After every approved press has been made the order is refused as `no_uses_left`
/// ("every approved press has been used", the protocol's table).
async fn no_uses_left_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 1).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);
    let answer = device
        .events(vec![device.press(1, &grant, json!({}))])
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(application(&o.admin, &order).await["status"], "completed");
    check_error(
        &device.unlock(&order.number).await,
        StatusCode::FORBIDDEN,
        "unlock.no_uses_left",
    );
    server.stop().await;
}

on_both_engines!(no_uses_left_story:
    an_order_whose_presses_are_all_made_is_refused_as_no_uses_left,
    an_order_whose_presses_are_all_made_is_refused_as_no_uses_left_on_postgres);

// ----- stamp events -------------------------------------------------------------------

/// Three presses on a three-use grant complete the application and consume the grant; a
/// retried batch is stored once; a press beyond the grant is stored, marked, and raises
/// `uses_exceeded`; batch sizes are checked.
async fn events_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 3).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);

    let presses: Vec<Value> = (1..=3)
        .map(|seq| device.press(seq, &grant, json!({})))
        .collect();
    let answer = device.events(presses.clone()).await;
    check(&answer, StatusCode::OK);
    let stored: Vec<(u64, String)> = (1..=3).map(|s| (s, "stored".to_owned())).collect();
    assert_eq!(results(&answer), stored);

    let view = application(&o.employee, &order).await;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["uses_done"], 3);
    assert_eq!(view["grant"]["status"], "consumed");
    let recorded = stamps(&o.employee, &order).await;
    assert_eq!(recorded.len(), 3);
    let mut seqs: Vec<i64> = recorded
        .iter()
        .map(|s| s["seq"].as_i64().expect("seq"))
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, vec![1, 2, 3]);
    for stamp in &recorded {
        assert_eq!(stamp["kind"], "press");
        assert_eq!(stamp["beyond_grant"], false);
        assert_eq!(stamp["device_id"], device.id.as_str());
        assert_eq!(stamp["grant_id"], grant.as_str());
        assert_eq!(stamp["seal_id"], seal_id.as_str());
        assert_eq!(stamp["factors"], json!(["fingerprint"]));
        assert_eq!(stamp["press_ms"], 400);
        assert_eq!(stamp["has_photo"], false);
    }
    assert!(alarms(&o.admin, &device).await.is_empty());

    // The same batch again (a retry, newly signed): every event a duplicate, stored once.
    let answer = device.events(presses).await;
    check(&answer, StatusCode::OK);
    let duplicates: Vec<(u64, String)> = (1..=3).map(|s| (s, "duplicate".to_owned())).collect();
    assert_eq!(results(&answer), duplicates);
    assert_eq!(stamps(&o.employee, &order).await.len(), 3);
    assert_eq!(application(&o.employee, &order).await["uses_done"], 3);

    // A fourth press (in a batch with an old one): stored, beyond the grant, alarmed.
    let answer = device
        .events(vec![
            device.press(3, &grant, json!({})),
            device.press(4, &grant, json!({})),
        ])
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(
        results(&answer),
        vec![(3, "duplicate".to_owned()), (4, "stored".to_owned())]
    );
    let recorded = stamps(&o.employee, &order).await;
    assert_eq!(recorded.len(), 4);
    let fourth = recorded
        .iter()
        .find(|s| s["seq"] == 4)
        .expect("the fourth press");
    assert_eq!(fourth["beyond_grant"], true);
    let view = application(&o.employee, &order).await;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["uses_done"], 3);
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "uses_exceeded");
    assert_eq!(alarm["severity"], "critical");
    assert_eq!(alarm["application_id"], order.id.as_str());
    assert_eq!(alarm["seal_id"], seal_id.as_str());
    assert_eq!(alarm["occurrences"], 1);

    // A press under a grant nobody knows: stored, beyond, the same alarm counted again.
    let unknown = uuid::Uuid::new_v4().to_string();
    let answer = device
        .events(vec![device.press(5, &unknown, json!({}))])
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(results(&answer), vec![(5, "stored".to_owned())]);
    let detail = device_detail(&o.admin, &device).await;
    let fifth = list(&detail["stamps"])
        .into_iter()
        .find(|s| s["seq"] == 5)
        .expect("the fifth press is on the device's record");
    assert_eq!(fifth["beyond_grant"], true);
    assert!(fifth["application_id"].is_null());
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "uses_exceeded");
    assert_eq!(alarm["occurrences"], 2);

    // Batches of 0 and 101 events, and a sequence number of 0.
    check_error(
        &device.events(Vec::new()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.events",
    );
    let many: Vec<Value> = (100..=200)
        .map(|seq| device.press(seq, &grant, json!({})))
        .collect();
    assert_eq!(many.len(), 101);
    check_error(
        &device.events(many).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.events",
    );
    check_error(
        &device
            .events(vec![device.press(0, &grant, json!({}))])
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.events",
    );
    let detail = device_detail(&o.admin, &device).await;
    assert_eq!(list(&detail["stamps"]).len(), 5);
    // A batch of exactly 100 is fine.
    let hundred: Vec<Value> = (101..=200)
        .map(|seq| device.press(seq, &grant, json!({})))
        .collect();
    let answer = device.events(hundred).await;
    check(&answer, StatusCode::OK);
    assert_eq!(results(&answer).len(), 100);
    assert_eq!(audit_count(&o.admin, "stamp.recorded").await, 105);
    server.stop().await;
}

on_both_engines!(events_story:
    presses_are_stored_once_and_complete_the_application,
    presses_are_stored_once_and_complete_the_application_on_postgres);

/// A press's photo (JPEG or PNG, judged by content) is kept and served back byte for byte
/// to whoever may see the application; anything else is refused.
async fn photo_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 3).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);
    let jpeg = photo(image::ImageFormat::Jpeg);
    let png = photo(image::ImageFormat::Png);
    assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]));

    let answer = device
        .events(vec![
            device.press(1, &grant, json!({"photo": STANDARD.encode(&jpeg)})),
            device.press(2, &grant, json!({"photo": STANDARD.encode(&png)})),
            device.press(3, &grant, json!({})),
        ])
        .await;
    check(&answer, StatusCode::OK);
    let recorded = stamps(&o.employee, &order).await;
    let by_seq = |seq: i64| {
        recorded
            .iter()
            .find(|s| s["seq"] == seq)
            .cloned()
            .unwrap_or_else(|| panic!("stamp {seq} in {recorded:#?}"))
    };
    for (seq, bytes, media) in [(1, &jpeg, "image/jpeg"), (2, &png, "image/png")] {
        let stamp = by_seq(seq);
        assert_eq!(stamp["has_photo"], true);
        assert_eq!(stamp["photo_sha256"], sha256_hex(bytes));
        let photo_path = format!(
            "/api/v1/applications/{}/stamps/{}/photo",
            order.id,
            text(&stamp["id"])
        );
        // The applicant and the admin see it.
        for client in [&o.employee, &o.admin] {
            let (status, headers, body) = bytes_of(client, &photo_path).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(header(&headers, "content-type"), media);
            assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
            assert_eq!(&body, bytes);
        }
    }
    // No photo, no download.
    let stamp = by_seq(3);
    assert_eq!(stamp["has_photo"], false);
    check(
        &o.employee
            .get(&format!(
                "/api/v1/applications/{}/stamps/{}/photo",
                order.id,
                text(&stamp["id"])
            ))
            .await,
        StatusCode::NOT_FOUND,
    );
    // A photo under another application's path is not found.
    let other = approved(&o, &seal_id, 1).await;
    check(
        &o.admin
            .get(&format!(
                "/api/v1/applications/{}/stamps/{}/photo",
                other.id,
                text(&by_seq(1)["id"])
            ))
            .await,
        StatusCode::NOT_FOUND,
    );

    // Not an image, not base64: refused, nothing stored.
    for fake in [
        STANDARD.encode(b"GIF89a not really a picture"),
        STANDARD.encode(b"%PDF-1.4 a document"),
        "%%% not base64 %%%".to_owned(),
    ] {
        check_error(
            &device
                .events(vec![device.press(4, &grant, json!({"photo": fake}))])
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid.device.image",
        );
    }
    assert_eq!(stamps(&o.employee, &order).await.len(), 3);
    server.stop().await;
}

on_both_engines!(photo_story:
    press_photos_are_kept_and_served_back,
    press_photos_are_kept_and_served_back_on_postgres);

/// A stamp's photo is evidence: a batch retried with the same sequence number but another
/// photo is a duplicate, and the photo served stays the one first stored (the one whose
/// SHA-256 the stamp records).
async fn photo_retry_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 2).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);
    let original = photo(image::ImageFormat::Jpeg);
    let substitute = encode(
        &image::RgbImage::from_pixel(48, 32, image::Rgb([250, 10, 10])),
        image::ImageFormat::Jpeg,
    );
    assert_ne!(original, substitute);

    let answer = device
        .events(vec![device.press(
            1,
            &grant,
            json!({"photo": STANDARD.encode(&original)}),
        )])
        .await;
    assert_eq!(results(&answer), vec![(1, "stored".to_owned())]);
    let answer = device
        .events(vec![device.press(
            1,
            &grant,
            json!({"photo": STANDARD.encode(&substitute)}),
        )])
        .await;
    assert_eq!(results(&answer), vec![(1, "duplicate".to_owned())]);

    let stamp = stamps(&o.admin, &order).await.remove(0);
    assert_eq!(stamp["photo_sha256"], sha256_hex(&original));
    let (status, _, served) = bytes_of(
        &o.admin,
        &format!(
            "/api/v1/applications/{}/stamps/{}/photo",
            order.id,
            text(&stamp["id"])
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sha256_hex(&served),
        sha256_hex(&original),
        "the photo served must be the one recorded (the retry's photo replaced it)"
    );
    server.stop().await;
}

on_both_engines!(photo_retry_story:
    a_retried_press_does_not_replace_its_photo,
    a_retried_press_does_not_replace_its_photo_on_postgres);

/// Photos and scans over `devices.photo_max_kib` are refused.
async fn photo_limit_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 2).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);
    // Noise does not compress: well over 1 KiB as PNG.
    let mut state = 0x2545_f491_u32;
    let noisy = image::RgbImage::from_fn(64, 64, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let big = encode(&noisy, image::ImageFormat::Png);
    assert!(big.len() > 2048, "{}", big.len());
    check_error(
        &device
            .events(vec![device.press(
                1,
                &grant,
                json!({"photo": STANDARD.encode(&big)}),
            )])
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.image",
    );
    let small = encode(
        &image::RgbImage::from_pixel(8, 8, image::Rgb([9, 9, 9])),
        image::ImageFormat::Png,
    );
    assert!(small.len() < 1024);
    let answer = device
        .events(vec![device.press(
            1,
            &grant,
            json!({"photo": STANDARD.encode(&small)}),
        )])
        .await;
    assert_eq!(results(&answer), vec![(1, "stored".to_owned())]);
    server.stop().await;
}

#[tokio::test]
async fn photos_over_the_size_limit_are_refused() {
    photo_limit_story(TestServer::spawn_with(|c| c.devices.photo_max_kib = 1).await).await;
}

#[tokio::test]
async fn photos_over_the_size_limit_are_refused_on_postgres() {
    if let Some(server) = TestServer::spawn_postgres_with(|c| c.devices.photo_max_kib = 1).await {
        photo_limit_story(server).await;
    }
}

/// Batches arriving together (one group commit) count each use once: ten concurrent
/// single-press batches on a five-use grant give exactly five uses and five presses
/// beyond the grant; two concurrent copies of one event store it once.
async fn concurrent_events_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 5).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);

    let mut tasks = Vec::new();
    for seq in (1..=10).chain([10, 10]) {
        let request = device.events_request(vec![device.press(seq, &grant, json!({}))]);
        let sender = device.sender();
        tasks.push(tokio::spawn(async move { sender.send(&request).await }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        let answer = task.await.expect("the task");
        check(&answer, StatusCode::OK);
        outcomes.extend(results(&answer));
    }
    let stored = outcomes.iter().filter(|(_, r)| r == "stored").count();
    let duplicates: Vec<u64> = outcomes
        .iter()
        .filter(|(_, r)| r == "duplicate")
        .map(|(seq, _)| *seq)
        .collect();
    assert_eq!(stored, 10, "{outcomes:?}");
    assert_eq!(duplicates, vec![10, 10], "{outcomes:?}");

    let view = application(&o.admin, &order).await;
    assert_eq!(view["uses_done"], 5);
    assert_eq!(view["status"], "completed");
    assert_eq!(view["grant"]["status"], "consumed");
    let recorded = stamps(&o.admin, &order).await;
    assert_eq!(recorded.len(), 10);
    let beyond = recorded
        .iter()
        .filter(|s| s["beyond_grant"] == true)
        .count();
    assert_eq!(beyond, 5);
    assert_eq!(
        the_alarm(&alarms(&o.admin, &device).await, "uses_exceeded")["occurrences"],
        5
    );
    server.stop().await;
}

on_both_engines!(threaded concurrent_events_story:
    concurrent_batches_count_each_use_once,
    concurrent_batches_count_each_use_once_on_postgres);

/// A press held longer than the device's `press_max_ms` raises `press_too_long`; a press
/// outside the device's geofence raises `geofence`; an ordinary press raises nothing.
async fn event_alarms_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let answer = o
        .admin
        .patch(
            &format!("/api/v1/devices/{}", device.id),
            json!({
                "geofence": {"lat": 31.2304, "lon": 121.4737, "radius_m": 200},
                "parameters": {"heartbeat_seconds": 30, "press_max_ms": 1000, "low_battery_pct": 15},
            }),
        )
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["press_max_ms"], 1000);
    assert_eq!(answer.body["geofence"]["radius_m"], 200);
    let order = approved(&o, &seal_id, 5).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);

    // Within limits, at home.
    let answer = device
        .events(vec![device.press(1, &grant, json!({"press_ms": 900}))])
        .await;
    check(&answer, StatusCode::OK);
    assert!(alarms(&o.admin, &device).await.is_empty());

    // Held 1.5 s.
    check(
        &device
            .events(vec![device.press(2, &grant, json!({"press_ms": 1500}))])
            .await,
        StatusCode::OK,
    );
    let found = alarms(&o.admin, &device).await;
    let alarm = the_alarm(&found, "press_too_long");
    assert_eq!(alarm["severity"], "medium");
    assert_eq!(alarm["application_id"], order.id.as_str());
    assert!(of_kind(&found, "geofence").is_empty());

    // Pressed in Beijing.
    let beijing = json!({"position": {"lat": 39.9042, "lon": 116.4074, "accuracy_m": 10.0}});
    check(
        &device.events(vec![device.press(3, &grant, beijing)]).await,
        StatusCode::OK,
    );
    let found = alarms(&o.admin, &device).await;
    let alarm = the_alarm(&found, "geofence");
    assert_eq!(alarm["severity"], "high");
    assert!(text(&alarm["details"]).contains("from home"), "{alarm:#}");
    assert_eq!(the_alarm(&found, "press_too_long")["occurrences"], 1);
    // All three presses were within the grant.
    assert_eq!(application(&o.admin, &order).await["uses_done"], 3);
    assert!(of_kind(&found, "uses_exceeded").is_empty());
    server.stop().await;
}

on_both_engines!(event_alarms_story:
    presses_raise_alarms_for_their_length_and_place,
    presses_raise_alarms_for_their_length_and_place_on_postgres);

// ----- heartbeats and alarms ----------------------------------------------------------

/// A heartbeat updates the device's telemetry and raises the alarms it shows: tamper
/// (once, counted), lifted (unless an unlock is in force), low battery, geofence.
async fn heartbeat_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    approved(&o, &seal_id, 1).await;

    let answer = device
        .heartbeat(json!({
            "battery_pct": 80,
            "position": {"lat": 31.2304, "lon": 121.4737, "accuracy_m": 8.0},
            "firmware": "1.0.1",
            "buffered_events": 2,
        }))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["server_time"], now_ms(&server));
    assert_eq!(answer.body["commands_pending"], 0);
    let detail = device_detail(&o.admin, &device).await;
    let d = &detail["device"];
    assert_eq!(d["online"], true);
    assert!(!d["last_seen_at"].is_null());
    assert_eq!(d["battery_pct"], 80);
    assert!((d["position"]["lat"].as_f64().expect("lat") - 31.2304).abs() < 1e-6);
    assert!((d["position"]["lon"].as_f64().expect("lon") - 121.4737).abs() < 1e-6);
    assert_eq!(d["position"]["accuracy_m"], 8);
    assert_eq!(d["on_base"], true);
    assert_eq!(d["tamper"], false);
    assert_eq!(d["locked"], true);
    assert_eq!(d["buffered_events"], 2);
    assert_eq!(d["firmware"], "1.0.1");
    assert_eq!(audit_count(&o.admin, "device.firmware_changed").await, 1);
    assert!(list(&detail["alarms"]).is_empty());

    // Off its base but unlocked under an active grant: that is an unlock, not a lift.
    check(
        &device
            .heartbeat(json!({"on_base": false, "locked": false}))
            .await,
        StatusCode::OK,
    );
    assert!(alarms(&o.admin, &device).await.is_empty());

    // The tamper sensor: one open alarm, counted.
    check(
        &device.heartbeat(json!({"tamper": true})).await,
        StatusCode::OK,
    );
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "tamper");
    assert_eq!(alarm["severity"], "critical");
    assert_eq!(alarm["status"], "open");
    assert_eq!(alarm["occurrences"], 1);
    assert_eq!(alarm["seal_id"], seal_id.as_str());
    server.clock.advance_seconds(30);
    check(
        &device.heartbeat(json!({"tamper": true})).await,
        StatusCode::OK,
    );
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "tamper");
    assert_eq!(alarm["occurrences"], 2);
    assert_ne!(alarm["last_at"], alarm["raised_at"]);

    // Lifted while locked.
    check(
        &device
            .heartbeat(json!({"on_base": false, "locked": true}))
            .await,
        StatusCode::OK,
    );
    assert_eq!(
        the_alarm(&alarms(&o.admin, &device).await, "lifted")["severity"],
        "high"
    );

    // A low battery (the default limit is 15 %).
    check(
        &device.heartbeat(json!({"battery_pct": 15})).await,
        StatusCode::OK,
    );
    assert!(of_kind(&alarms(&o.admin, &device).await, "low_battery").is_empty());
    check(
        &device.heartbeat(json!({"battery_pct": 9})).await,
        StatusCode::OK,
    );
    assert_eq!(
        the_alarm(&alarms(&o.admin, &device).await, "low_battery")["severity"],
        "low"
    );

    // Outside its geofence.
    check(
        &o.admin
            .patch(
                &format!("/api/v1/devices/{}", device.id),
                json!({"geofence": {"lat": 31.2304, "lon": 121.4737, "radius_m": 100}}),
            )
            .await,
        StatusCode::OK,
    );
    check(&device.heartbeat(json!({})).await, StatusCode::OK);
    assert!(of_kind(&alarms(&o.admin, &device).await, "geofence").is_empty());
    check(
        &device
            .heartbeat(json!({"position": {"lat": 39.9042, "lon": 116.4074, "accuracy_m": 10.0}}))
            .await,
        StatusCode::OK,
    );
    the_alarm(&alarms(&o.admin, &device).await, "geofence");

    // A device with no seal, off its base and unlocked: no unlock is in force.
    let loose = active_device(&server, &o.admin, "seal_box").await;
    check(
        &loose
            .heartbeat(json!({"on_base": false, "locked": false}))
            .await,
        StatusCode::OK,
    );
    the_alarm(&alarms(&o.admin, &loose).await, "lifted");

    // Values out of range.
    check_error(
        &device.heartbeat(json!({"battery_pct": 101})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.battery",
    );
    check_error(
        &device
            .heartbeat(json!({"position": {"lat": 95.0, "lon": 10.0, "accuracy_m": 1.0}}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.position",
    );
    server.stop().await;
}

on_both_engines!(heartbeat_story:
    heartbeats_update_the_device_and_raise_alarms,
    heartbeats_update_the_device_and_raise_alarms_on_postgres);

/// An alarm goes open → acknowledged → resolved, each step with who and a note; a
/// resolved alarm stays resolved; only alarm handlers act on alarms.
async fn alarm_lifecycle_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    check(
        &device.heartbeat(json!({"tamper": true})).await,
        StatusCode::OK,
    );
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "tamper");
    let id = text(&alarm["id"]);
    let path = |action: &str| format!("/api/v1/alarms/{id}/{action}");

    // Employees neither see nor handle alarms.
    check_error(
        &o.employee.get("/api/v1/alarms").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    check_error(
        &o.employee
            .post(&path("acknowledge"), json!({"note": "我来看看"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    check_error(
        &o.employee.post(&path("resolve"), json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // The keeper sees them.
    let seen = o.keeper.get("/api/v1/alarms").await;
    check(&seen, StatusCode::OK);
    assert_eq!(list(&seen.body).len(), 1);

    let answer = o
        .admin
        .post(&path("acknowledge"), json!({"note": "已派人检查"}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "acknowledged");
    assert_eq!(answer.body["acknowledge_note"], "已派人检查");
    assert!(
        text(&answer.body["acknowledged_by"]).starts_with("person:"),
        "{:#}",
        answer.body
    );
    assert!(!answer.body["acknowledged_at"].is_null());
    check_error(
        &o.admin.post(&path("acknowledge"), json!({})).await,
        StatusCode::CONFLICT,
        "conflict.alarm_status",
    );
    // The condition repeats: counted on the acknowledged alarm, not a new one.
    check(
        &device.heartbeat(json!({"tamper": true})).await,
        StatusCode::OK,
    );
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "tamper");
    assert_eq!(alarm["id"], id.as_str());
    assert_eq!(alarm["occurrences"], 2);
    assert_eq!(alarm["status"], "acknowledged");

    let answer = o
        .keeper
        .post(&path("resolve"), json!({"note": "误报，传感器已更换"}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "resolved");
    assert_eq!(answer.body["resolve_note"], "误报，传感器已更换");
    assert_eq!(
        answer.body["resolved_by"],
        format!("person:{}", o.keeper_id).as_str()
    );
    assert_eq!(answer.body["acknowledge_note"], "已派人检查");
    for action in ["resolve", "acknowledge"] {
        check_error(
            &o.admin.post(&path(action), json!({})).await,
            StatusCode::CONFLICT,
            "conflict.alarm_status",
        );
    }
    let got = o.admin.get(&format!("/api/v1/alarms/{id}")).await;
    check(&got, StatusCode::OK);
    assert_eq!(got.body["status"], "resolved");

    // Filters.
    let open = o.admin.get("/api/v1/alarms?status=open").await;
    check(&open, StatusCode::OK);
    assert!(list(&open.body).is_empty());
    let resolved = o.admin.get("/api/v1/alarms?status=resolved").await;
    assert_eq!(list(&resolved.body).len(), 1);
    check(
        &o.admin.get("/api/v1/alarms?status=bogus").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );

    // The condition again: a new alarm, which may be resolved straight from open.
    check(
        &device.heartbeat(json!({"tamper": true})).await,
        StatusCode::OK,
    );
    let open = o.admin.get("/api/v1/alarms?status=open").await;
    let fresh = list(&open.body);
    assert_eq!(fresh.len(), 1);
    assert_ne!(fresh[0]["id"], id.as_str());
    assert_eq!(fresh[0]["occurrences"], 1);
    let answer = o
        .admin
        .post(
            &format!("/api/v1/alarms/{}/resolve", text(&fresh[0]["id"])),
            json!({"note": "处理完毕"}),
        )
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "resolved");
    assert!(answer.body["acknowledged_at"].is_null());

    check_error(
        &o.admin
            .get(&format!("/api/v1/alarms/{}", uuid::Uuid::new_v4()))
            .await,
        StatusCode::NOT_FOUND,
        "not_found.alarm",
    );
    assert_eq!(audit_count(&o.admin, "alarm.raised").await, 2);
    assert_eq!(audit_count(&o.admin, "alarm.acknowledged").await, 1);
    assert_eq!(audit_count(&o.admin, "alarm.resolved").await, 2);
    server.stop().await;
}

on_both_engines!(alarm_lifecycle_story:
    alarms_are_acknowledged_and_resolved_with_notes,
    alarms_are_acknowledged_and_resolved_with_notes_on_postgres);

// ----- commands -----------------------------------------------------------------------

/// A command reaches a waiting long-poll at once; it is sent again until acknowledged;
/// an acknowledgement is taken once.
async fn long_poll_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    let send_path = format!("/api/v1/devices/{}/commands", device.id);

    // Nothing pending: at once with wait=0, after about a second with wait=1.
    let answer = device.commands(0).await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["commands"], json!([]));
    let started = Instant::now();
    let answer = device.commands(1).await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["commands"], json!([]));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // A long-poll waiting when the command is made.
    let sender = device.sender();
    let request = device.sign(Method::GET, "/device/v1/commands?wait=5", Vec::new());
    let poll = tokio::spawn(async move {
        let answer = sender.send(&request).await;
        (answer, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "the long-poll waits");
    let sent_at = Instant::now();
    let made = o.admin.post(&send_path, json!({"kind": "lock"})).await;
    check(&made, StatusCode::ACCEPTED);
    assert_eq!(made.body["kind"], "lock");
    assert_eq!(made.body["status"], "pending");
    let command = text(&made.body["id"]);
    let (answer, answered_at) = poll.await.expect("the poll task");
    check(&answer, StatusCode::OK);
    let latency = answered_at - sent_at;
    assert!(
        latency < Duration::from_millis(1500),
        "the command arrived {latency:?} after it was made"
    );
    let commands = list(&answer.body["commands"]);
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0]["id"], command.as_str());
    assert_eq!(commands[0]["kind"], "lock");
    assert!(commands[0]["grant_id"].is_null());
    assert_eq!(commands[0]["created_at"], now_ms(&server));

    // Not acknowledged: sent again, counted, and announced in heartbeats.
    let answer = device.commands(0).await;
    assert_eq!(list(&answer.body["commands"]).len(), 1);
    let answer = device.heartbeat(json!({})).await;
    assert_eq!(answer.body["commands_pending"], 1);
    let detail = device_detail(&o.admin, &device).await;
    let row = &list(&detail["commands"])[0];
    assert_eq!(row["status"], "pending");
    assert_eq!(row["sent_count"], 2);
    assert!(text(&row["created_by"]).starts_with("person:"));

    // Acknowledged: done, once.
    check_error(
        &device.ack(&command, "maybe", "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.unknown_value",
    );
    let answer = device.ack(&command, "done", "已上锁").await;
    check(&answer, StatusCode::NO_CONTENT);
    let detail = device_detail(&o.admin, &device).await;
    let row = &list(&detail["commands"])[0];
    assert_eq!(row["status"], "done");
    assert_eq!(row["note"], "已上锁");
    assert!(!row["acked_at"].is_null());
    check_error(
        &device.ack(&command, "done", "").await,
        StatusCode::CONFLICT,
        "conflict.command_not_pending",
    );
    check_error(
        &device
            .ack(&uuid::Uuid::new_v4().to_string(), "done", "")
            .await,
        StatusCode::NOT_FOUND,
        "not_found.command",
    );
    assert_eq!(device.commands(0).await.body["commands"], json!([]));
    assert_eq!(
        device.heartbeat(json!({})).await.body["commands_pending"],
        0
    );

    // A failed one.
    let made = o.admin.post(&send_path, json!({"kind": "lock"})).await;
    let failed = text(&made.body["id"]);
    check(
        &device.ack(&failed, "failed", "电机卡住").await,
        StatusCode::NO_CONTENT,
    );
    let detail = device_detail(&o.admin, &device).await;
    let row = list(&detail["commands"])
        .into_iter()
        .find(|c| c["id"] == failed.as_str())
        .expect("listed");
    assert_eq!(row["status"], "failed");
    assert_eq!(row["note"], "电机卡住");

    // Another device neither gets nor acknowledges this device's commands.
    let other = active_device(&server, &o.admin, "seal_box").await;
    o.admin.post(&send_path, json!({"kind": "lock"})).await;
    assert_eq!(other.commands(0).await.body["commands"], json!([]));
    let pending = list(&device.commands(0).await.body["commands"]);
    assert_eq!(pending.len(), 1);
    check_error(
        &other.ack(&text(&pending[0]["id"]), "done", "").await,
        StatusCode::NOT_FOUND,
        "not_found.command",
    );

    // What admins may send.
    for body in [
        json!({"kind": "cancel_grant"}),
        json!({"kind": "update_parameters"}),
        json!({"kind": "explode"}),
    ] {
        check(
            &o.admin.post(&send_path, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    check_error(
        &o.admin
            .post(
                &format!("/api/v1/devices/{}/commands", uuid::Uuid::new_v4()),
                json!({"kind": "lock"}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found.device",
    );
    check_error(
        &o.employee.post(&send_path, json!({"kind": "lock"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    server.stop().await;
}

on_both_engines!(long_poll_story:
    commands_reach_a_long_poll_and_are_acknowledged_once,
    commands_reach_a_long_poll_and_are_acknowledged_once_on_postgres);

/// The WebSocket stream: a signed upgrade; pending commands first, then each new command
/// (lock, update_parameters from a PATCH, cancel_grant from a grant's revocation) pushed
/// within about a second. Unsigned, replayed and inactive upgrades are refused.
async fn stream_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let order = approved(&o, &seal_id, 2).await;
    let send_path = format!("/api/v1/devices/{}/commands", device.id);

    // Refused upgrades.
    let unsigned = SignedRequest {
        method: Method::GET,
        path: "/device/v1/stream".to_owned(),
        query: None,
        body: Vec::new(),
        headers: Vec::new(),
    };
    assert_eq!(
        open_stream(&server, &unsigned).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let pending = pending_device(&server, &o.admin, "seal_box").await;
    let upgrade = pending.sign(Method::GET, "/device/v1/stream", Vec::new());
    assert_eq!(
        open_stream(&server, &upgrade).await.err(),
        Some(StatusCode::FORBIDDEN)
    );

    // A command made before the device connects comes first.
    let made = o.admin.post(&send_path, json!({"kind": "lock"})).await;
    check(&made, StatusCode::ACCEPTED);
    let upgrade = device.sign(Method::GET, "/device/v1/stream", Vec::new());
    let mut seen = std::collections::HashSet::new();
    let mut stream = open_stream(&server, &upgrade)
        .await
        .expect("the stream opens");
    let command = next_command(&mut stream, &mut seen, Duration::from_secs(2)).await;
    assert_eq!(command["id"], made.body["id"]);
    assert_eq!(command["kind"], "lock");
    check(
        &device.ack(&text(&command["id"]), "done", "").await,
        StatusCode::NO_CONTENT,
    );
    // The same upgrade again is a replay.
    assert_eq!(
        open_stream(&server, &upgrade).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    // Let the stream settle into waiting.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A lock, pushed.
    let sent_at = Instant::now();
    let made = o.admin.post(&send_path, json!({"kind": "lock"})).await;
    check(&made, StatusCode::ACCEPTED);
    let command = next_command(&mut stream, &mut seen, Duration::from_secs(5)).await;
    let latency = sent_at.elapsed();
    assert!(
        latency < Duration::from_millis(1500),
        "pushed after {latency:?}"
    );
    assert_eq!(command["id"], made.body["id"]);
    check(
        &device.ack(&text(&command["id"]), "done", "").await,
        StatusCode::NO_CONTENT,
    );

    // New parameters: an update_parameters command.
    let parameters = json!({"heartbeat_seconds": 60, "press_max_ms": 2000, "low_battery_pct": 20});
    let sent_at = Instant::now();
    let answer = o
        .admin
        .patch(
            &format!("/api/v1/devices/{}", device.id),
            json!({"parameters": parameters}),
        )
        .await;
    check(&answer, StatusCode::OK);
    let command = next_command(&mut stream, &mut seen, Duration::from_secs(5)).await;
    let latency = sent_at.elapsed();
    assert!(
        latency < Duration::from_millis(1500),
        "pushed after {latency:?}"
    );
    assert_eq!(command["kind"], "update_parameters");
    assert_eq!(command["parameters"], parameters);
    check(
        &device.ack(&text(&command["id"]), "done", "").await,
        StatusCode::NO_CONTENT,
    );
    assert_eq!(device.me().await.body["parameters"], parameters);
    // The same parameters again change nothing and send nothing.
    check(
        &o.admin
            .patch(
                &format!("/api/v1/devices/{}", device.id),
                json!({"parameters": parameters}),
            )
            .await,
        StatusCode::OK,
    );
    let detail = device_detail(&o.admin, &device).await;
    assert_eq!(list(&detail["commands"]).len(), 3);

    // Revoking the grant of the bound seal: cancel_grant, naming the grant.
    let grant = text(&application(&o.admin, &order).await["grant"]["id"]);
    let sent_at = Instant::now();
    check(
        &o.admin
            .post(
                &format!("/api/v1/applications/{}/grant/revoke", order.id),
                json!({"reason": "合同取消"}),
            )
            .await,
        StatusCode::OK,
    );
    let command = next_command(&mut stream, &mut seen, Duration::from_secs(5)).await;
    let latency = sent_at.elapsed();
    assert!(
        latency < Duration::from_millis(1500),
        "pushed after {latency:?}"
    );
    assert_eq!(command["kind"], "cancel_grant");
    assert_eq!(command["grant_id"], grant.as_str());
    check(
        &device.ack(&text(&command["id"]), "done", "").await,
        StatusCode::NO_CONTENT,
    );
    // A press under the revoked grant (a device that missed the command) is stored,
    // marked beyond the grant, and raises `uses_exceeded`.
    let answer = device
        .events(vec![device.press(1, &grant, json!({}))])
        .await;
    assert_eq!(results(&answer), vec![(1, "stored".to_owned())]);
    let recorded = stamps(&o.admin, &order).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["beyond_grant"], true);
    assert_eq!(application(&o.admin, &order).await["uses_done"], 0);
    the_alarm(&alarms(&o.admin, &device).await, "uses_exceeded");
    stream.close(None).await.ok();
    server.stop().await;
}

on_both_engines!(stream_story:
    commands_are_pushed_over_the_websocket,
    commands_are_pushed_over_the_websocket_on_postgres);

// ----- the seal printer ---------------------------------------------------------------

/// A seal printer scans the page: the approved page gives a print job (the seal at true
/// size) and uses one press; a different page is refused with an alarm and uses nothing.
async fn scan_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let other_seal = seal(&o.admin, "财务专用章", 2).await;
    let printer = active_device(&server, &o.admin, "seal_printer").await;
    bind(&o.admin, &printer, &seal_id).await;
    let page = text_page(0);
    let order = filed(&o, &seal_id, 2, (NOW, UNTIL), ("page.png", page.clone())).await;
    approve(&o, &order).await;

    let answer = printer.scan(&order.number, &page).await;
    check(&answer, StatusCode::OK);
    let job = &answer.body;
    assert_eq!(job["order"], order.number.as_str());
    assert!(
        text(&job["seal_svg"]).trim_start().starts_with("<svg"),
        "{job:#}"
    );
    assert_eq!(job["width_mm"], 40.0);
    assert_eq!(job["height_mm"], 40.0);
    assert_eq!(job["uses_left"], 1);
    let view = application(&o.employee, &order).await;
    assert_eq!(view["uses_done"], 1);
    assert_eq!(view["status"], "in_use");
    let recorded = stamps(&o.employee, &order).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["id"], job["job_id"]);
    assert_eq!(recorded[0]["kind"], "print");
    assert_eq!(recorded[0]["has_photo"], true);
    // The job prints the seal with this stamp's QR code and numeric code.
    assert_eq!(job["code"], recorded[0]["code"]);
    assert_eq!(job["numeric_code"], recorded[0]["numeric_code"]);
    let mark = text(&job["mark_svg"]);
    assert!(
        mark.trim_start().starts_with("<svg") && mark.contains("mm\""),
        "{mark}"
    );
    assert!(
        mark.len() > text(&job["seal_svg"]).len(),
        "the mark adds the QR code"
    );
    let (status, _, scanned) = bytes_of(
        &o.employee,
        &format!(
            "/api/v1/applications/{}/stamps/{}/photo",
            order.id,
            text(&job["job_id"])
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(scanned, page, "the scan is kept");

    // A different page: nothing printed, nothing used, an alarm.
    let answer = printer.scan(&order.number, &text_page(1)).await;
    check_error(&answer, StatusCode::CONFLICT, "scan.content_mismatch");
    assert!(answer.body.get("seal_svg").is_none());
    let alarm = the_alarm(&alarms(&o.admin, &printer).await, "content_mismatch");
    assert_eq!(alarm["severity"], "critical");
    assert_eq!(alarm["application_id"], order.id.as_str());
    assert_eq!(application(&o.employee, &order).await["uses_done"], 1);
    assert_eq!(stamps(&o.employee, &order).await.len(), 1);
    // A blank page has its own alarm.
    let answer = printer.scan(&order.number, &blank_page()).await;
    check_error(&answer, StatusCode::CONFLICT, "scan.blank_page");
    the_alarm(&alarms(&o.admin, &printer).await, "blank_page");
    assert_eq!(application(&o.employee, &order).await["uses_done"], 1);

    // Every decision is stored and shown with the application: the match with its stamp
    // and the approved page, the refusals without a stamp; each has a diff image.
    let compared = o
        .employee
        .get(&format!("/api/v1/applications/{}/comparisons", order.id))
        .await;
    check(&compared, StatusCode::OK);
    let compared = compared.body.as_array().expect("a list").clone();
    assert_eq!(compared.len(), 3, "{compared:#?}");
    let matched: Vec<&Value> = compared
        .iter()
        .filter(|c| c["verdict"] == "match")
        .collect();
    assert_eq!(matched.len(), 1, "{compared:#?}");
    assert_eq!(matched[0]["stamp_id"], job["job_id"]);
    assert_eq!(matched[0]["subject"], "print_scan");
    assert_eq!(matched[0]["page"], 1);
    assert_eq!(matched[0]["document_name"], "page.png");
    assert!(
        matched[0]["score"].as_f64().unwrap_or(0.0) > 0.9,
        "{:#}",
        matched[0]
    );
    let refused: Vec<&Value> = compared
        .iter()
        .filter(|c| c["verdict"] == "mismatch")
        .collect();
    assert_eq!(refused.len(), 2, "{compared:#?}");
    assert!(refused.iter().all(|c| c["stamp_id"].is_null()));
    assert_eq!(refused.iter().filter(|c| c["blank"] == true).count(), 1);
    for c in &compared {
        let url = text(&c["diff_url"]);
        let (status, _, png) = bytes_of(&o.employee, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(png.starts_with(b"\x89PNG"), "{url}");
    }
    // Another organisation sees none of it.
    let other = org(&server, "other").await;
    let id = text(&matched[0]["id"]);
    check_error(
        &other.admin.get(&format!("/api/v1/comparisons/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found.comparison",
    );

    // Not an image.
    check_error(
        &printer.scan(&order.number, b"just some text").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.device.image",
    );
    // The unlock checks apply: another seal's order.
    let elsewhere = approved(&o, &other_seal, 1).await;
    check_error(
        &printer.scan(&elsewhere.number, &page).await,
        StatusCode::FORBIDDEN,
        "unlock.wrong_seal",
    );

    // The last use completes the application; no further print.
    let answer = printer.scan(&order.number, &page).await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["uses_left"], 0);
    let view = application(&o.employee, &order).await;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["grant"]["status"], "consumed");
    let answer = printer.scan(&order.number, &page).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{:#}", answer.body);
    assert!(answer.code().starts_with("unlock."), "{:#}", answer.body);
    assert_eq!(stamps(&o.employee, &order).await.len(), 2);
    server.stop().await;
}

on_both_engines!(scan_story:
    a_seal_printer_prints_only_a_matching_page,
    a_seal_printer_prints_only_a_matching_page_on_postgres);

/// Scans arriving together for the last approved use print once: one print job, the
/// others refused, one stamp, one use.
async fn concurrent_scans_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let printer = active_device(&server, &o.admin, "seal_printer").await;
    bind(&o.admin, &printer, &seal_id).await;
    let page = text_page(0);
    let order = filed(&o, &seal_id, 1, (NOW, UNTIL), ("page.png", page.clone())).await;
    approve(&o, &order).await;

    let body = json!({"order": order.number, "page": STANDARD.encode(&page)});
    let mut tasks = Vec::new();
    // Each scan is compared (seconds of OCR) before the last use is raced for: four.
    for _ in 0..4 {
        let request = printer.sign_json(Method::POST, "/device/v1/scan", &body);
        let sender = printer.sender();
        tasks.push(tokio::spawn(async move { sender.send(&request).await }));
    }
    let mut printed = 0;
    for task in tasks {
        let answer = task.await.expect("the task");
        match answer.status {
            StatusCode::OK => printed += 1,
            StatusCode::FORBIDDEN => {
                assert!(answer.code().starts_with("unlock."), "{:#}", answer.body)
            }
            other => panic!("{other}: {:#}", answer.body),
        }
    }
    let recorded = stamps(&o.admin, &order).await;
    let view = application(&o.admin, &order).await;
    assert_eq!(
        (printed, recorded.len(), view["uses_done"].clone()),
        (1, 1, json!(1)),
        "one approved use, {printed} print jobs"
    );
    server.stop().await;
}

// With the refusal alarm out of reach, so that only the printing is raced.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_scans_print_the_last_use_once() {
    concurrent_scans_story(
        TestServer::spawn_with(|c| {
            c.devices.unlock_refusals_alarm = 1000;
            c.comparison.instances = 2;
        })
        .await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_scans_print_the_last_use_once_on_postgres() {
    if let Some(server) = TestServer::spawn_postgres_with(|c| {
        c.devices.unlock_refusals_alarm = 1000;
        c.comparison.instances = 2;
    })
    .await
    {
        concurrent_scans_story(server).await;
    }
}

/// Refused unlocks arriving together: each answered with its reason, and one standing
/// `unlock_refused` alarm.
async fn concurrent_refusals_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    // Two refusals first, so that every one of the concurrent ones may raise the alarm.
    for _ in 0..2 {
        check_error(
            &device.unlock("ACME-2026-999999").await,
            StatusCode::FORBIDDEN,
            "unlock.unknown_order",
        );
    }
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (request, _) = device.unlock_request("ACME-2026-999999");
        let sender = device.sender();
        tasks.push(tokio::spawn(async move { sender.send(&request).await }));
    }
    for task in tasks {
        check_error(
            &task.await.expect("the task"),
            StatusCode::FORBIDDEN,
            "unlock.unknown_order",
        );
    }
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "unlock_refused");
    assert_eq!(alarm["status"], "open");
    assert_eq!(audit_count(&o.admin, "device.unlock_refused").await, 10);
    server.stop().await;
}

on_both_engines!(threaded concurrent_refusals_story:
    concurrent_refusals_are_each_answered_and_raise_one_alarm,
    concurrent_refusals_are_each_answered_and_raise_one_alarm_on_postgres);

/// Heartbeats arriving together with the tamper sensor set: all accepted, one alarm
/// counting every occurrence.
async fn concurrent_alarms_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let request = device.sign_json(
            Method::POST,
            "/device/v1/heartbeat",
            &device.heartbeat_body(json!({"tamper": true})),
        );
        let sender = device.sender();
        tasks.push(tokio::spawn(async move { sender.send(&request).await }));
    }
    for task in tasks {
        check(&task.await.expect("the task"), StatusCode::OK);
    }
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "tamper");
    assert_eq!(alarm["occurrences"], 8);
    server.stop().await;
}

on_both_engines!(threaded concurrent_alarms_story:
    concurrent_heartbeats_raise_one_alarm,
    concurrent_heartbeats_raise_one_alarm_on_postgres);

// ----- tenancy ------------------------------------------------------------------------

/// Another organisation neither sees nor acts on a device or its alarms; a device never
/// unlocks or presses under another organisation's order.
async fn tenancy_story(server: TestServer) {
    let acme = org(&server, "acme").await;
    let beta = org(&server, "beta").await;
    let acme_seal = seal(&acme.admin, "合同专用章", 2).await;
    let beta_seal = seal(&beta.admin, "合同专用章", 2).await;
    let device = active_device(&server, &acme.admin, "seal_box").await;
    bind(&acme.admin, &device, &acme_seal).await;
    let stranger = pending_device(&server, &acme.admin, "seal_box").await;
    check(
        &device.heartbeat(json!({"tamper": true})).await,
        StatusCode::OK,
    );
    let alarm = text(&the_alarm(&alarms(&acme.admin, &device).await, "tamper")["id"]);

    // Beta's admin finds nothing of acme's.
    let devices = beta.admin.get("/api/v1/devices").await;
    check(&devices, StatusCode::OK);
    assert_eq!(devices.body, json!([]));
    let tokens = beta.admin.get(TOKENS).await;
    assert_eq!(tokens.body, json!([]));
    for d in [&device, &stranger] {
        let base = format!("/api/v1/devices/{}", d.id);
        check_error(
            &beta.admin.get(&base).await,
            StatusCode::NOT_FOUND,
            "not_found.device",
        );
        for action in ["approve", "revoke"] {
            check_error(
                &beta
                    .admin
                    .post(&format!("{base}/{action}"), json!({}))
                    .await,
                StatusCode::NOT_FOUND,
                "not_found.device",
            );
        }
        check_error(
            &beta.admin.patch(&base, json!({"seal_id": beta_seal})).await,
            StatusCode::NOT_FOUND,
            "not_found.device",
        );
        check_error(
            &beta
                .admin
                .post(&format!("{base}/commands"), json!({"kind": "lock"}))
                .await,
            StatusCode::NOT_FOUND,
            "not_found.device",
        );
    }
    let seen = beta.admin.get("/api/v1/alarms").await;
    check(&seen, StatusCode::OK);
    assert_eq!(seen.body, json!([]));
    let seen = beta
        .admin
        .get(&format!("/api/v1/alarms?device_id={}", device.id))
        .await;
    assert_eq!(seen.body, json!([]));
    check_error(
        &beta.admin.get(&format!("/api/v1/alarms/{alarm}")).await,
        StatusCode::NOT_FOUND,
        "not_found.alarm",
    );
    for action in ["acknowledge", "resolve"] {
        check_error(
            &beta
                .admin
                .post(&format!("/api/v1/alarms/{alarm}/{action}"), json!({}))
                .await,
            StatusCode::NOT_FOUND,
            "not_found.alarm",
        );
    }
    // Nothing changed.
    let detail = device_detail(&acme.admin, &device).await;
    assert_eq!(detail["device"]["status"], "active");
    assert_eq!(detail["device"]["seal_id"], acme_seal.as_str());
    assert!(list(&detail["commands"]).is_empty());
    assert_eq!(
        device_detail(&acme.admin, &stranger).await["device"]["status"],
        "pending"
    );
    assert_eq!(
        the_alarm(&alarms(&acme.admin, &device).await, "tamper")["status"],
        "open"
    );
    // Acme cannot bind its device to beta's seal.
    check_error(
        &acme
            .admin
            .patch(
                &format!("/api/v1/devices/{}", device.id),
                json!({"seal_id": beta_seal}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.seal.unknown",
    );

    // Acme's device and beta's order.
    let beta_order = approved(&beta, &beta_seal, 2).await;
    check_error(
        &device.unlock(&beta_order.number).await,
        StatusCode::FORBIDDEN,
        "unlock.unknown_order",
    );
    // Beta's grant id in acme's press: a press under no known grant, beta untouched.
    let beta_grant = text(&application(&beta.admin, &beta_order).await["grant"]["id"]);
    let answer = device
        .events(vec![device.press(1, &beta_grant, json!({}))])
        .await;
    check(&answer, StatusCode::OK);
    let view = application(&beta.admin, &beta_order).await;
    assert_eq!(view["uses_done"], 0);
    assert_eq!(view["status"], "approved");
    assert!(stamps(&beta.admin, &beta_order).await.is_empty());
    let stamp = &list(&device_detail(&acme.admin, &device).await["stamps"])[0];
    assert_eq!(stamp["beyond_grant"], true);
    assert!(stamp["application_id"].is_null(), "{stamp:#}");
    // Beta's devices enrol into beta.
    let beta_device = active_device(&server, &beta.admin, "seal_box").await;
    check_error(
        &acme
            .admin
            .get(&format!("/api/v1/devices/{}", beta_device.id))
            .await,
        StatusCode::NOT_FOUND,
        "not_found.device",
    );
    server.stop().await;
}

on_both_engines!(tenancy_story:
    devices_and_alarms_belong_to_their_organisation,
    devices_and_alarms_belong_to_their_organisation_on_postgres);

// ----- offline ------------------------------------------------------------------------

/// The device timers: a device silent longer than `devices.offline_after_seconds` (300)
/// is marked offline with an `offline` alarm; old nonces are forgotten, and a captured
/// request is then refused by the clock window instead.
async fn offline_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    let app = server.server.as_ref().expect("running").app.clone();
    let captured = device.sign_json(
        Method::POST,
        "/device/v1/heartbeat",
        &device.heartbeat_body(json!({})),
    );
    check(&device.send(&captured).await, StatusCode::OK);
    assert_eq!(
        device_detail(&o.admin, &device).await["device"]["online"],
        true
    );
    assert_eq!(app.run_device_timers().await.expect("timers"), 0);

    server.clock.advance_seconds(300);
    assert_eq!(app.run_device_timers().await.expect("timers"), 0);
    assert_eq!(
        device_detail(&o.admin, &device).await["device"]["online"],
        true
    );
    server.clock.advance_seconds(1);
    assert_eq!(app.run_device_timers().await.expect("timers"), 1);
    let detail = device_detail(&o.admin, &device).await;
    assert_eq!(detail["device"]["online"], false);
    let alarm = the_alarm(&list(&detail["alarms"]), "offline");
    assert_eq!(alarm["severity"], "medium");
    assert_eq!(alarm["occurrences"], 1);
    // Marked once.
    assert_eq!(app.run_device_timers().await.expect("timers"), 0);

    // Back: online again.
    check(&device.heartbeat(json!({})).await, StatusCode::OK);
    assert_eq!(
        device_detail(&o.admin, &device).await["device"]["online"],
        true
    );

    // 601 s after the captured request its nonce is forgotten, and it is too old anyway.
    server.clock.advance_seconds(300);
    app.run_device_timers().await.expect("timers");
    check_error(
        &device.send(&captured).await,
        StatusCode::UNAUTHORIZED,
        "device.signature.clock",
    );
    // Silent again: the standing alarm counts it.
    server.clock.advance_seconds(301);
    assert_eq!(app.run_device_timers().await.expect("timers"), 1);
    let alarm = the_alarm(&alarms(&o.admin, &device).await, "offline");
    assert_eq!(alarm["occurrences"], 2);
    server.stop().await;
}

on_both_engines!(offline_story:
    silent_devices_are_marked_offline_with_an_alarm,
    silent_devices_are_marked_offline_with_an_alarm_on_postgres);
