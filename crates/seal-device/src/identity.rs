//! A device's identity in its state folder: the Ed25519 secret key, the device id once
//! enrolled, the server URL, kind, serial, MAC and firmware, and the next sequence number
//! (write-ahead: persisted before it is used, so it is never reused even after a crash).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rand::Rng as _;
use seal_proof::keys::SigningKey;
use serde::{Deserialize, Serialize};

use crate::fsutil;

/// The secret key file: the 32 secret bytes, mode 0600.
pub const KEY_FILE: &str = "device.key";
/// The identity file (JSON); its presence marks a complete identity.
pub const IDENTITY_FILE: &str = "identity.json";
/// The next unused sequence number, as decimal text.
pub const SEQ_FILE: &str = "seq";

/// Why an identity could not be created, read or updated.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A file of the state folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A file of the state folder exists but is not what it should be.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// `create` found an identity already there.
    #[error("{0} already holds a device identity")]
    Exists(PathBuf),
    /// `open` found no identity.
    #[error("{0} holds no device identity")]
    Missing(PathBuf),
    /// The sequence numbers ran out (never in practice).
    #[error("the sequence numbers are exhausted")]
    SeqExhausted,
}

/// What a device says about itself at enrolment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The server's base URL, e.g. `https://seal.example.com`.
    pub server: String,
    /// `seal_box`, `seal_printer`, `scanner` or `id_kiosk`.
    pub kind: String,
    /// The manufacturer's serial number.
    pub serial: String,
    /// The network MAC address, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// The firmware version.
    pub firmware: String,
}

impl DeviceInfo {
    /// A simulated device's details: a random serial `SIM-…` and a random locally
    /// administered MAC address.
    pub fn simulated(server: &str, kind: &str, firmware: &str) -> Self {
        let mut rng = rand::rng();
        let serial = format!("SIM-{:010X}", rng.random::<u64>() & 0xff_ffff_ffff);
        let mut mac: [u8; 6] = rng.random();
        // Locally administered, unicast.
        mac[0] = (mac[0] | 0x02) & 0xfe;
        let mac = mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        DeviceInfo {
            server: server.to_owned(),
            kind: kind.to_owned(),
            serial,
            mac,
            firmware: firmware.to_owned(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct IdentityFile {
    version: u32,
    #[serde(flatten)]
    info: DeviceInfo,
    device_id: Option<String>,
}

/// A device's identity, opened from (and kept in) its state folder.
#[derive(Debug)]
pub struct Identity {
    dir: PathBuf,
    key: SigningKey,
    info: DeviceInfo,
    device_id: Option<String>,
    next_seq: u64,
}

impl Identity {
    /// Whether `dir` holds a complete identity.
    pub fn exists(dir: &Path) -> bool {
        dir.join(IDENTITY_FILE).is_file()
    }

    /// Makes a new identity in `dir` (created if needed): a fresh key, no device id, the
    /// sequence at 1. Refuses a folder that already holds one.
    pub fn create(dir: &Path, info: DeviceInfo) -> Result<Self, IdentityError> {
        if Self::exists(dir) {
            return Err(IdentityError::Exists(dir.to_owned()));
        }
        fsutil::create_dir_durable(dir).map_err(io_at(dir))?;
        let key = SigningKey::generate();
        // The key and the sequence first; the identity file last marks completion, so a
        // crash in between leaves a folder that is simply created again.
        fsutil::write_atomic(dir, KEY_FILE, &key.to_bytes(), 0o600)
            .map_err(io_at(&dir.join(KEY_FILE)))?;
        fsutil::write_atomic(dir, SEQ_FILE, b"1\n", 0o644).map_err(io_at(&dir.join(SEQ_FILE)))?;
        let identity = Identity {
            dir: dir.to_owned(),
            key,
            info,
            device_id: None,
            next_seq: 1,
        };
        identity.save()?;
        Ok(identity)
    }

    /// Opens the identity kept in `dir`.
    pub fn open(dir: &Path) -> Result<Self, IdentityError> {
        let path = dir.join(IDENTITY_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(IdentityError::Missing(dir.to_owned()));
            }
            Err(error) => {
                return Err(IdentityError::Io {
                    path,
                    source: error,
                });
            }
        };
        let file: IdentityFile = serde_json::from_str(&text).map_err(|e| corrupt(&path, e))?;
        let key_path = dir.join(KEY_FILE);
        let bytes = fs::read(&key_path).map_err(io_at(&key_path))?;
        let key = SigningKey::from_bytes(&bytes).map_err(|e| corrupt(&key_path, e))?;
        let seq_path = dir.join(SEQ_FILE);
        let seq_text = fs::read_to_string(&seq_path).map_err(io_at(&seq_path))?;
        let next_seq: u64 = seq_text.trim().parse().map_err(|e| corrupt(&seq_path, e))?;
        if next_seq == 0 {
            return Err(corrupt(&seq_path, "the sequence starts at 1"));
        }
        Ok(Identity {
            dir: dir.to_owned(),
            key,
            info: file.info,
            device_id: file.device_id,
            next_seq,
        })
    }

    /// Opens the identity in `dir`, or creates one with `info()` when there is none. The
    /// flag tells whether it was created.
    pub fn open_or_create(
        dir: &Path,
        info: impl FnOnce() -> DeviceInfo,
    ) -> Result<(Self, bool), IdentityError> {
        if Self::exists(dir) {
            Ok((Self::open(dir)?, false))
        } else {
            Ok((Self::create(dir, info())?, true))
        }
    }

    /// The state folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The device's secret key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public key as standard base64 (the enrolment's `public_key` and `keyid`).
    pub fn public_key_base64(&self) -> String {
        self.key.public_key().to_base64()
    }

    /// The device details.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// The device id the server gave at enrolment, if enrolled.
    pub fn device_id(&self) -> Option<&str> {
        self.device_id.as_deref()
    }

    /// Records the device id after enrolment (persisted before returning).
    pub fn set_device_id(&mut self, device_id: &str) -> Result<(), IdentityError> {
        self.device_id = Some(device_id.to_owned());
        self.save()
    }

    /// Changes the server URL (persisted before returning).
    pub fn set_server(&mut self, server: &str) -> Result<(), IdentityError> {
        if self.info.server != server {
            self.info.server = server.to_owned();
            self.save()?;
        }
        Ok(())
    }

    /// Changes the firmware version (persisted before returning).
    pub fn set_firmware(&mut self, firmware: &str) -> Result<(), IdentityError> {
        if self.info.firmware != firmware {
            self.info.firmware = firmware.to_owned();
            self.save()?;
        }
        Ok(())
    }

    /// The sequence number the next press will get (not reserved).
    pub fn peek_next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Reserves and returns the next sequence number. The following number is written
    /// and fsync'd before this one is handed out, so a number is never given twice, even
    /// across a crash (a crash may skip one, which is allowed: numbers only increase).
    pub fn next_seq(&mut self) -> Result<u64, IdentityError> {
        let seq = self.next_seq;
        let following = seq.checked_add(1).ok_or(IdentityError::SeqExhausted)?;
        fsutil::write_atomic(
            &self.dir,
            SEQ_FILE,
            format!("{following}\n").as_bytes(),
            0o644,
        )
        .map_err(io_at(&self.dir.join(SEQ_FILE)))?;
        self.next_seq = following;
        Ok(seq)
    }

    fn save(&self) -> Result<(), IdentityError> {
        let file = IdentityFile {
            version: 1,
            info: self.info.clone(),
            device_id: self.device_id.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| IdentityError::Corrupt {
            path: self.dir.join(IDENTITY_FILE),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        fsutil::write_atomic(&self.dir, IDENTITY_FILE, &bytes, 0o644)
            .map_err(io_at(&self.dir.join(IDENTITY_FILE)))
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> IdentityError + '_ {
    move |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    }
}

fn corrupt(path: &Path, error: impl std::fmt::Display) -> IdentityError {
    IdentityError::Corrupt {
        path: path.to_owned(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> DeviceInfo {
        DeviceInfo::simulated("http://127.0.0.1:9", "seal_box", "sim-1")
    }

    #[test]
    fn create_then_open_gives_the_same_key_and_details() {
        let dir = tempfile::tempdir().unwrap();
        let created = Identity::create(dir.path(), info()).unwrap();
        assert_eq!(created.device_id(), None);
        let opened = Identity::open(dir.path()).unwrap();
        assert_eq!(opened.info(), created.info());
        assert_eq!(opened.public_key_base64(), created.public_key_base64());
        assert_eq!(opened.peek_next_seq(), 1);
        assert!(matches!(
            Identity::create(dir.path(), info()),
            Err(IdentityError::Exists(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn the_secret_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        Identity::create(dir.path(), info()).unwrap();
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn device_id_and_server_persist() {
        let dir = tempfile::tempdir().unwrap();
        let mut identity = Identity::create(dir.path(), info()).unwrap();
        identity.set_device_id("dev-1").unwrap();
        identity.set_server("http://example.test").unwrap();
        let opened = Identity::open(dir.path()).unwrap();
        assert_eq!(opened.device_id(), Some("dev-1"));
        assert_eq!(opened.info().server, "http://example.test");
    }

    #[test]
    fn sequence_numbers_are_never_reused_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut identity = Identity::create(dir.path(), info()).unwrap();
        assert_eq!(identity.next_seq().unwrap(), 1);
        assert_eq!(identity.next_seq().unwrap(), 2);
        // "Crash": drop without any further call, reopen.
        drop(identity);
        let mut identity = Identity::open(dir.path()).unwrap();
        assert_eq!(identity.next_seq().unwrap(), 3);
        drop(identity);
        let mut identity = Identity::open(dir.path()).unwrap();
        assert_eq!(identity.peek_next_seq(), 4);
        assert_eq!(identity.next_seq().unwrap(), 4);
    }

    #[test]
    fn a_folder_without_identity_is_missing_and_garbage_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Identity::open(dir.path()),
            Err(IdentityError::Missing(_))
        ));
        Identity::create(dir.path(), info()).unwrap();
        fs::write(dir.path().join(SEQ_FILE), "zero").unwrap();
        assert!(matches!(
            Identity::open(dir.path()),
            Err(IdentityError::Corrupt { .. })
        ));
    }

    #[test]
    fn simulated_details_look_like_a_device() {
        let info = info();
        assert!(info.serial.starts_with("SIM-"));
        assert_eq!(info.mac.len(), 17);
        let first = u8::from_str_radix(&info.mac[..2], 16).unwrap();
        assert_eq!(first & 0x03, 0x02);
    }
}
