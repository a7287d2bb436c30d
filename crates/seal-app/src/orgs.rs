//! Organisation use cases: self-service registration (the organisation, its six built-in
//! roles and its first admin, in one transaction), reading and editing its settings.

use seal_core::audit::Actor;
use seal_core::ids::{OrgId, PersonId, RoleId};
use seal_core::org::{OrgCode, OrgName, Uscc};
use seal_core::permission::Permission;
use seal_core::person::{Email, PersonName, Phone};
use seal_core::role::{BuiltinRole, RoleKind, RoleName};
use seal_store::{NewPerson, OrgRecord, RoleRecord};

use crate::audit::record;
use crate::auth::{NewSession, insert_session, person_subject};
use crate::error::{Conflict, Invalid};
use crate::password::check_strength;
use crate::policy::{self, Principal};
use crate::{App, AppError, RequestContext, secrets};

/// What the registration form sends.
#[derive(Clone)]
pub struct Registration {
    pub org_name: String,
    pub org_code: String,
    /// Optional unified social credit code.
    pub uscc: Option<String>,
    pub admin_name: String,
    pub admin_phone: Option<String>,
    pub admin_email: Option<String>,
    pub admin_password: String,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("org_name", &self.org_name)
            .field("org_code", &self.org_code)
            .field("admin_password", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A registered organisation and its first admin, signed in.
#[derive(Debug)]
pub struct Registered {
    pub org: OrgRecord,
    pub admin_id: PersonId,
    pub session: NewSession,
}

/// Changes to the organisation's settings.
#[derive(Clone, Debug, Default)]
pub struct OrgUpdate {
    pub name: Option<String>,
    /// `Some(None)` clears the code.
    pub uscc: Option<Option<String>>,
}

/// Parses optional phone and e-mail fields (blank means absent); at least one is needed.
pub(crate) fn parse_logins(
    phone: Option<&str>,
    email: Option<&str>,
) -> Result<(Option<Phone>, Option<Email>), AppError> {
    let phone = phone
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Phone::parse(p).map_err(|_| AppError::invalid("phone", Invalid::Phone)))
        .transpose()?;
    let email = email
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| Email::parse(e).map_err(|_| AppError::invalid("email", Invalid::Email)))
        .transpose()?;
    if phone.is_none() && email.is_none() {
        return Err(AppError::invalid("phone", Invalid::NoLogin));
    }
    Ok((phone, email))
}

pub(crate) fn parse_uscc(input: Option<&str>) -> Result<Option<Uscc>, AppError> {
    input
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| Uscc::parse(u).map_err(|e| AppError::invalid("uscc", Invalid::Uscc(e))))
        .transpose()
}

impl App {
    /// Registers an organisation with its first admin and signs the admin in.
    pub async fn register_org(
        &self,
        registration: &Registration,
        context: &RequestContext,
    ) -> Result<Registered, AppError> {
        let name = OrgName::parse(&registration.org_name)
            .map_err(|e| AppError::invalid("org_name", Invalid::Text(e)))?;
        let code = OrgCode::parse(&registration.org_code)
            .map_err(|e| AppError::invalid("org_code", Invalid::OrgCode(e)))?;
        let uscc = parse_uscc(registration.uscc.as_deref())?;
        let admin_name = PersonName::parse(&registration.admin_name)
            .map_err(|e| AppError::invalid("admin_name", Invalid::Text(e)))?;
        let (phone, email) = parse_logins(
            registration.admin_phone.as_deref(),
            registration.admin_email.as_deref(),
        )
        .map_err(|e| match e {
            AppError::Invalid { field, reason } => AppError::invalid(
                match field {
                    "email" => "admin_email",
                    _ => "admin_phone",
                },
                reason,
            ),
            other => other,
        })?;
        let mut personal = vec![admin_name.as_str(), code.as_str(), name.as_str()];
        personal.extend(phone.as_ref().map(Phone::as_str));
        personal.extend(email.as_ref().map(Email::as_str));
        check_strength(&registration.admin_password, &personal)
            .map_err(|p| AppError::invalid("admin_password", Invalid::Password(p)))?;
        self.limiter()
            .check(None, &context.source)
            .map_err(|retry_after_seconds| AppError::RateLimited {
                retry_after_seconds,
            })?;
        let password_hash = self.hasher().hash(&registration.admin_password).await?;

        let now = self.now();
        let mut tx = self.store().write().await?;
        if tx.org_by_code(&code).await?.is_some() {
            return Err(AppError::Conflict(Conflict::OrgCodeTaken));
        }
        if let Some(uscc) = &uscc
            && tx.uscc_taken(uscc, None).await?
        {
            return Err(AppError::Conflict(Conflict::UsccTaken));
        }
        let org = OrgRecord {
            id: OrgId::from_bytes(secrets::id_bytes()),
            code,
            name,
            uscc,
            created_at: now,
        };
        tx.insert_org(&org).await?;
        let mut admin_role = None;
        for builtin in BuiltinRole::ALL {
            let role = RoleRecord {
                id: RoleId::from_bytes(secrets::id_bytes()),
                org_id: org.id,
                kind: RoleKind::Builtin(builtin),
                name: RoleName::parse(builtin.default_name())
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                created_at: now,
            };
            tx.insert_role(&role).await?;
            if builtin == BuiltinRole::OrgAdmin {
                admin_role = Some(role.id);
            }
        }
        let admin_role =
            admin_role.ok_or_else(|| AppError::Internal("no admin role".to_owned()))?;
        let admin_id = PersonId::from_bytes(secrets::id_bytes());
        tx.insert_person(&NewPerson {
            id: admin_id,
            org_id: org.id,
            name: admin_name,
            phone,
            email,
            department: None,
            password_hash,
            must_change_password: false,
            created_at: now,
        })
        .await?;
        tx.set_person_roles(org.id, admin_id, &[admin_role]).await?;
        let actor = Actor::Person(admin_id);
        record(
            &mut tx,
            now,
            Some(org.id),
            &actor,
            context,
            "org.registered",
            format!("org:{}", org.id),
            vec![
                ("code", org.code.to_string()),
                ("name", org.name.as_str().to_owned()),
            ],
        )
        .await?;
        record(
            &mut tx,
            now,
            Some(org.id),
            &actor,
            context,
            "person.created",
            person_subject(admin_id),
            vec![("roles", BuiltinRole::OrgAdmin.key().to_owned())],
        )
        .await?;
        let session = insert_session(&mut tx, org.id, admin_id, false, now, context).await?;
        tx.commit().await?;
        Ok(Registered {
            org,
            admin_id,
            session,
        })
    }

    /// The caller's organisation, as authentication read it.
    pub fn org(&self, principal: &Principal) -> OrgRecord {
        principal.org.clone()
    }

    /// Edits the organisation's name or credit code.
    pub async fn update_org(
        &self,
        principal: &Principal,
        update: &OrgUpdate,
        context: &RequestContext,
    ) -> Result<OrgRecord, AppError> {
        let permit = policy::authorize(principal, Permission::OrgManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut org = tx
            .org(permit.org())
            .await?
            .ok_or(AppError::NotFound(crate::error::Entity::Organisation))?;
        if let Some(name) = &update.name {
            org.name =
                OrgName::parse(name).map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
        }
        if let Some(uscc) = &update.uscc {
            org.uscc = parse_uscc(uscc.as_deref())?;
            if let Some(code) = &org.uscc
                && tx.uscc_taken(code, Some(org.id)).await?
            {
                return Err(AppError::Conflict(Conflict::UsccTaken));
            }
        }
        tx.update_org(org.id, &org.name, org.uscc.as_ref()).await?;
        record(
            &mut tx,
            now,
            Some(org.id),
            &permit.actor(),
            context,
            "org.updated",
            format!("org:{}", org.id),
            vec![
                ("name", org.name.as_str().to_owned()),
                (
                    "uscc",
                    org.uscc
                        .as_ref()
                        .map(|u| u.as_str().to_owned())
                        .unwrap_or_default(),
                ),
            ],
        )
        .await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(org)
    }
}
