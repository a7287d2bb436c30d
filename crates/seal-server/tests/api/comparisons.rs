//! Document comparison over HTTP: uploads compared by hand (match, another page, bad
//! files, another organisation), the organisation's thresholds (defaults, validation,
//! who may set them), and the press-photo worker (a matching photo passes; another page
//! alarms and locks the seal box) — with the real OCR engine on generated pages.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Answer, Client, TestServer};
use crate::devices::{
    NOW, UNTIL, active_device, alarms, approve, bind, blank_page, bytes_of, check, check_error,
    filed, granted, org, seal, text, text_page,
};

/// A multipart body of files, and its content type.
fn multipart(parts: &[(&str, &str, &[u8])]) -> (Vec<u8>, String) {
    let boundary = "sealkeeper-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

async fn compare(client: &Client, parts: &[(&str, &str, &[u8])]) -> Answer {
    let (body, content_type) = multipart(parts);
    client
        .send_raw(
            Method::POST,
            "/api/v1/comparisons",
            body,
            Some(&content_type),
        )
        .await
}

fn sample_pdf(index: usize) -> Vec<u8> {
    seal_corpus::sample::SampleDocument::new(7, index)
        .expect("fonts (cargo xtask setup)")
        .pdf()
        .expect("the PDF")
}

async fn uploads_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let approved = sample_pdf(0);
    // The same page, as an image, against the PDF: a match on page 1.
    let answer = compare(
        &o.employee,
        &[
            ("approved", "contract.pdf", &approved),
            ("capture", "page.png", &text_page(0)),
        ],
    )
    .await;
    check(&answer, StatusCode::CREATED);
    let same = answer.body.clone();
    assert_eq!(same["verdict"], "match", "{same:#}");
    assert_eq!(same["subject"], "manual");
    assert_eq!(same["page"], 1);
    assert!(same["stamp_id"].is_null());
    assert!(
        same["differences"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["material"] == false),
        "{same:#}"
    );
    // Another document's page: a mismatch, with boxes on both pages and a diff image.
    let answer = compare(
        &o.employee,
        &[
            ("approved", "contract.pdf", &approved),
            ("capture", "other.png", &text_page(1)),
        ],
    )
    .await;
    check(&answer, StatusCode::CREATED);
    let other = answer.body.clone();
    assert_eq!(other["verdict"], "mismatch", "{other:#}");
    let diff = text(&other["diff_url"]);
    let (status, headers, png) = bytes_of(&o.employee, &diff).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get("content-type").unwrap(), "image/png");
    let image = image::load_from_memory(&png).expect("a PNG");
    assert!(image.width() > image.height(), "two pages side by side");
    // A blank page.
    let answer = compare(
        &o.employee,
        &[
            ("approved", "contract.pdf", &approved),
            ("capture", "blank.png", &blank_page()),
        ],
    )
    .await;
    check(&answer, StatusCode::CREATED);
    assert_eq!(answer.body["verdict"], "mismatch", "{:#}", answer.body);
    assert_eq!(answer.body["blank"], true);

    // Read back by id; the author sees it, another organisation does not.
    let id = text(&same["id"]);
    let read = o.employee.get(&format!("/api/v1/comparisons/{id}")).await;
    check(&read, StatusCode::OK);
    assert_eq!(read.body["verdict"], "match");
    let stranger = org(&server, "other").await;
    check_error(
        &stranger
            .admin
            .get(&format!("/api/v1/comparisons/{id}"))
            .await,
        StatusCode::NOT_FOUND,
        "not_found.comparison",
    );
    check_error(
        &stranger
            .admin
            .get(&format!("/api/v1/comparisons/{id}/diff.png"))
            .await,
        StatusCode::NOT_FOUND,
        "not_found.comparison",
    );

    // Bad input: a missing file, a capture that is not an image, an approved file that is
    // not a document.
    check_error(
        &compare(&o.employee, &[("approved", "contract.pdf", &approved)]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.comparison.missing",
    );
    check_error(
        &compare(
            &o.employee,
            &[
                ("approved", "contract.pdf", &approved),
                ("capture", "notes.txt", b"not an image"),
            ],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid.comparison.capture",
    );
    let answer = compare(
        &o.employee,
        &[
            ("approved", "x.exe", b"MZ\x90\x00 not a document"),
            ("capture", "page.png", &text_page(0)),
        ],
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        answer.body
    );
    // Not a multipart form at all.
    let answer = o
        .employee
        .send_raw(
            Method::POST,
            "/api/v1/comparisons",
            "{}",
            Some("application/json"),
        )
        .await;
    assert!(answer.status.is_client_error(), "{:?}", answer.status);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_compared_stored_and_kept_within_the_organisation() {
    uploads_story(TestServer::spawn().await).await;
}

async fn thresholds_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let path = "/api/v1/org/comparison-thresholds";
    let answer = o.admin.get(path).await;
    check(&answer, StatusCode::OK);
    assert_eq!(
        answer.body,
        json!({"other_page_below": 0.5, "match_at_least": 0.85, "minor_per_100": 3.0,
               "blank_chars_below": 12, "press_check": "alarm_and_lock"})
    );
    let wanted = json!({"other_page_below": 0.4, "match_at_least": 0.9, "minor_per_100": 2.0,
                        "blank_chars_below": 20, "press_check": "alarm"});
    // Only those who manage the organisation may change them.
    check_error(
        &o.employee.put(path, wanted.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let answer = o.admin.put(path, wanted.clone()).await;
    check(&answer, StatusCode::OK);
    assert_eq!(answer.body, wanted);
    assert_eq!(o.admin.get(path).await.body, wanted);
    // Nonsense is refused and changes nothing.
    for bad in [
        json!({"other_page_below": 0.95, "match_at_least": 0.9, "minor_per_100": 2.0, "blank_chars_below": 20, "press_check": "alarm"}),
        json!({"other_page_below": 0.4, "match_at_least": 1.5, "minor_per_100": 2.0, "blank_chars_below": 20, "press_check": "alarm"}),
        json!({"other_page_below": 0.4, "match_at_least": 0.9, "minor_per_100": -1.0, "blank_chars_below": 20, "press_check": "alarm"}),
    ] {
        check_error(
            &o.admin.put(path, bad.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid.comparison.thresholds",
        );
    }
    let answer = o
        .admin
        .put(path, json!({"other_page_below": 0.4, "match_at_least": 0.9, "minor_per_100": 2.0, "blank_chars_below": 20, "press_check": "sometimes"}))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        answer.body
    );
    assert_eq!(o.admin.get(path).await.body, wanted);
    // The change is audited.
    let audit = o
        .admin
        .get("/api/v1/audit-events?action=org.comparison_thresholds_changed")
        .await;
    check(&audit, StatusCode::OK);
    assert!(
        audit
            .body
            .to_string()
            .contains("org.comparison_thresholds_changed"),
        "{:#}",
        audit.body
    );
    server.stop().await;
}

#[tokio::test]
async fn thresholds_are_validated_audited_and_set_by_admins_only() {
    thresholds_story(TestServer::spawn().await).await;
}

#[tokio::test]
async fn thresholds_on_postgres() {
    if let Some(server) = TestServer::spawn_postgres().await {
        thresholds_story(server).await;
    }
}

/// Waits (up to a minute) until the application has `n` comparisons.
async fn comparisons_of(client: &Client, application: &str, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let answer = client
            .get(&format!("/api/v1/applications/{application}/comparisons"))
            .await;
        check(&answer, StatusCode::OK);
        let list = answer.body.as_array().cloned().unwrap_or_default();
        if list.len() >= n || std::time::Instant::now() > deadline {
            return list;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

async fn press_photos_story(server: TestServer) {
    let o = org(&server, "acme").await;
    let seal_id = seal(&o.admin, "合同专用章", 2).await;
    let device = active_device(&server, &o.admin, "seal_box").await;
    bind(&o.admin, &device, &seal_id).await;
    let page = text_page(0);
    let order = filed(&o, &seal_id, 3, (NOW, UNTIL), ("page.png", page.clone())).await;
    approve(&o, &order).await;
    let grant = text(&granted(&device, &order).await["grant_id"]);
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);

    // The approved page pressed: compared, a match, no alarm, no command.
    let answer = device
        .events(vec![device.press(1, &grant, json!({"photo": b64(&page)}))])
        .await;
    check(&answer, StatusCode::OK);
    let compared = comparisons_of(&o.admin, &order.id, 1).await;
    assert_eq!(compared.len(), 1, "{compared:#?}");
    assert_eq!(compared[0]["verdict"], "match", "{:#}", compared[0]);
    assert_eq!(compared[0]["subject"], "press_photo");
    assert!(!compared[0]["stamp_id"].is_null());
    assert!(alarms(&o.admin, &device).await.is_empty());

    // Another page pressed: a mismatch, a content_mismatch alarm and a lock command.
    let answer = device
        .events(vec![device.press(
            2,
            &grant,
            json!({"photo": b64(&text_page(1))}),
        )])
        .await;
    check(&answer, StatusCode::OK);
    let compared = comparisons_of(&o.admin, &order.id, 2).await;
    assert_eq!(compared.len(), 2, "{compared:#?}");
    assert!(
        compared.iter().any(|c| c["verdict"] == "mismatch"),
        "{compared:#?}"
    );
    let raised = alarms(&o.admin, &device).await;
    assert!(
        raised.iter().any(|a| a["kind"] == "content_mismatch"),
        "{raised:#?}"
    );
    // The box is told to lock (as it polls for commands).
    let commands = device
        .send(&device.sign(Method::GET, "/device/v1/commands?wait=0", Vec::new()))
        .await;
    check(&commands, StatusCode::OK);
    assert!(
        commands.body.to_string().contains("\"lock\""),
        "{:#}",
        commands.body
    );
    // Each press has at most one comparison, shown with its stamp.
    let stamps = crate::devices::stamps(&o.admin, &order).await;
    for s in &stamps {
        assert_eq!(
            compared.iter().filter(|c| c["stamp_id"] == s["id"]).count(),
            1,
            "{s:#}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn press_photos_are_compared_and_a_mismatch_alarms_and_locks() {
    press_photos_story(TestServer::spawn_with(|c| c.comparison.worker = true).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn press_photos_are_compared_on_postgres() {
    if let Some(server) = TestServer::spawn_postgres_with(|c| c.comparison.worker = true).await {
        press_photos_story(server).await;
    }
}
