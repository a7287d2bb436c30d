//! The route × role permission matrix. Every route the server answers (read from its own
//! OpenAPI document, which is built from the router) must have an expectation here; each
//! is called by every built-in role, by another organisation's admin, and signed out, and
//! any unexpected allow or deny fails the test. A route without an expectation, or an
//! expectation for a route that no longer exists, fails it too.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Client, PASSWORD, TestServer, add_person, role_id};
use crate::device_client::Device;

/// Who may call a route.
#[derive(Clone, Copy, Debug)]
enum Allowed {
    /// Anyone, signed in or not.
    Public,
    /// Only a session waiting for its second factor; everyone else is unauthenticated.
    PendingSecondFactor,
    /// Signed-in people holding one of these built-in roles.
    Roles(&'static [&'static str]),
    /// Devices only (`/device/v1`): every person, signed in or not, gets 401 with a
    /// `device.signature.*` code.
    DeviceSigned,
}

const ALL: &[&str] = &[
    "org_admin",
    "seal_keeper",
    "approver",
    "auditor",
    "employee",
    "it",
];
const ADMIN: &[&str] = &["org_admin"];
/// Holders of `people.read`.
const DIRECTORY_READERS: &[&str] = &["org_admin", "seal_keeper", "approver", "auditor", "it"];
/// Holders of `tokens.manage`.
const TOKEN_MANAGERS: &[&str] = &["org_admin", "it"];
/// Holders of `audit.read`.
const AUDITORS: &[&str] = &["org_admin", "auditor"];
/// Holders of `webhooks.manage`.
const WEBHOOK_MANAGERS: &[&str] = &["org_admin", "it"];
/// Holders of `seals.read`.
const SEAL_READERS: &[&str] = &[
    "org_admin",
    "seal_keeper",
    "approver",
    "auditor",
    "employee",
];
/// Who may see devices: holders of `devices.manage`, `seals.keep`, `alarms.handle` or
/// `audit.read`.
const DEVICE_READERS: &[&str] = &["org_admin", "seal_keeper", "auditor", "it"];
/// Holders of `devices.manage`.
const DEVICE_MANAGERS: &[&str] = &["org_admin", "it"];
/// Who may see alarms: holders of `alarms.handle`, `audit.read` or `devices.manage`.
const ALARM_READERS: &[&str] = &["org_admin", "seal_keeper", "auditor", "it"];
/// Holders of `alarms.handle`.
const ALARM_HANDLERS: &[&str] = &["org_admin", "seal_keeper"];
/// Holders of `applications.read_all`.
const ALL_APPLICATION_READERS: &[&str] = &["org_admin", "auditor"];
/// Holders of `applications.create`.
const APPLICANTS: &[&str] = &["employee"];
/// Holders of `applications.approve`.
const APPROVERS: &[&str] = &["seal_keeper", "approver"];
/// Who may compare uploads: holders of `applications.create`, `applications.approve`,
/// `seals.keep`, `applications.read_all` or `audit.read`.
const COMPARERS: &[&str] = &[
    "org_admin",
    "seal_keeper",
    "approver",
    "auditor",
    "employee",
];
/// Who sees an application submitted by the employee on a seal kept by the seal keeper
/// and reviewed by the approver role: the applicant, the approvers, the keeper, and
/// holders of `applications.read_all`.
const APPLICATION_READERS: &[&str] = &[
    "org_admin",
    "seal_keeper",
    "approver",
    "auditor",
    "employee",
];

/// What a path parameter `{id}` stands for; a fresh one is made in organisation A for
/// every call, so destructive calls never disturb the next.
#[derive(Clone, Copy, Debug)]
enum Target {
    None,
    Department,
    Person,
    CustomRole,
    Token,
    /// A webhook endpoint (to an address that never resolves).
    Webhook,
    /// A delivery (of a test event to such an endpoint).
    Delivery,
    /// A seal (kept by the seal keeper).
    Seal,
    /// An approval flow that no seal uses.
    Flow,
    /// An application filed by the employee with one document, submitted for review by
    /// the approver role; `{document}` in the path is its document.
    Application,
    /// Such an application, approved (it has an active grant).
    ApprovedApplication,
    /// Such an approved application with one press of the seal box bound to its seal,
    /// photographed; `{stamp}` in the path is that stamp.
    StampedApplication,
    /// A seal box enrolled with a fresh token, waiting for approval.
    Device,
    /// An open `tamper` alarm of a fresh, approved seal box.
    Alarm,
    /// The stamp of a fresh [`Target::StampedApplication`].
    Stamp,
    /// A comparison of two uploads by organisation A's admin (made once: reading it
    /// changes nothing).
    Comparison,
}

struct Expectation {
    method: Method,
    path: &'static str,
    allowed: Allowed,
    target: Target,
    /// A valid body (authorization must be what decides, not validation); `{n}` is replaced
    /// by a number unique to the call.
    body: Option<&'static str>,
}

fn expectations() -> Vec<Expectation> {
    use Allowed::*;
    let e = |method: Method,
             path: &'static str,
             allowed: Allowed,
             target: Target,
             body: Option<&'static str>| Expectation {
        method,
        path,
        allowed,
        target,
        body,
    };
    vec![
        e(Method::GET, "/healthz", Public, Target::None, None),
        e(Method::GET, "/readyz", Public, Target::None, None),
        e(
            Method::GET,
            "/api/v1/openapi.json",
            Public,
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/organisations",
            Public,
            Target::None,
            Some(
                r#"{"org_name":"新组织{n}","org_code":"neworg{n}","admin_name":"管理员","admin_phone":"13900000001","admin_password":"Correct-Horse-印章-Battery"}"#,
            ),
        ),
        e(
            Method::POST,
            "/api/v1/auth/login",
            Public,
            Target::None,
            Some(r#"{"org_code":"alpha","login":"13800000001","password":"wrong password {n}"}"#),
        ),
        e(
            Method::POST,
            "/api/v1/auth/mfa",
            PendingSecondFactor,
            Target::None,
            Some(r#"{"code":"123456"}"#),
        ),
        e(
            Method::POST,
            "/api/v1/auth/logout",
            Roles(ALL),
            Target::None,
            None,
        ),
        e(Method::GET, "/api/v1/me", Roles(ALL), Target::None, None),
        // A wrong current password: the caller gets as far as validation without changing it.
        e(
            Method::POST,
            "/api/v1/me/password",
            Roles(ALL),
            Target::None,
            Some(
                r#"{"current_password":"not it {n}","new_password":"Another-Strong-印章-Phrase"}"#,
            ),
        ),
        e(
            Method::POST,
            "/api/v1/me/totp",
            Roles(ALL),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/me/totp/confirm",
            Roles(ALL),
            Target::None,
            Some(r#"{"code":"000000"}"#),
        ),
        e(
            Method::POST,
            "/api/v1/me/totp/recovery-codes",
            Roles(ALL),
            Target::None,
            Some(r#"{"password":"not it"}"#),
        ),
        e(
            Method::DELETE,
            "/api/v1/me/totp",
            Roles(ALL),
            Target::None,
            Some(r#"{"password":"Correct-Horse-印章-Battery"}"#),
        ),
        e(Method::GET, "/api/v1/org", Roles(ALL), Target::None, None),
        e(
            Method::PATCH,
            "/api/v1/org",
            Roles(ADMIN),
            Target::None,
            Some(r#"{"name":"改名 {n}"}"#),
        ),
        e(
            Method::GET,
            "/api/v1/departments",
            Roles(DIRECTORY_READERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/departments",
            Roles(ADMIN),
            Target::None,
            Some(r#"{"name":"部门 {n}"}"#),
        ),
        e(
            Method::PATCH,
            "/api/v1/departments/{id}",
            Roles(ADMIN),
            Target::Department,
            Some(r#"{"name":"改名部门 {n}"}"#),
        ),
        e(
            Method::DELETE,
            "/api/v1/departments/{id}",
            Roles(ADMIN),
            Target::Department,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/people",
            Roles(DIRECTORY_READERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/people",
            Roles(ADMIN),
            Target::None,
            Some(r#"{"name":"新人 {n}","email":"new{n}@example.com"}"#),
        ),
        e(
            Method::GET,
            "/api/v1/people/{id}",
            Roles(DIRECTORY_READERS),
            Target::Person,
            None,
        ),
        e(
            Method::PATCH,
            "/api/v1/people/{id}",
            Roles(ADMIN),
            Target::Person,
            Some(r#"{"name":"改名 {n}"}"#),
        ),
        e(
            Method::PUT,
            "/api/v1/people/{id}/roles",
            Roles(ADMIN),
            Target::Person,
            Some(r#"{"role_ids":[]}"#),
        ),
        e(
            Method::POST,
            "/api/v1/people/{id}/disable",
            Roles(ADMIN),
            Target::Person,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/people/{id}/enable",
            Roles(ADMIN),
            Target::Person,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/people/{id}/password-reset",
            Roles(ADMIN),
            Target::Person,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/roles",
            Roles(DIRECTORY_READERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/roles",
            Roles(ADMIN),
            Target::None,
            Some(r#"{"name":"角色 {n}","permissions":["people.read"]}"#),
        ),
        e(
            Method::PATCH,
            "/api/v1/roles/{id}",
            Roles(ADMIN),
            Target::CustomRole,
            Some(r#"{"name":"改名角色 {n}"}"#),
        ),
        e(
            Method::DELETE,
            "/api/v1/roles/{id}",
            Roles(ADMIN),
            Target::CustomRole,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/permissions",
            Roles(ALL),
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/seals",
            Roles(SEAL_READERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/seals",
            Roles(ADMIN),
            Target::None,
            Some(r#"{"name":"印章 {n}","kind":"seal_box","seal_type":"contract","level":2}"#),
        ),
        e(
            Method::GET,
            "/api/v1/seals/{id}",
            Roles(SEAL_READERS),
            Target::Seal,
            None,
        ),
        e(
            Method::PUT,
            "/api/v1/seals/{id}",
            Roles(ADMIN),
            Target::Seal,
            Some(r#"{"name":"改名 {n}","kind":"seal_box","seal_type":"contract","level":1}"#),
        ),
        e(
            Method::POST,
            "/api/v1/seals/{id}/status",
            Roles(ADMIN),
            Target::Seal,
            Some(r#"{"status":"suspended","reason":"年检 {n}"}"#),
        ),
        e(
            Method::GET,
            "/api/v1/seals/{id}/image",
            Roles(SEAL_READERS),
            Target::Seal,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/factor-policy",
            Roles(SEAL_READERS),
            Target::None,
            None,
        ),
        e(
            Method::PUT,
            "/api/v1/factor-policy",
            Roles(ADMIN),
            Target::None,
            Some(r#"{"level1":"fingerprint+face","level2":"fingerprint","level3":"pin|id_code"}"#),
        ),
        e(
            Method::GET,
            "/api/v1/flows",
            Roles(SEAL_READERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/flows",
            Roles(ADMIN),
            Target::None,
            Some(
                r#"{"name":"流程 {n}","steps":[{"name":"部门","approvers":"department_head","rule":"any"}]}"#,
            ),
        ),
        e(
            Method::GET,
            "/api/v1/flows/{id}",
            Roles(SEAL_READERS),
            Target::Flow,
            None,
        ),
        e(
            Method::PUT,
            "/api/v1/flows/{id}",
            Roles(ADMIN),
            Target::Flow,
            Some(
                r#"{"name":"改名流程 {n}","steps":[{"name":"保管人","approvers":"seal_keeper","rule":"any"}]}"#,
            ),
        ),
        e(
            Method::DELETE,
            "/api/v1/flows/{id}",
            Roles(ADMIN),
            Target::Flow,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/applications",
            Roles(APPLICANTS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/applications",
            Roles(APPLICANTS),
            Target::None,
            Some(
                r#"{"seal_id":"{seal}","stamp_kind":"ordinary","title":"申请 {n}","reason":"签约","count":1,"from":"{from}","until":"{until}"}"#,
            ),
        ),
        e(
            Method::GET,
            "/api/v1/applications/{id}",
            Roles(APPLICATION_READERS),
            Target::Application,
            None,
        ),
        e(
            Method::PUT,
            "/api/v1/applications/{id}",
            Roles(APPLICANTS),
            Target::Application,
            Some(
                r#"{"seal_id":"{seal}","stamp_kind":"ordinary","title":"改 {n}","reason":"签约","count":1,"from":"{from}","until":"{until}"}"#,
            ),
        ),
        e(
            Method::POST,
            "/api/v1/applications/{id}/documents",
            Roles(APPLICANTS),
            Target::Application,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/applications/{id}/documents/{document}",
            Roles(APPLICATION_READERS),
            Target::Application,
            None,
        ),
        e(
            Method::DELETE,
            "/api/v1/applications/{id}/documents/{document}",
            Roles(APPLICANTS),
            Target::Application,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/applications/{id}/documents/{document}/thumbnail",
            Roles(APPLICATION_READERS),
            Target::Application,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/applications/{id}/submit",
            Roles(APPLICANTS),
            Target::Application,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/applications/{id}/withdraw",
            Roles(APPLICANTS),
            Target::Application,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/applications/{id}/decision",
            Roles(APPROVERS),
            Target::Application,
            Some(r#"{"verdict":"approve","comment":"同意 {n}"}"#),
        ),
        e(
            Method::POST,
            "/api/v1/applications/{id}/grant/revoke",
            Roles(ADMIN),
            Target::ApprovedApplication,
            Some(r#"{"reason":"作废 {n}"}"#),
        ),
        e(
            Method::GET,
            "/api/v1/inbox",
            Roles(APPROVERS),
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/tokens",
            Roles(TOKEN_MANAGERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/tokens",
            Roles(TOKEN_MANAGERS),
            Target::None,
            Some(r#"{"name":"集成 {n}","scopes":["people.read"]}"#),
        ),
        e(
            Method::DELETE,
            "/api/v1/tokens/{id}",
            Roles(TOKEN_MANAGERS),
            Target::Token,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/audit-events",
            Roles(AUDITORS),
            Target::None,
            None,
        ),
        // The console's pages and form posts ({csrf} is the form token of the caller).
        e(Method::GET, "/", Public, Target::None, None),
        e(Method::GET, "/assets/{name}", Public, Target::None, None),
        e(Method::GET, "/login", Public, Target::None, None),
        e(
            Method::POST,
            "/login",
            Public,
            Target::None,
            Some("_csrf={csrf}&org_code=alpha&login=13800000001&password=wrong{n}"),
        ),
        e(Method::GET, "/login/mfa", Public, Target::None, None),
        e(
            Method::POST,
            "/login/mfa",
            PendingSecondFactor,
            Target::None,
            Some("_csrf={csrf}&code=123456"),
        ),
        e(
            Method::POST,
            "/logout",
            Public,
            Target::None,
            Some("_csrf={csrf}"),
        ),
        e(Method::GET, "/register", Public, Target::None, None),
        e(
            Method::POST,
            "/register",
            Public,
            Target::None,
            Some(
                "_csrf={csrf}&org_name=%E6%96%B0{n}&org_code=webnew{n}&admin_name=%E7%8E%8B&admin_phone=13900000001&admin_password=Correct-Horse-Battery-Staple-{n}",
            ),
        ),
        e(Method::GET, "/lang/{code}", Public, Target::None, None),
        e(Method::GET, "/home", Roles(ALL), Target::None, None),
        e(Method::GET, "/account", Roles(ALL), Target::None, None),
        e(
            Method::POST,
            "/account/password",
            Roles(ALL),
            Target::None,
            Some("_csrf={csrf}&current_password=not-it-{n}&new_password=Another-Strong-Phrase-{n}"),
        ),
        e(
            Method::POST,
            "/account/totp",
            Roles(ALL),
            Target::None,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::POST,
            "/account/totp/confirm",
            Roles(ALL),
            Target::None,
            Some("_csrf={csrf}&code=000000"),
        ),
        e(
            Method::POST,
            "/account/totp/remove",
            Roles(ALL),
            Target::None,
            Some("_csrf={csrf}&password=x"),
        ),
        e(
            Method::POST,
            "/account/totp/recovery-codes",
            Roles(ALL),
            Target::None,
            Some("_csrf={csrf}&recovery_password=x"),
        ),
        e(
            Method::GET,
            "/departments",
            Roles(DIRECTORY_READERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/departments",
            Roles(ADMIN),
            Target::None,
            Some("_csrf={csrf}&name=web{n}"),
        ),
        e(
            Method::GET,
            "/departments/{id}",
            Roles(ADMIN),
            Target::Department,
            None,
        ),
        e(
            Method::POST,
            "/departments/{id}",
            Roles(ADMIN),
            Target::Department,
            Some("_csrf={csrf}&name=renamed{n}&parent_id="),
        ),
        e(
            Method::POST,
            "/departments/{id}/delete",
            Roles(ADMIN),
            Target::Department,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::GET,
            "/people",
            Roles(DIRECTORY_READERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/people",
            Roles(ADMIN),
            Target::None,
            Some("_csrf={csrf}&name=web{n}&email=web{n}%40example.com"),
        ),
        e(Method::GET, "/people/new", Roles(ADMIN), Target::None, None),
        e(
            Method::GET,
            "/people/{id}",
            Roles(ADMIN),
            Target::Person,
            None,
        ),
        e(
            Method::POST,
            "/people/{id}",
            Roles(ADMIN),
            Target::Person,
            Some("_csrf={csrf}&name=edited{n}&email=edited{n}%40example.com"),
        ),
        e(
            Method::POST,
            "/people/{id}/disable",
            Roles(ADMIN),
            Target::Person,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::POST,
            "/people/{id}/enable",
            Roles(ADMIN),
            Target::Person,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::POST,
            "/people/{id}/password-reset",
            Roles(ADMIN),
            Target::Person,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::GET,
            "/roles",
            Roles(DIRECTORY_READERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/roles",
            Roles(ADMIN),
            Target::None,
            Some("_csrf={csrf}&name=webrole{n}&permissions=people.read"),
        ),
        e(
            Method::GET,
            "/roles/{id}",
            Roles(ADMIN),
            Target::CustomRole,
            None,
        ),
        e(
            Method::POST,
            "/roles/{id}",
            Roles(ADMIN),
            Target::CustomRole,
            Some("_csrf={csrf}&name=renamedrole{n}&permissions=seals.read"),
        ),
        e(
            Method::POST,
            "/roles/{id}/delete",
            Roles(ADMIN),
            Target::CustomRole,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::GET,
            "/tokens",
            Roles(TOKEN_MANAGERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/tokens",
            Roles(TOKEN_MANAGERS),
            Target::None,
            Some("_csrf={csrf}&name=webtoken{n}&scopes=people.read"),
        ),
        e(
            Method::POST,
            "/tokens/{id}/revoke",
            Roles(TOKEN_MANAGERS),
            Target::Token,
            Some("_csrf={csrf}"),
        ),
        e(Method::GET, "/audit", Roles(AUDITORS), Target::None, None),
        // Webhooks and filing targets: API and console.
        e(
            Method::GET,
            "/api/v1/webhooks",
            Roles(WEBHOOK_MANAGERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/webhooks",
            Roles(WEBHOOK_MANAGERS),
            Target::None,
            Some(r#"{"url":"https://receiver.invalid/hook{n}","kinds":["seal.created"]}"#),
        ),
        e(
            Method::GET,
            "/api/v1/webhooks/{id}",
            Roles(WEBHOOK_MANAGERS),
            Target::Webhook,
            None,
        ),
        e(
            Method::PATCH,
            "/api/v1/webhooks/{id}",
            Roles(WEBHOOK_MANAGERS),
            Target::Webhook,
            Some(r#"{"url":"https://receiver.invalid/renamed{n}"}"#),
        ),
        e(
            Method::DELETE,
            "/api/v1/webhooks/{id}",
            Roles(WEBHOOK_MANAGERS),
            Target::Webhook,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/webhooks/{id}/rotate-secret",
            Roles(WEBHOOK_MANAGERS),
            Target::Webhook,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/webhooks/{id}/test",
            Roles(WEBHOOK_MANAGERS),
            Target::Webhook,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/webhook-deliveries",
            Roles(WEBHOOK_MANAGERS),
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/webhook-deliveries/{id}",
            Roles(WEBHOOK_MANAGERS),
            Target::Delivery,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/webhook-deliveries/{id}/replay",
            Roles(WEBHOOK_MANAGERS),
            Target::Delivery,
            None,
        ),
        e(
            Method::GET,
            "/webhooks",
            Roles(WEBHOOK_MANAGERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/webhooks",
            Roles(WEBHOOK_MANAGERS),
            Target::None,
            Some(
                "_csrf={csrf}&url=https%3A%2F%2Freceiver.invalid%2Fweb{n}&kinds=seal.created&enabled=1",
            ),
        ),
        e(
            Method::GET,
            "/webhooks/{id}",
            Roles(WEBHOOK_MANAGERS),
            Target::Webhook,
            None,
        ),
        e(
            Method::POST,
            "/webhooks/{id}",
            Roles(WEBHOOK_MANAGERS),
            Target::Webhook,
            Some(
                "_csrf={csrf}&url=https%3A%2F%2Freceiver.invalid%2Fedited{n}&kinds=grant.issued&enabled=1",
            ),
        ),
        e(
            Method::POST,
            "/webhooks/{id}/rotate-secret",
            Roles(WEBHOOK_MANAGERS),
            Target::Webhook,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::POST,
            "/webhooks/{id}/test",
            Roles(WEBHOOK_MANAGERS),
            Target::Webhook,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::POST,
            "/webhooks/{id}/delete",
            Roles(WEBHOOK_MANAGERS),
            Target::Webhook,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::GET,
            "/webhook-deliveries",
            Roles(WEBHOOK_MANAGERS),
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/webhook-deliveries/{id}",
            Roles(WEBHOOK_MANAGERS),
            Target::Delivery,
            None,
        ),
        e(
            Method::POST,
            "/webhook-deliveries/{id}/replay",
            Roles(WEBHOOK_MANAGERS),
            Target::Delivery,
            Some("_csrf={csrf}"),
        ),
    ]
    .into_iter()
    .chain(seal_page_expectations())
    .chain(device_api_expectations())
    .chain(device_page_expectations())
    .collect()
}

/// The people's device, alarm and stamp-record API, and the device protocol (signed by
/// devices only).
fn device_api_expectations() -> Vec<Expectation> {
    use Allowed::*;
    let e = |method: Method,
             path: &'static str,
             allowed: Allowed,
             target: Target,
             body: Option<&'static str>| Expectation {
        method,
        path,
        allowed,
        target,
        body,
    };
    let mut all = vec![
        e(
            Method::GET,
            "/api/v1/device-enrolment-tokens",
            Roles(DEVICE_MANAGERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/device-enrolment-tokens",
            Roles(DEVICE_MANAGERS),
            Target::None,
            Some(r#"{"kind": "seal_box", "note": "api{n}"}"#),
        ),
        e(
            Method::GET,
            "/api/v1/devices",
            Roles(DEVICE_READERS),
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/devices/{id}",
            Roles(DEVICE_READERS),
            Target::Device,
            None,
        ),
        e(
            Method::PATCH,
            "/api/v1/devices/{id}",
            Roles(DEVICE_MANAGERS),
            Target::Device,
            Some(r#"{"terminal": "api-phone-{n}"}"#),
        ),
        e(
            Method::POST,
            "/api/v1/devices/{id}/approve",
            Roles(DEVICE_MANAGERS),
            Target::Device,
            Some("{}"),
        ),
        e(
            Method::POST,
            "/api/v1/devices/{id}/revoke",
            Roles(DEVICE_MANAGERS),
            Target::Device,
            Some("{}"),
        ),
        e(
            Method::POST,
            "/api/v1/devices/{id}/commands",
            Roles(DEVICE_MANAGERS),
            Target::Device,
            Some(r#"{"kind": "lock"}"#),
        ),
        e(
            Method::GET,
            "/api/v1/alarms",
            Roles(ALARM_READERS),
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/alarms/{id}",
            Roles(ALARM_READERS),
            Target::Alarm,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/alarms/{id}/acknowledge",
            Roles(ALARM_HANDLERS),
            Target::Alarm,
            Some(r#"{"note": "ack {n}"}"#),
        ),
        e(
            Method::POST,
            "/api/v1/alarms/{id}/resolve",
            Roles(ALARM_HANDLERS),
            Target::Alarm,
            Some(r#"{"note": "done {n}"}"#),
        ),
        e(
            Method::GET,
            "/api/v1/applications/{id}/stamps",
            Roles(APPLICATION_READERS),
            Target::StampedApplication,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/applications/{id}/stamps/{stamp}/photo",
            Roles(APPLICATION_READERS),
            Target::StampedApplication,
            None,
        ),
        // Document comparison: uploads by those who handle applications; a comparison by
        // hand is seen by its author and those who read everything; thresholds.
        e(
            Method::POST,
            "/api/v1/comparisons",
            Roles(COMPARERS),
            Target::None,
            Some("{}"),
        ),
        e(
            Method::GET,
            "/api/v1/comparisons/{id}",
            Roles(ALL_APPLICATION_READERS),
            Target::Comparison,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/comparisons/{id}/diff.png",
            Roles(ALL_APPLICATION_READERS),
            Target::Comparison,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/applications/{id}/comparisons",
            Roles(APPLICATION_READERS),
            Target::Application,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/org/comparison-thresholds",
            Roles(AUDITORS),
            Target::None,
            None,
        ),
        e(
            Method::PUT,
            "/api/v1/org/comparison-thresholds",
            Roles(ADMIN),
            Target::None,
            Some(
                r#"{"other_page_below":0.5,"match_at_least":0.85,"minor_per_100":3.0,"blank_chars_below":12,"press_check":"alarm_and_lock"}"#,
            ),
        ),
        // Stamp proofs: public verification and the log; the organisation's own routes.
        e(
            Method::GET,
            "/.well-known/sealkeeper/keys.json",
            Public,
            Target::None,
            None,
        ),
        e(Method::GET, "/log/checkpoint", Public, Target::None, None),
        e(
            Method::GET,
            "/log/proof/inclusion",
            Public,
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/log/proof/consistency",
            Public,
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/verify/{code}",
            Public,
            Target::None,
            None,
        ),
        e(Method::GET, "/v", Public, Target::None, None),
        e(Method::GET, "/v/{code}", Public, Target::None, None),
        e(
            Method::GET,
            "/v/{code}/seal.svg",
            Public,
            Target::None,
            None,
        ),
        e(Method::GET, "/V/{code}", Public, Target::None, None),
        e(
            Method::GET,
            "/api/v1/stamps/{id}/mark",
            Roles(APPLICATION_READERS),
            Target::Stamp,
            None,
        ),
        e(
            Method::GET,
            "/v/{code}/thumbnail.jpg",
            Public,
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/api/v1/org/keys",
            Roles(ADMIN),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/org/keys/rotate",
            Roles(ADMIN),
            Target::None,
            Some("{}"),
        ),
        e(
            Method::GET,
            "/api/v1/org/verification",
            Roles(ADMIN),
            Target::None,
            None,
        ),
        e(
            Method::PUT,
            "/api/v1/org/verification",
            Roles(ADMIN),
            Target::None,
            Some(r#"{"thumbnail": false}"#),
        ),
        e(
            Method::GET,
            "/api/v1/stamps/{id}/events",
            Roles(ALL_APPLICATION_READERS),
            Target::Stamp,
            None,
        ),
        e(
            Method::POST,
            "/api/v1/stamps/{id}/status",
            Roles(ADMIN),
            Target::Stamp,
            Some(r#"{"status": "disputed", "note": "n {n}"}"#),
        ),
    ];
    for (method, path, body) in [
        (
            Method::POST,
            "/device/v1/enrol",
            Some(
                r#"{"token": "sket_x", "kind": "seal_box", "public_key": "x", "serial": "S{n}", "mac": "02:00:5e:00:00:01", "firmware": "1"}"#,
            ),
        ),
        (Method::GET, "/device/v1/me", None),
        (
            Method::POST,
            "/device/v1/unlock",
            Some(r#"{"order": "X-2026-000001", "device_time": 0, "nonce": "n{n}"}"#),
        ),
        (Method::POST, "/device/v1/events", Some(r#"{"events": []}"#)),
        (
            Method::POST,
            "/device/v1/heartbeat",
            Some(
                r#"{"at": 0, "battery_pct": 50, "position": null, "on_base": true, "tamper": false, "locked": true, "firmware": "1", "buffered_events": 0}"#,
            ),
        ),
        (Method::GET, "/device/v1/commands", None),
        (
            Method::POST,
            "/device/v1/commands/{id}/ack",
            Some(r#"{"result": "done"}"#),
        ),
        (
            Method::POST,
            "/device/v1/scan",
            Some(r#"{"order": "X-2026-000001", "page": ""}"#),
        ),
        (Method::GET, "/device/v1/stream", None),
    ] {
        all.push(e(method, path, DeviceSigned, Target::None, body));
    }
    all
}

/// The console's seal, flow, application and inbox pages.
fn seal_page_expectations() -> Vec<Expectation> {
    use Allowed::*;
    let e = |method: Method,
             path: &'static str,
             allowed: Allowed,
             target: Target,
             body: Option<&'static str>| Expectation {
        method,
        path,
        allowed,
        target,
        body,
    };
    vec![
        e(
            Method::GET,
            "/seals",
            Roles(SEAL_READERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/seals",
            Roles(ADMIN),
            Target::None,
            Some(
                "_csrf={csrf}&name=%E7%BD%91%E9%A1%B5%E7%AB%A0{n}&kind=seal_box&seal_type=contract&level=2",
            ),
        ),
        e(
            Method::GET,
            "/seals/{id}",
            Roles(SEAL_READERS),
            Target::Seal,
            None,
        ),
        e(
            Method::POST,
            "/seals/{id}",
            Roles(ADMIN),
            Target::Seal,
            Some(
                "_csrf={csrf}&name=%E6%94%B9%E5%90%8D{n}&kind=seal_box&seal_type=contract&level=3",
            ),
        ),
        e(
            Method::POST,
            "/seals/{id}/status",
            Roles(ADMIN),
            Target::Seal,
            Some("_csrf={csrf}&status=suspended&reason=%E6%A3%80%E4%BF%AE"),
        ),
        e(
            Method::GET,
            "/seals/{id}/image.svg",
            Roles(SEAL_READERS),
            Target::Seal,
            None,
        ),
        e(
            Method::GET,
            "/seals/{id}/image.png",
            Roles(SEAL_READERS),
            Target::Seal,
            None,
        ),
        e(Method::GET, "/flows", Roles(ADMIN), Target::None, None),
        e(
            Method::POST,
            "/flows",
            Roles(ADMIN),
            Target::None,
            Some(
                "_csrf={csrf}&name=%E7%BD%91%E9%A1%B5%E6%B5%81%E7%A8%8B{n}&s0_name=%E5%AE%A1%E6%89%B9&s0_approvers=seal_keeper&s0_rule=any&s0_condition=always",
            ),
        ),
        e(Method::GET, "/flows/new", Roles(ADMIN), Target::None, None),
        e(Method::GET, "/flows/{id}", Roles(ADMIN), Target::Flow, None),
        e(
            Method::POST,
            "/flows/{id}",
            Roles(ADMIN),
            Target::Flow,
            Some(
                "_csrf={csrf}&name=%E6%94%B9%E5%90%8D{n}&s0_name=%E5%AE%A1%E6%89%B9&s0_approvers=department_head&s0_rule=any&s0_condition=always",
            ),
        ),
        e(
            Method::POST,
            "/flows/{id}/delete",
            Roles(ADMIN),
            Target::Flow,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::GET,
            "/applications",
            Roles(APPLICANTS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/applications",
            Roles(APPLICANTS),
            Target::None,
            Some(
                "_csrf={csrf}&title=%E5%90%88%E5%90%8C{n}&reason=x&count=1&stamp_kind=ordinary&action=draft",
            ),
        ),
        e(
            Method::GET,
            "/applications/new",
            Roles(APPLICANTS),
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/applications/all",
            Roles(AUDITORS),
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/applications/{id}",
            Roles(APPLICATION_READERS),
            Target::Application,
            None,
        ),
        e(
            Method::POST,
            "/applications/{id}/documents",
            Roles(APPLICANTS),
            Target::Application,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::GET,
            "/applications/{id}/documents/{document}",
            Roles(APPLICATION_READERS),
            Target::Application,
            None,
        ),
        e(
            Method::GET,
            "/applications/{id}/documents/{document}/thumbnail",
            Roles(APPLICATION_READERS),
            Target::Application,
            None,
        ),
        e(
            Method::POST,
            "/applications/{id}/documents/{document}/delete",
            Roles(APPLICANTS),
            Target::Application,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::POST,
            "/applications/{id}/submit",
            Roles(APPLICANTS),
            Target::Application,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::POST,
            "/applications/{id}/withdraw",
            Roles(APPLICANTS),
            Target::Application,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::POST,
            "/applications/{id}/decision",
            Roles(APPROVERS),
            Target::Application,
            Some("_csrf={csrf}&verdict=approve&comment=ok"),
        ),
        e(
            Method::POST,
            "/applications/{id}/revoke",
            Roles(ADMIN),
            Target::ApprovedApplication,
            Some("_csrf={csrf}&reason=%E6%92%A4%E9%94%80"),
        ),
        e(
            Method::POST,
            "/applications/{id}/stamps/{stamp}/status",
            Roles(ADMIN),
            Target::StampedApplication,
            Some("_csrf={csrf}&status=disputed&note=n{n}"),
        ),
        e(Method::GET, "/inbox", Roles(APPROVERS), Target::None, None),
    ]
}

/// The console's device, enrolment-token, alarm and stamp-photo pages.
fn device_page_expectations() -> Vec<Expectation> {
    use Allowed::*;
    let e = |method: Method,
             path: &'static str,
             allowed: Allowed,
             target: Target,
             body: Option<&'static str>| Expectation {
        method,
        path,
        allowed,
        target,
        body,
    };
    vec![
        e(
            Method::GET,
            "/devices",
            Roles(DEVICE_READERS),
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/devices/enrolment-tokens",
            Roles(DEVICE_MANAGERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/devices/enrolment-tokens",
            Roles(DEVICE_MANAGERS),
            Target::None,
            Some("_csrf={csrf}&kind=seal_box&note=web{n}"),
        ),
        e(
            Method::GET,
            "/devices/{id}",
            Roles(DEVICE_READERS),
            Target::Device,
            None,
        ),
        e(
            Method::POST,
            "/devices/{id}/approve",
            Roles(DEVICE_MANAGERS),
            Target::Device,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::POST,
            "/devices/{id}/revoke",
            Roles(DEVICE_MANAGERS),
            Target::Device,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::POST,
            "/devices/{id}/binding",
            Roles(DEVICE_MANAGERS),
            Target::Device,
            Some("_csrf={csrf}&seal_id=&terminal=phone{n}"),
        ),
        e(
            Method::POST,
            "/devices/{id}/geofence",
            Roles(DEVICE_MANAGERS),
            Target::Device,
            Some("_csrf={csrf}&lat=31.2304&lon=121.4737&radius_m=500"),
        ),
        e(
            Method::POST,
            "/devices/{id}/parameters",
            Roles(DEVICE_MANAGERS),
            Target::Device,
            Some("_csrf={csrf}&heartbeat_seconds=60&press_max_ms=2000&low_battery_pct=20"),
        ),
        e(
            Method::POST,
            "/devices/{id}/lock",
            Roles(DEVICE_MANAGERS),
            Target::Device,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::GET,
            "/alarms",
            Roles(ALARM_READERS),
            Target::None,
            None,
        ),
        e(
            Method::GET,
            "/alarms/{id}",
            Roles(ALARM_READERS),
            Target::Alarm,
            None,
        ),
        e(
            Method::POST,
            "/alarms/{id}/acknowledge",
            Roles(ALARM_HANDLERS),
            Target::Alarm,
            Some("_csrf={csrf}&note=%E5%B7%B2%E7%9F%A5%E6%82%89{n}"),
        ),
        e(
            Method::POST,
            "/alarms/{id}/resolve",
            Roles(ALARM_HANDLERS),
            Target::Alarm,
            Some("_csrf={csrf}&note=%E5%B7%B2%E5%A4%84%E7%90%86{n}"),
        ),
        e(
            Method::GET,
            "/applications/{id}/stamps/{stamp}/photo",
            Roles(APPLICATION_READERS),
            Target::StampedApplication,
            None,
        ),
        e(
            Method::GET,
            "/compare",
            Roles(COMPARERS),
            Target::None,
            None,
        ),
        e(
            Method::POST,
            "/compare",
            Roles(COMPARERS),
            Target::None,
            Some("_csrf={csrf}"),
        ),
        e(
            Method::GET,
            "/comparisons/{id}",
            Roles(ALL_APPLICATION_READERS),
            Target::Comparison,
            None,
        ),
        e(
            Method::GET,
            "/comparisons/{id}/diff.png",
            Roles(ALL_APPLICATION_READERS),
            Target::Comparison,
            None,
        ),
    ]
}

/// The console answers with pages and redirects; name its refusals like the API's codes.
fn page_verdict(answer: &crate::common::Answer) -> String {
    let location = answer
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match answer.status.as_u16() {
        303 | 302 | 307 if location.starts_with("/login/mfa") => "mfa_required".to_owned(),
        // Sign-in that comes back here afterwards: the page needed a signed-in person.
        303 | 302 | 307 if location.starts_with("/login?next=") => "unauthenticated".to_owned(),
        403 => "forbidden".to_owned(),
        404 => "not_found.page".to_owned(),
        _ => String::new(),
    }
}

/// The caller's form token: the console puts it in every form (the registration page
/// always has one).
async fn form_token(client: &Client) -> String {
    let page = client.request(Method::GET, "/register", None).await;
    let html = page.text.clone();
    let marker = "name=\"_csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("a form token on /register");
    let end = html[start..]
        .find('"')
        .map(|i| start + i)
        .expect("end of the token");
    html[start..end].to_owned()
}

/// Error codes that mean "you may not" (as opposed to "you may, but this input is wrong").
fn is_denial(code: &str) -> bool {
    matches!(
        code,
        "unauthenticated" | "mfa_required" | "forbidden" | "session_required" | "csrf"
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Role(&'static str),
    OtherOrgAdmin,
    SignedOut,
}

struct World {
    server: TestServer,
    admin_a: Client,
    employee_a: Client,
    approver_a: Client,
    /// A seal of organisation A that applications name.
    seal_a: String,
    /// The document of each application target.
    documents: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// The stamp of each stamped application target.
    stamps: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// The seal box bound to `seal_a` that presses under the stamped applications, made on
    /// first use.
    stamper: tokio::sync::Mutex<Option<Device>>,
    /// The [`Target::Comparison`], made on first use.
    comparison: tokio::sync::Mutex<Option<String>>,
    counter: AtomicU32,
}

impl World {
    /// Fills a sample body: `{n}` a unique number, `{seal}` organisation A's seal, and
    /// `{from}`/`{until}` a window from now for a week.
    fn fill(&self, text: &str, n: &str) -> String {
        let now = seal_app::clock::Clock::now(self.server.clock.as_ref());
        text.replace("{n}", n)
            .replace("{seal}", &self.seal_a)
            .replace("{from}", &now.to_string())
            .replace("{until}", &now.plus_seconds(7 * 86_400).to_string())
    }

    /// An application filed by the employee (one document) and submitted; approved too
    /// when `approve`. Returns its id and records its document.
    async fn application(&self, n: u32, approve: bool) -> String {
        let body = self.fill(
            r#"{"seal_id":"{seal}","stamp_kind":"ordinary","title":"合同 {n}","reason":"签约","count":2,"from":"{from}","until":"{until}"}"#,
            &n.to_string(),
        );
        let created = self
            .employee_a
            .post("/api/v1/applications", serde_json::from_str(&body).unwrap())
            .await;
        assert_eq!(created.status, 201, "filing: {:?}", created.body);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let document = self
            .employee_a
            .send_raw(
                Method::POST,
                &format!("/api/v1/applications/{id}/documents?name=a.png"),
                tiny_png(),
                Some("application/octet-stream"),
            )
            .await;
        assert_eq!(document.status, 201, "uploading: {:?}", document.body);
        let submitted = self
            .employee_a
            .post(&format!("/api/v1/applications/{id}/submit"), json!({}))
            .await;
        assert_eq!(submitted.status, 200, "submitting: {:?}", submitted.body);
        if approve {
            let decided = self
                .approver_a
                .post(
                    &format!("/api/v1/applications/{id}/decision"),
                    json!({"verdict": "approve", "comment": "同意"}),
                )
                .await;
            assert_eq!(decided.status, 200, "approving: {:?}", decided.body);
        }
        self.documents
            .lock()
            .unwrap()
            .insert(id.clone(), document.body["id"].as_str().unwrap().to_owned());
        id
    }

    /// A seal box enrolled in organisation A with a fresh token; approved when `approve`.
    async fn device(&self, n: u32, approve: bool) -> Device {
        let token = self
            .admin_a
            .post(
                "/api/v1/device-enrolment-tokens",
                json!({"kind": "seal_box", "note": format!("matrix {n}")}),
            )
            .await;
        assert_eq!(token.status, 201, "making a token: {:?}", token.body);
        let mut device = Device::new(&self.server);
        let enrolled = device
            .enrol(token.body["token"].as_str().unwrap(), "seal_box")
            .await;
        assert_eq!(enrolled.status, 201, "enrolling: {:?}", enrolled.body);
        if approve {
            let approved = self
                .admin_a
                .post(&format!("/api/v1/devices/{}/approve", device.id), json!({}))
                .await;
            assert_eq!(approved.status, 200, "approving: {:?}", approved.body);
        }
        device
    }

    /// An open alarm: a fresh approved seal box reports its tamper sensor set.
    async fn alarm(&self, n: u32) -> String {
        let device = self.device(n, true).await;
        let beat = device.heartbeat(json!({"tamper": true})).await;
        assert_eq!(beat.status, 200, "heartbeat: {:?}", beat.body);
        let alarms = self
            .admin_a
            .get(&format!("/api/v1/alarms?device_id={}", device.id))
            .await;
        assert_eq!(alarms.status, 200, "alarms: {:?}", alarms.body);
        alarms.body[0]["id"].as_str().unwrap().to_owned()
    }

    /// An approved application on `seal_a` with one photographed press of the seal box
    /// bound to that seal; records the stamp.
    async fn stamped_application(&self, n: u32) -> String {
        use base64::Engine;
        let id = self.application(n, true).await;
        let application = self
            .employee_a
            .get(&format!("/api/v1/applications/{id}"))
            .await;
        let grant = application.body["grant"]["id"].as_str().unwrap().to_owned();
        let mut stamper = self.stamper.lock().await;
        if stamper.is_none() {
            let device = self.device(n, true).await;
            let bound = self
                .admin_a
                .patch(
                    &format!("/api/v1/devices/{}", device.id),
                    json!({"seal_id": self.seal_a}),
                )
                .await;
            assert_eq!(bound.status, 200, "binding: {:?}", bound.body);
            *stamper = Some(device);
        }
        let device = stamper.as_ref().unwrap();
        let photo = base64::engine::general_purpose::STANDARD.encode(tiny_png());
        // The counter only grows, so the device's sequence numbers do too.
        let press = device.press(u64::from(n) + 1, &grant, json!({"photo": photo}));
        let stored = device.events(vec![press]).await;
        assert_eq!(stored.status, 200, "pressing: {:?}", stored.body);
        assert_eq!(
            stored.body["results"][0]["result"], "stored",
            "{:?}",
            stored.body
        );
        let stamps = self
            .employee_a
            .get(&format!("/api/v1/applications/{id}/stamps"))
            .await;
        assert_eq!(stamps.status, 200, "stamps: {:?}", stamps.body);
        let stamp = stamps.body[0]["id"].as_str().unwrap().to_owned();
        self.stamps.lock().unwrap().insert(id.clone(), stamp);
        id
    }

    fn next(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }

    /// A fresh signed-in client for the actor (a new session per call, so that calls
    /// which end sessions do not disturb the next).
    async fn client_for(&self, actor: Actor) -> Client {
        let mut client = self.server.client();
        let (org, phone) = match actor {
            Actor::SignedOut => return client,
            Actor::OtherOrgAdmin => ("beta", "13800000001"),
            Actor::Role(role) => ("alpha", phone_of(role)),
        };
        let answer = client.login(org, phone, PASSWORD).await;
        assert_eq!(answer.status, 200, "{actor:?} signs in: {:?}", answer.body);
        client
    }

    /// A fresh target in organisation A; returns its id.
    async fn make_target(&self, target: Target) -> Option<String> {
        let n = self.next();
        let answer = match target {
            Target::None => return None,
            Target::Application => return Some(self.application(n, false).await),
            Target::ApprovedApplication => return Some(self.application(n, true).await),
            Target::StampedApplication => return Some(self.stamped_application(n).await),
            Target::Comparison => {
                let mut made = self.comparison.lock().await;
                if made.is_none() {
                    let page = crate::devices::text_page(0);
                    let boundary = "matrix-boundary";
                    let mut body = Vec::new();
                    for (name, bytes) in [("approved", &page), ("capture", &page)] {
                        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.png\"\r\n\r\n").as_bytes());
                        body.extend_from_slice(bytes);
                        body.extend_from_slice(b"\r\n");
                    }
                    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
                    let answer = self
                        .admin_a
                        .send_raw(
                            Method::POST,
                            "/api/v1/comparisons",
                            body,
                            Some(&format!("multipart/form-data; boundary={boundary}")),
                        )
                        .await;
                    assert_eq!(answer.status, 201, "comparing: {:?}", answer.body);
                    *made = answer.body["id"].as_str().map(str::to_owned);
                }
                return made.clone();
            }
            Target::Stamp => {
                let application = self.stamped_application(n).await;
                return self.stamps.lock().unwrap().get(&application).cloned();
            }
            Target::Device => return Some(self.device(n, false).await.id),
            Target::Alarm => return Some(self.alarm(n).await),
            Target::Seal => {
                self.admin_a
                    .post(
                        "/api/v1/seals",
                        json!({"name": format!("目标印章 {n}"), "kind": "seal_box", "seal_type": "contract", "level": 2}),
                    )
                    .await
            }
            Target::Flow => {
                self.admin_a
                    .post(
                        "/api/v1/flows",
                        json!({"name": format!("目标流程 {n}"), "steps": [{"name": "部门", "approvers": "department_head", "rule": "any"}]}),
                    )
                    .await
            }
            Target::Department => {
                self.admin_a
                    .post(
                        "/api/v1/departments",
                        json!({"name": format!("目标部门 {n}")}),
                    )
                    .await
            }
            Target::Person => self
                .admin_a
                .post(
                    "/api/v1/people",
                    json!({"name": format!("目标 {n}"), "email": format!("target{n}@example.com")}),
                )
                .await,
            Target::CustomRole => {
                self.admin_a
                    .post(
                        "/api/v1/roles",
                        json!({"name": format!("目标角色 {n}"), "permissions": ["seals.read"]}),
                    )
                    .await
            }
            Target::Token => {
                self.admin_a
                    .post(
                        "/api/v1/tokens",
                        json!({"name": format!("目标令牌 {n}"), "scopes": ["people.read"]}),
                    )
                    .await
            }
            Target::Webhook | Target::Delivery => {
                self.admin_a
                    .post(
                        "/api/v1/webhooks",
                        json!({"url": format!("https://receiver.invalid/target{n}"), "kinds": ["seal.created"]}),
                    )
                    .await
            }
        };
        assert_eq!(answer.status, 201, "making {target:?}: {:?}", answer.body);
        let id = match target {
            Target::Person => &answer.body["person"]["id"],
            Target::Token => &answer.body["token"]["id"],
            Target::Webhook | Target::Delivery => &answer.body["webhook"]["id"],
            _ => &answer.body["id"],
        };
        if let Target::Delivery = target {
            let webhook = id.as_str().expect("webhook id");
            let test = self
                .admin_a
                .post(&format!("/api/v1/webhooks/{webhook}/test"), json!({}))
                .await;
            assert_eq!(test.status, 202, "making a delivery: {:?}", test.body);
            return Some(test.body["id"].as_str().expect("delivery id").to_owned());
        }
        Some(id.as_str().expect("id").to_owned())
    }
}

/// A 1 × 1 PNG, a valid document.
fn tiny_png() -> Vec<u8> {
    use image::ImageEncoder;
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&[255, 255, 255, 255], 1, 1, image::ExtendedColorType::Rgba8)
        .unwrap();
    bytes
}

fn phone_of(role: &str) -> &'static str {
    match role {
        "org_admin" => "13800000001",
        "seal_keeper" => "13800000002",
        "approver" => "13800000003",
        "auditor" => "13800000004",
        "employee" => "13800000005",
        _ => "13800000006",
    }
}

async fn world() -> World {
    world_on(TestServer::spawn().await).await
}

async fn world_on(server: TestServer) -> World {
    let admin_a = server.register("alpha").await;
    for (role, name) in [
        ("seal_keeper", "李管章"),
        ("approver", "张审批"),
        ("auditor", "赵审计"),
        ("employee", "陈员工"),
        ("it", "刘信息"),
    ] {
        add_person(&admin_a, name, phone_of(role), role).await;
    }
    // The other organisation's admin signs in with the same phone, in their own organisation.
    let _admin_b = server.register("beta").await;
    // A seal kept by the seal keeper, and a default flow decided by the approver role.
    let people = admin_a.get("/api/v1/people?per_page=100").await.body;
    let keeper = people["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phone"] == phone_of("seal_keeper"))
        .and_then(|p| p["id"].as_str())
        .unwrap()
        .to_owned();
    let seal = admin_a
        .post(
            "/api/v1/seals",
            json!({"name": "合同专用章", "kind": "seal_box", "seal_type": "contract", "level": 2, "keeper_id": keeper}),
        )
        .await;
    assert_eq!(seal.status, 201, "{:?}", seal.body);
    let approver_role = role_id(&admin_a, "approver").await;
    let flow = admin_a
        .post(
            "/api/v1/flows",
            json!({"name": "默认流程", "is_default": true, "steps": [{"name": "审批", "approvers": "role", "role_id": approver_role, "rule": "any"}]}),
        )
        .await;
    assert_eq!(flow.status, 201, "{:?}", flow.body);
    let mut employee_a = server.client();
    assert_eq!(
        employee_a
            .login("alpha", phone_of("employee"), PASSWORD)
            .await
            .status,
        200
    );
    let mut approver_a = server.client();
    assert_eq!(
        approver_a
            .login("alpha", phone_of("approver"), PASSWORD)
            .await
            .status,
        200
    );
    World {
        seal_a: seal.body["id"].as_str().unwrap().to_owned(),
        server,
        admin_a,
        employee_a,
        approver_a,
        documents: Default::default(),
        stamps: Default::default(),
        stamper: Default::default(),
        comparison: Default::default(),
        counter: AtomicU32::new(0),
    }
}

#[tokio::test]
async fn every_route_has_an_expectation() {
    let world = world().await;
    let document = world.admin_a.get("/api/v1/openapi.json").await.body;
    let mut served = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            served.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: BTreeSet<String> = expectations()
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    let missing: Vec<_> = served.difference(&expected).collect();
    let stale: Vec<_> = expected.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "routes without an expectation in matrix.rs: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "expectations for routes the server does not have: {stale:?}"
    );
    world.server.stop().await;
}

#[tokio::test]
async fn every_route_allows_exactly_whom_it_should() {
    walk_matrix(world().await).await;
}

/// The same walk on PostgreSQL: every route's SQL runs on the second engine too.
#[tokio::test]
async fn every_route_allows_exactly_whom_it_should_on_postgres() {
    if let Some(server) = TestServer::spawn_postgres().await {
        walk_matrix(world_on(server).await).await;
    }
}

async fn walk_matrix(world: World) {
    let actors: Vec<Actor> = ALL
        .iter()
        .map(|role| Actor::Role(role))
        .chain([Actor::OtherOrgAdmin, Actor::SignedOut])
        .collect();
    let mut failures = Vec::new();
    let mut calls = 0;
    for expectation in expectations() {
        for &actor in &actors {
            let target = world.make_target(expectation.target).await;
            let path = match &target {
                Some(id) => expectation.path.replace("{id}", id),
                None => expectation.path.to_owned(),
            };
            let path = path.replace("{name}", "style.css").replace("{code}", "en");
            let path = match target
                .as_deref()
                .and_then(|id| world.documents.lock().unwrap().get(id).cloned())
            {
                Some(document) => path.replace("{document}", &document),
                None => path,
            };
            let path = match target
                .as_deref()
                .and_then(|id| world.stamps.lock().unwrap().get(id).cloned())
            {
                Some(stamp) => path.replace("{stamp}", &stamp),
                None => path,
            };
            let n = world.next().to_string();
            let client = world.client_for(actor).await;
            let is_page = !(path.starts_with("/api/")
                || path.starts_with("/device/")
                || path.starts_with("/log/")
                || path.starts_with("/.well-known/")
                || path == "/healthz"
                || path == "/readyz");
            let answer = match (is_page, expectation.body) {
                (false, body) => {
                    let body: Option<Value> = body.map(|text| {
                        serde_json::from_str(&world.fill(text, &n)).expect("sample body is JSON")
                    });
                    client
                        .request(expectation.method.clone(), &path, body)
                        .await
                }
                (true, None) => {
                    client
                        .request(expectation.method.clone(), &path, None)
                        .await
                }
                (true, Some(form)) => {
                    let csrf = form_token(&client).await;
                    let form = form.replace("{n}", &n).replace("{csrf}", &csrf);
                    client
                        .send_raw(
                            expectation.method.clone(),
                            &path,
                            form,
                            Some("application/x-www-form-urlencoded"),
                        )
                        .await
                }
            };
            calls += 1;
            let code = if is_page {
                page_verdict(&answer)
            } else {
                answer.code().to_owned()
            };
            let denied = is_denial(&code) || (target.is_some() && code.starts_with("not_found"));
            let outcome = format!(
                "{} {} as {actor:?}: {} {code}",
                expectation.method, expectation.path, answer.status
            );
            match (expectation.allowed, actor) {
                (Allowed::Public, _) => {
                    if denied {
                        failures.push(format!("unexpected deny: {outcome}"));
                    }
                }
                (Allowed::DeviceSigned, _) => {
                    if answer.status != 401 || !code.starts_with("device.signature.") {
                        failures.push(format!("expected 401 device.signature.*: {outcome}"));
                    }
                }
                (Allowed::PendingSecondFactor, _) => {
                    if code != "unauthenticated" {
                        failures.push(format!("expected unauthenticated: {outcome}"));
                    }
                }
                (Allowed::Roles(_), Actor::SignedOut) => {
                    if code != "unauthenticated" || (!is_page && answer.status != 401) {
                        failures.push(format!("expected 401 unauthenticated: {outcome}"));
                    }
                }
                (Allowed::Roles(roles), Actor::OtherOrgAdmin) => {
                    // Another organisation's admin: routes on a resource of organisation A
                    // must not find it; routes on "my organisation" act on their own.
                    let should_allow = target.is_none() && roles.contains(&"org_admin");
                    if target.is_some() && !(code.starts_with("not_found") || is_denial(&code)) {
                        failures.push(format!(
                            "reached another organisation's resource: {outcome}"
                        ));
                    } else if target.is_none() && should_allow == denied {
                        failures.push(format!(
                            "unexpected {}: {outcome}",
                            if denied { "deny" } else { "allow" }
                        ));
                    }
                }
                (Allowed::Roles(roles), Actor::Role(role)) => {
                    let should_allow = roles.contains(&role);
                    if should_allow && denied {
                        failures.push(format!("unexpected deny: {outcome}"));
                    }
                    let refused = answer.status == 403 && code == "forbidden";
                    if !should_allow && !refused {
                        failures.push(format!(
                            "unexpected allow (expected 403 forbidden): {outcome}"
                        ));
                    }
                }
            }
            if answer.status.is_server_error() {
                failures.push(format!("server error: {outcome} {:?}", answer.body));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    world.server.stop().await;
}

#[tokio::test]
async fn role_ids_of_another_organisation_are_unknown() {
    let world = world().await;
    let mut admin_b = world.server.client();
    admin_b.login("beta", "13800000001", PASSWORD).await;
    let alpha_auditor = role_id(&world.admin_a, "auditor").await;
    let person = admin_b
        .post(
            "/api/v1/people",
            json!({"name": "外人", "phone": "13700000000", "role_ids": [alpha_auditor]}),
        )
        .await;
    assert_eq!(person.status, 422, "{:?}", person.body);
    assert_eq!(person.code(), "invalid.role.unknown");
    world.server.stop().await;
}
