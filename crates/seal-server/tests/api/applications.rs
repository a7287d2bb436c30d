//! The seal registry, approval flows and seal-use applications over HTTP: registering
//! seals and their images, the review of an application step by step, the rules
//! (separation of duties, documents judged by content, windows), tenancy and expiry.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Answer, Client, PASSWORD, TestServer, role_id};

/// The manual clock's start (2026-11-22T08:30:00Z) as the harness sets it.
const NOW: &str = "2026-11-22T08:30:00Z";
const UNTIL: &str = "2026-11-30T00:00:00Z";

// ----- helpers ------------------------------------------------------------------------

#[track_caller]
fn check(answer: &Answer, status: StatusCode) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
}

#[track_caller]
fn check_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(
        (answer.status, answer.code()),
        (status, code),
        "{:#}",
        answer.body
    );
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

/// A fresh client signed in with the shared password.
async fn signed_in(server: &TestServer, org: &str, phone: &str) -> Client {
    let mut client = server.client();
    let answer = client.login(org, phone, PASSWORD).await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["mfa_required"], false, "{:#}", answer.body);
    client
}

/// Creates a person holding the given built-in roles; returns their id.
async fn person(admin: &Client, name: &str, phone: &str, roles: &[&str]) -> String {
    let mut ids = Vec::new();
    for role in roles {
        ids.push(role_id(admin, role).await);
    }
    let answer = admin
        .post(
            "/api/v1/people",
            json!({"name": name, "phone": phone, "role_ids": ids, "password": PASSWORD}),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    text(&answer.body["person"]["id"])
}

/// Registers a contract seal of the given level; returns its id.
async fn seal(
    admin: &Client,
    name: &str,
    level: i64,
    keeper: Option<&str>,
    flow: Option<&str>,
) -> String {
    let answer = admin
        .post(
            "/api/v1/seals",
            json!({
                "name": name,
                "kind": "seal_box",
                "seal_type": "contract",
                "level": level,
                "keeper_id": keeper,
                "flow_id": flow,
            }),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    text(&answer.body["id"])
}

/// Creates a flow; returns its id.
async fn flow(admin: &Client, name: &str, is_default: bool, steps: Value) -> String {
    let answer = admin
        .post(
            "/api/v1/flows",
            json!({"name": name, "is_default": is_default, "steps": steps}),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    text(&answer.body["id"])
}

fn people_step(name: &str, people: &[&str]) -> Value {
    json!({"name": name, "approvers": "people", "people": people, "rule": "any"})
}

fn keeper_step(name: &str) -> Value {
    json!({"name": name, "approvers": "seal_keeper", "rule": "any"})
}

fn application_body(seal: &str, count: i64, until: &str) -> Value {
    json!({
        "seal_id": seal,
        "stamp_kind": "ordinary",
        "title": "采购合同盖章",
        "reason": "与供应商签订年度采购合同",
        "count": count,
        "from": NOW,
        "until": until,
    })
}

/// Files a draft; returns its id.
async fn draft(client: &Client, seal: &str) -> String {
    let answer = client
        .post("/api/v1/applications", application_body(seal, 2, UNTIL))
        .await;
    check(&answer, StatusCode::CREATED);
    assert_eq!(answer.body["status"], "draft");
    text(&answer.body["id"])
}

async fn upload(client: &Client, application: &str, name: &str, bytes: Vec<u8>) -> Answer {
    let path = format!(
        "/api/v1/applications/{application}/documents?name={}",
        urlencoding_lite(name)
    );
    client
        .send_raw(Method::POST, &path, bytes, Some("application/octet-stream"))
        .await
}

/// Percent-encodes a query value (UTF-8 bytes outside the unreserved set).
fn urlencoding_lite(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A draft with one PDF, submitted; returns its id.
async fn submitted(client: &Client, seal: &str) -> String {
    let id = draft(client, seal).await;
    check(
        &upload(client, &id, "合同.pdf", tiny_pdf()).await,
        StatusCode::CREATED,
    );
    let answer = client
        .post(&format!("/api/v1/applications/{id}/submit"), json!({}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "in_review");
    id
}

async fn decide(client: &Client, application: &str, verdict: &str, comment: &str) -> Answer {
    client
        .post(
            &format!("/api/v1/applications/{application}/decision"),
            json!({"verdict": verdict, "comment": comment}),
        )
        .await
}

async fn detail(client: &Client, application: &str) -> Value {
    let answer = client
        .get(&format!("/api/v1/applications/{application}"))
        .await;
    check(&answer, StatusCode::OK);
    answer.body
}

/// A one-page PDF with a correct cross-reference table.
fn tiny_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// Raw bytes of a GET (the harness reads bodies as text).
async fn bytes_of(
    client: &Client,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = client.http.get(format!("{}{}", client.base, path));
    if let Some(csrf) = &client.csrf {
        request = request.header("x-csrf-token", csrf);
    }
    let response = request.send().await.expect("answered");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    (status, headers, body)
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (w, h)
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// An organisation with an admin, two approvers, a keeper and an employee, all signed in.
struct Org {
    admin: Client,
    approver_a: Client,
    a_id: String,
    approver_b: Client,
    keeper: Client,
    keeper_id: String,
    employee: Client,
    employee_id: String,
}

async fn org(server: &TestServer, code: &str) -> Org {
    let admin = server.register(code).await;
    let a_id = person(&admin, "张审批", "13900000011", &["approver"]).await;
    person(&admin, "李审批", "13900000012", &["approver"]).await;
    let keeper_id = person(&admin, "赵管章", "13900000013", &["seal_keeper"]).await;
    let employee_id = person(&admin, "钱员工", "13900000014", &["employee"]).await;
    Org {
        approver_a: signed_in(server, code, "13900000011").await,
        approver_b: signed_in(server, code, "13900000012").await,
        keeper: signed_in(server, code, "13900000013").await,
        employee: signed_in(server, code, "13900000014").await,
        admin,
        a_id,
        keeper_id,
        employee_id,
    }
}

// ----- seals --------------------------------------------------------------------------

#[tokio::test]
async fn seals_are_registered_checked_and_change_status_with_a_history() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;

    // Defaults: a contract seal is 40 mm round.
    let id = seal(&o.admin, "合同专用章", 2, Some(&o.keeper_id), None).await;
    let got = o.admin.get(&format!("/api/v1/seals/{id}")).await;
    check(&got, StatusCode::OK);
    assert_eq!(got.body["shape"], "round");
    assert_eq!(got.body["width_mm"], 40);
    assert_eq!(got.body["height_mm"], 40);
    assert_eq!(got.body["seal_type"], "contract");
    assert_eq!(got.body["status"], "active");
    assert_eq!(got.body["keeper_id"], o.keeper_id.as_str());
    assert_eq!(got.body["history"].as_array().unwrap().len(), 1);

    // Bad input.
    let base =
        json!({"name": "财务专用章", "kind": "seal_box", "seal_type": "finance", "level": 2});
    let with = |extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let answer = o
        .admin
        .post("/api/v1/seals", with(json!({"kind": "rubber"})))
        .await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.unknown_value",
    );
    assert_eq!(answer.body["error"]["field"], "kind");
    let answer = o
        .admin
        .post(
            "/api/v1/seals",
            with(json!({"shape": "round", "width_mm": 41})),
        )
        .await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.seal.shape",
    );
    let answer = o
        .admin
        .post("/api/v1/seals", with(json!({"level": 4})))
        .await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.seal.level",
    );
    let answer = o
        .admin
        .post("/api/v1/seals", with(json!({"keeper_id": o.employee_id})))
        .await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.keeper.not_keeper",
    );

    // Status change with a reason, recorded in the history. (The clock moves between
    // changes: see the ignored test below for changes within one millisecond.)
    let path = format!("/api/v1/seals/{id}/status");
    server.clock.advance_seconds(60);
    let answer = o
        .admin
        .post(&path, json!({"status": "suspended", "reason": "年检"}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "suspended");
    assert_eq!(answer.body["status_reason"], "年检");
    server.clock.advance_seconds(60);
    let answer = o
        .admin
        .post(&path, json!({"status": "active", "reason": "年检完成"}))
        .await;
    check(&answer, StatusCode::OK);
    let got = o.admin.get(&format!("/api/v1/seals/{id}")).await;
    let history = got.body["history"].as_array().unwrap().clone();
    assert_eq!(history.len(), 3, "{history:#?}");
    assert_eq!(history[1]["from"], "active");
    assert_eq!(history[1]["to"], "suspended");
    assert_eq!(history[1]["reason"], "年检");
    assert_eq!(history[2]["to"], "active");

    // Active → destroyed skips revocation: refused.
    let answer = o
        .admin
        .post(&path, json!({"status": "destroyed", "reason": "销毁"}))
        .await;
    check_error(&answer, StatusCode::CONFLICT, "conflict.seal_status_change");
    assert_eq!(
        o.admin.get(&format!("/api/v1/seals/{id}")).await.body["status"],
        "active"
    );

    // An employee may not register seals.
    let answer = o.employee.post("/api/v1/seals", base.clone()).await;
    check_error(&answer, StatusCode::FORBIDDEN, "forbidden");

    // Another organisation does not see the seal.
    let other = server.register("beta").await;
    let answer = other.get(&format!("/api/v1/seals/{id}")).await;
    check_error(&answer, StatusCode::NOT_FOUND, "not_found.seal");
    let answer = other.get(&format!("/api/v1/seals/{id}/image")).await;
    check(&answer, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn seal_history_keeps_the_order_of_changes_made_in_the_same_millisecond() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let id = seal(&admin, "合同专用章", 2, None, None).await;
    let path = format!("/api/v1/seals/{id}/status");
    for (status, reason) in [("suspended", "年检"), ("active", "年检完成")] {
        let answer = admin
            .post(&path, json!({"status": status, "reason": reason}))
            .await;
        check(&answer, StatusCode::OK);
    }
    let got = admin.get(&format!("/api/v1/seals/{id}")).await;
    let history: Vec<(Value, Value)> = got.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["from"].clone(), c["to"].clone()))
        .collect();
    assert_eq!(
        history,
        vec![
            (Value::Null, json!("active")),
            (json!("active"), json!("suspended")),
            (json!("suspended"), json!("active")),
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn seal_images_come_as_svg_and_as_png_at_true_size() {
    let server = TestServer::spawn().await;
    let admin = server.register("acme").await;
    let id = seal(&admin, "合同专用章", 2, None, None).await;

    let (status, headers, body) = bytes_of(&admin, &format!("/api/v1/seals/{id}/image")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&headers, "content-type").starts_with("image/svg+xml"));
    let svg = String::from_utf8(body).expect("utf-8");
    assert!(
        svg.trim_start().starts_with("<svg"),
        "{}",
        &svg[..svg.len().min(200)]
    );

    let (status, headers, body) = bytes_of(
        &admin,
        &format!("/api/v1/seals/{id}/image?format=png&dpi=300"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "image/png");
    let (w, h) = png_size(&body);
    // 40 mm at 300 dpi is 472.4 px.
    assert!((471..=473).contains(&w), "width {w}");
    assert!((471..=473).contains(&h), "height {h}");

    let answer = admin
        .get(&format!("/api/v1/seals/{id}/image?format=png&dpi=5"))
        .await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.unknown_value",
    );
    assert_eq!(answer.body["error"]["field"], "dpi");
    let answer = admin
        .get(&format!("/api/v1/seals/{id}/image?format=gif"))
        .await;
    check(&answer, StatusCode::UNPROCESSABLE_ENTITY);
    server.stop().await;
}

// ----- the happy path -----------------------------------------------------------------

async fn happy_path_story(server: TestServer) {
    let o = org(&server, "acme").await;
    flow(
        &o.admin,
        "默认流程",
        true,
        json!([
            people_step("部门审批", &[&o.a_id]),
            keeper_step("管章人确认")
        ]),
    )
    .await;
    let seal_id = seal(&o.admin, "合同专用章", 2, Some(&o.keeper_id), None).await;

    let id = draft(&o.employee, &seal_id).await;
    let pdf = tiny_pdf();
    let added = upload(&o.employee, &id, "合同.pdf", pdf.clone()).await;
    check(&added, StatusCode::CREATED);
    assert_eq!(added.body["media_type"], "application/pdf");
    assert_eq!(added.body["name"], "合同.pdf");
    assert_eq!(added.body["pages"], 1);
    let document = text(&added.body["id"]);

    let answer = o
        .employee
        .post(&format!("/api/v1/applications/{id}/submit"), json!({}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "in_review");
    let view = detail(&o.employee, &id).await;
    assert_eq!(view["current_step"], 1);
    assert_eq!(view["waiting_on"], json!([o.a_id]));
    assert_eq!(view["steps"].as_array().unwrap().len(), 2);
    assert_eq!(view["can_withdraw"], true);

    // A sees it in their inbox; the keeper does not yet.
    let inbox = o.approver_a.get("/api/v1/inbox").await;
    check(&inbox, StatusCode::OK);
    let ids: Vec<String> = inbox
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| text(&a["id"]))
        .collect();
    assert_eq!(ids, vec![id.clone()]);
    let inbox = o.keeper.get("/api/v1/inbox").await;
    assert!(
        inbox.body.as_array().unwrap().is_empty(),
        "{:#}",
        inbox.body
    );

    let answer = decide(&o.approver_a, &id, "approve", "同意").await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "in_review");
    assert_eq!(answer.body["current_step"], 2);
    assert_eq!(answer.body["waiting_on"], json!([o.keeper_id]));

    let inbox = o.keeper.get("/api/v1/inbox").await;
    assert_eq!(inbox.body.as_array().unwrap().len(), 1);
    let answer = decide(&o.keeper, &id, "approve", "").await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "approved");
    let grant = &answer.body["grant"];
    assert_eq!(grant["status"], "active");
    assert_eq!(grant["uses_allowed"], 2);
    assert_eq!(grant["factors"], "fingerprint");
    assert_eq!(answer.body["decisions"].as_array().unwrap().len(), 2);
    assert!(
        o.keeper
            .get("/api/v1/inbox")
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );

    let view = detail(&o.employee, &id).await;
    assert_eq!(view["status"], "approved");
    assert_eq!(view["can_withdraw"], false);
    assert_eq!(view["grant"]["factors"], "fingerprint");

    // The document comes back as a download, byte for byte.
    let (status, headers, body) = bytes_of(
        &o.employee,
        &format!("/api/v1/applications/{id}/documents/{document}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "application/pdf");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert!(header(&headers, "content-disposition").starts_with("attachment"));
    assert_eq!(body, pdf);
    // The approver may read it too.
    let (status, _, body) = bytes_of(
        &o.approver_a,
        &format!("/api/v1/applications/{id}/documents/{document}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, pdf);

    let (status, headers, body) = bytes_of(
        &o.employee,
        &format!("/api/v1/applications/{id}/documents/{document}/thumbnail"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "image/png");
    let (w, h) = png_size(&body);
    assert!(w > 0 && h > 0);

    // The employee's own list has it.
    let mine = o.employee.get("/api/v1/applications").await;
    check(&mine, StatusCode::OK);
    assert_eq!(mine.body["total"], 1);
    server.stop().await;
}

#[tokio::test]
async fn an_application_is_reviewed_step_by_step_and_granted() {
    happy_path_story(TestServer::spawn().await).await;
}

#[tokio::test]
async fn an_application_is_reviewed_step_by_step_and_granted_on_postgres_too() {
    if let Some(server) = TestServer::spawn_postgres().await {
        happy_path_story(server).await;
    }
}

#[tokio::test]
async fn a_level_one_seal_demands_fingerprint_and_face_and_role_steps_need_everyone() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;
    let approver_role = role_id(&o.admin, "approver").await;
    flow(
        &o.admin,
        "两人会签",
        true,
        json!([{"name": "会签", "approvers": "role", "role_id": approver_role, "rule": "all"}]),
    )
    .await;
    let seal_id = seal(&o.admin, "公章", 1, None, None).await;
    let id = submitted(&o.employee, &seal_id).await;
    let answer = decide(&o.approver_a, &id, "approve", "").await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "in_review");
    assert_eq!(answer.body["waiting_on"].as_array().unwrap().len(), 1);
    // Approving twice is refused.
    check_error(
        &decide(&o.approver_a, &id, "approve", "").await,
        StatusCode::CONFLICT,
        "conflict.already_decided",
    );
    let answer = decide(&o.approver_b, &id, "approve", "").await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "approved");
    assert_eq!(answer.body["grant"]["factors"], "fingerprint+face");
    // The review is over: another decision is refused.
    check(
        &decide(&o.approver_b, &id, "approve", "").await,
        StatusCode::CONFLICT,
    );
    server.stop().await;
}

// ----- rules --------------------------------------------------------------------------

#[tokio::test]
async fn documents_are_needed_and_judged_by_their_content() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;
    flow(
        &o.admin,
        "默认",
        true,
        json!([people_step("审批", &[&o.a_id])]),
    )
    .await;
    let seal_id = seal(&o.admin, "合同专用章", 2, None, None).await;
    let id = draft(&o.employee, &seal_id).await;

    let submit = format!("/api/v1/applications/{id}/submit");
    check_error(
        &o.employee.post(&submit, json!({})).await,
        StatusCode::CONFLICT,
        "conflict.no_documents",
    );

    // A PNG named .pdf is taken as the PNG it is.
    let (_, _, png) = bytes_of(
        &o.employee,
        &format!("/api/v1/seals/{seal_id}/image?format=png&dpi=72"),
    )
    .await;
    let answer = upload(&o.employee, &id, "扫描件.pdf", png).await;
    check(&answer, StatusCode::CREATED);
    assert_eq!(answer.body["media_type"], "image/png");

    let answer = upload(&o.employee, &id, "notes.pdf", b"just some text\n".to_vec()).await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.document.unsupported_type",
    );
    let mut garbage = b"%PDF-1.7\n".to_vec();
    garbage.extend(std::iter::repeat_n(b'#', 300));
    let answer = upload(&o.employee, &id, "broken.pdf", garbage).await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.document.malformed",
    );
    let answer = upload(&o.employee, &id, "empty.pdf", Vec::new()).await;
    check(&answer, StatusCode::UNPROCESSABLE_ENTITY);

    let view = detail(&o.employee, &id).await;
    assert_eq!(view["documents"].as_array().unwrap().len(), 1);
    check(&o.employee.post(&submit, json!({})).await, StatusCode::OK);
    // Once submitted, no more documents.
    let answer = upload(&o.employee, &id, "late.pdf", tiny_pdf()).await;
    check(&answer, StatusCode::CONFLICT);
    server.stop().await;
}

#[tokio::test]
async fn separation_of_duties_nobody_approves_alone_or_their_own() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;
    // An approver who may also file applications.
    let self_id = person(&o.admin, "孙审批", "13900000021", &["approver", "employee"]).await;
    let filer = signed_in(&server, "acme", "13900000021").await;
    let only_self = flow(
        &o.admin,
        "只有本人",
        false,
        json!([people_step("审批", &[&self_id])]),
    )
    .await;
    let seal_self = seal(&o.admin, "合同专用章", 2, None, Some(&only_self)).await;
    let id = draft(&filer, &seal_self).await;
    check(
        &upload(&filer, &id, "a.pdf", tiny_pdf()).await,
        StatusCode::CREATED,
    );
    check_error(
        &filer
            .post(&format!("/api/v1/applications/{id}/submit"), json!({}))
            .await,
        StatusCode::CONFLICT,
        "conflict.nobody_to_approve",
    );

    // A flow whose only step is the seal's keeper.
    let keeper_only = flow(
        &o.admin,
        "只有管章人",
        false,
        json!([keeper_step("管章人")]),
    )
    .await;
    let seal_kept = seal(
        &o.admin,
        "财务章",
        2,
        Some(&o.keeper_id),
        Some(&keeper_only),
    )
    .await;
    let id = draft(&o.employee, &seal_kept).await;
    check(
        &upload(&o.employee, &id, "a.pdf", tiny_pdf()).await,
        StatusCode::CREATED,
    );
    check_error(
        &o.employee
            .post(&format!("/api/v1/applications/{id}/submit"), json!({}))
            .await,
        StatusCode::CONFLICT,
        "conflict.keeper_only_approver",
    );
    assert_eq!(detail(&o.employee, &id).await["status"], "draft");

    // Someone outside the current step cannot decide it.
    let a_only = flow(
        &o.admin,
        "张审批",
        false,
        json!([people_step("审批", &[&o.a_id])]),
    )
    .await;
    let seal_a = seal(&o.admin, "业务章", 2, None, Some(&a_only)).await;
    let id = submitted(&o.employee, &seal_a).await;
    check_error(
        &decide(&o.approver_b, &id, "approve", "").await,
        StatusCode::CONFLICT,
        "conflict.not_an_approver",
    );
    // The approver-applicant cannot decide an application of their own either.
    let id2 = submitted(&filer, &seal_a).await;
    check_error(
        &decide(&filer, &id2, "approve", "").await,
        StatusCode::CONFLICT,
        "conflict.not_an_approver",
    );
    server.stop().await;
}

#[tokio::test]
async fn rejections_need_a_comment_and_end_the_review() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;
    flow(
        &o.admin,
        "默认",
        true,
        json!([people_step("审批", &[&o.a_id]), keeper_step("管章人")]),
    )
    .await;
    let seal_id = seal(&o.admin, "合同专用章", 2, Some(&o.keeper_id), None).await;
    let id = submitted(&o.employee, &seal_id).await;

    let answer = decide(&o.approver_a, &id, "reject", "   ").await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.comment.required",
    );
    assert_eq!(answer.body["error"]["field"], "comment");
    check(
        &decide(&o.approver_a, &id, "maybe", "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );

    let answer = decide(&o.approver_a, &id, "reject", "合同金额有误").await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "rejected");
    assert!(answer.body["grant"].is_null(), "{:#}", answer.body);
    assert_eq!(answer.body["decisions"][0]["comment"], "合同金额有误");
    // The keeper's step never comes.
    assert!(
        o.keeper
            .get("/api/v1/inbox")
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    check(
        &decide(&o.keeper, &id, "approve", "").await,
        StatusCode::CONFLICT,
    );
    server.stop().await;
}

#[tokio::test]
async fn withdrawal_works_only_before_the_last_decision() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;
    flow(
        &o.admin,
        "默认",
        true,
        json!([people_step("审批", &[&o.a_id])]),
    )
    .await;
    let seal_id = seal(&o.admin, "合同专用章", 2, None, None).await;

    let id = submitted(&o.employee, &seal_id).await;
    let answer = o
        .employee
        .post(&format!("/api/v1/applications/{id}/withdraw"), json!({}))
        .await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["status"], "withdrawn");
    assert!(
        o.approver_a
            .get("/api/v1/inbox")
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    check(
        &decide(&o.approver_a, &id, "approve", "").await,
        StatusCode::CONFLICT,
    );

    let id = submitted(&o.employee, &seal_id).await;
    check(
        &decide(&o.approver_a, &id, "approve", "").await,
        StatusCode::OK,
    );
    let answer = o
        .employee
        .post(&format!("/api/v1/applications/{id}/withdraw"), json!({}))
        .await;
    check_error(&answer, StatusCode::CONFLICT, "conflict.application_status");
    assert_eq!(detail(&o.employee, &id).await["status"], "approved");
    server.stop().await;
}

#[tokio::test]
async fn an_unusable_seal_takes_no_applications_and_ends_its_grants() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;
    flow(
        &o.admin,
        "默认",
        true,
        json!([people_step("审批", &[&o.a_id])]),
    )
    .await;
    let seal_id = seal(&o.admin, "合同专用章", 2, None, None).await;

    let id = submitted(&o.employee, &seal_id).await;
    check(
        &decide(&o.approver_a, &id, "approve", "").await,
        StatusCode::OK,
    );
    assert_eq!(detail(&o.employee, &id).await["grant"]["status"], "active");

    let answer = o
        .admin
        .post(
            &format!("/api/v1/seals/{seal_id}/status"),
            json!({"status": "suspended", "reason": "印章送修"}),
        )
        .await;
    check(&answer, StatusCode::OK);
    let view = detail(&o.employee, &id).await;
    assert_eq!(view["grant"]["status"], "revoked");
    assert_eq!(view["status"], "revoked");

    let answer = o
        .employee
        .post("/api/v1/applications", application_body(&seal_id, 1, UNTIL))
        .await;
    check_error(&answer, StatusCode::CONFLICT, "conflict.seal_not_usable");
    server.stop().await;
}

#[tokio::test]
async fn an_admin_revokes_a_grant() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;
    flow(
        &o.admin,
        "默认",
        true,
        json!([people_step("审批", &[&o.a_id])]),
    )
    .await;
    let seal_id = seal(&o.admin, "合同专用章", 3, None, None).await;
    let id = submitted(&o.employee, &seal_id).await;
    let answer = decide(&o.approver_a, &id, "approve", "").await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["grant"]["factors"], "pin|id_code");

    let path = format!("/api/v1/applications/{id}/grant/revoke");
    // Approvers and applicants cannot revoke.
    check(
        &o.employee.post(&path, json!({"reason": "x"})).await,
        StatusCode::FORBIDDEN,
    );
    check(
        &o.approver_a.post(&path, json!({"reason": "x"})).await,
        StatusCode::FORBIDDEN,
    );
    let answer = o.admin.post(&path, json!({"reason": "合同取消"})).await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body["grant"]["status"], "revoked");
    assert_eq!(answer.body["grant"]["end_reason"], "合同取消");
    assert_eq!(answer.body["status"], "revoked");
    // Twice is a conflict.
    check(
        &o.admin.post(&path, json!({"reason": "再次"})).await,
        StatusCode::CONFLICT,
    );
    server.stop().await;
}

#[tokio::test]
async fn windows_and_counts_are_checked() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2, None, None).await;
    let answer = o
        .employee
        .post(
            "/api/v1/applications",
            application_body(&seal_id, 1, "2027-03-01T00:00:00Z"),
        )
        .await;
    check_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.window.too_long",
    );
    let answer = o
        .employee
        .post("/api/v1/applications", application_body(&seal_id, 0, UNTIL))
        .await;
    check_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "invalid.count");
    assert_eq!(answer.body["error"]["field"], "count");
    let answer = o
        .employee
        .post(
            "/api/v1/applications",
            application_body(&seal_id, 1, "2026-11-01T00:00:00Z"),
        )
        .await;
    check(&answer, StatusCode::UNPROCESSABLE_ENTITY);
    server.stop().await;
}

// ----- tenancy ------------------------------------------------------------------------

#[tokio::test]
async fn applications_are_seen_only_by_those_concerned() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;
    flow(
        &o.admin,
        "默认",
        true,
        json!([people_step("审批", &[&o.a_id])]),
    )
    .await;
    let seal_id = seal(&o.admin, "合同专用章", 2, None, None).await;
    let id = submitted(&o.employee, &seal_id).await;
    let document = text(&detail(&o.employee, &id).await["documents"][0]["id"]);
    let app_path = format!("/api/v1/applications/{id}");
    let doc_path = format!("/api/v1/applications/{id}/documents/{document}");

    // Another organisation: its admin, employee and approver find nothing.
    let beta = server.register("beta").await;
    person(&beta, "外部员工", "13900000031", &["employee"]).await;
    person(&beta, "外部审批", "13900000032", &["approver"]).await;
    let beta_employee = signed_in(&server, "beta", "13900000031").await;
    let beta_approver = signed_in(&server, "beta", "13900000032").await;
    for client in [&beta, &beta_employee, &beta_approver] {
        check_error(
            &client.get(&app_path).await,
            StatusCode::NOT_FOUND,
            "not_found.application",
        );
        check(&client.get(&doc_path).await, StatusCode::NOT_FOUND);
        check(
            &client.get(&format!("{doc_path}/thumbnail")).await,
            StatusCode::NOT_FOUND,
        );
    }
    check_error(
        &decide(&beta_approver, &id, "approve", "").await,
        StatusCode::NOT_FOUND,
        "not_found.application",
    );
    check(
        &beta
            .post(&format!("{app_path}/grant/revoke"), json!({"reason": "x"}))
            .await,
        StatusCode::NOT_FOUND,
    );
    let all = beta.get("/api/v1/applications?scope=all").await;
    check(&all, StatusCode::OK);
    assert_eq!(all.body["total"], 0);

    // An unrelated employee of the same organisation finds nothing either.
    person(&o.admin, "周员工", "13900000041", &["employee"]).await;
    let colleague = signed_in(&server, "acme", "13900000041").await;
    check_error(
        &colleague.get(&app_path).await,
        StatusCode::NOT_FOUND,
        "not_found.application",
    );
    check(&colleague.get(&doc_path).await, StatusCode::NOT_FOUND);
    check(
        &colleague
            .post(&format!("{app_path}/withdraw"), json!({}))
            .await,
        StatusCode::NOT_FOUND,
    );
    let mine = colleague.get("/api/v1/applications").await;
    assert_eq!(mine.body["total"], 0);

    // The auditor reads everything but decides nothing.
    person(&o.admin, "吴审计", "13900000051", &["auditor"]).await;
    let auditor = signed_in(&server, "acme", "13900000051").await;
    let view = auditor.get(&app_path).await;
    check(&view, StatusCode::OK);
    assert_eq!(view.body["can_decide"], false);
    check(&auditor.get(&doc_path).await, StatusCode::OK);
    let all = auditor.get("/api/v1/applications?scope=all").await;
    check(&all, StatusCode::OK);
    assert_eq!(all.body["total"], 1);
    assert_eq!(all.body["items"][0]["id"], id.as_str());
    check_error(
        &decide(&auditor, &id, "approve", "").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // The employee cannot list everything.
    check(
        &o.employee.get("/api/v1/applications?scope=all").await,
        StatusCode::FORBIDDEN,
    );
    server.stop().await;
}

// ----- timers -------------------------------------------------------------------------

#[tokio::test]
async fn grants_expire_when_their_window_ends() {
    let server = TestServer::spawn().await;
    let o = org(&server, "acme").await;
    flow(
        &o.admin,
        "默认",
        true,
        json!([people_step("审批", &[&o.a_id])]),
    )
    .await;
    let seal_id = seal(&o.admin, "合同专用章", 2, None, None).await;
    let id = submitted(&o.employee, &seal_id).await;
    check(
        &decide(&o.approver_a, &id, "approve", "").await,
        StatusCode::OK,
    );

    let app = &server.server.as_ref().expect("running").app;
    let round = app.run_application_timers().await.expect("timers run");
    assert_eq!(round.expired, 0);

    // UNTIL is 2026-11-30T00:00:00Z; move past it.
    server.clock.advance_seconds(9 * 86_400);
    let round = app.run_application_timers().await.expect("timers run");
    assert_eq!(round.expired, 1);
    let round = app.run_application_timers().await.expect("timers run");
    assert_eq!(round.expired, 0);

    // Sessions timed out with the clock; sign in again.
    let employee = signed_in(&server, "acme", "13900000014").await;
    let view = detail(&employee, &id).await;
    assert_eq!(view["status"], "expired");
    assert_eq!(view["grant"]["status"], "expired");
    server.stop().await;
}

// ----- department heads -----------------------------------------------------------------

/// A department's head, set in the console's department form, decides the "department
/// head" step of the employee's application; a disabled or unknown head is refused.
#[tokio::test]
async fn the_department_head_set_in_the_console_decides_the_head_step() {
    let server = TestServer::spawn().await;
    let o = org(&server, "heads").await;
    let department = o
        .admin
        .post("/api/v1/departments", json!({"name": "法务部"}))
        .await;
    check(&department, StatusCode::CREATED);
    let department = text(&department.body["id"]);
    check(
        &o.admin
            .patch(
                &format!("/api/v1/people/{}", o.employee_id),
                json!({"department_id": department}),
            )
            .await,
        StatusCode::OK,
    );
    // The console form: the page lists people to choose from; posting sets the head.
    let page = o.admin.get(&format!("/departments/{department}")).await;
    assert!(page.text.contains("name=\"head_id\""), "{}", page.text);
    let marker = "name=\"_csrf\" value=\"";
    let start = page.text.find(marker).unwrap() + marker.len();
    let csrf = &page.text[start..start + page.text[start..].find('"').unwrap()];
    let posted = o
        .admin
        .send_raw(
            Method::POST,
            &format!("/departments/{department}"),
            format!(
                "_csrf={csrf}&name=%E6%B3%95%E5%8A%A1%E9%83%A8&parent_id=&head_id={}",
                o.a_id
            ),
            Some("application/x-www-form-urlencoded"),
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text);
    let listed = o.admin.get("/api/v1/departments").await;
    let row = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == department.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["head_id"], o.a_id.as_str());
    // An unknown head is refused through the API.
    check_error(
        &o.admin
            .patch(
                &format!("/api/v1/departments/{department}"),
                json!({"head_id": "00000000-0000-0000-0000-000000000000"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.person.unknown",
    );

    let seal_id = seal(&o.admin, "合同专用章", 2, Some(&o.keeper_id), None).await;
    flow(
        &o.admin,
        "部门负责人审批",
        true,
        json!([{"name": "部门负责人", "approvers": "department_head", "rule": "any"}]),
    )
    .await;
    let application = submitted(&o.employee, &seal_id).await;
    let inbox = o.approver_a.get("/api/v1/inbox").await;
    assert!(
        inbox
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == application.as_str()),
        "the head's inbox: {:#}",
        inbox.body
    );
    check(
        &decide(&o.approver_a, &application, "approve", "同意").await,
        StatusCode::OK,
    );
    assert_eq!(
        detail(&o.employee, &application).await["status"],
        "approved"
    );
    server.stop().await;
}

async fn flow_names_story(server: TestServer) {
    let admin = server.register("names").await;
    let steps = json!([{"name": "保管人", "approvers": "seal_keeper", "rule": "any"}]);
    flow(&admin, "合同流程", true, steps.clone()).await;
    let other = flow(&admin, "其他流程", false, steps.clone()).await;
    check_error(
        &admin
            .post("/api/v1/flows", json!({"name": "合同流程", "steps": steps}))
            .await,
        StatusCode::CONFLICT,
        "conflict.flow_name_taken",
    );
    check_error(
        &admin
            .put(
                &format!("/api/v1/flows/{other}"),
                json!({"name": "合同流程", "is_default": true, "steps": steps}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict.flow_name_taken",
    );
    // Nothing changed: the first is still the default, the second kept its name.
    let flows = admin.get("/api/v1/flows").await.body;
    assert_eq!(flows[0]["name"], "合同流程");
    assert_eq!(flows[0]["is_default"], true);
    assert_eq!(flows[1]["name"], "其他流程");
    server.stop().await;
}

/// Flow names are unique in an organisation, on creation and on rename.
#[tokio::test]
async fn flow_names_are_unique() {
    flow_names_story(TestServer::spawn().await).await;
}

#[tokio::test]
async fn flow_names_are_unique_on_postgres_too() {
    if let Some(server) = TestServer::spawn_postgres().await {
        flow_names_story(server).await;
    }
}
