//! The seal-docs integration suite: seal images against golden PNGs, document
//! inspection of generated PDF, PNG and JPEG files, and stamp marks (QR codes read by
//! zbarimg and by our decoder from generated photos and PDFs).

// Helpers shared by the tests fail loudly, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod capture;
mod document;
mod golden;
mod ocr;
mod seal_image;
mod stamp_marks;
