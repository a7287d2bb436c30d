//! Reads one page with the OCR engine and prints its lines and the timings.
//!
//! ```text
//! cargo run --release -p seal-docs --example ocr_page -- FILE [--page N] [--dpi D]
//!     [--repeat N] [--max-side PX] [--set NAME=VALUE]... [--instances N] [--threads N]
//! ```
//!
//! FILE is a PNG or JPEG image, or a PDF whose page N (1-based, default 1) is drawn with
//! hayro at D dpi (default 200). The models come from `$SEALKEEPER_OCR_DIR` or the default
//! folder (`cargo xtask setup` installs them). `--max-side` overrides the detection size
//! and `--set NAME=VALUE` the other detection parameters (padding, box_score_thresh,
//! box_thresh, unclip_ratio, do_angle, most_angle), to measure other settings;
//! `--repeat` reads the page N times and prints each time.

#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;
use seal_docs::ocr::{OcrEngine, OcrOptions};
use seal_docs::page::TextReader;

struct Args {
    file: String,
    page: usize,
    dpi: f32,
    repeat: usize,
    max_side: Option<u32>,
    /// `name=value` overrides of the other detection parameters.
    params: Vec<(String, String)>,
    instances: usize,
    threads: usize,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ocr_page: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        file: String::new(),
        page: 1,
        dpi: 200.0,
        repeat: 1,
        max_side: None,
        params: Vec::new(),
        instances: 1,
        threads: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value"))
                .and_then(|v| v.parse::<f32>().map_err(|e| format!("{name} {v}: {e}")))
        };
        match arg.as_str() {
            "--page" => args.page = value("--page")? as usize,
            "--dpi" => args.dpi = value("--dpi")?,
            "--repeat" => args.repeat = (value("--repeat")? as usize).max(1),
            "--max-side" => args.max_side = Some(value("--max-side")? as u32),
            "--instances" => args.instances = (value("--instances")? as usize).max(1),
            "--threads" => args.threads = (value("--threads")? as usize).max(1),
            "--set" => {
                let pair = it.next().ok_or("--set needs name=value")?;
                let (name, v) = pair.split_once('=').ok_or("--set needs name=value")?;
                args.params.push((name.to_owned(), v.to_owned()));
            }
            "-h" | "--help" => {
                return Err("usage: ocr_page FILE [--page N] [--dpi D] [--repeat N] [--max-side PX] [--set NAME=VALUE]... [--instances N] [--threads N]".to_owned());
            }
            _ if args.file.is_empty() => args.file = arg,
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    if args.file.is_empty() {
        return Err("no file given; see --help".to_owned());
    }
    Ok(args)
}

fn run() -> Result<(), String> {
    let args = parse()?;
    let started = Instant::now();
    let page = load_page(&args)?;
    println!(
        "page: {}×{} px, decoded in {:.0} ms",
        page.width(),
        page.height(),
        started.elapsed().as_secs_f64() * 1000.0
    );

    let mut options = OcrOptions {
        instances: args.instances,
        threads_per_instance: args.threads,
        ..OcrOptions::default()
    };
    if let Some(max_side) = args.max_side {
        options.detection.max_side_len = max_side;
    }
    for (name, value) in &args.params {
        let d = &mut options.detection;
        let number = || {
            value
                .parse::<f32>()
                .map_err(|e| format!("{name}={value}: {e}"))
        };
        let flag = || {
            value
                .parse::<bool>()
                .map_err(|e| format!("{name}={value}: {e}"))
        };
        match name.as_str() {
            "padding" => d.padding = number()? as u32,
            "box_score_thresh" => d.box_score_thresh = number()?,
            "box_thresh" => d.box_thresh = number()?,
            "unclip_ratio" => d.unclip_ratio = number()?,
            "do_angle" => d.do_angle = flag()?,
            "most_angle" => d.most_angle = flag()?,
            other => return Err(format!("unknown parameter `{other}`")),
        }
    }
    let started = Instant::now();
    let engine = OcrEngine::load(&options).map_err(|e| e.to_string())?;
    println!(
        "engine: {} instance(s) × {} thread(s) from {}, loaded in {:.0} ms; {:?}",
        engine.instances(),
        options.threads_per_instance,
        engine.models_dir().display(),
        started.elapsed().as_secs_f64() * 1000.0,
        engine.detection()
    );

    let engine = Arc::new(engine);
    let mut lines = Vec::new();
    for round in 1..=args.repeat {
        let started = Instant::now();
        let cpu = process_cpu_seconds();
        lines = engine.read(&page).map_err(|e| e.to_string())?;
        let cpu = match (cpu, process_cpu_seconds()) {
            (Some(before), Some(after)) => format!(", {:.0} ms of CPU", (after - before) * 1000.0),
            _ => String::new(),
        };
        println!(
            "read {round}: {} lines in {:.0} ms{cpu}",
            lines.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    for line in &lines {
        let b = line.bounds();
        println!(
            "{:5.3} [{:5.0},{:5.0} {:5.0}×{:4.0}] {}",
            line.score, b.x, b.y, b.width, b.height, line.text
        );
    }
    Ok(())
}

/// User + system CPU time of this process so far, from `/proc/self/stat` (Linux; 10 ms
/// resolution): on a busy machine it says more than the wall clock.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn load_page(args: &Args) -> Result<RgbImage, String> {
    let bytes = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file))?;
    if bytes.starts_with(b"%PDF") {
        return render_pdf_page(bytes, args.page, args.dpi);
    }
    image::load_from_memory(&bytes)
        .map(|image| image.to_rgb8())
        .map_err(|e| format!("{}: {e}", args.file))
}

fn render_pdf_page(bytes: Vec<u8>, number: usize, dpi: f32) -> Result<RgbImage, String> {
    use hayro::hayro_interpret::InterpreterSettings;
    use hayro::hayro_syntax::Pdf;
    use hayro::vello_cpu::color::palette::css::WHITE;
    use hayro::{PixmapSettings, RenderCache, RenderSettings};

    let pdf = Pdf::new(Arc::new(bytes)).map_err(|e| format!("not a readable PDF: {e:?}"))?;
    let pages = pdf.pages();
    let page = pages
        .get(number.saturating_sub(1))
        .ok_or_else(|| format!("the PDF has {} page(s), no page {number}", pages.len()))?;
    let scale = dpi / 72.0;
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
    let png = pixmap.into_png().map_err(|e| format!("{e:?}"))?;
    image::load_from_memory(&png)
        .map(|image| image.to_rgb8())
        .map_err(|e| e.to_string())
}
