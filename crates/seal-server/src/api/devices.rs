//! The people's side of devices in the JSON API: enrolment tokens, devices (approve,
//! revoke, bind, geofence, parameters, commands), alarms (acknowledge, resolve) and the
//! stamping records of an application with their photos.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use seal_app::alarms::AlarmQuery;
use seal_app::devices::{DeviceChanges, DeviceView};
use seal_app::directory::Page;
use seal_core::alarm::{AlarmAction, AlarmStatus};
use seal_core::device::DeviceStatus;
use seal_core::ids::{AlarmId, ApplicationId, DeviceId, GrantId, SealId, StampId};
use seal_store::{
    AlarmRecord, CommandRecord, DeviceRecord, EnrolmentTokenRecord, Fix, StampRecord,
    UnlockAttemptRecord,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::double_option;
use super::{parse_body_id, parse_path_id};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, Context};

// ----- shapes ------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct PositionDto {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: u32,
}

fn position(fix: Option<Fix>) -> Option<PositionDto> {
    fix.map(|f| PositionDto {
        lat: f.point.lat(),
        lon: f.point.lon(),
        accuracy_m: f.accuracy_m,
    })
}

#[derive(Serialize, ToSchema)]
pub struct GeofenceDto {
    pub lat: f64,
    pub lon: f64,
    pub radius_m: u32,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceDto {
    pub id: String,
    /// `seal_box`, `seal_printer`, `scanner`, `id_kiosk`.
    pub kind: String,
    /// `pending`, `active`, `revoked`.
    pub status: String,
    pub serial: String,
    pub mac: String,
    pub firmware: String,
    pub public_key: String,
    pub seal_id: Option<String>,
    pub terminal: Option<String>,
    pub geofence: Option<GeofenceDto>,
    pub heartbeat_seconds: u32,
    pub press_max_ms: u32,
    pub low_battery_pct: u8,
    pub enrolled_at: String,
    pub online: bool,
    pub last_seen_at: Option<String>,
    pub battery_pct: Option<u8>,
    pub position: Option<PositionDto>,
    pub on_base: Option<bool>,
    pub tamper: Option<bool>,
    pub locked: Option<bool>,
    pub buffered_events: Option<i64>,
}

impl From<&DeviceRecord> for DeviceDto {
    fn from(d: &DeviceRecord) -> Self {
        let t = &d.telemetry;
        DeviceDto {
            id: d.id.to_string(),
            kind: d.kind.key().to_owned(),
            status: d.status.key().to_owned(),
            serial: d.serial.to_string(),
            mac: d.mac.to_string(),
            firmware: d.firmware.as_str().to_owned(),
            public_key: d.public_key.clone(),
            seal_id: d.seal.map(|s| s.to_string()),
            terminal: d.terminal.as_ref().map(|t| t.as_str().to_owned()),
            geofence: d.geofence.map(|g| GeofenceDto {
                lat: g.home().lat(),
                lon: g.home().lon(),
                radius_m: g.radius_m(),
            }),
            heartbeat_seconds: d.parameters.heartbeat_seconds(),
            press_max_ms: d.parameters.press_max_ms(),
            low_battery_pct: d.parameters.low_battery_pct(),
            enrolled_at: d.enrolled_at.to_string(),
            online: t.online,
            last_seen_at: t.last_seen_at.map(|t| t.to_string()),
            battery_pct: t.battery_pct,
            position: position(t.fix),
            on_base: t.on_base,
            tamper: t.tamper,
            locked: t.locked,
            buffered_events: t.buffered_events,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StampDto {
    pub id: String,
    /// `press` or `print`.
    pub kind: String,
    pub device_id: String,
    pub seq: Option<i64>,
    pub application_id: Option<String>,
    pub grant_id: Option<String>,
    pub seal_id: Option<String>,
    pub device_time: String,
    pub received_at: String,
    pub position: Option<PositionDto>,
    pub press_ms: u32,
    pub factors: Vec<String>,
    pub photo_sha256: Option<String>,
    pub has_photo: bool,
    pub beyond_grant: bool,
    /// The 26-character code of the stamp's QR code (`/v/{code}` verifies it).
    pub code: String,
    /// The typed numeric code (数列密押): 20 digits, the last a Damm check digit.
    pub numeric_code: String,
    /// SHA-256 (hex) of the approved document the stamp was made for.
    pub document_sha256: Option<String>,
    /// Whether the stamp carries a signed token (COSE_Sign1).
    pub has_token: bool,
}

impl From<&StampRecord> for StampDto {
    fn from(s: &StampRecord) -> Self {
        StampDto {
            id: s.id.to_string(),
            kind: s.kind.key().to_owned(),
            device_id: s.device.to_string(),
            seq: s.seq,
            application_id: s.application.map(|x| x.to_string()),
            grant_id: s.grant.map(|x| x.to_string()),
            seal_id: s.seal.map(|x| x.to_string()),
            device_time: s.device_time.to_string(),
            received_at: s.received_at.to_string(),
            position: position(s.fix),
            press_ms: s.press_ms,
            factors: s
                .factors
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
            photo_sha256: s.photo_sha256.clone(),
            has_photo: s.photo_key.is_some(),
            beyond_grant: s.beyond_grant,
            code: seal_proof::qr_payload::stamp_code(s.id.as_uuid().as_bytes()),
            numeric_code: s.numeric_code().as_str().to_owned(),
            document_sha256: s.document_sha256.clone(),
            has_token: s.token.is_some(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CommandDto {
    pub id: String,
    pub kind: String,
    pub grant_id: Option<String>,
    /// `pending`, `done`, `failed`.
    pub status: String,
    pub created_at: String,
    pub created_by: String,
    pub sent_count: i64,
    pub acked_at: Option<String>,
    pub note: String,
}

impl From<&CommandRecord> for CommandDto {
    fn from(c: &CommandRecord) -> Self {
        CommandDto {
            id: c.id.to_string(),
            kind: c.kind.key().to_owned(),
            grant_id: c.grant.map(|g| g.to_string()),
            status: c.status.key().to_owned(),
            created_at: c.created_at.to_string(),
            created_by: c.created_by.clone(),
            sent_count: c.sent_count,
            acked_at: c.acked_at.map(|t| t.to_string()),
            note: c.note.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UnlockAttemptDto {
    pub order: String,
    pub application_id: Option<String>,
    /// `granted`, `printed`, or the refusal (`not_approved`, `wrong_seal` …).
    pub outcome: String,
    pub at: String,
}

impl From<&UnlockAttemptRecord> for UnlockAttemptDto {
    fn from(a: &UnlockAttemptRecord) -> Self {
        UnlockAttemptDto {
            order: a.order_text.clone(),
            application_id: a.application.map(|x| x.to_string()),
            outcome: a.outcome.clone(),
            at: a.at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AlarmDto {
    pub id: String,
    pub kind: String,
    pub severity: String,
    /// `open`, `acknowledged`, `resolved`.
    pub status: String,
    pub device_id: Option<String>,
    pub seal_id: Option<String>,
    pub application_id: Option<String>,
    pub details: String,
    pub occurrences: i64,
    pub raised_at: String,
    pub last_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub acknowledge_note: String,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolve_note: String,
}

impl From<&AlarmRecord> for AlarmDto {
    fn from(a: &AlarmRecord) -> Self {
        AlarmDto {
            id: a.id.to_string(),
            kind: a.kind.key().to_owned(),
            severity: a.severity.key().to_owned(),
            status: a.status.key().to_owned(),
            device_id: a.device.map(|x| x.to_string()),
            seal_id: a.seal.map(|x| x.to_string()),
            application_id: a.application.map(|x| x.to_string()),
            details: a.details.clone(),
            occurrences: a.occurrences,
            raised_at: a.raised_at.to_string(),
            last_at: a.last_at.to_string(),
            acknowledged_at: a.acknowledged_at.map(|t| t.to_string()),
            acknowledged_by: a.acknowledged_by.clone(),
            acknowledge_note: a.acknowledge_note.clone(),
            resolved_at: a.resolved_at.map(|t| t.to_string()),
            resolved_by: a.resolved_by.clone(),
            resolve_note: a.resolve_note.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeviceDetailDto {
    pub device: DeviceDto,
    pub seal_name: Option<String>,
    pub stamps: Vec<StampDto>,
    pub commands: Vec<CommandDto>,
    pub unlocks: Vec<UnlockAttemptDto>,
    pub alarms: Vec<AlarmDto>,
}

impl From<&DeviceView> for DeviceDetailDto {
    fn from(v: &DeviceView) -> Self {
        DeviceDetailDto {
            device: DeviceDto::from(&v.device),
            seal_name: v.seal_name.clone(),
            stamps: v.stamps.iter().map(StampDto::from).collect(),
            commands: v.commands.iter().map(CommandDto::from).collect(),
            unlocks: v.unlocks.iter().map(UnlockAttemptDto::from).collect(),
            alarms: v.alarms.iter().map(AlarmDto::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EnrolmentTokenDto {
    pub id: String,
    pub kind: String,
    pub note: String,
    pub created_at: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    pub device_id: Option<String>,
    /// Only in the answer to its creation: `sket_…`, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<&EnrolmentTokenRecord> for EnrolmentTokenDto {
    fn from(t: &EnrolmentTokenRecord) -> Self {
        EnrolmentTokenDto {
            id: t.id.to_string(),
            kind: t.kind.key().to_owned(),
            note: t.note.clone(),
            created_at: t.created_at.to_string(),
            expires_at: t.expires_at.to_string(),
            used_at: t.used_at.map(|x| x.to_string()),
            device_id: t.device.map(|x| x.to_string()),
            token: None,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEnrolmentToken {
    /// `seal_box`, `seal_printer`, `scanner` or `id_kiosk`.
    pub kind: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeofenceBody {
    pub lat: f64,
    pub lon: f64,
    pub radius_m: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParametersBody {
    pub heartbeat_seconds: u32,
    pub press_max_ms: u32,
    pub low_battery_pct: u8,
}

/// Changes to a device; absent fields stay, `null` clears (seal, terminal, geofence).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub seal_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub terminal: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<GeofenceBody>)]
    pub geofence: Option<Option<GeofenceBody>>,
    #[serde(default)]
    pub parameters: Option<ParametersBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandBody {
    /// `lock` or `cancel_grant`.
    pub kind: String,
    #[serde(default)]
    pub grant_id: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    #[serde(default)]
    pub note: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AlarmParams {
    /// `open`, `acknowledged` or `resolved` (several separated by commas).
    pub status: Option<String>,
    pub device_id: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

// ----- handlers ----------------------------------------------------------------------------

/// Enrolment tokens of the organisation (`devices.manage`).
#[utoipa::path(get, path = "/api/v1/device-enrolment-tokens", tag = "devices",
    responses((status = 200, body = [EnrolmentTokenDto]), (status = 403, body = ErrorBody)))]
pub async fn list_enrolment_tokens(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<EnrolmentTokenDto>>, ApiError> {
    let tokens = state.app.enrolment_tokens(&principal).await?;
    Ok(Json(tokens.iter().map(EnrolmentTokenDto::from).collect()))
}

/// Makes a one-time enrolment token; its secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/device-enrolment-tokens", tag = "devices", request_body = CreateEnrolmentToken,
    responses((status = 201, body = EnrolmentTokenDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_enrolment_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<CreateEnrolmentToken>,
) -> Result<(StatusCode, Json<EnrolmentTokenDto>), ApiError> {
    let made = state
        .app
        .create_enrolment_token(&principal, &body.kind, &body.note, &context)
        .await?;
    let mut dto = EnrolmentTokenDto::from(&made.record);
    dto.token = Some(made.secret);
    Ok((StatusCode::CREATED, Json(dto)))
}

/// The organisation's devices.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices",
    responses((status = 200, body = [DeviceDto]), (status = 403, body = ErrorBody)))]
pub async fn list_devices(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<DeviceDto>>, ApiError> {
    let devices = state.app.devices(&principal).await?;
    Ok(Json(devices.iter().map(DeviceDto::from).collect()))
}

/// A device with its latest stamps, commands, unlock attempts and alarms.
#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "devices", params(("id" = String, Path)),
    responses((status = 200, body = DeviceDetailDto), (status = 404, body = ErrorBody)))]
pub async fn get_device(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<DeviceDetailDto>, ApiError> {
    let id = parse_path_id(&id, DeviceId::parse)?;
    let view = state.app.device_view(&principal, id).await?;
    Ok(Json(DeviceDetailDto::from(&view)))
}

/// Binds a device to a seal and a terminal, sets its geofence and parameters.
#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "devices", params(("id" = String, Path)), request_body = UpdateDevice,
    responses((status = 200, body = DeviceDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_device(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateDevice>,
) -> Result<Json<DeviceDto>, ApiError> {
    let id = parse_path_id(&id, DeviceId::parse)?;
    let seal = match body.seal_id {
        Some(Some(text)) => Some(Some(parse_body_id("seal_id", &text, SealId::parse)?)),
        Some(None) => Some(None),
        None => None,
    };
    let changes = DeviceChanges {
        seal,
        terminal: body.terminal,
        geofence: body.geofence.map(|g| g.map(|g| (g.lat, g.lon, g.radius_m))),
        parameters: body
            .parameters
            .map(|p| (p.heartbeat_seconds, p.press_max_ms, p.low_battery_pct)),
    };
    let device = state
        .app
        .change_device(&principal, id, &changes, &context)
        .await?;
    Ok(Json(DeviceDto::from(&device)))
}

/// Approves (allow-lists) a pending device.
#[utoipa::path(post, path = "/api/v1/devices/{id}/approve", tag = "devices", params(("id" = String, Path)),
    responses((status = 200, body = DeviceDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve_device(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Json<DeviceDto>, ApiError> {
    let id = parse_path_id(&id, DeviceId::parse)?;
    let device = state
        .app
        .change_device_status(&principal, id, DeviceStatus::Active, &context)
        .await?;
    Ok(Json(DeviceDto::from(&device)))
}

/// Revokes a device (or refuses a pending one): its next request is refused.
#[utoipa::path(post, path = "/api/v1/devices/{id}/revoke", tag = "devices", params(("id" = String, Path)),
    responses((status = 200, body = DeviceDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_device(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Json<DeviceDto>, ApiError> {
    let id = parse_path_id(&id, DeviceId::parse)?;
    let device = state
        .app
        .change_device_status(&principal, id, DeviceStatus::Revoked, &context)
        .await?;
    Ok(Json(DeviceDto::from(&device)))
}

/// Sends a command: `lock` now, or `cancel_grant` with a grant id.
#[utoipa::path(post, path = "/api/v1/devices/{id}/commands", tag = "devices", params(("id" = String, Path)), request_body = CommandBody,
    responses((status = 202, body = CommandDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn send_command(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CommandBody>,
) -> Result<(StatusCode, Json<CommandDto>), ApiError> {
    let id = parse_path_id(&id, DeviceId::parse)?;
    let grant = body
        .grant_id
        .as_deref()
        .map(|g| parse_body_id("grant_id", g, GrantId::parse))
        .transpose()?;
    let command = state
        .app
        .send_device_command(&principal, id, &body.kind, grant, &context)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(CommandDto::from(&command))))
}

/// Alarms, newest first.
#[utoipa::path(get, path = "/api/v1/alarms", tag = "devices", params(AlarmParams),
    responses((status = 200, body = [AlarmDto]), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_alarms(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<AlarmParams>,
) -> Result<Json<Vec<AlarmDto>>, ApiError> {
    let mut statuses = Vec::new();
    for key in params
        .status
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|k| !k.trim().is_empty())
    {
        statuses.push(AlarmStatus::parse(key).ok_or_else(|| {
            ApiError::from(seal_app::AppError::invalid(
                "status",
                seal_app::error::Invalid::UnknownKey(key.to_owned()),
            ))
        })?);
    }
    let device = params
        .device_id
        .as_deref()
        .map(|d| parse_body_id("device_id", d, DeviceId::parse))
        .transpose()?;
    let query = AlarmQuery {
        statuses,
        device,
        page: Page::new(params.page, params.per_page),
    };
    let alarms = state.app.alarms(&principal, &query).await?;
    Ok(Json(alarms.iter().map(AlarmDto::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/alarms/{id}", tag = "devices", params(("id" = String, Path)),
    responses((status = 200, body = AlarmDto), (status = 404, body = ErrorBody)))]
pub async fn get_alarm(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<AlarmDto>, ApiError> {
    let id = parse_path_id(&id, AlarmId::parse)?;
    let alarm = state.app.alarm(&principal, id).await?;
    Ok(Json(AlarmDto::from(&alarm)))
}

/// Acknowledges an open alarm (`alarms.handle`), with a note.
#[utoipa::path(post, path = "/api/v1/alarms/{id}/acknowledge", tag = "devices", params(("id" = String, Path)), request_body = NoteBody,
    responses((status = 200, body = AlarmDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn acknowledge_alarm(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<Json<AlarmDto>, ApiError> {
    let id = parse_path_id(&id, AlarmId::parse)?;
    let alarm = state
        .app
        .act_on_alarm(
            &principal,
            id,
            AlarmAction::Acknowledge,
            &body.note,
            &context,
        )
        .await?;
    Ok(Json(AlarmDto::from(&alarm)))
}

/// Resolves an alarm (`alarms.handle`), with a note.
#[utoipa::path(post, path = "/api/v1/alarms/{id}/resolve", tag = "devices", params(("id" = String, Path)), request_body = NoteBody,
    responses((status = 200, body = AlarmDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resolve_alarm(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<Json<AlarmDto>, ApiError> {
    let id = parse_path_id(&id, AlarmId::parse)?;
    let alarm = state
        .app
        .act_on_alarm(&principal, id, AlarmAction::Resolve, &body.note, &context)
        .await?;
    Ok(Json(AlarmDto::from(&alarm)))
}

/// The stamps (presses and print jobs) of an application, for whoever may see it.
#[utoipa::path(get, path = "/api/v1/applications/{id}/stamps", tag = "applications", params(("id" = String, Path)),
    responses((status = 200, body = [StampDto]), (status = 404, body = ErrorBody)))]
pub async fn application_stamps(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<StampDto>>, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let stamps = state.app.application_stamps(&principal, id).await?;
    Ok(Json(stamps.iter().map(StampDto::from).collect()))
}

/// A stamp's photo of the stamped page (or a printer's scan).
#[utoipa::path(get, path = "/api/v1/applications/{id}/stamps/{stamp}/photo", tag = "applications",
    params(("id" = String, Path), ("stamp" = String, Path)),
    responses((status = 200, content_type = "image/jpeg"), (status = 404, body = ErrorBody)))]
pub async fn stamp_photo(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, stamp)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let stamp = parse_path_id(&stamp, StampId::parse)?;
    let (media, bytes) = state.app.stamp_photo(&principal, id, stamp).await?;
    Ok((
        [
            (header::CONTENT_TYPE, media),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}
