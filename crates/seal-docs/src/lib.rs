//! Sealkeeper documents: the seal model (印章模型), drawn as SVG and PNG at true size
//! ([`seal_image`]); the printable stamp mark with its QR code, numeric code and
//! barcode as SVG, PNG and PDF ([`stamp_mark`], built on [`qr`], [`barcode`] and
//! [`svg_pdf`]); QR codes read back from photos and PDFs ([`qr_decode`]); and the
//! inspection of uploaded documents, PDF, PNG or JPEG, by their content ([`document`]).
//!
//! Synchronous and free of the other Sealkeeper crates: callers on an async runtime run
//! these functions on a blocking thread.

pub mod barcode;
pub mod capture;
pub mod compare;
pub mod document;
pub mod ocr;
pub mod page;
pub mod qr;
pub mod qr_decode;
pub mod seal_image;
pub mod stamp_mark;
pub mod svg_pdf;

pub use barcode::{BarcodeError, Code128};
pub use document::{DocumentError, DocumentKind, Inspected, Limits, inspect};
pub use qr::{QrError, QrMode, QrSymbol};
pub use qr_decode::{DecodeLimits, QrDecodeError, decode_image, decode_pdf};
pub use seal_image::{SealBitmap, SealField, SealImageError, SealRenderer, SealShape, SealSpec};
pub use stamp_mark::{
    MarkRect, QrForm, StampMarkError, StampMarkLayout, StampMarkSpec, StampMarker,
};
