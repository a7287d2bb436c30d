//! Devices: enrolment tokens, enrolment and admission (approve, revoke), binding to a
//! seal and a terminal, geofence and parameters, the signed-request check every device
//! call goes through ([`App::authenticate_device`]), unlock, heartbeats, commands and the
//! printer's scan → print job, and the timed job that marks silent devices offline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use seal_core::alarm::AlarmKind;
use seal_core::application::{ApplicationNumber, ApplicationStatus};
use seal_core::audit::Actor;
use seal_core::comparison::{ComparisonSubject, ComparisonVerdict};
use seal_core::device::{
    CommandKind, CommandStatus, DeviceKind, DeviceParameters, DeviceStatus, Firmware, GeoPoint,
    Geofence, MacAddress, SerialNumber, Terminal, UnlockRefusal,
};
use seal_core::grant::GrantStatus;
use seal_core::ids::{
    CommandId, ComparisonId, DeviceId, EnrolmentTokenId, GrantId, OrgId, SealId, StampId,
};
use seal_core::permission::Permission;
use seal_core::time::Timestamp;
use seal_core::webhook::EventKind;
use seal_proof::wire;
use seal_proof::{PublicKey, SigningKey};
use seal_store::{
    AlarmRecord, ApplicationRecord, CommandRecord, DeviceRecord, EnrolmentTokenRecord, GrantRecord,
    OrgKeyRecord, StampRecord, Telemetry, Tx, UnlockAttemptRecord,
};

use crate::alarms::{AlarmSubject, raise};
use crate::audit::{record, record_by};
use crate::error::{Conflict, DeviceAuthError, Entity, Invalid};
use crate::policy::{self, Principal};
use crate::webhooks::enqueue;
use crate::{App, AppError, RequestContext};

/// Who may see devices: those who manage them, keepers, alarm handlers and auditors.
const DEVICE_READERS: [Permission; 4] = [
    Permission::DevicesManage,
    Permission::SealsKeep,
    Permission::AlarmsHandle,
    Permission::AuditRead,
];

/// Refused unlocks are counted over this window for the `unlock_refused` alarm.
const REFUSAL_WINDOW_SECONDS: i64 = 600;

/// Wakes the tasks waiting for a device's commands (its WebSocket or long-poll).
#[derive(Default)]
pub struct DeviceHub {
    waiting: Mutex<HashMap<DeviceId, Arc<tokio::sync::Notify>>>,
}

impl DeviceHub {
    /// The notifier a device's connection waits on.
    pub fn subscribe(&self, device: DeviceId) -> Arc<tokio::sync::Notify> {
        let mut map = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(device).or_default().clone()
    }

    /// Wakes the device's connection (after a command was committed).
    pub fn notify(&self, device: DeviceId) {
        let map = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        // One permit: a connection waiting now wakes, and one about to wait finds it (a
        // second connection of the same device learns at its next poll).
        if let Some(n) = map.get(&device) {
            n.notify_one();
        }
    }

    /// Drops the notifier when no connection holds it any more.
    pub fn release(&self, device: DeviceId) {
        let mut map = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&device).is_some_and(|n| Arc::strong_count(n) == 1) {
            map.remove(&device);
        }
    }
}

/// Devices read for signature checks, kept for `security.auth_cache_seconds` (like
/// people's principals): a busy device is not read from the database on every request.
/// Every use case that changes a device drops its entry, so within one process a revoked
/// device is refused at its very next request.
#[derive(Default)]
pub struct DeviceCache {
    entries: Mutex<HashMap<DeviceId, (DeviceRecord, seal_core::time::Timestamp)>>,
}

impl DeviceCache {
    fn get(&self, id: DeviceId, now: Timestamp, ttl_seconds: i64) -> Option<DeviceRecord> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&id)
            .filter(|(_, at)| now.seconds_since(*at) < ttl_seconds)
            .map(|(d, _)| d.clone())
    }

    fn put(&self, device: DeviceRecord, now: Timestamp) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.clear();
        }
        map.insert(device.id, (device, now));
    }

    /// Drops a device (after a change to it).
    pub fn forget(&self, id: DeviceId) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&id);
    }
}

/// The parts of an HTTP request that its signature covers, as the server received them.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Without the leading `?`.
    pub query: Option<&'a str>,
    pub body: &'a [u8],
    pub content_digest: Option<&'a str>,
    pub signature_input: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// A device whose request signature verified. Only [`App::authenticate_device`] makes
/// one; its nonce is claimed inside the use case's transaction (a replay fails there).
#[derive(Clone, Debug)]
pub struct DeviceCaller {
    device: DeviceRecord,
    key_id: String,
    nonce: String,
}

impl DeviceCaller {
    pub fn device(&self) -> &DeviceRecord {
        &self.device
    }

    pub fn id(&self) -> DeviceId {
        self.device.id
    }

    fn actor(&self) -> Actor {
        Actor::Device(self.device.id)
    }

    /// The signature's key id and nonce, claimed in the use case's transaction.
    pub(crate) fn nonce_pair(&self) -> (String, String) {
        (self.key_id.clone(), self.nonce.clone())
    }

    /// Records the nonce; a nonce seen before means a replayed request.
    pub(crate) async fn claim_nonce(&self, tx: &mut Tx, now: Timestamp) -> Result<(), AppError> {
        if tx.remember_nonce(&self.key_id, &self.nonce, now).await? {
            Ok(())
        } else {
            Err(AppError::DeviceAuth(DeviceAuthError::Replay))
        }
    }

    fn require_active(&self) -> Result<(), AppError> {
        if self.device.status == DeviceStatus::Active {
            Ok(())
        } else {
            Err(AppError::DeviceNotActive)
        }
    }
}

/// A signature whose headers parse, whose digest matches the body and whose `created`
/// lies in the clock window; [`Checked::verify`] then checks it with the key its key id
/// names. Parsed once per request.
struct Checked<'a> {
    parsed: seal_proof::httpsig::ParsedSignature,
    digest: &'a str,
}

impl<'a> Checked<'a> {
    fn new(req: &SignedRequest<'a>, now: Timestamp, skew_seconds: i64) -> Result<Self, AppError> {
        let auth = |e: DeviceAuthError| AppError::DeviceAuth(e);
        let (Some(digest), Some(input), Some(signature)) =
            (req.content_digest, req.signature_input, req.signature)
        else {
            return Err(auth(DeviceAuthError::Missing));
        };
        seal_proof::httpsig::check_content_digest(digest, req.body)
            .map_err(|_| auth(DeviceAuthError::Digest))?;
        let parsed = seal_proof::httpsig::parse(input, signature)
            .map_err(|_| auth(DeviceAuthError::Malformed))?;
        let created_ms = parsed.params.created.saturating_mul(1000);
        if (now.as_millis() - created_ms).abs() > skew_seconds * 1000 {
            return Err(auth(DeviceAuthError::Clock));
        }
        Ok(Checked { parsed, digest })
    }

    fn key_id(&self) -> &str {
        &self.parsed.params.keyid
    }

    /// Verifies with `key`; returns the key id and nonce to claim.
    fn verify(
        self,
        req: &SignedRequest<'a>,
        key: &PublicKey,
    ) -> Result<(String, String), AppError> {
        let request = seal_proof::httpsig::Request {
            method: req.method,
            path: req.path,
            query: req.query,
            content_digest: self.digest,
        };
        self.parsed
            .verify(&request, key)
            .map_err(|_| AppError::DeviceAuth(DeviceAuthError::BadSignature))?;
        let params = self.parsed.params;
        Ok((params.keyid, params.nonce))
    }
}

/// The organisation's current grant-signing key, made on first use.
pub(crate) async fn org_signing_key(
    tx: &mut Tx,
    org: OrgId,
    now: Timestamp,
) -> Result<(String, SigningKey), AppError> {
    let keys = tx.org_keys(org).await?;
    if let Some(current) = keys.iter().find(|k| k.retired_at.is_none()) {
        let bytes = STANDARD
            .decode(&current.secret_key)
            .map_err(|e| AppError::Internal(format!("organisation key: {e}")))?;
        let key = SigningKey::from_bytes(&bytes)
            .map_err(|e| AppError::Internal(format!("organisation key: {e}")))?;
        return Ok((current.kid.clone(), key));
    }
    let key = SigningKey::generate();
    let public = key.public_key();
    let kid = public.key_id();
    tx.insert_org_key(&OrgKeyRecord {
        kid: kid.clone(),
        org_id: org,
        public_key: public.to_base64(),
        secret_key: STANDARD.encode(key.to_bytes()),
        created_at: now,
        retired_at: None,
    })
    .await?;
    Ok((kid, key))
}

/// What the admin sees of a device, with its recent history.
#[derive(Clone, Debug)]
pub struct DeviceView {
    pub device: DeviceRecord,
    pub seal_name: Option<String>,
    pub stamps: Vec<StampRecord>,
    pub commands: Vec<CommandRecord>,
    pub unlocks: Vec<UnlockAttemptRecord>,
    pub alarms: Vec<AlarmRecord>,
}

/// A new enrolment token: the record and the secret, shown once.
#[derive(Clone, Debug)]
pub struct NewEnrolmentToken {
    pub record: EnrolmentTokenRecord,
    pub secret: String,
}

/// Binding, geofence and parameters an admin sets; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct DeviceChanges {
    /// `Some(None)` unbinds.
    pub seal: Option<Option<SealId>>,
    pub terminal: Option<Option<String>>,
    /// `Some(None)` removes the geofence; `Some(Some((lat, lon, radius_m)))` sets it.
    pub geofence: Option<Option<(f64, f64, u32)>>,
    pub parameters: Option<(u32, u32, u8)>,
}

/// A print job after a matching scan.
#[derive(Clone, Debug)]
pub struct PrintJob {
    pub stamp: StampId,
    pub order: String,
    pub seal_svg: String,
    pub width_mm: f32,
    pub height_mm: f32,
    pub uses_left: u32,
    /// The seal with the stamp's QR code and numeric code, at true size.
    pub mark_svg: String,
    pub numeric_code: String,
}

/// A device's pending commands in wire form.
fn wire_command(c: &CommandRecord) -> wire::Command {
    wire::Command {
        id: c.id.to_string(),
        kind: c.kind.key().to_owned(),
        grant_id: c.grant.map(|g| g.to_string()),
        parameters: c.parameters.as_ref().map(wire_parameters),
        created_at: c.created_at.as_millis(),
    }
}

pub(crate) fn wire_parameters(p: &DeviceParameters) -> wire::Parameters {
    wire::Parameters {
        heartbeat_seconds: p.heartbeat_seconds(),
        press_max_ms: p.press_max_ms(),
        low_battery_pct: p.low_battery_pct(),
    }
}

/// Queues a command inside `tx` (the caller wakes the device after commit).
#[allow(clippy::too_many_arguments)] // the command's fields
pub(crate) async fn queue_command(
    tx: &mut Tx,
    org: OrgId,
    device: DeviceId,
    kind: CommandKind,
    grant: Option<GrantId>,
    parameters: Option<DeviceParameters>,
    by: &Actor,
    now: Timestamp,
) -> Result<CommandRecord, AppError> {
    let command = CommandRecord {
        id: CommandId::from_bytes(crate::secrets::id_bytes()),
        org_id: org,
        device,
        kind,
        grant,
        parameters,
        status: CommandStatus::Pending,
        created_at: now,
        created_by: by.label(),
        sent_count: 0,
        acked_at: None,
        note: String::new(),
    };
    tx.insert_command(&command).await?;
    Ok(command)
}

impl App {
    pub(crate) fn device_hub(&self) -> &DeviceHub {
        &self.inner.device_hub
    }

    /// Wakes a device's command connection (call after the commit).
    pub fn wake_device(&self, device: DeviceId) {
        self.device_hub().notify(device);
    }

    /// Wakes the device bound to a seal, if any (after a commit that queued it a command).
    pub(crate) async fn wake_seal_device(&self, org: OrgId, seal: SealId) {
        if let Ok(mut tx) = self.store().read().await
            && let Ok(Some(device)) = tx.device_bound_to_seal(org, seal).await
        {
            self.wake_device(device.id);
        }
    }

    /// The notifier a device's WebSocket or long-poll waits on, and its release.
    pub fn device_waiter(&self, device: DeviceId) -> Arc<tokio::sync::Notify> {
        self.device_hub().subscribe(device)
    }

    pub fn release_device_waiter(&self, device: DeviceId) {
        self.device_hub().release(device);
    }

    // ----- the signed-request check ----------------------------------------------------

    /// Verifies a device request: content digest, RFC 9421 signature with the enrolled
    /// key named by `keyid`, and the clock window. The nonce is claimed later, in the use
    /// case's transaction. Pending and revoked devices authenticate (so they can learn
    /// their status); the use cases refuse them.
    pub async fn authenticate_device(
        &self,
        req: &SignedRequest<'_>,
    ) -> Result<DeviceCaller, AppError> {
        let now = self.now();
        let checked = Checked::new(req, now, self.settings().device_clock_skew_seconds)?;
        let id = DeviceId::parse(checked.key_id())
            .map_err(|_| AppError::DeviceAuth(DeviceAuthError::UnknownKey))?;
        let ttl = self.settings().auth_cache_seconds;
        let device = match self.inner.device_cache.get(id, now, ttl) {
            Some(device) => device,
            None => {
                let mut tx = self.store().read().await?;
                let device = tx
                    .device_for_signature(id)
                    .await?
                    .ok_or(AppError::DeviceAuth(DeviceAuthError::UnknownKey))?;
                self.inner.device_cache.put(device.clone(), now);
                device
            }
        };
        let key = PublicKey::from_base64(&device.public_key)
            .map_err(|e| AppError::Internal(format!("stored device key: {e}")))?;
        let (key_id, nonce) = checked.verify(req, &key)?;
        Ok(DeviceCaller {
            device,
            key_id,
            nonce,
        })
    }

    // ----- enrolment -------------------------------------------------------------------

    /// Makes a one-time enrolment token for a kind of device (`devices.manage`).
    pub async fn create_enrolment_token(
        &self,
        principal: &Principal,
        kind: &str,
        note: &str,
        context: &RequestContext,
    ) -> Result<NewEnrolmentToken, AppError> {
        let permit = policy::authorize(principal, Permission::DevicesManage)?;
        let kind = DeviceKind::parse(kind)
            .ok_or_else(|| AppError::invalid("kind", Invalid::UnknownKey(kind.to_owned())))?;
        let note = if note.trim().is_empty() {
            String::new()
        } else {
            seal_core::text::bounded(note, 200)
                .map_err(|e| AppError::invalid("note", Invalid::Text(e)))?
        };
        let now = self.now();
        let secret = format!("sket_{}", crate::secrets::token_128());
        let record = EnrolmentTokenRecord {
            id: EnrolmentTokenId::from_bytes(crate::secrets::id_bytes()),
            org_id: permit.org(),
            kind,
            note,
            created_by: permit.person(),
            created_at: now,
            expires_at: now.plus_seconds(self.settings().enrolment_token_hours * 3600),
            used_at: None,
            device: None,
        };
        let mut tx = self.store().write().await?;
        tx.insert_enrolment_token(&record, &crate::secrets::digest(&secret))
            .await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "device.enrolment_token_created",
            format!("enrolment_token:{}", record.id),
            vec![("kind", kind.key().to_owned())],
        )
        .await?;
        tx.commit().await?;
        Ok(NewEnrolmentToken { record, secret })
    }

    pub async fn enrolment_tokens(
        &self,
        principal: &Principal,
    ) -> Result<Vec<EnrolmentTokenRecord>, AppError> {
        let permit = policy::authorize(principal, Permission::DevicesManage)?;
        let mut tx = self.store().read().await?;
        Ok(tx.enrolment_tokens(permit.org()).await?)
    }

    /// A new device presents a token and its public key; the request is signed with that
    /// key (proof of possession). The device is pending until an admin approves it.
    pub async fn enrol_device(
        &self,
        req: &SignedRequest<'_>,
        body: &wire::EnrolRequest,
        context: &RequestContext,
    ) -> Result<DeviceRecord, AppError> {
        let now = self.now();
        let public = PublicKey::from_base64(body.public_key.trim())
            .map_err(|_| AppError::invalid("public_key", Invalid::PublicKey))?;
        let checked = Checked::new(req, now, self.settings().device_clock_skew_seconds)?;
        // Proof of possession: the enrol request names the new key and is signed by it.
        if checked.key_id() != public.to_base64() {
            return Err(AppError::DeviceAuth(DeviceAuthError::UnknownKey));
        }
        let (key_id, nonce) = checked.verify(req, &public)?;
        let kind = DeviceKind::parse(&body.kind)
            .ok_or_else(|| AppError::invalid("kind", Invalid::UnknownKey(body.kind.clone())))?;
        let serial = SerialNumber::parse(&body.serial)
            .map_err(|e| AppError::invalid("serial", Invalid::Device(e)))?;
        let mac = MacAddress::parse(&body.mac)
            .map_err(|e| AppError::invalid("mac", Invalid::Device(e)))?;
        let firmware = Firmware::parse(&body.firmware)
            .map_err(|e| AppError::invalid("firmware", Invalid::Device(e)))?;
        let mut tx = self.store().write().await?;
        if !tx.remember_nonce(&key_id, &nonce, now).await? {
            return Err(AppError::DeviceAuth(DeviceAuthError::Replay));
        }
        let token = tx
            .enrolment_token_by_digest(&crate::secrets::digest(body.token.trim()))
            .await?
            .filter(|t| t.used_at.is_none() && t.expires_at > now && t.kind == kind)
            .ok_or(AppError::invalid("token", Invalid::EnrolmentToken))?;
        if tx.device_key_taken(&public.to_base64()).await? {
            return Err(AppError::Conflict(Conflict::DeviceDuplicate));
        }
        let device = DeviceRecord {
            id: DeviceId::from_bytes(crate::secrets::id_bytes()),
            org_id: token.org_id,
            kind,
            status: DeviceStatus::Pending,
            public_key: public.to_base64(),
            serial,
            mac,
            firmware,
            seal: None,
            terminal: None,
            geofence: None,
            parameters: DeviceParameters::default(),
            enrolled_at: now,
            status_changed_at: now,
            status_changed_by: None,
            telemetry: Telemetry::default(),
        };
        tx.insert_device(&device).await.map_err(|e| match e {
            seal_store::StoreError::Conflict => AppError::Conflict(Conflict::DeviceDuplicate),
            other => other.into(),
        })?;
        if !tx
            .spend_enrolment_token(token.org_id, token.id, device.id, now)
            .await?
        {
            return Err(AppError::invalid("token", Invalid::EnrolmentToken));
        }
        record(
            &mut tx,
            now,
            Some(token.org_id),
            &Actor::Device(device.id),
            context,
            "device.enrolled",
            format!("device:{}", device.id),
            vec![
                ("kind", kind.key().to_owned()),
                ("serial", device.serial.to_string()),
                ("mac", device.mac.to_string()),
                ("token", token.id.to_string()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(device)
    }

    /// Approves (allow-lists) or revokes a device (`devices.manage`). A revoked device's
    /// next request is refused.
    pub async fn change_device_status(
        &self,
        principal: &Principal,
        id: DeviceId,
        to: DeviceStatus,
        context: &RequestContext,
    ) -> Result<DeviceRecord, AppError> {
        let permit = policy::authorize(principal, Permission::DevicesManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut device = tx
            .device(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Device))?;
        let from = device.status;
        device.status = from
            .change_to(to)
            .map_err(|e| AppError::Conflict(Conflict::DeviceStatus(e)))?;
        device.status_changed_at = now;
        device.status_changed_by = Some(permit.actor().label());
        tx.update_device(&device).await.map_err(|e| match e {
            seal_store::StoreError::Conflict => AppError::Conflict(Conflict::DeviceDuplicate),
            other => other.into(),
        })?;
        let action = match to {
            DeviceStatus::Active => "device.approved",
            _ => "device.revoked",
        };
        let woken = device.id;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            action,
            format!("device:{id}"),
            vec![
                ("from", from.key().to_owned()),
                ("serial", device.serial.to_string()),
                ("mac", device.mac.to_string()),
            ],
        )
        .await?;
        tx.commit().await?;
        self.inner.device_cache.forget(woken);
        // A revoked device waiting for commands learns it at once.
        self.wake_device(woken);
        Ok(device)
    }

    /// Binds a device to a seal and a terminal, sets its geofence and parameters
    /// (`devices.manage`). Rebinding is audited with the previous binding; new parameters
    /// are sent to the device as an `update_parameters` command.
    pub async fn change_device(
        &self,
        principal: &Principal,
        id: DeviceId,
        changes: &DeviceChanges,
        context: &RequestContext,
    ) -> Result<DeviceRecord, AppError> {
        let permit = policy::authorize(principal, Permission::DevicesManage)?;
        let now = self.now();
        let terminal = match &changes.terminal {
            Some(Some(t)) if !t.trim().is_empty() => {
                Some(Some(Terminal::parse(t).map_err(|e| {
                    AppError::invalid("terminal", Invalid::Device(e))
                })?))
            }
            Some(_) => Some(None),
            None => None,
        };
        let geofence = match changes.geofence {
            Some(Some((lat, lon, radius))) => Some(Some(
                GeoPoint::new(lat, lon)
                    .and_then(|home| Geofence::new(home, radius))
                    .map_err(|e| AppError::invalid("geofence", Invalid::Device(e)))?,
            )),
            Some(None) => Some(None),
            None => None,
        };
        let parameters = changes
            .parameters
            .map(|(h, p, b)| DeviceParameters::new(h, p, b))
            .transpose()
            .map_err(|e| AppError::invalid("parameters", Invalid::Device(e)))?;
        let mut tx = self.store().write().await?;
        let mut device = tx
            .device(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Device))?;
        let before = device.clone();
        if let Some(seal) = changes.seal {
            if let Some(seal) = seal {
                if !device.kind.holds_seal() {
                    return Err(AppError::invalid("seal_id", Invalid::NotASealHolder));
                }
                tx.seal(permit.org(), seal)
                    .await?
                    .ok_or(AppError::invalid("seal_id", Invalid::UnknownSeal))?;
                if let Some(other) = tx.device_bound_to_seal(permit.org(), seal).await?
                    && other.id != device.id
                {
                    return Err(AppError::Conflict(Conflict::SealAlreadyBound));
                }
            }
            device.seal = seal;
        }
        if let Some(terminal) = terminal {
            device.terminal = terminal;
        }
        if let Some(geofence) = geofence {
            device.geofence = geofence;
        }
        let new_parameters = parameters.filter(|p| *p != device.parameters);
        if let Some(p) = new_parameters {
            device.parameters = p;
        }
        tx.update_device(&device).await.map_err(|e| match e {
            seal_store::StoreError::Conflict if device.terminal != before.terminal => {
                AppError::Conflict(Conflict::TerminalTaken)
            }
            seal_store::StoreError::Conflict => AppError::Conflict(Conflict::SealAlreadyBound),
            other => other.into(),
        })?;
        let show = |s: Option<SealId>| s.map(|s| s.to_string()).unwrap_or_default();
        let show_t = |t: &Option<Terminal>| {
            t.as_ref()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default()
        };
        if before.seal != device.seal || before.terminal != device.terminal {
            record_by(
                &mut tx,
                &permit,
                now,
                context,
                "device.bound",
                format!("device:{id}"),
                vec![
                    ("seal_before", show(before.seal)),
                    ("seal", show(device.seal)),
                    ("terminal_before", show_t(&before.terminal)),
                    ("terminal", show_t(&device.terminal)),
                ],
            )
            .await?;
        }
        if before.geofence != device.geofence || new_parameters.is_some() {
            let p = &device.parameters;
            record_by(
                &mut tx,
                &permit,
                now,
                context,
                "device.settings_changed",
                format!("device:{id}"),
                vec![
                    (
                        "geofence",
                        device
                            .geofence
                            .map(|g| {
                                format!("{},{} r={}m", g.home().lat(), g.home().lon(), g.radius_m())
                            })
                            .unwrap_or_default(),
                    ),
                    (
                        "parameters",
                        format!(
                            "heartbeat={}s press_max={}ms low_battery={}%",
                            p.heartbeat_seconds(),
                            p.press_max_ms(),
                            p.low_battery_pct()
                        ),
                    ),
                ],
            )
            .await?;
        }
        if let Some(p) = new_parameters {
            queue_command(
                &mut tx,
                permit.org(),
                id,
                CommandKind::UpdateParameters,
                None,
                Some(p),
                &permit.actor(),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.inner.device_cache.forget(id);
        if new_parameters.is_some() {
            self.wake_device(id);
        }
        Ok(device)
    }

    /// The organisation's devices.
    pub async fn devices(&self, principal: &Principal) -> Result<Vec<DeviceRecord>, AppError> {
        let permit = policy::authorize_any(principal, &DEVICE_READERS)?;
        let mut tx = self.store().read().await?;
        Ok(tx.devices(permit.org()).await?)
    }

    /// A device with its latest stamps, commands, unlock attempts and alarms.
    pub async fn device_view(
        &self,
        principal: &Principal,
        id: DeviceId,
    ) -> Result<DeviceView, AppError> {
        let permit = policy::authorize_any(principal, &DEVICE_READERS)?;
        let mut tx = self.store().read().await?;
        let device = tx
            .device(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Device))?;
        let seal_name = match device.seal {
            Some(seal) => tx
                .seal(permit.org(), seal)
                .await?
                .map(|s| s.name.as_str().to_owned()),
            None => None,
        };
        let filter = seal_store::AlarmFilter {
            device: Some(id),
            limit: 50,
            ..Default::default()
        };
        Ok(DeviceView {
            seal_name,
            stamps: tx.stamps_for_device(permit.org(), id, 50).await?,
            commands: tx.commands_for_device(permit.org(), id, 50).await?,
            unlocks: tx.unlock_attempts(permit.org(), id, 50).await?,
            alarms: tx.alarms(permit.org(), &filter).await?,
            device,
        })
    }

    /// Sends a command to a device (`devices.manage`): lock now, or cancel a grant.
    pub async fn send_device_command(
        &self,
        principal: &Principal,
        id: DeviceId,
        kind: &str,
        grant: Option<GrantId>,
        context: &RequestContext,
    ) -> Result<CommandRecord, AppError> {
        let permit = policy::authorize(principal, Permission::DevicesManage)?;
        let kind = match CommandKind::parse(kind) {
            Some(k @ (CommandKind::Lock | CommandKind::CancelGrant)) => k,
            _ => {
                return Err(AppError::invalid(
                    "kind",
                    Invalid::UnknownKey(kind.to_owned()),
                ));
            }
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        let device = tx
            .device(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Device))?;
        if device.status == DeviceStatus::Revoked {
            return Err(AppError::Conflict(Conflict::DeviceStatus(
                seal_core::device::DeviceStatusError {
                    from: DeviceStatus::Revoked,
                    to: DeviceStatus::Active,
                },
            )));
        }
        let grant = match (kind, grant) {
            (CommandKind::CancelGrant, Some(g)) => Some(
                tx.grant(permit.org(), g)
                    .await?
                    .ok_or(AppError::NotFound(Entity::Grant))?
                    .id,
            ),
            (CommandKind::CancelGrant, None) => {
                return Err(AppError::invalid("grant_id", Invalid::Id));
            }
            _ => None,
        };
        let command = queue_command(
            &mut tx,
            permit.org(),
            id,
            kind,
            grant,
            None,
            &permit.actor(),
            now,
        )
        .await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "device.command_sent",
            format!("device:{id}"),
            vec![
                ("command", command.id.to_string()),
                ("kind", kind.key().to_owned()),
            ],
        )
        .await?;
        tx.commit().await?;
        self.wake_device(id);
        Ok(command)
    }

    // ----- the device's own calls ------------------------------------------------------

    /// `GET /device/v1/me`: status, binding, the organisation's keys, parameters.
    pub async fn device_state(&self, caller: &DeviceCaller) -> Result<wire::DeviceState, AppError> {
        let now = self.now();
        let device = caller.device();
        let mut tx = self.store().write().await?;
        caller.claim_nonce(&mut tx, now).await?;
        let org_keys = if device.status == DeviceStatus::Active {
            org_signing_key(&mut tx, device.org_id, now).await?;
            tx.org_keys(device.org_id)
                .await?
                .into_iter()
                .map(|k| wire::OrgKey {
                    kid: k.kid,
                    public_key: k.public_key,
                })
                .collect()
        } else {
            Vec::new()
        };
        let seal_name = match device.seal {
            Some(seal) => tx
                .seal(device.org_id, seal)
                .await?
                .map(|s| s.name.as_str().to_owned()),
            None => None,
        };
        if device.status == DeviceStatus::Active {
            tx.touch_device(device.org_id, device.id, now).await?;
        }
        tx.commit().await?;
        Ok(wire::DeviceState {
            device_id: device.id.to_string(),
            kind: device.kind.key().to_owned(),
            status: device.status.key().to_owned(),
            seal_id: device.seal.map(|s| s.to_string()),
            seal_name,
            org_keys,
            parameters: wire_parameters(&device.parameters),
            server_time: now.as_millis(),
        })
    }

    /// Checks an unlock (or scan) request against the order; records the attempt. On a
    /// refusal the attempt, its audit event and any alarm are committed and the refusal
    /// returned as the error.
    async fn check_order(
        &self,
        tx: &mut Tx,
        caller: &DeviceCaller,
        order: &str,
        now: Timestamp,
        context: &RequestContext,
    ) -> Result<Result<(ApplicationRecord, GrantRecord), UnlockRefusal>, AppError> {
        let device = caller.device();
        let org = device.org_id;
        // Uses, grants and standing alarms change under the organisation's lock
        // (PostgreSQL; SQLite writers are exclusive anyway): no lost update, no twin alarm.
        tx.lock_org(org).await?;
        let application = match ApplicationNumber::parse(order.trim()) {
            Ok(number) => tx.application_by_number(org, &number).await?,
            Err(_) => None,
        };
        let grant = match &application {
            Some(a) => tx.grant_for_application(org, a.id).await?,
            None => None,
        };
        let refusal = if device.status != DeviceStatus::Active {
            Some(UnlockRefusal::DeviceNotActive)
        } else {
            match (&application, &grant) {
                (None, _) => Some(UnlockRefusal::UnknownOrder),
                // Never approved (yet): draft, in review, rejected, withdrawn.
                (Some(a), _) if !was_approved(a.lifecycle.status()) => {
                    Some(UnlockRefusal::NotApproved)
                }
                (Some(a), _) if device.seal != Some(a.seal) => Some(UnlockRefusal::WrongSeal),
                (Some(a), _) if !a.lifecycle.window().contains(now) => {
                    Some(UnlockRefusal::OutsideWindow)
                }
                (Some(a), _)
                    if a.lifecycle.remaining() == 0
                        || a.lifecycle.status() == ApplicationStatus::Completed =>
                {
                    Some(UnlockRefusal::NoUsesLeft)
                }
                (Some(a), Some(g))
                    if g.status == GrantStatus::Active && a.lifecycle.status().is_live() =>
                {
                    None
                }
                (Some(_), _) => Some(UnlockRefusal::GrantNotActive),
            }
        };
        tx.insert_unlock_attempt(&UnlockAttemptRecord {
            id: StampId::from_bytes(crate::secrets::id_bytes()),
            org_id: org,
            device: device.id,
            order_text: order.chars().take(64).collect(),
            application: application.as_ref().map(|a| a.id),
            outcome: refusal.map_or("granted", |r| r.key()).to_owned(),
            at: now,
        })
        .await?;
        match (refusal, application, grant) {
            (None, Some(a), Some(g)) => Ok(Ok((a, g))),
            (refusal, application, _) => {
                let refusal = refusal.unwrap_or(UnlockRefusal::GrantNotActive);
                record(
                    tx,
                    now,
                    Some(org),
                    &caller.actor(),
                    context,
                    "device.unlock_refused",
                    format!("device:{}", device.id),
                    vec![
                        ("order", order.chars().take(64).collect()),
                        ("reason", refusal.key().to_owned()),
                    ],
                )
                .await?;
                let since = now.plus_seconds(-REFUSAL_WINDOW_SECONDS);
                let refused = tx.refused_unlocks_since(org, device.id, since).await?;
                if refused >= self.settings().unlock_refusals_alarm {
                    raise(
                        tx,
                        org,
                        AlarmKind::UnlockRefused,
                        AlarmSubject {
                            device: Some(device.id),
                            seal: device.seal,
                            application: application.map(|a| a.id),
                        },
                        format!(
                            "{refused} unlocks refused in ten minutes; last: {}",
                            refusal.key()
                        ),
                        &caller.actor(),
                        context,
                        now,
                    )
                    .await?;
                }
                tx.touch_device(org, device.id, now).await?;
                Ok(Err(refusal))
            }
        }
    }

    /// `POST /device/v1/unlock`: checks the order and answers with an unlock grant signed
    /// by the organisation's key, or the reason for the refusal (recorded either way).
    pub async fn unlock(
        &self,
        caller: &DeviceCaller,
        request: &wire::UnlockRequest,
        context: &RequestContext,
    ) -> Result<wire::UnlockResponse, AppError> {
        if caller.device().kind != DeviceKind::SealBox {
            return Err(AppError::invalid(
                "device",
                Invalid::WrongDeviceKind(DeviceKind::SealBox),
            ));
        }
        let now = self.now();
        let nonce = seal_core::text::bounded(&request.nonce, 128)
            .map_err(|e| AppError::invalid("nonce", Invalid::Text(e)))?;
        let mut tx = self.store().write().await?;
        caller.claim_nonce(&mut tx, now).await?;
        let (application, grant) = match self
            .check_order(&mut tx, caller, &request.order, now, context)
            .await?
        {
            Ok(found) => found,
            Err(refusal) => {
                tx.commit().await?;
                self.wake_webhook_worker();
                return Err(AppError::UnlockRefused(refusal));
            }
        };
        let (kid, key) = org_signing_key(&mut tx, application.org_id, now).await?;
        let payload = wire::UnlockGrant {
            grant_id: grant.id.to_string(),
            order: application.number.as_str().to_owned(),
            device_id: caller.id().to_string(),
            seal_id: application.seal.to_string(),
            uses: application.lifecycle.remaining(),
            not_before: application.lifecycle.window().from().as_millis(),
            expires_at: application.lifecycle.window().until().as_millis(),
            factors: grant.factors.to_string(),
            nonce,
            issued_at: now.as_millis(),
        };
        let bytes = serde_json::to_vec(&payload)
            .map_err(|e| AppError::Internal(format!("grant payload: {e}")))?;
        let token = seal_proof::jws::sign_compact(&key, &kid, &bytes);
        record(
            &mut tx,
            now,
            Some(application.org_id),
            &caller.actor(),
            context,
            "device.unlocked",
            format!("grant:{}", grant.id),
            vec![
                ("application", application.number.as_str().to_owned()),
                ("uses", payload.uses.to_string()),
                ("device_time", request.device_time.to_string()),
            ],
        )
        .await?;
        tx.touch_device(application.org_id, caller.id(), now)
            .await?;
        tx.commit().await?;
        Ok(wire::UnlockResponse {
            token,
            grant: payload,
        })
    }

    /// `POST /device/v1/heartbeat`: records the telemetry and raises the alarms it shows
    /// (tamper, lifted without an unlock, outside the geofence, low battery).
    pub async fn heartbeat(
        &self,
        caller: &DeviceCaller,
        beat: &wire::Heartbeat,
        context: &RequestContext,
    ) -> Result<wire::HeartbeatResponse, AppError> {
        caller.require_active()?;
        let now = self.now();
        let device = caller.device();
        let org = device.org_id;
        let fix = crate::stamps::position_of(beat.position.as_ref())?;
        if beat.battery_pct > 100 {
            return Err(AppError::invalid(
                "battery_pct",
                Invalid::Device(seal_core::device::DeviceValueError::Battery),
            ));
        }
        let firmware = Firmware::parse(&beat.firmware)
            .map_err(|e| AppError::invalid("firmware", Invalid::Device(e)))?;
        let mut tx = self.store().write().await?;
        caller.claim_nonce(&mut tx, now).await?;
        tx.update_telemetry(
            org,
            device.id,
            &Telemetry {
                last_seen_at: Some(now),
                online: true,
                battery_pct: Some(beat.battery_pct),
                fix,
                on_base: Some(beat.on_base),
                tamper: Some(beat.tamper),
                locked: Some(beat.locked),
                buffered_events: Some(i64::from(beat.buffered_events)),
            },
        )
        .await?;
        if firmware != device.firmware {
            let mut updated = device.clone();
            updated.firmware = firmware.clone();
            tx.update_device(&updated).await?;
            record(
                &mut tx,
                now,
                Some(org),
                &caller.actor(),
                context,
                "device.firmware_changed",
                format!("device:{}", device.id),
                vec![
                    ("from", device.firmware.as_str().to_owned()),
                    ("to", firmware.as_str().to_owned()),
                ],
            )
            .await?;
        }
        let subject = || AlarmSubject {
            device: Some(device.id),
            seal: device.seal,
            application: None,
        };
        let mut alarms: Vec<(AlarmKind, String)> = Vec::new();
        if beat.tamper {
            alarms.push((AlarmKind::Tamper, "the tamper sensor is set".to_owned()));
        }
        if !beat.on_base {
            let unlocked_for_grant = !beat.locked
                && match device.seal {
                    Some(seal) => !tx.active_grants_for_seal(org, seal).await?.is_empty(),
                    None => false,
                };
            if !unlocked_for_grant {
                alarms.push((
                    AlarmKind::Lifted,
                    "lifted from its base with no unlock in force".to_owned(),
                ));
            }
        }
        if let (Some(fence), Some(fix)) = (device.geofence, fix)
            && fence.is_outside(&fix.point, f64::from(fix.accuracy_m))
        {
            alarms.push((
                AlarmKind::Geofence,
                format!(
                    "{:.0} m from home (radius {} m)",
                    fence.home().distance_m(&fix.point),
                    fence.radius_m()
                ),
            ));
        }
        if beat.battery_pct < device.parameters.low_battery_pct() {
            alarms.push((
                AlarmKind::LowBattery,
                format!("battery at {} %", beat.battery_pct),
            ));
        }
        for (kind, details) in alarms {
            raise(
                &mut tx,
                org,
                kind,
                subject(),
                details,
                &caller.actor(),
                context,
                now,
            )
            .await?;
        }
        let pending = tx.pending_commands(org, device.id).await?.len();
        tx.commit().await?;
        if firmware != device.firmware {
            self.inner.device_cache.forget(device.id);
        }
        self.wake_webhook_worker();
        Ok(wire::HeartbeatResponse {
            server_time: now.as_millis(),
            commands_pending: u32::try_from(pending).unwrap_or(u32::MAX),
        })
    }

    /// The device's unacknowledged commands (each sending counted). With `wait`, waits up
    /// to that long for one to arrive (long-poll); the WebSocket stream uses `wait = 0`
    /// after each wake-up.
    pub async fn device_commands(
        &self,
        caller: &DeviceCaller,
        wait: Duration,
        claim_nonce: bool,
    ) -> Result<Vec<wire::Command>, AppError> {
        caller.require_active()?;
        let device = caller.device();
        let org = device.org_id;
        if claim_nonce {
            let now = self.now();
            let mut tx = self.store().write().await?;
            caller.claim_nonce(&mut tx, now).await?;
            tx.touch_device(org, device.id, now).await?;
            tx.commit().await?;
        }
        let deadline = tokio::time::Instant::now() + wait;
        let waiter = self.device_waiter(device.id);
        let result = loop {
            let notified = waiter.notified();
            let pending = {
                let mut tx = self.store().read().await?;
                // A device revoked while it waits learns it at once.
                let still_active = tx
                    .device(org, device.id)
                    .await?
                    .is_some_and(|d| d.status == DeviceStatus::Active);
                if !still_active {
                    return Err(AppError::DeviceNotActive);
                }
                tx.pending_commands(org, device.id).await?
            };
            if !pending.is_empty() {
                let mut tx = self.store().write().await?;
                let ids: Vec<CommandId> = pending.iter().map(|c| c.id).collect();
                tx.count_command_sent(org, &ids).await?;
                tx.commit().await?;
                break pending.iter().map(wire_command).collect();
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                break Vec::new();
            }
            // Another server process may have queued a command: look again every 5 s.
            let slice = (deadline - now).min(Duration::from_secs(5));
            let _ = tokio::time::timeout(slice, notified).await;
        };
        drop(waiter);
        self.release_device_waiter(device.id);
        Ok(result)
    }

    /// The device acknowledges a command.
    pub async fn ack_command(
        &self,
        caller: &DeviceCaller,
        id: CommandId,
        ack: &wire::CommandAck,
        context: &RequestContext,
    ) -> Result<(), AppError> {
        caller.require_active()?;
        let device = caller.device();
        let status = match ack.result.as_str() {
            "done" => CommandStatus::Done,
            "failed" => CommandStatus::Failed,
            other => {
                return Err(AppError::invalid(
                    "result",
                    Invalid::UnknownKey(other.to_owned()),
                ));
            }
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        caller.claim_nonce(&mut tx, now).await?;
        let mut command = tx
            .command(device.org_id, device.id, id)
            .await?
            .ok_or(AppError::NotFound(Entity::Command))?;
        if command.status != CommandStatus::Pending {
            return Err(AppError::Conflict(Conflict::CommandNotPending));
        }
        command.status = status;
        command.acked_at = Some(now);
        command.note = ack.note.chars().take(500).collect();
        if !tx.ack_command(&command).await? {
            return Err(AppError::Conflict(Conflict::CommandNotPending));
        }
        record(
            &mut tx,
            now,
            Some(device.org_id),
            &caller.actor(),
            context,
            "device.command_acknowledged",
            format!("device:{}", device.id),
            vec![
                ("command", id.to_string()),
                ("kind", command.kind.key().to_owned()),
                ("result", status.key().to_owned()),
            ],
        )
        .await?;
        tx.touch_device(device.org_id, device.id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /device/v1/scan`: a seal printer's scan of the page about to be stamped. The
    /// order is checked as for an unlock; the page is compared with the approved
    /// documents by the comparison engine; on a match the print job (the seal at true
    /// size) is returned and one use consumed, the comparison stored with the stamp; on a
    /// mismatch a `content_mismatch` (or `blank_page`) alarm is raised and nothing is
    /// rendered; an uncertain comparison refuses without an alarm (scan again). Every
    /// decision is stored.
    pub async fn scan(
        &self,
        caller: &DeviceCaller,
        request: &wire::ScanRequest,
        context: &RequestContext,
    ) -> Result<PrintJob, AppError> {
        let device = caller.device();
        let org = device.org_id;
        if device.kind != DeviceKind::SealPrinter {
            return Err(AppError::invalid(
                "device",
                Invalid::WrongDeviceKind(DeviceKind::SealPrinter),
            ));
        }
        let page = Bytes::from(decode_image(
            &request.page,
            self.settings().photo_max_bytes,
        )?);
        // The approved documents and the organisation's thresholds, read before the
        // transaction; the comparison runs outside it too (it takes a second or more).
        let (documents, thresholds) = {
            let mut tx = self.store().read().await?;
            // Only an order that may still print is worth the seconds of a comparison;
            // the others are refused below, for their reason, without one.
            let documents = match ApplicationNumber::parse(request.order.trim()) {
                Ok(number) => match tx.application_by_number(org, &number).await? {
                    Some(a)
                        if matches!(
                            a.lifecycle.status(),
                            ApplicationStatus::Approved | ApplicationStatus::InUse
                        ) && a.lifecycle.remaining() > 0 =>
                    {
                        tx.documents(org, a.id).await?
                    }
                    _ => Vec::new(),
                },
                Err(_) => Vec::new(),
            };
            (documents, tx.comparison_thresholds(org).await?)
        };
        // An unknown order is refused by the checks below without comparing anything.
        let decision = if documents.is_empty() {
            None
        } else {
            let engine = self.comparison_engine().await?;
            let approved = self.approved_documents(&engine, &documents).await?;
            Some(
                self.decide(&engine, page.clone(), approved, &thresholds)
                    .await?,
            )
        };
        let comparison_id = ComparisonId::from_bytes(crate::secrets::id_bytes());
        let stamp_id = StampId::from_bytes(crate::secrets::id_bytes());
        let matched = decision
            .as_ref()
            .is_some_and(|d| d.verdict == ComparisonVerdict::Match);
        // The scan is kept with the stamp when it prints, with the comparison otherwise.
        let page_key = if matched {
            let key = format!("orgs/{org}/stamps/{stamp_id}.scan");
            self.blobs().put(&key, page.clone()).await?;
            Some(key)
        } else {
            None
        };
        let (capture_key, diff_key) = match &decision {
            Some(d) => {
                let (capture, diff) = self
                    .store_comparison_blobs(org, comparison_id, (!matched).then_some(&page), d)
                    .await?;
                (capture.or_else(|| page_key.clone()), diff)
            }
            None => (None, None),
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        caller.claim_nonce(&mut tx, now).await?;
        let (mut application, grant) = match self
            .check_order(&mut tx, caller, &request.order, now, context)
            .await?
        {
            Ok(found) => found,
            Err(refusal) => {
                tx.commit().await?;
                self.wake_webhook_worker();
                return Err(AppError::UnlockRefused(refusal));
            }
        };
        let Some(decision) = decision else {
            // An approved order without documents: nothing to compare with.
            tx.commit().await?;
            return Err(AppError::Conflict(Conflict::NoDocuments));
        };
        let comparison = crate::comparison::record_of(
            crate::comparison::RecordFacts {
                id: comparison_id,
                org,
                subject: ComparisonSubject::PrintScan,
                application: Some(application.id),
                stamp: matched.then_some(stamp_id),
                device: Some(device.id),
                documents: &documents,
                capture_key,
                capture_sha256: Some(crate::stamps::sha256_hex(&page)),
                diff_key,
                created_by: &caller.actor(),
                now,
            },
            &decision,
        );
        if !matched {
            tx.insert_comparison(&comparison).await?;
            if decision.verdict == ComparisonVerdict::Mismatch {
                raise(
                    &mut tx,
                    org,
                    decision.alarm_kind(),
                    AlarmSubject {
                        device: Some(device.id),
                        seal: Some(application.seal),
                        application: Some(application.id),
                    },
                    format!(
                        "the scanned page does not show the approved document: {}",
                        decision.summary()
                    ),
                    &caller.actor(),
                    context,
                    now,
                )
                .await?;
            }
            crate::comparison::record_comparison(
                &mut tx,
                &comparison,
                &decision,
                &caller.actor(),
                context,
            )
            .await?;
            tx.commit().await?;
            self.wake_webhook_worker();
            return Err(if decision.verdict == ComparisonVerdict::Mismatch {
                AppError::ContentMismatch {
                    comparison: comparison_id,
                    blank: decision.blank,
                }
            } else {
                AppError::ComparisonUncertain {
                    comparison: comparison_id,
                }
            });
        }
        let matched_document = decision.document.and_then(|i| documents.get(i));
        let seal = tx
            .seal(org, application.seal)
            .await?
            .ok_or(AppError::NotFound(Entity::Seal))?;
        let org_record = tx
            .org(org)
            .await?
            .ok_or(AppError::NotFound(Entity::Organisation))?;
        let mut stamp = StampRecord {
            id: stamp_id,
            org_id: org,
            device: device.id,
            seq: None,
            kind: seal_store::StampKind::Print,
            grant: Some(grant.id),
            application: Some(application.id),
            seal: Some(application.seal),
            device_time: now,
            received_at: now,
            fix: device.telemetry.fix,
            press_ms: 0,
            factors: String::new(),
            photo_key: page_key,
            photo_sha256: Some(crate::stamps::sha256_hex(&page)),
            beyond_grant: false,
            document_sha256: matched_document.map(|d| d.sha256.clone()),
            page: decision.page.map(|p| p + 1),
            token: None,
        };
        let (_, org_key) = org_signing_key(&mut tx, org, now).await?;
        stamp.token = Some(crate::proofs::stamp_token(&org_key, &stamp)?);
        tx.insert_stamp(&stamp).await?;
        tx.insert_comparison(&comparison).await?;
        crate::comparison::record_comparison(
            &mut tx,
            &comparison,
            &decision,
            &caller.actor(),
            context,
        )
        .await?;
        crate::stamps::use_grant(
            &mut tx,
            &mut application,
            grant,
            now,
            &caller.actor(),
            context,
        )
        .await?;
        record(
            &mut tx,
            now,
            Some(org),
            &caller.actor(),
            context,
            "stamp.printed",
            format!("stamp:{stamp_id}"),
            vec![
                ("application", application.number.as_str().to_owned()),
                ("comparison", comparison_id.to_string()),
            ],
        )
        .await?;
        enqueue(
            &mut tx,
            org,
            EventKind::StampRecorded,
            crate::stamps::stamp_json(&stamp, &application),
            now,
        )
        .await?;
        tx.commit().await?;
        self.wake_webhook_worker();
        let (svg, width_mm, height_mm) = self
            .render_seal_svg(org_record.name.as_str(), &seal)
            .await?;
        let mark = self
            .render_mark(
                &stamp,
                &seal,
                org_record.name.as_str(),
                crate::marks::QrForm::ShortUrl,
                false,
                crate::marks::MarkFormat::Svg,
            )
            .await?;
        Ok(PrintJob {
            stamp: stamp_id,
            order: application.number.as_str().to_owned(),
            seal_svg: svg,
            width_mm,
            height_mm,
            uses_left: application.lifecycle.remaining(),
            mark_svg: String::from_utf8(mark)
                .map_err(|e| AppError::Internal(format!("mark: {e}")))?,
            numeric_code: stamp.numeric_code().as_str().to_owned(),
        })
    }

    /// The timed job: devices silent longer than the limit are marked offline and raise
    /// an `offline` alarm; nonces older than twice the clock window are forgotten.
    pub async fn run_device_timers(&self) -> Result<usize, AppError> {
        let now = self.now();
        let context = RequestContext::default();
        let cutoff = now.plus_seconds(-self.settings().device_offline_after_seconds);
        let silent = {
            let mut tx = self.store().read().await?;
            tx.devices_gone_silent(cutoff).await?
        };
        let mut marked = 0;
        for device in silent {
            let mut tx = self.store().write().await?;
            tx.set_device_offline(device.org_id, device.id).await?;
            let last = device
                .telemetry
                .last_seen_at
                .map(|t| t.to_string())
                .unwrap_or_default();
            raise(
                &mut tx,
                device.org_id,
                AlarmKind::Offline,
                AlarmSubject {
                    device: Some(device.id),
                    seal: device.seal,
                    application: None,
                },
                format!("silent since {last}"),
                &Actor::System,
                &context,
                now,
            )
            .await?;
            tx.commit().await?;
            marked += 1;
        }
        let mut tx = self.store().write().await?;
        tx.forget_nonces(now.plus_seconds(-2 * self.settings().device_clock_skew_seconds))
            .await?;
        tx.commit().await?;
        if marked > 0 {
            self.wake_webhook_worker();
        }
        Ok(marked)
    }
}

/// Whether an application in this status was approved at some point (so a refusal is
/// about its grant, window or uses, not its approval).
fn was_approved(status: ApplicationStatus) -> bool {
    matches!(
        status,
        ApplicationStatus::Approved
            | ApplicationStatus::InUse
            | ApplicationStatus::Completed
            | ApplicationStatus::Expired
            | ApplicationStatus::Revoked
    )
}

/// Decodes a base64 PNG or JPEG within the size limit (judged by content).
pub(crate) fn decode_image(text: &str, max_bytes: usize) -> Result<Vec<u8>, AppError> {
    // base64 is 4/3 of the bytes: refuse before decoding anything too long.
    if text.len() > max_bytes / 3 * 4 + 8 {
        return Err(AppError::invalid("photo", Invalid::Image));
    }
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| AppError::invalid("photo", Invalid::Image))?;
    let is_png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
    let is_jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    if bytes.is_empty() || bytes.len() > max_bytes || !(is_png || is_jpeg) {
        return Err(AppError::invalid("photo", Invalid::Image));
    }
    Ok(bytes)
}

impl App {
    /// The seal image as SVG at true size, and its width and height in millimetres.
    pub(crate) async fn render_seal_svg(
        &self,
        org_name: &str,
        seal: &seal_store::SealRecord,
    ) -> Result<(String, f32, f32), AppError> {
        let (spec, width, height) = crate::seals::seal_spec_sized(org_name, seal);
        let renderer = self.seal_renderer()?;
        let svg = tokio::task::spawn_blocking(move || renderer.svg(&spec))
            .await
            .map_err(|e| AppError::Internal(format!("seal image task: {e}")))?
            .map_err(|e| AppError::Internal(format!("seal image: {e}")))?;
        Ok((svg, width, height))
    }
}
