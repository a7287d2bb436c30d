//! The seal model: sizes at a given dpi, transparency and colour, the SVG, the checks on
//! input and the errors when no CJK font is available.

use std::path::Path;

use resvg::usvg;
use seal_docs::seal_image::SEAL_RED;
use seal_docs::{SealField, SealImageError, SealRenderer, SealShape, SealSpec};

use crate::golden::{renderer, spec};

fn contract_seal(shape: SealShape) -> SealSpec {
    spec(
        "北京星河科技有限公司",
        "合同专用章",
        "1101080056789",
        shape,
        true,
    )
}

const ROUND_40: SealShape = SealShape::Round { diameter_mm: 40.0 };

fn decode(png: &[u8]) -> image::RgbaImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("the output is a PNG")
        .into_rgba8()
}

#[test]
fn pixel_sizes_follow_the_millimetres_and_the_dpi() {
    let cases = [
        (ROUND_40, 300, (472, 472)),
        (ROUND_40, 600, (945, 945)),
        (SealShape::Round { diameter_mm: 42.0 }, 300, (496, 496)),
        (
            SealShape::Oval {
                width_mm: 45.0,
                height_mm: 30.0,
            },
            300,
            (531, 354),
        ),
        (
            SealShape::Oval {
                width_mm: 45.0,
                height_mm: 30.0,
            },
            600,
            (1063, 709),
        ),
        (SealShape::Square { side_mm: 25.0 }, 600, (591, 591)),
    ];
    for (shape, dpi, expected) in cases {
        let spec = contract_seal(shape);
        let spec = if matches!(shape, SealShape::Square { .. }) {
            SealSpec {
                seal_name: "张伟之印".into(),
                ..spec
            }
        } else {
            spec
        };
        let image = decode(&renderer().png(&spec, dpi).unwrap());
        assert_eq!(image.dimensions(), expected, "{shape:?} at {dpi} dpi");
        let bitmap = renderer().bitmap(&spec, dpi).unwrap();
        assert_eq!((bitmap.width, bitmap.height), expected);
        assert_eq!(bitmap.rgba.len(), (expected.0 * expected.1 * 4) as usize);
    }
}

#[test]
fn the_png_records_its_resolution_for_printing_at_true_size() {
    let png = renderer().png(&contract_seal(ROUND_40), 600).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let reader = decoder.read_info().unwrap();
    let dims = reader.info().pixel_dims.expect("a pHYs chunk");
    assert_eq!(dims.unit, png::Unit::Meter);
    assert_eq!((dims.xppu, dims.yppu), (23_622, 23_622));
}

#[test]
fn the_png_is_red_ink_on_a_transparent_background() {
    let image = decode(&renderer().png(&contract_seal(ROUND_40), 300).unwrap());
    let total = image.pixels().count() as f64;
    let transparent = image.pixels().filter(|p| p.0[3] == 0).count() as f64;
    let opaque: Vec<_> = image.pixels().filter(|p| p.0[3] == 255).collect();
    assert!(
        transparent / total > 0.55,
        "only {:.0} % transparent",
        100.0 * transparent / total
    );
    assert!(
        opaque.len() as f64 / total > 0.12,
        "only {} opaque pixels",
        opaque.len()
    );
    let red = u8::from_str_radix(&SEAL_RED[1..3], 16).unwrap();
    for pixel in opaque {
        let [r, g, b, _] = pixel.0;
        assert!(
            r.abs_diff(red) <= 2 && g <= 2 && b <= 17,
            "an opaque pixel that is not seal red: {pixel:?}"
        );
    }
    // The corners of a round seal stay clear, the ring passes through the middle of
    // each side, and the star fills the centre.
    assert_eq!(image.get_pixel(2, 2).0[3], 0);
    assert!(image.get_pixel(236, 3).0[3] > 200, "ring at the top");
    assert!(image.get_pixel(3, 236).0[3] > 200, "ring at the left");
    assert!(image.get_pixel(236, 236).0[3] > 200, "star in the centre");
}

#[test]
fn the_svg_is_in_millimetres_and_needs_no_font() {
    let svg = renderer().svg(&contract_seal(ROUND_40)).unwrap();
    assert!(
        svg.starts_with(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="0 0 40 40">"#
        ),
        "{}",
        &svg[..200.min(svg.len())]
    );
    assert!(!svg.contains("<text"), "text is turned into outlines");
    assert!(svg.contains(SEAL_RED));
    // It parses back with no fonts at all and draws the same picture.
    let tree = usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
    // usvg reads millimetres at 96 px to the inch.
    let mm = tree.size().width() * 25.4 / 96.0;
    assert!((mm - 40.0).abs() < 1e-3, "{mm} mm");
    assert_eq!(tree.size().width(), tree.size().height());
    let scale = 472.0 / tree.size().width();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(472, 472).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let direct = renderer().bitmap(&contract_seal(ROUND_40), 300).unwrap();
    let differing = pixmap
        .pixels()
        .iter()
        .zip(direct.rgba.chunks_exact(4))
        .filter(|(p, d)| p.alpha().abs_diff(d[3]) > 48)
        .count();
    assert!(
        differing < 472 * 472 / 200,
        "{differing} pixels differ between the SVG and the PNG"
    );
}

#[test]
fn every_shape_draws_and_xml_specials_are_escaped() {
    let shapes = [
        SealShape::Round { diameter_mm: 20.0 },
        SealShape::Round { diameter_mm: 60.0 },
        SealShape::Oval {
            width_mm: 45.0,
            height_mm: 30.0,
        },
        SealShape::Square { side_mm: 10.0 },
    ];
    for shape in shapes {
        for star in [true, false] {
            let spec = spec("A&B<\"C'>科技有限公司", "章<&>", "", shape, star);
            let svg = renderer().svg(&spec).unwrap();
            usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
            renderer().png(&spec, 72).unwrap();
        }
    }
    // Names of one character to the longest allowed.
    for n in [1, 2, 4, 18, 40] {
        let name: String = "印".repeat(n);
        renderer()
            .png(&spec(&name, "", "", ROUND_40, true), 72)
            .unwrap();
    }
    for n in 1..=9 {
        let name: String = "印".repeat(n);
        let square = spec("", &name, "", SealShape::Square { side_mm: 25.0 }, false);
        renderer().png(&square, 72).unwrap();
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let good = contract_seal(ROUND_40);
    let render = |spec: SealSpec| renderer().png(&spec, 150).unwrap_err();

    let error = render(SealSpec {
        org_name: String::new(),
        ..good.clone()
    });
    assert!(
        matches!(
            error,
            SealImageError::Empty {
                field: SealField::OrgName
            }
        ),
        "{error}"
    );
    assert_eq!(error.to_string(), "the organisation name is empty");

    let error = render(SealSpec {
        org_name: "  ".into(),
        ..good.clone()
    });
    assert!(matches!(error, SealImageError::Empty { .. }), "{error}");

    let error = render(SealSpec {
        org_name: "印".repeat(41),
        ..good.clone()
    });
    assert!(
        matches!(
            error,
            SealImageError::TooLong {
                field: SealField::OrgName,
                actual: 41,
                max: 40
            }
        ),
        "{error}"
    );

    let error = render(SealSpec {
        seal_name: "张伟之印章印章印章印".into(),
        shape: SealShape::Square { side_mm: 25.0 },
        ..good.clone()
    });
    assert!(
        matches!(
            error,
            SealImageError::TooLong {
                field: SealField::SealName,
                max: 9,
                ..
            }
        ),
        "{error}"
    );

    let error = render(SealSpec {
        seal_name: String::new(),
        shape: SealShape::Square { side_mm: 25.0 },
        ..good.clone()
    });
    assert!(
        matches!(
            error,
            SealImageError::Empty {
                field: SealField::SealName
            }
        ),
        "{error}"
    );

    let error = render(SealSpec {
        code: "3101 150".into(),
        ..good.clone()
    });
    assert!(
        matches!(
            error,
            SealImageError::InvalidCharacter {
                field: SealField::Code,
                ch: ' '
            }
        ),
        "{error}"
    );

    let error = render(SealSpec {
        org_name: "北京\u{7}科技".into(),
        ..good.clone()
    });
    assert!(
        matches!(error, SealImageError::InvalidCharacter { .. }),
        "{error}"
    );

    let error = render(SealSpec {
        org_name: "北京😀科技有限公司".into(),
        ..good.clone()
    });
    assert!(
        matches!(error, SealImageError::MissingGlyph { ch: '😀', .. }),
        "{error}"
    );
    assert!(error.to_string().contains("Noto Serif CJK SC"), "{error}");

    for diameter_mm in [19.9, 60.5, f32::NAN, f32::INFINITY, -40.0] {
        let error = render(SealSpec {
            shape: SealShape::Round { diameter_mm },
            ..good.clone()
        });
        assert!(
            matches!(
                error,
                SealImageError::SizeOutOfRange {
                    what: "diameter",
                    ..
                }
            ),
            "{error}"
        );
    }
    let error = render(SealSpec {
        shape: SealShape::Round { diameter_mm: 70.0 },
        ..good.clone()
    });
    assert_eq!(
        error.to_string(),
        "the diameter of 70 mm is outside 20–60 mm"
    );
    let error = render(SealSpec {
        shape: SealShape::Oval {
            width_mm: 30.0,
            height_mm: 45.0,
        },
        ..good.clone()
    });
    assert!(
        matches!(error, SealImageError::OvalUpright { .. }),
        "{error}"
    );
    let error = render(SealSpec {
        shape: SealShape::Square { side_mm: 5.0 },
        ..good.clone()
    });
    assert!(
        matches!(error, SealImageError::SizeOutOfRange { what: "side", .. }),
        "{error}"
    );

    for dpi in [0, 71, 1201] {
        let error = renderer().png(&good, dpi).unwrap_err();
        assert!(
            matches!(error, SealImageError::DpiOutOfRange { .. }),
            "{error}"
        );
    }
    // The edges of the ranges are accepted.
    renderer().png(&good, 72).unwrap();
    renderer()
        .svg(&SealSpec {
            shape: SealShape::Round { diameter_mm: 20.0 },
            ..good
        })
        .unwrap();
}

const MISSING_FONT: &str = "no CJK font found: install fonts-noto-cjk or fonts-wqy-microhei (apt-get install fonts-noto-cjk)";

#[test]
fn without_a_cjk_font_the_error_says_what_to_install() {
    let error = SealRenderer::from_fontdb(usvg::fontdb::Database::new()).unwrap_err();
    assert!(matches!(error, SealImageError::NoCjkFont));
    assert_eq!(error.to_string(), MISSING_FONT);

    // A font without Chinese characters is no better.
    let latin = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    ]
    .into_iter()
    .find(|path| Path::new(path).exists());
    let mut db = usvg::fontdb::Database::new();
    match latin {
        Some(path) => db.load_font_file(path).unwrap(),
        None => db.load_font_data(minimal_latin_font()),
    }
    let error = SealRenderer::from_fontdb(db).unwrap_err();
    assert_eq!(error.to_string(), MISSING_FONT);
    if let Some(path) = latin {
        let error = SealRenderer::with_font_file(path).unwrap_err();
        assert_eq!(error.to_string(), MISSING_FONT);
    }

    let error = SealRenderer::with_font_file("/nonexistent/font.ttc").unwrap_err();
    assert!(matches!(error, SealImageError::FontFile { .. }), "{error}");
    assert!(
        error.to_string().contains("/nonexistent/font.ttc"),
        "{error}"
    );
}

/// Not a font at all: a database holding it has no CJK face either.
fn minimal_latin_font() -> Vec<u8> {
    b"not a font".to_vec()
}

#[test]
fn the_system_fonts_give_the_same_face_as_the_golden_images() {
    let system = SealRenderer::from_system_fonts().unwrap_or_else(|error| {
        panic!("{error} (the test machine must have fonts-noto-cjk installed)")
    });
    assert_eq!(system.font_family(), "Noto Serif CJK SC");
    assert_eq!(system.font_weight(), 700);
    assert_eq!(
        system.font_file(),
        Some(Path::new(crate::golden::GOLDEN_FONT))
    );
    let spec = contract_seal(ROUND_40);
    assert_eq!(
        system.png(&spec, 150).unwrap(),
        renderer().png(&spec, 150).unwrap()
    );
}
