//! Devices and alarms in a real browser. The admin makes an enrolment token in the
//! console; a seal box (a signed test device, as the device protocol says) enrols with
//! it; the admin approves the box and binds it to a seal; a heartbeat with the tamper
//! sensor set raises an alarm, which the admin acknowledges and then resolves with notes;
//! the device list shows the box online with its battery. A second story presses the
//! seal under an approved application and finds the stamping record with its photo on
//! the application's page, at phone width too. Screenshots go to `<target>/screenshots/`.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{PASSWORD, TestServer, add_person, role_id};
use crate::device_client::Device;
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

async fn sign_out(browser: &Browser) {
    browser.click("form[action='/logout'] button").await;
    browser.wait_for("#f-org_code").await;
}

/// A seal registered through the API; returns its id.
async fn seal(admin: &crate::common::Client, name: &str) -> String {
    let answer = admin
        .post(
            "/api/v1/seals",
            json!({"name": name, "kind": "seal_box", "seal_type": "contract", "level": 2}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_seal_box_is_enrolled_approved_bound_and_its_alarm_handled() {
    let Some((server, browser)) = harness::start().await else {
        return;
    };
    let admin = server.register("acme").await;
    let seal_id = seal(&admin, "合同专用章").await;
    sign_in(&browser, "13800000001").await;
    let nav = browser.text_of("nav.nav").await;
    for item in ["设备", "告警"] {
        assert!(nav.contains(item), "admin nav lacks {item}: {nav}");
    }

    // No devices yet: the empty list leads to the enrolment tokens.
    browser.goto("/devices").await;
    assert!(browser.exists(".empty").await);
    browser.click("a[href='/devices/enrolment-tokens']").await;
    browser.wait_for("#enrolment-form").await;
    browser.select("#f-kind", "seal_box").await;
    browser.fill("#f-note", "一楼印章室").await;
    browser.click("#enrolment-form button[type=submit]").await;
    let token = browser.text_of("#enrolment-secret").await;
    assert!(
        token.starts_with("sket_"),
        "{}",
        browser.failure(&token).await
    );
    assert!(
        browser
            .text_of("#enrolment-tokens")
            .await
            .contains("待使用")
    );
    browser.screenshots("enrolment-token").await;

    // The seal box enrols with the token, signed with its own new key.
    let mut device = Device::new(&server);
    device.serial = "SB-2026-0001".to_owned();
    let enrolled = device.enrol(&token, "seal_box").await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    assert_eq!(enrolled.body["status"], "pending");
    // The token is spent (and names the device); the secret is not shown again.
    browser.goto("/devices/enrolment-tokens").await;
    assert!(
        browser
            .text_of("#enrolment-tokens")
            .await
            .contains("已使用")
    );
    assert!(!browser.exists("#enrolment-secret").await);

    // The list shows it waiting; the admin opens it and approves it.
    browser.goto("/devices").await;
    let row = format!("#device-{}", device.id);
    let text = browser.text_of(&row).await;
    assert!(
        text.contains("SB-2026-0001") && text.contains("待批准") && text.contains("离线"),
        "{}",
        browser.failure(&text).await
    );
    browser
        .click(&format!("{row} a[href='/devices/{}']", device.id))
        .await;
    browser.wait_for("#approve-device").await;
    assert!(browser.text_of("main").await.contains(&device.mac));
    browser.click("#approve-device").await;
    browser.wait_for_text(".flash", "设备已批准").await;
    assert!(browser.text_of("#device-status").await.contains("使用中"));
    assert!(!browser.exists("#approve-device").await);

    // Bind it to the seal and the keeper's phone.
    browser.click("details:has(#binding-form) > summary").await;
    browser.select("#f-seal_id", &seal_id).await;
    browser.fill("#f-terminal", "phone:13800000002").await;
    browser.click("#binding-form button[type=submit]").await;
    browser.wait_for_text(".flash", "绑定已保存").await;
    assert!(browser.text_of("#device-seal").await.contains("合同专用章"));
    assert!(
        browser
            .text_of("#device-terminal")
            .await
            .contains("phone:13800000002")
    );
    let me = device.me().await;
    assert_eq!(me.body["status"], "active", "{:?}", me.body);
    assert_eq!(me.body["seal_id"], seal_id.as_str(), "{:?}", me.body);

    // A geofence around the office.
    browser.click("details:has(#geofence-form) > summary").await;
    browser.fill("#f-lat", "31.2304").await;
    browser.fill("#f-lon", "121.4737").await;
    browser.fill("#f-radius_m", "500").await;
    browser.click("#geofence-form button[type=submit]").await;
    browser.wait_for_text(".flash", "电子围栏已保存").await;
    assert!(browser.text_of("#device-geofence").await.contains("· 500"));

    // The box reports its tamper sensor set: an alarm is raised.
    let beat = device
        .heartbeat(json!({"tamper": true, "battery_pct": 76}))
        .await;
    assert_eq!(beat.status, StatusCode::OK, "{:?}", beat.body);

    // The list shows it online with its battery.
    browser.goto("/devices").await;
    let connection = browser.text_of(&format!("{row} .connection")).await;
    assert!(connection.contains("在线"), "{connection}");
    assert_eq!(
        browser.text_of(&format!("{row} .battery")).await.trim(),
        "76%"
    );
    assert!(browser.text_of(&row).await.contains("31.23, 121.47"));
    browser.screenshots("devices").await;

    // Its page shows the telemetry and the alarm; "lock now" queues a command.
    browser.goto(&format!("/devices/{}", device.id)).await;
    assert!(browser.text_of("#telemetry").await.contains("已触发"));
    assert!(browser.text_of("#device-battery").await.contains("76%"));
    assert!(browser.text_of("#device-alarms").await.contains("防拆报警"));
    browser.click("#lock-device").await;
    browser.wait_for_text(".flash", "上锁指令已发送").await;
    assert!(
        browser
            .text_of("#device-commands")
            .await
            .contains("立即上锁")
    );
    browser.screenshots("device-detail").await;
    browser.set_width(PHONE_WIDTH).await;
    let overflow = browser
        .js("return document.documentElement.scrollWidth - window.innerWidth;")
        .await;
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "the device page is wider than a phone by {overflow} px"
    );
    browser.set_width(harness::DESKTOP.0).await;

    // The alarm: acknowledged with a note, then resolved with another.
    browser.goto("/alarms").await;
    let alarms = browser.text_of("#alarms").await;
    assert!(
        alarms.contains("防拆报警") && alarms.contains("SB-2026-0001") && alarms.contains("严重"),
        "{}",
        browser.failure(&alarms).await
    );
    browser.screenshots("alarms").await;
    browser.click("#alarms tbody td:nth-child(2) a").await;
    browser.wait_for("#acknowledge-form").await;
    assert!(browser.text_of("#alarm-status").await.contains("待处理"));
    browser
        .fill("#f-acknowledge-note", "已通知管章人到现场查看")
        .await;
    browser.click("#acknowledge").await;
    browser.wait_for_text(".flash", "告警已确认").await;
    assert!(browser.text_of("#alarm-status").await.contains("已确认"));
    let acknowledged = browser.text_of("#alarm-acknowledged").await;
    assert!(
        acknowledged.contains("王管理") && acknowledged.contains("已通知管章人到现场查看"),
        "{acknowledged}"
    );
    assert!(!browser.exists("#acknowledge-form").await);
    browser.fill("#f-resolve-note", "外壳误触，已复位").await;
    browser.click("#resolve").await;
    browser.wait_for_text(".flash", "告警已解除").await;
    assert!(browser.text_of("#alarm-status").await.contains("已解除"));
    assert!(
        browser
            .text_of("#alarm-resolved")
            .await
            .contains("外壳误触，已复位")
    );
    assert!(!browser.exists("#resolve-form").await);
    browser.screenshots("alarm-detail").await;

    // Resolved alarms leave the default list and stay under "resolved".
    browser.goto("/alarms").await;
    assert!(!browser.exists("#alarms").await);
    browser.select("#f-status", "resolved").await;
    browser.wait_for("#alarms").await;
    assert!(browser.text_of("#alarms").await.contains("已解除"));

    browser.assert_no_console_errors().await;
    browser.close().await;
    server.stop().await;
}

/// A photo the seal box takes of a press: a grey page with a red seal-like disc.
fn press_photo() -> Vec<u8> {
    use image::ImageEncoder;
    let (width, height) = (640u32, 480u32);
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let (dx, dy) = (x as i64 - 320, y as i64 - 240);
            let inside = dx * dx + dy * dy < 120 * 120;
            let ring = (110 * 110..120 * 120).contains(&(dx * dx + dy * dy));
            if ring || (inside && (x + y) % 9 == 0) {
                pixels.extend_from_slice(&[200, 30, 40]);
            } else {
                let shade = 225 + ((x + y) % 20) as u8;
                pixels.extend_from_slice(&[shade, shade, shade - 8]);
            }
        }
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&pixels, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    png
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

/// An application by the employee on `seal`, approved by the approver; returns its id and
/// its grant's id.
async fn approved_application(server: &TestServer, seal: &str) -> (String, String) {
    let mut employee = server.client();
    assert_eq!(
        employee.login("acme", "13800000005", PASSWORD).await.status,
        StatusCode::OK
    );
    let now = seal_app::clock::Clock::now(server.clock.as_ref());
    let created = employee
        .post(
            "/api/v1/applications",
            json!({
                "seal_id": seal, "stamp_kind": "ordinary", "title": "年度服务合同",
                "reason": "与客户签约", "count": 2,
                "from": now.to_string(), "until": now.plus_seconds(7 * 86_400).to_string(),
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let document = employee
        .send_raw(
            reqwest::Method::POST,
            &format!("/api/v1/applications/{id}/documents?name=contract.png"),
            tiny_png(),
            Some("application/octet-stream"),
        )
        .await;
    assert_eq!(document.status, StatusCode::CREATED, "{:?}", document.body);
    let submitted = employee
        .post(&format!("/api/v1/applications/{id}/submit"), json!({}))
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{:?}", submitted.body);
    let mut approver = server.client();
    approver.login("acme", "13800000003", PASSWORD).await;
    let decided = approver
        .post(
            &format!("/api/v1/applications/{id}/decision"),
            json!({"verdict": "approve", "comment": "同意"}),
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{:?}", decided.body);
    let view = employee.get(&format!("/api/v1/applications/{id}")).await;
    let grant = view.body["grant"]["id"].as_str().unwrap().to_owned();
    (id, grant)
}

#[tokio::test]
async fn a_press_shows_on_the_application_with_its_photo() {
    let Some((server, browser)) = harness::start().await else {
        return;
    };
    let admin = server.register("acme").await;
    add_person(&admin, "张审批", "13800000003", "approver").await;
    add_person(&admin, "陈员工", "13800000005", "employee").await;
    let seal_id = seal(&admin, "合同专用章").await;
    let approver_role = role_id(&admin, "approver").await;
    let flow = admin
        .post(
            "/api/v1/flows",
            json!({"name": "默认流程", "is_default": true, "steps": [{"name": "审批", "approvers": "role", "role_id": approver_role, "rule": "any"}]}),
        )
        .await;
    assert_eq!(flow.status, StatusCode::CREATED, "{:?}", flow.body);

    // A seal box enrolled, approved and bound to the seal through the API.
    let token = admin
        .post(
            "/api/v1/device-enrolment-tokens",
            json!({"kind": "seal_box"}),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{:?}", token.body);
    let mut device = Device::new(&server);
    device.serial = "SB-2026-0002".to_owned();
    let enrolled = device
        .enrol(token.body["token"].as_str().unwrap(), "seal_box")
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    let approved = admin
        .post(&format!("/api/v1/devices/{}/approve", device.id), json!({}))
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let bound = admin
        .patch(
            &format!("/api/v1/devices/{}", device.id),
            json!({"seal_id": seal_id}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{:?}", bound.body);

    let (application, grant) = approved_application(&server, &seal_id).await;
    let photo = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(press_photo())
    };
    let pressed = device
        .events(vec![device.press(
            1,
            &grant,
            json!({"photo": photo, "press_ms": 650, "factors": ["fingerprint"]}),
        )])
        .await;
    assert_eq!(pressed.status, StatusCode::OK, "{:?}", pressed.body);
    assert_eq!(pressed.body["results"][0]["result"], "stored");

    // The applicant sees the press, its photo loaded, on the application's page.
    sign_in(&browser, "13800000005").await;
    browser.goto(&format!("/applications/{application}")).await;
    let stamps = browser.text_of("#stamps").await;
    assert!(
        stamps.contains(&device.id[..8])
            && stamps.contains("650 ms")
            && stamps.contains("在授权内"),
        "{}",
        browser.failure(&stamps).await
    );
    // The applicant may not see devices: the device is named by the start of its id,
    // and not linked.
    assert!(!browser.exists("#stamps a[href^='/devices/']").await);
    let loaded = browser
        .js("var i = document.querySelector('#stamps img'); return i.complete && i.naturalWidth;")
        .await;
    assert_eq!(
        loaded.as_u64(),
        Some(640),
        "the photo did not load: {loaded}"
    );
    let photo_href = browser
        .attr_of("#stamps .stamp-photo", "href")
        .await
        .unwrap();
    assert!(photo_href.ends_with("/photo"), "{photo_href}");
    let served = browser
        .js(&format!(
            "return fetch('{photo_href}').then(r => [r.status, r.headers.get('content-type'), r.headers.get('x-content-type-options')]);"
        ))
        .await;
    assert_eq!(served, json!([200, "image/png", "nosniff"]), "{served}");
    browser.screenshots("application-stamps").await;
    browser.set_width(PHONE_WIDTH).await;
    let photo_width = browser
        .js("return document.querySelector('#stamps img').getBoundingClientRect().width;")
        .await;
    assert!(
        photo_width.as_f64().unwrap_or(1e9) < f64::from(PHONE_WIDTH),
        "the photo is wider than the phone: {photo_width}"
    );
    browser.set_width(harness::DESKTOP.0).await;
    browser.assert_no_console_errors().await;
    sign_out(&browser).await;

    // The admin finds the same press on the device's page, and the grant's use.
    sign_in(&browser, "13800000001").await;
    browser.goto(&format!("/devices/{}", device.id)).await;
    assert!(browser.text_of("#device-stamps").await.contains("650 ms"));
    assert!(browser.exists("#device-stamps img").await);

    // The stamp's code leads to its public verification page: genuine and valid, the
    // seal's image shown, readable on a phone.
    browser.goto(&format!("/applications/{application}")).await;
    let code_href = browser
        .attr_of("#stamps a[href^='/v/']", "href")
        .await
        .expect("a link to the stamp's verification page");
    sign_out(&browser).await;
    browser.goto(&code_href).await;
    browser.wait_for("#verdict-genuine").await;
    assert_eq!(
        browser
            .attr_of("#verify-status", "data-status")
            .await
            .as_deref(),
        Some("valid")
    );
    assert!(browser.text_of("#verify-org").await.contains("acme"));
    let seal_loaded = browser
        .js("var i = document.querySelector('.verify-seal'); return i.complete && i.naturalWidth > 0;")
        .await;
    assert_eq!(seal_loaded, json!(true), "the seal image did not load");
    assert_eq!(browser.count("#verify-checks li.passed").await, 6);
    browser.screenshots("verify-valid").await;
    browser.set_width(PHONE_WIDTH).await;
    let overflow = browser
        .js("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        .await;
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "the page scrolls sideways on a phone: {overflow}"
    );
    browser.set_width(harness::DESKTOP.0).await;
    // The numeric code typed into the form finds the same stamp.
    let numeric = browser.text_of("#verify-numeric").await;
    browser.fill("#f-code", &numeric).await;
    browser.click("#verify-form button[type=submit]").await;
    browser.wait_for("#verdict-genuine").await;
    assert_eq!(browser.text_of("#verify-numeric").await, numeric);
    // A mistyped digit is caught by the check digit.
    let mut typo: Vec<char> = numeric.chars().collect();
    typo[0] = if typo[0] == '1' { '2' } else { '1' };
    browser
        .fill("#f-code", &typo.into_iter().collect::<String>())
        .await;
    browser.click("#verify-form button[type=submit]").await;
    browser.wait_for("#verify-error").await;

    // The admin revokes the stamp on the application's page; the public page says so.
    sign_in(&browser, "13800000001").await;
    browser.goto(&format!("/applications/{application}")).await;
    browser.click("#stamps details.confirm summary").await;
    browser
        .select("#stamps select[name=status]", "revoked")
        .await;
    browser.fill("#stamps input[name=note]", "误盖").await;
    browser
        .click("#stamps details.confirm button[type=submit]")
        .await;
    browser.wait_for(".flash.success").await;
    assert_eq!(
        browser
            .attr_of("#stamps [data-status]", "data-status")
            .await
            .as_deref(),
        Some("revoked")
    );
    browser.goto(&code_href).await;
    browser.wait_for("#verify-status").await;
    assert_eq!(
        browser
            .attr_of("#verify-status", "data-status")
            .await
            .as_deref(),
        Some("revoked")
    );
    assert!(
        !browser.source().await.contains("误盖"),
        "the note stays private"
    );
    browser.screenshots("verify-revoked").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
    server.stop().await;
}
