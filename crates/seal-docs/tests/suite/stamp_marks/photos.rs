//! Our decoder reads every photo of the generated corpus (turned, slanted, blurred,
//! noisy, dark, JPEG-compressed, small in a large picture) to exactly the text of
//! the QR code; one test per category, both QR forms in each.

use std::time::Instant;

use seal_docs::decode_image;

use crate::stamp_marks::corpus::{categories, photos_of};
use crate::stamp_marks::marker;

fn all_decode(category: &str) {
    let photos = photos_of(marker(), category).unwrap();
    assert!(photos.len() >= 2, "no photos in {category}");
    let mut failures = Vec::new();
    for photo in &photos {
        let started = Instant::now();
        let texts = decode_image(&photo.bytes).unwrap();
        let took = started.elapsed();
        if texts != [photo.text.clone()] {
            failures.push(format!("{} → {texts:?} ({took:?})", photo.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} photos in {category} were not decoded:\n{}",
        failures.len(),
        photos.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_has_the_categories_tested_here() {
    assert_eq!(
        categories()
            .into_iter()
            .filter(|c| !c.starts_with("hard"))
            .collect::<Vec<_>>(),
        [
            "clean",
            "rotated",
            "perspective",
            "blurred",
            "noisy",
            "low light",
            "jpeg",
            "combined",
            "small in large"
        ]
    );
}

#[test]
fn clean_photos_decode() {
    all_decode("clean");
}

#[test]
fn rotated_photos_decode() {
    all_decode("rotated");
}

#[test]
fn slanted_photos_decode() {
    all_decode("perspective");
}

#[test]
fn blurred_photos_decode() {
    all_decode("blurred");
}

#[test]
fn noisy_photos_decode() {
    all_decode("noisy");
}

#[test]
fn dark_photos_decode() {
    all_decode("low light");
}

#[test]
fn heavily_compressed_photos_decode() {
    all_decode("jpeg");
}

#[test]
fn photos_with_everything_at_once_decode() {
    all_decode("combined");
}

#[test]
fn small_codes_in_large_photos_decode() {
    all_decode("small in large");
}

#[test]
fn a_photo_without_a_code_gives_no_text() {
    let blank = image::RgbImage::from_pixel(800, 600, image::Rgb([200, 200, 190]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&blank)
        .unwrap();
    assert_eq!(decode_image(&jpeg).unwrap(), Vec::<String>::new());
}
