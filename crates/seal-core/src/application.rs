//! Seal-use applications (用印申请工单): their numbers, fields, and the lifecycle state
//! machine from draft to completed, with the count of stampings it allows.

use std::fmt;

use crate::org::OrgCode;
use crate::seal::keyed_enum;
use crate::text::{self, TextError};
use crate::time::Timestamp;

/// How the seal is to be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StampKind {
    /// An ordinary stamp on a page (普通用印).
    Ordinary,
    /// A cross-page seal over the edge of the stacked pages (骑缝章).
    CrossPage,
    /// The seal leaves the office in a mobile kit (外带用印).
    TakeOut,
    /// An electronic seal on a PDF (电子签章).
    Electronic,
}

keyed_enum!(StampKind {
    Ordinary => "ordinary",
    CrossPage => "cross_page",
    TakeOut => "take_out",
    Electronic => "electronic",
});

/// An application's number: the organisation's code in capitals, the year and a
/// sequence within the year, e.g. `DEMO-2026-000042`. Unique within the server.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApplicationNumber(String);

impl ApplicationNumber {
    pub fn new(org: &OrgCode, year: i64, sequence: u64) -> Self {
        ApplicationNumber(format!(
            "{}-{year:04}-{sequence:06}",
            org.as_str().to_ascii_uppercase()
        ))
    }

    /// Reads a number as typed at a device or sent in a request: `ORG-YYYY-NNNNNN`
    /// (the organisation code in any case; at most 64 characters).
    pub fn parse(text: &str) -> Result<Self, ApplicationNumberError> {
        let text = text.trim().to_ascii_uppercase();
        let mut parts = text.rsplitn(3, '-');
        let (Some(seq), Some(year), Some(org)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ApplicationNumberError);
        };
        let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
            n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if text.len() <= 64
            && digits(year, 4..=4)
            && digits(seq, 6..=12)
            && OrgCode::parse(org).is_ok()
        {
            Ok(ApplicationNumber(text))
        } else {
            Err(ApplicationNumberError)
        }
    }

    /// Reads a stored number back (not checked beyond being non-empty).
    pub fn from_stored(text: String) -> Self {
        ApplicationNumber(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Not an application number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an application number looks like ACME-2026-000042")]
pub struct ApplicationNumberError;

impl fmt::Display for ApplicationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An application's title, 1–100 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub const MAX_LEN: usize = 100;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        text::bounded(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text (a reason, a comment), 1–1000 characters; line breaks allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongText(String);

impl LongText {
    pub const MAX_LEN: usize = 1000;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(TextError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(TextError::TooLong { max: Self::MAX_LEN });
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(TextError::ControlCharacter);
        }
        Ok(LongText(trimmed.replace("\r\n", "\n")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many stampings an application asks for: 1 to 999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StampCount(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the number of stampings is 1 to {max}", max = StampCount::MAX)]
pub struct StampCountError;

impl StampCount {
    pub const MAX: u32 = 999;

    pub fn new(count: i64) -> Result<Self, StampCountError> {
        match u32::try_from(count) {
            Ok(n @ 1..=Self::MAX) => Ok(StampCount(n)),
            _ => Err(StampCountError),
        }
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

/// The time during which the approved stampings may happen: `from` inclusive, `until`
/// exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    from: Timestamp,
    until: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("the window must end after it starts")]
    Empty,
    #[error("the window may last at most {max_days} days")]
    TooLong { max_days: i64 },
    #[error("the window has already ended")]
    InThePast,
}

impl Window {
    /// A window for a new application: it ends after it starts, lasts at most
    /// `max_days`, and has not ended by `now`.
    pub fn new(
        from: Timestamp,
        until: Timestamp,
        max_days: i64,
        now: Timestamp,
    ) -> Result<Self, WindowError> {
        if until <= from {
            return Err(WindowError::Empty);
        }
        if until.seconds_since(from) > max_days.saturating_mul(86_400) {
            return Err(WindowError::TooLong { max_days });
        }
        if until <= now {
            return Err(WindowError::InThePast);
        }
        Ok(Window { from, until })
    }

    /// Reads a stored window back; refuses an empty one.
    pub fn from_stored(from: Timestamp, until: Timestamp) -> Result<Self, WindowError> {
        if until <= from {
            return Err(WindowError::Empty);
        }
        Ok(Window { from, until })
    }

    pub const fn from(self) -> Timestamp {
        self.from
    }

    pub const fn until(self) -> Timestamp {
        self.until
    }

    pub fn contains(self, at: Timestamp) -> bool {
        self.from <= at && at < self.until
    }

    pub fn has_ended(self, at: Timestamp) -> bool {
        at >= self.until
    }
}

/// Where an application is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApplicationStatus {
    Draft,
    Submitted,
    InReview,
    Approved,
    Rejected,
    Withdrawn,
    InUse,
    Completed,
    Expired,
    Revoked,
}

keyed_enum!(ApplicationStatus {
    Draft => "draft",
    Submitted => "submitted",
    InReview => "in_review",
    Approved => "approved",
    Rejected => "rejected",
    Withdrawn => "withdrawn",
    InUse => "in_use",
    Completed => "completed",
    Expired => "expired",
    Revoked => "revoked",
});

impl ApplicationStatus {
    /// Whether nothing more can happen to the application.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Rejected
                | ApplicationStatus::Withdrawn
                | ApplicationStatus::Completed
                | ApplicationStatus::Expired
                | ApplicationStatus::Revoked
        )
    }

    /// Whether the application is still waiting for decisions.
    pub const fn is_pending(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Submitted | ApplicationStatus::InReview
        )
    }

    /// Whether the applicant may still edit it (only drafts).
    pub const fn is_editable(self) -> bool {
        matches!(self, ApplicationStatus::Draft)
    }

    /// Whether a grant issued for it may be in force.
    pub const fn is_live(self) -> bool {
        matches!(self, ApplicationStatus::Approved | ApplicationStatus::InUse)
    }
}

/// Something that happens to an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Submit,
    /// The approval flow was resolved and its first step opened.
    BeginReview,
    /// The last step of the flow approved.
    Approve,
    /// A step rejected.
    Reject,
    /// The applicant withdrew before the last decision.
    Withdraw,
    /// `count` stampings happened at `at`.
    Use {
        count: u32,
        at: Timestamp,
    },
    /// The window ended (`at` is when this was noticed).
    Expire {
        at: Timestamp,
    },
    /// An admin revoked the grant.
    Revoke,
}

/// An event that does not fit the application's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("not allowed while the application is {0}")]
    WrongStatus(ApplicationStatus),
    #[error("outside the approved time window")]
    OutsideWindow,
    #[error("more stampings than remain ({remaining})")]
    NoUsesLeft { remaining: u32 },
    #[error("the window has not ended")]
    NotEnded,
}

/// The part of an application the lifecycle rules need: its status, the window and the
/// stampings allowed and done. `uses_done ≤ allowed` always holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    status: ApplicationStatus,
    window: Window,
    allowed: StampCount,
    uses_done: u32,
}

impl Lifecycle {
    /// A new draft.
    pub const fn draft(window: Window, allowed: StampCount) -> Self {
        Lifecycle {
            status: ApplicationStatus::Draft,
            window,
            allowed,
            uses_done: 0,
        }
    }

    /// Reads stored state back; `None` when the stored counts are impossible.
    pub fn from_stored(
        status: ApplicationStatus,
        window: Window,
        allowed: StampCount,
        uses_done: u32,
    ) -> Option<Self> {
        (uses_done <= allowed.get()).then_some(Lifecycle {
            status,
            window,
            allowed,
            uses_done,
        })
    }

    pub const fn status(&self) -> ApplicationStatus {
        self.status
    }

    pub const fn window(&self) -> Window {
        self.window
    }

    pub const fn allowed(&self) -> StampCount {
        self.allowed
    }

    pub const fn uses_done(&self) -> u32 {
        self.uses_done
    }

    pub const fn remaining(&self) -> u32 {
        self.allowed.get() - self.uses_done
    }

    /// Whether a stamping at `at` is authorised: approved or in use, inside the window,
    /// with uses left. An ended window never authorises.
    pub fn authorises(&self, at: Timestamp) -> bool {
        self.status.is_live() && self.window.contains(at) && self.remaining() > 0
    }

    /// Applies one event, or says why it does not fit.
    pub fn apply(self, event: Event) -> Result<Lifecycle, LifecycleError> {
        use ApplicationStatus as S;
        let wrong = Err(LifecycleError::WrongStatus(self.status));
        let with = |status| Ok(Lifecycle { status, ..self });
        match (self.status, event) {
            (S::Draft, Event::Submit) => with(S::Submitted),
            (S::Submitted, Event::BeginReview) => with(S::InReview),
            (S::InReview, Event::Approve) => with(S::Approved),
            (S::InReview, Event::Reject) => with(S::Rejected),
            (S::Draft | S::Submitted | S::InReview, Event::Withdraw) => with(S::Withdrawn),
            (S::Approved | S::InUse, Event::Use { count, at }) => {
                if !self.window.contains(at) {
                    return Err(LifecycleError::OutsideWindow);
                }
                if count == 0 || count > self.remaining() {
                    return Err(LifecycleError::NoUsesLeft {
                        remaining: self.remaining(),
                    });
                }
                let uses_done = self.uses_done + count;
                let status = if uses_done == self.allowed.get() {
                    S::Completed
                } else {
                    S::InUse
                };
                Ok(Lifecycle {
                    status,
                    uses_done,
                    ..self
                })
            }
            (S::Approved | S::InUse, Event::Expire { at }) => {
                if self.window.has_ended(at) {
                    with(S::Expired)
                } else {
                    Err(LifecycleError::NotEnded)
                }
            }
            (S::Approved | S::InUse, Event::Revoke) => with(S::Revoked),
            _ => wrong,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1000)
    }

    fn window() -> Window {
        Window::new(t(100), t(200), 30, t(0)).unwrap()
    }

    #[test]
    fn numbers() {
        let org = OrgCode::parse("demo").unwrap();
        let n = ApplicationNumber::new(&org, 2026, 42);
        assert_eq!(n.as_str(), "DEMO-2026-000042");
        assert_eq!(ApplicationNumber::parse(" demo-2026-000042 "), Ok(n));
        for bad in [
            "",
            "DEMO-2026",
            "DEMO-26-000042",
            "DEMO-2026-42",
            "-2026-000042",
            "DEMO-2026-00004x",
        ] {
            assert!(ApplicationNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows() {
        assert_eq!(Window::new(t(5), t(5), 30, t(0)), Err(WindowError::Empty));
        assert_eq!(
            Window::new(t(0), t(31 * 86_400), 30, t(0)),
            Err(WindowError::TooLong { max_days: 30 })
        );
        assert_eq!(
            Window::new(t(0), t(10), 30, t(10)),
            Err(WindowError::InThePast)
        );
        let w = window();
        assert!(!w.contains(t(99)) && w.contains(t(100)) && w.contains(t(199)));
        assert!(!w.contains(t(200)) && w.has_ended(t(200)));
    }

    #[test]
    fn counts_and_texts() {
        assert!(StampCount::new(0).is_err());
        assert!(StampCount::new(1000).is_err());
        assert!(StampCount::new(-1).is_err());
        assert_eq!(StampCount::new(999).map(StampCount::get), Ok(999));
        assert_eq!(
            LongText::parse(" 第一行\r\n第二行 ").map(|t| t.as_str().to_owned()),
            Ok("第一行\n第二行".to_owned())
        );
        assert!(LongText::parse("a\u{7}").is_err());
    }

    #[test]
    fn the_happy_path() {
        let l = Lifecycle::draft(window(), StampCount::new(2).unwrap());
        let l = l.apply(Event::Submit).unwrap();
        let l = l.apply(Event::BeginReview).unwrap();
        assert!(!l.authorises(t(150)), "not approved yet");
        let l = l.apply(Event::Approve).unwrap();
        assert!(l.authorises(t(150)));
        assert!(!l.authorises(t(99)) && !l.authorises(t(200)));
        assert_eq!(
            l.apply(Event::Use {
                count: 1,
                at: t(250)
            }),
            Err(LifecycleError::OutsideWindow)
        );
        let l = l
            .apply(Event::Use {
                count: 1,
                at: t(150),
            })
            .unwrap();
        assert_eq!(l.status(), ApplicationStatus::InUse);
        assert_eq!(
            l.apply(Event::Withdraw),
            Err(LifecycleError::WrongStatus(ApplicationStatus::InUse))
        );
        assert_eq!(
            l.apply(Event::Use {
                count: 2,
                at: t(150)
            }),
            Err(LifecycleError::NoUsesLeft { remaining: 1 })
        );
        let l = l
            .apply(Event::Use {
                count: 1,
                at: t(151),
            })
            .unwrap();
        assert_eq!(l.status(), ApplicationStatus::Completed);
        assert!(!l.authorises(t(152)));
    }

    #[test]
    fn expiry_needs_the_window_to_end() {
        let l = Lifecycle::draft(window(), StampCount::new(1).unwrap())
            .apply(Event::Submit)
            .and_then(|l| l.apply(Event::BeginReview))
            .and_then(|l| l.apply(Event::Approve))
            .unwrap();
        assert_eq!(
            l.apply(Event::Expire { at: t(150) }),
            Err(LifecycleError::NotEnded)
        );
        let l = l.apply(Event::Expire { at: t(200) }).unwrap();
        assert_eq!(l.status(), ApplicationStatus::Expired);
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            Just(Event::Submit),
            Just(Event::BeginReview),
            Just(Event::Approve),
            Just(Event::Reject),
            Just(Event::Withdraw),
            Just(Event::Revoke),
            (0u32..5, 0i64..300).prop_map(|(count, s)| Event::Use { count, at: t(s) }),
            (0i64..300).prop_map(|s| Event::Expire { at: t(s) }),
        ]
    }

    /// The edges of the lifecycle diagram; anything else is an invalid step.
    fn edge_allowed(from: ApplicationStatus, to: ApplicationStatus) -> bool {
        use ApplicationStatus::*;
        matches!(
            (from, to),
            (Draft, Submitted)
                | (Submitted, InReview)
                | (InReview, Approved | Rejected)
                | (Draft | Submitted | InReview, Withdrawn)
                | (Approved | InUse, InUse | Completed | Expired | Revoked)
        )
    }

    proptest! {
        #[test]
        fn no_sequence_reaches_an_invalid_state(
            allowed in 1i64..20,
            events in proptest::collection::vec(event(), 0..40),
            probe in 0i64..300,
        ) {
            let mut l = Lifecycle::draft(window(), StampCount::new(allowed).unwrap());
            for e in events {
                let before = l;
                match l.apply(e) {
                    Ok(next) => {
                        prop_assert!(edge_allowed(before.status(), next.status()),
                            "{:?} -> {:?} by {:?}", before.status(), next.status(), e);
                        prop_assert!(next.uses_done() >= before.uses_done());
                        if let Event::Use { at, .. } = e {
                            prop_assert!(before.authorises(at), "a use needs authorisation");
                        }
                        l = next;
                    }
                    Err(_) => prop_assert_eq!(l, before),
                }
                prop_assert!(l.uses_done() <= l.allowed().get(), "counts never exceed");
                prop_assert_eq!(l.remaining() + l.uses_done(), l.allowed().get());
                prop_assert!(!l.authorises(t(200 + probe)), "an ended window never authorises");
                prop_assert!(!l.authorises(t(probe.min(99))), "nor one not begun");
                if l.status().is_final() {
                    prop_assert!(!l.authorises(t(150)));
                }
                if l.status() == ApplicationStatus::Completed {
                    prop_assert_eq!(l.remaining(), 0);
                }
            }
        }
    }
}
