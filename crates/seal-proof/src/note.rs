//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, and the C2SP
//! transparency-log checkpoint carried in them (<https://c2sp.org/tlog-checkpoint>):
//! signing, strict parsing and verification, and the verifier-key text form of Go's
//! `golang.org/x/mod/sumdb/note` (`name+hexkeyid+base64(0x01 ‖ public key)`), so that Go
//! tooling and this crate read each other's notes and keys.
//!
//! A signed note is its text (ending in a newline), a blank line, then signature lines
//! `— <key name> <base64(4-byte key id ‖ 64-byte Ed25519 signature of the text)>`. The key id
//! is the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ 32-byte public key).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::keys::{PublicKey, SigningKey};
use crate::merkle::{HASH_LEN, Hash};

/// The signature type byte of Ed25519 in signed notes and verifier keys.
pub const ALG_ED25519: u8 = 0x01;

/// The most signature lines a note may have (the C2SP minimum to accept is 16; Go's
/// `note.Open` stops at 100, and so does this crate).
pub const MAX_SIGNATURES: usize = 100;

/// The longest signed note accepted, in bytes.
pub const MAX_NOTE_LEN: usize = 64 * 1024;

/// The most extension lines a checkpoint may carry.
pub const MAX_EXTENSION_LINES: usize = 16;

/// What opens every signature line: em dash (U+2014), space.
const SIG_PREFIX: &str = "\u{2014} ";
/// The length of the key id at the front of a signature.
const KEY_ID_LEN: usize = 4;
/// The literal start of a Go signer key.
const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Why a note, a checkpoint or a key text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note's structure is wrong (what was wrong).
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// The note is longer than [`MAX_NOTE_LEN`].
    #[error("the note is longer than {MAX_NOTE_LEN} bytes")]
    TooLong,
    /// The note has more than [`MAX_SIGNATURES`] signature lines.
    #[error("the note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A key name is empty or has a space or a plus sign.
    #[error("invalid key name {0:?}")]
    BadKeyName(String),
    /// No signature is from a known key.
    #[error("no signature is from a known key")]
    UnknownKey,
    /// A signature from a known key does not verify (the body was altered, or it is forged).
    #[error("invalid signature for key {name}+{key_id:08x}")]
    BadSignature { name: String, key_id: u32 },
    /// Two known verifiers have the same name and key id.
    #[error("ambiguous key {name}+{key_id:08x}")]
    AmbiguousKey { name: String, key_id: u32 },
    /// A verifier key text is malformed (what was wrong).
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(&'static str),
    /// A signer key text is malformed (what was wrong). Never shows the key.
    #[error("malformed signer key: {0}")]
    BadSignerKey(&'static str),
    /// The key id in a key text is not the one its name and key give.
    #[error("the key id does not match the name and key")]
    KeyIdMismatch,
    /// A key of a signature type other than Ed25519 (the type byte).
    #[error("unsupported signature type {0:#04x}")]
    UnsupportedAlgorithm(u8),
    /// The checkpoint body's structure is wrong (what was wrong).
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(&'static str),
    /// The checkpoint's origin is not the one expected.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    OriginMismatch { expected: String, found: String },
    /// The tree size line is not a decimal `u64` without leading zeros.
    #[error("the tree size is not a decimal number without leading zeros")]
    BadSize,
    /// The root hash line is not the base64 of 32 bytes.
    #[error("the root hash is not the base64 of 32 bytes")]
    BadRootHash,
    /// The checkpoint has more than [`MAX_EXTENSION_LINES`] extension lines.
    #[error("the checkpoint has more than {MAX_EXTENSION_LINES} extension lines")]
    TooManyLines,
}

/// Whether `name` is a valid key name: non-empty, no Unicode space, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::BadKeyName(name.to_owned()))
    }
}

/// The key id of an Ed25519 key: the first 4 bytes, big-endian, of
/// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key).
pub fn key_id(name: &str, key: &PublicKey) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ALG_ED25519]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A known key that verifies note signatures: a name, its key id and an Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: PublicKey,
}

impl NoteVerifier {
    /// The verifier for `key` under `name`.
    pub fn new(name: &str, key: PublicKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, &key),
            key,
        })
    }

    /// Parses a verifier key `name+hexkeyid+base64(0x01 ‖ key)` (Go's `note.NewVerifier`):
    /// the key id must be 8 hex digits and match the name and key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, rest) = vkey
            .split_once('+')
            .ok_or(NoteError::BadVerifierKey("no '+' after the name"))?;
        let (hex, key64) = rest
            .split_once('+')
            .ok_or(NoteError::BadVerifierKey("no '+' after the key id"))?;
        check_key_name(name)?;
        let id =
            parse_key_id_hex(hex).ok_or(NoteError::BadVerifierKey("key id is not 8 hex digits"))?;
        let key = STANDARD
            .decode(key64)
            .map_err(|_| NoteError::BadVerifierKey("key is not base64"))?;
        let (&alg, key) = key
            .split_first()
            .ok_or(NoteError::BadVerifierKey("empty key"))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::UnsupportedAlgorithm(alg));
        }
        if key.len() != 32 {
            return Err(NoteError::BadVerifierKey("an Ed25519 key is 32 bytes"));
        }
        let key = PublicKey::from_bytes(key)
            .map_err(|_| NoteError::BadVerifierKey("not an Ed25519 key"))?;
        let verifier = Self::new(name, key)?;
        if verifier.key_id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(verifier)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// The verifier key text, `name+hexkeyid+base64(0x01 ‖ key)` (lowercase hex).
    pub fn to_vkey(&self) -> String {
        let mut key = Vec::with_capacity(33);
        key.push(ALG_ED25519);
        key.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(key))
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

/// Exactly 8 hex digits (either case, as Go accepts) as a `u32`.
fn parse_key_id_hex(hex: &str) -> Option<u32> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// Parses a Go signer key `PRIVATE+KEY+name+hexkeyid+base64(0x01 ‖ 32-byte seed)` into the
/// name and the key; the key id must match the derived public key.
pub fn parse_signer_key(skey: &str) -> Result<(String, SigningKey), NoteError> {
    let rest = skey
        .strip_prefix(SIGNER_KEY_PREFIX)
        .ok_or(NoteError::BadSignerKey("does not start with PRIVATE+KEY+"))?;
    let (name, rest) = rest
        .split_once('+')
        .ok_or(NoteError::BadSignerKey("no '+' after the name"))?;
    let (hex, key64) = rest
        .split_once('+')
        .ok_or(NoteError::BadSignerKey("no '+' after the key id"))?;
    check_key_name(name)?;
    let id = parse_key_id_hex(hex).ok_or(NoteError::BadSignerKey("key id is not 8 hex digits"))?;
    let key = STANDARD
        .decode(key64)
        .map_err(|_| NoteError::BadSignerKey("key is not base64"))?;
    let (&alg, seed) = key
        .split_first()
        .ok_or(NoteError::BadSignerKey("empty key"))?;
    if alg != ALG_ED25519 {
        return Err(NoteError::UnsupportedAlgorithm(alg));
    }
    let signing = SigningKey::from_bytes(seed)
        .map_err(|_| NoteError::BadSignerKey("an Ed25519 seed is 32 bytes"))?;
    if key_id(name, &signing.public_key()) != id {
        return Err(NoteError::KeyIdMismatch);
    }
    Ok((name.to_owned(), signing))
}

/// The Go signer key text of `key` under `name`. It holds the secret: keep it secret.
pub fn signer_key_text(name: &str, key: &SigningKey) -> Result<String, NoteError> {
    check_key_name(name)?;
    let mut bytes = Vec::with_capacity(33);
    bytes.push(ALG_ED25519);
    bytes.extend_from_slice(&key.to_bytes());
    Ok(format!(
        "{SIGNER_KEY_PREFIX}{name}+{:08x}+{}",
        key_id(name, &key.public_key()),
        STANDARD.encode(bytes)
    ))
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id (the first 4 bytes of the signature blob).
    pub key_id: u32,
    /// The signature proper (the bytes after the key id).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line without its newline: `— name base64(key id ‖ signature)`.
    pub fn to_line(&self) -> String {
        let mut blob = Vec::with_capacity(KEY_ID_LEN + self.signature.len());
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}", self.name, STANDARD.encode(blob))
    }
}

/// A note whose signatures were checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The text, ending in a newline (without the blank line that follows it).
    pub text: String,
    /// Signatures by known keys, all verified (repeats by the same key dropped).
    pub verified: Vec<NoteSignature>,
    /// Signatures by keys not in the verifier list, not checked (exact repeats dropped).
    pub unverified: Vec<NoteSignature>,
}

/// Checks the rules every note text obeys: ends in a newline, no ASCII control character
/// other than newline.
fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("the text does not end in a newline"));
    }
    check_characters(text)
}

fn check_characters(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLong);
    }
    if text.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(NoteError::Malformed("control character"));
    }
    Ok(())
}

/// Signs `text` (which must end in a newline) with `key` under `name` and returns the signed
/// note: the text, a blank line and one signature line.
pub fn sign_note(text: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    check_text(text)?;
    check_key_name(name)?;
    let signature = NoteSignature {
        name: name.to_owned(),
        key_id: key_id(name, &key.public_key()),
        signature: key.sign(text.as_bytes()).to_vec(),
    };
    let mut note = String::with_capacity(text.len() + 200);
    note.push_str(text);
    note.push('\n');
    note.push_str(&signature.to_line());
    note.push('\n');
    Ok(note)
}

/// Opens a signed note: checks its structure, verifies every signature from a key in
/// `verifiers`, and keeps the others as unverified.
///
/// Refused: a note that breaks the format (no blank line before the signatures, a line that
/// is not a signature, bad base64, a bad name, control characters, no final newline), more
/// than [`MAX_SIGNATURES`] signature lines, a signature from a known key that does not verify
/// (the whole note is refused), and a note with no verified signature ([`NoteError::UnknownKey`]).
pub fn open_note(msg: &str, verifiers: &[NoteVerifier]) -> Result<Note, NoteError> {
    check_characters(msg)?;
    let split = msg
        .rfind("\n\n")
        .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let text = &msg[..=split];
    let signatures = &msg[split + 2..];
    if signatures.is_empty() {
        return Err(NoteError::Malformed("no signature lines"));
    }
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return Err(NoteError::Malformed(
            "the last signature line does not end in a newline",
        ));
    };
    let mut note = Note {
        text: text.to_owned(),
        verified: Vec::new(),
        unverified: Vec::new(),
    };
    for (count, line) in signatures.split('\n').enumerate() {
        if count >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let signature = parse_signature_line(line)?;
        let mut known = verifiers
            .iter()
            .filter(|v| v.name == signature.name && v.key_id == signature.key_id);
        let Some(verifier) = known.next() else {
            if !note.unverified.contains(&signature) {
                note.unverified.push(signature);
            }
            continue;
        };
        if known.next().is_some() {
            return Err(NoteError::AmbiguousKey {
                name: signature.name,
                key_id: signature.key_id,
            });
        }
        if note
            .verified
            .iter()
            .any(|s| s.name == signature.name && s.key_id == signature.key_id)
        {
            continue;
        }
        if verifier
            .key
            .verify(text.as_bytes(), &signature.signature)
            .is_err()
        {
            return Err(NoteError::BadSignature {
                name: signature.name,
                key_id: signature.key_id,
            });
        }
        note.verified.push(signature);
    }
    if note.verified.is_empty() {
        return Err(NoteError::UnknownKey);
    }
    Ok(note)
}

/// Parses `— name base64(key id ‖ signature)` (without the newline).
fn parse_signature_line(line: &str) -> Result<NoteSignature, NoteError> {
    let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
        "a signature line does not start with an em dash and a space",
    ))?;
    let (name, blob64) = rest.split_once(' ').ok_or(NoteError::Malformed(
        "a signature line has no space after the name",
    ))?;
    if !is_valid_key_name(name) {
        return Err(NoteError::Malformed(
            "a signature line has an invalid key name",
        ));
    }
    let blob = STANDARD
        .decode(blob64)
        .map_err(|_| NoteError::Malformed("a signature is not base64"))?;
    if blob.len() <= KEY_ID_LEN {
        return Err(NoteError::Malformed("a signature is too short"));
    }
    let (id, signature) = blob.split_at(KEY_ID_LEN);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
        signature: signature.to_vec(),
    })
}

/// A transparency-log checkpoint (C2SP tlog-checkpoint): the note text naming a log, a tree
/// size and its RFC 6962 root hash, and optional extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `sealkeeper.example/log`: non-empty, one line.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The root hash at that size.
    pub root: Hash,
    /// Opaque non-empty lines after the root (not recommended; at most [`MAX_EXTENSION_LINES`]).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: origin, decimal size, base64 root, extension lines, each ending in a
    /// newline. Refuses an empty or multi-line origin or extension line.
    pub fn to_body(&self) -> Result<String, NoteError> {
        check_line(
            &self.origin,
            "the origin is empty",
            "the origin has a control character",
        )?;
        if self.extensions.len() > MAX_EXTENSION_LINES {
            return Err(NoteError::TooManyLines);
        }
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for line in &self.extensions {
            check_line(
                line,
                "an extension line is empty",
                "an extension line has a control character",
            )?;
            body.push_str(line);
            body.push('\n');
        }
        Ok(body)
    }

    /// Parses a checkpoint body strictly (the note text, ending in a newline).
    pub fn parse_body(text: &str) -> Result<Self, NoteError> {
        check_characters(text)?;
        let Some(text) = text.strip_suffix('\n') else {
            return Err(NoteError::BadCheckpoint(
                "the body does not end in a newline",
            ));
        };
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(NoteError::BadCheckpoint("the origin is empty"));
        }
        let size = parse_size(
            lines
                .next()
                .ok_or(NoteError::BadCheckpoint("no tree size line"))?,
        )?;
        let root = parse_root(
            lines
                .next()
                .ok_or(NoteError::BadCheckpoint("no root hash line"))?,
        )?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(NoteError::BadCheckpoint("an extension line is empty"));
            }
            if extensions.len() == MAX_EXTENSION_LINES {
                return Err(NoteError::TooManyLines);
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

fn check_line(line: &str, empty: &'static str, control: &'static str) -> Result<(), NoteError> {
    if line.is_empty() {
        return Err(NoteError::BadCheckpoint(empty));
    }
    if line.chars().any(char::is_control) {
        return Err(NoteError::BadCheckpoint(control));
    }
    Ok(())
}

/// ASCII decimal, no sign, no leading zero unless the size is 0, fits in a `u64`.
fn parse_size(line: &str) -> Result<u64, NoteError> {
    if line.is_empty()
        || !line.bytes().all(|b| b.is_ascii_digit())
        || (line.len() > 1 && line.starts_with('0'))
    {
        return Err(NoteError::BadSize);
    }
    line.parse().map_err(|_| NoteError::BadSize)
}

/// Standard padded base64 of exactly 32 bytes.
fn parse_root(line: &str) -> Result<Hash, NoteError> {
    if line.len() != 44 {
        return Err(NoteError::BadRootHash);
    }
    let bytes = STANDARD.decode(line).map_err(|_| NoteError::BadRootHash)?;
    let root: [u8; HASH_LEN] = bytes.try_into().map_err(|_| NoteError::BadRootHash)?;
    Ok(root)
}

/// Signs a checkpoint as a note with `key` under `name` (normally the origin).
pub fn sign_checkpoint(
    checkpoint: &Checkpoint,
    name: &str,
    key: &SigningKey,
) -> Result<String, NoteError> {
    sign_note(&checkpoint.to_body()?, name, key)
}

/// Opens a signed checkpoint: verifies the note against `verifiers` (see [`open_note`]), then
/// parses its body, and checks the origin when `expected_origin` is given.
pub fn open_checkpoint(
    msg: &str,
    verifiers: &[NoteVerifier],
    expected_origin: Option<&str>,
) -> Result<Checkpoint, NoteError> {
    let note = open_note(msg, verifiers)?;
    let checkpoint = Checkpoint::parse_body(&note.text)?;
    if let Some(expected) = expected_origin
        && checkpoint.origin != expected
    {
        return Err(NoteError::OriginMismatch {
            expected: expected.to_owned(),
            found: checkpoint.origin,
        });
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    // golang.org/x/mod/sumdb/note, note_test.go and the package documentation.
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    // github.com/transparency-dev/formats, log/note_test.go: a real sum.golang.org checkpoint.
    const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
    const SUMDB_CHECKPOINT: &str = "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n\u{2014} sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n";
    // The same file's test keys.
    const LOG_VKEY: &str = "Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs";
    const LOG_SKEY: &str = "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ";
    const KNOWN_VKEY: &str = "Known+451c786d+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdUH";
    const KNOWN_SKEY: &str =
        "PRIVATE+KEY+Known+451c786d+AQPRoE2+Z+Ed1HaHBA9F/FfracvcZ2rDU39kCecMEoci";
    const UNKNOWN_SKEY: &str =
        "PRIVATE+KEY+Unknown+fdbb2e08+Aav2knTC6orbhXX8pMWuNiWgO+Wwk2DB+h1eU2Q1W1nU";

    // C2SP tlog-checkpoint: the example body.
    const C2SP_EXAMPLE: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

    fn peter() -> NoteVerifier {
        NoteVerifier::parse(PETER_VKEY).unwrap()
    }

    fn enoch() -> NoteVerifier {
        NoteVerifier::parse(ENOCH_VKEY).unwrap()
    }

    /// A note's text plus extra signature lines from other signers.
    fn cosign(text: &str, signers: &[(&str, &SigningKey)]) -> String {
        let mut msg = format!("{text}\n");
        for (name, key) in signers {
            let signed = sign_note(text, name, key).unwrap();
            msg.push_str(&signed[text.len() + 1..]);
        }
        msg
    }

    #[test]
    fn go_verifier_key_parses_and_round_trips() {
        let v = peter();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_id(), 0xc74f20a3);
        assert_eq!(v.to_vkey(), PETER_VKEY);
        assert_eq!(v.to_string(), PETER_VKEY);
        assert_eq!(key_id("PeterNeumann", v.public_key()), 0xc74f20a3);
        let again = NoteVerifier::new("PeterNeumann", *v.public_key()).unwrap();
        assert_eq!(again, v);
        for vkey in [ENOCH_VKEY, SUMDB_VKEY, LOG_VKEY, KNOWN_VKEY] {
            assert_eq!(NoteVerifier::parse(vkey).unwrap().to_vkey(), vkey);
        }
    }

    #[test]
    fn every_mangling_of_the_go_verifier_key_is_refused() {
        // TestNewVerifier: every proper substring, and every byte incremented.
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    let text = &PETER_VKEY[i..j];
                    assert!(NoteVerifier::parse(text).is_err(), "{text:?}");
                }
            }
        }
        for i in 0..b.len() {
            let mut mangled = b.to_vec();
            mangled[i] += 1;
            let text = String::from_utf8(mangled).unwrap();
            assert!(NoteVerifier::parse(&text).is_err(), "{text:?}");
        }
        // Wrong key length with an adjusted key id, and an unknown algorithm.
        assert!(
            NoteVerifier::parse(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            )
            .is_err()
        );
        assert_eq!(
            NoteVerifier::parse(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::UnsupportedAlgorithm(0x65))
        );
        assert_eq!(
            NoteVerifier::parse(
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::KeyIdMismatch)
        );
        assert!(matches!(
            NoteVerifier::parse(
                "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::BadKeyName(_))
        ));
    }

    #[test]
    fn go_signer_key_signs_exactly_the_published_note() {
        // TestSign.
        let (name, key) = parse_signer_key(PETER_SKEY).unwrap();
        assert_eq!(name, "PeterNeumann");
        assert_eq!(key.public_key(), *peter().public_key());
        assert_eq!(signer_key_text(&name, &key).unwrap(), PETER_SKEY);
        let signed = sign_note(TEXT, &name, &key).unwrap();
        assert_eq!(signed, format!("{TEXT}\n{PETER_SIG}"));
        assert_eq!(
            sign_note("abc", &name, &key),
            Err(NoteError::Malformed("the text does not end in a newline"))
        );
        assert!(matches!(
            sign_note(TEXT, "a+b", &key),
            Err(NoteError::BadKeyName(_))
        ));
        assert!(matches!(
            sign_note(TEXT, "", &key),
            Err(NoteError::BadKeyName(_))
        ));
        assert_eq!(
            sign_note("a\tb\n", &name, &key),
            Err(NoteError::Malformed("control character"))
        );
        for bad in [
            "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",
            "PRIVATE+KEY+PeterNeumann+c74f20a3",
            "PRIVATE+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
            PETER_VKEY,
        ] {
            assert!(parse_signer_key(bad).is_err(), "{bad}");
        }
        // The signer key's Debug never reaches the error.
        let error = parse_signer_key(
            "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        )
        .unwrap_err()
        .to_string();
        assert!(!error.contains("AYEK"));
    }

    #[test]
    fn go_notes_open_with_known_and_unknown_signatures() {
        // TestOpen.
        let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let note = open_note(&msg, &[peter()]).unwrap();
        assert_eq!(note.text, TEXT);
        assert_eq!(note.verified.len(), 1);
        assert_eq!(note.verified[0].name, "PeterNeumann");
        assert_eq!(note.verified[0].key_id, 0xc74f20a3);
        assert_eq!(format!("{}\n", note.verified[0].to_line()), PETER_SIG);
        assert_eq!(note.unverified.len(), 1);
        assert_eq!(note.unverified[0].key_id, 0xaf0cfe78);

        let both = open_note(&msg, &[peter(), enoch()]).unwrap();
        assert_eq!(both.verified.len(), 2);
        assert!(both.unverified.is_empty());

        assert_eq!(open_note(&msg, &[]), Err(NoteError::UnknownKey));
        assert_eq!(
            open_note(
                &format!("{TEXT}\n{ENOCH_SIG}"),
                &[enoch(), peter(), enoch()]
            ),
            Err(NoteError::AmbiguousKey {
                name: "EnochRoot".to_owned(),
                key_id: 0xaf0cfe78
            })
        );
        assert!(
            open_note(
                &format!("{TEXT}\n{PETER_SIG}"),
                &[enoch(), peter(), enoch()]
            )
            .is_ok()
        );
    }

    #[test]
    fn go_notes_with_bad_signatures_or_structure_are_refused() {
        let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
        assert_eq!(
            open_note(&many, &[peter()]),
            Err(NoteError::TooManySignatures)
        );
        assert_eq!(open_note(&many, &[]), Err(NoteError::TooManySignatures));
        assert!(open_note(&format!("{TEXT}\n{}", PETER_SIG.repeat(100)), &[peter()]).is_ok());

        let forged = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert_eq!(
            open_note(&forged, &[peter()]),
            Err(NoteError::BadSignature {
                name: "PeterNeumann".to_owned(),
                key_id: 0xc74f20a3
            })
        );
        // Body altered after signing.
        let altered = format!("{}\n{PETER_SIG}", TEXT.replace("answer", "Answer"));
        assert!(matches!(
            open_note(&altered, &[peter()]),
            Err(NoteError::BadSignature { .. })
        ));

        // Repeats: one verified, an unverified one kept once, a different one kept.
        let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
        let msg = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
        let note = open_note(&msg, &[peter()]).unwrap();
        assert_eq!(note.verified.len(), 1);
        assert_eq!(note.unverified.len(), 2);

        for bad in [
            TEXT.to_owned(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            format!("\u{1}{TEXT}\n{PETER_SIG}"),
            format!(
                "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
            ),
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
            format!("{TEXT}\n\u{2014} PeterNeumann x08g\n"),
            format!("{TEXT}\n\u{2014} PeterNeumann not*base64\n"),
            format!(
                "{TEXT}\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
            ),
        ] {
            assert!(
                matches!(open_note(&bad, &[peter()]), Err(NoteError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            open_note(&"a".repeat(MAX_NOTE_LEN + 1), &[peter()]),
            Err(NoteError::TooLong)
        );
    }

    #[test]
    fn the_real_sum_golang_org_checkpoint_verifies() {
        let verifier = NoteVerifier::parse(SUMDB_VKEY).unwrap();
        let checkpoint = open_checkpoint(
            SUMDB_CHECKPOINT,
            std::slice::from_ref(&verifier),
            Some("go.sum database tree"),
        )
        .unwrap();
        assert_eq!(checkpoint.origin, "go.sum database tree");
        assert_eq!(checkpoint.size, 6476701);
        assert_eq!(
            STANDARD.encode(checkpoint.root),
            "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk="
        );
        assert!(checkpoint.extensions.is_empty());
        assert_eq!(
            open_checkpoint(
                SUMDB_CHECKPOINT,
                std::slice::from_ref(&verifier),
                Some("Go rocks but I might have the wrong ID")
            ),
            Err(NoteError::OriginMismatch {
                expected: "Go rocks but I might have the wrong ID".to_owned(),
                found: "go.sum database tree".to_owned()
            })
        );
        assert_eq!(
            open_checkpoint(SUMDB_CHECKPOINT, &[], None),
            Err(NoteError::UnknownKey)
        );
        let altered = SUMDB_CHECKPOINT.replace("6476701", "6476702");
        assert!(matches!(
            open_checkpoint(&altered, &[verifier], None),
            Err(NoteError::BadSignature { .. })
        ));
    }

    #[test]
    fn checkpoints_sign_and_open_with_go_test_keys() {
        let (log_name, log_key) = parse_signer_key(LOG_SKEY).unwrap();
        let (known_name, known_key) = parse_signer_key(KNOWN_SKEY).unwrap();
        let (unknown_name, unknown_key) = parse_signer_key(UNKNOWN_SKEY).unwrap();
        let log = NoteVerifier::parse(LOG_VKEY).unwrap();
        let known = NoteVerifier::parse(KNOWN_VKEY).unwrap();
        let checkpoint = Checkpoint {
            origin: "TestParseCheckpoint".to_owned(),
            size: 42,
            root: [0xab; 32],
            extensions: vec!["ext one".to_owned()],
        };
        let body = checkpoint.to_body().unwrap();
        assert_eq!(
            body,
            format!(
                "TestParseCheckpoint\n42\n{}\next one\n",
                STANDARD.encode([0xab; 32])
            )
        );
        let signed = sign_checkpoint(&checkpoint, &log_name, &log_key).unwrap();
        assert_eq!(
            open_checkpoint(
                &signed,
                std::slice::from_ref(&log),
                Some("TestParseCheckpoint")
            ),
            Ok(checkpoint.clone())
        );
        // Cosigned by a known witness and an unknown key: both logs' signatures verify,
        // the unknown one is kept aside.
        let msg = cosign(
            &body,
            &[
                (&log_name, &log_key),
                (&known_name, &known_key),
                (&unknown_name, &unknown_key),
            ],
        );
        let note = open_note(&msg, &[log.clone(), known.clone()]).unwrap();
        assert_eq!(note.verified.len(), 2);
        assert_eq!(note.unverified.len(), 1);
        assert_eq!(open_checkpoint(&msg, &[log, known], None), Ok(checkpoint));
        // Only an unknown signer.
        let unknown_only = cosign(&body, &[(&unknown_name, &unknown_key)]);
        let verifier = NoteVerifier::parse(KNOWN_VKEY).unwrap();
        assert_eq!(
            open_checkpoint(&unknown_only, &[verifier], None),
            Err(NoteError::UnknownKey)
        );
    }

    #[test]
    fn a_signature_by_a_different_key_with_a_known_name_is_ignored() {
        // C2SP: signatures that share a name (but not the key id) with a known key are unknown.
        let real = SigningKey::generate();
        let impostor = SigningKey::generate();
        let text = Checkpoint::new("sk.example/log", 1, [1; 32])
            .to_body()
            .unwrap();
        let msg = cosign(
            &text,
            &[("sk.example/log", &impostor), ("sk.example/log", &real)],
        );
        let verifier = NoteVerifier::new("sk.example/log", real.public_key()).unwrap();
        let note = open_note(&msg, &[verifier]).unwrap();
        assert_eq!(note.verified.len(), 1);
        assert_eq!(note.unverified.len(), 1);
    }

    #[test]
    fn the_c2sp_example_checkpoint_body_parses() {
        let (body, _) = C2SP_EXAMPLE.split_at(C2SP_EXAMPLE.rfind("\n\n").unwrap() + 1);
        let checkpoint = Checkpoint::parse_body(body).unwrap();
        assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
        assert_eq!(checkpoint.size, 20852163);
        assert_eq!(
            STANDARD.encode(checkpoint.root),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        );
        assert_eq!(checkpoint.to_body().unwrap(), body);
        // Its key is not published: nothing verifies it.
        assert_eq!(
            open_checkpoint(C2SP_EXAMPLE, &[peter()], None),
            Err(NoteError::UnknownKey)
        );
    }

    #[test]
    fn bad_checkpoint_bodies_are_refused() {
        let root = STANDARD.encode([7u8; 32]);
        let ok = format!("Log\n123\n{root}\n");
        assert!(Checkpoint::parse_body(&ok).is_ok());
        let cases = [
            // transparency-dev/formats log/checkpoint_test.go
            (
                "Head\n9944\n".to_owned(),
                NoteError::BadCheckpoint("no root hash line"),
            ),
            (
                format!("\n9944\n{root}\n"),
                NoteError::BadCheckpoint("the origin is empty"),
            ),
            (
                format!("Log\n123\n{root}"),
                NoteError::BadCheckpoint("the body does not end in a newline"),
            ),
            (format!("Log\nbananas\n{root}\n"), NoteError::BadSize),
            (format!("Log\n-34\n{root}\n"), NoteError::BadSize),
            (
                format!("Log\n3438945738945739845734895735\n{root}\n"),
                NoteError::BadSize,
            ),
            (
                "Log\n123\nThisIsn'tBase64\n".to_owned(),
                NoteError::BadRootHash,
            ),
            // A root that is not 32 bytes ("bananas").
            (
                "Log\n123\nYmFuYW5hcw==\n".to_owned(),
                NoteError::BadRootHash,
            ),
            (
                format!("Log\n9944\n{root}\n\n\n\n"),
                NoteError::BadCheckpoint("an extension line is empty"),
            ),
            // Leading zeros, a sign, spaces.
            (format!("Log\n0123\n{root}\n"), NoteError::BadSize),
            (format!("Log\n+123\n{root}\n"), NoteError::BadSize),
            (format!("Log\n 123\n{root}\n"), NoteError::BadSize),
            (format!("Log\n\n{root}\n"), NoteError::BadSize),
            (
                format!("Log\n18446744073709551616\n{root}\n"),
                NoteError::BadSize,
            ),
            // Unpadded base64 of 32 bytes.
            (
                format!("Log\n1\n{}\n", root.trim_end_matches('=')),
                NoteError::BadRootHash,
            ),
            (
                "Log\n1\n".to_owned(),
                NoteError::BadCheckpoint("no root hash line"),
            ),
            (
                format!("Log\n1\n{root}\n{}", "x\n".repeat(MAX_EXTENSION_LINES + 1)),
                NoteError::TooManyLines,
            ),
        ];
        for (body, error) in cases {
            assert_eq!(Checkpoint::parse_body(&body), Err(error), "{body:?}");
        }
        assert_eq!(
            Checkpoint::parse_body(&format!("Log\n0\n{root}\n")).map(|c| c.size),
            Ok(0)
        );
        assert_eq!(
            Checkpoint::parse_body(&format!("Log\n18446744073709551615\n{root}\n")).map(|c| c.size),
            Ok(u64::MAX)
        );
        assert!(
            Checkpoint::parse_body(&format!(
                "Log\n1\n{root}\n{}",
                "x\n".repeat(MAX_EXTENSION_LINES)
            ))
            .is_ok()
        );
    }

    #[test]
    fn checkpoints_that_cannot_be_written_are_refused() {
        let key = SigningKey::generate();
        let mut checkpoint = Checkpoint::new("", 1, [0; 32]);
        assert_eq!(
            sign_checkpoint(&checkpoint, "log", &key),
            Err(NoteError::BadCheckpoint("the origin is empty"))
        );
        checkpoint.origin = "two\nlines".to_owned();
        assert!(matches!(
            sign_checkpoint(&checkpoint, "log", &key),
            Err(NoteError::BadCheckpoint(_))
        ));
        checkpoint.origin = "log".to_owned();
        checkpoint.extensions = vec![String::new()];
        assert!(matches!(
            sign_checkpoint(&checkpoint, "log", &key),
            Err(NoteError::BadCheckpoint(_))
        ));
        checkpoint.extensions = vec!["x".to_owned(); MAX_EXTENSION_LINES + 1];
        assert_eq!(
            sign_checkpoint(&checkpoint, "log", &key),
            Err(NoteError::TooManyLines)
        );
        checkpoint.extensions.clear();
        assert!(matches!(
            sign_checkpoint(&checkpoint, "bad name", &key),
            Err(NoteError::BadKeyName(_))
        ));
    }

    #[test]
    fn checkpoint_signatures_by_generated_keys_round_trip() {
        let key = SigningKey::generate();
        let verifier = NoteVerifier::new("sk.example/log", key.public_key()).unwrap();
        let parsed = NoteVerifier::parse(&verifier.to_vkey()).unwrap();
        assert_eq!(parsed, verifier);
        let checkpoint = Checkpoint::new("sk.example/log", 10_000_000, [0x5a; 32]);
        let signed = sign_checkpoint(&checkpoint, "sk.example/log", &key).unwrap();
        assert!(signed.starts_with("sk.example/log\n10000000\n"));
        assert_eq!(
            open_checkpoint(&signed, &[parsed], Some("sk.example/log")),
            Ok(checkpoint)
        );
        // Another key under the same name is not the verifier's key.
        let other =
            NoteVerifier::new("sk.example/log", SigningKey::generate().public_key()).unwrap();
        assert_eq!(
            open_checkpoint(&signed, &[other], None),
            Err(NoteError::UnknownKey)
        );
    }

    #[test]
    fn key_names_follow_the_signed_note_rules() {
        assert!(is_valid_key_name("sk.example/log"));
        assert!(is_valid_key_name("Señor-1"));
        for bad in ["", "a b", "a+b", "a\u{3000}b", "a\u{a0}b", "a\nb", "a\tb"] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
    }
}
