//! Seal applications in a real browser: the admin registers a seal and a default
//! two-step flow through the console, an employee files an application with a PDF in
//! one form, and the two approvers decide from their inboxes; the applicant then sees
//! the outcome (approved with its grant, or rejected with the comment). Screenshots of
//! the pages go to `<target>/screenshots/`.

use crate::common::{PASSWORD, add_person};
use crate::harness::{self, Browser};

/// A one-page PDF with a filled rectangle, with a correct cross-reference table.
fn tiny_pdf() -> Vec<u8> {
    let content = b"0.8 0.1 0.1 rg 100 500 300 200 re f\n";
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>"
            .to_vec(),
        [
            format!("<< /Length {} >>\nstream\n", content.len()).into_bytes(),
            content.to_vec(),
            b"endstream".to_vec(),
        ]
        .concat(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
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

async fn sign_out(browser: &Browser) {
    browser.click("form[action='/logout'] button").await;
    browser.wait_for("#f-org_code").await;
}

/// The people of the stories, made through the API; returns (keeper, approver A,
/// approver B) ids.
struct Cast {
    keeper: String,
    approver_a: String,
    approver_b: String,
}

async fn cast(server: &crate::common::TestServer) -> Cast {
    let admin = server.register("acme").await;
    let keeper = add_person(&admin, "李管章", "13800000002", "seal_keeper").await;
    let approver_a = add_person(&admin, "张审批", "13800000003", "approver").await;
    let approver_b = add_person(&admin, "王复核", "13800000004", "approver").await;
    add_person(&admin, "陈员工", "13800000005", "employee").await;
    Cast {
        keeper,
        approver_a,
        approver_b,
    }
}

/// As the admin: registers a seal kept by the keeper and a default two-step flow.
async fn set_up_seal_and_flow(browser: &Browser, cast: &Cast) {
    sign_in(browser, "13800000001").await;
    let nav = browser.text_of("nav.nav").await;
    for item in ["印章", "审批流程"] {
        assert!(nav.contains(item), "admin nav lacks {item}: {nav}");
    }
    browser.goto("/seals").await;
    browser.fill("#f-name", "合同专用章").await;
    browser.select("#f-seal_type", "contract").await;
    browser.select("#f-kind", "seal_box").await;
    browser.select("#f-keeper", &cast.keeper).await;
    browser.click("#seal-form button[type=submit]").await;
    browser.wait_for("#seal-status").await;
    assert!(browser.path().await.starts_with("/seals/"));
    assert!(browser.text_of(".flash").await.contains("印章已登记"));
    assert!(browser.exists("img[src$='/image.svg']").await);
    browser.screenshots("seal-detail").await;

    browser.goto("/flows/new").await;
    browser.fill("#f-name", "两级审批").await;
    browser.click("#f-is_default").await;
    browser.fill("#f-s0_name", "部门审批").await;
    browser.select("#f-s0_approvers", "people").await;
    browser.select("#f-s0_people", &cast.approver_a).await;
    browser.fill("#f-s1_name", "复核").await;
    browser.select("#f-s1_approvers", "people").await;
    browser.select("#f-s1_people", &cast.approver_b).await;
    browser.screenshots("flow-edit").await;
    browser.click("#flow-form button[type=submit]").await;
    browser.wait_for_path("/flows").await;
    assert!(browser.text_of("main").await.contains("部门审批 → 复核"));
    sign_out(browser).await;
}

/// As the employee: files the application with a PDF in one form; returns its path.
async fn file_application(browser: &Browser, title: &str) -> String {
    sign_in(browser, "13800000005").await;
    browser.goto("/applications/new").await;
    browser.fill("#f-title", title).await;
    browser.fill("#f-reason", "与客户签订年度服务合同").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("合同.pdf");
    std::fs::write(&path, tiny_pdf()).expect("write pdf");
    browser
        .wait_for("#f-documents")
        .await
        .send_keys(path.to_str().expect("utf-8 path"))
        .await
        .expect("choose the file");
    browser.screenshots("application-new").await;
    browser.click("#submit-application").await;
    browser.wait_for("#application-status").await;
    let page = browser.path().await;
    assert!(
        page.starts_with("/applications/"),
        "{}",
        browser.failure("filed").await
    );
    assert!(
        browser
            .text_of("#application-status")
            .await
            .contains("审批中"),
        "{}",
        browser.failure("in review").await
    );
    assert!(browser.text_of("main").await.contains("合同.pdf"));
    assert!(browser.exists("img[src$='/thumbnail']").await);
    sign_out(browser).await;
    page
}

/// As an approver: opens the application from the inbox and decides.
async fn decide(browser: &Browser, login: &str, title: &str, verdict: &str, comment: &str) {
    sign_in(browser, login).await;
    browser.goto("/inbox").await;
    assert!(
        browser.text_of("#inbox").await.contains(title),
        "{}",
        browser.failure("inbox lists the application").await
    );
    browser.click("#inbox tbody a").await;
    browser.wait_for("#decision-form").await;
    browser.fill("#f-comment", comment).await;
    browser.click(&format!("#{verdict}")).await;
    browser.wait_for_path("/inbox").await;
    sign_out(browser).await;
}

#[tokio::test]
async fn an_application_is_filed_and_approved_in_two_steps() {
    let Some((server, browser)) = harness::start().await else {
        return;
    };
    let cast = cast(&server).await;
    set_up_seal_and_flow(&browser, &cast).await;
    let page = file_application(&browser, "年度服务合同用印").await;
    decide(
        &browser,
        "13800000003",
        "年度服务合同用印",
        "approve",
        "同意",
    )
    .await;
    browser.screenshots("inbox").await;
    decide(&browser, "13800000004", "年度服务合同用印", "approve", "").await;

    sign_in(&browser, "13800000005").await;
    browser.goto(&page).await;
    let status = browser.text_of("#application-status").await;
    assert!(
        status.contains("已批准"),
        "{}",
        browser.failure(&status).await
    );
    assert!(browser.text_of("#grant-uses").await.contains("0 / 1"));
    assert!(!browser.text_of("#grant-factors").await.trim().is_empty());
    assert!(browser.text_of("main").await.contains("张审批"));
    browser.screenshots("application-approved").await;
    browser.set_width(360).await;
    browser.assert_no_console_errors().await;
    browser.close().await;
    server.stop().await;
}

#[tokio::test]
async fn a_rejected_application_shows_the_comment() {
    let Some((server, browser)) = harness::start().await else {
        return;
    };
    let cast = cast(&server).await;
    set_up_seal_and_flow(&browser, &cast).await;

    // A file that is not a PDF, PNG or JPEG is refused beside the field; the rest stays.
    sign_in(&browser, "13800000005").await;
    browser.goto("/applications/new").await;
    browser.fill("#f-title", "借用公章").await;
    browser.fill("#f-reason", "办理资质").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("notes.pdf");
    std::fs::write(&fake, "just text, not a PDF").expect("write");
    browser
        .wait_for("#f-documents")
        .await
        .send_keys(fake.to_str().expect("utf-8 path"))
        .await
        .expect("choose the file");
    browser.click("#submit-application").await;
    let error = browser.text_of("#e-documents").await;
    assert!(
        error.contains("notes.pdf"),
        "{}",
        browser.failure(&error).await
    );
    assert_eq!(
        browser.attr_of("#f-title", "value").await.as_deref(),
        Some("借用公章")
    );
    browser.screenshots("application-file-refused").await;
    sign_out(&browser).await;

    let page = file_application(&browser, "借用公章").await;
    decide(
        &browser,
        "13800000003",
        "借用公章",
        "reject",
        "材料不全，请补充合同原件",
    )
    .await;

    sign_in(&browser, "13800000005").await;
    browser.goto(&page).await;
    let status = browser.text_of("#application-status").await;
    assert!(
        status.contains("已驳回"),
        "{}",
        browser.failure(&status).await
    );
    assert!(
        browser
            .text_of(".comment")
            .await
            .contains("材料不全，请补充合同原件")
    );
    browser.screenshots("application-rejected").await;
    browser.close().await;
    server.stop().await;
}
