//! The demo's simulated devices: a seal box holding the contract seal and a seal printer
//! holding the finance seal, run in-process against the demo server so the console shows
//! real traffic. On first start each enrols with a fresh token, is approved and bound by
//! the demo admin, and the seal box stamps the demo application twice; afterwards they
//! heartbeat and obey commands until the server stops. Their state folders live under
//! `DATA/demo-devices/`, so a restart resumes them.

use std::path::Path;
use std::time::Duration;

use seal_app::devices::DeviceChanges;
use seal_app::{App, RequestContext};
use seal_core::device::DeviceStatus;
use seal_core::ids::DeviceId;
use seal_device::factors::{Factor, Presented};
use seal_device::sim::{DeviceKind, SimConfig, SimDevice};
use tokio::sync::watch;

/// The demo admin and employee logins (see `seal_app::demo`).
const ADMIN_PHONE: &str = "13800000001";

/// Starts the demo devices; returns a sender that stops them.
pub async fn start(
    app: &App,
    url: &str,
    data_dir: &Path,
    demo: &seal_app::demo::Demo,
) -> Result<watch::Sender<bool>, String> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let admin = seal_app::demo::sign_in(app, ADMIN_PHONE)
        .await
        .map_err(|e| format!("demo admin sign-in: {e}"))?;
    let context = RequestContext {
        source: "demo".to_owned(),
        user_agent: "sealkeeper demo devices".to_owned(),
    };
    for planned in &demo.devices {
        let kind = DeviceKind::parse(&planned.kind)
            .ok_or_else(|| format!("unknown demo device kind {}", planned.kind))?;
        let dir = data_dir.join("demo-devices").join(&planned.label);
        let config = SimConfig {
            server: Some(url.to_owned()),
            kind,
            photo_kb: 60,
            approval_poll: Duration::from_millis(200),
            ..SimConfig::default()
        };
        let sim = SimDevice::open(&dir, config).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !sim.is_enrolled() {
            let token = app
                .create_enrolment_token(&admin, &planned.kind, &planned.label, &context)
                .await
                .map_err(|e| format!("demo enrolment token: {e}"))?;
            sim.enrol(&token.secret)
                .await
                .map_err(|e| format!("demo device enrolment: {e}"))?;
            let id = sim
                .device_id()
                .and_then(|id| DeviceId::parse(&id).ok())
                .ok_or("the demo device has no id after enrolment")?;
            app.change_device_status(&admin, id, DeviceStatus::Active, &context)
                .await
                .map_err(|e| format!("approving the demo device: {e}"))?;
            let home = seal_device::sim::DEFAULT_HOME;
            app.change_device(
                &admin,
                id,
                &DeviceChanges {
                    seal: Some(Some(planned.seal)),
                    terminal: Some(Some(format!("demo-phone-{}", planned.label))),
                    geofence: Some(Some((home.lat, home.lon, 300))),
                    parameters: None,
                },
                &context,
            )
            .await
            .map_err(|e| format!("binding the demo device: {e}"))?;
            sim.refresh()
                .await
                .map_err(|e| format!("demo device status: {e}"))?;
            if kind == DeviceKind::SealBox
                && let Some(order) = &demo.order
            {
                stamp_twice(&sim, order).await;
            }
        }
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            if let Err(error) = sim.run(stop.clone()).await {
                tracing::warn!(%error, "demo device stopped");
            }
            let _ = stop.changed().await;
        });
    }
    Ok(stop_tx)
}

/// The applicant at the box: fingerprint (the level-2 factor), two presses.
async fn stamp_twice(sim: &SimDevice, order: &str) {
    let fingerprint = "demo-employee-finger";
    if let Err(error) = sim.add_template(Factor::Fingerprint, fingerprint, None) {
        tracing::warn!(%error, "demo template");
        return;
    }
    match sim
        .unlock(order, &[Presented::Fingerprint(fingerprint.to_owned())])
        .await
    {
        Ok(_) => {
            for _ in 0..2 {
                if let Err(error) = sim.press(450).await {
                    tracing::warn!(%error, "demo press");
                }
            }
            let _ = sim.sync().await;
        }
        Err(error) => tracing::warn!(%error, "demo unlock"),
    }
}
