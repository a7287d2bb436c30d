//! `SimDevice`: a simulated smart seal box or seal printer over the real protocol client:
//! lock state and grant, enrolled factor templates, sensors (base, tamper, battery, GPS),
//! presses with photos into the crash-safe outbox, commands, heartbeats, the offline
//! switch, and the printer's scan-to-print.

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::Rng as _;
use seal_proof::wire::{
    Command, DeviceState, EnrolResponse, Heartbeat, HeartbeatResponse, Parameters, Position,
    PrintJob, StampEvent, UnlockGrant,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::buffer::{self, BufferError, EventBuffer, SyncError, SyncLimits, SyncReport};
use crate::client::{ClientError, DeviceClient, RetryPolicy, StreamOptions};
use crate::factors::{self, Factor, Presented, Templates};
use crate::fsutil;
use crate::identity::{DeviceInfo, Identity, IdentityError};
use crate::photo::{PhotoError, PhotoMaker};

/// The simulator's own state file (templates, parameters, sensors).
pub const SIM_FILE: &str = "sim.json";
/// The outbox folder inside the state folder.
pub const OUTBOX_DIR: &str = "outbox";
/// Where a seal printer keeps the print jobs it received (`<job id>.svg`).
pub const PRINTS_DIR: &str = "prints";

/// Refusal codes of the device itself (the server's are passed through unchanged).
pub mod codes {
    /// A network action while the device is switched offline.
    pub const OFFLINE: &str = "device.offline";
    /// An action that needs enrolment first.
    pub const NOT_ENROLLED: &str = "device.not_enrolled";
    /// Enrolment of a device that already has an id.
    pub const ALREADY_ENROLLED: &str = "device.already_enrolled";
    /// The server revoked the device.
    pub const REVOKED: &str = "device.revoked";
    /// The action is for the other kind of device (press on a printer, scan on a box).
    pub const WRONG_KIND: &str = "device.wrong_kind";
    /// A press while locked.
    pub const LOCKED: &str = "press.locked";
    /// A press after the grant expired (the device locks).
    pub const GRANT_EXPIRED: &str = "press.grant_expired";
    /// A press while the outbox is full: the device must not stamp what it cannot report.
    pub const BUFFER_FULL: &str = "press.buffer_full";
    /// The presented factors do not satisfy the grant's rule (the device stays locked).
    pub const FACTORS_NOT_SATISFIED: &str = "factors.not_satisfied";
    /// The grant's factor rule cannot be read (the device stays locked).
    pub const FACTORS_INVALID: &str = "factors.invalid";
    /// A grant with no use left.
    pub const NO_USES: &str = "grant.no_uses";
    /// A template that cannot be enrolled (bad id, or 100 of its kind already).
    pub const TEMPLATE_REFUSED: &str = "template.refused";
    /// A scanned page that is not a PNG or JPEG.
    pub const BAD_PAGE: &str = "scan.bad_page";
}

/// The kinds of device this crate simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A smart seal box: unlocks for a grant, presses, photographs.
    #[value(name = "seal_box")]
    SealBox,
    /// A seal printer: scans the page, prints the seal after a match.
    #[value(name = "seal_printer")]
    SealPrinter,
}

impl DeviceKind {
    /// The protocol's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::SealBox => "seal_box",
            DeviceKind::SealPrinter => "seal_printer",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "seal_box" => Some(DeviceKind::SealBox),
            "seal_printer" => Some(DeviceKind::SealPrinter),
            _ => None,
        }
    }
}

/// Why a simulated action failed or was refused.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The device itself refused (see `codes`).
    #[error("{code}: {message}")]
    Refused {
        /// A stable code from `codes`.
        code: &'static str,
        /// What happened.
        message: String,
    },
    /// The server refused, or could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The identity files failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The outbox failed or is full.
    #[error(transparent)]
    Buffer(#[from] BufferError),
    /// Sending the outbox failed.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The press photo failed.
    #[error(transparent)]
    Photo(#[from] PhotoError),
    /// A file of the state folder (or a scanned page) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The configuration is not usable.
    #[error("{0}")]
    Config(String),
    /// Waiting took too long.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl SimError {
    /// The code of a refusal — the device's own or the server's — or `None` for failures
    /// (network, server errors, files).
    pub fn refusal_code(&self) -> Option<&str> {
        match self {
            SimError::Refused { code, .. } => Some(code),
            SimError::Client(error) if !error.is_retryable() => error.code(),
            SimError::Sync(SyncError::Client { source, .. }) if !source.is_retryable() => {
                source.code()
            }
            SimError::Buffer(BufferError::Full { .. }) => Some(codes::BUFFER_FULL),
            _ => None,
        }
    }

    fn refused(code: &'static str, message: impl Into<String>) -> Self {
        SimError::Refused {
            code,
            message: message.into(),
        }
    }
}

/// How to build a simulated device.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The server's base URL; `None` keeps the one stored in an existing state folder.
    pub server: Option<String>,
    /// The kind of a new device (an existing state folder keeps its own).
    pub kind: DeviceKind,
    /// The target size of each press photo in kilobytes (0: no photos).
    pub photo_kb: u32,
    /// Where the device stands.
    pub home: Position,
    /// GPS jitter around the position, metres.
    pub jitter_m: f64,
    /// Events the outbox holds.
    pub buffer_capacity: usize,
    /// The firmware version reported.
    pub firmware: String,
    /// How requests are retried.
    pub retry: RetryPolicy,
    /// The interval of `me()` polls while waiting for approval.
    pub approval_poll: Duration,
    /// Receive commands over the WebSocket stream in `run` (otherwise only by polling
    /// when a heartbeat says commands are pending).
    pub use_stream: bool,
    /// The stream's reconnection backoff.
    pub stream: StreamOptions,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            server: None,
            kind: DeviceKind::SealBox,
            photo_kb: 200,
            home: DEFAULT_HOME,
            jitter_m: 3.0,
            buffer_capacity: buffer::DEFAULT_CAPACITY,
            firmware: format!("sim-{}", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
            approval_poll: Duration::from_secs(1),
            use_stream: true,
            stream: StreamOptions::default(),
        }
    }
}

/// The default home position (People's Square, Shanghai).
pub const DEFAULT_HOME: Position = Position {
    lat: 31.2304,
    lon: 121.4737,
    accuracy_m: 5.0,
};

/// The parameters a device uses before the server gives its own.
pub fn default_parameters() -> Parameters {
    Parameters {
        heartbeat_seconds: 30,
        press_max_ms: 3000,
        low_battery_pct: 15,
    }
}

/// What the simulator keeps across restarts (a restarted box is locked: grants are not
/// kept).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Persisted {
    templates: Templates,
    parameters: Parameters,
    battery_pct: f64,
    /// Where the device was moved to (`None`: at home).
    position: Option<Position>,
    on_base: bool,
    tamper: bool,
    /// The status last seen from the server.
    status: Option<String>,
}

/// A grant the device is working under.
#[derive(Clone, Debug)]
struct ActiveGrant {
    grant: UnlockGrant,
    uses_left: u32,
    factors: Vec<String>,
}

#[derive(Debug)]
struct SimState {
    saved: Persisted,
    locked: bool,
    grant: Option<ActiveGrant>,
    offline: bool,
    last_drain: Instant,
    last_print: Option<PrintJob>,
}

/// A snapshot of a simulated device.
#[derive(Clone, Debug, PartialEq)]
pub struct SimStatus {
    /// The device id, once enrolled.
    pub device_id: Option<String>,
    /// The status last seen from the server (`pending`, `active`, `revoked`).
    pub status: Option<String>,
    /// The kind.
    pub kind: DeviceKind,
    /// Whether the seal is locked.
    pub locked: bool,
    /// The current grant's id.
    pub grant_id: Option<String>,
    /// The current grant's application number.
    pub order: Option<String>,
    /// Presses left under the current grant (for a printer: after its last print job).
    pub uses_left: u32,
    /// Events waiting in the outbox.
    pub buffered: usize,
    /// The sequence number of the next press.
    pub next_seq: u64,
    /// Battery level.
    pub battery_pct: u8,
    /// The base sensor.
    pub on_base: bool,
    /// The tamper sensor.
    pub tamper: bool,
    /// Whether the offline switch is on.
    pub offline: bool,
    /// The position without jitter.
    pub position: Position,
    /// The parameters in force.
    pub parameters: Parameters,
}

/// The result of a successful unlock.
#[derive(Clone, Debug, PartialEq)]
pub struct UnlockOutcome {
    /// The verified grant.
    pub grant: UnlockGrant,
    /// Presses allowed.
    pub uses_left: u32,
    /// The factors of the satisfied alternative.
    pub factors: Vec<Factor>,
}

/// The result of a press.
#[derive(Clone, Debug, PartialEq)]
pub struct PressOutcome {
    /// The event's sequence number.
    pub seq: u64,
    /// Presses left.
    pub uses_left: u32,
    /// Whether the device locked itself after this press.
    pub locked: bool,
    /// Events waiting afterwards.
    pub buffered: usize,
    /// The photo's size (0: none).
    pub photo_bytes: usize,
    /// Why the immediate report failed, if it did (the event stays buffered).
    pub sync_error: Option<String>,
}

/// What the device did with a command.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandOutcome {
    /// The command id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// `done` or `failed`.
    pub result: String,
    /// A note for the server.
    pub note: String,
    /// Whether the acknowledgement reached the server.
    pub acked: bool,
    /// Whether the command had been applied before (sent again; only acknowledged).
    pub repeated: bool,
}

/// The result of a printer's scan.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanOutcome {
    /// The print job.
    pub job: PrintJob,
    /// Where its SVG was saved.
    pub svg_path: PathBuf,
}

/// How many handled command ids are remembered (to acknowledge a re-sent command
/// without applying it twice).
const REMEMBERED_COMMANDS: usize = 256;

/// A simulated seal box or seal printer with its state folder.
pub struct SimDevice {
    dir: PathBuf,
    config: SimConfig,
    kind: DeviceKind,
    client: DeviceClient,
    identity: Mutex<Identity>,
    buffer: Mutex<EventBuffer>,
    state: Mutex<SimState>,
    photos: Mutex<PhotoMaker>,
    sync_lock: tokio::sync::Mutex<()>,
    handled: Mutex<VecDeque<(String, String, String)>>,
}

impl std::fmt::Debug for SimDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimDevice")
            .field("dir", &self.dir)
            .field("kind", &self.kind)
            .field("device_id", &self.client.device_id())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl SimDevice {
    /// Opens the device kept in `dir`, or makes a new one there (a fresh key, random
    /// serial and MAC). An existing device keeps its key, id, kind, sequence, outbox and
    /// templates; it starts locked.
    pub fn open(dir: &Path, config: SimConfig) -> Result<Self, SimError> {
        let (mut identity, _created) = Identity::open_or_create(dir, || {
            DeviceInfo::simulated(
                config.server.as_deref().unwrap_or_default(),
                config.kind.as_str(),
                &config.firmware,
            )
        })?;
        if let Some(server) = &config.server {
            identity.set_server(server)?;
        }
        identity.set_firmware(&config.firmware)?;
        let server = identity.info().server.clone();
        if server.is_empty() {
            return Err(SimError::Config(format!(
                "{}: no server URL is known for this device (give one)",
                dir.display()
            )));
        }
        let kind = DeviceKind::parse(&identity.info().kind).ok_or_else(|| {
            SimError::Config(format!(
                "{}: the simulator cannot play a {:?}",
                dir.display(),
                identity.info().kind
            ))
        })?;
        let client = DeviceClient::new(
            &server,
            identity.signing_key().clone(),
            identity.device_id().map(str::to_owned),
        )?
        .with_retry(config.retry);
        let buffer =
            EventBuffer::open_with_capacity(&dir.join(OUTBOX_DIR), config.buffer_capacity)?;
        let saved = match fs::read(dir.join(SIM_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| SimError::Io {
                path: dir.join(SIM_FILE),
                source: io::Error::new(io::ErrorKind::InvalidData, e),
            })?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Persisted {
                templates: Templates::default(),
                parameters: default_parameters(),
                battery_pct: 100.0,
                position: None,
                on_base: true,
                tamper: false,
                status: None,
            },
            Err(source) => {
                return Err(SimError::Io {
                    path: dir.join(SIM_FILE),
                    source,
                });
            }
        };
        let device = SimDevice {
            dir: dir.to_owned(),
            kind,
            client,
            identity: Mutex::new(identity),
            buffer: Mutex::new(buffer),
            state: Mutex::new(SimState {
                saved,
                locked: true,
                grant: None,
                offline: false,
                last_drain: Instant::now(),
                last_print: None,
            }),
            photos: Mutex::new(PhotoMaker::new(config.photo_kb)),
            sync_lock: tokio::sync::Mutex::new(()),
            handled: Mutex::new(VecDeque::new()),
            config,
        };
        device.save(&lock(&device.state))?;
        Ok(device)
    }

    /// The state folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The kind.
    pub fn kind(&self) -> DeviceKind {
        self.kind
    }

    /// The protocol client (for requests the simulator does not wrap).
    pub fn client(&self) -> &DeviceClient {
        &self.client
    }

    /// The device id, once enrolled.
    pub fn device_id(&self) -> Option<String> {
        lock(&self.identity).device_id().map(str::to_owned)
    }

    /// Whether the device has an id.
    pub fn is_enrolled(&self) -> bool {
        self.device_id().is_some()
    }

    /// The device's details (serial, MAC, firmware …).
    pub fn info(&self) -> DeviceInfo {
        lock(&self.identity).info().clone()
    }

    /// The public key, standard base64.
    pub fn public_key(&self) -> String {
        lock(&self.identity).public_key_base64()
    }

    /// A snapshot of the device.
    pub fn status(&self) -> SimStatus {
        let state = lock(&self.state);
        let buffered = lock(&self.buffer).len();
        let (device_id, next_seq) = {
            let identity = lock(&self.identity);
            (
                identity.device_id().map(str::to_owned),
                identity.peek_next_seq(),
            )
        };
        SimStatus {
            device_id,
            status: state.saved.status.clone(),
            kind: self.kind,
            locked: state.locked,
            grant_id: state.grant.as_ref().map(|g| g.grant.grant_id.clone()),
            order: state.grant.as_ref().map(|g| g.grant.order.clone()),
            uses_left: match (&state.grant, &state.last_print) {
                (Some(grant), _) => grant.uses_left,
                (None, Some(job)) if self.kind == DeviceKind::SealPrinter => job.uses_left,
                _ => 0,
            },
            buffered,
            next_seq,
            battery_pct: battery(&state),
            on_base: state.saved.on_base,
            tamper: state.saved.tamper,
            offline: state.offline,
            position: state.saved.position.unwrap_or(self.config.home),
            parameters: state.saved.parameters.clone(),
        }
    }

    // ---- enrolment -----------------------------------------------------------------

    /// Enrols with a one-time token; the device is `pending` until an admin approves it.
    pub async fn enrol(&self, token: &str) -> Result<EnrolResponse, SimError> {
        self.ensure_online()?;
        if self.is_enrolled() {
            return Err(SimError::refused(
                codes::ALREADY_ENROLLED,
                "the device is already enrolled",
            ));
        }
        let info = self.info();
        let response = self
            .client
            .enrol(token, &info.kind, &info.serial, &info.mac, &info.firmware)
            .await?;
        lock(&self.identity).set_device_id(&response.device_id)?;
        let mut state = lock(&self.state);
        state.saved.status = Some(response.status.clone());
        self.save(&state)?;
        Ok(response)
    }

    /// Asks the server what it knows of the device (`me`), taking its status and
    /// parameters.
    pub async fn refresh(&self) -> Result<DeviceState, SimError> {
        self.ensure_online()?;
        self.ensure_enrolled()?;
        let me = self.client.me().await?;
        let mut state = lock(&self.state);
        state.saved.status = Some(me.status.clone());
        state.saved.parameters = me.parameters.clone();
        self.save(&state)?;
        Ok(me)
    }

    /// Polls `me` until the device is `active` (refused when it is revoked; `Timeout`
    /// after `timeout`).
    pub async fn wait_approval(&self, timeout: Duration) -> Result<DeviceState, SimError> {
        let deadline = Instant::now() + timeout;
        loop {
            let me = self.refresh().await?;
            match me.status.as_str() {
                "active" => return Ok(me),
                "revoked" => {
                    return Err(SimError::refused(codes::REVOKED, "the device was revoked"));
                }
                _ => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(SimError::Timeout(format!(
                    "the device is still {} after {:.0} s",
                    me.status,
                    timeout.as_secs_f64()
                )));
            }
            tokio::time::sleep(self.config.approval_poll.min(deadline - now)).await;
        }
    }

    // ---- templates, unlock, press ----------------------------------------------------

    /// Enrols a factor template on the device (see `Templates::enrol`).
    pub fn add_template(
        &self,
        factor: Factor,
        id: &str,
        code: Option<&str>,
    ) -> Result<(), SimError> {
        let mut state = lock(&self.state);
        state
            .saved
            .templates
            .enrol(factor, id, code)
            .map_err(|e| SimError::refused(codes::TEMPLATE_REFUSED, e.to_string()))?;
        self.save(&state)
    }

    /// The enrolled templates.
    pub fn templates(&self) -> Templates {
        lock(&self.state).saved.templates.clone()
    }

    /// Asks the server to unlock for `order`, verifies the grant, then checks the
    /// presented factors against the grant's rule; unlocks only when all of that holds.
    pub async fn unlock(
        &self,
        order: &str,
        presented: &[Presented],
    ) -> Result<UnlockOutcome, SimError> {
        self.ensure_kind(DeviceKind::SealBox, "unlock")?;
        self.ensure_online()?;
        self.ensure_enrolled()?;
        let verified = self.client.unlock(order).await?;
        let grant = verified.grant;
        let mut state = lock(&self.state);
        let used = match factors::check(&grant.factors, &state.saved.templates, presented) {
            Ok(Some(used)) => used,
            Ok(None) => {
                return Err(SimError::refused(
                    codes::FACTORS_NOT_SATISFIED,
                    format!("the grant needs {}", grant.factors),
                ));
            }
            Err(_) => {
                return Err(SimError::refused(
                    codes::FACTORS_INVALID,
                    format!("unreadable factor rule {:?}", grant.factors),
                ));
            }
        };
        if grant.uses == 0 {
            return Err(SimError::refused(
                codes::NO_USES,
                "the grant allows no press",
            ));
        }
        state.grant = Some(ActiveGrant {
            grant: grant.clone(),
            uses_left: grant.uses,
            factors: used.iter().map(|f| f.key().to_owned()).collect(),
        });
        state.locked = false;
        Ok(UnlockOutcome {
            uses_left: grant.uses,
            grant,
            factors: used,
        })
    }

    /// One press held `hold_ms` milliseconds: refused when locked, when the grant has
    /// expired or when the outbox is full; otherwise stores the event (next sequence
    /// number, time, position, factors, photo) durably, locks after the last allowed use,
    /// and reports at once when online (a failed report leaves the event buffered).
    pub async fn press(&self, hold_ms: u32) -> Result<PressOutcome, SimError> {
        self.ensure_kind(DeviceKind::SealBox, "press")?;
        let (outcome, online) = {
            let mut state = lock(&self.state);
            let now = self.client.now_ms();
            let Some(active) = state.grant.clone().filter(|_| !state.locked) else {
                return Err(SimError::refused(codes::LOCKED, "the seal is locked"));
            };
            if now >= active.grant.expires_at {
                state.grant = None;
                state.locked = true;
                return Err(SimError::refused(
                    codes::GRANT_EXPIRED,
                    "the grant has expired; the seal is locked",
                ));
            }
            let mut buffer = lock(&self.buffer);
            if buffer.is_full() {
                return Err(SimError::refused(
                    codes::BUFFER_FULL,
                    format!(
                        "{} events wait to be reported; the seal refuses to press",
                        buffer.len()
                    ),
                ));
            }
            let seq = lock(&self.identity).next_seq()?;
            let photo = lock(&self.photos).make(seq)?;
            let photo_bytes = photo.as_ref().map_or(0, Vec::len);
            let position = Some(self.reading(&state));
            let event = StampEvent {
                seq,
                grant_id: active.grant.grant_id.clone(),
                at: now,
                position,
                press_ms: hold_ms,
                factors: active.factors.clone(),
                photo: photo.map(|bytes| {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                }),
            };
            buffer.push(&event)?;
            let uses_left = active.uses_left.saturating_sub(1);
            if uses_left == 0 {
                state.grant = None;
                state.locked = true;
            } else if let Some(grant) = state.grant.as_mut() {
                grant.uses_left = uses_left;
            }
            state.saved.battery_pct = (state.saved.battery_pct - 0.05).max(0.0);
            (
                PressOutcome {
                    seq,
                    uses_left,
                    locked: state.locked,
                    buffered: buffer.len(),
                    photo_bytes,
                    sync_error: None,
                },
                !state.offline,
            )
        };
        let mut outcome = outcome;
        if online {
            match self.sync().await {
                Ok(report) => outcome.buffered = report.remaining,
                Err(error) => {
                    outcome.buffered = lock(&self.buffer).len();
                    outcome.sync_error = Some(error.to_string());
                }
            }
        }
        Ok(outcome)
    }

    /// Sends the outbox (sequence order, batches of at most 100); refused while offline.
    pub async fn sync(&self) -> Result<SyncReport, SimError> {
        self.ensure_online()?;
        self.ensure_enrolled()?;
        let _one_at_a_time = self.sync_lock.lock().await;
        Ok(buffer::sync(&self.buffer, &self.client, SyncLimits::default()).await?)
    }

    /// The events waiting in the outbox, in order.
    pub fn pending_events(&self) -> Result<Vec<StampEvent>, SimError> {
        Ok(lock(&self.buffer).pending()?)
    }

    // ---- sensors and switches --------------------------------------------------------

    /// The offline switch: while on, presses are buffered, heartbeats skipped and every
    /// network action refused with `device.offline`.
    pub fn set_offline(&self, offline: bool) {
        lock(&self.state).offline = offline;
    }

    /// The tamper sensor.
    pub fn set_tamper(&self, tamper: bool) -> Result<(), SimError> {
        self.update(|saved| saved.tamper = tamper)
    }

    /// The base sensor (`false`: lifted off its base).
    pub fn set_on_base(&self, on_base: bool) -> Result<(), SimError> {
        self.update(|saved| saved.on_base = on_base)
    }

    /// Moves the device (e.g. outside its geofence).
    pub fn move_to(&self, lat: f64, lon: f64) -> Result<(), SimError> {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(SimError::Config(format!("no such position {lat}, {lon}")));
        }
        let accuracy_m = self.config.home.accuracy_m;
        self.update(|saved| {
            saved.position = Some(Position {
                lat,
                lon,
                accuracy_m,
            })
        })
    }

    /// Moves the device back home.
    pub fn go_home(&self) -> Result<(), SimError> {
        self.update(|saved| saved.position = None)
    }

    /// Sets the battery level (it then drains slowly again).
    pub fn set_battery(&self, pct: u8) -> Result<(), SimError> {
        let mut state = lock(&self.state);
        state.saved.battery_pct = f64::from(pct.min(100));
        state.last_drain = Instant::now();
        self.save(&state)
    }

    // ---- heartbeats and commands -----------------------------------------------------

    /// The heartbeat the device would send now.
    pub fn heartbeat_body(&self) -> Heartbeat {
        let mut state = lock(&self.state);
        drain(&mut state);
        let buffered = lock(&self.buffer).len();
        Heartbeat {
            at: self.client.now_ms(),
            battery_pct: battery(&state),
            position: Some(self.reading(&state)),
            on_base: state.saved.on_base,
            tamper: state.saved.tamper,
            locked: state.locked,
            firmware: self.config.firmware.clone(),
            buffered_events: u32::try_from(buffered).unwrap_or(u32::MAX),
        }
    }

    /// Sends one heartbeat; `None` (skipped) while offline.
    pub async fn heartbeat(&self) -> Result<Option<HeartbeatResponse>, SimError> {
        if lock(&self.state).offline {
            return Ok(None);
        }
        self.ensure_enrolled()?;
        let body = self.heartbeat_body();
        let response = self.client.heartbeat(&body).await?;
        // Keep the drained battery level across restarts.
        self.save(&lock(&self.state))?;
        Ok(Some(response))
    }

    /// Applies a command to the device without acknowledging it: `lock` locks and
    /// drops the grant, `cancel_grant` drops the named grant (and locks),
    /// `update_parameters` replaces the parameters. Returns (`done`|`failed`, note).
    pub fn apply_command(&self, command: &Command) -> Result<(String, String), SimError> {
        let mut state = lock(&self.state);
        let (result, note) = match command.kind.as_str() {
            "lock" => {
                state.grant = None;
                state.locked = true;
                ("done", "locked".to_owned())
            }
            "cancel_grant" => match &command.grant_id {
                None => ("failed", "cancel_grant without grant_id".to_owned()),
                Some(id)
                    if state
                        .grant
                        .as_ref()
                        .is_some_and(|g| &g.grant.grant_id == id) =>
                {
                    state.grant = None;
                    state.locked = true;
                    ("done", format!("grant {id} cancelled; locked"))
                }
                Some(id) => ("done", format!("grant {id} is not in use on this device")),
            },
            "update_parameters" => match &command.parameters {
                None => ("failed", "update_parameters without parameters".to_owned()),
                Some(parameters) => {
                    state.saved.parameters = parameters.clone();
                    self.save(&state)?;
                    ("done", "parameters updated".to_owned())
                }
            },
            other => ("failed", format!("unknown command kind {other:?}")),
        };
        Ok((result.to_owned(), note))
    }

    /// Applies a command (once, even when the server sends it again) and acknowledges it.
    pub async fn handle_command(&self, command: &Command) -> Result<CommandOutcome, SimError> {
        let remembered = lock(&self.handled)
            .iter()
            .find(|(id, _, _)| id == &command.id)
            .map(|(_, result, note)| (result.clone(), note.clone()));
        let repeated = remembered.is_some();
        let (result, note) = match remembered {
            Some(done) => done,
            None => {
                let done = self.apply_command(command)?;
                let mut handled = lock(&self.handled);
                if handled.len() >= REMEMBERED_COMMANDS {
                    handled.pop_front();
                }
                handled.push_back((command.id.clone(), done.0.clone(), done.1.clone()));
                done
            }
        };
        let acked = if lock(&self.state).offline {
            false
        } else {
            match self.client.ack(&command.id, &result, &note).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(command = %command.id, %error, "acknowledging a command failed");
                    false
                }
            }
        };
        Ok(CommandOutcome {
            id: command.id.clone(),
            kind: command.kind.clone(),
            result,
            note,
            acked,
            repeated,
        })
    }

    /// Long-polls for commands (up to `wait_secs`), applies and acknowledges each.
    pub async fn poll_commands(&self, wait_secs: u64) -> Result<Vec<CommandOutcome>, SimError> {
        self.ensure_online()?;
        self.ensure_enrolled()?;
        let commands = self.client.poll_commands(wait_secs).await?;
        let mut outcomes = Vec::with_capacity(commands.len());
        for command in &commands {
            outcomes.push(self.handle_command(command).await?);
        }
        Ok(outcomes)
    }

    /// Runs the device until `stop` turns true: waits for approval, sends the outbox,
    /// heartbeats every `heartbeat_seconds` (skipped while offline), obeys commands from
    /// the WebSocket stream and polls for them when a heartbeat says some are pending,
    /// and re-sends buffered events on each beat. Network failures are logged and
    /// retried; a revoked device stops with a refusal.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Result<(), SimError> {
        self.ensure_enrolled()?;
        // Approval.
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if !lock(&self.state).offline {
                match self.refresh().await {
                    Ok(me) if me.status == "active" => break,
                    Ok(me) if me.status == "revoked" => {
                        return Err(SimError::refused(codes::REVOKED, "the device was revoked"));
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, "asking the server for the device's state failed")
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.approval_poll) => {}
                _ = stop.changed() => return Ok(()),
            }
        }
        let (sender, mut commands) = mpsc::channel::<Command>(16);
        let stream_stop = stop.clone();
        let stream = async move {
            if self.config.use_stream {
                self.client
                    .run_command_stream(sender, stream_stop, self.config.stream)
                    .await;
            }
        };
        tokio::pin!(stream);
        let mut stream_done = false;
        let mut next_beat = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = &mut stream, if !stream_done => stream_done = true,
                Some(command) = commands.recv() => {
                    match self.handle_command(&command).await {
                        Ok(outcome) => tracing::info!(id = %outcome.id, kind = %outcome.kind, result = %outcome.result, "command"),
                        Err(error) => tracing::warn!(%error, "applying a command failed"),
                    }
                }
                _ = tokio::time::sleep_until(next_beat) => {
                    self.beat().await?;
                    let seconds = lock(&self.state).saved.parameters.heartbeat_seconds.max(1);
                    next_beat = tokio::time::Instant::now() + Duration::from_secs(u64::from(seconds));
                }
                _ = stop.changed() => return Ok(()),
            }
            if *stop.borrow() {
                return Ok(());
            }
        }
    }

    /// One beat of `run`: heartbeat, pending commands, outbox.
    /// Fails only when the server revoked the device.
    async fn beat(&self) -> Result<(), SimError> {
        match self.heartbeat().await {
            Ok(None) => return Ok(()),
            Ok(Some(response)) => {
                if response.commands_pending > 0
                    && let Err(error) = self.poll_commands(0).await
                {
                    tracing::warn!(%error, "polling commands failed");
                }
            }
            Err(error) => {
                tracing::warn!(%error, "heartbeat failed");
                // Refused as not active: find out whether the device was revoked.
                if error.refusal_code() == Some("device.not_active")
                    && let Ok(me) = self.refresh().await
                    && me.status == "revoked"
                {
                    let mut state = lock(&self.state);
                    state.grant = None;
                    state.locked = true;
                    return Err(SimError::refused(codes::REVOKED, "the device was revoked"));
                }
                return Ok(());
            }
        }
        let has_events = !lock(&self.buffer).is_empty();
        if has_events && let Err(error) = self.sync().await {
            tracing::warn!(%error, "sending buffered events failed");
        }
        Ok(())
    }

    // ---- printer ----------------------------------------------------------------------

    /// Scans a page image (PNG or JPEG file) for `order`; on a match the server's print
    /// job is saved as `prints/<job id>.svg` in the state folder.
    pub async fn scan(&self, order: &str, page: &Path) -> Result<ScanOutcome, SimError> {
        self.ensure_kind(DeviceKind::SealPrinter, "scan")?;
        self.ensure_online()?;
        self.ensure_enrolled()?;
        let bytes = fs::read(page).map_err(|source| SimError::Io {
            path: page.to_owned(),
            source,
        })?;
        match image::guess_format(&bytes) {
            Ok(image::ImageFormat::Png | image::ImageFormat::Jpeg) => {}
            _ => {
                return Err(SimError::refused(
                    codes::BAD_PAGE,
                    format!("{} is not a PNG or JPEG image", page.display()),
                ));
            }
        }
        let job = self.client.scan(order, &bytes).await?;
        let prints = self.dir.join(PRINTS_DIR);
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| SimError::Io { path, source }
        };
        fsutil::create_dir_durable(&prints).map_err(io_err(&prints))?;
        let name: String = job
            .job_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!("{name}.svg");
        // What the printer puts on paper: the mark (seal + QR code + numeric code), or
        // the bare seal from a server that sends no mark.
        let printed = if job.mark_svg.is_empty() {
            &job.seal_svg
        } else {
            &job.mark_svg
        };
        fsutil::write_atomic(&prints, &name, printed.as_bytes(), 0o644)
            .map_err(io_err(&prints.join(&name)))?;
        lock(&self.state).last_print = Some(job.clone());
        Ok(ScanOutcome {
            job,
            svg_path: prints.join(name),
        })
    }

    // ---- helpers ---------------------------------------------------------------------

    fn ensure_online(&self) -> Result<(), SimError> {
        if lock(&self.state).offline {
            Err(SimError::refused(codes::OFFLINE, "the device is offline"))
        } else {
            Ok(())
        }
    }

    fn ensure_enrolled(&self) -> Result<(), SimError> {
        if self.is_enrolled() {
            Ok(())
        } else {
            Err(SimError::refused(
                codes::NOT_ENROLLED,
                "the device is not enrolled",
            ))
        }
    }

    fn ensure_kind(&self, kind: DeviceKind, action: &str) -> Result<(), SimError> {
        if self.kind == kind {
            Ok(())
        } else {
            Err(SimError::refused(
                codes::WRONG_KIND,
                format!("a {} cannot {action}", self.kind.as_str()),
            ))
        }
    }

    fn update(&self, change: impl FnOnce(&mut Persisted)) -> Result<(), SimError> {
        let mut state = lock(&self.state);
        change(&mut state.saved);
        self.save(&state)
    }

    fn save(&self, state: &SimState) -> Result<(), SimError> {
        let bytes = serde_json::to_vec_pretty(&state.saved).map_err(|e| SimError::Io {
            path: self.dir.join(SIM_FILE),
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })?;
        fsutil::write_atomic(&self.dir, SIM_FILE, &bytes, 0o600).map_err(|source| SimError::Io {
            path: self.dir.join(SIM_FILE),
            source,
        })
    }

    /// A GPS reading: the position with a little jitter.
    fn reading(&self, state: &SimState) -> Position {
        let base = state.saved.position.unwrap_or(self.config.home);
        jitter(base, self.config.jitter_m)
    }
}

/// `base` moved by up to `metres` in a random direction, with a plausible accuracy.
pub fn jitter(base: Position, metres: f64) -> Position {
    let mut rng = rand::rng();
    let distance = rng.random_range(0.0..=metres.max(0.0));
    let bearing = rng.random_range(0.0..std::f64::consts::TAU);
    const METRES_PER_DEGREE: f64 = 111_320.0;
    let dlat = distance * bearing.cos() / METRES_PER_DEGREE;
    let dlon = distance * bearing.sin()
        / (METRES_PER_DEGREE * base.lat.to_radians().cos().abs().max(0.01));
    Position {
        lat: (base.lat + dlat).clamp(-90.0, 90.0),
        lon: base.lon + dlon,
        accuracy_m: base.accuracy_m.max(1.0) + rng.random_range(0.0..3.0f32),
    }
}

/// Drains the battery by elapsed time (about 1 % every ten minutes).
fn drain(state: &mut SimState) {
    let elapsed = state.last_drain.elapsed().as_secs_f64();
    state.last_drain = Instant::now();
    state.saved.battery_pct = (state.saved.battery_pct - elapsed / 600.0).max(0.0);
}

fn battery(state: &SimState) -> u8 {
    state.saved.battery_pct.round().clamp(0.0, 100.0) as u8
}

/// Shares a device between tasks.
pub type SharedDevice = Arc<SimDevice>;
