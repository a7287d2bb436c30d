//! The web console in a real browser, as a person uses it: register an organisation,
//! build the department tree, add a person with a role, sign in as them and see only
//! what their role allows, enrol TOTP and sign in with a code, switch the language,
//! come back to the page asked for after sign-in, and see form errors that keep what
//! was typed. Screenshots of the main pages at desktop and phone width go to
//! `<target>/screenshots/`.

use crate::harness::{self, Browser};

const ADMIN_PASSWORD: &str = "Correct-Horse-印章-Battery";
const CLERK_PASSWORD: &str = "Clerk-印章-Staple-Lantern";

/// What an authenticator app shows, computed by the `totp-rs` crate (not by the server).
fn totp_code(secret: &str, unix_seconds: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("base32 secret");
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("totp")
        .generate(unix_seconds)
        .to_string()
}

async fn sign_in(browser: &Browser, org: &str, login: &str, password: &str) {
    browser.goto("/login").await;
    fill_sign_in(browser, org, login, password).await;
}

/// Fills and sends the sign-in form on the page the browser is on.
async fn fill_sign_in(browser: &Browser, org: &str, login: &str, password: &str) {
    browser.wait_for("#f-org_code").await;
    browser.fill("#f-org_code", org).await;
    browser.fill("#f-login", login).await;
    browser.fill("#f-password", password).await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
}

async fn sign_out(browser: &Browser) {
    browser.click("form[action='/logout'] button").await;
    browser.wait_for("#f-org_code").await;
}

async fn register(browser: &Browser) {
    browser.goto("/register").await;
    browser.fill("#f-org_name", "示范印章有限公司").await;
    browser.fill("#f-org_code", "acme").await;
    browser.fill("#f-uscc", "91350100M000100Y43").await;
    browser.fill("#f-admin_name", "王管理").await;
    browser.fill("#f-admin_phone", "13800000001").await;
    browser.fill("#f-admin_password", ADMIN_PASSWORD).await;
    browser
        .click("form[action='/register'] button[type=submit]")
        .await;
    browser.wait_for_path("/home").await;
}

#[tokio::test]
async fn an_organisation_is_set_up_and_used_through_the_console() {
    let Some((server, browser)) = harness::start().await else {
        return;
    };

    // Register: lands signed in on the home page, in Chinese.
    register(&browser).await;
    assert!(browser.text_of("h1").await.contains("王管理"));
    assert!(browser.text_of(".flash").await.contains("组织已注册"));
    assert!(
        browser
            .text_of("main")
            .await
            .contains("暂无待处理的用印申请")
    );
    browser.screenshots("home").await;

    // The admin sees every section.
    let admin_nav = browser.text_of("nav.nav").await;
    for item in [
        "首页",
        "部门",
        "人员",
        "角色",
        "API 令牌",
        "审计日志",
        "我的账号",
    ] {
        assert!(
            admin_nav.contains(item),
            "admin navigation lacks {item}: {admin_nav}"
        );
    }

    // Departments: a tree of two, the second under the first.
    browser.goto("/departments").await;
    browser.fill("#f-name", "综合办公室").await;
    browser
        .click("form[action='/departments'] button[type=submit]")
        .await;
    browser.wait_for_text(".flash", "部门已创建").await;
    browser.fill("#f-name", "档案室").await;
    browser
        .select(
            "#f-parent",
            &first_option_value(&browser, "#f-parent", "综合办公室").await,
        )
        .await;
    browser
        .click("form[action='/departments'] button[type=submit]")
        .await;
    browser.wait_for_text(".flash", "部门已创建").await;
    assert!(
        browser.text_of("table").await.contains("— 档案室"),
        "the child is indented under its parent"
    );
    browser.screenshots("departments").await;

    // A person with the employee role, in the archive.
    browser.goto("/people/new").await;
    browser.fill("#f-name", "陈员工").await;
    browser.fill("#f-phone", "13800000005").await;
    browser
        .select(
            "#f-department",
            &first_option_value(&browser, "#f-department", "档案室").await,
        )
        .await;
    browser
        .click(
            "input[name=role_ids][value='{employee}']"
                .replace("{employee}", &role_value(&browser, "员工").await)
                .as_str(),
        )
        .await;
    browser.fill("#f-password", CLERK_PASSWORD).await;
    browser
        .click("form[action='/people'] button[type=submit]")
        .await;
    browser.wait_for_text(".flash", "人员已创建").await;
    browser.goto("/people").await;
    assert!(browser.text_of("table").await.contains("陈员工"));
    browser.screenshots("people").await;
    browser.goto("/roles").await;
    browser.screenshots("roles").await;
    browser.goto("/audit").await;
    assert!(browser.text_of("table").await.contains("person.created"));
    browser.screenshots("audit").await;
    sign_out(&browser).await;

    // The employee sees the reduced navigation and is refused the admin pages.
    sign_in(&browser, "acme", "13800000005", CLERK_PASSWORD).await;
    browser.wait_for_path("/home").await;
    let nav = browser.text_of("nav.nav").await;
    assert!(nav.contains("首页") && nav.contains("我的账号"), "{nav}");
    for hidden in ["部门", "人员", "角色", "API 令牌", "审计日志"] {
        assert!(
            !nav.contains(hidden),
            "an employee should not see {hidden}: {nav}"
        );
    }
    browser.goto("/people").await;
    assert!(browser.text_of("h1").await.contains("无权访问"));

    // Enrol TOTP: scan (read the key), confirm with a code, keep the recovery codes.
    browser.goto("/account").await;
    browser.click("form[action='/account/totp'] button").await;
    let secret = browser.text_of("#totp-secret").await;
    assert!(browser.exists(".qr svg").await, "a QR code to scan");
    browser.screenshots("account-totp").await;
    browser
        .fill("#f-code", &totp_code(&secret, server.unix_seconds()))
        .await;
    browser
        .click("form[action='/account/totp/confirm'] button")
        .await;
    let codes = browser.wait_for_text("pre.secret", "-").await;
    assert_eq!(
        codes.split_whitespace().count(),
        10,
        "ten recovery codes: {codes}"
    );
    assert!(browser.text_of("main").await.contains("已启用"));
    sign_out(&browser).await;

    // Sign in again: the password, then a fresh code.
    server.clock.advance_seconds(30);
    sign_in(&browser, "acme", "13800000005", CLERK_PASSWORD).await;
    browser.wait_for("#f-code").await;
    browser.screenshots("mfa").await;
    browser
        .fill("#f-code", &totp_code(&secret, server.unix_seconds()))
        .await;
    browser.click("form[action='/login/mfa'] button").await;
    browser.wait_for_path("/home").await;

    // Switch to English and back.
    browser.click("a[href^='/lang/en']").await;
    browser.wait_for_text("h1", "Hello").await;
    assert!(browser.text_of("nav.nav").await.contains("My account"));
    browser.screenshots("home-en").await;
    browser.click("a[href^='/lang/zh-CN']").await;
    browser.wait_for_text("h1", "您好").await;

    // The one error logged is the refusal the employee was meant to get.
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| {
            !e.contains(
                "/people - Failed to load resource: the server responded with a status of 403",
            )
        })
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await;
    server.stop().await;
}

#[tokio::test]
async fn sign_in_returns_to_the_page_asked_for_and_forms_keep_what_was_typed() {
    let Some((server, browser)) = harness::start().await else {
        return;
    };
    register(&browser).await;
    sign_out(&browser).await;

    // A page that needs a session leads to sign-in and then back to it.
    browser.goto("/departments?from=bookmark").await;
    browser.wait_for("#f-org_code").await;
    assert!(browser.path().await.starts_with("/login?next="));
    // A wrong password: a clear error, what was typed is kept (but not the password).
    fill_sign_in(&browser, "acme", "13800000001", "not the password").await;
    browser
        .wait_for_text(".flash.error", "组织编码、账号或密码错误")
        .await;
    assert_eq!(
        browser.attr_of("#f-org_code", "value").await.as_deref(),
        Some("acme")
    );
    assert_eq!(
        browser.attr_of("#f-password", "value").await.as_deref(),
        Some("")
    );
    browser.screenshots("login-error").await;
    browser.fill("#f-password", ADMIN_PASSWORD).await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    browser.wait_for_path("/departments?from=bookmark").await;

    // Bad input on a form: the message sits next to its field and the input stays.
    browser.goto("/people/new").await;
    browser.fill("#f-name", "赵新人").await;
    browser.fill("#f-phone", "12345").await;
    browser
        .click("form[action='/people'] button[type=submit]")
        .await;
    let error = browser
        .wait_for_text(".field.invalid .error", "手机号")
        .await;
    assert!(error.contains("11 位"), "{error}");
    assert_eq!(
        browser.attr_of("#f-name", "value").await.as_deref(),
        Some("赵新人")
    );
    assert_eq!(
        browser.attr_of("#f-phone", "value").await.as_deref(),
        Some("12345")
    );
    browser.screenshots("person-form-error").await;

    // The session expires: the next page asks to sign in again, then comes back.
    server.clock.advance_seconds(31 * 60);
    browser.goto("/roles").await;
    fill_sign_in(&browser, "acme", "13800000001", ADMIN_PASSWORD).await;
    browser.wait_for_path("/roles").await;

    // Registration refuses a wrong credit code and keeps the rest of the form.
    sign_out(&browser).await;
    browser.goto("/register").await;
    browser.fill("#f-org_name", "第二家公司").await;
    browser.fill("#f-org_code", "second").await;
    browser.fill("#f-uscc", "91350100M000100Y44").await;
    browser.fill("#f-admin_name", "李").await;
    browser.fill("#f-admin_phone", "13900000009").await;
    browser.fill("#f-admin_password", ADMIN_PASSWORD).await;
    browser
        .click("form[action='/register'] button[type=submit]")
        .await;
    let error = browser
        .wait_for_text(".field.invalid .error", "校验位")
        .await;
    assert!(error.contains("统一社会信用代码"), "{error}");
    assert_eq!(
        browser.attr_of("#f-org_name", "value").await.as_deref(),
        Some("第二家公司")
    );

    browser.assert_no_console_errors().await;
    browser.close().await;
    server.stop().await;
}

/// The value of the first option of a select whose text contains `label`.
async fn first_option_value(browser: &Browser, select: &str, label: &str) -> String {
    let script = format!(
        "return Array.from(document.querySelectorAll(\"{select} option\")).find(o => o.textContent.includes({label:?}))?.value ?? null;"
    );
    browser
        .js(&script)
        .await
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no option {label} in {select}"))
}

/// The role id of the checkbox labelled `label`.
async fn role_value(browser: &Browser, label: &str) -> String {
    let script = format!(
        "return Array.from(document.querySelectorAll('input[name=role_ids]')).find(i => i.parentElement.textContent.trim() === {label:?})?.value ?? null;"
    );
    browser
        .js(&script)
        .await
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no role {label}"))
}

#[tokio::test]
async fn destructive_actions_ask_first_and_tokens_and_passwords_work_from_the_console() {
    let Some((server, browser)) = harness::start().await else {
        return;
    };
    register(&browser).await;

    // Deleting a department asks first: the confirm button appears only after opening.
    browser.goto("/departments").await;
    browser.fill("#f-name", "临时部门").await;
    browser
        .click("form[action='/departments'] button[type=submit]")
        .await;
    browser.wait_for_text(".flash", "部门已创建").await;
    browser.click("table a.button").await;
    browser.wait_for("details.confirm").await;
    let confirm = "details.confirm button[type=submit]";
    let visible = browser
        .js(&format!(
            "return document.querySelector({confirm:?}).checkVisibility();"
        ))
        .await;
    assert_eq!(
        visible, false,
        "the confirming button is hidden until asked for"
    );
    browser.click("details.confirm summary").await;
    browser.screenshots("department-delete-confirm").await;
    browser.click(confirm).await;
    browser.wait_for_text(".flash", "部门已删除").await;
    assert!(browser.text_of("main").await.contains("还没有部门"));

    // Disable and re-enable a person from their page.
    browser.goto("/people/new").await;
    browser.fill("#f-name", "周临时").await;
    browser.fill("#f-email", "zhou@example.com").await;
    browser
        .click("form[action='/people'] button[type=submit]")
        .await;
    let temporary = browser.text_of("#temporary-password").await;
    assert_eq!(
        temporary.len(),
        19,
        "a generated temporary password is shown once: {temporary}"
    );
    browser.click("form[action$='/disable'] summary").await;
    browser
        .click("form[action$='/disable'] details button")
        .await;
    browser.wait_for_text(".flash", "账号已停用").await;
    assert!(browser.text_of("main").await.contains("已停用"));
    browser.click("form[action$='/enable'] button").await;
    browser.wait_for_text(".flash", "账号已重新启用").await;

    // An API token: the secret is shown once, then it can be revoked.
    browser.goto("/tokens").await;
    browser.fill("#f-name", "财务系统集成").await;
    browser
        .click("input[name=scopes][value='people.read']")
        .await;
    browser
        .click("form[action='/tokens'] button[type=submit]")
        .await;
    let secret = browser.text_of("#token-secret").await;
    assert!(secret.starts_with("skt_"), "{secret}");
    browser.screenshots("tokens").await;
    browser.click("form[action$='/revoke'] summary").await;
    browser
        .click("form[action$='/revoke'] details button")
        .await;
    browser.wait_for_text(".flash", "令牌已吊销").await;
    assert!(
        !browser.exists("#token-secret").await,
        "the secret is never shown again"
    );

    // Change the password: a weak one is refused with the reason next to the field.
    browser.goto("/account").await;
    browser.fill("#f-current_password", ADMIN_PASSWORD).await;
    browser.fill("#f-new_password", "password123").await;
    browser
        .click("form[action='/account/password'] button")
        .await;
    let error = browser.wait_for_text(".field.invalid .error", "密码").await;
    assert!(error.contains("容易被猜到"), "{error}");
    browser.fill("#f-current_password", ADMIN_PASSWORD).await;
    browser
        .fill("#f-new_password", "Lantern-印章-Harbour-Quiet")
        .await;
    browser
        .click("form[action='/account/password'] button")
        .await;
    browser.wait_for_text(".flash", "密码已修改").await;
    sign_out(&browser).await;
    sign_in(
        &browser,
        "acme",
        "13800000001",
        "Lantern-印章-Harbour-Quiet",
    )
    .await;
    browser.wait_for_path("/home").await;

    browser.assert_no_console_errors().await;
    browser.close().await;
    server.stop().await;
}
