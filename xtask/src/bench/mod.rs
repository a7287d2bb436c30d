//! `cargo xtask bench NAME`: named benchmarks, each printing figures with the command
//! that reproduces them, for docs/benchmarks.md.

mod applications;
mod compare;
mod devices;
mod foundation;
mod log;
mod seal_image;
mod webhooks;

use crate::task::{Error, Result};

pub const HELP: &str = "\
Run a named benchmark; without a name, list the available ones

Usage: cargo xtask bench [NAME]

Each benchmark prints its figures and the commands that reproduce them, for
docs/benchmarks.md.
";

/// A benchmark `cargo xtask bench NAME` can run.
struct Benchmark {
    name: &'static str,
    about: &'static str,
    run: fn() -> Result,
}

/// The benchmarks, by name.
const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        name: "applications",
        about: "applications filed per second through the API with a 1 MB PDF (create, upload, submit) vs GET /healthz",
        run: applications::run,
    },
    Benchmark {
        name: "compare",
        about: "document comparison over a labelled corpus of 320 pairs: recall, false alarms, uncertain rate, time per page, peak memory",
        run: compare::run,
    },
    Benchmark {
        name: "devices",
        about: "stamp events per second from 1,000 signed devices (batched, with 200 KB photos) vs GET /healthz; RSS with 1,000 WebSocket streams",
        run: devices::run,
    },
    Benchmark {
        name: "foundation",
        about: "release build, binary size, idle RSS, GET /healthz vs authenticated GET /api/v1/me (wrk)",
        run: foundation::run,
    },
    Benchmark {
        name: "log",
        about: "tamper-evident log: appends per second (SQLite, by transaction size); inclusion proofs from the store vs memory; Merkle appends and proofs at 1M and 10M leaves",
        run: log::run,
    },
    Benchmark {
        name: "seal-image",
        about: "seal SVG and PNG at 150/300/600 dpi vs ring-and-star and plain fill; document inspection vs SHA-256",
        run: seal_image::run,
    },
    Benchmark {
        name: "verify",
        about: "public verification GET /api/v1/verify/{code} requests per second and p99 vs GET /healthz (64 clients)",
        run: devices::run_verify,
    },
    Benchmark {
        name: "webhooks",
        about: "webhook deliveries per second to a loopback receiver vs raw POSTs (worker, SQLite)",
        run: webhooks::run,
    },
];

pub fn run(args: &[String]) -> Result {
    match args {
        [] => {
            list();
            Ok(())
        }
        [flag] if flag == "-h" || flag == "--help" => {
            print!("{HELP}");
            list();
            Ok(())
        }
        [name] => match BENCHMARKS.iter().find(|b| b.name == name.as_str()) {
            Some(benchmark) => (benchmark.run)(),
            None => Err(Error::new(format!(
                "unknown benchmark `{name}`; available: {}",
                available()
            ))),
        },
        [_, extra, ..] => Err(Error::new(format!(
            "bench takes one benchmark name, got also `{extra}`"
        ))),
    }
}

fn available() -> String {
    if BENCHMARKS.is_empty() {
        "none yet".to_owned()
    } else {
        BENCHMARKS
            .iter()
            .map(|b| b.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn list() {
    if BENCHMARKS.is_empty() {
        println!("benchmarks: none yet");
        return;
    }
    println!("benchmarks:");
    for benchmark in BENCHMARKS {
        println!("  {:<14}{}", benchmark.name, benchmark.about);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_are_an_error_that_lists_the_available_ones() {
        let error = run(&["nope".to_owned()]).unwrap_err().to_string();
        assert!(error.contains("unknown benchmark `nope`"), "{error}");
        assert!(error.contains(&available()), "{error}");
    }
}
