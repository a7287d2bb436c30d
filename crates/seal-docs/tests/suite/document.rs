//! Document inspection on PDF, PNG and JPEG files made here: kinds by content, page
//! counts, thumbnails, and every way a document is refused.

use std::io::Cursor;
use std::time::Instant;

use lopdf::content::{Content, Operation};
use lopdf::encryption::{EncryptionState, EncryptionVersion, Permissions};
use lopdf::{Document, Object, Stream, StringFormat, dictionary};
use seal_docs::document::{Dimensions, THUMBNAIL_MAX_WIDTH};
use seal_docs::{DocumentError, DocumentKind, Limits, inspect};
use sha2::{Digest, Sha256};

const A4: (i64, i64) = (595, 842);

/// A PDF with `pages` A4 pages, each with a line of Latin text and a filled rectangle;
/// with `cjk`, also a line of Chinese in the non-embedded Adobe font STSong-Light (the
/// way many Chinese business systems write PDFs). About `padding` bytes of extra
/// drawing operators make the file bigger.
fn make_pdf(pages: usize, cjk: bool, padding: usize) -> Document {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let helvetica = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
    });
    let song = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => "STSong-Light",
        "Encoding" => "UniGB-UCS2-H",
        "DescendantFonts" => vec![Object::Dictionary(dictionary! {
            "Type" => "Font",
            "Subtype" => "CIDFontType0",
            "BaseFont" => "STSong-Light",
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("GB1"),
                "Supplement" => 4,
            },
            "FontDescriptor" => dictionary! {
                "Type" => "FontDescriptor",
                "FontName" => "STSong-Light",
                "Flags" => 6,
                "FontBBox" => vec![(-25).into(), (-254).into(), 1000.into(), 880.into()],
                "ItalicAngle" => 0,
                "Ascent" => 880,
                "Descent" => -120,
                "CapHeight" => 880,
                "StemV" => 93,
            },
        })],
    });
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => helvetica, "F2" => song },
    });
    let mut kids = Vec::new();
    for page in 0..pages {
        let mut operations = vec![
            Operation::new("rg", vec![0.85.into(), 0.1.into(), 0.1.into()]),
            Operation::new("re", vec![72.into(), 600.into(), 200.into(), 100.into()]),
            Operation::new("f", vec![]),
            Operation::new("BT", vec![]),
            Operation::new("rg", vec![0.into(), 0.into(), 0.into()]),
            Operation::new("Tf", vec!["F1".into(), 24.into()]),
            Operation::new("Td", vec![72.into(), 750.into()]),
            Operation::new(
                "Tj",
                vec![Object::string_literal(format!(
                    "Contract page {}",
                    page + 1
                ))],
            ),
            Operation::new("ET", vec![]),
        ];
        if cjk {
            // 合同专用章 in UCS-2, big-endian.
            let text: Vec<u8> = "合同专用章"
                .encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect();
            operations.extend([
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F2".into(), 28.into()]),
                Operation::new("Td", vec![72.into(), 500.into()]),
                Operation::new("Tj", vec![Object::String(text, StringFormat::Hexadecimal)]),
                Operation::new("ET", vec![]),
            ]);
        }
        // The padding goes on the pages after the first when there are several: the
        // first page is drawn for the thumbnail, which is slow in unoptimised builds.
        let padded_pages = if pages > 1 { pages - 1 } else { 1 };
        let page_padding = if pages > 1 && page == 0 {
            0
        } else {
            padding / padded_pages
        };
        let mut line = 0;
        while operations.len() * 12 < page_padding {
            let y = 100 + (line % 400);
            operations.extend([
                Operation::new("m", vec![72.into(), y.into()]),
                Operation::new("l", vec![500.into(), (y + 1).into()]),
                Operation::new("S", vec![]),
            ]);
            line += 1;
        }
        let content = Content { operations };
        let stream = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => stream,
        });
        kids.push(page.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), A4.0.into(), A4.1.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    doc.trailer.set("Root", catalog);
    doc.trailer.set(
        "ID",
        vec![
            Object::string_literal(b"0123456789abcdef".to_vec()),
            Object::string_literal(b"0123456789abcdef".to_vec()),
        ],
    );
    doc
}

fn pdf_bytes(mut doc: Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn image_bytes(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

fn thumbnail(png: &[u8]) -> image::DynamicImage {
    assert_eq!(DocumentKind::sniff(png), Some(DocumentKind::Png));
    image::load_from_memory_with_format(png, image::ImageFormat::Png).unwrap()
}

#[test]
fn a_one_page_pdf_is_counted_hashed_and_drawn() {
    let bytes = pdf_bytes(make_pdf(1, false, 0));
    let inspected = inspect(&bytes, &Limits::default()).unwrap();
    assert_eq!(inspected.kind, DocumentKind::Pdf);
    assert_eq!(inspected.kind.media_type(), "application/pdf");
    assert_eq!(inspected.pages, 1);
    assert_eq!(inspected.sha256, <[u8; 32]>::from(Sha256::digest(&bytes)));
    assert_eq!(
        inspected.dimensions,
        Dimensions::Points {
            width: 595.0,
            height: 842.0
        }
    );
    assert!(!inspected.thumbnail_is_placeholder);
    let thumb = thumbnail(&inspected.thumbnail_png).into_rgb8();
    assert_eq!(thumb.dimensions(), (320, 452));
    // White paper with the red rectangle drawn where the page has it (72–272 pt across,
    // 600–700 pt up), and black text.
    let scale = 320.0 / 595.0;
    let at = |x: f32, y: f32| {
        thumb
            .get_pixel((x * scale) as u32, ((842.0 - y) * scale) as u32)
            .0
    };
    assert_eq!(at(20.0, 20.0), [255, 255, 255]);
    let [r, g, b] = at(172.0, 650.0);
    assert!(r > 180 && g < 60 && b < 60, "{:?}", [r, g, b]);
    let dark = thumb
        .pixels()
        .filter(|p| p.0.iter().all(|&c| c < 100))
        .count();
    assert!(dark > 20, "the text line is drawn ({dark} dark pixels)");
}

#[test]
fn a_three_page_pdf_has_three_pages() {
    let bytes = pdf_bytes(make_pdf(3, false, 0));
    let inspected = inspect(&bytes, &Limits::default()).unwrap();
    assert_eq!(inspected.pages, 3);
    assert!(thumbnail(&inspected.thumbnail_png).width() <= THUMBNAIL_MAX_WIDTH);
}

#[test]
fn a_pdf_with_a_chinese_line_in_a_non_embedded_font_is_accepted() {
    let bytes = pdf_bytes(make_pdf(1, true, 0));
    let inspected = inspect(&bytes, &Limits::default()).unwrap();
    assert_eq!(inspected.pages, 1);
    let thumb = thumbnail(&inspected.thumbnail_png).into_rgb8();
    assert_eq!(thumb.width(), THUMBNAIL_MAX_WIDTH);
    // The line is drawn with the system's CJK font (fonts-noto-cjk): 28 pt glyphs from
    // 72 pt across and 500 pt up.
    let scale = 320.0 / 595.0;
    let (x0, x1) = ((72.0 * scale) as u32, ((72.0 + 5.0 * 28.0) * scale) as u32);
    let (y0, y1) = (
        ((842.0 - 530.0) * scale) as u32,
        ((842.0 - 495.0) * scale) as u32,
    );
    let dark = (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| thumb.get_pixel(x, y).0.iter().all(|&c| c < 110))
        .count();
    assert!(dark > 60, "the Chinese line is drawn ({dark} dark pixels)");
}

#[test]
fn a_landscape_rotated_page_reports_its_displayed_size() {
    let mut doc = make_pdf(1, false, 0);
    let page_id = *doc.get_pages().values().next().unwrap();
    doc.get_dictionary_mut(page_id).unwrap().set("Rotate", 90);
    let inspected = inspect(&pdf_bytes(doc), &Limits::default()).unwrap();
    assert_eq!(
        inspected.dimensions,
        Dimensions::Points {
            width: 842.0,
            height: 595.0
        }
    );
    assert_eq!(thumbnail(&inspected.thumbnail_png).width(), 320);
}

#[test]
fn too_many_pages_are_refused() {
    let bytes = pdf_bytes(make_pdf(3, false, 0));
    let limits = Limits {
        max_pages: 2,
        ..Limits::default()
    };
    assert_eq!(
        inspect(&bytes, &limits).unwrap_err(),
        DocumentError::TooManyPages { pages: 3, max: 2 }
    );
}

#[test]
fn a_password_protected_pdf_is_refused() {
    let mut doc = make_pdf(1, false, 0);
    let state = EncryptionState::try_from(EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner-secret",
        user_password: "user-secret",
        key_length: 128,
        permissions: Permissions::all(),
    })
    .unwrap();
    doc.encrypt(&state).unwrap();
    let bytes = pdf_bytes(doc);
    assert_eq!(
        inspect(&bytes, &Limits::default()).unwrap_err(),
        DocumentError::Encrypted
    );
}

#[test]
fn a_pdf_that_opens_without_a_password_is_accepted() {
    let mut doc = make_pdf(2, false, 0);
    let state = EncryptionState::try_from(EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner-secret",
        user_password: "",
        key_length: 128,
        permissions: Permissions::PRINTABLE,
    })
    .unwrap();
    doc.encrypt(&state).unwrap();
    let inspected = inspect(&pdf_bytes(doc), &Limits::default()).unwrap();
    assert_eq!(inspected.pages, 2);
}

#[test]
fn pdf_magic_followed_by_garbage_is_malformed() {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..4000_u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let error = inspect(&bytes, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            error,
            DocumentError::Malformed {
                kind: DocumentKind::Pdf,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_truncated_pdf_is_malformed_or_still_readable() {
    // Cut in the middle of the page objects: lopdf may rebuild the cross-reference
    // table, but it must never count pages it cannot read or panic.
    let bytes = pdf_bytes(make_pdf(3, false, 0));
    for cut in [20, bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
        match inspect(&bytes[..cut], &Limits::default()) {
            Ok(inspected) => assert!(inspected.pages <= 3),
            Err(DocumentError::Malformed { kind, .. }) => assert_eq!(kind, DocumentKind::Pdf),
            Err(other) => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn png_and_jpeg_images_are_inspected_with_a_thumbnail() {
    for (format, kind) in [
        (image::ImageFormat::Png, DocumentKind::Png),
        (image::ImageFormat::Jpeg, DocumentKind::Jpeg),
    ] {
        let bytes = image_bytes(1000, 600, format);
        let inspected = inspect(&bytes, &Limits::default()).unwrap();
        assert_eq!(inspected.kind, kind);
        assert_eq!(inspected.pages, 1);
        assert_eq!(
            inspected.dimensions,
            Dimensions::Pixels {
                width: 1000,
                height: 600
            }
        );
        assert_eq!(
            thumbnail(&inspected.thumbnail_png).into_rgb8().dimensions(),
            (320, 192)
        );
        // A small image is not enlarged.
        let small = inspect(&image_bytes(100, 50, format), &Limits::default()).unwrap();
        assert_eq!(thumbnail(&small.thumbnail_png).width(), 100);
        // A tall one fits the box.
        let tall = inspect(&image_bytes(300, 1200, format), &Limits::default()).unwrap();
        let thumb = thumbnail(&tall.thumbnail_png);
        assert_eq!((thumb.width(), thumb.height()), (120, 480));
    }
}

#[test]
fn other_files_are_refused_by_their_content() {
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00contract.pdf".to_vec();
    assert_eq!(
        inspect(&zip, &Limits::default()).unwrap_err(),
        DocumentError::UnsupportedType
    );
    let html = b"<!doctype html><title>%PDF-1.7</title>".to_vec();
    assert_eq!(
        inspect(&html, &Limits::default()).unwrap_err(),
        DocumentError::UnsupportedType
    );
    let gif = b"GIF89a\x01\x00\x01\x00".to_vec();
    assert_eq!(
        inspect(&gif, &Limits::default()).unwrap_err(),
        DocumentError::UnsupportedType
    );
    assert_eq!(
        inspect(&[], &Limits::default()).unwrap_err(),
        DocumentError::Empty
    );
}

#[test]
fn a_truncated_png_or_jpeg_is_malformed() {
    let png = image_bytes(400, 300, image::ImageFormat::Png);
    let error = inspect(&png[..png.len() / 2], &Limits::default()).unwrap_err();
    assert!(
        matches!(
            error,
            DocumentError::Malformed {
                kind: DocumentKind::Png,
                ..
            }
        ),
        "{error:?}"
    );
    let jpeg = image_bytes(400, 300, image::ImageFormat::Jpeg);
    let error = inspect(&jpeg[..40], &Limits::default()).unwrap_err();
    assert!(
        matches!(
            error,
            DocumentError::Malformed {
                kind: DocumentKind::Jpeg,
                ..
            }
        ),
        "{error:?}"
    );
}

/// A PNG whose header claims `width` × `height` pixels, followed by a tiny image data
/// chunk: a decompression bomb's shape.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc_input);
    out.extend(crc32(&crc_input).to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_huge_image_is_refused_from_its_header_before_decoding() {
    let bomb = png_header_only(100_000, 100_000);
    let started = Instant::now();
    assert_eq!(
        inspect(&bomb, &Limits::default()).unwrap_err(),
        DocumentError::ImageTooLarge {
            width: 100_000,
            height: 100_000,
            max_pixels: Limits::default().max_pixels
        }
    );
    assert!(
        started.elapsed().as_millis() < 500,
        "refused without decoding"
    );
    // Within the limits, the same lie is caught by the decoder.
    let error = inspect(&png_header_only(2000, 2000), &Limits::default()).unwrap_err();
    assert!(
        matches!(error, DocumentError::Malformed { .. }),
        "{error:?}"
    );
}

#[test]
fn a_document_over_the_byte_limit_is_refused_before_parsing() {
    let bytes = pdf_bytes(make_pdf(1, false, 0));
    let limits = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    assert_eq!(
        inspect(&bytes, &limits).unwrap_err(),
        DocumentError::TooLarge {
            max_bytes: 100,
            actual: bytes.len()
        }
    );
    let error = inspect(&b"PK not a document at all".repeat(10), &limits).unwrap_err();
    assert!(matches!(error, DocumentError::TooLarge { .. }));
}

#[test]
fn a_one_megabyte_pdf_is_inspected_quickly() {
    let bytes = pdf_bytes(make_pdf(20, true, 1_700_000));
    assert!(bytes.len() > 900_000, "{} bytes", bytes.len());
    let started = Instant::now();
    let inspected = inspect(&bytes, &Limits::default()).unwrap();
    let took = started.elapsed();
    assert_eq!(inspected.pages, 20);
    // The figure for the record is the release build's: `cargo xtask bench seal-image`.
    eprintln!(
        "inspect: {} KB PDF, {} pages: {took:?} (this build's profile)",
        bytes.len() / 1000,
        inspected.pages
    );
}
