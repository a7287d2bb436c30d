//! Sealkeeper use cases. Each public method of [`App`] is one use case: it authorizes the
//! caller through [`policy`] (the only place that makes a [`policy::Permit`]), runs in
//! one store transaction, and writes an audit event in that same transaction.
//!
//! Handlers in `seal-server` only authenticate (turn a cookie or bearer token into a
//! [`policy::Principal`] with [`App::authenticate_session`] or
//! [`App::authenticate_token`]) and convert shapes; every decision is made here.

pub mod alarms;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod comparison;
pub mod demo;
pub mod devices;
pub mod directory;
pub mod error;
pub mod flows;
pub mod marks;
pub mod orgs;
pub mod password;
pub mod policy;
pub mod proofs;
pub mod ratelimit;
pub mod seals;
pub mod secrets;
pub mod stamps;
pub mod tokens;
pub mod totp;
pub mod webhooks;

use std::sync::Arc;

use seal_store::Store;
use seal_store::blobs::Blobs;

pub use error::AppError;

use crate::auth::AuthCache;
use crate::clock::Clock;
use crate::password::PasswordHasher;
use crate::ratelimit::LoginLimiter;

/// Tunables of the use cases, filled from the configuration file.
#[derive(Clone, Debug)]
pub struct AppSettings {
    /// A session ends after this many seconds without a request.
    pub session_idle_seconds: i64,
    /// A session ends this many seconds after sign-in, active or not.
    pub session_absolute_seconds: i64,
    /// Time allowed between the password and the second factor.
    pub mfa_pending_seconds: i64,
    /// Sign-in attempts allowed per account per minute.
    pub login_attempts_per_account_per_minute: u32,
    /// Sign-in (and registration) attempts allowed per client address per minute.
    pub login_attempts_per_address_per_minute: u32,
    /// Seconds an authenticated principal is reused from memory before it is read again.
    /// Changes made through this process drop the cache at once; this bounds staleness
    /// only for changes made by another server process sharing the database.
    pub auth_cache_seconds: i64,
    /// Argon2id memory cost in KiB (OWASP minimum: 19456).
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    pub argon2_iterations: u32,
    /// Issuer shown in authenticator apps.
    pub totp_issuer: String,
    /// Let webhook endpoints use `http://` and loopback, private or link-local targets
    /// (for tests, or a filing system on the unit's own network).
    pub webhooks_allow_private_targets: bool,
    /// The longest time window an application may ask for, in days.
    pub application_max_window_days: i64,
    /// The largest document accepted, in bytes.
    pub document_max_bytes: usize,
    /// The most pages a PDF document may have.
    pub document_max_pages: u32,
    /// The most documents one application may hold.
    pub documents_per_application: usize,
    /// Approvers are reminded when a step has waited this many seconds.
    pub approval_reminder_seconds: i64,
    /// How far a signed device request's `created` may be from the server clock.
    pub device_clock_skew_seconds: i64,
    /// How long a device enrolment token stays valid.
    pub enrolment_token_hours: i64,
    /// A device silent this long is marked offline and alarms.
    pub device_offline_after_seconds: i64,
    /// This many refused unlocks of one device within ten minutes raise an alarm.
    pub unlock_refusals_alarm: i64,
    /// The largest stamp photo or scanned page accepted, in bytes.
    pub photo_max_bytes: usize,
    /// Where the public reaches this server: the base of the URLs in stamps' QR codes
    /// and the key set's issuer.
    pub public_url: String,
    /// The log's origin: the first line of its checkpoints and its key's name.
    pub log_origin: String,
    /// Public verification requests allowed per client address and minute.
    pub verify_per_address_per_minute: u32,
    /// Seconds a verification is answered from memory (0: never).
    pub verify_cache_seconds: u64,
    /// The folder of the OCR models and ONNX Runtime (`cargo xtask setup` fills it).
    pub ocr_models_dir: std::path::PathBuf,
    /// Pages the comparison engine reads at the same time (0: the cores, at most 4).
    /// Each costs about 400 MB once it has read a page.
    pub ocr_instances: usize,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            session_idle_seconds: 30 * 60,
            session_absolute_seconds: 12 * 3600,
            mfa_pending_seconds: 5 * 60,
            login_attempts_per_account_per_minute: 5,
            login_attempts_per_address_per_minute: 30,
            auth_cache_seconds: 5,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            totp_issuer: "Sealkeeper".to_owned(),
            webhooks_allow_private_targets: false,
            application_max_window_days: 90,
            document_max_bytes: 20 * 1024 * 1024,
            document_max_pages: 500,
            documents_per_application: 20,
            approval_reminder_seconds: 24 * 3600,
            device_clock_skew_seconds: 300,
            enrolment_token_hours: 24,
            device_offline_after_seconds: 300,
            unlock_refusals_alarm: 3,
            photo_max_bytes: 5 * 1024 * 1024,
            public_url: "http://localhost:8080".to_owned(),
            log_origin: "localhost/sealkeeper".to_owned(),
            verify_per_address_per_minute: proofs::VERIFY_PER_MINUTE,
            verify_cache_seconds: 2,
            ocr_models_dir: seal_docs::ocr::default_models_dir(),
            ocr_instances: 0,
        }
    }
}

/// The application: the store, the blob store, the clock and the in-memory helpers
/// (authentication cache, sign-in rate limits). Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    blobs: Blobs,
    clock: Arc<dyn Clock>,
    settings: AppSettings,
    hasher: PasswordHasher,
    auth_cache: AuthCache,
    limiter: LoginLimiter,
    /// The seal image renderer, loaded from the system fonts on first use (the error
    /// text when no CJK font is installed).
    seal_renderer: std::sync::OnceLock<Result<Arc<seal_docs::seal_image::SealRenderer>, String>>,
    /// Draws stamp marks (seal + QR + codes), made on first use.
    stamp_marker: std::sync::OnceLock<Result<Arc<seal_docs::stamp_mark::StampMarker>, String>>,
    /// Wakes the webhook delivery worker when deliveries were enqueued.
    webhook_wake: tokio::sync::Notify,
    /// Wakes devices waiting for commands (WebSocket or long-poll).
    device_hub: devices::DeviceHub,
    /// Devices read for signature checks, briefly.
    device_cache: devices::DeviceCache,
    /// Group commit of stamp events: many requests, one transaction.
    stamp_batcher: stamps::StampBatcher,
    /// Public verification: the per-address limit and recent answers.
    verify_limiter: proofs::VerifyLimiter,
    verify_cache: proofs::VerifyCache,
    /// The document-comparison engine, its approved-document cache and worker wake-up.
    comparisons: comparison::Comparisons,
}

impl App {
    /// Fails when the settings cannot work (argon2 costs out of range).
    pub fn new(
        store: Store,
        blobs: Blobs,
        clock: Arc<dyn Clock>,
        settings: AppSettings,
    ) -> Result<App, AppError> {
        let hasher = PasswordHasher::new(settings.argon2_memory_kib, settings.argon2_iterations)?;
        let verify_limiter = proofs::VerifyLimiter::new(settings.verify_per_address_per_minute);
        let limiter = LoginLimiter::new(
            settings.login_attempts_per_account_per_minute,
            settings.login_attempts_per_address_per_minute,
        );
        Ok(App {
            inner: Arc::new(Inner {
                store,
                blobs,
                clock,
                hasher,
                auth_cache: AuthCache::default(),
                limiter,
                settings,
                webhook_wake: tokio::sync::Notify::new(),
                seal_renderer: std::sync::OnceLock::new(),
                stamp_marker: std::sync::OnceLock::new(),
                device_hub: devices::DeviceHub::default(),
                device_cache: devices::DeviceCache::default(),
                stamp_batcher: stamps::StampBatcher::default(),
                verify_limiter,
                verify_cache: proofs::VerifyCache::default(),
                comparisons: comparison::Comparisons::new(),
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn blobs(&self) -> &Blobs {
        &self.inner.blobs
    }

    pub fn settings(&self) -> &AppSettings {
        &self.inner.settings
    }

    /// The application's clock (injected; tests fix it), also for forms that suggest
    /// times such as an application's window.
    pub fn now(&self) -> seal_core::time::Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    pub(crate) fn auth_cache(&self) -> &AuthCache {
        &self.inner.auth_cache
    }

    pub(crate) fn limiter(&self) -> &LoginLimiter {
        &self.inner.limiter
    }

    pub(crate) fn verify_limiter(&self) -> &proofs::VerifyLimiter {
        &self.inner.verify_limiter
    }

    pub(crate) fn verify_cache(&self) -> &proofs::VerifyCache {
        &self.inner.verify_cache
    }

    /// Notified when webhook deliveries were enqueued; the worker waits on it between
    /// polls (see [`App::wake_webhook_worker`]).
    pub fn webhook_wake(&self) -> &tokio::sync::Notify {
        &self.inner.webhook_wake
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> Result<(), AppError> {
        self.inner.store.ping().await.map_err(AppError::from)
    }
}

/// Who is asking, from where: facts about the request that go into audit events.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// The client address as the server saw it.
    pub source: String,
    pub user_agent: String,
}
