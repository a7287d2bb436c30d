//! Organisation registration and settings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use seal_app::orgs::{OrgUpdate, Registration};

use crate::AppState;
use crate::api::dto::{OrgDto, OrgPatch, RegisterBody, RegisteredDto, SessionDto};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Auth, Context};

/// Registers an organisation with its first admin, and signs the admin in.
#[utoipa::path(post, path = "/api/v1/organisations", tag = "org", request_body = RegisterBody,
    responses((status = 201, body = RegisteredDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    Context(context): Context,
    jar: CookieJar,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    let registration = Registration {
        org_name: body.org_name,
        org_code: body.org_code,
        uscc: body.uscc,
        admin_name: body.admin_name,
        admin_phone: body.admin_phone,
        admin_email: body.admin_email,
        admin_password: body.admin_password,
    };
    let registered = state.app.register_org(&registration, &context).await?;
    let jar = jar.add(state.session_cookie(&registered.session.token));
    let dto = RegisteredDto {
        org: OrgDto::from(&registered.org),
        admin_id: registered.admin_id.to_string(),
        session: SessionDto {
            mfa_required: false,
            must_change_password: false,
            csrf_token: registered.session.csrf_token,
        },
    };
    Ok((StatusCode::CREATED, jar, Json(dto)))
}

/// The caller's organisation.
#[utoipa::path(get, path = "/api/v1/org", tag = "org", responses((status = 200, body = OrgDto), (status = 401, body = ErrorBody)))]
pub async fn get_org(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<OrgDto>, ApiError> {
    Ok(Json(OrgDto::from(&state.app.org(&principal))))
}

/// Edits the organisation's name or unified social credit code (`org.manage`).
#[utoipa::path(patch, path = "/api/v1/org", tag = "org", request_body = OrgPatch,
    responses((status = 200, body = OrgDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_org(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<OrgPatch>,
) -> Result<Json<OrgDto>, ApiError> {
    let update = OrgUpdate {
        name: body.name,
        uscc: body.uscc,
    };
    let org = state.app.update_org(&principal, &update, &context).await?;
    Ok(Json(OrgDto::from(&org)))
}
