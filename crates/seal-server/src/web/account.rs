//! Sign-in (password, then the second factor when enrolled), registration, sign-out,
//! the language switch, and the person's own account: password and TOTP.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::{CookieJar, Form};
use seal_app::auth::LoginRequest;
use seal_app::orgs::Registration;
use seal_app::totp::Enrolment;
use serde::Deserialize;

use crate::AppState;
use crate::extract::{Context, SESSION_COOKIE};
use crate::i18n::{LANG_COOKIE, Lang};
use crate::web::{Chrome, FieldErrors, Page, PageError, redirect_with_flash, render, safe_next};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    errors: FieldErrors,
    org_code: String,
    login: String,
    next: String,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

/// `/`: the home page when signed in, else sign-in.
#[utoipa::path(get, path = "/", tag = "web", responses((status = 303, description = "Redirect")))]
pub async fn root(page: Page) -> Redirect {
    Redirect::to(if page.principal.is_some() {
        "/home"
    } else {
        "/login"
    })
}

/// The sign-in form.
#[utoipa::path(get, path = "/login", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn login_form(page: Page, Query(query): Query<NextQuery>) -> Result<Response, PageError> {
    let next = safe_next(query.next.as_deref().unwrap_or("/home"));
    if page.principal.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    render(&LoginPage {
        chrome: page.chrome("login.title"),
        errors: FieldErrors::default(),
        org_code: String::new(),
        login: String::new(),
        next,
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginForm {
    org_code: String,
    login: String,
    password: String,
    next: Option<String>,
}

/// Signs in; on to the second factor when enrolled, else back to where the person was going.
#[utoipa::path(post, path = "/login", tag = "web", responses((status = 303, description = "Signed in"), (status = 200, description = "The form again, with errors")))]
pub async fn login(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref().unwrap_or("/home"));
    let request = LoginRequest {
        org_code: form.org_code.clone(),
        login: form.login.clone(),
        password: form.password,
    };
    let previous = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned());
    match state
        .app
        .login(&request, &context, previous.as_deref())
        .await
    {
        Ok(session) => {
            let jar = jar.add(state.session_cookie(&session.token));
            let to = if session.mfa_pending {
                format!("/login/mfa?next={}", urlencoding::encode(&next))
            } else if session.must_change_password {
                "/account#password".to_owned()
            } else {
                next
            };
            Ok((jar, Redirect::to(&to)).into_response())
        }
        Err(error) => {
            let mut errors = FieldErrors::from_app(error, &[])?;
            errors.promote("login");
            render(&LoginPage {
                chrome: page.chrome("login.title"),
                errors,
                org_code: form.org_code,
                login: form.login,
                next,
            })
        }
    }
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage {
    chrome: Chrome,
    errors: FieldErrors,
    next: String,
}

/// The second-factor form.
#[utoipa::path(get, path = "/login/mfa", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn mfa_form(page: Page, Query(query): Query<NextQuery>) -> Result<Response, PageError> {
    let next = safe_next(query.next.as_deref().unwrap_or("/home"));
    render(&MfaPage {
        chrome: page.chrome("mfa.title"),
        errors: FieldErrors::default(),
        next,
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeForm {
    code: String,
    next: Option<String>,
}

/// Completes sign-in with a TOTP or recovery code.
#[utoipa::path(post, path = "/login/mfa", tag = "web", responses((status = 303, description = "Signed in"), (status = 200, description = "The form again, with errors")))]
pub async fn mfa(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref().unwrap_or("/home"));
    let Some(pending) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Err(PageError::SignIn { next });
    };
    match state.app.complete_mfa(&pending, &form.code, &context).await {
        Ok(session) => {
            let jar = jar.add(state.session_cookie(&session.token));
            let to = if session.must_change_password {
                "/account#password".to_owned()
            } else {
                next
            };
            Ok((jar, Redirect::to(&to)).into_response())
        }
        Err(seal_app::AppError::Unauthenticated) => Err(PageError::SignIn { next }),
        Err(error) => {
            let mut errors = FieldErrors::from_app(error, &[])?;
            errors.promote("code");
            render(&MfaPage {
                chrome: page.chrome("mfa.title"),
                errors,
                next,
            })
        }
    }
}

/// Signs out.
#[utoipa::path(post, path = "/logout", tag = "web", responses((status = 303, description = "Signed out")))]
pub async fn logout(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    jar: CookieJar,
) -> Result<Response, PageError> {
    if let Some(principal) = &page.principal {
        state.app.logout(principal, &context).await?;
    }
    let jar = jar.remove(state.session_cookie(""));
    Ok((jar, redirect_with_flash("/", "flash.signed_out", true)).into_response())
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct RegisterForm {
    #[serde(default)]
    org_name: String,
    #[serde(default)]
    org_code: String,
    #[serde(default)]
    uscc: String,
    #[serde(default)]
    admin_name: String,
    #[serde(default)]
    admin_phone: String,
    #[serde(default)]
    admin_email: String,
    #[serde(default)]
    admin_password: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    chrome: Chrome,
    errors: FieldErrors,
    form: RegisterForm,
}

/// The registration form.
#[utoipa::path(get, path = "/register", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn register_form(page: Page) -> Result<Response, PageError> {
    render(&RegisterPage {
        chrome: page.chrome("register.title"),
        errors: FieldErrors::default(),
        form: RegisterForm::default(),
    })
}

/// Registers an organisation and signs its first admin in.
#[utoipa::path(post, path = "/register", tag = "web", responses((status = 303, description = "Registered"), (status = 200, description = "The form again, with errors")))]
pub async fn register(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    jar: CookieJar,
    Form(form): Form<RegisterForm>,
) -> Result<Response, PageError> {
    let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let registration = Registration {
        org_name: form.org_name.clone(),
        org_code: form.org_code.clone(),
        uscc: optional(&form.uscc),
        admin_name: form.admin_name.clone(),
        admin_phone: optional(&form.admin_phone),
        admin_email: optional(&form.admin_email),
        admin_password: form.admin_password.clone(),
    };
    match state.app.register_org(&registration, &context).await {
        Ok(registered) => {
            let jar = jar.add(state.session_cookie(&registered.session.token));
            Ok((jar, redirect_with_flash("/home", "flash.registered", true)).into_response())
        }
        Err(error) => {
            let errors = FieldErrors::from_app(
                error,
                &[("phone", "admin_phone"), ("email", "admin_email")],
            )?;
            let form = RegisterForm {
                admin_password: String::new(),
                ..form
            };
            render(&RegisterPage {
                chrome: page.chrome("register.title"),
                errors,
                form,
            })
        }
    }
}

/// Switches the console language (a preference, kept in a cookie for a year).
#[utoipa::path(get, path = "/lang/{code}", tag = "web", params(("code" = String, Path, description = "zh-CN or en")),
    responses((status = 303, description = "Back to the page")))]
pub async fn switch_language(Path(code): Path<String>, Query(query): Query<NextQuery>) -> Response {
    let next = safe_next(query.next.as_deref().unwrap_or("/"));
    let Some(lang) = Lang::from_code(&code) else {
        return Redirect::to(&next).into_response();
    };
    // A year, so the choice survives closing the browser; not HttpOnly-sensitive (a preference).
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = cookie.to_string().parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    must_change: bool,
    totp_enabled: bool,
    enrolment: Option<Enrolment>,
    recovery_codes: Option<Vec<String>>,
    /// Unused recovery codes, when TOTP is on.
    recovery_codes_left: i64,
    password_errors: FieldErrors,
    totp_errors: FieldErrors,
}

impl AccountPage {
    fn new(page: &Page, principal: &seal_app::policy::Principal) -> AccountPage {
        AccountPage {
            chrome: page.chrome("account.title"),
            must_change: principal.person.must_change_password,
            totp_enabled: principal.person.totp_enabled,
            enrolment: None,
            recovery_codes: None,
            recovery_codes_left: 0,
            password_errors: FieldErrors::default(),
            totp_errors: FieldErrors::default(),
        }
    }
}

/// The person's own account: password, second factor, language.
#[utoipa::path(get, path = "/account", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn account(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let principal = page.require()?;
    let mut view = AccountPage::new(&page, principal);
    if view.totp_enabled {
        view.recovery_codes_left = state.app.recovery_codes_left(principal).await?;
    }
    render(&view)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RecoveryForm {
    recovery_password: String,
}

/// Replaces the recovery codes and shows the new ones once.
#[utoipa::path(post, path = "/account/totp/recovery-codes", tag = "web", responses((status = 200, description = "The new codes, or the page again with errors")))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(form): Form<RecoveryForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let mut view = AccountPage::new(&page, principal);
    match state
        .app
        .regenerate_recovery_codes(principal, &form.recovery_password, &context)
        .await
    {
        Ok(codes) => {
            view.recovery_codes_left = codes.len() as i64;
            view.recovery_codes = Some(codes);
        }
        Err(error) => {
            view.totp_errors = FieldErrors::from_app(error, &[("password", "recovery_password")])?;
            if view.totp_enabled {
                view.recovery_codes_left = state.app.recovery_codes_left(principal).await?;
            }
        }
    }
    render(&view)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// Changes the password; other sessions end, this browser gets a new one.
#[utoipa::path(post, path = "/account/password", tag = "web", responses((status = 303, description = "Changed"), (status = 200, description = "The page again, with errors")))]
pub async fn change_password(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    match state
        .app
        .change_password(
            principal,
            &form.current_password,
            &form.new_password,
            &context,
        )
        .await
    {
        Ok(session) => {
            let jar = jar.add(state.session_cookie(&session.token));
            Ok((
                jar,
                redirect_with_flash("/account", "flash.password_changed", true),
            )
                .into_response())
        }
        Err(error) => {
            let mut view = AccountPage::new(&page, principal);
            view.password_errors = FieldErrors::from_app(error, &[])?;
            render(&view)
        }
    }
}

/// Starts TOTP enrolment: shows the QR code and asks for a code.
#[utoipa::path(post, path = "/account/totp", tag = "web", responses((status = 200, description = "The QR code to scan")))]
pub async fn start_totp(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let mut view = AccountPage::new(&page, principal);
    match state.app.start_totp_enrolment(principal, &context).await {
        Ok(enrolment) => view.enrolment = Some(enrolment),
        Err(error) => view.totp_errors = FieldErrors::from_app(error, &[])?,
    }
    render(&view)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TotpCodeForm {
    code: String,
}

/// Confirms TOTP with a code and shows the recovery codes once.
#[utoipa::path(post, path = "/account/totp/confirm", tag = "web", responses((status = 200, description = "Recovery codes, or the form again")))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(form): Form<TotpCodeForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    match state
        .app
        .confirm_totp(principal, &form.code, &context)
        .await
    {
        Ok(codes) => {
            let mut view = AccountPage::new(&page, principal);
            view.totp_enabled = true;
            view.recovery_codes = Some(codes);
            view.chrome.flash = Some(crate::web::Flash {
                success: true,
                text: page.t.get("flash.totp_enabled"),
            });
            render(&view)
        }
        Err(error) => {
            let mut view = AccountPage::new(&page, principal);
            let mut errors = FieldErrors::from_app(error, &[])?;
            // A wrong code is about the code field.
            if let Some(general) = errors.general.take() {
                errors = field_error("code", general);
            }
            view.totp_errors = errors;
            // Show the same secret again so the person can retry with the app they set up.
            view.enrolment = state.app.current_totp_enrolment(principal).await?;
            render(&view)
        }
    }
}

/// Turns TOTP off after checking the password.
#[utoipa::path(post, path = "/account/totp/remove", tag = "web", responses((status = 303, description = "Removed"), (status = 200, description = "The page again, with errors")))]
pub async fn remove_totp(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Form(form): Form<crate::web::directory::PasswordOnly>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    match state
        .app
        .remove_totp(principal, &form.password, &context)
        .await
    {
        Ok(()) => Ok(redirect_with_flash("/account", "flash.totp_removed", true)),
        Err(error) => {
            let mut view = AccountPage::new(&page, principal);
            view.totp_errors = FieldErrors::from_app(error, &[])?;
            render(&view)
        }
    }
}

fn field_error(field: &str, message: String) -> FieldErrors {
    let mut errors = FieldErrors::default();
    errors.insert(field, message);
    errors
}
