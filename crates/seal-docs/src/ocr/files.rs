//! The files the OCR engine needs, where they live, and how to tell cheaply whether they
//! are all there (for `/readyz`) or precisely which one is missing or damaged.
//!
//! `cargo xtask setup` installs them from two PyPI wheels (rapidocr_onnxruntime 1.4.4 for
//! the PP-OCRv4 models, onnxruntime 1.32.0 for the runtime library); `xtask/src/ocr_models.rs`
//! holds the same names and hashes, and a test keeps the two lists equal.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// PP-OCRv4 text detection (DB), from rapidocr_onnxruntime 1.4.4.
pub const DETECTION_MODEL: &str = "ch_PP-OCRv4_det_infer.onnx";
/// Text direction classification (0° or 180° per line), from rapidocr_onnxruntime 1.4.4.
pub const CLASSIFIER_MODEL: &str = "ch_ppocr_mobile_v2.0_cls_infer.onnx";
/// PP-OCRv4 recognition (CRNN, Chinese and English), from rapidocr_onnxruntime 1.4.4.
pub const RECOGNITION_MODEL: &str = "ch_PP-OCRv4_rec_infer.onnx";
/// The ONNX Runtime library, `onnxruntime/capi/` of the onnxruntime 1.32.0 wheel.
pub const RUNTIME_LIBRARY: &str = "libonnxruntime.so.1.32.0";

/// The variable that names the models folder, overriding the default.
pub const MODELS_DIR_VAR: &str = "SEALKEEPER_OCR_DIR";
/// The command that installs the files.
pub const SETUP_COMMAND: &str = "cargo xtask setup";

/// One file of the models folder: its name, and when pinned, its size and SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub file: &'static str,
    /// What the file is, for messages.
    pub what: &'static str,
    /// The size in bytes, when pinned for this platform.
    pub size: Option<u64>,
    /// The SHA-256 in lower-case hex, when pinned for this platform.
    pub sha256: Option<&'static str>,
}

/// The runtime library is pinned for the wheel `cargo xtask setup` checks by its hash
/// (x86_64 Linux); on other platforms setup takes the wheel whose hash the person gives,
/// and only the file's presence is checked here.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const RUNTIME_PIN: (Option<u64>, Option<&str>) = (
    Some(34_824_680),
    Some("6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f"),
);
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
const RUNTIME_PIN: (Option<u64>, Option<&str>) = (None, None);

/// Every file the engine loads, with its pinned size and hash.
pub const MANIFEST: &[ManifestEntry] = &[
    ManifestEntry {
        file: DETECTION_MODEL,
        what: "the text detection model",
        size: Some(4_745_517),
        sha256: Some("d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"),
    },
    ManifestEntry {
        file: CLASSIFIER_MODEL,
        what: "the text direction model",
        size: Some(585_532),
        sha256: Some("e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"),
    },
    ManifestEntry {
        file: RECOGNITION_MODEL,
        what: "the text recognition model",
        size: Some(10_857_958),
        sha256: Some("48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"),
    },
    ManifestEntry {
        file: RUNTIME_LIBRARY,
        what: "the ONNX Runtime library",
        size: RUNTIME_PIN.0,
        sha256: RUNTIME_PIN.1,
    },
];

/// The manifest entry of `file`.
pub(crate) fn entry(file: &str) -> Option<&'static ManifestEntry> {
    MANIFEST.iter().find(|entry| entry.file == file)
}

/// Where the models are looked for by default: `$SEALKEEPER_OCR_DIR` when set, else
/// `$XDG_DATA_HOME/sealkeeper/ocr`, else `$HOME/.local/share/sealkeeper/ocr` (relative
/// `.local/share/sealkeeper/ocr` when not even HOME is set).
pub fn default_models_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = var(MODELS_DIR_VAR) {
        return PathBuf::from(dir);
    }
    // The XDG spec ignores relative values of XDG_DATA_HOME.
    if let Some(data) = var("XDG_DATA_HOME").map(PathBuf::from)
        && data.is_absolute()
    {
        return data.join("sealkeeper").join("ocr");
    }
    let home = var("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".local")
        .join("share")
        .join("sealkeeper")
        .join("ocr")
}

/// The command that installs the files into `models_dir`: `cargo xtask setup`, with
/// `SEALKEEPER_OCR_DIR=…` in front when `models_dir` is not the default.
pub fn setup_command(models_dir: &Path) -> String {
    if models_dir == default_models_dir() {
        SETUP_COMMAND.to_owned()
    } else {
        format!(
            "{MODELS_DIR_VAR}={} {SETUP_COMMAND}",
            shell_word(&models_dir.display().to_string())
        )
    }
}

fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// What [`status`] found of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileState {
    /// There, with the pinned size (the hash is checked when the engine loads).
    Present,
    Missing,
    /// There but of another size: truncated, or another version.
    WrongSize {
        expected: u64,
        found: u64,
    },
    /// The path exists but is not a regular file.
    NotAFile,
    /// The file's metadata could not be read.
    Unreadable(String),
}

/// One file of the models folder as [`status`] found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStatus {
    pub file: &'static str,
    pub path: PathBuf,
    pub state: FileState,
}

/// Whether the OCR files are installed, from file metadata only (no hashing, no loading):
/// cheap enough for every `/readyz`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcrStatus {
    pub models_dir: PathBuf,
    /// Every manifest file, in manifest order.
    pub files: Vec<FileStatus>,
    /// The command that installs what is missing.
    pub fix: String,
}

impl OcrStatus {
    /// Whether every file is present with its pinned size.
    pub fn is_ready(&self) -> bool {
        self.files.iter().all(|f| f.state == FileState::Present)
    }

    /// The files that are not [`FileState::Present`].
    pub fn problems(&self) -> impl Iterator<Item = &FileStatus> {
        self.files.iter().filter(|f| f.state != FileState::Present)
    }

    /// What is wrong and how to fix it, or `None` when ready.
    pub fn problem(&self) -> Option<String> {
        if self.is_ready() {
            return None;
        }
        if !self.models_dir.is_dir() {
            return Some(format!(
                "the OCR models folder {} does not exist; run `{}` to install the models and ONNX Runtime",
                self.models_dir.display(),
                self.fix
            ));
        }
        let described: Vec<String> = self
            .problems()
            .map(|f| {
                let what = entry(f.file).map_or("", |e| e.what);
                match &f.state {
                    FileState::Present => String::new(),
                    FileState::Missing => format!("{} ({what}) is missing", f.path.display()),
                    FileState::WrongSize { expected, found } => format!(
                        "{} ({what}) has {found} bytes instead of {expected}",
                        f.path.display()
                    ),
                    FileState::NotAFile => {
                        format!("{} ({what}) is not a regular file", f.path.display())
                    }
                    FileState::Unreadable(error) => {
                        format!("{} ({what}) cannot be read: {error}", f.path.display())
                    }
                }
            })
            .collect();
        Some(format!(
            "{}; run `{}` to install the models and ONNX Runtime",
            described.join("; "),
            self.fix
        ))
    }
}

impl fmt::Display for OcrStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem() {
            None => write!(f, "OCR models installed in {}", self.models_dir.display()),
            Some(problem) => f.write_str(&problem),
        }
    }
}

/// Checks the files in `models_dir` by their metadata (see [`OcrStatus`]).
pub fn status_of(models_dir: &Path) -> OcrStatus {
    let files = MANIFEST
        .iter()
        .map(|entry| {
            let path = models_dir.join(entry.file);
            let state = match std::fs::metadata(&path) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => FileState::Missing,
                Err(error) => FileState::Unreadable(error.to_string()),
                Ok(meta) if !meta.is_file() => FileState::NotAFile,
                Ok(meta) => match entry.size {
                    Some(expected) if expected != meta.len() => FileState::WrongSize {
                        expected,
                        found: meta.len(),
                    },
                    _ => FileState::Present,
                },
            };
            FileStatus {
                file: entry.file,
                path,
                state,
            }
        })
        .collect();
    OcrStatus {
        models_dir: models_dir.to_path_buf(),
        files,
        fix: setup_command(models_dir),
    }
}

/// Lower-case hex of a SHA-256 digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a file's bytes, already read, against its manifest entry.
pub(crate) fn check_bytes(
    entry: &ManifestEntry,
    path: &Path,
    bytes: &[u8],
    fix: &str,
) -> Result<(), String> {
    if let Some(expected) = entry.size
        && expected != bytes.len() as u64
    {
        return Err(format!(
            "{} ({}) has {} bytes instead of {expected}: truncated or another version; run `{fix}` to reinstall it",
            path.display(),
            entry.what,
            bytes.len()
        ));
    }
    if let Some(expected) = entry.sha256 {
        let found = hex(&Sha256::digest(bytes));
        if found != expected {
            return Err(format!(
                "{} ({}) is corrupt: its SHA-256 is {found}, expected {expected}; run `{fix}` to reinstall it",
                path.display(),
                entry.what
            ));
        }
    }
    Ok(())
}

/// Files whose hash was checked in this process, with the size and modification time
/// they had: checking them again is skipped while those stay the same.
static VERIFIED: Mutex<Vec<(PathBuf, u64, Option<SystemTime>)>> = Mutex::new(Vec::new());

/// Checks a file on disk against its manifest entry by streaming it through SHA-256
/// (once per process while the file is unchanged).
pub(crate) fn check_file(entry: &ManifestEntry, path: &Path, fix: &str) -> Result<(), String> {
    let unreadable = |error: std::io::Error| {
        if error.kind() == std::io::ErrorKind::NotFound {
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
        }
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    let stamp = (path.to_path_buf(), meta.len(), meta.modified().ok());
    let verified = VERIFIED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if verified.contains(&stamp) {
        return Ok(());
    }
    drop(verified);
    if let Some(expected) = entry.size
        && expected != meta.len()
    {
        return Err(format!(
            "{} ({}) has {} bytes instead of {expected}: truncated or another version; run `{fix}` to reinstall it",
            path.display(),
            entry.what,
            meta.len()
        ));
    }
    if let Some(expected) = entry.sha256 {
        let mut file = File::open(path).map_err(unreadable)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buffer).map_err(unreadable)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        let found = hex(&hasher.finalize());
        if found != expected {
            return Err(format!(
                "{} ({}) is corrupt: its SHA-256 is {found}, expected {expected}; run `{fix}` to reinstall it",
                path.display(),
                entry.what
            ));
        }
    }
    VERIFIED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(stamp);
    Ok(())
}
