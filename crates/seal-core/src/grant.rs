//! Grants: what an approved application allows at a device or signer — how many uses,
//! in which window, with which verification factors — and the grant's status.

use crate::seal::keyed_enum;

/// Whether a grant may still be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantStatus {
    /// In force (within its window, with uses left).
    Active,
    /// Every allowed use happened.
    Consumed,
    /// The window ended with uses left.
    Expired,
    /// An admin revoked it, or the seal stopped being usable.
    Revoked,
}

keyed_enum!(GrantStatus {
    Active => "active",
    Consumed => "consumed",
    Expired => "expired",
    Revoked => "revoked",
});

impl GrantStatus {
    /// Only an active grant can be revoked; the other statuses are final.
    pub const fn can_revoke(self) -> bool {
        matches!(self, GrantStatus::Active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_active_grants_are_revocable() {
        for s in GrantStatus::ALL {
            assert_eq!(s.can_revoke(), *s == GrantStatus::Active);
            assert_eq!(GrantStatus::parse(s.key()), Some(*s));
        }
    }
}
