//! Document comparison in a real browser: an employee opens **Compare** from the
//! navigation, uploads an approved PDF and a photo of another page, and sees the verdict
//! "does not match" with the differences and the side-by-side diff image; then the same
//! page matches; a missing file is refused with a message at the field. At phone width
//! too. Screenshots go to `<target>/screenshots/`.

use std::path::Path;

use crate::common::{PASSWORD, add_person};
use crate::harness::{self, Browser, PHONE_WIDTH};

async fn sign_in(browser: &Browser, login: &str) {
    browser.goto("/login").await;
    browser.wait_for("#f-org_code").await;
    browser.fill("#f-org_code", "acme").await;
    browser.fill("#f-login", login).await;
    browser.fill("#f-password", PASSWORD).await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    browser.wait_for_path("/home").await;
}

async fn choose(browser: &Browser, input: &str, path: &Path) {
    browser
        .wait_for(input)
        .await
        .send_keys(path.to_str().expect("utf-8 path"))
        .await
        .expect("choose the file");
}

/// Submits the form and waits for the result page (the engine takes seconds).
async fn submit_and_wait(browser: &Browser) {
    browser.click("#compare-submit").await;
    browser
        .wait_for_within("#verdict", std::time::Duration::from_secs(120))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_is_compared_with_the_approved_document_in_the_console() {
    let Some((server, browser)) = harness::start().await else {
        return;
    };
    let admin = server.register("acme").await;
    add_person(&admin, "陈员工", "13800000005", "employee").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = |i| seal_corpus::sample::SampleDocument::new(7, i).expect("fonts");
    let approved = dir.path().join("合同.pdf");
    std::fs::write(&approved, sample(0).pdf().expect("pdf")).expect("write");
    let same = dir.path().join("same.png");
    std::fs::write(&same, sample(0).page_png(0, 150).expect("png")).expect("write");
    let other = dir.path().join("other.png");
    std::fs::write(&other, sample(1).page_png(0, 150).expect("png")).expect("write");

    // Warm the server: the engine loads on first use and analyses the approved document
    // once (cached by its digest), so the browser's forms below wait only for the capture.
    let mut body = Vec::new();
    for (name, path) in [("approved", &approved), ("capture", &same)] {
        body.extend_from_slice(
            format!("--b0undary\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(&std::fs::read(path).expect("read"));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--b0undary--\r\n");
    let warmed = admin
        .send_raw(
            reqwest::Method::POST,
            "/api/v1/comparisons",
            body,
            Some("multipart/form-data; boundary=b0undary"),
        )
        .await;
    assert_eq!(warmed.status, 201, "{:?}", warmed.body);

    sign_in(&browser, "13800000005").await;
    // The navigation leads there.
    browser.click("nav.nav a[href='/compare']").await;
    browser.wait_for_path("/compare").await;
    browser.screenshots("compare-form").await;

    // Only one file: refused at the capture field, nothing compared.
    choose(&browser, "#f-approved", &approved).await;
    browser
        .js("document.getElementById('f-capture').removeAttribute('required')")
        .await;
    browser.click("#compare-submit").await;
    browser.wait_for("#e-capture").await;
    let message = browser.text_of("#e-capture").await;
    assert!(
        !message.is_empty(),
        "{}",
        browser.failure("missing capture").await
    );

    // Another page: does not match, with material differences and the diff image.
    choose(&browser, "#f-approved", &approved).await;
    choose(&browser, "#f-capture", &other).await;
    submit_and_wait(&browser).await;
    assert_eq!(
        browser.attr_of("#verdict", "data-verdict").await.as_deref(),
        Some("mismatch"),
        "{}",
        browser.failure("verdict").await
    );
    assert!(browser.text_of("#verdict").await.contains("不一致"));
    assert!(browser.exists("#diff-image").await);
    let loaded = browser
        .js("const i = document.getElementById('diff-image'); return i.complete && i.naturalWidth > i.naturalHeight;")
        .await;
    assert_eq!(
        loaded,
        serde_json::Value::Bool(true),
        "the diff image loads, two pages wide"
    );
    browser.screenshots("comparison-mismatch").await;
    browser.set_width(PHONE_WIDTH).await;
    let overflow = browser
        .js("return document.documentElement.scrollWidth > window.innerWidth + 1;")
        .await;
    assert_eq!(
        overflow,
        serde_json::Value::Bool(false),
        "no sideways scrolling on a phone"
    );
    browser.screenshots("comparison-mismatch-phone").await;

    // The same page: matches, no material difference.
    browser.goto("/compare").await;
    choose(&browser, "#f-approved", &approved).await;
    choose(&browser, "#f-capture", &same).await;
    submit_and_wait(&browser).await;
    assert_eq!(
        browser.attr_of("#verdict", "data-verdict").await.as_deref(),
        Some("match"),
        "{}",
        browser.failure("verdict").await
    );
    assert_eq!(browser.count("#differences tr.material").await, 0);
    browser.assert_no_console_errors().await;
    browser.close().await;
    server.stop().await;
}
