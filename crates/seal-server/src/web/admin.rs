//! Administration pages: API tokens (created with a secret shown once, revoked) and the
//! audit log (filtered by person, kind and date, paginated).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum_extra::extract::Form;
use seal_app::audit::AuditQuery;
use seal_app::directory::Page as ListPage;
use seal_core::ids::{ApiTokenId, PersonId};
use seal_core::permission::{Permission, PermissionSet};
use seal_core::time::Timestamp;
use seal_store::PeopleFilter;
use serde::Deserialize;

use crate::AppState;
use crate::extract::Context;
use crate::web::directory::{PermissionChoice, permission_label};
use crate::web::{Chrome, FieldErrors, Page, PageError, Pager, redirect_with_flash, render};

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    new_secret: Option<String>,
    errors: FieldErrors,
    name: String,
    scopes: Vec<PermissionChoice>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
}

/// Minutes precision is enough on pages: `2026-11-22 08:30 UTC`.
pub fn short_time(at: Timestamp) -> String {
    let full = at.to_string();
    format!("{} {} UTC", &full[..10], &full[11..16])
}

async fn tokens_page(
    state: &AppState,
    page: &Page,
    errors: FieldErrors,
    form: TokenForm,
    new_secret: Option<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let tokens = state.app.list_api_tokens(principal).await?;
    let checked: PermissionSet = form
        .scopes
        .iter()
        .filter_map(|k| Permission::parse(k))
        .collect();
    render(&TokensPage {
        chrome: page.chrome("tokens.title"),
        tokens: tokens
            .iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                scopes: t
                    .scopes
                    .iter()
                    .map(|p| permission_label(page.t, p))
                    .collect(),
                created: short_time(t.created_at),
                last_used: t
                    .last_used_at
                    .map(short_time)
                    .unwrap_or_else(|| "—".to_owned()),
                revoked: t.revoked_at.is_some(),
            })
            .collect(),
        new_secret,
        errors,
        name: form.name,
        scopes: principal
            .permissions
            .iter()
            .map(|p| PermissionChoice {
                key: p.key(),
                label: permission_label(page.t, p),
                checked: checked.contains(p),
            })
            .collect(),
    })
}

/// The organisation's API tokens.
#[utoipa::path(get, path = "/tokens", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn tokens(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    tokens_page(
        &state,
        &page,
        FieldErrors::default(),
        TokenForm::default(),
        None,
    )
    .await
}

/// Creates a token and shows its secret once.
#[utoipa::path(post, path = "/tokens", tag = "web", responses((status = 200, description = "The secret, or the form again with errors")))]
pub async fn create_token(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    match state
        .app
        .create_api_token(principal, &form.name, &form.scopes, &context)
        .await
    {
        Ok(created) => {
            tokens_page(
                &state,
                &page,
                FieldErrors::default(),
                TokenForm::default(),
                Some(created.secret),
            )
            .await
        }
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            tokens_page(&state, &page, errors, form, None).await
        }
    }
}

/// Revokes a token.
#[utoipa::path(post, path = "/tokens/{id}/revoke", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Revoked")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = ApiTokenId::parse(&id).map_err(|_| PageError::NotFound)?;
    state.app.revoke_api_token(principal, id, &context).await?;
    Ok(redirect_with_flash("/tokens", "flash.token_revoked", true))
}

pub struct EventRow {
    pub at: String,
    pub who: String,
    pub action: String,
    pub subject: String,
    pub source: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    events: Vec<EventRow>,
    people: Vec<(String, String)>,
    errors: FieldErrors,
    person_id: String,
    action: String,
    from: String,
    until: String,
    pager: Pager,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct AuditFilterForm {
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    page: Option<i64>,
}

/// The audit log.
#[utoipa::path(get, path = "/audit", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn audit(
    State(state): State<AppState>,
    page: Page,
    Query(form): Query<AuditFilterForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let mut errors = FieldErrors::default();
    let mut date = |field: &str, text: &str| -> Option<Timestamp> {
        if text.trim().is_empty() {
            return None;
        }
        match Timestamp::parse_rfc3339(text) {
            Ok(at) => Some(at),
            Err(_) => {
                errors.insert(field, page.t.get("audit.bad_date").to_owned());
                None
            }
        }
    };
    let from = date("from", &form.from);
    // "Until" a day means through the end of that day.
    let until = date("until", &form.until).map(|t| {
        if form.until.trim().len() == 10 {
            t.plus_seconds(86_400)
        } else {
            t
        }
    });
    let list_page = ListPage::new(form.page, Some(50));
    let query = AuditQuery {
        person: PersonId::parse(&form.person_id).ok(),
        action: Some(form.action.trim().to_owned()).filter(|a| !a.is_empty()),
        from,
        until,
        page: list_page,
    };
    let (events, total) = state.app.list_audit_events(principal, &query).await?;
    // People are named where the auditor may see the directory; otherwise ids are shown.
    let mut names: HashMap<String, String> = HashMap::new();
    if principal.permissions.contains(Permission::PeopleRead) {
        let (people, _) = state
            .app
            .list_people(
                principal,
                &PeopleFilter {
                    limit: 1000,
                    ..PeopleFilter::default()
                },
            )
            .await?;
        for p in people {
            names.insert(format!("person:{}", p.id), p.name.as_str().to_owned());
        }
    }
    let label = |actor: &str| {
        names
            .get(actor)
            .cloned()
            .unwrap_or_else(|| actor.to_owned())
    };
    let pairs = [
        ("person_id", form.person_id.as_str()),
        ("action", form.action.as_str()),
        ("from", form.from.as_str()),
        ("until", form.until.as_str()),
    ];
    let mut people: Vec<(String, String)> = names
        .iter()
        .map(|(k, v)| (k.trim_start_matches("person:").to_owned(), v.clone()))
        .collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    let pager = Pager::new("/audit", &pairs, list_page, total);
    render(&AuditPage {
        chrome: page.chrome("audit.title"),
        events: events
            .iter()
            .map(|e| EventRow {
                at: short_time(e.event.at),
                who: label(&e.event.actor),
                action: e.event.action.clone(),
                subject: label(&e.event.subject),
                source: e.event.source.clone(),
                details: e
                    .event
                    .details
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        people,
        errors,
        person_id: form.person_id,
        action: form.action,
        from: form.from,
        until: form.until,
        pager,
    })
}
