//! A tiny in-test stand-in for the server's `/device/v1` routes (axum on port 0): it
//! checks every request's Content-Digest and RFC 9421 signature with `seal_proof`,
//! records what it receives, acknowledges duplicate events, signs grants with an
//! organisation key, queues commands and pushes them over the WebSocket stream. It is
//! only as smart as the device tests need; the real server is tested elsewhere.

#![allow(dead_code, clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use seal_proof::httpsig;
use seal_proof::jws;
use seal_proof::keys::{PublicKey, SigningKey};
use seal_proof::wire::*;
use tokio::sync::broadcast;

/// What an order (application) allows at the fake server.
#[derive(Clone, Debug)]
pub struct Order {
    pub uses: u32,
    pub factors: String,
    /// Refuse the unlock with this code instead.
    pub refuse: Option<String>,
}

/// A request as the fake saw it (after its signature verified).
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub keyid: String,
    pub nonce: String,
    pub created: i64,
    pub signature_input: String,
}

/// How the fake misbehaves on purpose.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Answer the next N `/events` requests with 503 before reading them.
    pub events_unavailable: u32,
    /// Store the next N `/events` batches, then answer 503 (the answer is "lost").
    pub events_lost_answers: u32,
    /// Sign grants with another nonce.
    pub grant_other_nonce: bool,
    /// Sign grants for another device.
    pub grant_other_device: bool,
    /// Sign grants with another key under the organisation key's kid.
    pub grant_wrong_key: bool,
    /// Put a different grant in the body than in the token.
    pub grant_body_differs: bool,
}

#[derive(Default)]
pub struct Inner {
    pub devices: BTreeMap<String, (PublicKey, String)>,
    pub tokens: BTreeSet<String>,
    pub auto_approve: bool,
    pub orders: HashMap<String, Order>,
    pub seen: Vec<Seen>,
    pub batches: Vec<Vec<u64>>,
    pub events: Vec<(String, StampEvent)>,
    pub stored: BTreeSet<(String, u64)>,
    pub heartbeats: Vec<Heartbeat>,
    pub commands: Vec<Command>,
    pub acks: Vec<(String, CommandAck)>,
    pub scans: Vec<ScanRequest>,
    pub parameters: Option<Parameters>,
    pub faults: Faults,
    pub next_device: u32,
    pub next_grant: u32,
}

#[derive(Clone)]
pub struct Fake {
    pub inner: Arc<Mutex<Inner>>,
    pub org_key: Arc<SigningKey>,
    pub kid: String,
    pub stream: broadcast::Sender<Command>,
}

pub struct FakeServer {
    pub url: String,
    pub addr: SocketAddr,
    pub fake: Fake,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Starts the fake; enrolment tokens `sket_1` … `sket_20` are valid once each.
    pub async fn start(auto_approve: bool) -> FakeServer {
        let org_key = SigningKey::generate();
        let kid = org_key.public_key().key_id();
        let (stream, _) = broadcast::channel(16);
        let inner = Inner {
            auto_approve,
            tokens: (1..=20).map(|i| format!("sket_{i}")).collect(),
            ..Inner::default()
        };
        let fake = Fake {
            inner: Arc::new(Mutex::new(inner)),
            org_key: Arc::new(org_key),
            kid,
            stream,
        };
        let app = Router::new()
            .route("/device/v1/stream", get(stream_handler))
            .fallback(handler)
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeServer {
            url: format!("http://{addr}"),
            addr,
            fake,
            task,
        }
    }

    pub fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.fake.inner.lock().unwrap()
    }

    pub fn add_order(&self, order: &str, uses: u32, factors: &str) {
        self.inner().orders.insert(
            order.into(),
            Order {
                uses,
                factors: factors.into(),
                refuse: None,
            },
        );
    }

    pub fn refuse_order(&self, order: &str, code: &str) {
        self.inner().orders.insert(
            order.into(),
            Order {
                uses: 1,
                factors: "pin".into(),
                refuse: Some(code.into()),
            },
        );
    }

    pub fn approve(&self, device_id: &str) {
        if let Some(device) = self.inner().devices.get_mut(device_id) {
            device.1 = "active".into();
        }
    }

    /// Queues a command (for polling) and pushes it on the stream.
    pub fn command(&self, command: Command) {
        self.inner().commands.push(command.clone());
        let _ = self.fake.stream.send(command);
    }

    /// The seqs of the events received, in order of arrival (duplicates not repeated).
    pub fn event_seqs(&self) -> Vec<u64> {
        self.inner().events.iter().map(|(_, e)| e.seq).collect()
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Checks the digest and signature; returns the key id.
fn verify(
    fake: &Fake,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Seen, Response> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let unauthorized =
        |code: &str, message: String| error(StatusCode::UNAUTHORIZED, code, &message);
    let digest = header("content-digest");
    httpsig::check_content_digest(&digest, body)
        .map_err(|e| unauthorized("device.signature.digest", e.to_string()))?;
    let input = header("signature-input");
    let parsed = httpsig::parse(&input, &header("signature"))
        .map_err(|e| unauthorized("device.signature.malformed", e.to_string()))?;
    let keyid = parsed.params.keyid.clone();
    let key = if uri.path() == "/device/v1/enrol" {
        PublicKey::from_base64(&keyid)
            .map_err(|e| unauthorized("device.signature.unknown_key", e.to_string()))?
    } else {
        fake.inner
            .lock()
            .unwrap()
            .devices
            .get(&keyid)
            .map(|(key, _)| *key)
            .ok_or_else(|| unauthorized("device.signature.unknown_key", keyid.clone()))?
    };
    let request = httpsig::Request {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        content_digest: &digest,
    };
    parsed
        .verify(&request, &key)
        .map_err(|e| unauthorized("device.signature.invalid", e.to_string()))?;
    let created = parsed.params.created;
    if (created - now_ms() / 1000).abs() > 300 {
        return Err(unauthorized("device.signature.clock", created.to_string()));
    }
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        keyid,
        nonce: parsed.params.nonce.clone(),
        created,
        signature_input: input,
    };
    let mut inner = fake.inner.lock().unwrap();
    if inner.seen.iter().any(|s| s.nonce == seen.nonce) {
        return Err(unauthorized("device.signature.replay", seen.nonce.clone()));
    }
    inner.seen.push(seen.clone());
    Ok(seen)
}

async fn stream_handler(
    State(fake): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let seen = match verify(&fake, &method, &uri, &headers, b"") {
        Ok(seen) => seen,
        Err(response) => return response,
    };
    let mut commands = fake.stream.subscribe();
    let _ = seen;
    upgrade.on_upgrade(move |mut socket| async move {
        while let Ok(command) = commands.recv().await {
            let text = serde_json::to_string(&command).unwrap();
            if socket.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
    })
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    (status, axum::Json(value)).into_response()
}

async fn handler(State(fake): State<Fake>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap();
    let seen = match verify(&fake, &parts.method, &parts.uri, &parts.headers, &body) {
        Ok(seen) => seen,
        Err(response) => return response,
    };
    let device_id = seen.keyid.clone();
    let path = parts.uri.path().to_owned();
    let mut inner = fake.inner.lock().unwrap();
    let status = inner
        .devices
        .get(&device_id)
        .map(|(_, status)| status.clone());
    if path != "/device/v1/enrol" && path != "/device/v1/me" && status.as_deref() != Some("active")
    {
        return error(StatusCode::FORBIDDEN, "device.not_active", "not active");
    }
    match (parts.method.as_str(), path.as_str()) {
        ("POST", "/device/v1/enrol") => {
            let request: EnrolRequest = serde_json::from_slice(&body).unwrap();
            if request.public_key != device_id {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "device.signature.unknown_key",
                    "keyid",
                );
            }
            if !inner.tokens.remove(&request.token) {
                return error(StatusCode::FORBIDDEN, "enrol.bad_token", "bad token");
            }
            inner.next_device += 1;
            let id = format!("dev-{}", inner.next_device);
            let key = PublicKey::from_base64(&request.public_key).unwrap();
            let status = if inner.auto_approve {
                "active"
            } else {
                "pending"
            };
            inner.devices.insert(id.clone(), (key, status.into()));
            json(
                StatusCode::CREATED,
                &EnrolResponse {
                    device_id: id,
                    status: "pending".into(),
                },
            )
        }
        ("GET", "/device/v1/me") => {
            let parameters = inner.parameters.clone().unwrap_or(Parameters {
                heartbeat_seconds: 1,
                press_max_ms: 3000,
                low_battery_pct: 15,
            });
            json(
                StatusCode::OK,
                &DeviceState {
                    device_id: device_id.clone(),
                    kind: "seal_box".into(),
                    status: status.unwrap_or_default(),
                    seal_id: Some("seal-1".into()),
                    seal_name: Some("合同章".into()),
                    org_keys: vec![OrgKey {
                        kid: fake.kid.clone(),
                        public_key: fake.org_key.public_key().to_base64(),
                    }],
                    parameters,
                    server_time: now_ms(),
                },
            )
        }
        ("POST", "/device/v1/unlock") => {
            let request: UnlockRequest = serde_json::from_slice(&body).unwrap();
            let Some(order) = inner.orders.get(&request.order).cloned() else {
                return error(
                    StatusCode::FORBIDDEN,
                    "unlock.unknown_order",
                    "no such order",
                );
            };
            if let Some(code) = &order.refuse {
                return error(StatusCode::FORBIDDEN, code, "refused");
            }
            inner.next_grant += 1;
            let faults = inner.faults.clone();
            let grant = UnlockGrant {
                grant_id: format!("grant-{}", inner.next_grant),
                order: request.order.clone(),
                device_id: if faults.grant_other_device {
                    "dev-other".into()
                } else {
                    device_id.clone()
                },
                seal_id: "seal-1".into(),
                uses: order.uses,
                not_before: now_ms() - 60_000,
                expires_at: now_ms() + 3_600_000,
                factors: order.factors.clone(),
                nonce: if faults.grant_other_nonce {
                    "another-nonce-aaaaaaaaa".into()
                } else {
                    request.nonce.clone()
                },
                issued_at: now_ms(),
            };
            let key = if faults.grant_wrong_key {
                SigningKey::generate()
            } else {
                (*fake.org_key).clone()
            };
            let token = jws::sign_compact(&key, &fake.kid, &serde_json::to_vec(&grant).unwrap());
            let mut body_grant = grant;
            if faults.grant_body_differs {
                body_grant.uses += 10;
            }
            json(
                StatusCode::OK,
                &UnlockResponse {
                    token,
                    grant: body_grant,
                },
            )
        }
        ("POST", "/device/v1/events") => {
            if inner.faults.events_unavailable > 0 {
                inner.faults.events_unavailable -= 1;
                return error(StatusCode::SERVICE_UNAVAILABLE, "busy", "try later");
            }
            let batch: EventBatch = serde_json::from_slice(&body).unwrap();
            if batch.events.is_empty() || batch.events.len() > MAX_EVENTS_PER_BATCH {
                return error(StatusCode::BAD_REQUEST, "events.batch_size", "1 to 100");
            }
            inner
                .batches
                .push(batch.events.iter().map(|e| e.seq).collect());
            let mut results = Vec::new();
            for event in batch.events {
                let seq = event.seq;
                let result = if inner.stored.insert((device_id.clone(), seq)) {
                    inner.events.push((device_id.clone(), event));
                    "stored"
                } else {
                    "duplicate"
                };
                results.push(EventResult {
                    seq,
                    result: result.into(),
                });
            }
            if inner.faults.events_lost_answers > 0 {
                inner.faults.events_lost_answers -= 1;
                return error(StatusCode::BAD_GATEWAY, "gateway", "answer lost");
            }
            json(StatusCode::OK, &EventBatchResult { results })
        }
        ("POST", "/device/v1/heartbeat") => {
            let heartbeat: Heartbeat = serde_json::from_slice(&body).unwrap();
            inner.heartbeats.push(heartbeat);
            json(
                StatusCode::OK,
                &HeartbeatResponse {
                    server_time: now_ms(),
                    commands_pending: inner.commands.len() as u32,
                },
            )
        }
        ("GET", "/device/v1/commands") => json(
            StatusCode::OK,
            &CommandList {
                commands: inner.commands.clone(),
            },
        ),
        ("POST", "/device/v1/scan") => {
            let scan: ScanRequest = serde_json::from_slice(&body).unwrap();
            let order = scan.order.clone();
            inner.scans.push(scan);
            let Some(spec) = inner.orders.get_mut(&order) else {
                return error(
                    StatusCode::FORBIDDEN,
                    "unlock.unknown_order",
                    "no such order",
                );
            };
            if spec.uses == 0 {
                return error(StatusCode::FORBIDDEN, "unlock.no_uses_left", "none left");
            }
            spec.uses -= 1;
            let uses_left = spec.uses;
            json(
                StatusCode::OK,
                &PrintJob {
                    job_id: format!("job-{}", inner.scans.len()),
                    order,
                    seal_svg:
                        r#"<svg xmlns="http://www.w3.org/2000/svg" width="42mm" height="42mm"/>"#
                            .into(),
                    width_mm: 42.0,
                    height_mm: 42.0,
                    uses_left,
                    mark_svg:
                        r#"<svg xmlns="http://www.w3.org/2000/svg" width="70mm" height="46mm"/>"#
                            .into(),
                    code: "AAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
                    numeric_code: "00000000000000000000".into(),
                },
            )
        }
        ("POST", path) if path.starts_with("/device/v1/commands/") && path.ends_with("/ack") => {
            let id = path
                .trim_start_matches("/device/v1/commands/")
                .trim_end_matches("/ack")
                .to_owned();
            let ack: CommandAck = serde_json::from_slice(&body).unwrap();
            inner.commands.retain(|c| c.id != id);
            inner.acks.push((id, ack));
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    }
}
