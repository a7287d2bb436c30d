//! Liveness (`/healthz`: the process answers), readiness (`/readyz`: the database
//! answers and, unless `comparison.required` is off, the OCR models are installed) and the OpenAPI document.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::AppState;
use crate::api::dto::StatusDto;

/// The OpenAPI document as JSON, shared by the handler.
#[derive(Clone)]
pub struct OpenApiJson(pub Arc<String>);

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = StatusDto)))]
pub async fn healthz() -> Json<StatusDto> {
    Json(StatusDto {
        status: "ok".to_owned(),
    })
}

/// The process is up and its database answers.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, body = StatusDto), (status = 503, body = StatusDto)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.comparison_required
        && let Some(problem) = state.app.comparison_problem()
    {
        // The path and the fix go to the log; the public answer stays generic.
        tracing::warn!(%problem, "not ready: document comparison unavailable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(StatusDto {
                status: "document comparison unavailable".to_owned(),
            }),
        );
    }
    match state.app.ready().await {
        Ok(()) => (
            StatusCode::OK,
            Json(StatusDto {
                status: "ready".to_owned(),
            }),
        ),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(StatusDto {
                    status: "database unavailable".to_owned(),
                }),
            )
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "health", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
}
