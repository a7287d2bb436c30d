//! Directory pages: the department tree, people (search, filter, paginate, create, edit,
//! roles, disable, re-enable, reset password) and roles (built-in and custom).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum_extra::extract::Form;
use seal_app::directory::{
    DepartmentUpdate, Page as ListPage, PersonInput, PersonUpdate, RoleInput,
};
use seal_core::ids::{DepartmentId, PersonId, RoleId};
use seal_core::permission::{Permission, PermissionSet};
use seal_core::person::PersonStatus;
use seal_core::role::RoleKind;
use seal_store::{DepartmentRecord, PeopleFilter, RoleRecord};
use serde::Deserialize;

use crate::AppState;
use crate::extract::Context;
use crate::web::{Chrome, FieldErrors, Page, PageError, Pager, Tr, redirect_with_flash, render};

/// A role's name as people read it: built-in roles in the reader's language.
pub fn role_label(t: Tr, role: &RoleRecord) -> String {
    match role.kind {
        RoleKind::Builtin(builtin) => t.get(&format!("role.{}", builtin.key())).to_owned(),
        RoleKind::Custom(_) => role.name.as_str().to_owned(),
    }
}

/// A permission's name in the reader's language.
pub fn permission_label(t: Tr, permission: Permission) -> &'static str {
    t.get(&format!("permission.{}", permission.key()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordOnly {
    pub password: String,
}

fn parse_id<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>) -> Result<T, PageError> {
    parse(text).map_err(|_| PageError::NotFound)
}

fn optional_id<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>) -> Option<T> {
    Some(text.trim())
        .filter(|t| !t.is_empty())
        .and_then(|t| parse(t).ok())
}

// ----- departments -------------------------------------------------------------------------

/// A department in tree order, indented by its depth.
pub struct TreeRow {
    pub id: String,
    pub name: String,
    pub indent: String,
}

/// Departments depth-first, children by name under their parent.
pub fn tree_rows(departments: &[DepartmentRecord]) -> Vec<TreeRow> {
    let mut children: HashMap<Option<DepartmentId>, Vec<&DepartmentRecord>> = HashMap::new();
    for d in departments {
        children.entry(d.parent).or_default().push(d);
    }
    let mut rows = Vec::with_capacity(departments.len());
    let mut stack: Vec<(&DepartmentRecord, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|d| (*d, 0)).collect())
        .unwrap_or_default();
    while let Some((department, depth)) = stack.pop() {
        rows.push(TreeRow {
            id: department.id.to_string(),
            name: department.name.as_str().to_owned(),
            indent: "— ".repeat(depth),
        });
        if depth < seal_core::department::MAX_DEPTH
            && let Some(kids) = children.get(&Some(department.id))
        {
            stack.extend(kids.iter().rev().map(|d| (*d, depth + 1)));
        }
    }
    rows
}

#[derive(Template)]
#[template(path = "departments.html")]
struct DepartmentsPage {
    chrome: Chrome,
    rows: Vec<TreeRow>,
    can_manage: bool,
    errors: FieldErrors,
    name: String,
    parent_id: String,
}

/// The department tree, with a form to add one.
#[utoipa::path(get, path = "/departments", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn departments(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let principal = page.require()?;
    let all = state.app.list_departments(principal).await?;
    render(&DepartmentsPage {
        chrome: page.chrome("departments.title"),
        rows: tree_rows(&all),
        can_manage: principal
            .permissions
            .contains(Permission::DepartmentsManage),
        errors: FieldErrors::default(),
        name: String::new(),
        parent_id: String::new(),
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DepartmentForm {
    name: String,
    #[serde(default)]
    parent_id: String,
    /// Only on the edit form; empty clears the head.
    #[serde(default)]
    head_id: String,
}

/// Creates a department.
#[utoipa::path(post, path = "/departments", tag = "web", responses((status = 303, description = "Created"), (status = 200, description = "The page again, with errors")))]
pub async fn create_department(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(form): Form<DepartmentForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let parent = optional_id(&form.parent_id, DepartmentId::parse);
    match state
        .app
        .create_department(principal, &form.name, parent, &context)
        .await
    {
        Ok(_) => Ok(redirect_with_flash(
            "/departments",
            "flash.department_created",
            true,
        )),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            let all = state.app.list_departments(principal).await?;
            render(&DepartmentsPage {
                chrome: page.chrome("departments.title"),
                rows: tree_rows(&all),
                can_manage: true,
                errors,
                name: form.name,
                parent_id: form.parent_id,
            })
        }
    }
}

#[derive(Template)]
#[template(path = "department_edit.html")]
struct DepartmentEditPage {
    chrome: Chrome,
    id: String,
    rows: Vec<TreeRow>,
    errors: FieldErrors,
    name: String,
    parent_id: String,
    /// Active people who may be named head (empty when the editor cannot read people).
    people: Vec<(String, String)>,
    head_id: String,
}

async fn department_edit_page(
    state: &AppState,
    page: &Page,
    id: DepartmentId,
    errors: FieldErrors,
    typed: Option<DepartmentForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    if !principal
        .permissions
        .contains(Permission::DepartmentsManage)
    {
        return Err(PageError::Forbidden);
    }
    let all = state.app.list_departments(principal).await?;
    let department = all.iter().find(|d| d.id == id).ok_or(PageError::NotFound)?;
    let (name, parent_id, head_id) = match typed {
        Some(form) => (form.name, form.parent_id, form.head_id),
        None => (
            department.name.as_str().to_owned(),
            department.parent.map(|p| p.to_string()).unwrap_or_default(),
            department.head.map(|p| p.to_string()).unwrap_or_default(),
        ),
    };
    let filter = seal_store::PeopleFilter {
        status: Some(seal_core::person::PersonStatus::Active),
        limit: 1000,
        ..Default::default()
    };
    let people = match state.app.list_people(principal, &filter).await {
        Ok((people, _)) => people
            .iter()
            .map(|p| (p.id.to_string(), p.name.as_str().to_owned()))
            .collect(),
        Err(seal_app::AppError::Forbidden) => Vec::new(),
        Err(error) => return Err(error.into()),
    };
    render(&DepartmentEditPage {
        chrome: page.chrome("departments.edit"),
        id: id.to_string(),
        rows: tree_rows(&all),
        errors,
        name,
        parent_id,
        people,
        head_id,
    })
}

/// Rename or move a department.
#[utoipa::path(get, path = "/departments/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn edit_department(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.require()?;
    let id = parse_id(&id, DepartmentId::parse)?;
    department_edit_page(&state, &page, id, FieldErrors::default(), None).await
}

/// Saves a department's name and place.
#[utoipa::path(post, path = "/departments/{id}", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Saved"), (status = 200, description = "The form again, with errors")))]
pub async fn update_department(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<DepartmentForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, DepartmentId::parse)?;
    let update = DepartmentUpdate {
        name: Some(form.name.clone()),
        parent: Some(optional_id(&form.parent_id, DepartmentId::parse)),
        head: Some(optional_id(&form.head_id, PersonId::parse)),
    };
    match state
        .app
        .update_department(principal, id, &update, &context)
        .await
    {
        Ok(_) => Ok(redirect_with_flash("/departments", "flash.saved", true)),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            department_edit_page(&state, &page, id, errors, Some(form)).await
        }
    }
}

/// Deletes an empty department.
#[utoipa::path(post, path = "/departments/{id}/delete", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Deleted"), (status = 200, description = "The form again, with the reason")))]
pub async fn delete_department(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, DepartmentId::parse)?;
    match state.app.delete_department(principal, id, &context).await {
        Ok(()) => Ok(redirect_with_flash(
            "/departments",
            "flash.department_deleted",
            true,
        )),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            department_edit_page(&state, &page, id, errors, None).await
        }
    }
}

// ----- people ------------------------------------------------------------------------------

pub struct PersonRow {
    pub id: String,
    pub name: String,
    pub login: String,
    pub department: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    chrome: Chrome,
    can_manage: bool,
    people: Vec<PersonRow>,
    departments: Vec<(String, String)>,
    roles: Vec<(String, String)>,
    q: String,
    department_id: String,
    role_id: String,
    status: String,
    pager: Pager,
}

#[derive(Deserialize, Default)]
pub struct PeopleQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    role_id: String,
    #[serde(default)]
    status: String,
    page: Option<i64>,
}

/// People, searched, filtered and paginated.
#[utoipa::path(get, path = "/people", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn people(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<PeopleQuery>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let list_page = ListPage::new(query.page, Some(20));
    let filter = PeopleFilter {
        query: Some(query.q.trim().to_owned()).filter(|q| !q.is_empty()),
        department: optional_id(&query.department_id, DepartmentId::parse),
        role: optional_id(&query.role_id, RoleId::parse),
        status: PersonStatus::parse(&query.status),
        offset: list_page.offset(),
        limit: list_page.limit(),
    };
    let (people, total) = state.app.list_people(principal, &filter).await?;
    let departments = state.app.list_departments(principal).await?;
    let names: HashMap<DepartmentId, String> = departments
        .iter()
        .map(|d| (d.id, d.name.as_str().to_owned()))
        .collect();
    let roles = state.app.list_roles(principal).await?;
    let pairs = [
        ("q", query.q.as_str()),
        ("department_id", query.department_id.as_str()),
        ("role_id", query.role_id.as_str()),
        ("status", query.status.as_str()),
    ];
    let pager = Pager::new("/people", &pairs, list_page, total);
    render(&PeoplePage {
        chrome: page.chrome("people.title"),
        can_manage: principal.permissions.contains(Permission::PeopleManage),
        people: people
            .iter()
            .map(|p| PersonRow {
                id: p.id.to_string(),
                name: p.name.as_str().to_owned(),
                login: p
                    .phone
                    .as_ref()
                    .map(|x| x.to_string())
                    .or_else(|| p.email.as_ref().map(|x| x.to_string()))
                    .unwrap_or_default(),
                department: p
                    .department
                    .and_then(|d| names.get(&d).cloned())
                    .unwrap_or_default(),
                active: p.status == PersonStatus::Active,
            })
            .collect(),
        departments: tree_rows(&departments)
            .into_iter()
            .map(|r| (r.id, format!("{}{}", r.indent, r.name)))
            .collect(),
        roles: roles
            .iter()
            .map(|r| (r.id.to_string(), role_label(page.t, r)))
            .collect(),
        q: query.q,
        department_id: query.department_id,
        role_id: query.role_id,
        status: query.status,
        pager,
    })
}

pub struct RoleChoice {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "person_form.html")]
struct PersonFormPage {
    chrome: Chrome,
    id: Option<String>,
    active: bool,
    errors: FieldErrors,
    name: String,
    phone: String,
    email: String,
    department_id: String,
    departments: Vec<(String, String)>,
    roles: Vec<RoleChoice>,
    temporary_password: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct PersonForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    role_ids: Vec<String>,
    #[serde(default)]
    password: String,
}

async fn person_form_page(
    state: &AppState,
    page: &Page,
    id: Option<PersonId>,
    form: PersonForm,
    errors: FieldErrors,
    temporary_password: Option<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    if !principal.permissions.contains(Permission::PeopleManage) {
        return Err(PageError::Forbidden);
    }
    let departments = state.app.list_departments(principal).await?;
    let roles = state.app.list_roles(principal).await?;
    let active = match id {
        Some(id) => {
            state.app.get_person(principal, id).await?.person.status == PersonStatus::Active
        }
        None => true,
    };
    render(&PersonFormPage {
        chrome: page.chrome(if id.is_some() {
            "people.edit"
        } else {
            "people.new"
        }),
        id: id.map(|i| i.to_string()),
        active,
        errors,
        departments: tree_rows(&departments)
            .into_iter()
            .map(|r| (r.id, format!("{}{}", r.indent, r.name)))
            .collect(),
        roles: roles
            .iter()
            .map(|r| RoleChoice {
                id: r.id.to_string(),
                label: role_label(page.t, r),
                checked: form.role_ids.contains(&r.id.to_string()),
            })
            .collect(),
        name: form.name,
        phone: form.phone,
        email: form.email,
        department_id: form.department_id,
        temporary_password,
    })
}

/// The form for a new person.
#[utoipa::path(get, path = "/people/new", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn new_person(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    person_form_page(
        &state,
        &page,
        None,
        PersonForm::default(),
        FieldErrors::default(),
        None,
    )
    .await
}

fn role_ids(form: &PersonForm) -> Vec<RoleId> {
    form.role_ids
        .iter()
        .filter_map(|r| RoleId::parse(r).ok())
        .collect()
}

/// Creates (invites) a person; shows the temporary password once when none was given.
#[utoipa::path(post, path = "/people", tag = "web", responses((status = 200, description = "The new person, or the form again with errors")))]
pub async fn create_person(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(form): Form<PersonForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let input = PersonInput {
        name: form.name.clone(),
        phone: optional(&form.phone),
        email: optional(&form.email),
        department: optional_id(&form.department_id, DepartmentId::parse),
        roles: role_ids(&form),
        password: optional(&form.password),
    };
    match state.app.create_person(principal, &input, &context).await {
        Ok(created) => match created.temporary_password {
            Some(secret) => {
                let shown = form_of(&created.person, &created.roles);
                person_form_page(
                    &state,
                    &page,
                    Some(created.person.id),
                    shown,
                    FieldErrors::default(),
                    Some(secret),
                )
                .await
            }
            None => Ok(redirect_with_flash(
                &format!("/people/{}", created.person.id),
                "flash.person_created",
                true,
            )),
        },
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            person_form_page(
                &state,
                &page,
                None,
                PersonForm {
                    password: String::new(),
                    ..form
                },
                errors,
                None,
            )
            .await
        }
    }
}

fn form_of(person: &seal_store::PersonRecord, roles: &[RoleRecord]) -> PersonForm {
    PersonForm {
        name: person.name.as_str().to_owned(),
        phone: person
            .phone
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        email: person
            .email
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        department_id: person.department.map(|d| d.to_string()).unwrap_or_default(),
        role_ids: roles.iter().map(|r| r.id.to_string()).collect(),
        password: String::new(),
    }
}

/// A person's details, roles and account actions.
#[utoipa::path(get, path = "/people/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn edit_person(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, PersonId::parse)?;
    let view = state.app.get_person(principal, id).await?;
    person_form_page(
        &state,
        &page,
        Some(id),
        form_of(&view.person, &view.roles),
        FieldErrors::default(),
        None,
    )
    .await
}

/// Saves a person's details and roles (one form; two use cases, each its own transaction,
/// details first).
#[utoipa::path(post, path = "/people/{id}", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Saved"), (status = 200, description = "The form again, with errors")))]
pub async fn update_person(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<PersonForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, PersonId::parse)?;
    let update = PersonUpdate {
        name: Some(form.name.clone()),
        phone: Some(form.phone.trim().to_owned()),
        email: Some(form.email.trim().to_owned()),
        department: Some(optional_id(&form.department_id, DepartmentId::parse)),
    };
    let result = match state
        .app
        .update_person(principal, id, &update, &context)
        .await
    {
        Ok(_) => state
            .app
            .set_person_roles(principal, id, &role_ids(&form), &context)
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &format!("/people/{id}"),
            "flash.saved",
            true,
        )),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            person_form_page(&state, &page, Some(id), form, errors, None).await
        }
    }
}

async fn person_action(
    state: &AppState,
    page: &Page,
    id: PersonId,
    result: Result<(), seal_app::AppError>,
    success_key: &'static str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &format!("/people/{id}"),
            success_key,
            true,
        )),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            let principal = page.require()?;
            let view = state.app.get_person(principal, id).await?;
            let mut errors = errors;
            errors.promote("roles");
            person_form_page(
                state,
                page,
                Some(id),
                form_of(&view.person, &view.roles),
                errors,
                None,
            )
            .await
        }
    }
}

/// Disables a person (their sessions end at once).
#[utoipa::path(post, path = "/people/{id}/disable", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Disabled")))]
pub async fn disable_person(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, PersonId::parse)?;
    let result = state
        .app
        .disable_person(principal, id, &context)
        .await
        .map(|_| ());
    person_action(&state, &page, id, result, "flash.person_disabled").await
}

/// Re-enables a person.
#[utoipa::path(post, path = "/people/{id}/enable", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Enabled")))]
pub async fn enable_person(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, PersonId::parse)?;
    let result = state
        .app
        .enable_person(principal, id, &context)
        .await
        .map(|_| ());
    person_action(&state, &page, id, result, "flash.person_enabled").await
}

/// Resets a person's password and shows the temporary one once.
#[utoipa::path(post, path = "/people/{id}/password-reset", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "The temporary password")))]
pub async fn reset_password(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, PersonId::parse)?;
    match state.app.reset_password(principal, id, &context).await {
        Ok(secret) => {
            let view = state.app.get_person(principal, id).await?;
            person_form_page(
                &state,
                &page,
                Some(id),
                form_of(&view.person, &view.roles),
                FieldErrors::default(),
                Some(secret),
            )
            .await
        }
        Err(error) => person_action(&state, &page, id, Err(error), "flash.saved").await,
    }
}

// ----- roles -------------------------------------------------------------------------------

pub struct RoleRow {
    pub id: String,
    pub label: String,
    pub builtin: bool,
    pub writes: bool,
    pub permissions: Vec<&'static str>,
}

pub struct PermissionChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

fn permission_choices(t: Tr, checked: PermissionSet) -> Vec<PermissionChoice> {
    Permission::ALL
        .into_iter()
        .map(|p| PermissionChoice {
            key: p.key(),
            label: permission_label(t, p),
            checked: checked.contains(p),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    chrome: Chrome,
    roles: Vec<RoleRow>,
    can_manage: bool,
    errors: FieldErrors,
    name: String,
    permissions: Vec<PermissionChoice>,
    form_action: &'static str,
    submit_key: &'static str,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct RoleForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    permissions: Vec<String>,
}

impl RoleForm {
    fn set(&self) -> PermissionSet {
        self.permissions
            .iter()
            .filter_map(|k| Permission::parse(k))
            .collect()
    }
}

async fn roles_page(
    state: &AppState,
    page: &Page,
    errors: FieldErrors,
    form: RoleForm,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let roles = state.app.list_roles(principal).await?;
    let checked = form.set();
    render(&RolesPage {
        chrome: page.chrome("roles.title"),
        roles: roles
            .iter()
            .map(|r| RoleRow {
                id: r.id.to_string(),
                label: role_label(page.t, r),
                builtin: matches!(r.kind, RoleKind::Builtin(_)),
                writes: r.kind.permissions().any_writes(),
                permissions: r
                    .kind
                    .permissions()
                    .iter()
                    .map(|p| permission_label(page.t, p))
                    .collect(),
            })
            .collect(),
        can_manage: principal.permissions.contains(Permission::RolesManage),
        errors,
        name: form.name,
        permissions: permission_choices(page.t, checked),
        form_action: "/roles",
        submit_key: "action.create",
    })
}

/// Roles and their permissions, with a form for a custom role.
#[utoipa::path(get, path = "/roles", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn roles(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    roles_page(&state, &page, FieldErrors::default(), RoleForm::default()).await
}

/// Creates a custom role.
#[utoipa::path(post, path = "/roles", tag = "web", responses((status = 303, description = "Created"), (status = 200, description = "The page again, with errors")))]
pub async fn create_role(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(form): Form<RoleForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let input = RoleInput {
        name: Some(form.name.clone()),
        permissions: Some(form.permissions.clone()),
    };
    match state.app.create_role(principal, &input, &context).await {
        Ok(_) => Ok(redirect_with_flash("/roles", "flash.role_created", true)),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            roles_page(&state, &page, errors, form).await
        }
    }
}

#[derive(Template)]
#[template(path = "role_edit.html")]
struct RoleEditPage {
    chrome: Chrome,
    id: String,
    errors: FieldErrors,
    name: String,
    permissions: Vec<PermissionChoice>,
    form_action: String,
    submit_key: &'static str,
}

async fn role_edit_page(
    state: &AppState,
    page: &Page,
    id: RoleId,
    errors: FieldErrors,
    typed: Option<RoleForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    if !principal.permissions.contains(Permission::RolesManage) {
        return Err(PageError::Forbidden);
    }
    let roles = state.app.list_roles(principal).await?;
    let role = roles
        .iter()
        .find(|r| r.id == id)
        .ok_or(PageError::NotFound)?;
    let (name, checked) = match typed {
        Some(form) => (form.name.clone(), form.set()),
        None => (role.name.as_str().to_owned(), role.kind.permissions()),
    };
    render(&RoleEditPage {
        chrome: page.chrome("roles.edit"),
        id: id.to_string(),
        errors,
        name,
        permissions: permission_choices(page.t, checked),
        form_action: format!("/roles/{id}"),
        submit_key: "action.save",
    })
}

/// Edit a custom role.
#[utoipa::path(get, path = "/roles/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn edit_role(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.require()?;
    let id = parse_id(&id, RoleId::parse)?;
    role_edit_page(&state, &page, id, FieldErrors::default(), None).await
}

/// Saves a custom role.
#[utoipa::path(post, path = "/roles/{id}", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Saved"), (status = 200, description = "The form again, with errors")))]
pub async fn update_role(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, RoleId::parse)?;
    let input = RoleInput {
        name: Some(form.name.clone()),
        permissions: Some(form.permissions.clone()),
    };
    match state.app.update_role(principal, id, &input, &context).await {
        Ok(_) => Ok(redirect_with_flash("/roles", "flash.saved", true)),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            role_edit_page(&state, &page, id, errors, Some(form)).await
        }
    }
}

/// Deletes a custom role nobody holds.
#[utoipa::path(post, path = "/roles/{id}/delete", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Deleted")))]
pub async fn delete_role(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, RoleId::parse)?;
    match state.app.delete_role(principal, id, &context).await {
        Ok(()) => Ok(redirect_with_flash("/roles", "flash.role_deleted", true)),
        Err(error) => {
            let mut errors = FieldErrors::from_app(error, &[])?;
            errors.promote("roles");
            role_edit_page(&state, &page, id, errors, None).await
        }
    }
}
