//! The event outbox: stamp events kept on disk until the server acknowledges them, one
//! file per event named by its zero-padded sequence number (written to a temporary file,
//! fsync'd, renamed, directory fsync'd), bounded, and synchronised in sequence order.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use seal_proof::wire::{MAX_EVENTS_PER_BATCH, StampEvent};

use crate::client::{ClientError, DeviceClient};
use crate::fsutil;

/// How many events the outbox holds by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// The largest batch body `sync` sends by default (at least one event always goes).
pub const DEFAULT_MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// The folder (inside the outbox) that receives files that cannot be read as events.
const QUARANTINE_DIR: &str = "quarantine";

/// The file extension of a finished event file.
const EVENT_EXT: &str = "json";

/// Why the outbox refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum BufferError {
    /// The outbox is full: the device must refuse to press until it has reported.
    #[error(
        "the event buffer is full ({capacity} events not yet reported): the device refuses to press until it can report"
    )]
    Full {
        /// The capacity that was reached.
        capacity: usize,
    },
    /// An event with this sequence number is already waiting.
    #[error("event {0} is already in the buffer")]
    DuplicateSeq(u64),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// An event could not be encoded or decoded.
    #[error("event {seq}: {message}")]
    Encoding {
        /// Its sequence number.
        seq: u64,
        /// What went wrong.
        message: String,
    },
}

/// A bounded, crash-safe outbox of stamp events.
///
/// A kill at any instant loses no event `push` has returned for, and never yields a torn
/// event: an event file appears only by an atomic rename of a complete, fsync'd file.
#[derive(Debug)]
pub struct EventBuffer {
    dir: PathBuf,
    capacity: usize,
    seqs: BTreeSet<u64>,
}

impl EventBuffer {
    /// Opens (creating if needed) the outbox in `dir` with the default capacity.
    pub fn open(dir: &Path) -> Result<Self, BufferError> {
        Self::open_with_capacity(dir, DEFAULT_CAPACITY)
    }

    /// Opens (creating if needed) the outbox in `dir` holding at most `capacity` events.
    /// Left-over temporary files of an interrupted write are removed; a file that cannot
    /// be read as an event is moved to `quarantine/` (with a warning), never deleted.
    pub fn open_with_capacity(dir: &Path, capacity: usize) -> Result<Self, BufferError> {
        fsutil::create_dir_durable(dir).map_err(io_at(dir))?;
        let mut seqs = BTreeSet::new();
        let entries = fs::read_dir(dir).map_err(io_at(dir))?;
        for entry in entries {
            let entry = entry.map_err(io_at(dir))?;
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(fsutil::TMP_SUFFIX) {
                fs::remove_file(&path).map_err(io_at(&path))?;
                continue;
            }
            // Finished files are only ever made by an atomic rename of a complete file,
            // so they are not read here (a full outbox is large); one that is unreadable
            // all the same is moved aside when it is first read.
            match parse_name(&name) {
                Some(seq) => {
                    seqs.insert(seq);
                }
                None => quarantine(dir, &path, &name)?,
            }
        }
        fsutil::sync_dir(dir).map_err(io_at(dir))?;
        Ok(EventBuffer {
            dir: dir.to_owned(),
            capacity,
            seqs,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many events it may hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many events wait.
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// Whether `push` would refuse.
    pub fn is_full(&self) -> bool {
        self.seqs.len() >= self.capacity
    }

    /// The waiting sequence numbers, in order.
    pub fn seqs(&self) -> Vec<u64> {
        self.seqs.iter().copied().collect()
    }

    /// Stores an event durably; when this returns `Ok` the event survives a crash.
    /// Refuses when the outbox is full (`BufferError::Full`) or holds the same `seq`.
    pub fn push(&mut self, event: &StampEvent) -> Result<(), BufferError> {
        if self.is_full() {
            return Err(BufferError::Full {
                capacity: self.capacity,
            });
        }
        if self.seqs.contains(&event.seq) {
            return Err(BufferError::DuplicateSeq(event.seq));
        }
        let bytes = serde_json::to_vec(event).map_err(|e| BufferError::Encoding {
            seq: event.seq,
            message: e.to_string(),
        })?;
        let name = file_name(event.seq);
        fsutil::write_atomic(&self.dir, &name, &bytes, 0o600)
            .map_err(io_at(&self.dir.join(&name)))?;
        self.seqs.insert(event.seq);
        Ok(())
    }

    /// Every waiting event, in sequence order (reads them all from disk).
    pub fn pending(&mut self) -> Result<Vec<StampEvent>, BufferError> {
        self.pending_batch(usize::MAX, usize::MAX)
    }

    /// The first waiting events in sequence order: at most `max_events`, and no more than
    /// `max_bytes` of JSON together, except that the first event is always included.
    ///
    /// A file that cannot be read as its event (damaged outside this code: a finished
    /// file is always complete) is moved to `quarantine/` with a warning and skipped, so
    /// one bad file cannot block the outbox.
    pub fn pending_batch(
        &mut self,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Vec<StampEvent>, BufferError> {
        let mut batch = Vec::new();
        let mut bytes = 0usize;
        let mut unreadable = Vec::new();
        for &seq in &self.seqs {
            if batch.len() >= max_events {
                break;
            }
            let path = self.dir.join(file_name(seq));
            let size = fs::metadata(&path).map_err(io_at(&path))?.len();
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            if !batch.is_empty() && bytes.saturating_add(size) > max_bytes {
                break;
            }
            match read_event(&path, seq) {
                Ok(event) => {
                    bytes = bytes.saturating_add(size);
                    batch.push(event);
                }
                Err(BufferError::Encoding { .. }) => unreadable.push(seq),
                Err(error) => return Err(error),
            }
        }
        for seq in unreadable {
            let name = file_name(seq);
            quarantine(&self.dir, &self.dir.join(&name), &name)?;
            self.seqs.remove(&seq);
        }
        Ok(batch)
    }

    /// Removes acknowledged events; unknown sequence numbers are ignored. Returns how
    /// many were removed. The removals are made durable before returning.
    pub fn ack(&mut self, seqs: &[u64]) -> Result<usize, BufferError> {
        let mut removed = 0;
        for seq in seqs {
            if !self.seqs.contains(seq) {
                continue;
            }
            let path = self.dir.join(file_name(*seq));
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(BufferError::Io {
                        path,
                        source: error,
                    });
                }
            }
            self.seqs.remove(seq);
            removed += 1;
        }
        if removed > 0 {
            fsutil::sync_dir(&self.dir).map_err(io_at(&self.dir))?;
        }
        Ok(removed)
    }
}

/// How a synchronisation went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Batches sent.
    pub batches: usize,
    /// Events the server stored now.
    pub stored: usize,
    /// Events the server already had (a retried batch).
    pub duplicates: usize,
    /// Events still waiting afterwards.
    pub remaining: usize,
}

/// Why a synchronisation stopped. Events not acknowledged stay in the outbox.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached or refused the batch.
    #[error("sending events failed: {source}")]
    Client {
        /// What the client reported.
        #[source]
        source: ClientError,
        /// What had been synchronised before.
        report: SyncReport,
    },
    /// The outbox failed.
    #[error(transparent)]
    Buffer(#[from] BufferError),
    /// The server answered but did not acknowledge these events.
    #[error("the server did not acknowledge events {seqs:?}")]
    NotAcknowledged {
        /// The events sent and not acknowledged.
        seqs: Vec<u64>,
        /// What had been synchronised before.
        report: SyncReport,
    },
}

/// Limits for one batch of `sync`.
#[derive(Clone, Copy, Debug)]
pub struct SyncLimits {
    /// Events per batch (at most `wire::MAX_EVENTS_PER_BATCH`).
    pub max_events: usize,
    /// JSON bytes per batch (a single larger event is still sent alone).
    pub max_bytes: usize,
}

impl Default for SyncLimits {
    fn default() -> Self {
        SyncLimits {
            max_events: MAX_EVENTS_PER_BATCH,
            max_bytes: DEFAULT_MAX_BATCH_BYTES,
        }
    }
}

/// Sends every waiting event in sequence order, in batches of at most 100, removing
/// each one the server acknowledges (`stored` or `duplicate`). Stops at the first
/// failure, or when a batch is not fully acknowledged (the rest is kept for next time).
///
/// The outbox is locked only to read a batch and to remove acknowledged events, never
/// during the request, so presses can go on while a synchronisation runs.
pub async fn sync(
    buffer: &Mutex<EventBuffer>,
    client: &DeviceClient,
    limits: SyncLimits,
) -> Result<SyncReport, SyncError> {
    let max_events = limits.max_events.clamp(1, MAX_EVENTS_PER_BATCH);
    let mut report = SyncReport::default();
    loop {
        let batch = {
            let mut buffer = lock(buffer);
            buffer.pending_batch(max_events, limits.max_bytes)?
        };
        if batch.is_empty() {
            break;
        }
        let result = match client.send_events(&batch).await {
            Ok(result) => result,
            Err(source) => {
                report.remaining = lock(buffer).len();
                return Err(SyncError::Client { source, report });
            }
        };
        report.batches += 1;
        let sent: BTreeSet<u64> = batch.iter().map(|e| e.seq).collect();
        let mut acked = Vec::new();
        for item in &result.results {
            if !sent.contains(&item.seq) {
                continue;
            }
            match item.result.as_str() {
                "stored" => report.stored += 1,
                "duplicate" => report.duplicates += 1,
                _ => continue,
            }
            acked.push(item.seq);
        }
        let missing: Vec<u64> = sent
            .iter()
            .copied()
            .filter(|seq| !acked.contains(seq))
            .collect();
        let remaining = {
            let mut buffer = lock(buffer);
            buffer.ack(&acked)?;
            buffer.len()
        };
        report.remaining = remaining;
        if !missing.is_empty() {
            return Err(SyncError::NotAcknowledged {
                seqs: missing,
                report,
            });
        }
    }
    report.remaining = lock(buffer).len();
    Ok(report)
}

/// Locks the outbox, recovering it from a poisoned lock (its state is always the disk's).
pub(crate) fn lock(buffer: &Mutex<EventBuffer>) -> std::sync::MutexGuard<'_, EventBuffer> {
    buffer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn file_name(seq: u64) -> String {
    format!("{seq:020}.{EVENT_EXT}")
}

fn parse_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(EVENT_EXT)?.strip_suffix('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

fn read_event(path: &Path, seq: u64) -> Result<StampEvent, BufferError> {
    let bytes = fs::read(path).map_err(io_at(path))?;
    let event: StampEvent = serde_json::from_slice(&bytes).map_err(|e| BufferError::Encoding {
        seq,
        message: e.to_string(),
    })?;
    if event.seq != seq {
        return Err(BufferError::Encoding {
            seq,
            message: format!("the file holds event {}", event.seq),
        });
    }
    Ok(event)
}

fn quarantine(dir: &Path, path: &Path, name: &str) -> Result<(), BufferError> {
    let target_dir = dir.join(QUARANTINE_DIR);
    fsutil::create_dir_durable(&target_dir).map_err(io_at(&target_dir))?;
    let target = target_dir.join(name);
    tracing::warn!(file = %path.display(), "unreadable file in the event buffer moved to quarantine");
    fs::rename(path, &target).map_err(io_at(path))?;
    fsutil::sync_dir(&target_dir).map_err(io_at(&target_dir))
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BufferError + '_ {
    move |source| BufferError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64) -> StampEvent {
        StampEvent {
            seq,
            grant_id: "g-1".into(),
            at: 1_763_900_000_000 + seq as i64,
            position: None,
            press_ms: 400,
            factors: vec!["fingerprint".into()],
            photo: Some("aGVsbG8=".into()),
        }
    }

    #[test]
    fn pushed_events_survive_a_drop_without_ack() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = EventBuffer::open(dir.path()).unwrap();
        for seq in [3, 1, 2] {
            buffer.push(&event(seq)).unwrap();
        }
        drop(buffer);
        let mut buffer = EventBuffer::open(dir.path()).unwrap();
        let pending = buffer.pending().unwrap();
        assert_eq!(pending, vec![event(1), event(2), event(3)]);
    }

    #[test]
    fn capacity_is_enforced_and_ack_frees_room() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = EventBuffer::open_with_capacity(dir.path(), 2).unwrap();
        buffer.push(&event(1)).unwrap();
        buffer.push(&event(2)).unwrap();
        assert!(buffer.is_full());
        let error = buffer.push(&event(3)).unwrap_err();
        assert!(matches!(error, BufferError::Full { capacity: 2 }));
        assert!(error.to_string().contains("refuses to press"));
        assert_eq!(buffer.ack(&[1, 99]).unwrap(), 1);
        buffer.push(&event(3)).unwrap();
        assert_eq!(buffer.seqs(), vec![2, 3]);
        drop(buffer);
        let buffer = EventBuffer::open_with_capacity(dir.path(), 2).unwrap();
        assert_eq!(buffer.seqs(), vec![2, 3]);
    }

    #[test]
    fn a_duplicate_seq_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = EventBuffer::open(dir.path()).unwrap();
        buffer.push(&event(1)).unwrap();
        assert!(matches!(
            buffer.push(&event(1)),
            Err(BufferError::DuplicateSeq(1))
        ));
    }

    #[test]
    fn interrupted_writes_and_garbage_never_show_as_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = EventBuffer::open(dir.path()).unwrap();
        buffer.push(&event(1)).unwrap();
        drop(buffer);
        // A write killed before its rename leaves a temporary file (possibly torn).
        fs::write(
            dir.path().join(format!(".{}.tmp", file_name(2))),
            br#"{"seq":2,"gra"#,
        )
        .unwrap();
        // A corrupted finished file (not produced by this code) goes to quarantine.
        fs::write(dir.path().join(file_name(5)), b"not json").unwrap();
        let mut buffer = EventBuffer::open(dir.path()).unwrap();
        assert_eq!(buffer.pending().unwrap(), vec![event(1)]);
        assert_eq!(buffer.seqs(), vec![1]);
        assert!(!dir.path().join(format!(".{}.tmp", file_name(2))).exists());
        assert!(dir.path().join(QUARANTINE_DIR).join(file_name(5)).is_file());
    }

    #[test]
    fn batches_are_bounded_in_count_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = EventBuffer::open(dir.path()).unwrap();
        for seq in 1..=5 {
            buffer.push(&event(seq)).unwrap();
        }
        let seqs = |batch: Vec<StampEvent>| batch.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(buffer.pending_batch(3, usize::MAX).unwrap()),
            [1, 2, 3]
        );
        // A byte limit below one event still sends one.
        assert_eq!(seqs(buffer.pending_batch(100, 1).unwrap()), [1]);
    }

    #[test]
    fn names_parse_only_when_well_formed() {
        assert_eq!(parse_name(&file_name(42)), Some(42));
        assert_eq!(parse_name("42.json"), None);
        assert_eq!(parse_name("0000000000000000004x.json"), None);
        assert_eq!(parse_name(&format!("{}.tmp", file_name(1))), None);
    }
}
