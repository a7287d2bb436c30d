//! `sealkeeper log verify` and `sealkeeper log monitor`.
//!
//! `log verify` reads the server's database (read transactions only; a SQLite file is
//! opened read-only) and recomputes the whole tamper-evident log: every leaf hash from
//! the stored entry bytes and every perfect subtree with a [`Frontier`], each compared
//! with the stored node; every stored checkpoint's signature (with the log key stored
//! under the configured origin), origin, and root against the recomputed root at its
//! size; and the head's frontier. The first divergence is reported with where it is.
//!
//! `log monitor` follows a server from outside: it pins the log key of the published key
//! set on first use, verifies each new checkpoint's signature and a consistency proof
//! from the last verified one, and keeps that checkpoint in a state file. A smaller
//! tree, another root for the same size, or a failed proof is a fork or a rollback: the
//! evidence is saved next to the state file and the command exits 2.

use std::collections::{HashMap, VecDeque};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};
use seal_core::stamp::EntryKind;
use seal_proof::PublicKey;
use seal_proof::merkle::{Frontier, Hash, MAX_LEVEL, MerkleError, NodeId, leaf_hash};
use seal_proof::note::{Checkpoint, NoteVerifier, open_checkpoint};
use seal_server::config::Config;
use seal_store::{CheckpointRecord, LogEntryRecord, Store, StoreError, StoreOptions};
use serde::{Deserialize, Serialize};

use crate::http::{HttpError, Server};

/// Exit code of `log monitor` when the log forked or was rolled back.
pub const EXIT_FORK: u8 = 2;

/// Without a terminal, `log verify` prints a progress line every this many entries.
const PROGRESS_EVERY: u64 = 100_000;

/// Checkpoints read per query.
const CHECKPOINT_PAGE: u64 = 1_000;

#[derive(Subcommand)]
pub enum LogCommand {
    /// Recompute the whole log from the server's database and compare it with what is stored.
    ///
    /// Every entry's leaf hash, every stored subtree hash, every signed checkpoint
    /// (signature with the log key, origin, root) and the head. Reads only (a SQLite file
    /// is opened read-only, so a running server is no obstacle). Reports the first
    /// divergence and exits 1; exits 0 with a summary when everything matches.
    Verify(LogVerifyArgs),
    /// Follow a server's signed checkpoints and report forks and rollbacks.
    ///
    /// Pins the log key of the server's key set on first use, then verifies every new
    /// checkpoint's signature and a consistency proof from the last verified one, which
    /// is kept in the state file. Exits 2 on a fork or rollback (evidence saved next to
    /// the state file); 1 on a changed log key, a bad signature, or (with --once) any
    /// error; without --once an unreachable server is retried.
    Monitor(MonitorArgs),
}

#[derive(Args)]
pub struct LogVerifyArgs {
    /// The server's TOML configuration file (database URL, data folder, log origin).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server's data folder (overrides the configuration).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Entries read per query.
    #[arg(long, value_name = "N", default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..=100_000))]
    chunk: u64,
}

#[derive(Args)]
pub struct MonitorArgs {
    /// The server to follow, e.g. https://sk.example.
    #[arg(value_name = "URL")]
    url: String,
    /// Where the pinned log key and the last verified checkpoint are kept (created on
    /// first use; a restart continues from it).
    #[arg(long, value_name = "FILE", default_value = "sealkeeper-monitor.json")]
    state: PathBuf,
    /// Seconds between two rounds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=86_400))]
    interval: u64,
    /// Do one round and exit: 0 consistent, 1 error, 2 fork or rollback.
    #[arg(long)]
    once: bool,
}

pub fn run(command: LogCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return crate::fail(&error),
    };
    match command {
        LogCommand::Verify(args) => runtime.block_on(verify_command(args)),
        LogCommand::Monitor(args) => runtime.block_on(monitor_command(args)),
    }
}

// ----- log verify ---------------------------------------------------------------------

/// Where the recomputed log and the stored one part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Divergence {
    #[error("entry {index}: missing (the log's head says there are {size} entries)")]
    MissingEntry { index: u64, size: u64 },
    #[error(
        "entry {index}: the entry's bytes do not hash to its stored leaf hash (stored {}, \
         recomputed {}): the entry or its leaf hash was changed",
        b64(stored),
        b64(recomputed)
    )]
    Leaf {
        index: u64,
        stored: Hash,
        recomputed: Hash,
    },
    #[error("entry {index}: its stored leaf hash, node (0, {index}), is missing")]
    MissingLeaf { index: u64 },
    #[error("entry {index}: stored as kind {stored} but its bytes are {}",
        found.map_or("of no known kind", EntryKind::key))]
    Kind {
        index: u64,
        stored: &'static str,
        found: Option<EntryKind>,
    },
    #[error(
        "node {node} (completed by entry {entry}): the stored hash is not the recomputed \
         one (stored {}, recomputed {})",
        b64(stored),
        b64(recomputed)
    )]
    Node {
        node: NodeId,
        entry: u64,
        stored: Hash,
        recomputed: Hash,
    },
    #[error("node {node} (completed by entry {entry}): missing")]
    MissingNode { node: NodeId, entry: u64 },
    #[error("checkpoint of size {size}: there is no log key named {origin:?} to check it with")]
    NoLogKey { size: u64, origin: String },
    #[error("the stored log key {origin:?} is not an Ed25519 public key")]
    BadLogKey { origin: String },
    #[error("checkpoint of size {size}: the signed note does not verify: {reason}")]
    CheckpointNote { size: u64, reason: String },
    #[error(
        "checkpoint of size {size}: its stored size and root are not the signed ones \
         (signed size {signed_size}, root {})",
        b64(signed_root)
    )]
    CheckpointColumns {
        size: u64,
        signed_size: u64,
        signed_root: Hash,
    },
    #[error(
        "checkpoint of size {size}: the signed root is not the root recomputed from the \
         entries (signed {}, recomputed {})",
        b64(signed),
        b64(recomputed)
    )]
    CheckpointRoot {
        size: u64,
        signed: Hash,
        recomputed: Hash,
    },
    #[error(
        "checkpoint of size {size}: signed for more entries than the log's head has ({head}): \
         the log was cut back"
    )]
    BeyondHead { size: u64, head: u64 },
    #[error(
        "head: the stored frontier (size {size}, root {}) is not the recomputed one (root {})",
        b64(stored_root),
        b64(recomputed_root)
    )]
    Head {
        size: u64,
        stored_root: Hash,
        recomputed_root: Hash,
    },
}

/// Why `log verify` could not finish (other than a divergence).
#[derive(Debug, thiserror::Error)]
pub enum LogVerifyError {
    #[error("the log diverges at {0}")]
    Divergence(#[from] Divergence),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the log cannot be recomputed: {0}")]
    Merkle(#[from] MerkleError),
}

/// What a finished verification checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub size: u64,
    pub root: Hash,
    /// Stored nodes compared (leaf hashes included).
    pub nodes: u64,
    pub checkpoints: u64,
}

fn b64(hash: &Hash) -> String {
    STANDARD.encode(hash)
}

/// What `log verify` reads. The store's read transactions in the command, an in-memory
/// log in the unit tests.
pub(crate) trait LogSource {
    async fn head(&mut self) -> Result<Frontier, StoreError>;
    /// The size of the largest stored checkpoint.
    async fn latest_checkpoint_size(&mut self) -> Result<Option<u64>, StoreError>;
    async fn entries(&mut self, from: u64, limit: u64) -> Result<Vec<LogEntryRecord>, StoreError>;
    async fn level(
        &mut self,
        level: u8,
        from: u64,
        until: u64,
    ) -> Result<Vec<(u64, Hash)>, StoreError>;
    async fn checkpoints(
        &mut self,
        from: u64,
        limit: u64,
    ) -> Result<Vec<CheckpointRecord>, StoreError>;
    /// The base64 Ed25519 public key stored under `name`.
    async fn log_key(&mut self, name: &str) -> Result<Option<String>, StoreError>;
}

/// Every read in its own read transaction: everything is bounded by the head read
/// first, and the log only grows, so a server may keep writing meanwhile.
struct StoreSource(Store);

fn limit(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl LogSource for StoreSource {
    async fn head(&mut self) -> Result<Frontier, StoreError> {
        self.0.read().await?.log_head().await
    }

    async fn latest_checkpoint_size(&mut self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .0
            .read()
            .await?
            .latest_checkpoint()
            .await?
            .map(|c| c.size))
    }

    async fn entries(&mut self, from: u64, n: u64) -> Result<Vec<LogEntryRecord>, StoreError> {
        self.0.read().await?.log_entries(from, limit(n)).await
    }

    async fn level(
        &mut self,
        level: u8,
        from: u64,
        until: u64,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        self.0.read().await?.log_level(level, from, until).await
    }

    async fn checkpoints(
        &mut self,
        from: u64,
        n: u64,
    ) -> Result<Vec<CheckpointRecord>, StoreError> {
        self.0.read().await?.checkpoints(from, limit(n)).await
    }

    async fn log_key(&mut self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .read()
            .await?
            .log_key(name)
            .await?
            .map(|k| k.public_key))
    }
}

/// The stored checkpoints up to the head's size, read a page at a time in size order.
struct Checkpoints {
    pending: VecDeque<CheckpointRecord>,
    next_from: u64,
    until: u64,
    exhausted: bool,
}

impl Checkpoints {
    fn new(until: u64) -> Self {
        Self {
            pending: VecDeque::new(),
            next_from: 0,
            until,
            exhausted: false,
        }
    }

    /// The stored checkpoint of exactly `size`, if the next one has it.
    async fn take_at<S: LogSource>(
        &mut self,
        source: &mut S,
        size: u64,
    ) -> Result<Option<CheckpointRecord>, StoreError> {
        if self.pending.is_empty() && !self.exhausted {
            let page = source.checkpoints(self.next_from, CHECKPOINT_PAGE).await?;
            match page.last() {
                None => self.exhausted = true,
                Some(last) => {
                    self.exhausted =
                        last.size >= self.until || (page.len() as u64) < CHECKPOINT_PAGE;
                    self.next_from = last.size.saturating_add(1);
                }
            }
            self.pending
                .extend(page.into_iter().filter(|c| c.size <= self.until));
        }
        if self.pending.front().is_some_and(|c| c.size == size) {
            return Ok(self.pending.pop_front());
        }
        Ok(None)
    }
}

/// Checks a stored checkpoint against the log key, the origin and the recomputed root.
fn check_checkpoint(
    record: &CheckpointRecord,
    verifier: Option<&NoteVerifier>,
    origin: &str,
    recomputed: &Hash,
) -> Result<(), Divergence> {
    let Some(verifier) = verifier else {
        return Err(Divergence::NoLogKey {
            size: record.size,
            origin: origin.to_owned(),
        });
    };
    let signed = open_checkpoint(&record.note, std::slice::from_ref(verifier), Some(origin))
        .map_err(|e| Divergence::CheckpointNote {
            size: record.size,
            reason: e.to_string(),
        })?;
    if signed.size != record.size || signed.root != record.root {
        return Err(Divergence::CheckpointColumns {
            size: record.size,
            signed_size: signed.size,
            signed_root: signed.root,
        });
    }
    if signed.root != *recomputed {
        return Err(Divergence::CheckpointRoot {
            size: record.size,
            signed: signed.root,
            recomputed: *recomputed,
        });
    }
    Ok(())
}

/// Recomputes the log from `source` (see the module documentation). `progress` is told
/// the number of entries checked after each chunk.
pub(crate) async fn verify_log<S: LogSource>(
    source: &mut S,
    origin: &str,
    chunk: u64,
    mut progress: impl FnMut(u64, u64),
) -> Result<Verified, LogVerifyError> {
    let chunk = chunk.max(1);
    // The latest checkpoint first: the head only grows, so one signed for more entries
    // than the head read after it has means the log was cut back.
    let latest = source.latest_checkpoint_size().await?;
    let head = source.head().await?;
    let size = head.size();
    if let Some(latest) = latest
        && latest > size
    {
        return Err(Divergence::BeyondHead {
            size: latest,
            head: size,
        }
        .into());
    }
    let verifier = match source.log_key(origin).await? {
        None => None,
        Some(key) => {
            let key = PublicKey::from_base64(&key).map_err(|_| Divergence::BadLogKey {
                origin: origin.to_owned(),
            })?;
            Some(
                NoteVerifier::new(origin, key).map_err(|_| Divergence::BadLogKey {
                    origin: origin.to_owned(),
                })?,
            )
        }
    };
    let mut checkpoints = Checkpoints::new(size);
    let mut checked_checkpoints = 0u64;
    let mut frontier = Frontier::new();
    let mut nodes = 0u64;

    if let Some(record) = checkpoints.take_at(source, 0).await? {
        check_checkpoint(&record, verifier.as_ref(), origin, &frontier.root())?;
        checked_checkpoints += 1;
    }
    let mut next = 0u64;
    while next < size {
        let until = size.min(next.saturating_add(chunk));
        let entries = source.entries(next, until - next).await?;
        // The perfect subtrees the appends of [next, until) complete: at level l, the
        // nodes [next >> l, until >> l). When a level has none, no higher level has any.
        let mut stored: HashMap<NodeId, Hash> = HashMap::with_capacity(2 * entries.len());
        for level in 0..=MAX_LEVEL {
            let (low, high) = (next >> level, until >> level);
            if high <= low {
                break;
            }
            for (index, hash) in source.level(level, low, high).await? {
                stored.insert(NodeId::new(level, index), hash);
            }
        }
        let mut expected = next;
        for entry in entries.iter().take_while(|e| e.index < until) {
            if entry.index != expected {
                return Err(Divergence::MissingEntry {
                    index: expected,
                    size,
                }
                .into());
            }
            let leaf = leaf_hash(&entry.entry);
            let mut divergence = None;
            frontier.append_with(leaf, |id, hash| {
                if divergence.is_some() {
                    return;
                }
                nodes += 1;
                divergence = match (stored.get(&id), id.level) {
                    (None, 0) => Some(Divergence::MissingLeaf { index: id.index }),
                    (None, _) => Some(Divergence::MissingNode {
                        node: id,
                        entry: expected,
                    }),
                    (Some(s), 0) if s != hash => Some(Divergence::Leaf {
                        index: id.index,
                        stored: *s,
                        recomputed: *hash,
                    }),
                    (Some(s), _) if s != hash => Some(Divergence::Node {
                        node: id,
                        entry: expected,
                        stored: *s,
                        recomputed: *hash,
                    }),
                    _ => None,
                };
            })?;
            if let Some(divergence) = divergence {
                return Err(divergence.into());
            }
            let found = EntryKind::of(&entry.entry);
            if found != Some(entry.kind) {
                return Err(Divergence::Kind {
                    index: expected,
                    stored: entry.kind.key(),
                    found,
                }
                .into());
            }
            expected += 1;
            if let Some(record) = checkpoints.take_at(source, frontier.size()).await? {
                check_checkpoint(&record, verifier.as_ref(), origin, &frontier.root())?;
                checked_checkpoints += 1;
            }
        }
        if expected < until {
            return Err(Divergence::MissingEntry {
                index: expected,
                size,
            }
            .into());
        }
        next = until;
        progress(next, size);
    }
    if head.hashes() != frontier.hashes() {
        return Err(Divergence::Head {
            size,
            stored_root: head.root(),
            recomputed_root: frontier.root(),
        }
        .into());
    }
    Ok(Verified {
        size,
        root: frontier.root(),
        nodes,
        checkpoints: checked_checkpoints,
    })
}

/// Progress on stderr: a bar on a terminal, otherwise a line every [`PROGRESS_EVERY`].
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_line: u64,
}

impl Progress {
    fn new(what: &str, total: u64) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self {
                bar: None,
                last_line: 0,
            };
        }
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {human_pos}/{human_len} entries ({per_sec}, {eta} left)",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        Self {
            bar: Some(bar),
            last_line: 0,
        }
    }

    fn update(&mut self, done: u64, total: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => {
                if done / PROGRESS_EVERY > self.last_line / PROGRESS_EVERY {
                    tell!("log verify: {done} of {total} entries checked");
                    self.last_line = done;
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The database URL of the configuration, a SQLite file opened read-only (and required
/// to exist: read-write would create an empty one).
fn read_only_url(config: &Config) -> Result<String, String> {
    let url = config.database_url();
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(url);
    };
    let path_text = rest.trim_start_matches("//");
    let path = Path::new(path_text.split('?').next().unwrap_or_default());
    if !path.is_file() {
        return Err(format!(
            "no database at {} (is --data the server's data folder, --config its configuration?)",
            path.display()
        ));
    }
    if url.contains("mode=") {
        return Ok(url);
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{separator}mode=ro"))
}

async fn verify_command(args: LogVerifyArgs) -> ExitCode {
    let started = Instant::now();
    let mut config = match Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => return crate::fail(&error),
    };
    if let Some(data) = args.data {
        config.server.data_dir = data;
    }
    let origin = config.proofs.origin();
    let url = match read_only_url(&config) {
        Ok(url) => url,
        Err(error) => return crate::fail(&error),
    };
    let options = StoreOptions {
        max_connections: 2,
        connect_timeout: Duration::from_secs(config.database.connect_timeout_seconds.max(1)),
    };
    let store = match Store::connect(&url, &options).await {
        Ok(store) => store,
        Err(StoreError::Migrate(reason)) if url.contains("mode=ro") => {
            return crate::fail(&format!(
                "log verify: the database was made by another version of Sealkeeper and is \
                 opened read-only, so it is not migrated ({reason}); run this version's \
                 server on it once, or use the matching `sealkeeper`"
            ));
        }
        Err(error) => return crate::fail(&format!("log verify: {error}")),
    };
    let mut source = StoreSource(store.clone());
    let size = match source.head().await {
        Ok(head) => head.size(),
        Err(error) => return crate::fail(&error),
    };
    let mut progress = Progress::new("log verify", size);
    let outcome = verify_log(&mut source, &origin, args.chunk, |done, total| {
        progress.update(done, total)
    })
    .await;
    progress.finish();
    store.close().await;
    match outcome {
        Ok(verified) => {
            say!(
                "✓ log verified: {} entries, {} stored hashes, {} signed checkpoints",
                verified.size,
                verified.nodes,
                verified.checkpoints
            );
            say!("  origin  {origin}");
            say!("  size    {}", verified.size);
            say!("  root    {}", b64(&verified.root));
            say!("  took    {:.2} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(LogVerifyError::Divergence(divergence)) => {
            say!("✗ the log diverges at {divergence}");
            ExitCode::FAILURE
        }
        Err(error) => crate::fail(&format!("log verify: {error}")),
    }
}

// ----- log monitor --------------------------------------------------------------------

/// What the monitor keeps between rounds and restarts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MonitorState {
    /// The server followed.
    pub server: String,
    /// The log's origin, pinned on first use.
    pub origin: String,
    /// The log's verifier key, pinned on first use.
    pub vkey: String,
    /// The last verified checkpoint (signed note text).
    pub checkpoint: String,
    /// When it was verified (RFC 3339).
    pub verified_at: String,
}

/// Evidence that the log forked or was rolled back.
#[derive(Debug, thiserror::Error)]
pub enum Fork {
    #[error("rollback: the log had {old} entries and now shows {new}")]
    Rollback { old: u64, new: u64 },
    #[error(
        "fork: two different roots for size {size} ({} and {})",
        b64(old_root),
        b64(new_root)
    )]
    SameSize {
        size: u64,
        old_root: Hash,
        new_root: Hash,
    },
    #[error("fork: the consistency proof from size {old} to size {new} does not verify: {reason}")]
    Inconsistent { old: u64, new: u64, reason: String },
}

/// Why a round failed (other than a fork).
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the server publishes no log key in its key set")]
    NoLogKey,
    #[error("the server's log key {0}")]
    BadLogKey(String),
    #[error(
        "the log key changed: pinned {pinned_origin} {pinned}, served {served_origin} {served}; \
         refusing (delete the state file to pin the new key)"
    )]
    KeyChanged {
        pinned: String,
        pinned_origin: String,
        served: String,
        served_origin: String,
    },
    #[error("the server's checkpoint does not verify with the pinned log key: {0}")]
    BadCheckpoint(String),
    #[error("state file {path}: {reason}")]
    State { path: String, reason: String },
}

impl MonitorError {
    /// Whether a later round may succeed (the server was unreachable or answered badly).
    fn is_transient(&self) -> bool {
        matches!(self, MonitorError::Http(_))
    }
}

/// How a round ended.
enum Round {
    Pinned(Checkpoint, String),
    Unchanged(u64),
    Grown { old: u64, new: Checkpoint },
    Forked(Fork, String, String),
}

/// Reads the state file; `None` when it does not exist.
pub fn load_state(path: &Path) -> Result<Option<(MonitorState, Checkpoint)>, MonitorError> {
    let bad = |reason: String| MonitorError::State {
        path: path.display().to_string(),
        reason,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(bad(error.to_string())),
    };
    let state: MonitorState =
        serde_json::from_str(&text).map_err(|e| bad(format!("not a monitor state: {e}")))?;
    let verifier =
        NoteVerifier::parse(&state.vkey).map_err(|e| bad(format!("the pinned key: {e}")))?;
    let checkpoint = open_checkpoint(&state.checkpoint, &[verifier], Some(&state.origin))
        .map_err(|e| bad(format!("the saved checkpoint: {e}")))?;
    Ok(Some((state, checkpoint)))
}

/// Writes `text` to `path` through a temporary file and a rename.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

fn save_state(path: &Path, state: &MonitorState) -> Result<(), MonitorError> {
    let bad = |reason: String| MonitorError::State {
        path: path.display().to_string(),
        reason,
    };
    let text = serde_json::to_string_pretty(state).map_err(|e| bad(e.to_string()))?;
    write_atomically(path, &format!("{text}\n")).map_err(|e| bad(e.to_string()))
}

fn now_rfc3339() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    seal_core::time::Timestamp::from_millis(millis).to_string()
}

/// Checks the step from the checkpoint `old` to `new` with the server's consistency
/// proof. `Ok(Err(fork))`: evidence of a fork or a rollback.
pub async fn check_step(
    server: &Server,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<Result<(), Fork>, HttpError> {
    if new.size < old.size {
        return Ok(Err(Fork::Rollback {
            old: old.size,
            new: new.size,
        }));
    }
    if new.size == old.size {
        if new.root != old.root {
            return Ok(Err(Fork::SameSize {
                size: new.size,
                old_root: old.root,
                new_root: new.root,
            }));
        }
        return Ok(Ok(()));
    }
    let proof = server.consistency(old.size, new.size).await?;
    Ok(
        seal_proof::merkle::verify_consistency(old.size, new.size, &proof, &old.root, &new.root)
            .map_err(|e| Fork::Inconsistent {
                old: old.size,
                new: new.size,
                reason: e.to_string(),
            }),
    )
}

async fn round(server: &Server, path: &Path) -> Result<Round, MonitorError> {
    let saved = load_state(path)?;
    let (keys, _) = server.key_set().await?;
    let log = keys.log.clone().ok_or(MonitorError::NoLogKey)?;
    let verifier = keys
        .log_verifier()
        .map_err(|e| MonitorError::BadLogKey(e.to_string()))?
        .ok_or(MonitorError::NoLogKey)?;
    if let Some((state, _)) = &saved
        && (state.vkey != log.vkey || state.origin != log.origin)
    {
        return Err(MonitorError::KeyChanged {
            pinned: state.vkey.clone(),
            pinned_origin: state.origin.clone(),
            served: log.vkey,
            served_origin: log.origin,
        });
    }
    let note = server.checkpoint().await?;
    let checkpoint = open_checkpoint(&note, &[verifier], Some(&log.origin))
        .map_err(|e| MonitorError::BadCheckpoint(e.to_string()))?;
    let state = MonitorState {
        server: server.base().to_owned(),
        origin: log.origin.clone(),
        vkey: log.vkey.clone(),
        checkpoint: note.clone(),
        verified_at: now_rfc3339(),
    };
    let Some((old_state, old)) = saved else {
        save_state(path, &state)?;
        return Ok(Round::Pinned(checkpoint, log.vkey));
    };
    match check_step(server, &old, &checkpoint).await? {
        Err(fork) => Ok(Round::Forked(fork, old_state.checkpoint, note)),
        Ok(()) if checkpoint.size == old.size => Ok(Round::Unchanged(old.size)),
        Ok(()) => {
            save_state(path, &state)?;
            Ok(Round::Grown {
                old: old.size,
                new: checkpoint,
            })
        }
    }
}

/// Saves the two checkpoints of a fork next to the state file; returns the file's path.
fn save_evidence(
    state: &Path,
    server: &Server,
    fork: &Fork,
    old: &str,
    new: &str,
) -> Result<PathBuf, std::io::Error> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut name = state.as_os_str().to_owned();
    name.push(format!(".fork-{stamp}.txt"));
    let path = PathBuf::from(name);
    let text = format!(
        "server: {}\nfound: {}\nwhat: {fork}\n\n--- last verified checkpoint ---\n{old}\n--- checkpoint served now ---\n{new}",
        server.base(),
        now_rfc3339()
    );
    std::fs::write(&path, text)?;
    Ok(path)
}

async fn monitor_command(args: MonitorArgs) -> ExitCode {
    let server = match Server::new(&args.url) {
        Ok(server) => server,
        Err(error) => return crate::fail(&error),
    };
    loop {
        match round(&server, &args.state).await {
            Ok(Round::Pinned(checkpoint, vkey)) => say!(
                "✓ pinned log key {vkey}; checkpoint size {} root {} (signature verified)",
                checkpoint.size,
                b64(&checkpoint.root)
            ),
            Ok(Round::Unchanged(size)) => say!("✓ checkpoint size {size}: unchanged"),
            Ok(Round::Grown { old, new }) => say!(
                "✓ checkpoint size {old} → {}: signature and consistency proof verified, root {}",
                new.size,
                b64(&new.root)
            ),
            Ok(Round::Forked(fork, old, new)) => {
                let saved = match save_evidence(&args.state, &server, &fork, &old, &new) {
                    Ok(path) => format!("evidence saved in {}", path.display()),
                    Err(error) => format!("the evidence could not be saved: {error}"),
                };
                say!("✗ {fork}");
                tell!(
                    "sealkeeper: log monitor: THE LOG AT {} FORKED OR WAS ROLLED BACK: {fork}; {saved}",
                    server.base()
                );
                return ExitCode::from(EXIT_FORK);
            }
            Err(error) if args.once || !error.is_transient() => {
                return crate::fail(&format!("log monitor: {error}"));
            }
            Err(error) => tell!(
                "sealkeeper: log monitor: {error} (trying again in {} s)",
                args.interval
            ),
        }
        if args.once {
            return ExitCode::SUCCESS;
        }
        tokio::time::sleep(Duration::from_secs(args.interval)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seal_core::ids::OrgId;
    use seal_core::stamp::{StampEntry, StampKind};
    use seal_core::time::Timestamp;
    use seal_proof::SigningKey;
    use seal_proof::merkle::MemoryTree;
    use seal_proof::note::sign_checkpoint;

    const ORIGIN: &str = "sk.test/sealkeeper";

    /// A log in memory, stored the way the server stores it, to be tampered with.
    struct Fake {
        head: Frontier,
        entries: Vec<LogEntryRecord>,
        nodes: HashMap<NodeId, Hash>,
        checkpoints: Vec<CheckpointRecord>,
        key: Option<String>,
    }

    fn entry(i: u64) -> Vec<u8> {
        StampEntry {
            stamp: seal_core::ids::StampId::from_bytes([i as u8; 16]),
            org: OrgId::from_bytes([1; 16]),
            seal: None,
            kind: StampKind::Press,
            at: Timestamp::from_millis(i as i64),
            document_sha256: None,
            page: None,
            issuer: format!("device:{i}"),
            details_digest: [0; 32],
        }
        .canonical_bytes()
    }

    /// `size` entries with checkpoints at the given sizes, signed by `key`.
    fn fake(size: u64, at: &[u64], key: &SigningKey) -> Fake {
        let mut tree = MemoryTree::new();
        let mut nodes = HashMap::new();
        let mut frontier = Frontier::new();
        let mut entries = Vec::new();
        let mut checkpoints = Vec::new();
        for i in 0..size {
            let bytes = entry(i);
            frontier
                .append_with(leaf_hash(&bytes), |id, hash| {
                    nodes.insert(id, *hash);
                })
                .unwrap();
            tree.append_entry(&bytes).unwrap();
            entries.push(LogEntryRecord {
                index: i,
                kind: EntryKind::Stamp,
                subject: format!("stamp:{i}"),
                org: None,
                entry: bytes,
                at: Timestamp::from_millis(0),
            });
        }
        for &n in at {
            let root = tree.root_at(n).unwrap();
            let note = sign_checkpoint(&Checkpoint::new(ORIGIN, n, root), ORIGIN, key).unwrap();
            checkpoints.push(CheckpointRecord {
                size: n,
                root,
                note,
                at: Timestamp::from_millis(0),
            });
        }
        Fake {
            head: frontier,
            entries,
            nodes,
            checkpoints,
            key: Some(key.public_key().to_base64()),
        }
    }

    impl LogSource for Fake {
        async fn head(&mut self) -> Result<Frontier, StoreError> {
            Ok(self.head.clone())
        }
        async fn latest_checkpoint_size(&mut self) -> Result<Option<u64>, StoreError> {
            Ok(self.checkpoints.iter().map(|c| c.size).max())
        }
        async fn entries(&mut self, from: u64, n: u64) -> Result<Vec<LogEntryRecord>, StoreError> {
            Ok(self
                .entries
                .iter()
                .filter(|e| e.index >= from)
                .take(n as usize)
                .cloned()
                .collect())
        }
        async fn level(
            &mut self,
            level: u8,
            from: u64,
            until: u64,
        ) -> Result<Vec<(u64, Hash)>, StoreError> {
            let mut found: Vec<(u64, Hash)> = self
                .nodes
                .iter()
                .filter(|(id, _)| id.level == level && id.index >= from && id.index < until)
                .map(|(id, h)| (id.index, *h))
                .collect();
            found.sort();
            Ok(found)
        }
        async fn checkpoints(
            &mut self,
            from: u64,
            n: u64,
        ) -> Result<Vec<CheckpointRecord>, StoreError> {
            Ok(self
                .checkpoints
                .iter()
                .filter(|c| c.size >= from)
                .take(n as usize)
                .cloned()
                .collect())
        }
        async fn log_key(&mut self, name: &str) -> Result<Option<String>, StoreError> {
            Ok(self.key.clone().filter(|_| name == ORIGIN))
        }
    }

    fn run(fake: &mut Fake, chunk: u64) -> Result<Verified, LogVerifyError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(verify_log(fake, ORIGIN, chunk, |_, _| {}))
    }

    fn divergence(fake: &mut Fake) -> Divergence {
        match run(fake, 7) {
            Err(LogVerifyError::Divergence(d)) => d,
            other => panic!("expected a divergence, got {other:?}"),
        }
    }

    #[test]
    fn an_intact_log_verifies_with_any_chunk_size() {
        let key = SigningKey::generate();
        for chunk in [1, 2, 3, 7, 64, 10_000] {
            let mut log = fake(50, &[0, 1, 13, 32, 50], &key);
            let verified = run(&mut log, chunk).unwrap();
            assert_eq!(verified.size, 50);
            assert_eq!(verified.checkpoints, 5);
            assert_eq!(verified.nodes, log.nodes.len() as u64);
            assert_eq!(verified.root, log.head.root());
        }
        let mut empty = fake(0, &[0], &key);
        assert_eq!(run(&mut empty, 10).unwrap().checkpoints, 1);
    }

    #[test]
    fn a_changed_entry_is_found_at_its_index() {
        let key = SigningKey::generate();
        let mut log = fake(40, &[40], &key);
        let last = log.entries[17].entry.len() - 1;
        log.entries[17].entry[last] ^= 1;
        assert!(matches!(
            divergence(&mut log),
            Divergence::Leaf { index: 17, .. }
        ));
    }

    #[test]
    fn a_changed_or_missing_node_is_found() {
        let key = SigningKey::generate();
        let mut log = fake(40, &[], &key);
        log.nodes.insert(NodeId::new(2, 3), [9; 32]);
        assert_eq!(
            divergence(&mut log),
            Divergence::Node {
                node: NodeId::new(2, 3),
                entry: 15,
                stored: [9; 32],
                recomputed: fake(40, &[], &key).nodes[&NodeId::new(2, 3)],
            }
        );
        let mut log = fake(40, &[], &key);
        log.nodes.remove(&NodeId::new(1, 6));
        assert_eq!(
            divergence(&mut log),
            Divergence::MissingNode {
                node: NodeId::new(1, 6),
                entry: 13
            }
        );
        let mut log = fake(40, &[], &key);
        log.nodes.remove(&NodeId::leaf(4));
        assert_eq!(divergence(&mut log), Divergence::MissingLeaf { index: 4 });
    }

    #[test]
    fn a_missing_entry_or_a_wrong_kind_is_found() {
        let key = SigningKey::generate();
        let mut log = fake(20, &[], &key);
        log.entries.remove(9);
        assert_eq!(
            divergence(&mut log),
            Divergence::MissingEntry { index: 9, size: 20 }
        );
        let mut log = fake(20, &[], &key);
        log.entries.pop();
        assert_eq!(
            divergence(&mut log),
            Divergence::MissingEntry {
                index: 19,
                size: 20
            }
        );
        let mut log = fake(20, &[], &key);
        log.entries[3].kind = EntryKind::Audit;
        assert_eq!(
            divergence(&mut log),
            Divergence::Kind {
                index: 3,
                stored: "audit",
                found: Some(EntryKind::Stamp)
            }
        );
    }

    #[test]
    fn checkpoints_are_checked_for_signature_origin_and_root() {
        let key = SigningKey::generate();
        // Signed by another key.
        let mut log = fake(20, &[5, 12], &key);
        let other = fake(20, &[12], &SigningKey::generate());
        log.checkpoints[1] = other.checkpoints[0].clone();
        assert!(matches!(
            divergence(&mut log),
            Divergence::CheckpointNote { size: 12, .. }
        ));
        // Another origin, signed by the right key.
        let mut log = fake(20, &[5], &key);
        let root = log.checkpoints[0].root;
        log.checkpoints[0].note =
            sign_checkpoint(&Checkpoint::new("elsewhere", 5, root), ORIGIN, &key).unwrap();
        match divergence(&mut log) {
            Divergence::CheckpointNote { size: 5, reason } => {
                assert!(reason.contains("elsewhere"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        // A validly signed root that the entries do not give.
        let mut log = fake(20, &[5], &key);
        log.checkpoints[0].note =
            sign_checkpoint(&Checkpoint::new(ORIGIN, 5, [3; 32]), ORIGIN, &key).unwrap();
        log.checkpoints[0].root = [3; 32];
        assert!(matches!(
            divergence(&mut log),
            Divergence::CheckpointRoot {
                size: 5,
                signed: [3, ..],
                ..
            }
        ));
        // Stored columns that are not what was signed.
        let mut log = fake(20, &[5], &key);
        log.checkpoints[0].root = [4; 32];
        assert!(matches!(
            divergence(&mut log),
            Divergence::CheckpointColumns { size: 5, .. }
        ));
        // No key to check with.
        let mut log = fake(20, &[5], &key);
        log.key = None;
        assert!(matches!(
            divergence(&mut log),
            Divergence::NoLogKey { size: 5, .. }
        ));
        // Without checkpoints, no key is needed.
        let mut log = fake(20, &[], &key);
        log.key = None;
        assert!(run(&mut log, 7).is_ok());
    }

    #[test]
    fn a_log_cut_back_below_a_checkpoint_is_found() {
        let key = SigningKey::generate();
        let mut log = fake(20, &[5, 20], &key);
        let shorter = fake(12, &[], &key);
        log.head = shorter.head;
        log.entries.truncate(12);
        assert_eq!(
            divergence(&mut log),
            Divergence::BeyondHead { size: 20, head: 12 }
        );
    }

    #[test]
    fn a_head_that_is_not_the_recomputed_frontier_is_found() {
        let key = SigningKey::generate();
        let mut log = fake(21, &[], &key);
        let mut hashes = log.head.hashes().to_vec();
        hashes[1] = [1; 32];
        log.head = Frontier::from_parts(21, hashes).unwrap();
        assert!(matches!(
            divergence(&mut log),
            Divergence::Head { size: 21, .. }
        ));
    }

    #[test]
    fn divergences_say_where_they_are() {
        let leaf = Divergence::Leaf {
            index: 5,
            stored: [0; 32],
            recomputed: [1; 32],
        };
        assert!(
            leaf.to_string()
                .starts_with("entry 5: the entry's bytes do not hash to its stored leaf hash"),
            "{leaf}"
        );
        let node = Divergence::MissingNode {
            node: NodeId::new(2, 1),
            entry: 7,
        };
        assert_eq!(
            node.to_string(),
            "node (2, 1) (completed by entry 7): missing"
        );
    }
}
