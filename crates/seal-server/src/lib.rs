//! Sealkeeper over HTTP: the JSON API under `/api/v1` (described by OpenAPI at
//! `/api/v1/openapi.json`), health and readiness, and the layers every response passes
//! through (language, security headers, same-origin check, body limit, tracing).
//!
//! Handlers only authenticate and convert shapes; `seal-app` decides what is allowed.

pub mod api;
pub mod config;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use seal_app::App;
use seal_app::clock::{Clock, SystemClock};
use seal_store::blobs::Blobs;
use seal_store::{Store, StoreOptions};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    /// Mark the session cookie `Secure`.
    pub secure_cookies: bool,
    /// Believe `X-Forwarded-For` for the client address.
    pub trust_forwarded_for: bool,
    /// `/readyz` fails while the comparison engine's models are missing.
    pub comparison_required: bool,
}

impl AppState {
    /// The session cookie: HttpOnly, SameSite=Lax, path `/`, Secure when configured.
    pub fn session_cookie(&self, token: &str) -> Cookie<'static> {
        Cookie::build((extract::SESSION_COOKIE, token.to_owned()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure_cookies)
            .path("/")
            .build()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(#[from] seal_store::StoreError),
    #[error("{0}")]
    Blobs(#[from] seal_store::blobs::BlobError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Opens the database (running migrations) and the blob store named by `config`.
pub async fn open_app(config: &Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
    let needs_data_dir = config.database.url.is_empty()
        || (matches!(config.blobs.kind, config::BlobKind::Local)
            && config.blobs.path.as_os_str().is_empty());
    if needs_data_dir {
        std::fs::create_dir_all(&config.server.data_dir).map_err(|source| StartError::DataDir {
            path: config.server.data_dir.clone(),
            source,
        })?;
    }
    let options = StoreOptions {
        max_connections: config.database.max_connections.max(1),
        connect_timeout: Duration::from_secs(config.database.connect_timeout_seconds.max(1)),
    };
    let store = Store::connect(&config.database_url(), &options).await?;
    let blobs = Blobs::open(&config.blob_config())?;
    App::new(store, blobs, clock, config.app_settings())
        .map_err(|e| StartError::Config(config::ConfigError::Invalid(e.to_string())))
}

/// The whole HTTP service for `app`.
pub fn router(app: App, config: &Config) -> Router {
    let state = AppState {
        app,
        secure_cookies: config.server.secure_cookies,
        trust_forwarded_for: config.server.trust_forwarded_for,
        comparison_required: config.comparison.required,
    };
    let (routes, openapi) = api::routes();
    let openapi_json = openapi.to_json().unwrap_or_else(|_| "{}".to_owned());
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "此地址不支持该请求方法。",
                "This address does not accept that method.",
            )
        })
        .with_state(state)
        .layer(axum::Extension(api::health::OpenApiJson(Arc::new(
            openapi_json,
        ))))
        .layer(middleware::from_fn(web::consume_flash))
        .layer(middleware::from_fn(web::csrf_guard))
        .layer(middleware::from_fn(same_origin))
        .layer(DefaultBodyLimit::max(
            config.server.max_body_kib.max(1) * 1024,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(language))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            answer_panic,
        ))
        .layer(TraceLayer::new_for_http())
}

/// A handler that panicked (a bug): logged, and answered like any other internal error.
fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = detail, "a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "服务器内部错误，已记录，请稍后重试。",
        "Internal server error; it was logged. Please try again later.",
    )
    .into_response()
}

/// Unknown addresses: a JSON error under `/api/`, a page elsewhere.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::not_found_route().into_response()
    } else {
        web::PageError::NotFound.into_response()
    }
}

/// A running server: where it listens and how to stop it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub app: App,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    housekeeping: tokio::task::JoinHandle<()>,
    /// Signs a checkpoint of the log whenever it has grown, at the configured interval.
    checkpoints: tokio::task::JoinHandle<()>,
    /// The webhook delivery worker, when this process runs one.
    webhooks: Option<(tokio::task::JoinHandle<()>, Duration)>,
    /// The press-photo comparison worker, when this process runs one.
    comparisons: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(self) {
        self.housekeeping.abort();
        self.checkpoints.abort();
        // A comparison stopped half way is stored by nobody and done again later.
        if let Some(worker) = &self.comparisons {
            worker.abort();
        }
        let _ = self.shutdown.send(true);
        // The worker finishes its round (bounded by the attempt timeout); one still
        // running after that is stopped, and its leased deliveries fall due again.
        if let Some((worker, patience)) = self.webhooks {
            let abort = worker.abort_handle();
            if tokio::time::timeout(patience, worker).await.is_err() {
                abort.abort();
            }
        }
        let _ = self.task.await;
    }
}

/// How often the application timers (expiry, reminders) run.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);
/// Expired sessions are deleted every this many housekeeping rounds (ten minutes).
const PURGE_SESSIONS_EVERY: u64 = 10;

/// Periodic housekeeping: every minute, ends grants whose window passed and reminds
/// approvers of steps that waited too long; every ten minutes, deletes expired sessions.
async fn housekeeping(app: App) {
    let mut ticks = tokio::time::interval(HOUSEKEEPING_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round: u64 = 0;
    loop {
        ticks.tick().await;
        match app.run_application_timers().await {
            Ok(r) if r == Default::default() => {}
            Ok(r) => tracing::info!(
                expired = r.expired,
                reminded = r.reminded,
                "application timers"
            ),
            Err(error) => tracing::warn!(%error, "application timers failed"),
        }
        match app.run_device_timers().await {
            Ok(0) => {}
            Ok(offline) => tracing::info!(offline, "devices marked offline"),
            Err(error) => tracing::warn!(%error, "device timers failed"),
        }
        if round.is_multiple_of(PURGE_SESSIONS_EVERY) {
            match app.purge_expired_sessions().await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "expired sessions deleted"),
                Err(error) => tracing::warn!(%error, "deleting expired sessions failed"),
            }
        }
        round += 1;
    }
}

/// Publishes a signed checkpoint every `every` when the log has grown (the first at
/// start, so a fresh server has one to show).
async fn checkpointer(app: App, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match app.publish_checkpoint().await {
            Ok(c) => tracing::debug!(size = c.size, "checkpoint"),
            Err(error) => tracing::warn!(%error, "publishing a checkpoint failed"),
        }
    }
}

/// The webhook delivery worker: a round whenever woken by a use case that enqueued, at
/// least every `poll`, and at once again while rounds come back full; stops on shutdown.
async fn webhook_worker(
    app: App,
    client: seal_app::webhooks::WebhookClient,
    poll: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let batch = client.options().concurrency.max(1) * 4;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let full = match app.deliver_due_webhooks(&client, batch).await {
            Ok(round) => {
                if round.claimed > 0 {
                    tracing::debug!(
                        claimed = round.claimed,
                        delivered = round.delivered,
                        failed = round.failed,
                        given_up = round.given_up,
                        "webhook round"
                    );
                }
                round.claimed >= batch
            }
            Err(error) => {
                tracing::warn!(%error, "webhook delivery round failed");
                false
            }
        };
        if full {
            continue;
        }
        tokio::select! {
            () = app.webhook_wake().notified() => {}
            () = tokio::time::sleep(poll) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
}

/// The press-photo comparison worker: a round whenever woken by stored presses, at least
/// every `poll`, and at once again while rounds find work. A round that fails (the models
/// are missing, the database is away) is logged and tried again at the next poll.
async fn comparison_worker(app: App, poll: Duration) {
    let mut warned = false;
    loop {
        let busy = match app.compare_press_photos().await {
            Ok(done) => {
                if done > 0 {
                    tracing::debug!(done, "press photos compared");
                }
                warned = false;
                done > 0
            }
            Err(error) => {
                // Said once per outage, not at every poll.
                if !warned {
                    tracing::warn!(%error, "comparing press photos failed; will retry");
                    warned = true;
                }
                false
            }
        };
        if busy {
            continue;
        }
        tokio::select! {
            () = app.comparison_wake().notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

/// Binds `config.server.listen` (port 0 picks a free port), serves until [`RunningServer::stop`].
pub async fn start(config: &Config, clock: Arc<dyn Clock>) -> Result<RunningServer, StartError> {
    let app = open_app(config, clock).await?;
    start_with(app, config).await
}

/// Serves an already-opened app.
pub async fn start_with(app: App, config: &Config) -> Result<RunningServer, StartError> {
    let client = if config.webhooks.worker {
        let options = config.webhooks.client_options();
        let patience = options.timeout + Duration::from_secs(5);
        let client = seal_app::webhooks::WebhookClient::new(options)
            .map_err(|e| StartError::Config(config::ConfigError::Invalid(e.to_string())))?;
        Some((client, patience))
    } else {
        None
    };
    let addr = config.server.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Listen { addr, source })?;
    let service = router(app.clone(), config).into_make_service_with_connect_info::<SocketAddr>();
    let (shutdown, mut receiver) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                let _ = receiver.wait_for(|stop| *stop).await;
            })
            .await
    });
    let housekeeping = tokio::spawn(housekeeping(app.clone()));
    let checkpoints = tokio::spawn(checkpointer(
        app.clone(),
        Duration::from_secs(config.proofs.checkpoint_seconds.max(1)),
    ));
    let webhooks = client.map(|(client, patience)| {
        let poll = Duration::from_millis(config.webhooks.poll_interval_ms.max(10));
        let worker = tokio::spawn(webhook_worker(
            app.clone(),
            client,
            poll,
            shutdown.subscribe(),
        ));
        (worker, patience)
    });
    match app.comparison_problem() {
        None => tracing::info!(
            models = %config.app_settings().ocr_models_dir.display(),
            "document comparison: OCR models installed (loaded on first use)"
        ),
        Some(problem) => tracing::warn!(
            %problem,
            required = config.comparison.required,
            "document comparison is unavailable: seal printers cannot print and press photos wait uncompared"
        ),
    }
    let comparisons = config.comparison.worker.then(|| {
        // Load the engine now rather than at the first scan (it takes seconds).
        if app.comparison_problem().is_none() {
            let warm = app.clone();
            tokio::spawn(async move {
                if let Err(error) = warm.comparison_engine().await {
                    tracing::warn!(%error, "loading the comparison engine failed");
                }
            });
        }
        tokio::spawn(comparison_worker(
            app.clone(),
            Duration::from_secs(config.comparison.poll_seconds.max(1)),
        ))
    });
    Ok(RunningServer {
        addr,
        app,
        shutdown,
        task,
        housekeeping,
        checkpoints,
        webhooks,
        comparisons,
    })
}

/// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests (for at most the
/// configured grace period) and closes the database.
pub async fn serve_until_signal(server: RunningServer, grace: Duration) {
    wait_for_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    let store = server.app.store().clone();
    if tokio::time::timeout(grace, server.stop()).await.is_err() {
        tracing::warn!("requests still running after the grace period; stopping anyway");
    }
    store.close().await;
    tracing::info!("stopped");
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Starts a server for the default system clock (used by the binary).
pub async fn start_default(config: &Config) -> Result<RunningServer, StartError> {
    start(config, Arc::new(SystemClock)).await
}

/// Runs the rest of the request with the reader's language as the current one.
async fn language(request: Request, next: Next) -> Response {
    let lang = i18n::Lang::from_headers(request.headers());
    i18n::scope(lang, next.run(request)).await
}

/// Refuses unsafe requests whose `Origin` names another site (a second line of defence
/// against cross-site requests, beside SameSite cookies and the CSRF token).
async fn same_origin(request: Request, next: Next) -> Response {
    if extract::is_unsafe(request.method()) {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok());
        if let Some(origin) = origin {
            let origin_host = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(origin);
            if Some(origin_host) != host {
                return ApiError::csrf().into_response();
            }
        }
    }
    next.run(request).await
}

/// Security headers on every response; API answers are never cached.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|v| v != "application/json")
    {
        response = extract::too_large().into_response();
    }
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(headers, "x-frame-options", "DENY");
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, "cache-control", "no-store");
    }
    response
}
