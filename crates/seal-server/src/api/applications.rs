//! Seal-use applications over JSON: drafts, documents, submission, decisions,
//! withdrawal, grants and the approver's inbox.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use seal_app::applications::{ApplicationInput, ApplicationQuery, ApplicationView, Scope, Upload};
use seal_app::directory::Page;
use seal_core::application::ApplicationStatus;
use seal_core::ids::{ApplicationId, DocumentId};
use seal_store::{ApplicationRecord, DocumentRecord, GrantRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::parse_path_id;
use crate::api::seals::SealDto;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, Context};

/// An application in a list.
#[derive(Serialize, ToSchema)]
pub struct ApplicationDto {
    pub id: String,
    /// `ORG-YEAR-SEQUENCE`, unique.
    pub number: String,
    pub applicant_id: String,
    pub department_id: Option<String>,
    pub seal_id: String,
    /// `ordinary`, `cross_page`, `take_out` or `electronic`.
    pub stamp_kind: String,
    pub title: String,
    pub reason: String,
    /// Stampings asked for.
    pub count: u32,
    pub uses_done: u32,
    pub from: String,
    pub until: String,
    /// `draft`, `submitted`, `in_review`, `approved`, `rejected`, `withdrawn`, `in_use`,
    /// `completed`, `expired` or `revoked`.
    pub status: String,
    pub submitted_at: Option<String>,
    pub decided_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&ApplicationRecord> for ApplicationDto {
    fn from(a: &ApplicationRecord) -> Self {
        let l = &a.lifecycle;
        ApplicationDto {
            id: a.id.to_string(),
            number: a.number.to_string(),
            applicant_id: a.applicant.to_string(),
            department_id: a.department.map(|d| d.to_string()),
            seal_id: a.seal.to_string(),
            stamp_kind: a.stamp_kind.key().to_owned(),
            title: a.title.as_str().to_owned(),
            reason: a.reason.as_str().to_owned(),
            count: l.allowed().get(),
            uses_done: l.uses_done(),
            from: l.window().from().to_string(),
            until: l.window().until().to_string(),
            status: l.status().key().to_owned(),
            submitted_at: a.submitted_at.map(|t| t.to_string()),
            decided_at: a.decided_at.map(|t| t.to_string()),
            created_at: a.created_at.to_string(),
            updated_at: a.updated_at.to_string(),
        }
    }
}

/// A document attached to an application.
#[derive(Serialize, ToSchema)]
pub struct DocumentDto {
    pub id: String,
    pub name: String,
    /// Decided from the content: `application/pdf`, `image/png` or `image/jpeg`.
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub pages: i64,
    pub created_at: String,
}

impl From<&DocumentRecord> for DocumentDto {
    fn from(d: &DocumentRecord) -> Self {
        DocumentDto {
            id: d.id.to_string(),
            name: d.name.clone(),
            media_type: d.media_type.clone(),
            size_bytes: d.size_bytes,
            sha256: d.sha256.clone(),
            pages: d.pages,
            created_at: d.created_at.to_string(),
        }
    }
}

/// A review step resolved to people.
#[derive(Serialize, ToSchema)]
pub struct StepStateDto {
    pub name: String,
    pub rule: String,
    pub approvers: Vec<String>,
}

/// A recorded decision.
#[derive(Serialize, ToSchema)]
pub struct DecisionDto {
    /// 1-based step number.
    pub step: usize,
    pub person_id: String,
    pub verdict: String,
    pub comment: String,
    pub at: String,
}

/// What an approved application allows at a device or signer.
#[derive(Serialize, ToSchema)]
pub struct GrantDto {
    pub id: String,
    pub uses_allowed: u32,
    pub from: String,
    pub until: String,
    /// The factors demanded at the device, e.g. `fingerprint+face`, `pin|id_code`.
    pub factors: String,
    pub device_id: Option<String>,
    /// `active`, `consumed`, `expired` or `revoked`.
    pub status: String,
    pub issued_at: String,
    pub ended_at: Option<String>,
    pub end_reason: String,
}

impl From<&GrantRecord> for GrantDto {
    fn from(g: &GrantRecord) -> Self {
        GrantDto {
            id: g.id.to_string(),
            uses_allowed: g.uses_allowed.get(),
            from: g.window.from().to_string(),
            until: g.window.until().to_string(),
            factors: g.factors.to_string(),
            device_id: g.device.clone(),
            status: g.status.key().to_owned(),
            issued_at: g.issued_at.to_string(),
            ended_at: g.ended_at.map(|t| t.to_string()),
            end_reason: g.end_reason.clone(),
        }
    }
}

/// An application with everything its page shows.
#[derive(Serialize, ToSchema)]
pub struct ApplicationDetailDto {
    #[serde(flatten)]
    pub application: ApplicationDto,
    pub seal: SealDto,
    pub documents: Vec<DocumentDto>,
    pub steps: Vec<StepStateDto>,
    pub decisions: Vec<DecisionDto>,
    /// 1-based number of the step waiting for decisions.
    pub current_step: Option<usize>,
    pub waiting_on: Vec<String>,
    pub grant: Option<GrantDto>,
    pub can_edit: bool,
    pub can_withdraw: bool,
    pub can_decide: bool,
    pub can_revoke: bool,
}

impl From<&ApplicationView> for ApplicationDetailDto {
    fn from(v: &ApplicationView) -> Self {
        ApplicationDetailDto {
            application: ApplicationDto::from(&v.application),
            seal: SealDto::from(&v.seal),
            documents: v.documents.iter().map(DocumentDto::from).collect(),
            steps: v
                .steps
                .iter()
                .map(|s| StepStateDto {
                    name: s.name.as_str().to_owned(),
                    rule: s.rule.key().to_owned(),
                    approvers: s.approvers.iter().map(ToString::to_string).collect(),
                })
                .collect(),
            decisions: v
                .decisions
                .iter()
                .map(|d| DecisionDto {
                    step: d.decision.step + 1,
                    person_id: d.decision.person.to_string(),
                    verdict: d.decision.verdict.key().to_owned(),
                    comment: d.comment.clone(),
                    at: d.at.to_string(),
                })
                .collect(),
            current_step: v.current_step.map(|s| s + 1),
            waiting_on: v.waiting_on.iter().map(ToString::to_string).collect(),
            grant: v.grant.as_ref().map(GrantDto::from),
            can_edit: v.can_edit,
            can_withdraw: v.can_withdraw,
            can_decide: v.can_decide,
            can_revoke: v.can_revoke,
        }
    }
}

/// A draft's fields.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationBody {
    pub seal_id: String,
    pub stamp_kind: String,
    pub title: String,
    pub reason: String,
    pub count: i64,
    /// RFC 3339 UTC (`2026-11-22T08:00:00Z`) or a date.
    pub from: String,
    pub until: String,
}

impl From<ApplicationBody> for ApplicationInput {
    fn from(b: ApplicationBody) -> Self {
        ApplicationInput {
            seal: b.seal_id,
            stamp_kind: b.stamp_kind,
            title: b.title,
            reason: b.reason,
            count: b.count,
            from: b.from,
            until: b.until,
        }
    }
}

/// A page of applications.
#[derive(Serialize, ToSchema)]
pub struct ApplicationPage {
    pub items: Vec<ApplicationDto>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// List filters.
#[derive(Deserialize, IntoParams)]
pub struct ApplicationListParams {
    /// `mine` (default) or `all` (`applications.read_all`).
    pub scope: Option<String>,
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Matches the number or the title.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Upload options.
#[derive(Deserialize, IntoParams)]
pub struct UploadParams {
    /// The file's name, for display only; the type is judged from the content.
    pub name: Option<String>,
}

/// A decision.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `approve` or `reject`.
    pub verdict: String,
    /// Required when rejecting.
    #[serde(default)]
    pub comment: String,
}

/// A reason for revoking a grant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    pub reason: String,
}

/// Lists the caller's applications, or with `scope=all` every application of the
/// organisation (`applications.create` / `applications.read_all`).
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(ApplicationListParams),
    responses((status = 200, body = ApplicationPage), (status = 403, body = ErrorBody)))]
pub async fn list_applications(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(params): ApiQuery<ApplicationListParams>,
) -> Result<Json<ApplicationPage>, ApiError> {
    let scope = match params.scope.as_deref() {
        Some("all") => Scope::All,
        _ => Scope::Mine,
    };
    let mut statuses = Vec::new();
    for key in params
        .status
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.trim().is_empty())
    {
        statuses.push(ApplicationStatus::parse(key).ok_or_else(|| {
            ApiError::from(seal_app::AppError::invalid(
                "status",
                seal_app::error::Invalid::UnknownKey(key.to_owned()),
            ))
        })?);
    }
    let page = Page::new(params.page, params.per_page);
    let query = ApplicationQuery {
        statuses,
        text: params.q,
        page,
    };
    let (items, total) = state.app.applications(&principal, scope, &query).await?;
    Ok(Json(ApplicationPage {
        items: items.iter().map(ApplicationDto::from).collect(),
        total,
        page: page.number,
        per_page: page.size,
    }))
}

/// Files a draft application (`applications.create`); add documents, then submit.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = ApplicationBody,
    responses((status = 201, body = ApplicationDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_application(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<ApplicationBody>,
) -> Result<(StatusCode, Json<ApplicationDto>), ApiError> {
    let application = state
        .app
        .create_application(&principal, &body.into(), &context)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApplicationDto::from(&application)),
    ))
}

/// One application with its documents, review and grant (its applicant, its approvers,
/// the seal's keeper, `applications.read_all`).
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path)),
    responses((status = 200, body = ApplicationDetailDto), (status = 404, body = ErrorBody)))]
pub async fn get_application(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<ApplicationDetailDto>, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let view = state.app.application_view(&principal, id).await?;
    Ok(Json(ApplicationDetailDto::from(&view)))
}

/// Replaces a draft's fields (its applicant).
#[utoipa::path(put, path = "/api/v1/applications/{id}", tag = "applications", params(("id" = String, Path)), request_body = ApplicationBody,
    responses((status = 200, body = ApplicationDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_application(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ApplicationBody>,
) -> Result<Json<ApplicationDto>, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let application = state
        .app
        .update_application(&principal, id, &body.into(), &context)
        .await?;
    Ok(Json(ApplicationDto::from(&application)))
}

/// Adds a document to a draft: the request body is the file (PDF, PNG or JPEG, judged
/// by content; the declared content type is ignored).
#[utoipa::path(post, path = "/api/v1/applications/{id}/documents", tag = "applications", params(("id" = String, Path), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = DocumentDto), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_document(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<UploadParams>,
    body: Body,
) -> Result<(StatusCode, Json<DocumentDto>), ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let max = state.app.settings().document_max_bytes;
    let bytes = read_limited(body, max).await?;
    let upload = Upload {
        name: params.name.unwrap_or_default(),
        bytes,
    };
    let document = state
        .app
        .add_document(&principal, id, upload, &context)
        .await?;
    Ok((StatusCode::CREATED, Json(DocumentDto::from(&document))))
}

/// Reads a request body of at most `max` bytes, answering 413 beyond.
pub(crate) async fn read_limited(body: Body, max: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, max).await.map_err(|_| {
        let mb = max / (1024 * 1024);
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid.document.too_large",
            format!("文件过大（最大 {mb} MB）。"),
            format!("The file is too large (at most {mb} MB)."),
        )
        .with_field("file")
    })
}

/// A document's bytes, with the media type decided from its content at upload.
#[utoipa::path(get, path = "/api/v1/applications/{id}/documents/{document}", tag = "applications",
    params(("id" = String, Path), ("document" = String, Path)),
    responses((status = 200, content_type = "application/pdf"), (status = 404, body = ErrorBody)))]
pub async fn get_document(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, document)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let document = parse_path_id(&document, DocumentId::parse)?;
    let (record, bytes) = state
        .app
        .document_content(&principal, id, document, false)
        .await?;
    Ok(document_response(&record, bytes, false))
}

/// Removes a document from a draft (its applicant).
#[utoipa::path(delete, path = "/api/v1/applications/{id}/documents/{document}", tag = "applications",
    params(("id" = String, Path), ("document" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_document(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path((id, document)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let document = parse_path_id(&document, DocumentId::parse)?;
    state
        .app
        .remove_document(&principal, id, document, &context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A document's first-page thumbnail (PNG).
#[utoipa::path(get, path = "/api/v1/applications/{id}/documents/{document}/thumbnail", tag = "applications",
    params(("id" = String, Path), ("document" = String, Path)),
    responses((status = 200, content_type = "image/png"), (status = 404, body = ErrorBody)))]
pub async fn get_thumbnail(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, document)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let document = parse_path_id(&document, DocumentId::parse)?;
    let (record, bytes) = state
        .app
        .document_content(&principal, id, document, true)
        .await?;
    Ok(document_response(&record, bytes, true))
}

/// A stored document as a download: the media type recorded from the content (never
/// the upload's), `nosniff`, and as an attachment so a browser never renders it inline
/// as our origin's page.
pub(crate) fn document_response(
    record: &DocumentRecord,
    bytes: Bytes,
    thumbnail: bool,
) -> Response {
    let content_type = if thumbnail {
        "image/png".to_owned()
    } else {
        record.media_type.clone()
    };
    let disposition = if thumbnail {
        "inline".to_owned()
    } else {
        // An ASCII stand-in for old clients, the real name (UTF-8) for the rest.
        let ascii: String = record
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!(
            "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
            urlencoding::encode(&record.name)
        )
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// Submits a draft for approval (its applicant): needs a document, a usable seal and a
/// flow that resolves to approvers other than the applicant (and not the keeper alone).
#[utoipa::path(post, path = "/api/v1/applications/{id}/submit", tag = "applications", params(("id" = String, Path)),
    responses((status = 200, body = ApplicationDto), (status = 409, body = ErrorBody)))]
pub async fn submit_application(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Json<ApplicationDto>, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let application = state
        .app
        .submit_application(&principal, id, &context)
        .await?;
    Ok(Json(ApplicationDto::from(&application)))
}

/// Withdraws an application before its last decision (its applicant).
#[utoipa::path(post, path = "/api/v1/applications/{id}/withdraw", tag = "applications", params(("id" = String, Path)),
    responses((status = 200, body = ApplicationDto), (status = 409, body = ErrorBody)))]
pub async fn withdraw_application(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Json<ApplicationDto>, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let application = state
        .app
        .withdraw_application(&principal, id, &context)
        .await?;
    Ok(Json(ApplicationDto::from(&application)))
}

/// Decides the current step (`applications.approve`, as one of its approvers). The
/// last approval issues the grant; a rejection ends the review.
#[utoipa::path(post, path = "/api/v1/applications/{id}/decision", tag = "applications", params(("id" = String, Path)), request_body = DecisionBody,
    responses((status = 200, body = ApplicationDetailDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide_application(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<ApplicationDetailDto>, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let view = state
        .app
        .decide_application(&principal, id, &body.verdict, &body.comment, &context)
        .await?;
    Ok(Json(ApplicationDetailDto::from(&view)))
}

/// Revokes the application's grant (`seals.manage`).
#[utoipa::path(post, path = "/api/v1/applications/{id}/grant/revoke", tag = "applications", params(("id" = String, Path)), request_body = RevokeBody,
    responses((status = 200, body = ApplicationDetailDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RevokeBody>,
) -> Result<Json<ApplicationDetailDto>, ApiError> {
    let id = parse_path_id(&id, ApplicationId::parse)?;
    let view = state
        .app
        .revoke_grant(&principal, id, &body.reason, &context)
        .await?;
    Ok(Json(ApplicationDetailDto::from(&view)))
}

/// Applications waiting for the caller's decision now (`applications.approve`).
#[utoipa::path(get, path = "/api/v1/inbox", tag = "applications", responses((status = 200, body = [ApplicationDto]), (status = 403, body = ErrorBody)))]
pub async fn inbox(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<ApplicationDto>>, ApiError> {
    let items = state.app.inbox(&principal).await?;
    Ok(Json(items.iter().map(ApplicationDto::from).collect()))
}
