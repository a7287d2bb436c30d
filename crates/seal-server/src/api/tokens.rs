//! API tokens and the audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use seal_app::audit::AuditQuery;
use seal_app::directory::Page;
use seal_core::ids::{ApiTokenId, PersonId};
use seal_core::time::Timestamp;

use crate::AppState;
use crate::api::dto::{
    AuditEventDto, AuditPage, AuditQueryParams, CreatedTokenDto, TokenBody, TokenDto,
};
use crate::api::{parse_body_id, parse_path_id};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, Context};

/// Every API token of the organisation (`tokens.manage`).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = [TokenDto]), (status = 403, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<TokenDto>>, ApiError> {
    let tokens = state.app.list_api_tokens(&principal).await?;
    Ok(Json(tokens.iter().map(TokenDto::from).collect()))
}

/// Creates a token acting as the caller, limited to the given scopes; the secret is shown
/// once (`tokens.manage`, signed-in session only).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = TokenBody,
    responses((status = 201, body = CreatedTokenDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<(StatusCode, Json<CreatedTokenDto>), ApiError> {
    let created = state
        .app
        .create_api_token(&principal, &body.name, &body.scopes, &context)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenDto {
            token: TokenDto::from(&created.token),
            secret: created.secret,
        }),
    ))
}

/// Revokes a token; its next request is refused (`tokens.manage`).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path, description = "Token id")),
    responses((status = 200, body = TokenDto), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Json<TokenDto>, ApiError> {
    let id = parse_path_id(&id, ApiTokenId::parse)?;
    let token = state.app.revoke_api_token(&principal, id, &context).await?;
    Ok(Json(TokenDto::from(&token)))
}

/// The organisation's audit events, newest first, filtered by person, kind and time
/// (`audit.read`).
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(
        ("person_id" = Option<String>, Query), ("action" = Option<String>, Query, description = "e.g. person.disabled"),
        ("from" = Option<String>, Query, description = "YYYY-MM-DD or RFC 3339 UTC, inclusive"),
        ("until" = Option<String>, Query, description = "exclusive"),
        ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_audit_events(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<AuditQueryParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let time = |field: &'static str, value: Option<&str>| -> Result<Option<Timestamp>, ApiError> {
        value
            .filter(|v| !v.is_empty())
            .map(|v| {
                Timestamp::parse_rfc3339(v).map_err(|_| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "request.query",
                        "时间格式应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM:SSZ。",
                        "Times must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.",
                    )
                    .with_field(field)
                })
            })
            .transpose()
    };
    let page = Page::new(params.page, params.per_page);
    let query = AuditQuery {
        person: params
            .person_id
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| parse_body_id("person_id", p, PersonId::parse))
            .transpose()?,
        action: params.action,
        from: time("from", params.from.as_deref())?,
        until: time("until", params.until.as_deref())?,
        page,
    };
    let (events, total) = state.app.list_audit_events(&principal, &query).await?;
    Ok(Json(AuditPage {
        items: events.iter().map(AuditEventDto::from).collect(),
        total,
        page: page.number,
        per_page: page.size,
    }))
}
