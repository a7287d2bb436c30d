//! End-to-end flows over HTTP: registration, bad input, sign-in and sessions, CSRF, TOTP,
//! password changes, the directory (departments, people, roles, separation of duties),
//! API tokens, the audit log, tenancy, health and security headers.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Answer, Client, PASSWORD, TestServer, add_person, role_id};

/// The phone of the admin that [`TestServer::register`] creates.
const ADMIN_PHONE: &str = "13800000001";
/// A well-formed id that no record has.
const UNKNOWN_ID: &str = "00000000-0000-4000-8000-000000000000";
/// A valid unified social credit code (its check character is right).
const USCC: &str = "91350100M000100Y43";
/// The same code with a wrong check character.
const USCC_BAD_CHECK: &str = "91350100M000100Y44";
/// Another strong password.
const NEW_PASSWORD: &str = "Seal-Keeper-换了密码-2026!";

// ----- helpers ------------------------------------------------------------------------

#[track_caller]
fn check(answer: &Answer, status: StatusCode) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
}

/// The status, the stable code, and a message in both languages.
#[track_caller]
fn check_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(
        (answer.status, answer.code()),
        (status, code),
        "{:#}",
        answer.body
    );
    let error = &answer.body["error"];
    for message in [
        &error["message"],
        &error["messages"]["zh-CN"],
        &error["messages"]["en"],
    ] {
        assert!(
            message.as_str().is_some_and(|m| !m.is_empty()),
            "message missing: {:#}",
            answer.body
        );
    }
}

#[track_caller]
fn check_field(answer: &Answer, status: StatusCode, code: &str, field: &str) {
    check_error(answer, status, code);
    assert_eq!(answer.body["error"]["field"], field, "{:#}", answer.body);
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

fn items(answer: &Answer) -> Vec<Value> {
    answer.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no items: {:#}", answer.body))
}

fn array(answer: &Answer) -> Vec<Value> {
    answer
        .body
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("not an array: {:#}", answer.body))
}

fn field_of(list: &[Value], key: &str) -> Vec<String> {
    list.iter().map(|item| text(&item[key])).collect()
}

fn registration(code: &str, phone: &str) -> Value {
    json!({
        "org_name": format!("{code} 印章科技有限公司"),
        "org_code": code,
        "admin_name": "李管理",
        "admin_phone": phone,
        "admin_password": PASSWORD,
    })
}

/// A fresh client signed in with a password (no second factor).
async fn signed_in(server: &TestServer, org: &str, login: &str, password: &str) -> Client {
    let mut client = server.client();
    let answer = client.login(org, login, password).await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["mfa_required"], false);
    client
}

async fn my_id(client: &Client) -> String {
    let me = client.get("/api/v1/me").await;
    check(&me, StatusCode::OK);
    text(&me.body["person"]["id"])
}

async fn department(admin: &Client, name: &str, parent: Option<&str>) -> String {
    let answer = admin
        .post(
            "/api/v1/departments",
            json!({"name": name, "parent_id": parent}),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    text(&answer.body["id"])
}

async fn custom_role(admin: &Client, name: &str, permissions: &[&str]) -> String {
    let answer = admin
        .post(
            "/api/v1/roles",
            json!({"name": name, "permissions": permissions}),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    text(&answer.body["id"])
}

/// Creates a person with the given role ids and the shared password; returns their id.
async fn person_with_roles(admin: &Client, name: &str, phone: &str, roles: &[&str]) -> String {
    let answer = admin
        .post(
            "/api/v1/people",
            json!({"name": name, "phone": phone, "role_ids": roles, "password": PASSWORD}),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    text(&answer.body["person"]["id"])
}

fn totp_code(secret: &str, unix_seconds: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("base32 secret");
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("totp")
        .generate(unix_seconds)
        .to_string()
}

/// Six digits that match none of the steps the server accepts at `unix_seconds`.
fn wrong_code(secret: &str, unix_seconds: u64) -> String {
    let near: Vec<String> = [unix_seconds - 30, unix_seconds, unix_seconds + 30]
        .iter()
        .map(|t| totp_code(secret, *t))
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|code| !near.contains(code))
        .expect("a wrong code")
}

// ----- registration -------------------------------------------------------------------

#[tokio::test]
async fn registration_creates_the_org_its_roles_and_a_signed_in_admin() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let answer = client
        .post(
            "/api/v1/organisations",
            json!({
                "org_name": "福州印章科技有限公司",
                "org_code": "fz-seal",
                "admin_name": "王管理",
                "admin_phone": ADMIN_PHONE,
                "admin_email": "admin@fz-seal.example",
                "admin_password": PASSWORD,
            }),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    assert_eq!(answer.body["org"]["code"], "fz-seal");
    assert_eq!(answer.body["org"]["name"], "福州印章科技有限公司");
    assert!(answer.body["org"]["uscc"].is_null());
    assert_eq!(answer.body["session"]["mfa_required"], false);
    let admin_id = text(&answer.body["admin_id"]);
    let csrf = text(&answer.body["session"]["csrf_token"]);
    assert!(!csrf.is_empty());
    assert!(answer.session_cookie().is_some(), "{:?}", answer.headers);

    let me = client.get("/api/v1/me").await;
    check(&me, StatusCode::OK);
    assert_eq!(me.body["person"]["id"], admin_id.as_str());
    assert_eq!(me.body["person"]["name"], "王管理");
    assert_eq!(me.body["person"]["phone"], ADMIN_PHONE);
    assert_eq!(me.body["person"]["status"], "active");
    assert_eq!(me.body["org"]["code"], "fz-seal");
    assert_eq!(me.body["authenticated_by"], "session");
    assert_eq!(me.body["csrf_token"], csrf.as_str());
    let held: Vec<String> = me.body["person"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| text(&r["builtin"]))
        .collect();
    assert_eq!(held, ["org_admin"]);
    let permissions: Vec<String> = me.body["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(text)
        .collect();
    for needed in ["org.manage", "people.manage", "roles.manage", "audit.read"] {
        assert!(permissions.iter().any(|p| p == needed), "{permissions:?}");
    }

    let roles = client.get("/api/v1/roles").await;
    check(&roles, StatusCode::OK);
    let builtin: BTreeSet<String> = array(&roles).iter().map(|r| text(&r["builtin"])).collect();
    let expected: BTreeSet<String> = [
        "org_admin",
        "seal_keeper",
        "approver",
        "auditor",
        "employee",
        "it",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(array(&roles).len(), 6);
    assert_eq!(builtin, expected);
    let auditor = array(&roles)
        .into_iter()
        .find(|r| r["builtin"] == "auditor")
        .expect("auditor");
    assert_eq!(auditor["writes"], false);

    let org = client.get("/api/v1/org").await;
    check(&org, StatusCode::OK);
    assert_eq!(org.body["code"], "fz-seal");

    // The admin can also sign in with the e-mail address.
    let by_email = signed_in(&server, "fz-seal", "admin@fz-seal.example", PASSWORD).await;
    assert_eq!(my_id(&by_email).await, admin_id);
    server.stop().await;
}

#[tokio::test]
async fn a_taken_org_code_is_a_conflict() {
    let server = TestServer::spawn().await;
    server.register("acme").await;
    let again = server
        .client()
        .post("/api/v1/organisations", registration("acme", "13900000002"))
        .await;
    check_error(&again, StatusCode::CONFLICT, "conflict.org_code_taken");
    // The refused admin does not exist in the existing organisation.
    let login = server.client().login("acme", "13900000002", PASSWORD).await;
    check_error(&login, StatusCode::UNAUTHORIZED, "bad_credentials");
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_uscc_check_character_is_explained_in_both_languages() {
    let server = TestServer::spawn().await;
    let mut body = registration("minfu", ADMIN_PHONE);
    body["uscc"] = json!(USCC_BAD_CHECK);

    let chinese = server
        .client()
        .post("/api/v1/organisations", body.clone())
        .await;
    check_field(
        &chinese,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.uscc.check_character",
        "uscc",
    );
    let error = &chinese.body["error"];
    assert_ne!(error["messages"]["zh-CN"], error["messages"]["en"]);
    assert_eq!(
        error["message"], error["messages"]["zh-CN"],
        "Chinese by default"
    );
    assert!(text(&error["message"]).contains("校验位"), "{error:#}");

    let mut english_client = server.client();
    english_client.lang = Some("en-GB,en;q=0.9,zh-CN;q=0.5");
    let english = english_client
        .post("/api/v1/organisations", body.clone())
        .await;
    check_field(
        &english,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.uscc.check_character",
        "uscc",
    );
    let error = &english.body["error"];
    assert_eq!(error["message"], error["messages"]["en"]);
    assert!(
        text(&error["message"]).contains("check character"),
        "{error:#}"
    );

    // The right check character is accepted.
    body["uscc"] = json!(USCC);
    let accepted = server.client().post("/api/v1/organisations", body).await;
    check(&accepted, StatusCode::CREATED);
    assert_eq!(accepted.body["org"]["uscc"], USCC);

    // A second organisation with the same code is refused, and nothing of it stays.
    let mut second = registration("minfu-2", "13900000002");
    second["uscc"] = json!(USCC);
    let taken = server
        .client()
        .post("/api/v1/organisations", second.clone())
        .await;
    check_error(&taken, StatusCode::CONFLICT, "conflict.uscc_taken");
    second["uscc"] = json!(USCC.to_lowercase());
    check_error(
        &server
            .client()
            .post("/api/v1/organisations", second.clone())
            .await,
        StatusCode::CONFLICT,
        "conflict.uscc_taken",
    );
    second["uscc"] = Value::Null;
    let retry = server.client().post("/api/v1/organisations", second).await;
    check(&retry, StatusCode::CREATED);
    server.stop().await;
}

#[tokio::test]
async fn weak_short_and_loginless_registrations_are_refused_and_leave_nothing_behind() {
    let server = TestServer::spawn().await;
    let client = server.client();

    let mut weak = registration("acme", ADMIN_PHONE);
    weak["admin_password"] = json!("password123");
    let answer = client.post("/api/v1/organisations", weak.clone()).await;
    check_field(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.password.weak",
        "admin_password",
    );
    let details = answer.body["error"]["details"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!details.is_empty(), "{:#}", answer.body);
    assert!(
        details
            .iter()
            .all(|d| d.as_str().is_some_and(|d| !d.is_empty()))
    );

    let mut english_client = server.client();
    english_client.lang = Some("en");
    let english = english_client.post("/api/v1/organisations", weak).await;
    let english_details = english.body["error"]["details"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(english_details.len(), details.len());
    assert_ne!(english_details, details, "details follow the language");

    let mut short = registration("acme", ADMIN_PHONE);
    short["admin_password"] = json!("Xy7#kq!");
    check_field(
        &client.post("/api/v1/organisations", short).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.password.too_short",
        "admin_password",
    );

    let mut no_login = registration("acme", ADMIN_PHONE);
    no_login
        .as_object_mut()
        .expect("object")
        .remove("admin_phone");
    check_field(
        &client.post("/api/v1/organisations", no_login).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.no_login",
        "admin_phone",
    );

    let mut bad_phone = registration("acme", "12345");
    bad_phone["admin_email"] = json!("");
    check_field(
        &client.post("/api/v1/organisations", bad_phone).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.phone",
        "admin_phone",
    );

    check_field(
        &client
            .post("/api/v1/organisations", registration("-acme", ADMIN_PHONE))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.org_code.characters",
        "org_code",
    );
    check_field(
        &client
            .post(
                "/api/v1/organisations",
                registration(&"a".repeat(33), ADMIN_PHONE),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.org_code.length",
        "org_code",
    );
    let mut long_password = registration("acme", ADMIN_PHONE);
    long_password["admin_password"] = json!(format!("{PASSWORD}{}", "x".repeat(129)));
    check_field(
        &client.post("/api/v1/organisations", long_password).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.password.too_long",
        "admin_password",
    );
    let mut long_admin = registration("acme", ADMIN_PHONE);
    long_admin["admin_name"] = json!("王".repeat(51));
    check_field(
        &client.post("/api/v1/organisations", long_admin).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.text.too_long",
        "admin_name",
    );
    let mut control = registration("acme", ADMIN_PHONE);
    control["org_name"] = json!("印章\u{0007}公司");
    check_field(
        &client.post("/api/v1/organisations", control).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.text.control_character",
        "org_name",
    );

    // None of the refusals wrote anything: the code is free and the corrected form works.
    let corrected = client
        .post("/api/v1/organisations", registration("acme", ADMIN_PHONE))
        .await;
    check(&corrected, StatusCode::CREATED);
    let people = client.get("/api/v1/people").await;
    check(&people, StatusCode::OK);
    assert_eq!(people.body["total"], 1);
    server.stop().await;
}

#[tokio::test]
async fn organisation_settings_can_be_edited() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let renamed = admin
        .patch(
            "/api/v1/org",
            json!({"name": "新名字有限公司", "uscc": USCC}),
        )
        .await;
    check(&renamed, StatusCode::OK);
    assert_eq!(renamed.body["name"], "新名字有限公司");
    assert_eq!(renamed.body["uscc"], USCC);
    check_field(
        &admin
            .patch("/api/v1/org", json!({"uscc": USCC_BAD_CHECK}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.uscc.check_character",
        "uscc",
    );
    let cleared = admin.patch("/api/v1/org", json!({"uscc": null})).await;
    check(&cleared, StatusCode::OK);
    assert!(cleared.body["uscc"].is_null());
    assert_eq!(cleared.body["name"], "新名字有限公司");

    let employee = add_person(&admin, "赵员工", "13900000002", "employee").await;
    assert!(!employee.is_empty());
    let staff = signed_in(&server, "acme", "13900000002", PASSWORD).await;
    check_error(
        &staff.patch("/api/v1/org", json!({"name": "抢注"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    server.stop().await;
}

// ----- bad input ----------------------------------------------------------------------

#[tokio::test]
async fn malformed_requests_get_clear_errors() {
    let server = TestServer::spawn().await;
    let anon = server.client();
    let path = "/api/v1/organisations";

    let syntax = anon
        .send_raw(
            Method::POST,
            path,
            "{\"org_name\": \"x\",",
            Some("application/json"),
        )
        .await;
    check_error(&syntax, StatusCode::BAD_REQUEST, "request.json_syntax");

    let mut unknown = registration("acme", ADMIN_PHONE);
    unknown["is_admin"] = json!(true);
    let answer = anon.post(path, unknown).await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "request.json_data",
    );
    assert!(
        text(&answer.body["error"]["messages"]["en"]).contains("is_admin"),
        "{:#}",
        answer.body
    );

    let mut wrong_type = registration("acme", ADMIN_PHONE);
    wrong_type["org_code"] = json!(42);
    check_error(
        &anon.post(path, wrong_type).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "request.json_data",
    );

    let mut missing = registration("acme", ADMIN_PHONE);
    missing.as_object_mut().expect("object").remove("org_name");
    check_error(
        &anon.post(path, missing).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "request.json_data",
    );

    let body = registration("acme", ADMIN_PHONE).to_string();
    check_error(
        &anon.send_raw(Method::POST, path, body.clone(), None).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request.content_type",
    );
    check_error(
        &anon
            .send_raw(Method::POST, path, body, Some("text/plain"))
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request.content_type",
    );

    // Lengths count characters, not bytes: 101 characters are too many, 100 are fine.
    let mut long_name = registration("acme", ADMIN_PHONE);
    long_name["org_name"] = json!("印".repeat(101));
    check_field(
        &anon.post(path, long_name.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.text.too_long",
        "org_name",
    );

    let mut huge = registration("acme", ADMIN_PHONE);
    huge["org_name"] = json!("a".repeat(300 * 1024));
    let too_large = anon.post(path, huge).await;
    check_error(
        &too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        "request.too_large",
    );

    let mut empty_name = registration("acme", ADMIN_PHONE);
    empty_name["org_name"] = json!("   ");
    check_field(
        &anon.post(path, empty_name).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.text.empty",
        "org_name",
    );

    long_name["org_name"] = json!("印".repeat(100));
    let mut admin = server.client();
    let created = admin.post(path, long_name).await;
    check(&created, StatusCode::CREATED);
    admin.csrf = created.body["session"]["csrf_token"]
        .as_str()
        .map(str::to_owned);

    // Outside the API an unknown address is a page, in the console's language.
    let page = anon.get("/nothing").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.text.contains("<html"), "{}", page.text);

    // Unknown API routes and methods answer in the API's JSON shape.
    for route in ["/api/v1/nothing-here", "/api/v2/me"] {
        check_error(
            &anon.get(route).await,
            StatusCode::NOT_FOUND,
            "not_found.route",
        );
    }
    check_error(
        &anon.request(Method::DELETE, "/healthz", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );

    // Signed in: over-long names, malformed ids in paths and bodies, bad queries.
    check_field(
        &admin
            .post("/api/v1/departments", json!({"name": "部".repeat(61)}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.text.too_long",
        "name",
    );
    department(&admin, &"部".repeat(60), None).await;
    check_field(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "名".repeat(51), "phone": "13900000002"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.text.too_long",
        "name",
    );
    check_field(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "钱员工", "phone": "13900000002", "department_id": "12"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.id",
        "department",
    );
    check_error(
        &admin
            .post("/api/v1/departments", json!({"name": ["部"]}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "request.json_data",
    );
    check_error(
        &admin.get("/api/v1/people/not-an-id").await,
        StatusCode::NOT_FOUND,
        "not_found.id",
    );
    check_error(
        &admin
            .patch("/api/v1/departments/123", json!({"name": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found.id",
    );
    check_error(
        &admin.delete("/api/v1/roles/%20").await,
        StatusCode::NOT_FOUND,
        "not_found.id",
    );
    check_error(
        &admin.get(&format!("/api/v1/people/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "not_found.person",
    );
    check_error(
        &admin.get("/api/v1/people?page=abc").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "request.query",
    );
    let mut huge_department = json!({"name": "x"});
    huge_department["parent_id"] = json!("a".repeat(300 * 1024));
    check_error(
        &admin.post("/api/v1/departments", huge_department).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "request.too_large",
    );
    // Nothing from the refused requests was written.
    let departments = admin.get("/api/v1/departments").await;
    assert_eq!(array(&departments).len(), 1);
    let people = admin.get("/api/v1/people").await;
    assert_eq!(people.body["total"], 1);
    server.stop().await;
}

// ----- sign-in and sessions -----------------------------------------------------------

#[tokio::test]
async fn wrong_passwords_and_unknown_logins_get_the_same_answer() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let mut client = server.client();
    let wrong_password = client
        .login("acme", ADMIN_PHONE, "Not-The-Password-42")
        .await;
    let unknown_login = client.login("acme", "13999999999", PASSWORD).await;
    let unknown_org = client.login("nobody", ADMIN_PHONE, PASSWORD).await;
    for answer in [&wrong_password, &unknown_login, &unknown_org] {
        check_error(answer, StatusCode::UNAUTHORIZED, "bad_credentials");
        assert!(answer.session_cookie().is_none());
        assert_eq!(answer.body, wrong_password.body, "indistinguishable");
    }
    check_field(
        &client.login("acme", "not a login", PASSWORD).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.login",
        "login",
    );
    let failures = admin
        .get("/api/v1/audit-events?action=auth.sign_in_failed")
        .await;
    check(&failures, StatusCode::OK);
    assert_eq!(failures.body["total"], 2, "{:#}", failures.body);
    assert!(
        items(&failures)
            .iter()
            .all(|event| event["actor"] == "anonymous")
    );
    server.stop().await;
}

#[tokio::test]
async fn people_sign_in_with_their_email_address() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let employee = role_id(&admin, "employee").await;
    let created = admin
        .post(
            "/api/v1/people",
            json!({"name": "孙员工", "email": "sun@acme.example", "role_ids": [employee], "password": PASSWORD}),
        )
        .await;
    check(&created, StatusCode::CREATED);
    assert!(created.body["person"]["phone"].is_null());
    let client = signed_in(&server, "acme", "sun@acme.example", PASSWORD).await;
    let me = client.get("/api/v1/me").await;
    check(&me, StatusCode::OK);
    assert_eq!(me.body["person"]["email"], "sun@acme.example");
    assert_eq!(me.body["person"]["id"], created.body["person"]["id"]);
    server.stop().await;
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited_per_account() {
    let server = TestServer::spawn_with(|config| {
        config.security.login_attempts_per_account_per_minute = 3;
    })
    .await;
    let admin = server.register("acme").await;
    add_person(&admin, "赵员工", "13900000002", "employee").await;
    let mut client = server.client();
    for _ in 0..3 {
        check_error(
            &client
                .login("acme", ADMIN_PHONE, "Not-The-Password-42")
                .await,
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
        );
    }
    // The fourth attempt is refused even with the right password.
    let limited = client.login("acme", ADMIN_PHONE, PASSWORD).await;
    check_error(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after: u64 = limited
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After: {:?}", limited.headers));
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(
        text(&limited.body["error"]["messages"]["en"]).contains(&retry_after.to_string()),
        "{:#}",
        limited.body
    );
    // Another account is not affected.
    signed_in(&server, "acme", "13900000002", PASSWORD).await;
    server.stop().await;
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited_per_address() {
    let server = TestServer::spawn_with(|config| {
        config.security.login_attempts_per_address_per_minute = 5;
    })
    .await;
    let mut client = server.client();
    let mut answers = vec![];
    for i in 0..6 {
        // A different (unknown) account each time: only the address limit applies.
        let answer = client
            .login("acme", &format!("1390000{i:04}"), PASSWORD)
            .await;
        answers.push((answer.status, answer.code().to_owned()));
    }
    let first_refusal = answers
        .iter()
        .position(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
        .unwrap_or_else(|| panic!("never limited: {answers:?}"));
    assert_eq!(first_refusal, 5, "{answers:?}");
    assert!(
        answers[..5]
            .iter()
            .all(|(status, code)| *status == StatusCode::UNAUTHORIZED && code == "bad_credentials"),
        "{answers:?}"
    );
    assert_eq!(answers[5].1, "rate_limited");
    // An untrusted X-Forwarded-For header does not buy a fresh address.
    let spoofed = client
        .request_with(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"org_code": "acme", "login": "13900009999", "password": PASSWORD})),
            &[("x-forwarded-for", "203.0.113.77")],
        )
        .await;
    check_error(&spoofed, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    server.stop().await;
}

#[tokio::test]
async fn audit_sources_believe_forwarded_for_only_when_configured() {
    // The client wrote 203.0.113.9 itself; our proxy appended the address it saw, 10.0.0.1.
    // Only that last entry can be believed.
    let forwarded = [("x-forwarded-for", "203.0.113.9, 10.0.0.1")];
    for trusted in [false, true] {
        let server =
            TestServer::spawn_with(|config| config.server.trust_forwarded_for = trusted).await;
        let admin = server.register("acme").await;
        check(
            &admin
                .request_with(
                    Method::POST,
                    "/api/v1/departments",
                    Some(json!({"name": "财务部"})),
                    &forwarded,
                )
                .await,
            StatusCode::CREATED,
        );
        let events = admin
            .get("/api/v1/audit-events?action=department.created")
            .await;
        let expected = if trusted { "10.0.0.1" } else { "127.0.0.1" };
        assert_eq!(items(&events)[0]["source"], expected, "trusted: {trusted}");
        server.stop().await;
    }
}

#[tokio::test]
async fn sessions_end_after_thirty_idle_minutes() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    server.clock.advance_seconds(29 * 60);
    check(&admin.get("/api/v1/me").await, StatusCode::OK);
    server.clock.advance_seconds(29 * 60);
    check(&admin.get("/api/v1/me").await, StatusCode::OK);
    server.clock.advance_seconds(30 * 60 + 1);
    let expired = admin.get("/api/v1/me").await;
    check_error(&expired, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert!(expired.headers.contains_key("www-authenticate"));
    // It stays ended.
    check_error(
        &admin.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    signed_in(&server, "acme", ADMIN_PHONE, PASSWORD).await;
    server.stop().await;
}

#[tokio::test]
async fn the_idle_timeout_counts_from_the_last_request() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    server.clock.advance_seconds(59);
    check(&admin.get("/api/v1/me").await, StatusCode::OK);
    // 29 min 59 s after that request: not yet 30 idle minutes.
    server.clock.advance_seconds(30 * 60 - 1);
    check(&admin.get("/api/v1/me").await, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn sessions_end_twelve_hours_after_sign_in_however_active() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let step = 20 * 60;
    let mut elapsed = 0;
    loop {
        server.clock.advance_seconds(step);
        elapsed += step;
        let me = admin.get("/api/v1/me").await;
        if elapsed <= 12 * 3600 {
            check(&me, StatusCode::OK);
        } else {
            check_error(&me, StatusCode::UNAUTHORIZED, "unauthenticated");
            break;
        }
        assert!(elapsed < 13 * 3600, "never ended");
    }
    assert_eq!(elapsed, 12 * 3600 + step);
    server.stop().await;
}

#[tokio::test]
async fn sign_in_rotates_the_session_token() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let mut client = server.client();
    let first = client.login("acme", ADMIN_PHONE, PASSWORD).await;
    check(&first, StatusCode::OK);
    let old = first.session_cookie().expect("session cookie");
    let second = client.login("acme", ADMIN_PHONE, PASSWORD).await;
    check(&second, StatusCode::OK);
    let new = second.session_cookie().expect("session cookie");
    assert_ne!(old, new);
    assert_ne!(first.body["csrf_token"], second.body["csrf_token"]);

    check_error(
        &server.client_with_session(&old).get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check(
        &server.client_with_session(&new).get("/api/v1/me").await,
        StatusCode::OK,
    );
    check(&client.get("/api/v1/me").await, StatusCode::OK);
    // Only the session the client presented ended; other devices stay signed in.
    check(&admin.get("/api/v1/me").await, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let mut client = server.client();
    let login = client.login("acme", ADMIN_PHONE, PASSWORD).await;
    let token = login.session_cookie().expect("session cookie");
    let out = client.post("/api/v1/auth/logout", json!({})).await;
    check(&out, StatusCode::NO_CONTENT);
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("sk_session=")),
        "the cookie is cleared: {:?}",
        out.headers
    );
    check_error(
        &client.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check_error(
        &server.client_with_session(&token).get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check_error(
        &client.post("/api/v1/auth/logout", json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check(&admin.get("/api/v1/me").await, StatusCode::OK);
    let signed_out = admin
        .get("/api/v1/audit-events?action=auth.signed_out")
        .await;
    assert_eq!(signed_out.body["total"], 1);
    server.stop().await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let server = TestServer::spawn().await;
    let registered = server
        .client()
        .post("/api/v1/organisations", registration("acme", ADMIN_PHONE))
        .await;
    check(&registered, StatusCode::CREATED);
    let login = server.client().login("acme", ADMIN_PHONE, PASSWORD).await;
    check(&login, StatusCode::OK);
    for answer in [&registered, &login] {
        let cookie = answer
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("sk_session="))
            .expect("session cookie");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
        let token = answer.session_cookie().expect("token");
        assert!(token.len() >= 22, "128 random bits: {token}");
    }
    server.stop().await;

    let secure = TestServer::spawn_with(|config| config.server.secure_cookies = true).await;
    let registered = secure
        .client()
        .post("/api/v1/organisations", registration("acme", ADMIN_PHONE))
        .await;
    let cookie = registered
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sk_session="))
        .expect("session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    secure.stop().await;
}

// ----- CSRF ---------------------------------------------------------------------------

#[tokio::test]
async fn cookie_authenticated_writes_need_the_csrf_token() {
    let server = TestServer::spawn().await;
    let mut admin = server.register("acme").await;
    let csrf = admin.csrf.take();
    let body = json!({"name": "财务部"});

    let missing = admin.post("/api/v1/departments", body.clone()).await;
    check_error(&missing, StatusCode::FORBIDDEN, "csrf");

    admin.csrf = Some("wrong-token".to_owned());
    check_error(
        &admin.post("/api/v1/departments", body.clone()).await,
        StatusCode::FORBIDDEN,
        "csrf",
    );
    // Another session's token does not fit this session.
    let other = signed_in(&server, "acme", ADMIN_PHONE, PASSWORD).await;
    admin.csrf = other.csrf.clone();
    check_error(
        &admin.post("/api/v1/departments", body.clone()).await,
        StatusCode::FORBIDDEN,
        "csrf",
    );

    // The right token from another site is refused too.
    admin.csrf = csrf.clone();
    check_error(
        &admin
            .request_with(
                Method::POST,
                "/api/v1/departments",
                Some(body.clone()),
                &[("origin", "http://evil.example")],
            )
            .await,
        StatusCode::FORBIDDEN,
        "csrf",
    );
    // So is signing in from another site.
    check_error(
        &server
            .client()
            .request_with(
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"org_code": "acme", "login": ADMIN_PHONE, "password": PASSWORD})),
                &[("origin", "http://evil.example")],
            )
            .await,
        StatusCode::FORBIDDEN,
        "csrf",
    );

    // The right token from the same origin works.
    let own_origin = server.url("");
    let created = admin
        .request_with(
            Method::POST,
            "/api/v1/departments",
            Some(body.clone()),
            &[("origin", own_origin.as_str())],
        )
        .await;
    check(&created, StatusCode::CREATED);
    let id = text(&created.body["id"]);

    // PATCH, DELETE and sign-out are writes as well.
    admin.csrf = None;
    check_error(
        &admin
            .patch(
                &format!("/api/v1/departments/{id}"),
                json!({"name": "改名"}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "csrf",
    );
    check_error(
        &admin.delete(&format!("/api/v1/departments/{id}")).await,
        StatusCode::FORBIDDEN,
        "csrf",
    );
    check_error(
        &admin.post("/api/v1/auth/logout", json!({})).await,
        StatusCode::FORBIDDEN,
        "csrf",
    );

    // Reads need no token, and nothing refused was written.
    let departments = admin.get("/api/v1/departments").await;
    check(&departments, StatusCode::OK);
    let list = array(&departments);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "财务部");
    check(&admin.get("/api/v1/me").await, StatusCode::OK);
    server.stop().await;
}

// ----- TOTP ---------------------------------------------------------------------------

#[tokio::test]
async fn totp_enrolment_second_factor_sign_in_and_recovery_codes() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;

    let enrolment = admin.post("/api/v1/me/totp", json!({})).await;
    check(&enrolment, StatusCode::OK);
    let secret = text(&enrolment.body["secret"]);
    let url = text(&enrolment.body["otpauth_url"]);
    assert!(url.starts_with("otpauth://totp/"), "{url}");
    assert!(url.contains(&secret), "{url}");
    assert!(text(&enrolment.body["qr_svg"]).contains("<svg"));

    // Not in force until confirmed.
    let before = server.client().login("acme", ADMIN_PHONE, PASSWORD).await;
    check(&before, StatusCode::OK);
    assert_eq!(before.body["mfa_required"], false);

    let now = server.unix_seconds();
    check_error(
        &admin
            .post(
                "/api/v1/me/totp/confirm",
                json!({"code": wrong_code(&secret, now)}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "bad_second_factor",
    );
    let confirmed = admin
        .post(
            "/api/v1/me/totp/confirm",
            json!({"code": totp_code(&secret, now)}),
        )
        .await;
    check(&confirmed, StatusCode::OK);
    let recovery: Vec<String> = confirmed.body["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(text)
        .collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(recovery.iter().collect::<BTreeSet<_>>().len(), 10);
    assert!(
        recovery
            .iter()
            .all(|c| c.len() == 14 && c.split('-').count() == 3)
    );
    let me = admin.get("/api/v1/me").await;
    check(&me, StatusCode::OK);
    assert_eq!(me.body["person"]["totp_enabled"], true);
    check_error(
        &admin.post("/api/v1/me/totp", json!({})).await,
        StatusCode::CONFLICT,
        "conflict.totp_already_enabled",
    );

    // Sign-in now asks for a code, and the session is useless until it comes.
    server.clock.advance_seconds(30);
    let mut phone = server.client();
    let pending = phone.login("acme", ADMIN_PHONE, PASSWORD).await;
    check(&pending, StatusCode::OK);
    assert_eq!(pending.body["mfa_required"], true);
    let pending_token = pending.session_cookie().expect("pending cookie");
    for path in ["/api/v1/me", "/api/v1/people"] {
        check_error(
            &phone.get(path).await,
            StatusCode::UNAUTHORIZED,
            "mfa_required",
        );
    }
    let now = server.unix_seconds();
    check_error(
        &phone
            .post(
                "/api/v1/auth/mfa",
                json!({"code": wrong_code(&secret, now)}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "bad_second_factor",
    );
    let code = totp_code(&secret, now);
    let done = phone.post("/api/v1/auth/mfa", json!({"code": code})).await;
    check(&done, StatusCode::OK);
    assert_eq!(done.body["mfa_required"], false);
    let full_token = done.session_cookie().expect("new session cookie");
    assert_ne!(
        full_token, pending_token,
        "the token rotates after the code"
    );
    phone.csrf = done.body["csrf_token"].as_str().map(str::to_owned);
    check(&phone.get("/api/v1/me").await, StatusCode::OK);
    check_error(
        &server
            .client_with_session(&pending_token)
            .get("/api/v1/me")
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // A full session has nothing to complete, and is left alone.
    check_error(
        &phone
            .post("/api/v1/auth/mfa", json!({"code": recovery[9]}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check(&phone.get("/api/v1/me").await, StatusCode::OK);
    // Without any session there is nothing to complete.
    check_error(
        &server
            .client()
            .post("/api/v1/auth/mfa", json!({"code": code}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    // The same code cannot be used twice.
    let mut laptop = server.client();
    let pending = laptop.login("acme", ADMIN_PHONE, PASSWORD).await;
    assert_eq!(pending.body["mfa_required"], true);
    check_error(
        &laptop.post("/api/v1/auth/mfa", json!({"code": code})).await,
        StatusCode::UNAUTHORIZED,
        "bad_second_factor",
    );
    // A recovery code works once.
    let recovered = laptop
        .post("/api/v1/auth/mfa", json!({"code": recovery[0]}))
        .await;
    check(&recovered, StatusCode::OK);
    check(&laptop.get("/api/v1/me").await, StatusCode::OK);
    let mut tablet = server.client();
    tablet.login("acme", ADMIN_PHONE, PASSWORD).await;
    check_error(
        &tablet
            .post("/api/v1/auth/mfa", json!({"code": recovery[0]}))
            .await,
        StatusCode::UNAUTHORIZED,
        "bad_second_factor",
    );
    // Typed loosely (upper case, spaces instead of hyphens) it still counts.
    let typed = recovery[1].to_uppercase().replace('-', " ");
    check(
        &tablet
            .post("/api/v1/auth/mfa", json!({"code": typed}))
            .await,
        StatusCode::OK,
    );
    check(&tablet.get("/api/v1/me").await, StatusCode::OK);

    // A pending sign-in expires.
    let mut late = server.client();
    late.login("acme", ADMIN_PHONE, PASSWORD).await;
    server.clock.advance_seconds(301);
    check_error(
        &late
            .post(
                "/api/v1/auth/mfa",
                json!({"code": totp_code(&secret, server.unix_seconds())}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    // Turning TOTP off needs the password.
    check_field(
        &admin
            .request(
                Method::DELETE,
                "/api/v1/me/totp",
                Some(json!({"password": "Not-The-Password-42"})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.password.wrong",
        "password",
    );
    check(
        &admin
            .request(
                Method::DELETE,
                "/api/v1/me/totp",
                Some(json!({"password": PASSWORD})),
            )
            .await,
        StatusCode::NO_CONTENT,
    );
    let me = admin.get("/api/v1/me").await;
    assert_eq!(me.body["person"]["totp_enabled"], false);
    let after = signed_in(&server, "acme", ADMIN_PHONE, PASSWORD).await;
    check(&after.get("/api/v1/me").await, StatusCode::OK);
    check_error(
        &admin
            .request(
                Method::DELETE,
                "/api/v1/me/totp",
                Some(json!({"password": PASSWORD})),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.totp_not_enabled",
    );

    let events = admin.get("/api/v1/audit-events?per_page=100").await;
    let actions = field_of(&items(&events), "action");
    for action in [
        "auth.totp_enrolment_started",
        "auth.totp_enabled",
        "auth.password_accepted",
        "auth.second_factor_failed",
        "auth.totp_removed",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn totp_can_be_re_enrolled_right_after_removal() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let first = admin.post("/api/v1/me/totp", json!({})).await;
    let secret = text(&first.body["secret"]);
    check(
        &admin
            .post(
                "/api/v1/me/totp/confirm",
                json!({"code": totp_code(&secret, server.unix_seconds())}),
            )
            .await,
        StatusCode::OK,
    );
    check(
        &admin
            .request(
                Method::DELETE,
                "/api/v1/me/totp",
                Some(json!({"password": PASSWORD})),
            )
            .await,
        StatusCode::NO_CONTENT,
    );
    // A new phone, a new secret: its current code has never been used.
    let second = admin.post("/api/v1/me/totp", json!({})).await;
    check(&second, StatusCode::OK);
    let secret = text(&second.body["secret"]);
    let confirmed = admin
        .post(
            "/api/v1/me/totp/confirm",
            json!({"code": totp_code(&secret, server.unix_seconds())}),
        )
        .await;
    check(&confirmed, StatusCode::OK);
    server.stop().await;
}

// ----- password change ----------------------------------------------------------------

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let server = TestServer::spawn().await;
    let mut admin = server.register("acme").await;
    let other = signed_in(&server, "acme", ADMIN_PHONE, PASSWORD).await;
    let path = "/api/v1/me/password";

    check_field(
        &admin
            .post(
                path,
                json!({"current_password": "Not-The-Password-42", "new_password": NEW_PASSWORD}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.password.wrong",
        "current_password",
    );
    let weak = admin
        .post(
            path,
            json!({"current_password": PASSWORD, "new_password": "password123"}),
        )
        .await;
    check_field(
        &weak,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.password.weak",
        "new_password",
    );
    assert!(
        weak.body["error"]["details"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    );
    check_field(
        &admin
            .post(
                path,
                json!({"current_password": PASSWORD, "new_password": "Short-1"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.password.too_short",
        "new_password",
    );
    check_field(
        &admin
            .post(
                path,
                json!({"current_password": PASSWORD, "new_password": PASSWORD}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.password.same",
        "new_password",
    );
    // Refusals changed nothing.
    check(&other.get("/api/v1/me").await, StatusCode::OK);

    let changed = admin
        .post(
            path,
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    check(&changed, StatusCode::OK);
    assert!(changed.session_cookie().is_some());
    assert_eq!(changed.body["must_change_password"], false);
    admin.csrf = changed.body["csrf_token"].as_str().map(str::to_owned);
    check(&admin.get("/api/v1/me").await, StatusCode::OK);
    department(&admin, "财务部", None).await;

    check_error(
        &other.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check_error(
        &server.client().login("acme", ADMIN_PHONE, PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
    );
    signed_in(&server, "acme", ADMIN_PHONE, NEW_PASSWORD).await;
    server.stop().await;
}

// ----- directory: departments ---------------------------------------------------------

#[tokio::test]
async fn the_department_tree_can_be_built_renamed_moved_and_pruned() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let hq = department(&admin, "总部", None).await;
    let finance = department(&admin, "财务部", Some(&hq)).await;
    let accounting = department(&admin, "会计组", Some(&finance)).await;
    let list = admin.get("/api/v1/departments").await;
    check(&list, StatusCode::OK);
    let list = array(&list);
    assert_eq!(list.len(), 3);
    let parent_of = |id: &str| {
        list.iter()
            .find(|d| d["id"] == id)
            .map(|d| d["parent_id"].clone())
            .expect("department listed")
    };
    assert_eq!(parent_of(&finance), json!(hq));
    assert_eq!(parent_of(&accounting), json!(finance));
    assert!(parent_of(&hq).is_null());

    let renamed = admin
        .patch(
            &format!("/api/v1/departments/{finance}"),
            json!({"name": "财务中心"}),
        )
        .await;
    check(&renamed, StatusCode::OK);
    assert_eq!(renamed.body["name"], "财务中心");
    assert_eq!(
        renamed.body["parent_id"],
        hq.as_str(),
        "renaming keeps the parent"
    );

    // Sibling names are unique; the same name elsewhere is fine.
    check_error(
        &admin
            .post(
                "/api/v1/departments",
                json!({"name": "财务中心", "parent_id": hq}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.department_name_taken",
    );
    department(&admin, "财务中心", None).await;
    let legal = department(&admin, "法务部", Some(&hq)).await;
    check_error(
        &admin
            .patch(
                &format!("/api/v1/departments/{legal}"),
                json!({"name": "财务中心"}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.department_name_taken",
    );

    // No cycles: not under itself, not under a descendant.
    for parent in [&hq, &finance, &accounting] {
        check_field(
            &admin
                .patch(
                    &format!("/api/v1/departments/{hq}"),
                    json!({"parent_id": parent}),
                )
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid.department.cycle",
            "parent",
        );
    }
    check_field(
        &admin
            .patch(
                &format!("/api/v1/departments/{hq}"),
                json!({"parent_id": UNKNOWN_ID}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.department.unknown",
        "parent",
    );
    check_error(
        &admin
            .patch(
                &format!("/api/v1/departments/{UNKNOWN_ID}"),
                json!({"name": "x"}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found.department",
    );

    // Moves: to another parent, and to the top level.
    let moved = admin
        .patch(
            &format!("/api/v1/departments/{accounting}"),
            json!({"parent_id": legal}),
        )
        .await;
    check(&moved, StatusCode::OK);
    assert_eq!(moved.body["parent_id"], legal.as_str());
    assert_eq!(moved.body["name"], "会计组");
    let top = admin
        .patch(
            &format!("/api/v1/departments/{accounting}"),
            json!({"parent_id": null}),
        )
        .await;
    check(&top, StatusCode::OK);
    assert!(top.body["parent_id"].is_null());

    // Only empty departments can be deleted: a child or a person keeps them.
    let not_empty = admin.delete(&format!("/api/v1/departments/{hq}")).await;
    check_error(
        &not_empty,
        StatusCode::CONFLICT,
        "conflict.department_not_empty",
    );
    let employee = role_id(&admin, "employee").await;
    let person = admin
        .post(
            "/api/v1/people",
            json!({"name": "钱会计", "phone": "13900000002", "department_id": accounting, "role_ids": [employee]}),
        )
        .await;
    check(&person, StatusCode::CREATED);
    assert_eq!(person.body["person"]["department_id"], accounting.as_str());
    let person_id = text(&person.body["person"]["id"]);
    let occupied = admin
        .delete(&format!("/api/v1/departments/{accounting}"))
        .await;
    check_error(
        &occupied,
        StatusCode::CONFLICT,
        "conflict.department_not_empty",
    );
    let by_department = admin
        .get(&format!("/api/v1/people?department_id={accounting}"))
        .await;
    assert_eq!(by_department.body["total"], 1);

    let out = admin
        .patch(
            &format!("/api/v1/people/{person_id}"),
            json!({"department_id": null}),
        )
        .await;
    check(&out, StatusCode::OK);
    assert!(out.body["department_id"].is_null());
    check(
        &admin
            .delete(&format!("/api/v1/departments/{accounting}"))
            .await,
        StatusCode::NO_CONTENT,
    );
    check(
        &admin
            .delete(&format!("/api/v1/departments/{finance}"))
            .await,
        StatusCode::NO_CONTENT,
    );
    check(
        &admin.delete(&format!("/api/v1/departments/{legal}")).await,
        StatusCode::NO_CONTENT,
    );
    check(
        &admin.delete(&format!("/api/v1/departments/{hq}")).await,
        StatusCode::NO_CONTENT,
    );
    check_error(
        &admin.delete(&format!("/api/v1/departments/{hq}")).await,
        StatusCode::NOT_FOUND,
        "not_found.department",
    );
    let left = admin.get("/api/v1/departments").await;
    assert_eq!(field_of(&array(&left), "name"), ["财务中心"]);

    let events = admin
        .get("/api/v1/audit-events?action=department.deleted")
        .await;
    assert_eq!(events.body["total"], 4);
    server.stop().await;
}

#[tokio::test]
async fn org_codes_and_phone_numbers_are_normalised() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let created = client
        .post(
            "/api/v1/organisations",
            registration("ACME-Seal", "+86 138 0000 0001"),
        )
        .await;
    check(&created, StatusCode::CREATED);
    assert_eq!(created.body["org"]["code"], "acme-seal");
    let admin = signed_in(&server, "Acme-SEAL", "138-0000-0001", PASSWORD).await;
    let me = admin.get("/api/v1/me").await;
    assert_eq!(me.body["person"]["phone"], ADMIN_PHONE);
    check_error(
        &client
            .post(
                "/api/v1/organisations",
                registration("acme-seal", "13900000002"),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.org_code_taken",
    );
    let employee = role_id(&admin, "employee").await;
    check(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "赵员工", "phone": "139 0000 0002", "role_ids": [employee]}),
            )
            .await,
        StatusCode::CREATED,
    );
    check_error(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "赵员工二", "phone": "+8613900000002"}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.login_taken",
    );
    check_error(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "管理员二", "email": "x@acme.example", "phone": "+86 138-0000-0001"}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.login_taken",
    );
    server.stop().await;
}

#[tokio::test]
async fn departments_nest_at_most_sixteen_levels() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let mut chain = vec![];
    for level in 1..=16 {
        let parent = chain.last().map(String::as_str);
        chain.push(department(&admin, &format!("第{level}级"), parent).await);
    }
    check_field(
        &admin
            .post(
                "/api/v1/departments",
                json!({"name": "第17级", "parent_id": chain[15]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.department.too_deep",
        "parent",
    );
    // A subtree two levels high fits under level 14 but not under level 15.
    let root = department(&admin, "外派组", None).await;
    department(&admin, "外派小组", Some(&root)).await;
    check_field(
        &admin
            .patch(
                &format!("/api/v1/departments/{root}"),
                json!({"parent_id": chain[14]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.department.too_deep",
        "parent",
    );
    check(
        &admin
            .patch(
                &format!("/api/v1/departments/{root}"),
                json!({"parent_id": chain[13]}),
            )
            .await,
        StatusCode::OK,
    );
    assert_eq!(array(&admin.get("/api/v1/departments").await).len(), 18);
    server.stop().await;
}

// ----- directory: people --------------------------------------------------------------

#[tokio::test]
async fn invited_people_get_a_temporary_password_and_logins_are_unique_per_org() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let employee = role_id(&admin, "employee").await;
    let created = admin
        .post(
            "/api/v1/people",
            json!({"name": "陈员工", "phone": "13900000002", "role_ids": [employee]}),
        )
        .await;
    check(&created, StatusCode::CREATED);
    let temporary = text(&created.body["temporary_password"]);
    assert!(temporary.len() >= 10, "{temporary}");
    let person = &created.body["person"];
    assert_eq!(person["must_change_password"], true);
    assert_eq!(person["status"], "active");
    assert_eq!(person["phone"], "13900000002");
    assert_eq!(person["roles"][0]["builtin"], "employee");

    let mut invited = server.client();
    let login = invited.login("acme", "13900000002", &temporary).await;
    check(&login, StatusCode::OK);
    assert_eq!(login.body["must_change_password"], true);
    let me = invited.get("/api/v1/me").await;
    assert_eq!(me.body["person"]["must_change_password"], true);
    let changed = invited
        .post(
            "/api/v1/me/password",
            json!({"current_password": temporary, "new_password": NEW_PASSWORD}),
        )
        .await;
    check(&changed, StatusCode::OK);
    let me = invited.get("/api/v1/me").await;
    assert_eq!(me.body["person"]["must_change_password"], false);

    // A given password is used as is (and must be strong); no temporary one is shown.
    let given = admin
        .post(
            "/api/v1/people",
            json!({"name": "吴员工", "email": "wu@acme.example", "password": PASSWORD}),
        )
        .await;
    check(&given, StatusCode::CREATED);
    assert!(given.body["temporary_password"].is_null());
    assert_eq!(given.body["person"]["must_change_password"], false);
    check_field(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "郑员工", "phone": "13900000009", "password": "password123"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.password.weak",
        "password",
    );

    // Logins are unique within the organisation.
    check_error(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "另一个陈", "phone": "13900000002"}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.login_taken",
    );
    check_error(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "另一个吴", "phone": "13900000003", "email": "wu@acme.example"}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.login_taken",
    );
    check_error(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "管理员的号", "phone": ADMIN_PHONE}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.login_taken",
    );
    check_field(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "无账号", "role_ids": [employee]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.no_login",
        "phone",
    );
    check_field(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "坏邮箱", "email": "not-an-address"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.email",
        "email",
    );
    check_field(
        &admin
            .post(
                "/api/v1/people",
                json!({"name": "坏角色", "phone": "13900000004", "role_ids": [UNKNOWN_ID]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.role.unknown",
        "roles",
    );
    // …but the same phone in another organisation is fine.
    let beta = server.register("beta").await;
    let elsewhere = beta
        .post(
            "/api/v1/people",
            json!({"name": "陈员工", "phone": "13900000002"}),
        )
        .await;
    check(&elsewhere, StatusCode::CREATED);
    let beta_temporary = text(&elsewhere.body["temporary_password"]);
    signed_in(&server, "beta", "13900000002", &beta_temporary).await;
    signed_in(&server, "acme", "13900000002", NEW_PASSWORD).await;

    let people = admin.get("/api/v1/people").await;
    assert_eq!(people.body["total"], 3, "admin, 陈员工 and 吴员工");
    server.stop().await;
}

#[tokio::test]
async fn people_can_be_searched_filtered_and_paged() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let finance = department(&admin, "财务部", None).await;
    let employee = role_id(&admin, "employee").await;
    let auditor = role_id(&admin, "auditor").await;
    for i in 1..=24 {
        let department = (i <= 5).then_some(finance.as_str());
        let answer = admin
            .post(
                "/api/v1/people",
                json!({
                    "name": format!("员工{i:02}"),
                    "phone": format!("139000000{i:02}"),
                    "department_id": department,
                    "role_ids": [employee],
                }),
            )
            .await;
        check(&answer, StatusCode::CREATED);
    }
    let auditor_id = person_with_roles(&admin, "审计甲", "13700000001", &[&auditor]).await;

    let total = |answer: &Answer| answer.body["total"].as_i64().expect("total");
    let first = admin.get("/api/v1/people").await;
    check(&first, StatusCode::OK);
    assert_eq!(total(&first), 26);
    assert_eq!(first.body["page"], 1);
    assert_eq!(first.body["per_page"], 20);
    assert_eq!(items(&first).len(), 20);
    assert!(items(&first).iter().all(|p| p.get("roles").is_none()));
    let second = admin.get("/api/v1/people?page=2").await;
    assert_eq!(items(&second).len(), 6);
    let mut seen: BTreeSet<String> = field_of(&items(&first), "id").into_iter().collect();
    seen.extend(field_of(&items(&second), "id"));
    assert_eq!(seen.len(), 26, "pages neither overlap nor skip");

    let third = admin.get("/api/v1/people?per_page=10&page=3").await;
    assert_eq!(items(&third).len(), 6);
    assert_eq!(third.body["page"], 3);
    assert_eq!(third.body["per_page"], 10);
    let beyond = admin.get("/api/v1/people?per_page=10&page=9").await;
    assert!(items(&beyond).is_empty());
    assert_eq!(total(&beyond), 26);
    let clamped = admin.get("/api/v1/people?per_page=1000").await;
    assert_eq!(clamped.body["per_page"], 100);
    assert_eq!(items(&clamped).len(), 26);
    let far = admin
        .get("/api/v1/people?per_page=100&page=9223372036854775807")
        .await;
    check(&far, StatusCode::OK);
    assert!(items(&far).is_empty());
    let far_audit = admin
        .get("/api/v1/audit-events?per_page=100&page=9223372036854775807")
        .await;
    check(&far_audit, StatusCode::OK);
    assert!(items(&far_audit).is_empty());
    check_error(
        &admin.get("/api/v1/people?page=99999999999999999999").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "request.query",
    );
    let negative = admin.get("/api/v1/people?per_page=-5&page=-2").await;
    assert_eq!(negative.body["per_page"], 1);
    assert_eq!(negative.body["page"], 1);
    let tiny = admin.get("/api/v1/people?per_page=0&page=0").await;
    assert_eq!(tiny.body["per_page"], 1);
    assert_eq!(tiny.body["page"], 1);
    assert_eq!(items(&tiny).len(), 1);

    let by_name = admin.get("/api/v1/people?q=员工2").await;
    let mut names = field_of(&items(&by_name), "name");
    names.sort();
    assert_eq!(names, ["员工20", "员工21", "员工22", "员工23", "员工24"]);
    let by_phone = admin.get("/api/v1/people?q=1370000").await;
    assert_eq!(field_of(&items(&by_phone), "id"), [auditor_id.as_str()]);
    let literal = admin.get("/api/v1/people?q=%25").await;
    assert_eq!(total(&literal), 0, "% is not a wildcard");
    let blank = admin.get("/api/v1/people?q=%20%20").await;
    assert_eq!(total(&blank), 26, "a blank search is no filter");

    let in_finance = admin
        .get(&format!("/api/v1/people?department_id={finance}"))
        .await;
    assert_eq!(total(&in_finance), 5);
    assert!(
        items(&in_finance)
            .iter()
            .all(|p| p["department_id"] == finance.as_str())
    );
    let combined = admin
        .get(&format!("/api/v1/people?department_id={finance}&q=员工05"))
        .await;
    assert_eq!(field_of(&items(&combined), "name"), ["员工05"]);
    let auditors = admin
        .get(&format!("/api/v1/people?role_id={auditor}"))
        .await;
    assert_eq!(field_of(&items(&auditors), "id"), [auditor_id.as_str()]);
    let employees = admin
        .get(&format!("/api/v1/people?role_id={employee}"))
        .await;
    assert_eq!(total(&employees), 24);

    let disabled = admin.get("/api/v1/people?status=disabled").await;
    assert_eq!(total(&disabled), 0);
    check(
        &admin
            .post(&format!("/api/v1/people/{auditor_id}/disable"), json!({}))
            .await,
        StatusCode::OK,
    );
    let disabled = admin.get("/api/v1/people?status=disabled").await;
    assert_eq!(field_of(&items(&disabled), "id"), [auditor_id.as_str()]);
    let active = admin.get("/api/v1/people?status=active").await;
    assert_eq!(total(&active), 25);

    check_field(
        &admin.get("/api/v1/people?status=gone").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "request.query",
        "status",
    );
    check_error(
        &admin.get("/api/v1/people?colour=blue").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "request.query",
    );
    check_field(
        &admin.get("/api/v1/people?department_id=xyz").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.id",
        "department_id",
    );
    server.stop().await;
}

#[tokio::test]
async fn people_can_be_edited_and_given_several_roles() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let finance = department(&admin, "财务部", None).await;
    let liu = add_person(&admin, "刘员工", "13900000002", "approver").await;
    add_person(&admin, "周员工", "13900000003", "employee").await;
    let liu_client = signed_in(&server, "acme", "13900000002", PASSWORD).await;
    check(&liu_client.get("/api/v1/people").await, StatusCode::OK);
    let path = format!("/api/v1/people/{liu}");

    let edited = admin
        .patch(
            &path,
            json!({"name": "刘新名", "email": "liu@acme.example", "department_id": finance}),
        )
        .await;
    check(&edited, StatusCode::OK);
    assert_eq!(edited.body["name"], "刘新名");
    assert_eq!(edited.body["email"], "liu@acme.example");
    assert_eq!(edited.body["phone"], "13900000002");
    assert_eq!(edited.body["department_id"], finance.as_str());
    let fetched = admin.get(&path).await;
    check(&fetched, StatusCode::OK);
    assert_eq!(fetched.body["name"], "刘新名");
    assert_eq!(fetched.body["roles"][0]["builtin"], "approver");
    signed_in(&server, "acme", "liu@acme.example", PASSWORD).await;

    check_error(
        &admin.patch(&path, json!({"phone": "13900000003"})).await,
        StatusCode::CONFLICT,
        "conflict.login_taken",
    );
    check_field(
        &admin.patch(&path, json!({"phone": "", "email": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.no_login",
        "phone",
    );
    check_field(
        &admin.patch(&path, json!({"name": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.text.empty",
        "name",
    );
    check_field(
        &admin
            .patch(&path, json!({"department_id": UNKNOWN_ID}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.department.unknown",
        "department",
    );
    // Refused edits changed nothing.
    let unchanged = admin.get(&path).await;
    assert_eq!(unchanged.body["phone"], "13900000002");
    assert_eq!(unchanged.body["name"], "刘新名");
    assert_eq!(unchanged.body["department_id"], finance.as_str());

    let cleared = admin
        .patch(&path, json!({"email": "", "department_id": null}))
        .await;
    check(&cleared, StatusCode::OK);
    assert!(cleared.body["email"].is_null());
    assert!(cleared.body["department_id"].is_null());
    assert_eq!(cleared.body["phone"], "13900000002");

    // Several roles at once; the change reaches existing sessions at once.
    let approver = role_id(&admin, "approver").await;
    let keeper = role_id(&admin, "seal_keeper").await;
    let employee = role_id(&admin, "employee").await;
    let both = admin
        .put(
            &format!("{path}/roles"),
            json!({"role_ids": [approver, keeper]}),
        )
        .await;
    check(&both, StatusCode::OK);
    let held: BTreeSet<String> = both.body["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| text(&r["builtin"]))
        .collect();
    assert_eq!(
        held,
        ["approver", "seal_keeper"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
    let me = liu_client.get("/api/v1/me").await;
    let permissions: Vec<String> = me.body["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(text)
        .collect();
    assert!(permissions.iter().any(|p| p == "seals.keep"));
    assert!(permissions.iter().any(|p| p == "applications.approve"));
    check(
        &admin
            .put(&format!("{path}/roles"), json!({"role_ids": [employee]}))
            .await,
        StatusCode::OK,
    );
    check_error(
        &liu_client.get("/api/v1/people").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    check_field(
        &admin
            .put(&format!("{path}/roles"), json!({"role_ids": [UNKNOWN_ID]}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.role.unknown",
        "roles",
    );
    let events = admin
        .get("/api/v1/audit-events?action=person.roles_changed")
        .await;
    assert_eq!(events.body["total"], 2);
    server.stop().await;
}

#[tokio::test]
async fn disabled_people_are_signed_out_at_once_and_kept_out_until_re_enabled() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let person = add_person(&admin, "赵员工", "13900000002", "approver").await;
    let client = signed_in(&server, "acme", "13900000002", PASSWORD).await;
    check(&client.get("/api/v1/me").await, StatusCode::OK);

    let disabled = admin
        .post(&format!("/api/v1/people/{person}/disable"), json!({}))
        .await;
    check(&disabled, StatusCode::OK);
    assert_eq!(disabled.body["status"], "disabled");
    check_error(
        &client.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check_error(
        &server.client().login("acme", "13900000002", PASSWORD).await,
        StatusCode::FORBIDDEN,
        "account_disabled",
    );
    // A wrong password reveals nothing about the account's state.
    check_error(
        &server
            .client()
            .login("acme", "13900000002", "Not-The-Password-42")
            .await,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
    );
    // Disabling twice is harmless.
    let again = admin
        .post(&format!("/api/v1/people/{person}/disable"), json!({}))
        .await;
    check(&again, StatusCode::OK);
    assert_eq!(again.body["status"], "disabled");

    let enabled = admin
        .post(&format!("/api/v1/people/{person}/enable"), json!({}))
        .await;
    check(&enabled, StatusCode::OK);
    assert_eq!(enabled.body["status"], "active");
    // The old session stays ended; a new sign-in works.
    check_error(
        &client.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let back = signed_in(&server, "acme", "13900000002", PASSWORD).await;
    check(&back.get("/api/v1/people").await, StatusCode::OK);

    let events = admin
        .get("/api/v1/audit-events?action=person.disabled")
        .await;
    assert_eq!(events.body["total"], 1, "a no-op is not an event");
    let event = &items(&events)[0];
    assert_eq!(event["subject"], format!("person:{person}"));
    assert_eq!(event["details"]["sessions_ended"], "1");
    server.stop().await;
}

#[tokio::test]
async fn a_password_reset_ends_sessions_and_issues_a_temporary_password() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let person = add_person(&admin, "赵员工", "13900000002", "employee").await;
    let client = signed_in(&server, "acme", "13900000002", PASSWORD).await;
    let reset = admin
        .post(
            &format!("/api/v1/people/{person}/password-reset"),
            json!({}),
        )
        .await;
    check(&reset, StatusCode::OK);
    let temporary = text(&reset.body["temporary_password"]);
    check_error(
        &client.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check_error(
        &server.client().login("acme", "13900000002", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
    );
    let mut fresh = server.client();
    let login = fresh.login("acme", "13900000002", &temporary).await;
    check(&login, StatusCode::OK);
    assert_eq!(login.body["must_change_password"], true);
    let changed = fresh
        .post(
            "/api/v1/me/password",
            json!({"current_password": temporary, "new_password": NEW_PASSWORD}),
        )
        .await;
    check(&changed, StatusCode::OK);
    let me = fresh.get("/api/v1/me").await;
    assert_eq!(me.body["person"]["must_change_password"], false);
    check_error(
        &admin
            .post(
                &format!("/api/v1/people/{UNKNOWN_ID}/password-reset"),
                json!({}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found.person",
    );
    server.stop().await;
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_disabled_or_demoted() {
    let server = TestServer::spawn().await;
    let first = server.register("acme").await;
    let first_id = my_id(&first).await;
    let employee = role_id(&first, "employee").await;
    let admin_role = role_id(&first, "org_admin").await;

    check_error(
        &first
            .post(&format!("/api/v1/people/{first_id}/disable"), json!({}))
            .await,
        StatusCode::CONFLICT,
        "conflict.last_admin",
    );
    for roles in [json!([employee]), json!([])] {
        check_error(
            &first
                .put(
                    &format!("/api/v1/people/{first_id}/roles"),
                    json!({"role_ids": roles}),
                )
                .await,
            StatusCode::CONFLICT,
            "conflict.last_admin",
        );
    }
    let me = first.get("/api/v1/me").await;
    check(&me, StatusCode::OK);
    assert_eq!(me.body["person"]["roles"][0]["builtin"], "org_admin");

    // With two admins, one can go.
    let second_id = add_person(&first, "二号管理", "13900000002", "org_admin").await;
    let second = signed_in(&server, "acme", "13900000002", PASSWORD).await;
    let disabled = second
        .post(&format!("/api/v1/people/{first_id}/disable"), json!({}))
        .await;
    check(&disabled, StatusCode::OK);
    check_error(
        &first.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // A disabled admin does not count.
    check_error(
        &second
            .post(&format!("/api/v1/people/{second_id}/disable"), json!({}))
            .await,
        StatusCode::CONFLICT,
        "conflict.last_admin",
    );
    check_error(
        &second
            .put(
                &format!("/api/v1/people/{second_id}/roles"),
                json!({"role_ids": [employee]}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.last_admin",
    );
    check(
        &second
            .post(&format!("/api/v1/people/{first_id}/enable"), json!({}))
            .await,
        StatusCode::OK,
    );
    // Two active admins again: one may be demoted.
    let first = signed_in(&server, "acme", ADMIN_PHONE, PASSWORD).await;
    let demoted = first
        .put(
            &format!("/api/v1/people/{second_id}/roles"),
            json!({"role_ids": [employee]}),
        )
        .await;
    check(&demoted, StatusCode::OK);
    check_error(
        &second.get("/api/v1/people").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let admins = first
        .get(&format!("/api/v1/people?role_id={admin_role}"))
        .await;
    assert_eq!(field_of(&items(&admins), "id"), [first_id]);
    server.stop().await;
}

// ----- roles and separation of duties -------------------------------------------------

#[tokio::test]
async fn custom_roles_and_separation_of_duties() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;

    let permissions = admin.get("/api/v1/permissions").await;
    check(&permissions, StatusCode::OK);
    let keys = field_of(&array(&permissions), "key");
    assert_eq!(keys.len(), seal_core::permission::Permission::ALL.len());
    assert!(keys.iter().any(|k| k == "people.read"));

    let created = admin
        .post(
            "/api/v1/roles",
            json!({"name": "印章查看", "permissions": ["people.read", "seals.read"]}),
        )
        .await;
    check(&created, StatusCode::CREATED);
    assert!(created.body["builtin"].is_null());
    assert_eq!(created.body["writes"], false);
    assert_eq!(
        created.body["permissions"],
        json!(["people.read", "seals.read"])
    );
    let viewer = text(&created.body["id"]);

    check_field(
        &admin
            .post(
                "/api/v1/roles",
                json!({"name": "坏角色", "permissions": ["people.read", "seals.fly"]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.permission.unknown",
        "permissions",
    );
    check_field(
        &admin
            .post(
                "/api/v1/roles",
                json!({"name": "空角色", "permissions": []}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.permission.none",
        "permissions",
    );
    check_error(
        &admin
            .post(
                "/api/v1/roles",
                json!({"name": "印章查看", "permissions": ["seals.read"]}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.role_name_taken",
    );
    check_field(
        &admin
            .post(
                "/api/v1/roles",
                json!({"name": "角".repeat(41), "permissions": ["seals.read"]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.text.too_long",
        "name",
    );

    // An auditor cannot also hold a role that writes.
    let auditor = role_id(&admin, "auditor").await;
    let employee = role_id(&admin, "employee").await;
    let refused = admin
        .post(
            "/api/v1/people",
            json!({"name": "审计乙", "phone": "13900000002", "role_ids": [auditor, employee]}),
        )
        .await;
    check_field(
        &refused,
        StatusCode::CONFLICT,
        "separation_of_duties.auditor_writes",
        "roles",
    );
    let nobody = admin.get("/api/v1/people?q=13900000002").await;
    assert_eq!(nobody.body["total"], 0, "nothing half-written");

    let audit_person = person_with_roles(&admin, "审计甲", "13900000003", &[&auditor]).await;
    check_field(
        &admin
            .put(
                &format!("/api/v1/people/{audit_person}/roles"),
                json!({"role_ids": [auditor, employee]}),
            )
            .await,
        StatusCode::CONFLICT,
        "separation_of_duties.auditor_writes",
        "roles",
    );
    // A read-only custom role is fine beside the auditor role.
    let both = admin
        .put(
            &format!("/api/v1/people/{audit_person}/roles"),
            json!({"role_ids": [auditor, viewer]}),
        )
        .await;
    check(&both, StatusCode::OK);
    assert_eq!(both.body["roles"].as_array().map(Vec::len), Some(2));
    // …but that role cannot then gain a write permission.
    check_error(
        &admin
            .patch(
                &format!("/api/v1/roles/{viewer}"),
                json!({"permissions": ["people.read", "seals.keep"]}),
            )
            .await,
        StatusCode::CONFLICT,
        "separation_of_duties.auditor_writes",
    );
    let roles = admin.get("/api/v1/roles").await;
    let stored = array(&roles)
        .into_iter()
        .find(|r| r["id"] == viewer.as_str())
        .expect("role");
    assert_eq!(stored["permissions"], json!(["people.read", "seals.read"]));
    let renamed = admin
        .patch(
            &format!("/api/v1/roles/{viewer}"),
            json!({"name": "只读查看", "permissions": ["people.read"]}),
        )
        .await;
    check(&renamed, StatusCode::OK);
    assert_eq!(renamed.body["name"], "只读查看");
    assert_eq!(renamed.body["permissions"], json!(["people.read"]));

    // Built-in roles are fixed.
    check_error(
        &admin
            .patch(
                &format!("/api/v1/roles/{employee}"),
                json!({"name": "员工2"}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.builtin_role_fixed",
    );
    check_error(
        &admin.delete(&format!("/api/v1/roles/{auditor}")).await,
        StatusCode::CONFLICT,
        "conflict.builtin_role_fixed",
    );
    // A held custom role cannot be deleted; once nobody holds it, it can.
    check_error(
        &admin.delete(&format!("/api/v1/roles/{viewer}")).await,
        StatusCode::CONFLICT,
        "conflict.role_in_use",
    );
    check(
        &admin
            .put(
                &format!("/api/v1/people/{audit_person}/roles"),
                json!({"role_ids": [auditor]}),
            )
            .await,
        StatusCode::OK,
    );
    check(
        &admin.delete(&format!("/api/v1/roles/{viewer}")).await,
        StatusCode::NO_CONTENT,
    );
    check_error(
        &admin.delete(&format!("/api/v1/roles/{viewer}")).await,
        StatusCode::NOT_FOUND,
        "not_found.role",
    );
    assert_eq!(array(&admin.get("/api/v1/roles").await).len(), 6);

    // The auditor reads but never writes.
    let auditor_client = signed_in(&server, "acme", "13900000003", PASSWORD).await;
    check(
        &auditor_client.get("/api/v1/audit-events").await,
        StatusCode::OK,
    );
    check_error(
        &auditor_client
            .post("/api/v1/departments", json!({"name": "审计部"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    server.stop().await;
}

#[tokio::test]
async fn people_managers_cannot_grant_administrative_rights() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let hr_role = custom_role(&admin, "人事专员", &["people.read", "people.manage"]).await;
    let hr_id = person_with_roles(&admin, "人事甲", "13900000002", &[&hr_role]).await;
    let hr = signed_in(&server, "acme", "13900000002", PASSWORD).await;
    let org_admin = role_id(&hr, "org_admin").await;
    let approver = role_id(&hr, "approver").await;
    let employee = role_id(&hr, "employee").await;
    let it = role_id(&hr, "it").await;

    // Work roles can be given by whoever manages people.
    let worker = person_with_roles(&hr, "钱员工", "13900000003", &[&approver, &employee]).await;

    for roles in [
        json!([org_admin]),
        json!([it]),
        json!([employee, org_admin]),
    ] {
        let answer = hr
            .put(
                &format!("/api/v1/people/{worker}/roles"),
                json!({"role_ids": roles}),
            )
            .await;
        check_error(&answer, StatusCode::FORBIDDEN, "escalation");
    }
    check_error(
        &hr.post(
            "/api/v1/people",
            json!({"name": "孙管理", "phone": "13900000004", "role_ids": [org_admin]}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "escalation",
    );
    check_error(
        &hr.put(
            &format!("/api/v1/people/{hr_id}/roles"),
            json!({"role_ids": [hr_role, org_admin]}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "escalation",
    );
    for (path, body) in [
        (
            "/api/v1/roles",
            json!({"name": "超级", "permissions": ["org.manage"]}),
        ),
        ("/api/v1/departments", json!({"name": "人事部"})),
    ] {
        check_error(
            &hr.post(path, body).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
    check_error(
        &hr.get("/api/v1/audit-events").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // Nothing was granted.
    let worker_now = admin.get(&format!("/api/v1/people/{worker}")).await;
    let held: BTreeSet<String> = worker_now.body["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| text(&r["builtin"]))
        .collect();
    assert_eq!(
        held,
        ["approver", "employee"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
    let people = admin.get("/api/v1/people").await;
    assert_eq!(people.body["total"], 3);
    let me = hr.get("/api/v1/me").await;
    assert!(
        !me.body["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .any(|p| p == "roles.manage")
    );
    server.stop().await;
}

#[tokio::test]
async fn people_managers_cannot_take_over_an_administrator_account() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let admin_id = my_id(&admin).await;
    let hr_role = custom_role(&admin, "人事专员", &["people.read", "people.manage"]).await;
    person_with_roles(&admin, "人事甲", "13900000002", &[&hr_role]).await;
    let hr = signed_in(&server, "acme", "13900000002", PASSWORD).await;

    // Resetting the admin's password would hand the admin's account (and every
    // administrative permission the HR person lacks) to the HR person.
    let reset = hr
        .post(
            &format!("/api/v1/people/{admin_id}/password-reset"),
            json!({}),
        )
        .await;
    if let Some(temporary) = reset.body["temporary_password"].as_str() {
        let taken_over = server.client().login("acme", ADMIN_PHONE, temporary).await;
        assert_ne!(
            taken_over.status,
            StatusCode::OK,
            "the HR person signed in as the org admin"
        );
    }
    check_error(&reset, StatusCode::FORBIDDEN, "escalation");
    // The admin is still signed in with the old password.
    check(&admin.get("/api/v1/me").await, StatusCode::OK);
    server.stop().await;
}

// ----- API tokens ---------------------------------------------------------------------

#[tokio::test]
async fn api_tokens_are_scoped_shown_once_and_revocable() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let admin_id = my_id(&admin).await;

    let created = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "HR 同步", "scopes": ["people.read"]}),
        )
        .await;
    check(&created, StatusCode::CREATED);
    let secret = text(&created.body["secret"]);
    assert!(secret.starts_with("skt_"), "{secret}");
    assert_eq!(created.body["token"]["scopes"], json!(["people.read"]));
    assert_eq!(created.body["token"]["person_id"], admin_id.as_str());
    assert!(created.body["token"]["revoked_at"].is_null());
    let token_id = text(&created.body["token"]["id"]);

    let mut integration = server.client();
    integration.bearer = Some(secret.clone());
    let me = integration.get("/api/v1/me").await;
    check(&me, StatusCode::OK);
    assert_eq!(me.body["authenticated_by"], "token");
    assert!(me.body["csrf_token"].is_null());
    assert_eq!(me.body["permissions"], json!(["people.read"]));
    assert_eq!(me.body["person"]["id"], admin_id.as_str());
    let people = integration.get("/api/v1/people").await;
    check(&people, StatusCode::OK);
    assert_eq!(people.body["total"], 1);
    // Outside its scopes, even though its person could.
    check_error(
        &integration
            .post("/api/v1/departments", json!({"name": "财务部"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    check_error(
        &integration.get("/api/v1/audit-events").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    check_error(
        &integration
            .post(
                "/api/v1/me/password",
                json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "session_required",
    );
    check_error(
        &integration.post("/api/v1/me/totp", json!({})).await,
        StatusCode::FORBIDDEN,
        "session_required",
    );

    // A write-scoped token writes without a CSRF token, but cannot mint tokens.
    let writer = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "部门同步", "scopes": ["departments.manage", "tokens.manage", "people.read"]}),
        )
        .await;
    check(&writer, StatusCode::CREATED);
    let writer_secret = text(&writer.body["secret"]);
    let writer_id = text(&writer.body["token"]["id"]);
    let mut writer_client = server.client();
    writer_client.bearer = Some(writer_secret.clone());
    check(
        &writer_client
            .post("/api/v1/departments", json!({"name": "财务部"}))
            .await,
        StatusCode::CREATED,
    );
    check_error(
        &writer_client
            .post(
                "/api/v1/tokens",
                json!({"name": "再来一个", "scopes": ["people.read"]}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "session_required",
    );

    // Scopes must be held by the creator and exist.
    check_field(
        &admin
            .post(
                "/api/v1/tokens",
                json!({"name": "越权", "scopes": ["people.read", "seals.keep"]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.scope.not_held",
        "scopes",
    );
    check_field(
        &admin
            .post(
                "/api/v1/tokens",
                json!({"name": "未知", "scopes": ["seals.fly"]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.permission.unknown",
        "scopes",
    );
    check_field(
        &admin
            .post("/api/v1/tokens", json!({"name": "空", "scopes": []}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.permission.none",
        "scopes",
    );
    check_field(
        &admin
            .post(
                "/api/v1/tokens",
                json!({"name": "名".repeat(61), "scopes": ["people.read"]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.text.too_long",
        "name",
    );

    // The list never shows secrets.
    let list = admin.get("/api/v1/tokens").await;
    check(&list, StatusCode::OK);
    let tokens = array(&list);
    assert_eq!(tokens.len(), 2);
    let raw = list.body.to_string();
    assert!(!raw.contains(&secret) && !raw.contains(&writer_secret));
    assert!(tokens.iter().all(|t| t.get("secret").is_none()));
    assert!(
        tokens
            .iter()
            .find(|t| t["id"] == token_id.as_str())
            .is_some_and(|t| t["last_used_at"].is_string()),
        "use is recorded: {tokens:?}"
    );

    // Revoked: refused at the next request.
    let revoked = admin.delete(&format!("/api/v1/tokens/{token_id}")).await;
    check(&revoked, StatusCode::OK);
    assert!(revoked.body["revoked_at"].is_string());
    check_error(
        &integration.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check(
        &admin.delete(&format!("/api/v1/tokens/{token_id}")).await,
        StatusCode::OK,
    );
    check_error(
        &admin.delete(&format!("/api/v1/tokens/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "not_found.api_token",
    );
    check(&writer_client.get("/api/v1/me").await, StatusCode::OK);
    // A token with a garbage secret, or a malformed header, is no one.
    let mut forged = server.client();
    forged.bearer = Some("skt_forged".to_owned());
    check_error(
        &forged.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check_error(
        &server
            .client()
            .request_with(
                Method::GET,
                "/api/v1/me",
                None,
                &[("authorization", "Basic Zm9vOmJhcg==")],
            )
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    // A token acts for its person: when they lose a permission, so does the token.
    let it_person = add_person(&admin, "网管", "13900000002", "it").await;
    let it = signed_in(&server, "acme", "13900000002", PASSWORD).await;
    let it_token = it
        .post(
            "/api/v1/tokens",
            json!({"name": "设备同步", "scopes": ["people.read", "devices.manage"]}),
        )
        .await;
    check(&it_token, StatusCode::CREATED);
    let mut it_integration = server.client();
    it_integration.bearer = Some(text(&it_token.body["secret"]));
    check(&it_integration.get("/api/v1/people").await, StatusCode::OK);
    let employee = role_id(&admin, "employee").await;
    check(
        &admin
            .put(
                &format!("/api/v1/people/{it_person}/roles"),
                json!({"role_ids": [employee]}),
            )
            .await,
        StatusCode::OK,
    );
    check_error(
        &it_integration.get("/api/v1/people").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // …and when they are disabled, the token stops working.
    check(
        &admin
            .post(&format!("/api/v1/people/{it_person}/disable"), json!({}))
            .await,
        StatusCode::OK,
    );
    check_error(
        &it_integration.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    let events = admin.get("/api/v1/audit-events?per_page=100").await;
    let list = items(&events);
    let created_events: Vec<&Value> = list
        .iter()
        .filter(|e| e["action"] == "token.created")
        .collect();
    assert_eq!(created_events.len(), 3);
    assert!(
        list.iter()
            .any(|e| e["action"] == "token.revoked" && e["subject"] == format!("token:{token_id}"))
    );
    // The department the writer token made is attributed to the token.
    assert!(
        list.iter()
            .any(|e| e["action"] == "department.created"
                && e["actor"] == format!("token:{writer_id}"))
    );
    assert!(!events.body.to_string().contains(&secret));
    server.stop().await;
}

// ----- audit --------------------------------------------------------------------------

#[tokio::test]
async fn the_audit_log_records_who_did_what_when_and_from_where() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let admin_id = my_id(&admin).await;
    department(&admin, "财务部", None).await;
    let person = add_person(&admin, "赵员工", "13900000002", "employee").await;
    signed_in(&server, "acme", "13900000002", PASSWORD).await;
    // A day later (every session has idled out by then) the admin signs in again.
    server.clock.advance_seconds(86_400);
    check_error(
        &admin.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let admin = signed_in(&server, "acme", ADMIN_PHONE, PASSWORD).await;
    check(
        &admin
            .post(&format!("/api/v1/people/{person}/disable"), json!({}))
            .await,
        StatusCode::OK,
    );

    let all = admin.get("/api/v1/audit-events").await;
    check(&all, StatusCode::OK);
    let events = items(&all);
    assert_eq!(
        field_of(&events, "action"),
        [
            "person.disabled",
            "auth.signed_in",
            "auth.signed_in",
            "person.created",
            "department.created",
            "person.created",
            "org.registered",
        ],
        "newest first"
    );
    assert_eq!(all.body["total"], 7);
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    let newest = &events[0];
    assert_eq!(newest["actor"], format!("person:{admin_id}"));
    assert_eq!(newest["subject"], format!("person:{person}"));
    assert_eq!(newest["source"], "127.0.0.1");
    assert_eq!(newest["at"], "2026-11-23T08:30:00.000Z");
    assert_eq!(events[1]["actor"], format!("person:{admin_id}"));
    assert_eq!(events[2]["actor"], format!("person:{person}"));
    assert_eq!(events[2]["at"], "2026-11-22T08:30:00.000Z");
    assert_eq!(events[6]["at"], "2026-11-22T08:30:00.000Z");
    assert!(text(&events[6]["subject"]).starts_with("org:"));

    let by_action = admin
        .get("/api/v1/audit-events?action=person.created")
        .await;
    assert_eq!(by_action.body["total"], 2);
    assert!(
        items(&by_action)
            .iter()
            .all(|e| e["action"] == "person.created")
    );
    let by_person = admin
        .get(&format!("/api/v1/audit-events?person_id={person}"))
        .await;
    assert_eq!(field_of(&items(&by_person), "action"), ["auth.signed_in"]);
    let from = admin.get("/api/v1/audit-events?from=2026-11-23").await;
    assert_eq!(
        field_of(&items(&from), "action"),
        ["person.disabled", "auth.signed_in"]
    );
    let inclusive = admin
        .get("/api/v1/audit-events?from=2026-11-23T08:30:00Z")
        .await;
    assert_eq!(inclusive.body["total"], 2, "from is inclusive");
    let later = admin
        .get("/api/v1/audit-events?from=2026-11-23T08:30:01Z")
        .await;
    assert_eq!(later.body["total"], 0);
    let until = admin.get("/api/v1/audit-events?until=2026-11-23").await;
    assert_eq!(until.body["total"], 5);
    let exclusive = admin
        .get("/api/v1/audit-events?from=2026-11-22T08:30:00Z&until=2026-11-22T08:30:00Z")
        .await;
    assert_eq!(exclusive.body["total"], 0, "until is exclusive");
    let paged = admin.get("/api/v1/audit-events?per_page=2&page=2").await;
    assert_eq!(
        field_of(&items(&paged), "action"),
        ["auth.signed_in", "person.created"]
    );
    assert_eq!(paged.body["total"], 7);

    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("from=yesterday", "from"),
        ("until=2026-11-31", "until"),
    ] {
        check_field(
            &admin.get(&format!("/api/v1/audit-events?{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.query",
            field,
        );
    }
    check_field(
        &admin.get("/api/v1/audit-events?person_id=someone").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.id",
        "person_id",
    );

    // Employees cannot read the log; auditors can.
    add_person(&admin, "钱员工", "13900000003", "employee").await;
    let employee = signed_in(&server, "acme", "13900000003", PASSWORD).await;
    check_error(
        &employee.get("/api/v1/audit-events").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    add_person(&admin, "审计甲", "13900000004", "auditor").await;
    let auditor = signed_in(&server, "acme", "13900000004", PASSWORD).await;
    check(&auditor.get("/api/v1/audit-events").await, StatusCode::OK);

    // Organisations see only their own events.
    let beta = server.register("beta").await;
    let beta_admin = my_id(&beta).await;
    let beta_events = beta.get("/api/v1/audit-events?per_page=100").await;
    check(&beta_events, StatusCode::OK);
    assert_eq!(
        field_of(&items(&beta_events), "action"),
        ["person.created", "org.registered"]
    );
    let acme_events = admin.get("/api/v1/audit-events?per_page=100").await;
    let acme_list = items(&acme_events);
    assert!(!acme_list.is_empty());
    assert!(
        acme_list
            .iter()
            .all(|e| e["actor"] != format!("person:{beta_admin}")
                && e["subject"] != format!("person:{beta_admin}")),
        "{acme_list:?}"
    );
    let across = admin
        .get(&format!("/api/v1/audit-events?person_id={beta_admin}"))
        .await;
    assert_eq!(across.body["total"], 0);
    server.stop().await;
}

// ----- tenancy ------------------------------------------------------------------------

#[tokio::test]
async fn organisations_never_reach_each_others_records() {
    let server = TestServer::spawn().await;
    let acme = server.register("acme").await;
    let acme_department = department(&acme, "财务部", None).await;
    let acme_person = add_person(&acme, "赵员工", "13900000002", "approver").await;
    let acme_role = custom_role(&acme, "查看", &["people.read"]).await;
    let acme_builtin = role_id(&acme, "employee").await;
    let token = acme
        .post(
            "/api/v1/tokens",
            json!({"name": "同步", "scopes": ["people.read"]}),
        )
        .await;
    check(&token, StatusCode::CREATED);
    let acme_token = text(&token.body["token"]["id"]);

    let beta = server.register("beta").await;
    let beta_person = add_person(&beta, "孙员工", "13900000002", "employee").await;

    let person = format!("/api/v1/people/{acme_person}");
    check_error(
        &beta.get(&person).await,
        StatusCode::NOT_FOUND,
        "not_found.person",
    );
    check_error(
        &beta.patch(&person, json!({"name": "改名"})).await,
        StatusCode::NOT_FOUND,
        "not_found.person",
    );
    let beta_employee = role_id(&beta, "employee").await;
    check_error(
        &beta
            .put(
                &format!("{person}/roles"),
                json!({"role_ids": [beta_employee]}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found.person",
    );
    for action in ["disable", "enable", "password-reset"] {
        check_error(
            &beta.post(&format!("{person}/{action}"), json!({})).await,
            StatusCode::NOT_FOUND,
            "not_found.person",
        );
    }
    let department_path = format!("/api/v1/departments/{acme_department}");
    check_error(
        &beta.patch(&department_path, json!({"name": "改名"})).await,
        StatusCode::NOT_FOUND,
        "not_found.department",
    );
    check_error(
        &beta.delete(&department_path).await,
        StatusCode::NOT_FOUND,
        "not_found.department",
    );
    for role in [&acme_role, &acme_builtin] {
        let path = format!("/api/v1/roles/{role}");
        check_error(
            &beta.patch(&path, json!({"name": "改名"})).await,
            StatusCode::NOT_FOUND,
            "not_found.role",
        );
        check_error(
            &beta.delete(&path).await,
            StatusCode::NOT_FOUND,
            "not_found.role",
        );
    }
    check_error(
        &beta.delete(&format!("/api/v1/tokens/{acme_token}")).await,
        StatusCode::NOT_FOUND,
        "not_found.api_token",
    );
    // Ids of the other organisation in bodies and filters lead nowhere either.
    check_field(
        &beta
            .post(
                "/api/v1/people",
                json!({"name": "钱员工", "phone": "13900000003", "department_id": acme_department}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.department.unknown",
        "department",
    );
    check_field(
        &beta
            .post(
                "/api/v1/people",
                json!({"name": "钱员工", "phone": "13900000003", "role_ids": [acme_role]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.role.unknown",
        "roles",
    );
    check_field(
        &beta
            .put(
                &format!("/api/v1/people/{beta_person}/roles"),
                json!({"role_ids": [acme_builtin]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.role.unknown",
        "roles",
    );
    check_field(
        &beta
            .post(
                "/api/v1/departments",
                json!({"name": "子部门", "parent_id": acme_department}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.department.unknown",
        "parent",
    );
    let filtered = beta
        .get(&format!("/api/v1/people?department_id={acme_department}"))
        .await;
    assert_eq!(filtered.body["total"], 0);
    let filtered = beta
        .get(&format!("/api/v1/people?role_id={acme_role}"))
        .await;
    assert_eq!(filtered.body["total"], 0);

    // Lists hold only one's own records.
    let people = beta.get("/api/v1/people").await;
    assert_eq!(people.body["total"], 2);
    let ids = field_of(&items(&people), "id");
    assert!(!ids.contains(&acme_person));
    assert!(ids.contains(&beta_person));
    assert!(array(&beta.get("/api/v1/departments").await).is_empty());
    assert_eq!(array(&beta.get("/api/v1/roles").await).len(), 6);
    assert!(array(&beta.get("/api/v1/tokens").await).is_empty());
    let searched = beta.get("/api/v1/people?q=赵员工").await;
    assert_eq!(searched.body["total"], 0);

    // Acme's records are untouched.
    let untouched = acme.get(&person).await;
    check(&untouched, StatusCode::OK);
    assert_eq!(untouched.body["name"], "赵员工");
    assert_eq!(untouched.body["status"], "active");
    assert_eq!(untouched.body["roles"][0]["builtin"], "approver");
    assert_eq!(array(&acme.get("/api/v1/departments").await).len(), 1);
    let tokens = array(&acme.get("/api/v1/tokens").await);
    assert!(tokens[0]["revoked_at"].is_null());
    // And acme's admin cannot reach beta's person either.
    check_error(
        &acme.get(&format!("/api/v1/people/{beta_person}")).await,
        StatusCode::NOT_FOUND,
        "not_found.person",
    );
    server.stop().await;
}

// ----- concurrency --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_are_serialised_and_never_fail_opaquely() {
    concurrent_writes_story(TestServer::spawn().await).await;
}

#[tokio::test]
async fn concurrent_writes_are_serialised_on_postgres_too() {
    if let Some(server) = TestServer::spawn_postgres().await {
        concurrent_writes_story(server).await;
    }
}

async fn concurrent_writes_story(server: TestServer) {
    // Eight registrations of one code at once: one wins, the others hear it is taken.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let client = server.client();
            tokio::spawn(async move {
                client
                    .post(
                        "/api/v1/organisations",
                        registration("acme", &format!("1390000{i:04}")),
                    )
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let answer = task.await.expect("task");
        if answer.status == StatusCode::CREATED {
            created += 1;
        } else {
            check(&answer, StatusCode::CONFLICT);
            assert!(
                ["conflict.org_code_taken", "conflict.duplicate"].contains(&answer.code()),
                "{:#}",
                answer.body
            );
        }
    }
    assert_eq!(created, 1);

    // Two admins disabling each other at the same moment: one admin always remains.
    let first = server.register("beta").await;
    let first_id = my_id(&first).await;
    let second_id = add_person(&first, "二号管理", "13900000002", "org_admin").await;
    let second = signed_in(&server, "beta", "13900000002", PASSWORD).await;
    let a = tokio::spawn(async move {
        first
            .post(&format!("/api/v1/people/{second_id}/disable"), json!({}))
            .await
    });
    let b = tokio::spawn(async move {
        second
            .post(&format!("/api/v1/people/{first_id}/disable"), json!({}))
            .await
    });
    let (a, b) = (a.await.expect("task"), b.await.expect("task"));
    for answer in [&a, &b] {
        assert!(
            [
                StatusCode::OK,
                StatusCode::CONFLICT,
                StatusCode::UNAUTHORIZED
            ]
            .contains(&answer.status),
            "{:#}",
            answer.body
        );
    }
    assert!(
        !(a.status == StatusCode::OK && b.status == StatusCode::OK),
        "both admins were disabled"
    );
    let mut active = 0;
    for phone in [ADMIN_PHONE, "13900000002"] {
        if server.client().login("beta", phone, PASSWORD).await.status == StatusCode::OK {
            active += 1;
        }
    }
    assert_eq!(active, 1);
    server.stop().await;
}

// ----- health, OpenAPI, headers -------------------------------------------------------

#[tokio::test]
async fn health_readiness_openapi_and_security_headers() {
    let server = TestServer::spawn().await;
    let anon = server.client();
    let health = anon.get("/healthz").await;
    check(&health, StatusCode::OK);
    assert_eq!(health.body, json!({"status": "ok"}));
    let ready = anon.get("/readyz").await;
    check(&ready, StatusCode::OK);
    assert_eq!(ready.body, json!({"status": "ready"}));

    let openapi = anon.get("/api/v1/openapi.json").await;
    check(&openapi, StatusCode::OK);
    assert!(
        openapi
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    );
    assert!(text(&openapi.body["openapi"]).starts_with('3'));
    let paths = openapi.body["paths"].as_object().expect("paths");
    for path in [
        "/healthz",
        "/api/v1/organisations",
        "/api/v1/auth/login",
        "/api/v1/people/{id}",
        "/api/v1/tokens",
        "/api/v1/audit-events",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }

    let unauthenticated = anon.get("/api/v1/me").await;
    check_error(
        &unauthenticated,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let not_found = anon.get("/nothing").await;
    for answer in [&health, &ready, &openapi, &unauthenticated, &not_found] {
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{name} missing: {:?}", answer.headers))
                .to_owned()
        };
        assert!(header("content-security-policy").contains("default-src 'self'"));
        assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert!(!header("referrer-policy").is_empty());
        assert_eq!(header("cache-control"), "no-store");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_temporary_password_must_be_changed_before_anything_else() {
    let server = TestServer::spawn().await;
    let admin = server.register("tempco").await;
    let approver = role_id(&admin, "approver").await;
    let created = admin
        .post(
            "/api/v1/people",
            json!({"name": "新审批", "phone": "13600000001", "role_ids": [approver]}),
        )
        .await;
    check(&created, StatusCode::CREATED);
    let temporary = text(&created.body["temporary_password"]);

    let mut newcomer = server.client();
    let signed_in = newcomer.login("tempco", "13600000001", &temporary).await;
    check(&signed_in, StatusCode::OK);
    assert_eq!(signed_in.body["must_change_password"], true);
    // Their own account is open to them; the directory they may read is not, yet.
    check(&newcomer.get("/api/v1/me").await, StatusCode::OK);
    check_error(
        &newcomer.get("/api/v1/people").await,
        StatusCode::FORBIDDEN,
        "password_change_required",
    );

    let changed = newcomer
        .post(
            "/api/v1/me/password",
            json!({"current_password": temporary, "new_password": "Fresh-印章-Password-2026"}),
        )
        .await;
    check(&changed, StatusCode::OK);
    newcomer.csrf = changed.body["csrf_token"].as_str().map(str::to_owned);
    check(&newcomer.get("/api/v1/people").await, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn housekeeping_deletes_expired_sessions_and_keeps_live_ones() {
    let server = TestServer::spawn().await;
    let _admin = server.register("tidy").await;
    let mut stale = server.client();
    check(
        &stale.login("tidy", "13800000001", PASSWORD).await,
        StatusCode::OK,
    );
    let app = server.server.as_ref().expect("running").app.clone();
    // Nothing is old enough yet.
    assert_eq!(app.purge_expired_sessions().await.expect("purge"), 0);

    // Thirty-two idle minutes later both sessions are past the idle timeout (plus the
    // minute of slack for last-seen times not yet written); a new one is not.
    server.clock.advance_seconds(32 * 60);
    let mut fresh = server.client();
    check(
        &fresh.login("tidy", "13800000001", PASSWORD).await,
        StatusCode::OK,
    );
    assert_eq!(app.purge_expired_sessions().await.expect("purge"), 2);
    check_error(
        &stale.get("/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    check(&fresh.get("/api/v1/me").await, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn recovery_codes_can_be_replaced_and_the_old_ones_stop_working() {
    let server = TestServer::spawn().await;
    let admin = server.register("codes").await;
    let enrolment = admin.post("/api/v1/me/totp", json!({})).await;
    check(&enrolment, StatusCode::OK);
    let secret = text(&enrolment.body["secret"]);
    let confirmed = admin
        .post(
            "/api/v1/me/totp/confirm",
            json!({"code": totp_code(&secret, server.unix_seconds())}),
        )
        .await;
    check(&confirmed, StatusCode::OK);
    let old_code = text(&confirmed.body["recovery_codes"][0]);

    // A wrong password replaces nothing.
    let refused = admin
        .post(
            "/api/v1/me/totp/recovery-codes",
            json!({"password": "not the password"}),
        )
        .await;
    check_field(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.password.wrong",
        "password",
    );
    let replaced = admin
        .post(
            "/api/v1/me/totp/recovery-codes",
            json!({"password": PASSWORD}),
        )
        .await;
    check(&replaced, StatusCode::OK);
    let new_codes: Vec<String> = replaced.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(new_codes.len(), 10);
    assert!(!new_codes.contains(&old_code));

    // At sign-in the old code is refused and a new one accepted.
    let mut phone = server.client();
    let pending = phone.login("codes", "13800000001", PASSWORD).await;
    assert_eq!(pending.body["mfa_required"], true);
    check_error(
        &phone
            .post("/api/v1/auth/mfa", json!({"code": old_code}))
            .await,
        StatusCode::UNAUTHORIZED,
        "bad_second_factor",
    );
    check(
        &phone
            .post("/api/v1/auth/mfa", json!({"code": new_codes[3]}))
            .await,
        StatusCode::OK,
    );
    server.stop().await;
}
