//! Webhook endpoints and filing targets (备案), their deliveries and attempts; and the
//! JSON shapes of these routes. Everything needs `webhooks.manage`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use seal_app::directory::Page;
use seal_app::webhooks::{
    DeliveryDetail, DeliveryQuery, WebhookChanges, WebhookInput, WebhookWithSecret,
};
use seal_core::ids::{WebhookDeliveryId, WebhookId};
use seal_store::{WebhookAttemptRecord, WebhookDeliveryRecord, WebhookEndpointRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::dto::double_option;
use crate::api::{parse_body_id, parse_path_id};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, Context};

// ----- wire types ------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: String,
    pub url: String,
    /// Subscribed event kinds, e.g. `seal.created`.
    pub kinds: Vec<String>,
    /// `public_security` (公安备案), `third_party` (第三方) or `own_unit` (本单位) when the
    /// endpoint is a filing target; it then always receives the seal events.
    pub filing_target: Option<String>,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&WebhookEndpointRecord> for WebhookDto {
    fn from(e: &WebhookEndpointRecord) -> Self {
        WebhookDto {
            id: e.id.to_string(),
            url: e.url.to_string(),
            kinds: e.kinds.iter().map(|k| k.key().to_owned()).collect(),
            filing_target: e.filing_target.map(|f| f.key().to_owned()),
            enabled: e.enabled,
            created_at: e.created_at.to_string(),
            updated_at: e.updated_at.to_string(),
        }
    }
}

/// An endpoint with its signing secret: only in the answers to creation and rotation.
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecretDto {
    pub webhook: WebhookDto,
    /// `whsec_…` (Standard Webhooks); shown this once.
    pub secret: String,
}

impl From<&WebhookWithSecret> for WebhookWithSecretDto {
    fn from(created: &WebhookWithSecret) -> Self {
        WebhookWithSecretDto {
            webhook: WebhookDto::from(&created.endpoint),
            secret: created.secret.clone(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct WebhookBody {
    /// `https://…` (`http://` and private addresses only where the server allows them).
    pub url: String,
    /// Event kinds to subscribe to; see the `kinds` of `GET /api/v1/webhooks`.
    pub kinds: Vec<String>,
    #[serde(default)]
    pub filing_target: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A secret in the `whsec_` + base64 format to use; generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
}

fn yes() -> bool {
    true
}

/// Changes to an endpoint; absent fields stay, `"filing_target": null` clears the marker.
#[derive(Deserialize, ToSchema)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub kinds: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub filing_target: Option<Option<String>>,
    pub enabled: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: String,
    /// The message id, sent as `webhook-id`; the same on every attempt and replay.
    pub event_id: String,
    pub endpoint_id: String,
    pub kind: String,
    /// `pending`, `delivered`, `failed` (will be retried) or `given_up`.
    pub status: String,
    pub attempts: i64,
    /// When the next attempt is due (for `pending` and `failed`).
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
}

impl From<&WebhookDeliveryRecord> for DeliveryDto {
    fn from(d: &WebhookDeliveryRecord) -> Self {
        DeliveryDto {
            id: d.id.to_string(),
            event_id: d.event_id.clone(),
            endpoint_id: d.endpoint_id.to_string(),
            kind: d.kind.key().to_owned(),
            status: d.status.key().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.status.is_open().then(|| d.next_attempt_at.to_string()),
            last_status_code: d.last_status_code,
            last_error: d.last_error.clone(),
            delivered_at: d.delivered_at.map(|t| t.to_string()),
            created_at: d.created_at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AttemptDto {
    /// 1 for the first attempt.
    pub n: i64,
    pub at: String,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i64>,
    /// What went wrong; empty on success.
    pub error: String,
    pub duration_ms: i64,
    /// Made because of a replay.
    pub replay: bool,
}

impl From<&WebhookAttemptRecord> for AttemptDto {
    fn from(a: &WebhookAttemptRecord) -> Self {
        AttemptDto {
            n: a.n,
            at: a.at.to_string(),
            status_code: a.status_code,
            error: a.error.clone(),
            duration_ms: a.duration_ms,
            replay: a.replay,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryDetailDto {
    pub delivery: DeliveryDto,
    pub endpoint_url: String,
    /// The body sent, exactly: `{"type", "timestamp", "data"}`.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts: Vec<AttemptDto>,
}

impl From<&DeliveryDetail> for DeliveryDetailDto {
    fn from(detail: &DeliveryDetail) -> Self {
        DeliveryDetailDto {
            delivery: DeliveryDto::from(&detail.delivery),
            endpoint_url: detail.endpoint_url.clone(),
            payload: serde_json::from_str(&detail.event.payload)
                .unwrap_or(serde_json::Value::String(detail.event.payload.clone())),
            attempts: detail.attempts.iter().map(AttemptDto::from).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryDto>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct DeliveryQueryParams {
    /// `pending`, `delivered`, `failed` or `given_up`.
    pub status: Option<String>,
    pub endpoint_id: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

// ----- handlers --------------------------------------------------------------------------

/// The organisation's webhook endpoints, without secrets (`webhooks.manage`).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = [WebhookDto]), (status = 403, body = ErrorBody)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<WebhookDto>>, ApiError> {
    let endpoints = state.app.list_webhooks(&principal).await?;
    Ok(Json(endpoints.iter().map(WebhookDto::from).collect()))
}

/// Registers an endpoint; its signing secret is in this answer only (`webhooks.manage`).
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = WebhookBody,
    responses((status = 201, body = WebhookWithSecretDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<(StatusCode, Json<WebhookWithSecretDto>), ApiError> {
    let input = WebhookInput {
        url: body.url,
        kinds: body.kinds,
        filing_target: body.filing_target,
        enabled: body.enabled,
        secret: body.secret,
    };
    let created = state
        .app
        .create_webhook(&principal, &input, &context)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookWithSecretDto::from(&created)),
    ))
}

/// One endpoint, without its secret (`webhooks.manage`).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookDto), (status = 404, body = ErrorBody)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<WebhookDto>, ApiError> {
    let id = parse_path_id(&id, WebhookId::parse)?;
    let endpoint = state.app.webhook(&principal, id).await?;
    Ok(Json(WebhookDto::from(&endpoint)))
}

/// Changes an endpoint's URL, kinds, filing target or enabled flag (`webhooks.manage`).
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = WebhookPatch,
    responses((status = 200, body = WebhookDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WebhookPatch>,
) -> Result<Json<WebhookDto>, ApiError> {
    let id = parse_path_id(&id, WebhookId::parse)?;
    let changes = WebhookChanges {
        url: body.url,
        kinds: body.kinds,
        filing_target: body.filing_target,
        enabled: body.enabled,
    };
    let endpoint = state
        .app
        .update_webhook(&principal, id, &changes, &context)
        .await?;
    Ok(Json(WebhookDto::from(&endpoint)))
}

/// Deletes an endpoint with its deliveries (`webhooks.manage`). To stop sending but keep
/// the history, disable it instead.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_path_id(&id, WebhookId::parse)?;
    state.app.delete_webhook(&principal, id, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the signing secret with a new one, shown in this answer only
/// (`webhooks.manage`).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookWithSecretDto), (status = 404, body = ErrorBody)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Json<WebhookWithSecretDto>, ApiError> {
    let id = parse_path_id(&id, WebhookId::parse)?;
    let rotated = state
        .app
        .rotate_webhook_secret(&principal, id, None, &context)
        .await?;
    Ok(Json(WebhookWithSecretDto::from(&rotated)))
}

/// Sends a `webhook.test` event to this endpoint only (`webhooks.manage`).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 202, body = DeliveryDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn test_webhook(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DeliveryDto>), ApiError> {
    let id = parse_path_id(&id, WebhookId::parse)?;
    let delivery = state
        .app
        .send_test_webhook(&principal, id, &context)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryDto::from(&delivery))))
}

/// The organisation's deliveries, newest first, filtered by status and endpoint
/// (`webhooks.manage`).
#[utoipa::path(get, path = "/api/v1/webhook-deliveries", tag = "webhooks", params(
        ("status" = Option<String>, Query, description = "pending, delivered, failed or given_up"),
        ("endpoint_id" = Option<String>, Query), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, body = DeliveryPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<DeliveryQueryParams>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let page = Page::new(params.page, params.per_page);
    let query = DeliveryQuery {
        status: params.status,
        endpoint: params
            .endpoint_id
            .as_deref()
            .filter(|e| !e.is_empty())
            .map(|e| parse_body_id("endpoint_id", e, WebhookId::parse))
            .transpose()?,
        page,
    };
    let (items, total) = state
        .app
        .list_webhook_deliveries(&principal, &query)
        .await?;
    Ok(Json(DeliveryPage {
        items: items.iter().map(DeliveryDto::from).collect(),
        total,
        page: page.number,
        per_page: page.size,
    }))
}

/// One delivery with the body sent and every attempt (`webhooks.manage`).
#[utoipa::path(get, path = "/api/v1/webhook-deliveries/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = DeliveryDetailDto), (status = 404, body = ErrorBody)))]
pub async fn get_delivery(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetailDto>, ApiError> {
    let id = parse_path_id(&id, WebhookDeliveryId::parse)?;
    let detail = state.app.webhook_delivery(&principal, id).await?;
    Ok(Json(DeliveryDetailDto::from(&detail)))
}

/// Sends a delivery again now, with the same `webhook-id` (`webhooks.manage`).
#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/replay", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 202, body = DeliveryDto), (status = 404, body = ErrorBody)))]
pub async fn replay_delivery(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DeliveryDto>), ApiError> {
    let id = parse_path_id(&id, WebhookDeliveryId::parse)?;
    let delivery = state
        .app
        .replay_webhook_delivery(&principal, id, &context)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryDto::from(&delivery))))
}
