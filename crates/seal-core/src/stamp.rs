//! Stamps as evidence: the kinds of stamp, their status (valid, revoked, disputed) and
//! the allowed changes, the typed numeric code (数列密押) with its Damm check digit, and
//! the canonical bytes of the two log entries a stamp produces — the stamp record's
//! public facts, and each change of its status — that the tamper-evident log hashes,
//! and [`EntryKind`], which tells every kind of log entry apart by its magic (the
//! comparison entry is described in [`crate::comparison`]).
//!
//! Stamp entry (version 1): magic `SKST`, version byte `1`, then length-prefixed fields
//! (4-byte big-endian length and bytes) in this order: stamp id (16), organisation id
//! (16), seal id (16, or empty), kind (UTF-8 key), time (8 bytes, big-endian signed
//! milliseconds), document SHA-256 (32, or empty), page (4 bytes big-endian, or empty),
//! issuer (UTF-8: `device:<uuid>` or `person:<uuid>`), details digest (32: SHA-256 of
//! the private details the organisation keeps, so that they can be shown later and
//! checked against the log without being published).
//!
//! Status entry (version 1): magic `SKSS`, version byte `1`, then: stamp id (16),
//! organisation id (16), status (UTF-8 key), time (8), reason digest (32: SHA-256 of who
//! changed it and their note).

use std::fmt;

use crate::audit::DecodeError;
use crate::canonical::{Reader, put};
use crate::comparison::COMPARISON_MAGIC;
use crate::ids::{OrgId, SealId, StampId};
use crate::time::Timestamp;

const STAMP_MAGIC: &[u8; 4] = b"SKST";
const STATUS_MAGIC: &[u8; 4] = b"SKSS";
const AUDIT_MAGIC: &[u8; 4] = b"SKAE";
const VERSION: u8 = 1;

/// How a stamp was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StampKind {
    /// A press of a physical seal held in a seal box.
    Press,
    /// A seal printed with its QR code by a seal printer.
    Print,
}

impl StampKind {
    pub const fn key(self) -> &'static str {
        match self {
            StampKind::Press => "press",
            StampKind::Print => "print",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        match key {
            "press" => Some(StampKind::Press),
            "print" => Some(StampKind::Print),
            _ => None,
        }
    }
}

/// Whether a stamp still stands. Changes are new events, never updates of the stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StampStatus {
    /// Made under an approved application and its grant.
    Valid,
    /// Withdrawn by the organisation (final).
    Revoked,
    /// Questioned: made beyond its grant, or challenged by the organisation.
    Disputed,
}

impl StampStatus {
    pub const ALL: [StampStatus; 3] = [
        StampStatus::Valid,
        StampStatus::Revoked,
        StampStatus::Disputed,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            StampStatus::Valid => "valid",
            StampStatus::Revoked => "revoked",
            StampStatus::Disputed => "disputed",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// The changes an organisation may make: a valid stamp may be disputed or revoked, a
    /// disputed one settled (valid again) or revoked; a revoked stamp stays revoked.
    pub fn may_become(self, next: StampStatus) -> bool {
        matches!(
            (self, next),
            (
                StampStatus::Valid,
                StampStatus::Revoked | StampStatus::Disputed
            ) | (
                StampStatus::Disputed,
                StampStatus::Valid | StampStatus::Revoked
            )
        )
    }
}

/// Number of digits of a [`NumericCode`], check digit included.
pub const NUMERIC_CODE_LEN: usize = 20;

/// The typed numeric code of a stamp (数列密押): 19 digits taken from the stamp's random
/// id and a Damm check digit, which catches every single wrong digit and every swap of
/// two adjacent digits. It names a stamp for people who type it in; the 128-bit id in
/// the QR code remains the identity (two stamps may, very rarely, share a code).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NumericCode(String);

/// The text is not a numeric code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NumericCodeError {
    #[error("a stamp code has {NUMERIC_CODE_LEN} digits")]
    Length,
    #[error("a stamp code has digits only")]
    NotDigits,
    #[error("the check digit does not match: a digit is mistyped")]
    CheckDigit,
}

/// The Damm algorithm's totally anti-symmetric quasigroup of order 10.
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The Damm interim digit of ASCII digits (the check digit when appended, zero when the
/// digits already end in a correct check digit).
fn damm(digits: &[u8]) -> u8 {
    digits.iter().fold(0u8, |interim, d| {
        DAMM[usize::from(interim)][usize::from(d.saturating_sub(b'0') % 10)]
    })
}

impl NumericCode {
    /// The code of a stamp: its id's first eight bytes as a number below 10¹⁹, written
    /// with 19 digits, then the check digit.
    pub fn of(stamp: StampId) -> Self {
        let bytes = stamp.as_uuid().as_bytes();
        let mut head = [0u8; 8];
        head.copy_from_slice(&bytes[..8]);
        let value = u64::from_be_bytes(head) % 10_000_000_000_000_000_000;
        let mut text = format!("{value:019}");
        let check = damm(text.as_bytes());
        text.push(char::from(b'0' + check));
        Self(text)
    }

    /// Reads a typed code; spaces and hyphens between the digits are ignored, full-width
    /// digits (as typed by Chinese input methods) accepted.
    pub fn parse(text: &str) -> Result<Self, NumericCodeError> {
        let mut digits = String::with_capacity(NUMERIC_CODE_LEN);
        for c in text.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                '０'..='９' => {
                    let offset = u32::from(c) - u32::from('０');
                    digits.push(char::from_digit(offset, 10).ok_or(NumericCodeError::NotDigits)?);
                }
                ' ' | '-' | '\u{3000}' => {}
                _ => return Err(NumericCodeError::NotDigits),
            }
        }
        if digits.len() != NUMERIC_CODE_LEN {
            return Err(NumericCodeError::Length);
        }
        if damm(digits.as_bytes()) != 0 {
            return Err(NumericCodeError::CheckDigit);
        }
        Ok(Self(digits))
    }

    /// The 20 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits in groups of four, as printed: `1234 5678 9012 3456 7890`.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(NUMERIC_CODE_LEN + 4);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Display for NumericCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NumericCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NumericCode({})", self.0)
    }
}

/// The public facts of a stamp, as the log records them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StampEntry {
    pub stamp: StampId,
    pub org: OrgId,
    pub seal: Option<SealId>,
    pub kind: StampKind,
    pub at: Timestamp,
    pub document_sha256: Option<[u8; 32]>,
    pub page: Option<u32>,
    /// `device:<uuid>` or `person:<uuid>`.
    pub issuer: String,
    /// SHA-256 of the details the organisation keeps private (see the module docs).
    pub details_digest: [u8; 32],
}

impl StampEntry {
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(200);
        out.extend_from_slice(STAMP_MAGIC);
        out.push(VERSION);
        put(&mut out, self.stamp.as_uuid().as_bytes());
        put(&mut out, self.org.as_uuid().as_bytes());
        match self.seal {
            Some(seal) => put(&mut out, seal.as_uuid().as_bytes()),
            None => put(&mut out, &[]),
        }
        put(&mut out, self.kind.key().as_bytes());
        put(&mut out, &self.at.as_millis().to_be_bytes());
        put(
            &mut out,
            self.document_sha256.as_ref().map_or(&[][..], |d| d),
        );
        match self.page {
            Some(page) => put(&mut out, &page.to_be_bytes()),
            None => put(&mut out, &[]),
        }
        put(&mut out, self.issuer.as_bytes());
        put(&mut out, &self.details_digest);
        out
    }

    /// Decodes canonical bytes; the result re-encodes to the same bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        if reader.take(4)? != STAMP_MAGIC {
            return Err(DecodeError("bad magic"));
        }
        if reader.take(1)? != [VERSION] {
            return Err(DecodeError("unknown version"));
        }
        let stamp = StampId::from_bytes(reader.fixed("bad stamp id")?);
        let org = OrgId::from_bytes(reader.fixed("bad organisation id")?);
        let seal = reader.optional("bad seal id")?.map(SealId::from_bytes);
        let kind = StampKind::parse(&reader.text()?).ok_or(DecodeError("unknown stamp kind"))?;
        let at = Timestamp::from_millis(i64::from_be_bytes(reader.fixed("bad time")?));
        let document_sha256 = reader.optional("bad document digest")?;
        let page = reader.optional("bad page")?.map(u32::from_be_bytes);
        let issuer = reader.text()?;
        let details_digest = reader.fixed("bad details digest")?;
        if !reader.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        Ok(Self {
            stamp,
            org,
            seal,
            kind,
            at,
            document_sha256,
            page,
            issuer,
            details_digest,
        })
    }
}

/// One change of a stamp's status, as the log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEntry {
    pub stamp: StampId,
    pub org: OrgId,
    pub status: StampStatus,
    pub at: Timestamp,
    /// SHA-256 of who changed it and their note.
    pub reason_digest: [u8; 32],
}

impl StatusEntry {
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(110);
        out.extend_from_slice(STATUS_MAGIC);
        out.push(VERSION);
        put(&mut out, self.stamp.as_uuid().as_bytes());
        put(&mut out, self.org.as_uuid().as_bytes());
        put(&mut out, self.status.key().as_bytes());
        put(&mut out, &self.at.as_millis().to_be_bytes());
        put(&mut out, &self.reason_digest);
        out
    }

    /// Decodes canonical bytes; the result re-encodes to the same bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        if reader.take(4)? != STATUS_MAGIC {
            return Err(DecodeError("bad magic"));
        }
        if reader.take(1)? != [VERSION] {
            return Err(DecodeError("unknown version"));
        }
        let stamp = StampId::from_bytes(reader.fixed("bad stamp id")?);
        let org = OrgId::from_bytes(reader.fixed("bad organisation id")?);
        let status = StampStatus::parse(&reader.text()?).ok_or(DecodeError("unknown status"))?;
        let at = Timestamp::from_millis(i64::from_be_bytes(reader.fixed("bad time")?));
        let reason_digest = reader.fixed("bad reason digest")?;
        if !reader.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        Ok(Self {
            stamp,
            org,
            status,
            at,
            reason_digest,
        })
    }
}

/// What a log entry records, told by its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Audit,
    Stamp,
    StampStatus,
    /// A stored document comparison ([`crate::comparison::ComparisonEntry`]).
    Comparison,
}

impl EntryKind {
    pub fn of(entry: &[u8]) -> Option<Self> {
        match entry.get(..4)? {
            m if m == AUDIT_MAGIC => Some(EntryKind::Audit),
            m if m == STAMP_MAGIC => Some(EntryKind::Stamp),
            m if m == STATUS_MAGIC => Some(EntryKind::StampStatus),
            m if m == COMPARISON_MAGIC => Some(EntryKind::Comparison),
            _ => None,
        }
    }

    pub const fn key(self) -> &'static str {
        match self {
            EntryKind::Audit => "audit",
            EntryKind::Stamp => "stamp",
            EntryKind::StampStatus => "stamp_status",
            EntryKind::Comparison => "comparison",
        }
    }

    /// Reads a stored key back.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    pub const ALL: [EntryKind; 4] = [
        EntryKind::Audit,
        EntryKind::Stamp,
        EntryKind::StampStatus,
        EntryKind::Comparison,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditEvent;

    #[test]
    fn damm_matches_the_published_example() {
        // The worked example of the Damm algorithm: 572 has check digit 4.
        assert_eq!(damm(b"572"), 4);
        assert_eq!(damm(b"5724"), 0);
    }

    #[test]
    fn numeric_codes_round_trip_and_catch_typing_errors() {
        for seed in 0u8..50 {
            let id = StampId::from_bytes([seed.wrapping_mul(37); 16]);
            let code = NumericCode::of(id);
            assert_eq!(code.as_str().len(), NUMERIC_CODE_LEN);
            assert_eq!(NumericCode::parse(code.as_str()), Ok(code.clone()));
            assert_eq!(NumericCode::parse(&code.grouped()), Ok(code.clone()));
            let digits: Vec<u8> = code.as_str().bytes().collect();
            for i in 0..digits.len() {
                for d in b'0'..=b'9' {
                    if d == digits[i] {
                        continue;
                    }
                    let mut wrong = digits.clone();
                    wrong[i] = d;
                    let text = String::from_utf8(wrong).unwrap_or_default();
                    assert_eq!(
                        NumericCode::parse(&text),
                        Err(NumericCodeError::CheckDigit),
                        "{text}"
                    );
                }
                if i + 1 < digits.len() && digits[i] != digits[i + 1] {
                    let mut swapped = digits.clone();
                    swapped.swap(i, i + 1);
                    let text = String::from_utf8(swapped).unwrap_or_default();
                    assert_eq!(NumericCode::parse(&text), Err(NumericCodeError::CheckDigit));
                }
            }
        }
    }

    #[test]
    fn numeric_code_input_forms() {
        let code = NumericCode::of(StampId::from_bytes([9; 16]));
        let dashed = code.grouped().replace(' ', "-");
        assert_eq!(NumericCode::parse(&dashed), Ok(code.clone()));
        let full_width: String = code
            .as_str()
            .chars()
            .map(|c| char::from_u32(u32::from(c) - u32::from('0') + u32::from('０')).unwrap_or(c))
            .collect();
        assert_eq!(NumericCode::parse(&full_width), Ok(code));
        assert_eq!(NumericCode::parse("123"), Err(NumericCodeError::Length));
        assert_eq!(
            NumericCode::parse("1234 5678 abcd"),
            Err(NumericCodeError::NotDigits)
        );
        assert_eq!(NumericCode::parse(""), Err(NumericCodeError::Length));
    }

    #[test]
    fn status_changes() {
        use StampStatus::*;
        assert!(Valid.may_become(Revoked));
        assert!(Valid.may_become(Disputed));
        assert!(Disputed.may_become(Valid));
        assert!(Disputed.may_become(Revoked));
        assert!(!Revoked.may_become(Valid));
        assert!(!Revoked.may_become(Disputed));
        assert!(!Valid.may_become(Valid));
        for s in StampStatus::ALL {
            assert_eq!(StampStatus::parse(s.key()), Some(s));
        }
    }

    fn entry() -> StampEntry {
        StampEntry {
            stamp: StampId::from_bytes([1; 16]),
            org: OrgId::from_bytes([2; 16]),
            seal: Some(SealId::from_bytes([3; 16])),
            kind: StampKind::Print,
            at: Timestamp::from_millis(1_790_000_000_123),
            document_sha256: Some([4; 32]),
            page: Some(2),
            issuer: "device:00000000-0000-0000-0000-000000000005".to_owned(),
            details_digest: [6; 32],
        }
    }

    #[test]
    fn stamp_entries_round_trip_and_reject_damage() {
        let e = entry();
        let bytes = e.canonical_bytes();
        assert_eq!(StampEntry::decode(&bytes), Ok(e.clone()));
        assert_eq!(EntryKind::of(&bytes), Some(EntryKind::Stamp));
        let bare = StampEntry {
            seal: None,
            document_sha256: None,
            page: None,
            ..e
        };
        assert_eq!(StampEntry::decode(&bare.canonical_bytes()), Ok(bare));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(StampEntry::decode(&trailing).is_err());
        assert!(StampEntry::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut version = bytes.clone();
        version[4] = 2;
        assert!(StampEntry::decode(&version).is_err());
    }

    #[test]
    fn status_entries_round_trip() {
        let s = StatusEntry {
            stamp: StampId::from_bytes([1; 16]),
            org: OrgId::from_bytes([2; 16]),
            status: StampStatus::Revoked,
            at: Timestamp::from_millis(5),
            reason_digest: [7; 32],
        };
        let bytes = s.canonical_bytes();
        assert_eq!(StatusEntry::decode(&bytes), Ok(s));
        assert_eq!(EntryKind::of(&bytes), Some(EntryKind::StampStatus));
        assert!(StampEntry::decode(&bytes).is_err());
    }

    #[test]
    fn audit_events_are_told_apart() {
        let event = AuditEvent {
            at: Timestamp::from_millis(0),
            org: None,
            actor: "system".to_owned(),
            source: "-".to_owned(),
            action: "x".to_owned(),
            subject: String::new(),
            details: vec![],
        };
        assert_eq!(
            EntryKind::of(&event.canonical_bytes()),
            Some(EntryKind::Audit)
        );
        assert_eq!(EntryKind::of(b"XX"), None);
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.key()), Some(kind));
        }
        assert_eq!(EntryKind::parse("nope"), None);
    }
}
