//! Sealkeeper use cases. Each public method of [`App`] is one use case: it authorizes the
//! caller through [`policy`] (the only place that makes a [`policy::Permit`]), runs in
//! one store transaction, and writes an audit event in that same transaction.
//!
//! Handlers in `seal-server` only authenticate (turn a cookie or bearer token into a
//! [`policy::Principal`] with [`App::authenticate_session`] or
//! [`App::authenticate_token`]) and convert shapes; every decision is made here.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod demo;
pub mod directory;
pub mod error;
pub mod orgs;
pub mod password;
pub mod policy;
pub mod ratelimit;
pub mod secrets;
pub mod tokens;
pub mod totp;

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

    pub(crate) fn now(&self) -> seal_core::time::Timestamp {
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
