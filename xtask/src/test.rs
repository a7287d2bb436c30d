//! `cargo xtask test`: the whole suite, in the order that fails fastest: formatting,
//! clippy, every test once under nextest, then doctests when there are any.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::task::{self, Error, Result};

pub const HELP: &str = "\
Run the whole test suite

Usage: cargo xtask test [--no-lint] [-- NEXTEST_ARGS...]

Steps, stopping at the first that fails:
  1. cargo fmt --all -- --check
  2. cargo clippy --workspace --all-targets -- -D warnings
  3. cargo nextest run --workspace --profile ci   (profile in .config/nextest.toml)
  4. cargo test --workspace --doc                 (only when the sources have doctests)

Options:
  --no-lint   Skip steps 1 and 2 for a quick local run
  -h, --help  Print this help

Arguments after `--` go to `cargo nextest run`, e.g. a filter: cargo xtask test -- contract
(doctests are skipped then).

Databases: the store and API tests always run on SQLite, and on PostgreSQL too when
SEALKEEPER_TEST_PG_URL names a server they may create databases on, e.g.
  SEALKEEPER_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo xtask test
";

/// The variable naming the PostgreSQL server for the store and API tests.
const PG_URL_VAR: &str = "SEALKEEPER_TEST_PG_URL";

/// The nextest profile in `.config/nextest.toml`: no fail-fast, slow tests reported and
/// stuck ones ended.
const NEXTEST_PROFILE: &str = "ci";

struct Options {
    lint: bool,
    nextest_args: Vec<String>,
}

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut options = Options {
        lint: true,
        nextest_args: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(None);
            }
            "--no-lint" => options.lint = false,
            "--" => {
                options.nextest_args = args.cloned().collect();
                break;
            }
            other => {
                return Err(Error::new(format!(
                    "unknown option `{other}`; see `cargo xtask test --help` (nextest arguments go after `--`)"
                )));
            }
        }
    }
    Ok(Some(options))
}

enum Outcome {
    Passed(Duration),
    Failed(Duration),
    Skipped(&'static str),
}

struct Step {
    name: &'static str,
    outcome: Outcome,
}

/// The steps run so far, for the summary line.
#[derive(Default)]
struct Steps(Vec<Step>);

impl Steps {
    fn run(&mut self, name: &'static str, command: &mut Command) -> Result {
        println!("\n==> test: {name}");
        let started = Instant::now();
        let result = task::run(command, name);
        let elapsed = started.elapsed();
        let outcome = if result.is_ok() {
            Outcome::Passed(elapsed)
        } else {
            Outcome::Failed(elapsed)
        };
        self.0.push(Step { name, outcome });
        result
    }

    fn skip(&mut self, name: &'static str, why: &'static str) {
        println!("\n==> test: {name} skipped ({why})");
        self.0.push(Step {
            name,
            outcome: Outcome::Skipped(why),
        });
    }

    fn summary(&self, total: Duration, ok: bool) -> String {
        let steps: Vec<String> = self
            .0
            .iter()
            .map(|step| match &step.outcome {
                Outcome::Passed(elapsed) => format!("{} ok {}", step.name, task::seconds(*elapsed)),
                Outcome::Failed(elapsed) => {
                    format!("{} FAILED {}", step.name, task::seconds(*elapsed))
                }
                Outcome::Skipped(why) => format!("{} skipped ({why})", step.name),
            })
            .collect();
        format!(
            "xtask test {}: {}; total {}",
            if ok { "ok" } else { "FAILED" },
            steps.join(", "),
            task::seconds(total)
        )
    }
}

pub fn run(args: &[String]) -> Result {
    let Some(options) = parse(args)? else {
        return Ok(());
    };
    let started = Instant::now();
    if !task::succeeds(&mut task::cargo(["nextest", "--version"])?) {
        return Err(Error::new(
            "cargo-nextest is not installed; run `cargo xtask setup` (or `cargo install cargo-nextest --locked`)",
        ));
    }
    databases()?;

    let mut steps = Steps::default();
    let result = all_steps(&options, &mut steps);
    println!("\n{}", steps.summary(started.elapsed(), result.is_ok()));
    result
}

fn all_steps(options: &Options, steps: &mut Steps) -> Result {
    if options.lint {
        steps
            .run("fmt", &mut task::cargo(["fmt", "--all", "--", "--check"])?)
            .map_err(|error| {
                Error::new(format!(
                    "{error}: run `cargo fmt --all` and commit the result"
                ))
            })?;
        steps.run(
            "clippy",
            &mut task::cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])?,
        )?;
    } else {
        steps.skip("fmt", "--no-lint");
        steps.skip("clippy", "--no-lint");
    }

    let mut nextest = task::cargo([
        "nextest",
        "run",
        "--workspace",
        "--profile",
        NEXTEST_PROFILE,
    ])?;
    nextest.args(&options.nextest_args);
    steps.run("nextest", &mut nextest)?;

    if !options.nextest_args.is_empty() {
        steps.skip("doctests", "nextest arguments given");
    } else if has_doctests(&task::workspace_root()?) {
        steps.run(
            "doctests",
            &mut task::cargo(["test", "--workspace", "--doc"])?,
        )?;
    } else {
        steps.skip("doctests", "none in the sources");
    }
    Ok(())
}

/// Says which databases the tests will use, and fails early when the PostgreSQL server
/// named by the environment cannot be reached: its tests would all fail one by one.
fn databases() -> Result {
    let url = std::env::var(PG_URL_VAR).unwrap_or_default();
    if url.trim().is_empty() {
        println!(
            "test: databases: SQLite only ({PG_URL_VAR} is not set, so the PostgreSQL variants skip)"
        );
        return Ok(());
    }
    let shown = redacted(&url);
    println!("test: databases: SQLite and PostgreSQL at {shown} ({PG_URL_VAR})");
    let Some((host, port)) = host_and_port(&url) else {
        println!(
            "test: (no host and port in {shown} to check it is reachable; the tests will tell)"
        );
        return Ok(());
    };
    reachable(&host, port).map_err(|reason| {
        Error::new(format!(
            "PostgreSQL at {shown} is not reachable ({reason}); start it, or unset {PG_URL_VAR} to test on SQLite only"
        ))
    })
}

/// The URL with the password, if any, replaced by `***`.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The host and port of a `postgres://user:pass@host:port/db` URL (port 5432 when not
/// given); `None` when the host is not in the authority (e.g. a socket in the query).
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let hostport = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if hostport.is_empty() || hostport.contains(',') {
        return None;
    }
    if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None => 5432,
        };
        return Some((host.to_owned(), port));
    }
    match hostport.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((hostport.to_owned(), 5432)),
    }
}

fn reachable(host: &str, port: u16) -> std::result::Result<(), String> {
    let addresses = (host, port)
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve {host}: {error}"))?;
    let mut last = format!("{host} resolves to no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, Duration::from_secs(3)) {
            Ok(_) => return Ok(()),
            Err(error) => last = format!("{address}: {error}"),
        }
    }
    Err(last)
}

/// Whether any workspace source has a doc comment with a code block, or takes its docs
/// from a file (which may hold code blocks). `cargo test --doc` costs a rustdoc run per
/// crate even when there is nothing to test, so it runs only then.
fn has_doctests(root: &Path) -> bool {
    let mut folders = vec![root.join("xtask").join("src")];
    if let Ok(crates) = std::fs::read_dir(root.join("crates")) {
        folders.extend(crates.flatten().map(|entry| entry.path().join("src")));
    }
    folders.iter().any(|folder| folder_has_doctests(folder))
}

fn folder_has_doctests(folder: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            folder_has_doctests(&path)
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            std::fs::read_to_string(&path).is_ok_and(|source| source_has_doctests(&source))
        } else {
            false
        }
    })
}

fn source_has_doctests(source: &str) -> bool {
    source.lines().any(|line| {
        let line = line.trim_start();
        ((line.starts_with("///") || line.starts_with("//!")) && line.contains("```"))
            || (line.starts_with("#![doc") || line.starts_with("#[doc"))
                && line.contains("include_str!")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let options = parse(&["--no-lint".into(), "--".into(), "contract".into()])
            .unwrap()
            .unwrap();
        assert!(!options.lint);
        assert_eq!(options.nextest_args, vec!["contract".to_owned()]);
        assert!(parse(&["contract".into()]).is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted("postgres://u:secret@db:5432/test"),
            "postgres://u:***@db:5432/test"
        );
        assert_eq!(
            redacted("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(
            redacted("postgres://u:p@h/db?x=a@b"),
            "postgres://u:***@h/db?x=a@b"
        );
    }

    #[test]
    fn hosts_and_ports() {
        assert_eq!(
            host_and_port("postgres://postgres@127.0.0.1:5432/test"),
            Some(("127.0.0.1".into(), 5432))
        );
        assert_eq!(
            host_and_port("postgres://u:p@db/test"),
            Some(("db".into(), 5432))
        );
        assert_eq!(
            host_and_port("postgres://[::1]:6543/test"),
            Some(("::1".into(), 6543))
        );
        assert_eq!(host_and_port("postgres:///test?host=/run/postgresql"), None);
        assert_eq!(host_and_port("not a url"), None);
    }

    #[test]
    fn doctests_are_found_in_doc_comments_only() {
        assert!(source_has_doctests(
            "/// ```\n/// let x = 1;\n/// ```\nfn f() {}"
        ));
        assert!(source_has_doctests("//! ```rust\n"));
        assert!(source_has_doctests(
            "#![doc = include_str!(\"../README.md\")]"
        ));
        assert!(!source_has_doctests("// ```\nlet s = \"```\";"));
    }
}
