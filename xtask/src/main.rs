//! Project automation for Sealkeeper: `cargo xtask setup | demo | test | bench`.
//!
//! Plain Rust on the standard library only, so it builds before anything else and needs
//! nothing fetched. Every subcommand prints the commands it runs, so each step can be
//! repeated by hand.

mod bench;
mod demo;
mod ocr_models;
mod setup;
mod task;
mod test;

use std::process::ExitCode;

use task::{Error, Result};

const HELP: &str = "\
Sealkeeper project automation

Usage: cargo xtask <COMMAND> [OPTIONS]

Commands:
  setup   Install what the test suite needs and is missing (cargo-nextest, Debian packages)
  demo    Build and start `sealkeeper demo`: embedded SQLite under ./data, a demo organisation
  test    Run the whole suite: fmt check, clippy -D warnings, nextest, doctests
  bench   Run a named benchmark; without a name, list them
  help    Print this help, or a command's: cargo xtask help <COMMAND>

Run `cargo xtask <COMMAND> --help` for a command's options.
";

fn main() -> ExitCode {
    match args().and_then(|args| dispatch(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The command line after the program name, refusing arguments that are not UTF-8.
fn args() -> Result<Vec<String>> {
    std::env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| Error::new(format!("argument {arg:?} is not valid UTF-8")))
        })
        .collect()
}

fn dispatch(args: &[String]) -> Result {
    let Some((command, rest)) = args.split_first() else {
        print!("{HELP}");
        return Err(Error::new("no command given"));
    };
    match command.as_str() {
        "setup" => setup::run(rest),
        "demo" => demo::run(rest),
        "test" => test::run(rest),
        "bench" => bench::run(rest),
        "help" | "-h" | "--help" => help(rest.first().map(String::as_str)),
        other => {
            print!("{HELP}");
            Err(Error::new(format!("unknown command `{other}`")))
        }
    }
}

fn help(command: Option<&str>) -> Result {
    match command {
        None => print!("{HELP}"),
        Some("setup") => print!("{}", setup::HELP),
        Some("demo") => print!("{}", demo::HELP),
        Some("test") => print!("{}", test::HELP),
        Some("bench") => print!("{}", bench::HELP),
        Some(other) => return Err(Error::new(format!("unknown command `{other}`"))),
    }
    Ok(())
}
