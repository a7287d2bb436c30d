//! Named permissions and sets of them. A permission either only reads or also writes;
//! separation-of-duties rules ([`crate::sod`]) rely on that distinction.

use std::fmt;

/// One thing a person may be allowed to do. The text keys are stable: they are stored
/// in custom roles and API token scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Edit the organisation's own settings.
    OrgManage,
    /// Create, rename, move and delete departments.
    DepartmentsManage,
    /// See the organisation's people, departments and roles.
    PeopleRead,
    /// Create and edit people, assign roles, disable, reset passwords.
    PeopleManage,
    /// Create and edit custom roles.
    RolesManage,
    /// Create API tokens and revoke any token of the organisation.
    TokensManage,
    /// Read the organisation's audit events.
    AuditRead,
    /// See the seal registry.
    SealsRead,
    /// Register seals and change their status.
    SealsManage,
    /// Keep seals and their devices: bind, enrol fingerprints.
    SealsKeep,
    /// File seal-use applications.
    ApplicationsCreate,
    /// Decide on seal-use applications.
    ApplicationsApprove,
    /// Read every application of the organisation, with its evidence.
    ApplicationsReadAll,
    /// Enrol, approve, bind and revoke devices.
    DevicesManage,
    /// Acknowledge and resolve alarms.
    AlarmsHandle,
    /// Register webhook endpoints and filing targets, see and replay their deliveries.
    WebhooksManage,
}

impl Permission {
    pub const ALL: [Permission; 16] = [
        Permission::OrgManage,
        Permission::DepartmentsManage,
        Permission::PeopleRead,
        Permission::PeopleManage,
        Permission::RolesManage,
        Permission::TokensManage,
        Permission::AuditRead,
        Permission::SealsRead,
        Permission::SealsManage,
        Permission::SealsKeep,
        Permission::ApplicationsCreate,
        Permission::ApplicationsApprove,
        Permission::ApplicationsReadAll,
        Permission::DevicesManage,
        Permission::AlarmsHandle,
        Permission::WebhooksManage,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            Permission::OrgManage => "org.manage",
            Permission::DepartmentsManage => "departments.manage",
            Permission::PeopleRead => "people.read",
            Permission::PeopleManage => "people.manage",
            Permission::RolesManage => "roles.manage",
            Permission::TokensManage => "tokens.manage",
            Permission::AuditRead => "audit.read",
            Permission::SealsRead => "seals.read",
            Permission::SealsManage => "seals.manage",
            Permission::SealsKeep => "seals.keep",
            Permission::ApplicationsCreate => "applications.create",
            Permission::ApplicationsApprove => "applications.approve",
            Permission::ApplicationsReadAll => "applications.read_all",
            Permission::DevicesManage => "devices.manage",
            Permission::AlarmsHandle => "alarms.handle",
            Permission::WebhooksManage => "webhooks.manage",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }

    /// Whether holding this permission lets a person change state.
    pub const fn writes(self) -> bool {
        !matches!(
            self,
            Permission::PeopleRead
                | Permission::AuditRead
                | Permission::SealsRead
                | Permission::ApplicationsReadAll
        )
    }

    /// Whether the permission administers the organisation (its directory, roles,
    /// integrations, registry, devices or audit trail) rather than taking part in the
    /// stamping work. Only holders of an administrative permission may grant it to others.
    pub const fn administers(self) -> bool {
        matches!(
            self,
            Permission::OrgManage
                | Permission::DepartmentsManage
                | Permission::PeopleManage
                | Permission::RolesManage
                | Permission::TokensManage
                | Permission::AuditRead
                | Permission::SealsManage
                | Permission::DevicesManage
                | Permission::WebhooksManage
        )
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A set of permissions (a bit set; cheap to copy and combine).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    pub fn of(permissions: &[Permission]) -> Self {
        permissions.iter().copied().collect()
    }

    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub const fn union(self, other: PermissionSet) -> Self {
        Self(self.0 | other.0)
    }

    pub const fn intersection(self, other: PermissionSet) -> Self {
        Self(self.0 & other.0)
    }

    pub const fn is_subset_of(self, other: PermissionSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    /// Whether any permission in the set writes.
    pub fn any_writes(self) -> bool {
        self.iter().any(Permission::writes)
    }

    /// The permissions in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::EMPTY;
        for permission in iter {
            set.insert(permission);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_are_unique() {
        let mut keys: Vec<_> = Permission::ALL.iter().map(|p| p.key()).collect();
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.key()), Some(p));
        }
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Permission::ALL.len());
        assert_eq!(Permission::parse("root"), None);
    }

    #[test]
    fn webhooks_manage_writes_and_administers() {
        let p = Permission::WebhooksManage;
        assert_eq!(Permission::parse("webhooks.manage"), Some(p));
        assert!(p.writes());
        assert!(p.administers());
    }

    #[test]
    fn set_operations() {
        let read = PermissionSet::of(&[Permission::PeopleRead, Permission::AuditRead]);
        assert!(!read.any_writes());
        let admin = read.union(PermissionSet::of(&[Permission::PeopleManage]));
        assert!(admin.any_writes());
        assert!(read.is_subset_of(admin));
        assert!(!admin.is_subset_of(read));
        assert_eq!(admin.intersection(read), read);
        assert_eq!(admin.iter().count(), 3);
    }
}
