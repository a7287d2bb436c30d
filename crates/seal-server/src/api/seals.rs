//! The seal registry, its images and factor policy, and approval flows, over JSON.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use seal_app::flows::{FlowInput, StepInput};
use seal_app::seals::{FactorPolicyInput, ImageFormat, SealInput};
use seal_core::flow::{Approvers, Condition};
use seal_core::ids::{FlowId, SealId};
use seal_core::seal::{FactorPolicy, SealLevel};
use seal_store::{FlowRecord, SealRecord, SealStatusChange};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::parse_path_id;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, Context};

/// A seal in the registry.
#[derive(Serialize, ToSchema)]
pub struct SealDto {
    pub id: String,
    pub name: String,
    /// `seal_box`, `seal_printer` or `electronic`.
    pub kind: String,
    /// `official`, `finance`, `contract`, `business`, `legal_representative`, `invoice`, `custom`.
    pub seal_type: String,
    /// `round`, `oval` or `square`.
    pub shape: String,
    pub width_mm: u8,
    pub height_mm: u8,
    /// 1 (highest) to 3.
    pub level: u8,
    pub keeper_id: Option<String>,
    /// `active`, `suspended`, `reported_lost`, `revoked`, `destroyed`.
    pub status: String,
    pub status_reason: String,
    /// The registry filing code (备案编码), once filed.
    pub filing_code: Option<String>,
    /// The seal's own approval flow; null: the organisation's default.
    pub flow_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&SealRecord> for SealDto {
    fn from(s: &SealRecord) -> Self {
        let (w, h) = s.shape.size_mm();
        SealDto {
            id: s.id.to_string(),
            name: s.name.as_str().to_owned(),
            kind: s.kind.key().to_owned(),
            seal_type: s.seal_type.key().to_owned(),
            shape: s.shape.key().to_owned(),
            width_mm: w,
            height_mm: h,
            level: s.level.get(),
            keeper_id: s.keeper.map(|k| k.to_string()),
            status: s.status.key().to_owned(),
            status_reason: s.status_reason.clone(),
            filing_code: s.filing_code.as_ref().map(|c| c.as_str().to_owned()),
            flow_id: s.flow.map(|f| f.to_string()),
            created_at: s.created_at.to_string(),
            updated_at: s.updated_at.to_string(),
        }
    }
}

/// One status change of a seal.
#[derive(Serialize, ToSchema)]
pub struct SealStatusChangeDto {
    pub at: String,
    pub from: Option<String>,
    pub to: String,
    pub reason: String,
    pub actor: String,
}

impl From<&SealStatusChange> for SealStatusChangeDto {
    fn from(c: &SealStatusChange) -> Self {
        SealStatusChangeDto {
            at: c.at.to_string(),
            from: c.from.map(|s| s.key().to_owned()),
            to: c.to.key().to_owned(),
            reason: c.reason.clone(),
            actor: c.actor.clone(),
        }
    }
}

/// A seal with its status history.
#[derive(Serialize, ToSchema)]
pub struct SealDetailDto {
    #[serde(flatten)]
    pub seal: SealDto,
    pub history: Vec<SealStatusChangeDto>,
}

/// A seal to register or the new fields of one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealBody {
    pub name: String,
    pub kind: String,
    pub seal_type: String,
    /// Omitted: the usual shape for the type (40 mm round; 20 mm square for a legal
    /// representative's seal; 40 × 30 mm oval for an invoice seal).
    #[serde(default)]
    pub shape: Option<String>,
    #[serde(default)]
    pub width_mm: Option<i64>,
    #[serde(default)]
    pub height_mm: Option<i64>,
    pub level: i64,
    #[serde(default)]
    pub keeper_id: Option<String>,
    #[serde(default)]
    pub filing_code: Option<String>,
    #[serde(default)]
    pub flow_id: Option<String>,
}

impl From<SealBody> for SealInput {
    fn from(b: SealBody) -> Self {
        SealInput {
            name: b.name,
            kind: b.kind,
            seal_type: b.seal_type,
            shape: b.shape.unwrap_or_default(),
            width_mm: b.width_mm,
            height_mm: b.height_mm,
            level: b.level,
            keeper: b.keeper_id.unwrap_or_default(),
            filing_code: b.filing_code.unwrap_or_default(),
            flow: b.flow_id.unwrap_or_default(),
        }
    }
}

/// A status change with its reason.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealStatusBody {
    /// `active`, `suspended`, `reported_lost`, `revoked` or `destroyed`.
    pub status: String,
    pub reason: String,
}

/// Image options.
#[derive(Deserialize, IntoParams)]
pub struct ImageParams {
    /// `svg` (default) or `png`.
    pub format: Option<String>,
    /// PNG resolution, 72–1200 (default 300).
    pub dpi: Option<u32>,
}

/// The factors each seal level demands (`fingerprint+face`, `pin|id_code`).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactorPolicyDto {
    pub level1: String,
    pub level2: String,
    pub level3: String,
}

impl From<&FactorPolicy> for FactorPolicyDto {
    fn from(p: &FactorPolicy) -> Self {
        let [l1, l2, l3] = SealLevel::ALL;
        FactorPolicyDto {
            level1: p.rule(l1).to_string(),
            level2: p.rule(l2).to_string(),
            level3: p.rule(l3).to_string(),
        }
    }
}

/// One step of a flow.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDto {
    pub name: String,
    /// `people`, `role`, `department_head` or `seal_keeper`.
    pub approvers: String,
    /// Person ids, for `people`.
    #[serde(default)]
    pub people: Vec<String>,
    /// A role id, for `role`.
    #[serde(default)]
    pub role_id: Option<String>,
    /// `any` (one approval passes the step) or `all`.
    pub rule: String,
    /// Omitted: always; `count_above`, `seal_level1` or `stamp_kind`.
    #[serde(default)]
    pub condition: Option<String>,
    /// The number for `count_above`, the stamp kind for `stamp_kind`.
    #[serde(default)]
    pub condition_value: Option<String>,
}

/// An approval flow.
#[derive(Serialize, ToSchema)]
pub struct FlowDto {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub steps: Vec<StepDto>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&FlowRecord> for FlowDto {
    fn from(f: &FlowRecord) -> Self {
        FlowDto {
            id: f.id.to_string(),
            name: f.name.as_str().to_owned(),
            is_default: f.is_default,
            steps: f
                .flow
                .steps()
                .iter()
                .map(|s| {
                    let (condition, condition_value) = match s.condition {
                        None => (None, None),
                        Some(Condition::CountAbove(n)) => {
                            (Some("count_above"), Some(n.to_string()))
                        }
                        Some(Condition::SealLevel1) => (Some("seal_level1"), None),
                        Some(Condition::StampKindIs(k)) => {
                            (Some("stamp_kind"), Some(k.key().to_owned()))
                        }
                    };
                    StepDto {
                        name: s.name.as_str().to_owned(),
                        approvers: s.approvers.key().to_owned(),
                        people: match &s.approvers {
                            Approvers::People(p) => p.iter().map(ToString::to_string).collect(),
                            _ => Vec::new(),
                        },
                        role_id: match &s.approvers {
                            Approvers::Role(r) => Some(r.to_string()),
                            _ => None,
                        },
                        rule: s.rule.key().to_owned(),
                        condition: condition.map(str::to_owned),
                        condition_value,
                    }
                })
                .collect(),
            created_at: f.created_at.to_string(),
            updated_at: f.updated_at.to_string(),
        }
    }
}

/// A flow to create or replace.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowBody {
    pub name: String,
    #[serde(default)]
    pub is_default: bool,
    pub steps: Vec<StepDto>,
}

impl From<FlowBody> for FlowInput {
    fn from(b: FlowBody) -> Self {
        FlowInput {
            name: b.name,
            is_default: b.is_default,
            steps: b
                .steps
                .into_iter()
                .map(|s| StepInput {
                    name: s.name,
                    approvers: s.approvers,
                    people: s.people,
                    role: s.role_id.unwrap_or_default(),
                    rule: s.rule,
                    condition: s.condition.unwrap_or_default(),
                    condition_value: s.condition_value.unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// The organisation's seals (`seals.read`).
#[utoipa::path(get, path = "/api/v1/seals", tag = "seals", responses((status = 200, body = [SealDto]), (status = 403, body = ErrorBody)))]
pub async fn list_seals(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<SealDto>>, ApiError> {
    let seals = state.app.seals(&principal).await?;
    Ok(Json(seals.iter().map(SealDto::from).collect()))
}

/// Registers a seal (`seals.manage`). The keeper must hold `seals.keep`.
#[utoipa::path(post, path = "/api/v1/seals", tag = "seals", request_body = SealBody,
    responses((status = 201, body = SealDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_seal(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<SealBody>,
) -> Result<(StatusCode, Json<SealDto>), ApiError> {
    let seal = state
        .app
        .create_seal(&principal, &body.into(), &context)
        .await?;
    Ok((StatusCode::CREATED, Json(SealDto::from(&seal))))
}

/// One seal with its status history (`seals.read`).
#[utoipa::path(get, path = "/api/v1/seals/{id}", tag = "seals", params(("id" = String, Path)),
    responses((status = 200, body = SealDetailDto), (status = 404, body = ErrorBody)))]
pub async fn get_seal(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<SealDetailDto>, ApiError> {
    let id = parse_path_id(&id, SealId::parse)?;
    let detail = state.app.seal(&principal, id).await?;
    Ok(Json(SealDetailDto {
        seal: SealDto::from(&detail.seal),
        history: detail
            .history
            .iter()
            .map(SealStatusChangeDto::from)
            .collect(),
    }))
}

/// Replaces a seal's fields (`seals.manage`); the status changes separately.
#[utoipa::path(put, path = "/api/v1/seals/{id}", tag = "seals", params(("id" = String, Path)), request_body = SealBody,
    responses((status = 200, body = SealDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_seal(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SealBody>,
) -> Result<Json<SealDto>, ApiError> {
    let id = parse_path_id(&id, SealId::parse)?;
    let seal = state
        .app
        .update_seal(&principal, id, &body.into(), &context)
        .await?;
    Ok(Json(SealDto::from(&seal)))
}

/// Changes a seal's status with a reason (`seals.manage`). Suspending, reporting lost,
/// revoking or destroying a seal revokes its active grants.
#[utoipa::path(post, path = "/api/v1/seals/{id}/status", tag = "seals", params(("id" = String, Path)), request_body = SealStatusBody,
    responses((status = 200, body = SealDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_seal_status(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SealStatusBody>,
) -> Result<Json<SealDto>, ApiError> {
    let id = parse_path_id(&id, SealId::parse)?;
    let seal = state
        .app
        .change_seal_status(&principal, id, &body.status, &body.reason, &context)
        .await?;
    Ok(Json(SealDto::from(&seal)))
}

/// The seal image (印章模型) at true size: SVG (text as outlines), or PNG at a dpi
/// (`seals.read`).
#[utoipa::path(get, path = "/api/v1/seals/{id}/image", tag = "seals", params(("id" = String, Path), ImageParams),
    responses((status = 200, content_type = "image/svg+xml"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn seal_image(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ImageParams>,
) -> Result<Response, ApiError> {
    let id = parse_path_id(&id, SealId::parse)?;
    let (format, content_type) = match params.format.as_deref().unwrap_or("svg") {
        "png" => (
            ImageFormat::Png {
                dpi: params.dpi.unwrap_or(300),
            },
            "image/png",
        ),
        "svg" => (ImageFormat::Svg, "image/svg+xml"),
        other => {
            return Err(ApiError::from(seal_app::AppError::invalid(
                "format",
                seal_app::error::Invalid::UnknownKey(other.to_owned()),
            )));
        }
    };
    let bytes = state.app.seal_image(&principal, id, format).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, max-age=60"),
        ],
        bytes,
    )
        .into_response())
}

/// The factors each seal level demands at the device (`seals.read`).
#[utoipa::path(get, path = "/api/v1/factor-policy", tag = "seals", responses((status = 200, body = FactorPolicyDto)))]
pub async fn get_factor_policy(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<FactorPolicyDto>, ApiError> {
    let policy = state.app.factor_policy(&principal).await?;
    Ok(Json(FactorPolicyDto::from(&policy)))
}

/// Sets the factors each seal level demands (`seals.manage`); grants already issued
/// keep theirs.
#[utoipa::path(put, path = "/api/v1/factor-policy", tag = "seals", request_body = FactorPolicyDto,
    responses((status = 200, body = FactorPolicyDto), (status = 422, body = ErrorBody)))]
pub async fn set_factor_policy(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<FactorPolicyDto>,
) -> Result<Json<FactorPolicyDto>, ApiError> {
    let input = FactorPolicyInput {
        level1: body.level1,
        level2: body.level2,
        level3: body.level3,
    };
    let policy = state
        .app
        .set_factor_policy(&principal, &input, &context)
        .await?;
    Ok(Json(FactorPolicyDto::from(&policy)))
}

/// The organisation's approval flows, the default first (`seals.read`).
#[utoipa::path(get, path = "/api/v1/flows", tag = "seals", responses((status = 200, body = [FlowDto])))]
pub async fn list_flows(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<FlowDto>>, ApiError> {
    let flows = state.app.flows(&principal).await?;
    Ok(Json(flows.iter().map(FlowDto::from).collect()))
}

/// Creates an approval flow (`seals.manage`); a default flow replaces the previous one.
#[utoipa::path(post, path = "/api/v1/flows", tag = "seals", request_body = FlowBody,
    responses((status = 201, body = FlowDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_flow(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<FlowBody>,
) -> Result<(StatusCode, Json<FlowDto>), ApiError> {
    let flow = state
        .app
        .create_flow(&principal, &body.into(), &context)
        .await?;
    Ok((StatusCode::CREATED, Json(FlowDto::from(&flow))))
}

/// One flow (`seals.read`).
#[utoipa::path(get, path = "/api/v1/flows/{id}", tag = "seals", params(("id" = String, Path)),
    responses((status = 200, body = FlowDto), (status = 404, body = ErrorBody)))]
pub async fn get_flow(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<FlowDto>, ApiError> {
    let id = parse_path_id(&id, FlowId::parse)?;
    let flow = state.app.flow(&principal, id).await?;
    Ok(Json(FlowDto::from(&flow)))
}

/// Replaces a flow (`seals.manage`); submitted applications keep their resolved steps.
#[utoipa::path(put, path = "/api/v1/flows/{id}", tag = "seals", params(("id" = String, Path)), request_body = FlowBody,
    responses((status = 200, body = FlowDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_flow(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<FlowBody>,
) -> Result<Json<FlowDto>, ApiError> {
    let id = parse_path_id(&id, FlowId::parse)?;
    let flow = state
        .app
        .update_flow(&principal, id, &body.into(), &context)
        .await?;
    Ok(Json(FlowDto::from(&flow)))
}

/// Deletes a flow that no seal names as its own (`seals.manage`).
#[utoipa::path(delete, path = "/api/v1/flows/{id}", tag = "seals", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_flow(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_path_id(&id, FlowId::parse)?;
    state.app.delete_flow(&principal, id, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}
