//! Is the page on site the approved page? The comparison step of the printer's scan and
//! the seal box's press photos, and the manual comparison of two uploads, on the engine
//! of `seal_docs::compare` (PP-OCRv4, alignment, visual differences).
//!
//! The engine is loaded once per process on first use (its models are checked by hash
//! and take seconds to load) and shared; approved documents are analysed once and kept
//! in a small cache keyed by their SHA-256. Every decision is stored as a
//! [`ComparisonRecord`] — with its stamp when there is one — and logged (`SKCM`).
//! Work on images runs on the blocking pool, never on the async threads.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use seal_core::alarm::AlarmKind;
use seal_core::audit::Actor;
use seal_core::comparison::{ComparisonSubject, ComparisonThresholds, ComparisonVerdict};
use seal_core::device::CommandKind;
use seal_core::ids::{ApplicationId, ComparisonId, DeviceId, OrgId, StampId};
use seal_core::permission::Permission;
use seal_core::time::Timestamp;
use seal_docs::compare::{
    ApprovedDocument, CompareError, Engine, EngineOptions, Outcome, Thresholds, Verdict,
};
use seal_docs::ocr::{OcrEngine, OcrOptions};
use seal_store::{ComparisonRecord, DocumentRecord, PendingPressPhoto, Tx};
use serde::{Deserialize, Serialize};

use crate::alarms::{AlarmSubject, raise};
use crate::audit::{record, record_by};
use crate::error::{Entity, Invalid};
use crate::policy::{self, Principal};
use crate::{App, AppError, RequestContext};

/// The engine named in every record: the OCR models and this module's decision rules.
pub const ENGINE_NAME: &str = "pp-ocrv4 seal-docs 1";

/// Approved documents kept analysed in memory.
const APPROVED_CACHE: usize = 32;

/// Press photos compared per round of the worker.
const PRESS_BATCH: i64 = 8;

/// Who may compare uploads and read comparisons: the application participants and
/// auditors.
const READERS: [Permission; 5] = [
    Permission::ApplicationsCreate,
    Permission::ApplicationsApprove,
    Permission::SealsKeep,
    Permission::ApplicationsReadAll,
    Permission::AuditRead,
];

/// The comparison engine and what goes with it, in [`App`].
pub(crate) struct Comparisons {
    engine: tokio::sync::OnceCell<Arc<Engine>>,
    /// Analysed approved documents, most recently used last.
    approved: Mutex<VecDeque<(String, Arc<ApprovedDocument>)>>,
    /// Wakes the press-photo worker.
    wake: tokio::sync::Notify,
    /// The press photos before this time are all compared (see
    /// [`App::compare_press_photos`]).
    since: Mutex<Timestamp>,
}

impl Comparisons {
    pub(crate) fn new() -> Comparisons {
        Comparisons {
            engine: tokio::sync::OnceCell::new(),
            approved: Mutex::new(VecDeque::new()),
            wake: tokio::sync::Notify::new(),
            since: Mutex::new(Timestamp::from_millis(0)),
        }
    }
}

/// One difference as stored with the record and shown: the kind (`changed`, `deleted`,
/// `inserted`, `other_page`, `blank`, `visual`, `unreadable`), whether it matters, the
/// texts and the boxes (`[x, y, width, height]` in pixels of the approved page's image
/// and of the straightened capture).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DifferenceView {
    pub kind: String,
    pub material: bool,
    #[serde(default)]
    pub approved_text: String,
    #[serde(default)]
    pub captured_text: String,
    #[serde(default)]
    pub approved_boxes: Vec<[f32; 4]>,
    #[serde(default)]
    pub captured_boxes: Vec<[f32; 4]>,
    pub reason: String,
}

/// A stored comparison with its differences and the approved document's name.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparisonView {
    pub record: ComparisonRecord,
    pub differences: Vec<DifferenceView>,
    /// The approved document the capture was matched with, by its file name.
    pub document_name: Option<String>,
}

/// What the engine decided, ready to be stored.
#[derive(Clone, Debug)]
pub(crate) struct Decision {
    pub verdict: ComparisonVerdict,
    pub score: f32,
    pub blank: bool,
    /// Index into the approved documents compared with.
    pub document: Option<usize>,
    /// 0-based page of that document.
    pub page: Option<u32>,
    pub differences: Vec<DifferenceView>,
    pub diff_png: Option<Vec<u8>>,
    pub millis: i64,
}

impl Decision {
    fn from_outcome(outcome: Outcome, millis: i64) -> Decision {
        let boxes = |b: &[seal_docs::page::PixelBox]| {
            b.iter()
                .map(|b| [b.x, b.y, b.width, b.height])
                .collect::<Vec<_>>()
        };
        Decision {
            verdict: match outcome.verdict {
                Verdict::Match => ComparisonVerdict::Match,
                Verdict::Mismatch => ComparisonVerdict::Mismatch,
                Verdict::Uncertain => ComparisonVerdict::Uncertain,
            },
            score: outcome.score.clamp(0.0, 1.0),
            blank: outcome.blank,
            document: outcome.document,
            page: outcome.page.and_then(|p| u32::try_from(p).ok()),
            differences: outcome
                .differences
                .iter()
                .map(|d| DifferenceView {
                    kind: d.kind.as_str().to_owned(),
                    material: d.material,
                    approved_text: d.approved_text.clone(),
                    captured_text: d.captured_text.clone(),
                    approved_boxes: boxes(&d.approved_boxes),
                    captured_boxes: boxes(&d.captured_boxes),
                    reason: d.reason.to_owned(),
                })
                .collect(),
            diff_png: (!outcome.diff_png.is_empty()).then_some(outcome.diff_png),
            millis,
        }
    }

    /// The capture could not be read as a page at all (too small, too dark …).
    fn unreadable(reason: String, millis: i64) -> Decision {
        Decision {
            verdict: ComparisonVerdict::Uncertain,
            score: 0.0,
            blank: false,
            document: None,
            page: None,
            differences: vec![DifferenceView {
                kind: "unreadable".to_owned(),
                material: false,
                approved_text: String::new(),
                captured_text: String::new(),
                approved_boxes: Vec::new(),
                captured_boxes: Vec::new(),
                reason,
            }],
            diff_png: None,
            millis,
        }
    }

    /// The alarm a mismatch raises: a blank page has its own.
    pub(crate) fn alarm_kind(&self) -> AlarmKind {
        if self.blank {
            AlarmKind::BlankPage
        } else {
            AlarmKind::ContentMismatch
        }
    }

    /// One line for alarms and audit events.
    pub(crate) fn summary(&self) -> String {
        let material: Vec<&DifferenceView> =
            self.differences.iter().filter(|d| d.material).collect();
        let mut text = format!("{} (score {:.2}", self.verdict.key(), self.score);
        if self.blank {
            text.push_str(", blank page");
        }
        if !material.is_empty() {
            text.push_str(&format!(", {} material differences", material.len()));
            if let Some(first) = material.first() {
                let shown = |s: &str| s.chars().take(40).collect::<String>();
                text.push_str(&format!(
                    ": {} «{}» → «{}»",
                    first.kind,
                    shown(&first.approved_text),
                    shown(&first.captured_text)
                ));
            }
        }
        text.push(')');
        text
    }
}

/// The engine's thresholds from an organisation's.
pub(crate) fn engine_thresholds(t: &ComparisonThresholds) -> Thresholds {
    Thresholds {
        other_page_below: t.other_page_below,
        match_at_least: t.match_at_least,
        minor_per_100: t.minor_per_100,
        blank_chars_below: t.blank_chars_below as usize,
    }
}

/// Where a comparison's blobs go: server-made names.
pub(crate) fn blob_keys(org: OrgId, id: ComparisonId) -> (String, String) {
    (
        format!("orgs/{org}/comparisons/{id}.capture"),
        format!("orgs/{org}/comparisons/{id}.diff.png"),
    )
}

/// The facts of a record that are not the decision.
pub(crate) struct RecordFacts<'a> {
    pub id: ComparisonId,
    pub org: OrgId,
    pub subject: ComparisonSubject,
    pub application: Option<ApplicationId>,
    pub stamp: Option<StampId>,
    pub device: Option<DeviceId>,
    pub documents: &'a [DocumentRecord],
    pub capture_key: Option<String>,
    pub capture_sha256: Option<String>,
    pub diff_key: Option<String>,
    pub created_by: &'a Actor,
    pub now: Timestamp,
}

pub(crate) fn record_of(facts: RecordFacts<'_>, decision: &Decision) -> ComparisonRecord {
    ComparisonRecord {
        id: facts.id,
        org_id: facts.org,
        subject: facts.subject,
        application: facts.application,
        stamp: facts.stamp,
        device: facts.device,
        document: decision
            .document
            .and_then(|i| facts.documents.get(i))
            .map(|d| d.id),
        page: decision.page,
        verdict: decision.verdict,
        score: decision.score,
        blank: decision.blank,
        differences: serde_json::to_string(&decision.differences).unwrap_or_else(|_| "[]".into()),
        capture_key: facts.capture_key,
        capture_sha256: facts.capture_sha256,
        diff_key: facts.diff_key,
        engine: ENGINE_NAME.to_owned(),
        millis: decision.millis,
        created_by: Some(facts.created_by.label()),
        created_at: facts.now,
    }
}

impl App {
    fn comparisons(&self) -> &Comparisons {
        &self.inner.comparisons
    }

    fn ocr_options(&self) -> OcrOptions {
        let mut options = OcrOptions {
            models_dir: self.settings().ocr_models_dir.clone(),
            ..OcrOptions::default()
        };
        if self.settings().ocr_instances > 0 {
            options.instances = self.settings().ocr_instances;
        }
        options
    }

    /// Why the comparison engine cannot be loaded (missing or damaged model files), from
    /// file metadata only: cheap enough for every `/readyz`. `None` when it can.
    pub fn comparison_problem(&self) -> Option<String> {
        seal_docs::ocr::status(&self.ocr_options()).problem()
    }

    /// The comparison engine, loaded on first use (on the blocking pool); a failed load
    /// is tried again on the next call, so installing the models needs no restart.
    pub async fn comparison_engine(&self) -> Result<Arc<Engine>, AppError> {
        let options = self.ocr_options();
        self.comparisons()
            .engine
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || {
                    let ocr = OcrEngine::load(&options)
                        .map_err(|e| AppError::ComparisonUnavailable(e.to_string()))?;
                    Ok::<_, AppError>(Arc::new(Engine::new(
                        Arc::new(ocr),
                        EngineOptions::default(),
                    )))
                })
                .await
                .map_err(|e| AppError::Internal(format!("loading the comparison engine: {e}")))?
            })
            .await
            .cloned()
    }

    /// The approved documents analysed (from the cache, or read and analysed now).
    pub(crate) async fn approved_documents(
        &self,
        engine: &Arc<Engine>,
        documents: &[DocumentRecord],
    ) -> Result<Vec<Arc<ApprovedDocument>>, AppError> {
        let mut out = Vec::with_capacity(documents.len());
        for d in documents {
            if let Some(found) = self.cached_approved(&d.sha256) {
                out.push(found);
                continue;
            }
            let bytes = self.blobs().get(&d.blob_key).await?;
            let analysed = self.analyse_approved(engine, bytes).await?;
            self.keep_approved(&d.sha256, analysed.clone());
            out.push(analysed);
        }
        Ok(out)
    }

    async fn analyse_approved(
        &self,
        engine: &Arc<Engine>,
        bytes: Bytes,
    ) -> Result<Arc<ApprovedDocument>, AppError> {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || engine.approve(&bytes))
            .await
            .map_err(|e| AppError::Internal(format!("analysing a document: {e}")))?
            .map(Arc::new)
            .map_err(|e| match e {
                CompareError::Read(seal_docs::page::ReadError::Unavailable(why)) => {
                    AppError::ComparisonUnavailable(why)
                }
                other => {
                    AppError::invalid("approved", Invalid::ApprovedDocument(other.to_string()))
                }
            })
    }

    fn cached_approved(&self, sha256: &str) -> Option<Arc<ApprovedDocument>> {
        let mut cache = self
            .comparisons()
            .approved
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let at = cache.iter().position(|(k, _)| k == sha256)?;
        let entry = cache.remove(at)?;
        let found = entry.1.clone();
        cache.push_back(entry);
        Some(found)
    }

    fn keep_approved(&self, sha256: &str, document: Arc<ApprovedDocument>) {
        let mut cache = self
            .comparisons()
            .approved
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache.retain(|(k, _)| k != sha256);
        cache.push_back((sha256.to_owned(), document));
        while cache.len() > APPROVED_CACHE {
            cache.pop_front();
        }
    }

    /// Compares a capture with analysed approved documents, on the blocking pool. A
    /// capture that cannot be read as a page is an uncertain decision, not an error;
    /// an engine that cannot read is [`AppError::ComparisonUnavailable`].
    pub(crate) async fn decide(
        &self,
        engine: &Arc<Engine>,
        capture: Bytes,
        approved: Vec<Arc<ApprovedDocument>>,
        thresholds: &ComparisonThresholds,
    ) -> Result<Decision, AppError> {
        let engine = engine.clone();
        let thresholds = engine_thresholds(thresholds);
        let started = Instant::now();
        let outcome = tokio::task::spawn_blocking(move || {
            let refs: Vec<&ApprovedDocument> = approved.iter().map(|a| a.as_ref()).collect();
            engine.compare(&capture, &refs, &thresholds)
        })
        .await
        .map_err(|e| AppError::Internal(format!("comparison task: {e}")))?;
        let millis = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match outcome {
            Ok(outcome) => Ok(Decision::from_outcome(outcome, millis)),
            Err(CompareError::Read(seal_docs::page::ReadError::Unavailable(why))) => {
                Err(AppError::ComparisonUnavailable(why))
            }
            Err(CompareError::NothingApproved) => Ok(Decision {
                verdict: ComparisonVerdict::Mismatch,
                score: 0.0,
                blank: false,
                document: None,
                page: None,
                differences: vec![DifferenceView {
                    kind: "other_page".to_owned(),
                    material: true,
                    approved_text: String::new(),
                    captured_text: String::new(),
                    approved_boxes: Vec::new(),
                    captured_boxes: Vec::new(),
                    reason: "no approved page to compare with".to_owned(),
                }],
                diff_png: None,
                millis,
            }),
            Err(other) => Ok(Decision::unreadable(other.to_string(), millis)),
        }
    }

    /// Stores a comparison's capture and diff image (before the transaction that records
    /// it: blobs are not transactional, and an unrecorded blob is harmless).
    pub(crate) async fn store_comparison_blobs(
        &self,
        org: OrgId,
        id: ComparisonId,
        capture: Option<&Bytes>,
        decision: &Decision,
    ) -> Result<(Option<String>, Option<String>), AppError> {
        let (capture_key, diff_key) = blob_keys(org, id);
        let capture_key = match capture {
            Some(bytes) => {
                self.blobs().put(&capture_key, bytes.clone()).await?;
                Some(capture_key)
            }
            None => None,
        };
        let diff_key = match &decision.diff_png {
            Some(png) => {
                self.blobs()
                    .put(&diff_key, Bytes::from(png.clone()))
                    .await?;
                Some(diff_key)
            }
            None => None,
        };
        Ok((capture_key, diff_key))
    }

    /// Wakes the press-photo comparison worker (after stamps with photos were stored).
    pub fn wake_comparisons(&self) {
        self.comparisons().wake.notify_one();
    }

    /// What the press-photo worker waits on between rounds.
    pub fn comparison_wake(&self) -> &tokio::sync::Notify {
        &self.comparisons().wake
    }

    /// One round of the press-photo worker: compares the photos of presses that have none
    /// yet (oldest first, at most a batch), stores each decision with its stamp, and on a
    /// mismatch raises `content_mismatch` (or `blank_page`) and, when the organisation's
    /// press check says so, sends the seal box a lock command. Returns how many were
    /// compared. Organisations whose press check is off are skipped by the query.
    pub async fn compare_press_photos(&self) -> Result<usize, AppError> {
        let since = *self
            .comparisons()
            .since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pending = {
            let mut tx = self.store().read().await?;
            tx.pending_press_photos(since, PRESS_BATCH).await?
        };
        if pending.is_empty() {
            return Ok(0);
        }
        let engine = self.comparison_engine().await?;
        let mut done = 0;
        for photo in pending {
            self.compare_press_photo(&engine, &photo).await?;
            *self
                .comparisons()
                .since
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = photo.received_at;
            done += 1;
        }
        Ok(done)
    }

    async fn compare_press_photo(
        &self,
        engine: &Arc<Engine>,
        photo: &PendingPressPhoto,
    ) -> Result<(), AppError> {
        let org = photo.org_id;
        let (documents, thresholds) = {
            let mut tx = self.store().read().await?;
            (
                tx.documents(org, photo.application).await?,
                tx.comparison_thresholds(org).await?,
            )
        };
        let decided = async {
            let capture = self.blobs().get(&photo.photo_key).await?;
            let approved = self.approved_documents(engine, &documents).await?;
            self.decide(engine, capture, approved, &thresholds).await
        };
        let decision = match decided.await {
            Ok(decision) => decision,
            // Worth waiting for: the engine or the database comes back.
            Err(error @ (AppError::ComparisonUnavailable(_) | AppError::Store(_))) => {
                return Err(error);
            }
            // A photo or document that cannot be read will not be readable later either:
            // say so in the record, once, instead of trying it forever.
            Err(other) => Decision::unreadable(
                format!("the photo or an approved document could not be read: {other}"),
                0,
            ),
        };
        let id = ComparisonId::from_bytes(crate::secrets::id_bytes());
        let (_, diff_key) = self
            .store_comparison_blobs(org, id, None, &decision)
            .await?;
        let now = self.now();
        let actor = Actor::System;
        let context = RequestContext::default();
        let record = record_of(
            RecordFacts {
                id,
                org,
                subject: ComparisonSubject::PressPhoto,
                application: Some(photo.application),
                stamp: Some(photo.stamp),
                device: Some(photo.device),
                documents: &documents,
                capture_key: Some(photo.photo_key.clone()),
                capture_sha256: photo.photo_sha256.clone(),
                diff_key,
                created_by: &actor,
                now,
            },
            &decision,
        );
        let mut tx = self.store().write().await?;
        if tx.comparison_for_stamp(org, photo.stamp).await?.is_some() {
            // Another worker (another server process) got there first.
            return Ok(());
        }
        tx.insert_comparison(&record).await?;
        let mut locked = false;
        if decision.verdict == ComparisonVerdict::Mismatch && thresholds.press_check.compares() {
            raise(
                &mut tx,
                org,
                decision.alarm_kind(),
                AlarmSubject {
                    device: Some(photo.device),
                    seal: photo.seal,
                    application: Some(photo.application),
                },
                format!(
                    "the photo of press {} does not show the approved page: {}",
                    photo.stamp,
                    decision.summary()
                ),
                &actor,
                &context,
                now,
            )
            .await?;
            if thresholds.press_check.locks() {
                crate::devices::queue_command(
                    &mut tx,
                    org,
                    photo.device,
                    CommandKind::Lock,
                    None,
                    None,
                    &actor,
                    now,
                )
                .await?;
                locked = true;
            }
        }
        record_comparison(&mut tx, &record, &decision, &actor, &context).await?;
        tx.commit().await?;
        if locked {
            self.wake_device(photo.device);
        }
        self.wake_webhook_worker();
        Ok(())
    }

    /// Whether the principal may compare uploads (checked before a handler reads them).
    pub fn may_compare(&self, principal: &Principal) -> Result<(), AppError> {
        policy::authorize_any(principal, &READERS).map(|_| ())
    }

    /// Compares an uploaded approved document (PDF, PNG or JPEG) with an uploaded capture
    /// (PNG or JPEG) and stores the decision, with the capture and the diff image.
    pub async fn compare_uploads(
        &self,
        principal: &Principal,
        approved: Bytes,
        capture: Bytes,
        context: &RequestContext,
    ) -> Result<ComparisonView, AppError> {
        let permit = policy::authorize_any(principal, &READERS)?;
        let org = permit.org();
        let limits = seal_docs::document::Limits {
            max_bytes: self.settings().document_max_bytes,
            max_pages: self.settings().document_max_pages,
            max_pixels: seal_docs::document::Limits::default().max_pixels,
        };
        if approved.is_empty() {
            return Err(AppError::invalid("approved", Invalid::NothingToCompare));
        }
        seal_docs::document::inspect(&approved, &limits)
            .map_err(crate::applications::document_refused)?;
        check_capture(&capture, self.settings().photo_max_bytes)?;
        let thresholds = {
            let mut tx = self.store().read().await?;
            tx.comparison_thresholds(org).await?
        };
        let engine = self.comparison_engine().await?;
        let analysed = self.analyse_approved(&engine, approved).await?;
        let decision = self
            .decide(&engine, capture.clone(), vec![analysed], &thresholds)
            .await?;
        let id = ComparisonId::from_bytes(crate::secrets::id_bytes());
        let (capture_key, diff_key) = self
            .store_comparison_blobs(org, id, Some(&capture), &decision)
            .await?;
        let now = self.now();
        let actor = principal.actor();
        let record = record_of(
            RecordFacts {
                id,
                org,
                subject: ComparisonSubject::Manual,
                application: None,
                stamp: None,
                device: None,
                documents: &[],
                capture_key,
                capture_sha256: Some(crate::stamps::sha256_hex(&capture)),
                diff_key,
                created_by: &actor,
                now,
            },
            &decision,
        );
        let mut tx = self.store().write().await?;
        tx.insert_comparison(&record).await?;
        record_comparison(&mut tx, &record, &decision, &actor, context).await?;
        tx.commit().await?;
        Ok(ComparisonView {
            record,
            differences: decision.differences,
            document_name: None,
        })
    }

    /// A stored comparison, for whoever may see its application (or, for a manual one,
    /// its author and those who read every application or the audit; others of the
    /// organisation are refused).
    pub async fn comparison(
        &self,
        principal: &Principal,
        id: ComparisonId,
    ) -> Result<ComparisonView, AppError> {
        let permit = policy::authorize_any(principal, &READERS)?;
        let record = {
            let mut tx = self.store().read().await?;
            tx.comparison(permit.org(), id)
                .await?
                .ok_or(AppError::NotFound(Entity::Comparison))?
        };
        let document_name = match record.application {
            Some(application) => {
                // Visibility is the application's.
                self.application_view(principal, application)
                    .await
                    .map_err(|e| match e {
                        AppError::NotFound(_) | AppError::Forbidden => {
                            AppError::NotFound(Entity::Comparison)
                        }
                        other => other,
                    })?;
                let mut tx = self.store().read().await?;
                let documents = tx.documents(permit.org(), application).await?;
                record
                    .document
                    .and_then(|d| documents.iter().find(|x| x.id == d))
                    .map(|d| d.name.clone())
            }
            None => {
                let mine = record.created_by.as_deref() == Some(principal.actor().label().as_str());
                let held = |p| principal.permissions.contains(p);
                if !(mine || held(Permission::ApplicationsReadAll) || held(Permission::AuditRead)) {
                    return Err(AppError::Forbidden);
                }
                None
            }
        };
        Ok(view_of(record, document_name))
    }

    /// A comparison's side-by-side diff image (PNG).
    pub async fn comparison_image(
        &self,
        principal: &Principal,
        id: ComparisonId,
    ) -> Result<Bytes, AppError> {
        let view = self.comparison(principal, id).await?;
        let key = view
            .record
            .diff_key
            .ok_or(AppError::NotFound(Entity::Comparison))?;
        Ok(self.blobs().get(&key).await?)
    }

    /// An application's comparisons (scans and press photos), newest first.
    pub async fn application_comparisons(
        &self,
        principal: &Principal,
        id: ApplicationId,
    ) -> Result<Vec<ComparisonView>, AppError> {
        let view = self.application_view(principal, id).await?;
        let org = view.application.org_id;
        let mut tx = self.store().read().await?;
        let documents = tx.documents(org, id).await?;
        let records = tx.comparisons_for_application(org, id).await?;
        Ok(records
            .into_iter()
            .map(|r| {
                let name = r
                    .document
                    .and_then(|d| documents.iter().find(|x| x.id == d))
                    .map(|d| d.name.clone());
                view_of(r, name)
            })
            .collect())
    }

    /// The organisation's comparison thresholds (the defaults until set).
    pub async fn comparison_thresholds(
        &self,
        principal: &Principal,
    ) -> Result<ComparisonThresholds, AppError> {
        let permit = policy::authorize_any(
            principal,
            &[
                Permission::OrgManage,
                Permission::AuditRead,
                Permission::ApplicationsReadAll,
            ],
        )?;
        let mut tx = self.store().read().await?;
        Ok(tx.comparison_thresholds(permit.org()).await?)
    }

    /// Sets the organisation's comparison thresholds and press-check policy (audited).
    pub async fn set_comparison_thresholds(
        &self,
        principal: &Principal,
        thresholds: ComparisonThresholds,
        context: &RequestContext,
    ) -> Result<ComparisonThresholds, AppError> {
        let permit = policy::authorize(principal, Permission::OrgManage)?;
        thresholds
            .validate()
            .map_err(|e| AppError::invalid("thresholds", Invalid::Thresholds(e.to_string())))?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let before = tx.comparison_thresholds(permit.org()).await?;
        tx.set_comparison_thresholds(permit.org(), &thresholds, &principal.actor().label(), now)
            .await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "org.comparison_thresholds_changed",
            format!("org:{}", permit.org()),
            vec![
                ("before", describe_thresholds(&before)),
                ("after", describe_thresholds(&thresholds)),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(thresholds)
    }
}

fn describe_thresholds(t: &ComparisonThresholds) -> String {
    format!(
        "other page below {:.2}, match at least {:.2}, minor per 100 {:.1}, blank below {} characters, press check {}",
        t.other_page_below,
        t.match_at_least,
        t.minor_per_100,
        t.blank_chars_below,
        t.press_check.as_str()
    )
}

fn view_of(record: ComparisonRecord, document_name: Option<String>) -> ComparisonView {
    let differences = serde_json::from_str(&record.differences).unwrap_or_default();
    ComparisonView {
        record,
        differences,
        document_name,
    }
}

/// A capture must be a PNG or JPEG within the photo size limit.
pub(crate) fn check_capture(bytes: &[u8], max_bytes: usize) -> Result<(), AppError> {
    let is_png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
    let is_jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    if bytes.is_empty() || bytes.len() > max_bytes || !(is_png || is_jpeg) {
        return Err(AppError::invalid("capture", Invalid::Capture));
    }
    Ok(())
}

/// The audit event of a stored comparison.
pub(crate) async fn record_comparison(
    tx: &mut Tx,
    c: &ComparisonRecord,
    decision: &Decision,
    actor: &Actor,
    context: &RequestContext,
) -> Result<(), AppError> {
    let mut details = vec![
        ("subject", c.subject.key().to_owned()),
        ("verdict", c.verdict.key().to_owned()),
        ("score", format!("{:.3}", c.score)),
        ("summary", decision.summary()),
    ];
    if let Some(stamp) = c.stamp {
        details.push(("stamp", stamp.to_string()));
    }
    if let Some(page) = c.page {
        details.push(("page", (page + 1).to_string()));
    }
    record(
        tx,
        c.created_at,
        Some(c.org_id),
        actor,
        context,
        "comparison.recorded",
        format!("comparison:{}", c.id),
        details,
    )
    .await
}
