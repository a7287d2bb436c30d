//! Authorization, decided here and nowhere else. A [`Principal`] is who is asking (made
//! by authentication); a [`Permit`] is the proof that they may do one thing in one
//! organisation, and only this module can make one. Use cases ask for a permit first
//! and pass it to the queries they run, which are scoped by the permit's organisation.

use seal_core::audit::Actor;
use seal_core::ids::{ApiTokenId, OrgId, PersonId};
use seal_core::permission::{Permission, PermissionSet};
use seal_store::{OrgRecord, PersonRecord, RoleRecord};

use crate::AppError;

/// How the principal proved who they are. `Debug` hides the CSRF token.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session; `token_hash` identifies it, `csrf_token` must accompany writes.
    Session {
        token_hash: String,
        csrf_token: String,
    },
    /// An API token, limited to its scopes.
    ApiToken { id: ApiTokenId },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Session { .. } => f.write_str("Session"),
            Credential::ApiToken { id } => write!(f, "ApiToken({id})"),
        }
    }
}

/// An authenticated caller, with what authentication read about them (their record,
/// organisation and roles), so that "who am I" needs no further reads.
#[derive(Clone, Debug)]
pub struct Principal {
    pub person: PersonRecord,
    pub org: OrgRecord,
    pub roles: Vec<RoleRecord>,
    /// What the caller may do: the union of their roles' permissions, narrowed to the
    /// token's scopes when authenticated by an API token.
    pub permissions: PermissionSet,
    pub credential: Credential,
}

impl Principal {
    pub fn org_id(&self) -> OrgId {
        self.org.id
    }

    pub fn person_id(&self) -> PersonId {
        self.person.id
    }

    pub fn actor(&self) -> Actor {
        match self.credential {
            Credential::Session { .. } => Actor::Person(self.person.id),
            Credential::ApiToken { id } => Actor::Token(id),
        }
    }
}

/// Proof that `actor` may use `permission` in organisation `org`. Fields are private and
/// there is no public constructor: only [`authorize`] and [`own_account`] make permits.
#[derive(Clone, Debug)]
pub struct Permit {
    org: OrgId,
    person: PersonId,
    actor: Actor,
    permission: Option<Permission>,
}

impl Permit {
    /// The organisation every query under this permit is scoped to.
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// The person acting.
    pub fn person(&self) -> PersonId {
        self.person
    }

    pub fn actor(&self) -> Actor {
        self.actor.clone()
    }

    /// The permission this permit was granted for (`None`: the caller's own account).
    pub fn permission(&self) -> Option<Permission> {
        self.permission
    }
}

/// A permit for `permission` when the principal holds it. Someone signed in with a
/// temporary password (after an invitation or a reset) must change it first: until then
/// they may only read and change their own account.
pub fn authorize(principal: &Principal, permission: Permission) -> Result<Permit, AppError> {
    if !principal.permissions.contains(permission) {
        return Err(AppError::Forbidden);
    }
    if principal.person.must_change_password
        && matches!(principal.credential, Credential::Session { .. })
    {
        return Err(AppError::PasswordChangeRequired);
    }
    Ok(Permit {
        org: principal.org_id(),
        person: principal.person_id(),
        actor: principal.actor(),
        permission: Some(permission),
    })
}

/// A permit for the first of `permissions` the principal holds: for reads open to
/// several kinds of participant (an application is read by its applicant, approvers,
/// keeper and readers-of-all; the use case then checks which one the caller is).
pub fn authorize_any(
    principal: &Principal,
    permissions: &[Permission],
) -> Result<Permit, AppError> {
    let held = permissions
        .iter()
        .copied()
        .find(|p| principal.permissions.contains(*p))
        .ok_or(AppError::Forbidden)?;
    authorize(principal, held)
}

/// A permit for a write that also needs an interactive session (issuing tokens).
pub fn authorize_interactive(
    principal: &Principal,
    permission: Permission,
) -> Result<Permit, AppError> {
    require_session(principal)?;
    authorize(principal, permission)
}

/// A permit to read one's own account; any authenticated principal gets it.
pub fn own_account_read(principal: &Principal) -> Permit {
    Permit {
        org: principal.org_id(),
        person: principal.person_id(),
        actor: principal.actor(),
        permission: None,
    }
}

/// A permit to change one's own account (password, second factor): sessions only, so a
/// leaked API token cannot take over the account.
pub fn own_account(principal: &Principal) -> Result<Permit, AppError> {
    require_session(principal)?;
    Ok(own_account_read(principal))
}

/// What holding `roles` allows: the union of their permissions.
pub fn permissions_of(roles: &[RoleRecord]) -> PermissionSet {
    roles.iter().fold(PermissionSet::EMPTY, |acc, role| {
        acc.union(role.kind.permissions())
    })
}

/// Refuses to grant administrative permissions the granter does not hold: someone who
/// may manage people but not roles cannot make anyone (themselves included) an org admin.
/// Work permissions (apply, approve, keep) can be granted by whoever manages people.
pub fn check_grant(principal: &Principal, granted: PermissionSet) -> Result<(), AppError> {
    let missing = granted
        .iter()
        .find(|p| p.administers() && !principal.permissions.contains(*p));
    match missing {
        Some(missing) => Err(AppError::Escalation(missing)),
        None => Ok(()),
    }
}

/// Refuses to act on a person (edit, change roles, disable, enable, reset the password)
/// who holds administrative permissions the actor lacks: managing people must not be a
/// way to take over an account with more rights.
pub fn check_may_manage(principal: &Principal, target: PermissionSet) -> Result<(), AppError> {
    check_grant(principal, target)
}

fn require_session(principal: &Principal) -> Result<(), AppError> {
    match principal.credential {
        Credential::Session { .. } => Ok(()),
        Credential::ApiToken { .. } => Err(AppError::SessionRequired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seal_core::role::BuiltinRole;

    fn principal(permissions: &[Permission], credential: Credential) -> Principal {
        let at = seal_core::time::Timestamp::from_millis(0);
        let org = OrgRecord {
            id: OrgId::from_bytes([1; 16]),
            code: seal_core::org::OrgCode::parse("acme").unwrap(),
            name: seal_core::org::OrgName::parse("Acme").unwrap(),
            uscc: None,
            created_at: at,
        };
        let person = PersonRecord {
            id: PersonId::from_bytes([2; 16]),
            org_id: org.id,
            name: seal_core::person::PersonName::parse("Li").unwrap(),
            phone: None,
            email: None,
            department: None,
            status: seal_core::person::PersonStatus::Active,
            must_change_password: false,
            totp_enabled: false,
            created_at: at,
            updated_at: at,
        };
        Principal {
            person,
            org,
            roles: vec![],
            permissions: PermissionSet::of(permissions),
            credential,
        }
    }

    fn session() -> Credential {
        Credential::Session {
            token_hash: "h".into(),
            csrf_token: "c".into(),
        }
    }

    #[test]
    fn permits_follow_permissions() {
        let p = principal(&[Permission::PeopleRead], session());
        assert!(
            authorize(&p, Permission::PeopleRead).is_ok_and(|permit| permit.org() == p.org_id())
        );
        assert!(matches!(
            authorize(&p, Permission::PeopleManage),
            Err(AppError::Forbidden)
        ));
    }

    #[test]
    fn tokens_cannot_manage_their_own_account() {
        let token = principal(
            &[Permission::TokensManage],
            Credential::ApiToken {
                id: ApiTokenId::from_bytes([3; 16]),
            },
        );
        assert!(matches!(
            own_account(&token),
            Err(AppError::SessionRequired)
        ));
        assert!(matches!(
            authorize_interactive(&token, Permission::TokensManage),
            Err(AppError::SessionRequired)
        ));
        assert!(authorize(&token, Permission::TokensManage).is_ok());
    }

    #[test]
    fn no_escalation() {
        let p = principal(
            &[Permission::PeopleManage, Permission::PeopleRead],
            session(),
        );
        assert!(check_grant(&p, PermissionSet::of(&[Permission::PeopleRead])).is_ok());
        assert!(
            check_grant(&p, BuiltinRole::Approver.permissions()).is_ok(),
            "work permissions"
        );
        assert!(matches!(
            check_grant(&p, BuiltinRole::OrgAdmin.permissions()),
            Err(AppError::Escalation(_))
        ));
    }
}
