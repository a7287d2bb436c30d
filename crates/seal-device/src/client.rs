//! `DeviceClient`: the `/device/v1` protocol client. It signs every request (RFC 9421,
//! label `sk`), retries what is safe to retry with a fresh nonce each time, verifies
//! unlock grants against the organisation's keys, and turns the server's answers into
//! typed errors.

mod stream;

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use seal_proof::httpsig::{self, Request, SignatureParams};
use seal_proof::jws;
use seal_proof::keys::{PublicKey, SigningKey};
use seal_proof::wire::{
    Command, CommandAck, CommandList, DeviceState, EnrolRequest, EnrolResponse, EventBatch,
    EventBatchResult, Heartbeat, HeartbeatResponse, MAX_COMMAND_WAIT_SECONDS, OrgKey, PrintJob,
    ScanRequest, StampEvent, UnlockGrant, UnlockRequest, UnlockResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use stream::{CommandStream, StreamOptions};

/// The label of the device's signature.
pub const SIGNATURE_LABEL: &str = "sk";

/// A source of the current time, Unix milliseconds (injectable for tests).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(now_ms)
}

/// The system time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Why a request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The server refused the request (4xx other than 401) with its stable error code,
    /// e.g. `unlock.not_approved`, `device.not_active`, `scan.content_mismatch`.
    #[error("refused ({status}) {code}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's error code (`http.<status>` when the body had none).
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server did not accept the request's signature or identity (401,
    /// `device.signature.*` and the like).
    #[error("authentication failed {code}: {message}")]
    Unauthorized {
        /// The server's error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server could not be reached or the connection broke (retryable).
    #[error("network error: {0}")]
    Network(String),
    /// The server failed (5xx; retryable).
    #[error("server error ({status}): {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's error code, if its body had one.
        code: Option<String>,
        /// The server's message (or the start of its body).
        message: String,
    },
    /// The server's answer was not what the protocol says.
    #[error("unexpected answer: {0}")]
    InvalidResponse(String),
    /// The request needs a device id and the device is not enrolled.
    #[error("the device is not enrolled")]
    NotEnrolled,
    /// An unlock answer that must not be believed: bad signature, unknown key, another
    /// device's or another request's grant.
    #[error("the unlock grant is not trusted: {0}")]
    UntrustedGrant(String),
    /// The server URL is not usable.
    #[error("invalid server URL: {0}")]
    InvalidUrl(String),
}

impl ClientError {
    /// Whether trying again later may succeed (network failures and server errors).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ClientError::Network(_) | ClientError::Server { .. })
    }

    /// The stable code of a refusal: the server's (`unlock.not_approved`, …) or this
    /// crate's own (`grant.untrusted`, `device.not_enrolled`).
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Refused { code, .. } | ClientError::Unauthorized { code, .. } => {
                Some(code)
            }
            ClientError::Server { code, .. } => code.as_deref(),
            ClientError::UntrustedGrant(_) => Some("grant.untrusted"),
            ClientError::NotEnrolled => Some("device.not_enrolled"),
            ClientError::Network(_)
            | ClientError::InvalidResponse(_)
            | ClientError::InvalidUrl(_) => None,
        }
    }
}

/// How long a seal printer waits for the answer to a scan: the server compares the page
/// with the approved document (OCR) before it answers.
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(120);

/// How often and how patiently retryable failures are tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (1 = no retry).
    pub attempts: u32,
    /// The wait before the first retry; it doubles each time.
    pub initial_delay: Duration,
    /// The longest wait between tries.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before try number `attempt` (1-based: the first retry is attempt 2).
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(2).min(16);
        self.initial_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }
}

/// Which key id a request carries.
#[derive(Clone, Copy)]
enum KeyId {
    /// The enrolled device id.
    Device,
    /// The base64 public key (enrolment).
    PublicKey,
}

/// Whether a request may be sent again after a retryable failure.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    Yes,
    /// Not idempotent on the server (enrolment spends the token, a scan spends a use).
    No,
}

/// The `/device/v1` client of one device.
pub struct DeviceClient {
    http: reqwest::Client,
    base: Url,
    key: SigningKey,
    device_id: RwLock<Option<String>>,
    org_keys: Mutex<Vec<OrgKey>>,
    retry: RetryPolicy,
    timeout: Duration,
    clock: Clock,
}

impl std::fmt::Debug for DeviceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceClient")
            .field("base", &self.base.as_str())
            .field("device_id", &self.device_id())
            .finish_non_exhaustive()
    }
}

/// A grant that passed every check: the organisation's signature, this device's id and
/// this request's nonce.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedGrant {
    /// The grant, as signed (the token's payload).
    pub grant: UnlockGrant,
    /// The compact JWS it came in.
    pub token: String,
    /// The key id that signed it.
    pub kid: String,
}

impl DeviceClient {
    /// A client for the server at `server` (its base URL, e.g. `https://seal.example.com`;
    /// `/device/v1/…` is appended) signing with `key`. `device_id` is `None` until
    /// enrolment.
    pub fn new(
        server: &str,
        key: SigningKey,
        device_id: Option<String>,
    ) -> Result<Self, ClientError> {
        let mut base = Url::parse(server).map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ClientError::InvalidUrl(format!(
                "{server}: expected an http or https URL"
            )));
        }
        base.set_query(None);
        base.set_fragment(None);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ClientError::Network(e.to_string()))?;
        Ok(DeviceClient {
            http,
            base,
            key,
            device_id: RwLock::new(device_id),
            org_keys: Mutex::new(Vec::new()),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            clock: system_clock(),
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the per-request timeout (long polls add their wait to it).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Replaces the clock (Unix milliseconds) used for `created` and `device_time`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        self.base.as_str()
    }

    /// The enrolled device id.
    pub fn device_id(&self) -> Option<String> {
        self.device_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sets the device id (after enrolment, or when resuming).
    pub fn set_device_id(&self, device_id: Option<String>) {
        *self.device_id.write().unwrap_or_else(|p| p.into_inner()) = device_id;
    }

    /// The organisation keys last read from `me()`.
    pub fn org_keys(&self) -> Vec<OrgKey> {
        self.org_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current time of the client's clock, Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// `POST /device/v1/enrol`, signed with `keyid` = the public key. The public key in
    /// the body is filled from the client's key. Records the device id on success.
    /// Never retried: the token is spent by the first request that reaches the server.
    pub async fn enrol(
        &self,
        token: &str,
        kind: &str,
        serial: &str,
        mac: &str,
        firmware: &str,
    ) -> Result<EnrolResponse, ClientError> {
        let body = EnrolRequest {
            token: token.to_owned(),
            kind: kind.to_owned(),
            public_key: self.key.public_key().to_base64(),
            serial: serial.to_owned(),
            mac: mac.to_owned(),
            firmware: firmware.to_owned(),
        };
        let response: EnrolResponse = self
            .call(
                Method::POST,
                &["enrol"],
                None,
                Some(&body),
                KeyId::PublicKey,
                Retry::No,
                None,
            )
            .await?;
        self.set_device_id(Some(response.device_id.clone()));
        Ok(response)
    }

    /// `GET /device/v1/me`: the device's status, binding, parameters and the
    /// organisation's grant keys (cached for `unlock`).
    pub async fn me(&self) -> Result<DeviceState, ClientError> {
        let state: DeviceState = self
            .call::<(), _>(
                Method::GET,
                &["me"],
                None,
                None,
                KeyId::Device,
                Retry::Yes,
                None,
            )
            .await?;
        *self.org_keys.lock().unwrap_or_else(|p| p.into_inner()) = state.org_keys.clone();
        Ok(state)
    }

    /// `POST /device/v1/unlock` for the application `order`. Makes a fresh nonce, and
    /// believes the answer only when its token verifies with one of the organisation's
    /// keys (chosen by `kid`; `me()` is asked again when the key is unknown), and the
    /// signed grant names this device and this nonce.
    pub async fn unlock(&self, order: &str) -> Result<VerifiedGrant, ClientError> {
        let device_id = self.device_id().ok_or(ClientError::NotEnrolled)?;
        let nonce = httpsig::new_nonce();
        let body = UnlockRequest {
            order: order.to_owned(),
            device_time: self.now_ms(),
            nonce: nonce.clone(),
        };
        let response: UnlockResponse = self
            .call(
                Method::POST,
                &["unlock"],
                None,
                Some(&body),
                KeyId::Device,
                Retry::Yes,
                None,
            )
            .await?;
        let kid = jws::header_kid(&response.token)
            .map_err(|e| ClientError::UntrustedGrant(format!("token header: {e}")))?;
        let mut keys = self.org_keys();
        if !keys.iter().any(|k| k.kid == kid) {
            keys = self.me().await?.org_keys;
        }
        let grant = verify_grant(&response.token, &keys, &device_id, &nonce)?;
        if grant != response.grant {
            return Err(ClientError::UntrustedGrant(
                "the grant in the body differs from the signed one".into(),
            ));
        }
        Ok(VerifiedGrant {
            grant,
            token: response.token,
            kid,
        })
    }

    /// `POST /device/v1/events` with 1 to 100 events. Retried (ingestion is idempotent
    /// on the sequence number).
    pub async fn send_events(
        &self,
        events: &[StampEvent],
    ) -> Result<EventBatchResult, ClientError> {
        let body = EventBatch {
            events: events.to_vec(),
        };
        self.call(
            Method::POST,
            &["events"],
            None,
            Some(&body),
            KeyId::Device,
            Retry::Yes,
            None,
        )
        .await
    }

    /// `POST /device/v1/heartbeat`.
    pub async fn heartbeat(&self, heartbeat: &Heartbeat) -> Result<HeartbeatResponse, ClientError> {
        self.call(
            Method::POST,
            &["heartbeat"],
            None,
            Some(heartbeat),
            KeyId::Device,
            Retry::Yes,
            None,
        )
        .await
    }

    /// `GET /device/v1/commands?wait=N`: pending commands, waiting up to `wait_secs`
    /// (at most 30) for one to come.
    pub async fn poll_commands(&self, wait_secs: u64) -> Result<Vec<Command>, ClientError> {
        let wait = wait_secs.min(MAX_COMMAND_WAIT_SECONDS);
        let list: CommandList = self
            .call::<(), _>(
                Method::GET,
                &["commands"],
                Some(format!("wait={wait}")),
                None,
                KeyId::Device,
                Retry::Yes,
                Some(self.timeout + Duration::from_secs(wait)),
            )
            .await?;
        Ok(list.commands)
    }

    /// `POST /device/v1/commands/{id}/ack` with `result` `done` or `failed`.
    pub async fn ack(&self, command_id: &str, result: &str, note: &str) -> Result<(), ClientError> {
        let body = CommandAck {
            result: result.to_owned(),
            note: note.to_owned(),
        };
        self.call_raw(
            Method::POST,
            &["commands", command_id, "ack"],
            None,
            Some(&body),
            KeyId::Device,
            Retry::Yes,
            None,
        )
        .await
        .map(|_| ())
    }

    /// `POST /device/v1/scan` (seal printer): the scanned page (PNG or JPEG bytes) for
    /// `order`. Never retried automatically: a matching scan spends a use. The server
    /// reads and compares the page before it answers (seconds; longer for the first scan
    /// of a document), so the answer is awaited for at least [`SCAN_TIMEOUT`].
    pub async fn scan(&self, order: &str, page: &[u8]) -> Result<PrintJob, ClientError> {
        use base64::Engine as _;
        let body = ScanRequest {
            order: order.to_owned(),
            page: base64::engine::general_purpose::STANDARD.encode(page),
        };
        self.call(
            Method::POST,
            &["scan"],
            None,
            Some(&body),
            KeyId::Device,
            Retry::No,
            Some(self.timeout.max(SCAN_TIMEOUT)),
        )
        .await
    }

    /// Opens the WebSocket command stream once (`GET /device/v1/stream`, a signed upgrade
    /// request with an empty body). See `run_command_stream` for the reconnecting loop.
    pub async fn open_stream(&self) -> Result<CommandStream, ClientError> {
        stream::open(self).await
    }

    /// Keeps a command stream open until `stop` turns true (or its sender is dropped),
    /// reconnecting with exponential backoff, and hands every command to `commands`.
    /// Returns when stopped or when `commands` is closed.
    pub async fn run_command_stream(
        &self,
        commands: tokio::sync::mpsc::Sender<Command>,
        stop: tokio::sync::watch::Receiver<bool>,
        options: StreamOptions,
    ) {
        stream::run(self, commands, stop, options).await;
    }

    /// The URL of a route under `/device/v1/`, with each segment percent-encoded.
    fn url(&self, segments: &[&str], query: Option<&str>) -> Result<Url, ClientError> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| ClientError::InvalidUrl("the server URL cannot be a base".into()))?;
            path.pop_if_empty()
                .extend(["device", "v1"])
                .extend(segments);
        }
        url.set_query(query);
        Ok(url)
    }

    /// The `Content-Digest`, `Signature-Input` and `Signature` headers of a request, with
    /// `created` = now and a new nonce.
    fn signature_headers(
        &self,
        method: &Method,
        url: &Url,
        body: &[u8],
        keyid: KeyId,
    ) -> Result<[(&'static str, String); 3], ClientError> {
        let keyid = match keyid {
            KeyId::Device => self.device_id().ok_or(ClientError::NotEnrolled)?,
            KeyId::PublicKey => self.key.public_key().to_base64(),
        };
        let digest = httpsig::content_digest(body);
        let request = Request {
            method: method.as_str(),
            path: url.path(),
            query: url.query(),
            content_digest: &digest,
        };
        let params = SignatureParams {
            created: self.now_ms().div_euclid(1000),
            nonce: httpsig::new_nonce(),
            keyid,
        };
        let headers = httpsig::sign(&self.key, &request, &params);
        Ok([
            ("content-digest", digest),
            ("signature-input", headers.signature_input),
            ("signature", headers.signature),
        ])
    }

    #[allow(clippy::too_many_arguments)]
    async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<String>,
        body: Option<&B>,
        keyid: KeyId,
        retry: Retry,
        timeout: Option<Duration>,
    ) -> Result<R, ClientError> {
        let bytes = self
            .call_raw(method, segments, query, body, keyid, retry, timeout)
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::InvalidResponse(e.to_string()))
    }

    /// Sends a signed request (again, with a new signature, after a retryable failure
    /// when `retry` allows) and returns the body of a 2xx answer.
    #[allow(clippy::too_many_arguments)]
    async fn call_raw<B: Serialize>(
        &self,
        method: Method,
        segments: &[&str],
        query: Option<String>,
        body: Option<&B>,
        keyid: KeyId,
        retry: Retry,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, ClientError> {
        let url = self.url(segments, query.as_deref())?;
        let body = match body {
            Some(body) => serde_json::to_vec(body)
                .map_err(|e| ClientError::InvalidResponse(format!("encoding the body: {e}")))?,
            None => Vec::new(),
        };
        let attempts = match retry {
            Retry::Yes => self.retry.attempts.max(1),
            Retry::No => 1,
        };
        let mut attempt = 1;
        loop {
            let result = self
                .send_once(&method, &url, &body, keyid, timeout.unwrap_or(self.timeout))
                .await;
            match result {
                Err(error) if error.is_retryable() && attempt < attempts => {
                    attempt += 1;
                    let delay = self.retry.delay(attempt);
                    tracing::debug!(%url, %error, attempt, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        body: &[u8],
        keyid: KeyId,
        timeout: Duration,
    ) -> Result<Vec<u8>, ClientError> {
        let headers = self.signature_headers(method, url, body, keyid)?;
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .timeout(timeout);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if !body.is_empty() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let response = request.send().await.map_err(network)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(network)?;
        if status.is_success() {
            Ok(bytes.to_vec())
        } else {
            Err(error_from(status, &bytes))
        }
    }
}

/// Checks a grant token: the signature with the key named by its `kid` among
/// `org_keys`, then that the signed grant names `device_id` and `nonce`. Returns the
/// signed grant.
pub fn verify_grant(
    token: &str,
    org_keys: &[OrgKey],
    device_id: &str,
    nonce: &str,
) -> Result<UnlockGrant, ClientError> {
    let untrusted = |message: String| ClientError::UntrustedGrant(message);
    let kid = jws::header_kid(token).map_err(|e| untrusted(format!("token header: {e}")))?;
    let key = org_keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| untrusted(format!("no organisation key {kid:?}")))?;
    let key = PublicKey::from_base64(&key.public_key)
        .map_err(|e| untrusted(format!("organisation key {kid:?}: {e}")))?;
    let payload =
        jws::verify_compact(token, &key).map_err(|e| untrusted(format!("signature: {e}")))?;
    let grant: UnlockGrant =
        serde_json::from_slice(&payload).map_err(|e| untrusted(format!("payload: {e}")))?;
    if grant.device_id != device_id {
        return Err(untrusted(format!(
            "the grant is for device {:?}, not this one",
            grant.device_id
        )));
    }
    if grant.nonce != nonce {
        return Err(untrusted(
            "the grant answers another unlock request (nonce differs)".into(),
        ));
    }
    Ok(grant)
}

fn network(error: reqwest::Error) -> ClientError {
    let error = error.without_url();
    // reqwest's own message is terse ("error sending request"): add its causes.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    ClientError::Network(message)
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Deserialize)]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

/// Maps a non-2xx answer to an error, reading the server's `{"error": {"code", "message"}}`.
pub(crate) fn error_from(status: StatusCode, body: &[u8]) -> ClientError {
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let fallback = || {
        let text = String::from_utf8_lossy(body);
        let text: String = text.chars().take(200).collect();
        if text.trim().is_empty() {
            status.canonical_reason().unwrap_or("").to_owned()
        } else {
            text
        }
    };
    let code_or_status = |d: &Option<ErrorDetail>| {
        d.as_ref()
            .map(|d| d.code.clone())
            .unwrap_or_else(|| format!("http.{}", status.as_u16()))
    };
    let message = |d: Option<ErrorDetail>| d.map(|d| d.message).unwrap_or_else(fallback);
    if status == StatusCode::UNAUTHORIZED {
        ClientError::Unauthorized {
            code: code_or_status(&detail),
            message: message(detail),
        }
    } else if status.is_server_error() {
        ClientError::Server {
            status: status.as_u16(),
            code: detail.as_ref().map(|d| d.code.clone()),
            message: message(detail),
        }
    } else {
        ClientError::Refused {
            status: status.as_u16(),
            code: code_or_status(&detail),
            message: message(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_map_to_typed_errors() {
        let body = br#"{"error":{"code":"unlock.not_approved","message":"not approved"}}"#;
        let error = error_from(StatusCode::FORBIDDEN, body);
        assert_eq!(error.code(), Some("unlock.not_approved"));
        assert!(!error.is_retryable());
        assert!(matches!(error, ClientError::Refused { status: 403, .. }));

        let error = error_from(
            StatusCode::UNAUTHORIZED,
            br#"{"error":{"code":"device.signature.invalid","message":"no"}}"#,
        );
        assert!(matches!(error, ClientError::Unauthorized { .. }));
        assert_eq!(error.code(), Some("device.signature.invalid"));

        let error = error_from(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert!(error.is_retryable());
        assert_eq!(error.code(), None);
        assert!(error.to_string().contains("bad gateway"));

        let error = error_from(StatusCode::NOT_FOUND, b"");
        assert_eq!(error.code(), Some("http.404"));
    }

    #[test]
    fn urls_are_built_under_the_base_path_and_segments_are_escaped() {
        let key = SigningKey::generate();
        let client = DeviceClient::new("http://127.0.0.1:9/prefix/", key.clone(), None).unwrap();
        let url = client.url(&["commands", "a/b c", "ack"], None).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/device/v1/commands/a%2Fb%20c/ack"
        );
        let client = DeviceClient::new("http://127.0.0.1:9", key, None).unwrap();
        let url = client.url(&["commands"], Some("wait=5")).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/device/v1/commands?wait=5");
        assert!(DeviceClient::new("ftp://x", SigningKey::generate(), None).is_err());
        assert!(DeviceClient::new("not a url", SigningKey::generate(), None).is_err());
    }

    #[test]
    fn retry_delays_double_up_to_the_limit() {
        let policy = RetryPolicy {
            attempts: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        };
        assert_eq!(policy.delay(2), Duration::from_millis(100));
        assert_eq!(policy.delay(3), Duration::from_millis(200));
        assert_eq!(policy.delay(4), Duration::from_millis(400));
        assert_eq!(policy.delay(5), Duration::from_millis(500));
        assert_eq!(policy.delay(40), Duration::from_millis(500));
    }

    #[test]
    fn requests_without_a_device_id_are_not_signed() {
        let client = DeviceClient::new("http://127.0.0.1:9", SigningKey::generate(), None).unwrap();
        let url = client.url(&["me"], None).unwrap();
        assert!(matches!(
            client.signature_headers(&Method::GET, &url, b"", KeyId::Device),
            Err(ClientError::NotEnrolled)
        ));
        assert!(
            client
                .signature_headers(&Method::POST, &url, b"{}", KeyId::PublicKey)
                .is_ok()
        );
    }
}
