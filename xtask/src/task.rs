//! What the subcommands share: the error type, the workspace root, running cargo and
//! other programs with the command line shown, and timing.

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// An error with a message meant for the person at the terminal.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T = ()> = std::result::Result<T, Error>;

/// The workspace root: the parent of this crate's folder.
pub fn workspace_root() -> Result<PathBuf> {
    // `cargo run` sets CARGO_MANIFEST_DIR at run time; the compile-time value is the
    // fallback for running the binary directly.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .ok_or_else(|| Error::new(format!("{} has no parent folder", manifest_dir.display())))
}

/// A `cargo` command for the same toolchain that runs this xtask, in the workspace root.
pub fn cargo<I, S>(args: I) -> Result<Command>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.args(args).current_dir(workspace_root()?);
    Ok(command)
}

/// The command line as a person would type it (`cargo` shown by name).
pub fn shown(command: &Command) -> String {
    let program = command.get_program();
    let program = if std::env::var_os("CARGO").as_deref() == Some(program) {
        "cargo".to_owned()
    } else {
        program.to_string_lossy().into_owned()
    };
    let mut line = quote(&program);
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&quote(&arg.to_string_lossy()));
    }
    line
}

fn quote(word: &str) -> String {
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

/// Prints the command line, runs it with the terminal passed through and fails with a
/// message naming `what` unless it exits successfully.
pub fn run(command: &mut Command, what: &str) -> Result {
    println!("$ {}", shown(command));
    let status = command.status().map_err(|error| {
        Error::new(format!(
            "{what}: cannot start `{}`: {error}",
            shown(command)
        ))
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(format!("{what} failed ({status})")))
    }
}

/// Runs a command quietly and tells whether it started and exited successfully.
pub fn succeeds(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs a command quietly and returns its standard output when it exits successfully.
pub fn output(command: &mut Command) -> Option<String> {
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A duration the way the summaries show it: `0.4s`, `73.2s`, `12m05s`.
pub fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 600.0 {
        format!("{secs:.1}s")
    } else {
        let whole = duration.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_leaves_plain_words_alone() {
        assert_eq!(quote("--workspace"), "--workspace");
        assert_eq!(quote("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(seconds(Duration::from_millis(400)), "0.4s");
        assert_eq!(seconds(Duration::from_secs(725)), "12m05s");
    }
}
