//! `cargo xtask demo`: builds the `sealkeeper` binary and starts `sealkeeper demo`, which
//! serves on an embedded SQLite database, creates the demo organisation on first start
//! and prints the URL and the logins.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use crate::task::{self, Error, Result};

pub const HELP: &str = "\
Build and start `sealkeeper demo`: the server on an embedded SQLite database, with a demo
organisation (departments, people in every role) created on first start

Usage: cargo xtask demo [OPTIONS] [-- SEALKEEPER_ARGS...]

Options:
  --listen ADDR:PORT  Address to listen on [default: 127.0.0.1:8080]
  --data DIR          Data folder for the SQLite database and blobs/ [default: data/ in the workspace]
  --release           Build with the release profile [the default]
  --dev               Build with the dev profile: quicker after `cargo xtask test`, slower to run
  -h, --help          Print this help

Arguments after `--` go to `sealkeeper demo` as they are (e.g. -- --config sealkeeper.toml).
Ctrl-C stops the server (it finishes the requests in flight first).
";

/// A clean release build of `sealkeeper` took 4m51s on the project's 2-core machine
/// (the dev build of the whole workspace 2m22s), well within what a newcomer waits once,
/// and it gives the server a newcomer should judge: fast, small (29 MB against 238 MB).
/// `--dev` reuses what `cargo xtask test` built.
const RELEASE_BY_DEFAULT: bool = true;

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

struct Options {
    listen: String,
    data: PathBuf,
    release: bool,
    passthrough: Vec<String>,
}

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut options = Options {
        listen: DEFAULT_LISTEN.to_owned(),
        data: task::workspace_root()?.join("data"),
        release: RELEASE_BY_DEFAULT,
        passthrough: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| {
                    Error::new(format!(
                        "{name} needs a value; see `cargo xtask demo --help`"
                    ))
                })
        };
        match flag {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(None);
            }
            "--listen" => options.listen = value("--listen")?,
            "--data" => options.data = absolute(PathBuf::from(value("--data")?))?,
            "--release" => options.release = true,
            "--dev" => options.release = false,
            "--" => {
                options.passthrough = args.cloned().collect();
                break;
            }
            other => {
                return Err(Error::new(format!(
                    "unknown option `{other}`; see `cargo xtask demo --help`"
                )));
            }
        }
    }
    if let Err(error) = options.listen.parse::<SocketAddr>() {
        return Err(Error::new(format!(
            "--listen {}: {error}; give an address and port such as {DEFAULT_LISTEN}",
            options.listen
        )));
    }
    Ok(Some(options))
}

/// The path made absolute against the current folder: cargo runs in the workspace root.
fn absolute(path: PathBuf) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path);
    }
    let here = std::env::current_dir()
        .map_err(|error| Error::new(format!("cannot read the current folder: {error}")))?;
    Ok(here.join(path))
}

pub fn run(args: &[String]) -> Result {
    let Some(options) = parse(args)? else {
        return Ok(());
    };
    let profile: &[&str] = if options.release { &["--release"] } else { &[] };
    println!(
        "demo: building sealkeeper ({} profile)",
        if options.release { "release" } else { "dev" }
    );
    let mut build = task::cargo(["build", "--package", "sealkeeper"])?;
    build.args(profile);
    task::run(&mut build, "building sealkeeper")?;

    let mut start = task::cargo(["run", "--quiet", "--package", "sealkeeper"])?;
    start
        .args(profile)
        .args(["--", "demo", "--listen", &options.listen, "--data"])
        .arg(&options.data)
        .args(&options.passthrough);
    println!(
        "demo: starting sealkeeper on http://{} with data in {} (Ctrl-C stops it)",
        options.listen,
        options.data.display()
    );
    start_in_place(start)
}

/// Replaces this process with the server (cargo in turn replaces itself with the
/// binary), so Ctrl-C reaches the server alone and the prompt comes back only once it
/// has shut down.
#[cfg(unix)]
fn start_in_place(mut command: Command) -> Result {
    use std::os::unix::process::CommandExt;
    println!("$ {}", task::shown(&command));
    let error = command.exec();
    Err(Error::new(format!(
        "cannot start `{}`: {error}",
        task::shown(&command)
    )))
}

#[cfg(not(unix))]
fn start_in_place(mut command: Command) -> Result {
    task::run(&mut command, "sealkeeper demo")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn defaults() {
        let options = parse(&[]).unwrap().unwrap();
        assert_eq!(options.listen, DEFAULT_LISTEN);
        assert!(options.data.ends_with("data"));
        assert_eq!(options.release, RELEASE_BY_DEFAULT);
    }

    #[test]
    fn options_and_passthrough() {
        let options = parse(&strings(&[
            "--listen=0.0.0.0:9000",
            "--data",
            "/tmp/d",
            "--release",
            "--",
            "--config",
            "x.toml",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(options.listen, "0.0.0.0:9000");
        assert_eq!(options.data, PathBuf::from("/tmp/d"));
        assert!(options.release);
        assert_eq!(options.passthrough, strings(&["--config", "x.toml"]));
    }

    #[test]
    fn a_relative_data_folder_is_taken_from_the_current_folder() {
        let options = parse(&strings(&["--data", "here"])).unwrap().unwrap();
        assert_eq!(options.data, std::env::current_dir().unwrap().join("here"));
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(parse(&strings(&["--listen", "localhost"])).is_err());
        assert!(parse(&strings(&["--data"])).is_err());
        assert!(parse(&strings(&["--frobnicate"])).is_err());
    }
}
