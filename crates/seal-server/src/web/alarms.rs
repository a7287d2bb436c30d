//! The console's alarm pages: the alarms by status (standing, open, acknowledged,
//! resolved, all) and device, newest first, with severity, kind and device; and one
//! alarm with its occurrences, who acknowledged and resolved it with their notes, and the
//! acknowledge and resolve forms. The routes are registered by [`super::devices::routes`].

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum_extra::extract::Form;
use seal_app::alarms::AlarmQuery;
use seal_app::directory::Page as ListPage;
use seal_core::alarm::{AlarmAction, AlarmStatus};
use seal_core::ids::{AlarmId, DeviceId};
use seal_core::permission::Permission;
use serde::Deserialize;

use crate::AppState;
use crate::extract::Context;
use crate::web::devices::{
    AlarmRow, actor_name, actor_names, alarm_row, device_serials, seal_names,
};
use crate::web::seals::local_time;
use crate::web::{Chrome, FieldErrors, Page, PageError, redirect_with_flash, render};

/// Alarms per page.
const PAGE_SIZE: i64 = 50;

fn parse_id<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>) -> Result<T, PageError> {
    parse(text).map_err(|_| PageError::NotFound)
}

/// The status filter's choices: `standing` (open or acknowledged, the default) first.
pub const FILTERS: [&str; 5] = ["standing", "open", "acknowledged", "resolved", "all"];

fn statuses_of(filter: &str) -> Vec<AlarmStatus> {
    match filter {
        "all" => Vec::new(),
        "standing" => vec![AlarmStatus::Open, AlarmStatus::Acknowledged],
        other => AlarmStatus::parse(other).into_iter().collect(),
    }
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct AlarmFilterForm {
    /// `standing` (default), `open`, `acknowledged`, `resolved` or `all`.
    #[serde(default)]
    status: String,
    /// Only this device's alarms.
    #[serde(default)]
    device_id: String,
    page: Option<i64>,
}

pub struct FilterChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "alarms.html")]
struct AlarmsPage {
    chrome: Chrome,
    rows: Vec<AlarmRow>,
    filters: Vec<FilterChoice>,
    device_id: String,
    device: String,
    page_number: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// The organisation's alarms, newest first, by status and device.
#[utoipa::path(get, path = "/alarms", tag = "web", params(AlarmFilterForm), responses((status = 200, description = "HTML page")))]
pub async fn alarms(
    State(state): State<AppState>,
    page: Page,
    Query(form): Query<AlarmFilterForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let t = page.t;
    let filter = FILTERS
        .iter()
        .copied()
        .find(|f| *f == form.status.trim())
        .unwrap_or("standing");
    let device = DeviceId::parse(&form.device_id).ok();
    let list_page = ListPage::new(form.page, Some(PAGE_SIZE));
    let query = AlarmQuery {
        statuses: statuses_of(filter),
        device,
        page: list_page,
    };
    let items = state.app.alarms(principal, &query).await?;
    let serials = device_serials(&state, principal).await;
    let device_id = device.map(|d| d.to_string()).unwrap_or_default();
    let href = |number: i64| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("status", filter);
        if !device_id.is_empty() {
            query.append_pair("device_id", &device_id);
        }
        query.append_pair("page", &number.to_string());
        format!("/alarms?{}", query.finish())
    };
    let full = i64::try_from(items.len()).unwrap_or(i64::MAX) >= list_page.size;
    render(&AlarmsPage {
        chrome: page.chrome("alarms.title"),
        rows: items.iter().map(|a| alarm_row(t, a, &serials)).collect(),
        filters: FILTERS
            .iter()
            .map(|key| FilterChoice {
                key,
                label: t.get(&format!("alarms.filter_{key}")),
                selected: *key == filter,
            })
            .collect(),
        device: device
            .map(|d| crate::web::devices::device_label(d, &serials))
            .unwrap_or_default(),
        page_number: list_page.number,
        prev_href: (list_page.number > 1).then(|| href(list_page.number - 1)),
        next_href: full.then(|| href(list_page.number + 1)),
        device_id,
    })
}

/// Who did a step of an alarm's handling, when, and their note.
pub struct StepView {
    pub at: String,
    pub by: String,
    pub note: String,
}

#[derive(Default)]
struct Typed {
    acknowledge_note: String,
    resolve_note: String,
    acknowledge_errors: FieldErrors,
    resolve_errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "alarm_detail.html")]
struct AlarmDetailPage {
    chrome: Chrome,
    row: AlarmRow,
    seal_id: Option<String>,
    seal: String,
    application_id: Option<String>,
    acknowledged: Option<StepView>,
    resolved: Option<StepView>,
    can_acknowledge: bool,
    can_resolve: bool,
    acknowledge_note: String,
    resolve_note: String,
    acknowledge_errors: FieldErrors,
    resolve_errors: FieldErrors,
}

async fn alarm_page(
    state: &AppState,
    page: &Page,
    id: AlarmId,
    typed: Typed,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let t = page.t;
    let alarm = state.app.alarm(principal, id).await?;
    let serials = device_serials(state, principal).await;
    let labels = [&alarm.acknowledged_by, &alarm.resolved_by]
        .into_iter()
        .filter_map(|by| by.as_deref());
    let names = actor_names(state, principal, labels).await;
    let step = |at: Option<seal_core::time::Timestamp>, by: &Option<String>, note: &str| {
        at.map(|at| StepView {
            at: local_time(at),
            by: by
                .as_deref()
                .map_or_else(|| "—".to_owned(), |by| actor_name(t, by, &names)),
            note: note.to_owned(),
        })
    };
    let seal = match alarm.seal {
        Some(seal) => seal_names(state, principal)
            .await
            .remove(&seal)
            .unwrap_or_else(|| t.get("alarms.seal_unnamed").to_owned()),
        None => String::new(),
    };
    let can_handle = principal.permissions.contains(Permission::AlarmsHandle);
    render(&AlarmDetailPage {
        chrome: page.chrome("alarms.detail"),
        row: alarm_row(t, &alarm, &serials),
        seal_id: alarm.seal.map(|s| s.to_string()),
        seal,
        application_id: alarm.application.map(|a| a.to_string()),
        acknowledged: step(
            alarm.acknowledged_at,
            &alarm.acknowledged_by,
            &alarm.acknowledge_note,
        ),
        resolved: step(alarm.resolved_at, &alarm.resolved_by, &alarm.resolve_note),
        can_acknowledge: can_handle && alarm.status.apply(AlarmAction::Acknowledge).is_ok(),
        can_resolve: can_handle && alarm.status.apply(AlarmAction::Resolve).is_ok(),
        acknowledge_note: typed.acknowledge_note,
        resolve_note: typed.resolve_note,
        acknowledge_errors: typed.acknowledge_errors,
        resolve_errors: typed.resolve_errors,
    })
}

/// One alarm: details, occurrences, who acknowledged and resolved it, and the forms.
#[utoipa::path(get, path = "/alarms/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn alarm(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.require()?;
    let id = parse_id(&id, AlarmId::parse)?;
    alarm_page(&state, &page, id, Typed::default()).await
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct NoteForm {
    #[serde(default)]
    note: String,
}

async fn act(
    state: &AppState,
    page: &Page,
    context: &seal_app::RequestContext,
    id: &str,
    action: AlarmAction,
    note: String,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(id, AlarmId::parse)?;
    let flash = match action {
        AlarmAction::Acknowledge => "flash.alarm_acknowledged",
        AlarmAction::Resolve => "flash.alarm_resolved",
    };
    match state
        .app
        .act_on_alarm(principal, id, action, &note, context)
        .await
    {
        Ok(_) => Ok(redirect_with_flash(&format!("/alarms/{id}"), flash, true)),
        Err(error) => {
            let mut errors = FieldErrors::from_app(error, &[])?;
            errors.promote("note");
            let typed = match action {
                AlarmAction::Acknowledge => Typed {
                    acknowledge_note: note,
                    acknowledge_errors: errors,
                    ..Typed::default()
                },
                AlarmAction::Resolve => Typed {
                    resolve_note: note,
                    resolve_errors: errors,
                    ..Typed::default()
                },
            };
            alarm_page(state, page, id, typed).await
        }
    }
}

/// Acknowledges an open alarm, with a note.
#[utoipa::path(post, path = "/alarms/{id}/acknowledge", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Acknowledged"), (status = 200, description = "The page again, with errors")))]
pub async fn acknowledge(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, PageError> {
    act(
        &state,
        &page,
        &context,
        &id,
        AlarmAction::Acknowledge,
        form.note,
    )
    .await
}

/// Resolves an open or acknowledged alarm, with a note.
#[utoipa::path(post, path = "/alarms/{id}/resolve", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Resolved"), (status = 200, description = "The page again, with errors")))]
pub async fn resolve(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Result<Response, PageError> {
    act(
        &state,
        &page,
        &context,
        &id,
        AlarmAction::Resolve,
        form.note,
    )
    .await
}
