//! Scenario scripts for a simulated device: one command per line, `#` comments, parsed
//! with line numbers and run step by step, printing one machine-readable line per step
//! (`ok press seq=3 uses_left=0 locked=true buffered=0`, `refused unlock
//! code=unlock.not_approved …`). Expectations that do not hold end the run with an error.
//!
//! The commands are listed in [`SCRIPT_HELP`].

use std::fmt::Write as _;
use std::io::{self, Read as _, Write};
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;

use crate::factors::{Factor, Presented};
use crate::sim::{SimDevice, SimError};

/// The script commands, one per line (also shown by `sealkeeper device simulate --help`).
pub const SCRIPT_HELP: &str = "\
Scenario script commands (one per line, # starts a comment):
  enrol TOKEN                     enrol with a one-time token (sket_…)
  wait-approval [TIMEOUT_S]       poll until an admin approved the device (default 60 s)
  refresh                         ask the server for the device's state (me)
  template KIND ID [CODE]         enrol a template: fingerprint ID | face ID | pin PIN | id_code ID CODE
  unlock ORDER [FACTOR...]        unlock for an application; factors: fingerprint:ID face:ID pin:PIN id_code:ID:CODE
  press [N] [--hold-ms MS]        press N times (default 1, held 400 ms)
  offline | online                the offline switch (online sends the outbox at once)
  sync                            send the outbox
  tamper [on|off]                 the tamper sensor (default on)
  lift | place                    take the box off its base / put it back
  move LAT LON | move home        move the device (e.g. outside its geofence)
  battery PCT                     set the battery level
  heartbeat                       send one heartbeat (sensor changes are reported by heartbeats)
  commands [WAIT_S]               poll for commands, apply and acknowledge them
  run SECONDS                     heartbeat and obey streamed commands for a while
  scan ORDER PAGE                 (seal printer) scan a PNG/JPEG page, save the print job's SVG
  sleep SECONDS                   wait
  status                          print the device's state
  expect locked | unlocked | uses N | buffered N | ok | refused CODE | status STATUS
  quit                            stop here (success)
Each step prints one line: `ok STEP key=value…`, `refused STEP code=CODE message=\"…\"`,
`fail expect line=N …` or `error STEP line=N message=\"…\"`; the last two exit non-zero.";

/// The hold time of a press when the script does not say.
pub const DEFAULT_HOLD_MS: u32 = 400;
/// How long `wait-approval` waits when the script does not say.
pub const DEFAULT_APPROVAL_TIMEOUT_S: f64 = 60.0;

/// Why a script could not be read, parsed or run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The script could not be read.
    #[error("reading the script {path}: {source}")]
    Read {
        /// The file (`-` for standard input).
        path: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// A line is not a valid command.
    #[error("line {line}: {message}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An `expect` did not hold.
    #[error("line {line}: expectation failed: {message}")]
    Expectation {
        /// 1-based line number.
        line: usize,
        /// What was expected and what was found.
        message: String,
    },
    /// A step failed in a way that is not a refusal (network, server error, files).
    #[error("line {line}: {step} failed: {message}")]
    Fatal {
        /// 1-based line number.
        line: usize,
        /// The command.
        step: &'static str,
        /// The error.
        message: String,
    },
    /// Writing the output failed.
    #[error("writing the output: {0}")]
    Output(#[from] io::Error),
}

/// One command of a script.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `enrol TOKEN`
    Enrol {
        /// The one-time token.
        token: String,
    },
    /// `wait-approval [TIMEOUT_S]`
    WaitApproval {
        /// Seconds.
        timeout_s: f64,
    },
    /// `refresh`
    Refresh,
    /// `template KIND ID [CODE]`
    Template {
        /// The factor.
        factor: Factor,
        /// The template id (or the PIN).
        id: String,
        /// The authorisation code of an `id_code`.
        code: Option<String>,
    },
    /// `unlock ORDER FACTOR…`
    Unlock {
        /// The application number.
        order: String,
        /// What is presented.
        factors: Vec<Presented>,
    },
    /// `press [N] [--hold-ms MS]`
    Press {
        /// Presses.
        count: u32,
        /// Hold time of each.
        hold_ms: u32,
    },
    /// `offline`
    Offline,
    /// `online`
    Online,
    /// `sync`
    Sync,
    /// `tamper [on|off]`
    Tamper(bool),
    /// `lift`
    Lift,
    /// `place`
    Place,
    /// `move LAT LON` (`None`: `move home`)
    Move(Option<(f64, f64)>),
    /// `battery PCT`
    Battery(u8),
    /// `heartbeat`
    Heartbeat,
    /// `commands [WAIT_S]`
    Commands {
        /// Long-poll wait.
        wait_s: u64,
    },
    /// `run SECONDS`
    Run {
        /// Seconds.
        seconds: f64,
    },
    /// `scan ORDER PAGE`
    Scan {
        /// The application number.
        order: String,
        /// The page image.
        page: PathBuf,
    },
    /// `sleep SECONDS`
    Sleep {
        /// Seconds.
        seconds: f64,
    },
    /// `status`
    Status,
    /// `expect …`
    Expect(Expectation),
    /// `quit`
    Quit,
}

/// What an `expect` line checks.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// The seal is locked.
    Locked,
    /// The seal is unlocked.
    Unlocked,
    /// Presses left.
    Uses(u32),
    /// Events in the outbox.
    Buffered(usize),
    /// The previous step succeeded.
    Ok,
    /// The previous step was refused with this code.
    Refused(String),
    /// The server status last seen (`pending`, `active`, `revoked`).
    Status(String),
}

/// A command with its line number.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// 1-based line number.
    pub line: usize,
    /// The command.
    pub action: Action,
}

/// A parsed script.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Script {
    /// The steps in order.
    pub steps: Vec<Step>,
}

const COMMANDS: &str = "enrol, wait-approval, refresh, template, unlock, press, offline, online, sync, tamper, lift, place, move, battery, heartbeat, commands, run, scan, sleep, status, expect, quit";

impl Script {
    /// Reads a script from a file, or from standard input for `-`.
    pub fn load(source: &str) -> Result<Self, ScenarioError> {
        let read_error = |source_error| ScenarioError::Read {
            path: source.to_owned(),
            source: source_error,
        };
        let text = if source == "-" {
            let mut text = String::new();
            io::stdin().read_to_string(&mut text).map_err(read_error)?;
            text
        } else {
            std::fs::read_to_string(source).map_err(read_error)?
        };
        Self::parse(&text)
    }

    /// Parses a script; the first bad line is reported with its number.
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        let mut steps = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = strip_comment(raw);
            let words: Vec<&str> = content.split_whitespace().collect();
            let Some((&command, args)) = words.split_first() else {
                continue;
            };
            let action = parse_action(command, args)
                .map_err(|message| ScenarioError::Parse { line, message })?;
            steps.push(Step { line, action });
        }
        Ok(Script { steps })
    }
}

/// Everything from a `#` that starts a word is a comment.
fn strip_comment(line: &str) -> &str {
    let mut previous_blank = true;
    for (i, c) in line.char_indices() {
        if c == '#' && previous_blank {
            return &line[..i];
        }
        previous_blank = c.is_whitespace();
    }
    line
}

fn parse_action(command: &str, args: &[&str]) -> Result<Action, String> {
    let arity = |min: usize, max: usize, usage: &str| {
        if args.len() < min || args.len() > max {
            Err(format!("usage: {usage}"))
        } else {
            Ok(())
        }
    };
    let seconds = |text: &str, what: &str| -> Result<f64, String> {
        text.parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| format!("{what} must be a number of seconds, not {text:?}"))
    };
    Ok(match command {
        "enrol" | "enroll" => {
            arity(1, 1, "enrol TOKEN")?;
            Action::Enrol {
                token: args[0].to_owned(),
            }
        }
        "wait-approval" => {
            arity(0, 1, "wait-approval [TIMEOUT_S]")?;
            Action::WaitApproval {
                timeout_s: match args.first() {
                    Some(text) => seconds(text, "the timeout")?,
                    None => DEFAULT_APPROVAL_TIMEOUT_S,
                },
            }
        }
        "refresh" => {
            arity(0, 0, "refresh")?;
            Action::Refresh
        }
        "template" => {
            arity(2, 3, "template fingerprint|face|pin|id_code ID [CODE]")?;
            let factor = Factor::parse(args[0]).ok_or_else(|| {
                format!(
                    "unknown template kind {:?} (fingerprint, face, pin, id_code)",
                    args[0]
                )
            })?;
            let code = args.get(2).map(|c| (*c).to_owned());
            match (factor, &code) {
                (Factor::IdCode, None) => return Err("usage: template id_code ID CODE".into()),
                (Factor::Fingerprint | Factor::Face | Factor::Pin, Some(_)) => {
                    return Err(format!("usage: template {} ID", factor.key()));
                }
                _ => {}
            }
            Action::Template {
                factor,
                id: args[1].to_owned(),
                code,
            }
        }
        "unlock" => {
            if args.is_empty() {
                return Err(
                    "usage: unlock ORDER [fingerprint:ID face:ID pin:PIN id_code:ID:CODE …]".into(),
                );
            }
            let factors = args[1..]
                .iter()
                .map(|p| Presented::parse(p).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            Action::Unlock {
                order: args[0].to_owned(),
                factors,
            }
        }
        "press" => {
            let mut count = None;
            let mut hold_ms = DEFAULT_HOLD_MS;
            let mut rest = args.iter();
            while let Some(arg) = rest.next() {
                if let Some(value) = arg.strip_prefix("--hold-ms=") {
                    hold_ms = parse_hold(value)?;
                } else if *arg == "--hold-ms" {
                    let value = rest
                        .next()
                        .ok_or("usage: press [N] [--hold-ms MS]: --hold-ms needs a value")?;
                    hold_ms = parse_hold(value)?;
                } else if count.is_none() {
                    count = Some(arg.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("press: N must be a positive integer, not {arg:?}")
                    })?);
                } else {
                    return Err(format!(
                        "usage: press [N] [--hold-ms MS]: unexpected {arg:?}"
                    ));
                }
            }
            Action::Press {
                count: count.unwrap_or(1),
                hold_ms,
            }
        }
        "offline" => {
            arity(0, 0, "offline")?;
            Action::Offline
        }
        "online" => {
            arity(0, 0, "online")?;
            Action::Online
        }
        "sync" => {
            arity(0, 0, "sync")?;
            Action::Sync
        }
        "tamper" => {
            arity(0, 1, "tamper [on|off]")?;
            match args.first().copied() {
                None | Some("on") => Action::Tamper(true),
                Some("off") => Action::Tamper(false),
                Some(other) => return Err(format!("tamper takes on or off, not {other:?}")),
            }
        }
        "lift" => {
            arity(0, 0, "lift")?;
            Action::Lift
        }
        "place" => {
            arity(0, 0, "place")?;
            Action::Place
        }
        "move" => {
            if args == ["home"] {
                Action::Move(None)
            } else {
                arity(2, 2, "move LAT LON | move home")?;
                let lat = args[0]
                    .parse::<f64>()
                    .ok()
                    .filter(|v| (-90.0..=90.0).contains(v))
                    .ok_or_else(|| {
                        format!("move: latitude must be within ±90, not {:?}", args[0])
                    })?;
                let lon = args[1]
                    .parse::<f64>()
                    .ok()
                    .filter(|v| (-180.0..=180.0).contains(v))
                    .ok_or_else(|| {
                        format!("move: longitude must be within ±180, not {:?}", args[1])
                    })?;
                Action::Move(Some((lat, lon)))
            }
        }
        "battery" => {
            arity(1, 1, "battery PCT")?;
            let pct = args[0]
                .trim_end_matches('%')
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| format!("battery: PCT must be 0 to 100, not {:?}", args[0]))?;
            Action::Battery(pct)
        }
        "heartbeat" => {
            arity(0, 0, "heartbeat")?;
            Action::Heartbeat
        }
        "commands" => {
            arity(0, 1, "commands [WAIT_S]")?;
            Action::Commands {
                wait_s: match args.first() {
                    Some(text) => text
                        .parse::<u64>()
                        .ok()
                        .filter(|w| *w <= seal_proof::wire::MAX_COMMAND_WAIT_SECONDS)
                        .ok_or_else(|| format!("commands: WAIT_S must be 0 to 30, not {text:?}"))?,
                    None => 0,
                },
            }
        }
        "run" => {
            arity(1, 1, "run SECONDS")?;
            Action::Run {
                seconds: seconds(args[0], "run")?,
            }
        }
        "scan" => {
            arity(2, 2, "scan ORDER PAGE")?;
            Action::Scan {
                order: args[0].to_owned(),
                page: PathBuf::from(args[1]),
            }
        }
        "sleep" => {
            arity(1, 1, "sleep SECONDS")?;
            Action::Sleep {
                seconds: seconds(args[0], "sleep")?,
            }
        }
        "status" => {
            arity(0, 0, "status")?;
            Action::Status
        }
        "expect" => Action::Expect(parse_expectation(args)?),
        "quit" | "exit" => {
            arity(0, 0, "quit")?;
            Action::Quit
        }
        other => return Err(format!("unknown command {other:?} ({COMMANDS})")),
    })
}

fn parse_hold(value: &str) -> Result<u32, String> {
    value
        .parse::<u32>()
        .map_err(|_| format!("--hold-ms must be a number of milliseconds, not {value:?}"))
}

fn parse_expectation(args: &[&str]) -> Result<Expectation, String> {
    const USAGE: &str =
        "usage: expect locked | unlocked | uses N | buffered N | ok | refused CODE | status STATUS";
    let number = |text: &str| {
        text.parse::<u64>()
            .map_err(|_| format!("expect: {text:?} is not a number"))
    };
    Ok(match args {
        ["locked"] => Expectation::Locked,
        ["unlocked"] => Expectation::Unlocked,
        ["ok"] => Expectation::Ok,
        ["uses", n] => Expectation::Uses(
            u32::try_from(number(n)?).map_err(|_| format!("expect: {n:?} is too large"))?,
        ),
        ["buffered", n] => Expectation::Buffered(
            usize::try_from(number(n)?).map_err(|_| format!("expect: {n:?} is too large"))?,
        ),
        ["refused", code] => Expectation::Refused((*code).to_owned()),
        ["status", status] => Expectation::Status((*status).to_owned()),
        _ => return Err(USAGE.into()),
    })
}

/// How the last step ended (what `expect ok` and `expect refused` look at).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Last {
    Ok,
    Refused(String),
}

/// What a completed run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Steps run.
    pub steps: usize,
    /// Steps refused (by the device or the server).
    pub refusals: usize,
    /// Whether the script ended with `quit`.
    pub quit: bool,
}

/// Runs a script on a device, printing one line per step to `out`. A refusal is printed
/// and the run goes on (use `expect` to make it matter); a failed expectation or a fatal
/// error is printed and returned.
pub async fn run(
    device: &SimDevice,
    script: &Script,
    out: &mut (dyn Write + Send),
) -> Result<RunSummary, ScenarioError> {
    let mut summary = RunSummary::default();
    let mut last = Last::Ok;
    for step in &script.steps {
        summary.steps += 1;
        let name = step_name(&step.action);
        if step.action == Action::Quit {
            writeln!(out, "ok quit")?;
            summary.quit = true;
            break;
        }
        if let Action::Expect(expectation) = &step.action {
            match check(device, expectation, &last) {
                Ok(text) => writeln!(out, "ok expect {text}")?,
                Err(message) => {
                    writeln!(out, "fail expect line={} {message}", step.line)?;
                    out.flush()?;
                    return Err(ScenarioError::Expectation {
                        line: step.line,
                        message,
                    });
                }
            }
            continue;
        }
        match perform(device, &step.action, out).await {
            Ok(()) => last = Last::Ok,
            Err(error) => match error.refusal_code() {
                Some(code) => {
                    summary.refusals += 1;
                    writeln!(
                        out,
                        "refused {name} code={code} message={}",
                        quote(&error.to_string())
                    )?;
                    last = Last::Refused(code.to_owned());
                }
                None => {
                    writeln!(
                        out,
                        "error {name} line={} message={}",
                        step.line,
                        quote(&error.to_string())
                    )?;
                    out.flush()?;
                    return Err(ScenarioError::Fatal {
                        line: step.line,
                        step: name,
                        message: error.to_string(),
                    });
                }
            },
        }
        out.flush()?;
    }
    Ok(summary)
}

fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

fn step_name(action: &Action) -> &'static str {
    match action {
        Action::Enrol { .. } => "enrol",
        Action::WaitApproval { .. } => "wait-approval",
        Action::Refresh => "refresh",
        Action::Template { .. } => "template",
        Action::Unlock { .. } => "unlock",
        Action::Press { .. } => "press",
        Action::Offline => "offline",
        Action::Online => "online",
        Action::Sync => "sync",
        Action::Tamper(_) => "tamper",
        Action::Lift => "lift",
        Action::Place => "place",
        Action::Move(_) => "move",
        Action::Battery(_) => "battery",
        Action::Heartbeat => "heartbeat",
        Action::Commands { .. } => "commands",
        Action::Run { .. } => "run",
        Action::Scan { .. } => "scan",
        Action::Sleep { .. } => "sleep",
        Action::Status => "status",
        Action::Expect(_) => "expect",
        Action::Quit => "quit",
    }
}

fn check(device: &SimDevice, expectation: &Expectation, last: &Last) -> Result<String, String> {
    let status = device.status();
    match expectation {
        Expectation::Locked if status.locked => Ok("locked".into()),
        Expectation::Locked => Err("expected locked, the seal is unlocked".into()),
        Expectation::Unlocked if !status.locked => Ok("unlocked".into()),
        Expectation::Unlocked => Err("expected unlocked, the seal is locked".into()),
        Expectation::Uses(n) if status.uses_left == *n => Ok(format!("uses {n}")),
        Expectation::Uses(n) => Err(format!("expected uses {n}, found {}", status.uses_left)),
        Expectation::Buffered(n) if status.buffered == *n => Ok(format!("buffered {n}")),
        Expectation::Buffered(n) => {
            Err(format!("expected buffered {n}, found {}", status.buffered))
        }
        Expectation::Status(s) if status.status.as_deref() == Some(s.as_str()) => {
            Ok(format!("status {s}"))
        }
        Expectation::Status(s) => Err(format!(
            "expected status {s}, found {}",
            status.status.as_deref().unwrap_or("unknown")
        )),
        Expectation::Ok => match last {
            Last::Ok => Ok("ok".into()),
            Last::Refused(code) => Err(format!(
                "expected ok, the last step was refused with {code}"
            )),
        },
        Expectation::Refused(expected) => match last {
            Last::Refused(code) if code == expected => Ok(format!("refused {code}")),
            Last::Refused(code) => Err(format!(
                "expected refused {expected}, it was refused with {code}"
            )),
            Last::Ok => Err(format!(
                "expected refused {expected}, the last step succeeded"
            )),
        },
    }
}

async fn perform(
    device: &SimDevice,
    action: &Action,
    out: &mut (dyn Write + Send),
) -> Result<(), SimError> {
    let line = match action {
        Action::Enrol { token } => {
            let response = device.enrol(token).await?;
            format!(
                "ok enrol device_id={} status={}",
                response.device_id, response.status
            )
        }
        Action::WaitApproval { timeout_s } => {
            let me = device
                .wait_approval(Duration::from_secs_f64(*timeout_s))
                .await?;
            format!(
                "ok wait-approval status={} seal={}",
                me.status,
                me.seal_id.as_deref().unwrap_or("-")
            )
        }
        Action::Refresh => {
            let me = device.refresh().await?;
            format!(
                "ok refresh status={} seal={} heartbeat_seconds={}",
                me.status,
                me.seal_id.as_deref().unwrap_or("-"),
                me.parameters.heartbeat_seconds
            )
        }
        Action::Template { factor, id, code } => {
            device.add_template(*factor, id, code.as_deref())?;
            match factor {
                Factor::Pin => "ok template kind=pin".to_owned(),
                _ => format!("ok template kind={factor} id={id}"),
            }
        }
        Action::Unlock { order, factors } => {
            let outcome = device.unlock(order, factors).await?;
            let used: Vec<&str> = outcome.factors.iter().map(|f| f.key()).collect();
            format!(
                "ok unlock order={} grant={} uses={} factors={}",
                outcome.grant.order,
                outcome.grant.grant_id,
                outcome.uses_left,
                used.join("+")
            )
        }
        Action::Press { count, hold_ms } => {
            let mut lines = String::new();
            for i in 0..*count {
                match device.press(*hold_ms).await {
                    Ok(p) => {
                        let _ = write!(
                            lines,
                            "ok press seq={} uses_left={} locked={} buffered={} hold_ms={hold_ms}",
                            p.seq, p.uses_left, p.locked, p.buffered
                        );
                        if let Some(error) = &p.sync_error {
                            let _ = write!(lines, " sync_error={}", quote(error));
                        }
                        if i + 1 < *count {
                            lines.push('\n');
                        }
                    }
                    Err(error) => {
                        // Print the presses that went through, then the refusal.
                        if !lines.is_empty() {
                            writeln!(out, "{}", lines.trim_end()).map_err(output_error)?;
                        }
                        return Err(error);
                    }
                }
            }
            lines
        }
        Action::Offline => {
            device.set_offline(true);
            "ok offline".to_owned()
        }
        Action::Online => {
            device.set_offline(false);
            if device.status().buffered > 0 && device.is_enrolled() {
                let report = device.sync().await?;
                format!(
                    "ok online synced={} buffered={}",
                    report.stored + report.duplicates,
                    report.remaining
                )
            } else {
                format!("ok online buffered={}", device.status().buffered)
            }
        }
        Action::Sync => {
            let report = device.sync().await?;
            format!(
                "ok sync stored={} duplicates={} batches={} buffered={}",
                report.stored, report.duplicates, report.batches, report.remaining
            )
        }
        Action::Tamper(on) => {
            device.set_tamper(*on)?;
            format!("ok tamper tamper={on}")
        }
        Action::Lift => {
            device.set_on_base(false)?;
            "ok lift on_base=false".to_owned()
        }
        Action::Place => {
            device.set_on_base(true)?;
            "ok place on_base=true".to_owned()
        }
        Action::Move(None) => {
            device.go_home()?;
            "ok move home".to_owned()
        }
        Action::Move(Some((lat, lon))) => {
            device.move_to(*lat, *lon)?;
            format!("ok move lat={lat} lon={lon}")
        }
        Action::Battery(pct) => {
            device.set_battery(*pct)?;
            format!("ok battery pct={pct}")
        }
        Action::Heartbeat => match device.heartbeat().await? {
            Some(response) => format!(
                "ok heartbeat commands_pending={}",
                response.commands_pending
            ),
            None => "ok heartbeat skipped=offline".to_owned(),
        },
        Action::Commands { wait_s } => {
            let outcomes = device.poll_commands(*wait_s).await?;
            let mut lines = format!("ok commands count={}", outcomes.len());
            for o in outcomes {
                let _ = write!(
                    lines,
                    "\nok command id={} kind={} result={} acked={} note={}",
                    o.id,
                    o.kind,
                    o.result,
                    o.acked,
                    quote(&o.note)
                );
            }
            lines
        }
        Action::Run { seconds } => {
            let (stop, stopped) = watch::channel(false);
            let running = device.run(stopped);
            tokio::pin!(running);
            tokio::select! {
                result = &mut running => result?,
                _ = tokio::time::sleep(Duration::from_secs_f64(*seconds)) => {
                    let _ = stop.send(true);
                    running.await?;
                }
            }
            let status = device.status();
            format!(
                "ok run seconds={seconds} locked={} uses_left={} buffered={}",
                status.locked, status.uses_left, status.buffered
            )
        }
        Action::Scan { order, page } => {
            let outcome = device.scan(order, page).await?;
            format!(
                "ok scan job={} uses_left={} width_mm={} height_mm={} svg={}",
                outcome.job.job_id,
                outcome.job.uses_left,
                outcome.job.width_mm,
                outcome.job.height_mm,
                outcome.svg_path.display()
            )
        }
        Action::Sleep { seconds } => {
            tokio::time::sleep(Duration::from_secs_f64(*seconds)).await;
            format!("ok sleep seconds={seconds}")
        }
        Action::Status => {
            let s = device.status();
            format!(
                "ok status device_id={} status={} kind={} locked={} uses_left={} buffered={} next_seq={} battery={} on_base={} tamper={} offline={} lat={:.6} lon={:.6}",
                s.device_id.as_deref().unwrap_or("-"),
                s.status.as_deref().unwrap_or("-"),
                s.kind.as_str(),
                s.locked,
                s.uses_left,
                s.buffered,
                s.next_seq,
                s.battery_pct,
                s.on_base,
                s.tamper,
                s.offline,
                s.position.lat,
                s.position.lon
            )
        }
        Action::Expect(_) | Action::Quit => return Ok(()),
    };
    writeln!(out, "{line}").map_err(output_error)?;
    Ok(())
}

fn output_error(source: io::Error) -> SimError {
    SimError::Io {
        path: PathBuf::from("<output>"),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_script_parses_with_line_numbers() {
        let script = Script::parse(
            "# a comment\n\
             enrol sket_abc\n\
             \n\
             wait-approval 5\n\
             template fingerprint alice-fp   # trailing comment\n\
             template id_code ID42 AUTH9\n\
             unlock ORG-2026-000042 fingerprint:alice-fp face:alice-face pin:1234\n\
             press 3 --hold-ms 800\n\
             press --hold-ms=9000\n\
             move 31.5 121.9\n\
             move home\n\
             battery 12%\n\
             tamper off\n\
             expect uses 0\n\
             expect refused press.locked\n\
             scan ORG-1 page#1.png\n\
             quit\n",
        )
        .unwrap();
        let lines: Vec<usize> = script.steps.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
        assert_eq!(
            script.steps[0].action,
            Action::Enrol {
                token: "sket_abc".into()
            }
        );
        assert_eq!(
            script.steps[5].action,
            Action::Press {
                count: 3,
                hold_ms: 800
            }
        );
        assert_eq!(
            script.steps[6].action,
            Action::Press {
                count: 1,
                hold_ms: 9000
            }
        );
        assert_eq!(
            script.steps[4].action,
            Action::Unlock {
                order: "ORG-2026-000042".into(),
                factors: vec![
                    Presented::Fingerprint("alice-fp".into()),
                    Presented::Face("alice-face".into()),
                    Presented::Pin("1234".into()),
                ],
            }
        );
        assert_eq!(script.steps[9].action, Action::Battery(12));
        assert_eq!(script.steps[10].action, Action::Tamper(false));
        // A '#' inside a word is not a comment.
        assert_eq!(
            script.steps[13].action,
            Action::Scan {
                order: "ORG-1".into(),
                page: PathBuf::from("page#1.png")
            }
        );
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let cases = [
            ("fly away", 1, "unknown command \"fly\""),
            ("status\npress zero", 2, "N must be a positive integer"),
            ("\n\npress 2 --hold-ms", 3, "--hold-ms needs a value"),
            ("unlock", 1, "usage: unlock ORDER"),
            ("unlock ORD iris:x", 1, "unknown factor \"iris\""),
            ("unlock ORD fingerprint", 1, "kind:value"),
            (
                "template id_code ID42",
                1,
                "usage: template id_code ID CODE",
            ),
            ("template pin 1 2", 1, "usage: template pin ID"),
            ("battery 120", 1, "0 to 100"),
            ("move 91 0", 1, "latitude"),
            ("expect maybe", 1, "usage: expect"),
            ("sleep -1", 1, "number of seconds"),
            ("commands 31", 1, "0 to 30"),
            ("enrol", 1, "usage: enrol TOKEN"),
            ("# only\n  # comments\nquit now", 3, "usage: quit"),
        ];
        for (text, line, needle) in cases {
            match Script::parse(text) {
                Err(ScenarioError::Parse { line: l, message }) => {
                    assert_eq!(l, line, "{text}");
                    assert!(message.contains(needle), "{text}: {message}");
                    let shown = Script::parse(text).unwrap_err().to_string();
                    assert!(shown.starts_with(&format!("line {line}: ")), "{shown}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn comments_start_only_at_a_word() {
        assert_eq!(strip_comment("press 2 # two"), "press 2 ");
        assert_eq!(strip_comment("#all"), "");
        assert_eq!(strip_comment("scan A b#c"), "scan A b#c");
    }
}
