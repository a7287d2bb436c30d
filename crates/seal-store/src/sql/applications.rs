//! The SQL of seal-use applications: numbers, documents, resolved review steps,
//! decisions and grants, and the records they hold.

use seal_core::application::{
    ApplicationNumber, ApplicationStatus, Lifecycle, LongText, StampCount, StampKind, Title, Window,
};
use seal_core::flow::{Decision, ResolvedStep, StepName, StepRule, Verdict};
use seal_core::grant::GrantStatus;
use seal_core::ids::{ApplicationId, DepartmentId, DocumentId, GrantId, OrgId, PersonId, SealId};
use seal_core::seal::FactorRule;
use seal_core::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{MAX_PAGE, Tx, corrupt, opt_id, parse_id};
use crate::StoreError;

/// A seal-use application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub id: ApplicationId,
    pub org_id: OrgId,
    pub number: ApplicationNumber,
    pub applicant: PersonId,
    pub department: Option<DepartmentId>,
    pub seal: SealId,
    pub stamp_kind: StampKind,
    pub title: Title,
    pub reason: LongText,
    /// Status, window, stampings allowed and done.
    pub lifecycle: Lifecycle,
    pub submitted_at: Option<Timestamp>,
    pub decided_at: Option<Timestamp>,
    /// When the current review step opened (for reminders).
    pub step_since: Option<Timestamp>,
    pub reminded_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A document attached to an application. The bytes live in the blob store under
/// `blob_key` (a server-made name); `media_type` was decided from the content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentRecord {
    pub id: DocumentId,
    pub org_id: OrgId,
    pub application: ApplicationId,
    pub position: i64,
    /// The uploaded file's name, for display only.
    pub name: String,
    pub media_type: String,
    pub size_bytes: i64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub pages: i64,
    pub blob_key: String,
    pub thumbnail_key: String,
    pub created_at: Timestamp,
}

/// A recorded decision with its comment and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRecord {
    pub decision: Decision,
    pub comment: String,
    pub at: Timestamp,
}

/// What an approved application allows at a device or signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    pub id: GrantId,
    pub org_id: OrgId,
    pub application: ApplicationId,
    pub seal: SealId,
    pub uses_allowed: StampCount,
    pub window: Window,
    /// The factors the seal's level demanded when the grant was issued.
    pub factors: FactorRule,
    /// The device the seal is bound to, when it is.
    pub device: Option<String>,
    pub status: GrantStatus,
    pub issued_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// Who ended it (an audit actor text), when revoked.
    pub ended_by: Option<String>,
    pub end_reason: String,
}

/// Filter for [`Tx::applications`].
#[derive(Clone, Debug, Default)]
pub struct ApplicationFilter {
    pub applicant: Option<PersonId>,
    pub seal: Option<SealId>,
    pub statuses: Vec<ApplicationStatus>,
    /// Matches the number or the title.
    pub text: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

pub(super) const APPLICATION_COLUMNS: &str = "id, org_id, number, applicant_id, department_id, seal_id, \
     stamp_kind, title, reason, stamp_count, window_from, window_until, status, uses_done, \
     submitted_at, decided_at, step_since, reminded_at, created_at, updated_at";

const DOCUMENT_COLUMNS: &str = "id, org_id, application_id, position, name, media_type, size_bytes, \
     sha256, pages, blob_key, thumbnail_key, created_at";

pub(super) const GRANT_COLUMNS: &str = "id, org_id, application_id, seal_id, uses_allowed, window_from, \
     window_until, factors, device_id, status, issued_at, ended_at, ended_by, end_reason";

impl Tx {
    /// Takes the next application sequence number of `org` in `year` (1, 2, …).
    pub async fn next_application_sequence(
        &mut self,
        org: OrgId,
        year: i64,
    ) -> Result<u64, StoreError> {
        sqlx::query(
            "INSERT INTO application_sequences (org_id, year, next) VALUES ($1, $2, 1) \
             ON CONFLICT (org_id, year) DO UPDATE SET next = application_sequences.next + 1",
        )
        .bind(org.to_string())
        .bind(year)
        .execute(self.conn())
        .await?;
        let row =
            sqlx::query("SELECT next FROM application_sequences WHERE org_id = $1 AND year = $2")
                .bind(org.to_string())
                .bind(year)
                .fetch_one(self.conn())
                .await?;
        let next: i64 = row.try_get("next")?;
        u64::try_from(next).map_err(|e| corrupt("application sequence", e))
    }

    pub async fn insert_application(&mut self, a: &ApplicationRecord) -> Result<(), StoreError> {
        let l = &a.lifecycle;
        sqlx::query(
            "INSERT INTO applications (id, org_id, number, applicant_id, department_id, seal_id, \
             stamp_kind, title, reason, stamp_count, window_from, window_until, status, uses_done, \
             submitted_at, decided_at, step_since, reminded_at, created_at, updated_at) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(a.id.to_string())
        .bind(a.org_id.to_string())
        .bind(a.number.as_str().to_owned())
        .bind(a.applicant.to_string())
        .bind(a.department.map(|d| d.to_string()))
        .bind(a.seal.to_string())
        .bind(a.stamp_kind.key())
        .bind(a.title.as_str().to_owned())
        .bind(a.reason.as_str().to_owned())
        .bind(i64::from(l.allowed().get()))
        .bind(l.window().from().as_millis())
        .bind(l.window().until().as_millis())
        .bind(l.status().key())
        .bind(i64::from(l.uses_done()))
        .bind(a.submitted_at.map(Timestamp::as_millis))
        .bind(a.decided_at.map(Timestamp::as_millis))
        .bind(a.step_since.map(Timestamp::as_millis))
        .bind(a.reminded_at.map(Timestamp::as_millis))
        .bind(a.created_at.as_millis())
        .bind(a.updated_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Writes every changeable field back (not the id, organisation, number, applicant
    /// or creation time).
    pub async fn update_application(&mut self, a: &ApplicationRecord) -> Result<(), StoreError> {
        let l = &a.lifecycle;
        sqlx::query(
            "UPDATE applications SET department_id = $3, seal_id = $4, stamp_kind = $5, title = $6, \
             reason = $7, stamp_count = $8, window_from = $9, window_until = $10, status = $11, \
             uses_done = $12, submitted_at = $13, decided_at = $14, step_since = $15, \
             reminded_at = $16, updated_at = $17 WHERE org_id = $1 AND id = $2",
        )
        .bind(a.org_id.to_string())
        .bind(a.id.to_string())
        .bind(a.department.map(|d| d.to_string()))
        .bind(a.seal.to_string())
        .bind(a.stamp_kind.key())
        .bind(a.title.as_str().to_owned())
        .bind(a.reason.as_str().to_owned())
        .bind(i64::from(l.allowed().get()))
        .bind(l.window().from().as_millis())
        .bind(l.window().until().as_millis())
        .bind(l.status().key())
        .bind(i64::from(l.uses_done()))
        .bind(a.submitted_at.map(Timestamp::as_millis))
        .bind(a.decided_at.map(Timestamp::as_millis))
        .bind(a.step_since.map(Timestamp::as_millis))
        .bind(a.reminded_at.map(Timestamp::as_millis))
        .bind(a.updated_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn application(
        &mut self,
        org: OrgId,
        id: ApplicationId,
    ) -> Result<Option<ApplicationRecord>, StoreError> {
        let sql =
            format!("SELECT {APPLICATION_COLUMNS} FROM applications WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(application_from_row).transpose()
    }

    /// One page of the organisation's applications, newest first, and the total count.
    pub async fn applications(
        &mut self,
        org: OrgId,
        filter: &ApplicationFilter,
    ) -> Result<(Vec<ApplicationRecord>, i64), StoreError> {
        let mut conditions = vec!["org_id = $1".to_owned()];
        let mut binds: Vec<String> = vec![org.to_string()];
        if let Some(applicant) = filter.applicant {
            binds.push(applicant.to_string());
            conditions.push(format!("applicant_id = ${}", binds.len()));
        }
        if let Some(seal) = filter.seal {
            binds.push(seal.to_string());
            conditions.push(format!("seal_id = ${}", binds.len()));
        }
        if !filter.statuses.is_empty() {
            let mut marks = Vec::new();
            for status in &filter.statuses {
                binds.push(status.key().to_owned());
                marks.push(format!("${}", binds.len()));
            }
            conditions.push(format!("status IN ({})", marks.join(", ")));
        }
        if let Some(text) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
            let pattern = format!(
                "%{}%",
                text.trim()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            binds.push(pattern);
            let n = binds.len();
            conditions.push(format!(
                "(number LIKE ${n} ESCAPE '\\' OR title LIKE ${n} ESCAPE '\\')"
            ));
        }
        let clause = conditions.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) AS n FROM applications WHERE {clause}");
        let mut count = sqlx::query(AssertSqlSafe(count_sql));
        for b in &binds {
            count = count.bind(b.clone());
        }
        let total: i64 = count.fetch_one(self.conn()).await?.try_get("n")?;
        let limit = filter.limit.clamp(0, MAX_PAGE);
        let offset = filter.offset.max(0);
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE {clause} \
             ORDER BY created_at DESC, id LIMIT {limit} OFFSET {offset}"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in &binds {
            query = query.bind(b.clone());
        }
        let rows = query.fetch_all(self.conn()).await?;
        let items = rows
            .iter()
            .map(application_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, total))
    }

    /// Applications in review whose resolved steps name `person` (the inbox's
    /// candidates; the caller keeps those where the person is awaited now).
    pub async fn applications_in_review_naming(
        &mut self,
        org: OrgId,
        person: PersonId,
    ) -> Result<Vec<ApplicationRecord>, StoreError> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE org_id = $1 AND status = 'in_review' \
             AND id IN (SELECT application_id FROM application_steps WHERE org_id = $1 \
             AND approvers LIKE $2) ORDER BY step_since, id LIMIT {MAX_PAGE}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(format!("%{person}%"))
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(application_from_row).collect()
    }

    /// Applications (of every organisation) whose current step opened before `cutoff`
    /// and that were not reminded since: the reminder job's work list. Cross-organisation
    /// by design; the job writes each reminder in the application's own organisation.
    pub async fn applications_awaiting_reminder(
        &mut self,
        cutoff: Timestamp,
        limit: i64,
    ) -> Result<Vec<ApplicationRecord>, StoreError> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE status = 'in_review' \
             AND step_since < $1 AND (reminded_at IS NULL OR reminded_at < step_since) \
             ORDER BY step_since, id LIMIT {}",
            limit.clamp(0, MAX_PAGE)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(cutoff.as_millis())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(application_from_row).collect()
    }

    /// Approved or in-use applications (of every organisation) whose window ended by
    /// `now`: the expiry job's work list. Cross-organisation by design.
    pub async fn applications_past_window(
        &mut self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<ApplicationRecord>, StoreError> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE status IN ('approved', 'in_use') \
             AND window_until <= $1 ORDER BY window_until, id LIMIT {}",
            limit.clamp(0, MAX_PAGE)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(now.as_millis())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(application_from_row).collect()
    }

    // ----- documents -------------------------------------------------------------------

    pub async fn insert_document(&mut self, d: &DocumentRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO application_documents (id, org_id, application_id, position, name, \
             media_type, size_bytes, sha256, pages, blob_key, thumbnail_key, created_at) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(d.id.to_string())
        .bind(d.org_id.to_string())
        .bind(d.application.to_string())
        .bind(d.position)
        .bind(d.name.clone())
        .bind(d.media_type.clone())
        .bind(d.size_bytes)
        .bind(d.sha256.clone())
        .bind(d.pages)
        .bind(d.blob_key.clone())
        .bind(d.thumbnail_key.clone())
        .bind(d.created_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn documents(
        &mut self,
        org: OrgId,
        application: ApplicationId,
    ) -> Result<Vec<DocumentRecord>, StoreError> {
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM application_documents \
             WHERE org_id = $1 AND application_id = $2 ORDER BY position, id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(application.to_string())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(document_from_row).collect()
    }

    pub async fn delete_document(&mut self, org: OrgId, id: DocumentId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM application_documents WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    // ----- review ----------------------------------------------------------------------

    /// Stores the steps a flow resolved to for an application (at submission).
    pub async fn insert_application_steps(
        &mut self,
        org: OrgId,
        application: ApplicationId,
        steps: &[ResolvedStep],
    ) -> Result<(), StoreError> {
        for (position, step) in steps.iter().enumerate() {
            let approvers = step
                .approvers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",");
            sqlx::query(
                "INSERT INTO application_steps (application_id, org_id, position, name, rule, approvers) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(application.to_string())
            .bind(org.to_string())
            .bind(position as i64)
            .bind(step.name.as_str().to_owned())
            .bind(step.rule.key())
            .bind(approvers)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    pub async fn application_steps(
        &mut self,
        org: OrgId,
        application: ApplicationId,
    ) -> Result<Vec<ResolvedStep>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, rule, approvers FROM application_steps \
             WHERE org_id = $1 AND application_id = $2 ORDER BY position",
        )
        .bind(org.to_string())
        .bind(application.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|row| {
                let name: String = row.try_get("name")?;
                let rule: String = row.try_get("rule")?;
                let approvers: String = row.try_get("approvers")?;
                Ok(ResolvedStep {
                    name: StepName::parse(&name).map_err(|e| corrupt("step name", e))?,
                    rule: StepRule::parse(&rule).ok_or_else(|| corrupt("step rule", &rule))?,
                    approvers: approvers
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| parse_id(s, PersonId::parse))
                        .collect::<Result<_, _>>()?,
                })
            })
            .collect()
    }

    pub async fn insert_decision(
        &mut self,
        org: OrgId,
        application: ApplicationId,
        seq: i64,
        decision: &DecisionRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO application_decisions (application_id, org_id, seq, step, person_id, \
             verdict, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(application.to_string())
        .bind(org.to_string())
        .bind(seq)
        .bind(decision.decision.step as i64)
        .bind(decision.decision.person.to_string())
        .bind(decision.decision.verdict.key())
        .bind(decision.comment.clone())
        .bind(decision.at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// An application's decisions in the order they were made.
    pub async fn decisions(
        &mut self,
        org: OrgId,
        application: ApplicationId,
    ) -> Result<Vec<DecisionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT step, person_id, verdict, comment, at FROM application_decisions \
             WHERE org_id = $1 AND application_id = $2 ORDER BY seq",
        )
        .bind(org.to_string())
        .bind(application.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|row| {
                let person: String = row.try_get("person_id")?;
                let verdict: String = row.try_get("verdict")?;
                let step: i64 = row.try_get("step")?;
                Ok(DecisionRecord {
                    decision: Decision {
                        step: usize::try_from(step).map_err(|e| corrupt("step", e))?,
                        person: parse_id(&person, PersonId::parse)?,
                        verdict: Verdict::parse(&verdict)
                            .ok_or_else(|| corrupt("verdict", &verdict))?,
                    },
                    comment: row.try_get("comment")?,
                    at: Timestamp::from_millis(row.try_get("at")?),
                })
            })
            .collect()
    }

    // ----- grants ----------------------------------------------------------------------

    pub async fn insert_grant(&mut self, g: &GrantRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO grants (id, org_id, application_id, seal_id, uses_allowed, window_from, \
             window_until, factors, device_id, status, issued_at, ended_at, ended_by, end_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(g.id.to_string())
        .bind(g.org_id.to_string())
        .bind(g.application.to_string())
        .bind(g.seal.to_string())
        .bind(i64::from(g.uses_allowed.get()))
        .bind(g.window.from().as_millis())
        .bind(g.window.until().as_millis())
        .bind(g.factors.to_string())
        .bind(g.device.clone())
        .bind(g.status.key())
        .bind(g.issued_at.as_millis())
        .bind(g.ended_at.map(Timestamp::as_millis))
        .bind(g.ended_by.clone())
        .bind(g.end_reason.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Ends a grant: records its new status, when, by whom and why.
    pub async fn end_grant(&mut self, g: &GrantRecord) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE grants SET status = $3, ended_at = $4, ended_by = $5, end_reason = $6 \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(g.org_id.to_string())
        .bind(g.id.to_string())
        .bind(g.status.key())
        .bind(g.ended_at.map(Timestamp::as_millis))
        .bind(g.ended_by.clone())
        .bind(g.end_reason.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn grant(
        &mut self,
        org: OrgId,
        id: GrantId,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM grants WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(grant_from_row).transpose()
    }

    pub async fn grant_for_application(
        &mut self,
        org: OrgId,
        application: ApplicationId,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let sql =
            format!("SELECT {GRANT_COLUMNS} FROM grants WHERE org_id = $1 AND application_id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(application.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(grant_from_row).transpose()
    }

    /// The active grants for a seal (to end them when the seal stops being usable).
    pub async fn active_grants_for_seal(
        &mut self,
        org: OrgId,
        seal: SealId,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE org_id = $1 AND seal_id = $2 AND status = 'active'"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(seal.to_string())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(grant_from_row).collect()
    }
}

fn opt_time(value: Option<i64>) -> Option<Timestamp> {
    value.map(Timestamp::from_millis)
}

pub(super) fn application_from_row(row: &AnyRow) -> Result<ApplicationRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let applicant: String = row.try_get("applicant_id")?;
    let seal: String = row.try_get("seal_id")?;
    let kind: String = row.try_get("stamp_kind")?;
    let title: String = row.try_get("title")?;
    let reason: String = row.try_get("reason")?;
    let status: String = row.try_get("status")?;
    let window = Window::from_stored(
        Timestamp::from_millis(row.try_get("window_from")?),
        Timestamp::from_millis(row.try_get("window_until")?),
    )
    .map_err(|e| corrupt("window", e))?;
    let count = StampCount::new(row.try_get("stamp_count")?).map_err(|e| corrupt("count", e))?;
    let uses: i64 = row.try_get("uses_done")?;
    let status =
        ApplicationStatus::parse(&status).ok_or_else(|| corrupt("application status", &status))?;
    let lifecycle = Lifecycle::from_stored(
        status,
        window,
        count,
        u32::try_from(uses).map_err(|e| corrupt("uses", e))?,
    )
    .ok_or_else(|| corrupt("uses", uses))?;
    Ok(ApplicationRecord {
        id: parse_id(&id, ApplicationId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        number: ApplicationNumber::from_stored(row.try_get("number")?),
        applicant: parse_id(&applicant, PersonId::parse)?,
        department: opt_id(row.try_get("department_id")?, DepartmentId::parse)?,
        seal: parse_id(&seal, SealId::parse)?,
        stamp_kind: StampKind::parse(&kind).ok_or_else(|| corrupt("stamp kind", &kind))?,
        title: Title::parse(&title).map_err(|e| corrupt("title", e))?,
        reason: LongText::parse(&reason).map_err(|e| corrupt("reason", e))?,
        lifecycle,
        submitted_at: opt_time(row.try_get("submitted_at")?),
        decided_at: opt_time(row.try_get("decided_at")?),
        step_since: opt_time(row.try_get("step_since")?),
        reminded_at: opt_time(row.try_get("reminded_at")?),
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn document_from_row(row: &AnyRow) -> Result<DocumentRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let application: String = row.try_get("application_id")?;
    Ok(DocumentRecord {
        id: parse_id(&id, DocumentId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        application: parse_id(&application, ApplicationId::parse)?,
        position: row.try_get("position")?,
        name: row.try_get("name")?,
        media_type: row.try_get("media_type")?,
        size_bytes: row.try_get("size_bytes")?,
        sha256: row.try_get("sha256")?,
        pages: row.try_get("pages")?,
        blob_key: row.try_get("blob_key")?,
        thumbnail_key: row.try_get("thumbnail_key")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

pub(super) fn grant_from_row(row: &AnyRow) -> Result<GrantRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let application: String = row.try_get("application_id")?;
    let seal: String = row.try_get("seal_id")?;
    let factors: String = row.try_get("factors")?;
    let status: String = row.try_get("status")?;
    Ok(GrantRecord {
        id: parse_id(&id, GrantId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        application: parse_id(&application, ApplicationId::parse)?,
        seal: parse_id(&seal, SealId::parse)?,
        uses_allowed: StampCount::new(row.try_get("uses_allowed")?)
            .map_err(|e| corrupt("uses allowed", e))?,
        window: Window::from_stored(
            Timestamp::from_millis(row.try_get("window_from")?),
            Timestamp::from_millis(row.try_get("window_until")?),
        )
        .map_err(|e| corrupt("window", e))?,
        factors: FactorRule::parse(&factors).map_err(|e| corrupt("factors", e))?,
        device: row.try_get("device_id")?,
        status: GrantStatus::parse(&status).ok_or_else(|| corrupt("grant status", &status))?,
        issued_at: Timestamp::from_millis(row.try_get("issued_at")?),
        ended_at: opt_time(row.try_get("ended_at")?),
        ended_by: row.try_get("ended_by")?,
        end_reason: row.try_get("end_reason")?,
    })
}
