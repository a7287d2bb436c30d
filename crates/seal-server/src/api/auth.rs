//! Sign-in, second factor, sign-out, and the caller's own account (profile, password,
//! TOTP).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use seal_app::AppError;
use seal_app::auth::LoginRequest;
use seal_app::policy::Credential;

use crate::AppState;
use crate::api::dto::{
    ChangePasswordBody, CodeBody, LoginBody, MeDto, OrgDto, PasswordBody, PersonDto,
    RecoveryCodesDto, SessionDto, TotpEnrolmentDto, keys,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Auth, Context, SessionToken};

/// Signs in with organisation code, phone or e-mail, and password. Sets the session
/// cookie; when `mfa_required` is true, `POST /api/v1/auth/mfa` must follow.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = SessionDto), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Context(context): Context,
    SessionToken(previous): SessionToken,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    let request = LoginRequest {
        org_code: body.org_code,
        login: body.login,
        password: body.password,
    };
    let session = state
        .app
        .login(&request, &context, previous.as_deref())
        .await?;
    let jar = jar.add(state.session_cookie(&session.token));
    Ok((
        jar,
        Json(SessionDto {
            mfa_required: session.mfa_pending,
            must_change_password: session.must_change_password,
            csrf_token: session.csrf_token,
        }),
    ))
}

/// Completes sign-in with a TOTP code or a recovery code; the session token rotates.
#[utoipa::path(post, path = "/api/v1/auth/mfa", tag = "auth", request_body = CodeBody,
    responses((status = 200, body = SessionDto), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn mfa(
    State(state): State<AppState>,
    Context(context): Context,
    SessionToken(pending): SessionToken,
    jar: CookieJar,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let pending = pending.ok_or(AppError::Unauthenticated)?;
    let session = state
        .app
        .complete_mfa(&pending, &body.code, &context)
        .await?;
    let jar = jar.add(state.session_cookie(&session.token));
    Ok((
        jar,
        Json(SessionDto {
            mfa_required: false,
            must_change_password: session.must_change_password,
            csrf_token: session.csrf_token,
        }),
    ))
}

/// Ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    jar: CookieJar,
) -> Result<impl IntoResponse, ApiError> {
    state.app.logout(&principal, &context).await?;
    Ok((jar.remove(state.session_cookie("")), StatusCode::NO_CONTENT))
}

/// Who the caller is: person, organisation, roles and effective permissions.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = MeDto), (status = 401, body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<MeDto>, ApiError> {
    let view = state.app.me(&principal);
    let org = state.app.org(&principal);
    let (authenticated_by, csrf_token) = match &principal.credential {
        Credential::Session { csrf_token, .. } => ("session", Some(csrf_token.clone())),
        Credential::ApiToken { .. } => ("token", None),
    };
    Ok(Json(MeDto {
        person: PersonDto::new(&view.person, Some(&view.roles)),
        org: OrgDto::from(&org),
        permissions: keys(principal.permissions),
        authenticated_by: authenticated_by.to_owned(),
        csrf_token,
    }))
}

/// Changes the caller's password; every session of theirs ends and a new one starts.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = ChangePasswordBody,
    responses((status = 200, body = SessionDto), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    jar: CookieJar,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<impl IntoResponse, ApiError> {
    let session = state
        .app
        .change_password(
            &principal,
            &body.current_password,
            &body.new_password,
            &context,
        )
        .await?;
    let jar = jar.add(state.session_cookie(&session.token));
    Ok((
        jar,
        Json(SessionDto {
            mfa_required: false,
            must_change_password: false,
            csrf_token: session.csrf_token,
        }),
    ))
}

/// Starts TOTP enrolment: scan the QR code, then confirm with a code.
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "auth", responses((status = 200, body = TotpEnrolmentDto), (status = 409, body = ErrorBody)))]
pub async fn start_totp(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
) -> Result<Json<TotpEnrolmentDto>, ApiError> {
    let enrolment = state.app.start_totp_enrolment(&principal, &context).await?;
    Ok(Json(TotpEnrolmentDto {
        secret: enrolment.secret,
        otpauth_url: enrolment.url,
        qr_svg: enrolment.qr_svg,
    }))
}

/// Confirms TOTP with a code; returns recovery codes, shown this once.
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "auth", request_body = CodeBody,
    responses((status = 200, body = RecoveryCodesDto), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<RecoveryCodesDto>, ApiError> {
    let recovery_codes = state
        .app
        .confirm_totp(&principal, &body.code, &context)
        .await?;
    Ok(Json(RecoveryCodesDto { recovery_codes }))
}

/// Replaces the caller's recovery codes with ten new ones (the password confirms it);
/// the old ones stop working. Shown once.
#[utoipa::path(post, path = "/api/v1/me/totp/recovery-codes", tag = "auth", request_body = PasswordBody,
    responses((status = 200, body = RecoveryCodesDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Json<RecoveryCodesDto>, ApiError> {
    let recovery_codes = state
        .app
        .regenerate_recovery_codes(&principal, &body.password, &context)
        .await?;
    Ok(Json(RecoveryCodesDto { recovery_codes }))
}

/// Turns TOTP off (the password confirms it).
#[utoipa::path(delete, path = "/api/v1/me/totp", tag = "auth", request_body = PasswordBody,
    responses((status = 204), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn remove_totp(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .remove_totp(&principal, &body.password, &context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
