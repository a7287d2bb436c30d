//! Document comparison in the JSON API: compare an uploaded approved document with a
//! capture, read stored comparisons and their side-by-side diff images, an application's
//! comparisons (printer scans and press photos), and the organisation's thresholds.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use seal_app::comparison::{ComparisonView, DifferenceView};
use seal_core::comparison::{ComparisonThresholds, PressCheck};
use seal_core::ids::{ApplicationId, ComparisonId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::parse_path_id;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Auth, Context};

/// One difference: what it is, whether it matters, the texts, and boxes
/// `[x, y, width, height]` in pixels of the approved page and of the straightened capture
/// (the two halves of the diff image, each scaled to its height).
#[derive(Serialize, ToSchema)]
pub struct DifferenceDto {
    /// `changed`, `deleted`, `inserted`, `other_page`, `blank`, `visual` or `unreadable`.
    pub kind: String,
    pub material: bool,
    pub approved_text: String,
    pub captured_text: String,
    pub approved_boxes: Vec<[f32; 4]>,
    pub captured_boxes: Vec<[f32; 4]>,
    pub reason: String,
}

impl From<&DifferenceView> for DifferenceDto {
    fn from(d: &DifferenceView) -> Self {
        DifferenceDto {
            kind: d.kind.clone(),
            material: d.material,
            approved_text: d.approved_text.clone(),
            captured_text: d.captured_text.clone(),
            approved_boxes: d.approved_boxes.clone(),
            captured_boxes: d.captured_boxes.clone(),
            reason: d.reason.clone(),
        }
    }
}

/// A stored comparison.
#[derive(Serialize, ToSchema)]
pub struct ComparisonDto {
    pub id: String,
    /// `print_scan`, `press_photo` or `manual`.
    pub subject: String,
    /// `match`, `mismatch` or `uncertain`.
    pub verdict: String,
    /// Similarity of the texts, 0 to 1.
    pub score: f32,
    /// The capture is an empty or nearly empty page.
    pub blank: bool,
    pub application_id: Option<String>,
    pub stamp_id: Option<String>,
    pub device_id: Option<String>,
    pub document_id: Option<String>,
    pub document_name: Option<String>,
    /// The approved page the capture shows, from 1.
    pub page: Option<u32>,
    pub differences: Vec<DifferenceDto>,
    /// The side-by-side diff image, when one was drawn.
    pub diff_url: Option<String>,
    pub capture_sha256: Option<String>,
    pub engine: String,
    pub millis: i64,
    pub created_at: String,
}

impl From<&ComparisonView> for ComparisonDto {
    fn from(v: &ComparisonView) -> Self {
        let r = &v.record;
        ComparisonDto {
            id: r.id.to_string(),
            subject: r.subject.key().to_owned(),
            verdict: r.verdict.key().to_owned(),
            score: r.score,
            blank: r.blank,
            application_id: r.application.map(|x| x.to_string()),
            stamp_id: r.stamp.map(|x| x.to_string()),
            device_id: r.device.map(|x| x.to_string()),
            document_id: r.document.map(|x| x.to_string()),
            document_name: v.document_name.clone(),
            page: r.page.map(|p| p + 1),
            differences: v.differences.iter().map(DifferenceDto::from).collect(),
            diff_url: r
                .diff_key
                .as_ref()
                .map(|_| format!("/api/v1/comparisons/{}/diff.png", r.id)),
            capture_sha256: r.capture_sha256.clone(),
            engine: r.engine.clone(),
            millis: r.millis,
            created_at: r.created_at.to_string(),
        }
    }
}

/// The organisation's comparison thresholds and press-check policy.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ThresholdsDto {
    /// Below this text similarity to every approved page, the capture is another page.
    pub other_page_below: f32,
    /// At or above this similarity, with no material difference, a match.
    pub match_at_least: f32,
    /// Small differences per 100 characters still taken for misreadings.
    pub minor_per_100: f32,
    /// A page with fewer recognised characters than this is blank.
    pub blank_chars_below: u32,
    /// What a mismatching press photo does: `off`, `alarm` or `alarm_and_lock`.
    pub press_check: String,
}

impl From<&ComparisonThresholds> for ThresholdsDto {
    fn from(t: &ComparisonThresholds) -> Self {
        ThresholdsDto {
            other_page_below: t.other_page_below,
            match_at_least: t.match_at_least,
            minor_per_100: t.minor_per_100,
            blank_chars_below: t.blank_chars_below,
            press_check: t.press_check.as_str().to_owned(),
        }
    }
}

/// Reads the two files of a comparison upload, each at most `max` bytes.
async fn read_uploads(mut multipart: Multipart, max: usize) -> Result<(Bytes, Bytes), ApiError> {
    let too_large = || {
        let mb = max / (1024 * 1024);
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid.document.too_large",
            format!("文件过大（最大 {mb} MB）。"),
            format!("The file is too large (at most {mb} MB)."),
        )
    };
    let (mut approved, mut capture) = (Bytes::new(), Bytes::new());
    // Two files and a little more: other parts are read and dropped, within this bound.
    let mut budget = max.saturating_mul(2).saturating_add(1024 * 1024);
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(malformed()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let mut data = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| malformed())? {
            budget = budget.checked_sub(chunk.len()).ok_or_else(too_large)?;
            if data.len() + chunk.len() > max {
                return Err(too_large().with_field(if name == "capture" {
                    "capture"
                } else {
                    "approved"
                }));
            }
            data.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "approved" => approved = Bytes::from(data),
            "capture" => capture = Bytes::from(data),
            _ => {}
        }
    }
    Ok((approved, capture))
}

fn malformed() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid.comparison.form",
        "请以 multipart/form-data 上传 approved 和 capture 两个文件。",
        "Send multipart/form-data with two files, approved and capture.",
    )
}

/// Compares an approved document (PDF, PNG or JPEG, part `approved`) with a photo or scan
/// of the page on site (PNG or JPEG, part `capture`), and stores the decision.
#[utoipa::path(post, path = "/api/v1/comparisons", tag = "comparisons",
    request_body(content_type = "multipart/form-data", description = "Two files: `approved` and `capture`."),
    responses((status = 201, body = ComparisonDto), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_comparison(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    request: Request,
) -> Result<(StatusCode, Json<ComparisonDto>), ApiError> {
    // Who may compare is decided before the upload is read.
    state.app.may_compare(&principal)?;
    let multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|_| malformed())?;
    let max = state.app.settings().document_max_bytes;
    let (approved, capture) = read_uploads(multipart, max).await?;
    if capture.is_empty() || approved.is_empty() {
        return Err(ApiError::from(seal_app::AppError::invalid(
            if approved.is_empty() {
                "approved"
            } else {
                "capture"
            },
            seal_app::error::Invalid::NothingToCompare,
        )));
    }
    let view = state
        .app
        .compare_uploads(&principal, approved, capture, &context)
        .await?;
    Ok((StatusCode::CREATED, Json(ComparisonDto::from(&view))))
}

/// A stored comparison.
#[utoipa::path(get, path = "/api/v1/comparisons/{id}", tag = "comparisons", params(("id" = String, Path)),
    responses((status = 200, body = ComparisonDto), (status = 404, body = ErrorBody)))]
pub async fn get_comparison(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<ComparisonDto>, ApiError> {
    let id = parse_path_id(&id, ComparisonId::parse)?;
    let view = state.app.comparison(&principal, id).await?;
    Ok(Json(ComparisonDto::from(&view)))
}

/// The side-by-side diff image of a comparison: the approved page left, the capture right,
/// differences outlined (red: material, amber: perhaps a misreading).
#[utoipa::path(get, path = "/api/v1/comparisons/{id}/diff.png", tag = "comparisons", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/png"), (status = 404, body = ErrorBody)))]
pub async fn comparison_diff(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_path_id(&id, ComparisonId::parse)?;
    let png = state.app.comparison_image(&principal, id).await?;
    Ok(png_response(png))
}

pub(crate) fn png_response(png: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    )
        .into_response()
}

/// An application's comparisons (printer scans and press photos), newest first.
#[utoipa::path(get, path = "/api/v1/applications/{id}/comparisons", tag = "comparisons", params(("id" = String, Path)),
    responses((status = 200, body = [ComparisonDto]), (status = 404, body = ErrorBody)))]
pub async fn application_comparisons(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<ComparisonDto>>, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let views = state.app.application_comparisons(&principal, id).await?;
    Ok(Json(views.iter().map(ComparisonDto::from).collect()))
}

/// The organisation's comparison thresholds (the defaults until set).
#[utoipa::path(get, path = "/api/v1/org/comparison-thresholds", tag = "comparisons",
    responses((status = 200, body = ThresholdsDto), (status = 403, body = ErrorBody)))]
pub async fn get_thresholds(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<ThresholdsDto>, ApiError> {
    let t = state.app.comparison_thresholds(&principal).await?;
    Ok(Json(ThresholdsDto::from(&t)))
}

/// Sets the organisation's comparison thresholds (needs `org.manage`; audited).
#[utoipa::path(put, path = "/api/v1/org/comparison-thresholds", tag = "comparisons", request_body = ThresholdsDto,
    responses((status = 200, body = ThresholdsDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_thresholds(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<ThresholdsDto>,
) -> Result<Json<ThresholdsDto>, ApiError> {
    let press_check = PressCheck::parse(body.press_check.trim()).ok_or_else(|| {
        ApiError::from(seal_app::AppError::invalid(
            "press_check",
            seal_app::error::Invalid::UnknownKey(body.press_check.clone()),
        ))
    })?;
    let t = ComparisonThresholds {
        other_page_below: body.other_page_below,
        match_at_least: body.match_at_least,
        minor_per_100: body.minor_per_100,
        blank_chars_below: body.blank_chars_below,
        press_check,
    };
    let t = state
        .app
        .set_comparison_thresholds(&principal, t, &context)
        .await?;
    Ok(Json(ThresholdsDto::from(&t)))
}
