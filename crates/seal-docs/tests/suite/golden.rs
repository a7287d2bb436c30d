//! Golden images: seals rendered now must match the reference PNGs under
//! `tests/golden/` within a small tolerance. `SEAL_DOCS_BLESS=1 cargo test -p seal-docs`
//! rewrites the references after a deliberate change (look at them before committing).
//!
//! The references are drawn with one font file, chosen by a fixed rule so that every
//! machine draws the same: Noto Serif CJK SC Bold from Debian's fonts-noto-cjk
//! ([`GOLDEN_FONT`]), the face `SealRenderer::from_system_fonts` picks when that package
//! is installed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use seal_docs::{SealRenderer, SealShape, SealSpec};

/// The font the references are drawn with.
pub const GOLDEN_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc";

/// Resolution of the references: small files, enough detail to catch a misplaced glyph.
const GOLDEN_DPI: u32 = 150;

/// A pixel differs when one of its channels differs by more than this.
const CHANNEL_TOLERANCE: u8 = 24;
/// The images match when at most this share of pixels differ.
const MAX_DIFFERING_SHARE: f64 = 0.005;

/// The renderer on the golden font, built once for the whole suite.
pub fn renderer() -> &'static SealRenderer {
    static RENDERER: OnceLock<SealRenderer> = OnceLock::new();
    RENDERER.get_or_init(|| {
        assert!(
            Path::new(GOLDEN_FONT).exists(),
            "the seal tests draw with {GOLDEN_FONT}, which is missing: install it with \
             `apt-get install fonts-noto-cjk` (or run `cargo xtask setup`)"
        );
        let renderer = SealRenderer::with_font_file(GOLDEN_FONT)
            .unwrap_or_else(|error| panic!("cannot use {GOLDEN_FONT}: {error}"));
        assert_eq!(renderer.font_family(), "Noto Serif CJK SC");
        assert_eq!(renderer.font_weight(), 700);
        renderer
    })
}

pub fn spec(org: &str, name: &str, code: &str, shape: SealShape, star: bool) -> SealSpec {
    SealSpec {
        org_name: org.to_owned(),
        seal_name: name.to_owned(),
        code: code.to_owned(),
        shape,
        star,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn failure_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            // crates/seal-docs → the workspace root.
            manifest
                .ancestors()
                .nth(2)
                .unwrap_or(manifest)
                .join("target")
        });
    target.join("seal-docs-golden")
}

/// Renders `spec` and compares it with `tests/golden/{name}.png`.
fn check(name: &str, spec: &SealSpec) {
    let actual_png = renderer()
        .png(spec, GOLDEN_DPI)
        .unwrap_or_else(|error| panic!("{name}: rendering failed: {error}"));
    let golden_path = golden_dir().join(format!("{name}.png"));
    if std::env::var_os("SEAL_DOCS_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&golden_path, &actual_png).unwrap();
        eprintln!("blessed {}", golden_path.display());
        return;
    }
    let golden_png = std::fs::read(&golden_path).unwrap_or_else(|error| {
        panic!(
            "{}: {error}; run `SEAL_DOCS_BLESS=1 cargo test -p seal-docs` to create it",
            golden_path.display()
        )
    });
    let golden = image::load_from_memory(&golden_png).unwrap().into_rgba8();
    let actual = image::load_from_memory(&actual_png).unwrap().into_rgba8();
    let failures = failure_dir();
    let keep_actual = || {
        std::fs::create_dir_all(&failures).unwrap();
        let path = failures.join(format!("{name}.actual.png"));
        std::fs::write(&path, &actual_png).unwrap();
        path
    };
    if golden.dimensions() != actual.dimensions() {
        let path = keep_actual();
        panic!(
            "{name}: the image is {:?} pixels, the golden {:?}; actual image in {}",
            actual.dimensions(),
            golden.dimensions(),
            path.display()
        );
    }
    let mut diff = image::RgbaImage::new(golden.width(), golden.height());
    let mut differing = 0_u64;
    let mut worst = 0_u8;
    for ((g, a), d) in golden.pixels().zip(actual.pixels()).zip(diff.pixels_mut()) {
        let delta =
            g.0.iter()
                .zip(a.0)
                .map(|(&x, y)| x.abs_diff(y))
                .max()
                .unwrap_or(0);
        worst = worst.max(delta);
        *d = if delta > CHANNEL_TOLERANCE {
            differing += 1;
            image::Rgba([255, 0, 255, 255])
        } else if a.0[3] > 0 {
            image::Rgba([200, 200, 200, 255])
        } else {
            image::Rgba([255, 255, 255, 255])
        };
    }
    let total = u64::from(golden.width()) * u64::from(golden.height());
    let share = differing as f64 / total as f64;
    if share > MAX_DIFFERING_SHARE {
        let actual_path = keep_actual();
        let diff_path = failures.join(format!("{name}.diff.png"));
        diff.save(&diff_path).unwrap();
        panic!(
            "{name}: {differing} of {total} pixels ({:.2} %) differ by more than {CHANNEL_TOLERANCE} \
             in a channel (worst {worst}); at most {:.2} % may. Actual image: {}; differences \
             (magenta): {}; golden: {}. If the change is intended, look at the actual image and \
             run `SEAL_DOCS_BLESS=1 cargo test -p seal-docs`.",
            share * 100.0,
            MAX_DIFFERING_SHARE * 100.0,
            actual_path.display(),
            diff_path.display(),
            golden_path.display()
        );
    }
}

#[test]
fn round_contract_seal_matches_its_golden_image() {
    check(
        "round_40mm",
        &spec(
            "北京星河科技有限公司",
            "合同专用章",
            "1101080056789",
            SealShape::Round { diameter_mm: 40.0 },
            true,
        ),
    );
}

#[test]
fn round_seal_with_a_long_name_matches_its_golden_image() {
    check(
        "round_42mm_long_name",
        &spec(
            "上海浦东新区海纳百川信息科技股份有限公司",
            "财务专用章",
            "3101150012345",
            SealShape::Round { diameter_mm: 42.0 },
            true,
        ),
    );
}

#[test]
fn oval_invoice_seal_matches_its_golden_image() {
    check(
        "oval_40x30mm",
        &spec(
            "深圳市南山区云帆电子商务有限公司",
            "发票专用章",
            "91440300MA5F12345X",
            SealShape::Oval {
                width_mm: 40.0,
                height_mm: 30.0,
            },
            false,
        ),
    );
}

#[test]
fn square_name_seal_matches_its_golden_image() {
    check(
        "square_22mm",
        &spec(
            "杭州西湖文化传媒有限公司",
            "王建国印",
            "",
            SealShape::Square { side_mm: 22.0 },
            false,
        ),
    );
}
