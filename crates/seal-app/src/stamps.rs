//! Stamp events from devices: ingestion idempotent on (device, sequence number), with
//! group commit — concurrent requests queue their events and one of them writes the
//! whole queue in one transaction, so many devices share one durable commit — and the
//! consequences of each press: the grant's use, the application's completion, alarms
//! (uses exceeded, press too long, geofence), the audit event and the webhook event.
//! Also the stamp records and photos of an application, for whoever may see it.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use seal_core::alarm::AlarmKind;
use seal_core::application::{ApplicationStatus, Event};
use seal_core::audit::Actor;
use seal_core::grant::GrantStatus;
use seal_core::ids::{ApplicationId, GrantId, OrgId, StampId};
use seal_core::time::Timestamp;
use seal_core::webhook::EventKind;
use seal_proof::wire;
use seal_store::{ApplicationRecord, Fix, GrantRecord, StampKind, StampRecord, Tx};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::alarms::{AlarmSubject, raise};
use crate::audit::record;
use crate::devices::{DeviceCaller, decode_image};
use crate::error::{DeviceAuthError, Entity, Invalid};
use crate::policy::Principal;
use crate::{App, AppError, RequestContext};

/// Lower-case hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One event, parsed and with its photo already stored.
struct Prepared {
    seq: i64,
    grant: Option<GrantId>,
    device_time: Timestamp,
    fix: Option<Fix>,
    press_ms: u32,
    factors: String,
    photo: Option<(String, String)>,
}

struct Job {
    caller: DeviceCaller,
    events: Vec<Prepared>,
    context: RequestContext,
    reply: oneshot::Sender<Result<Vec<wire::EventResult>, AppError>>,
}

/// The queue of event batches waiting for the next group commit.
#[derive(Default)]
pub struct StampBatcher {
    queue: Mutex<Vec<Job>>,
    writer: tokio::sync::Mutex<()>,
}

/// The most jobs one group commit takes (the rest wait for the next).
const MAX_JOBS_PER_COMMIT: usize = 512;

/// A copy of an error for every job of a failed group commit.
fn share(error: &AppError) -> AppError {
    match error {
        AppError::Store(seal_store::StoreError::Busy(s)) => {
            AppError::Store(seal_store::StoreError::Busy(s.clone()))
        }
        other => AppError::Internal(format!("group commit: {other}")),
    }
}

/// The JSON of a `stamp.recorded` webhook event.
pub(crate) fn stamp_json(s: &StampRecord, application: &ApplicationRecord) -> serde_json::Value {
    json!({
        "stamp": s.id.to_string(),
        "kind": s.kind.key(),
        "device": s.device.to_string(),
        "seq": s.seq,
        "application": application.id.to_string(),
        "number": application.number.as_str(),
        "seal": s.seal.map(|x| x.to_string()),
        "at": s.device_time.to_string(),
        "beyond_grant": s.beyond_grant,
        "photo_sha256": s.photo_sha256,
    })
}

/// Counts one use of `grant` on `application` at `at`, in memory; the last use completes
/// the application and consumes the grant. True when it was the last.
fn count_use(
    application: &mut ApplicationRecord,
    grant: &mut GrantRecord,
    at: Timestamp,
    now: Timestamp,
    actor: &Actor,
) -> Result<bool, AppError> {
    application.lifecycle = application
        .lifecycle
        .apply(Event::Use { count: 1, at })
        .map_err(|e| AppError::Conflict(crate::error::Conflict::Lifecycle(e)))?;
    application.updated_at = now;
    let last = application.lifecycle.status() == ApplicationStatus::Completed;
    if last {
        grant.status = GrantStatus::Consumed;
        grant.ended_at = Some(at);
        grant.ended_by = Some(actor.label());
        grant.end_reason = "every use made".to_owned();
    }
    Ok(last)
}

/// Writes a consumed grant and its audit event.
async fn end_consumed(
    tx: &mut Tx,
    grant: &GrantRecord,
    application: &ApplicationRecord,
    actor: &Actor,
    context: &RequestContext,
) -> Result<(), AppError> {
    tx.end_grant(grant).await?;
    record(
        tx,
        grant.ended_at.unwrap_or(application.updated_at),
        Some(application.org_id),
        actor,
        context,
        "grant.consumed",
        format!("grant:{}", grant.id),
        vec![("application", application.number.as_str().to_owned())],
    )
    .await
}

/// Counts and writes one use of `grant` on `application` at `at` (a single stamp, such
/// as a print job; presses are counted by the group commit).
pub(crate) async fn use_grant(
    tx: &mut Tx,
    application: &mut ApplicationRecord,
    mut grant: GrantRecord,
    at: Timestamp,
    actor: &Actor,
    context: &RequestContext,
) -> Result<(), AppError> {
    let last = count_use(application, &mut grant, at, at, actor)?;
    tx.update_application(application).await?;
    if last {
        end_consumed(tx, &grant, application, actor, context).await?;
    }
    Ok(())
}

impl App {
    /// `POST /device/v1/events`: stores a batch of presses, each once. The whole batch is
    /// checked first; then the photos are stored (named by device, sequence number and
    /// content, so a retry writes the same blob and cannot replace another); the records
    /// follow in the next group commit.
    pub async fn ingest_stamp_events(
        &self,
        caller: DeviceCaller,
        batch: &wire::EventBatch,
        context: RequestContext,
    ) -> Result<Vec<wire::EventResult>, AppError> {
        if caller.device().status != seal_core::device::DeviceStatus::Active {
            return Err(AppError::DeviceNotActive);
        }
        if batch.events.is_empty() || batch.events.len() > wire::MAX_EVENTS_PER_BATCH {
            return Err(AppError::invalid("events", Invalid::Events));
        }
        let org = caller.device().org_id;
        let device = caller.id();
        let now = self.now();
        let mut events = Vec::with_capacity(batch.events.len());
        let mut photos = Vec::with_capacity(batch.events.len());
        for e in &batch.events {
            let seq = i64::try_from(e.seq)
                .ok()
                .filter(|s| *s >= 1)
                .ok_or(AppError::invalid("seq", Invalid::Events))?;
            let fix = position_of(e.position.as_ref())?;
            let factors: Vec<&str> = e
                .factors
                .iter()
                .map(|f| f.trim())
                .filter(|f| seal_core::seal::Factor::parse(f).is_some())
                .collect();
            // Decoded now, stored only once the whole batch is known to be valid.
            let photo = match &e.photo {
                Some(text) => Some(decode_image(text, self.settings().photo_max_bytes)?),
                None => None,
            };
            // A device clock ahead of ours is not believed beyond now.
            let device_time = Timestamp::from_millis(e.at.min(now.as_millis()));
            events.push(Prepared {
                seq,
                grant: GrantId::parse(&e.grant_id).ok(),
                device_time,
                fix,
                press_ms: e.press_ms,
                factors: factors.join(","),
                photo: None,
            });
            photos.push(photo);
        }
        // The photos, under names made of the device, sequence number and content: a retry
        // with the same photo writes the same blob, and a retry with another photo cannot
        // replace the one the stored stamp names (its SHA-256 is recorded with it).
        for (event, photo) in events.iter_mut().zip(photos) {
            if let Some(bytes) = photo {
                let ext = if bytes.starts_with(b"\x89PNG") {
                    "png"
                } else {
                    "jpg"
                };
                let digest = sha256_hex(&bytes);
                let key = format!(
                    "orgs/{org}/devices/{device}/photos/{}-{}.{ext}",
                    event.seq,
                    &digest[..16]
                );
                self.blobs().put(&key, Bytes::from(bytes)).await?;
                event.photo = Some((key, digest));
            }
        }
        events.sort_by_key(|e| e.seq);
        events.dedup_by_key(|e| e.seq);
        let (reply, answer) = oneshot::channel();
        {
            let mut queue = self
                .inner
                .stamp_batcher
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            queue.push(Job {
                caller,
                events,
                context,
                reply,
            });
        }
        let mut answer = answer;
        loop {
            if let Ok(result) = answer.try_recv() {
                return result;
            }
            let _writer = self.inner.stamp_batcher.writer.lock().await;
            if let Ok(result) = answer.try_recv() {
                return result;
            }
            let jobs: Vec<Job> = {
                let mut queue = self
                    .inner
                    .stamp_batcher
                    .queue
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let take = queue.len().min(MAX_JOBS_PER_COMMIT);
                queue.drain(..take).collect()
            };
            if jobs.is_empty() {
                // Our job was taken by a writer that has not replied yet; wait for it.
                drop(_writer);
                return answer
                    .await
                    .unwrap_or_else(|_| Err(AppError::Internal("group commit lost".into())));
            }
            self.commit_jobs(jobs).await;
        }
    }

    /// Writes every job in one transaction and replies to each.
    async fn commit_jobs(&self, jobs: Vec<Job>) {
        let now = self.now();
        match self.write_jobs(&jobs, now).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome);
                }
                self.wake_webhook_worker();
                // New press photos wait for their comparison.
                self.wake_comparisons();
            }
            Err(error) => {
                for job in jobs {
                    let _ = job.reply.send(Err(share(&error)));
                }
            }
        }
    }

    /// The group commit: a handful of multi-row statements for the whole queue. Locks
    /// first (each organisation, in a fixed order: uses and grants change under it
    /// everywhere), then nonces (a replayed request is refused and writes nothing), the
    /// devices seen, the sequence numbers already stored, the grants and applications
    /// named; then every event is judged in memory and the stamps, audit events, webhook
    /// events and use counts are written in bulk. Alarms (rare) are raised one by one.
    async fn write_jobs(
        &self,
        jobs: &[Job],
        now: Timestamp,
    ) -> Result<Vec<Result<Vec<wire::EventResult>, AppError>>, AppError> {
        let mut tx = self.store().write().await?;
        let mut orgs: Vec<OrgId> = jobs.iter().map(|j| j.caller.device().org_id).collect();
        orgs.sort();
        orgs.dedup();
        for org in &orgs {
            tx.lock_org(*org).await?;
        }
        let nonces: Vec<(String, String)> = jobs.iter().map(|j| j.caller.nonce_pair()).collect();
        let fresh = tx.remember_nonces(&nonces, now).await?;
        let accepted: Vec<&Job> = jobs
            .iter()
            .zip(&fresh)
            .filter(|(_, fresh)| **fresh)
            .map(|(job, _)| job)
            .collect();
        let mut ranges = Vec::new();
        let mut grant_ids: HashMap<OrgId, Vec<GrantId>> = HashMap::new();
        let mut seen_devices: HashMap<OrgId, Vec<seal_core::ids::DeviceId>> = HashMap::new();
        for job in &accepted {
            let device = job.caller.device();
            seen_devices
                .entry(device.org_id)
                .or_default()
                .push(device.id);
            if let (Some(first), Some(last)) = (job.events.first(), job.events.last()) {
                ranges.push((device.id, first.seq, last.seq));
            }
            grant_ids
                .entry(device.org_id)
                .or_default()
                .extend(job.events.iter().filter_map(|e| e.grant));
        }
        for (org, devices) in &mut seen_devices {
            devices.sort();
            devices.dedup();
            tx.touch_devices(*org, devices, now).await?;
        }
        let mut seen = tx.known_stamp_seqs(&ranges).await?;
        let mut live: HashMap<GrantId, (GrantRecord, ApplicationRecord)> = HashMap::new();
        // The approved document of each application (its first), for the stamps' records.
        let mut documents: HashMap<ApplicationId, String> = HashMap::new();
        let mut signers = crate::proofs::OrgSigners::default();
        let mut stamp_events = Vec::new();
        for (org, ids) in &mut grant_ids {
            ids.sort();
            ids.dedup();
            let grants = tx.grants_by_ids(*org, ids).await?;
            let application_ids: Vec<ApplicationId> =
                grants.iter().map(|g| g.application).collect();
            let applications: HashMap<ApplicationId, ApplicationRecord> = tx
                .applications_by_ids(*org, &application_ids)
                .await?
                .into_iter()
                .map(|a| (a.id, a))
                .collect();
            for grant in grants {
                if let Some(application) = applications.get(&grant.application) {
                    live.insert(grant.id, (grant, application.clone()));
                }
            }
            documents.extend(tx.first_document_digests(*org, &application_ids).await?);
        }

        let mut stamps = Vec::new();
        let mut audits = Vec::new();
        let mut events = Vec::new();
        let mut deliveries: Vec<(OrgId, String, Vec<seal_core::ids::WebhookId>)> = Vec::new();
        let mut endpoints = HashMap::new();
        let mut dirty: Vec<GrantId> = Vec::new();
        let mut consumed: Vec<(GrantId, Actor, RequestContext)> = Vec::new();
        let mut alarms: Vec<(
            OrgId,
            AlarmKind,
            AlarmSubject,
            String,
            Actor,
            RequestContext,
        )> = Vec::new();
        let mut outcomes = Vec::with_capacity(jobs.len());
        for (job, fresh) in jobs.iter().zip(&fresh) {
            if !fresh {
                outcomes.push(Err(AppError::DeviceAuth(DeviceAuthError::Replay)));
                continue;
            }
            let device = job.caller.device();
            let org = device.org_id;
            let actor = Actor::Device(device.id);
            let mut results = Vec::with_capacity(job.events.len());
            for e in &job.events {
                if !seen.insert((device.id, e.seq)) {
                    results.push(wire::EventResult {
                        seq: e.seq as u64,
                        result: "duplicate".to_owned(),
                    });
                    continue;
                }
                let current = e.grant.and_then(|g| live.get_mut(&g));
                let usable = current.as_ref().is_some_and(|(g, a)| {
                    g.status == GrantStatus::Active
                        && a.lifecycle.status().is_live()
                        && Some(g.seal) == device.seal
                        && a.lifecycle.remaining() > 0
                        && a.lifecycle.window().contains(e.device_time)
                });
                let why_beyond = match &current {
                    None => "a press under no known grant".to_owned(),
                    Some((g, a)) => format!(
                        "a press beyond the grant (grant {}, {} of {} used, application {})",
                        g.status.key(),
                        a.lifecycle.uses_done(),
                        a.lifecycle.allowed().get(),
                        a.lifecycle.status().key()
                    ),
                };
                let mut stamp = StampRecord {
                    id: StampId::from_bytes(crate::secrets::id_bytes()),
                    org_id: org,
                    device: device.id,
                    seq: Some(e.seq),
                    kind: StampKind::Press,
                    grant: current.as_ref().map(|(g, _)| g.id),
                    application: current.as_ref().map(|(_, a)| a.id),
                    seal: current.as_ref().map(|(g, _)| g.seal).or(device.seal),
                    device_time: e.device_time,
                    received_at: now,
                    fix: e.fix,
                    press_ms: e.press_ms,
                    factors: e.factors.clone(),
                    photo_key: e.photo.as_ref().map(|p| p.0.clone()),
                    photo_sha256: e.photo.as_ref().map(|p| p.1.clone()),
                    beyond_grant: !usable,
                    document_sha256: current
                        .as_ref()
                        .and_then(|(_, a)| documents.get(&a.id).cloned()),
                    page: None,
                    token: None,
                };
                stamp.token = Some(signers.token(&mut tx, &stamp, now).await?);
                if stamp.beyond_grant {
                    // A press beyond its grant is disputed from the start.
                    stamp_events.push(seal_store::StampEventRecord {
                        id: seal_core::ids::StampEventId::from_bytes(crate::secrets::id_bytes()),
                        stamp: stamp.id,
                        org,
                        status: seal_core::stamp::StampStatus::Disputed,
                        actor: actor.label(),
                        note: "beyond_grant".to_owned(),
                        at: now,
                    });
                }
                let mut number = String::new();
                if let Some((grant, application)) = current {
                    number = application.number.as_str().to_owned();
                    if usable {
                        if count_use(application, grant, e.device_time, now, &actor)? {
                            consumed.push((grant.id, actor.clone(), job.context.clone()));
                        }
                        dirty.push(grant.id);
                    }
                    let targets = crate::webhooks::targets(
                        &mut tx,
                        org,
                        EventKind::StampRecorded,
                        &mut endpoints,
                    )
                    .await?;
                    let event = crate::webhooks::event_record(
                        org,
                        EventKind::StampRecorded,
                        stamp_json(&stamp, application),
                        now,
                    );
                    if !targets.is_empty() {
                        deliveries.push((org, event.id.clone(), targets));
                    }
                    events.push(event);
                }
                audits.push(crate::audit::event(
                    now,
                    Some(org),
                    &actor,
                    &job.context,
                    "stamp.recorded",
                    format!("stamp:{}", stamp.id),
                    vec![
                        ("seq", e.seq.to_string()),
                        ("application", number),
                        ("beyond_grant", stamp.beyond_grant.to_string()),
                    ],
                ));
                let subject = AlarmSubject {
                    device: Some(device.id),
                    seal: stamp.seal,
                    application: stamp.application,
                };
                if stamp.beyond_grant {
                    alarms.push((
                        org,
                        AlarmKind::UsesExceeded,
                        subject.clone(),
                        why_beyond,
                        actor.clone(),
                        job.context.clone(),
                    ));
                }
                if e.press_ms > device.parameters.press_max_ms() {
                    alarms.push((
                        org,
                        AlarmKind::PressTooLong,
                        subject.clone(),
                        format!(
                            "press held {} ms (limit {} ms)",
                            e.press_ms,
                            device.parameters.press_max_ms()
                        ),
                        actor.clone(),
                        job.context.clone(),
                    ));
                }
                if let (Some(fence), Some(fix)) = (device.geofence, e.fix)
                    && fence.is_outside(&fix.point, f64::from(fix.accuracy_m))
                {
                    alarms.push((
                        org,
                        AlarmKind::Geofence,
                        subject,
                        format!(
                            "pressed {:.0} m from home (radius {} m)",
                            fence.home().distance_m(&fix.point),
                            fence.radius_m()
                        ),
                        actor.clone(),
                        job.context.clone(),
                    ));
                }
                stamps.push(stamp);
                results.push(wire::EventResult {
                    seq: e.seq as u64,
                    result: "stored".to_owned(),
                });
            }
            outcomes.push(Ok(results));
        }

        tx.insert_stamps(&stamps).await?;
        tx.insert_stamp_events(&stamp_events).await?;
        tx.append_audits(&audits).await?;
        tx.insert_webhook_events(&events).await?;
        for (org, event, targets) in &deliveries {
            for endpoint in targets {
                let id = seal_core::ids::WebhookDeliveryId::from_bytes(crate::secrets::id_bytes());
                tx.insert_webhook_delivery(*org, id, event, *endpoint, now)
                    .await?;
            }
        }
        dirty.sort();
        dirty.dedup();
        let mut uses: HashMap<OrgId, Vec<_>> = HashMap::new();
        for id in &dirty {
            if let Some((_, a)) = live.get(id) {
                uses.entry(a.org_id).or_default().push((
                    a.id,
                    a.lifecycle.uses_done(),
                    a.lifecycle.status(),
                    a.updated_at,
                ));
            }
        }
        for (org, changes) in &uses {
            tx.update_application_uses(*org, changes).await?;
        }
        for (id, actor, context) in &consumed {
            if let Some((grant, application)) = live.get(id) {
                end_consumed(&mut tx, grant, application, actor, context).await?;
            }
        }
        for (org, kind, subject, details, actor, context) in alarms {
            raise(&mut tx, org, kind, subject, details, &actor, &context, now).await?;
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// An application's stamps, for whoever may see the application.
    pub async fn application_stamps(
        &self,
        principal: &Principal,
        id: ApplicationId,
    ) -> Result<Vec<StampRecord>, AppError> {
        let view = self.application_view(principal, id).await?;
        let mut tx = self.store().read().await?;
        Ok(tx
            .stamps_for_application(view.application.org_id, id)
            .await?)
    }

    /// A stamp's photo (or a printer's scan) and its media type.
    pub async fn stamp_photo(
        &self,
        principal: &Principal,
        application: ApplicationId,
        stamp: StampId,
    ) -> Result<(&'static str, Bytes), AppError> {
        let view = self.application_view(principal, application).await?;
        let record = {
            let mut tx = self.store().read().await?;
            tx.stamp(view.application.org_id, stamp)
                .await?
                .filter(|s| s.application == Some(application))
                .ok_or(AppError::NotFound(Entity::Stamp))?
        };
        let key = record.photo_key.ok_or(AppError::NotFound(Entity::Stamp))?;
        let bytes = self.blobs().get(&key).await?;
        let media = if bytes.starts_with(b"\x89PNG") {
            "image/png"
        } else {
            "image/jpeg"
        };
        Ok((media, bytes))
    }
}

pub(crate) fn position_of(p: Option<&wire::Position>) -> Result<Option<Fix>, AppError> {
    p.map(|p| {
        let point = seal_core::device::GeoPoint::new(p.lat, p.lon)
            .map_err(|e| AppError::invalid("position", Invalid::Device(e)))?;
        let accuracy_m = if p.accuracy_m.is_finite() && p.accuracy_m >= 0.0 {
            p.accuracy_m.min(100_000.0) as u32
        } else {
            0
        };
        Ok(Fix { point, accuracy_m })
    })
    .transpose()
}
