//! A device for the tests: an Ed25519 key of its own, every request signed as the device
//! protocol says (RFC 9421, label `sk`, components `"@method" "@path" "@query"
//! "content-digest"`, `created` from the test server's manual clock), and the calls of
//! `/device/v1`. A signed request is a value, so a test can send it twice (a replay) or
//! change a part of it after signing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::{Method, StatusCode};
use seal_app::clock::{Clock, ManualClock};
use seal_proof::SigningKey;
use seal_proof::httpsig::{self, SignatureParams};
use serde_json::{Value, json};

use crate::common::{Answer, TestServer};

/// Serial numbers and MAC addresses unique within the test process.
static NEXT_DEVICE: AtomicU32 = AtomicU32::new(1);

/// A request ready to send: what the signature covers, the body and the headers.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    pub method: Method,
    pub path: String,
    /// Without the `?`.
    pub query: Option<String>,
    pub body: Vec<u8>,
    /// `content-digest`, `signature-input`, `signature` (lower case), plus any a test adds.
    pub headers: Vec<(String, String)>,
}

impl SignedRequest {
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets (or replaces) a header.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

/// What sends requests: an HTTP client and the server's base URL (cheap to clone into a
/// task, e.g. for a long-poll).
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    base: String,
}

impl Sender {
    pub async fn send(&self, request: &SignedRequest) -> Answer {
        let url = format!("{}{}", self.base, request.path_and_query());
        let mut builder = self.http.request(request.method.clone(), url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.body.is_empty() {
            builder = builder
                .header("content-type", "application/json")
                .body(request.body.clone());
        }
        let response = builder
            .send()
            .await
            .expect("the device request is answered");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            headers,
            text,
        }
    }
}

pub struct Device {
    pub key: SigningKey,
    /// The id the server gave at enrolment (empty before).
    pub id: String,
    pub serial: String,
    pub mac: String,
    pub firmware: String,
    clock: Arc<ManualClock>,
    sender: Sender,
}

impl Device {
    /// A new device with a fresh key pair, a unique serial number and MAC address.
    pub fn new(server: &TestServer) -> Device {
        let n = NEXT_DEVICE.fetch_add(1, Ordering::SeqCst);
        Device {
            key: SigningKey::generate(),
            id: String::new(),
            serial: format!("SK-TEST-{n:06}"),
            mac: format!(
                "02:00:5e:{:02x}:{:02x}:{:02x}",
                (n >> 16) & 0xff,
                (n >> 8) & 0xff,
                n & 0xff
            ),
            firmware: "1.0.0".to_owned(),
            clock: server.clock.clone(),
            sender: Sender {
                http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("client"),
                base: format!("http://{}", server.addr),
            },
        }
    }

    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    pub fn public_key(&self) -> String {
        self.key.public_key().to_base64()
    }

    /// The server's clock (the device's clock is set right), Unix milliseconds.
    pub fn now_millis(&self) -> i64 {
        self.clock.now().as_millis()
    }

    pub fn now_seconds(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }

    /// Signs a request with every part given: the key, the key id, `created` and the nonce.
    #[allow(clippy::too_many_arguments)] // every part of a signature, for the refusal tests
    pub fn sign_with(
        key: &SigningKey,
        keyid: &str,
        created: i64,
        nonce: &str,
        method: Method,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> SignedRequest {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (path_and_query.to_owned(), None),
        };
        let digest = httpsig::content_digest(&body);
        let signature = httpsig::sign(
            key,
            &httpsig::Request {
                method: method.as_str(),
                path: &path,
                query: query.as_deref(),
                content_digest: &digest,
            },
            &SignatureParams {
                created,
                nonce: nonce.to_owned(),
                keyid: keyid.to_owned(),
            },
        );
        SignedRequest {
            method,
            path,
            query,
            body,
            headers: vec![
                ("content-digest".to_owned(), digest),
                ("signature-input".to_owned(), signature.signature_input),
                ("signature".to_owned(), signature.signature),
            ],
        }
    }

    /// A request signed now with the device's key and id and a fresh nonce.
    pub fn sign(&self, method: Method, path_and_query: &str, body: Vec<u8>) -> SignedRequest {
        assert!(!self.id.is_empty(), "the device is not enrolled");
        Self::sign_with(
            &self.key,
            &self.id,
            self.now_seconds(),
            &httpsig::new_nonce(),
            method,
            path_and_query,
            body,
        )
    }

    pub fn sign_json(&self, method: Method, path: &str, body: &Value) -> SignedRequest {
        self.sign(method, path, serde_json::to_vec(body).expect("json"))
    }

    pub async fn send(&self, request: &SignedRequest) -> Answer {
        self.sender.send(request).await
    }

    pub async fn get(&self, path_and_query: &str) -> Answer {
        self.send(&self.sign(Method::GET, path_and_query, Vec::new()))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(&self.sign_json(Method::POST, path, body)).await
    }

    /// The enrolment body for this device.
    pub fn enrol_body(&self, token: &str, kind: &str) -> Value {
        json!({
            "token": token,
            "kind": kind,
            "public_key": self.public_key(),
            "serial": self.serial,
            "mac": self.mac,
            "firmware": self.firmware,
        })
    }

    /// `POST /device/v1/enrol` of `body`, signed by `key` with `keyid`.
    pub fn enrol_request(
        key: &SigningKey,
        keyid: &str,
        created: i64,
        body: &Value,
    ) -> SignedRequest {
        Self::sign_with(
            key,
            keyid,
            created,
            &httpsig::new_nonce(),
            Method::POST,
            "/device/v1/enrol",
            serde_json::to_vec(body).expect("json"),
        )
    }

    /// Enrols with `token` as `kind`, signed with the new key (keyid = the base64 public
    /// key); on 201 the device keeps its id.
    pub async fn enrol(&mut self, token: &str, kind: &str) -> Answer {
        let request = Self::enrol_request(
            &self.key,
            &self.public_key(),
            self.now_seconds(),
            &self.enrol_body(token, kind),
        );
        let answer = self.send(&request).await;
        if answer.status == StatusCode::CREATED {
            self.id = answer.body["device_id"]
                .as_str()
                .expect("device id")
                .to_owned();
        }
        answer
    }

    pub async fn me(&self) -> Answer {
        self.get("/device/v1/me").await
    }

    /// The unlock request for `order` with a fresh request nonce (returned too).
    pub fn unlock_request(&self, order: &str) -> (SignedRequest, String) {
        let nonce = httpsig::new_nonce();
        let body = json!({"order": order, "device_time": self.now_millis(), "nonce": nonce});
        (
            self.sign_json(Method::POST, "/device/v1/unlock", &body),
            nonce,
        )
    }

    pub async fn unlock(&self, order: &str) -> Answer {
        let (request, _) = self.unlock_request(order);
        self.send(&request).await
    }

    /// A heartbeat: a healthy device at home (Shanghai), with `changes` merged in.
    pub fn heartbeat_body(&self, changes: Value) -> Value {
        let mut body = json!({
            "at": self.now_millis(),
            "battery_pct": 80,
            "position": {"lat": 31.2304, "lon": 121.4737, "accuracy_m": 8.0},
            "on_base": true,
            "tamper": false,
            "locked": true,
            "firmware": self.firmware,
            "buffered_events": 0,
        });
        for (k, v) in changes.as_object().expect("an object of changes") {
            body[k] = v.clone();
        }
        body
    }

    pub async fn heartbeat(&self, changes: Value) -> Answer {
        self.post("/device/v1/heartbeat", &self.heartbeat_body(changes))
            .await
    }

    /// A press: `seq`, under `grant`, now, at home, 400 ms, fingerprint, with `changes`.
    pub fn press(&self, seq: u64, grant: &str, changes: Value) -> Value {
        let mut event = json!({
            "seq": seq,
            "grant_id": grant,
            "at": self.now_millis(),
            "position": {"lat": 31.2304, "lon": 121.4737, "accuracy_m": 8.0},
            "press_ms": 400,
            "factors": ["fingerprint"],
            "photo": null,
        });
        for (k, v) in changes.as_object().expect("an object of changes") {
            event[k] = v.clone();
        }
        event
    }

    pub fn events_request(&self, events: Vec<Value>) -> SignedRequest {
        self.sign_json(
            Method::POST,
            "/device/v1/events",
            &json!({ "events": events }),
        )
    }

    pub async fn events(&self, events: Vec<Value>) -> Answer {
        self.send(&self.events_request(events)).await
    }

    pub async fn commands(&self, wait: u64) -> Answer {
        self.get(&format!("/device/v1/commands?wait={wait}")).await
    }

    pub async fn ack(&self, command: &str, result: &str, note: &str) -> Answer {
        self.post(
            &format!("/device/v1/commands/{command}/ack"),
            &json!({"result": result, "note": note}),
        )
        .await
    }

    pub async fn scan(&self, order: &str, page: &[u8]) -> Answer {
        use base64::Engine;
        let page = base64::engine::general_purpose::STANDARD.encode(page);
        self.post("/device/v1/scan", &json!({"order": order, "page": page}))
            .await
    }
}
