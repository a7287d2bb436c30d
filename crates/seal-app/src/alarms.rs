//! Alarms: raising one inside the transaction that saw the condition (a repeat folds into
//! the standing alarm of that kind for the device), and the people's side — list, view,
//! acknowledge and resolve with a note. Each step is an audit event and a webhook event.

use seal_core::alarm::{AlarmAction, AlarmKind, AlarmStatus};
use seal_core::audit::Actor;
use seal_core::ids::{AlarmId, ApplicationId, DeviceId, OrgId, SealId};
use seal_core::permission::Permission;
use seal_core::time::Timestamp;
use seal_core::webhook::EventKind;
use seal_store::{AlarmFilter, AlarmRecord, Tx};
use serde_json::json;

use crate::audit::{record, record_by};
use crate::error::{Conflict, Entity, Invalid};
use crate::policy::{self, Principal};
use crate::webhooks::enqueue;
use crate::{App, AppError, RequestContext};

/// Who may see alarms: those who handle them, and auditors.
const ALARM_READERS: [Permission; 3] = [
    Permission::AlarmsHandle,
    Permission::AuditRead,
    Permission::DevicesManage,
];

/// What an alarm is about, beyond its kind.
#[derive(Clone, Debug, Default)]
pub(crate) struct AlarmSubject {
    pub device: Option<DeviceId>,
    pub seal: Option<SealId>,
    pub application: Option<ApplicationId>,
}

/// Whether [`raise`] made a new alarm or counted a repeat of a standing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Raised {
    New,
    Repeat,
}

/// Raises an alarm inside `tx`, or counts one more occurrence of the standing alarm of
/// the same kind for the same device. A new alarm is an audit event and an
/// `alarm.raised` webhook event in the same transaction.
#[allow(clippy::too_many_arguments)] // the alarm's fields
pub(crate) async fn raise(
    tx: &mut Tx,
    org: OrgId,
    kind: AlarmKind,
    subject: AlarmSubject,
    details: String,
    actor: &Actor,
    context: &RequestContext,
    now: Timestamp,
) -> Result<Raised, AppError> {
    if let Some(device) = subject.device
        && let Some(mut standing) = tx.standing_alarm(org, device, kind).await?
    {
        standing.occurrences += 1;
        standing.last_at = now;
        standing.details = details;
        tx.update_alarm(&standing).await?;
        return Ok(Raised::Repeat);
    }
    let alarm = AlarmRecord {
        id: AlarmId::from_bytes(crate::secrets::id_bytes()),
        org_id: org,
        kind,
        severity: kind.severity(),
        status: AlarmStatus::Open,
        device: subject.device,
        seal: subject.seal,
        application: subject.application,
        details,
        occurrences: 1,
        raised_at: now,
        last_at: now,
        acknowledged_at: None,
        acknowledged_by: None,
        acknowledge_note: String::new(),
        resolved_at: None,
        resolved_by: None,
        resolve_note: String::new(),
    };
    tx.insert_alarm(&alarm).await?;
    record(
        tx,
        now,
        Some(org),
        actor,
        context,
        "alarm.raised",
        format!("alarm:{}", alarm.id),
        vec![
            ("kind", kind.key().to_owned()),
            ("severity", alarm.severity.key().to_owned()),
            ("details", alarm.details.clone()),
        ],
    )
    .await?;
    enqueue(tx, org, EventKind::AlarmRaised, alarm_json(&alarm), now).await?;
    Ok(Raised::New)
}

fn alarm_json(a: &AlarmRecord) -> serde_json::Value {
    json!({
        "alarm": a.id.to_string(),
        "kind": a.kind.key(),
        "severity": a.severity.key(),
        "status": a.status.key(),
        "device": a.device.map(|d| d.to_string()),
        "seal": a.seal.map(|d| d.to_string()),
        "application": a.application.map(|d| d.to_string()),
        "details": a.details,
        "occurrences": a.occurrences,
        "raised_at": a.raised_at.to_string(),
    })
}

/// Which alarms to list.
#[derive(Clone, Debug, Default)]
pub struct AlarmQuery {
    pub statuses: Vec<AlarmStatus>,
    pub device: Option<DeviceId>,
    pub page: crate::directory::Page,
}

impl App {
    /// The organisation's alarms, newest first.
    pub async fn alarms(
        &self,
        principal: &Principal,
        query: &AlarmQuery,
    ) -> Result<Vec<AlarmRecord>, AppError> {
        let permit = policy::authorize_any(principal, &ALARM_READERS)?;
        let mut tx = self.store().read().await?;
        let filter = AlarmFilter {
            statuses: query.statuses.clone(),
            device: query.device,
            offset: query.page.offset(),
            limit: query.page.limit(),
        };
        Ok(tx.alarms(permit.org(), &filter).await?)
    }

    pub async fn alarm(&self, principal: &Principal, id: AlarmId) -> Result<AlarmRecord, AppError> {
        let permit = policy::authorize_any(principal, &ALARM_READERS)?;
        let mut tx = self.store().read().await?;
        tx.alarm(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Alarm))
    }

    /// Acknowledges or resolves an alarm (`alarms.handle`), recording who and the note.
    pub async fn act_on_alarm(
        &self,
        principal: &Principal,
        id: AlarmId,
        action: AlarmAction,
        note: &str,
        context: &RequestContext,
    ) -> Result<AlarmRecord, AppError> {
        let permit = policy::authorize(principal, Permission::AlarmsHandle)?;
        let note = if note.trim().is_empty() {
            String::new()
        } else {
            seal_core::text::bounded(note, 500)
                .map_err(|e| AppError::invalid("note", Invalid::Text(e)))?
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut alarm = tx
            .alarm(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Alarm))?;
        alarm.status = alarm
            .status
            .apply(action)
            .map_err(|e| AppError::Conflict(Conflict::Alarm(e)))?;
        let who = permit.actor().label();
        let (audit_action, kind) = match action {
            AlarmAction::Acknowledge => {
                alarm.acknowledged_at = Some(now);
                alarm.acknowledged_by = Some(who);
                alarm.acknowledge_note = note.clone();
                ("alarm.acknowledged", EventKind::AlarmAcknowledged)
            }
            AlarmAction::Resolve => {
                alarm.resolved_at = Some(now);
                alarm.resolved_by = Some(who);
                alarm.resolve_note = note.clone();
                ("alarm.resolved", EventKind::AlarmResolved)
            }
        };
        tx.update_alarm(&alarm).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            audit_action,
            format!("alarm:{}", alarm.id),
            vec![("kind", alarm.kind.key().to_owned()), ("note", note)],
        )
        .await?;
        enqueue(&mut tx, permit.org(), kind, alarm_json(&alarm), now).await?;
        tx.commit().await?;
        self.wake_webhook_worker();
        Ok(alarm)
    }
}
