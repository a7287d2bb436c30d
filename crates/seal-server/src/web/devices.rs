//! The console's device pages: the devices with status, bound seal, battery, online or
//! offline since when, and a coarse position; a device's page (telemetry, binding to a
//! seal and a terminal, geofence, parameters, approve and revoke, "lock now", and its
//! latest stamps, commands, unlock attempts and alarms); and the enrolment tokens, a new
//! one's `sket_…` secret shown once. The alarm pages are in [`super::alarms`] and the
//! stamp photo in [`super::applications`]; their routes are merged here.
//!
//! Who may see or do what is decided by the use cases (`seal_app::devices`); the pages
//! only hide the forms a reader may not use.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum_extra::extract::Form;
use seal_app::devices::DeviceChanges;
use seal_app::policy::Principal;
use seal_core::alarm::{AlarmStatus, Severity};
use seal_core::device::{CommandStatus, DeviceKind, DeviceStatus, UnlockRefusal};
use seal_core::ids::{DeviceId, PersonId, SealId};
use seal_core::permission::Permission;
use seal_core::stamp::StampStatus;
use seal_store::{
    AlarmRecord, CommandRecord, DeviceRecord, EnrolmentTokenRecord, Fix, StampKind, StampRecord,
    UnlockAttemptRecord,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::Context;
use crate::web::seals::{Choice, local_time, names_of};
use crate::web::{Chrome, FieldErrors, Page, PageError, Tr, redirect_with_flash, render};

/// The device and alarm pages and the stamp photo, registered like every other page.
pub fn routes() -> OpenApiRouter<AppState> {
    use crate::web::{alarms, applications};
    OpenApiRouter::new()
        .routes(routes!(devices))
        .routes(routes!(enrolment_tokens, create_enrolment_token))
        .routes(routes!(device))
        .routes(routes!(approve_device))
        .routes(routes!(revoke_device))
        .routes(routes!(bind_device))
        .routes(routes!(set_geofence))
        .routes(routes!(set_parameters))
        .routes(routes!(lock_device))
        .routes(routes!(alarms::alarms))
        .routes(routes!(alarms::alarm))
        .routes(routes!(alarms::acknowledge))
        .routes(routes!(alarms::resolve))
        .routes(routes!(applications::stamp_photo))
        .routes(routes!(applications::change_stamp_status))
}

/// Who may read devices (as `seal_app::devices` decides): the nav shows the link to them.
pub const DEVICE_READERS: [Permission; 4] = [
    Permission::DevicesManage,
    Permission::SealsKeep,
    Permission::AlarmsHandle,
    Permission::AuditRead,
];

/// Who may read alarms (as `seal_app::alarms` decides).
pub const ALARM_READERS: [Permission; 3] = [
    Permission::AlarmsHandle,
    Permission::AuditRead,
    Permission::DevicesManage,
];

fn parse_id<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>) -> Result<T, PageError> {
    parse(text).map_err(|_| PageError::NotFound)
}

// ----- labels shared by the device, alarm and application pages ------------------------------

/// A device kind as people read it.
pub fn kind_label(t: Tr, kind: DeviceKind) -> &'static str {
    t.get(&format!("device_kind.{}", kind.key()))
}

/// A device status as people read it.
pub fn status_label(t: Tr, status: DeviceStatus) -> &'static str {
    t.get(&format!("device_status.{}", status.key()))
}

/// The badge class of a device status.
pub fn status_badge(status: DeviceStatus) -> &'static str {
    match status {
        DeviceStatus::Active => "ok",
        DeviceStatus::Pending => "warn",
        DeviceStatus::Revoked => "off",
    }
}

/// The badge class of an alarm severity: the two urgent ones stand out.
pub fn severity_badge(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "alert",
        Severity::Medium => "warn",
        Severity::Low => "",
    }
}

/// The badge class of an alarm status.
pub fn alarm_status_badge(status: AlarmStatus) -> &'static str {
    match status {
        AlarmStatus::Open => "alert",
        AlarmStatus::Acknowledged => "warn",
        AlarmStatus::Resolved => "ok",
    }
}

/// A position rounded to about a kilometre (`31.23, 121.47`), or `—`.
pub fn coarse_position(fix: Option<&Fix>) -> String {
    match fix {
        Some(fix) => {
            let (lat, lon) = fix.point.coarse();
            format!("{lat:.2}, {lon:.2}")
        }
        None => "—".to_owned(),
    }
}

/// The people named by audit actor texts (`person:<id>`), for [`actor_name`].
pub async fn actor_names<'a>(
    state: &AppState,
    principal: &Principal,
    labels: impl IntoIterator<Item = &'a str>,
) -> HashMap<PersonId, String> {
    let ids = labels
        .into_iter()
        .filter_map(|label| label.strip_prefix("person:"))
        .filter_map(|id| PersonId::parse(id).ok())
        .collect();
    names_of(state, principal, ids).await
}

/// An audit actor text as people read it: a person's name, "system", a device or token.
pub fn actor_name(t: Tr, label: &str, names: &HashMap<PersonId, String>) -> String {
    if let Some(name) = label
        .strip_prefix("person:")
        .and_then(|id| PersonId::parse(id).ok())
        .and_then(|id| names.get(&id))
    {
        return name.clone();
    }
    match label.split_once(':') {
        None if label == "system" => t.get("devices.actor_system").to_owned(),
        Some(("device", _)) => t.get("devices.actor_device").to_owned(),
        Some(("token", _)) => t.get("devices.actor_token").to_owned(),
        _ => label.to_owned(),
    }
}

/// The organisation's bindable seals by id (empty for a reader who may see neither seals
/// nor manage devices).
pub async fn seal_names(state: &AppState, principal: &Principal) -> HashMap<SealId, String> {
    state
        .app
        .seals_for_binding(principal)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.id, s.name.as_str().to_owned()))
        .collect()
}

/// The organisation's devices by id (empty for a reader who may not see them).
pub async fn device_serials(state: &AppState, principal: &Principal) -> HashMap<DeviceId, String> {
    state
        .app
        .devices(principal)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.id, d.serial.to_string()))
        .collect()
}

/// A device named by its serial number, or by the start of its id when the reader does
/// not see devices.
pub fn device_label(id: DeviceId, serials: &HashMap<DeviceId, String>) -> String {
    serials.get(&id).cloned().unwrap_or_else(|| {
        let text = id.to_string();
        text.get(..8).unwrap_or(&text).to_owned()
    })
}

// ----- rows ----------------------------------------------------------------------------------

/// A device in the list, and the head of its page.
pub struct DeviceRow {
    pub id: String,
    pub serial: String,
    pub kind: &'static str,
    pub status_key: &'static str,
    pub status: &'static str,
    pub seal_id: Option<String>,
    pub seal: String,
    pub battery: String,
    pub battery_low: bool,
    pub online: bool,
    pub last_seen: String,
    pub position: String,
}

fn device_row(t: Tr, d: &DeviceRecord, seals: &HashMap<SealId, String>) -> DeviceRow {
    let telemetry = &d.telemetry;
    DeviceRow {
        id: d.id.to_string(),
        serial: d.serial.to_string(),
        kind: kind_label(t, d.kind),
        status_key: status_badge(d.status),
        status: status_label(t, d.status),
        seal_id: d.seal.map(|s| s.to_string()),
        seal: match d.seal {
            Some(seal) => seals
                .get(&seal)
                .cloned()
                .unwrap_or_else(|| t.get("devices.bound").to_owned()),
            None => "—".to_owned(),
        },
        battery: telemetry
            .battery_pct
            .map_or_else(|| "—".to_owned(), |b| format!("{b}%")),
        battery_low: telemetry
            .battery_pct
            .is_some_and(|b| b < d.parameters.low_battery_pct()),
        online: telemetry.online,
        last_seen: telemetry
            .last_seen_at
            .map_or_else(|| "—".to_owned(), local_time),
        position: coarse_position(telemetry.fix.as_ref()),
    }
}

/// A stamp on the device page and on the application page.
pub struct StampRow {
    pub id: String,
    pub at: String,
    pub device_id: String,
    pub device: String,
    /// Whether the reader may open the device's page (link it).
    pub device_visible: bool,
    pub seq: String,
    pub kind: &'static str,
    pub position: String,
    pub press_ms: u32,
    pub factors: String,
    pub beyond_grant: bool,
    pub application_id: Option<String>,
    /// The photo's address, when the stamp has one and belongs to an application.
    pub photo: Option<String>,
    /// The QR code's 26 characters (its public page is `/v/{code}`).
    pub code: String,
    /// The typed numeric code, grouped in fours.
    pub numeric: String,
    pub status: &'static str,
    pub status_key: &'static str,
    /// Where the status form posts, when the reader may change the status here.
    pub status_action: Option<String>,
    /// The comparison of the stamped page with the approved document, when shown.
    pub comparison: Option<crate::web::comparisons::ComparisonRow>,
}

/// A stamp as a row; `serials` names the devices the reader may see.
pub fn stamp_row(
    t: Tr,
    s: &StampRecord,
    serials: &HashMap<DeviceId, String>,
    statuses: &HashMap<seal_core::ids::StampId, (StampStatus, Option<seal_core::time::Timestamp>)>,
) -> StampRow {
    let status = statuses
        .get(&s.id)
        .map_or(StampStatus::Valid, |(status, _)| *status);
    let kind_key = match s.kind {
        StampKind::Press => "stamp_record.press",
        StampKind::Print => "stamp_record.print",
    };
    let photo = match (s.application, &s.photo_key) {
        (Some(application), Some(_)) => {
            Some(format!("/applications/{application}/stamps/{}/photo", s.id))
        }
        _ => None,
    };
    StampRow {
        id: s.id.to_string(),
        at: local_time(s.device_time),
        device_id: s.device.to_string(),
        device: device_label(s.device, serials),
        device_visible: serials.contains_key(&s.device),
        seq: s.seq.map_or_else(|| "—".to_owned(), |n| n.to_string()),
        kind: t.get(kind_key),
        position: coarse_position(s.fix.as_ref()),
        press_ms: s.press_ms,
        factors: s
            .factors
            .split(',')
            .filter(|f| !f.is_empty())
            .map(|f| t.get(&format!("factor.{f}")))
            .collect::<Vec<_>>()
            .join(" + "),
        beyond_grant: s.beyond_grant,
        application_id: s.application.map(|a| a.to_string()),
        photo,
        code: seal_proof::qr_payload::stamp_code(s.id.as_uuid().as_bytes()),
        numeric: s.numeric_code().grouped(),
        status: t.get(&format!("verify.status.{}", status.key())),
        status_key: status.key(),
        status_action: None,
        comparison: None,
    }
}

pub struct CommandRow {
    pub at: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub status_key: &'static str,
    pub sent_count: i64,
    pub acked: String,
    pub note: String,
    pub by: String,
}

fn command_row(t: Tr, c: &CommandRecord, names: &HashMap<PersonId, String>) -> CommandRow {
    CommandRow {
        at: local_time(c.created_at),
        kind: t.get(&format!("command_kind.{}", c.kind.key())),
        status: t.get(&format!("command_status.{}", c.status.key())),
        status_key: match c.status {
            CommandStatus::Done => "ok",
            CommandStatus::Failed => "alert",
            CommandStatus::Pending => "warn",
        },
        sent_count: c.sent_count,
        acked: c.acked_at.map_or_else(|| "—".to_owned(), local_time),
        note: c.note.clone(),
        by: actor_name(t, &c.created_by, names),
    }
}

pub struct UnlockRow {
    pub at: String,
    pub order: String,
    pub outcome: &'static str,
    pub granted: bool,
    pub application_id: Option<String>,
}

/// The outcome of an unlock attempt as people read it (`granted`, `printed`, or a refusal).
pub fn unlock_outcome(t: Tr, outcome: &str) -> &'static str {
    let known = matches!(outcome, "granted" | "printed") || UnlockRefusal::parse(outcome).is_some();
    if known {
        t.get(&format!("unlock_outcome.{outcome}"))
    } else {
        t.get("unlock_outcome.other")
    }
}

fn unlock_row(t: Tr, u: &UnlockAttemptRecord) -> UnlockRow {
    UnlockRow {
        at: local_time(u.at),
        order: u.order_text.clone(),
        outcome: unlock_outcome(t, &u.outcome),
        granted: matches!(u.outcome.as_str(), "granted" | "printed"),
        application_id: u.application.map(|a| a.to_string()),
    }
}

/// An alarm in a list.
pub struct AlarmRow {
    pub id: String,
    pub kind: &'static str,
    pub severity: &'static str,
    pub severity_key: &'static str,
    pub status: &'static str,
    pub status_key: &'static str,
    pub device_id: Option<String>,
    pub device: String,
    pub details: String,
    pub occurrences: i64,
    pub raised: String,
    pub last: String,
}

pub fn alarm_row(t: Tr, a: &AlarmRecord, serials: &HashMap<DeviceId, String>) -> AlarmRow {
    AlarmRow {
        id: a.id.to_string(),
        kind: t.get(&format!("alarm_kind.{}", a.kind.key())),
        severity: t.get(&format!("severity.{}", a.severity.key())),
        severity_key: severity_badge(a.severity),
        status: t.get(&format!("alarm_status.{}", a.status.key())),
        status_key: alarm_status_badge(a.status),
        device_id: a.device.map(|d| d.to_string()),
        device: a
            .device
            .map_or_else(|| "—".to_owned(), |d| device_label(d, serials)),
        details: a.details.clone(),
        occurrences: a.occurrences,
        raised: local_time(a.raised_at),
        last: local_time(a.last_at),
    }
}

// ----- the list ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    chrome: Chrome,
    rows: Vec<DeviceRow>,
    can_manage: bool,
    can_see_alarms: bool,
}

/// The organisation's devices: status, seal, battery, online or offline, position.
#[utoipa::path(get, path = "/devices", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn devices(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let principal = page.require()?;
    let list = state.app.devices(principal).await?;
    let seals = seal_names(&state, principal).await;
    render(&DevicesPage {
        chrome: page.chrome("devices.title"),
        rows: list.iter().map(|d| device_row(page.t, d, &seals)).collect(),
        can_manage: principal.permissions.contains(Permission::DevicesManage),
        can_see_alarms: ALARM_READERS
            .iter()
            .any(|p| principal.permissions.contains(*p)),
    })
}

// ----- enrolment tokens ----------------------------------------------------------------------

pub struct TokenRow {
    pub kind: &'static str,
    pub note: String,
    pub created: String,
    pub expires: String,
    pub state: &'static str,
    pub state_key: &'static str,
    pub device_id: Option<String>,
}

fn token_row(t: Tr, token: &EnrolmentTokenRecord, now: seal_core::time::Timestamp) -> TokenRow {
    let (state, state_key) = match token.used_at {
        Some(_) => ("enrolment.used", "ok"),
        None if token.expires_at <= now => ("enrolment.expired", "off"),
        None => ("enrolment.waiting", "warn"),
    };
    TokenRow {
        kind: kind_label(t, token.kind),
        note: token.note.clone(),
        created: local_time(token.created_at),
        expires: local_time(token.expires_at),
        state: t.get(state),
        state_key,
        device_id: token.device.map(|d| d.to_string()),
    }
}

/// A new token, shown this once.
pub struct NewToken {
    pub secret: String,
    pub kind: &'static str,
    pub expires: String,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct TokenForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    note: String,
}

#[derive(Template)]
#[template(path = "enrolment_tokens.html")]
struct EnrolmentPage {
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    kinds: Vec<Choice>,
    form: TokenForm,
    errors: FieldErrors,
    new_token: Option<NewToken>,
    hours: i64,
}

async fn enrolment_page(
    state: &AppState,
    page: &Page,
    form: TokenForm,
    errors: FieldErrors,
    new_token: Option<NewToken>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let t = page.t;
    let tokens = state.app.enrolment_tokens(principal).await?;
    let now = state.app.now();
    render(&EnrolmentPage {
        chrome: page.chrome("enrolment.title"),
        tokens: tokens.iter().map(|k| token_row(t, k, now)).collect(),
        kinds: DeviceKind::ALL
            .iter()
            .map(|k| (k.key().to_owned(), kind_label(t, *k).to_owned()))
            .collect(),
        form,
        errors,
        new_token,
        hours: state.app.settings().enrolment_token_hours,
    })
}

/// The enrolment tokens, with the form for a new one.
#[utoipa::path(get, path = "/devices/enrolment-tokens", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn enrolment_tokens(
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, PageError> {
    let form = TokenForm {
        kind: DeviceKind::SealBox.key().to_owned(),
        note: String::new(),
    };
    enrolment_page(&state, &page, form, FieldErrors::default(), None).await
}

/// Makes a one-time enrolment token and shows its secret once.
#[utoipa::path(post, path = "/devices/enrolment-tokens", tag = "web", responses((status = 200, description = "The secret, or the form again with errors")))]
pub async fn create_enrolment_token(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    match state
        .app
        .create_enrolment_token(principal, &form.kind, &form.note, &context)
        .await
    {
        Ok(created) => {
            let new_token = NewToken {
                secret: created.secret,
                kind: kind_label(page.t, created.record.kind),
                expires: local_time(created.record.expires_at),
            };
            let form = TokenForm {
                kind: created.record.kind.key().to_owned(),
                note: String::new(),
            };
            enrolment_page(&state, &page, form, FieldErrors::default(), Some(new_token)).await
        }
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            enrolment_page(&state, &page, form, errors, None).await
        }
    }
}

// ----- one device ----------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone, utoipa::ToSchema)]
pub struct BindingForm {
    /// A seal id, or empty to unbind.
    #[serde(default)]
    seal_id: String,
    /// The keeper's or applicant's phone identity, or empty.
    #[serde(default)]
    terminal: String,
}

#[derive(Deserialize, Default, Clone, utoipa::ToSchema)]
pub struct GeofenceForm {
    /// Latitude in degrees; all three empty removes the geofence.
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    /// Radius in metres.
    #[serde(default)]
    radius_m: String,
}

#[derive(Deserialize, Default, Clone, utoipa::ToSchema)]
pub struct ParametersForm {
    #[serde(default)]
    heartbeat_seconds: String,
    #[serde(default)]
    press_max_ms: String,
    #[serde(default)]
    low_battery_pct: String,
}

/// What a device reported last, as people read it.
pub struct TelemetryView {
    pub online: bool,
    pub last_seen: String,
    pub battery: String,
    pub position: String,
    pub on_base: &'static str,
    pub tamper: &'static str,
    pub tamper_set: bool,
    pub locked: &'static str,
    pub buffered: String,
}

fn telemetry_view(t: Tr, d: &DeviceRecord) -> TelemetryView {
    let tm = &d.telemetry;
    let flag = |value: Option<bool>, yes: &str, no: &str| match value {
        Some(true) => t.get(yes),
        Some(false) => t.get(no),
        None => "—",
    };
    TelemetryView {
        online: tm.online,
        last_seen: tm.last_seen_at.map_or_else(|| "—".to_owned(), local_time),
        battery: tm
            .battery_pct
            .map_or_else(|| "—".to_owned(), |b| format!("{b}%")),
        position: match &tm.fix {
            Some(fix) => format!(
                "{} (±{}\u{a0}m)",
                coarse_position(Some(fix)),
                fix.accuracy_m
            ),
            None => "—".to_owned(),
        },
        on_base: flag(tm.on_base, "devices.on_base_yes", "devices.on_base_no"),
        tamper: flag(tm.tamper, "devices.tamper_yes", "devices.tamper_no"),
        tamper_set: tm.tamper == Some(true),
        locked: flag(tm.locked, "devices.locked_yes", "devices.locked_no"),
        buffered: tm
            .buffered_events
            .map_or_else(|| "—".to_owned(), |n| n.to_string()),
    }
}

/// Typed values and errors of the device page's forms, after a refused post.
#[derive(Default)]
struct Typed {
    binding: Option<BindingForm>,
    geofence: Option<GeofenceForm>,
    parameters: Option<ParametersForm>,
    binding_errors: FieldErrors,
    geofence_errors: FieldErrors,
    parameters_errors: FieldErrors,
    action_errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "device_detail.html")]
struct DeviceDetailPage {
    chrome: Chrome,
    id: String,
    row: DeviceRow,
    mac: String,
    firmware: String,
    public_key: String,
    enrolled: String,
    status_changed: String,
    status_changed_by: String,
    terminal: String,
    geofence_text: String,
    parameters_text: String,
    holds_seal: bool,
    telemetry: TelemetryView,
    can_approve: bool,
    can_revoke: bool,
    can_change: bool,
    seals: Vec<Choice>,
    binding: BindingForm,
    geofence: GeofenceForm,
    parameters: ParametersForm,
    binding_errors: FieldErrors,
    geofence_errors: FieldErrors,
    parameters_errors: FieldErrors,
    action_errors: FieldErrors,
    stamps: Vec<StampRow>,
    commands: Vec<CommandRow>,
    unlocks: Vec<UnlockRow>,
    alarms: Vec<AlarmRow>,
}

async fn device_page(
    state: &AppState,
    page: &Page,
    id: DeviceId,
    typed: Typed,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let t = page.t;
    let view = state.app.device_view(principal, id).await?;
    let d = &view.device;
    let mut seals = seal_names(state, principal).await;
    // A reader without `seals.read` still sees the bound seal's name.
    if let (Some(seal), Some(name)) = (d.seal, &view.seal_name) {
        seals.entry(seal).or_insert_with(|| name.clone());
    }
    let serials = HashMap::from([(d.id, d.serial.to_string())]);
    let stamp_ids: Vec<_> = view.stamps.iter().map(|s| s.id).collect();
    let statuses = state.app.stamp_statuses(principal, &stamp_ids).await?;
    let mut labels: Vec<&str> = view
        .commands
        .iter()
        .map(|c| c.created_by.as_str())
        .collect();
    if let Some(by) = &d.status_changed_by {
        labels.push(by);
    }
    let names = actor_names(state, principal, labels).await;
    let mut seal_choices: Vec<Choice> = seals
        .iter()
        .map(|(id, name)| (id.to_string(), name.clone()))
        .collect();
    seal_choices.sort_by(|a, b| a.1.cmp(&b.1));
    let p = d.parameters;
    let can_manage = principal.permissions.contains(Permission::DevicesManage);
    render(&DeviceDetailPage {
        chrome: page.chrome("devices.detail"),
        id: id.to_string(),
        row: device_row(t, d, &seals),
        mac: d.mac.to_string(),
        firmware: d.firmware.as_str().to_owned(),
        public_key: key_excerpt(&d.public_key),
        enrolled: local_time(d.enrolled_at),
        status_changed: local_time(d.status_changed_at),
        status_changed_by: d
            .status_changed_by
            .as_deref()
            .map_or_else(|| "—".to_owned(), |by| actor_name(t, by, &names)),
        terminal: d
            .terminal
            .as_ref()
            .map_or_else(|| "—".to_owned(), |x| x.as_str().to_owned()),
        geofence_text: match d.geofence {
            Some(g) => format!(
                "{:.5}, {:.5} · {}\u{a0}m",
                g.home().lat(),
                g.home().lon(),
                g.radius_m()
            ),
            None => t.get("devices.no_geofence").to_owned(),
        },
        parameters_text: format!(
            "{} {} s · {} {} ms · {} {}%",
            t.get("devices.heartbeat_seconds"),
            p.heartbeat_seconds(),
            t.get("devices.press_max_ms"),
            p.press_max_ms(),
            t.get("devices.low_battery_pct"),
            p.low_battery_pct()
        ),
        holds_seal: d.kind.holds_seal(),
        telemetry: telemetry_view(t, d),
        can_approve: can_manage && d.status == DeviceStatus::Pending,
        can_revoke: can_manage && d.status != DeviceStatus::Revoked,
        can_change: can_manage && d.status != DeviceStatus::Revoked,
        seals: seal_choices,
        binding: typed.binding.unwrap_or_else(|| BindingForm {
            seal_id: d.seal.map(|s| s.to_string()).unwrap_or_default(),
            terminal: d
                .terminal
                .as_ref()
                .map(|x| x.as_str().to_owned())
                .unwrap_or_default(),
        }),
        geofence: typed.geofence.unwrap_or_else(|| match d.geofence {
            Some(g) => GeofenceForm {
                lat: g.home().lat().to_string(),
                lon: g.home().lon().to_string(),
                radius_m: g.radius_m().to_string(),
            },
            None => GeofenceForm::default(),
        }),
        parameters: typed.parameters.unwrap_or_else(|| ParametersForm {
            heartbeat_seconds: p.heartbeat_seconds().to_string(),
            press_max_ms: p.press_max_ms().to_string(),
            low_battery_pct: p.low_battery_pct().to_string(),
        }),
        binding_errors: typed.binding_errors,
        geofence_errors: typed.geofence_errors,
        parameters_errors: typed.parameters_errors,
        action_errors: typed.action_errors,
        stamps: view
            .stamps
            .iter()
            .map(|s| stamp_row(t, s, &serials, &statuses))
            .collect(),
        commands: view
            .commands
            .iter()
            .map(|c| command_row(t, c, &names))
            .collect(),
        unlocks: view.unlocks.iter().map(|u| unlock_row(t, u)).collect(),
        alarms: view
            .alarms
            .iter()
            .map(|a| alarm_row(t, a, &serials))
            .collect(),
    })
}

/// The first 16 characters of the device's public key, enough to compare by eye.
fn key_excerpt(public_key: &str) -> String {
    public_key.chars().take(16).collect::<String>() + "…"
}

/// A device: telemetry, binding, geofence, parameters, actions, and its recent history.
#[utoipa::path(get, path = "/devices/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn device(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.require()?;
    let id = parse_id(&id, DeviceId::parse)?;
    device_page(&state, &page, id, Typed::default()).await
}

/// After a device action: back to the device with a flash, or its page with the error.
async fn after_action(
    state: &AppState,
    page: &Page,
    id: DeviceId,
    result: Result<(), seal_app::AppError>,
    flash: &'static str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(redirect_with_flash(&format!("/devices/{id}"), flash, true)),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            let typed = Typed {
                action_errors: errors,
                ..Typed::default()
            };
            device_page(state, page, id, typed).await
        }
    }
}

/// Approves (allow-lists) a pending device.
#[utoipa::path(post, path = "/devices/{id}/approve", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Approved")))]
pub async fn approve_device(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, DeviceId::parse)?;
    let result = state
        .app
        .change_device_status(principal, id, DeviceStatus::Active, &context)
        .await
        .map(|_| ());
    after_action(&state, &page, id, result, "flash.device_approved").await
}

/// Refuses a pending device or revokes an active one; its next request is refused.
#[utoipa::path(post, path = "/devices/{id}/revoke", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Revoked")))]
pub async fn revoke_device(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, DeviceId::parse)?;
    let result = state
        .app
        .change_device_status(principal, id, DeviceStatus::Revoked, &context)
        .await
        .map(|_| ());
    after_action(&state, &page, id, result, "flash.device_revoked").await
}

/// Sends "lock now" to the device.
#[utoipa::path(post, path = "/devices/{id}/lock", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Command queued")))]
pub async fn lock_device(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, DeviceId::parse)?;
    let result = state
        .app
        .send_device_command(principal, id, "lock", None, &context)
        .await
        .map(|_| ());
    after_action(&state, &page, id, result, "flash.device_lock_sent").await
}

/// Applies binding, geofence or parameter changes; a refusal shows the page again with
/// the error beside the form it came from.
async fn change(
    state: &AppState,
    page: &Page,
    context: &seal_app::RequestContext,
    id: DeviceId,
    changes: DeviceChanges,
    flash: &'static str,
    refused: impl FnOnce(FieldErrors) -> Typed,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    match state
        .app
        .change_device(principal, id, &changes, context)
        .await
    {
        Ok(_) => Ok(redirect_with_flash(&format!("/devices/{id}"), flash, true)),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            device_page(state, page, id, refused(errors)).await
        }
    }
}

/// Binds the device to a seal (or none) and a terminal (or none).
#[utoipa::path(post, path = "/devices/{id}/binding", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Saved"), (status = 200, description = "The page again, with errors")))]
pub async fn bind_device(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<BindingForm>,
) -> Result<Response, PageError> {
    page.require()?;
    let id = parse_id(&id, DeviceId::parse)?;
    let seal = match form.seal_id.trim() {
        "" => None,
        text => match SealId::parse(text) {
            Ok(seal) => Some(seal),
            Err(_) => {
                let mut errors = FieldErrors::default();
                errors.insert("seal_id", page.t.get("devices.unknown_seal").to_owned());
                let typed = Typed {
                    binding: Some(form),
                    binding_errors: errors,
                    ..Typed::default()
                };
                return device_page(&state, &page, id, typed).await;
            }
        },
    };
    let changes = DeviceChanges {
        seal: Some(seal),
        terminal: Some(Some(form.terminal.clone())),
        ..DeviceChanges::default()
    };
    change(
        &state,
        &page,
        &context,
        id,
        changes,
        "flash.device_bound",
        |mut errors| {
            errors.promote("seal_id");
            Typed {
                binding: Some(form),
                binding_errors: errors,
                ..Typed::default()
            }
        },
    )
    .await
}

/// A number typed into a field, or that field's error.
fn number<T: std::str::FromStr>(
    t: Tr,
    errors: &mut FieldErrors,
    field: &str,
    text: &str,
) -> Option<T> {
    match text.trim().parse() {
        Ok(value) => Some(value),
        Err(_) => {
            errors.insert(field, t.get("devices.bad_number").to_owned());
            None
        }
    }
}

/// Sets the geofence (home position and radius), or removes it when all three are empty.
#[utoipa::path(post, path = "/devices/{id}/geofence", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Saved"), (status = 200, description = "The page again, with errors")))]
pub async fn set_geofence(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<GeofenceForm>,
) -> Result<Response, PageError> {
    page.require()?;
    let id = parse_id(&id, DeviceId::parse)?;
    let t = page.t;
    let all_empty = [&form.lat, &form.lon, &form.radius_m]
        .iter()
        .all(|v| v.trim().is_empty());
    let geofence = if all_empty {
        None
    } else {
        let mut errors = FieldErrors::default();
        let lat = number::<f64>(t, &mut errors, "lat", &form.lat);
        let lon = number::<f64>(t, &mut errors, "lon", &form.lon);
        let radius = number::<u32>(t, &mut errors, "radius_m", &form.radius_m);
        match (lat, lon, radius) {
            (Some(lat), Some(lon), Some(radius)) => Some((lat, lon, radius)),
            _ => {
                let typed = Typed {
                    geofence: Some(form),
                    geofence_errors: errors,
                    ..Typed::default()
                };
                return device_page(&state, &page, id, typed).await;
            }
        }
    };
    let flash = if geofence.is_some() {
        "flash.geofence_saved"
    } else {
        "flash.geofence_removed"
    };
    let changes = DeviceChanges {
        geofence: Some(geofence),
        ..DeviceChanges::default()
    };
    change(&state, &page, &context, id, changes, flash, |mut errors| {
        errors.promote("geofence");
        Typed {
            geofence: Some(form),
            geofence_errors: errors,
            ..Typed::default()
        }
    })
    .await
}

/// Sets the device's parameters; the device receives them as an `update_parameters`
/// command.
#[utoipa::path(post, path = "/devices/{id}/parameters", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Saved and sent"), (status = 200, description = "The page again, with errors")))]
pub async fn set_parameters(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<ParametersForm>,
) -> Result<Response, PageError> {
    page.require()?;
    let id = parse_id(&id, DeviceId::parse)?;
    let t = page.t;
    let mut errors = FieldErrors::default();
    let heartbeat = number::<u32>(t, &mut errors, "heartbeat_seconds", &form.heartbeat_seconds);
    let press = number::<u32>(t, &mut errors, "press_max_ms", &form.press_max_ms);
    let battery = number::<u8>(t, &mut errors, "low_battery_pct", &form.low_battery_pct);
    let (Some(heartbeat), Some(press), Some(battery)) = (heartbeat, press, battery) else {
        let typed = Typed {
            parameters: Some(form),
            parameters_errors: errors,
            ..Typed::default()
        };
        return device_page(&state, &page, id, typed).await;
    };
    let changes = DeviceChanges {
        parameters: Some((heartbeat, press, battery)),
        ..DeviceChanges::default()
    };
    change(
        &state,
        &page,
        &context,
        id,
        changes,
        "flash.device_parameters_saved",
        |mut errors| {
            errors.promote("parameters");
            Typed {
                parameters: Some(form),
                parameters_errors: errors,
                ..Typed::default()
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::catalog;
    use seal_core::alarm::AlarmKind;
    use seal_core::device::CommandKind;

    /// Every key these pages build from a domain value or write literally (in this
    /// module, the alarm module, and the device, alarm and enrolment templates) is in
    /// both catalogs.
    #[test]
    fn every_device_page_key_is_in_both_catalogs() {
        let zh = catalog::parse(catalog::ZH_SOURCE);
        let en = catalog::parse(catalog::EN_SOURCE);
        let mut keys: Vec<String> = Vec::new();
        keys.extend(
            DeviceKind::ALL
                .iter()
                .map(|k| format!("device_kind.{}", k.key())),
        );
        keys.extend(
            DeviceStatus::ALL
                .iter()
                .map(|k| format!("device_status.{}", k.key())),
        );
        keys.extend(
            AlarmKind::ALL
                .iter()
                .map(|k| format!("alarm_kind.{}", k.key())),
        );
        keys.extend(
            Severity::ALL
                .iter()
                .map(|k| format!("severity.{}", k.key())),
        );
        keys.extend(
            AlarmStatus::ALL
                .iter()
                .map(|k| format!("alarm_status.{}", k.key())),
        );
        keys.extend(
            CommandKind::ALL
                .iter()
                .map(|k| format!("command_kind.{}", k.key())),
        );
        keys.extend(
            CommandStatus::ALL
                .iter()
                .map(|k| format!("command_status.{}", k.key())),
        );
        keys.extend(
            UnlockRefusal::ALL
                .iter()
                .map(|k| format!("unlock_outcome.{}", k.key())),
        );
        for key in ["granted", "printed", "other"] {
            keys.push(format!("unlock_outcome.{key}"));
        }
        for filter in crate::web::alarms::FILTERS {
            keys.push(format!("alarms.filter_{filter}"));
        }
        for factor in ["fingerprint", "face", "pin", "id_code"] {
            keys.push(format!("factor.{factor}"));
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        for entry in std::fs::read_dir(root.join("templates")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let ours = ["device", "alarm", "enrolment", "application_detail"]
                .iter()
                .any(|prefix| name.starts_with(prefix));
            if ours {
                sources.push(std::fs::read_to_string(&path).unwrap());
            }
        }
        for file in ["src/web/devices.rs", "src/web/alarms.rs"] {
            sources.push(std::fs::read_to_string(root.join(file)).unwrap());
        }
        let areas = [
            "devices",
            "alarms",
            "enrolment",
            "stamps",
            "stamp_record",
            "unlock_outcome",
            "nav",
            "flash",
            "field",
            "action",
            "filter",
            "pagination",
        ];
        for source in &sources {
            for piece in source.split('"').skip(1).step_by(2) {
                let area = piece.split('.').next().unwrap_or_default();
                let looks_like_key = piece.contains('.')
                    && areas.contains(&area)
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                    && !piece.ends_with(".html")
                    && !piece.ends_with(".rs");
                if looks_like_key {
                    keys.push(piece.to_owned());
                }
            }
        }
        assert!(keys.len() > 80, "found only {} keys", keys.len());
        let missing: Vec<_> = keys
            .iter()
            .filter(|k| !zh.contains_key(*k) || !en.contains_key(*k))
            .collect();
        assert!(
            missing.is_empty(),
            "keys missing from a catalog: {missing:?}"
        );
    }

    #[test]
    fn actor_texts_read_as_names() {
        let t = Tr(crate::i18n::Lang::Zh);
        let id = PersonId::parse("0196f3a0-0000-7000-8000-000000000001").unwrap();
        let names = HashMap::from([(id, "王管理".to_owned())]);
        assert_eq!(actor_name(t, &format!("person:{id}"), &names), "王管理");
        assert_eq!(
            actor_name(t, "system", &names),
            t.get("devices.actor_system")
        );
        assert_eq!(actor_name(t, "anonymous", &names), "anonymous");
    }
}
