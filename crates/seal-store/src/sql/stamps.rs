//! Stamps as evidence: binding a stamp's columns, the log entry each stamp and each
//! status change queues, status changes, and the lookups of public verification — by
//! the stamp's id or its typed numeric code, across organisations, because a stranger
//! holding a paper does not know whose it is (the one deliberate exception to scoping
//! every query by organisation; the caller shows only what the organisation publishes).

use seal_core::ids::{OrgId, StampEventId, StampId};
use seal_core::stamp::{EntryKind, NumericCode, StampEntry, StampStatus, StatusEntry};
use seal_core::time::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};

use super::devices::{STAMP_COLUMNS, StampRecord, fix_columns, stamp_from_row};
use super::{Tx, corrupt, parse_id};
use crate::StoreError;

/// Binds a stamp's columns in the order of `STAMP_COLUMNS`.
pub(super) fn bind_stamp<'q>(
    query: Query<'q, Any, AnyArguments>,
    s: &StampRecord,
) -> Query<'q, Any, AnyArguments> {
    let (lat, lon, acc) = fix_columns(s.fix.as_ref());
    query
        .bind(s.id.to_string())
        .bind(s.org_id.to_string())
        .bind(s.device.to_string())
        .bind(s.seq)
        .bind(s.kind.key())
        .bind(s.grant.map(|g| g.to_string()))
        .bind(s.application.map(|a| a.to_string()))
        .bind(s.seal.map(|a| a.to_string()))
        .bind(s.device_time.as_millis())
        .bind(s.received_at.as_millis())
        .bind(lat)
        .bind(lon)
        .bind(acc)
        .bind(i64::from(s.press_ms))
        .bind(s.factors.clone())
        .bind(s.photo_key.clone())
        .bind(s.photo_sha256.clone())
        .bind(i64::from(s.beyond_grant))
        .bind(s.numeric_code().as_str().to_owned())
        .bind(s.token.clone())
        .bind(s.document_sha256.clone())
        .bind(s.page.map(i64::from))
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

impl StampRecord {
    /// The typed numeric code of this stamp.
    pub fn numeric_code(&self) -> NumericCode {
        NumericCode::of(self.id)
    }

    /// SHA-256 of the details the log does not publish, in a fixed length-prefixed
    /// layout (`SKSD`, version 1, then: grant id, application id, device sequence number,
    /// device time, received time, latitude and longitude in 1e-7 degrees and accuracy
    /// in metres, press duration, factors, photo SHA-256, token — absent values empty,
    /// integers 8 bytes big-endian, ids and text as UTF-8). An organisation can show
    /// these details later and anyone can check them against the logged digest.
    pub fn details_digest(&self) -> [u8; 32] {
        let mut out = Vec::with_capacity(400);
        out.extend_from_slice(b"SKSD\x01");
        let text = |v: Option<String>| v.unwrap_or_default().into_bytes();
        put(&mut out, &text(self.grant.map(|g| g.to_string())));
        put(&mut out, &text(self.application.map(|a| a.to_string())));
        let int = |v: Option<i64>| v.map(|v| v.to_be_bytes().to_vec()).unwrap_or_default();
        put(&mut out, &int(self.seq));
        put(&mut out, &self.device_time.as_millis().to_be_bytes());
        put(&mut out, &self.received_at.as_millis().to_be_bytes());
        let (lat, lon, acc) = fix_columns(self.fix.as_ref());
        put(&mut out, &int(lat));
        put(&mut out, &int(lon));
        put(&mut out, &int(acc));
        put(&mut out, &i64::from(self.press_ms).to_be_bytes());
        put(&mut out, self.factors.as_bytes());
        put(
            &mut out,
            self.photo_sha256.as_deref().unwrap_or_default().as_bytes(),
        );
        put(&mut out, self.token.as_deref().unwrap_or_default());
        Sha256::digest(&out).into()
    }

    /// The stamp's public facts as the log records them.
    pub fn log_entry(&self) -> StampEntry {
        let document_sha256 = self.document_sha256.as_deref().and_then(|hex_text| {
            let mut digest = [0u8; 32];
            hex_decode(hex_text, &mut digest).then_some(digest)
        });
        StampEntry {
            stamp: self.id,
            org: self.org_id,
            seal: self.seal,
            kind: self.kind,
            at: self.device_time,
            document_sha256,
            page: self.page,
            issuer: format!("device:{}", self.device),
            details_digest: self.details_digest(),
        }
    }
}

/// Decodes 64 hex digits into `out`; false when the text is anything else.
fn hex_decode(text: &str, out: &mut [u8; 32]) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return false;
    }
    for (i, pair) in bytes.chunks(2).enumerate() {
        let digit = |b: u8| (b as char).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
            _ => return false,
        }
    }
    true
}

/// The log subject of everything about one stamp.
pub fn stamp_subject(stamp: StampId) -> String {
    format!("stamp:{stamp}")
}

/// One change of a stamp's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StampEventRecord {
    pub id: StampEventId,
    pub stamp: StampId,
    pub org: OrgId,
    pub status: StampStatus,
    /// An audit actor text (`person:<uuid>`, `system` …).
    pub actor: String,
    pub note: String,
    pub at: Timestamp,
}

impl StampEventRecord {
    /// SHA-256 of who changed the status and why: actor, a zero byte, note.
    pub fn reason_digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.actor.as_bytes());
        hasher.update([0u8]);
        hasher.update(self.note.as_bytes());
        hasher.finalize().into()
    }

    pub fn log_entry(&self) -> StatusEntry {
        StatusEntry {
            stamp: self.stamp,
            org: self.org,
            status: self.status,
            at: self.at,
            reason_digest: self.reason_digest(),
        }
    }
}

fn event_from_row(row: &sqlx::any::AnyRow) -> Result<StampEventRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let stamp: String = row.try_get("stamp_id")?;
    let org: String = row.try_get("org_id")?;
    let status: String = row.try_get("status")?;
    Ok(StampEventRecord {
        id: parse_id(&id, StampEventId::parse)?,
        stamp: parse_id(&stamp, StampId::parse)?,
        org: parse_id(&org, OrgId::parse)?,
        status: StampStatus::parse(&status).ok_or_else(|| corrupt("stamp status", &status))?,
        actor: row.try_get("actor")?,
        note: row.try_get("note")?,
        at: Timestamp::from_millis(row.try_get("at")?),
    })
}

impl Tx {
    /// Queues a new stamp's log entry.
    pub(super) fn log_stamp(&mut self, s: &StampRecord) {
        self.log(
            EntryKind::Stamp,
            stamp_subject(s.id),
            Some(s.org_id),
            s.log_entry().canonical_bytes(),
            s.received_at,
        );
    }

    /// Records status changes (and queues their log entries).
    pub async fn insert_stamp_events(
        &mut self,
        events: &[StampEventRecord],
    ) -> Result<(), StoreError> {
        for chunk in events.chunks(50) {
            let sql = format!(
                "INSERT INTO stamp_events (id, stamp_id, org_id, status, actor, note, at) VALUES {}",
                super::bulk::placeholders(chunk.len(), 7, 1)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for e in chunk {
                query = query
                    .bind(e.id.to_string())
                    .bind(e.stamp.to_string())
                    .bind(e.org.to_string())
                    .bind(e.status.key())
                    .bind(e.actor.clone())
                    .bind(e.note.clone())
                    .bind(e.at.as_millis());
            }
            query.execute(self.conn()).await?;
        }
        for e in events {
            self.log(
                EntryKind::StampStatus,
                stamp_subject(e.stamp),
                Some(e.org),
                e.log_entry().canonical_bytes(),
                e.at,
            );
        }
        Ok(())
    }

    /// A stamp's status changes, oldest first.
    pub async fn stamp_events(
        &mut self,
        org: OrgId,
        stamp: StampId,
    ) -> Result<Vec<StampEventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, stamp_id, org_id, status, actor, note, at FROM stamp_events \
             WHERE org_id = $1 AND stamp_id = $2 ORDER BY at, id LIMIT 1000",
        )
        .bind(org.to_string())
        .bind(stamp.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// The latest status change of each of these stamps that has one.
    pub async fn latest_stamp_events(
        &mut self,
        org: OrgId,
        stamps: &[StampId],
    ) -> Result<std::collections::HashMap<StampId, StampEventRecord>, StoreError> {
        let mut latest = std::collections::HashMap::new();
        for chunk in stamps.chunks(100) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT id, stamp_id, org_id, status, actor, note, at FROM stamp_events \
                 WHERE org_id = $1 AND stamp_id IN ({}) ORDER BY at, id",
                list.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(org.to_string());
            for id in chunk {
                query = query.bind(id.to_string());
            }
            for row in query.fetch_all(self.conn()).await? {
                let event = event_from_row(&row)?;
                latest.insert(event.stamp, event);
            }
        }
        Ok(latest)
    }

    /// Public verification: the stamp with this id, whatever its organisation.
    pub async fn stamp_for_verification(
        &mut self,
        id: StampId,
    ) -> Result<Option<StampRecord>, StoreError> {
        let sql = format!("SELECT {STAMP_COLUMNS} FROM stamps WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(stamp_from_row).transpose()
    }

    /// Public verification: the stamps with this numeric code (almost always one; two
    /// only if two random ids share their first 63 bits modulo 10¹⁹).
    pub async fn stamps_by_numeric_code(
        &mut self,
        code: &NumericCode,
    ) -> Result<Vec<StampRecord>, StoreError> {
        let sql = format!("SELECT {STAMP_COLUMNS} FROM stamps WHERE numeric_code = $1 LIMIT 10");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(code.as_str().to_owned())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(stamp_from_row).collect()
    }
}

/// An organisation key as the public key set shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedOrgKey {
    pub kid: String,
    pub org_id: OrgId,
    pub org_name: String,
    /// Standard base64 of the 32-byte public key.
    pub public_key: String,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

impl Tx {
    /// Retires the organisation's current key(s) at `at`; returns how many.
    pub async fn retire_org_keys(&mut self, org: OrgId, at: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE org_keys SET retired_at = $1 WHERE org_id = $2 AND retired_at IS NULL",
        )
        .bind(at.as_millis())
        .bind(org.to_string())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Every organisation's public keys, for the published key set (public keys only:
    /// the one cross-organisation read besides stamp verification).
    pub async fn published_org_keys(&mut self) -> Result<Vec<PublishedOrgKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.kid, k.org_id, o.name, k.public_key, k.created_at, k.retired_at \
             FROM org_keys k JOIN organisations o ON o.id = k.org_id \
             ORDER BY k.created_at, k.kid LIMIT 100000",
        )
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|row| {
                let org: String = row.try_get("org_id")?;
                let retired: Option<i64> = row.try_get("retired_at")?;
                Ok(PublishedOrgKey {
                    kid: row.try_get("kid")?,
                    org_id: parse_id(&org, OrgId::parse)?,
                    org_name: row.try_get("name")?,
                    public_key: row.try_get("public_key")?,
                    created_at: Timestamp::from_millis(row.try_get("created_at")?),
                    retired_at: retired.map(Timestamp::from_millis),
                })
            })
            .collect()
    }

    /// Whether the organisation shows a thumbnail of the stamped page on its public
    /// verification pages.
    pub async fn org_verify_thumbnail(&mut self, org: OrgId) -> Result<bool, StoreError> {
        let flag: Option<i64> =
            sqlx::query_scalar("SELECT verify_thumbnail FROM organisations WHERE id = $1")
                .bind(org.to_string())
                .fetch_optional(self.conn())
                .await?;
        Ok(flag.unwrap_or(0) != 0)
    }

    pub async fn set_org_verify_thumbnail(
        &mut self,
        org: OrgId,
        show: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE organisations SET verify_thumbnail = $1 WHERE id = $2")
            .bind(i64::from(show))
            .bind(org.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::hex_decode;

    #[test]
    fn hex_digests() {
        let mut out = [0u8; 32];
        assert!(hex_decode(&"ab".repeat(32), &mut out));
        assert_eq!(out, [0xab; 32]);
        assert!(!hex_decode("ab", &mut out));
        assert!(!hex_decode(&"zz".repeat(32), &mut out));
    }
}
