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

/// Who may call a route.
#[derive(Clone, Copy, Debug)]
enum Allowed {
    /// Anyone, signed in or not.
    Public,
    /// Only a session waiting for its second factor; everyone else is unauthenticated.
    PendingSecondFactor,
    /// Signed-in people holding one of these built-in roles.
    Roles(&'static [&'static str]),
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

/// What a path parameter `{id}` stands for; a fresh one is made in organisation A for
/// every call, so destructive calls never disturb the next.
#[derive(Clone, Copy, Debug)]
enum Target {
    None,
    Department,
    Person,
    CustomRole,
    Token,
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
    counter: AtomicU32,
}

impl World {
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
        };
        assert_eq!(answer.status, 201, "making {target:?}: {:?}", answer.body);
        let id = match target {
            Target::Person => &answer.body["person"]["id"],
            Target::Token => &answer.body["token"]["id"],
            _ => &answer.body["id"],
        };
        Some(id.as_str().expect("id").to_owned())
    }
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
    World {
        server,
        admin_a,
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
            let n = world.next().to_string();
            let client = world.client_for(actor).await;
            let is_page = !(path.starts_with("/api/") || path == "/healthz" || path == "/readyz");
            let answer = match (is_page, expectation.body) {
                (false, body) => {
                    let body: Option<Value> = body.map(|text| {
                        serde_json::from_str(&text.replace("{n}", &n)).expect("sample body is JSON")
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
