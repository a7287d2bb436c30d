//! `cargo xtask setup`: installs what the test suite needs and is not installed yet, and
//! says exactly what it would run when it cannot install something itself.

use std::process::Command;

use crate::ocr_models;
use crate::task::{self, Error, Result};

pub const HELP: &str = "\
Install what the test suite needs and is missing

Usage: cargo xtask setup

Checks, and installs when missing:
  - rustfmt and clippy (toolchain components; `rustup component add` when rustup is there)
  - cargo-nextest (`cargo install cargo-nextest --locked`)
  - the Debian packages the suite needs (`apt-get install`, when running as root;
    otherwise the exact command to run is printed)
  - the OCR files: the PP-OCRv4 models of rapidocr_onnxruntime 1.4.4 and the ONNX
    Runtime 1.32.0 library, fetched as PyPI wheels with `python3 -m pip download`,
    checked by SHA-256 and extracted into $SEALKEEPER_OCR_DIR, else
    $XDG_DATA_HOME/sealkeeper/ocr, else ~/.local/share/sealkeeper/ocr (wheels are
    kept in ~/.cache/sealkeeper/wheels). Off x86_64 Linux, pip picks the onnxruntime
    wheel for the machine; accept it with SEALKEEPER_ONNXRUNTIME_WHEEL_SHA256=<its hash>
Running it again when everything is there changes nothing.
";

/// A Debian package the project needs, and why.
pub struct AptPackage {
    pub name: &'static str,
    pub why: &'static str,
}

/// Debian packages the suite needs. The store tests reach PostgreSQL through sqlx, and
/// `.ci/run` probes the server with `pg_isready` when the server's own packages brought it,
/// else with bash alone; the browser tests and the stamp-mark decoding tests need packages
/// of their own.
const APT_PACKAGES: &[AptPackage] = &[
    AptPackage {
        name: "chromium",
        why: "the headless browser the web console's browser tests drive (/usr/bin/chromium)",
    },
    AptPackage {
        name: "chromium-driver",
        why: "ChromeDriver, the WebDriver server the browser tests talk to (/usr/bin/chromedriver)",
    },
    AptPackage {
        name: "fonts-noto-cjk",
        why: "Chinese glyphs, so the browser tests' screenshots of zh-CN pages show text, not boxes",
    },
    AptPackage {
        name: "zbar-tools",
        why: "zbarimg, the QR and Code 128 decoder we did not write, that reads our printed stamp marks",
    },
];

pub fn run(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        if arg == "-h" || arg == "--help" {
            print!("{HELP}");
            return Ok(());
        }
        return Err(Error::new(format!(
            "setup takes no arguments, got `{arg}`; see `cargo xtask setup --help`"
        )));
    }
    components()?;
    nextest()?;
    ensure_apt_packages(APT_PACKAGES)?;
    python_packages()?;
    ocr_models::install()?;
    println!("setup: everything the suite needs is installed");
    Ok(())
}

/// rustfmt and clippy come with the toolchain; a minimal rustup profile leaves them out.
fn components() -> Result {
    let missing: Vec<&str> = [("fmt", "rustfmt"), ("clippy", "clippy")]
        .into_iter()
        .filter(|(subcommand, _)| {
            !task::cargo([*subcommand, "--version"]).is_ok_and(|mut c| task::succeeds(&mut c))
        })
        .map(|(_, component)| component)
        .collect();
    if missing.is_empty() {
        println!("setup: rustfmt and clippy are installed");
        return Ok(());
    }
    let mut command = Command::new("rustup");
    command.args(["component", "add"]).args(&missing);
    task::run(&mut command, "installing the toolchain components").map_err(|error| {
        Error::new(format!(
            "{error}; the toolchain lacks {} (install them with `{}`)",
            missing.join(" and "),
            task::shown(&command)
        ))
    })
}

fn nextest() -> Result {
    if let Some(version) = task::output(&mut task::cargo(["nextest", "--version"])?) {
        let first = version.lines().next().unwrap_or_default();
        println!("setup: {first} is installed");
        return Ok(());
    }
    println!("setup: cargo-nextest is missing; installing it (a few minutes)");
    task::run(
        &mut task::cargo(["install", "cargo-nextest", "--locked"])?,
        "installing cargo-nextest",
    )
}

/// Installs the packages of `wanted` that are missing (as root), or says how to.
pub fn ensure_apt_packages(wanted: &[AptPackage]) -> Result {
    if wanted.is_empty() {
        println!("setup: no Debian packages needed");
        return Ok(());
    }
    if !task::succeeds(Command::new("dpkg").arg("--version")) {
        let names: Vec<&str> = wanted.iter().map(|p| p.name).collect();
        println!(
            "setup: warning: no dpkg here, so not a Debian system; install the equivalents of: {}",
            names.join(" ")
        );
        return Ok(());
    }
    let missing: Vec<&AptPackage> = wanted.iter().filter(|p| !installed(p.name)).collect();
    if missing.is_empty() {
        let names: Vec<&str> = wanted.iter().map(|p| p.name).collect();
        println!("setup: Debian packages installed: {}", names.join(" "));
        return Ok(());
    }
    for package in &missing {
        println!(
            "setup: missing Debian package {}: {}",
            package.name, package.why
        );
    }
    let names: Vec<&str> = missing.iter().map(|p| p.name).collect();
    let mut update = Command::new("apt-get");
    update.arg("update");
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "--no-install-recommends"])
        .args(&names)
        .env("DEBIAN_FRONTEND", "noninteractive");
    if !is_root() {
        return Err(Error::new(format!(
            "missing Debian packages and not running as root; run:\n  sudo {} && sudo DEBIAN_FRONTEND=noninteractive {}\nthen `cargo xtask setup` again",
            task::shown(&update),
            task::shown(&install)
        )));
    }
    task::run(&mut update, "apt-get update")?;
    task::run(&mut install, "installing Debian packages")?;
    match missing.iter().find(|p| !installed(p.name)) {
        Some(package) => Err(Error::new(format!(
            "apt-get finished but {} is still not installed",
            package.name
        ))),
        None => Ok(()),
    }
}

/// Python packages the suite needs, as `pip install` takes them, with the command that
/// shows they are installed.
const PYTHON_PACKAGES: &[(&str, &str, &str)] = &[(
    "moto[server]",
    "moto_server",
    "an S3-compatible server on loopback for the S3 blob-store test",
)];

fn python_packages() -> Result {
    for (requirement, program, why) in PYTHON_PACKAGES {
        if task::succeeds(Command::new(program).arg("--help")) {
            println!("setup: {program} is installed");
            continue;
        }
        println!("setup: installing {requirement}: {why}");
        let mut pip = Command::new("python3");
        pip.args(["-m", "pip", "install", "--quiet", requirement]);
        task::run(&mut pip, "installing Python packages")?;
    }
    Ok(())
}

/// Whether dpkg knows the package as installed (`dpkg -s` also answers for packages
/// removed with their configuration left behind, so the status line decides).
fn installed(package: &str) -> bool {
    task::output(Command::new("dpkg").args(["-s", package])).is_some_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Status:") && line.trim_end().ends_with(" installed"))
    })
}

/// Whether this process runs as root (effective user id 0).
fn is_root() -> bool {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|line| line.starts_with("Uid:"))
    {
        // Real, effective, saved and filesystem user ids.
        return line.split_whitespace().nth(2) == Some("0");
    }
    task::output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}
