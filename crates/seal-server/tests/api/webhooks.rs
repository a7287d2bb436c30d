//! Webhooks end to end: endpoints (created, listed, changed, secret shown once, rotated,
//! deleted), who may manage them, and delivery to a local receiver: signed the Standard
//! Webhooks way (checked here with an HMAC written independently of the server's, pinned
//! by the published test vector), retried with backoff on the manual clock, replayed with
//! the same `webhook-id`, given up after the schedule, refused for private targets when
//! those are not allowed, and delivered exactly once across a restart.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use seal_server::config::Config;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{Client, PASSWORD, TestServer, add_person};

// ----- an independent verifier -----------------------------------------------------------

/// HMAC-SHA256 (RFC 2104) on plain SHA-256, not the server's `hmac` crate.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Whether `header` (space-separated `v1,<base64>` signatures) holds a valid signature of
/// `{id}.{timestamp}.{body}` under `secret` (`whsec_<base64 key>`).
fn verifies(secret: &str, id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("secret is base64");
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    let expected = format!("v1,{}", STANDARD.encode(hmac_sha256(&key, &message)));
    header.split(' ').any(|candidate| candidate == expected)
}

#[test]
fn the_verifier_accepts_the_standard_webhooks_vector() {
    assert!(verifies(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "1614265330",
        br#"{"test": 2432232314}"#,
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    ));
    assert!(!verifies(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "1614265331",
        br#"{"test": 2432232314}"#,
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    ));
}

// ----- a local receiver ------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: Vec<u8>,
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    /// Answer 500 to this many requests before answering 204.
    fail_next: usize,
}

/// An HTTP receiver on 127.0.0.1 that records every request.
struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, state, task }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn fail_next(&self, n: usize) {
        self.state.lock().unwrap().fail_next = n;
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until at least `n` requests arrived.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..500 {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the receiver got {} requests, not {n}",
            self.received().len()
        );
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AxumStatus {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut state = state.lock().unwrap();
    state.received.push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body: body.to_vec(),
    });
    if state.fail_next > 0 {
        state.fail_next -= 1;
        AxumStatus::INTERNAL_SERVER_ERROR
    } else {
        AxumStatus::NO_CONTENT
    }
}

// ----- helpers ---------------------------------------------------------------------------

/// Tests reach their receivers on loopback; the worker polls often.
fn allow_loopback(config: &mut Config) {
    config.webhooks.allow_private_targets = true;
    config.webhooks.poll_interval_ms = 50;
}

async fn server() -> TestServer {
    TestServer::spawn_with(allow_loopback).await
}

fn app(server: &TestServer) -> &seal_app::App {
    &server.server.as_ref().expect("running").app
}

/// Creates an endpoint; returns (id, secret).
async fn create(admin: &Client, url: &str, kinds: &[&str]) -> (String, String) {
    let answer = admin
        .post("/api/v1/webhooks", json!({"url": url, "kinds": kinds}))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    (
        answer.body["webhook"]["id"].as_str().unwrap().to_owned(),
        answer.body["secret"].as_str().unwrap().to_owned(),
    )
}

/// Sends a test event; returns the delivery.
async fn send_test(admin: &Client, id: &str) -> Value {
    let answer = admin
        .post(&format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{:?}", answer.body);
    answer.body
}

async fn delivery(admin: &Client, id: &str) -> Value {
    let answer = admin.get(&format!("/api/v1/webhook-deliveries/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body
}

/// Waits until the delivery has `attempts` attempts recorded; returns its detail.
async fn wait_attempts(admin: &Client, id: &str, attempts: usize) -> Value {
    for _ in 0..500 {
        let detail = delivery(admin, id).await;
        if detail["attempts"].as_array().map_or(0, Vec::len) >= attempts {
            return detail;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("delivery {id} did not reach {attempts} attempts");
}

fn millis(text: &Value) -> i64 {
    seal_core::time::Timestamp::parse_rfc3339(text.as_str().expect("a time"))
        .expect("RFC 3339")
        .as_millis()
}

/// Moves the manual clock and wakes the worker.
fn advance(server: &TestServer, seconds: i64) {
    server.clock.advance_seconds(seconds);
    app(server).wake_webhook_worker();
}

// ----- endpoints -------------------------------------------------------------------------

async fn endpoint_lifecycle(server: TestServer) {
    let admin = server.register("hooks").await;
    let created = admin
        .post(
            "/api/v1/webhooks",
            json!({"url": "https://registry.example.gov.cn/filing", "kinds": ["grant.issued"],
                   "filing_target": "public_security"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let secret = created.body["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let key = STANDARD.decode(&secret["whsec_".len()..]).unwrap();
    assert_eq!(key.len(), 24);
    let id = created.body["webhook"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body["webhook"]["kinds"],
        json!(["grant.issued", "seal.created", "seal.status_changed"]),
        "a filing target always gets the seal events"
    );
    assert_eq!(created.body["webhook"]["enabled"], true);

    // The secret is never shown again.
    let list = admin.get("/api/v1/webhooks").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert!(!list.text.contains(secret), "{}", list.text);
    let one = admin.get(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(!one.text.contains("whsec_"), "{}", one.text);
    assert_eq!(one.body["filing_target"], "public_security");

    let changed = admin
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            json!({"url": "https://registry.example.gov.cn/v2", "kinds": ["application.decided"],
                   "filing_target": null, "enabled": false}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(changed.body["url"], "https://registry.example.gov.cn/v2");
    assert_eq!(changed.body["kinds"], json!(["application.decided"]));
    assert_eq!(changed.body["filing_target"], Value::Null);
    assert_eq!(changed.body["enabled"], false);
    let disabled_test = admin
        .post(&format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(disabled_test.status, StatusCode::CONFLICT);
    assert_eq!(disabled_test.code(), "conflict.webhook_disabled");

    let rotated = admin
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"), json!({}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{:?}", rotated.body);
    let new_secret = rotated.body["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_"));
    assert_ne!(new_secret, secret);

    // A caller-chosen secret in the right format is kept; another format is refused.
    let own = admin
        .post(
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/a", "kinds": ["seal.created"],
                   "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{:?}", own.body);
    assert_eq!(own.body["secret"], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    for (body, code, field) in [
        (
            json!({"url": "ftp://hooks.example.com/", "kinds": ["seal.created"]}),
            "invalid.webhook_url.scheme",
            "url",
        ),
        (
            json!({"url": "not a url", "kinds": ["seal.created"]}),
            "invalid.webhook_url.characters",
            "url",
        ),
        (
            json!({"url": "https://user:pw@hooks.example.com/", "kinds": ["seal.created"]}),
            "invalid.webhook_url.credentials",
            "url",
        ),
        (
            json!({"url": "https://hooks.example.com/", "kinds": ["stamp.nope"]}),
            "invalid.webhook.kind.unknown",
            "kinds",
        ),
        (
            json!({"url": "https://hooks.example.com/", "kinds": ["webhook.test"]}),
            "invalid.webhook.kind.unknown",
            "kinds",
        ),
        (
            json!({"url": "https://hooks.example.com/", "kinds": []}),
            "invalid.webhook.kind.none",
            "kinds",
        ),
        (
            json!({"url": "https://hooks.example.com/", "kinds": ["seal.created"], "filing_target": "police"}),
            "invalid.webhook.filing_target.unknown",
            "filing_target",
        ),
        (
            json!({"url": "https://hooks.example.com/", "kinds": ["seal.created"], "secret": "hunter2"}),
            "invalid.webhook.secret",
            "secret",
        ),
    ] {
        let answer = admin.post("/api/v1/webhooks", body.clone()).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer.code(), code, "{body}: {:?}", answer.body);
        assert_eq!(answer.body["error"]["field"], field);
    }
    let bad_status = admin.get("/api/v1/webhook-deliveries?status=lost").await;
    assert_eq!(bad_status.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Every change is audited.
    let audit = admin.get("/api/v1/audit-events?per_page=100").await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rotated",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    let deleted = admin.delete(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = admin.get(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.code(), "not_found.webhook");
    server.stop().await;
}

#[tokio::test]
async fn endpoints_are_created_listed_changed_and_deleted() {
    endpoint_lifecycle(server().await).await;
}

#[tokio::test]
async fn endpoints_are_created_listed_changed_and_deleted_on_postgres() {
    if let Some(server) = TestServer::spawn_postgres_with(allow_loopback).await {
        endpoint_lifecycle(server).await;
    }
}

#[tokio::test]
async fn only_managers_of_the_same_organisation_reach_webhooks() {
    let server = server().await;
    let receiver = Receiver::start().await;
    let admin = server.register("alpha").await;
    add_person(&admin, "陈员工", "13800000005", "employee").await;
    add_person(&admin, "刘信息", "13800000006", "it").await;
    let (id, _) = create(&admin, &receiver.url(), &["seal.created"]).await;
    let test = send_test(&admin, &id).await;
    let delivery_id = test["id"].as_str().unwrap().to_owned();
    receiver.wait_for(1).await;

    let mut employee = server.client();
    employee.login("alpha", "13800000005", PASSWORD).await;
    for answer in [
        employee.get("/api/v1/webhooks").await,
        employee
            .post(
                "/api/v1/webhooks",
                json!({"url": "https://hooks.example.com/", "kinds": ["seal.created"]}),
            )
            .await,
        employee.get("/api/v1/webhook-deliveries").await,
        employee
            .post(
                &format!("/api/v1/webhook-deliveries/{delivery_id}/replay"),
                json!({}),
            )
            .await,
    ] {
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{:?}", answer.body);
    }
    let mut it = server.client();
    it.login("alpha", "13800000006", PASSWORD).await;
    assert_eq!(it.get("/api/v1/webhooks").await.status, StatusCode::OK);

    let other = server.register("beta").await;
    assert_eq!(
        other.get("/api/v1/webhooks").await.body,
        json!([]),
        "another organisation sees none"
    );
    let listed = other.get("/api/v1/webhook-deliveries").await;
    assert_eq!(listed.body["total"], 0);
    for answer in [
        other.get(&format!("/api/v1/webhooks/{id}")).await,
        other
            .patch(&format!("/api/v1/webhooks/{id}"), json!({"enabled": false}))
            .await,
        other
            .post(&format!("/api/v1/webhooks/{id}/test"), json!({}))
            .await,
        other
            .post(&format!("/api/v1/webhooks/{id}/rotate-secret"), json!({}))
            .await,
        other.delete(&format!("/api/v1/webhooks/{id}")).await,
        other
            .get(&format!("/api/v1/webhook-deliveries/{delivery_id}"))
            .await,
        other
            .post(
                &format!("/api/v1/webhook-deliveries/{delivery_id}/replay"),
                json!({}),
            )
            .await,
    ] {
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{:?}", answer.body);
    }
    // Nothing was replayed for them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 1);
    server.stop().await;
}

// ----- delivery --------------------------------------------------------------------------

async fn signed_delivery_retries_and_replay(server: TestServer) {
    let receiver = Receiver::start().await;
    let admin = server.register("deliver").await;
    let (id, secret) = create(&admin, &receiver.url(), &["seal.created"]).await;
    receiver.fail_next(3);
    let started = server.unix_seconds();
    let test = send_test(&admin, &id).await;
    let delivery_id = test["id"].as_str().unwrap().to_owned();
    let message_id = test["event_id"].as_str().unwrap().to_owned();
    assert!(message_id.starts_with("msg_"), "{message_id}");
    assert_eq!(test["kind"], "webhook.test");
    assert_eq!(test["status"], "pending");

    // The first attempt fails: retried 5 s later (± 10 %).
    receiver.wait_for(1).await;
    let detail = wait_attempts(&admin, &delivery_id, 1).await;
    assert_eq!(detail["delivery"]["status"], "failed");
    assert_eq!(detail["attempts"][0]["status_code"], 500);
    assert_eq!(detail["attempts"][0]["error"], "HTTP 500");
    let attempted = millis(&detail["attempts"][0]["at"]);
    let wait = millis(&detail["delivery"]["next_attempt_at"]) - attempted;
    assert!(
        (4_500..=5_500).contains(&wait),
        "first retry after {wait} ms"
    );

    // Nothing is sent again before it is due.
    advance(&server, 4);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 1);
    advance(&server, 2);
    receiver.wait_for(2).await;
    let detail = wait_attempts(&admin, &delivery_id, 2).await;
    let wait =
        millis(&detail["delivery"]["next_attempt_at"]) - millis(&detail["attempts"][1]["at"]);
    assert!(
        (27_000..=33_000).contains(&wait),
        "second retry after {wait} ms"
    );
    advance(&server, 40);
    receiver.wait_for(3).await;
    let detail = wait_attempts(&admin, &delivery_id, 3).await;
    let wait =
        millis(&detail["delivery"]["next_attempt_at"]) - millis(&detail["attempts"][2]["at"]);
    assert!(
        (108_000..=132_000).contains(&wait),
        "third retry after {wait} ms"
    );
    advance(&server, 150);
    let received = receiver.wait_for(4).await;
    let detail = wait_attempts(&admin, &delivery_id, 4).await;
    assert_eq!(detail["delivery"]["status"], "delivered");
    assert_eq!(detail["delivery"]["next_attempt_at"], Value::Null);
    assert!(detail["delivery"]["delivered_at"].is_string());
    let codes: Vec<i64> = detail["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, vec![500, 500, 500, 204]);

    // Every attempt: the same id, its own timestamp and a signature that verifies.
    let mut timestamps = vec![];
    for request in &received {
        assert_eq!(request.id, message_id);
        assert_eq!(request.content_type, "application/json");
        assert!(
            request.signature.starts_with("v1,"),
            "{}",
            request.signature
        );
        assert!(
            verifies(
                &secret,
                &request.id,
                &request.timestamp,
                &request.body,
                &request.signature
            ),
            "signature of attempt at {}",
            request.timestamp
        );
        assert!(!verifies(
            &secret,
            &request.id,
            &request.timestamp,
            b"{\"tampered\":true}",
            &request.signature
        ));
        timestamps.push(request.timestamp.parse::<i64>().unwrap());
    }
    assert_eq!(timestamps[0], i64::try_from(started).unwrap());
    assert!(timestamps.windows(2).all(|w| w[0] < w[1]), "{timestamps:?}");
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["type"], "webhook.test");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["data"]["endpoint_id"], id);
    assert_eq!(detail["payload"], body, "the detail shows the body sent");

    // Replay: sent again now with the same id, marked as a replay.
    let replay = admin
        .post(
            &format!("/api/v1/webhook-deliveries/{delivery_id}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(replay.status, StatusCode::ACCEPTED, "{:?}", replay.body);
    let received = receiver.wait_for(5).await;
    assert_eq!(received[4].id, message_id);
    assert_eq!(received[4].body, received[0].body);
    assert!(verifies(
        &secret,
        &received[4].id,
        &received[4].timestamp,
        &received[4].body,
        &received[4].signature
    ));
    let detail = wait_attempts(&admin, &delivery_id, 5).await;
    assert_eq!(detail["attempts"][4]["replay"], true);
    assert_eq!(detail["attempts"][3]["replay"], false);
    assert_eq!(detail["delivery"]["status"], "delivered");

    // Rotation: later messages are signed with the new secret.
    let rotated = admin
        .post(&format!("/api/v1/webhooks/{id}/rotate-secret"), json!({}))
        .await;
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    send_test(&admin, &id).await;
    let received = receiver.wait_for(6).await;
    let last = &received[5];
    assert!(verifies(
        &new_secret,
        &last.id,
        &last.timestamp,
        &last.body,
        &last.signature
    ));
    assert!(!verifies(
        &secret,
        &last.id,
        &last.timestamp,
        &last.body,
        &last.signature
    ));

    // The deliveries list filters by status and endpoint.
    let delivered = admin
        .get(&format!(
            "/api/v1/webhook-deliveries?status=delivered&endpoint_id={id}"
        ))
        .await;
    assert_eq!(delivered.status, StatusCode::OK, "{:?}", delivered.body);
    assert!(delivered.body["total"].as_i64().unwrap() >= 1);
    let failed = admin
        .get("/api/v1/webhook-deliveries?status=given_up")
        .await;
    assert_eq!(failed.body["total"], 0);
    server.stop().await;
}

#[tokio::test]
async fn deliveries_are_signed_retried_and_replayed_with_the_same_id() {
    signed_delivery_retries_and_replay(server().await).await;
}

#[tokio::test]
async fn deliveries_are_signed_retried_and_replayed_with_the_same_id_on_postgres() {
    if let Some(server) = TestServer::spawn_postgres_with(allow_loopback).await {
        signed_delivery_retries_and_replay(server).await;
    }
}

#[tokio::test]
async fn a_delivery_is_given_up_after_a_day_of_failures() {
    let server = server().await;
    let receiver = Receiver::start().await;
    let session = server.register("giveup").await;
    // A day passes on the clock: sessions end, an API token does not.
    let token = session
        .post(
            "/api/v1/tokens",
            json!({"name": "ops", "scopes": ["webhooks.manage"]}),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{:?}", token.body);
    let mut admin = server.client();
    admin.bearer = token.body["secret"].as_str().map(str::to_owned);
    let (id, _) = create(&admin, &receiver.url(), &["seal.created"]).await;
    receiver.fail_next(usize::MAX);
    let test = send_test(&admin, &id).await;
    let delivery_id = test["id"].as_str().unwrap().to_owned();
    let attempts = seal_core::webhook::MAX_ATTEMPTS as usize;
    let mut span = 0;
    for n in 1..=attempts {
        receiver.wait_for(n).await;
        let detail = wait_attempts(&admin, &delivery_id, n).await;
        if n < attempts {
            assert_eq!(detail["delivery"]["status"], "failed", "after attempt {n}");
            // Past the longest delay (4 h + 10 %).
            advance(&server, 5 * 3600);
            span += 5 * 3600;
        } else {
            assert_eq!(detail["delivery"]["status"], "given_up");
            assert_eq!(detail["delivery"]["next_attempt_at"], Value::Null);
            let first = millis(&detail["attempts"][0]["at"]);
            let last = millis(&detail["attempts"][n - 1]["at"]);
            assert!(last - first >= 24 * 3600 * 1000, "span {} ms", last - first);
        }
    }
    advance(&server, 5 * 3600);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.received().len(),
        attempts,
        "no attempt after giving up"
    );
    assert!(span >= 24 * 3600);
    let given_up = admin
        .get("/api/v1/webhook-deliveries?status=given_up")
        .await;
    assert_eq!(given_up.body["total"], 1);
    server.stop().await;
}

// ----- private targets and restarts ------------------------------------------------------

/// Two servers, one after the other, on the same SQLite folder.
async fn server_on(folder: &std::path::Path, allow_private: bool, worker: bool) -> TestServer {
    let folder = folder.to_owned();
    TestServer::spawn_with(move |config| {
        config.server.data_dir = folder;
        config.webhooks.allow_private_targets = allow_private;
        config.webhooks.poll_interval_ms = 50;
        config.webhooks.worker = worker;
    })
    .await
}

async fn sign_in(server: &TestServer, org: &str) -> Client {
    let mut client = server.client();
    let answer = client.login(org, "13800000001", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    client
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let strict = TestServer::spawn().await;
    let admin = strict.register("strict").await;
    for (url, code) in [
        ("http://hooks.example.com/", "invalid.webhook_url.scheme"),
        ("https://127.0.0.1:8443/hook", "invalid.webhook_url.private"),
        ("https://10.0.0.8/hook", "invalid.webhook_url.private"),
        (
            "https://169.254.169.254/latest",
            "invalid.webhook_url.private",
        ),
        ("https://[::1]/hook", "invalid.webhook_url.private"),
        ("https://localhost/hook", "invalid.webhook_url.private"),
    ] {
        let answer = admin
            .post(
                "/api/v1/webhooks",
                json!({"url": url, "kinds": ["seal.created"]}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(answer.code(), code, "{url}");
    }
    strict.stop().await;

    // An endpoint registered where private targets were allowed is refused by a worker
    // where they are not: a failed attempt with a clear error, nothing sent.
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let first = server_on(folder.path(), true, false).await;
    let admin = first.register("lenient").await;
    let (id, _) = create(&admin, &receiver.url(), &["seal.created"]).await;
    let test = send_test(&admin, &id).await;
    let delivery_id = test["id"].as_str().unwrap().to_owned();
    first.stop().await;
    let second = server_on(folder.path(), false, true).await;
    let admin = sign_in(&second, "lenient").await;
    let detail = wait_attempts(&admin, &delivery_id, 1).await;
    assert_eq!(detail["delivery"]["status"], "failed");
    assert_eq!(detail["attempts"][0]["status_code"], Value::Null);
    let error = detail["attempts"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("refused: 127.0.0.1") && error.contains("allow_private_targets"),
        "{error}"
    );
    assert!(receiver.received().is_empty());
    second.stop().await;
}

#[tokio::test]
async fn a_restart_delivers_what_was_queued_exactly_once() {
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    // The first process queues (its worker is off, as if it stopped before sending).
    let first = server_on(folder.path(), true, false).await;
    let admin = first.register("restart").await;
    let (id, secret) = create(&admin, &receiver.url(), &["seal.created"]).await;
    let test = send_test(&admin, &id).await;
    let delivery_id = test["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(receiver.received().is_empty());
    first.stop().await;

    let second = server_on(folder.path(), true, true).await;
    let admin = sign_in(&second, "restart").await;
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].id, test["event_id"].as_str().unwrap());
    assert!(verifies(
        &secret,
        &received[0].id,
        &received[0].timestamp,
        &received[0].body,
        &received[0].signature
    ));
    let detail = wait_attempts(&admin, &delivery_id, 1).await;
    assert_eq!(detail["delivery"]["status"], "delivered");
    // More rounds, later, send nothing more.
    for _ in 0..3 {
        advance(&second, 3600);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.received().len(), 1, "exactly once");
    second.stop().await;
}

// ----- console -------------------------------------------------------------------------

/// The console's pages answer, show the secret once, and keep their texts in both languages.
#[tokio::test]
async fn console_pages() {
    let server = server().await;
    let receiver = Receiver::start().await;
    let admin = server.register("pages").await;
    let (id, secret) = create(&admin, &receiver.url(), &["seal.created"]).await;
    let test = send_test(&admin, &id).await;
    let delivery_id = test["id"].as_str().unwrap().to_owned();
    wait_attempts(&admin, &delivery_id, 1).await;
    for lang in ["zh-CN", "en"] {
        let mut client = server.client();
        client.lang = Some(if lang == "en" { "en" } else { "zh-CN" });
        client.login("pages", "13800000001", PASSWORD).await;
        for path in [
            "/webhooks".to_owned(),
            format!("/webhooks/{id}"),
            "/webhook-deliveries".to_owned(),
            "/webhook-deliveries?status=delivered".to_owned(),
            format!("/webhook-deliveries/{delivery_id}"),
        ] {
            let page = client.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            assert!(!page.text.contains("⟦"), "{path}: a text is missing");
            assert!(!page.text.contains(&secret), "{path} shows the secret");
        }
        let home = client.get("/home").await;
        assert!(
            home.text.contains("href=\"/webhooks\""),
            "the nav links webhooks"
        );
    }
    server.stop().await;
}
