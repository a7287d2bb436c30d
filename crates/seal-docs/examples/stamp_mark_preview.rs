//! Writes sample stamp marks (short-URL and offline QR forms, with the barcode) as SVG,
//! PNG at 300 dpi and PDF into a folder, to look at them:
//! `cargo run -p seal-docs --example stamp_mark_preview -- /tmp/marks`.

use seal_docs::{QrForm, SealRenderer, SealShape, SealSpec, StampMarkSpec, StampMarker};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/marks".to_owned());
    std::fs::create_dir_all(&dir)?;
    let marker = StampMarker::new(SealRenderer::from_system_fonts()?)?;
    let seal = SealSpec {
        org_name: "北京星河科技有限公司".into(),
        seal_name: "合同专用章".into(),
        code: "1101080056789".into(),
        shape: SealShape::Round { diameter_mm: 40.0 },
        star: true,
    };
    let offline_token = format!("SK1:{}", "6BFOXN*TS0BI$ZD.P9.AU0".repeat(11));
    let samples = [
        (
            "url",
            StampMarkSpec::new(
                seal.clone(),
                QrForm::ShortUrl,
                "HTTPS://SEAL.EXAMPLE.COM/V/ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                "12345678901234567890",
            )
            .with_barcode(),
        ),
        (
            "offline",
            StampMarkSpec::new(seal, QrForm::Offline, offline_token, "98765432109876543210")
                .with_barcode(),
        ),
    ];
    for (name, spec) in samples {
        let layout = marker.layout(&spec)?;
        println!(
            "{name}: {:.1} × {:.1} mm, QR version {} with {:.3} mm modules",
            layout.width_mm, layout.height_mm, layout.qr_version, layout.qr_module_mm
        );
        std::fs::write(format!("{dir}/{name}.svg"), marker.svg(&spec)?)?;
        std::fs::write(format!("{dir}/{name}.png"), marker.png(&spec, 300)?)?;
        std::fs::write(format!("{dir}/{name}.pdf"), marker.pdf(&spec)?)?;
    }
    println!("written to {dir}");
    Ok(())
}
