//! Sealkeeper documents: the seal model (印章模型), drawn as SVG and PNG at true size
//! ([`seal_image`]), and the inspection of uploaded documents, PDF, PNG or JPEG, by
//! their content ([`document`]).
//!
//! Synchronous and free of the other Sealkeeper crates: callers on an async runtime run
//! these functions on a blocking thread.

pub mod document;
pub mod seal_image;

pub use document::{DocumentError, DocumentKind, Inspected, Limits, inspect};
pub use seal_image::{SealBitmap, SealField, SealImageError, SealRenderer, SealShape, SealSpec};
