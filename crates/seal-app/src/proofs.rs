//! Stamp proofs: the signed token each stamp gets, the server's tamper-evident log
//! (signed checkpoints published on a timer and on demand, inclusion and consistency
//! proofs from the stored perfect subtrees), the published key set, organisation key
//! rotation, stamp status changes, and public verification of a stamp by its code —
//! which checks the token, the log entry and its inclusion proof, and shows only what the
//! organisation publishes.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use seal_core::device::DeviceKind;
use seal_core::ids::{OrgId, StampEventId, StampId};
use seal_core::permission::Permission;
use seal_core::stamp::{EntryKind, NumericCode, StampKind, StampStatus};
use seal_core::time::Timestamp;
use seal_proof::keyset::{KeySet, LogKey, PublishedKey};
use seal_proof::merkle::{self, Hash, leaf_hash};
use seal_proof::note::{Checkpoint, NoteVerifier, open_checkpoint, sign_checkpoint};
use seal_proof::qr_payload::{QrPayload, parse_stamp_code, stamp_code};
use seal_proof::token::{StampClaims, document_prefix, sign_token};
use seal_proof::{PublicKey, SigningKey};
use seal_store::{
    CheckpointRecord, LogKeyRecord, StampEventRecord, StampRecord, Tx, stamp_subject,
};

use crate::audit::record_by;
use crate::error::{AppError, Conflict, Entity, Invalid};
use crate::policy::{self, Principal};
use crate::{App, RequestContext};

/// Verification requests allowed per client address and minute, by default.
pub const VERIFY_PER_MINUTE: u32 = 120;

/// Per-address limit of public verification requests (GCRA, in memory).
pub struct VerifyLimiter {
    per_address: DefaultKeyedRateLimiter<String>,
    /// Requests seen, to prune forgotten addresses now and then (not on every request).
    seen: std::sync::atomic::AtomicU64,
}

impl VerifyLimiter {
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            per_address: RateLimiter::keyed(Quota::per_minute(n)),
            seen: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Counts one request; `Err` holds the seconds to wait.
    fn check(&self, address: &str) -> Result<(), u64> {
        let clock = DefaultClock::default();
        let result = self
            .per_address
            .check_key(&address.to_owned())
            .map_err(|not_until| {
                let wait: Duration = not_until.wait_time_from(clock.now());
                wait.as_secs().max(1)
            });
        let seen = self.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if seen.is_multiple_of(4096) && self.per_address.len() > 100_000 {
            self.per_address.retain_recent();
        }
        result
    }
}

/// Recent verifications in memory, so that a code scanned many times costs one set of
/// reads per `verify_cache_seconds`; a status change drops its stamp at once.
#[derive(Default)]
pub struct VerifyCache {
    entries: std::sync::Mutex<HashMap<StampId, (std::time::Instant, Arc<Verification>)>>,
}

/// At most this many verifications are kept; beyond it the cache starts afresh.
const VERIFY_CACHE_MAX: usize = 10_000;

impl App {
    fn verify_cache_get(&self, stamp: StampId) -> Option<Arc<Verification>> {
        let ttl = Duration::from_secs(self.settings().verify_cache_seconds);
        let entries = self.verify_cache().entries.lock().ok()?;
        entries
            .get(&stamp)
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, v)| v.clone())
    }

    fn verify_cache_put(&self, verification: &Arc<Verification>) {
        if self.settings().verify_cache_seconds == 0 || !verification.genuine() {
            return;
        }
        let Ok(id) = parse_stamp_code(&verification.code) else {
            return;
        };
        if let Ok(mut entries) = self.verify_cache().entries.lock() {
            if entries.len() >= VERIFY_CACHE_MAX {
                entries.clear();
            }
            entries.insert(
                StampId::from_bytes(id),
                (std::time::Instant::now(), verification.clone()),
            );
        }
    }

    fn verify_cache_forget(&self, stamp: StampId) {
        if let Ok(mut entries) = self.verify_cache().entries.lock() {
            entries.remove(&stamp);
        }
    }
}

/// The claims of a stamp's token: id, seal, time (seconds), document prefix.
pub(crate) fn stamp_claims(stamp: &StampRecord) -> StampClaims {
    let document = stamp
        .document_sha256
        .as_deref()
        .and_then(|hex_text| hex::decode(hex_text).ok())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
    StampClaims {
        stamp_id: *stamp.id.as_uuid().as_bytes(),
        seal_id: stamp
            .seal
            .map(|s| *s.as_uuid().as_bytes())
            .unwrap_or([0; 16]),
        // When the server recorded and signed it: the time the signing key's life is
        // checked against (a press buffered offline keeps its own time in the record).
        time: u64::try_from(stamp.received_at.as_millis().div_euclid(1000)).unwrap_or(0),
        document_prefix: document.as_ref().map(document_prefix),
    }
}

/// Signs a stamp's token with the organisation's current key.
pub(crate) fn stamp_token(key: &SigningKey, stamp: &StampRecord) -> Result<Vec<u8>, AppError> {
    sign_token(&stamp_claims(stamp), key).map_err(|e| AppError::Internal(format!("token: {e}")))
}

/// The organisation keys of one batch, loaded once per organisation.
#[derive(Default)]
pub(crate) struct OrgSigners {
    keys: HashMap<OrgId, SigningKey>,
}

impl OrgSigners {
    pub(crate) async fn token(
        &mut self,
        tx: &mut Tx,
        stamp: &StampRecord,
        now: Timestamp,
    ) -> Result<Vec<u8>, AppError> {
        if let Some(key) = self.keys.get(&stamp.org_id) {
            return stamp_token(key, stamp);
        }
        let (_, key) = crate::devices::org_signing_key(tx, stamp.org_id, now).await?;
        let token = stamp_token(&key, stamp);
        self.keys.insert(stamp.org_id, key);
        token
    }
}

/// One check made while verifying, and how it came out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub what: CheckKind,
    pub passed: bool,
    /// A short fact for the reader (a key id, a tree size), or why it failed.
    pub detail: String,
}

/// The checks public verification makes, in the order it makes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// The code names a stamp recorded by this server.
    Record,
    /// The stamp's token is signed by the organisation's key (valid at the stamp's time).
    Token,
    /// The token says what the record says (stamp, seal, time, document).
    TokenMatches,
    /// The log's entry for the stamp holds the record's public facts.
    LogEntry,
    /// The entry is in the log: its inclusion proof leads to a signed checkpoint's root.
    Inclusion,
    /// The checkpoint is signed by the log's key.
    Checkpoint,
}

impl CheckKind {
    pub const fn key(self) -> &'static str {
        match self {
            CheckKind::Record => "record",
            CheckKind::Token => "token",
            CheckKind::TokenMatches => "token_matches",
            CheckKind::LogEntry => "log_entry",
            CheckKind::Inclusion => "inclusion",
            CheckKind::Checkpoint => "checkpoint",
        }
    }
}

/// A log entry about the stamp with its proof against the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedEntry {
    pub index: u64,
    pub kind: EntryKind,
    pub entry: Vec<u8>,
    pub proof: Vec<Hash>,
}

/// What public verification found out about a code.
#[derive(Clone, Debug)]
pub struct Verification {
    /// The 26-character code of the QR code.
    pub code: String,
    pub numeric: NumericCode,
    pub kind: StampKind,
    pub status: StampStatus,
    /// When the status last changed (none: valid since it was made).
    pub status_since: Option<Timestamp>,
    pub org_name: String,
    pub seal_name: Option<String>,
    pub seal: Option<seal_store::SealRecord>,
    pub at: Timestamp,
    /// What made it: a seal box or a seal printer.
    pub device_kind: Option<DeviceKind>,
    /// The place rounded to 0.01° (about a kilometre).
    pub place: Option<(f64, f64)>,
    pub document_sha256: Option<String>,
    pub page: Option<u32>,
    /// Whether the organisation shows a thumbnail of the stamped page.
    pub thumbnail: bool,
    pub token: Option<Vec<u8>>,
    pub token_kid: Option<String>,
    pub entries: Vec<LoggedEntry>,
    pub checkpoint: CheckpointRecord,
    pub checks: Vec<Check>,
    /// The answer as the caller renders it (JSON for the API), made once per cached
    /// verification: a code scanned again within the cache time costs no re-rendering.
    pub rendered: std::sync::OnceLock<bytes::Bytes>,
}

impl Verification {
    /// Every check passed.
    pub fn genuine(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

/// What a verifier may be handed: a code or the text of a QR code.
fn stamp_id_of(code: &str) -> Result<Lookup, AppError> {
    let trimmed = code.trim();
    if let Ok(payload) = QrPayload::parse(trimmed) {
        return match payload {
            QrPayload::Url { stamp_id, .. } => Ok(Lookup::Id(StampId::from_bytes(stamp_id))),
            QrPayload::Token(bytes) => seal_proof::token::read_token(&bytes)
                .map(|t| Lookup::Id(StampId::from_bytes(t.claims().stamp_id)))
                .map_err(|_| {
                    AppError::invalid(
                        "code",
                        Invalid::StampCode(seal_core::stamp::NumericCodeError::NotDigits),
                    )
                }),
        };
    }
    if let Ok(id) = parse_stamp_code(trimmed) {
        return Ok(Lookup::Id(StampId::from_bytes(id)));
    }
    NumericCode::parse(trimmed)
        .map(Lookup::Numeric)
        .map_err(|e| AppError::invalid("code", Invalid::StampCode(e)))
}

enum Lookup {
    Id(StampId),
    Numeric(NumericCode),
}

/// The status after a stamp's changes (valid when there are none).
pub fn current_status(events: &[StampEventRecord]) -> (StampStatus, Option<Timestamp>) {
    events
        .last()
        .map_or((StampStatus::Valid, None), |e| (e.status, Some(e.at)))
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

impl App {
    /// The log's origin line and key name.
    pub fn log_origin(&self) -> &str {
        &self.settings().log_origin
    }

    /// The log's signing key: created on first use and kept in the database.
    async fn log_signer(&self, tx: &mut Tx) -> Result<SigningKey, AppError> {
        let name = self.log_origin().to_owned();
        if tx.log_key(&name).await?.is_none() {
            let key = SigningKey::generate();
            tx.insert_log_key(&LogKeyRecord {
                name: name.clone(),
                public_key: key.public_key().to_base64(),
                secret_key: STANDARD.encode(key.to_bytes()),
                created_at: self.now(),
            })
            .await?;
        }
        let record = tx
            .log_key(&name)
            .await?
            .ok_or_else(|| AppError::Internal("the log key vanished".to_owned()))?;
        let bytes = STANDARD
            .decode(&record.secret_key)
            .map_err(|e| AppError::Internal(format!("log key: {e}")))?;
        SigningKey::from_bytes(&bytes).map_err(|e| AppError::Internal(format!("log key: {e}")))
    }

    /// The verifier of the log's checkpoints (its `vkey` text is published).
    pub async fn log_verifier(&self) -> Result<NoteVerifier, AppError> {
        let mut tx = self.store().write().await?;
        let key = self.log_signer(&mut tx).await?;
        tx.commit().await?;
        NoteVerifier::new(self.log_origin(), key.public_key())
            .map_err(|e| AppError::Internal(format!("log key: {e}")))
    }

    /// Signs and stores a checkpoint of the log as it is now, unless the latest one
    /// already has this size; returns the latest.
    pub async fn publish_checkpoint(&self) -> Result<CheckpointRecord, AppError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let head = tx.log_head().await?;
        if let Some(latest) = tx.latest_checkpoint().await?
            && latest.size >= head.size()
        {
            return Ok(latest);
        }
        let key = self.log_signer(&mut tx).await?;
        let checkpoint = Checkpoint::new(self.log_origin(), head.size(), head.root());
        let note = sign_checkpoint(&checkpoint, self.log_origin(), &key)
            .map_err(|e| AppError::Internal(format!("checkpoint: {e}")))?;
        let record = CheckpointRecord {
            size: head.size(),
            root: head.root(),
            note,
            at: now,
        };
        tx.insert_checkpoint(&record).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// The latest signed checkpoint (one is made if there is none yet).
    pub async fn latest_checkpoint(&self) -> Result<CheckpointRecord, AppError> {
        let latest = {
            let mut tx = self.store().read().await?;
            tx.latest_checkpoint().await?
        };
        match latest {
            Some(latest) => Ok(latest),
            None => self.publish_checkpoint().await,
        }
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AppError> {
        let mut tx = self.store().read().await?;
        if size > tx.log_head().await?.size() {
            return Err(AppError::invalid("size", Invalid::LogRange));
        }
        let plan = merkle::inclusion_plan(index, size)
            .map_err(|_| AppError::invalid("index", Invalid::LogRange))?;
        let nodes = tx.log_nodes(plan.nodes()).await?;
        plan.assemble_from_map(&nodes)
            .map_err(|e| AppError::Internal(format!("log nodes: {e}")))
    }

    /// The consistency proof between the trees of `old` and `new` entries.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, AppError> {
        let mut tx = self.store().read().await?;
        if new > tx.log_head().await?.size() {
            return Err(AppError::invalid("to", Invalid::LogRange));
        }
        let plan = merkle::consistency_plan(old, new)
            .map_err(|_| AppError::invalid("from", Invalid::LogRange))?;
        let nodes = tx.log_nodes(plan.nodes()).await?;
        plan.assemble_from_map(&nodes)
            .map_err(|e| AppError::Internal(format!("log nodes: {e}")))
    }

    /// The published key set: every organisation's stamp-signing keys (retired ones
    /// too, so old stamps keep verifying) and the log's checkpoint key.
    pub async fn key_set(&self) -> Result<KeySet, AppError> {
        let verifier = self.log_verifier().await?;
        let keys = {
            let mut tx = self.store().read().await?;
            tx.published_org_keys().await?
        };
        let mut published = Vec::with_capacity(keys.len());
        for k in keys {
            let public = PublicKey::from_base64(&k.public_key)
                .map_err(|e| AppError::Internal(format!("organisation key {}: {e}", k.kid)))?;
            published.push(
                PublishedKey::new(
                    &public,
                    k.org_id.to_string(),
                    k.org_name,
                    // Whole seconds, as tokens carry them: created rounded down, retired
                    // rounded up, so a token signed in the second of a rotation verifies.
                    Timestamp::from_millis(k.created_at.as_millis().div_euclid(1000) * 1000)
                        .to_string(),
                    k.retired_at.map(|t| {
                        Timestamp::from_millis((t.as_millis() + 999).div_euclid(1000) * 1000)
                            .to_string()
                    }),
                )
                .map_err(|e| AppError::Internal(format!("key set: {e}")))?,
            );
        }
        Ok(KeySet {
            issuer: self.settings().public_url.clone(),
            generated_at: self.now().to_string(),
            log: Some(LogKey {
                origin: self.log_origin().to_owned(),
                vkey: verifier.to_vkey(),
            }),
            keys: published,
        })
    }

    /// The organisation's signing keys, newest first (public halves only).
    pub async fn org_keys(
        &self,
        principal: &Principal,
    ) -> Result<Vec<seal_store::OrgKeyRecord>, AppError> {
        let permit = policy::authorize(principal, Permission::OrgManage)?;
        let mut tx = self.store().read().await?;
        let mut keys = tx.org_keys(permit.org()).await?;
        for k in &mut keys {
            k.secret_key.clear();
        }
        Ok(keys)
    }

    /// Retires the organisation's signing key and makes a new one. Stamps signed with
    /// the old key keep verifying: it stays published with the time it retired.
    pub async fn rotate_org_key(
        &self,
        principal: &Principal,
        context: &RequestContext,
    ) -> Result<String, AppError> {
        let permit = policy::authorize(principal, Permission::OrgManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let retired = tx.retire_org_keys(permit.org(), now).await?;
        let (kid, _) = crate::devices::org_signing_key(&mut tx, permit.org(), now).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "org.key_rotated",
            format!("key:{kid}"),
            vec![("retired", retired.to_string())],
        )
        .await?;
        tx.commit().await?;
        Ok(kid)
    }

    /// Changes a stamp's status (a new event; the stamp itself never changes).
    pub async fn change_stamp_status(
        &self,
        principal: &Principal,
        stamp: StampId,
        to: &str,
        note: &str,
        context: &RequestContext,
    ) -> Result<StampEventRecord, AppError> {
        let permit = policy::authorize(principal, Permission::SealsManage)?;
        let to = StampStatus::parse(to.trim())
            .ok_or_else(|| AppError::invalid("status", Invalid::StampStatus))?;
        let note = seal_core::seal::Reason::parse(note)
            .map_err(|e| AppError::invalid("note", Invalid::Text(e)))?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        tx.stamp(permit.org(), stamp)
            .await?
            .ok_or(AppError::NotFound(Entity::Stamp))?;
        let (from, _) = current_status(&tx.stamp_events(permit.org(), stamp).await?);
        if !from.may_become(to) {
            return Err(AppError::Conflict(Conflict::StampStatusChange { from, to }));
        }
        let event = StampEventRecord {
            id: StampEventId::from_bytes(crate::secrets::id_bytes()),
            stamp,
            org: permit.org(),
            status: to,
            actor: permit.actor().label(),
            note: note.as_str().to_owned(),
            at: now,
        };
        tx.insert_stamp_events(std::slice::from_ref(&event)).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "stamp.status_changed",
            stamp_subject(stamp),
            vec![
                ("from", from.key().to_owned()),
                ("to", to.key().to_owned()),
                ("note", note.as_str().to_owned()),
            ],
        )
        .await?;
        tx.commit().await?;
        self.verify_cache_forget(stamp);
        Ok(event)
    }

    /// A stamp's status changes (for the console).
    pub async fn stamp_events(
        &self,
        principal: &Principal,
        stamp: StampId,
    ) -> Result<Vec<StampEventRecord>, AppError> {
        let permit = policy::authorize(principal, Permission::ApplicationsReadAll)?;
        let mut tx = self.store().read().await?;
        tx.stamp(permit.org(), stamp)
            .await?
            .ok_or(AppError::NotFound(Entity::Stamp))?;
        Ok(tx.stamp_events(permit.org(), stamp).await?)
    }

    /// The current status of each of these stamps of the caller's organisation (for
    /// pages that already show the stamps): valid unless a change says otherwise.
    pub async fn stamp_statuses(
        &self,
        principal: &Principal,
        stamps: &[StampId],
    ) -> Result<HashMap<StampId, (StampStatus, Option<Timestamp>)>, AppError> {
        let mut tx = self.store().read().await?;
        let latest = tx.latest_stamp_events(principal.org.id, stamps).await?;
        Ok(stamps
            .iter()
            .map(|id| {
                let status = latest
                    .get(id)
                    .map_or((StampStatus::Valid, None), |e| (e.status, Some(e.at)));
                (*id, status)
            })
            .collect())
    }

    /// Whether the organisation shows a thumbnail of the stamped page when a stamp is
    /// verified; audited.
    pub async fn set_verify_thumbnail(
        &self,
        principal: &Principal,
        show: bool,
        context: &RequestContext,
    ) -> Result<(), AppError> {
        let permit = policy::authorize(principal, Permission::OrgManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_org_verify_thumbnail(permit.org(), show).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "org.verification_changed",
            format!("org:{}", permit.org()),
            vec![("thumbnail", show.to_string())],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the organisation shows thumbnails on its verification pages.
    pub async fn verify_thumbnail_setting(&self, principal: &Principal) -> Result<bool, AppError> {
        let permit = policy::authorize(principal, Permission::OrgManage)?;
        let mut tx = self.store().read().await?;
        Ok(tx.org_verify_thumbnail(permit.org()).await?)
    }

    /// Public verification of a code (the QR code's 26 characters, its whole text, or
    /// the 20-digit numeric code), limited per client address. `Ok(None)`: no stamp has
    /// this code.
    pub async fn verify(
        &self,
        code: &str,
        source: &str,
    ) -> Result<Option<Arc<Verification>>, AppError> {
        self.verify_limiter()
            .check(source)
            .map_err(|retry_after_seconds| AppError::RateLimited {
                retry_after_seconds,
            })?;
        let lookup = stamp_id_of(code)?;
        if let Lookup::Id(id) = &lookup
            && let Some(cached) = self.verify_cache_get(*id)
        {
            return Ok(Some(cached));
        }
        let stamp = {
            let mut tx = self.store().read().await?;
            match lookup {
                Lookup::Id(id) => tx.stamp_for_verification(id).await?,
                Lookup::Numeric(numeric) => {
                    let mut found = tx.stamps_by_numeric_code(&numeric).await?;
                    if found.len() > 1 {
                        return Err(AppError::Conflict(Conflict::Duplicate));
                    }
                    found.pop()
                }
            }
        };
        let Some(stamp) = stamp else {
            return Ok(None);
        };
        if let Some(cached) = self.verify_cache_get(stamp.id) {
            return Ok(Some(cached));
        }
        let verification = self.verification_of(stamp).await?;
        let verification = Arc::new(verification);
        self.verify_cache_put(&verification);
        Ok(Some(verification))
    }

    async fn verification_of(&self, stamp: StampRecord) -> Result<Verification, AppError> {
        let subject = stamp_subject(stamp.id);
        let mut checks = vec![Check {
            what: CheckKind::Record,
            passed: true,
            detail: stamp_code(stamp.id.as_uuid().as_bytes()),
        }];
        let (events, org, seal, device, keys, thumbnail, logged) = {
            let mut tx = self.store().read().await?;
            let events = tx.stamp_events(stamp.org_id, stamp.id).await?;
            let org = tx
                .org(stamp.org_id)
                .await?
                .ok_or(AppError::NotFound(Entity::Organisation))?;
            let seal = match stamp.seal {
                Some(id) => tx.seal(stamp.org_id, id).await?,
                None => None,
            };
            let device = tx.device(stamp.org_id, stamp.device).await?;
            let keys = tx.org_keys(stamp.org_id).await?;
            let thumbnail = tx.org_verify_thumbnail(stamp.org_id).await?;
            // Only the stamp's own entries: audit events about it stay private.
            let logged: Vec<_> = tx
                .log_entries_about(&subject)
                .await?
                .into_iter()
                .filter(|e| matches!(e.kind, EntryKind::Stamp | EntryKind::StampStatus))
                .collect();
            (events, org, seal, device, keys, thumbnail, logged)
        };
        let (status, status_since) = current_status(&events);

        // The token, against the organisation's key that was signing at the stamp's time.
        let mut token_kid = None;
        match &stamp.token {
            None => checks.push(Check {
                what: CheckKind::Token,
                passed: false,
                detail: "no token".to_owned(),
            }),
            Some(token) => {
                let outcome = seal_proof::token::read_token(token)
                    .map_err(|e| e.to_string())
                    .and_then(|unverified| {
                        let key = keys
                            .iter()
                            .filter_map(|k| {
                                PublicKey::from_base64(&k.public_key).ok().map(|p| (k, p))
                            })
                            .find(|(_, p)| p.short_kid() == unverified.short_kid())
                            .ok_or_else(|| "signed by an unknown key".to_owned())?;
                        let claims = unverified.verify(&key.1).map_err(|e| e.to_string())?;
                        Ok((key.0.kid.clone(), claims))
                    });
                match outcome {
                    Ok((kid, claims)) => {
                        checks.push(Check {
                            what: CheckKind::Token,
                            passed: true,
                            detail: kid.clone(),
                        });
                        let matches = claims == stamp_claims(&stamp);
                        checks.push(Check {
                            what: CheckKind::TokenMatches,
                            passed: matches,
                            detail: String::new(),
                        });
                        token_kid = Some(kid);
                    }
                    Err(why) => checks.push(Check {
                        what: CheckKind::Token,
                        passed: false,
                        detail: why,
                    }),
                }
            }
        }

        // The log entry holds the record's public facts.
        let stamp_entry = stamp.log_entry().canonical_bytes();
        let entry_ok = logged
            .iter()
            .any(|e| e.kind == EntryKind::Stamp && e.entry == stamp_entry);
        checks.push(Check {
            what: CheckKind::LogEntry,
            passed: entry_ok,
            detail: logged
                .first()
                .map(|e| e.index.to_string())
                .unwrap_or_default(),
        });

        // Every entry about the stamp is in the log under a signed checkpoint; publish
        // one on demand when the newest entry is not covered yet.
        let mut checkpoint = self.latest_checkpoint().await?;
        let newest = logged.iter().map(|e| e.index).max();
        if let Some(newest) = newest
            && newest >= checkpoint.size
        {
            checkpoint = self.publish_checkpoint().await?;
        }
        let verifier = self.log_verifier().await?;
        let opened = open_checkpoint(&checkpoint.note, &[verifier], Some(self.log_origin()));
        let checkpoint_ok =
            matches!(&opened, Ok(c) if c.size == checkpoint.size && c.root == checkpoint.root);
        checks.push(Check {
            what: CheckKind::Checkpoint,
            passed: checkpoint_ok,
            detail: checkpoint.size.to_string(),
        });
        let mut entries = Vec::with_capacity(logged.len());
        let mut included = !logged.is_empty();
        for e in logged {
            let proof = self.inclusion_proof(e.index, checkpoint.size).await?;
            let ok = merkle::verify_inclusion(
                &leaf_hash(&e.entry),
                e.index,
                checkpoint.size,
                &proof,
                &checkpoint.root,
            )
            .is_ok();
            included &= ok;
            entries.push(LoggedEntry {
                index: e.index,
                kind: e.kind,
                entry: e.entry,
                proof,
            });
        }
        checks.push(Check {
            what: CheckKind::Inclusion,
            passed: included,
            detail: checkpoint.size.to_string(),
        });

        Ok(Verification {
            code: stamp_code(stamp.id.as_uuid().as_bytes()),
            numeric: stamp.numeric_code(),
            kind: stamp.kind,
            status,
            status_since,
            org_name: org.name.as_str().to_owned(),
            seal_name: seal.as_ref().map(|s| s.name.as_str().to_owned()),
            seal,
            at: stamp.device_time,
            device_kind: device.map(|d| d.kind),
            place: stamp
                .fix
                .map(|f| (round2(f.point.lat()), round2(f.point.lon()))),
            document_sha256: stamp.document_sha256.clone(),
            page: stamp.page,
            thumbnail: thumbnail && stamp.photo_key.is_some(),
            token: stamp.token.clone(),
            token_kid,
            entries,
            checkpoint,
            checks,
            rendered: std::sync::OnceLock::new(),
        })
    }

    /// The stamp's seal as SVG at true size, for the public page.
    pub async fn verify_seal_svg(&self, code: &str, source: &str) -> Result<String, AppError> {
        let verification = self
            .verify(code, source)
            .await?
            .ok_or(AppError::NotFound(Entity::Stamp))?;
        let seal = verification
            .seal
            .clone()
            .ok_or(AppError::NotFound(Entity::Seal))?;
        let (svg, _, _) = self.render_seal_svg(&verification.org_name, &seal).await?;
        Ok(svg)
    }

    /// A small JPEG of the stamped page's photo, when the organisation publishes it.
    pub async fn verify_thumbnail(&self, code: &str, source: &str) -> Result<Vec<u8>, AppError> {
        let verification = self
            .verify(code, source)
            .await?
            .ok_or(AppError::NotFound(Entity::Stamp))?;
        if !verification.thumbnail {
            return Err(AppError::NotFound(Entity::Stamp));
        }
        let stamp = {
            let id = parse_stamp_code(&verification.code)
                .map_err(|_| AppError::NotFound(Entity::Stamp))?;
            let mut tx = self.store().read().await?;
            tx.stamp_for_verification(StampId::from_bytes(id))
                .await?
                .ok_or(AppError::NotFound(Entity::Stamp))?
        };
        let key = stamp.photo_key.ok_or(AppError::NotFound(Entity::Stamp))?;
        let bytes = self.blobs().get(&key).await?;
        tokio::task::spawn_blocking(move || thumbnail_jpeg(&bytes))
            .await
            .map_err(|e| AppError::Internal(format!("thumbnail task: {e}")))?
    }
}

/// Scales an image to fit 480 × 480 and encodes it as JPEG.
fn thumbnail_jpeg(bytes: &[u8]) -> Result<Vec<u8>, AppError> {
    let image = image::load_from_memory(bytes)
        .map_err(|e| AppError::Internal(format!("stamp photo: {e}")))?;
    let small = image.thumbnail(480, 480).to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    small
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .map_err(|e| AppError::Internal(format!("thumbnail: {e}")))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_every_form_name_a_stamp() {
        let id = StampId::from_bytes([7; 16]);
        let code = stamp_code(id.as_uuid().as_bytes());
        for text in [
            code.clone(),
            code.to_lowercase(),
            format!("HTTPS://SK.EXAMPLE/V/{code}"),
            format!("  https://sk.example/v/{}  ", code.to_lowercase()),
        ] {
            assert!(
                matches!(stamp_id_of(&text), Ok(Lookup::Id(found)) if found == id),
                "{text}"
            );
        }
        let numeric = NumericCode::of(id);
        assert!(matches!(stamp_id_of(&numeric.grouped()), Ok(Lookup::Numeric(n)) if n == numeric));
        let mut typo = numeric.as_str().to_owned();
        let last = typo.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
        typo.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
        assert!(matches!(
            stamp_id_of(&typo),
            Err(AppError::Invalid {
                reason: Invalid::StampCode(seal_core::stamp::NumericCodeError::CheckDigit),
                ..
            })
        ));
        assert!(stamp_id_of("hello").is_err());
    }

    #[test]
    fn status_follows_the_last_event() {
        assert_eq!(current_status(&[]), (StampStatus::Valid, None));
    }

    #[test]
    fn places_are_coarse() {
        assert_eq!(round2(31.230_416), 31.23);
        assert_eq!(round2(121.473_701), 121.47);
    }
}
