//! Many rows per statement, for the group commit of stamp events: nonces, devices seen,
//! known sequence numbers, grants and applications by id, stamps, audit events, webhook
//! events and the applications' use counts. Each statement is chunked so that it stays
//! well under the engines' limits on bound parameters.

use std::collections::HashSet;

use seal_core::application::ApplicationStatus;
use seal_core::audit::AuditEvent;
use seal_core::ids::{ApplicationId, DeviceId, GrantId, OrgId};
use seal_core::time::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use super::applications::{
    APPLICATION_COLUMNS, ApplicationRecord, GRANT_COLUMNS, GrantRecord, application_from_row,
    grant_from_row,
};
use super::devices::StampRecord;
use super::{Tx, parse_id};
use crate::{StoreError, WebhookEventRecord};

/// Rows per multi-row statement.
const CHUNK: usize = 100;

/// `($1, $2, …), ($n+1, …)` for `rows` rows of `columns` placeholders from `first`.
pub(super) fn placeholders(rows: usize, columns: usize, first: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (0..columns)
                .map(|c| format!("${}", first + r * columns + c))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$first, $first+1, …` for `n` values.
fn list(n: usize, first: usize) -> String {
    (0..n)
        .map(|i| format!("${}", first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Tx {
    /// Records request nonces; for each, whether it was new (false: a replay).
    pub async fn remember_nonces(
        &mut self,
        nonces: &[(String, String)],
        at: Timestamp,
    ) -> Result<Vec<bool>, StoreError> {
        let mut fresh = HashSet::new();
        for chunk in nonces.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO device_nonces (key_id, nonce, seen_at) VALUES {} \
                 ON CONFLICT DO NOTHING RETURNING key_id, nonce",
                placeholders(chunk.len(), 3, 1)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (key, nonce) in chunk {
                query = query
                    .bind(key.clone())
                    .bind(nonce.clone())
                    .bind(at.as_millis());
            }
            for row in query.fetch_all(self.conn()).await? {
                let key: String = row.try_get("key_id")?;
                let nonce: String = row.try_get("nonce")?;
                fresh.insert((key, nonce));
            }
        }
        // A nonce twice in the same call: only its first use is new.
        let mut seen = HashSet::new();
        Ok(nonces
            .iter()
            .map(|n| fresh.contains(n) && seen.insert(n.clone()))
            .collect())
    }

    /// Marks devices of one organisation seen now (and online).
    pub async fn touch_devices(
        &mut self,
        org: OrgId,
        devices: &[DeviceId],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        for chunk in devices.chunks(CHUNK) {
            let sql = format!(
                "UPDATE devices SET last_seen_at = $1, online = 1 WHERE org_id = $2 AND id IN ({})",
                list(chunk.len(), 3)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql))
                .bind(at.as_millis())
                .bind(org.to_string());
            for d in chunk {
                query = query.bind(d.to_string());
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Which of these (device, sequence number) pairs are already stored. `ranges` gives,
    /// per device, the lowest and highest sequence number asked about.
    pub async fn known_stamp_seqs(
        &mut self,
        ranges: &[(DeviceId, i64, i64)],
    ) -> Result<HashSet<(DeviceId, i64)>, StoreError> {
        let mut known = HashSet::new();
        for chunk in ranges.chunks(CHUNK) {
            let conditions: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(device_id = ${} AND seq BETWEEN ${} AND ${})",
                        3 * i + 1,
                        3 * i + 2,
                        3 * i + 3
                    )
                })
                .collect();
            let sql = format!(
                "SELECT device_id, seq FROM stamps WHERE {}",
                conditions.join(" OR ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (device, lo, hi) in chunk {
                query = query.bind(device.to_string()).bind(*lo).bind(*hi);
            }
            for row in query.fetch_all(self.conn()).await? {
                let device: String = row.try_get("device_id")?;
                let seq: Option<i64> = row.try_get("seq")?;
                if let Some(seq) = seq {
                    known.insert((parse_id(&device, DeviceId::parse)?, seq));
                }
            }
        }
        Ok(known)
    }

    /// The organisation's grants with these ids.
    pub async fn grants_by_ids(
        &mut self,
        org: OrgId,
        ids: &[GrantId],
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT {GRANT_COLUMNS} FROM grants WHERE org_id = $1 AND id IN ({})",
                list(chunk.len(), 2)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(org.to_string());
            for id in chunk {
                query = query.bind(id.to_string());
            }
            for row in query.fetch_all(self.conn()).await? {
                out.push(grant_from_row(&row)?);
            }
        }
        Ok(out)
    }

    /// The organisation's applications with these ids.
    pub async fn applications_by_ids(
        &mut self,
        org: OrgId,
        ids: &[ApplicationId],
    ) -> Result<Vec<ApplicationRecord>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT {APPLICATION_COLUMNS} FROM applications WHERE org_id = $1 AND id IN ({})",
                list(chunk.len(), 2)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(org.to_string());
            for id in chunk {
                query = query.bind(id.to_string());
            }
            for row in query.fetch_all(self.conn()).await? {
                out.push(application_from_row(&row)?);
            }
        }
        Ok(out)
    }

    /// Writes new use counts, statuses and change times of one organisation's
    /// applications.
    pub async fn update_application_uses(
        &mut self,
        org: OrgId,
        changes: &[(ApplicationId, u32, ApplicationStatus, Timestamp)],
    ) -> Result<(), StoreError> {
        for chunk in changes.chunks(CHUNK) {
            let n = chunk.len();
            // Parameters: $1 org, then per row (id, uses, status, updated_at).
            let case = |offset: usize| -> String {
                (0..n)
                    .map(|i| format!("WHEN ${} THEN ${}", 2 + 4 * i, 2 + 4 * i + offset))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let ids: Vec<String> = (0..n).map(|i| format!("${}", 2 + 4 * i)).collect();
            let sql = format!(
                "UPDATE applications SET uses_done = CASE id {} END, status = CASE id {} END, \
                 updated_at = CASE id {} END WHERE org_id = $1 AND id IN ({})",
                case(1),
                case(2),
                case(3),
                ids.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(org.to_string());
            for (id, uses, status, at) in chunk {
                query = query
                    .bind(id.to_string())
                    .bind(i64::from(*uses))
                    .bind(status.key())
                    .bind(at.as_millis());
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Stores new stamps (the caller has excluded known sequence numbers; a duplicate is a
    /// conflict and fails the transaction).
    pub async fn insert_stamps(&mut self, stamps: &[StampRecord]) -> Result<(), StoreError> {
        use super::devices::{STAMP_COLUMN_COUNT, STAMP_COLUMNS};
        for chunk in stamps.chunks(CHUNK / 2) {
            let sql = format!(
                "INSERT INTO stamps ({STAMP_COLUMNS}) VALUES {}",
                placeholders(chunk.len(), STAMP_COLUMN_COUNT, 1)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for s in chunk {
                query = super::stamps::bind_stamp(query, s);
            }
            query.execute(self.conn()).await?;
        }
        for s in stamps {
            self.log_stamp(s);
        }
        Ok(())
    }

    /// The SHA-256 of each application's first document (the approved one a stamp is
    /// made for), one statement per chunk of applications.
    pub async fn first_document_digests(
        &mut self,
        org: OrgId,
        applications: &[ApplicationId],
    ) -> Result<std::collections::HashMap<ApplicationId, String>, StoreError> {
        let mut first = std::collections::HashMap::new();
        for chunk in applications.chunks(CHUNK) {
            let sql = format!(
                "SELECT application_id, sha256 FROM application_documents \
                 WHERE org_id = $1 AND application_id IN ({}) ORDER BY position DESC, id DESC",
                list(chunk.len(), 2)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(org.to_string());
            for id in chunk {
                query = query.bind(id.to_string());
            }
            // Rows come last-first, so the first document of each is inserted last.
            for row in query.fetch_all(self.conn()).await? {
                let id: String = row.try_get("application_id")?;
                first.insert(parse_id(&id, ApplicationId::parse)?, row.try_get("sha256")?);
            }
        }
        Ok(first)
    }

    /// Appends audit events in order.
    pub async fn append_audits(&mut self, events: &[AuditEvent]) -> Result<(), StoreError> {
        for e in events {
            self.log_audit(e);
        }
        for chunk in events.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO audit_events (org_id, at, actor, source, action, subject, canonical) \
                 VALUES {}",
                placeholders(chunk.len(), 7, 1)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for e in chunk {
                query = query
                    .bind(e.org.map(|o| o.to_string()))
                    .bind(e.at.as_millis())
                    .bind(e.actor.clone())
                    .bind(e.source.clone())
                    .bind(e.action.clone())
                    .bind(e.subject.clone())
                    .bind(e.canonical_bytes());
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Stores webhook events (their deliveries are written separately).
    pub async fn insert_webhook_events(
        &mut self,
        events: &[WebhookEventRecord],
    ) -> Result<(), StoreError> {
        for chunk in events.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO webhook_events (id, org_id, kind, payload, created_at) VALUES {}",
                placeholders(chunk.len(), 5, 1)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for e in chunk {
                query = query
                    .bind(e.id.clone())
                    .bind(e.org_id.to_string())
                    .bind(e.kind.key().to_owned())
                    .bind(e.payload.clone())
                    .bind(e.created_at.as_millis());
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_rows_and_columns() {
        assert_eq!(placeholders(2, 3, 1), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(list(3, 2), "$2, $3, $4");
    }
}
