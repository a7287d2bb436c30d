//! Configuration: defaults, then a TOML file, then `SEALKEEPER__SECTION__KEY` environment
//! variables, then command-line overrides. Secrets are wrapped in [`Secret`] so they
//! never show in logs or `Debug` output.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A value that must not appear in logs: `Debug` and `Display` print `[redacted]`.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("[redacted]")
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub blobs: BlobsConfig,
    pub security: SecurityConfig,
    pub log: LogConfig,
    pub webhooks: WebhooksConfig,
    pub applications: ApplicationsConfig,
    pub devices: DevicesConfig,
    pub proofs: ProofsConfig,
    pub comparison: ComparisonConfig,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Folder for the embedded database and local blobs.
    pub data_dir: PathBuf,
    /// Mark cookies `Secure`. Turn on whenever users reach the server over HTTPS
    /// (directly or through a proxy).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy you run).
    pub trust_forwarded_for: bool,
    /// Largest request body accepted, in KiB.
    pub max_body_kib: usize,
    /// Seconds to let in-flight requests finish after SIGTERM.
    pub shutdown_grace_seconds: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`. Empty: SQLite file
    /// `sealkeeper.db` in the data folder.
    pub url: Secret,
    pub max_connections: u32,
    pub connect_timeout_seconds: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BlobsConfig {
    /// `local` (a folder) or `s3` (any S3-compatible service).
    pub kind: BlobKind,
    /// For `local`: the folder. Empty: `blobs` in the data folder.
    pub path: PathBuf,
    pub s3_bucket: String,
    pub s3_region: String,
    /// Custom endpoint for S3-compatible services (MinIO, Aliyun OSS, Tencent COS …).
    pub s3_endpoint: String,
    pub s3_access_key_id: String,
    pub s3_secret_access_key: Secret,
    pub s3_allow_http: bool,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BlobKind {
    Local,
    S3,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub login_attempts_per_account_per_minute: u32,
    pub login_attempts_per_address_per_minute: u32,
    pub auth_cache_seconds: i64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub totp_issuer: String,
}

/// Seal-use applications and their documents.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApplicationsConfig {
    /// The longest time window an application may ask for, in days.
    pub max_window_days: i64,
    /// The largest document accepted, in megabytes.
    pub document_max_mb: usize,
    /// The most pages a PDF document may have.
    pub document_max_pages: u32,
    /// The most documents one application may hold.
    pub documents_per_application: usize,
    /// Remind approvers when a step has waited this many hours.
    pub reminder_after_hours: i64,
}

impl Default for ApplicationsConfig {
    fn default() -> Self {
        Self {
            max_window_days: 90,
            document_max_mb: 20,
            document_max_pages: 500,
            documents_per_application: 20,
            reminder_after_hours: 24,
        }
    }
}

/// Devices and the device protocol.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DevicesConfig {
    /// How far a signed device request's time may be from the server's, in seconds.
    pub clock_skew_seconds: i64,
    /// How long an enrolment token stays valid, in hours.
    pub enrolment_token_hours: i64,
    /// A device silent this long is marked offline and raises an alarm, in seconds.
    pub offline_after_seconds: i64,
    /// This many refused unlocks of one device within ten minutes raise an alarm.
    pub unlock_refusals_alarm: i64,
    /// The largest stamp photo or scanned page, in kilobytes.
    pub photo_max_kib: usize,
}

impl Default for DevicesConfig {
    fn default() -> Self {
        Self {
            clock_skew_seconds: 300,
            enrolment_token_hours: 24,
            offline_after_seconds: 300,
            unlock_refusals_alarm: 3,
            photo_max_kib: 5 * 1024,
        }
    }
}

/// Stamp proofs: the public URL in QR codes, the tamper-evident log, verification.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProofsConfig {
    /// Where the public reaches this server (scheme, host, optional port and path): the
    /// base of the short URLs in stamps' QR codes.
    pub public_url: String,
    /// The log's origin (first line of every checkpoint, the name of its key); empty:
    /// the public URL's host followed by `/sealkeeper`.
    pub log_origin: String,
    /// How often a new checkpoint is signed when the log has grown, in seconds.
    pub checkpoint_seconds: u64,
    /// Verification requests allowed per client address and minute.
    pub verify_per_address_per_minute: u32,
    /// Seconds a verification answer is reused from memory (0: never).
    pub verify_cache_seconds: u64,
}

impl Default for ProofsConfig {
    fn default() -> Self {
        Self {
            public_url: "http://localhost:8080".to_owned(),
            log_origin: String::new(),
            checkpoint_seconds: 60,
            verify_per_address_per_minute: seal_app::proofs::VERIFY_PER_MINUTE,
            verify_cache_seconds: 2,
        }
    }
}

impl ProofsConfig {
    /// The log origin: as configured, else derived from the public URL.
    pub fn origin(&self) -> String {
        if !self.log_origin.trim().is_empty() {
            return self.log_origin.trim().to_owned();
        }
        let host = url::Url::parse(self.public_url.trim())
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned());
        format!("{host}/sealkeeper")
    }
}

/// Document comparison: the OCR models and the press-photo worker.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ComparisonConfig {
    /// The folder of the OCR models and ONNX Runtime; empty: `$SEALKEEPER_OCR_DIR`, else
    /// `~/.local/share/sealkeeper/ocr` (where `cargo xtask setup` puts them).
    pub models_dir: PathBuf,
    /// Pages read at the same time (0: the cores, at most 4); each costs about 400 MB.
    pub instances: usize,
    /// Report the server not ready (`/readyz` 503) while the models are missing: seal
    /// printers cannot print without them.
    pub required: bool,
    /// Compare seal boxes' press photos in this process (turn off on extra processes
    /// that share the database).
    pub worker: bool,
    /// How often the worker looks for uncompared press photos when nothing wakes it.
    pub poll_seconds: u64,
}

impl Default for ComparisonConfig {
    fn default() -> Self {
        Self {
            models_dir: PathBuf::new(),
            instances: 0,
            required: true,
            worker: true,
            poll_seconds: 10,
        }
    }
}

/// The webhook delivery worker.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Allow `http://` endpoints and targets on loopback, private or link-local
    /// addresses (tests; a filing system on the unit's own network).
    pub allow_private_targets: bool,
    /// Time allowed for one delivery attempt.
    pub timeout_seconds: u64,
    /// Deliveries sent at the same time.
    pub concurrency: usize,
    /// How often the worker looks for due deliveries when nothing wakes it.
    pub poll_interval_ms: u64,
    /// Run the delivery worker in this process (turn off on extra processes that share
    /// the database; deliveries wait in the database for a process that runs it).
    pub worker: bool,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            timeout_seconds: 10,
            concurrency: 16,
            poll_interval_ms: 1000,
            worker: true,
        }
    }
}

impl WebhooksConfig {
    /// The worker's HTTP client settings.
    pub fn client_options(&self) -> seal_app::webhooks::WebhookClientOptions {
        seal_app::webhooks::WebhookClientOptions {
            timeout: std::time::Duration::from_secs(self.timeout_seconds.max(1)),
            concurrency: self.concurrency.max(1),
            allow_private_targets: self.allow_private_targets,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `seal_server=debug,info`.
    pub level: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            secure_cookies: false,
            trust_forwarded_for: false,
            max_body_kib: 256,
            shutdown_grace_seconds: 20,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: Secret::default(),
            max_connections: 8,
            connect_timeout_seconds: 5,
        }
    }
}

impl Default for BlobsConfig {
    fn default() -> Self {
        Self {
            kind: BlobKind::Local,
            path: PathBuf::new(),
            s3_bucket: String::new(),
            s3_region: "us-east-1".to_owned(),
            s3_endpoint: String::new(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: Secret::default(),
            s3_allow_http: false,
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        let app = seal_app::AppSettings::default();
        Self {
            session_idle_minutes: app.session_idle_seconds / 60,
            session_absolute_hours: app.session_absolute_seconds / 3600,
            login_attempts_per_account_per_minute: app.login_attempts_per_account_per_minute,
            login_attempts_per_address_per_minute: app.login_attempts_per_address_per_minute,
            auth_cache_seconds: app.auth_cache_seconds,
            argon2_memory_kib: app.argon2_memory_kib,
            argon2_iterations: app.argon2_iterations,
            totp_issuer: app.totp_issuer,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

/// The configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} not found")]
    Missing(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then `file` (when given; it must exist), then `SEALKEEPER__…` variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Missing(file.to_owned()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("SEALKEEPER__").split("__").lowercase(true));
        figment
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// The database URL, defaulting to a SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}",
                self.server.data_dir.join("sealkeeper.db").display()
            )
        } else {
            self.database.url.expose().to_owned()
        }
    }

    pub fn blob_config(&self) -> seal_store::blobs::BlobConfig {
        match self.blobs.kind {
            BlobKind::Local => seal_store::blobs::BlobConfig::Local {
                root: if self.blobs.path.as_os_str().is_empty() {
                    self.server.data_dir.join("blobs")
                } else {
                    self.blobs.path.clone()
                },
            },
            BlobKind::S3 => seal_store::blobs::BlobConfig::S3 {
                bucket: self.blobs.s3_bucket.clone(),
                region: self.blobs.s3_region.clone(),
                endpoint: Some(self.blobs.s3_endpoint.clone()).filter(|e| !e.is_empty()),
                access_key_id: self.blobs.s3_access_key_id.clone(),
                secret_access_key: self.blobs.s3_secret_access_key.expose().to_owned(),
                allow_http: self.blobs.s3_allow_http,
            },
        }
    }

    pub fn app_settings(&self) -> seal_app::AppSettings {
        let s = &self.security;
        seal_app::AppSettings {
            session_idle_seconds: s.session_idle_minutes.saturating_mul(60),
            session_absolute_seconds: s.session_absolute_hours.saturating_mul(3600),
            mfa_pending_seconds: 5 * 60,
            login_attempts_per_account_per_minute: s.login_attempts_per_account_per_minute,
            login_attempts_per_address_per_minute: s.login_attempts_per_address_per_minute,
            auth_cache_seconds: s.auth_cache_seconds,
            argon2_memory_kib: s.argon2_memory_kib,
            argon2_iterations: s.argon2_iterations,
            totp_issuer: s.totp_issuer.clone(),
            webhooks_allow_private_targets: self.webhooks.allow_private_targets,
            application_max_window_days: self.applications.max_window_days,
            document_max_bytes: self
                .applications
                .document_max_mb
                .saturating_mul(1024 * 1024),
            document_max_pages: self.applications.document_max_pages,
            documents_per_application: self.applications.documents_per_application,
            approval_reminder_seconds: self.applications.reminder_after_hours.saturating_mul(3600),
            device_clock_skew_seconds: self.devices.clock_skew_seconds.clamp(5, 3600),
            enrolment_token_hours: self.devices.enrolment_token_hours.clamp(1, 24 * 30),
            device_offline_after_seconds: self.devices.offline_after_seconds.max(10),
            unlock_refusals_alarm: self.devices.unlock_refusals_alarm.max(1),
            photo_max_bytes: self.devices.photo_max_kib.max(1).saturating_mul(1024),
            public_url: self
                .proofs
                .public_url
                .trim()
                .trim_end_matches('/')
                .to_owned(),
            log_origin: self.proofs.origin(),
            verify_per_address_per_minute: self.proofs.verify_per_address_per_minute.max(1),
            verify_cache_seconds: self.proofs.verify_cache_seconds,
            ocr_models_dir: if self.comparison.models_dir.as_os_str().is_empty() {
                seal_docs::ocr::default_models_dir()
            } else {
                self.comparison.models_dir.clone()
            },
            ocr_instances: self.comparison.instances,
        }
    }
}

/// The default configuration as a commented TOML file (`sealkeeper config default`).
pub const DEFAULT_TOML: &str = r#"# Sealkeeper configuration. Every key may also be set in the environment as
# SEALKEEPER__SECTION__KEY, e.g. SEALKEEPER__DATABASE__URL=postgres://... ; the
# environment wins over this file, and --listen/--data on the command line win over both.

[server]
# Address and port to listen on.
listen = "127.0.0.1:8080"
# Folder for the embedded SQLite database and local blobs (created when missing).
data_dir = "data"
# Mark the session cookie Secure. Turn on whenever users reach Sealkeeper over HTTPS.
secure_cookies = false
# Take the client address from X-Forwarded-For. Only behind a reverse proxy you run.
trust_forwarded_for = false
# Largest request body accepted, in KiB.
max_body_kib = 256
# Seconds to let in-flight requests finish after SIGTERM or Ctrl-C.
shutdown_grace_seconds = 20

[database]
# Empty: SQLite file data_dir/sealkeeper.db (WAL, synchronous=FULL).
# PostgreSQL: "postgres://USER:PASSWORD@HOST:5432/DATABASE" (the database must exist).
url = ""
max_connections = 8
connect_timeout_seconds = 5

[blobs]
# "local" keeps blobs in a folder; "s3" in any S3-compatible bucket.
kind = "local"
# For local: the folder. Empty: data_dir/blobs.
path = ""
s3_bucket = ""
s3_region = "us-east-1"
# For MinIO, Aliyun OSS, Tencent COS and other S3-compatible services.
s3_endpoint = ""
s3_access_key_id = ""
s3_secret_access_key = ""
s3_allow_http = false

[security]
# A session ends after this long without a request ...
session_idle_minutes = 30
# ... and this long after sign-in in any case.
session_absolute_hours = 12
login_attempts_per_account_per_minute = 5
login_attempts_per_address_per_minute = 30
# Seconds a signed-in principal is reused from memory. Changes made through this
# server apply at once; this bounds staleness for changes made by another server
# process sharing the same PostgreSQL database.
auth_cache_seconds = 5
# Argon2id costs (OWASP minimum: 19456 KiB, 2 iterations).
argon2_memory_kib = 19456
argon2_iterations = 2
# Name shown in authenticator apps.
totp_issuer = "Sealkeeper"

[log]
# "text" for people, "json" for log collectors.
format = "text"
# A tracing filter: "info", "debug", "seal_server=debug,info" ...
level = "info"

[webhooks]
# Allow http:// endpoints and targets on loopback, private or link-local addresses.
# Off: only https, and names resolving to such addresses are refused when sending.
allow_private_targets = false
# Seconds allowed for one delivery attempt (connect, send, answer); no redirects.
timeout_seconds = 10
# Deliveries sent at the same time.
concurrency = 16
# How often the worker looks for due deliveries (it also wakes when events are queued).
poll_interval_ms = 1000
# Run the delivery worker in this process. Turn off on extra processes sharing the
# database: deliveries wait in the database for a process that runs it.
worker = true

[applications]
# The longest time window a seal-use application may ask for, in days.
max_window_days = 90
# The largest document accepted (PDF, PNG or JPEG, judged by content), in megabytes.
document_max_mb = 20
# The most pages a PDF document may have.
document_max_pages = 500
# The most documents one application may hold.
documents_per_application = 20
# Remind approvers (webhook event approval.reminder) when a step has waited this long.
reminder_after_hours = 24

[devices]
# How far a signed device request's time may be from the server's (seconds). Nonces are
# remembered for twice this, so a captured request can never be replayed.
clock_skew_seconds = 300
# How long a one-time enrolment token stays valid (hours).
enrolment_token_hours = 24
# A device silent this long is marked offline and raises an `offline` alarm (seconds).
offline_after_seconds = 300
# This many refused unlocks of one device within ten minutes raise an `unlock_refused` alarm.
unlock_refusals_alarm = 3
# The largest stamp photo or scanned page accepted (kilobytes).
photo_max_kib = 5120

[proofs]
# Where the public reaches this server: the base of the short URL in every stamp's QR
# code (keep it short: the URL must fit a version-4 QR code to print at 2 cm).
public_url = "http://localhost:8080"
# The log's origin, the first line of its checkpoints; empty: "<public host>/sealkeeper".
log_origin = ""
# How often a new signed checkpoint is published when the log has grown (seconds).
checkpoint_seconds = 60
# Public verification requests allowed per client address and minute.
verify_per_address_per_minute = 120
# Seconds a verification answer is reused from memory (0: never).
verify_cache_seconds = 2

[comparison]
# The folder of the OCR models and ONNX Runtime (`cargo xtask setup` installs them);
# empty: $SEALKEEPER_OCR_DIR, else ~/.local/share/sealkeeper/ocr.
models_dir = ""
# Pages read at the same time (0: the cores, at most 4); each costs about 400 MB.
instances = 0
# Not ready (/readyz answers 503) while the models are missing: printers cannot print.
required = true
# Compare seal boxes' press photos in this process (off on extra processes that share
# the database).
worker = true
# How often the worker looks for uncompared press photos when nothing wakes it (seconds).
poll_seconds = 10
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_toml_matches_defaults() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn secrets_are_redacted() {
        let mut config = Config::default();
        config.database.url = Secret::new("postgres://u:hunter2@db/x");
        config.blobs.s3_secret_access_key = Secret::new("AKIAsecret");
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("AKIAsecret"),
            "{debug}"
        );
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn webhooks_section() {
        let config = Config::default();
        assert!(!config.webhooks.allow_private_targets);
        assert!(!config.app_settings().webhooks_allow_private_targets);
        let options = config.webhooks.client_options();
        assert_eq!(options.timeout, std::time::Duration::from_secs(10));
        assert_eq!(options.concurrency, 16);
        let parsed: Config = toml::from_str(
            "[webhooks]\nallow_private_targets = true\nconcurrency = 0\npoll_interval_ms = 50\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(parsed.app_settings().webhooks_allow_private_targets);
        assert_eq!(parsed.webhooks.client_options().concurrency, 1);
        assert_eq!(parsed.webhooks.poll_interval_ms, 50);
        assert!(parsed.webhooks.worker);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("sk-config-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("bad.toml");
        let _ = std::fs::write(&file, "[server]\nlisen = \"0.0.0.0:1\"\n");
        let error = Config::load(Some(&file))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains("lisen"), "{error}");
        assert!(matches!(
            Config::load(Some(&dir.join("none.toml"))),
            Err(ConfigError::Missing(_))
        ));
    }
}
