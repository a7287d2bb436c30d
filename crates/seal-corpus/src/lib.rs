//! The labelled corpus of the document-comparison benchmark: approved documents
//! (contracts, letters, certificates, quotations and invoices in Chinese, English and
//! both, as PNG pages or as PDFs with a text layer) and on-site captures of their pages,
//! genuine or tampered (a digit of an amount, a date, a name, a clause, an inserted or
//! deleted line, a swapped page, a blank page), photographed or scanned with recorded
//! effects and a red seal impression. Everything follows from one seed.
//!
//! [`generate`] writes a corpus to a directory with its `manifest.json`; the binary
//! `seal-corpus generate` is its command line.

pub mod content;
pub mod corpus;
pub mod fonts;
pub mod generate;
pub mod layout;
pub mod money;
pub mod photo;
pub mod render;
pub mod rng;
pub mod sample;
pub mod seal;
pub mod tamper;
pub mod words;

use std::path::PathBuf;

pub use corpus::{Manifest, Options, generate};
pub use tamper::Kind;

/// What can go wrong while generating a corpus.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("no CJK font found: install fonts-noto-cjk (apt-get install fonts-noto-cjk)")]
    NoCjkFont,
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("rendering failed: {0}")]
    Render(String),
    #[error("manifest: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no page of the corpus can be tampered with as {0}")]
    NoCandidate(&'static str),
    #[error("{0}")]
    Options(String),
}
