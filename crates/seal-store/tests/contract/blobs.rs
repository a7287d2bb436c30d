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
