//! The web console: server-rendered HTML pages (askama templates, plain forms, no
//! JavaScript needed), in Simplified Chinese and English. Pages authenticate with the
//! session cookie and call the same `seal-app` use cases as the API, so authorization is
//! decided in one place. Every page route is registered through `utoipa_axum::routes!`
//! under the tag `web`, so the route-permission matrix covers pages too.
//!
//! Form posts carry `_csrf`, checked against the `sk_csrf` cookie (double-submit; the
//! cookie is HttpOnly and SameSite=Strict) by [`csrf_guard`] before any handler runs.

pub mod account;
pub mod admin;
pub mod alarms;
pub mod applications;
pub mod assets;
pub mod comparisons;
pub mod devices;
pub mod directory;
pub mod home;
pub mod seals;
pub mod verify;
pub mod webhooks;

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use seal_app::AppError;
use seal_app::policy::Principal;
use seal_core::permission::Permission;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::SESSION_COOKIE;
use crate::i18n::{self, Lang, catalog};

/// Cookie holding the form token (double-submit CSRF protection).
pub const CSRF_COOKIE: &str = "sk_csrf";
/// Cookie carrying a one-shot message to the next page.
pub const FLASH_COOKIE: &str = "sk_flash";

/// Looks up console texts for templates: `{{ t.get("nav.people") }}`.
#[derive(Clone, Copy, Debug)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn get(&self, key: &str) -> &'static str {
        catalog::get(self.0, key)
    }

    pub fn code(&self) -> &'static str {
        self.0.code()
    }
}

/// A navigation entry.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The signed-in person, as the top bar shows them.
pub struct UserBar {
    pub name: String,
    pub org_name: String,
}

/// A message after an action: a catalog key, shown once.
pub struct Flash {
    pub success: bool,
    pub text: &'static str,
}

/// What the layout needs on every page.
pub struct Chrome {
    pub t: Tr,
    pub title: &'static str,
    pub user: Option<UserBar>,
    pub nav: Vec<NavItem>,
    /// The token every form must send as `_csrf`.
    pub csrf: String,
    pub flash: Option<Flash>,
    /// This page's path and query, for the language links.
    pub here: String,
    pub css_href: String,
    pub js_href: String,
    pub icon_href: String,
}

/// The navigation, showing only what the person may use.
fn navigation(t: Tr, principal: &Principal, current: &str) -> Vec<NavItem> {
    let may = |p: Permission| principal.permissions.contains(p);
    let mut items = vec![("/home", "nav.home", true)];
    items.push((
        "/departments",
        "nav.departments",
        may(Permission::PeopleRead),
    ));
    items.push(("/people", "nav.people", may(Permission::PeopleRead)));
    items.push(("/roles", "nav.roles", may(Permission::PeopleRead)));
    items.push(("/seals", "nav.seals", may(Permission::SealsRead)));
    items.push((
        "/applications",
        "nav.applications",
        may(Permission::ApplicationsCreate),
    ));
    items.push(("/inbox", "nav.inbox", may(Permission::ApplicationsApprove)));
    items.push(("/flows", "nav.flows", may(Permission::SealsManage)));
    items.push((
        "/devices",
        "nav.devices",
        devices::DEVICE_READERS.into_iter().any(may),
    ));
    items.push((
        "/alarms",
        "nav.alarms",
        devices::ALARM_READERS.into_iter().any(may),
    ));
    items.push((
        "/compare",
        "nav.compare",
        comparisons::COMPARISON_USERS.into_iter().any(may),
    ));
    items.push(("/tokens", "nav.tokens", may(Permission::TokensManage)));
    items.push(("/audit", "nav.audit", may(Permission::AuditRead)));
    items.push(("/webhooks", "nav.webhooks", may(Permission::WebhooksManage)));
    items.push(("/account", "nav.account", true));
    items
        .into_iter()
        .filter(|(_, _, shown)| *shown)
        .map(|(href, key, _)| NavItem {
            href,
            label: t.get(key),
            current: current == href || current.starts_with(&format!("{href}/")),
        })
        .collect()
}

/// Everything a page handler learns from the request: language, the form token, the
/// flash message, where we are, and (when signed in) who is asking.
pub struct Page {
    pub t: Tr,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub path: String,
    pub here: String,
    pub principal: Option<Principal>,
    pending_mfa: bool,
}

impl<S> FromRequestParts<S> for Page
where
    S: Send + Sync,
    AppState: axum::extract::FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = <AppState as axum::extract::FromRef<S>>::from_ref(state);
        let jar = CookieJar::from_headers(&parts.headers);
        let csrf = parts
            .extensions
            .get::<FormToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let flash = jar
            .get(FLASH_COOKIE)
            .and_then(|c| flash_from_cookie(c.value()));
        let mut principal = None;
        let mut pending_mfa = false;
        if let Some(token) = jar.get(SESSION_COOKIE) {
            match state.app.authenticate_session(token.value()).await {
                Ok(found) => principal = Some(found),
                Err(AppError::MfaRequired) => pending_mfa = true,
                Err(_) => {}
            }
        }
        let path = parts.uri.path().to_owned();
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
        Ok(Page {
            t: Tr(i18n::current()),
            csrf,
            flash,
            path,
            here,
            principal,
            pending_mfa,
        })
    }
}

impl Page {
    /// The signed-in principal, or a redirect to sign-in that comes back here.
    pub fn require(&self) -> Result<&Principal, PageError> {
        match &self.principal {
            Some(principal) => Ok(principal),
            None if self.pending_mfa => Err(PageError::SecondFactor),
            None => Err(PageError::SignIn {
                next: self.here.clone(),
            }),
        }
    }

    /// The layout data for a page titled by catalog key `title`.
    pub fn chrome(&self, title: &'static str) -> Chrome {
        let (user, nav) = match &self.principal {
            Some(p) => (
                Some(UserBar {
                    name: p.person.name.as_str().to_owned(),
                    org_name: p.org.name.as_str().to_owned(),
                }),
                navigation(self.t, p, &self.path),
            ),
            None => (None, vec![]),
        };
        Chrome {
            t: self.t,
            title: self.t.get(title),
            user,
            nav,
            csrf: self.csrf.clone(),
            flash: self.flash.as_ref().map(|f| Flash {
                success: f.success,
                text: f.text,
            }),
            here: self.here.clone(),
            css_href: assets::versioned("style.css"),
            js_href: assets::versioned("app.js"),
            icon_href: assets::versioned("favicon.svg"),
        }
    }
}

/// Where a paginated list stands, and the links to its neighbours (filters kept).
pub struct Pager {
    pub number: i64,
    pub count: i64,
    pub total: i64,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
}

impl Pager {
    /// `pairs` are the list's filters, carried into the neighbours' links.
    pub fn new(
        base: &str,
        pairs: &[(&str, &str)],
        page: seal_app::directory::Page,
        total: i64,
    ) -> Pager {
        let count = ((total + page.size - 1) / page.size).max(1);
        let href = |number: i64| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
                query.append_pair(key, value);
            }
            query.append_pair("page", &number.to_string());
            format!("{base}?{}", query.finish())
        };
        Pager {
            number: page.number,
            count,
            total,
            prev_href: (page.number > 1).then(|| href(page.number - 1)),
            next_href: (page.number < count).then(|| href(page.number + 1)),
        }
    }
}

/// Renders a template as a page.
pub fn render(template: &impl Template) -> Result<Response, PageError> {
    let html = template
        .render()
        .map_err(|e| PageError::Internal(format!("template: {e}")))?;
    Ok(Html(html).into_response())
}

/// Redirects (303) to `to` with a flash message (a catalog key).
pub fn redirect_with_flash(to: &str, key: &'static str, success: bool) -> Response {
    let value = format!("{}:{key}", if success { "ok" } else { "err" });
    let cookie = Cookie::build((FLASH_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .build();
    let mut response = Redirect::to(to).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn flash_from_cookie(value: &str) -> Option<Flash> {
    let (kind, key) = value.split_once(':')?;
    // Only catalog keys are ever shown, so a forged cookie can show nothing but our texts.
    let text = catalog::get(Lang::Zh, key);
    if text.starts_with('⟦') {
        return None;
    }
    Some(Flash {
        success: kind == "ok",
        text: catalog::get(i18n::current(), key),
    })
}

/// Field errors of a form, by field name, in the reader's language.
#[derive(Default)]
pub struct FieldErrors {
    by_field: BTreeMap<String, String>,
    /// An error not tied to one field.
    pub general: Option<String>,
}

impl FieldErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.by_field.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty() && self.general.is_none()
    }

    /// Takes a use-case error: refusals become a [`PageError`], input problems become
    /// field errors (shown next to their field, with the entered values kept).
    pub fn from_app(error: AppError, aliases: &[(&str, &str)]) -> Result<FieldErrors, PageError> {
        // Refusals and failures are pages of their own, mapped in one place.
        let is_input_problem = matches!(
            error,
            AppError::Invalid { .. }
                | AppError::Conflict(_)
                | AppError::SeparationOfDuties(_)
                | AppError::BadCredentials
                | AppError::BadSecondFactor
                | AppError::AccountDisabled
                | AppError::RateLimited { .. }
        );
        if !is_input_problem {
            return Err(PageError::from(error));
        }
        let lang = i18n::current();
        let api = *ApiError::from(error).0;
        let mut message = api.message.get(lang).to_owned();
        for detail in &api.details {
            message.push(' ');
            message.push_str(detail.get(lang));
        }
        let mut errors = FieldErrors::default();
        match api.field {
            Some(field) => {
                let field = aliases
                    .iter()
                    .find(|(from, _)| *from == field)
                    .map_or(field.clone(), |(_, to)| (*to).to_owned());
                errors.by_field.insert(field, message);
            }
            None => errors.general = Some(message),
        }
        Ok(errors)
    }

    /// Shows the error of `field` as the form's general message when there is none
    /// (for forms that show one message above the fields).
    pub fn promote(&mut self, field: &str) {
        if self.general.is_none() {
            self.general = self.get(field).map(str::to_owned);
        }
    }

    /// Adds an error for `field`.
    pub fn insert(&mut self, field: &str, message: String) {
        self.by_field.insert(field.to_owned(), message);
    }

    pub fn general(message: String) -> FieldErrors {
        FieldErrors {
            by_field: BTreeMap::new(),
            general: Some(message),
        }
    }
}

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): sign in, then come back to `next`.
    SignIn {
        next: String,
    },
    /// The password was right; the second factor is still due.
    SecondFactor,
    /// Signed in with a temporary password: change it first.
    ChangePassword,
    Forbidden,
    NotFound,
    Internal(String),
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Unauthenticated => PageError::SignIn {
                next: "/home".to_owned(),
            },
            AppError::MfaRequired => PageError::SecondFactor,
            AppError::Forbidden | AppError::SessionRequired | AppError::Escalation(_) => {
                PageError::Forbidden
            }
            AppError::PasswordChangeRequired => PageError::ChangePassword,
            AppError::NotFound(_) => PageError::NotFound,
            other => PageError::Internal(other.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    heading: &'static str,
    message: &'static str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            PageError::SignIn { next } => {
                return Redirect::to(&format!(
                    "/login?next={}",
                    urlencoding::encode(&safe_next(&next))
                ))
                .into_response();
            }
            PageError::SecondFactor => return Redirect::to("/login/mfa").into_response(),
            PageError::ChangePassword => {
                return redirect_with_flash("/account", "flash.change_temporary_password", false);
            }
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "error.forbidden.title",
                "error.forbidden.text",
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "error.not_found.title",
                "error.not_found.text",
            ),
            PageError::Internal(cause) => {
                tracing::error!(error = %cause, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error.internal.title",
                    "error.internal.text",
                )
            }
        };
        let t = Tr(i18n::current());
        let page = ErrorPage {
            chrome: Chrome {
                t,
                title: t.get(heading),
                user: None,
                nav: vec![],
                csrf: String::new(),
                flash: None,
                here: "/".to_owned(),
                css_href: assets::versioned("style.css"),
                js_href: assets::versioned("app.js"),
                icon_href: assets::versioned("favicon.svg"),
            },
            heading: t.get(heading),
            message: t.get(message),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, t.get(heading)).into_response(),
        }
    }
}

/// A local path to return to after sign-in; anything else (another site, `//host`,
/// a backslash trick) becomes `/home`.
pub fn safe_next(next: &str) -> String {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.contains("://");
    if local && !next.starts_with("/login") {
        next.to_owned()
    } else {
        "/home".to_owned()
    }
}

/// The form token of this request (from the `sk_csrf` cookie, or newly made).
#[derive(Clone)]
pub struct FormToken(pub String);

/// For page requests: makes sure the browser has a form token (setting the cookie when
/// missing) and, for form posts, that the posted `_csrf` matches it. API and asset
/// requests pass untouched.
pub async fn csrf_guard(mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/")
        || path.starts_with("/device/")
        || path.starts_with("/assets/")
        || path == "/healthz"
        || path == "/readyz"
    {
        return next.run(request).await;
    }
    let jar = CookieJar::from_headers(request.headers());
    let existing = jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() >= 16);
    let token = existing
        .clone()
        .unwrap_or_else(seal_app::secrets::token_128);
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if request.method() == axum::http::Method::POST && is_multipart {
        // File uploads: the token travels in the form's action (`?_csrf=…`), so the
        // (large) body is streamed to the handler instead of being read here.
        let sent = url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .find(|(key, _)| key == "_csrf")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        let matches = existing.as_deref().is_some_and(|expected| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                sent.as_bytes(),
                expected.as_bytes(),
            ))
        });
        if !matches {
            return form_expired();
        }
    } else if request.method() == axum::http::Method::POST {
        let (parts, body) = request.into_parts();
        let bytes = match axum::body::to_bytes(body, 1024 * 1024).await {
            Ok(bytes) => bytes,
            Err(_) => return crate::extract::too_large().into_response(),
        };
        let sent = url::form_urlencoded::parse(&bytes)
            .find(|(key, _)| key == "_csrf")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        let matches = existing.as_deref().is_some_and(|expected| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                sent.as_bytes(),
                expected.as_bytes(),
            ))
        });
        if !matches {
            return form_expired();
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(FormToken(token.clone()));
    let mut response = next.run(request).await;
    if existing.is_none() {
        let cookie = Cookie::build((CSRF_COOKIE, token))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The answer to a form post without a valid token: back to the form, with a message.
fn form_expired() -> Response {
    let t = Tr(i18n::current());
    (StatusCode::FORBIDDEN, Html(format!(
        "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><title>{}</title><p>{}</p><p><a href=\"javascript:history.back()\">←</a></p></html>",
        t.code(),
        t.get("error.form_expired.title"),
        t.get("error.form_expired.text")
    )))
        .into_response()
}

/// Removes the flash cookie once a page has shown it.
pub async fn consume_flash(request: Request, next: Next) -> Response {
    let had_flash = CookieJar::from_headers(request.headers())
        .get(FLASH_COOKIE)
        .is_some();
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if had_flash && is_page && !response.headers().contains_key(header::LOCATION) {
        let mut removal = Cookie::build((FLASH_COOKIE, "")).path("/").build();
        removal.make_removal();
        if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_next("/people?page=2"), "/people?page=2");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil",
            "people",
            "/login?next=/x",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(bad), "/home", "{bad}");
        }
    }
}
