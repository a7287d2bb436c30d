//! Departments, people and roles.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use seal_app::directory::{DepartmentUpdate, Page, PersonInput, PersonUpdate, RoleInput};
use seal_core::ids::{DepartmentId, PersonId, RoleId};
use seal_core::permission::Permission;
use seal_core::person::PersonStatus;
use seal_store::PeopleFilter;

use crate::AppState;
use crate::api::dto::{
    CreatedPersonDto, DepartmentBody, DepartmentDto, DepartmentPatch, PeoplePage, PeopleQuery,
    PermissionDto, PersonBody, PersonDto, PersonPatch, RoleBody, RoleDto, RolePatch, RolesBody,
    TemporaryPasswordDto,
};
use crate::api::{parse_body_id, parse_path_id};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, Context};

/// Every department of the organisation (`people.read`).
#[utoipa::path(get, path = "/api/v1/departments", tag = "directory", responses((status = 200, body = [DepartmentDto]), (status = 403, body = ErrorBody)))]
pub async fn list_departments(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<DepartmentDto>>, ApiError> {
    let departments = state.app.list_departments(&principal).await?;
    Ok(Json(departments.iter().map(DepartmentDto::from).collect()))
}

/// Creates a department (`departments.manage`).
#[utoipa::path(post, path = "/api/v1/departments", tag = "directory", request_body = DepartmentBody,
    responses((status = 201, body = DepartmentDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_department(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<DepartmentBody>,
) -> Result<(StatusCode, Json<DepartmentDto>), ApiError> {
    let parent = body
        .parent_id
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| parse_body_id("parent", p, DepartmentId::parse))
        .transpose()?;
    let department = state
        .app
        .create_department(&principal, &body.name, parent, &context)
        .await?;
    Ok((StatusCode::CREATED, Json(DepartmentDto::from(&department))))
}

/// Renames or moves a department (`departments.manage`).
#[utoipa::path(patch, path = "/api/v1/departments/{id}", tag = "directory", request_body = DepartmentPatch,
    params(("id" = String, Path, description = "Department id")),
    responses((status = 200, body = DepartmentDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_department(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DepartmentPatch>,
) -> Result<Json<DepartmentDto>, ApiError> {
    let id = parse_path_id(&id, DepartmentId::parse)?;
    let parent = match body.parent_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(p)) if p.is_empty() => Some(None),
        Some(Some(p)) => Some(Some(parse_body_id("parent", &p, DepartmentId::parse)?)),
    };
    let head = match body.head_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(p)) if p.is_empty() => Some(None),
        Some(Some(p)) => Some(Some(parse_body_id("head", &p, PersonId::parse)?)),
    };
    let update = DepartmentUpdate {
        name: body.name,
        parent,
        head,
    };
    let department = state
        .app
        .update_department(&principal, id, &update, &context)
        .await?;
    Ok(Json(DepartmentDto::from(&department)))
}

/// Deletes an empty department (`departments.manage`).
#[utoipa::path(delete, path = "/api/v1/departments/{id}", tag = "directory",
    params(("id" = String, Path, description = "Department id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_department(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_path_id(&id, DepartmentId::parse)?;
    state
        .app
        .delete_department(&principal, id, &context)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// People of the organisation, searched, filtered and paginated (`people.read`).
#[utoipa::path(get, path = "/api/v1/people", tag = "directory", params(
        ("q" = Option<String>, Query, description = "Part of a name, phone or e-mail"),
        ("department_id" = Option<String>, Query), ("role_id" = Option<String>, Query),
        ("status" = Option<String>, Query, description = "active or disabled"),
        ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "1 to 100, default 20")),
    responses((status = 200, body = PeoplePage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_people(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiQuery(query): ApiQuery<PeopleQuery>,
) -> Result<Json<PeoplePage>, ApiError> {
    let page = Page::new(query.page, query.per_page);
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(PersonStatus::parse(text).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.query",
                "status 只能是 active 或 disabled。",
                "status must be active or disabled.",
            )
            .with_field("status")
        })?),
    };
    let filter = PeopleFilter {
        query: query
            .q
            .filter(|q| !q.trim().is_empty())
            .map(|q| q.trim().chars().take(100).collect()),
        department: query
            .department_id
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(|d| parse_body_id("department_id", d, DepartmentId::parse))
            .transpose()?,
        role: query
            .role_id
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| parse_body_id("role_id", r, RoleId::parse))
            .transpose()?,
        status,
        offset: page.offset(),
        limit: page.limit(),
    };
    let (people, total) = state.app.list_people(&principal, &filter).await?;
    Ok(Json(PeoplePage {
        items: people.iter().map(|p| PersonDto::new(p, None)).collect(),
        total,
        page: page.number,
        per_page: page.size,
    }))
}

/// Creates (invites) a person with roles (`people.manage`).
#[utoipa::path(post, path = "/api/v1/people", tag = "directory", request_body = PersonBody,
    responses((status = 201, body = CreatedPersonDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_person(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<PersonBody>,
) -> Result<(StatusCode, Json<CreatedPersonDto>), ApiError> {
    let department = body
        .department_id
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| parse_body_id("department", d, DepartmentId::parse))
        .transpose()?;
    let roles = body
        .role_ids
        .iter()
        .map(|r| parse_body_id("roles", r, RoleId::parse))
        .collect::<Result<Vec<_>, _>>()?;
    let input = PersonInput {
        name: body.name,
        phone: body.phone,
        email: body.email,
        department,
        roles,
        password: body.password,
    };
    let created = state
        .app
        .create_person(&principal, &input, &context)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedPersonDto {
            person: PersonDto::new(&created.person, Some(&created.roles)),
            temporary_password: created.temporary_password,
        }),
    ))
}

/// One person with their roles (`people.read`).
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "directory", params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonDto), (status = 404, body = ErrorBody)))]
pub async fn get_person(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<PersonDto>, ApiError> {
    let id = parse_path_id(&id, PersonId::parse)?;
    let view = state.app.get_person(&principal, id).await?;
    Ok(Json(PersonDto::new(&view.person, Some(&view.roles))))
}

/// Edits a person's name, phone, e-mail or department (`people.manage`).
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "directory", request_body = PersonPatch,
    params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_person(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PersonPatch>,
) -> Result<Json<PersonDto>, ApiError> {
    let id = parse_path_id(&id, PersonId::parse)?;
    let department = match body.department_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(d)) if d.is_empty() => Some(None),
        Some(Some(d)) => Some(Some(parse_body_id("department", &d, DepartmentId::parse)?)),
    };
    let update = PersonUpdate {
        name: body.name,
        phone: body.phone,
        email: body.email,
        department,
    };
    let person = state
        .app
        .update_person(&principal, id, &update, &context)
        .await?;
    Ok(Json(PersonDto::new(&person, None)))
}

/// Replaces the roles a person holds (`people.manage`; separation of duties applies).
#[utoipa::path(put, path = "/api/v1/people/{id}/roles", tag = "directory", request_body = RolesBody,
    params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_roles(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RolesBody>,
) -> Result<Json<PersonDto>, ApiError> {
    let id = parse_path_id(&id, PersonId::parse)?;
    let roles = body
        .role_ids
        .iter()
        .map(|r| parse_body_id("roles", r, RoleId::parse))
        .collect::<Result<Vec<_>, _>>()?;
    let view = state
        .app
        .set_person_roles(&principal, id, &roles, &context)
        .await?;
    Ok(Json(PersonDto::new(&view.person, Some(&view.roles))))
}

/// Disables a person; their sessions end (`people.manage`).
#[utoipa::path(post, path = "/api/v1/people/{id}/disable", tag = "directory", params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn disable_person(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Json<PersonDto>, ApiError> {
    let id = parse_path_id(&id, PersonId::parse)?;
    let person = state.app.disable_person(&principal, id, &context).await?;
    Ok(Json(PersonDto::new(&person, None)))
}

/// Re-enables a disabled person (`people.manage`).
#[utoipa::path(post, path = "/api/v1/people/{id}/enable", tag = "directory", params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonDto), (status = 404, body = ErrorBody)))]
pub async fn enable_person(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Json<PersonDto>, ApiError> {
    let id = parse_path_id(&id, PersonId::parse)?;
    let person = state.app.enable_person(&principal, id, &context).await?;
    Ok(Json(PersonDto::new(&person, None)))
}

/// Resets a person's password to a temporary one, shown once (`people.manage`).
#[utoipa::path(post, path = "/api/v1/people/{id}/password-reset", tag = "directory", params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = TemporaryPasswordDto), (status = 404, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Json<TemporaryPasswordDto>, ApiError> {
    let id = parse_path_id(&id, PersonId::parse)?;
    let temporary_password = state.app.reset_password(&principal, id, &context).await?;
    Ok(Json(TemporaryPasswordDto { temporary_password }))
}

/// The organisation's roles, built-in first (`people.read`).
#[utoipa::path(get, path = "/api/v1/roles", tag = "directory", responses((status = 200, body = [RoleDto]), (status = 403, body = ErrorBody)))]
pub async fn list_roles(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Json<Vec<RoleDto>>, ApiError> {
    let roles = state.app.list_roles(&principal).await?;
    Ok(Json(roles.iter().map(RoleDto::from).collect()))
}

/// Creates a custom role from named permissions (`roles.manage`).
#[utoipa::path(post, path = "/api/v1/roles", tag = "directory", request_body = RoleBody,
    responses((status = 201, body = RoleDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<(StatusCode, Json<RoleDto>), ApiError> {
    let input = RoleInput {
        name: Some(body.name),
        permissions: Some(body.permissions),
    };
    let role = state.app.create_role(&principal, &input, &context).await?;
    Ok((StatusCode::CREATED, Json(RoleDto::from(&role))))
}

/// Renames a custom role or changes its permissions (`roles.manage`).
#[utoipa::path(patch, path = "/api/v1/roles/{id}", tag = "directory", request_body = RolePatch,
    params(("id" = String, Path, description = "Role id")),
    responses((status = 200, body = RoleDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RolePatch>,
) -> Result<Json<RoleDto>, ApiError> {
    let id = parse_path_id(&id, RoleId::parse)?;
    let input = RoleInput {
        name: body.name,
        permissions: body.permissions,
    };
    let role = state
        .app
        .update_role(&principal, id, &input, &context)
        .await?;
    Ok(Json(RoleDto::from(&role)))
}

/// Deletes a custom role that nobody holds (`roles.manage`).
#[utoipa::path(delete, path = "/api/v1/roles/{id}", tag = "directory", params(("id" = String, Path, description = "Role id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_path_id(&id, RoleId::parse)?;
    state.app.delete_role(&principal, id, &context).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The named permissions roles are made of (any signed-in person).
#[utoipa::path(get, path = "/api/v1/permissions", tag = "directory", responses((status = 200, body = [PermissionDto]), (status = 401, body = ErrorBody)))]
pub async fn list_permissions(Auth(_principal): Auth) -> Json<Vec<PermissionDto>> {
    Json(
        Permission::ALL
            .into_iter()
            .map(PermissionDto::from)
            .collect(),
    )
}
