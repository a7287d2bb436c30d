//! The console's comparison pages: a form that compares an approved document with a photo
//! or scan of the page on site, one stored comparison with its verdict, differences and
//! side-by-side diff image, and the rows the application page shows for each stamp's
//! comparison. The routes are registered by [`routes`].

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use seal_app::AppError;
use seal_app::comparison::ComparisonView;
use seal_core::comparison::ComparisonVerdict;
use seal_core::ids::ComparisonId;
use seal_core::permission::Permission;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::comparisons::png_response;
use crate::error::ApiError;
use crate::extract::Context;
use crate::i18n;
use crate::web::seals::local_time;
use crate::web::{Chrome, FieldErrors, Page, PageError, Tr, render};

/// Who may use the comparison pages (`seal_app::comparison` decides; the navigation
/// shows the link to them).
pub const COMPARISON_USERS: [Permission; 5] = [
    Permission::ApplicationsCreate,
    Permission::ApplicationsApprove,
    Permission::SealsKeep,
    Permission::ApplicationsReadAll,
    Permission::AuditRead,
];

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            // Two uploads: the handler holds each to the document size itself.
            OpenApiRouter::new()
                .routes(routes!(compare_form, compare))
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .routes(routes!(comparison))
        .routes(routes!(comparison_diff))
}

/// A comparison as the pages show it.
pub struct ComparisonRow {
    pub id: String,
    pub verdict_key: &'static str,
    pub verdict: &'static str,
    /// `ok`, `alert` or `warn`: the badge colour.
    pub badge: &'static str,
    pub score: String,
    pub blank: bool,
    pub subject: &'static str,
    /// "document name, page n" or empty.
    pub page: String,
    pub material: Vec<DifferenceRow>,
    pub minor: Vec<DifferenceRow>,
    /// The diff image's address, when one was drawn.
    pub diff: Option<String>,
    pub at: String,
    pub millis: i64,
}

pub struct DifferenceRow {
    pub kind: &'static str,
    pub approved: String,
    pub captured: String,
    pub reason: String,
}

/// A comparison as a row for the pages.
pub fn comparison_row(t: Tr, v: &ComparisonView) -> ComparisonRow {
    let r = &v.record;
    let (verdict_key, badge) = match r.verdict {
        ComparisonVerdict::Match => ("match", "ok"),
        ComparisonVerdict::Mismatch => ("mismatch", "alert"),
        ComparisonVerdict::Uncertain => ("uncertain", "warn"),
    };
    let page = match (r.page, &v.document_name) {
        (Some(p), Some(name)) => format!("{name} · {} {}", t.get("compare.page"), p + 1),
        (Some(p), None) => format!("{} {}", t.get("compare.page"), p + 1),
        _ => String::new(),
    };
    let row = |d: &seal_app::comparison::DifferenceView| DifferenceRow {
        kind: t.get(&format!("compare.kind.{}", d.kind)),
        approved: d.approved_text.clone(),
        captured: d.captured_text.clone(),
        reason: d.reason.clone(),
    };
    ComparisonRow {
        id: r.id.to_string(),
        verdict_key,
        verdict: t.get(&format!("compare.verdict.{verdict_key}")),
        badge,
        score: format!("{:.0} %", r.score * 100.0),
        blank: r.blank,
        subject: t.get(&format!("compare.subject.{}", r.subject.key())),
        page,
        material: v
            .differences
            .iter()
            .filter(|d| d.material)
            .map(row)
            .collect(),
        minor: v
            .differences
            .iter()
            .filter(|d| !d.material)
            .map(row)
            .collect(),
        diff: r
            .diff_key
            .as_ref()
            .map(|_| format!("/comparisons/{}/diff.png", r.id)),
        at: local_time(r.created_at),
        millis: r.millis,
    }
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    chrome: Chrome,
    errors: FieldErrors,
    max_mb: usize,
}

fn form_page(state: &AppState, page: &Page, errors: FieldErrors) -> Result<Response, PageError> {
    render(&ComparePage {
        chrome: page.chrome("compare.title"),
        errors,
        max_mb: state.app.settings().document_max_bytes / (1024 * 1024),
    })
}

/// The comparison form: an approved document and a capture of the page on site.
#[utoipa::path(get, path = "/compare", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn compare_form(
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    state.app.may_compare(principal)?;
    form_page(&state, &page, FieldErrors::default())
}

/// Compares the two uploads; shows the stored comparison, or the form with what was wrong.
#[utoipa::path(post, path = "/compare", tag = "web", responses((status = 303, description = "The comparison"), (status = 200, description = "The form again, with errors")))]
pub async fn compare(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    request: Request,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    state.app.may_compare(principal)?;
    let max = state.app.settings().document_max_bytes;
    let files = match Multipart::from_request(request, &state).await {
        Ok(multipart) => read_files(multipart, max).await,
        Err(_) => Err(("approved", page.t.get("compare.form_broken").to_owned())),
    };
    let (approved, capture) = match files {
        Ok(files) => files,
        Err((field, message)) => {
            let mut errors = FieldErrors::default();
            errors.insert(field, message);
            return form_page(&state, &page, errors);
        }
    };
    let missing = if approved.is_empty() {
        Some("approved")
    } else if capture.is_empty() {
        Some("capture")
    } else {
        None
    };
    if let Some(field) = missing {
        let mut errors = FieldErrors::default();
        errors.insert(field, page.t.get("compare.need_both").to_owned());
        return form_page(&state, &page, errors);
    }
    match state
        .app
        .compare_uploads(principal, approved, capture, &context)
        .await
    {
        Ok(view) => Ok(
            axum::response::Redirect::to(&format!("/comparisons/{}", view.record.id))
                .into_response(),
        ),
        Err(AppError::ComparisonUnavailable(cause)) => {
            tracing::error!(%cause, "document comparison unavailable");
            let api = *ApiError::from(AppError::ComparisonUnavailable(cause)).0;
            let errors = FieldErrors {
                general: Some(api.message.get(i18n::current()).to_owned()),
                ..FieldErrors::default()
            };
            form_page(&state, &page, errors)
        }
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[("document", "approved")])?;
            form_page(&state, &page, errors)
        }
    }
}

/// The two files of the form, each at most `max` bytes; an error names the field.
async fn read_files(
    mut multipart: Multipart,
    max: usize,
) -> Result<(Bytes, Bytes), (&'static str, String)> {
    let (mut approved, mut capture) = (Bytes::new(), Bytes::new());
    // Two files and a little more: other parts are read and dropped, within this bound.
    let mut budget = max.saturating_mul(2).saturating_add(1024 * 1024);
    let lang = i18n::current();
    let too_large = |field: &'static str| {
        let mb = max / (1024 * 1024);
        let message = match lang {
            i18n::Lang::Zh => format!("文件过大（最大 {mb} MB）。"),
            i18n::Lang::En => format!("The file is too large (at most {mb} MB)."),
        };
        (field, message)
    };
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(too_large("approved")),
        };
        let name: &'static str = match field.name() {
            Some("capture") => "capture",
            Some("approved") => "approved",
            _ => "",
        };
        let mut data = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    budget = match budget.checked_sub(chunk.len()) {
                        Some(left) => left,
                        None => return Err(too_large("approved")),
                    };
                    if data.len() + chunk.len() > max {
                        return Err(too_large(if name.is_empty() { "approved" } else { name }));
                    }
                    data.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => return Err(too_large(if name.is_empty() { "approved" } else { name })),
            }
        }
        match name {
            "approved" => approved = Bytes::from(data),
            "capture" => capture = Bytes::from(data),
            _ => {}
        }
    }
    Ok((approved, capture))
}

#[derive(Template)]
#[template(path = "comparison.html")]
struct ComparisonPage {
    chrome: Chrome,
    row: ComparisonRow,
    /// What the verdict means, in a sentence.
    explain: &'static str,
    application_id: Option<String>,
}

/// One comparison: the verdict, the differences and the side-by-side diff image.
#[utoipa::path(get, path = "/comparisons/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn comparison(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = ComparisonId::parse(&id).map_err(|_| PageError::NotFound)?;
    let view = state.app.comparison(principal, id).await?;
    let row = comparison_row(page.t, &view);
    render(&ComparisonPage {
        chrome: page.chrome("compare.result_title"),
        application_id: view.record.application.map(|a| a.to_string()),
        explain: page.t.get(&format!("compare.explain.{}", row.verdict_key)),
        row,
    })
}

/// A comparison's side-by-side diff image.
#[utoipa::path(get, path = "/comparisons/{id}/diff.png", tag = "web", params(("id" = String, Path)), responses((status = 200, content_type = "image/png")))]
pub async fn comparison_diff(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = ComparisonId::parse(&id).map_err(|_| PageError::NotFound)?;
    let png = state.app.comparison_image(principal, id).await?;
    Ok(png_response(png))
}
