//! The JSON shapes of the API (requests and responses) and their conversion from the
//! records of the lower layers. Wire types live here and nowhere else.

use std::collections::BTreeMap;

use seal_core::permission::{Permission, PermissionSet};
use seal_core::role::RoleKind;
use seal_store::{
    ApiTokenRecord, AuditRecord, DepartmentRecord, OrgRecord, PersonRecord, RoleRecord,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// For PATCH fields where `null` means "clear" and absence means "keep".
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

// ----- responses ------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct OrgDto {
    pub id: String,
    /// Organisation code used at sign-in.
    pub code: String,
    pub name: String,
    /// Unified social credit code, when registered.
    pub uscc: Option<String>,
    pub created_at: String,
}

impl From<&OrgRecord> for OrgDto {
    fn from(org: &OrgRecord) -> Self {
        OrgDto {
            id: org.id.to_string(),
            code: org.code.to_string(),
            name: org.name.as_str().to_owned(),
            uscc: org.uscc.as_ref().map(|u| u.as_str().to_owned()),
            created_at: org.created_at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DepartmentDto {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    /// The department's head, who approves steps that name "department head".
    pub head_id: Option<String>,
    pub created_at: String,
}

impl From<&DepartmentRecord> for DepartmentDto {
    fn from(d: &DepartmentRecord) -> Self {
        DepartmentDto {
            id: d.id.to_string(),
            parent_id: d.parent.map(|p| p.to_string()),
            name: d.name.as_str().to_owned(),
            head_id: d.head.map(|p| p.to_string()),
            created_at: d.created_at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PersonDto {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub department_id: Option<String>,
    /// `active` or `disabled`.
    pub status: String,
    pub must_change_password: bool,
    pub totp_enabled: bool,
    pub created_at: String,
    pub updated_at: String,
    /// The roles held (in single-person answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<RoleDto>>,
}

impl PersonDto {
    pub fn new(p: &PersonRecord, roles: Option<&[RoleRecord]>) -> Self {
        PersonDto {
            id: p.id.to_string(),
            name: p.name.as_str().to_owned(),
            phone: p.phone.as_ref().map(|x| x.to_string()),
            email: p.email.as_ref().map(|x| x.to_string()),
            department_id: p.department.map(|d| d.to_string()),
            status: p.status.as_str().to_owned(),
            must_change_password: p.must_change_password,
            totp_enabled: p.totp_enabled,
            created_at: p.created_at.to_string(),
            updated_at: p.updated_at.to_string(),
            roles: roles.map(|roles| roles.iter().map(RoleDto::from).collect()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PeoplePage {
    pub items: Vec<PersonDto>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedPersonDto {
    pub person: PersonDto,
    /// Generated when no password was given: shown this once; must be changed at first sign-in.
    pub temporary_password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TemporaryPasswordDto {
    /// Shown this once; must be changed at next sign-in.
    pub temporary_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct RoleDto {
    pub id: String,
    pub name: String,
    /// Key of the built-in role (`org_admin`, `seal_keeper`, `approver`, `auditor`,
    /// `employee`, `it`), or null for a custom role.
    pub builtin: Option<String>,
    pub permissions: Vec<String>,
    /// Whether the role lets its holder change data.
    pub writes: bool,
    pub created_at: String,
}

impl From<&RoleRecord> for RoleDto {
    fn from(r: &RoleRecord) -> Self {
        let permissions = r.kind.permissions();
        RoleDto {
            id: r.id.to_string(),
            name: r.name.as_str().to_owned(),
            builtin: match r.kind {
                RoleKind::Builtin(b) => Some(b.key().to_owned()),
                RoleKind::Custom(_) => None,
            },
            permissions: keys(permissions),
            writes: permissions.any_writes(),
            created_at: r.created_at.to_string(),
        }
    }
}

pub fn keys(permissions: PermissionSet) -> Vec<String> {
    permissions.iter().map(|p| p.key().to_owned()).collect()
}

#[derive(Serialize, ToSchema)]
pub struct PermissionDto {
    pub key: String,
    pub writes: bool,
    /// Only holders may grant it.
    pub administers: bool,
}

impl From<Permission> for PermissionDto {
    fn from(p: Permission) -> Self {
        PermissionDto {
            key: p.key().to_owned(),
            writes: p.writes(),
            administers: p.administers(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenDto {
    pub id: String,
    pub name: String,
    /// The person the token acts as.
    pub person_id: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&ApiTokenRecord> for TokenDto {
    fn from(t: &ApiTokenRecord) -> Self {
        TokenDto {
            id: t.id.to_string(),
            name: t.name.clone(),
            person_id: t.person_id.to_string(),
            scopes: keys(t.scopes),
            created_at: t.created_at.to_string(),
            last_used_at: t.last_used_at.map(|x| x.to_string()),
            revoked_at: t.revoked_at.map(|x| x.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedTokenDto {
    pub token: TokenDto,
    /// The secret, shown this once: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionDto {
    /// True when a one-time code must follow (`POST /api/v1/auth/mfa`).
    pub mfa_required: bool,
    pub must_change_password: bool,
    /// Send as `X-CSRF-Token` with every write made with the session cookie.
    pub csrf_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct RegisteredDto {
    pub org: OrgDto,
    pub admin_id: String,
    pub session: SessionDto,
}

#[derive(Serialize, ToSchema)]
pub struct MeDto {
    pub person: PersonDto,
    pub org: OrgDto,
    pub permissions: Vec<String>,
    /// `session` or `token`.
    pub authenticated_by: String,
    /// For session callers: the token to send as `X-CSRF-Token` with writes.
    pub csrf_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TotpEnrolmentDto {
    /// Base32 secret for typing into an authenticator by hand.
    pub secret: String,
    pub otpauth_url: String,
    /// The URL as a QR code (SVG document).
    pub qr_svg: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesDto {
    /// Ten single-use codes, shown this once.
    pub recovery_codes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEventDto {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub source: String,
    pub action: String,
    pub subject: String,
    pub details: BTreeMap<String, String>,
}

impl From<&AuditRecord> for AuditEventDto {
    fn from(r: &AuditRecord) -> Self {
        AuditEventDto {
            seq: r.seq,
            at: r.event.at.to_string(),
            actor: r.event.actor.clone(),
            source: r.event.source.clone(),
            action: r.event.action.clone(),
            subject: r.event.subject.clone(),
            details: r.event.details.iter().cloned().collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEventDto>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Serialize, ToSchema)]
pub struct StatusDto {
    pub status: String,
}

// ----- requests -------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    pub org_name: String,
    pub org_code: String,
    #[serde(default)]
    pub uscc: Option<String>,
    pub admin_name: String,
    #[serde(default)]
    pub admin_phone: Option<String>,
    #[serde(default)]
    pub admin_email: Option<String>,
    pub admin_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub org_code: String,
    /// Mobile number or e-mail address.
    pub login: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// A 6-digit TOTP code, or a recovery code.
    pub code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// A new code, or null to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub uscc: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentBody {
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// A new parent, or null to move to the top level.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Option<String>>,
    /// The department's head (a person id), or null to clear it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub head_id: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonBody {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub department_id: Option<String>,
    #[serde(default)]
    pub role_ids: Vec<String>,
    /// Leave out to generate a temporary password (shown once, changed at first sign-in).
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// An empty string clears it.
    #[serde(default)]
    pub phone: Option<String>,
    /// An empty string clears it.
    #[serde(default)]
    pub email: Option<String>,
    /// A department, or null for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub department_id: Option<Option<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    pub role_ids: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub name: String,
    pub permissions: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeopleQuery {
    pub q: Option<String>,
    pub department_id: Option<String>,
    pub role_id: Option<String>,
    /// `active` or `disabled`.
    pub status: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryParams {
    pub person_id: Option<String>,
    /// Event kind, e.g. `person.disabled`.
    pub action: Option<String>,
    /// Earliest time, RFC 3339 date or date-time (UTC), inclusive.
    pub from: Option<String>,
    /// Latest time, exclusive.
    pub until: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}
