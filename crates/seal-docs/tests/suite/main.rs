//! The seal-docs integration suite: seal images against golden PNGs, and document
//! inspection of generated PDF, PNG and JPEG files.

// Helpers shared by the tests fail loudly, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod document;
mod golden;
mod seal_image;
