//! Webhook pages: endpoints and filing targets (list, create with the secret shown once,
//! edit, rotate the secret, send a test event, delete), and deliveries (filtered by
//! status and endpoint, paginated) with their attempts and a replay button.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum_extra::extract::Form;
use seal_app::directory::Page as ListPage;
use seal_app::webhooks::{DeliveryQuery, WebhookChanges, WebhookInput, WebhookWithSecret};
use seal_core::ids::{WebhookDeliveryId, WebhookId};
use seal_core::permission::Permission;
use seal_core::webhook::{EventKind, FilingTarget};
use seal_store::{DeliveryStatus, WebhookDeliveryRecord, WebhookEndpointRecord};
use serde::Deserialize;

use crate::AppState;
use crate::extract::Context;
use crate::web::admin::short_time;
use crate::web::{Chrome, FieldErrors, Page, PageError, Pager, Tr, redirect_with_flash, render};

/// An event kind as people read it.
pub fn kind_label(t: Tr, kind: EventKind) -> &'static str {
    t.get(&format!("event.{}", kind.key()))
}

/// A filing target as people read it.
pub fn filing_label(t: Tr, target: FilingTarget) -> &'static str {
    t.get(&format!("filing.{}", target.key()))
}

/// A delivery status as people read it.
pub fn status_label(t: Tr, status: DeliveryStatus) -> &'static str {
    t.get(&format!("delivery_status.{}", status.key()))
}

fn status_class(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Delivered => "ok",
        DeliveryStatus::Failed => "warn",
        DeliveryStatus::Pending => "",
        DeliveryStatus::GivenUp => "off",
    }
}

fn parse_id<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>) -> Result<T, PageError> {
    parse(text).map_err(|_| PageError::NotFound)
}

fn require_manager(page: &Page) -> Result<(), PageError> {
    let principal = page.require()?;
    if principal.permissions.contains(Permission::WebhooksManage) {
        Ok(())
    } else {
        Err(PageError::Forbidden)
    }
}

/// A checkbox of an event kind.
pub struct KindChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// An option of the filing-target select.
pub struct FilingChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// What the endpoint form shows: typed values, or the endpoint's.
pub struct EndpointFields {
    pub url: String,
    pub kinds: Vec<KindChoice>,
    pub filing: Vec<FilingChoice>,
    pub enabled: bool,
}

impl EndpointFields {
    fn new(t: Tr, url: String, kinds: &[String], filing: &str, enabled: bool) -> EndpointFields {
        EndpointFields {
            url,
            kinds: EventKind::ALL
                .into_iter()
                .map(|k| KindChoice {
                    key: k.key(),
                    label: kind_label(t, k),
                    checked: kinds.iter().any(|c| c == k.key()),
                })
                .collect(),
            filing: FilingTarget::ALL
                .into_iter()
                .map(|f| FilingChoice {
                    key: f.key(),
                    label: filing_label(t, f),
                    selected: f.key() == filing,
                })
                .collect(),
            enabled,
        }
    }

    fn of(t: Tr, endpoint: &WebhookEndpointRecord) -> EndpointFields {
        let kinds: Vec<String> = endpoint.kinds.iter().map(|k| k.key().to_owned()).collect();
        EndpointFields::new(
            t,
            endpoint.url.to_string(),
            &kinds,
            endpoint.filing_target.map_or("", |f| f.key()),
            endpoint.enabled,
        )
    }

    fn typed(t: Tr, form: &EndpointForm) -> EndpointFields {
        EndpointFields::new(
            t,
            form.url.clone(),
            &form.kinds,
            &form.filing_target,
            form.enabled.is_some(),
        )
    }
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct EndpointForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    filing_target: String,
    /// Present (any value) when the checkbox is ticked.
    #[serde(default)]
    enabled: Option<String>,
}

pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub kinds: Vec<&'static str>,
    pub filing: Option<&'static str>,
    pub enabled: bool,
}

fn endpoint_row(t: Tr, e: &WebhookEndpointRecord) -> EndpointRow {
    EndpointRow {
        id: e.id.to_string(),
        url: e.url.to_string(),
        kinds: e.kinds.iter().map(|k| kind_label(t, *k)).collect(),
        filing: e.filing_target.map(|f| filing_label(t, f)),
        enabled: e.enabled,
    }
}

/// An endpoint with its secret, shown this once.
pub struct NewSecret {
    pub id: String,
    pub url: String,
    pub secret: String,
}

impl NewSecret {
    fn of(created: WebhookWithSecret) -> NewSecret {
        NewSecret {
            id: created.endpoint.id.to_string(),
            url: created.endpoint.url.to_string(),
            secret: created.secret,
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    endpoints: Vec<EndpointRow>,
    new_secret: Option<NewSecret>,
    errors: FieldErrors,
    fields: EndpointFields,
}

async fn webhooks_page(
    state: &AppState,
    page: &Page,
    errors: FieldErrors,
    fields: EndpointFields,
    new_secret: Option<NewSecret>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let endpoints = state.app.list_webhooks(principal).await?;
    render(&WebhooksPage {
        chrome: page.chrome("webhooks.title"),
        endpoints: endpoints.iter().map(|e| endpoint_row(page.t, e)).collect(),
        new_secret,
        errors,
        fields,
    })
}

/// The organisation's webhook endpoints and filing targets, with the form for a new one.
#[utoipa::path(get, path = "/webhooks", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn webhooks(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let fields = EndpointFields::new(page.t, String::new(), &[], "", true);
    webhooks_page(&state, &page, FieldErrors::default(), fields, None).await
}

/// Registers an endpoint and shows its secret once.
#[utoipa::path(post, path = "/webhooks", tag = "web", responses((status = 200, description = "The secret, or the form again with errors")))]
pub async fn create_webhook(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(form): Form<EndpointForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let input = WebhookInput {
        url: form.url.clone(),
        kinds: form.kinds.clone(),
        filing_target: Some(form.filing_target.clone()),
        enabled: form.enabled.is_some(),
        secret: None,
    };
    match state.app.create_webhook(principal, &input, &context).await {
        Ok(created) => {
            let fields = EndpointFields::new(page.t, String::new(), &[], "", true);
            let secret = NewSecret::of(created);
            webhooks_page(&state, &page, FieldErrors::default(), fields, Some(secret)).await
        }
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            let fields = EndpointFields::typed(page.t, &form);
            webhooks_page(&state, &page, errors, fields, None).await
        }
    }
}

pub struct DeliveryRow {
    pub id: String,
    pub created: String,
    pub kind: &'static str,
    pub kind_key: &'static str,
    pub endpoint: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub attempts: i64,
    pub last_code: String,
    pub next: String,
}

fn delivery_row(
    t: Tr,
    d: &WebhookDeliveryRecord,
    urls: &HashMap<WebhookId, String>,
) -> DeliveryRow {
    DeliveryRow {
        id: d.id.to_string(),
        created: short_time(d.created_at),
        kind: kind_label(t, d.kind),
        kind_key: d.kind.key(),
        endpoint: urls.get(&d.endpoint_id).cloned().unwrap_or_default(),
        status: status_label(t, d.status),
        status_class: status_class(d.status),
        attempts: d.attempts,
        last_code: d
            .last_status_code
            .map_or_else(|| "—".to_owned(), |c| c.to_string()),
        next: if d.status.is_open() {
            short_time(d.next_attempt_at)
        } else {
            "—".to_owned()
        },
    }
}

#[derive(Template)]
#[template(path = "webhooks_edit.html")]
struct WebhookEditPage {
    chrome: Chrome,
    id: String,
    new_secret: Option<NewSecret>,
    errors: FieldErrors,
    fields: EndpointFields,
    created: String,
    updated: String,
    deliveries: Vec<DeliveryRow>,
}

async fn webhook_edit_page(
    state: &AppState,
    page: &Page,
    id: WebhookId,
    errors: FieldErrors,
    typed: Option<&EndpointForm>,
    new_secret: Option<NewSecret>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let endpoint = state.app.webhook(principal, id).await?;
    let query = DeliveryQuery {
        status: None,
        endpoint: Some(id),
        page: ListPage::new(Some(1), Some(10)),
    };
    let (recent, _) = state.app.list_webhook_deliveries(principal, &query).await?;
    let urls = HashMap::from([(endpoint.id, endpoint.url.to_string())]);
    render(&WebhookEditPage {
        chrome: page.chrome("webhooks.edit"),
        id: id.to_string(),
        new_secret,
        errors,
        fields: match typed {
            Some(form) => EndpointFields::typed(page.t, form),
            None => EndpointFields::of(page.t, &endpoint),
        },
        created: short_time(endpoint.created_at),
        updated: short_time(endpoint.updated_at),
        deliveries: recent
            .iter()
            .map(|d| delivery_row(page.t, d, &urls))
            .collect(),
    })
}

/// One endpoint: edit it, rotate its secret, send a test event, see its latest deliveries.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn edit_webhook(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require_manager(&page)?;
    let id = parse_id(&id, WebhookId::parse)?;
    webhook_edit_page(&state, &page, id, FieldErrors::default(), None, None).await
}

/// Saves an endpoint.
#[utoipa::path(post, path = "/webhooks/{id}", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Saved"), (status = 200, description = "The form again, with errors")))]
pub async fn update_webhook(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<EndpointForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, WebhookId::parse)?;
    let changes = WebhookChanges {
        url: Some(form.url.clone()),
        kinds: Some(form.kinds.clone()),
        filing_target: Some(Some(form.filing_target.clone())),
        enabled: Some(form.enabled.is_some()),
    };
    match state
        .app
        .update_webhook(principal, id, &changes, &context)
        .await
    {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/webhooks/{id}"),
            "flash.saved",
            true,
        )),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            webhook_edit_page(&state, &page, id, errors, Some(&form), None).await
        }
    }
}

/// Replaces the signing secret and shows the new one once.
#[utoipa::path(post, path = "/webhooks/{id}/rotate-secret", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "The new secret")))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, WebhookId::parse)?;
    let rotated = state
        .app
        .rotate_webhook_secret(principal, id, None, &context)
        .await?;
    let secret = NewSecret::of(rotated);
    webhook_edit_page(
        &state,
        &page,
        id,
        FieldErrors::default(),
        None,
        Some(secret),
    )
    .await
}

/// Sends a test event to this endpoint and shows its delivery.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "To the test delivery")))]
pub async fn test_webhook(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, WebhookId::parse)?;
    match state.app.send_test_webhook(principal, id, &context).await {
        Ok(delivery) => Ok(redirect_with_flash(
            &format!("/webhook-deliveries/{}", delivery.id),
            "flash.webhook_test_sent",
            true,
        )),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            webhook_edit_page(&state, &page, id, errors, None, None).await
        }
    }
}

/// Deletes an endpoint with its deliveries.
#[utoipa::path(post, path = "/webhooks/{id}/delete", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Deleted")))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, WebhookId::parse)?;
    state.app.delete_webhook(principal, id, &context).await?;
    Ok(redirect_with_flash(
        "/webhooks",
        "flash.webhook_deleted",
        true,
    ))
}

pub struct StatusChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "webhooks_deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    deliveries: Vec<DeliveryRow>,
    statuses: Vec<StatusChoice>,
    endpoints: Vec<(String, String)>,
    endpoint_id: String,
    errors: FieldErrors,
    pager: Pager,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct DeliveryFilterForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    endpoint_id: String,
    page: Option<i64>,
}

/// Deliveries of every endpoint, newest first, by status and endpoint.
#[utoipa::path(get, path = "/webhook-deliveries", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn deliveries(
    State(state): State<AppState>,
    page: Page,
    Query(form): Query<DeliveryFilterForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let endpoints = state.app.list_webhooks(principal).await?;
    let urls: HashMap<WebhookId, String> = endpoints
        .iter()
        .map(|e| (e.id, e.url.to_string()))
        .collect();
    let list_page = ListPage::new(form.page, Some(50));
    let status = DeliveryStatus::parse(form.status.trim());
    let query = DeliveryQuery {
        status: status.map(|s| s.key().to_owned()),
        endpoint: WebhookId::parse(&form.endpoint_id).ok(),
        page: list_page,
    };
    let (items, total) = state.app.list_webhook_deliveries(principal, &query).await?;
    let pairs = [
        ("status", form.status.as_str()),
        ("endpoint_id", form.endpoint_id.as_str()),
    ];
    render(&DeliveriesPage {
        chrome: page.chrome("deliveries.title"),
        deliveries: items
            .iter()
            .map(|d| delivery_row(page.t, d, &urls))
            .collect(),
        statuses: DeliveryStatus::ALL
            .into_iter()
            .map(|s| StatusChoice {
                key: s.key(),
                label: status_label(page.t, s),
                selected: Some(s) == status,
            })
            .collect(),
        endpoints: endpoints
            .iter()
            .map(|e| (e.id.to_string(), e.url.to_string()))
            .collect(),
        endpoint_id: form.endpoint_id.clone(),
        errors: FieldErrors::default(),
        pager: Pager::new("/webhook-deliveries", &pairs, list_page, total),
    })
}

pub struct AttemptRow {
    pub n: i64,
    pub at: String,
    pub code: String,
    pub error: String,
    pub duration_ms: i64,
    pub replay: bool,
    pub ok: bool,
}

#[derive(Template)]
#[template(path = "webhooks_delivery.html")]
struct DeliveryPage {
    chrome: Chrome,
    delivery: DeliveryRow,
    event_id: String,
    endpoint_id: String,
    endpoint_url: String,
    delivered: String,
    last_error: String,
    payload: String,
    attempts: Vec<AttemptRow>,
}

/// One delivery: what was sent, every attempt, and a replay button.
#[utoipa::path(get, path = "/webhook-deliveries/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn delivery(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    require_manager(&page)?;
    let id = parse_id(&id, WebhookDeliveryId::parse)?;
    let detail = state.app.webhook_delivery(principal, id).await?;
    let urls = HashMap::from([(detail.delivery.endpoint_id, detail.endpoint_url.clone())]);
    let payload = serde_json::from_str::<serde_json::Value>(&detail.event.payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| detail.event.payload.clone());
    render(&DeliveryPage {
        chrome: page.chrome("deliveries.detail"),
        delivery: delivery_row(page.t, &detail.delivery, &urls),
        event_id: detail.delivery.event_id.clone(),
        endpoint_id: detail.delivery.endpoint_id.to_string(),
        endpoint_url: detail.endpoint_url.clone(),
        delivered: detail
            .delivery
            .delivered_at
            .map_or_else(|| "—".to_owned(), short_time),
        last_error: detail.delivery.last_error.clone().unwrap_or_default(),
        payload,
        attempts: detail
            .attempts
            .iter()
            .map(|a| AttemptRow {
                n: a.n,
                at: short_time(a.at),
                code: a
                    .status_code
                    .map_or_else(|| "—".to_owned(), |c| c.to_string()),
                error: a.error.clone(),
                duration_ms: a.duration_ms,
                replay: a.replay,
                ok: a.status_code.is_some_and(|c| (200..300).contains(&c)),
            })
            .collect(),
    })
}

/// Sends a delivery again now, with the same message id.
#[utoipa::path(post, path = "/webhook-deliveries/{id}/replay", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Replay queued")))]
pub async fn replay_delivery(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, WebhookDeliveryId::parse)?;
    state
        .app
        .replay_webhook_delivery(principal, id, &context)
        .await?;
    Ok(redirect_with_flash(
        &format!("/webhook-deliveries/{id}"),
        "flash.delivery_replayed",
        true,
    ))
}
