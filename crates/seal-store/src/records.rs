//! The values the store reads and writes, built from domain types. Rows are converted
//! to these by hand in `sql/`; no row type leaves the crate.

use seal_core::audit::AuditEvent;
use seal_core::department::DepartmentName;
use seal_core::ids::{ApiTokenId, DepartmentId, OrgId, PersonId, RoleId};
use seal_core::org::{OrgCode, OrgName, Uscc};
use seal_core::permission::PermissionSet;
use seal_core::person::{Email, PersonName, PersonStatus, Phone};
use seal_core::role::{RoleKind, RoleName};
use seal_core::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgRecord {
    pub id: OrgId,
    pub code: OrgCode,
    pub name: OrgName,
    pub uscc: Option<Uscc>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepartmentRecord {
    pub id: DepartmentId,
    pub org_id: OrgId,
    pub parent: Option<DepartmentId>,
    pub name: DepartmentName,
    /// The department's head (an approver kind in flows).
    pub head: Option<PersonId>,
    pub created_at: Timestamp,
}

/// A person as the directory shows them (no secrets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRecord {
    pub id: PersonId,
    pub org_id: OrgId,
    pub name: PersonName,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub department: Option<DepartmentId>,
    pub status: PersonStatus,
    pub must_change_password: bool,
    pub totp_enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What is needed to create a person. `Debug` hides the password hash.
#[derive(Clone)]
pub struct NewPerson {
    pub id: PersonId,
    pub org_id: OrgId,
    pub name: PersonName,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub department: Option<DepartmentId>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for NewPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPerson")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("name", &self.name)
            .field("password_hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A person's secrets, read only to check them.
#[derive(Clone)]
pub struct Credentials {
    pub person_id: PersonId,
    pub org_id: OrgId,
    pub status: PersonStatus,
    /// PHC string (argon2id).
    pub password_hash: String,
    /// Base32 TOTP secret; present while enrolling and once enrolled.
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    /// The last accepted TOTP time step, so a code is never accepted twice.
    pub totp_last_step: i64,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("person_id", &self.person_id)
            .field("status", &self.status)
            .field("password_hash", &"[redacted]")
            .field(
                "totp_secret",
                &self.totp_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("totp_enabled", &self.totp_enabled)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleRecord {
    pub id: RoleId,
    pub org_id: OrgId,
    pub kind: RoleKind,
    pub name: RoleName,
    pub created_at: Timestamp,
}

/// A sign-in session. Only the SHA-256 of the token is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub org_id: OrgId,
    pub person_id: PersonId,
    /// Synchronizer token that form posts and cookie-authenticated API writes must echo.
    pub csrf_token: String,
    /// The password was right but the second factor is still to come.
    pub mfa_pending: bool,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub source: String,
    pub user_agent: String,
}

/// An API token. Only the SHA-256 of the secret is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: ApiTokenId,
    pub org_id: OrgId,
    pub person_id: PersonId,
    pub name: String,
    pub scopes: PermissionSet,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the append-only table (increasing, gaps possible on PostgreSQL).
    pub seq: i64,
    pub event: AuditEvent,
}

/// Which people to list, and which page.
#[derive(Clone, Debug, Default)]
pub struct PeopleFilter {
    /// Substring of name, phone or e-mail.
    pub query: Option<String>,
    pub department: Option<DepartmentId>,
    pub role: Option<RoleId>,
    pub status: Option<PersonStatus>,
    pub offset: i64,
    pub limit: i64,
}
