//! The tamper-evident log's storage. A transaction queues the entries that record its
//! changes ([`Tx::log`]; audit events, stamps, stamp status changes and comparisons queue
//! theirs themselves) and [`Tx::commit`] appends them just before COMMIT: it locks the log's
//! head (the last lock any transaction takes, so it cannot deadlock with organisation
//! locks), hashes the entries as RFC 6962 leaves, stores each entry with its leaf hash
//! and each larger perfect subtree the appends completed, and moves the head. The change and the
//! leaves that record it commit together or not at all, and indexes are dense.
//!
//! Proofs and past roots are built from the stored perfect subtrees: a caller asks
//! `seal_proof::merkle` which nodes it needs and fetches them in one query
//! ([`Tx::log_nodes`]).

use std::collections::HashMap;

use seal_core::ids::OrgId;
use seal_core::stamp::EntryKind;
use seal_core::time::Timestamp;
use seal_proof::merkle::{Frontier, Hash, NodeId, leaf_hash};
use sqlx::{AssertSqlSafe, Row};

use super::Tx;
use super::bulk::placeholders;
use crate::{Backend, StoreError};

/// Rows per multi-row statement (entries have six columns, nodes three).
const CHUNK: usize = 150;

/// An entry queued by a transaction, appended at commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingEntry {
    pub kind: EntryKind,
    pub subject: String,
    pub org: Option<OrgId>,
    pub entry: Vec<u8>,
    pub at: Timestamp,
}

/// One stored log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntryRecord {
    pub index: u64,
    pub kind: EntryKind,
    /// What it is about: `stamp:<uuid>`, or the audit event's subject.
    pub subject: String,
    pub org: Option<OrgId>,
    pub entry: Vec<u8>,
    pub at: Timestamp,
}

/// A signed checkpoint (C2SP tlog-checkpoint note text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointRecord {
    pub size: u64,
    pub root: Hash,
    pub note: String,
    pub at: Timestamp,
}

/// The log's signing key (base64 text of the raw Ed25519 keys).
#[derive(Clone, PartialEq, Eq)]
pub struct LogKeyRecord {
    /// The key name in signed notes (the log's origin).
    pub name: String,
    pub public_key: String,
    pub secret_key: String,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for LogKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKeyRecord")
            .field("name", &self.name)
            .field("public_key", &self.public_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

fn kind_parse(key: &str) -> Result<EntryKind, StoreError> {
    EntryKind::parse(key).ok_or_else(|| StoreError::Corrupt(format!("log entry kind {key:?}")))
}

fn hash_from(bytes: Vec<u8>, what: &str) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

fn index_from(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative log index {value}")))
}

fn as_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("log index {value} too large")))
}

/// The head row: its size column must agree with the frontier's own (an empty frontier
/// is the empty log).
fn frontier_from_row(row: &sqlx::any::AnyRow) -> Result<Frontier, StoreError> {
    let size = index_from(row.try_get("size")?)?;
    let bytes: Vec<u8> = row.try_get("frontier")?;
    let frontier = if bytes.is_empty() {
        Frontier::new()
    } else {
        Frontier::from_bytes(&bytes).map_err(|e| StoreError::Corrupt(format!("log head: {e}")))?
    };
    if frontier.size() != size {
        return Err(StoreError::Corrupt(format!(
            "log head says size {size}, its frontier {}",
            frontier.size()
        )));
    }
    Ok(frontier)
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<LogEntryRecord, StoreError> {
    let org: Option<String> = row.try_get("org_id")?;
    Ok(LogEntryRecord {
        index: index_from(row.try_get("idx")?)?,
        kind: kind_parse(&row.try_get::<String, _>("kind")?)?,
        subject: row.try_get("subject")?,
        org: super::opt_id(org, OrgId::parse)?,
        entry: row.try_get("entry")?,
        at: Timestamp::from_millis(row.try_get("at")?),
    })
}

fn checkpoint_from_row(row: &sqlx::any::AnyRow) -> Result<CheckpointRecord, StoreError> {
    Ok(CheckpointRecord {
        size: index_from(row.try_get("size")?)?,
        root: hash_from(row.try_get("root")?, "checkpoint root")?,
        note: row.try_get("note")?,
        at: Timestamp::from_millis(row.try_get("at")?),
    })
}

impl crate::Store {
    /// A database that had audit events and stamps before the log existed (migration
    /// 0006) gets them as the log's first entries, in their order, once: while the log
    /// is empty. Stamps made before tokens existed keep verifying as such (no token).
    pub(crate) async fn backfill_log(&self) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        if tx.log_head().await?.size() > 0 {
            return Ok(());
        }
        let audits =
            sqlx::query("SELECT org_id, at, subject, canonical FROM audit_events ORDER BY seq")
                .fetch_all(tx.conn())
                .await?;
        for row in &audits {
            let org: Option<String> = row.try_get("org_id")?;
            tx.log(
                EntryKind::Audit,
                row.try_get::<String, _>("subject")?,
                super::opt_id(org, OrgId::parse)?,
                row.try_get("canonical")?,
                Timestamp::from_millis(row.try_get("at")?),
            );
        }
        let sql = format!(
            "SELECT {} FROM stamps ORDER BY received_at, id",
            super::devices::STAMP_COLUMNS
        );
        let stamps = sqlx::query(AssertSqlSafe(sql)).fetch_all(tx.conn()).await?;
        for row in &stamps {
            let stamp = super::devices::stamp_from_row(row)?;
            tx.log_stamp(&stamp);
        }
        if !audits.is_empty() || !stamps.is_empty() {
            announce_backfill(audits.len(), stamps.len());
        }
        tx.commit().await
    }
}

/// Says on stderr what the one-time backfill did (the store has no logger of its own).
fn announce_backfill(audits: usize, stamps: usize) {
    eprintln!(
        "sealkeeper: the tamper-evident log now starts with the {audits} audit events and {stamps} stamps recorded before it existed"
    );
}

impl Tx {
    /// Queues an entry for the log; it is appended when this transaction commits.
    pub fn log(
        &mut self,
        kind: EntryKind,
        subject: impl Into<String>,
        org: Option<OrgId>,
        entry: Vec<u8>,
        at: Timestamp,
    ) {
        self.log.push(PendingEntry {
            kind,
            subject: subject.into(),
            org,
            entry,
            at,
        });
    }

    /// Appends the queued entries (see the module documentation).
    pub(super) async fn flush_log(&mut self) -> Result<(), StoreError> {
        if self.log.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.log);
        let select = match self.backend {
            Backend::Postgres => "SELECT size, frontier FROM log_head WHERE id = 1 FOR UPDATE",
            Backend::Sqlite => "SELECT size, frontier FROM log_head WHERE id = 1",
        };
        let row = sqlx::query(select).fetch_one(self.conn()).await?;
        let mut frontier = frontier_from_row(&row)?;
        let first = frontier.size();
        let mut leaves: Vec<Hash> = Vec::with_capacity(pending.len());
        let mut nodes: Vec<(NodeId, Hash)> = Vec::with_capacity(pending.len());
        for entry in &pending {
            let leaf = leaf_hash(&entry.entry);
            leaves.push(leaf);
            frontier
                .append_with(leaf, |id, hash| {
                    // Leaves are stored with their entries; larger subtrees on their own.
                    if id.level > 0 {
                        nodes.push((id, *hash));
                    }
                })
                .map_err(|e| StoreError::Corrupt(format!("log head: {e}")))?;
        }
        for (n, chunk) in pending.chunks(CHUNK).enumerate() {
            let sql = format!(
                "INSERT INTO log_entries (idx, kind, subject, org_id, entry, leaf_hash, at) \
                 VALUES {}",
                placeholders(chunk.len(), 7, 1)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (i, e) in chunk.iter().enumerate() {
                let position = n * CHUNK + i;
                let index = first + position as u64;
                query = query
                    .bind(as_i64(index)?)
                    .bind(e.kind.key())
                    .bind(e.subject.clone())
                    .bind(e.org.map(|o| o.to_string()))
                    .bind(e.entry.clone())
                    .bind(leaves[position].to_vec())
                    .bind(e.at.as_millis());
            }
            query.execute(self.conn()).await?;
        }
        for chunk in nodes.chunks(CHUNK * 2) {
            let sql = format!(
                "INSERT INTO log_nodes (level, idx, hash) VALUES {}",
                placeholders(chunk.len(), 3, 1)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (id, hash) in chunk {
                query = query
                    .bind(i64::from(id.level))
                    .bind(as_i64(id.index)?)
                    .bind(hash.to_vec());
            }
            query.execute(self.conn()).await?;
        }
        sqlx::query("UPDATE log_head SET size = $1, frontier = $2 WHERE id = 1")
            .bind(as_i64(frontier.size())?)
            .bind(frontier.to_bytes())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// The log's current size and the frontier stored with it.
    pub async fn log_head(&mut self) -> Result<Frontier, StoreError> {
        let row = sqlx::query("SELECT size, frontier FROM log_head WHERE id = 1")
            .fetch_one(self.conn())
            .await?;
        frontier_from_row(&row)
    }

    /// The stored hashes of these perfect subtrees (the ones present; the caller decides
    /// whether a missing one is an error): leaves from the entries, larger subtrees from
    /// the nodes, in one statement.
    pub async fn log_nodes(&mut self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            // Placeholders in binding order: the leaves' indexes, then (level, index) pairs.
            let leaf_count = chunk.iter().filter(|id| id.level == 0).count();
            let leaves: Vec<String> = (1..=leaf_count).map(|n| format!("${n}")).collect();
            let conditions: Vec<String> = (0..chunk.len() - leaf_count)
                .map(|k| {
                    let n = leaf_count + 1 + 2 * k;
                    format!("(level = ${n} AND idx = ${})", n + 1)
                })
                .collect();
            let mut parts = Vec::new();
            if !leaves.is_empty() {
                parts.push(format!(
                    "SELECT 0 AS level, idx, leaf_hash AS hash FROM log_entries WHERE idx IN ({})",
                    leaves.join(", ")
                ));
            }
            if !conditions.is_empty() {
                parts.push(format!(
                    "SELECT level, idx, hash FROM log_nodes WHERE {}",
                    conditions.join(" OR ")
                ));
            }
            if parts.is_empty() {
                continue;
            }
            let sql = parts.join(" UNION ALL ");
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for id in chunk.iter().filter(|id| id.level == 0) {
                query = query.bind(as_i64(id.index)?);
            }
            for id in chunk.iter().filter(|id| id.level > 0) {
                query = query.bind(i64::from(id.level)).bind(as_i64(id.index)?);
            }
            for row in query.fetch_all(self.conn()).await? {
                let level: i64 = row.try_get("level")?;
                let id = NodeId {
                    level: u8::try_from(level)
                        .map_err(|_| StoreError::Corrupt(format!("node level {level}")))?,
                    index: index_from(row.try_get("idx")?)?,
                };
                found.insert(id, hash_from(row.try_get("hash")?, "node hash")?);
            }
        }
        Ok(found)
    }

    /// Stored hashes of one level with indexes in `[from, until)`, in index order (level
    /// 0: the entries' leaf hashes).
    pub async fn log_level(
        &mut self,
        level: u8,
        from: u64,
        until: u64,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        let query = if level == 0 {
            sqlx::query(
                "SELECT idx, leaf_hash AS hash FROM log_entries WHERE idx >= $1 AND idx < $2 \
                 ORDER BY idx",
            )
            .bind(as_i64(from)?)
            .bind(as_i64(until)?)
        } else {
            sqlx::query(
                "SELECT idx, hash FROM log_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 \
                 ORDER BY idx",
            )
            .bind(i64::from(level))
            .bind(as_i64(from)?)
            .bind(as_i64(until)?)
        };
        let rows = query.fetch_all(self.conn()).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    index_from(row.try_get("idx")?)?,
                    hash_from(row.try_get("hash")?, "node hash")?,
                ))
            })
            .collect()
    }

    /// The entries about one subject (`stamp:<uuid>` …), in log order.
    pub async fn log_entries_about(
        &mut self,
        subject: &str,
    ) -> Result<Vec<LogEntryRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT idx, kind, subject, org_id, entry, at FROM log_entries WHERE subject = $1 \
             ORDER BY idx LIMIT 1000",
        )
        .bind(subject.to_owned())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Up to `limit` entries from index `from` on, in order.
    pub async fn log_entries(
        &mut self,
        from: u64,
        limit: i64,
    ) -> Result<Vec<LogEntryRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT idx, kind, subject, org_id, entry, at FROM log_entries WHERE idx >= $1 \
             ORDER BY idx LIMIT $2",
        )
        .bind(as_i64(from)?)
        .bind(limit.clamp(0, 100_000))
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// The checkpoint with the largest size.
    pub async fn latest_checkpoint(&mut self) -> Result<Option<CheckpointRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT size, root, note, at FROM log_checkpoints ORDER BY size DESC LIMIT 1",
        )
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    /// Checkpoints with sizes from `from` on, in size order.
    pub async fn checkpoints(
        &mut self,
        from: u64,
        limit: i64,
    ) -> Result<Vec<CheckpointRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT size, root, note, at FROM log_checkpoints WHERE size >= $1 ORDER BY size \
             LIMIT $2",
        )
        .bind(as_i64(from)?)
        .bind(limit.clamp(0, 100_000))
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    /// Stores a checkpoint; false when one of that size exists already.
    pub async fn insert_checkpoint(&mut self, c: &CheckpointRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO log_checkpoints (size, root, note, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(as_i64(c.size)?)
        .bind(c.root.to_vec())
        .bind(c.note.clone())
        .bind(c.at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn log_key(&mut self, name: &str) -> Result<Option<LogKeyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT name, public_key, secret_key, created_at FROM log_keys WHERE name = $1",
        )
        .bind(name.to_owned())
        .fetch_optional(self.conn())
        .await?;
        row.map(|row| {
            Ok(LogKeyRecord {
                name: row.try_get("name")?,
                public_key: row.try_get("public_key")?,
                secret_key: row.try_get("secret_key")?,
                created_at: Timestamp::from_millis(row.try_get("created_at")?),
            })
        })
        .transpose()
    }

    /// Stores the log's key unless one of that name exists (then the caller reads it).
    pub async fn insert_log_key(&mut self, key: &LogKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO log_keys (name, public_key, secret_key, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(key.name.clone())
        .bind(key.public_key.clone())
        .bind(key.secret_key.clone())
        .bind(key.created_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Tries to change or delete evidence in place; the schema must refuse every one.
    /// Used by tests of the append-only invariant.
    pub async fn try_tamper_with_evidence(&mut self, target: Evidence) -> Result<(), StoreError> {
        let statement = match target {
            Evidence::LogEntry => "UPDATE log_entries SET subject = 'tampered'",
            Evidence::LogEntryDeleted => "DELETE FROM log_entries",
            Evidence::LogNode => "UPDATE log_nodes SET hash = hash",
            Evidence::Checkpoint => "DELETE FROM log_checkpoints",
            Evidence::Stamp => "UPDATE stamps SET press_ms = press_ms + 1",
            Evidence::StampDeleted => "DELETE FROM stamps",
            Evidence::StampEvent => "UPDATE stamp_events SET note = 'tampered'",
            Evidence::Comparison => "UPDATE comparisons SET verdict = 'match'",
            Evidence::ComparisonDeleted => "DELETE FROM comparisons",
        };
        sqlx::query(statement).execute(self.conn()).await?;
        Ok(())
    }
}

/// What [`Tx::try_tamper_with_evidence`] tries to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    LogEntry,
    LogEntryDeleted,
    LogNode,
    Checkpoint,
    Stamp,
    StampDeleted,
    StampEvent,
    Comparison,
    ComparisonDeleted,
}

#[cfg(test)]
mod tests {
    use seal_core::audit::AuditEvent;
    use seal_core::stamp::EntryKind;
    use seal_core::time::Timestamp;
    use seal_proof::merkle::MemoryTree;

    use crate::{Store, StoreOptions};

    #[tokio::test]
    async fn audit_events_from_before_the_log_become_its_first_entries_once() {
        let folder = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}", folder.path().join("old.db").display());
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Rows written the way a database before migration 0006 holds them: no leaves.
        let events: Vec<AuditEvent> = (0..3)
            .map(|i| AuditEvent {
                at: Timestamp::from_millis(i),
                org: None,
                actor: "system".to_owned(),
                source: "-".to_owned(),
                action: format!("old.{i}"),
                subject: "old".to_owned(),
                details: vec![],
            })
            .collect();
        for e in &events {
            sqlx::query(
                "INSERT INTO audit_events (org_id, at, actor, source, action, subject, canonical) \
                 VALUES (NULL, $1, $2, $3, $4, $5, $6)",
            )
            .bind(e.at.as_millis())
            .bind(e.actor.clone())
            .bind(e.source.clone())
            .bind(e.action.clone())
            .bind(e.subject.clone())
            .bind(e.canonical_bytes())
            .execute(store.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        }
        store.backfill_log().await.unwrap_or_else(|e| panic!("{e}"));
        store.backfill_log().await.unwrap_or_else(|e| panic!("{e}"));
        let mut tx = store.read().await.unwrap_or_else(|e| panic!("{e}"));
        let entries = tx
            .log_entries(0, 100)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entries.len(), 3, "once, in order");
        let mut tree = MemoryTree::new();
        for (entry, event) in entries.iter().zip(&events) {
            assert_eq!(entry.kind, EntryKind::Audit);
            assert_eq!(entry.entry, event.canonical_bytes());
            tree.append_entry(&entry.entry)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(
            tx.log_head().await.unwrap_or_else(|e| panic!("{e}")).root(),
            tree.root()
        );
    }
}
