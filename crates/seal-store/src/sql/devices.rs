//! The SQL of devices: organisation grant-signing keys, enrolment tokens, devices with
//! their binding, parameters and telemetry, request nonces, unlock attempts, stamps,
//! commands and alarms, and the records they hold.

use seal_core::alarm::{AlarmKind, AlarmStatus, Severity};
use seal_core::application::ApplicationNumber;
use seal_core::device::{
    CommandKind, CommandStatus, DeviceKind, DeviceParameters, DeviceStatus, Firmware, GeoPoint,
    Geofence, MacAddress, SerialNumber, Terminal,
};
use seal_core::ids::{
    AlarmId, ApplicationId, CommandId, DeviceId, EnrolmentTokenId, GrantId, OrgId, PersonId,
    SealId, StampId,
};
use seal_core::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::applications::ApplicationRecord;
use super::{MAX_PAGE, Tx, corrupt, opt_id, parse_id};
use crate::StoreError;

/// An organisation's Ed25519 key that signs unlock grants (and, later, stamp tokens).
/// Retired keys stay for verification.
#[derive(Clone, PartialEq, Eq)]
pub struct OrgKeyRecord {
    pub kid: String,
    pub org_id: OrgId,
    /// Standard base64 of the 32-byte public key.
    pub public_key: String,
    /// Standard base64 of the 32-byte secret key.
    pub secret_key: String,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

impl std::fmt::Debug for OrgKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgKeyRecord")
            .field("kid", &self.kid)
            .field("org_id", &self.org_id)
            .field("public_key", &self.public_key)
            .field("secret_key", &"[redacted]")
            .finish()
    }
}

/// A one-time device enrolment token (found by the digest of its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolmentTokenRecord {
    pub id: EnrolmentTokenId,
    pub org_id: OrgId,
    pub kind: DeviceKind,
    pub note: String,
    pub created_by: PersonId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub device: Option<DeviceId>,
}

/// A position with the accuracy it was reported with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fix {
    pub point: GeoPoint,
    pub accuracy_m: u32,
}

/// What a device last reported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Telemetry {
    pub last_seen_at: Option<Timestamp>,
    pub online: bool,
    pub battery_pct: Option<u8>,
    pub fix: Option<Fix>,
    pub on_base: Option<bool>,
    pub tamper: Option<bool>,
    pub locked: Option<bool>,
    pub buffered_events: Option<i64>,
}

/// A device.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceRecord {
    pub id: DeviceId,
    pub org_id: OrgId,
    pub kind: DeviceKind,
    pub status: DeviceStatus,
    /// Standard base64 of the device's Ed25519 public key.
    pub public_key: String,
    pub serial: SerialNumber,
    pub mac: MacAddress,
    pub firmware: Firmware,
    pub seal: Option<SealId>,
    pub terminal: Option<Terminal>,
    pub geofence: Option<Geofence>,
    pub parameters: DeviceParameters,
    pub enrolled_at: Timestamp,
    pub status_changed_at: Timestamp,
    /// Who last changed the status (an audit actor text).
    pub status_changed_by: Option<String>,
    pub telemetry: Telemetry,
}

pub use seal_core::stamp::StampKind;

/// One stamp: written once, never updated.
#[derive(Clone, Debug, PartialEq)]
pub struct StampRecord {
    pub id: StampId,
    pub org_id: OrgId,
    pub device: DeviceId,
    /// The device's sequence number (presses); none for print jobs.
    pub seq: Option<i64>,
    pub kind: StampKind,
    pub grant: Option<GrantId>,
    pub application: Option<ApplicationId>,
    pub seal: Option<SealId>,
    pub device_time: Timestamp,
    pub received_at: Timestamp,
    pub fix: Option<Fix>,
    pub press_ms: u32,
    /// The factors checked, comma-separated keys.
    pub factors: String,
    pub photo_key: Option<String>,
    pub photo_sha256: Option<String>,
    /// A press beyond the grant's uses or under no active grant.
    pub beyond_grant: bool,
    /// SHA-256 (hex) of the approved document this stamp was made for.
    pub document_sha256: Option<String>,
    /// The page stamped, when known (1-based).
    pub page: Option<u32>,
    /// The signed stamp token (COSE_Sign1), made when the stamp is recorded.
    pub token: Option<Vec<u8>>,
}

/// A command queued for a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRecord {
    pub id: CommandId,
    pub org_id: OrgId,
    pub device: DeviceId,
    pub kind: CommandKind,
    pub grant: Option<GrantId>,
    pub parameters: Option<DeviceParameters>,
    pub status: CommandStatus,
    pub created_at: Timestamp,
    pub created_by: String,
    pub sent_count: i64,
    pub acked_at: Option<Timestamp>,
    pub note: String,
}

/// An alarm with its lifecycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmRecord {
    pub id: AlarmId,
    pub org_id: OrgId,
    pub kind: AlarmKind,
    pub severity: Severity,
    pub status: AlarmStatus,
    pub device: Option<DeviceId>,
    pub seal: Option<SealId>,
    pub application: Option<ApplicationId>,
    pub details: String,
    /// How many times the condition was seen while the alarm stood.
    pub occurrences: i64,
    pub raised_at: Timestamp,
    pub last_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    pub acknowledge_note: String,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
    pub resolve_note: String,
}

/// One unlock (or printer scan) request and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlockAttemptRecord {
    pub id: StampId,
    pub org_id: OrgId,
    pub device: DeviceId,
    pub order_text: String,
    pub application: Option<ApplicationId>,
    /// `granted`, `printed`, or a refusal key (`not_approved` …).
    pub outcome: String,
    pub at: Timestamp,
}

/// Filter for [`Tx::alarms`].
#[derive(Clone, Debug, Default)]
pub struct AlarmFilter {
    pub statuses: Vec<AlarmStatus>,
    pub device: Option<DeviceId>,
    pub offset: i64,
    pub limit: i64,
}

const DEVICE_COLUMNS: &str = "id, org_id, kind, status, public_key, serial, mac, firmware, \
     seal_id, terminal, fence_lat_e7, fence_lon_e7, fence_radius_m, heartbeat_seconds, \
     press_max_ms, low_battery_pct, enrolled_at, status_changed_at, status_changed_by, \
     last_seen_at, online, battery_pct, lat_e7, lon_e7, accuracy_m, on_base, tamper, locked, \
     buffered_events";

pub(super) const STAMP_COLUMNS: &str = "id, org_id, device_id, seq, kind, grant_id, \
     application_id, seal_id, device_time, received_at, lat_e7, lon_e7, accuracy_m, press_ms, \
     factors, photo_key, photo_sha256, beyond_grant, numeric_code, token, document_sha256, page";
pub(super) const STAMP_COLUMN_COUNT: usize = 22;

const COMMAND_COLUMNS: &str = "id, org_id, device_id, kind, grant_id, parameters, status, \
     created_at, created_by, sent_count, acked_at, note";

const ALARM_COLUMNS: &str = "id, org_id, kind, severity, status, device_id, seal_id, \
     application_id, details, occurrences, raised_at, last_at, acknowledged_at, \
     acknowledged_by, acknowledge_note, resolved_at, resolved_by, resolve_note";

const TOKEN_COLUMNS: &str =
    "id, org_id, kind, note, created_by, created_at, expires_at, used_at, device_id";

fn e7(degrees: f64) -> i64 {
    (degrees * 1e7).round() as i64
}

pub(super) fn fix_columns(fix: Option<&Fix>) -> (Option<i64>, Option<i64>, Option<i64>) {
    match fix {
        Some(f) => (
            Some(e7(f.point.lat())),
            Some(e7(f.point.lon())),
            Some(i64::from(f.accuracy_m)),
        ),
        None => (None, None, None),
    }
}

fn fix_from(
    lat: Option<i64>,
    lon: Option<i64>,
    accuracy: Option<i64>,
) -> Result<Option<Fix>, StoreError> {
    match (lat, lon) {
        (Some(lat), Some(lon)) => Ok(Some(Fix {
            point: GeoPoint::new(lat as f64 / 1e7, lon as f64 / 1e7)
                .map_err(|e| corrupt("position", e))?,
            accuracy_m: u32::try_from(accuracy.unwrap_or(0)).unwrap_or(0),
        })),
        _ => Ok(None),
    }
}

fn opt_time(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp::from_millis)
}

fn opt_bool(v: Option<i64>) -> Option<bool> {
    v.map(|v| v != 0)
}

fn parameters_text(p: &DeviceParameters) -> String {
    format!(
        "{},{},{}",
        p.heartbeat_seconds(),
        p.press_max_ms(),
        p.low_battery_pct()
    )
}

fn parameters_from_text(text: &str) -> Result<DeviceParameters, StoreError> {
    let parts: Vec<&str> = text.split(',').collect();
    let bad = || corrupt("parameters", text);
    match parts.as_slice() {
        [h, p, b] => DeviceParameters::new(
            h.parse().map_err(|_| bad())?,
            p.parse().map_err(|_| bad())?,
            b.parse().map_err(|_| bad())?,
        )
        .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

impl Tx {
    // ----- organisation keys -----------------------------------------------------------

    pub async fn insert_org_key(&mut self, k: &OrgKeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO org_keys (kid, org_id, public_key, secret_key, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(k.kid.clone())
        .bind(k.org_id.to_string())
        .bind(k.public_key.clone())
        .bind(k.secret_key.clone())
        .bind(k.created_at.as_millis())
        .bind(k.retired_at.map(Timestamp::as_millis))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Every key of the organisation, newest first (retired ones included).
    pub async fn org_keys(&mut self, org: OrgId) -> Result<Vec<OrgKeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, org_id, public_key, secret_key, created_at, retired_at FROM org_keys \
             WHERE org_id = $1 ORDER BY created_at DESC, kid",
        )
        .bind(org.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|row| {
                let org: String = row.try_get("org_id")?;
                Ok(OrgKeyRecord {
                    kid: row.try_get("kid")?,
                    org_id: parse_id(&org, OrgId::parse)?,
                    public_key: row.try_get("public_key")?,
                    secret_key: row.try_get("secret_key")?,
                    created_at: Timestamp::from_millis(row.try_get("created_at")?),
                    retired_at: opt_time(row.try_get("retired_at")?),
                })
            })
            .collect()
    }

    // ----- enrolment tokens ------------------------------------------------------------

    pub async fn insert_enrolment_token(
        &mut self,
        t: &EnrolmentTokenRecord,
        digest: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO device_enrolment_tokens (id, org_id, kind, note, digest, created_by, \
             created_at, expires_at, used_at, device_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(t.id.to_string())
        .bind(t.org_id.to_string())
        .bind(t.kind.key())
        .bind(t.note.clone())
        .bind(digest.to_owned())
        .bind(t.created_by.to_string())
        .bind(t.created_at.as_millis())
        .bind(t.expires_at.as_millis())
        .bind(t.used_at.map(Timestamp::as_millis))
        .bind(t.device.map(|d| d.to_string()))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The token with this digest, in whatever organisation: a device presenting a token
    /// is not yet known to belong to any (like a session found by its secret's digest).
    pub async fn enrolment_token_by_digest(
        &mut self,
        digest: &str,
    ) -> Result<Option<EnrolmentTokenRecord>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM device_enrolment_tokens WHERE digest = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(digest.to_owned())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Spends a token; false when it was already spent (a race lost).
    pub async fn spend_enrolment_token(
        &mut self,
        org: OrgId,
        id: EnrolmentTokenId,
        device: DeviceId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE device_enrolment_tokens SET used_at = $3, device_id = $4 \
             WHERE org_id = $1 AND id = $2 AND used_at IS NULL",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(at.as_millis())
        .bind(device.to_string())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn enrolment_tokens(
        &mut self,
        org: OrgId,
    ) -> Result<Vec<EnrolmentTokenRecord>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM device_enrolment_tokens WHERE org_id = $1 \
             ORDER BY created_at DESC, id LIMIT {MAX_PAGE}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    // ----- devices ---------------------------------------------------------------------

    pub async fn insert_device(&mut self, d: &DeviceRecord) -> Result<(), StoreError> {
        let p = &d.parameters;
        sqlx::query(
            "INSERT INTO devices (id, org_id, kind, status, public_key, serial, mac, firmware, \
             heartbeat_seconds, press_max_ms, low_battery_pct, enrolled_at, status_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(d.id.to_string())
        .bind(d.org_id.to_string())
        .bind(d.kind.key())
        .bind(d.status.key())
        .bind(d.public_key.clone())
        .bind(d.serial.as_str().to_owned())
        .bind(d.mac.to_string())
        .bind(d.firmware.as_str().to_owned())
        .bind(i64::from(p.heartbeat_seconds()))
        .bind(i64::from(p.press_max_ms()))
        .bind(i64::from(p.low_battery_pct()))
        .bind(d.enrolled_at.as_millis())
        .bind(d.status_changed_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn device(
        &mut self,
        org: OrgId,
        id: DeviceId,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// The device a signed request names as its key id, in whatever organisation: the
    /// device id is how a device authenticates (its signature is then checked with the
    /// stored key), so this is the one device read that is not scoped by organisation.
    pub async fn device_for_signature(
        &mut self,
        id: DeviceId,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// Whether a public key is already enrolled (anywhere).
    pub async fn device_key_taken(&mut self, public_key: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE public_key = $1")
            .bind(public_key.to_owned())
            .fetch_one(self.conn())
            .await?;
        Ok(n > 0)
    }

    /// The organisation's devices, newest first.
    pub async fn devices(&mut self, org: OrgId) -> Result<Vec<DeviceRecord>, StoreError> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE org_id = $1 \
             ORDER BY enrolled_at DESC, id LIMIT {MAX_PAGE}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(device_from_row).collect()
    }

    /// The device (not revoked) bound to a seal.
    pub async fn device_bound_to_seal(
        &mut self,
        org: OrgId,
        seal: SealId,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE org_id = $1 AND seal_id = $2 \
             AND status <> 'revoked'"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(seal.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// Writes status, binding, geofence and parameters back.
    pub async fn update_device(&mut self, d: &DeviceRecord) -> Result<(), StoreError> {
        let p = &d.parameters;
        let (lat, lon, radius) = match &d.geofence {
            Some(g) => (
                Some(e7(g.home().lat())),
                Some(e7(g.home().lon())),
                Some(i64::from(g.radius_m())),
            ),
            None => (None, None, None),
        };
        sqlx::query(
            "UPDATE devices SET status = $3, seal_id = $4, terminal = $5, fence_lat_e7 = $6, \
             fence_lon_e7 = $7, fence_radius_m = $8, heartbeat_seconds = $9, press_max_ms = $10, \
             low_battery_pct = $11, status_changed_at = $12, status_changed_by = $13, \
             firmware = $14 WHERE org_id = $1 AND id = $2",
        )
        .bind(d.org_id.to_string())
        .bind(d.id.to_string())
        .bind(d.status.key())
        .bind(d.seal.map(|s| s.to_string()))
        .bind(d.terminal.as_ref().map(|t| t.as_str().to_owned()))
        .bind(lat)
        .bind(lon)
        .bind(radius)
        .bind(i64::from(p.heartbeat_seconds()))
        .bind(i64::from(p.press_max_ms()))
        .bind(i64::from(p.low_battery_pct()))
        .bind(d.status_changed_at.as_millis())
        .bind(d.status_changed_by.clone())
        .bind(d.firmware.as_str().to_owned())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Records what a device last reported.
    pub async fn update_telemetry(
        &mut self,
        org: OrgId,
        id: DeviceId,
        t: &Telemetry,
    ) -> Result<(), StoreError> {
        let (lat, lon, acc) = fix_columns(t.fix.as_ref());
        sqlx::query(
            "UPDATE devices SET last_seen_at = $3, online = $4, battery_pct = $5, lat_e7 = $6, \
             lon_e7 = $7, accuracy_m = $8, on_base = $9, tamper = $10, locked = $11, \
             buffered_events = $12 WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(t.last_seen_at.map(Timestamp::as_millis))
        .bind(i64::from(t.online))
        .bind(t.battery_pct.map(i64::from))
        .bind(lat)
        .bind(lon)
        .bind(acc)
        .bind(t.on_base.map(i64::from))
        .bind(t.tamper.map(i64::from))
        .bind(t.locked.map(i64::from))
        .bind(t.buffered_events)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks a device seen now (and online) without touching the rest of its telemetry.
    pub async fn touch_device(
        &mut self,
        org: OrgId,
        id: DeviceId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE devices SET last_seen_at = $3, online = 1 WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Active devices marked online whose last request is older than `cutoff`, in every
    /// organisation (for the offline timer; the caller acts per device's organisation).
    pub async fn devices_gone_silent(
        &mut self,
        cutoff: Timestamp,
    ) -> Result<Vec<DeviceRecord>, StoreError> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE status = 'active' AND online = 1 \
             AND last_seen_at < $1 ORDER BY last_seen_at LIMIT {MAX_PAGE}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(cutoff.as_millis())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(device_from_row).collect()
    }

    pub async fn set_device_offline(&mut self, org: OrgId, id: DeviceId) -> Result<(), StoreError> {
        sqlx::query("UPDATE devices SET online = 0 WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    // ----- nonces ----------------------------------------------------------------------

    /// Records a request nonce; false when this key already used it (a replay).
    pub async fn remember_nonce(
        &mut self,
        key_id: &str,
        nonce: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO device_nonces (key_id, nonce, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(key_id.to_owned())
        .bind(nonce.to_owned())
        .bind(at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets nonces seen before `before`; returns how many.
    pub async fn forget_nonces(&mut self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM device_nonces WHERE seen_at < $1")
            .bind(before.as_millis())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }

    // ----- applications by number ------------------------------------------------------

    /// The application with this number in the organisation.
    pub async fn application_by_number(
        &mut self,
        org: OrgId,
        number: &ApplicationNumber,
    ) -> Result<Option<ApplicationRecord>, StoreError> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM applications WHERE org_id = $1 AND number = $2")
                .bind(org.to_string())
                .bind(number.as_str().to_owned())
                .fetch_optional(self.conn())
                .await?;
        match id {
            Some(id) => {
                self.application(org, parse_id(&id, ApplicationId::parse)?)
                    .await
            }
            None => Ok(None),
        }
    }

    // ----- unlock attempts -------------------------------------------------------------

    pub async fn insert_unlock_attempt(
        &mut self,
        a: &UnlockAttemptRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO unlock_attempts (id, org_id, device_id, order_text, application_id, \
             outcome, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(a.id.to_string())
        .bind(a.org_id.to_string())
        .bind(a.device.to_string())
        .bind(a.order_text.clone())
        .bind(a.application.map(|x| x.to_string()))
        .bind(a.outcome.clone())
        .bind(a.at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// How many unlocks this device had refused since `since`.
    pub async fn refused_unlocks_since(
        &mut self,
        org: OrgId,
        device: DeviceId,
        since: Timestamp,
    ) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM unlock_attempts WHERE org_id = $1 AND device_id = $2 \
             AND at >= $3 AND outcome NOT IN ('granted', 'printed')",
        )
        .bind(org.to_string())
        .bind(device.to_string())
        .bind(since.as_millis())
        .fetch_one(self.conn())
        .await?;
        Ok(n)
    }

    /// The device's latest unlock attempts, newest first.
    pub async fn unlock_attempts(
        &mut self,
        org: OrgId,
        device: DeviceId,
        limit: i64,
    ) -> Result<Vec<UnlockAttemptRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, org_id, device_id, order_text, application_id, outcome, at \
             FROM unlock_attempts WHERE org_id = $1 AND device_id = $2 \
             ORDER BY at DESC, id LIMIT $3",
        )
        .bind(org.to_string())
        .bind(device.to_string())
        .bind(limit.clamp(0, MAX_PAGE))
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let org: String = row.try_get("org_id")?;
                let device: String = row.try_get("device_id")?;
                Ok(UnlockAttemptRecord {
                    id: parse_id(&id, StampId::parse)?,
                    org_id: parse_id(&org, OrgId::parse)?,
                    device: parse_id(&device, DeviceId::parse)?,
                    order_text: row.try_get("order_text")?,
                    application: opt_id(row.try_get("application_id")?, ApplicationId::parse)?,
                    outcome: row.try_get("outcome")?,
                    at: Timestamp::from_millis(row.try_get("at")?),
                })
            })
            .collect()
    }

    // ----- stamps ----------------------------------------------------------------------

    /// Stores a stamp; false when the device already reported this sequence number.
    pub async fn insert_stamp(&mut self, s: &StampRecord) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO stamps ({STAMP_COLUMNS}) VALUES {} ON CONFLICT DO NOTHING",
            super::bulk::placeholders(1, STAMP_COLUMN_COUNT, 1)
        );
        let query = super::stamps::bind_stamp(sqlx::query(AssertSqlSafe(sql)), s);
        let done = query.execute(self.conn()).await?;
        let inserted = done.rows_affected() == 1;
        if inserted {
            self.log_stamp(s);
        }
        Ok(inserted)
    }

    pub async fn stamp(
        &mut self,
        org: OrgId,
        id: StampId,
    ) -> Result<Option<StampRecord>, StoreError> {
        let sql = format!("SELECT {STAMP_COLUMNS} FROM stamps WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(stamp_from_row).transpose()
    }

    /// An application's stamps in device-time order.
    pub async fn stamps_for_application(
        &mut self,
        org: OrgId,
        application: ApplicationId,
    ) -> Result<Vec<StampRecord>, StoreError> {
        let sql = format!(
            "SELECT {STAMP_COLUMNS} FROM stamps WHERE org_id = $1 AND application_id = $2 \
             ORDER BY device_time, seq LIMIT {MAX_PAGE}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(application.to_string())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(stamp_from_row).collect()
    }

    /// A device's latest stamps, newest first.
    pub async fn stamps_for_device(
        &mut self,
        org: OrgId,
        device: DeviceId,
        limit: i64,
    ) -> Result<Vec<StampRecord>, StoreError> {
        let sql = format!(
            "SELECT {STAMP_COLUMNS} FROM stamps WHERE org_id = $1 AND device_id = $2 \
             ORDER BY received_at DESC, seq DESC LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(device.to_string())
            .bind(limit.clamp(0, MAX_PAGE))
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(stamp_from_row).collect()
    }

    // ----- commands --------------------------------------------------------------------

    pub async fn insert_command(&mut self, c: &CommandRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO device_commands (id, org_id, device_id, kind, grant_id, parameters, \
             status, created_at, created_by, sent_count, acked_at, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(c.id.to_string())
        .bind(c.org_id.to_string())
        .bind(c.device.to_string())
        .bind(c.kind.key())
        .bind(c.grant.map(|g| g.to_string()))
        .bind(c.parameters.as_ref().map(parameters_text))
        .bind(c.status.key())
        .bind(c.created_at.as_millis())
        .bind(c.created_by.clone())
        .bind(c.sent_count)
        .bind(c.acked_at.map(Timestamp::as_millis))
        .bind(c.note.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A device's unacknowledged commands, oldest first.
    pub async fn pending_commands(
        &mut self,
        org: OrgId,
        device: DeviceId,
    ) -> Result<Vec<CommandRecord>, StoreError> {
        let sql = format!(
            "SELECT {COMMAND_COLUMNS} FROM device_commands WHERE org_id = $1 AND device_id = $2 \
             AND status = 'pending' ORDER BY created_at, id LIMIT 100"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(device.to_string())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(command_from_row).collect()
    }

    /// Counts one more sending of each of these commands.
    pub async fn count_command_sent(
        &mut self,
        org: OrgId,
        ids: &[CommandId],
    ) -> Result<(), StoreError> {
        for id in ids {
            sqlx::query(
                "UPDATE device_commands SET sent_count = sent_count + 1 \
                 WHERE org_id = $1 AND id = $2",
            )
            .bind(org.to_string())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    pub async fn command(
        &mut self,
        org: OrgId,
        device: DeviceId,
        id: CommandId,
    ) -> Result<Option<CommandRecord>, StoreError> {
        let sql = format!(
            "SELECT {COMMAND_COLUMNS} FROM device_commands WHERE org_id = $1 AND device_id = $2 \
             AND id = $3"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(device.to_string())
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(command_from_row).transpose()
    }

    /// Records a device's acknowledgement of a pending command; false if not pending.
    pub async fn ack_command(&mut self, c: &CommandRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE device_commands SET status = $4, acked_at = $5, note = $6 \
             WHERE org_id = $1 AND device_id = $2 AND id = $3 AND status = 'pending'",
        )
        .bind(c.org_id.to_string())
        .bind(c.device.to_string())
        .bind(c.id.to_string())
        .bind(c.status.key())
        .bind(c.acked_at.map(Timestamp::as_millis))
        .bind(c.note.clone())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A device's latest commands, newest first.
    pub async fn commands_for_device(
        &mut self,
        org: OrgId,
        device: DeviceId,
        limit: i64,
    ) -> Result<Vec<CommandRecord>, StoreError> {
        let sql = format!(
            "SELECT {COMMAND_COLUMNS} FROM device_commands WHERE org_id = $1 AND device_id = $2 \
             ORDER BY created_at DESC, id LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(device.to_string())
            .bind(limit.clamp(0, MAX_PAGE))
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(command_from_row).collect()
    }

    // ----- alarms ----------------------------------------------------------------------

    pub async fn insert_alarm(&mut self, a: &AlarmRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO alarms (id, org_id, kind, severity, status, device_id, seal_id, \
             application_id, details, occurrences, raised_at, last_at, acknowledged_at, \
             acknowledged_by, acknowledge_note, resolved_at, resolved_by, resolve_note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(a.id.to_string())
        .bind(a.org_id.to_string())
        .bind(a.kind.key())
        .bind(a.severity.key())
        .bind(a.status.key())
        .bind(a.device.map(|d| d.to_string()))
        .bind(a.seal.map(|d| d.to_string()))
        .bind(a.application.map(|d| d.to_string()))
        .bind(a.details.clone())
        .bind(a.occurrences)
        .bind(a.raised_at.as_millis())
        .bind(a.last_at.as_millis())
        .bind(a.acknowledged_at.map(Timestamp::as_millis))
        .bind(a.acknowledged_by.clone())
        .bind(a.acknowledge_note.clone())
        .bind(a.resolved_at.map(Timestamp::as_millis))
        .bind(a.resolved_by.clone())
        .bind(a.resolve_note.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The standing (not resolved) alarm of this kind for a device, if any.
    pub async fn standing_alarm(
        &mut self,
        org: OrgId,
        device: DeviceId,
        kind: AlarmKind,
    ) -> Result<Option<AlarmRecord>, StoreError> {
        let sql = format!(
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE org_id = $1 AND device_id = $2 \
             AND kind = $3 AND status <> 'resolved'"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(device.to_string())
            .bind(kind.key())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(alarm_from_row).transpose()
    }

    /// Writes an alarm's changeable fields back.
    pub async fn update_alarm(&mut self, a: &AlarmRecord) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE alarms SET status = $3, details = $4, occurrences = $5, last_at = $6, \
             acknowledged_at = $7, acknowledged_by = $8, acknowledge_note = $9, \
             resolved_at = $10, resolved_by = $11, resolve_note = $12 \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(a.org_id.to_string())
        .bind(a.id.to_string())
        .bind(a.status.key())
        .bind(a.details.clone())
        .bind(a.occurrences)
        .bind(a.last_at.as_millis())
        .bind(a.acknowledged_at.map(Timestamp::as_millis))
        .bind(a.acknowledged_by.clone())
        .bind(a.acknowledge_note.clone())
        .bind(a.resolved_at.map(Timestamp::as_millis))
        .bind(a.resolved_by.clone())
        .bind(a.resolve_note.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn alarm(
        &mut self,
        org: OrgId,
        id: AlarmId,
    ) -> Result<Option<AlarmRecord>, StoreError> {
        let sql = format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(alarm_from_row).transpose()
    }

    /// The organisation's alarms, newest first.
    pub async fn alarms(
        &mut self,
        org: OrgId,
        filter: &AlarmFilter,
    ) -> Result<Vec<AlarmRecord>, StoreError> {
        let mut sql = format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE org_id = $1");
        if !filter.statuses.is_empty() {
            let keys: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| format!("'{}'", s.key()))
                .collect();
            sql.push_str(&format!(" AND status IN ({})", keys.join(", ")));
        }
        if filter.device.is_some() {
            sql.push_str(" AND device_id = $4");
        }
        sql.push_str(" ORDER BY raised_at DESC, id LIMIT $2 OFFSET $3");
        let limit = if filter.limit <= 0 {
            MAX_PAGE
        } else {
            filter.limit.min(MAX_PAGE)
        };
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(limit)
            .bind(filter.offset.max(0));
        if let Some(device) = filter.device {
            query = query.bind(device.to_string());
        }
        let rows = query.fetch_all(self.conn()).await?;
        rows.iter().map(alarm_from_row).collect()
    }
}

fn token_from_row(row: &AnyRow) -> Result<EnrolmentTokenRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let kind: String = row.try_get("kind")?;
    let by: String = row.try_get("created_by")?;
    Ok(EnrolmentTokenRecord {
        id: parse_id(&id, EnrolmentTokenId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        kind: DeviceKind::parse(&kind).ok_or_else(|| corrupt("device kind", &kind))?,
        note: row.try_get("note")?,
        created_by: parse_id(&by, PersonId::parse)?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        expires_at: Timestamp::from_millis(row.try_get("expires_at")?),
        used_at: opt_time(row.try_get("used_at")?),
        device: opt_id(row.try_get("device_id")?, DeviceId::parse)?,
    })
}

fn device_from_row(row: &AnyRow) -> Result<DeviceRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let serial: String = row.try_get("serial")?;
    let mac: String = row.try_get("mac")?;
    let firmware: String = row.try_get("firmware")?;
    let terminal: Option<String> = row.try_get("terminal")?;
    let fence = fix_from(
        row.try_get("fence_lat_e7")?,
        row.try_get("fence_lon_e7")?,
        None,
    )?;
    let radius: Option<i64> = row.try_get("fence_radius_m")?;
    let geofence = match (fence, radius) {
        (Some(f), Some(r)) => Some(
            Geofence::new(f.point, u32::try_from(r).map_err(|e| corrupt("radius", e))?)
                .map_err(|e| corrupt("geofence", e))?,
        ),
        _ => None,
    };
    let num = |name: &str| -> Result<u32, StoreError> {
        let v: i64 = row.try_get(name)?;
        u32::try_from(v).map_err(|e| corrupt(name, e))
    };
    let parameters = DeviceParameters::new(
        num("heartbeat_seconds")?,
        num("press_max_ms")?,
        u8::try_from(num("low_battery_pct")?).map_err(|e| corrupt("low battery", e))?,
    )
    .map_err(|e| corrupt("parameters", e))?;
    let battery: Option<i64> = row.try_get("battery_pct")?;
    let online: i64 = row.try_get("online")?;
    Ok(DeviceRecord {
        id: parse_id(&id, DeviceId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        kind: DeviceKind::parse(&kind).ok_or_else(|| corrupt("device kind", &kind))?,
        status: DeviceStatus::parse(&status).ok_or_else(|| corrupt("device status", &status))?,
        public_key: row.try_get("public_key")?,
        serial: SerialNumber::parse(&serial).map_err(|e| corrupt("serial", e))?,
        mac: MacAddress::parse(&mac).map_err(|e| corrupt("mac", e))?,
        firmware: Firmware::parse(&firmware).map_err(|e| corrupt("firmware", e))?,
        seal: opt_id(row.try_get("seal_id")?, SealId::parse)?,
        terminal: terminal
            .as_deref()
            .map(Terminal::parse)
            .transpose()
            .map_err(|e| corrupt("terminal", e))?,
        geofence,
        parameters,
        enrolled_at: Timestamp::from_millis(row.try_get("enrolled_at")?),
        status_changed_at: Timestamp::from_millis(row.try_get("status_changed_at")?),
        status_changed_by: row.try_get("status_changed_by")?,
        telemetry: Telemetry {
            last_seen_at: opt_time(row.try_get("last_seen_at")?),
            online: online != 0,
            battery_pct: battery.and_then(|b| u8::try_from(b).ok()),
            fix: fix_from(
                row.try_get("lat_e7")?,
                row.try_get("lon_e7")?,
                row.try_get("accuracy_m")?,
            )?,
            on_base: opt_bool(row.try_get("on_base")?),
            tamper: opt_bool(row.try_get("tamper")?),
            locked: opt_bool(row.try_get("locked")?),
            buffered_events: row.try_get("buffered_events")?,
        },
    })
}

pub(super) fn stamp_from_row(row: &AnyRow) -> Result<StampRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let device: String = row.try_get("device_id")?;
    let kind: String = row.try_get("kind")?;
    let press_ms: i64 = row.try_get("press_ms")?;
    let beyond: i64 = row.try_get("beyond_grant")?;
    let page: Option<i64> = row.try_get("page")?;
    Ok(StampRecord {
        id: parse_id(&id, StampId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        device: parse_id(&device, DeviceId::parse)?,
        seq: row.try_get("seq")?,
        kind: StampKind::parse(&kind).ok_or_else(|| corrupt("stamp kind", &kind))?,
        grant: opt_id(row.try_get("grant_id")?, GrantId::parse)?,
        application: opt_id(row.try_get("application_id")?, ApplicationId::parse)?,
        seal: opt_id(row.try_get("seal_id")?, SealId::parse)?,
        device_time: Timestamp::from_millis(row.try_get("device_time")?),
        received_at: Timestamp::from_millis(row.try_get("received_at")?),
        fix: fix_from(
            row.try_get("lat_e7")?,
            row.try_get("lon_e7")?,
            row.try_get("accuracy_m")?,
        )?,
        press_ms: u32::try_from(press_ms).map_err(|e| corrupt("press_ms", e))?,
        factors: row.try_get("factors")?,
        photo_key: row.try_get("photo_key")?,
        photo_sha256: row.try_get("photo_sha256")?,
        beyond_grant: beyond != 0,
        document_sha256: row.try_get("document_sha256")?,
        page: page
            .map(|p| u32::try_from(p).map_err(|e| corrupt("page", e)))
            .transpose()?,
        token: row.try_get("token")?,
    })
}

fn command_from_row(row: &AnyRow) -> Result<CommandRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let device: String = row.try_get("device_id")?;
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let parameters: Option<String> = row.try_get("parameters")?;
    Ok(CommandRecord {
        id: parse_id(&id, CommandId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        device: parse_id(&device, DeviceId::parse)?,
        kind: CommandKind::parse(&kind).ok_or_else(|| corrupt("command kind", &kind))?,
        grant: opt_id(row.try_get("grant_id")?, GrantId::parse)?,
        parameters: parameters
            .as_deref()
            .map(parameters_from_text)
            .transpose()?,
        status: CommandStatus::parse(&status).ok_or_else(|| corrupt("command status", &status))?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        created_by: row.try_get("created_by")?,
        sent_count: row.try_get("sent_count")?,
        acked_at: opt_time(row.try_get("acked_at")?),
        note: row.try_get("note")?,
    })
}

fn alarm_from_row(row: &AnyRow) -> Result<AlarmRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let kind: String = row.try_get("kind")?;
    let severity: String = row.try_get("severity")?;
    let status: String = row.try_get("status")?;
    Ok(AlarmRecord {
        id: parse_id(&id, AlarmId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        kind: AlarmKind::parse(&kind).ok_or_else(|| corrupt("alarm kind", &kind))?,
        severity: Severity::parse(&severity).ok_or_else(|| corrupt("severity", &severity))?,
        status: AlarmStatus::parse(&status).ok_or_else(|| corrupt("alarm status", &status))?,
        device: opt_id(row.try_get("device_id")?, DeviceId::parse)?,
        seal: opt_id(row.try_get("seal_id")?, SealId::parse)?,
        application: opt_id(row.try_get("application_id")?, ApplicationId::parse)?,
        details: row.try_get("details")?,
        occurrences: row.try_get("occurrences")?,
        raised_at: Timestamp::from_millis(row.try_get("raised_at")?),
        last_at: Timestamp::from_millis(row.try_get("last_at")?),
        acknowledged_at: opt_time(row.try_get("acknowledged_at")?),
        acknowledged_by: row.try_get("acknowledged_by")?,
        acknowledge_note: row.try_get("acknowledge_note")?,
        resolved_at: opt_time(row.try_get("resolved_at")?),
        resolved_by: row.try_get("resolved_by")?,
        resolve_note: row.try_get("resolve_note")?,
    })
}
