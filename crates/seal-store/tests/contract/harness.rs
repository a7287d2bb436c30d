//! Fresh databases for each story: a SQLite file in its own temporary folder, or a
//! PostgreSQL database with a random name on the server named by
//! `SEALKEEPER_TEST_PG_URL`, dropped again when the story ends (also when it fails).

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use seal_store::{Backend, Store, StoreOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// The environment variable naming a PostgreSQL server the tests may create databases on.
pub const PG_URL_VAR: &str = "SEALKEEPER_TEST_PG_URL";

/// Runs `story` against a store on a fresh SQLite file.
pub async fn on_sqlite<Story, Run>(story: Story)
where
    Story: FnOnce(Store) -> Run,
    Run: Future<Output = ()>,
{
    let folder = tempfile::tempdir().expect("temporary folder");
    let url = sqlite_url(folder.path());
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
    let outcome = AssertUnwindSafe(async {
        assert_eq!(store.backend(), Backend::Sqlite);
        story(store.clone()).await;
    })
    .catch_unwind()
    .await;
    store.close().await;
    drop(folder);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `story` against a store on a fresh PostgreSQL database, or prints a note and
/// returns when `SEALKEEPER_TEST_PG_URL` is not set.
pub async fn on_postgres<Story, Run>(story: Story)
where
    Story: FnOnce(Store) -> Run,
    Run: Future<Output = ()>,
{
    let Some(server_url) = pg_server_url() else {
        eprintln!("note: {PG_URL_VAR} is not set; skipping the PostgreSQL variant");
        return;
    };
    let database = ScratchDatabase::create(&server_url).await;
    let store = match Store::connect(&database.url, &StoreOptions::default()).await {
        Ok(store) => store,
        Err(error) => {
            database.drop_it().await;
            panic!("open the scratch database: {error}");
        }
    };
    let outcome = AssertUnwindSafe(async {
        assert_eq!(store.backend(), Backend::Postgres);
        story(store.clone()).await;
    })
    .catch_unwind()
    .await;
    store.close().await;
    database.drop_it().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The PostgreSQL server URL from the environment, when set and not empty.
pub fn pg_server_url() -> Option<String> {
    std::env::var(PG_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// The store URL of a database file `store.db` in `folder`.
pub fn sqlite_url(folder: &std::path::Path) -> String {
    format!("sqlite://{}", folder.join("store.db").display())
}

/// A PostgreSQL database created for one test.
pub struct ScratchDatabase {
    pub name: String,
    /// URL of the scratch database itself.
    pub url: String,
    /// URL of the database the tests were given, used to create and drop this one.
    server_url: String,
}

impl ScratchDatabase {
    pub async fn create(server_url: &str) -> ScratchDatabase {
        let name = format!("sk_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(server_url)
            .await
            .unwrap_or_else(|e| panic!("connect to {PG_URL_VAR}={server_url}: {e}"));
        // The name is made here of hex digits only, so it is safe to splice in.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        admin.close().await.ok();
        let mut url = url::Url::parse(server_url).expect("PostgreSQL URL");
        url.set_path(&name);
        ScratchDatabase {
            name,
            url: url.to_string(),
            server_url: server_url.to_owned(),
        }
    }

    pub async fn drop_it(self) {
        let mut admin = PgConnection::connect(&self.server_url)
            .await
            .unwrap_or_else(|e| panic!("connect to {PG_URL_VAR}: {e}"));
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("drop database {}: {e}", self.name));
        admin.close().await.ok();
    }
}
