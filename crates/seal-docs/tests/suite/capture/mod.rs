//! The capture suite: generated pages photographed on a desk through a tilted camera,
//! scanned crooked, lit unevenly, blurred, made noisy, saved as JPEG and stamped with
//! red seals, then prepared — the page must be found where it was put, come out upright
//! and like the original, lose its red ink but not the black text under it, and
//! degenerate inputs must give clean errors.

// Shared with examples/capture_preview.rs, which uses the parts the tests do not.
#[allow(dead_code)]
pub mod scenes;

use image::{Rgb, RgbImage};
use seal_docs::capture::{
    CaptureError, CaptureOptions, DEFAULT_BLANK_INK_RATIO, Prepared, is_blank, prepare,
    prepare_flat,
};

use scenes::{Desk, Rng, Shot, crooked_scan, photograph, press_seal, text_page};

/// The prepared pages' long side in most tests: small pages (A4 at 60 dpi) keep the
/// suite fast in debug builds.
const LONG: u32 = 700;

fn options() -> CaptureOptions {
    CaptureOptions {
        target_long_side: LONG,
        ..CaptureOptions::default()
    }
}

/// With `SEAL_DOCS_CAPTURE_DUMP=DIR`, writes the original page, the input and the
/// prepared page there.
fn dump(name: &str, original: &RgbImage, input: &RgbImage, prepared: &Prepared) {
    if let Some(dir) = std::env::var_os("SEAL_DOCS_CAPTURE_DUMP") {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        let name: String = name
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .collect();
        original
            .save(dir.join(format!("{name}.original.png")))
            .unwrap();
        input.save(dir.join(format!("{name}.png"))).unwrap();
        prepared
            .page
            .save(dir.join(format!("{name}.page.png")))
            .unwrap();
    }
}

/// Grid of cells both pages are compared on (columns, rows).
const GRID: (u32, u32) = (30, 42);

/// Which cells of `image` (divided into [`GRID`] cells) hold ink.
fn ink_cells(image: &RgbImage) -> Vec<bool> {
    let (w, h) = image.dimensions();
    let mut dark = vec![0u32; (GRID.0 * GRID.1) as usize];
    let mut all = vec![0u32; (GRID.0 * GRID.1) as usize];
    for (x, y, p) in image.enumerate_pixels() {
        let cell = ((y * GRID.1 / h) * GRID.0 + x * GRID.0 / w) as usize;
        all[cell] += 1;
        let luma = (299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000;
        if luma < 128 {
            dark[cell] += 1;
        }
    }
    dark.iter().zip(&all).map(|(&d, &a)| d * 25 > a).collect()
}

/// Share of [`GRID`] cells on which `a` and `b` agree about holding ink.
fn agreement(a: &RgbImage, b: &RgbImage) -> f32 {
    let (ca, cb) = (ink_cells(a), ink_cells(b));
    ca.iter().zip(&cb).filter(|(x, y)| x == y).count() as f32 / ca.len() as f32
}

fn worst_corner_error(truth: &[(f64, f64); 4], prepared: &Prepared) -> f64 {
    let found = prepared.corners.expect("the page's corners were found");
    truth
        .iter()
        .zip(&found)
        .map(|(t, f)| (t.0 - f64::from(f.x)).hypot(t.1 - f64::from(f.y)))
        .fold(0.0, f64::max)
}

fn assert_a4_portrait(page: &RgbImage) {
    assert_eq!(page.height(), LONG, "long side");
    let ratio = f64::from(page.height()) / f64::from(page.width());
    assert!(
        (ratio - std::f64::consts::SQRT_2).abs() < 0.01,
        "A4 ratio, got {ratio}"
    );
}

/// Width of the A4 test pages; [`LONG`] tall, like the prepared pages.
const PAGE_WIDTH: u32 = 495;

/// Photos of a page on a desk: the corners within 1.5 % of the frame's diagonal, the
/// page comes out A4, upright and like the original; the raw photo is nothing like it.
#[test]
fn finds_the_page_in_photos_and_corrects_the_perspective() {
    let page = text_page(PAGE_WIDTH, 36, 3);
    let base = Shot {
        fill: 0.82,
        falloff: 0.3,
        blur_sigma: 0.8,
        noise: 3.0,
        ..Shot::new((900, 675))
    };
    let shots = [
        ("straight on, dark desk", Shot { ..base.clone() }),
        (
            "tilted and turned, light oak, shadow",
            Shot {
                turn_deg: -9.0,
                tilt_deg: (22.0, 12.0),
                desk: Desk::LightWood,
                shadow: 0.35,
                offset: (0.05, -0.02),
                seed: 2,
                ..base.clone()
            },
        ),
        (
            "turned 14°, grey desk, JPEG",
            Shot {
                turn_deg: 14.0,
                tilt_deg: (-15.0, 8.0),
                fill: 0.75,
                desk: Desk::Grey,
                jpeg_quality: Some(80),
                seed: 3,
                ..base.clone()
            },
        ),
    ];
    for (name, shot) in shots {
        let (photo, truth) = photograph(&page, &shot);
        let prepared = prepare(&photo, &options()).expect(name);
        dump(name, &page, &photo, &prepared);
        let diag = f64::from(shot.size.0).hypot(f64::from(shot.size.1));
        let error = worst_corner_error(&truth, &prepared);
        assert!(
            error < 0.015 * diag,
            "{name}: a corner is {error:.1} px off"
        );
        assert_a4_portrait(&prepared.page);
        assert!(
            prepared.rotation_deg.abs() <= 1.0,
            "{name}: a corrected page needs no deskew, got {}",
            prepared.rotation_deg
        );
        let after = agreement(&prepared.page, &page);
        let before = agreement(&photo, &page);
        assert!(
            after >= 0.9,
            "{name}: prepared page agrees on {after:.3} of cells"
        );
        assert!(
            after > before + 0.2,
            "{name}: {before:.3} before, {after:.3} after"
        );
    }
}

/// A landscape page is found too and comes out landscape.
#[test]
fn a_landscape_page_stays_landscape() {
    let page = image::imageops::rotate90(&text_page(PAGE_WIDTH, 30, 11));
    let shot = Shot {
        fill: 0.6,
        tilt_deg: (12.0, 0.0),
        turn_deg: 4.0,
        ..Shot::new((900, 675))
    };
    let (photo, truth) = photograph(&page, &shot);
    let prepared = prepare(&photo, &options()).expect("prepared");
    dump("landscape", &page, &photo, &prepared);
    assert!(worst_corner_error(&truth, &prepared) < 0.015 * 900f64.hypot(675.0));
    assert_eq!(prepared.page.width(), LONG);
    let ratio = f64::from(prepared.page.width()) / f64::from(prepared.page.height());
    assert!((ratio - std::f64::consts::SQRT_2).abs() < 0.01, "{ratio}");
    assert!(agreement(&prepared.page, &page) >= 0.9);
}

/// Scans fed crooked (no page edges in the frame): the skew is found within half a
/// degree and turned back; the page is not cropped.
#[test]
fn deskews_crooked_scans() {
    let page = text_page(PAGE_WIDTH, 36, 5);
    for deg in [-13.0f32, 2.5, 9.0] {
        let scan = crooked_scan(&page, deg, 4);
        let prepared = prepare(&scan, &options()).expect("prepared");
        dump(&format!("crooked {deg}"), &page, &scan, &prepared);
        assert!(
            prepared.corners.is_none(),
            "{deg}°: a scan has no page edges"
        );
        assert!(
            (prepared.rotation_deg - deg).abs() <= 0.5,
            "{deg}°: found {}",
            prepared.rotation_deg
        );
        assert_a4_portrait(&prepared.page);
        let after = agreement(&prepared.page, &page);
        assert!(after >= 0.9, "{deg}°: {after:.3}");
    }
}

/// A straight flat scan comes out the same: same aspect ratio (not snapped to A4 when
/// it is not), uncropped, no skew.
#[test]
fn flat_scans_come_out_uncropped() {
    let page = text_page(PAGE_WIDTH, 36, 6);
    assert_eq!(page.height(), LONG);
    let prepared = prepare(&page, &options()).expect("prepared");
    assert!(prepared.corners.is_none());
    assert!(
        prepared.rotation_deg.abs() < 0.1,
        "{}",
        prepared.rotation_deg
    );
    assert_eq!(prepared.page.dimensions(), page.dimensions());
    assert!(agreement(&prepared.page, &page) >= 0.98);

    // US letter, 8.5 × 11: kept at its own ratio.
    let letter = image::imageops::crop_imm(&text_page(600, 36, 6), 0, 0, 600, 776).to_image();
    let prepared = prepare(&letter, &options()).expect("prepared");
    assert!(prepared.corners.is_none());
    assert_eq!(prepared.page.dimensions(), (541, LONG));
    assert!(agreement(&prepared.page, &letter) >= 0.98);

    // The same through `prepare_flat`, at the same size: every pixel stays ink or paper.
    let flat = prepare_flat(&page, &options());
    assert_eq!(flat.page.dimensions(), page.dimensions());
    let kept = page
        .pixels()
        .zip(flat.page.pixels())
        .filter(|(a, b)| (a[0] < 128) == (b[0] < 128))
        .count();
    assert!(kept as f64 > 0.999 * f64::from(page.width() * page.height()));
}

/// Share of pixels of `image` that look like red ink.
fn red_share(image: &RgbImage) -> f64 {
    let red = image
        .pixels()
        .filter(|p| i32::from(p[0]) - i32::from(p[1].max(p[2])) > 40)
        .count();
    red as f64 / f64::from(image.width() * image.height())
}

/// Red and pink seals over text: the red ink goes, the black text under it stays.
#[test]
fn removes_red_seal_ink_but_keeps_the_text_under_it() {
    let text = text_page(PAGE_WIDTH, 36, 8);
    let mut page = text.clone();
    let seals = [
        (330.0, 470.0, scenes::SEAL_RED),
        (150.0, 210.0, scenes::SEAL_PINK),
    ];
    for (x, y, ink) in seals {
        press_seal(&mut page, x, y, 96.0, ink);
    }
    // Scanned with a little unevenness, noise and JPEG.
    let mut rng = Rng::new(12);
    let mut scan = page.clone();
    for (x, _, p) in scan.enumerate_pixels_mut() {
        let light = 0.97 - 0.1 * x as f32 / PAGE_WIDTH as f32;
        for c in 0..3 {
            p[c] = (f32::from(p[c]) * light + rng.normal() * 3.0).clamp(0.0, 255.0) as u8;
        }
    }
    let scan = scenes::jpeg_round_trip(&scan, 85);
    let before = red_share(&scan);
    let prepared = prepare(&scan, &options()).expect("prepared");
    dump("red seals", &text, &scan, &prepared);
    assert_eq!(prepared.page.dimensions(), page.dimensions());
    assert!(
        prepared.rotation_deg.abs() < 0.1,
        "{}",
        prepared.rotation_deg
    );
    let after = red_share(&prepared.page);
    assert!(before > 0.01, "the seals cover {before:.4} of the scan");
    assert!(after < 0.0005, "red left: {after:.5} (was {before:.4})");
    assert!(
        f64::from(prepared.red_ratio) > 0.5 * before,
        "reported {} for {before:.4}",
        prepared.red_ratio
    );

    // Inside the seals: black text stays dark, seal-only ink becomes paper.
    let inside = |x: u32, y: u32| {
        seals
            .iter()
            .any(|&(cx, cy, _)| (cx - x as f32).hypot(cy - y as f32) < 47.0)
    };
    let (mut under, mut kept, mut seal_only, mut cleared) = (0, 0, 0, 0);
    for (x, y, out) in prepared.page.enumerate_pixels() {
        if !inside(x, y) {
            continue;
        }
        let (t, p) = (text.get_pixel(x, y), page.get_pixel(x, y));
        if t[0] < 100 {
            under += 1;
            kept += u32::from(out[0] < 128);
        } else if p[1] < 200 {
            seal_only += 1;
            cleared += u32::from(out[0] > 200);
        }
    }
    assert!(under > 500 && seal_only > 500, "{under} {seal_only}");
    assert!(
        f64::from(kept) > 0.9 * f64::from(under),
        "text under seals kept {kept}/{under}"
    );
    assert!(
        f64::from(cleared) > 0.95 * f64::from(seal_only),
        "seal ink cleared {cleared}/{seal_only}"
    );

    // Without removal, the red stays.
    let kept_red = prepare(
        &scan,
        &CaptureOptions {
            remove_red: false,
            ..options()
        },
    )
    .expect("prepared");
    assert_eq!(kept_red.red_ratio, 0.0);
    assert!(red_share(&kept_red.page) > 0.5 * before);
}

/// Blank pages (even with a seal pressed on them, even photographed on a desk) have
/// next to no ink; a line of text has some, a text page clearly more.
#[test]
fn blank_pages_have_no_ink() {
    let shot = Shot {
        tilt_deg: (15.0, 5.0),
        falloff: 0.3,
        shadow: 0.3,
        blur_sigma: 0.8,
        noise: 4.0,
        jpeg_quality: Some(85),
        ..Shot::new((900, 675))
    };
    let mut blank = text_page(PAGE_WIDTH, 0, 1);
    press_seal(&mut blank, 330.0, 520.0, 96.0, scenes::SEAL_RED);
    let (photo, _) = photograph(&blank, &shot);
    let prepared = prepare(&photo, &options()).expect("prepared");
    dump("blank", &blank, &photo, &prepared);
    assert!(prepared.corners.is_some(), "the blank page is found");
    assert!(
        prepared.ink_ratio < 0.0002,
        "blank page ink {}",
        prepared.ink_ratio
    );
    assert!(
        prepared.red_ratio > 0.002,
        "the seal was removed: {}",
        prepared.red_ratio
    );
    assert!(is_blank(&prepared, DEFAULT_BLANK_INK_RATIO));

    let (photo, _) = photograph(&text_page(PAGE_WIDTH, 1, 1), &shot);
    let one_line = prepare(&photo, &options()).expect("prepared").ink_ratio;
    let (photo, _) = photograph(&text_page(PAGE_WIDTH, 36, 1), &shot);
    let prepared = prepare(&photo, &options()).expect("prepared");
    assert!(
        one_line > 0.5 * DEFAULT_BLANK_INK_RATIO && one_line < 0.1 * prepared.ink_ratio,
        "one line: {one_line}, a page {}",
        prepared.ink_ratio
    );
    assert!(
        prepared.ink_ratio > 0.03,
        "text page ink {}",
        prepared.ink_ratio
    );
    assert!(!is_blank(&prepared, DEFAULT_BLANK_INK_RATIO));
}

/// Tiny, empty, black, white and odd-shaped inputs: clean errors or sane pages.
#[test]
fn degenerate_inputs_give_errors_not_panics() {
    let o = options();
    assert_eq!(
        prepare(&RgbImage::new(1, 1), &o).unwrap_err(),
        CaptureError::TooSmall {
            width: 1,
            height: 1
        }
    );
    assert!(matches!(
        prepare(&RgbImage::new(0, 0), &o),
        Err(CaptureError::TooSmall { .. })
    ));
    assert_eq!(
        prepare(&RgbImage::new(300, 200), &o).unwrap_err(),
        CaptureError::TooDark
    );
    let small_limit = CaptureOptions {
        max_pixels: 10_000,
        ..options()
    };
    assert!(matches!(
        prepare(&RgbImage::new(200, 200), &small_limit),
        Err(CaptureError::TooLarge {
            pixels: 40_000,
            max: 10_000
        })
    ));

    let white = RgbImage::from_pixel(300, 400, Rgb([250, 250, 250]));
    let prepared = prepare(&white, &o).expect("a white frame is a blank page");
    assert_eq!(prepared.page.dimensions(), (525, LONG));
    assert_eq!(prepared.ink_ratio, 0.0);

    for (w, h) in [(16, 16), (3000, 16), (16, 900)] {
        let image = RgbImage::from_fn(w, h, |x, y| Rgb([(x * 7) as u8, (y * 13) as u8, 128]));
        let prepared = prepare(&image, &o).expect("odd shapes are still pages");
        assert_eq!(prepared.page.width().max(prepared.page.height()), LONG);
    }

    let flat = prepare_flat(&RgbImage::new(0, 0), &o);
    assert_eq!(flat.page.dimensions(), (495, LONG));
    assert_eq!(flat.ink_ratio, 0.0);
    let flat = prepare_flat(&RgbImage::new(1, 1), &o);
    assert_eq!(flat.page.dimensions(), (LONG, LONG));
}

/// Random small images of random shapes: `prepare` never panics, and what it returns is
/// well-formed.
#[test]
fn random_images_never_panic() {
    let mut rng = Rng::new(99);
    let o = CaptureOptions {
        target_long_side: 200,
        ..CaptureOptions::default()
    };
    for case in 0..30 {
        let (w, h) = (1 + rng.below(200), 1 + rng.below(200));
        let colour = |rng: &mut Rng| Rgb([0, 0, 0].map(|_: u8| rng.below(256) as u8));
        let background = colour(&mut rng);
        let mut image = RgbImage::from_pixel(w, h, background);
        for _ in 0..rng.below(12) {
            let c = colour(&mut rng);
            let (x, y) = (i64::from(rng.below(w)), i64::from(rng.below(h)));
            let (rw, rh) = (i64::from(rng.below(w)), i64::from(rng.below(h)));
            scenes::fill_rect(&mut image, x, y, rw, rh, c);
        }
        let noise = rng.range(0.0, 60.0);
        for v in image.iter_mut() {
            *v = (f32::from(*v) + rng.normal() * noise).clamp(0.0, 255.0) as u8;
        }
        match prepare(&image, &o) {
            Ok(p) => {
                assert_eq!(p.page.width().max(p.page.height()), 200, "case {case}");
                assert!((0.0..=1.0).contains(&p.ink_ratio));
                assert!((0.0..=1.0).contains(&p.red_ratio));
                assert!(p.rotation_deg.abs() <= 15.0);
                if let Some(c) = p.corners {
                    assert!(c.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
                }
            }
            Err(CaptureError::TooSmall { .. }) => assert!(w < 16 || h < 16, "case {case}"),
            Err(CaptureError::TooDark) => {}
            Err(e) => panic!("case {case}: {e}"),
        }
        let flat = prepare_flat(&image, &o);
        assert_eq!(flat.page.width().max(flat.page.height()), 200);
    }
}
