//! Sealkeeper persistence: one [`Store`] serving SQLite (the default, embedded) and
//! PostgreSQL through the same SQL, the migrations for both, and blob storage.
//!
//! Every use case runs in one [`Tx`]: [`Store::write`] opens a write transaction
//! (`BEGIN IMMEDIATE` on SQLite, so concurrent writers queue instead of failing), and
//! [`Store::read`] a read transaction. Every method that reads or changes an
//! organisation's data takes the organisation id and filters by it.

pub mod blobs;
mod records;
mod sql;
mod webhook_records;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use records::{
    ApiTokenRecord, AuditRecord, Credentials, DepartmentRecord, NewPerson, OrgRecord, PeopleFilter,
    PersonRecord, RoleRecord, SessionRecord,
};
pub use sql::applications::{
    ApplicationFilter, ApplicationRecord, DecisionRecord, DocumentRecord, GrantRecord,
};
pub use sql::comparisons::{
    ComparisonCursor, ComparisonRecord, ComparisonThresholdsRecord, PendingPressPhoto,
    comparison_subject,
};
pub use sql::devices::{
    AlarmFilter, AlarmRecord, CommandRecord, DeviceRecord, EnrolmentTokenRecord, Fix, OrgKeyRecord,
    StampKind, StampRecord, Telemetry, UnlockAttemptRecord,
};
pub use sql::log::{CheckpointRecord, Evidence, LogEntryRecord, LogKeyRecord};
pub use sql::seals::{FlowRecord, SealRecord, SealStatusChange};
pub use sql::stamps::{PublishedOrgKey, StampEventRecord, stamp_subject};
pub use sql::{AuditFilter, Tx};
pub use webhook_records::{
    AttemptOutcome, DeliveryFilter, DeliveryStatus, DueDelivery, WebhookAttemptRecord,
    WebhookDeliveryRecord, WebhookEndpointRecord, WebhookEventRecord,
};

/// Which database engine a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors of the persistence layer, named by what the caller can do about them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database named by the configuration cannot be opened or reached.
    #[error("cannot open the database {url}: {reason}")]
    Unavailable { url: String, reason: String },
    /// The URL names no supported database.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// A uniqueness rule was broken (a concurrent request won the race).
    #[error("a record with the same unique value already exists")]
    Conflict,
    /// The stored data does not parse into domain values: a bug or tampering.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("migrations failed: {0}")]
    Migrate(String),
    /// The database is there but cannot serve now (no free connection in time, the
    /// connection dropped, SQLite busy past its timeout): worth retrying shortly.
    #[error("the database is busy or unreachable: {0}")]
    Busy(String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6) after the busy timeout.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("5" | "6")) => {
                StoreError::Busy(error.to_string())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Busy(error.to_string())
            }
            _ => StoreError::Database(error.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(error.to_string())
    }
}

/// Connection settings for [`Store::connect`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// At most this many pooled connections.
    pub max_connections: u32,
    /// How long to wait for a connection (and, on start-up, for the server to answer).
    pub connect_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// The database: a connection pool plus the engine it talks to.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens the database at `url` (`sqlite://path/to/file.db` or `postgres://…`), checks
    /// that it answers, and runs pending migrations. A SQLite file is created when missing
    /// but its folder must exist.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let unavailable = |reason: String| StoreError::Unavailable {
            url: redact_url(url),
            reason,
        };
        let connect_url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let connect_options = AnyConnectOptions::from_str(&connect_url)
            .map_err(|e| unavailable(e.to_string()))?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(1)
            .acquire_timeout(options.connect_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect_options)
            .await
            .map_err(|e| unavailable(describe_connect_error(&e)))?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        let store = Store { pool, backend };
        store.backfill_log().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers a trivial query (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once, so two
    /// writers queue (up to the busy timeout) instead of failing half-way.
    pub async fn write(&self) -> Result<Tx, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx::new(tx, self.backend))
    }

    /// Begins a transaction for reading a consistent snapshot.
    pub async fn read(&self) -> Result<Tx, StoreError> {
        Ok(Tx::new(self.pool.begin().await?, self.backend))
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

fn describe_connect_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::PoolTimedOut => "the database did not answer in time".to_owned(),
        sqlx::Error::Io(io) => format!("{io}"),
        other => other.to_string(),
    }
}
