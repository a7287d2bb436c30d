//! `cargo xtask setup`'s OCR step: the PP-OCRv4 models and the ONNX Runtime library that
//! `seal-docs` loads at run time, fetched from PyPI wheels with pip, checked by SHA-256
//! and extracted into the OCR models folder. Nothing happens when the files are there
//! with the right hashes.
//!
//! The names, sizes and hashes are those of `seal_docs::ocr::MANIFEST`; a test in
//! `crates/seal-docs/tests/suite/ocr.rs` keeps the two lists the same.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::task::{self, Error, Result};

/// Names the OCR models folder; the default is the XDG data folder.
pub const MODELS_DIR_VAR: &str = "SEALKEEPER_OCR_DIR";
/// The SHA-256 of an onnxruntime wheel to accept instead of the pinned x86_64 Linux one
/// (for other machines, whose pip picks another wheel).
pub const WHEEL_OVERRIDE_VAR: &str = "SEALKEEPER_ONNXRUNTIME_WHEEL_SHA256";

/// A wheel the files come from.
struct Wheel {
    /// As pip takes it.
    requirement: &'static str,
    /// The file pip fetches on x86_64 Linux (the pinned one).
    file: &'static str,
    sha256: &'static str,
    /// Extra `pip download` options that fetch the pinned wheel whatever the local Python
    /// (only the library is used, never the Python package), on the machines it fits.
    pin_options: &'static [&'static str],
}

const RAPIDOCR: Wheel = Wheel {
    requirement: "rapidocr_onnxruntime==1.4.4",
    file: "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
    sha256: "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
    pin_options: &[],
};

const ONNXRUNTIME: Wheel = Wheel {
    requirement: "onnxruntime==1.32.0",
    file: "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256: "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
    pin_options: &[
        "--platform",
        "manylinux_2_28_x86_64",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
    ],
};

/// Whether this machine takes the pinned onnxruntime wheel.
const PINNED_PLATFORM: bool = cfg!(all(target_os = "linux", target_arch = "x86_64"));

/// A file of the models folder: where it comes from and its pinned size and hash.
struct OcrFile {
    name: &'static str,
    wheel: &'static Wheel,
    /// The path inside the wheel.
    member: &'static str,
    size: u64,
    sha256: &'static str,
    /// Pinned only for the pinned onnxruntime wheel.
    pinned_everywhere: bool,
}

const FILES: &[OcrFile] = &[
    OcrFile {
        name: "ch_PP-OCRv4_det_infer.onnx",
        wheel: &RAPIDOCR,
        member: "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        size: 4_745_517,
        sha256: "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        pinned_everywhere: true,
    },
    OcrFile {
        name: "ch_ppocr_mobile_v2.0_cls_infer.onnx",
        wheel: &RAPIDOCR,
        member: "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        size: 585_532,
        sha256: "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
        pinned_everywhere: true,
    },
    OcrFile {
        name: "ch_PP-OCRv4_rec_infer.onnx",
        wheel: &RAPIDOCR,
        member: "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        size: 10_857_958,
        sha256: "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        pinned_everywhere: true,
    },
    OcrFile {
        name: "libonnxruntime.so.1.32.0",
        wheel: &ONNXRUNTIME,
        member: "onnxruntime/capi/libonnxruntime.so.1.32.0",
        size: 34_824_680,
        sha256: "6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f",
        pinned_everywhere: false,
    },
];

impl OcrFile {
    /// The hash to check on this machine, if pinned here.
    fn pinned_sha256(&self) -> Option<&'static str> {
        (self.pinned_everywhere || PINNED_PLATFORM).then_some(self.sha256)
    }
}

/// SHA-256 of files, one lower-case hex line each (empty for a missing file); Python's
/// hashlib, since xtask has no dependencies and pip needs Python anyway.
const HASH_SCRIPT: &str = "\
import hashlib, os, sys
for path in sys.argv[1:]:
    if not os.path.isfile(path):
        print('')
        continue
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    print(h.hexdigest())
";

/// Extracts members of a wheel (a zip file) into a folder, each under its base name:
/// `python3 -c EXTRACT WHEEL DEST MEMBER...`.
const EXTRACT_SCRIPT: &str = "\
import os, shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for member in sys.argv[3:]:
        with z.open(member) as src, open(os.path.join(dest, os.path.basename(member)), 'wb') as out:
            shutil.copyfileobj(src, out)
";

/// The OCR models folder, as `seal_docs::ocr::default_models_dir` finds it.
pub fn models_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = var(MODELS_DIR_VAR) {
        return PathBuf::from(dir);
    }
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

/// Where downloaded wheels are kept between runs: `$XDG_CACHE_HOME/sealkeeper/wheels`
/// or `$HOME/.cache/sealkeeper/wheels`.
fn wheel_cache() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(cache) = var("XDG_CACHE_HOME").map(PathBuf::from)
        && cache.is_absolute()
    {
        return cache.join("sealkeeper").join("wheels");
    }
    let home = var("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".cache").join("sealkeeper").join("wheels")
}

/// Installs the OCR files into [`models_dir`] unless they are there and correct.
pub fn install() -> Result {
    let dir = models_dir();
    if !cfg!(target_os = "linux") {
        println!(
            "setup: warning: the OCR runtime is installed on Linux only; on this system put the three PP-OCRv4 models of {} and the ONNX Runtime 1.32.0 library named libonnxruntime.so.1.32.0 into {} yourself",
            RAPIDOCR.requirement,
            dir.display()
        );
        return Ok(());
    }
    let wrong = wrong_files(&dir)?;
    if wrong.is_empty() {
        println!(
            "setup: OCR models and ONNX Runtime are installed in {} (hashes checked)",
            dir.display()
        );
        return Ok(());
    }
    for (file, why) in &wrong {
        println!("setup: OCR file {}: {why}", dir.join(file.name).display());
    }
    println!(
        "setup: installing the OCR models ({}) and ONNX Runtime ({}) into {}",
        RAPIDOCR.requirement,
        ONNXRUNTIME.requirement,
        dir.display()
    );
    let cache = wheel_cache();
    std::fs::create_dir_all(&cache)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", cache.display())))?;
    let rapidocr = fetch(&RAPIDOCR, &cache)?;
    let onnxruntime = fetch(&ONNXRUNTIME, &cache)?;

    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    // Extracted next to their final place, checked, then renamed over it.
    let staging = dir.join(".setup-staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(|e| Error::new(format!("cannot remove {}: {e}", staging.display())))?;
    }
    std::fs::create_dir_all(&staging)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", staging.display())))?;
    for (wheel, path) in [(&RAPIDOCR, &rapidocr), (&ONNXRUNTIME, &onnxruntime)] {
        let members: Vec<&str> = wrong
            .iter()
            .filter(|(file, _)| std::ptr::eq(file.wheel, wheel))
            .map(|(file, _)| file.member)
            .collect();
        if members.is_empty() {
            continue;
        }
        let mut extract = Command::new("python3");
        extract
            .args(["-c", EXTRACT_SCRIPT])
            .arg(path)
            .arg(&staging)
            .args(&members);
        println!(
            "setup: extracting {} from {}",
            members.join(", "),
            path.display()
        );
        if !task::succeeds(&mut extract) {
            return Err(Error::new(format!(
                "extracting {} from {} failed (is it a complete wheel? delete it to fetch it again)",
                members.join(", "),
                path.display()
            )));
        }
    }
    let staged: Vec<PathBuf> = wrong.iter().map(|(f, _)| staging.join(f.name)).collect();
    let hashes = sha256_files(&staged)?;
    for ((file, _), (path, found)) in wrong.iter().zip(staged.iter().zip(&hashes)) {
        if let Some(expected) = file.pinned_sha256()
            && found != expected
        {
            return Err(Error::new(format!(
                "{} extracted from {} has SHA-256 {found}, expected {expected}",
                path.display(),
                file.wheel.requirement
            )));
        }
        let target = dir.join(file.name);
        std::fs::rename(path, &target).map_err(|e| {
            Error::new(format!(
                "cannot move {} to {}: {e}",
                path.display(),
                target.display()
            ))
        })?;
        println!("setup: installed {} (SHA-256 {found})", target.display());
    }
    std::fs::remove_dir_all(&staging)
        .map_err(|e| Error::new(format!("cannot remove {}: {e}", staging.display())))?;
    let still = wrong_files(&dir)?;
    if let Some((file, why)) = still.first() {
        return Err(Error::new(format!(
            "after installing, {} is still wrong: {why}",
            dir.join(file.name).display()
        )));
    }
    println!(
        "setup: OCR models and ONNX Runtime installed in {}",
        dir.display()
    );
    Ok(())
}

/// The files of [`FILES`] that are missing or differ from their pins, with why.
fn wrong_files(dir: &Path) -> Result<Vec<(&'static OcrFile, String)>> {
    let paths: Vec<PathBuf> = FILES.iter().map(|f| dir.join(f.name)).collect();
    // Hashing needs Python; a missing folder needs no hashing.
    if !paths.iter().any(|p| p.is_file()) {
        return Ok(FILES.iter().map(|f| (f, "missing".to_owned())).collect());
    }
    let hashes = sha256_files(&paths)?;
    Ok(FILES
        .iter()
        .zip(&paths)
        .zip(hashes)
        .filter_map(|((file, path), found)| {
            let size = std::fs::metadata(path).map(|m| m.len()).ok();
            let pinned_size = (file.pinned_everywhere || PINNED_PLATFORM).then_some(file.size);
            let why = match (size, pinned_size, file.pinned_sha256()) {
                (None, _, _) => "missing".to_owned(),
                (Some(found), Some(expected), _) if found != expected => {
                    format!("{found} bytes, expected {expected}")
                }
                (Some(_), _, Some(expected)) if found != expected => {
                    format!("SHA-256 {found}, expected {expected}")
                }
                (Some(0), _, _) => "empty".to_owned(),
                _ => return None,
            };
            Some((file, why))
        })
        .collect())
}

/// Fetches a wheel into `cache` with pip unless it is there with the right hash, and
/// returns its path. Off x86_64 Linux pip picks the onnxruntime wheel for the machine,
/// which is taken only when its hash is the one given in [`WHEEL_OVERRIDE_VAR`].
fn fetch(wheel: &Wheel, cache: &Path) -> Result<PathBuf> {
    let pinned = wheel.pin_options.is_empty() || PINNED_PLATFORM;
    if pinned {
        let path = cache.join(wheel.file);
        if hash_of(&path)? == wheel.sha256 {
            println!(
                "setup: {} is in {} (hash checked)",
                wheel.file,
                cache.display()
            );
            return Ok(path);
        }
    }
    let before = wheels_in(cache);
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"]);
    if PINNED_PLATFORM {
        pip.args(wheel.pin_options);
    }
    pip.arg(wheel.requirement).arg("--dest").arg(cache);
    task::run(&mut pip, &format!("downloading {}", wheel.requirement)).map_err(|error| {
        Error::new(format!(
            "{error}; the OCR files come from PyPI through pip (python3 -m pip), which must reach it"
        ))
    })?;
    if pinned {
        let path = cache.join(wheel.file);
        let found = hash_of(&path)?;
        if found != wheel.sha256 {
            return Err(Error::new(format!(
                "{} has SHA-256 {found}, expected {}: the download is corrupt or PyPI serves another file; delete it and run `cargo xtask setup` again",
                path.display(),
                wheel.sha256
            )));
        }
        println!("setup: {} has the pinned SHA-256 {found}", path.display());
        return Ok(path);
    }
    // pip picked the wheel for this machine: the one it just wrote, else the one it reused.
    let prefix = wheel.requirement.replace("==", "-");
    let mut candidates: Vec<PathBuf> = wheels_in(cache)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        })
        .collect();
    candidates.sort_by_key(|p| before.contains(p));
    let path = candidates.into_iter().next().ok_or_else(|| {
        Error::new(format!(
            "pip reported success but no {prefix} wheel is in {}",
            cache.display()
        ))
    })?;
    let found = hash_of(&path)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let accepted = std::env::var(WHEEL_OVERRIDE_VAR)
        .map(|hash| hash.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if accepted == found {
        println!("setup: {file_name} has the SHA-256 given in {WHEEL_OVERRIDE_VAR}");
        return Ok(path);
    }
    let given = if accepted.is_empty() {
        String::new()
    } else {
        format!(" ({WHEEL_OVERRIDE_VAR} gives {accepted})")
    };
    Err(Error::new(format!(
        "pip picked {file_name} for this machine, not the pinned {} (SHA-256 {}); its SHA-256 is {found}{given}. If you trust it, run `{WHEEL_OVERRIDE_VAR}={found} cargo xtask setup`",
        wheel.file, wheel.sha256
    )))
}

/// The SHA-256 of one file, empty when it is missing.
fn hash_of(path: &Path) -> Result<String> {
    Ok(sha256_files(&[path.to_path_buf()])?
        .into_iter()
        .next()
        .unwrap_or_default())
}

fn wheels_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// SHA-256 of each path (an empty string for a missing file), by Python's hashlib.
fn sha256_files(paths: &[PathBuf]) -> Result<Vec<String>> {
    let mut python = Command::new("python3");
    python.args(["-c", HASH_SCRIPT]).args(paths);
    let out = task::output(&mut python).ok_or_else(|| {
        Error::new("cannot hash files with python3 (`python3 -c 'import hashlib'`); install Python 3 with pip")
    })?;
    let hashes: Vec<String> = out.lines().map(str::to_owned).collect();
    if hashes.len() != paths.len() {
        return Err(Error::new(format!(
            "python3 hashed {} of {} files",
            hashes.len(),
            paths.len()
        )));
    }
    Ok(hashes)
}
