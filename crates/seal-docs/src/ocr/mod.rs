//! OCR of page images: PP-OCRv4 detection, direction classification and recognition
//! (paddle-ocr-rs) through ONNX Runtime, loaded once from the models folder that
//! `cargo xtask setup` fills, and shared by concurrent callers through a small pool.
//!
//! [`status`] tells cheaply whether the files are installed (for `/readyz`);
//! [`OcrEngine::load`] checks them by SHA-256, initialises ONNX Runtime once per process
//! and loads the models into `instances` engines; [`OcrEngine`] is a [`TextReader`].

mod files;
mod lines;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};

use image::RgbImage;
use ort::execution_providers::CPUExecutionProvider;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use paddle_ocr_rs::base_net::BaseNet;
use paddle_ocr_rs::crnn_net::CrnnNet;
use paddle_ocr_rs::ocr_error::OcrError;
use paddle_ocr_rs::ocr_lite::OcrLite;

use crate::page::{PixelBox, ReadError, TextLine, TextReader, crop_rect};

pub use files::{
    CLASSIFIER_MODEL, DETECTION_MODEL, FileState, FileStatus, MANIFEST, MODELS_DIR_VAR,
    ManifestEntry, OcrStatus, RECOGNITION_MODEL, RUNTIME_LIBRARY, SETUP_COMMAND,
    default_models_dir, setup_command,
};

/// Images with more pixels than this are refused rather than read (an A4 page at 600 dpi
/// has 35 million).
pub const MAX_PIXELS: u64 = 64_000_000;

/// How the engine is loaded.
#[derive(Clone, Debug, PartialEq)]
pub struct OcrOptions {
    /// The folder with the files of [`MANIFEST`]; [`default_models_dir`] by default.
    pub models_dir: PathBuf,
    /// How many pages can be read at the same time. Each instance holds its own copy of
    /// the three models and its working memory: about 400 MB resident once it has read
    /// an A4 page, 600 MB at the peak of a read. Default: the available cores, at most 4.
    /// Zero counts as one.
    pub instances: usize,
    /// ONNX Runtime threads per instance; default 1 (zero counts as one).
    pub threads_per_instance: usize,
    /// The detection parameters; the default suits A4 pages at 150–200 dpi.
    pub detection: DetectionParams,
}

impl Default for OcrOptions {
    fn default() -> OcrOptions {
        OcrOptions {
            models_dir: default_models_dir(),
            instances: std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(4),
            threads_per_instance: 1,
            detection: DetectionParams::default(),
        }
    }
}

/// The parameters of paddle-ocr-rs `OcrLite::detect`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectionParams {
    /// White border added around the page before detection, in pixels.
    pub padding: u32,
    /// The longer side the page is scaled down to for detection (0: never scaled);
    /// recognition always reads the lines from the full-size page.
    pub max_side_len: u32,
    /// Minimum mean text probability of a detected box.
    pub box_score_thresh: f32,
    /// The probability above which a pixel counts as text.
    pub box_thresh: f32,
    /// How far a detected box is grown around its text.
    pub unclip_ratio: f32,
    /// Classify each line's direction (0° or 180°) and turn it before recognition.
    pub do_angle: bool,
    /// Turn every line the way most lines face, instead of each line on its own.
    pub most_angle: bool,
}

/// Chosen on generated A4 contract pages (33 lines of Chinese in Noto Serif CJK and
/// English in DejaVu Serif, read with one instance and one thread; character error rate
/// with whitespace ignored and full-width ASCII folded; CPU time per read, since the
/// 2-core machine was shared with builds while measuring):
///
/// | page                        | max side 1024 | 1280   | 1536   | 2048   |
/// |-----------------------------|---------------|--------|--------|--------|
/// | 200 dpi, 10.5 pt / 10 pt    | 0.14 %        | 0.22 % | 0.14 % | 0.29 % |
/// | 200 dpi, 9 pt / 8 pt        | 0.29 %        | 0.22 % | 0.14 % | 0.14 % |
/// | 150 dpi, 9 pt / 8 pt        | 0.43 %        | 0.14 % | 0.14 % | 0.14 % |
/// | 200 dpi, 7 pt / 6 pt        | 4.60 %        | 0.29 % | 0.22 % | 0.29 % |
/// | 150 dpi, 8 pt / 7 pt        | 4.10 %        | 0.29 % | 0.22 % | 0.14 % |
/// | detection alone (blank A4)  | 0.5–0.7 s     | 0.8–1.4 s | 1.5–2.1 s | 4.3–5.8 s |
/// | whole 33-line page, 200 dpi | 4.6–4.9 s     | 5.0–5.4 s | 7.0–7.3 s | 12.8–13.7 s |
///
/// 1024 loses the small print (6–7 pt); 1280 reads it for a third of the detection cost
/// of 1536 and 2048 (which cost superlinearly more). Recognition, about 0.13 s of CPU per
/// full-width line, dominates a dense page whatever the size. `most_angle`: one line of
/// plain English was judged upside down by the direction model and read as garbage
/// (8.9 % error on the page); voting over the page fixes that and still turns a page that
/// is upside down as a whole. Thresholds and unclip ratio are the PaddleOCR/RapidOCR
/// defaults; 1.5 reads the same, 2.0 worse (0.86 %), box_score_thresh 0.6 or box_thresh
/// 0.2 the same. The padding keeps text at the page edge detectable.
impl Default for DetectionParams {
    fn default() -> DetectionParams {
        DetectionParams {
            padding: 50,
            max_side_len: 1280,
            box_score_thresh: 0.5,
            box_thresh: 0.3,
            unclip_ratio: 1.6,
            do_angle: true,
            most_angle: true,
        }
    }
}

/// Whether the files in `options.models_dir` are installed, from their metadata only:
/// cheap enough for every `/readyz`; loads nothing.
pub fn status(options: &OcrOptions) -> OcrStatus {
    files::status_of(&options.models_dir)
}

/// One instance: the whole-page reader (detection, direction, recognition) and a second
/// session of the recognition model for lines whose place is already known
/// ([`TextReader::read_lines`]; paddle-ocr-rs keeps its own recogniser private).
struct Instance {
    page: OcrLite,
    lines: CrnnNet,
}

/// The OCR engine: the three models loaded into `instances` paddle-ocr-rs engines, each
/// behind a mutex; a read takes a free one, or waits for the one with the fewest waiters.
pub struct OcrEngine {
    pool: Vec<Slot>,
    detection: DetectionParams,
    models_dir: PathBuf,
}

struct Slot {
    ocr: Mutex<Instance>,
    /// Callers blocked on this slot's mutex.
    waiting: AtomicUsize,
}

impl std::fmt::Debug for OcrEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrEngine")
            .field("models_dir", &self.models_dir)
            .field("instances", &self.pool.len())
            .field("detection", &self.detection)
            .finish()
    }
}

impl OcrEngine {
    /// Checks the files of [`MANIFEST`] in `options.models_dir` (sizes and SHA-256),
    /// initialises ONNX Runtime from its library there (once per process) and loads the
    /// models `options.instances` times.
    ///
    /// A missing or damaged file gives [`ReadError::Unavailable`] naming it and the
    /// command that installs it.
    pub fn load(options: &OcrOptions) -> Result<OcrEngine, ReadError> {
        let dir = &options.models_dir;
        let fix = setup_command(dir);
        let status = files::status_of(dir);
        if let Some(problem) = status.problem() {
            return Err(ReadError::Unavailable(problem));
        }
        let library = dir.join(RUNTIME_LIBRARY);
        if let Some(entry) = files::entry(RUNTIME_LIBRARY) {
            files::check_file(entry, &library, &fix).map_err(ReadError::Unavailable)?;
        }
        let det = read_model(dir, DETECTION_MODEL, &fix)?;
        let cls = read_model(dir, CLASSIFIER_MODEL, &fix)?;
        let rec = read_model(dir, RECOGNITION_MODEL, &fix)?;
        init_runtime(&library)?;

        // paddle-ocr-rs takes the session settings as a plain `fn`: the thread count
        // reaches it through a static, set under a lock for the time of this load.
        let _loading = LOADING.lock().unwrap_or_else(PoisonError::into_inner);
        SESSION_THREADS.store(options.threads_per_instance.max(1), Ordering::Relaxed);
        let pool = (0..options.instances.max(1))
            .map(|_| {
                let mut ocr = OcrLite::new();
                let mut lines = CrnnNet::new();
                let loaded = catch_unwind(AssertUnwindSafe(|| {
                    ocr.init_models_from_memory_custom(&det, &cls, &rec, session_settings)?;
                    lines.init_model_from_memory(&rec, 0, Some(session_settings))
                }));
                match loaded {
                    Ok(Ok(())) => Ok(Slot {
                        ocr: Mutex::new(Instance { page: ocr, lines }),
                        waiting: AtomicUsize::new(0),
                    }),
                    Ok(Err(error)) => Err(ReadError::Unavailable(format!(
                        "loading the OCR models from {} failed: {}",
                        dir.display(),
                        describe(&error)
                    ))),
                    Err(panic) => Err(ReadError::Unavailable(format!(
                        "loading the OCR models from {} failed: {}",
                        dir.display(),
                        panic_message(panic.as_ref())
                    ))),
                }
            })
            .collect::<Result<Vec<Slot>, ReadError>>()?;
        Ok(OcrEngine {
            pool,
            detection: options.detection,
            models_dir: dir.clone(),
        })
    }

    /// How many pages this engine reads at the same time.
    pub fn instances(&self) -> usize {
        self.pool.len()
    }

    /// The folder the models were loaded from.
    pub fn models_dir(&self) -> &Path {
        &self.models_dir
    }

    /// The detection parameters in use.
    pub fn detection(&self) -> DetectionParams {
        self.detection
    }

    /// A free instance, else the one with the fewest callers waiting for it.
    fn acquire(&self) -> MutexGuard<'_, Instance> {
        for slot in &self.pool {
            match slot.ocr.try_lock() {
                Ok(guard) => return guard,
                // A panic is caught inside the lock, so a poisoned mutex only means a
                // panic escaped elsewhere; the models themselves are unchanged by a read.
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let slot = self
            .pool
            .iter()
            .min_by_key(|slot| slot.waiting.load(Ordering::Relaxed))
            .unwrap_or_else(|| &self.pool[0]);
        slot.waiting.fetch_add(1, Ordering::Relaxed);
        let guard = slot.ocr.lock().unwrap_or_else(PoisonError::into_inner);
        slot.waiting.fetch_sub(1, Ordering::Relaxed);
        guard
    }
}

impl TextReader for OcrEngine {
    fn read(&self, page: &RgbImage) -> Result<Vec<TextLine>, ReadError> {
        let (width, height) = page.dimensions();
        if width == 0 || height == 0 {
            return Ok(Vec::new());
        }
        if u64::from(width) * u64::from(height) > MAX_PIXELS {
            return Err(ReadError::Failed(format!(
                "the image is {width}×{height} pixels, more than the {MAX_PIXELS} OCR reads"
            )));
        }
        let p = self.detection;
        let mut ocr = self.acquire();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            ocr.page.detect(
                page,
                p.padding,
                p.max_side_len,
                p.box_score_thresh,
                p.box_thresh,
                p.unclip_ratio,
                p.do_angle,
                p.most_angle,
            )
        }));
        drop(ocr);
        match outcome {
            Ok(Ok(result)) => Ok(lines::to_lines(result.text_blocks, width, height)),
            Ok(Err(error)) => Err(ReadError::Failed(describe(&error))),
            Err(panic) => Err(ReadError::Failed(format!(
                "the OCR engine failed on this image: {}",
                panic_message(panic.as_ref())
            ))),
        }
    }

    fn read_lines(&self, page: &RgbImage, boxes: &[PixelBox]) -> Result<Vec<TextLine>, ReadError> {
        let rects: Vec<(u32, u32, u32, u32)> = boxes.iter().map(|b| crop_rect(page, b)).collect();
        // Crops too small to hold a character are read as empty.
        let readable: Vec<usize> = (0..rects.len())
            .filter(|&i| rects[i].2 >= 4 && rects[i].3 >= 4)
            .collect();
        let crops: Vec<RgbImage> = readable
            .iter()
            .map(|&i| {
                let (x, y, w, h) = rects[i];
                image::imageops::crop_imm(page, x, y, w, h).to_image()
            })
            .collect();
        let mut ocr = self.acquire();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            ocr.lines
                .get_text_lines(&crops, &std::collections::HashMap::new(), 0.0)
        }));
        drop(ocr);
        let read = match outcome {
            Ok(Ok(read)) => read,
            Ok(Err(error)) => return Err(ReadError::Failed(describe(&error))),
            Err(panic) => {
                return Err(ReadError::Failed(format!(
                    "the OCR engine failed on this image: {}",
                    panic_message(panic.as_ref())
                )));
            }
        };
        let mut lines: Vec<TextLine> = rects
            .iter()
            .map(|&(x, y, w, h)| TextLine {
                text: String::new(),
                score: 0.0,
                quad: PixelBox {
                    x: x as f32,
                    y: y as f32,
                    width: w as f32,
                    height: h as f32,
                }
                .corners(),
            })
            .collect();
        for (&i, line) in readable.iter().zip(read) {
            lines[i].text = line.text.trim().to_owned();
            lines[i].score = if line.text_score.is_finite() {
                line.text_score.clamp(0.0, 1.0)
            } else {
                0.0
            };
        }
        Ok(lines)
    }
}

/// Held while an engine loads its models, for [`SESSION_THREADS`].
static LOADING: Mutex<()> = Mutex::new(());
/// The ONNX Runtime threads of the sessions being created.
static SESSION_THREADS: AtomicUsize = AtomicUsize::new(1);

/// The settings of every model session: full graph optimisation, [`SESSION_THREADS`]
/// threads, and neither ONNX Runtime's memory arena nor memory patterns. Line images
/// vary in width, and with the arena each session kept its largest buffers and grew with
/// new shapes (measured with one instance over four A4 pages: resident memory 452, 671,
/// 671, 671 MB and peak 464 → 727 MB, growing; two instances: 1267 MB, peak 1367 MB and
/// growing). Without it: 408 MB resident and a 613 MB peak from the first page on, flat
/// (two instances: 722 and 1131 MB), for about 15 % more CPU time per page (page faults
/// of fresh buffers: 7.0 s instead of 6.0 s for the 33-line page below).
fn session_settings(builder: SessionBuilder) -> ort::Result<SessionBuilder> {
    builder
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_threads(SESSION_THREADS.load(Ordering::Relaxed).max(1))?
        .with_inter_threads(1)?
        .with_memory_pattern(false)?
        .with_execution_providers([CPUExecutionProvider::default()
            .with_arena_allocator(false)
            .build()])
}

/// Reads a model file and checks it against [`MANIFEST`].
fn read_model(dir: &Path, file: &str, fix: &str) -> Result<Vec<u8>, ReadError> {
    let path = dir.join(file);
    let entry = files::entry(file)
        .ok_or_else(|| ReadError::Unavailable(format!("{file} is not in the OCR manifest")))?;
    let bytes = std::fs::read(&path).map_err(|error| {
        ReadError::Unavailable(if error.kind() == std::io::ErrorKind::NotFound {
            format!(
                "{} ({}) is missing; run `{fix}` to install the models and ONNX Runtime",
                path.display(),
                entry.what
            )
        } else {
            format!(
                "{} ({}) cannot be read: {error}",
                path.display(),
                entry.what
            )
        })
    })?;
    files::check_bytes(entry, &path, &bytes, fix).map_err(ReadError::Unavailable)?;
    Ok(bytes)
}

/// The ONNX Runtime library this process initialised ONNX Runtime from, or why that
/// failed. A process can load only one: ort keeps the first library for good.
static RUNTIME: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Initialises ONNX Runtime from `library` unless this process already did.
///
/// A later engine whose folder holds another copy of the library shares the runtime
/// loaded first when the two files are byte for byte the same (always so when the
/// library is pinned by hash in [`MANIFEST`]); a different library is refused, since
/// ort cannot load a second one.
fn init_runtime(library: &Path) -> Result<(), ReadError> {
    let outcome = RUNTIME.get_or_init(|| {
        let Some(path) = library.to_str() else {
            return Err(format!(
                "the path {} is not valid UTF-8, which ort needs to load the library",
                library.display()
            ));
        };
        let committed = catch_unwind(|| {
            ort::init_from(path)
                .with_name("sealkeeper-ocr")
                .with_telemetry(false)
                .commit()
        });
        match committed {
            Ok(Ok(_)) => Ok(library.to_path_buf()),
            Ok(Err(error)) => Err(format!("{error}")),
            Err(panic) => Err(panic_message(panic.as_ref())),
        }
    });
    match outcome {
        Ok(loaded) if loaded == library || same_contents(loaded, library) => Ok(()),
        Ok(loaded) => Err(ReadError::Unavailable(format!(
            "ONNX Runtime is already loaded in this process from {}, and {} is a different file; a process can load only one, so use the same models folder or restart",
            loaded.display(),
            library.display()
        ))),
        Err(error) => Err(ReadError::Unavailable(format!(
            "ONNX Runtime could not be loaded from {}: {error}; reinstall it with `{}` and restart the process",
            library.display(),
            setup_command(library.parent().unwrap_or(library))
        ))),
    }
}

/// Whether two paths name the same file, or files with the same bytes.
fn same_contents(a: &Path, b: &Path) -> bool {
    use sha2::{Digest, Sha256};
    if let (Ok(x), Ok(y)) = (a.canonicalize(), b.canonicalize())
        && x == y
    {
        return true;
    }
    let digest = |path: &Path| std::fs::read(path).ok().map(Sha256::digest);
    match (digest(a), digest(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// An `OcrError` with its cause (its own messages say little, and two are swapped).
fn describe(error: &OcrError) -> String {
    match error {
        OcrError::Ort(error) => format!("ONNX Runtime: {error}"),
        OcrError::Io(error) => format!("I/O: {error}"),
        OcrError::ImageError(error) => format!("image: {error}"),
        OcrError::SessionNotInitialized => "a model session is not initialised".to_owned(),
    }
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
