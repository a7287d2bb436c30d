//! The stamp-mark suite: QR and barcode sizes, the mark's SVG, PNG and PDF at true
//! size, zbarimg reading the printed codes, our decoder reading a generated corpus of
//! photos, and QR codes read back from PDFs.

// Shared with examples/qr_corpus.rs, which uses the parts the tests do not.
#[allow(dead_code)]
pub mod corpus;
mod marks;
mod pdf;
mod photos;
mod sizes;
mod zbar;

use std::path::Path;
use std::sync::OnceLock;

use seal_docs::{SealRenderer, StampMarker};

/// The font the marks are drawn with, the one the seal golden images use.
pub const FONT: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc";

/// The marker on [`FONT`], built once for the whole suite.
pub fn marker() -> &'static StampMarker {
    static MARKER: OnceLock<StampMarker> = OnceLock::new();
    MARKER.get_or_init(|| {
        assert!(
            Path::new(FONT).exists(),
            "the stamp-mark tests draw with {FONT}, which is missing: install it with \
             `apt-get install fonts-noto-cjk` (or run `cargo xtask setup`)"
        );
        let renderer = SealRenderer::with_font_file(FONT)
            .unwrap_or_else(|error| panic!("cannot use {FONT}: {error}"));
        StampMarker::new(renderer).unwrap_or_else(|error| panic!("no marker: {error}"))
    })
}
