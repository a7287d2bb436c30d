//! Separation of duties (三权分立) as rules over values: who manages does not approve,
//! nobody approves their own work, auditors read and never write. Each rule is a pure
//! function; the application layer calls [`check_role_set`] before any role change lands.

use crate::permission::Permission;
use crate::role::{BuiltinRole, RoleKind};

/// A rule that a set of roles held by one person breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SodViolation {
    /// The auditor role reads everything; holding any role that writes alongside it would
    /// let a person change what they audit.
    #[error("an auditor cannot also hold a role that changes data (it grants {permission})")]
    AuditorWithWriteRole { permission: Permission },
}

/// Checks that one person may hold all of `roles` at once.
pub fn check_role_set(roles: &[RoleKind]) -> Result<(), SodViolation> {
    let holds_auditor = roles
        .iter()
        .any(|role| matches!(role, RoleKind::Builtin(BuiltinRole::Auditor)));
    if holds_auditor {
        let writing = roles
            .iter()
            .flat_map(|role| role.permissions().iter())
            .find(|permission| permission.writes());
        if let Some(permission) = writing {
            return Err(SodViolation::AuditorWithWriteRole { permission });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::PermissionSet;

    #[test]
    fn auditor_alone_or_with_read_roles_is_fine() {
        let auditor = RoleKind::Builtin(BuiltinRole::Auditor);
        assert_eq!(check_role_set(&[auditor]), Ok(()));
        let reader = RoleKind::Custom(PermissionSet::of(&[
            Permission::AuditRead,
            Permission::PeopleRead,
        ]));
        assert_eq!(check_role_set(&[auditor, reader]), Ok(()));
    }

    #[test]
    fn auditor_with_any_writing_role_is_refused() {
        let auditor = RoleKind::Builtin(BuiltinRole::Auditor);
        for role in BuiltinRole::ALL
            .into_iter()
            .filter(|r| *r != BuiltinRole::Auditor)
        {
            assert!(
                check_role_set(&[auditor, RoleKind::Builtin(role)]).is_err(),
                "{role}"
            );
        }
        let custom = RoleKind::Custom(PermissionSet::of(&[
            Permission::PeopleRead,
            Permission::SealsKeep,
        ]));
        assert_eq!(
            check_role_set(&[custom, auditor]),
            Err(SodViolation::AuditorWithWriteRole {
                permission: Permission::SealsKeep
            })
        );
    }

    #[test]
    fn writers_without_auditor_are_fine() {
        let roles: Vec<_> = BuiltinRole::ALL
            .into_iter()
            .filter(|r| *r != BuiltinRole::Auditor)
            .map(RoleKind::Builtin)
            .collect();
        assert_eq!(check_role_set(&roles), Ok(()));
    }
}
