//! The device API under `/device/v1` (see `docs/device-protocol.md`): every request is
//! signed by the device's Ed25519 key (RFC 9421); handlers hand the covered parts to
//! `App::authenticate_device` and call the use case. Commands arrive over a WebSocket
//! (`/device/v1/stream`) or by long-poll (`/device/v1/commands?wait=`).

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use seal_app::devices::{DeviceCaller, SignedRequest};
use seal_app::{App, RequestContext};
use seal_core::ids::CommandId;
use seal_proof::wire::{
    CommandAck, CommandList, DeviceState, EnrolRequest, EnrolResponse, EventBatch,
    EventBatchResult, Heartbeat, HeartbeatResponse, MAX_COMMAND_WAIT_SECONDS, PrintJob,
    ScanRequest, UnlockRequest, UnlockResponse,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Context, too_large};

use super::parse_path_id;

/// The largest device request body: a batch of 100 events with photos, base64.
const MAX_DEVICE_BODY: usize = 48 * 1024 * 1024;

/// A device request as received: the covered parts and the body bytes.
pub struct Signed {
    method: String,
    path: String,
    query: Option<String>,
    content_digest: Option<String>,
    signature_input: Option<String>,
    signature: Option<String>,
    body: Bytes,
    context: RequestContext,
}

impl Signed {
    fn request(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            body: &self.body,
            content_digest: self.content_digest.as_deref(),
            signature_input: self.signature_input.as_deref(),
            signature: self.signature.as_deref(),
        }
    }

    /// The body as JSON of the expected shape.
    fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.json_data",
                format!("请求内容不符合设备协议：{e}"),
                format!("The request does not follow the device protocol: {e}"),
            )
        })
    }

    /// Refuses a request without the signature headers before its body is looked at.
    fn require_signature(&self) -> Result<(), ApiError> {
        match (&self.content_digest, &self.signature_input, &self.signature) {
            (Some(_), Some(_), Some(_)) => Ok(()),
            _ => Err(
                seal_app::AppError::DeviceAuth(seal_app::error::DeviceAuthError::Missing).into(),
            ),
        }
    }

    async fn caller(&self, app: &App) -> Result<DeviceCaller, ApiError> {
        Ok(app.authenticate_device(&self.request()).await?)
    }
}

impl FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Context(context) = Context::from_request_parts(&mut parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let body = axum::body::to_bytes(body, MAX_DEVICE_BODY)
            .await
            .map_err(|_| too_large())?;
        Ok(Signed {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            content_digest: header("content-digest"),
            signature_input: header("signature-input"),
            signature: header("signature"),
            body,
            context,
        })
    }
}

/// Enrols a new device with a one-time token; signed with the new key (`keyid` = the
/// base64 public key). The device stays `pending` until an admin approves it.
#[utoipa::path(post, path = "/device/v1/enrol", tag = "device", request_body = EnrolRequest,
    responses((status = 201, body = EnrolResponse), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn enrol(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<(StatusCode, Json<EnrolResponse>), ApiError> {
    signed.require_signature()?;
    let body: EnrolRequest = signed.json()?;
    let device = state
        .app
        .enrol_device(&signed.request(), &body, &signed.context)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(EnrolResponse {
            device_id: device.id.to_string(),
            status: device.status.key().to_owned(),
        }),
    ))
}

/// The calling device's status, binding, the organisation's grant keys and parameters.
/// Pending and revoked devices may call this (and nothing else).
#[utoipa::path(get, path = "/device/v1/me", tag = "device",
    responses((status = 200, body = DeviceState), (status = 401, body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Json<DeviceState>, ApiError> {
    let caller = signed.caller(&state.app).await?;
    Ok(Json(state.app.device_state(&caller).await?))
}

/// Asks to unlock for a work order; answers a grant signed by the organisation, or the
/// reason for the refusal (`unlock.not_approved`, `unlock.wrong_seal` …).
#[utoipa::path(post, path = "/device/v1/unlock", tag = "device", request_body = UnlockRequest,
    responses((status = 200, body = UnlockResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn unlock(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Json<UnlockResponse>, ApiError> {
    let caller = signed.caller(&state.app).await?;
    let body: UnlockRequest = signed.json()?;
    Ok(Json(
        state.app.unlock(&caller, &body, &signed.context).await?,
    ))
}

/// Reports presses (1 to 100); idempotent on (device, seq).
#[utoipa::path(post, path = "/device/v1/events", tag = "device", request_body = EventBatch,
    responses((status = 200, body = EventBatchResult), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Json<EventBatchResult>, ApiError> {
    let caller = signed.caller(&state.app).await?;
    let body: EventBatch = signed.json()?;
    let results = state
        .app
        .ingest_stamp_events(caller, &body, signed.context.clone())
        .await?;
    Ok(Json(EventBatchResult { results }))
}

/// Telemetry: battery, position, base and tamper sensors, lock state, firmware.
#[utoipa::path(post, path = "/device/v1/heartbeat", tag = "device", request_body = Heartbeat,
    responses((status = 200, body = HeartbeatResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn heartbeat(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Json<HeartbeatResponse>, ApiError> {
    let caller = signed.caller(&state.app).await?;
    let body: Heartbeat = signed.json()?;
    Ok(Json(
        state.app.heartbeat(&caller, &body, &signed.context).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct WaitQuery {
    /// Seconds to wait for a command when none is pending (0–30).
    #[serde(default)]
    wait: Option<u64>,
}

/// The device's pending commands; with `wait`, a long-poll.
#[utoipa::path(get, path = "/device/v1/commands", tag = "device", params(WaitQuery),
    responses((status = 200, body = CommandList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn commands(
    State(state): State<AppState>,
    Query(query): Query<WaitQuery>,
    signed: Signed,
) -> Result<Json<CommandList>, ApiError> {
    let caller = signed.caller(&state.app).await?;
    let wait = Duration::from_secs(query.wait.unwrap_or(0).min(MAX_COMMAND_WAIT_SECONDS));
    let commands = state.app.device_commands(&caller, wait, true).await?;
    Ok(Json(CommandList { commands }))
}

/// Acknowledges a command (`done` or `failed`).
#[utoipa::path(post, path = "/device/v1/commands/{id}/ack", tag = "device", params(("id" = String, Path)), request_body = CommandAck,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn ack_command(
    State(state): State<AppState>,
    Path(id): Path<String>,
    signed: Signed,
) -> Result<StatusCode, ApiError> {
    let caller = signed.caller(&state.app).await?;
    let id = parse_path_id(&id, CommandId::parse)?;
    let body: CommandAck = signed.json()?;
    state
        .app
        .ack_command(&caller, id, &body, &signed.context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A seal printer's scan of the page to stamp: a print job (the seal at true size) when
/// it matches the approved document, `scan.content_mismatch` (and an alarm) when not.
#[utoipa::path(post, path = "/device/v1/scan", tag = "device", request_body = ScanRequest,
    responses((status = 200, body = PrintJob), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn scan(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Json<PrintJob>, ApiError> {
    let caller = signed.caller(&state.app).await?;
    let body: ScanRequest = signed.json()?;
    let job = state.app.scan(&caller, &body, &signed.context).await?;
    Ok(Json(PrintJob {
        job_id: job.stamp.to_string(),
        order: job.order,
        seal_svg: job.seal_svg,
        width_mm: job.width_mm,
        height_mm: job.height_mm,
        uses_left: job.uses_left,
        code: seal_proof::qr_payload::stamp_code(job.stamp.as_uuid().as_bytes()),
        mark_svg: job.mark_svg,
        numeric_code: job.numeric_code,
    }))
}

/// Commands pushed over a WebSocket: a signed upgrade request (empty body); each command
/// is sent as a text frame (`Command` JSON) when created, and again until acknowledged
/// (through `POST /device/v1/commands/{id}/ack`).
#[utoipa::path(get, path = "/device/v1/stream", tag = "device",
    responses((status = 101, description = "WebSocket of commands"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn stream(
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    signed: Signed,
) -> Result<Response, ApiError> {
    // The signature first: an unsigned request learns nothing, upgrade or not.
    let caller = signed.caller(&state.app).await?;
    let upgrade = upgrade.map_err(|_| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "device.stream.upgrade_required",
            "此地址须以 WebSocket 升级请求访问。",
            "This address takes a WebSocket upgrade request.",
        )
    })?;
    // The upgrade's nonce is claimed (a replayed upgrade is refused) and the device must
    // be active; the first fetch does both.
    let first = state
        .app
        .device_commands(&caller, Duration::ZERO, true)
        .await?;
    let app = state.app.clone();
    // Commands are small and devices many: small buffers (tungstenite's defaults are
    // 128 KiB each way, per connection).
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .on_upgrade(move |socket| serve_stream(app, caller, socket, first))
        .into_response())
}

async fn serve_stream(
    app: App,
    caller: DeviceCaller,
    mut socket: WebSocket,
    mut batch: Vec<seal_proof::wire::Command>,
) {
    let waiter = app.device_waiter(caller.id());
    loop {
        for command in batch.drain(..) {
            let Ok(text) = serde_json::to_string(&command) else {
                continue;
            };
            if socket.send(Message::Text(text.into())).await.is_err() {
                app.release_device_waiter(caller.id());
                return;
            }
        }
        let notified = waiter.notified();
        tokio::select! {
            _ = notified => {}
            // Unacknowledged commands are sent again; another process may have queued some.
            _ = tokio::time::sleep(Duration::from_secs(15)) => {}
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
        }
        match app.device_commands(&caller, Duration::ZERO, false).await {
            Ok(commands) => batch = commands,
            // Revoked meanwhile, or the database is away: close; the device reconnects.
            Err(_) => break,
        }
    }
    drop(waiter);
    app.release_device_waiter(caller.id());
    let _ = socket.send(Message::Close(None)).await;
}
