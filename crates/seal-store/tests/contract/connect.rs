//! Opening the store: bad and unreachable URLs, and the SQLite settings that make an
//! acknowledged write durable and concurrent writers queue.

use std::time::{Duration, Instant};

use seal_store::{Backend, Store, StoreError, StoreOptions};
use sqlx::{Connection, SqliteConnection};

use crate::contract::harness::{pg_server_url, sqlite_url};

#[tokio::test]
async fn unsupported_urls_are_refused() {
    for url in [
        "mysql://root@127.0.0.1/sealkeeper",
        "store.db",
        "",
        "http://example.com/db",
    ] {
        let result = Store::connect(url, &StoreOptions::default()).await;
        assert!(
            matches!(result, Err(StoreError::UnsupportedUrl(_))),
            "{url:?} gave {result:?}"
        );
    }
}

#[tokio::test]
async fn unsupported_url_hides_the_password() {
    let result = Store::connect("mysql://root:hunter2@127.0.0.1/x", &StoreOptions::default()).await;
    let Err(StoreError::UnsupportedUrl(shown)) = result else {
        panic!("expected UnsupportedUrl, got {result:?}");
    };
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable_quickly() {
    let options = StoreOptions {
        connect_timeout: Duration::from_secs(1),
        ..StoreOptions::default()
    };
    let started = Instant::now();
    let result = Store::connect(
        "postgres://sealkeeper:s3cret@127.0.0.1:1/sealkeeper",
        &options,
    )
    .await;
    let elapsed = started.elapsed();
    let Err(StoreError::Unavailable { url, reason }) = result else {
        panic!("expected Unavailable, got {result:?}");
    };
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(!url.contains("s3cret"), "the password is redacted: {url}");
    assert!(url.contains("127.0.0.1:1"), "{url}");
    assert!(!reason.is_empty());
}

#[tokio::test]
async fn missing_postgres_database_is_unavailable() {
    let Some(server_url) = pg_server_url() else {
        eprintln!("note: SEALKEEPER_TEST_PG_URL is not set; skipping");
        return;
    };
    let mut url = url::Url::parse(&server_url).unwrap();
    url.set_path(&format!(
        "sk_test_missing_{}",
        uuid::Uuid::new_v4().simple()
    ));
    let started = Instant::now();
    let result = Store::connect(url.as_str(), &StoreOptions::default()).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable { .. })),
        "got {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sqlite_in_a_missing_folder_is_unavailable() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("missing").join("store.db");
    let url = format!("sqlite://{}", path.display());
    let result = Store::connect(&url, &StoreOptions::default()).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable { .. })),
        "got {result:?}"
    );
    assert!(!path.exists());
}

#[tokio::test]
async fn sqlite_creates_a_missing_file_and_reopens_it() {
    let folder = tempfile::tempdir().unwrap();
    let url = sqlite_url(folder.path());
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    let acme = crate::contract::fixtures::org("acme", "Acme");
    let mut tx = store.write().await.unwrap();
    tx.insert_org(&acme).await.unwrap();
    tx.commit().await.unwrap();
    store.close().await;

    // Reopening runs no migration twice and finds the committed data.
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.org(acme.id).await.unwrap(), Some(acme));
    drop(tx);
    store.close().await;
}

/// `journal_mode` is stored in the database file, so a separate connection sees what the
/// store set. `synchronous` (and `foreign_keys`, `busy_timeout`) are per connection and
/// the store offers no raw query on its own connections, so those are checked by their
/// effects elsewhere (foreign keys refuse a dangling department, writers queue) and
/// `synchronous = FULL` cannot be checked from outside the crate at all.
#[tokio::test]
async fn sqlite_uses_write_ahead_logging() {
    let folder = tempfile::tempdir().unwrap();
    let url = sqlite_url(folder.path());
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.ping().await.unwrap();

    let mut probe = SqliteConnection::connect(&url).await.unwrap();
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut probe)
        .await
        .unwrap();
    assert_eq!(journal_mode.to_ascii_lowercase(), "wal");
    probe.close().await.unwrap();
    assert!(
        folder.path().join("store.db-wal").exists() || folder.path().join("store.db-shm").exists()
    );
    store.close().await;
}
