//! The home page: who is signed in, their organisation and roles, and the overview —
//! applications waiting for their decision, alarms not yet resolved, devices online —
//! each shown to those allowed to see it.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use seal_app::alarms::AlarmQuery;
use seal_core::alarm::AlarmStatus;

use crate::AppState;
use crate::web::{Chrome, Page, PageError, render};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    name: String,
    org_name: String,
    org_code: String,
    roles: Vec<String>,
    /// Applications waiting for the caller's decision (approvers only).
    waiting: Option<usize>,
    /// Alarms not yet resolved (alarm readers only).
    alarms: Option<usize>,
    /// Devices online and all active devices (device readers only).
    devices: Option<(usize, usize)>,
}

/// The signed-in person's home page.
#[utoipa::path(get, path = "/home", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn home(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let principal = page.require()?;
    // Each figure is shown to those whose permissions allow reading it; a refusal hides it.
    let waiting = state.app.inbox(principal).await.ok().map(|a| a.len());
    let alarms = state
        .app
        .alarms(
            principal,
            &AlarmQuery {
                statuses: vec![AlarmStatus::Open, AlarmStatus::Acknowledged],
                device: None,
                page: seal_app::directory::Page::new(Some(1), Some(100)),
            },
        )
        .await
        .ok()
        .map(|a| a.len());
    let devices = state.app.devices(principal).await.ok().map(|all| {
        let active: Vec<_> = all
            .iter()
            .filter(|d| d.status == seal_core::device::DeviceStatus::Active)
            .collect();
        (
            active.iter().filter(|d| d.telemetry.online).count(),
            active.len(),
        )
    });
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
        waiting,
        alarms,
        devices,
    })
}
