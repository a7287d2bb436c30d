//! Seal-use applications (用印申请工单): drafting with documents, submitting into the
//! approval flow, deciding, withdrawing, the grant an approval issues and its
//! revocation, the approver's inbox, and the timed jobs (expiry, reminders).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use seal_core::application::{
    ApplicationNumber, ApplicationStatus, Event, Lifecycle, LongText, StampCount, StampKind, Title,
    Window,
};
use seal_core::audit::Actor;
use seal_core::flow::{self, Decision, Directory, Facts, Outcome, Review, Verdict};
use seal_core::grant::GrantStatus;
use seal_core::ids::{ApplicationId, DocumentId, GrantId, OrgId, PersonId, RoleId};
use seal_core::permission::Permission;
use seal_core::person::PersonStatus;
use seal_core::time::Timestamp;
use seal_core::webhook::EventKind;
use seal_docs::document::{self, DocumentError, Limits};
use seal_store::{
    ApplicationFilter, ApplicationRecord, DecisionRecord, DocumentRecord, GrantRecord, SealRecord,
    Tx,
};
use serde_json::json;

use crate::audit::{record, record_by};
use crate::directory::Page;
use crate::error::{Conflict, DocumentProblem, Entity, Invalid};
use crate::policy::{self, Permit, Principal};
use crate::seals::{end_grant, factor_policy};
use crate::webhooks::enqueue;
use crate::{App, AppError, RequestContext, secrets};

/// An application's fields as submitted (text parsed here). Dates are RFC 3339.
#[derive(Clone, Debug, Default)]
pub struct ApplicationInput {
    pub seal: String,
    pub stamp_kind: String,
    pub title: String,
    pub reason: String,
    pub count: i64,
    pub from: String,
    pub until: String,
}

/// An uploaded document: its bytes and the name it had on the uploader's machine
/// (kept for display only).
#[derive(Clone, Debug)]
pub struct Upload {
    pub name: String,
    pub bytes: Bytes,
}

/// Everything an application's page shows.
#[derive(Clone, Debug)]
pub struct ApplicationView {
    pub application: ApplicationRecord,
    pub seal: SealRecord,
    pub documents: Vec<DocumentRecord>,
    pub steps: Vec<flow::ResolvedStep>,
    pub decisions: Vec<DecisionRecord>,
    /// The step waiting for decisions, if any.
    pub current_step: Option<usize>,
    /// Who the current step waits for.
    pub waiting_on: Vec<PersonId>,
    pub grant: Option<GrantRecord>,
    /// What the caller may do now.
    pub can_edit: bool,
    pub can_withdraw: bool,
    pub can_decide: bool,
    pub can_revoke: bool,
}

/// Which applications to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The caller's own.
    Mine,
    /// Every application of the organisation (`applications.read_all`).
    All,
}

/// A list query.
#[derive(Clone, Debug, Default)]
pub struct ApplicationQuery {
    pub statuses: Vec<ApplicationStatus>,
    pub text: Option<String>,
    pub page: Page,
}

/// The permissions of everyone who can take part in an application; reading one needs
/// one of them, and then being its applicant, approver, keeper, or a reader of all.
const APPLICATION_PARTICIPANTS: [Permission; 4] = [
    Permission::ApplicationsCreate,
    Permission::ApplicationsApprove,
    Permission::SealsKeep,
    Permission::ApplicationsReadAll,
];

/// What the timed jobs did in one round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimedRound {
    pub expired: usize,
    pub reminded: usize,
}

/// The blob names of a document and its thumbnail: server-made, never from the upload.
fn blob_keys(org: OrgId, id: DocumentId) -> (String, String) {
    (
        format!("orgs/{org}/documents/{id}"),
        format!("orgs/{org}/documents/{id}.thumb.png"),
    )
}

impl App {
    fn document_limits(&self) -> Limits {
        Limits {
            max_bytes: self.settings().document_max_bytes,
            max_pages: self.settings().document_max_pages,
            max_pixels: 100_000_000,
        }
    }

    async fn parse_application(
        &self,
        tx: &mut Tx,
        org: OrgId,
        input: &ApplicationInput,
        now: Timestamp,
    ) -> Result<(SealRecord, StampKind, Title, LongText, Window, StampCount), AppError> {
        let seal_id = seal_core::ids::SealId::parse(&input.seal)
            .map_err(|_| AppError::invalid("seal", Invalid::UnknownSeal))?;
        let seal = tx
            .seal(org, seal_id)
            .await?
            .ok_or(AppError::invalid("seal", Invalid::UnknownSeal))?;
        if !seal.status.usable() {
            return Err(AppError::Conflict(Conflict::SealNotUsable(seal.status)));
        }
        let kind = StampKind::parse(&input.stamp_kind).ok_or_else(|| {
            AppError::invalid("stamp_kind", Invalid::UnknownKey(input.stamp_kind.clone()))
        })?;
        let title =
            Title::parse(&input.title).map_err(|e| AppError::invalid("title", Invalid::Text(e)))?;
        let reason = LongText::parse(&input.reason)
            .map_err(|e| AppError::invalid("reason", Invalid::Text(e)))?;
        let count =
            StampCount::new(input.count).map_err(|_| AppError::invalid("count", Invalid::Count))?;
        let from = Timestamp::parse_rfc3339(&input.from)
            .map_err(|_| AppError::invalid("from", Invalid::Date))?;
        let until = Timestamp::parse_rfc3339(&input.until)
            .map_err(|_| AppError::invalid("until", Invalid::Date))?;
        let window = Window::new(
            from,
            until,
            self.settings().application_max_window_days,
            now,
        )
        .map_err(|e| AppError::invalid("until", Invalid::Window(e)))?;
        Ok((seal, kind, title, reason, window, count))
    }

    /// Files a new application as a draft (`applications.create`), numbered
    /// `ORG-YEAR-SEQUENCE`. Documents are added next; then it is submitted.
    pub async fn create_application(
        &self,
        principal: &Principal,
        input: &ApplicationInput,
        context: &RequestContext,
    ) -> Result<ApplicationRecord, AppError> {
        let permit = policy::authorize(principal, Permission::ApplicationsCreate)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (seal, stamp_kind, title, reason, window, count) = self
            .parse_application(&mut tx, permit.org(), input, now)
            .await?;
        let sequence = tx
            .next_application_sequence(permit.org(), now.year())
            .await?;
        let application = ApplicationRecord {
            id: ApplicationId::from_bytes(secrets::id_bytes()),
            org_id: permit.org(),
            number: ApplicationNumber::new(&principal.org.code, now.year(), sequence),
            applicant: permit.person(),
            department: principal.person.department,
            seal: seal.id,
            stamp_kind,
            title,
            reason,
            lifecycle: Lifecycle::draft(window, count),
            submitted_at: None,
            decided_at: None,
            step_since: None,
            reminded_at: None,
            created_at: now,
            updated_at: now,
        };
        tx.insert_application(&application).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "application.created",
            format!("application:{}", application.id),
            vec![
                ("number", application.number.to_string()),
                ("seal", seal.id.to_string()),
                ("count", count.get().to_string()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(application)
    }

    /// Changes a draft's fields (its applicant only).
    pub async fn update_application(
        &self,
        principal: &Principal,
        id: ApplicationId,
        input: &ApplicationInput,
        context: &RequestContext,
    ) -> Result<ApplicationRecord, AppError> {
        let permit = policy::authorize(principal, Permission::ApplicationsCreate)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut application = own_application(&mut tx, &permit, id).await?;
        if !application.lifecycle.status().is_editable() {
            return Err(wrong_status(&application));
        }
        let (seal, stamp_kind, title, reason, window, count) = self
            .parse_application(&mut tx, permit.org(), input, now)
            .await?;
        application.seal = seal.id;
        application.stamp_kind = stamp_kind;
        application.title = title;
        application.reason = reason;
        application.lifecycle = Lifecycle::draft(window, count);
        application.updated_at = now;
        tx.update_application(&application).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "application.updated",
            format!("application:{id}"),
            vec![("number", application.number.to_string())],
        )
        .await?;
        tx.commit().await?;
        Ok(application)
    }

    /// Adds a document to a draft (its applicant only). The type is decided from the
    /// content (PDF, PNG or JPEG, parsed for real); size and pages are limited by
    /// configuration. The bytes and a first-page thumbnail go to the blob store under
    /// server-made names before the record is written, so a record never points at
    /// missing bytes.
    pub async fn add_document(
        &self,
        principal: &Principal,
        id: ApplicationId,
        upload: Upload,
        context: &RequestContext,
    ) -> Result<DocumentRecord, AppError> {
        let permit = policy::authorize(principal, Permission::ApplicationsCreate)?;
        {
            let mut tx = self.store().read().await?;
            let application = own_application(&mut tx, &permit, id).await?;
            if !application.lifecycle.status().is_editable() {
                return Err(wrong_status(&application));
            }
        }
        let limits = self.document_limits();
        let bytes = upload.bytes.clone();
        let inspected = tokio::task::spawn_blocking(move || document::inspect(&bytes, &limits))
            .await
            .map_err(|e| AppError::Internal(format!("document task: {e}")))?
            .map_err(document_refused)?;
        let doc_id = DocumentId::from_bytes(secrets::id_bytes());
        let (blob_key, thumbnail_key) = blob_keys(permit.org(), doc_id);
        self.blobs().put(&blob_key, upload.bytes.clone()).await?;
        self.blobs()
            .put(&thumbnail_key, Bytes::from(inspected.thumbnail_png))
            .await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let application = own_application(&mut tx, &permit, id).await?;
        if !application.lifecycle.status().is_editable() {
            return Err(wrong_status(&application));
        }
        let existing = tx.documents(permit.org(), id).await?;
        let max = self.settings().documents_per_application;
        if existing.len() >= max {
            return Err(AppError::invalid(
                "file",
                Invalid::Document(DocumentProblem::TooManyDocuments { max }),
            ));
        }
        let record = DocumentRecord {
            id: doc_id,
            org_id: permit.org(),
            application: id,
            position: existing.iter().map(|d| d.position + 1).max().unwrap_or(0),
            name: display_name(&upload.name, inspected.kind.extension()),
            media_type: inspected.kind.media_type().to_owned(),
            size_bytes: i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX),
            sha256: hex::encode(inspected.sha256),
            pages: i64::from(inspected.pages),
            blob_key,
            thumbnail_key,
            created_at: now,
        };
        tx.insert_document(&record).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "application.document_added",
            format!("application:{id}"),
            vec![
                ("document", record.id.to_string()),
                ("sha256", record.sha256.clone()),
                ("pages", record.pages.to_string()),
                ("media_type", record.media_type.clone()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Removes a document from a draft (its applicant only).
    pub async fn remove_document(
        &self,
        principal: &Principal,
        id: ApplicationId,
        document: DocumentId,
        context: &RequestContext,
    ) -> Result<(), AppError> {
        let permit = policy::authorize(principal, Permission::ApplicationsCreate)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let application = own_application(&mut tx, &permit, id).await?;
        if !application.lifecycle.status().is_editable() {
            return Err(wrong_status(&application));
        }
        let record = tx
            .documents(permit.org(), id)
            .await?
            .into_iter()
            .find(|d| d.id == document)
            .ok_or(AppError::NotFound(Entity::Document))?;
        tx.delete_document(permit.org(), document).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "application.document_removed",
            format!("application:{id}"),
            vec![
                ("document", document.to_string()),
                ("sha256", record.sha256.clone()),
            ],
        )
        .await?;
        tx.commit().await?;
        // The bytes go after the commit; if this fails the blob is an orphan, never a
        // dangling record.
        let _ = self.blobs().delete(&record.blob_key).await;
        let _ = self.blobs().delete(&record.thumbnail_key).await;
        Ok(())
    }

    /// Submits a draft (its applicant only): the seal's flow (or the organisation's
    /// default) is resolved to people, separation of duties is checked, and the review
    /// opens on its first step.
    pub async fn submit_application(
        &self,
        principal: &Principal,
        id: ApplicationId,
        context: &RequestContext,
    ) -> Result<ApplicationRecord, AppError> {
        let permit = policy::authorize(principal, Permission::ApplicationsCreate)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut application = own_application(&mut tx, &permit, id).await?;
        let seal = tx
            .seal(permit.org(), application.seal)
            .await?
            .ok_or(AppError::NotFound(Entity::Seal))?;
        if !seal.status.usable() {
            return Err(AppError::Conflict(Conflict::SealNotUsable(seal.status)));
        }
        if application.lifecycle.window().has_ended(now) {
            return Err(AppError::invalid(
                "until",
                Invalid::Window(seal_core::application::WindowError::InThePast),
            ));
        }
        let lifecycle = application
            .lifecycle
            .apply(Event::Submit)
            .and_then(|l| l.apply(Event::BeginReview))
            .map_err(|e| AppError::Conflict(Conflict::Lifecycle(e)))?;
        if tx.documents(permit.org(), id).await?.is_empty() {
            return Err(AppError::Conflict(Conflict::NoDocuments));
        }
        let flow = match seal.flow {
            Some(flow) => tx.flow(permit.org(), flow).await?,
            None => tx.default_flow(permit.org()).await?,
        }
        .ok_or(AppError::Conflict(Conflict::NoFlow))?;
        let department_head = match application.department {
            Some(d) => tx.department(permit.org(), d).await?.and_then(|d| d.head),
            None => None,
        };
        let facts = Facts {
            applicant: application.applicant,
            count: application.lifecycle.allowed(),
            seal_level: seal.level,
            stamp_kind: application.stamp_kind,
            keeper: seal.keeper,
            department_head,
        };
        let directory = PreparedDirectory::load(&mut tx, permit.org(), &flow.flow, &facts).await?;
        let steps = flow::resolve(&flow.flow, &facts, &directory)
            .map_err(|e| AppError::Conflict(Conflict::Resolve(e)))?;
        tx.insert_application_steps(permit.org(), id, &steps)
            .await?;
        application.lifecycle = lifecycle;
        application.submitted_at = Some(now);
        application.step_since = Some(now);
        application.updated_at = now;
        tx.update_application(&application).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "application.submitted",
            format!("application:{id}"),
            vec![
                ("number", application.number.to_string()),
                ("flow", flow.id.to_string()),
                ("steps", steps.len().to_string()),
            ],
        )
        .await?;
        enqueue(
            &mut tx,
            permit.org(),
            EventKind::ApplicationSubmitted,
            application_json(&application, &seal),
            now,
        )
        .await?;
        tx.commit().await?;
        self.wake_webhook_worker();
        Ok(application)
    }

    /// Withdraws an application before its last decision (its applicant only).
    pub async fn withdraw_application(
        &self,
        principal: &Principal,
        id: ApplicationId,
        context: &RequestContext,
    ) -> Result<ApplicationRecord, AppError> {
        let permit = policy::authorize(principal, Permission::ApplicationsCreate)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut application = own_application(&mut tx, &permit, id).await?;
        application.lifecycle = application
            .lifecycle
            .apply(Event::Withdraw)
            .map_err(|e| AppError::Conflict(Conflict::Lifecycle(e)))?;
        application.decided_at = Some(now);
        application.updated_at = now;
        tx.update_application(&application).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "application.withdrawn",
            format!("application:{id}"),
            vec![("number", application.number.to_string())],
        )
        .await?;
        tx.commit().await?;
        Ok(application)
    }

    /// Records the caller's decision on the current step (`applications.approve`, and
    /// being one of the step's approvers). A rejection ends the review; passing the last
    /// step approves the application and issues its grant.
    pub async fn decide_application(
        &self,
        principal: &Principal,
        id: ApplicationId,
        verdict: &str,
        comment: &str,
        context: &RequestContext,
    ) -> Result<ApplicationView, AppError> {
        let permit = policy::authorize(principal, Permission::ApplicationsApprove)?;
        let verdict = Verdict::parse(verdict)
            .ok_or_else(|| AppError::invalid("verdict", Invalid::UnknownKey(verdict.to_owned())))?;
        let comment = comment.trim();
        if verdict == Verdict::Reject && comment.is_empty() {
            return Err(AppError::invalid("comment", Invalid::CommentRequired));
        }
        if !comment.is_empty() {
            LongText::parse(comment).map_err(|e| AppError::invalid("comment", Invalid::Text(e)))?;
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut application = tx
            .application(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Application))?;
        if application.lifecycle.status() != ApplicationStatus::InReview {
            return Err(wrong_status(&application));
        }
        if application.applicant == permit.person() {
            // Resolution leaves applicants out of every step; this is the second lock.
            return Err(AppError::Conflict(Conflict::Decision(
                flow::DecisionError::NotAnApprover,
            )));
        }
        let (mut review, decisions) = load_review(&mut tx, permit.org(), id).await?;
        let step = review.current_step().unwrap_or_default();
        let outcome = review
            .decide(permit.person(), verdict)
            .map_err(|e| AppError::Conflict(Conflict::Decision(e)))?;
        tx.insert_decision(
            permit.org(),
            id,
            decisions.len() as i64,
            &DecisionRecord {
                decision: Decision {
                    step,
                    person: permit.person(),
                    verdict,
                },
                comment: comment.to_owned(),
                at: now,
            },
        )
        .await?;
        let seal = tx
            .seal(permit.org(), application.seal)
            .await?
            .ok_or(AppError::NotFound(Entity::Seal))?;
        match outcome {
            Outcome::Waiting => {}
            Outcome::NextStep { .. } => {
                application.step_since = Some(now);
            }
            Outcome::Rejected | Outcome::Approved => {
                let event = if outcome == Outcome::Approved {
                    Event::Approve
                } else {
                    Event::Reject
                };
                application.lifecycle = application
                    .lifecycle
                    .apply(event)
                    .map_err(|e| AppError::Conflict(Conflict::Lifecycle(e)))?;
                application.decided_at = Some(now);
                application.step_since = None;
            }
        }
        application.updated_at = now;
        tx.update_application(&application).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "application.decided",
            format!("application:{id}"),
            vec![
                ("number", application.number.to_string()),
                ("step", (step + 1).to_string()),
                ("verdict", verdict.key().to_owned()),
                ("comment", comment.to_owned()),
            ],
        )
        .await?;
        if matches!(outcome, Outcome::Approved | Outcome::Rejected) {
            let mut payload = application_json(&application, &seal);
            payload["decision"] = json!(application.lifecycle.status().key());
            enqueue(
                &mut tx,
                permit.org(),
                EventKind::ApplicationDecided,
                payload,
                now,
            )
            .await?;
        }
        if outcome == Outcome::Approved {
            if !seal.status.usable() {
                return Err(AppError::Conflict(Conflict::SealNotUsable(seal.status)));
            }
            let policy = factor_policy(&mut tx, permit.org()).await?;
            let grant = GrantRecord {
                id: GrantId::from_bytes(secrets::id_bytes()),
                org_id: permit.org(),
                application: id,
                seal: seal.id,
                uses_allowed: application.lifecycle.allowed(),
                window: application.lifecycle.window(),
                factors: policy.rule(seal.level).clone(),
                // The device bound to the seal now (unlocks check the binding at the time).
                device: tx
                    .device_bound_to_seal(permit.org(), seal.id)
                    .await?
                    .map(|d| d.id.to_string()),
                status: GrantStatus::Active,
                issued_at: now,
                ended_at: None,
                ended_by: None,
                end_reason: String::new(),
            };
            tx.insert_grant(&grant).await?;
            record_by(
                &mut tx,
                &permit,
                now,
                context,
                "grant.issued",
                format!("grant:{}", grant.id),
                vec![
                    ("application", id.to_string()),
                    ("uses", grant.uses_allowed.get().to_string()),
                    ("factors", grant.factors.to_string()),
                ],
            )
            .await?;
            enqueue(
                &mut tx,
                permit.org(),
                EventKind::GrantIssued,
                grant_json(&grant, &application),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.wake_webhook_worker();
        self.application_view(principal, id).await
    }

    /// Revokes an application's active grant (`seals.manage`): the application ends as
    /// revoked and no device may use the grant any more.
    pub async fn revoke_grant(
        &self,
        principal: &Principal,
        id: ApplicationId,
        reason: &str,
        context: &RequestContext,
    ) -> Result<ApplicationView, AppError> {
        let permit = policy::authorize(principal, Permission::SealsManage)?;
        let reason = seal_core::seal::Reason::parse(reason)
            .map_err(|e| AppError::invalid("reason", Invalid::Text(e)))?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let grant = tx
            .grant_for_application(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Grant))?;
        let grant_seal = grant.seal;
        end_grant(
            &mut tx,
            &permit,
            grant,
            GrantStatus::Revoked,
            reason.as_str(),
            now,
            context,
        )
        .await?;
        tx.commit().await?;
        self.wake_webhook_worker();
        self.wake_seal_device(permit.org(), grant_seal).await;
        self.application_view(principal, id).await
    }

    /// Lists applications: the caller's own, or all of the organisation
    /// (`applications.read_all`).
    pub async fn applications(
        &self,
        principal: &Principal,
        scope: Scope,
        query: &ApplicationQuery,
    ) -> Result<(Vec<ApplicationRecord>, i64), AppError> {
        let (permit, applicant) = match scope {
            Scope::Mine => (
                policy::authorize(principal, Permission::ApplicationsCreate)?,
                Some(principal.person_id()),
            ),
            Scope::All => (
                policy::authorize(principal, Permission::ApplicationsReadAll)?,
                None,
            ),
        };
        let mut tx = self.store().read().await?;
        let filter = ApplicationFilter {
            applicant,
            seal: None,
            statuses: query.statuses.clone(),
            text: query.text.clone(),
            offset: query.page.offset(),
            limit: query.page.limit(),
        };
        Ok(tx.applications(permit.org(), &filter).await?)
    }

    /// The applications waiting for the caller's decision now (`applications.approve`),
    /// longest-waiting first.
    pub async fn inbox(&self, principal: &Principal) -> Result<Vec<ApplicationRecord>, AppError> {
        let permit = policy::authorize(principal, Permission::ApplicationsApprove)?;
        let mut tx = self.store().read().await?;
        let candidates = tx
            .applications_in_review_naming(permit.org(), permit.person())
            .await?;
        let mut waiting = Vec::new();
        for application in candidates {
            let (review, _) = load_review(&mut tx, permit.org(), application.id).await?;
            if review.waiting_on().contains(&permit.person()) {
                waiting.push(application);
            }
        }
        Ok(waiting)
    }

    /// One application with its documents, review and grant. Visible to its applicant,
    /// the people named in its review, the seal's keeper, and holders of
    /// `applications.read_all`; to anyone else it does not exist.
    pub async fn application_view(
        &self,
        principal: &Principal,
        id: ApplicationId,
    ) -> Result<ApplicationView, AppError> {
        let permit = policy::authorize_any(principal, &APPLICATION_PARTICIPANTS)?;
        let mut tx = self.store().read().await?;
        let (application, seal, steps) =
            visible_application(&mut tx, principal, &permit, id).await?;
        let decisions = tx.decisions(permit.org(), id).await?;
        let review = replay(steps.clone(), &decisions)?;
        let documents = tx.documents(permit.org(), id).await?;
        let grant = tx.grant_for_application(permit.org(), id).await?;
        let me = principal.person_id();
        let status = application.lifecycle.status();
        let mine = application.applicant == me;
        let held = |p: Permission| principal.permissions.contains(p);
        let waiting_on = if status == ApplicationStatus::InReview {
            review.waiting_on()
        } else {
            Vec::new()
        };
        Ok(ApplicationView {
            can_edit: mine && status.is_editable() && held(Permission::ApplicationsCreate),
            can_withdraw: mine
                && matches!(
                    status,
                    ApplicationStatus::Draft
                        | ApplicationStatus::Submitted
                        | ApplicationStatus::InReview
                )
                && held(Permission::ApplicationsCreate),
            can_decide: waiting_on.contains(&me) && held(Permission::ApplicationsApprove),
            can_revoke: grant.as_ref().is_some_and(|g| g.status.can_revoke())
                && held(Permission::SealsManage),
            current_step: if status == ApplicationStatus::InReview {
                review.current_step()
            } else {
                None
            },
            waiting_on,
            application,
            seal,
            documents,
            steps,
            decisions,
            grant,
        })
    }

    /// A document's bytes and its media type (decided from the content at upload), for
    /// whoever may see the application.
    pub async fn document_content(
        &self,
        principal: &Principal,
        id: ApplicationId,
        document: DocumentId,
        thumbnail: bool,
    ) -> Result<(DocumentRecord, Bytes), AppError> {
        let permit = policy::authorize_any(principal, &APPLICATION_PARTICIPANTS)?;
        let record = {
            let mut tx = self.store().read().await?;
            visible_application(&mut tx, principal, &permit, id).await?;
            tx.documents(permit.org(), id)
                .await?
                .into_iter()
                .find(|d| d.id == document)
                .ok_or(AppError::NotFound(Entity::Document))?
        };
        let key = if thumbnail {
            &record.thumbnail_key
        } else {
            &record.blob_key
        };
        let bytes = self.blobs().get(key).await?;
        Ok((record, bytes))
    }

    /// The timed jobs, across organisations: ends grants whose window passed (the
    /// application expires), and reminds approvers of steps waiting longer than the
    /// configured time (a webhook event and an audit event, once per step).
    pub async fn run_application_timers(&self) -> Result<TimedRound, AppError> {
        let now = self.now();
        let mut round = TimedRound::default();
        let context = RequestContext::default();
        let past = {
            let mut tx = self.store().read().await?;
            tx.applications_past_window(now, 200).await?
        };
        for application in past {
            let mut tx = self.store().write().await?;
            // Uses and grants change under the organisation's lock (see stamps.rs).
            tx.lock_org(application.org_id).await?;
            let Some(mut current) = tx.application(application.org_id, application.id).await?
            else {
                continue;
            };
            let Ok(next) = current.lifecycle.apply(Event::Expire { at: now }) else {
                continue;
            };
            current.lifecycle = next;
            current.updated_at = now;
            tx.update_application(&current).await?;
            if let Some(mut grant) = tx.grant_for_application(current.org_id, current.id).await?
                && grant.status == GrantStatus::Active
            {
                grant.status = GrantStatus::Expired;
                grant.ended_at = Some(now);
                grant.end_reason = "window ended".to_owned();
                tx.end_grant(&grant).await?;
            }
            record(
                &mut tx,
                now,
                Some(current.org_id),
                &Actor::System,
                &context,
                "application.expired",
                format!("application:{}", current.id),
                vec![("number", current.number.to_string())],
            )
            .await?;
            tx.commit().await?;
            round.expired += 1;
        }
        let cutoff = now.plus_seconds(-self.settings().approval_reminder_seconds);
        let waiting = {
            let mut tx = self.store().read().await?;
            tx.applications_awaiting_reminder(cutoff, 200).await?
        };
        for application in waiting {
            let mut tx = self.store().write().await?;
            let org = application.org_id;
            let Some(mut current) = tx.application(org, application.id).await? else {
                continue;
            };
            if current.step_since != application.step_since
                || current.lifecycle.status() != ApplicationStatus::InReview
            {
                continue;
            }
            let (review, _) = load_review(&mut tx, org, current.id).await?;
            let waiting_on: Vec<String> = review
                .waiting_on()
                .iter()
                .map(ToString::to_string)
                .collect();
            let step_name = review
                .current_step()
                .and_then(|i| review.steps().get(i))
                .map(|s| s.name.as_str().to_owned())
                .unwrap_or_default();
            current.reminded_at = Some(now);
            tx.update_application(&current).await?;
            record(
                &mut tx,
                now,
                Some(org),
                &Actor::System,
                &context,
                "application.reminded",
                format!("application:{}", current.id),
                vec![
                    ("number", current.number.to_string()),
                    ("step", step_name.clone()),
                    ("waiting_on", waiting_on.join(",")),
                ],
            )
            .await?;
            enqueue(
                &mut tx,
                org,
                EventKind::ApprovalReminder,
                json!({
                    "application": current.id.to_string(),
                    "number": current.number.as_str(),
                    "title": current.title.as_str(),
                    "step": step_name,
                    "waiting_since": current.step_since.map(|t| t.to_string()),
                    "waiting_on": waiting_on,
                }),
                now,
            )
            .await?;
            tx.commit().await?;
            round.reminded += 1;
        }
        if round.reminded > 0 {
            self.wake_webhook_worker();
        }
        Ok(round)
    }
}

/// An application's review, replayed from its stored steps and decisions; the decision
/// records come back too (with their comments and times).
async fn load_review(
    tx: &mut Tx,
    org: OrgId,
    id: ApplicationId,
) -> Result<(Review, Vec<DecisionRecord>), AppError> {
    let steps = tx.application_steps(org, id).await?;
    let decisions = tx.decisions(org, id).await?;
    Ok((replay(steps, &decisions)?, decisions))
}

/// Replays stored decisions over resolved steps. Stored reviews always replay (every
/// decision went through [`Review::decide`]); one that does not is corrupt data.
fn replay(
    steps: Vec<flow::ResolvedStep>,
    decisions: &[DecisionRecord],
) -> Result<Review, AppError> {
    let recorded: Vec<Decision> = decisions.iter().map(|d| d.decision).collect();
    Review::replay(steps, &recorded)
        .map_err(|e| AppError::Internal(format!("stored review does not replay: {e}")))
}

/// The caller's own application, for changes only its applicant may make.
async fn own_application(
    tx: &mut Tx,
    permit: &Permit,
    id: ApplicationId,
) -> Result<ApplicationRecord, AppError> {
    tx.application(permit.org(), id)
        .await?
        .filter(|a| a.applicant == permit.person())
        .ok_or(AppError::NotFound(Entity::Application))
}

/// An application the caller may see, with its seal and resolved steps.
async fn visible_application(
    tx: &mut Tx,
    principal: &Principal,
    permit: &Permit,
    id: ApplicationId,
) -> Result<(ApplicationRecord, SealRecord, Vec<flow::ResolvedStep>), AppError> {
    let application = tx
        .application(permit.org(), id)
        .await?
        .ok_or(AppError::NotFound(Entity::Application))?;
    let seal = tx
        .seal(permit.org(), application.seal)
        .await?
        .ok_or(AppError::NotFound(Entity::Seal))?;
    let steps = tx.application_steps(permit.org(), id).await?;
    let me = principal.person_id();
    let visible = application.applicant == me
        || principal
            .permissions
            .contains(Permission::ApplicationsReadAll)
        || seal.keeper == Some(me)
        || steps.iter().any(|s| s.approvers.contains(&me));
    if !visible {
        return Err(AppError::NotFound(Entity::Application));
    }
    Ok((application, seal, steps))
}

fn wrong_status(application: &ApplicationRecord) -> AppError {
    AppError::Conflict(Conflict::Lifecycle(
        seal_core::application::LifecycleError::WrongStatus(application.lifecycle.status()),
    ))
}

pub(crate) fn document_refused(error: DocumentError) -> AppError {
    let problem = match error {
        DocumentError::Empty => DocumentProblem::Empty,
        DocumentError::TooLarge { max_bytes, .. } => DocumentProblem::TooLarge { max_bytes },
        DocumentError::UnsupportedType => DocumentProblem::UnsupportedType,
        DocumentError::Malformed { .. } => DocumentProblem::Malformed,
        DocumentError::TooManyPages { pages, max } => DocumentProblem::TooManyPages { pages, max },
        DocumentError::Encrypted => DocumentProblem::Encrypted,
        DocumentError::ImageTooLarge { .. } => DocumentProblem::ImageTooLarge,
        DocumentError::Thumbnail(e) => return AppError::Internal(format!("thumbnail: {e}")),
    };
    AppError::invalid("file", Invalid::Document(problem))
}

/// The uploaded name reduced to something safe to display: its last path component,
/// without control characters, at most 120 characters; the extension that matches the
/// content when there is no name.
fn display_name(name: &str, extension: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(120)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() {
        format!("document.{extension}")
    } else {
        cleaned
    }
}

/// The directory facts a flow needs, read once inside the submission's transaction.
struct PreparedDirectory {
    roles: BTreeMap<RoleId, Vec<PersonId>>,
    approvers: BTreeSet<PersonId>,
}

impl PreparedDirectory {
    async fn load(
        tx: &mut Tx,
        org: OrgId,
        flow: &flow::Flow,
        facts: &Facts,
    ) -> Result<PreparedDirectory, AppError> {
        let mut roles = BTreeMap::new();
        let mut candidates: BTreeSet<PersonId> = BTreeSet::new();
        candidates.extend(facts.keeper);
        candidates.extend(facts.department_head);
        for step in flow.steps() {
            match &step.approvers {
                flow::Approvers::People(people) => candidates.extend(people.iter().copied()),
                flow::Approvers::Role(role) => {
                    let holders = tx.role_holders(org, *role).await?;
                    candidates.extend(holders.iter().copied());
                    roles.insert(*role, holders);
                }
                flow::Approvers::DepartmentHead | flow::Approvers::SealKeeper => {}
            }
        }
        let mut approvers = BTreeSet::new();
        for person in candidates {
            let Some(record) = tx.person(org, person).await? else {
                continue;
            };
            if record.status != PersonStatus::Active {
                continue;
            }
            let roles = tx.person_roles(org, person).await?;
            if policy::permissions_of(&roles).contains(Permission::ApplicationsApprove) {
                approvers.insert(person);
            }
        }
        Ok(PreparedDirectory { roles, approvers })
    }
}

impl Directory for PreparedDirectory {
    fn role_members(&self, role: RoleId) -> Vec<PersonId> {
        self.roles.get(&role).cloned().unwrap_or_default()
    }

    /// Active, and holding `applications.approve` through one of their roles.
    fn may_approve(&self, person: PersonId) -> bool {
        self.approvers.contains(&person)
    }
}

/// The application as webhook payloads show it.
fn application_json(application: &ApplicationRecord, seal: &SealRecord) -> serde_json::Value {
    let l = &application.lifecycle;
    json!({
        "id": application.id.to_string(),
        "number": application.number.as_str(),
        "status": l.status().key(),
        "applicant": application.applicant.to_string(),
        "seal": crate::seals::seal_json(seal),
        "stamp_kind": application.stamp_kind.key(),
        "title": application.title.as_str(),
        "count": l.allowed().get(),
        "window": {"from": l.window().from().to_string(), "until": l.window().until().to_string()},
    })
}

fn grant_json(grant: &GrantRecord, application: &ApplicationRecord) -> serde_json::Value {
    json!({
        "id": grant.id.to_string(),
        "application": application.id.to_string(),
        "number": application.number.as_str(),
        "seal": grant.seal.to_string(),
        "uses": grant.uses_allowed.get(),
        "window": {"from": grant.window.from().to_string(), "until": grant.window.until().to_string()},
        "factors": grant.factors.to_string(),
        "device": grant.device,
    })
}
