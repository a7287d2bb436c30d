//! Writes sample seals as PNG and SVG into a folder, to look at them:
//! `cargo run -p seal-docs --example seal_preview -- /tmp/seals`.

use seal_docs::{SealRenderer, SealShape, SealSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/seals".to_owned());
    std::fs::create_dir_all(&dir)?;
    let renderer = SealRenderer::from_system_fonts()?;
    println!(
        "font: {} weight {} from {:?}",
        renderer.font_family(),
        renderer.font_weight(),
        renderer.font_file()
    );
    let samples = [
        (
            "round_long",
            "上海浦东新区海纳百川信息科技股份有限公司",
            "合同专用章",
            "3101150012345",
            SealShape::Round { diameter_mm: 40.0 },
            true,
        ),
        (
            "round_mid",
            "北京星河科技有限公司",
            "财务专用章",
            "1101080056789",
            SealShape::Round { diameter_mm: 40.0 },
            true,
        ),
        (
            "round_short",
            "腾飞集团",
            "合同专用章",
            "4403050001234",
            SealShape::Round { diameter_mm: 40.0 },
            true,
        ),
        (
            "round_official",
            "杭州西湖文化传媒有限公司",
            "",
            "3301060098765",
            SealShape::Round { diameter_mm: 42.0 },
            true,
        ),
        (
            "oval_invoice",
            "深圳市南山区云帆电子商务有限公司",
            "发票专用章",
            "91440300MA5F12345X",
            SealShape::Oval {
                width_mm: 40.0,
                height_mm: 30.0,
            },
            false,
        ),
        (
            "oval_finance",
            "成都锦江实业有限公司",
            "财务专用章",
            "5101040023456",
            SealShape::Oval {
                width_mm: 45.0,
                height_mm: 30.0,
            },
            true,
        ),
        (
            "square3",
            "",
            "王建国印",
            "",
            SealShape::Square { side_mm: 22.0 },
            false,
        ),
        (
            "square_li",
            "",
            "李明印",
            "",
            SealShape::Square { side_mm: 20.0 },
            false,
        ),
        (
            "square2",
            "",
            "张伟",
            "",
            SealShape::Square { side_mm: 20.0 },
            false,
        ),
        (
            "square6",
            "",
            "欧阳建国之印",
            "",
            SealShape::Square { side_mm: 28.0 },
            false,
        ),
        (
            "round_small",
            "苏州工业园区小桥流水有限公司",
            "",
            "",
            SealShape::Round { diameter_mm: 20.0 },
            true,
        ),
        (
            "round_2",
            "中华",
            "专用章",
            "1",
            SealShape::Round { diameter_mm: 38.0 },
            true,
        ),
        (
            "round_nostar",
            "广州市天河区珠江新城物业管理有限公司",
            "合同专用章",
            "4401060001111",
            SealShape::Round { diameter_mm: 45.0 },
            false,
        ),
    ];
    for (file, org, name, code, shape, star) in samples {
        let spec = SealSpec {
            org_name: org.to_owned(),
            seal_name: name.to_owned(),
            code: code.to_owned(),
            shape,
            star,
        };
        let started = std::time::Instant::now();
        let png = renderer.png(&spec, 300)?;
        let took = started.elapsed();
        std::fs::write(format!("{dir}/{file}.png"), png)?;
        std::fs::write(format!("{dir}/{file}.svg"), renderer.svg(&spec)?)?;
        println!("{file}: {took:?}");
    }
    Ok(())
}
