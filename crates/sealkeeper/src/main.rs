//! The `sealkeeper` binary: `serve`, `demo` (serve with a demo organisation),
//! `config default|show`, `device simulate` (simulated seal boxes and printers),
//! `verify` (a stamp, offline or online, with `verify fetch` to cache keys) and
//! `log verify|monitor` (the tamper-evident log, from the database or from outside).

/// `println!` that never panics: when stdout is closed (`sealkeeper verify … | head`)
/// the rest of the output is dropped.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that never panics.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod demo_devices;
mod http;
mod log_cmd;
mod verify_cmd;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use seal_server::config::{Config, DEFAULT_TOML, LogFormat};

#[derive(Parser)]
#[command(
    name = "sealkeeper",
    version,
    about = "Sealkeeper: seal control with approvals, devices and verifiable stamps"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Run the server with a demo organisation (created on first start) and print the logins.
    Demo(ServeArgs),
    /// Print the default configuration or the effective one.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Device tools: simulated seal boxes and seal printers.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Verify a stamp (QR text, photo, PDF or code), offline or online.
    ///
    /// Offline with a cached key set, or online against a server, checking every
    /// signature and proof locally. Exit 0: genuine and valid; 3: genuine but revoked or
    /// disputed; 1: not verified. `verify fetch` caches a server's keys and checkpoint.
    Verify(verify_cmd::VerifyArgs),
    /// The tamper-evident log: recompute it, or monitor a server's checkpoints.
    ///
    /// `log verify` recomputes the log from the database; `log monitor` follows a
    /// server's checkpoints from outside and reports forks and rollbacks.
    Log {
        #[command(subcommand)]
        command: log_cmd::LogCommand,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Run simulated devices against a server: enrol (or resume from the state folder),
    /// run a scenario script, keep heartbeating and obeying commands.
    Simulate(seal_device::SimulateArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// TOML configuration file (see `sealkeeper config default`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address and port to listen on, e.g. 127.0.0.1:8080 (overrides the configuration).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Data folder for the embedded database and blobs (overrides the configuration).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a commented default configuration file.
    Default,
    /// Print the effective configuration (file + environment), secrets redacted.
    Show {
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // Usage errors exit 1 like every other error (clap's own code, 2, is `log monitor`'s
    // code for a fork or a rollback).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Config {
            command: ConfigCommand::Default,
        } => {
            print!("{DEFAULT_TOML}");
            ExitCode::SUCCESS
        }
        Command::Config {
            command: ConfigCommand::Show { config },
        } => match Config::load(config.as_deref()) {
            Ok(config) => {
                println!("{config:#?}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error),
        },
        Command::Serve(args) => run(args, false),
        Command::Demo(args) => run(args, true),
        Command::Device {
            command: DeviceCommand::Simulate(args),
        } => simulate(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::Log { command } => log_cmd::run(command),
    }
}

/// `device simulate`: logs to stderr (`RUST_LOG`, default `warn`), step lines to stdout;
/// a failed expectation or a fatal error exits non-zero.
fn simulate(args: seal_device::SimulateArgs) -> ExitCode {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error),
    };
    match runtime.block_on(seal_device::simulate(args)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Prints a one-line reason on stderr and returns exit code 1.
pub(crate) fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    tell!("sealkeeper: {error}");
    ExitCode::FAILURE
}

fn run(args: ServeArgs, demo: bool) -> ExitCode {
    let mut config = match Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => return fail(&error),
    };
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(data) = args.data {
        config.server.data_dir = data;
    }
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error),
    };
    runtime.block_on(async move {
        let server = match seal_server::start_default(&config).await {
            Ok(server) => server,
            Err(error) => return fail(&error),
        };
        let url = format!("http://{}", server.addr);
        // Keeps the demo's simulated devices running until the server stops.
        let mut _demo_devices = None;
        if demo {
            match seal_app::demo::seed(&server.app).await {
                Ok(seeded) => {
                    match demo_devices::start(&server.app, &url, &config.server.data_dir, &seeded)
                        .await
                    {
                        Ok(stop) => _demo_devices = Some(stop),
                        Err(error) => eprintln!("sealkeeper: demo devices not started: {error}"),
                    }
                    print_demo(&url, &seeded);
                }
                Err(error) => {
                    server.stop().await;
                    return fail(&format!("creating the demo organisation failed: {error}"));
                }
            }
        }
        tracing::info!(%url, backend = ?server.app.store().backend(), "Sealkeeper is listening");
        println!("Sealkeeper is listening on {url}  (Ctrl-C to stop)");
        seal_server::serve_until_signal(
            server,
            Duration::from_secs(config.server.shutdown_grace_seconds),
        )
        .await;
        ExitCode::SUCCESS
    })
}

fn print_demo(url: &str, demo: &seal_app::demo::Demo) {
    println!();
    println!(
        "Demo organisation ready. Sign in at {url} with organisation code \"{}\":",
        demo.org_code
    );
    println!("  {:<12} {:<14} {:<24} name", "role", "login", "password");
    for login in &demo.logins {
        println!(
            "  {:<12} {:<14} {:<24} {}",
            login.role.key(),
            login.login,
            login.password,
            login.name
        );
    }
    if let Some(order) = &demo.order {
        println!("Approved application ready to stamp: {order}");
    }
    if !demo.devices.is_empty() {
        let labels: Vec<&str> = demo.devices.iter().map(|d| d.label.as_str()).collect();
        println!(
            "Simulated devices running: {} (see {url}/devices)",
            labels.join(", ")
        );
    }
    println!("API: {url}/api/v1/openapi.json   health: {url}/healthz");
    println!();
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&config.log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
