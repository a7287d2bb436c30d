//! Roles: the six built-in roles with their fixed permissions, and names for custom roles.

use std::fmt;

use crate::permission::{Permission, PermissionSet};
use crate::text::{self, TextError};

/// The roles every organisation has from the start. Their permissions are defined here,
/// in code, so that new permissions reach existing organisations with an upgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuiltinRole {
    /// 管理员: runs the organisation's directory, devices and settings.
    OrgAdmin,
    /// 管章人: holds seals and their devices.
    SealKeeper,
    /// 审批人: decides on seal-use applications.
    Approver,
    /// 审计员: reads everything, changes nothing.
    Auditor,
    /// 员工: files seal-use applications.
    Employee,
    /// 信息技术: devices and integrations.
    It,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 6] = [
        BuiltinRole::OrgAdmin,
        BuiltinRole::SealKeeper,
        BuiltinRole::Approver,
        BuiltinRole::Auditor,
        BuiltinRole::Employee,
        BuiltinRole::It,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            BuiltinRole::OrgAdmin => "org_admin",
            BuiltinRole::SealKeeper => "seal_keeper",
            BuiltinRole::Approver => "approver",
            BuiltinRole::Auditor => "auditor",
            BuiltinRole::Employee => "employee",
            BuiltinRole::It => "it",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == key)
    }

    /// The display name stored with the role when an organisation is registered.
    pub const fn default_name(self) -> &'static str {
        match self {
            BuiltinRole::OrgAdmin => "管理员",
            BuiltinRole::SealKeeper => "管章人",
            BuiltinRole::Approver => "审批人",
            BuiltinRole::Auditor => "审计员",
            BuiltinRole::Employee => "员工",
            BuiltinRole::It => "信息技术",
        }
    }

    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            BuiltinRole::OrgAdmin => PermissionSet::of(&[
                OrgManage,
                DepartmentsManage,
                PeopleRead,
                PeopleManage,
                RolesManage,
                TokensManage,
                AuditRead,
                SealsRead,
                SealsManage,
                ApplicationsReadAll,
                DevicesManage,
                AlarmsHandle,
                WebhooksManage,
            ]),
            BuiltinRole::SealKeeper => PermissionSet::of(&[
                PeopleRead,
                SealsRead,
                SealsKeep,
                ApplicationsApprove,
                AlarmsHandle,
            ]),
            BuiltinRole::Approver => {
                PermissionSet::of(&[PeopleRead, SealsRead, ApplicationsApprove])
            }
            BuiltinRole::Auditor => {
                PermissionSet::of(&[PeopleRead, AuditRead, SealsRead, ApplicationsReadAll])
            }
            BuiltinRole::Employee => PermissionSet::of(&[SealsRead, ApplicationsCreate]),
            BuiltinRole::It => {
                PermissionSet::of(&[PeopleRead, DevicesManage, TokensManage, WebhooksManage])
            }
        }
    }
}

impl fmt::Display for BuiltinRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A role's display name, 1–40 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleName(String);

impl RoleName {
    pub const MAX_LEN: usize = 40;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        text::bounded(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a role is, for the rules that look at roles: built-in (with fixed permissions)
/// or custom (with the permissions an admin chose).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleKind {
    Builtin(BuiltinRole),
    Custom(PermissionSet),
}

impl RoleKind {
    pub fn permissions(self) -> PermissionSet {
        match self {
            RoleKind::Builtin(role) => role.permissions(),
            RoleKind::Custom(permissions) => permissions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditor_only_reads() {
        assert!(!BuiltinRole::Auditor.permissions().any_writes());
        for role in BuiltinRole::ALL {
            assert_eq!(BuiltinRole::parse(role.key()), Some(role));
            assert!(!role.permissions().is_empty());
        }
    }
}
