//! The seal registry: registering seals, editing them, changing their status (with a
//! reason and a history; a seal that stops being usable ends its grants), the factor
//! policy per level, and the seal image (印章模型) as SVG or PNG.

use std::sync::Arc;

use seal_core::application::Event;
use seal_core::grant::GrantStatus;
use seal_core::ids::{FlowId, OrgId, PersonId, SealId};
use seal_core::permission::Permission;
use seal_core::seal::{
    FactorPolicy, FactorRule, FilingCode, Reason, SealKind, SealLevel, SealName, SealShape,
    SealStatus, SealType,
};
use seal_core::time::Timestamp;
use seal_core::webhook::EventKind;
use seal_docs::seal_image::{self, SealImageError, SealRenderer, SealSpec};
use seal_store::{SealRecord, SealStatusChange, Tx};
use serde_json::json;

use crate::audit::record_by;
use crate::error::{Conflict, Entity, Invalid};
use crate::policy::{self, Permit, Principal};
use crate::webhooks::enqueue;
use crate::{App, AppError, RequestContext, secrets};

/// A seal as submitted by a form or the API (text fields parsed here).
#[derive(Clone, Debug, Default)]
pub struct SealInput {
    pub name: String,
    pub kind: String,
    pub seal_type: String,
    /// `round`, `oval` or `square`; empty: the usual shape for the type.
    pub shape: String,
    pub width_mm: Option<i64>,
    pub height_mm: Option<i64>,
    pub level: i64,
    /// A person id, or empty for none.
    pub keeper: String,
    /// Empty when not yet filed.
    pub filing_code: String,
    /// A flow id, or empty for the organisation's default.
    pub flow: String,
}

/// A seal with its status history.
#[derive(Clone, Debug)]
pub struct SealDetail {
    pub seal: SealRecord,
    pub history: Vec<SealStatusChange>,
}

/// An image format for [`App::seal_image`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Svg,
    Png { dpi: u32 },
}

/// The factor rules per level, as text (`fingerprint+face`, `pin|id_code`).
#[derive(Clone, Debug, Default)]
pub struct FactorPolicyInput {
    pub level1: String,
    pub level2: String,
    pub level3: String,
}

fn parse_key<T>(
    field: &'static str,
    text: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, AppError> {
    parse(text).ok_or_else(|| AppError::invalid(field, Invalid::UnknownKey(text.trim().to_owned())))
}

fn optional_id<T, E>(
    field: &'static str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    parse(text)
        .map(Some)
        .map_err(|_| AppError::invalid(field, Invalid::Id))
}

/// The parsed, checked fields of a seal (everything but id, status and times).
struct SealFields {
    name: SealName,
    kind: SealKind,
    seal_type: SealType,
    shape: SealShape,
    level: SealLevel,
    keeper: Option<PersonId>,
    filing_code: Option<FilingCode>,
    flow: Option<FlowId>,
}

impl App {
    async fn seal_fields(
        &self,
        tx: &mut Tx,
        org: OrgId,
        input: &SealInput,
    ) -> Result<SealFields, AppError> {
        let name = SealName::parse(&input.name)
            .map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
        let kind = parse_key("kind", &input.kind, SealKind::parse)?;
        let seal_type = parse_key("seal_type", &input.seal_type, SealType::parse)?;
        let shape = if input.shape.trim().is_empty() {
            let default = SealShape::default_for(seal_type);
            match input.width_mm {
                Some(w) => SealShape::parse(default.key(), w, input.height_mm.unwrap_or(0)),
                None => Ok(default),
            }
        } else {
            let (dw, dh) = SealShape::default_for(seal_type).size_mm();
            SealShape::parse(
                &input.shape,
                input.width_mm.unwrap_or(i64::from(dw)),
                input.height_mm.unwrap_or(i64::from(dh)),
            )
        }
        .map_err(|e| AppError::invalid("shape", Invalid::Shape(e)))?;
        let level =
            SealLevel::new(input.level).map_err(|_| AppError::invalid("level", Invalid::Level))?;
        let keeper = optional_id("keeper", &input.keeper, PersonId::parse)?;
        if let Some(keeper) = keeper {
            check_keeper(tx, org, keeper).await?;
        }
        let filing_code = if input.filing_code.trim().is_empty() {
            None
        } else {
            Some(
                FilingCode::parse(&input.filing_code)
                    .map_err(|_| AppError::invalid("filing_code", Invalid::FilingCode))?,
            )
        };
        let flow = optional_id("flow", &input.flow, FlowId::parse)?;
        if let Some(flow) = flow
            && tx.flow(org, flow).await?.is_none()
        {
            return Err(AppError::invalid("flow", Invalid::UnknownFlow));
        }
        Ok(SealFields {
            name,
            kind,
            seal_type,
            shape,
            level,
            keeper,
            filing_code,
            flow,
        })
    }

    /// Registers a seal (`seals.manage`). It starts active.
    pub async fn create_seal(
        &self,
        principal: &Principal,
        input: &SealInput,
        context: &RequestContext,
    ) -> Result<SealRecord, AppError> {
        let permit = policy::authorize(principal, Permission::SealsManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let f = self.seal_fields(&mut tx, permit.org(), input).await?;
        let seal = SealRecord {
            id: SealId::from_bytes(secrets::id_bytes()),
            org_id: permit.org(),
            name: f.name,
            kind: f.kind,
            seal_type: f.seal_type,
            shape: f.shape,
            level: f.level,
            keeper: f.keeper,
            status: SealStatus::Active,
            status_reason: String::new(),
            filing_code: f.filing_code,
            flow: f.flow,
            created_at: now,
            updated_at: now,
        };
        tx.insert_seal(&seal).await?;
        tx.insert_seal_status_change(
            permit.org(),
            &SealStatusChange {
                seal: seal.id,
                at: now,
                from: None,
                to: SealStatus::Active,
                reason: "registered".to_owned(),
                actor: permit.actor().label(),
            },
        )
        .await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "seal.created",
            format!("seal:{}", seal.id),
            seal_details(&seal),
        )
        .await?;
        enqueue(
            &mut tx,
            permit.org(),
            EventKind::SealCreated,
            seal_json(&seal),
            now,
        )
        .await?;
        tx.commit().await?;
        self.wake_webhook_worker();
        Ok(seal)
    }

    /// Edits a seal's fields (`seals.manage`); its status changes through
    /// [`App::change_seal_status`].
    pub async fn update_seal(
        &self,
        principal: &Principal,
        id: SealId,
        input: &SealInput,
        context: &RequestContext,
    ) -> Result<SealRecord, AppError> {
        let permit = policy::authorize(principal, Permission::SealsManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut seal = tx
            .seal(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Seal))?;
        if seal.status.is_final() {
            return Err(AppError::Conflict(Conflict::SealNotUsable(seal.status)));
        }
        let f = self.seal_fields(&mut tx, permit.org(), input).await?;
        seal.name = f.name;
        seal.kind = f.kind;
        seal.seal_type = f.seal_type;
        seal.shape = f.shape;
        seal.level = f.level;
        seal.keeper = f.keeper;
        seal.filing_code = f.filing_code;
        seal.flow = f.flow;
        seal.updated_at = now;
        tx.update_seal(&seal).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "seal.updated",
            format!("seal:{id}"),
            seal_details(&seal),
        )
        .await?;
        tx.commit().await?;
        Ok(seal)
    }

    /// Changes a seal's status with a reason (`seals.manage`). When the seal stops
    /// being usable, its active grants are revoked and their applications end, in the
    /// same transaction.
    pub async fn change_seal_status(
        &self,
        principal: &Principal,
        id: SealId,
        to: &str,
        reason: &str,
        context: &RequestContext,
    ) -> Result<SealRecord, AppError> {
        let permit = policy::authorize(principal, Permission::SealsManage)?;
        let to = parse_key("status", to, SealStatus::parse)?;
        let reason =
            Reason::parse(reason).map_err(|e| AppError::invalid("reason", Invalid::Text(e)))?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut seal = tx
            .seal(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Seal))?;
        let from = seal.status;
        seal.status = from
            .change_to(to)
            .map_err(|e| AppError::Conflict(Conflict::SealStatusChange(e)))?;
        seal.status_reason = reason.as_str().to_owned();
        seal.updated_at = now;
        tx.update_seal(&seal).await?;
        tx.insert_seal_status_change(
            permit.org(),
            &SealStatusChange {
                seal: id,
                at: now,
                from: Some(from),
                to,
                reason: reason.as_str().to_owned(),
                actor: permit.actor().label(),
            },
        )
        .await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "seal.status_changed",
            format!("seal:{id}"),
            vec![
                ("from", from.key().to_owned()),
                ("to", to.key().to_owned()),
                ("reason", reason.as_str().to_owned()),
            ],
        )
        .await?;
        enqueue(
            &mut tx,
            permit.org(),
            EventKind::SealStatusChanged,
            json!({
                "seal": seal_json(&seal),
                "from": from.key(),
                "to": to.key(),
                "reason": reason.as_str(),
            }),
            now,
        )
        .await?;
        if to.stops_grants() {
            tx.lock_org(permit.org()).await?;
            let why = format!("seal {}", to.key());
            for grant in tx.active_grants_for_seal(permit.org(), id).await? {
                end_grant(
                    &mut tx,
                    &permit,
                    grant,
                    GrantStatus::Revoked,
                    &why,
                    now,
                    context,
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.wake_webhook_worker();
        if to.stops_grants() {
            self.wake_seal_device(permit.org(), id).await;
        }
        Ok(seal)
    }

    /// The organisation's seals (`seals.read`).
    pub async fn seals(&self, principal: &Principal) -> Result<Vec<SealRecord>, AppError> {
        let permit = policy::authorize(principal, Permission::SealsRead)?;
        let mut tx = self.store().read().await?;
        Ok(tx.seals(permit.org()).await?)
    }

    /// The seals a device can be bound to (seal boxes and printers), for those who read
    /// seals or manage devices (the IT role binds devices without reading the registry).
    pub async fn seals_for_binding(
        &self,
        principal: &Principal,
    ) -> Result<Vec<SealRecord>, AppError> {
        let permit = policy::authorize_any(
            principal,
            &[Permission::SealsRead, Permission::DevicesManage],
        )?;
        let mut tx = self.store().read().await?;
        Ok(tx
            .seals(permit.org())
            .await?
            .into_iter()
            .filter(|s| !matches!(s.kind, seal_core::seal::SealKind::Electronic))
            .collect())
    }

    /// One seal with its status history (`seals.read`).
    pub async fn seal(&self, principal: &Principal, id: SealId) -> Result<SealDetail, AppError> {
        let permit = policy::authorize(principal, Permission::SealsRead)?;
        let mut tx = self.store().read().await?;
        let seal = tx
            .seal(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Seal))?;
        let history = tx.seal_status_changes(permit.org(), id).await?;
        Ok(SealDetail { seal, history })
    }

    /// The seal image (印章模型) at true size: SVG, or PNG at `dpi` (`seals.read`).
    /// The organisation's name runs along the upper arc, the seal's name below the star,
    /// the filing code (or, before filing, the seal's serial) along the lower arc.
    pub async fn seal_image(
        &self,
        principal: &Principal,
        id: SealId,
        format: ImageFormat,
    ) -> Result<Vec<u8>, AppError> {
        let permit = policy::authorize(principal, Permission::SealsRead)?;
        let seal = {
            let mut tx = self.store().read().await?;
            tx.seal(permit.org(), id)
                .await?
                .ok_or(AppError::NotFound(Entity::Seal))?
        };
        if let ImageFormat::Png { dpi } = format
            && !(seal_image::DPI.0..=seal_image::DPI.1).contains(&dpi)
        {
            return Err(AppError::invalid(
                "dpi",
                Invalid::UnknownKey(dpi.to_string()),
            ));
        }
        let spec = seal_spec(principal.org.name.as_str(), &seal);
        let renderer = self.seal_renderer()?;
        tokio::task::spawn_blocking(move || match format {
            ImageFormat::Svg => renderer.svg(&spec).map(String::into_bytes),
            ImageFormat::Png { dpi } => renderer.png(&spec, dpi),
        })
        .await
        .map_err(|e| AppError::Internal(format!("seal image task: {e}")))?
        .map_err(|e| match e {
            SealImageError::NoCjkFont
            | SealImageError::FontFile { .. }
            | SealImageError::Render(_)
            | SealImageError::DpiOutOfRange { .. } => {
                AppError::Internal(format!("seal image: {e}"))
            }
            // The engraving itself cannot be drawn: too long, or characters the font lacks.
            _ => AppError::invalid("name", Invalid::NotEngravable(e.to_string())),
        })
    }

    /// The renderer, loaded from the system fonts on first use; a missing CJK font is
    /// reported (with what to install) on every use, not at start-up.
    pub(crate) fn seal_renderer(&self) -> Result<Arc<SealRenderer>, AppError> {
        self.inner
            .seal_renderer
            .get_or_init(|| {
                SealRenderer::from_system_fonts()
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(AppError::Internal)
    }

    /// The factors demanded per seal level in the caller's organisation (`seals.read`).
    pub async fn factor_policy(&self, principal: &Principal) -> Result<FactorPolicy, AppError> {
        let permit = policy::authorize(principal, Permission::SealsRead)?;
        let mut tx = self.store().read().await?;
        factor_policy(&mut tx, permit.org()).await
    }

    /// Sets the factors demanded per seal level (`seals.manage`). Grants already issued
    /// keep the factors they were issued with.
    pub async fn set_factor_policy(
        &self,
        principal: &Principal,
        input: &FactorPolicyInput,
        context: &RequestContext,
    ) -> Result<FactorPolicy, AppError> {
        let permit = policy::authorize(principal, Permission::SealsManage)?;
        let parse = |field: &'static str, text: &str| {
            FactorRule::parse(text).map_err(|e| AppError::invalid(field, Invalid::Factors(e)))
        };
        let l1 = parse("level1", &input.level1)?;
        let l2 = parse("level2", &input.level2)?;
        let l3 = parse("level3", &input.level3)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_factor_rules(permit.org(), [&l1, &l2, &l3]).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "seal.factor_policy_changed",
            format!("org:{}", permit.org()),
            vec![
                ("level1", l1.to_string()),
                ("level2", l2.to_string()),
                ("level3", l3.to_string()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(FactorPolicy::new(l1, l2, l3))
    }
}

/// The organisation's factor policy: its own rules where set, the defaults elsewhere.
pub(crate) async fn factor_policy(tx: &mut Tx, org: OrgId) -> Result<FactorPolicy, AppError> {
    let stored = tx.factor_rules(org).await?;
    let default = FactorPolicy::default();
    let pick = |i: usize| {
        stored[i]
            .clone()
            .unwrap_or_else(|| default.rule(SealLevel::ALL[i]).clone())
    };
    Ok(FactorPolicy::new(pick(0), pick(1), pick(2)))
}

/// Checks that `person` is an active member of `org` holding `seals.keep`.
async fn check_keeper(tx: &mut Tx, org: OrgId, person: PersonId) -> Result<(), AppError> {
    let record = tx
        .person(org, person)
        .await?
        .filter(|p| p.status == seal_core::person::PersonStatus::Active)
        .ok_or(AppError::invalid("keeper", Invalid::UnknownPerson))?;
    let roles = tx.person_roles(org, record.id).await?;
    if policy::permissions_of(&roles).contains(Permission::SealsKeep) {
        Ok(())
    } else {
        Err(AppError::invalid("keeper", Invalid::NotAKeeper))
    }
}

/// Ends an active grant (revoked, or expired) and the application it belongs to.
pub(crate) async fn end_grant(
    tx: &mut Tx,
    permit: &Permit,
    mut grant: seal_store::GrantRecord,
    status: GrantStatus,
    reason: &str,
    now: Timestamp,
    context: &RequestContext,
) -> Result<(), AppError> {
    if !grant.status.can_revoke() {
        return Err(AppError::Conflict(Conflict::GrantNotActive));
    }
    grant.status = status;
    grant.ended_at = Some(now);
    grant.ended_by = Some(permit.actor().label());
    grant.end_reason = reason.to_owned();
    tx.end_grant(&grant).await?;
    // The device holding the seal forgets the grant (delivered on its next connection).
    if let Some(device) = tx.device_bound_to_seal(permit.org(), grant.seal).await? {
        crate::devices::queue_command(
            tx,
            permit.org(),
            device.id,
            seal_core::device::CommandKind::CancelGrant,
            Some(grant.id),
            None,
            &permit.actor(),
            now,
        )
        .await?;
    }
    if let Some(mut application) = tx.application(permit.org(), grant.application).await? {
        let event = match status {
            GrantStatus::Expired => Event::Expire { at: now },
            _ => Event::Revoke,
        };
        if let Ok(next) = application.lifecycle.apply(event) {
            application.lifecycle = next;
            application.updated_at = now;
            tx.update_application(&application).await?;
        }
    }
    record_by(
        tx,
        permit,
        now,
        context,
        "grant.revoked",
        format!("grant:{}", grant.id),
        vec![
            ("application", grant.application.to_string()),
            ("reason", reason.to_owned()),
        ],
    )
    .await?;
    enqueue(
        tx,
        permit.org(),
        EventKind::GrantRevoked,
        json!({
            "grant": grant.id.to_string(),
            "application": grant.application.to_string(),
            "seal": grant.seal.to_string(),
            "reason": reason,
        }),
        now,
    )
    .await?;
    Ok(())
}

/// The seal's drawing spec with its true width and height in millimetres.
pub(crate) fn seal_spec_sized(org_name: &str, seal: &SealRecord) -> (SealSpec, f32, f32) {
    let (w, h) = match seal.shape {
        SealShape::Round { diameter_mm } => (diameter_mm, diameter_mm),
        SealShape::Oval {
            width_mm,
            height_mm,
        } => (width_mm, height_mm),
        SealShape::Square { side_mm } => (side_mm, side_mm),
    };
    (seal_spec(org_name, seal), f32::from(w), f32::from(h))
}

fn seal_spec(org_name: &str, seal: &SealRecord) -> SealSpec {
    let shape = match seal.shape {
        SealShape::Round { diameter_mm } => seal_image::SealShape::Round {
            diameter_mm: f32::from(diameter_mm),
        },
        SealShape::Oval {
            width_mm,
            height_mm,
        } => seal_image::SealShape::Oval {
            width_mm: f32::from(width_mm),
            height_mm: f32::from(height_mm),
        },
        SealShape::Square { side_mm } => seal_image::SealShape::Square {
            side_mm: f32::from(side_mm),
        },
    };
    let code = match &seal.filing_code {
        Some(code) => code.as_str().to_owned(),
        None => serial(seal.id),
    };
    SealSpec {
        org_name: org_name.to_owned(),
        // The official seal (公章) shows only the organisation around the star; a square
        // seal always shows its name in the grid.
        seal_name: match (seal.seal_type, seal.shape) {
            (SealType::Official, SealShape::Round { .. } | SealShape::Oval { .. }) => String::new(),
            _ => seal.name.as_str().to_owned(),
        },
        code,
        shape,
        star: !matches!(seal.shape, SealShape::Square { .. }),
    }
}

/// A seal's serial before it is filed: 13 digits derived from its id.
pub fn serial(id: SealId) -> String {
    let n = id.as_uuid().as_u128() % 10u128.pow(13);
    format!("{n:013}")
}

fn seal_details(seal: &SealRecord) -> Vec<(&'static str, String)> {
    let (w, h) = seal.shape.size_mm();
    vec![
        ("name", seal.name.as_str().to_owned()),
        ("kind", seal.kind.key().to_owned()),
        ("type", seal.seal_type.key().to_owned()),
        ("shape", format!("{} {w}x{h}mm", seal.shape.key())),
        ("level", seal.level.get().to_string()),
        (
            "keeper",
            seal.keeper.map(|k| k.to_string()).unwrap_or_default(),
        ),
        (
            "filing_code",
            seal.filing_code
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
        ),
    ]
}

/// The seal as webhook payloads show it.
pub(crate) fn seal_json(seal: &SealRecord) -> serde_json::Value {
    let (w, h) = seal.shape.size_mm();
    json!({
        "id": seal.id.to_string(),
        "name": seal.name.as_str(),
        "kind": seal.kind.key(),
        "type": seal.seal_type.key(),
        "shape": seal.shape.key(),
        "width_mm": w,
        "height_mm": h,
        "level": seal.level.get(),
        "status": seal.status.key(),
        "filing_code": seal.filing_code.as_ref().map(|c| c.as_str()),
    })
}
