//! Stamp proofs over HTTP: the log's latest signed checkpoint (`/log/checkpoint`, C2SP
//! tlog-checkpoint text), inclusion and consistency proofs, the published key set
//! (`/.well-known/sealkeeper/keys.json`), public verification as JSON
//! (`/api/v1/verify/{code}`), and the organisation's own routes: stamp status changes,
//! signing keys and their rotation, and what its verification pages publish.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use seal_app::proofs::Verification;
use seal_core::ids::StampId;
use seal_proof::keyset::KeySet;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::parse_path_id;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, Context};

/// The latest signed checkpoint of the log, as C2SP tlog-checkpoint note text.
#[utoipa::path(get, path = "/log/checkpoint", tag = "proofs",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let checkpoint = state.app.latest_checkpoint().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        checkpoint.note,
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
pub struct InclusionQuery {
    /// The entry's index (from 0).
    pub index: u64,
    /// The tree size (a checkpoint's size).
    pub size: u64,
}

/// A Merkle proof: base64 hashes, in RFC 9162 order.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ProofDto {
    pub proof: Vec<String>,
}

fn proof_dto(hashes: &[[u8; 32]]) -> ProofDto {
    ProofDto {
        proof: hashes.iter().map(|h| STANDARD.encode(h)).collect(),
    }
}

/// The inclusion proof of entry `index` in the tree of `size` entries (RFC 9162 §2.1.3).
#[utoipa::path(get, path = "/log/proof/inclusion", tag = "proofs", params(InclusionQuery),
    responses((status = 200, body = ProofDto), (status = 422, body = ErrorBody)))]
pub async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<Json<ProofDto>, ApiError> {
    let proof = state.app.inclusion_proof(query.index, query.size).await?;
    Ok(Json(proof_dto(&proof)))
}

#[derive(Deserialize, IntoParams)]
pub struct ConsistencyQuery {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size.
    pub to: u64,
}

/// The consistency proof between the trees of `from` and `to` entries (RFC 9162 §2.1.4).
#[utoipa::path(get, path = "/log/proof/consistency", tag = "proofs", params(ConsistencyQuery),
    responses((status = 200, body = ProofDto), (status = 422, body = ErrorBody)))]
pub async fn consistency(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ProofDto>, ApiError> {
    let proof = state.app.consistency_proof(query.from, query.to).await?;
    Ok(Json(proof_dto(&proof)))
}

/// Every organisation's stamp-signing keys (retired ones too, with when they retired)
/// and the log's checkpoint key: what an offline verifier caches.
#[utoipa::path(get, path = "/.well-known/sealkeeper/keys.json", tag = "proofs",
    responses((status = 200, body = KeySet)))]
pub async fn key_set(State(state): State<AppState>) -> Result<Response, ApiError> {
    let set = state.app.key_set().await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=300")], Json(set)).into_response())
}

/// One check that verification made.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CheckDto {
    /// `record`, `token`, `token_matches`, `log_entry`, `checkpoint` or `inclusion`.
    pub check: String,
    pub passed: bool,
    pub detail: String,
}

/// A log entry about the stamp with its inclusion proof.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct LoggedEntryDto {
    pub index: u64,
    /// `stamp` or `stamp_status`.
    pub kind: String,
    /// The entry's bytes (base64); its leaf hash is SHA-256(0x00 ‖ entry).
    pub entry: String,
    /// Base64 hashes proving the entry is in the checkpoint's tree.
    pub proof: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PlaceDto {
    /// Rounded to 0.01°.
    pub lat: f64,
    pub lon: f64,
}

/// What public verification found.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct VerificationDto {
    /// The 26-character code of the QR code.
    pub code: String,
    /// The 20-digit numeric code (数列密押).
    pub numeric_code: String,
    /// Every check passed.
    pub genuine: bool,
    /// `valid`, `revoked` or `disputed`.
    pub status: String,
    /// When the status last changed (absent: valid since made).
    pub status_since: Option<String>,
    /// `press` (a seal box) or `print` (a seal printer).
    pub kind: String,
    pub organisation: String,
    pub seal: Option<String>,
    /// The seal's image (SVG at true size), when the stamp names a seal.
    pub seal_image_url: Option<String>,
    pub time: String,
    /// `seal_box` or `seal_printer`.
    pub device_kind: Option<String>,
    pub place: Option<PlaceDto>,
    pub document_sha256: Option<String>,
    pub page: Option<u32>,
    /// Present when the organisation publishes a thumbnail of the stamped page.
    pub thumbnail_url: Option<String>,
    /// The signed stamp token (COSE_Sign1, base64url), for offline checks.
    pub token: Option<String>,
    /// The RFC 7638 thumbprint of the key that signed the token.
    pub token_key: Option<String>,
    /// The signed checkpoint the proofs lead to.
    pub checkpoint: String,
    pub entries: Vec<LoggedEntryDto>,
    pub checks: Vec<CheckDto>,
}

impl From<&Verification> for VerificationDto {
    fn from(v: &Verification) -> Self {
        VerificationDto {
            code: v.code.clone(),
            numeric_code: v.numeric.as_str().to_owned(),
            genuine: v.genuine(),
            status: v.status.key().to_owned(),
            status_since: v.status_since.map(|t| t.to_string()),
            kind: v.kind.key().to_owned(),
            organisation: v.org_name.clone(),
            seal: v.seal_name.clone(),
            seal_image_url: v.seal.as_ref().map(|_| format!("/v/{}/seal.svg", v.code)),
            time: v.at.to_string(),
            device_kind: v.device_kind.map(|k| k.key().to_owned()),
            place: v.place.map(|(lat, lon)| PlaceDto { lat, lon }),
            document_sha256: v.document_sha256.clone(),
            page: v.page,
            thumbnail_url: v.thumbnail.then(|| format!("/v/{}/thumbnail.jpg", v.code)),
            token: v.token.as_ref().map(|t| URL_SAFE_NO_PAD.encode(t)),
            token_key: v.token_kid.clone(),
            checkpoint: v.checkpoint.note.clone(),
            entries: v
                .entries
                .iter()
                .map(|e| LoggedEntryDto {
                    index: e.index,
                    kind: e.kind.key().to_owned(),
                    entry: STANDARD.encode(&e.entry),
                    proof: e.proof.iter().map(|h| STANDARD.encode(h)).collect(),
                })
                .collect(),
            checks: v
                .checks
                .iter()
                .map(|c| CheckDto {
                    check: c.what.key().to_owned(),
                    passed: c.passed,
                    detail: c.detail.clone(),
                })
                .collect(),
        }
    }
}

/// The answer for a code no stamp has (distinct from a revoked stamp, which is found).
pub fn unknown_code() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "verify.unknown",
        "没有这个验证码的用印记录：此印章不是本系统盖的，或验证码有误。",
        "No stamp has this code: it was not made through this service, or the code is wrong.",
    )
}

/// Public verification of a stamp by its code (QR code, its text, or the numeric code).
/// Rate-limited per client address.
#[utoipa::path(get, path = "/api/v1/verify/{code}", tag = "proofs", params(("code" = String, Path)),
    responses((status = 200, body = VerificationDto), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    Context(context): Context,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let Some(v) = state.app.verify(&code, &context.source).await? else {
        return Err(unknown_code());
    };
    // Rendered once per cached verification (see `Verification::rendered`).
    let body = match v.rendered.get() {
        Some(body) => body.clone(),
        None => {
            let json = serde_json::to_vec(&VerificationDto::from(&*v))
                .map_err(|e| ApiError::from(seal_app::AppError::Internal(e.to_string())))?;
            v.rendered.get_or_init(|| json.into()).clone()
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct StampStatusBody {
    /// `valid`, `revoked` or `disputed`.
    pub status: String,
    /// Why (1–200 characters); kept by the organisation, not published.
    pub note: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct StampEventDto {
    pub id: String,
    pub stamp_id: String,
    pub status: String,
    pub actor: String,
    pub note: String,
    pub at: String,
}

impl From<&seal_store::StampEventRecord> for StampEventDto {
    fn from(e: &seal_store::StampEventRecord) -> Self {
        StampEventDto {
            id: e.id.to_string(),
            stamp_id: e.stamp.to_string(),
            status: e.status.key().to_owned(),
            actor: e.actor.clone(),
            note: e.note.clone(),
            at: e.at.to_string(),
        }
    }
}

/// Changes a stamp's status: revoke it, dispute it, or settle a dispute. A new event in
/// the log; the stamp itself never changes.
#[utoipa::path(post, path = "/api/v1/stamps/{id}/status", tag = "proofs", params(("id" = String, Path)),
    request_body = StampStatusBody,
    responses((status = 200, body = StampEventDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change_stamp_status(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StampStatusBody>,
) -> Result<Json<StampEventDto>, ApiError> {
    let id = parse_path_id(&id, StampId::parse)?;
    let event = state
        .app
        .change_stamp_status(&principal, id, &body.status, &body.note, &context)
        .await?;
    Ok(Json(StampEventDto::from(&event)))
}

/// A stamp's status changes, oldest first.
#[utoipa::path(get, path = "/api/v1/stamps/{id}/events", tag = "proofs", params(("id" = String, Path)),
    responses((status = 200, body = [StampEventDto]), (status = 403, body = ErrorBody)))]
pub async fn stamp_events(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<StampEventDto>>, ApiError> {
    let id = parse_path_id(&id, StampId::parse)?;
    let events = state.app.stamp_events(&principal, id).await?;
    Ok(Json(events.iter().map(StampEventDto::from).collect()))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct OrgKeyDto {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// Base64 of the Ed25519 public key.
    pub public_key: String,
    pub created_at: String,
    pub retired_at: Option<String>,
}

/// The organisation's stamp- and grant-signing keys, newest first (public halves).
#[utoipa::path(get, path = "/api/v1/org/keys", tag = "org",
    responses((status = 200, body = [OrgKeyDto]), (status = 403, body = ErrorBody)))]
pub async fn org_keys(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<OrgKeyDto>>, ApiError> {
    let keys = state.app.org_keys(&principal).await?;
    Ok(Json(
        keys.iter()
            .map(|k| OrgKeyDto {
                kid: k.kid.clone(),
                public_key: k.public_key.clone(),
                created_at: k.created_at.to_string(),
                retired_at: k.retired_at.map(|t| t.to_string()),
            })
            .collect(),
    ))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RotatedDto {
    /// The new key's thumbprint.
    pub kid: String,
}

/// Retires the current signing key and makes a new one; the old key stays published so
/// that stamps it signed keep verifying.
#[utoipa::path(post, path = "/api/v1/org/keys/rotate", tag = "org",
    responses((status = 200, body = RotatedDto), (status = 403, body = ErrorBody)))]
pub async fn rotate_org_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
) -> Result<Json<RotatedDto>, ApiError> {
    let kid = state.app.rotate_org_key(&principal, &context).await?;
    Ok(Json(RotatedDto { kid }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct VerificationSettingsDto {
    /// Show a thumbnail of the stamped page on the public verification page.
    pub thumbnail: bool,
}

/// What the organisation's public verification pages show.
#[utoipa::path(get, path = "/api/v1/org/verification", tag = "org",
    responses((status = 200, body = VerificationSettingsDto), (status = 403, body = ErrorBody)))]
pub async fn get_verification_settings(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<VerificationSettingsDto>, ApiError> {
    let thumbnail = state.app.verify_thumbnail_setting(&principal).await?;
    Ok(Json(VerificationSettingsDto { thumbnail }))
}

/// Sets what the organisation's public verification pages show.
#[utoipa::path(put, path = "/api/v1/org/verification", tag = "org", request_body = VerificationSettingsDto,
    responses((status = 200, body = VerificationSettingsDto), (status = 403, body = ErrorBody)))]
pub async fn set_verification_settings(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<VerificationSettingsDto>,
) -> Result<Json<VerificationSettingsDto>, ApiError> {
    state
        .app
        .set_verify_thumbnail(&principal, body.thumbnail, &context)
        .await?;
    Ok(Json(body))
}

#[derive(Deserialize, IntoParams)]
pub struct MarkQuery {
    /// `svg` (default), `png` or `pdf`.
    #[serde(default)]
    pub format: Option<String>,
    /// Dots per inch of a PNG (default 600).
    #[serde(default)]
    pub dpi: Option<u32>,
    /// `url` (default: the short URL, QR version ≤ 4, 20 mm) or `offline` (the signed
    /// token, QR version ≤ 10, 26 mm).
    #[serde(default)]
    pub form: Option<String>,
    /// Also draw the numeric code as a Code 128 barcode.
    #[serde(default)]
    pub barcode: Option<bool>,
}

/// A stamp's printable mark at true size: the seal, its QR code and numeric code (and
/// barcode), as SVG, PNG or PDF — for whoever may see the stamp's application.
#[utoipa::path(get, path = "/api/v1/stamps/{id}/mark", tag = "proofs", params(("id" = String, Path), MarkQuery),
    responses((status = 200, content_type = "image/svg+xml"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stamp_mark(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MarkQuery>,
) -> Result<Response, ApiError> {
    use seal_app::marks::MarkFormat;
    use seal_app::marks::QrForm;
    let id = parse_path_id(&id, StampId::parse)?;
    let invalid = |field: &str, en: &str, zh: &str| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("invalid.{field}"),
            zh.to_owned(),
            en.to_owned(),
        )
        .with_field(field.to_owned())
    };
    let format = match query.format.as_deref().unwrap_or("svg") {
        "svg" => MarkFormat::Svg,
        "png" => MarkFormat::Png {
            dpi: query.dpi.unwrap_or(600),
        },
        "pdf" => MarkFormat::Pdf,
        _ => {
            return Err(invalid(
                "format",
                "The format must be svg, png or pdf.",
                "格式须为 svg、png 或 pdf。",
            ));
        }
    };
    let form = match query.form.as_deref().unwrap_or("url") {
        "url" => QrForm::ShortUrl,
        "offline" => QrForm::Offline,
        _ => {
            return Err(invalid(
                "form",
                "The form must be url or offline.",
                "二维码形式须为 url 或 offline。",
            ));
        }
    };
    let bytes = state
        .app
        .stamp_mark(&principal, id, form, query.barcode.unwrap_or(false), format)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, format.media_type()),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        bytes,
    )
        .into_response())
}
