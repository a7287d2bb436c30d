//! The SQL of document comparisons: each comparison of a captured page with the approved
//! document, written once and never updated (triggers in both engines refuse UPDATE and
//! DELETE), at most one per stamp, and a leaf of the tamper-evident log in the
//! transaction that stores it; an organisation's thresholds (no row: the defaults); and
//! the server's press-photo work queue — the press stamps with a photo and an application
//! that have no comparison yet, found across organisations (no table of its own).

use seal_core::comparison::{
    ComparisonEntry, ComparisonSubject, ComparisonThresholds, ComparisonVerdict, PressCheck,
};
use seal_core::ids::{ApplicationId, ComparisonId, DeviceId, DocumentId, OrgId, SealId, StampId};
use seal_core::stamp::EntryKind;
use seal_core::time::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::stamps::stamp_subject;
use super::{MAX_PAGE, Tx, corrupt, opt_id, parse_id};
use crate::StoreError;

/// One comparison of a captured page with the approved document: written once.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonRecord {
    pub id: ComparisonId,
    pub org_id: OrgId,
    pub subject: ComparisonSubject,
    pub application: Option<ApplicationId>,
    /// The stamp whose page this is (at most one comparison per stamp). A printer's scan
    /// that matches is stored with the print job's stamp, inserted first in the same
    /// transaction; a scan that does not match has no stamp.
    pub stamp: Option<StampId>,
    pub device: Option<DeviceId>,
    /// The approved document the capture was matched with.
    pub document: Option<DocumentId>,
    /// The approved document's page the capture shows, 0-based.
    pub page: Option<u32>,
    pub verdict: ComparisonVerdict,
    /// Similarity, 0 to 1.
    pub score: f32,
    /// The capture is an empty or nearly empty page.
    pub blank: bool,
    /// The differences as JSON, written by the caller (the store does not read it).
    pub differences: String,
    /// Blob key of the capture.
    pub capture_key: Option<String>,
    /// Lower-case hex SHA-256 of the capture's bytes.
    pub capture_sha256: Option<String>,
    /// Blob key of the highlighted side-by-side PNG.
    pub diff_key: Option<String>,
    /// The engine and its version, e.g. `pp-ocrv4 1`.
    pub engine: String,
    /// How long the comparison took, in milliseconds.
    pub millis: i64,
    /// Who asked for it (an audit actor text: `person:<uuid>`, `device:<uuid>`, `system`).
    pub created_by: Option<String>,
    pub created_at: Timestamp,
}

/// Where a page of [`Tx::comparisons`] ends: pass it back to get the next (older) page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComparisonCursor {
    pub created_at: Timestamp,
    pub id: ComparisonId,
}

/// An organisation's stored thresholds with who set them last.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonThresholdsRecord {
    pub org_id: OrgId,
    pub thresholds: ComparisonThresholds,
    pub updated_at: Timestamp,
    /// An audit actor text.
    pub updated_by: String,
}

/// A press photo waiting for its comparison (see [`Tx::pending_press_photos`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPressPhoto {
    pub stamp: StampId,
    pub org_id: OrgId,
    pub device: DeviceId,
    pub application: ApplicationId,
    pub seal: Option<SealId>,
    pub photo_key: String,
    pub photo_sha256: Option<String>,
    /// SHA-256 (hex) of the approved document the stamp was made for, when known.
    pub document_sha256: Option<String>,
    /// The page stamped, when known (1-based, as on the stamp).
    pub page: Option<u32>,
    pub received_at: Timestamp,
}

const COLUMNS: &str = "id, org_id, subject, application_id, stamp_id, device_id, document_id, \
     page, verdict, score, blank, differences, capture_key, capture_sha256, diff_key, engine, \
     millis, created_by, created_at";

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The log subject of a comparison of no stamp (one of a stamp is about the stamp).
pub fn comparison_subject(id: ComparisonId) -> String {
    format!("comparison:{id}")
}

impl ComparisonRecord {
    /// SHA-256 of the details the log does not publish, in a fixed length-prefixed layout
    /// (`SKCD`, version 1, then: application id, device id, document id, page, score,
    /// differences, capture key, capture SHA-256, diff key, engine, milliseconds, created
    /// by — absent values empty, ids and text as UTF-8, the page and milliseconds 8 bytes
    /// big-endian, the score the 4 big-endian bytes of its IEEE 754 single).
    pub fn details_digest(&self) -> [u8; 32] {
        let mut out = Vec::with_capacity(300 + self.differences.len());
        out.extend_from_slice(b"SKCD\x01");
        let text = |v: Option<String>| v.unwrap_or_default().into_bytes();
        put(&mut out, &text(self.application.map(|a| a.to_string())));
        put(&mut out, &text(self.device.map(|d| d.to_string())));
        put(&mut out, &text(self.document.map(|d| d.to_string())));
        let page = self
            .page
            .map(|p| i64::from(p).to_be_bytes().to_vec())
            .unwrap_or_default();
        put(&mut out, &page);
        put(&mut out, &self.score.to_bits().to_be_bytes());
        put(&mut out, self.differences.as_bytes());
        put(&mut out, &text(self.capture_key.clone()));
        put(&mut out, &text(self.capture_sha256.clone()));
        put(&mut out, &text(self.diff_key.clone()));
        put(&mut out, self.engine.as_bytes());
        put(&mut out, &self.millis.to_be_bytes());
        put(&mut out, &text(self.created_by.clone()));
        Sha256::digest(&out).into()
    }

    /// The comparison's public facts as the log records them.
    pub fn log_entry(&self) -> ComparisonEntry {
        ComparisonEntry {
            comparison: self.id,
            org: self.org_id,
            stamp: self.stamp,
            subject: self.subject,
            verdict: self.verdict,
            blank: self.blank,
            at: self.created_at,
            details_digest: self.details_digest(),
        }
    }

    /// The log subject its entry is filed under: the stamp's (`stamp:<uuid>`, next to the
    /// stamp's own entries) or, with no stamp, `comparison:<uuid>`.
    pub fn log_subject(&self) -> String {
        match self.stamp {
            Some(stamp) => stamp_subject(stamp),
            None => comparison_subject(self.id),
        }
    }

    /// The cursor that continues a list after this comparison.
    pub fn cursor(&self) -> ComparisonCursor {
        ComparisonCursor {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

fn comparison_from_row(row: &AnyRow) -> Result<ComparisonRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let subject: String = row.try_get("subject")?;
    let verdict: String = row.try_get("verdict")?;
    let page: Option<i64> = row.try_get("page")?;
    let score: f64 = row.try_get("score")?;
    let blank: i64 = row.try_get("blank")?;
    Ok(ComparisonRecord {
        id: parse_id(&id, ComparisonId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        subject: ComparisonSubject::parse(&subject)
            .ok_or_else(|| corrupt("comparison subject", &subject))?,
        application: opt_id(row.try_get("application_id")?, ApplicationId::parse)?,
        stamp: opt_id(row.try_get("stamp_id")?, StampId::parse)?,
        device: opt_id(row.try_get("device_id")?, DeviceId::parse)?,
        document: opt_id(row.try_get("document_id")?, DocumentId::parse)?,
        page: page
            .map(u32::try_from)
            .transpose()
            .map_err(|e| corrupt("comparison page", e))?,
        verdict: ComparisonVerdict::parse(&verdict)
            .ok_or_else(|| corrupt("comparison verdict", &verdict))?,
        // Written from an f32, so the conversion back is exact.
        score: score as f32,
        blank: blank != 0,
        differences: row.try_get("differences")?,
        capture_key: row.try_get("capture_key")?,
        capture_sha256: row.try_get("capture_sha256")?,
        diff_key: row.try_get("diff_key")?,
        engine: row.try_get("engine")?,
        millis: row.try_get("millis")?,
        created_by: row.try_get("created_by")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

fn thresholds_from_row(row: &AnyRow) -> Result<ComparisonThresholdsRecord, StoreError> {
    let org: String = row.try_get("org_id")?;
    let press_check: String = row.try_get("press_check")?;
    let blank: i64 = row.try_get("blank_chars_below")?;
    let similarity = |name: &str| -> Result<f32, StoreError> {
        let value: f64 = row.try_get(name)?;
        Ok(value as f32)
    };
    let thresholds = ComparisonThresholds {
        other_page_below: similarity("other_page_below")?,
        match_at_least: similarity("match_at_least")?,
        minor_per_100: similarity("minor_per_100")?,
        blank_chars_below: u32::try_from(blank).map_err(|e| corrupt("blank_chars_below", e))?,
        press_check: PressCheck::parse(&press_check)
            .ok_or_else(|| corrupt("press check", &press_check))?,
    };
    thresholds
        .validate()
        .map_err(|e| corrupt("comparison thresholds", e))?;
    Ok(ComparisonThresholdsRecord {
        org_id: parse_id(&org, OrgId::parse)?,
        thresholds,
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
        updated_by: row.try_get("updated_by")?,
    })
}

fn pending_from_row(row: &AnyRow) -> Result<PendingPressPhoto, StoreError> {
    let stamp: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let device: String = row.try_get("device_id")?;
    let application: String = row.try_get("application_id")?;
    let page: Option<i64> = row.try_get("page")?;
    Ok(PendingPressPhoto {
        stamp: parse_id(&stamp, StampId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        device: parse_id(&device, DeviceId::parse)?,
        application: parse_id(&application, ApplicationId::parse)?,
        seal: opt_id(row.try_get("seal_id")?, SealId::parse)?,
        photo_key: row.try_get("photo_key")?,
        photo_sha256: row.try_get("photo_sha256")?,
        document_sha256: row.try_get("document_sha256")?,
        page: page
            .map(u32::try_from)
            .transpose()
            .map_err(|e| corrupt("stamp page", e))?,
        received_at: Timestamp::from_millis(row.try_get("received_at")?),
    })
}

impl Tx {
    /// Stores a comparison and queues its log entry. A second comparison of the same
    /// stamp is [`StoreError::Conflict`]. The stamp, application, device and document it
    /// names must exist (foreign keys) and belong to `c.org_id` (the caller's duty: it
    /// read them through the organisation's permit).
    pub async fn insert_comparison(&mut self, c: &ComparisonRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO comparisons ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(c.id.to_string())
            .bind(c.org_id.to_string())
            .bind(c.subject.key())
            .bind(c.application.map(|a| a.to_string()))
            .bind(c.stamp.map(|s| s.to_string()))
            .bind(c.device.map(|d| d.to_string()))
            .bind(c.document.map(|d| d.to_string()))
            .bind(c.page.map(i64::from))
            .bind(c.verdict.key())
            .bind(f64::from(c.score))
            .bind(i64::from(c.blank))
            .bind(c.differences.clone())
            .bind(c.capture_key.clone())
            .bind(c.capture_sha256.clone())
            .bind(c.diff_key.clone())
            .bind(c.engine.clone())
            .bind(c.millis)
            .bind(c.created_by.clone())
            .bind(c.created_at.as_millis())
            .execute(self.conn())
            .await?;
        self.log(
            EntryKind::Comparison,
            c.log_subject(),
            Some(c.org_id),
            c.log_entry().canonical_bytes(),
            c.created_at,
        );
        Ok(())
    }

    pub async fn comparison(
        &mut self,
        org: OrgId,
        id: ComparisonId,
    ) -> Result<Option<ComparisonRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM comparisons WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(comparison_from_row).transpose()
    }

    /// The comparison of a stamp's page, if it has one.
    pub async fn comparison_for_stamp(
        &mut self,
        org: OrgId,
        stamp: StampId,
    ) -> Result<Option<ComparisonRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM comparisons WHERE org_id = $1 AND stamp_id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(stamp.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(comparison_from_row).transpose()
    }

    /// An application's comparisons (with and without stamps), newest first, at most 1000.
    pub async fn comparisons_for_application(
        &mut self,
        org: OrgId,
        application: ApplicationId,
    ) -> Result<Vec<ComparisonRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM comparisons WHERE org_id = $1 AND application_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT {MAX_PAGE}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(application.to_string())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(comparison_from_row).collect()
    }

    /// An auditor's list: the organisation's comparisons, newest first, only those with
    /// `verdict` when given, at most `limit` (1–1000; zero or less: 1000), after `before`
    /// (the [`ComparisonRecord::cursor`] of the previous page's last one).
    pub async fn comparisons(
        &mut self,
        org: OrgId,
        verdict: Option<ComparisonVerdict>,
        limit: i64,
        before: Option<ComparisonCursor>,
    ) -> Result<Vec<ComparisonRecord>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM comparisons WHERE org_id = $1");
        let mut next = 2;
        let mut placeholder = || {
            let p = format!("${next}");
            next += 1;
            p
        };
        if verdict.is_some() {
            sql.push_str(&format!(" AND verdict = {}", placeholder()));
        }
        if before.is_some() {
            let (at, at_again, id) = (placeholder(), placeholder(), placeholder());
            sql.push_str(&format!(
                " AND (created_at < {at} OR (created_at = {at_again} AND id < {id}))"
            ));
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT {}",
            placeholder()
        ));
        let limit = if limit <= 0 {
            MAX_PAGE
        } else {
            limit.min(MAX_PAGE)
        };
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(org.to_string());
        if let Some(verdict) = verdict {
            query = query.bind(verdict.key());
        }
        if let Some(before) = before {
            query = query
                .bind(before.created_at.as_millis())
                .bind(before.created_at.as_millis())
                .bind(before.id.to_string());
        }
        let rows = query.bind(limit).fetch_all(self.conn()).await?;
        rows.iter().map(comparison_from_row).collect()
    }

    /// The server's press-photo worker, and nothing else: up to `limit` press stamps of
    /// **every organisation**, received at or after `since`, oldest first, that have a
    /// photo and an application but no comparison yet — except those of organisations
    /// whose press check is off. This is the one comparison read not scoped by
    /// organisation; the worker must use each result's `org_id` for everything it does
    /// next. `since` bounds the scan (stamps are never deleted, so the compared ones
    /// accumulate): pass the start of the horizon the worker answers for (the epoch for
    /// everything, e.g. once at start-up).
    pub async fn pending_press_photos(
        &mut self,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<PendingPressPhoto>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.org_id, s.device_id, s.application_id, s.seal_id, s.photo_key, \
             s.photo_sha256, s.document_sha256, s.page, s.received_at FROM stamps s \
             WHERE s.kind = 'press' AND s.photo_key IS NOT NULL \
             AND s.application_id IS NOT NULL AND s.received_at >= $1 \
             AND NOT EXISTS (SELECT 1 FROM comparisons c WHERE c.stamp_id = s.id) \
             AND NOT EXISTS (SELECT 1 FROM comparison_thresholds t \
                             WHERE t.org_id = s.org_id AND t.press_check = 'off') \
             ORDER BY s.received_at, s.id LIMIT $2",
        )
        .bind(since.as_millis())
        .bind(limit.clamp(0, MAX_PAGE))
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(pending_from_row).collect()
    }

    /// The organisation's thresholds: the stored ones, or the defaults when none are.
    pub async fn comparison_thresholds(
        &mut self,
        org: OrgId,
    ) -> Result<ComparisonThresholds, StoreError> {
        Ok(self
            .comparison_thresholds_record(org)
            .await?
            .map_or_else(ComparisonThresholds::default, |r| r.thresholds))
    }

    /// The organisation's stored thresholds with who set them, if it ever set any.
    pub async fn comparison_thresholds_record(
        &mut self,
        org: OrgId,
    ) -> Result<Option<ComparisonThresholdsRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT org_id, other_page_below, match_at_least, minor_per_100, \
             blank_chars_below, press_check, updated_at, updated_by \
             FROM comparison_thresholds WHERE org_id = $1",
        )
        .bind(org.to_string())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(thresholds_from_row).transpose()
    }

    /// Stores the organisation's thresholds (insert or replace). The caller validates
    /// them first ([`ComparisonThresholds::validate`]); the schema refuses out-of-range
    /// values too, as [`StoreError::Database`].
    pub async fn set_comparison_thresholds(
        &mut self,
        org: OrgId,
        thresholds: &ComparisonThresholds,
        actor: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO comparison_thresholds (org_id, other_page_below, match_at_least, \
             minor_per_100, blank_chars_below, press_check, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (org_id) DO UPDATE SET \
             other_page_below = excluded.other_page_below, \
             match_at_least = excluded.match_at_least, \
             minor_per_100 = excluded.minor_per_100, \
             blank_chars_below = excluded.blank_chars_below, \
             press_check = excluded.press_check, \
             updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(org.to_string())
        .bind(f64::from(thresholds.other_page_below))
        .bind(f64::from(thresholds.match_at_least))
        .bind(f64::from(thresholds.minor_per_100))
        .bind(i64::from(thresholds.blank_chars_below))
        .bind(thresholds.press_check.key())
        .bind(now.as_millis())
        .bind(actor.to_owned())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use seal_core::audit::AuditEvent;
    use seal_core::comparison::{ComparisonSubject, ComparisonVerdict};
    use seal_core::ids::{ComparisonId, OrgId};
    use seal_core::org::{OrgCode, OrgName};
    use seal_core::stamp::EntryKind;
    use seal_core::time::Timestamp;
    use seal_proof::merkle::MemoryTree;
    use sqlx::Executor;
    use sqlx::any::AnyPoolOptions;

    use super::ComparisonRecord;
    use crate::sql::log::Evidence;
    use crate::{Backend, OrgRecord, SQLITE_MIGRATIONS, Store, StoreOptions};

    /// SQLite cannot change the log's kind CHECK in place, so migration 0007 moves the
    /// entries to a new table: they must come through unchanged, still append-only, and
    /// the log must take comparison entries after it.
    #[tokio::test]
    async fn the_log_keeps_its_entries_through_migration_0007() {
        let folder = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!(
            "sqlite://{}?mode=rwc",
            folder.path().join("old.db").display()
        );
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA foreign_keys = ON;").await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        SQLITE_MIGRATIONS
            .run_to(6, &pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let old = Store {
            pool,
            backend: Backend::Sqlite,
        };
        let mut tx = old.write().await.unwrap_or_else(|e| panic!("{e}"));
        for i in 0..5 {
            tx.append_audit(&AuditEvent {
                at: Timestamp::from_millis(i),
                org: None,
                actor: "system".to_owned(),
                source: "-".to_owned(),
                action: format!("old.{i}"),
                subject: "old".to_owned(),
                details: vec![],
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        }
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let mut tx = old.read().await.unwrap_or_else(|e| panic!("{e}"));
        let before = tx
            .log_entries(0, 100)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        drop(tx);
        old.close().await;
        assert_eq!(before.len(), 5);

        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut tx = store.write().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            tx.log_entries(0, 100)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            before
        );
        let org = OrgRecord {
            id: OrgId::from_bytes([7; 16]),
            code: OrgCode::parse("mig7").unwrap_or_else(|e| panic!("{e}")),
            name: OrgName::parse("迁移测试").unwrap_or_else(|e| panic!("{e}")),
            uscc: None,
            created_at: Timestamp::from_millis(10),
        };
        tx.insert_org(&org).await.unwrap_or_else(|e| panic!("{e}"));
        let c = ComparisonRecord {
            id: ComparisonId::from_bytes([8; 16]),
            org_id: org.id,
            subject: ComparisonSubject::Manual,
            application: None,
            stamp: None,
            device: None,
            document: None,
            page: Some(0),
            verdict: ComparisonVerdict::Match,
            score: 0.99,
            blank: false,
            differences: "[]".to_owned(),
            capture_key: None,
            capture_sha256: None,
            diff_key: None,
            engine: "test".to_owned(),
            millis: 1,
            created_by: None,
            created_at: Timestamp::from_millis(11),
        };
        tx.insert_comparison(&c)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));

        let mut tx = store.write().await.unwrap_or_else(|e| panic!("{e}"));
        let after = tx
            .log_entries(0, 100)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(after.len(), 6);
        assert_eq!(after[5].kind, EntryKind::Comparison);
        let mut tree = MemoryTree::new();
        for e in &after {
            tree.append_entry(&e.entry)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(
            tx.log_head().await.unwrap_or_else(|e| panic!("{e}")).root(),
            tree.root()
        );
        for target in [Evidence::LogEntry, Evidence::LogEntryDeleted] {
            let refused = tx.try_tamper_with_evidence(target).await;
            assert!(refused.is_err(), "{target:?} after the rebuild");
        }
    }
}
