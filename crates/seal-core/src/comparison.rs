//! Document comparison: what was compared (a printer's scan, a seal box's press photo, a
//! manual upload), the verdict, an organisation's thresholds with what happens when a
//! press photo does not match, and the canonical bytes of the log entry each stored
//! comparison produces.
//!
//! Comparison entry (version 1): magic `SKCM`, version byte `1`, then length-prefixed
//! fields (4-byte big-endian length and bytes, as in [`crate::stamp`]) in this order:
//! comparison id (16), organisation id (16), stamp id (16, or empty for a comparison of
//! no stamp), subject (UTF-8 key), verdict (UTF-8 key), blank page (1 byte: 0 or 1), time
//! (8 bytes, big-endian signed milliseconds), details digest (32: SHA-256 of the details
//! the organisation keeps private — score, differences, documents, captures, engine —
//! so that they can be shown later and checked against the log without being
//! published).

use crate::audit::DecodeError;
use crate::canonical::{Reader, put};
use crate::ids::{ComparisonId, OrgId, StampId};
use crate::seal::keyed_enum;
use crate::time::Timestamp;

pub(crate) const COMPARISON_MAGIC: &[u8; 4] = b"SKCM";
const VERSION: u8 = 1;

/// What the comparison decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComparisonVerdict {
    /// The capture shows the approved page.
    Match,
    /// The capture differs from the approved page in a way that matters (or is blank).
    Mismatch,
    /// The engine could not decide (unreadable capture, too little text).
    Uncertain,
}

keyed_enum!(ComparisonVerdict {
    Match => "match",
    Mismatch => "mismatch",
    Uncertain => "uncertain",
});

/// What was compared with the approved document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComparisonSubject {
    /// A seal printer's scan of the page before printing.
    PrintScan,
    /// A seal box's photo of the page it pressed.
    PressPhoto,
    /// A document and a capture uploaded by a person.
    Manual,
}

keyed_enum!(ComparisonSubject {
    PrintScan => "print_scan",
    PressPhoto => "press_photo",
    Manual => "manual",
});

/// What happens when a seal box's press photo does not match the approved page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PressCheck {
    /// Press photos are not compared.
    Off,
    /// A mismatch raises an alarm.
    Alarm,
    /// A mismatch raises an alarm and locks the seal box.
    #[default]
    AlarmAndLock,
}

keyed_enum!(PressCheck {
    Off => "off",
    Alarm => "alarm",
    AlarmAndLock => "alarm_and_lock",
});

/// `as_str`, the same as `key` (the stored and API text).
macro_rules! as_str {
    ($($name:ident),+) => {
        $(impl $name {
            pub const fn as_str(self) -> &'static str {
                self.key()
            }
        })+
    };
}
as_str!(ComparisonVerdict, ComparisonSubject, PressCheck);

impl PressCheck {
    /// Whether press photos are compared at all.
    pub const fn compares(self) -> bool {
        !matches!(self, PressCheck::Off)
    }

    /// Whether a mismatch locks the seal box.
    pub const fn locks(self) -> bool {
        matches!(self, PressCheck::AlarmAndLock)
    }
}

/// An organisation's comparison thresholds. An organisation that set none has
/// [`ComparisonThresholds::default`]; [`ComparisonThresholds::validate`] says whether a
/// set of values may be stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ComparisonThresholds {
    /// Below this similarity to every approved page, the capture shows another page.
    pub other_page_below: f32,
    /// At or above this similarity (and with no difference that matters), a match.
    pub match_at_least: f32,
    /// Differences per 100 characters still taken for OCR noise.
    pub minor_per_100: f32,
    /// A page with fewer recognised characters than this is blank.
    pub blank_chars_below: u32,
    pub press_check: PressCheck,
}

impl Default for ComparisonThresholds {
    fn default() -> Self {
        Self {
            other_page_below: 0.5,
            match_at_least: 0.85,
            minor_per_100: 3.0,
            blank_chars_below: 12,
            press_check: PressCheck::default(),
        }
    }
}

/// The most characters [`ComparisonThresholds::blank_chars_below`] may be.
pub const MAX_BLANK_CHARS: u32 = 10_000;

/// Why a set of thresholds was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("{0} is a similarity between 0 and 1")]
    Similarity(ThresholdField),
    #[error("the other-page threshold cannot be above the match threshold")]
    OtherPageAboveMatch,
    #[error("minor differences per 100 characters are between 0 and 100")]
    MinorPer100,
    #[error("the blank-page threshold is at most {MAX_BLANK_CHARS} characters")]
    BlankChars,
}

/// Which threshold a [`ThresholdError::Similarity`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThresholdField {
    OtherPageBelow,
    MatchAtLeast,
}

keyed_enum!(ThresholdField {
    OtherPageBelow => "other_page_below",
    MatchAtLeast => "match_at_least",
});

impl ComparisonThresholds {
    /// Similarities in 0..=1 with `other_page_below ≤ match_at_least`, minor differences
    /// in 0..=100 per 100 characters, `blank_chars_below ≤ 10 000`. NaN is refused.
    pub fn validate(&self) -> Result<(), ThresholdError> {
        let unit = |v: f32| (0.0..=1.0).contains(&v);
        if !unit(self.other_page_below) {
            return Err(ThresholdError::Similarity(ThresholdField::OtherPageBelow));
        }
        if !unit(self.match_at_least) {
            return Err(ThresholdError::Similarity(ThresholdField::MatchAtLeast));
        }
        if self.other_page_below > self.match_at_least {
            return Err(ThresholdError::OtherPageAboveMatch);
        }
        if !(0.0..=100.0).contains(&self.minor_per_100) {
            return Err(ThresholdError::MinorPer100);
        }
        if self.blank_chars_below > MAX_BLANK_CHARS {
            return Err(ThresholdError::BlankChars);
        }
        Ok(())
    }
}

/// A stored comparison's public facts, as the log records them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComparisonEntry {
    pub comparison: ComparisonId,
    pub org: OrgId,
    /// The stamp whose page was compared (none for a manual comparison).
    pub stamp: Option<StampId>,
    pub subject: ComparisonSubject,
    pub verdict: ComparisonVerdict,
    pub blank: bool,
    pub at: Timestamp,
    /// SHA-256 of the details the organisation keeps private (see the module docs).
    pub details_digest: [u8; 32],
}

impl ComparisonEntry {
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(COMPARISON_MAGIC);
        out.push(VERSION);
        put(&mut out, self.comparison.as_uuid().as_bytes());
        put(&mut out, self.org.as_uuid().as_bytes());
        match self.stamp {
            Some(stamp) => put(&mut out, stamp.as_uuid().as_bytes()),
            None => put(&mut out, &[]),
        }
        put(&mut out, self.subject.key().as_bytes());
        put(&mut out, self.verdict.key().as_bytes());
        put(&mut out, &[u8::from(self.blank)]);
        put(&mut out, &self.at.as_millis().to_be_bytes());
        put(&mut out, &self.details_digest);
        out
    }

    /// Decodes canonical bytes; the result re-encodes to the same bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        if reader.take(4)? != COMPARISON_MAGIC {
            return Err(DecodeError("bad magic"));
        }
        if reader.take(1)? != [VERSION] {
            return Err(DecodeError("unknown version"));
        }
        let comparison = ComparisonId::from_bytes(reader.fixed("bad comparison id")?);
        let org = OrgId::from_bytes(reader.fixed("bad organisation id")?);
        let stamp = reader.optional("bad stamp id")?.map(StampId::from_bytes);
        let subject = ComparisonSubject::parse(&reader.text()?)
            .ok_or(DecodeError("unknown comparison subject"))?;
        let verdict = ComparisonVerdict::parse(&reader.text()?)
            .ok_or(DecodeError("unknown comparison verdict"))?;
        let blank = match reader.fixed::<1>("bad blank flag")? {
            [0] => false,
            [1] => true,
            _ => return Err(DecodeError("bad blank flag")),
        };
        let at = Timestamp::from_millis(i64::from_be_bytes(reader.fixed("bad time")?));
        let details_digest = reader.fixed("bad details digest")?;
        if !reader.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        Ok(Self {
            comparison,
            org,
            stamp,
            subject,
            verdict,
            blank,
            at,
            details_digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::EntryKind;

    #[test]
    fn keys_round_trip() {
        for v in ComparisonVerdict::ALL {
            assert_eq!(ComparisonVerdict::parse(v.key()), Some(*v));
        }
        for s in ComparisonSubject::ALL {
            assert_eq!(ComparisonSubject::parse(s.key()), Some(*s));
        }
        for p in PressCheck::ALL {
            assert_eq!(PressCheck::parse(p.key()), Some(*p));
        }
        assert_eq!(ComparisonVerdict::Match.key(), "match");
        assert_eq!(ComparisonVerdict::Mismatch.key(), "mismatch");
        assert_eq!(ComparisonVerdict::Uncertain.key(), "uncertain");
        assert_eq!(ComparisonSubject::PrintScan.key(), "print_scan");
        assert_eq!(ComparisonSubject::PressPhoto.key(), "press_photo");
        assert_eq!(ComparisonSubject::Manual.key(), "manual");
        assert_eq!(PressCheck::AlarmAndLock.key(), "alarm_and_lock");
        assert_eq!(ComparisonVerdict::parse("MATCH"), None);
        assert_eq!(PressCheck::parse("lock"), None);
        assert_eq!(ComparisonVerdict::Mismatch.to_string(), "mismatch");
        assert_eq!(ComparisonSubject::PressPhoto.as_str(), "press_photo");
        assert_eq!(PressCheck::Alarm.as_str(), PressCheck::Alarm.key());
    }

    #[test]
    fn press_check_actions() {
        assert_eq!(PressCheck::default(), PressCheck::AlarmAndLock);
        assert!(!PressCheck::Off.compares() && !PressCheck::Off.locks());
        assert!(PressCheck::Alarm.compares() && !PressCheck::Alarm.locks());
        assert!(PressCheck::AlarmAndLock.compares() && PressCheck::AlarmAndLock.locks());
    }

    #[test]
    fn default_thresholds_are_the_documented_ones_and_valid() {
        let t = ComparisonThresholds::default();
        assert_eq!(t.other_page_below, 0.5);
        assert_eq!(t.match_at_least, 0.85);
        assert_eq!(t.minor_per_100, 3.0);
        assert_eq!(t.blank_chars_below, 12);
        assert_eq!(t.press_check, PressCheck::AlarmAndLock);
        assert_eq!(t.validate(), Ok(()));
    }

    #[test]
    fn thresholds_are_validated() {
        let ok = ComparisonThresholds::default();
        let with = |f: fn(&mut ComparisonThresholds)| {
            let mut t = ok;
            f(&mut t);
            t.validate()
        };
        use ThresholdError::*;
        use ThresholdField::*;
        assert_eq!(
            with(|t| t.other_page_below = -0.01),
            Err(Similarity(OtherPageBelow))
        );
        assert_eq!(
            with(|t| t.other_page_below = f32::NAN),
            Err(Similarity(OtherPageBelow))
        );
        assert_eq!(
            with(|t| t.match_at_least = 1.01),
            Err(Similarity(MatchAtLeast))
        );
        assert_eq!(
            with(|t| t.match_at_least = f32::INFINITY),
            Err(Similarity(MatchAtLeast))
        );
        assert_eq!(
            with(|t| {
                t.other_page_below = 0.9;
                t.match_at_least = 0.8;
            }),
            Err(OtherPageAboveMatch)
        );
        assert_eq!(with(|t| t.minor_per_100 = -1.0), Err(MinorPer100));
        assert_eq!(with(|t| t.minor_per_100 = 100.5), Err(MinorPer100));
        assert_eq!(with(|t| t.minor_per_100 = f32::NAN), Err(MinorPer100));
        assert_eq!(with(|t| t.blank_chars_below = 10_001), Err(BlankChars));
        // The edges are allowed.
        assert_eq!(
            with(|t| {
                t.other_page_below = 0.0;
                t.match_at_least = 0.0;
                t.minor_per_100 = 0.0;
                t.blank_chars_below = 0;
                t.press_check = PressCheck::Off;
            }),
            Ok(())
        );
        assert_eq!(
            with(|t| {
                t.other_page_below = 1.0;
                t.match_at_least = 1.0;
                t.minor_per_100 = 100.0;
                t.blank_chars_below = MAX_BLANK_CHARS;
            }),
            Ok(())
        );
        assert!(
            Similarity(MatchAtLeast)
                .to_string()
                .contains("match_at_least")
        );
    }

    fn entry() -> ComparisonEntry {
        ComparisonEntry {
            comparison: ComparisonId::from_bytes([1; 16]),
            org: OrgId::from_bytes([2; 16]),
            stamp: Some(StampId::from_bytes([3; 16])),
            subject: ComparisonSubject::PressPhoto,
            verdict: ComparisonVerdict::Mismatch,
            blank: true,
            at: Timestamp::from_millis(1_790_000_000_123),
            details_digest: [4; 32],
        }
    }

    #[test]
    fn entries_round_trip_and_reject_damage() {
        let e = entry();
        let bytes = e.canonical_bytes();
        assert_eq!(&bytes[..5], b"SKCM\x01");
        assert_eq!(ComparisonEntry::decode(&bytes), Ok(e.clone()));
        assert_eq!(EntryKind::of(&bytes), Some(EntryKind::Comparison));
        let manual = ComparisonEntry {
            stamp: None,
            subject: ComparisonSubject::Manual,
            verdict: ComparisonVerdict::Match,
            blank: false,
            ..e.clone()
        };
        assert_eq!(
            ComparisonEntry::decode(&manual.canonical_bytes()),
            Ok(manual.clone())
        );
        assert_ne!(manual.canonical_bytes(), bytes);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(ComparisonEntry::decode(&trailing).is_err());
        assert!(ComparisonEntry::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut version = bytes.clone();
        version[4] = 2;
        assert!(ComparisonEntry::decode(&version).is_err());
        // The blank flag is one byte, 0 or 1: find it after the two text fields.
        let flag = bytes.len() - (4 + 32) - (4 + 8) - 1;
        assert_eq!(bytes[flag], 1);
        let mut flag_two = bytes.clone();
        flag_two[flag] = 2;
        assert!(ComparisonEntry::decode(&flag_two).is_err());
        let mut verdict = bytes.clone();
        let at = verdict
            .windows(8)
            .position(|w| w == b"mismatch")
            .unwrap_or(0);
        verdict[at] = b'n';
        assert!(ComparisonEntry::decode(&verdict).is_err());
        // Not a stamp entry, and a stamp entry is not a comparison entry.
        assert!(crate::stamp::StampEntry::decode(&bytes).is_err());
    }
}
