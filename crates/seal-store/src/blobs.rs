//! Blob storage behind one interface: a local folder by default, any S3-compatible
//! service by configuration (both through `object_store`). Blob names are chosen by the
//! server, never taken from uploads.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Where blobs live. `Debug` hides the S3 secret key.
#[derive(Clone)]
pub enum BlobConfig {
    /// A folder on this machine (created when missing).
    Local { root: std::path::PathBuf },
    /// An S3-compatible bucket.
    S3 {
        bucket: String,
        region: String,
        /// Custom endpoint for S3-compatible services (MinIO, OSS, COS …).
        endpoint: Option<String>,
        access_key_id: String,
        secret_access_key: String,
        /// Allow plain HTTP endpoints (for a local MinIO).
        allow_http: bool,
    },
}

impl std::fmt::Debug for BlobConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobConfig::Local { root } => f.debug_struct("Local").field("root", root).finish(),
            BlobConfig::S3 {
                bucket,
                region,
                endpoint,
                access_key_id,
                allow_http,
                ..
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("region", region)
                .field("endpoint", endpoint)
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"[redacted]")
                .field("allow_http", allow_http)
                .finish(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob storage is not usable: {0}")]
    Setup(String),
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("blob name {0:?} is not valid")]
    BadName(String),
    #[error("blob storage failed: {0}")]
    Backend(#[from] object_store::Error),
}

/// A handle to the blob store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Blobs {
    inner: Arc<dyn ObjectStore>,
}

impl Blobs {
    pub fn open(config: &BlobConfig) -> Result<Blobs, BlobError> {
        let inner: Arc<dyn ObjectStore> = match config {
            BlobConfig::Local { root } => {
                std::fs::create_dir_all(root).map_err(|e| {
                    BlobError::Setup(format!("cannot create {}: {e}", root.display()))
                })?;
                Arc::new(
                    LocalFileSystem::new_with_prefix(root)
                        .map_err(|e| BlobError::Setup(e.to_string()))?,
                )
            }
            BlobConfig::S3 {
                bucket,
                region,
                endpoint,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key)
                    .with_allow_http(*allow_http);
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false);
                }
                Arc::new(
                    builder
                        .build()
                        .map_err(|e| BlobError::Setup(e.to_string()))?,
                )
            }
        };
        Ok(Blobs { inner })
    }

    /// A blob store in a local folder.
    pub fn local(root: &Path) -> Result<Blobs, BlobError> {
        Blobs::open(&BlobConfig::Local {
            root: root.to_owned(),
        })
    }

    pub async fn put(&self, name: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = object_path(name)?;
        self.inner.put(&path, PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    pub async fn get(&self, name: &str) -> Result<Bytes, BlobError> {
        let path = object_path(name)?;
        match self.inner.get(&path).await {
            Ok(result) => Ok(result.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(name.to_owned())),
            Err(other) => Err(other.into()),
        }
    }

    pub async fn delete(&self, name: &str) -> Result<(), BlobError> {
        let path = object_path(name)?;
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}

/// Blob names are server-generated: lower-case letters, digits, `-`, `_`, `.` and `/`
/// between non-empty segments.
fn object_path(name: &str) -> Result<ObjectPath, BlobError> {
    let valid = !name.is_empty()
        && name.len() <= 200
        && name.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        });
    if !valid {
        return Err(BlobError::BadName(name.to_owned()));
    }
    ObjectPath::parse(name).map_err(|_| BlobError::BadName(name.to_owned()))
}
