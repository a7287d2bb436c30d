//! Generates a small corpus (18 pairs at 30 dpi) into a temporary directory twice and
//! checks the manifest: every file exists and decodes, every kind is there, labels and
//! boxes are consistent, and the same seed gives a byte-identical manifest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use seal_corpus::{Kind, Options};
use serde_json::Value;

fn generate(dir: &Path, seed: u64) -> Value {
    let options = Options {
        out: dir.to_path_buf(),
        pairs: 18,
        seed,
        dpi: 30,
        kinds: Vec::new(),
        only_clean: false,
        progress: false,
    };
    seal_corpus::generate(&options).expect("generate the corpus (needs fonts-noto-cjk)");
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn small_corpus_is_complete_consistent_and_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let manifest = generate(a.path(), 42);
    assert!(a.path().join("README.txt").exists());
    assert_eq!(manifest["format"], "sealkeeper-corpus/1");
    assert_eq!(manifest["dpi"], 30);
    let page_w = f(&manifest["page_size_px"][0]);
    let page_h = f(&manifest["page_size_px"][1]);

    // Documents: every file exists and decodes; PDFs carry a text layer.
    let docs = manifest["documents"].as_array().unwrap();
    assert!(docs.len() >= 4);
    let mut formats = BTreeMap::new();
    for doc in docs {
        let format = doc["format"].as_str().unwrap();
        *formats.entry(format.to_owned()).or_insert(0) += 1;
        let files = doc["files"].as_array().unwrap();
        let pages = doc["pages"].as_u64().unwrap() as usize;
        assert_eq!(doc["page_texts"].as_array().unwrap().len(), pages);
        if format == "pdf" {
            assert_eq!(files.len(), 1);
            let bytes = std::fs::read(a.path().join(files[0].as_str().unwrap())).unwrap();
            assert!(bytes.starts_with(b"%PDF-"));
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.contains("/ToUnicode"), "PDF text layer");
        } else {
            assert_eq!(files.len(), pages);
            for file in files {
                let img = image::open(a.path().join(file.as_str().unwrap())).unwrap();
                assert_eq!((img.width() as f64, img.height() as f64), (page_w, page_h));
            }
        }
    }
    assert!(formats.get("pdf").copied().unwrap_or(0) >= 1, "{formats:?}");
    assert!(formats.get("png").copied().unwrap_or(0) >= 1, "{formats:?}");

    // Pairs: kinds, labels, files, boxes.
    let pairs = manifest["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 18);
    let mut kinds = BTreeMap::new();
    for pair in pairs {
        let kind: Kind = serde_json::from_value(pair["kind"].clone()).unwrap();
        *kinds.entry(kind).or_insert(0) += 1;
        let changes = pair["changes"].as_array().unwrap();
        if kind == Kind::Genuine {
            assert_eq!(pair["label"], "genuine");
            assert!(changes.is_empty());
        } else {
            assert_eq!(pair["label"], "tampered");
            assert_eq!(changes.len(), 1, "{pair}");
            let c = &changes[0];
            assert!(c["before"] != c["after"], "{pair}");
            let approved = c["approved_box"].as_array().expect("approved box");
            let (x0, y0, x1, y1) = (
                f(&approved[0]),
                f(&approved[1]),
                f(&approved[2]),
                f(&approved[3]),
            );
            assert!(
                0.0 <= x0 && x0 <= x1 && x1 <= page_w && 0.0 <= y0 && y0 <= y1 && y1 <= page_h,
                "{pair}"
            );
            let quad = c["capture_quad"].as_array().expect("capture quad");
            let size = &pair["effects"]["size"];
            for corner in quad {
                let (x, y) = (f(&corner[0]), f(&corner[1]));
                assert!(
                    x >= -1.0 && x <= f(&size[0]) + 1.0 && y >= -1.0 && y <= f(&size[1]) + 1.0,
                    "{pair}"
                );
            }
            match kind {
                Kind::AmountDigit | Kind::Date | Kind::Name | Kind::Clause => {
                    assert_eq!(c["scope"], "span");
                    let page = pair["page"].as_u64().unwrap() as usize;
                    let doc = docs.iter().find(|d| d["id"] == pair["document"]).unwrap();
                    let text = doc["page_texts"][page].as_str().unwrap();
                    assert!(text.contains(c["before"].as_str().unwrap()), "{pair}");
                }
                Kind::SwappedPage | Kind::Blank => assert_eq!(c["scope"], "page"),
                _ => assert!(c["scope"] == "line" || c["scope"] == "row"),
            }
        }
        let capture = image::open(a.path().join(pair["capture"].as_str().unwrap())).unwrap();
        let size = &pair["effects"]["size"];
        assert_eq!(capture.width() as f64, f(&size[0]));
        assert_eq!(capture.height() as f64, f(&size[1]));
        // Long side 10–16 × dpi.
        let long = capture.width().max(capture.height());
        assert!((300..=480).contains(&long), "{long}");
        let effects = &pair["effects"];
        assert!(effects["mode"] == "photo" || effects["mode"] == "scan");
        assert!(f(&effects["rotation_deg"]).abs() <= 15.0);
        assert!(f(&effects["perspective"]) <= 0.08);
        assert!(f(&effects["blur_sigma_200dpi"]) <= 1.5);
        let q = f(&effects["jpeg_quality"]);
        assert!((50.0..=90.0).contains(&q));
        let approved = pair["approved_files"].as_array().unwrap();
        assert!(!approved.is_empty());
        assert!(a.path().join(approved[0].as_str().unwrap()).exists());
    }
    assert_eq!(kinds.get(&Kind::Genuine), Some(&9), "{kinds:?}");
    for kind in Kind::ALL {
        assert!(
            kinds.get(&kind).copied().unwrap_or(0) >= 1,
            "{kind:?} missing: {kinds:?}"
        );
    }

    // Same seed, same corpus.
    let again = generate(b.path(), 42);
    assert_eq!(manifest, again);
    let first = std::fs::read(a.path().join("manifest.json")).unwrap();
    let second = std::fs::read(b.path().join("manifest.json")).unwrap();
    assert_eq!(first, second, "byte-identical manifest");
    for pair in pairs.iter().take(4) {
        let name = pair["capture"].as_str().unwrap();
        assert_eq!(
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap(),
            "{name} identical"
        );
    }
}

#[test]
fn kinds_filter_and_clean_captures() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        out: dir.path().to_path_buf(),
        pairs: 4,
        seed: 7,
        dpi: 30,
        kinds: vec![Kind::Date, Kind::Blank],
        only_clean: true,
        progress: false,
    };
    let manifest = seal_corpus::generate(&options).unwrap();
    assert_eq!(manifest.pairs.len(), 4);
    assert!(
        manifest
            .pairs
            .iter()
            .all(|p| matches!(p.kind, Kind::Date | Kind::Blank))
    );
    assert_eq!(manifest.counts.get("date"), Some(&2));
    for pair in &manifest.pairs {
        assert_eq!(pair.effects.mode, "clean");
        assert!(pair.effects.seal.is_none());
        assert!(pair.capture.ends_with(".png"));
        let img = image::open(dir.path().join(&pair.capture)).unwrap();
        assert_eq!(
            [img.width(), img.height()],
            [manifest.page_size_px[0], manifest.page_size_px[1]]
        );
    }
}
