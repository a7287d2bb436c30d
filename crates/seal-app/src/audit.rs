//! Audit events: how use cases record them (in their own transaction) and how people
//! with `audit.read` list them.

use seal_core::audit::{Actor, AuditEvent};
use seal_core::ids::{OrgId, PersonId};
use seal_core::permission::Permission;
use seal_core::time::Timestamp;
use seal_store::{AuditFilter, AuditRecord, Tx};

use crate::policy::{self, Permit, Principal};
use crate::{App, AppError, RequestContext};

/// Builds one event (for [`record`], or for appending many at once).
pub(crate) fn event(
    at: Timestamp,
    org: Option<OrgId>,
    actor: &Actor,
    context: &RequestContext,
    action: &str,
    subject: String,
    details: Vec<(&str, String)>,
) -> AuditEvent {
    AuditEvent {
        at,
        org,
        actor: actor.label(),
        source: if context.source.is_empty() {
            "-".to_owned()
        } else {
            context.source.clone()
        },
        action: action.to_owned(),
        subject,
        details: details
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    }
}

/// Builds and appends one event inside `tx`.
#[allow(clippy::too_many_arguments)] // one argument per field of the event
pub(crate) async fn record(
    tx: &mut Tx,
    at: Timestamp,
    org: Option<OrgId>,
    actor: &Actor,
    context: &RequestContext,
    action: &str,
    subject: String,
    details: Vec<(&str, String)>,
) -> Result<(), AppError> {
    tx.append_audit(&event(at, org, actor, context, action, subject, details))
        .await?;
    Ok(())
}

/// Records an event by the holder of `permit`, in the permit's organisation.
pub(crate) async fn record_by(
    tx: &mut Tx,
    permit: &Permit,
    at: Timestamp,
    context: &RequestContext,
    action: &str,
    subject: String,
    details: Vec<(&str, String)>,
) -> Result<(), AppError> {
    record(
        tx,
        at,
        Some(permit.org()),
        &permit.actor(),
        context,
        action,
        subject,
        details,
    )
    .await
}

/// Which audit events to list.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub person: Option<PersonId>,
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub page: crate::directory::Page,
}

impl App {
    /// A page of the caller's organisation's audit events, newest first, and the total.
    pub async fn list_audit_events(
        &self,
        principal: &Principal,
        query: &AuditQuery,
    ) -> Result<(Vec<AuditRecord>, i64), AppError> {
        let permit = policy::authorize(principal, Permission::AuditRead)?;
        let filter = AuditFilter {
            actor: query.person.map(|p| Actor::Person(p).label()),
            action: query.action.clone().filter(|a| !a.is_empty()),
            from: query.from,
            until: query.until,
            offset: query.page.offset(),
            limit: query.page.limit(),
        };
        let mut tx = self.store().read().await?;
        let result = tx.audit_events(permit.org(), &filter).await?;
        tx.commit().await?;
        Ok(result)
    }
}
