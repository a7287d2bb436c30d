//! An independent reader, zbarimg (Debian's zbar-tools), reads the printed codes at
//! their true size: the mark's PNG at 300 and 600 dpi, the QR code (20 mm short URL,
//! 26 mm offline token) to the exact text, and the Code 128 barcode.

use std::path::PathBuf;
use std::process::Command;

use seal_docs::QrForm;

use crate::stamp_marks::corpus::mark_spec;
use crate::stamp_marks::marker;

/// Runs zbarimg on a PNG with `args` and returns what it printed.
fn zbarimg(png: &[u8], name: &str, args: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("seal-docs-zbar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, png).unwrap();
    let output = match Command::new("zbarimg").args(args).arg(&path).output() {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "zbarimg is missing: run `cargo xtask setup` (it installs Debian's zbar-tools, \
             /usr/bin/zbarimg)"
        ),
        Err(error) => panic!("cannot run zbarimg: {error}"),
    };
    assert!(
        output.status.success(),
        "zbarimg found nothing in {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_file(&path);
    // Removed once the last test's file is gone; kept with a failing test's file.
    let _ = std::fs::remove_dir(&dir);
    String::from_utf8(output.stdout).unwrap()
}

fn reads_the_qr_code(form: QrForm, seed: u64) {
    let spec = mark_spec(form, seed);
    for dpi in [300, 600] {
        let png = marker().png(&spec, dpi).unwrap();
        let name = format!("{form:?}-{dpi}.png");
        let raw = zbarimg(
            &png,
            &name,
            &["--raw", "-q", "-Sdisable", "-Sqrcode.enable"],
        );
        assert_eq!(
            raw.strip_suffix('\n').unwrap_or(&raw),
            spec.qr_text,
            "{form:?} at {dpi} dpi"
        );
    }
}

#[test]
fn zbarimg_reads_the_20mm_short_url_at_300_and_600_dpi() {
    let spec = mark_spec(QrForm::ShortUrl, 21);
    assert_eq!(spec.qr_size_mm, 20.0);
    reads_the_qr_code(QrForm::ShortUrl, 21);
}

#[test]
fn zbarimg_reads_the_26mm_offline_token_at_300_and_600_dpi() {
    let spec = mark_spec(QrForm::Offline, 22);
    assert_eq!(spec.qr_size_mm, 26.0);
    assert_eq!(spec.qr_text.len(), 240);
    reads_the_qr_code(QrForm::Offline, 22);
}

#[test]
fn zbarimg_reads_the_code_128_barcode() {
    for (form, seed) in [(QrForm::ShortUrl, 23), (QrForm::Offline, 24)] {
        let spec = mark_spec(form, seed);
        for dpi in [300, 600] {
            let png = marker().png(&spec, dpi).unwrap();
            let out = zbarimg(&png, &format!("barcode-{form:?}-{dpi}.png"), &["-q"]);
            let expected = format!("CODE-128:{}", spec.numeric_code);
            assert!(
                out.lines().any(|line| line == expected),
                "{expected} not in {out:?} at {dpi} dpi"
            );
            // Both codes are found, each once.
            assert_eq!(out.lines().count(), 2, "{out:?}");
        }
    }
}
