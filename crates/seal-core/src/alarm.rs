//! Alarms: their kinds and severities, and the lifecycle open → acknowledged → resolved
//! with who did it and a note.

use crate::seal::keyed_enum;

/// What an alarm is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlarmKind {
    /// The tamper sensor fired.
    Tamper,
    /// Lifted from its base while no unlock was in force.
    Lifted,
    /// Outside its geofence.
    Geofence,
    /// A press held longer than the device's limit.
    PressTooLong,
    /// More presses than the grant allowed, or a press under no active grant.
    UsesExceeded,
    /// Unlocks refused repeatedly.
    UnlockRefused,
    /// Silent for longer than the limit.
    Offline,
    /// Battery below the limit.
    LowBattery,
    /// The page on site is not the approved page.
    ContentMismatch,
    /// A seal pressed or printed on an empty or nearly empty page.
    BlankPage,
}

keyed_enum!(AlarmKind {
    Tamper => "tamper",
    Lifted => "lifted",
    Geofence => "geofence",
    PressTooLong => "press_too_long",
    UsesExceeded => "uses_exceeded",
    UnlockRefused => "unlock_refused",
    Offline => "offline",
    LowBattery => "low_battery",
    ContentMismatch => "content_mismatch",
    BlankPage => "blank_page",
});

/// How urgent an alarm is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

keyed_enum!(Severity {
    Low => "low",
    Medium => "medium",
    High => "high",
    Critical => "critical",
});

impl AlarmKind {
    /// The severity an alarm of this kind is raised with.
    pub const fn severity(self) -> Severity {
        match self {
            AlarmKind::Tamper
            | AlarmKind::UsesExceeded
            | AlarmKind::ContentMismatch
            | AlarmKind::BlankPage => Severity::Critical,
            AlarmKind::Lifted | AlarmKind::Geofence => Severity::High,
            AlarmKind::PressTooLong | AlarmKind::UnlockRefused | AlarmKind::Offline => {
                Severity::Medium
            }
            AlarmKind::LowBattery => Severity::Low,
        }
    }
}

/// Where an alarm is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlarmStatus {
    Open,
    Acknowledged,
    Resolved,
}

keyed_enum!(AlarmStatus {
    Open => "open",
    Acknowledged => "acknowledged",
    Resolved => "resolved",
});

/// What a person does to an alarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlarmAction {
    Acknowledge,
    Resolve,
}

keyed_enum!(AlarmAction {
    Acknowledge => "acknowledge",
    Resolve => "resolve",
});

/// An action the alarm's status does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an alarm that is {status} cannot be {action}d")]
pub struct AlarmActionError {
    pub status: AlarmStatus,
    pub action: AlarmAction,
}

impl AlarmStatus {
    /// open → acknowledged → resolved; open → resolved. Resolved is final.
    pub fn apply(self, action: AlarmAction) -> Result<AlarmStatus, AlarmActionError> {
        match (self, action) {
            (AlarmStatus::Open, AlarmAction::Acknowledge) => Ok(AlarmStatus::Acknowledged),
            (AlarmStatus::Open | AlarmStatus::Acknowledged, AlarmAction::Resolve) => {
                Ok(AlarmStatus::Resolved)
            }
            (status, action) => Err(AlarmActionError { status, action }),
        }
    }

    /// Whether an alarm in this status still stands (a repeated condition is folded into it).
    pub const fn is_standing(self) -> bool {
        !matches!(self, AlarmStatus::Resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        use AlarmAction::*;
        use AlarmStatus::*;
        assert_eq!(Open.apply(Acknowledge), Ok(Acknowledged));
        assert_eq!(Open.apply(Resolve), Ok(Resolved));
        assert_eq!(Acknowledged.apply(Resolve), Ok(Resolved));
        assert!(Acknowledged.apply(Acknowledge).is_err());
        assert!(Resolved.apply(Resolve).is_err());
        assert!(Resolved.apply(Acknowledge).is_err());
        assert!(Open.is_standing() && Acknowledged.is_standing() && !Resolved.is_standing());
    }

    #[test]
    fn every_kind_has_a_key_and_a_severity() {
        for kind in AlarmKind::ALL {
            assert_eq!(AlarmKind::parse(kind.key()), Some(*kind));
            let _ = kind.severity();
        }
        assert_eq!(AlarmKind::Tamper.severity(), Severity::Critical);
        assert_eq!(AlarmKind::parse("blank_page"), Some(AlarmKind::BlankPage));
        assert_eq!(
            AlarmKind::BlankPage.severity(),
            AlarmKind::ContentMismatch.severity()
        );
        assert_eq!(
            AlarmKind::ALL.len(),
            10,
            "a new kind needs its labels and docs"
        );
        assert!(Severity::Critical > Severity::Low);
    }
}
