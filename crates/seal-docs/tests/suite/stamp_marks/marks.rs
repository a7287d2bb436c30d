//! The stamp mark's outputs at true size: the SVG's millimetre root and outlined text,
//! the PNG's pixels and `pHYs`, the PDF's page, the layout, and the checks on sizes.

use resvg::usvg;
use seal_docs::stamp_mark::{MIN_QR_MODULE_MM, group_digits};
use seal_docs::{QrError, QrForm, StampMarkError, StampMarkSpec};

use crate::stamp_marks::corpus::{mark_spec, offline_text, seal, url_text};
use crate::stamp_marks::marker;

#[test]
fn the_svg_is_in_millimetres_with_no_text_left() {
    let spec = mark_spec(QrForm::ShortUrl, 1);
    let layout = marker().layout(&spec).unwrap();
    let svg = marker().svg(&spec).unwrap();
    let root = &svg[svg.find("<svg").unwrap()..];
    let root = &root[..root.find('>').unwrap()];
    assert!(
        root.contains(&format!(
            r#"width="{}mm" height="{}mm" viewBox="0 0 {} {}""#,
            layout.width_mm, layout.height_mm, layout.width_mm, layout.height_mm
        )),
        "{root}"
    );
    assert!(!svg.contains("<text"), "every character is an outline");
    assert!(!svg.contains("font-family"));
    // It parses without any font and has the mark's size.
    let tree = usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
    let px_per_mm = 96.0 / 25.4;
    assert!((tree.size().width() - layout.width_mm * px_per_mm).abs() < 0.01);
    // The red of the seal, the black of the codes.
    assert!(svg.contains("#d7000f"));
    assert!(svg.contains("#000000"));
}

#[test]
fn the_layout_keeps_the_parts_apart_and_inside() {
    for form in [QrForm::ShortUrl, QrForm::Offline] {
        let spec = mark_spec(form, 2);
        let layout = marker().layout(&spec).unwrap();
        assert_eq!(layout.seal.width_mm, 40.0);
        assert_eq!(layout.qr.width_mm, form.default_size_mm());
        assert!(layout.qr_module_mm + 1e-4 >= MIN_QR_MODULE_MM);
        assert!(layout.qr.x_mm >= layout.seal.x_mm + layout.seal.width_mm);
        let barcode = layout.barcode.unwrap();
        assert!(layout.code_text.y_mm >= layout.seal.y_mm + layout.seal.height_mm);
        assert!(barcode.y_mm >= layout.code_text.y_mm + layout.code_text.height_mm);
        for rect in [layout.seal, layout.qr, layout.code_text, barcode] {
            assert!(rect.x_mm >= 0.0 && rect.y_mm >= 0.0, "{rect:?}");
            assert!(
                rect.x_mm + rect.width_mm <= layout.width_mm + 1e-3,
                "{rect:?}"
            );
            assert!(
                rect.y_mm + rect.height_mm <= layout.height_mm + 1e-3,
                "{rect:?}"
            );
        }
        // 165 modules of 0.33 mm.
        assert!((barcode.width_mm - 165.0 * 0.33).abs() < 1e-3);
        assert_eq!(layout.code_text_shown, group_digits(&spec.numeric_code));
        assert_eq!(layout.code_text_shown.len(), 24);
        // Digits of 3.2 mm: their ink is a little less tall than the font size.
        assert!(
            (1.8..3.2).contains(&layout.code_text.height_mm),
            "{layout:?}"
        );
    }
}

#[test]
fn the_png_prints_at_true_size() {
    let spec = mark_spec(QrForm::Offline, 3);
    let layout = marker().layout(&spec).unwrap();
    for dpi in [300, 600] {
        let png = marker().png(&spec, dpi).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        let expected = |mm: f32| (mm / 25.4 * dpi as f32).round() as u32;
        assert_eq!(info.width, expected(layout.width_mm));
        assert_eq!(info.height, expected(layout.height_mm));
        let dims = info.pixel_dims.unwrap();
        assert_eq!(dims.unit, png::Unit::Meter);
        assert_eq!(dims.xppu, (dpi as f64 / 0.0254).round() as u32);
        assert_eq!(dims.yppu, dims.xppu);
    }
    // The QR code's quiet zone is white and opaque; outside the parts it is clear.
    let (w, _, rgba) = marker().rgba(&spec, 300).unwrap();
    let at = |x_mm: f32, y_mm: f32| {
        let (x, y) = ((x_mm * 300.0 / 25.4) as u32, (y_mm * 300.0 / 25.4) as u32);
        let i = ((y * w + x) * 4) as usize;
        [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]]
    };
    assert_eq!(
        at(layout.qr.x_mm + 0.3, layout.qr.y_mm + 0.3),
        [255, 255, 255, 255]
    );
    assert_eq!(at(0.5, 0.5)[3], 0, "transparent margin");
    // The top left finder pattern starts after four light modules.
    let module = layout.qr_module_mm;
    let finder = at(layout.qr.x_mm + 4.5 * module, layout.qr.y_mm + 4.5 * module);
    assert_eq!(finder, [0, 0, 0, 255]);
}

#[test]
fn the_pdf_page_is_the_mark_exactly() {
    let spec = mark_spec(QrForm::ShortUrl, 4);
    let layout = marker().layout(&spec).unwrap();
    let pdf = marker().pdf(&spec).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.7"));
    let document = lopdf::Document::load_mem(&pdf).unwrap();
    let pages = document.get_pages();
    assert_eq!(pages.len(), 1);
    let page = document.get_dictionary(pages[&1]).unwrap();
    let media_box: Vec<f32> = page
        .get(b"MediaBox")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_float().unwrap())
        .collect();
    let pt = |mm: f32| mm * 72.0 / 25.4;
    assert_eq!(media_box[..2], [0.0, 0.0]);
    assert!(
        (media_box[2] - pt(layout.width_mm)).abs() < 0.01,
        "{media_box:?}"
    );
    assert!(
        (media_box[3] - pt(layout.height_mm)).abs() < 0.01,
        "{media_box:?}"
    );
    // Vector only: no fonts and no images on the page.
    let content = document.get_page_content(pages[&1]);
    let text = String::from_utf8_lossy(&content);
    assert!(!text.contains("Tf") && !text.contains(" Do"), "{text}");
    assert!(text.contains(" re") || text.contains(" l\n") || text.contains(" c\n"));
}

#[test]
fn the_pdf_looks_like_the_png() {
    // hayro's drawing of the PDF and resvg's PNG, both at 150 dpi, agree.
    use hayro::hayro_interpret::InterpreterSettings;
    use hayro::hayro_syntax::Pdf;
    use hayro::vello_cpu::color::palette::css::WHITE;
    use hayro::{PixmapSettings, RenderCache, RenderSettings};

    let spec = mark_spec(QrForm::Offline, 5);
    let pdf = Pdf::new(std::sync::Arc::new(marker().pdf(&spec).unwrap())).unwrap();
    let page = &pdf.pages()[0];
    let scale = 150.0 / 72.0;
    let pixmap = hayro::render(
        page,
        &RenderCache::new(),
        &InterpreterSettings::default(),
        &RenderSettings::default(),
        &PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: WHITE,
        },
    );
    let (w, h, rgba) = marker().rgba(&spec, 150).unwrap();
    assert!((i64::from(pixmap.width()) - i64::from(w)).abs() <= 1);
    assert!((i64::from(pixmap.height()) - i64::from(h)).abs() <= 1);
    let drawn = pixmap.data_as_u8_slice();
    let (pw, ph) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
    let mut differing = 0u32;
    let mut total = 0u32;
    for y in 0..h.min(ph) {
        for x in 0..w.min(pw) {
            let i = ((y * w + x) * 4) as usize;
            // The PNG over white.
            let alpha = u32::from(rgba[i + 3]);
            let png_grey = (0..3)
                .map(|c| (u32::from(rgba[i + c]) * alpha + 255 * (255 - alpha)) / 255)
                .sum::<u32>()
                / 3;
            let j = ((y * pw + x) * 4) as usize;
            let pdf_grey = (0..3).map(|c| u32::from(drawn[j + c])).sum::<u32>() / 3;
            total += 1;
            if png_grey.abs_diff(pdf_grey) > 96 {
                differing += 1;
            }
        }
    }
    assert!(
        f64::from(differing) / f64::from(total) < 0.02,
        "{differing} of {total} pixels differ"
    );
}

#[test]
fn sizes_are_checked() {
    let marker = marker();
    // The offline form squeezed into 20 mm: 61 modules of 0.33 mm.
    let mut spec = mark_spec(QrForm::Offline, 6);
    spec.qr_size_mm = 20.0;
    match marker.svg(&spec) {
        Err(StampMarkError::QrModuleTooSmall {
            version,
            module_mm,
            needed_mm,
            ..
        }) => {
            assert_eq!(version, 9);
            assert!(module_mm < MIN_QR_MODULE_MM);
            assert!((needed_mm - 61.0 * 0.4).abs() < 1e-3);
        }
        other => panic!("expected QrModuleTooSmall, got {other:?}"),
    }
    // A token too long for the short-URL form's version 4.
    let spec = StampMarkSpec::new(seal(), QrForm::ShortUrl, offline_text(1, 240), "1234");
    assert!(matches!(
        marker.png(&spec, 300),
        Err(StampMarkError::Qr(QrError::TooLong {
            needed: 9,
            max: 4,
            ..
        }))
    ));
    // The numeric code must be digits.
    let spec = StampMarkSpec::new(seal(), QrForm::ShortUrl, url_text(1), "1234 5678");
    assert!(matches!(
        marker.pdf(&spec),
        Err(StampMarkError::NumericCode(_))
    ));
    let good = mark_spec(QrForm::ShortUrl, 6);
    for (field, value) in [
        ("qr", 5.0),
        ("qr", f32::NAN),
        ("text", 20.0),
        ("module", 0.2),
    ] {
        let mut spec = good.clone();
        match field {
            "qr" => spec.qr_size_mm = value,
            "text" => spec.code_text_mm = value,
            _ => spec.barcode_module_mm = value,
        }
        assert!(
            matches!(
                marker.svg(&spec),
                Err(StampMarkError::SizeOutOfRange { .. })
            ),
            "{field} = {value}"
        );
    }
    assert!(matches!(
        marker.png(&good, 50),
        Err(StampMarkError::DpiOutOfRange { dpi: 50 })
    ));
    // A larger QR code is fine, and so is leaving the barcode out.
    let mut spec = good.clone();
    spec.qr_size_mm = 30.0;
    spec.barcode = false;
    let layout = marker.layout(&spec).unwrap();
    assert_eq!(layout.barcode, None);
    assert!(layout.height_mm < marker.layout(&good).unwrap().height_mm);
}
