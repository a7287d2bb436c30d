//! Smoke tests of the harness itself, which need no web pages: Chromium opens the health
//! endpoint, screenshots are written at desktop and phone width, and a missing browser
//! is reported with the command that installs it.

use std::path::Path;

use crate::harness::{self, Browser, DESKTOP, PHONE_WIDTH};

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG ({} bytes)",
        path.display(),
        bytes.len()
    );
    let width = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
    (width, height)
}

#[tokio::test]
async fn healthz_renders_in_chromium_with_screenshots() {
    let Some((server, browser)) = harness::start().await else {
        return;
    };

    browser.goto("/healthz?from=browser").await;
    browser.wait_for_path("/healthz?from=browser").await;
    assert_eq!(browser.client().title().await.unwrap_or_default(), "");
    let body = browser.text_of("body").await;
    assert!(
        body.contains(r#""status":"ok""#),
        "{}",
        browser.failure(&format!("/healthz says {body:?}")).await
    );

    // The browser asks for Chinese first, as a user in China would.
    let languages = browser.js("return navigator.languages;").await;
    assert_eq!(languages[0], "zh-CN", "navigator.languages = {languages}");

    assert_eq!(browser.path().await, "/healthz?from=browser");
    assert_eq!(browser.viewport().await, DESKTOP);
    let desktop = browser.screenshot("smoke-healthz").await;
    assert_eq!(png_size(&desktop), DESKTOP, "{}", desktop.display());

    browser.set_width(PHONE_WIDTH).await;
    assert_eq!(browser.viewport().await, (PHONE_WIDTH, DESKTOP.1));
    let phone = browser.screenshot("smoke-healthz-phone").await;
    assert_eq!(
        png_size(&phone),
        (PHONE_WIDTH, DESKTOP.1),
        "{}",
        phone.display()
    );

    for path in [&desktop, &phone] {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 0, "{} is empty or missing", path.display());
    }

    // The full-page pair that page tests take of every page.
    let [full_desktop, full_phone] = browser.screenshots("smoke-healthz-full").await;
    assert_eq!(png_size(&full_desktop), DESKTOP);
    assert_eq!(png_size(&full_phone), (PHONE_WIDTH, DESKTOP.1));
    assert_eq!(
        browser.viewport().await,
        DESKTOP,
        "screenshots() restores the desktop size"
    );

    browser.assert_no_console_errors().await;
    assert!(
        !browser.exists("nav").await,
        "a JSON page has no navigation"
    );
    assert!(
        browser.cookie("sk_session").await.is_none(),
        "nobody signed in"
    );
    browser
        .js("document.cookie = 'probe=印章ok'; return null;")
        .await;
    let probe = browser.cookie("probe").await.expect("the cookie just set");
    assert_eq!(probe.value(), "印章ok");

    browser.close().await;
    server.stop().await;
}

/// A `data:` URL of an HTML page.
fn data_url(html: &str) -> String {
    let mut url = String::from("data:text/html;charset=utf-8,");
    for byte in html.bytes() {
        if byte.is_ascii_alphanumeric() {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// The helpers the page tests lean on, tried on a static page: typing Chinese into a
/// field, choosing an option, clicking, waiting for text, absence, full-page shots.
#[tokio::test]
async fn helpers_drive_a_form_and_shoot_a_tall_page() {
    let Some(browser) = Browser::launch("http://127.0.0.1:9").await else {
        return;
    };
    browser
        .goto(&data_url(
            r#"<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>表单</title>
            <form onsubmit="event.preventDefault();
                document.getElementById('out').textContent =
                    '你好，' + this.name.value + '（' + this.role.value + '）';
                document.getElementById('later').hidden = false;">
              <label>姓名 <input id="name" name="name" value="旧值"></label>
              <select id="role" name="role"><option value="member">成员</option>
                <option value="admin">管理员</option></select>
              <button id="go" type="submit">提交</button>
            </form>
            <p id="out"></p><p id="later" hidden>完成</p>
            <div style="height: 2000px; background: linear-gradient(#fff, #9cf)">长页面</div>"#,
        ))
        .await;
    assert!(!browser.exists("#nothing").await);
    assert_eq!(browser.count("option").await, 2);
    browser.fill("#name", "王小明").await;
    browser.select("#role", "admin").await;
    browser.click("#go").await;
    assert_eq!(
        browser.wait_for_text("#out", "王小明").await,
        "你好，王小明（admin）"
    );
    assert_eq!(browser.text_of("#later").await, "完成");
    assert_eq!(
        browser.attr_of("#name", "name").await.as_deref(),
        Some("name")
    );

    let [desktop, phone] = browser.screenshots("smoke-tall-page").await;
    let (width, height) = png_size(&desktop);
    assert_eq!(width, DESKTOP.0);
    assert!(height > 2000, "the whole page, not the viewport: {height}");
    let (width, height) = png_size(&phone);
    assert_eq!(width, PHONE_WIDTH);
    assert!(height > 2000, "the whole page, not the viewport: {height}");
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[test]
fn a_missing_browser_names_the_setup_command() {
    let nowhere = Path::new("/nonexistent/sealkeeper/chromedriver");
    let message = harness::check_binaries(nowhere, nowhere).expect_err("binaries are missing");
    assert!(message.contains("cargo xtask setup"), "{message}");
    assert!(message.contains("chromium-driver"), "{message}");
    assert!(message.contains(harness::SKIP_ENV), "{message}");
}

#[test]
fn screenshots_go_under_the_target_directory() {
    let dir = harness::screenshots_dir();
    assert!(dir.ends_with("screenshots"), "{}", dir.display());
    assert!(dir.is_absolute(), "{}", dir.display());
}
