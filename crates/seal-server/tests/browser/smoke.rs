//! Smoke tests of the harness itself, which need no web pages: Chromium opens the health
//! endpoint, screenshots are written at desktop and phone width, and a missing browser
//! is reported with the command that installs it.

use std::path::Path;

use crate::harness::{self, DESKTOP, PHONE_WIDTH};

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

    browser.goto("/healthz").await;
    let body = browser.text_of("body").await;
    assert!(
        body.contains(r#""status":"ok""#),
        "{}",
        browser.failure(&format!("/healthz says {body:?}")).await
    );

    // The browser asks for Chinese first, as a user in China would.
    let languages = browser.js("return navigator.languages;").await;
    assert_eq!(languages[0], "zh-CN", "navigator.languages = {languages}");

    let desktop = browser.screenshot("smoke-healthz").await;
    assert_eq!(png_size(&desktop).0, DESKTOP.0, "{}", desktop.display());

    browser.set_width(PHONE_WIDTH).await;
    assert_eq!(browser.viewport_width().await, u64::from(PHONE_WIDTH));
    let phone = browser.screenshot("smoke-healthz-phone").await;
    assert_eq!(png_size(&phone).0, PHONE_WIDTH, "{}", phone.display());

    for path in [&desktop, &phone] {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 0, "{} is empty or missing", path.display());
    }

    // The full-page pair that page tests take of every page.
    let [full_desktop, full_phone] = browser.screenshots("smoke-healthz-full").await;
    assert_eq!(png_size(&full_desktop).0, DESKTOP.0);
    assert_eq!(png_size(&full_phone).0, PHONE_WIDTH);

    browser.assert_no_console_errors().await;
    assert!(
        !browser.exists("nav").await,
        "a JSON page has no navigation"
    );
    assert!(
        browser.cookie("sk_session").await.is_none(),
        "nobody signed in"
    );

    browser.close().await;
    server.stop().await;
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
