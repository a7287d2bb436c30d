//! The home page: who is signed in, their organisation and roles, and the overview that
//! later features fill (applications waiting, alarms, devices online).

use askama::Template;
use axum::response::Response;

use crate::web::{Chrome, Page, PageError, render};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    name: String,
    org_name: String,
    org_code: String,
    roles: Vec<String>,
}

/// The signed-in person's home page.
#[utoipa::path(get, path = "/home", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn home(page: Page) -> Result<Response, PageError> {
    let principal = page.require()?;
    render(&HomePage {
        chrome: page.chrome("home.title"),
        name: principal.person.name.as_str().to_owned(),
        org_name: principal.org.name.as_str().to_owned(),
        org_code: principal.org.code.to_string(),
        roles: principal
            .roles
            .iter()
            .map(|r| super::directory::role_label(page.t, r))
            .collect(),
    })
}
