//! QR codes read back from PDFs: the mark's own PDF, a page with a scanned photo
//! embedded as a JPEG, several marks on a page, and the limits that keep hostile files
//! in check.

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};
use seal_docs::qr_decode::{DecodeLimits, decode_pdf_with};
use seal_docs::{QrDecodeError, QrForm, decode_pdf};

use crate::stamp_marks::corpus::{mark_spec, photos_of};
use crate::stamp_marks::marker;

#[test]
fn the_marks_own_pdf_decodes() {
    for (form, seed) in [(QrForm::ShortUrl, 31), (QrForm::Offline, 32)] {
        let spec = mark_spec(form, seed);
        let pdf = marker().pdf(&spec).unwrap();
        assert_eq!(
            decode_pdf(&pdf).unwrap(),
            std::slice::from_ref(&spec.qr_text),
            "{form:?}"
        );
    }
}

/// A JPEG placed on a page: its bytes and pixel size, where its bottom left corner
/// goes and how wide it is drawn, in points.
#[derive(Clone)]
struct Placed {
    jpeg: Vec<u8>,
    width: u32,
    height: u32,
    x: f32,
    y: f32,
    width_pt: f32,
}

impl Placed {
    fn new(jpeg: &[u8], x: f32, y: f32, width_pt: f32) -> Placed {
        let image = image::load_from_memory(jpeg).unwrap();
        Placed {
            jpeg: jpeg.to_vec(),
            width: image.width(),
            height: image.height(),
            x,
            y,
            width_pt,
        }
    }
}

/// An A4 PDF whose pages each show the JPEGs given.
fn pdf_with_jpegs(pages: &[Vec<Placed>]) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let mut next = 3;
    let mut alloc = || {
        next += 1;
        Ref::new(next)
    };
    let page_ids: Vec<Ref> = pages.iter().map(|_| alloc()).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    for (page_id, images) in page_ids.iter().zip(pages) {
        let content_id = alloc();
        let image_ids: Vec<Ref> = images.iter().map(|_| alloc()).collect();
        let mut content = Content::new();
        for (i, placed) in images.iter().enumerate() {
            let height_pt = placed.width_pt * placed.height as f32 / placed.width as f32;
            content.save_state();
            content.transform([placed.width_pt, 0.0, 0.0, height_pt, placed.x, placed.y]);
            content.x_object(Name(format!("Im{i}").as_bytes()));
            content.restore_state();
        }
        let mut page = pdf.page(*page_id);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
            .contents(content_id);
        let mut resources = page.resources();
        let mut objects = resources.x_objects();
        for (i, id) in image_ids.iter().enumerate() {
            objects.pair(Name(format!("Im{i}").as_bytes()), *id);
        }
        objects.finish();
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
        for (placed, id) in images.iter().zip(&image_ids) {
            let grey = image::load_from_memory(&placed.jpeg)
                .unwrap()
                .color()
                .channel_count()
                == 1;
            let mut image = pdf.image_xobject(*id, &placed.jpeg);
            image.filter(Filter::DctDecode);
            image.width(placed.width as i32);
            image.height(placed.height as i32);
            if grey {
                image.color_space().device_gray();
            } else {
                image.color_space().device_rgb();
            }
            image.bits_per_component(8);
        }
    }
    pdf.finish()
}

#[test]
fn a_photo_embedded_in_a_pdf_decodes() {
    // A photo of a stamp (turned 17°) placed 16 mm wide on an A4 page (a thumbnail):
    // the page drawn at 288 dpi shows its modules under a pixel wide; the embedded
    // JPEG at its own resolution has 6.
    let photos = photos_of(marker(), "rotated").unwrap();
    let photo = photos.iter().find(|p| p.name.contains("rot17")).unwrap();
    let pdf = pdf_with_jpegs(&[vec![Placed::new(&photo.bytes, 100.0, 500.0, 45.0)]]);
    let pages_only = DecodeLimits {
        max_embedded_images: 0,
        ..DecodeLimits::default()
    };
    assert_eq!(
        decode_pdf_with(&pdf, &pages_only).unwrap(),
        Vec::<String>::new(),
        "the drawn page alone is not legible"
    );
    assert_eq!(decode_pdf(&pdf).unwrap(), std::slice::from_ref(&photo.text));
}

#[test]
fn codes_on_several_pages_are_all_found_once() {
    let photos = photos_of(marker(), "clean").unwrap();
    // The clean photos are PNGs: as JPEGs they make scanned pages.
    let jpeg = |i: usize| {
        let image = image::load_from_memory(&photos[i].bytes)
            .unwrap()
            .into_luma8();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
            .encode_image(&image)
            .unwrap();
        out
    };
    let (a, b) = (jpeg(0), jpeg(1));
    let pdf = pdf_with_jpegs(&[
        vec![Placed::new(&a, 50.0, 400.0, 500.0)],
        vec![Placed::new(&b, 50.0, 400.0, 500.0)],
        vec![Placed::new(&a, 50.0, 100.0, 500.0)],
    ]);
    assert_eq!(
        decode_pdf(&pdf).unwrap(),
        [photos[0].text.clone(), photos[1].text.clone()]
    );
}

#[test]
fn hostile_pdfs_are_bounded() {
    let pdf = marker().pdf(&mark_spec(QrForm::ShortUrl, 33)).unwrap();
    // Too many pages.
    let photos = photos_of(marker(), "rotated").unwrap();
    let page = vec![Placed::new(&photos[1].bytes, 0.0, 0.0, 100.0)];
    let three = pdf_with_jpegs(&[page.clone(), page.clone(), page]);
    let limits = DecodeLimits {
        max_pages: 2,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        decode_pdf_with(&three, &limits),
        Err(QrDecodeError::TooManyPages { pages: 3, max: 2 })
    ));
    // Too many bytes.
    let limits = DecodeLimits {
        max_bytes: 100,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        decode_pdf_with(&pdf, &limits),
        Err(QrDecodeError::TooLarge { .. })
    ));
    // A pixel budget too small to draw the code legibly: no text, no error.
    let limits = DecodeLimits {
        max_page_pixels: 10_000,
        max_embedded_images: 0,
        ..DecodeLimits::default()
    };
    assert_eq!(
        decode_pdf_with(&pdf, &limits).unwrap(),
        Vec::<String>::new()
    );
    // Not a PDF, and a broken one.
    assert!(matches!(decode_pdf(b"hello"), Err(QrDecodeError::NotAPdf)));
    assert!(matches!(
        decode_pdf(b"%PDF-1.7\nthis is not a PDF"),
        Err(QrDecodeError::MalformedPdf(_))
    ));
}
