//! The local blob store: round trips, missing blobs and refused names.

use bytes::Bytes;
use seal_store::blobs::{BlobError, Blobs};

#[tokio::test]
async fn put_get_delete_round_trip() {
    let folder = tempfile::tempdir().unwrap();
    let blobs = Blobs::local(&folder.path().join("blobs")).unwrap();
    let photo = Bytes::from_static(b"\x89PNG\r\n\x1a\n stamp photo");
    let name = "orgs/0f2c/stamps/2026-05/press_01.png";

    blobs.put(name, photo.clone()).await.unwrap();
    assert_eq!(blobs.get(name).await.unwrap(), photo);
    assert!(
        folder.path().join("blobs").join(name).exists(),
        "stored under the root"
    );

    // Writing the same name replaces the content.
    blobs
        .put(name, Bytes::from_static(b"second"))
        .await
        .unwrap();
    assert_eq!(
        blobs.get(name).await.unwrap(),
        Bytes::from_static(b"second")
    );

    blobs.put("empty.bin", Bytes::new()).await.unwrap();
    assert_eq!(blobs.get("empty.bin").await.unwrap(), Bytes::new());

    blobs.delete(name).await.unwrap();
    let result = blobs.get(name).await;
    assert!(
        matches!(&result, Err(BlobError::NotFound(missing)) if missing == name),
        "got {result:?}"
    );
    // Deleting what is not there is not an error.
    blobs.delete(name).await.unwrap();
    assert_eq!(blobs.get("empty.bin").await.unwrap(), Bytes::new());
}

#[tokio::test]
async fn missing_blob_is_not_found() {
    let folder = tempfile::tempdir().unwrap();
    let blobs = Blobs::local(folder.path()).unwrap();
    for name in ["nothing-here", "a/b/c.pdf"] {
        let result = blobs.get(name).await;
        assert!(
            matches!(result, Err(BlobError::NotFound(_))),
            "{name}: {result:?}"
        );
    }
}

#[tokio::test]
async fn bad_names_are_refused() {
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("root");
    let blobs = Blobs::local(&root).unwrap();
    std::fs::write(folder.path().join("outside.txt"), b"secret").unwrap();
    for name in [
        "",
        "..",
        "../outside.txt",
        "a/../../outside.txt",
        "a/..",
        ".",
        "./a",
        "Upper.png",
        "stamps/Photo.jpg",
        "a//b",
        "a/",
        "/a",
        "/etc/passwd",
        "a\\b",
        "space name",
        "中文.png",
        &"a".repeat(201),
    ] {
        let put = blobs.put(name, Bytes::from_static(b"x")).await;
        assert!(
            matches!(put, Err(BlobError::BadName(_))),
            "put {name:?}: {put:?}"
        );
        let get = blobs.get(name).await;
        assert!(
            matches!(get, Err(BlobError::BadName(_))),
            "get {name:?}: {get:?}"
        );
        let delete = blobs.delete(name).await;
        assert!(
            matches!(delete, Err(BlobError::BadName(_))),
            "delete {name:?}: {delete:?}"
        );
    }
    assert_eq!(
        std::fs::read(folder.path().join("outside.txt")).unwrap(),
        b"secret"
    );
}

/// The same round trip through the S3 client, against the S3-compatible server named by
/// `SEALKEEPER_TEST_S3_ENDPOINT` (CI starts one on loopback: moto's standalone server).
/// A fresh bucket per run; skipped with a note when the variable is unset.
#[tokio::test]
async fn s3_compatible_round_trip() {
    let Ok(endpoint) = std::env::var("SEALKEEPER_TEST_S3_ENDPOINT") else {
        eprintln!("SEALKEEPER_TEST_S3_ENDPOINT is not set: skipping the S3 run");
        return;
    };
    let bucket = format!("sk-test-{}", uuid::Uuid::new_v4().simple());
    create_bucket(&endpoint, &bucket);
    let blobs = Blobs::open(&seal_store::blobs::BlobConfig::S3 {
        bucket: bucket.clone(),
        region: "us-east-1".to_owned(),
        endpoint: Some(endpoint.clone()),
        access_key_id: "test".to_owned(),
        secret_access_key: "test".to_owned(),
        allow_http: true,
    })
    .unwrap();
    let name = "orgs/0f2c/documents/contract.pdf";
    let document = Bytes::from_static(b"%PDF-1.7 approved contract");
    blobs.put(name, document.clone()).await.unwrap();
    assert_eq!(blobs.get(name).await.unwrap(), document);
    blobs
        .put(name, Bytes::from_static(b"second"))
        .await
        .unwrap();
    assert_eq!(
        blobs.get(name).await.unwrap(),
        Bytes::from_static(b"second")
    );
    blobs.delete(name).await.unwrap();
    assert!(matches!(blobs.get(name).await, Err(BlobError::NotFound(_))));
    blobs.delete(name).await.unwrap();
    assert!(matches!(
        blobs.put("../escape", Bytes::new()).await,
        Err(BlobError::BadName(_))
    ));

    // A bucket that does not exist is an error, not a panic or a silent success.
    let missing = Blobs::open(&seal_store::blobs::BlobConfig::S3 {
        bucket: format!("{bucket}-missing"),
        region: "us-east-1".to_owned(),
        endpoint: Some(endpoint),
        access_key_id: "test".to_owned(),
        secret_access_key: "test".to_owned(),
        allow_http: true,
    })
    .unwrap();
    assert!(missing.put(name, Bytes::from_static(b"x")).await.is_err());
}

/// `PUT /BUCKET` over plain HTTP (the test server accepts unsigned requests).
fn create_bucket(endpoint: &str, bucket: &str) {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "creating the bucket: {answer}"
    );
}
