//! Seal registry pages: the list with a register form, a seal's page (its generated
//! image, fields, edit form, status change with a reason, status history), the image
//! itself (SVG and PNG), and the approval flows (list, create, edit, delete).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use seal_app::flows::{FlowInput, StepInput};
use seal_app::policy::Principal;
use seal_app::seals::{ImageFormat, SealInput};
use seal_core::application::StampKind;
use seal_core::flow::{Approvers, Condition, Flow};
use seal_core::ids::{FlowId, PersonId, SealId};
use seal_core::permission::Permission;
use seal_core::person::PersonStatus;
use seal_core::seal::{SealKind, SealLevel, SealStatus, SealType};
use seal_core::time::Timestamp;
use seal_store::{PeopleFilter, SealRecord};
use serde::Deserialize;

use crate::AppState;
use crate::extract::Context;
use crate::web::directory::role_label;
use crate::web::{Chrome, FieldErrors, Page, PageError, Tr, redirect_with_flash, render};

/// How many step rows the flow editor shows (empty rows are ignored).
pub const STEP_ROWS: usize = 5;

/// Seconds east of UTC of the zone the console shows and reads times in (China, UTC+8).
pub const ZONE_OFFSET_SECONDS: i64 = 8 * 3600;

/// A time as `YYYY-MM-DD HH:MM` in China time (UTC+8).
pub fn local_time(at: Timestamp) -> String {
    let text = at.plus_seconds(ZONE_OFFSET_SECONDS).to_string();
    text.get(..16).unwrap_or(&text).replace('T', " ")
}

/// A time as a `datetime-local` input value (`YYYY-MM-DDTHH:MM`, China time).
pub fn local_input(at: Timestamp) -> String {
    let text = at.plus_seconds(ZONE_OFFSET_SECONDS).to_string();
    text.get(..16).unwrap_or(&text).to_owned()
}

/// Reads a `datetime-local` value (China time, no zone) as RFC 3339 UTC; anything else
/// is passed on unchanged, for the use case to refuse.
pub fn input_to_rfc3339(value: &str) -> String {
    let value = value.trim();
    let with_seconds = if value.len() == 16 {
        format!("{value}:00Z")
    } else {
        format!("{value}Z")
    };
    match Timestamp::parse_rfc3339(&with_seconds) {
        Ok(at) => at.plus_seconds(-ZONE_OFFSET_SECONDS).to_string(),
        Err(_) => value.to_owned(),
    }
}

fn parse_id<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>) -> Result<T, PageError> {
    parse(text).map_err(|_| PageError::NotFound)
}

/// A `(value, label)` option of a select.
pub type Choice = (String, String);

fn keyed<T: Copy>(t: Tr, prefix: &str, all: &[T], key: impl Fn(T) -> &'static str) -> Vec<Choice> {
    all.iter()
        .map(|v| {
            let k = key(*v);
            (k.to_owned(), t.get(&format!("{prefix}.{k}")).to_owned())
        })
        .collect()
}

/// The organisation's active people as options (empty without `people.read`).
pub async fn people_choices(state: &AppState, principal: &Principal) -> Vec<Choice> {
    let filter = PeopleFilter {
        status: Some(PersonStatus::Active),
        limit: 1000,
        ..PeopleFilter::default()
    };
    match state.app.list_people(principal, &filter).await {
        Ok((people, _)) => people
            .into_iter()
            .map(|p| (p.id.to_string(), p.name.as_str().to_owned()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Names of people, read for ids already shown to the caller by a use case.
pub async fn names_of(
    state: &AppState,
    principal: &Principal,
    ids: Vec<PersonId>,
) -> HashMap<PersonId, String> {
    let mut names = HashMap::new();
    names.insert(
        principal.person_id(),
        principal.person.name.as_str().to_owned(),
    );
    let Ok(mut tx) = state.app.store().read().await else {
        return names;
    };
    for id in ids {
        if names.contains_key(&id) {
            continue;
        }
        if let Ok(Some(person)) = tx.person(principal.org.id, id).await {
            names.insert(id, person.name.as_str().to_owned());
        }
    }
    names
}

// ----- seals ---------------------------------------------------------------------------------

pub struct SealRow {
    pub id: String,
    pub name: String,
    pub seal_type: String,
    pub kind: String,
    pub level: u8,
    pub keeper: String,
    pub status_key: &'static str,
    pub status: String,
}

fn status_badge(status: SealStatus) -> &'static str {
    match status {
        SealStatus::Active => "ok",
        SealStatus::Suspended | SealStatus::ReportedLost => "warn",
        SealStatus::Revoked | SealStatus::Destroyed => "off",
    }
}

fn seal_row(t: Tr, seal: &SealRecord, names: &HashMap<PersonId, String>) -> SealRow {
    SealRow {
        id: seal.id.to_string(),
        name: seal.name.as_str().to_owned(),
        seal_type: t
            .get(&format!("seal_type.{}", seal.seal_type.key()))
            .to_owned(),
        kind: t.get(&format!("seal_kind.{}", seal.kind.key())).to_owned(),
        level: seal.level.get(),
        keeper: seal
            .keeper
            .and_then(|k| names.get(&k).cloned())
            .unwrap_or_else(|| "—".to_owned()),
        status_key: status_badge(seal.status),
        status: t
            .get(&format!("seal_status.{}", seal.status.key()))
            .to_owned(),
    }
}

#[derive(Deserialize, utoipa::ToSchema, Default, Clone)]
pub struct SealForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    seal_type: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    keeper: String,
    #[serde(default)]
    filing_code: String,
    #[serde(default)]
    flow: String,
}

impl SealForm {
    fn input(&self) -> SealInput {
        SealInput {
            name: self.name.clone(),
            kind: self.kind.clone(),
            seal_type: self.seal_type.clone(),
            level: self.level.trim().parse().unwrap_or(0),
            keeper: self.keeper.clone(),
            filing_code: self.filing_code.clone(),
            flow: self.flow.clone(),
            ..SealInput::default()
        }
    }

    fn of(seal: &SealRecord) -> SealForm {
        SealForm {
            name: seal.name.as_str().to_owned(),
            kind: seal.kind.key().to_owned(),
            seal_type: seal.seal_type.key().to_owned(),
            level: seal.level.get().to_string(),
            keeper: seal.keeper.map(|k| k.to_string()).unwrap_or_default(),
            filing_code: seal
                .filing_code
                .as_ref()
                .map(|f| f.as_str().to_owned())
                .unwrap_or_default(),
            flow: seal.flow.map(|f| f.to_string()).unwrap_or_default(),
        }
    }
}

/// The select options of the seal form.
pub struct SealChoices {
    pub kinds: Vec<Choice>,
    pub types: Vec<Choice>,
    pub levels: Vec<Choice>,
    pub keepers: Vec<Choice>,
    pub flows: Vec<Choice>,
}

async fn seal_choices(state: &AppState, page: &Page, principal: &Principal) -> SealChoices {
    let t = page.t;
    let flows = state
        .app
        .flows(principal)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|f| (f.id.to_string(), f.name.as_str().to_owned()))
        .collect();
    SealChoices {
        kinds: keyed(t, "seal_kind", SealKind::ALL, SealKind::key),
        types: keyed(t, "seal_type", SealType::ALL, SealType::key),
        levels: SealLevel::ALL
            .iter()
            .map(|l| {
                (
                    l.get().to_string(),
                    t.get(&format!("seal_level.{}", l.get())).to_owned(),
                )
            })
            .collect(),
        keepers: people_choices(state, principal).await,
        flows,
    }
}

#[derive(Template)]
#[template(path = "seals.html")]
struct SealsPage {
    chrome: Chrome,
    rows: Vec<SealRow>,
    can_manage: bool,
    choices: SealChoices,
    errors: FieldErrors,
    form: SealForm,
}

async fn seals_page(
    state: &AppState,
    page: &Page,
    errors: FieldErrors,
    form: SealForm,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let seals = state.app.seals(principal).await?;
    let names = names_of(
        state,
        principal,
        seals.iter().filter_map(|s| s.keeper).collect(),
    )
    .await;
    render(&SealsPage {
        chrome: page.chrome("seals.title"),
        rows: seals.iter().map(|s| seal_row(page.t, s, &names)).collect(),
        can_manage: principal.permissions.contains(Permission::SealsManage),
        choices: seal_choices(state, page, principal).await,
        errors,
        form,
    })
}

/// The seal registry, with a form to register a seal.
#[utoipa::path(get, path = "/seals", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn seals(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let form = SealForm {
        level: "2".to_owned(),
        ..SealForm::default()
    };
    seals_page(&state, &page, FieldErrors::default(), form).await
}

/// Registers a seal.
#[utoipa::path(post, path = "/seals", tag = "web", responses((status = 303, description = "Registered"), (status = 200, description = "The page again, with errors")))]
pub async fn create_seal(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(form): Form<SealForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    match state
        .app
        .create_seal(principal, &form.input(), &context)
        .await
    {
        Ok(seal) => Ok(redirect_with_flash(
            &format!("/seals/{}", seal.id),
            "flash.seal_created",
            true,
        )),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            seals_page(&state, &page, errors, form).await
        }
    }
}

pub struct HistoryRow {
    pub at: String,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub actor: String,
}

#[derive(Template)]
#[template(path = "seal_detail.html")]
struct SealDetailPage {
    chrome: Chrome,
    id: String,
    row: SealRow,
    shape: String,
    filing_code: String,
    status_reason: String,
    is_final: bool,
    can_manage: bool,
    choices: SealChoices,
    statuses: Vec<Choice>,
    history: Vec<HistoryRow>,
    errors: FieldErrors,
    form: SealForm,
    status_errors: FieldErrors,
    status: String,
    reason: String,
}

struct StatusTyped {
    errors: FieldErrors,
    status: String,
    reason: String,
}

async fn seal_detail_page(
    state: &AppState,
    page: &Page,
    id: SealId,
    errors: FieldErrors,
    typed: Option<SealForm>,
    status_typed: Option<StatusTyped>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let t = page.t;
    let detail = state.app.seal(principal, id).await?;
    let seal = &detail.seal;
    let names = names_of(state, principal, seal.keeper.into_iter().collect()).await;
    let (w, h) = seal.shape.size_mm();
    let history = detail
        .history
        .iter()
        .rev()
        .map(|c| HistoryRow {
            at: local_time(c.at),
            from: c
                .from
                .map(|f| t.get(&format!("seal_status.{}", f.key())).to_owned())
                .unwrap_or_else(|| "—".to_owned()),
            to: t.get(&format!("seal_status.{}", c.to.key())).to_owned(),
            reason: c.reason.clone(),
            actor: c.actor.clone(),
        })
        .collect();
    let status_typed = status_typed.unwrap_or(StatusTyped {
        errors: FieldErrors::default(),
        status: String::new(),
        reason: String::new(),
    });
    render(&SealDetailPage {
        chrome: page.chrome("seals.detail"),
        id: id.to_string(),
        row: seal_row(t, seal, &names),
        shape: format!(
            "{} {w}×{h} mm",
            t.get(&format!("seal_shape.{}", seal.shape.key()))
        ),
        filing_code: seal
            .filing_code
            .as_ref()
            .map(|f| f.as_str().to_owned())
            .unwrap_or_else(|| "—".to_owned()),
        status_reason: seal.status_reason.clone(),
        is_final: seal.status.is_final(),
        can_manage: principal.permissions.contains(Permission::SealsManage),
        choices: seal_choices(state, page, principal).await,
        statuses: SealStatus::ALL
            .iter()
            .filter(|s| **s != seal.status)
            .map(|s| {
                (
                    s.key().to_owned(),
                    t.get(&format!("seal_status.{}", s.key())).to_owned(),
                )
            })
            .collect(),
        history,
        errors,
        form: typed.unwrap_or_else(|| SealForm::of(seal)),
        status_errors: status_typed.errors,
        status: status_typed.status,
        reason: status_typed.reason,
    })
}

/// A seal: image, fields, edit form, status change and history.
#[utoipa::path(get, path = "/seals/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn seal(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.require()?;
    let id = parse_id(&id, SealId::parse)?;
    seal_detail_page(&state, &page, id, FieldErrors::default(), None, None).await
}

/// Saves a seal's fields.
#[utoipa::path(post, path = "/seals/{id}", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Saved"), (status = 200, description = "The page again, with errors")))]
pub async fn update_seal(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<SealForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, SealId::parse)?;
    match state
        .app
        .update_seal(principal, id, &form.input(), &context)
        .await
    {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/seals/{id}"),
            "flash.saved",
            true,
        )),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            seal_detail_page(&state, &page, id, errors, Some(form), None).await
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
}

/// Changes a seal's status, with a reason.
#[utoipa::path(post, path = "/seals/{id}/status", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Changed"), (status = 200, description = "The page again, with errors")))]
pub async fn change_seal_status(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, SealId::parse)?;
    match state
        .app
        .change_seal_status(principal, id, &form.status, &form.reason, &context)
        .await
    {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/seals/{id}"),
            "flash.seal_status_changed",
            true,
        )),
        Err(error) => {
            let mut errors = FieldErrors::from_app(error, &[])?;
            errors.promote("status");
            let typed = StatusTyped {
                errors,
                status: form.status,
                reason: form.reason,
            };
            seal_detail_page(&state, &page, id, FieldErrors::default(), None, Some(typed)).await
        }
    }
}

fn image_response(bytes: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

/// The seal image (印章模型) as SVG.
#[utoipa::path(get, path = "/seals/{id}/image.svg", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "SVG image")))]
pub async fn seal_image_svg(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, SealId::parse)?;
    let bytes = state
        .app
        .seal_image(principal, id, ImageFormat::Svg)
        .await?;
    Ok(image_response(bytes, "image/svg+xml"))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DpiQuery {
    dpi: Option<u32>,
}

/// The seal image as PNG at `dpi` (default 300).
#[utoipa::path(get, path = "/seals/{id}/image.png", tag = "web", params(("id" = String, Path), DpiQuery), responses((status = 200, description = "PNG image")))]
pub async fn seal_image_png(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Query(query): Query<DpiQuery>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, SealId::parse)?;
    let dpi = query.dpi.unwrap_or(300);
    match state
        .app
        .seal_image(principal, id, ImageFormat::Png { dpi })
        .await
    {
        Ok(bytes) => Ok(image_response(bytes, "image/png")),
        Err(seal_app::AppError::Invalid { .. }) => Err(PageError::NotFound),
        Err(error) => Err(error.into()),
    }
}

// ----- flows ---------------------------------------------------------------------------------

pub struct FlowRow {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub steps: String,
}

#[derive(Template)]
#[template(path = "flows.html")]
struct FlowsPage {
    chrome: Chrome,
    rows: Vec<FlowRow>,
}

/// The organisation's approval flows.
#[utoipa::path(get, path = "/flows", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn flows(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let principal = page.require()?;
    if !principal.permissions.contains(Permission::SealsManage) {
        return Err(PageError::Forbidden);
    }
    let rows = state
        .app
        .flows(principal)
        .await?
        .into_iter()
        .map(|f| FlowRow {
            id: f.id.to_string(),
            name: f.name.as_str().to_owned(),
            is_default: f.is_default,
            steps: f
                .flow
                .steps()
                .iter()
                .map(|s| s.name.as_str().to_owned())
                .collect::<Vec<_>>()
                .join(" → "),
        })
        .collect();
    render(&FlowsPage {
        chrome: page.chrome("flows.title"),
        rows,
    })
}

/// One row of the step editor.
#[derive(Clone, Default)]
pub struct StepRow {
    pub index: usize,
    pub name: String,
    pub approvers: String,
    pub people: Vec<String>,
    pub role: String,
    pub rule: String,
    pub condition: String,
    pub value: String,
}

impl StepRow {
    pub fn has_person(&self, id: &str) -> bool {
        self.people.iter().any(|p| p == id)
    }
}

fn rows_of(flow: &Flow) -> Vec<StepRow> {
    flow.steps()
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let (people, role) = match &s.approvers {
                Approvers::People(people) => (
                    people.iter().map(|p| p.to_string()).collect(),
                    String::new(),
                ),
                Approvers::Role(role) => (Vec::new(), role.to_string()),
                _ => (Vec::new(), String::new()),
            };
            let (condition, value) = match s.condition {
                None => ("always".to_owned(), String::new()),
                Some(Condition::CountAbove(n)) => ("count_above".to_owned(), n.to_string()),
                Some(Condition::SealLevel1) => ("seal_level1".to_owned(), String::new()),
                Some(Condition::StampKindIs(kind)) => {
                    ("stamp_kind".to_owned(), kind.key().to_owned())
                }
            };
            StepRow {
                index,
                name: s.name.as_str().to_owned(),
                approvers: s.approvers.key().to_owned(),
                people,
                role,
                rule: s.rule.key().to_owned(),
                condition,
                value,
            }
        })
        .collect()
}

fn padded(mut rows: Vec<StepRow>) -> Vec<StepRow> {
    let shown = STEP_ROWS.max(rows.len() + 1).min(Flow::MAX_STEPS);
    while rows.len() < shown {
        rows.push(StepRow {
            index: rows.len(),
            approvers: "people".to_owned(),
            rule: "any".to_owned(),
            condition: "always".to_owned(),
            ..StepRow::default()
        });
    }
    rows
}

/// The flow form, read from its `(name, value)` pairs (`s{i}_{field}` per step row).
struct FlowTyped {
    name: String,
    is_default: bool,
    rows: Vec<StepRow>,
}

fn read_flow_form(pairs: &[(String, String)]) -> FlowTyped {
    let mut typed = FlowTyped {
        name: String::new(),
        is_default: false,
        rows: (0..Flow::MAX_STEPS)
            .map(|index| StepRow {
                index,
                ..StepRow::default()
            })
            .collect(),
    };
    for (key, value) in pairs {
        match key.as_str() {
            "name" => typed.name = value.clone(),
            "is_default" => typed.is_default = true,
            _ => {
                let Some((index, field)) = key
                    .strip_prefix('s')
                    .and_then(|rest| rest.split_once('_'))
                    .and_then(|(i, f)| i.parse::<usize>().ok().map(|i| (i, f)))
                else {
                    continue;
                };
                let Some(row) = typed.rows.get_mut(index) else {
                    continue;
                };
                match field {
                    "name" => row.name = value.clone(),
                    "approvers" => row.approvers = value.clone(),
                    "people" => row.people.push(value.clone()),
                    "role" => row.role = value.clone(),
                    "rule" => row.rule = value.clone(),
                    "condition" => row.condition = value.clone(),
                    "value" => row.value = value.clone(),
                    _ => {}
                }
            }
        }
    }
    let filled: Vec<StepRow> = typed
        .rows
        .into_iter()
        .filter(|r| !r.name.trim().is_empty())
        .enumerate()
        .map(|(index, row)| StepRow { index, ..row })
        .collect();
    typed.rows = filled;
    typed
}

impl FlowTyped {
    fn input(&self) -> FlowInput {
        FlowInput {
            name: self.name.clone(),
            is_default: self.is_default,
            steps: self
                .rows
                .iter()
                .map(|r| StepInput {
                    name: r.name.clone(),
                    approvers: r.approvers.clone(),
                    people: r.people.clone(),
                    role: r.role.clone(),
                    rule: r.rule.clone(),
                    condition: r.condition.clone(),
                    condition_value: r.value.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "flow_edit.html")]
struct FlowEditPage {
    chrome: Chrome,
    id: Option<String>,
    name: String,
    is_default: bool,
    rows: Vec<StepRow>,
    people: Vec<Choice>,
    roles: Vec<Choice>,
    approver_kinds: Vec<Choice>,
    rules: Vec<Choice>,
    conditions: Vec<Choice>,
    stamp_kinds: Vec<Choice>,
    errors: FieldErrors,
}

async fn flow_edit_page(
    state: &AppState,
    page: &Page,
    id: Option<FlowId>,
    typed: Option<FlowTyped>,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    if !principal.permissions.contains(Permission::SealsManage) {
        return Err(PageError::Forbidden);
    }
    let t = page.t;
    let typed = match (typed, id) {
        (Some(typed), _) => typed,
        (None, Some(id)) => {
            let record = state.app.flow(principal, id).await?;
            FlowTyped {
                name: record.name.as_str().to_owned(),
                is_default: record.is_default,
                rows: rows_of(&record.flow),
            }
        }
        (None, None) => FlowTyped {
            name: String::new(),
            is_default: false,
            rows: Vec::new(),
        },
    };
    let roles = state
        .app
        .list_roles(principal)
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| (r.id.to_string(), role_label(t, r)))
        .collect();
    let pair = |k: &str| (k.to_owned(), t.get(&format!("flow.{k}")).to_owned());
    render(&FlowEditPage {
        chrome: page.chrome(if id.is_some() {
            "flows.edit"
        } else {
            "flows.new"
        }),
        id: id.map(|i| i.to_string()),
        name: typed.name,
        is_default: typed.is_default,
        rows: padded(typed.rows),
        people: people_choices(state, principal).await,
        roles,
        approver_kinds: ["people", "role", "department_head", "seal_keeper"]
            .iter()
            .map(|k| pair(&format!("approvers_{k}")))
            .map(|(k, v)| (k.trim_start_matches("approvers_").to_owned(), v))
            .collect(),
        rules: ["rule_any", "rule_all"]
            .iter()
            .map(|k| pair(k))
            .map(|(k, v)| (k.trim_start_matches("rule_").to_owned(), v))
            .collect(),
        conditions: ["always", "count_above", "seal_level1", "stamp_kind"]
            .iter()
            .map(|k| pair(&format!("condition_{k}")))
            .map(|(k, v)| (k.trim_start_matches("condition_").to_owned(), v))
            .collect(),
        stamp_kinds: keyed(t, "stamp_kind", StampKind::ALL, StampKind::key),
        errors,
    })
}

/// The form for a new flow.
#[utoipa::path(get, path = "/flows/new", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn new_flow(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    flow_edit_page(&state, &page, None, None, FieldErrors::default()).await
}

/// Creates a flow.
#[utoipa::path(post, path = "/flows", tag = "web", responses((status = 303, description = "Created"), (status = 200, description = "The form again, with errors")))]
pub async fn create_flow(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let typed = read_flow_form(&pairs);
    match state
        .app
        .create_flow(principal, &typed.input(), &context)
        .await
    {
        Ok(_) => Ok(redirect_with_flash("/flows", "flash.flow_saved", true)),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            flow_edit_page(&state, &page, None, Some(typed), errors).await
        }
    }
}

/// The editor of one flow.
#[utoipa::path(get, path = "/flows/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn edit_flow(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.require()?;
    let id = parse_id(&id, FlowId::parse)?;
    flow_edit_page(&state, &page, Some(id), None, FieldErrors::default()).await
}

/// Saves a flow.
#[utoipa::path(post, path = "/flows/{id}", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Saved"), (status = 200, description = "The form again, with errors")))]
pub async fn update_flow(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, FlowId::parse)?;
    let typed = read_flow_form(&pairs);
    match state
        .app
        .update_flow(principal, id, &typed.input(), &context)
        .await
    {
        Ok(_) => Ok(redirect_with_flash("/flows", "flash.flow_saved", true)),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            flow_edit_page(&state, &page, Some(id), Some(typed), errors).await
        }
    }
}

/// Deletes a flow no seal uses.
#[utoipa::path(post, path = "/flows/{id}/delete", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Deleted"), (status = 200, description = "The form again, with the reason")))]
pub async fn delete_flow(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, FlowId::parse)?;
    match state.app.delete_flow(principal, id, &context).await {
        Ok(()) => Ok(redirect_with_flash("/flows", "flash.flow_deleted", true)),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            flow_edit_page(&state, &page, Some(id), None, errors).await
        }
    }
}
