//! The seal-docs integration suite: seal images against golden PNGs, and document
//! inspection of generated PDF, PNG and JPEG files.

mod document;
mod golden;
mod seal_image;
