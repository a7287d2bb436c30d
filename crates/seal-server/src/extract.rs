//! Request extractors: authentication (session cookie or bearer token, nothing more —
//! authorization happens in `seal-app`), the CSRF check for cookie-authenticated writes,
//! the request context for audit events, and JSON/query/path extractors whose rejections
//! become ordinary API errors in the reader's language.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum_extra::extract::CookieJar;
use seal_app::policy::{Credential, Principal};
use seal_app::{App, RequestContext};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::ApiError;

/// Name of the session cookie (HttpOnly, SameSite=Lax, Secure when configured).
pub const SESSION_COOKIE: &str = "sk_session";
/// Header that carries the CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller, authenticated. For session cookies on unsafe methods the CSRF token must
/// be present and match.
pub struct Auth(pub Principal);

impl<S> FromRequestParts<S> for Auth
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let principal = authenticate(&state.app, parts).await?;
        Ok(Auth(principal))
    }
}

async fn authenticate(app: &App, parts: &Parts) -> Result<Principal, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::from(seal_app::AppError::Unauthenticated))?;
        return Ok(app.authenticate_token(token).await?);
    }
    let jar = CookieJar::from_headers(&parts.headers);
    let token = jar
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| ApiError::from(seal_app::AppError::Unauthenticated))?;
    let principal = app.authenticate_session(&token).await?;
    if is_unsafe(&parts.method) {
        let Credential::Session { csrf_token, .. } = &principal.credential else {
            return Err(ApiError::csrf());
        };
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !bool::from(sent.as_bytes().ct_eq(csrf_token.as_bytes())) {
            return Err(ApiError::csrf());
        }
    }
    Ok(principal)
}

pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The session token the client sent, if any (for rotation at sign-in and for the
/// second-factor step).
pub struct SessionToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SessionToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        Ok(SessionToken(
            jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()),
        ))
    }
}

/// Facts about the request that audit events record: client address and user agent.
pub struct Context(pub RequestContext);

impl<S> FromRequestParts<S> for Context
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_default();
        let forwarded = state
            .trust_forwarded_for
            .then(|| {
                parts
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    // The entry our own proxy appended is the last; earlier ones are whatever
                    // the client sent and cannot be believed.
                    .and_then(|v| v.rsplit(',').next())
                    .map(|v| v.trim().to_owned())
            })
            .flatten()
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        Ok(Context(RequestContext {
            source: forwarded.unwrap_or(peer),
            user_agent,
        }))
    }
}

/// A JSON body; malformed JSON, wrong types, unknown fields, a wrong content type and an
/// over-large body each get a clear 4xx.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content_type",
            "请求体须为 JSON（Content-Type: application/json）。",
            "The request body must be JSON (Content-Type: application/json).",
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "request.json_syntax",
            format!("请求体不是有效的 JSON：{}", strip_prefix(&detail)),
            format!(
                "The request body is not valid JSON: {}",
                strip_prefix(&detail)
            ),
        ),
        JsonRejection::JsonDataError(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.json_data",
            format!(
                "请求内容不符合要求（字段缺失、多余或类型错误）：{}",
                strip_prefix(&detail)
            ),
            format!(
                "The request does not have the expected fields and types: {}",
                strip_prefix(&detail)
            ),
        ),
        JsonRejection::BytesRejection(_) if detail.contains("length limit") => too_large(),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "request.body",
            "无法读取请求体。",
            "The request body could not be read.",
        ),
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request.too_large",
        "请求体过大。",
        "The request body is too large.",
    )
}

/// serde's messages start with a generic prefix; keep the informative part.
fn strip_prefix(detail: &str) -> String {
    let trimmed = detail
        .trim_start_matches("Failed to parse the request body as JSON: ")
        .trim_start_matches("Failed to deserialize the JSON body into the target type: ");
    trimmed.chars().take(300).collect()
}

/// Query parameters with clear errors.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                let detail = match &rejection {
                    QueryRejection::FailedToDeserializeQueryString(e) => e.body_text(),
                    other => other.body_text(),
                };
                let detail = detail
                    .trim_start_matches("Failed to deserialize query string: ")
                    .to_owned();
                Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "request.query",
                    format!("查询参数有误：{detail}"),
                    format!("Bad query parameters: {detail}"),
                ))
            }
        }
    }
}
