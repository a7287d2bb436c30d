//! The public verification pages: `/v` (type a code: the QR code's 26 characters or the
//! 20-digit numeric code) and `/v/{code}` (genuine or not, status, organisation, seal,
//! time, device, coarse place, document fingerprint, the thumbnail when published, and
//! every check made, in plain words), with the seal image and thumbnail beside them. No
//! sign-in; rate-limited per address by the use case.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use seal_app::AppError;
use seal_app::proofs::{CheckKind, Verification};
use seal_core::stamp::StampStatus;
use serde::Deserialize;

use crate::AppState;
use crate::extract::Context;
use crate::web::seals::local_time;
use crate::web::{Chrome, FieldErrors, Page, PageError, render};

#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct CodeForm {
    /// A stamp code typed in: 26 characters or 20 digits (spaces allowed).
    #[serde(default)]
    code: String,
}

/// One check, in words.
pub struct CheckLine {
    pub passed: bool,
    pub text: &'static str,
    pub detail: String,
}

/// What the page shows of a found stamp.
pub struct Found {
    pub genuine: bool,
    pub status: &'static str,
    pub status_key: &'static str,
    pub status_since: Option<String>,
    pub org: String,
    pub seal: Option<String>,
    pub seal_image: Option<String>,
    pub kind: &'static str,
    pub device: Option<&'static str>,
    pub time: String,
    pub place: Option<String>,
    pub document: Option<String>,
    pub page: Option<u32>,
    pub thumbnail: Option<String>,
    pub numeric: String,
    pub code: String,
    pub checkpoint_size: u64,
    pub checks: Vec<CheckLine>,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    chrome: Chrome,
    code: String,
    errors: FieldErrors,
    found: Option<Found>,
    unknown: bool,
}

fn found(page: &Page, v: &Verification) -> Found {
    let t = page.t;
    let check_text = |kind: CheckKind| {
        t.get(match kind {
            CheckKind::Record => "verify.check.record",
            CheckKind::Token => "verify.check.token",
            CheckKind::TokenMatches => "verify.check.token_matches",
            CheckKind::LogEntry => "verify.check.log_entry",
            CheckKind::Checkpoint => "verify.check.checkpoint",
            CheckKind::Inclusion => "verify.check.inclusion",
        })
    };
    Found {
        genuine: v.genuine(),
        status: t.get(match v.status {
            StampStatus::Valid => "verify.status.valid",
            StampStatus::Revoked => "verify.status.revoked",
            StampStatus::Disputed => "verify.status.disputed",
        }),
        status_key: v.status.key(),
        status_since: v.status_since.map(local_time),
        org: v.org_name.clone(),
        seal: v.seal_name.clone(),
        seal_image: v.seal.as_ref().map(|_| format!("/v/{}/seal.svg", v.code)),
        kind: t.get(match v.kind {
            seal_core::stamp::StampKind::Press => "verify.kind.press",
            seal_core::stamp::StampKind::Print => "verify.kind.print",
        }),
        device: v
            .device_kind
            .map(|k| t.get(&format!("device_kind.{}", k.key()))),
        time: local_time(v.at),
        place: v.place.map(|(lat, lon)| format!("{lat:.2}, {lon:.2}")),
        document: v.document_sha256.clone(),
        page: v.page,
        thumbnail: v.thumbnail.then(|| format!("/v/{}/thumbnail.jpg", v.code)),
        numeric: v.numeric.grouped(),
        code: v.code.clone(),
        checkpoint_size: v.checkpoint.size,
        checks: v
            .checks
            .iter()
            .map(|c| CheckLine {
                passed: c.passed,
                text: check_text(c.what),
                detail: c.detail.clone(),
            })
            .collect(),
    }
}

/// The form: type the code printed under the stamp. With `?code=`, goes to its page.
#[utoipa::path(get, path = "/v", tag = "web", params(CodeForm), responses((status = 200, description = "HTML page")))]
pub async fn verify_form(page: Page, Query(form): Query<CodeForm>) -> Result<Response, PageError> {
    let code: String = form
        .code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if !code.is_empty() {
        return Ok(Redirect::to(&format!("/v/{}", urlencoding::encode(&code))).into_response());
    }
    render(&VerifyPage {
        chrome: page.chrome("verify.title"),
        code: String::new(),
        errors: FieldErrors::default(),
        found: None,
        unknown: false,
    })
}

/// A stamp's verification page.
#[utoipa::path(get, path = "/v/{code}", tag = "web", params(("code" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn verify_page(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let outcome = state.app.verify(&code, &context.source).await;
    let (status, found, unknown, errors) = match outcome {
        Ok(Some(v)) => (
            StatusCode::OK,
            Some(found(&page, &v)),
            false,
            FieldErrors::default(),
        ),
        Ok(None) => (StatusCode::NOT_FOUND, None, true, FieldErrors::default()),
        Err(error) => {
            // A mistyped code is a form error shown beside the form, like every other
            // form of the console (the JSON API answers 422).
            let status = match &error {
                AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::OK,
            };
            let mut errors = FieldErrors::from_app(error, &[])?;
            errors.promote("code");
            (status, None, false, errors)
        }
    };
    let mut response = render(&VerifyPage {
        chrome: page.chrome("verify.title"),
        code: code.chars().take(300).collect(),
        errors,
        found,
        unknown,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// The images of a code that is not one, or not known, are simply not there; a client
/// over its limit is told to wait.
fn image_error(error: AppError) -> Response {
    match error {
        AppError::RateLimited {
            retry_after_seconds,
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_seconds.to_string())],
        )
            .into_response(),
        AppError::Invalid { .. } | AppError::Conflict(_) | AppError::NotFound(_) => {
            PageError::NotFound.into_response()
        }
        other => PageError::from(other).into_response(),
    }
}

/// The short URL of a QR code is upper-case (so the whole text fits the QR code's
/// alphanumeric mode): `/V/{code}` leads to `/v/{code}`.
#[utoipa::path(get, path = "/V/{code}", tag = "web", params(("code" = String, Path)), responses((status = 308, description = "To /v/{code}")))]
pub async fn verify_upper(Path(code): Path<String>) -> Response {
    axum::response::Redirect::permanent(&format!("/v/{}", urlencoding::encode(&code)))
        .into_response()
}

/// The stamp's seal at true size (SVG).
#[utoipa::path(get, path = "/v/{code}/seal.svg", tag = "web", params(("code" = String, Path)), responses((status = 200, content_type = "image/svg+xml")))]
pub async fn verify_seal(
    State(state): State<AppState>,
    Context(context): Context,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let svg = match state.app.verify_seal_svg(&code, &context.source).await {
        Ok(svg) => svg,
        Err(error) => return Ok(image_error(error)),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        svg,
    )
        .into_response())
}

/// A thumbnail of the stamped page, when the organisation publishes it.
#[utoipa::path(get, path = "/v/{code}/thumbnail.jpg", tag = "web", params(("code" = String, Path)), responses((status = 200, content_type = "image/jpeg")))]
pub async fn verify_thumbnail(
    State(state): State<AppState>,
    Context(context): Context,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let jpeg = match state.app.verify_thumbnail(&code, &context.source).await {
        Ok(jpeg) => jpeg,
        Err(error) => return Ok(image_error(error)),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        jpeg,
    )
        .into_response())
}
