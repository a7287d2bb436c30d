//! `sealkeeper device simulate`: its arguments (`SimulateArgs`, a clap `Args` the binary
//! flattens) and the library entry point `simulate`, which enrols or resumes N simulated
//! devices, runs a scenario on the first and keeps them heartbeating until stopped.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use seal_proof::wire::Position;
use tokio::sync::watch;

use crate::scenario::{self, RunSummary, ScenarioError, Script};
use crate::sim::{DEFAULT_HOME, DeviceKind, SimConfig, SimDevice, SimError};

/// The arguments of `sealkeeper device simulate`.
#[derive(clap::Args, Clone, Debug)]
#[command(after_long_help = scenario::SCRIPT_HELP)]
pub struct SimulateArgs {
    /// The Sealkeeper server's base URL, e.g. http://127.0.0.1:8080. Needed for new
    /// devices; a resumed device keeps the URL it was enrolled with unless this is given.
    #[arg(long, value_name = "URL", env = "SEALKEEPER_SERVER")]
    pub server: Option<String>,
    /// State folder, one subfolder per device (device-001, device-002, …) holding its
    /// secret key, device id, sequence number, event outbox and templates. An existing
    /// subfolder resumes that device: no new enrolment, and its buffered events are sent
    /// first.
    #[arg(long, value_name = "DIR", default_value = "sim-devices")]
    pub state: PathBuf,
    /// The kind of device to simulate (for new devices; a resumed one keeps its kind).
    #[arg(long, value_enum, default_value = "seal_box")]
    pub kind: DeviceKind,
    /// How many devices to run concurrently.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub count: u32,
    /// A one-time enrolment token (sket_…) for a single new device.
    #[arg(long, value_name = "TOKEN", conflicts_with = "tokens_file")]
    pub token: Option<String>,
    /// A file of enrolment tokens, one per line, for the new devices in order (blank
    /// lines and # comments are skipped).
    #[arg(long, value_name = "FILE")]
    pub tokens_file: Option<PathBuf>,
    /// A scenario script for the first device ("-" reads standard input), e.g. `unlock
    /// ORDER fingerprint:alice-fp`, `press 3`, `expect locked` (the commands are listed
    /// below in --help). A failed expectation exits non-zero.
    #[arg(long, value_name = "FILE|-")]
    pub script: Option<String>,
    /// Keep every device heartbeating and obeying commands until Ctrl-C (after the
    /// script, for the first device). Devices still pending wait for approval first.
    #[arg(long)]
    pub heartbeat: bool,
    /// The target size of each press photo in kilobytes (0: no photos).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub photo_kb: u32,
    /// The devices' home position (GPS readings jitter a few metres around it), e.g.
    /// 31.2304,121.4737.
    #[arg(long, value_name = "LAT,LON", value_parser = parse_home)]
    pub home: Option<Position>,
    /// How many unreported events each device keeps before it refuses to press.
    #[arg(long, value_name = "N", default_value_t = crate::buffer::DEFAULT_CAPACITY)]
    pub buffer_capacity: usize,
    /// Receive commands only by long-polling when a heartbeat reports some pending, not
    /// over the WebSocket stream.
    #[arg(long)]
    pub no_stream: bool,
}

impl SimulateArgs {
    /// Arguments for `count` devices of `kind` against `server` kept in `state`, with
    /// every other option at its default (for in-process callers).
    pub fn new(server: &str, state: PathBuf, kind: DeviceKind, count: u32) -> Self {
        SimulateArgs {
            server: Some(server.to_owned()),
            state,
            kind,
            count,
            token: None,
            tokens_file: None,
            script: None,
            heartbeat: false,
            photo_kb: 200,
            home: None,
            buffer_capacity: crate::buffer::DEFAULT_CAPACITY,
            no_stream: false,
        }
    }
}

/// Parses `LAT,LON`.
pub fn parse_home(text: &str) -> Result<Position, String> {
    let (lat, lon) = text
        .split_once(',')
        .ok_or_else(|| format!("expected LAT,LON, not {text:?}"))?;
    let lat: f64 = lat
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| (-90.0..=90.0).contains(v))
        .ok_or_else(|| format!("latitude must be a number within ±90, not {lat:?}"))?;
    let lon: f64 = lon
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| (-180.0..=180.0).contains(v))
        .ok_or_else(|| format!("longitude must be a number within ±180, not {lon:?}"))?;
    Ok(Position {
        lat,
        lon,
        accuracy_m: DEFAULT_HOME.accuracy_m,
    })
}

/// Why a simulation failed.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// A device could not be opened, enrolled or run.
    #[error("device {index}: {source}")]
    Device {
        /// 1-based index (the `device-NNN` folder).
        index: usize,
        /// What failed.
        source: SimError,
    },
    /// The scenario could not be read or parsed, or failed.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Writing the output failed.
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
}

/// One device of a simulation.
#[derive(Clone, Debug)]
pub struct DeviceReport {
    /// Its state folder.
    pub dir: PathBuf,
    /// Its id (None: never enrolled).
    pub device_id: Option<String>,
    /// The server status last seen.
    pub status: Option<String>,
}

/// What a simulation did.
#[derive(Clone, Debug)]
pub struct SimulateReport {
    /// The devices, in order.
    pub devices: Vec<DeviceReport>,
    /// The scenario's summary, if one ran.
    pub scenario: Option<RunSummary>,
}

/// Runs `sealkeeper device simulate` printing to standard output, stopping on Ctrl-C.
pub async fn simulate(args: SimulateArgs) -> Result<SimulateReport, SimulateError> {
    let (stop, stopped) = watch::channel(false);
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop.send(true);
        }
    });
    let mut stdout = std::io::stdout();
    let result = simulate_with(args, &mut stdout, stopped).await;
    ctrl_c.abort();
    result
}

/// The simulation with its output and stop signal given (for in-process use: a demo, a
/// benchmark, tests). Returns when the work is done — or, with `heartbeat`, when `stop`
/// turns true (or its sender is dropped).
pub async fn simulate_with(
    args: SimulateArgs,
    out: &mut (dyn Write + Send),
    mut stop: watch::Receiver<bool>,
) -> Result<SimulateReport, SimulateError> {
    let script = match &args.script {
        Some(source) => Some(Script::load(source)?),
        None => None,
    };
    let count = usize::try_from(args.count).unwrap_or(1).max(1);
    if args.token.is_some() && count > 1 {
        return Err(SimulateError::Usage(
            "an enrolment token is good for one device: use --tokens-file for several".into(),
        ));
    }
    let tokens: Vec<String> = match (&args.token, &args.tokens_file) {
        (Some(token), _) => vec![token.clone()],
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| SimulateError::Usage(format!("{}: {e}", file.display())))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect(),
        (None, None) => Vec::new(),
    };
    let config = SimConfig {
        server: args.server.clone(),
        kind: args.kind,
        photo_kb: args.photo_kb,
        home: args.home.unwrap_or(DEFAULT_HOME),
        buffer_capacity: args.buffer_capacity.max(1),
        use_stream: !args.no_stream,
        ..SimConfig::default()
    };

    let mut devices: Vec<Arc<SimDevice>> = Vec::with_capacity(count);
    let mut tokens = tokens.into_iter();
    for index in 1..=count {
        let dir = args.state.join(format!("device-{index:03}"));
        let device = SimDevice::open(&dir, config.clone())
            .map_err(|source| SimulateError::Device { index, source })?;
        if let Some(device_id) = device.device_id() {
            let buffered = device.status().buffered;
            writeln!(
                out,
                "ok resume device={index} device_id={device_id} kind={} buffered={buffered}",
                device.kind().as_str()
            )?;
            if buffered > 0 {
                match device.sync().await {
                    Ok(report) => writeln!(
                        out,
                        "ok sync device={index} stored={} duplicates={} buffered={}",
                        report.stored, report.duplicates, report.remaining
                    )?,
                    // Not fatal: the heartbeat loop (or the script) tries again.
                    Err(error) => writeln!(
                        out,
                        "refused sync device={index} code={} message={:?}",
                        error.refusal_code().unwrap_or("network"),
                        error.to_string()
                    )?,
                }
            }
        } else if let Some(token) = tokens.next() {
            let response = device
                .enrol(&token)
                .await
                .map_err(|source| SimulateError::Device { index, source })?;
            writeln!(
                out,
                "ok enrol device={index} device_id={} status={} serial={} mac={}",
                response.device_id,
                response.status,
                device.info().serial,
                device.info().mac
            )?;
        } else if !(index == 1 && script.is_some()) {
            return Err(SimulateError::Usage(format!(
                "{} is not enrolled yet: give --token or --tokens-file (one token per new device)",
                dir.display()
            )));
        }
        out.flush()?;
        devices.push(Arc::new(device));
    }

    // Background devices: every one but the first, when heartbeating.
    let mut background = Vec::new();
    if args.heartbeat {
        for (i, device) in devices.iter().enumerate().skip(1) {
            let device = Arc::clone(device);
            let stop = stop.clone();
            background.push(tokio::spawn(async move { (i + 1, device.run(stop).await) }));
        }
    }

    let mut summary = None;
    let mut failure = None;
    if let (Some(script), Some(first)) = (&script, devices.first()) {
        let outcome = tokio::select! {
            outcome = scenario::run(first, script, out) => Some(outcome),
            _ = stop.changed() => None,
        };
        match outcome {
            Some(Ok(run)) => summary = Some(run),
            Some(Err(error)) => failure = Some(SimulateError::Scenario(error)),
            None => {}
        }
    }
    let stopped = *stop.borrow();
    if failure.is_none()
        && args.heartbeat
        && !stopped
        && let Some(first) = devices.first()
        && let Err(source) = first.run(stop.clone()).await
    {
        failure = Some(SimulateError::Device { index: 1, source });
    }
    if failure.is_some() {
        // Stop the others: they follow the caller's stop signal, so end them here.
        for task in &background {
            task.abort();
        }
    }
    for task in background {
        match task.await {
            Ok((index, Err(source))) if failure.is_none() => {
                failure = Some(SimulateError::Device { index, source });
            }
            Ok(_) => {}
            Err(error) if error.is_cancelled() => {}
            Err(error) => {
                tracing::warn!(%error, "a simulated device's task failed");
            }
        }
    }
    out.flush()?;
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(SimulateReport {
        devices: devices
            .iter()
            .map(|d| {
                let status = d.status();
                DeviceReport {
                    dir: d.dir().to_owned(),
                    device_id: status.device_id,
                    status: status.status,
                }
            })
            .collect(),
        scenario: summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulateArgs,
    }

    #[test]
    fn arguments_parse() {
        let cli = Cli::try_parse_from([
            "simulate",
            "--server",
            "http://127.0.0.1:8080",
            "--state",
            "/tmp/s",
            "--kind",
            "seal_printer",
            "--count",
            "3",
            "--tokens-file",
            "t.txt",
            "--photo-kb",
            "0",
            "--home",
            "39.9,116.4",
            "--heartbeat",
        ])
        .unwrap();
        assert_eq!(cli.args.kind, DeviceKind::SealPrinter);
        assert_eq!(cli.args.count, 3);
        assert_eq!(cli.args.photo_kb, 0);
        assert!(cli.args.heartbeat);
        assert_eq!(cli.args.home.map(|h| (h.lat, h.lon)), Some((39.9, 116.4)));
        assert!(Cli::try_parse_from(["simulate", "--token", "a", "--tokens-file", "b"]).is_err());
        assert!(Cli::try_parse_from(["simulate", "--count", "0"]).is_err());
        assert!(Cli::try_parse_from(["simulate", "--home", "91,0"]).is_err());
        assert!(Cli::try_parse_from(["simulate", "--kind", "toaster"]).is_err());
    }

    #[test]
    fn home_parses() {
        let home = parse_home(" 31.2 , 121.5 ").unwrap();
        assert_eq!((home.lat, home.lon), (31.2, 121.5));
        assert!(parse_home("31.2").is_err());
        assert!(parse_home("a,b").is_err());
    }
}
