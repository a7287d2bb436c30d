//! The organisation's directory: the department tree, people (create, edit, roles,
//! disable, re-enable, reset password) and roles (built-in and custom). Separation of
//! duties and the last-admin rule are checked before anything is written.

use std::collections::HashMap;

use seal_core::department::{self, DepartmentName};
use seal_core::ids::{DepartmentId, PersonId, RoleId};
use seal_core::permission::{Permission, PermissionSet};
use seal_core::person::{Login, PersonName, PersonStatus};
use seal_core::role::{BuiltinRole, RoleKind, RoleName};
use seal_core::sod;
use seal_store::{DepartmentRecord, NewPerson, PeopleFilter, PersonRecord, RoleRecord, Tx};

use crate::audit::record_by;
use crate::auth::person_subject;
use crate::error::{Conflict, Entity, Invalid};
use crate::orgs::parse_logins;
use crate::password::check_strength;
use crate::policy::{self, Permit, Principal};
use crate::{App, AppError, RequestContext, secrets};

/// A page of a list: 1-based page number and page size (1–100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub number: i64,
    pub size: i64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            number: 1,
            size: 20,
        }
    }
}

impl Page {
    pub const MAX_SIZE: i64 = 100;

    /// Clamps to sensible bounds.
    pub fn new(number: Option<i64>, size: Option<i64>) -> Page {
        Page {
            number: number.unwrap_or(1).max(1),
            size: size.unwrap_or(20).clamp(1, Self::MAX_SIZE),
        }
    }

    pub fn offset(&self) -> i64 {
        (self.number - 1).saturating_mul(self.size)
    }

    pub fn limit(&self) -> i64 {
        self.size
    }
}

/// Changes to a department; absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct DepartmentUpdate {
    pub name: Option<String>,
    /// `Some(None)` moves it to the top level.
    pub parent: Option<Option<DepartmentId>>,
    /// `Some(None)` clears the head; the head must be an active person of the
    /// organisation.
    pub head: Option<Option<PersonId>>,
}

/// A new person, from the admin's form.
#[derive(Clone)]
pub struct PersonInput {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub department: Option<DepartmentId>,
    pub roles: Vec<RoleId>,
    /// When absent a temporary password is generated and must be changed at first sign-in.
    pub password: Option<String>,
}

impl std::fmt::Debug for PersonInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonInput")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// A person just created, with the temporary password when one was generated.
pub struct CreatedPerson {
    pub person: PersonRecord,
    pub roles: Vec<RoleRecord>,
    pub temporary_password: Option<String>,
}

/// Changes to a person's details; absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct PersonUpdate {
    pub name: Option<String>,
    /// `Some("")` clears it (one of phone and e-mail must remain).
    pub phone: Option<String>,
    pub email: Option<String>,
    /// `Some(None)` takes the person out of any department.
    pub department: Option<Option<DepartmentId>>,
}

/// A person with the roles they hold.
#[derive(Clone, Debug)]
pub struct PersonView {
    pub person: PersonRecord,
    pub roles: Vec<RoleRecord>,
}

/// A new or changed custom role.
#[derive(Clone, Debug, Default)]
pub struct RoleInput {
    pub name: Option<String>,
    pub permissions: Option<Vec<String>>,
}

/// Parses permission keys given in request `field`; at least one is needed.
pub(crate) fn parse_permissions(
    field: &'static str,
    keys: &[String],
) -> Result<PermissionSet, AppError> {
    let set = keys
        .iter()
        .map(|key| {
            Permission::parse(key.trim())
                .ok_or_else(|| AppError::invalid(field, Invalid::UnknownPermission(key.clone())))
        })
        .collect::<Result<PermissionSet, _>>()?;
    if set.is_empty() {
        return Err(AppError::invalid(field, Invalid::NoPermissions));
    }
    Ok(set)
}

impl std::fmt::Debug for CreatedPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedPerson")
            .field("person", &self.person)
            .field(
                "temporary_password",
                &self.temporary_password.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl App {
    // ----- departments ---------------------------------------------------------------

    /// Every department of the caller's organisation.
    pub async fn list_departments(
        &self,
        principal: &Principal,
    ) -> Result<Vec<DepartmentRecord>, AppError> {
        let permit = policy::authorize(principal, Permission::PeopleRead)?;
        let mut tx = self.store().read().await?;
        let departments = tx.departments(permit.org()).await?;
        tx.commit().await?;
        Ok(departments)
    }

    pub async fn create_department(
        &self,
        principal: &Principal,
        name: &str,
        parent: Option<DepartmentId>,
        context: &RequestContext,
    ) -> Result<DepartmentRecord, AppError> {
        let permit = policy::authorize(principal, Permission::DepartmentsManage)?;
        let name =
            DepartmentName::parse(name).map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let all = tx.departments(permit.org()).await?;
        check_parent_and_name(&all, None, parent, &name)?;
        let department = DepartmentRecord {
            id: DepartmentId::from_bytes(secrets::id_bytes()),
            org_id: permit.org(),
            parent,
            name,
            head: None,
            created_at: now,
        };
        tx.insert_department(&department).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "department.created",
            format!("department:{}", department.id),
            vec![
                ("name", department.name.as_str().to_owned()),
                ("parent", parent.map(|p| p.to_string()).unwrap_or_default()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(department)
    }

    /// Renames and/or moves a department (never under itself or its descendants).
    pub async fn update_department(
        &self,
        principal: &Principal,
        id: DepartmentId,
        update: &DepartmentUpdate,
        context: &RequestContext,
    ) -> Result<DepartmentRecord, AppError> {
        let permit = policy::authorize(principal, Permission::DepartmentsManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let all = tx.departments(permit.org()).await?;
        let mut department = all
            .iter()
            .find(|d| d.id == id)
            .cloned()
            .ok_or(AppError::NotFound(Entity::Department))?;
        let old_name = department.name.clone();
        let old_parent = department.parent;
        let old_head = department.head;
        if let Some(head) = update.head {
            if let Some(person) = head {
                let active = tx
                    .person(permit.org(), person)
                    .await?
                    .is_some_and(|p| p.status == PersonStatus::Active);
                if !active {
                    return Err(AppError::invalid("head", Invalid::UnknownPerson));
                }
            }
            department.head = head;
        }
        if let Some(name) = &update.name {
            department.name = DepartmentName::parse(name)
                .map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
        }
        if let Some(parent) = update.parent {
            department.parent = parent;
        }
        check_parent_and_name(&all, Some(id), department.parent, &department.name)?;
        tx.update_department(
            permit.org(),
            id,
            &department.name,
            department.parent,
            department.head,
        )
        .await?;
        let mut details = vec![];
        if department.name != old_name {
            details.push(("name", department.name.as_str().to_owned()));
            details.push(("old_name", old_name.as_str().to_owned()));
        }
        if department.head != old_head {
            details.push((
                "head",
                department.head.map(|p| p.to_string()).unwrap_or_default(),
            ));
        }
        if department.parent != old_parent {
            details.push((
                "parent",
                department.parent.map(|p| p.to_string()).unwrap_or_default(),
            ));
            details.push((
                "old_parent",
                old_parent.map(|p| p.to_string()).unwrap_or_default(),
            ));
        }
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "department.updated",
            format!("department:{id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(department)
    }

    /// Deletes a department that has no people and no sub-departments.
    pub async fn delete_department(
        &self,
        principal: &Principal,
        id: DepartmentId,
        context: &RequestContext,
    ) -> Result<(), AppError> {
        let permit = policy::authorize(principal, Permission::DepartmentsManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let department = tx
            .department(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Department))?;
        let (people, children) = tx.department_contents(permit.org(), id).await?;
        if people > 0 || children > 0 {
            return Err(AppError::Conflict(Conflict::DepartmentNotEmpty {
                people,
                children,
            }));
        }
        tx.delete_department(permit.org(), id).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "department.deleted",
            format!("department:{id}"),
            vec![("name", department.name.as_str().to_owned())],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- people --------------------------------------------------------------------

    pub async fn list_people(
        &self,
        principal: &Principal,
        filter: &PeopleFilter,
    ) -> Result<(Vec<PersonRecord>, i64), AppError> {
        let permit = policy::authorize(principal, Permission::PeopleRead)?;
        let mut tx = self.store().read().await?;
        let result = tx.people(permit.org(), filter).await?;
        tx.commit().await?;
        Ok(result)
    }

    pub async fn get_person(
        &self,
        principal: &Principal,
        id: PersonId,
    ) -> Result<PersonView, AppError> {
        let permit = policy::authorize(principal, Permission::PeopleRead)?;
        let mut tx = self.store().read().await?;
        let view = person_view(&mut tx, &permit, id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The caller's own record and roles, as authentication read them (no further reads:
    /// this answers on every page load).
    pub fn me(&self, principal: &Principal) -> PersonView {
        PersonView {
            person: principal.person.clone(),
            roles: principal.roles.clone(),
        }
    }

    /// Creates (invites) a person with roles.
    pub async fn create_person(
        &self,
        principal: &Principal,
        input: &PersonInput,
        context: &RequestContext,
    ) -> Result<CreatedPerson, AppError> {
        let permit = policy::authorize(principal, Permission::PeopleManage)?;
        let name = PersonName::parse(&input.name)
            .map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
        let (phone, email) = parse_logins(input.phone.as_deref(), input.email.as_deref())?;
        let (password, temporary_password) = match &input.password {
            Some(password) => {
                let mut personal = vec![name.as_str(), principal.org.code.as_str()];
                personal.extend(phone.as_ref().map(|p| p.as_str()));
                personal.extend(email.as_ref().map(|e| e.as_str()));
                check_strength(password, &personal)
                    .map_err(|p| AppError::invalid("password", Invalid::Password(p)))?;
                (password.clone(), None)
            }
            None => {
                let generated = secrets::temporary_password();
                (generated.clone(), Some(generated))
            }
        };
        let password_hash = self.hasher().hash(&password).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        for login in [
            phone.clone().map(Login::Phone),
            email.clone().map(Login::Email),
        ]
        .into_iter()
        .flatten()
        {
            if tx.login_taken(permit.org(), &login, None).await? {
                return Err(AppError::Conflict(Conflict::LoginTaken));
            }
        }
        if let Some(department) = input.department {
            tx.department(permit.org(), department)
                .await?
                .ok_or(AppError::invalid("department", Invalid::UnknownDepartment))?;
        }
        let roles = resolve_roles(&mut tx, &permit, &input.roles).await?;
        check_role_change(principal, &roles)?;
        let id = PersonId::from_bytes(secrets::id_bytes());
        tx.insert_person(&NewPerson {
            id,
            org_id: permit.org(),
            name,
            phone,
            email,
            department: input.department,
            password_hash,
            must_change_password: temporary_password.is_some(),
            created_at: now,
        })
        .await?;
        let role_ids: Vec<RoleId> = roles.iter().map(|r| r.id).collect();
        tx.set_person_roles(permit.org(), id, &role_ids).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "person.created",
            person_subject(id),
            vec![
                ("roles", role_keys(&roles)),
                (
                    "department",
                    input.department.map(|d| d.to_string()).unwrap_or_default(),
                ),
            ],
        )
        .await?;
        let person = existing_person(&mut tx, &permit, id).await?;
        tx.commit().await?;
        Ok(CreatedPerson {
            person,
            roles,
            temporary_password,
        })
    }

    /// Edits a person's name, phone, e-mail or department.
    pub async fn update_person(
        &self,
        principal: &Principal,
        id: PersonId,
        update: &PersonUpdate,
        context: &RequestContext,
    ) -> Result<PersonRecord, AppError> {
        let permit = policy::authorize(principal, Permission::PeopleManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let mut person = existing_person(&mut tx, &permit, id).await?;
        managed_person_roles(&mut tx, principal, &permit, id).await?;
        if let Some(name) = &update.name {
            person.name =
                PersonName::parse(name).map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
        }
        let phone_text = match &update.phone {
            Some(p) => Some(p.clone()),
            None => person.phone.as_ref().map(|p| p.to_string()),
        };
        let email_text = match &update.email {
            Some(e) => Some(e.clone()),
            None => person.email.as_ref().map(|e| e.to_string()),
        };
        let (phone, email) = parse_logins(phone_text.as_deref(), email_text.as_deref())?;
        for login in [
            phone.clone().map(Login::Phone),
            email.clone().map(Login::Email),
        ]
        .into_iter()
        .flatten()
        {
            if tx.login_taken(permit.org(), &login, Some(id)).await? {
                return Err(AppError::Conflict(Conflict::LoginTaken));
            }
        }
        if let Some(department) = update.department {
            if let Some(department) = department {
                tx.department(permit.org(), department)
                    .await?
                    .ok_or(AppError::invalid("department", Invalid::UnknownDepartment))?;
            }
            person.department = department;
        }
        person.phone = phone;
        person.email = email;
        tx.update_person(&person, now).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "person.updated",
            person_subject(id),
            vec![
                ("name", person.name.as_str().to_owned()),
                (
                    "department",
                    person.department.map(|d| d.to_string()).unwrap_or_default(),
                ),
            ],
        )
        .await?;
        let person = existing_person(&mut tx, &permit, id).await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(person)
    }

    /// Replaces the roles a person holds.
    pub async fn set_person_roles(
        &self,
        principal: &Principal,
        id: PersonId,
        role_ids: &[RoleId],
        context: &RequestContext,
    ) -> Result<PersonView, AppError> {
        // A session only: role changes are how rights move; tokens do not move them.
        let permit = policy::authorize_interactive(principal, Permission::PeopleManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let person = existing_person(&mut tx, &permit, id).await?;
        let roles = resolve_roles(&mut tx, &permit, role_ids).await?;
        check_role_change(principal, &roles)?;
        let current = managed_person_roles(&mut tx, principal, &permit, id).await?;
        let was_admin = holds(&current, BuiltinRole::OrgAdmin);
        if was_admin
            && !holds(&roles, BuiltinRole::OrgAdmin)
            && person.status == PersonStatus::Active
        {
            ensure_admin_remains(&mut tx, &permit, &current).await?;
        }
        let ids: Vec<RoleId> = roles.iter().map(|r| r.id).collect();
        tx.set_person_roles(permit.org(), id, &ids).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "person.roles_changed",
            person_subject(id),
            vec![
                ("roles", role_keys(&roles)),
                ("old_roles", role_keys(&current)),
            ],
        )
        .await?;
        let view = person_view(&mut tx, &permit, id).await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(view)
    }

    /// Disables a person: their sessions end at once and they cannot sign in.
    pub async fn disable_person(
        &self,
        principal: &Principal,
        id: PersonId,
        context: &RequestContext,
    ) -> Result<PersonRecord, AppError> {
        let permit = policy::authorize(principal, Permission::PeopleManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let person = existing_person(&mut tx, &permit, id).await?;
        if person.status == PersonStatus::Active {
            let roles = managed_person_roles(&mut tx, principal, &permit, id).await?;
            ensure_admin_remains(&mut tx, &permit, &roles).await?;
            tx.set_person_status(permit.org(), id, PersonStatus::Disabled, now)
                .await?;
            let ended = tx.delete_sessions_of(permit.org(), id).await?;
            let revoked = tx.revoke_api_tokens_of(permit.org(), id, now).await?;
            record_by(
                &mut tx,
                &permit,
                now,
                context,
                "person.disabled",
                person_subject(id),
                vec![
                    ("sessions_ended", ended.to_string()),
                    ("tokens_revoked", revoked.to_string()),
                ],
            )
            .await?;
        }
        let person = existing_person(&mut tx, &permit, id).await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(person)
    }

    pub async fn enable_person(
        &self,
        principal: &Principal,
        id: PersonId,
        context: &RequestContext,
    ) -> Result<PersonRecord, AppError> {
        let permit = policy::authorize(principal, Permission::PeopleManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let person = existing_person(&mut tx, &permit, id).await?;
        managed_person_roles(&mut tx, principal, &permit, id).await?;
        if person.status == PersonStatus::Disabled {
            tx.set_person_status(permit.org(), id, PersonStatus::Active, now)
                .await?;
            record_by(
                &mut tx,
                &permit,
                now,
                context,
                "person.enabled",
                person_subject(id),
                vec![],
            )
            .await?;
        }
        let person = existing_person(&mut tx, &permit, id).await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(person)
    }

    /// Sets a temporary password (returned once) that must be changed at next sign-in;
    /// the person's sessions end.
    pub async fn reset_password(
        &self,
        principal: &Principal,
        id: PersonId,
        context: &RequestContext,
    ) -> Result<String, AppError> {
        // A session only: a leaked integration token must not mint passwords for others.
        let permit = policy::authorize_interactive(principal, Permission::PeopleManage)?;
        let temporary = secrets::temporary_password();
        let hash = self.hasher().hash(&temporary).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        existing_person(&mut tx, &permit, id).await?;
        managed_person_roles(&mut tx, principal, &permit, id).await?;
        tx.set_password(permit.org(), id, &hash, true, now).await?;
        let ended = tx.delete_sessions_of(permit.org(), id).await?;
        let revoked = tx.revoke_api_tokens_of(permit.org(), id, now).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "person.password_reset",
            person_subject(id),
            vec![
                ("sessions_ended", ended.to_string()),
                ("tokens_revoked", revoked.to_string()),
            ],
        )
        .await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(temporary)
    }

    // ----- roles ---------------------------------------------------------------------

    pub async fn list_roles(&self, principal: &Principal) -> Result<Vec<RoleRecord>, AppError> {
        let permit = policy::authorize(principal, Permission::PeopleRead)?;
        let mut tx = self.store().read().await?;
        let roles = tx.roles(permit.org()).await?;
        tx.commit().await?;
        Ok(roles)
    }

    pub async fn create_role(
        &self,
        principal: &Principal,
        input: &RoleInput,
        context: &RequestContext,
    ) -> Result<RoleRecord, AppError> {
        let permit = policy::authorize(principal, Permission::RolesManage)?;
        let name = RoleName::parse(input.name.as_deref().unwrap_or_default())
            .map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
        let permissions = parse_permissions(
            "permissions",
            input.permissions.as_deref().unwrap_or_default(),
        )?;
        policy::check_grant(principal, permissions)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        if tx.role_name_taken(permit.org(), &name, None).await? {
            return Err(AppError::Conflict(Conflict::RoleNameTaken));
        }
        let role = RoleRecord {
            id: RoleId::from_bytes(secrets::id_bytes()),
            org_id: permit.org(),
            kind: RoleKind::Custom(permissions),
            name,
            created_at: now,
        };
        tx.insert_role(&role).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "role.created",
            format!("role:{}", role.id),
            vec![
                ("name", role.name.as_str().to_owned()),
                ("permissions", permission_keys(permissions)),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(role)
    }

    /// Renames a custom role or changes its permissions; every holder must still satisfy
    /// separation of duties with the new permissions.
    pub async fn update_role(
        &self,
        principal: &Principal,
        id: RoleId,
        input: &RoleInput,
        context: &RequestContext,
    ) -> Result<RoleRecord, AppError> {
        let permit = policy::authorize(principal, Permission::RolesManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let mut role = tx
            .role(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Role))?;
        let RoleKind::Custom(old_permissions) = role.kind else {
            return Err(AppError::Conflict(Conflict::BuiltinRoleFixed));
        };
        if let Some(name) = &input.name {
            role.name =
                RoleName::parse(name).map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
            if tx
                .role_name_taken(permit.org(), &role.name, Some(id))
                .await?
            {
                return Err(AppError::Conflict(Conflict::RoleNameTaken));
            }
        }
        let mut permissions = old_permissions;
        if let Some(keys) = &input.permissions {
            permissions = parse_permissions("permissions", keys)?;
            policy::check_grant(principal, permissions)?;
        }
        role.kind = RoleKind::Custom(permissions);
        for holder in tx.role_holders(permit.org(), id).await? {
            let mut kinds: Vec<RoleKind> = tx
                .person_roles(permit.org(), holder)
                .await?
                .into_iter()
                .filter(|r| r.id != id)
                .map(|r| r.kind)
                .collect();
            kinds.push(role.kind);
            sod::check_role_set(&kinds).map_err(AppError::SeparationOfDuties)?;
        }
        tx.update_role(permit.org(), &role).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "role.updated",
            format!("role:{id}"),
            vec![
                ("name", role.name.as_str().to_owned()),
                ("permissions", permission_keys(permissions)),
            ],
        )
        .await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(role)
    }

    /// Deletes a custom role nobody holds.
    pub async fn delete_role(
        &self,
        principal: &Principal,
        id: RoleId,
        context: &RequestContext,
    ) -> Result<(), AppError> {
        let permit = policy::authorize(principal, Permission::RolesManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let role = tx
            .role(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Role))?;
        if matches!(role.kind, RoleKind::Builtin(_)) {
            return Err(AppError::Conflict(Conflict::BuiltinRoleFixed));
        }
        let holders = tx.role_holders(permit.org(), id).await?.len() as i64;
        if holders > 0 {
            return Err(AppError::Conflict(Conflict::RoleInUse { holders }));
        }
        tx.delete_role(permit.org(), id).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "role.deleted",
            format!("role:{id}"),
            vec![("name", role.name.as_str().to_owned())],
        )
        .await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(())
    }
}

/// Checks a department's new parent exists, makes no cycle, keeps depth, and that no
/// sibling has the same name.
fn check_parent_and_name(
    all: &[DepartmentRecord],
    moving: Option<DepartmentId>,
    parent: Option<DepartmentId>,
    name: &DepartmentName,
) -> Result<(), AppError> {
    let parents: HashMap<DepartmentId, Option<DepartmentId>> =
        all.iter().map(|d| (d.id, d.parent)).collect();
    if let Some(parent) = parent
        && !parents.contains_key(&parent)
    {
        return Err(AppError::invalid("parent", Invalid::UnknownDepartment));
    }
    let height = moving.map_or(1, |id| subtree_height(all, id));
    department::check_placement(moving, height, parent, |d| {
        parents.get(&d).copied().flatten()
    })
    .map_err(|e| AppError::invalid("parent", Invalid::Tree(e)))?;
    if all
        .iter()
        .any(|d| Some(d.id) != moving && d.parent == parent && d.name == *name)
    {
        return Err(AppError::Conflict(Conflict::DepartmentNameTaken));
    }
    Ok(())
}

fn subtree_height(all: &[DepartmentRecord], root: DepartmentId) -> usize {
    let mut height = 1;
    let mut level = vec![root];
    while !level.is_empty() && height <= department::MAX_DEPTH {
        level = all
            .iter()
            .filter(|d| d.parent.is_some_and(|p| level.contains(&p)))
            .map(|d| d.id)
            .collect();
        if !level.is_empty() {
            height += 1;
        }
    }
    height
}

/// A person of the permit's organisation, or not found.
async fn existing_person(
    tx: &mut Tx,
    permit: &Permit,
    id: PersonId,
) -> Result<PersonRecord, AppError> {
    tx.person(permit.org(), id)
        .await?
        .ok_or(AppError::NotFound(Entity::Person))
}

/// The roles of a person the caller is about to manage, after checking the caller may
/// manage them (see [`policy::check_may_manage`]). Takes the organisation's write lock
/// first so that rules over several people (the last admin) hold under concurrency.
async fn managed_person_roles(
    tx: &mut Tx,
    principal: &Principal,
    permit: &Permit,
    id: PersonId,
) -> Result<Vec<RoleRecord>, AppError> {
    tx.lock_org(permit.org()).await?;
    let roles = tx.person_roles(permit.org(), id).await?;
    let held = policy::permissions_of(&roles);
    policy::check_may_manage(principal, held)?;
    Ok(roles)
}

/// Refuses to take the org-admin role from `roles`' holder when they are the last
/// active admin.
async fn ensure_admin_remains(
    tx: &mut Tx,
    permit: &Permit,
    roles: &[RoleRecord],
) -> Result<(), AppError> {
    if holds(roles, BuiltinRole::OrgAdmin)
        && tx
            .active_holders_of(permit.org(), BuiltinRole::OrgAdmin)
            .await?
            <= 1
    {
        return Err(AppError::Conflict(Conflict::LastAdmin));
    }
    Ok(())
}

async fn person_view(tx: &mut Tx, permit: &Permit, id: PersonId) -> Result<PersonView, AppError> {
    let person = existing_person(tx, permit, id).await?;
    let roles = tx.person_roles(permit.org(), id).await?;
    Ok(PersonView { person, roles })
}

async fn resolve_roles(
    tx: &mut Tx,
    permit: &Permit,
    ids: &[RoleId],
) -> Result<Vec<RoleRecord>, AppError> {
    let mut roles: Vec<RoleRecord> = Vec::with_capacity(ids.len());
    for id in ids {
        if roles.iter().any(|r| r.id == *id) {
            continue;
        }
        let role = tx
            .role(permit.org(), *id)
            .await?
            .ok_or(AppError::invalid("roles", Invalid::UnknownRole))?;
        roles.push(role);
    }
    Ok(roles)
}

/// Separation of duties over the new role set, and no granting beyond one's own rights.
fn check_role_change(principal: &Principal, roles: &[RoleRecord]) -> Result<(), AppError> {
    let kinds: Vec<RoleKind> = roles.iter().map(|r| r.kind).collect();
    sod::check_role_set(&kinds).map_err(AppError::SeparationOfDuties)?;
    let granted = kinds.iter().fold(PermissionSet::EMPTY, |acc, kind| {
        acc.union(kind.permissions())
    });
    policy::check_grant(principal, granted)
}

fn holds(roles: &[RoleRecord], builtin: BuiltinRole) -> bool {
    roles.iter().any(|r| r.kind == RoleKind::Builtin(builtin))
}

fn role_keys(roles: &[RoleRecord]) -> String {
    roles
        .iter()
        .map(|r| match r.kind {
            RoleKind::Builtin(b) => b.key().to_owned(),
            RoleKind::Custom(_) => format!("custom:{}", r.id),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn permission_keys(permissions: PermissionSet) -> String {
    permissions
        .iter()
        .map(Permission::key)
        .collect::<Vec<_>>()
        .join(" ")
}
