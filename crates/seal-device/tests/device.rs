//! Device-side tests against a tiny fake `/device/v1` server (no real server): request
//! signatures, retries, typed errors, grant checks, the simulated seal box and printer,
//! the outbox across crashes, scenarios and the `simulate` entry point.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake;

use std::io::BufRead as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fake::FakeServer;
use seal_device::buffer::EventBuffer;
use seal_device::client::{
    ClientError, DeviceClient, RetryPolicy, StreamOptions, now_ms, verify_grant,
};
use seal_device::factors::{Factor, Presented};
use seal_device::identity::{DeviceInfo, Identity};
use seal_device::scenario::{self, ScenarioError, Script};
use seal_device::sim::{DeviceKind, SimConfig, SimDevice, codes};
use seal_device::{SimulateArgs, simulate_with};
use seal_proof::jws;
use seal_proof::keys::SigningKey;
use seal_proof::wire::{Command, OrgKey, Parameters, StampEvent, UnlockGrant};
use tokio::sync::watch;

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
    }
}

fn config(server: &FakeServer) -> SimConfig {
    SimConfig {
        server: Some(server.url.clone()),
        photo_kb: 0,
        retry: fast_retry(),
        approval_poll: Duration::from_millis(50),
        stream: StreamOptions {
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
        },
        ..SimConfig::default()
    }
}

/// An enrolled, approved seal box with Alice's fingerprint and face and a PIN.
async fn active_box(server: &FakeServer, dir: &Path, config: SimConfig) -> SimDevice {
    let device = SimDevice::open(dir, config).unwrap();
    let token = format!("sket_{}", server.inner().next_device + 1);
    let enrolled = device.enrol(&token).await.unwrap();
    assert_eq!(enrolled.status, "pending");
    server.approve(&enrolled.device_id);
    assert_eq!(device.refresh().await.unwrap().status, "active");
    device
        .add_template(Factor::Fingerprint, "alice-fp", None)
        .unwrap();
    device
        .add_template(Factor::Face, "alice-face", None)
        .unwrap();
    device.add_template(Factor::Pin, "1234", None).unwrap();
    device
}

fn alice() -> Vec<Presented> {
    vec![
        Presented::Fingerprint("alice-fp".into()),
        Presented::Face("alice-face".into()),
    ]
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

// ---- signing, retries, errors ----------------------------------------------------------

#[tokio::test]
async fn every_request_is_signed_and_verifies_with_seal_proof() {
    let server = FakeServer::start(true).await;
    let key = SigningKey::generate();
    let client = DeviceClient::new(&server.url, key.clone(), None)
        .unwrap()
        .with_retry(fast_retry());
    let enrolled = client
        .enrol("sket_1", "seal_box", "SN-1", "02:00:00:00:00:01", "fw-1")
        .await
        .unwrap();
    assert_eq!(
        client.device_id().as_deref(),
        Some(enrolled.device_id.as_str())
    );
    client.me().await.unwrap();
    assert!(client.poll_commands(0).await.unwrap().is_empty());
    client.ack("cmd/1 x", "done", "").await.unwrap();

    let seen = server.inner().seen.clone();
    assert_eq!(
        seen.len(),
        4,
        "the fake verified every signature: {seen:#?}"
    );
    // Enrolment is signed with the public key as keyid, the rest with the device id.
    assert_eq!(seen[0].keyid, key.public_key().to_base64());
    assert_eq!(seen[0].path, "/device/v1/enrol");
    for request in &seen[1..] {
        assert_eq!(request.keyid, enrolled.device_id);
    }
    // The query is covered, and a percent-encoded path segment is signed as sent.
    assert_eq!(seen[2].query.as_deref(), Some("wait=0"));
    assert_eq!(seen[3].path, "/device/v1/commands/cmd%2F1%20x/ack");
    assert!(
        seen[1]
            .signature_input
            .starts_with(r#"sk=("@method" "@path" "@query" "content-digest");created="#)
    );
    assert!(seen[1].signature_input.ends_with(r#"alg="ed25519""#));
    let now = now_ms() / 1000;
    let mut nonces: Vec<&str> = seen.iter().map(|s| s.nonce.as_str()).collect();
    for request in &seen {
        assert!((request.created - now).abs() <= 5);
        assert!(request.nonce.len() >= 22);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), seen.len(), "a new nonce for every request");
}

#[tokio::test]
async fn retries_are_signed_afresh_and_server_errors_are_typed() {
    let server = FakeServer::start(true).await;
    let client = DeviceClient::new(&server.url, SigningKey::generate(), None)
        .unwrap()
        .with_retry(fast_retry());
    client
        .enrol("sket_1", "seal_box", "SN-1", "02:00:00:00:00:01", "fw")
        .await
        .unwrap();
    let event = StampEvent {
        seq: 1,
        grant_id: "g".into(),
        at: now_ms(),
        position: None,
        press_ms: 300,
        factors: vec![],
        photo: None,
    };
    server.inner().faults.events_unavailable = 2;
    let result = client
        .send_events(std::slice::from_ref(&event))
        .await
        .unwrap();
    assert_eq!(result.results[0].result, "stored");
    let attempts: Vec<String> = server
        .inner()
        .seen
        .iter()
        .filter(|s| s.path == "/device/v1/events")
        .map(|s| s.nonce.clone())
        .collect();
    // The fake refuses a repeated nonce, so three distinct tries reached it.
    assert_eq!(attempts.len(), 3);

    // More failures than tries: a retryable server error with its code.
    server.inner().faults.events_unavailable = 5;
    let error = client.send_events(&[event]).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(matches!(error, ClientError::Server { status: 503, .. }));
    assert_eq!(error.code(), Some("busy"));
}

#[tokio::test]
async fn refusals_auth_failures_and_network_errors_are_told_apart() {
    let server = FakeServer::start(true).await;
    server.refuse_order("ORD-NA", "unlock.not_approved");
    let client = DeviceClient::new(&server.url, SigningKey::generate(), None)
        .unwrap()
        .with_retry(fast_retry());
    assert!(matches!(client.me().await, Err(ClientError::NotEnrolled)));
    client
        .enrol("sket_1", "seal_box", "SN-1", "02:00:00:00:00:01", "fw")
        .await
        .unwrap();
    let error = client.unlock("ORD-NA").await.unwrap_err();
    assert!(matches!(error, ClientError::Refused { status: 403, .. }));
    assert_eq!(error.code(), Some("unlock.not_approved"));
    assert!(!error.is_retryable());
    // A spent token is refused, not retried.
    let again = DeviceClient::new(&server.url, SigningKey::generate(), None).unwrap();
    let error = again
        .enrol("sket_1", "seal_box", "SN-2", "02:00:00:00:00:02", "fw")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("enrol.bad_token"));

    // A key the server does not know: 401.
    let stranger =
        DeviceClient::new(&server.url, SigningKey::generate(), Some("dev-1".into())).unwrap();
    let error = stranger.me().await.unwrap_err();
    assert!(matches!(error, ClientError::Unauthorized { .. }), "{error}");
    assert_eq!(error.code(), Some("device.signature.invalid"));

    // Nobody listening: a retryable network error.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let offline = DeviceClient::new(
        &format!("http://{closed}"),
        SigningKey::generate(),
        Some("d".into()),
    )
    .unwrap()
    .with_retry(fast_retry());
    let error = offline.me().await.unwrap_err();
    assert!(matches!(error, ClientError::Network(_)), "{error}");
    assert!(error.is_retryable());
}

// ---- grants ---------------------------------------------------------------------------

fn grant(device_id: &str, nonce: &str) -> UnlockGrant {
    UnlockGrant {
        grant_id: "grant-1".into(),
        order: "ORD-1".into(),
        device_id: device_id.into(),
        seal_id: "seal-1".into(),
        uses: 2,
        not_before: 0,
        expires_at: i64::MAX,
        factors: "fingerprint+face".into(),
        nonce: nonce.into(),
        issued_at: 0,
    }
}

#[test]
fn verify_grant_checks_signature_device_and_nonce() {
    let org = SigningKey::generate();
    let kid = org.public_key().key_id();
    let keys = vec![OrgKey {
        kid: kid.clone(),
        public_key: org.public_key().to_base64(),
    }];
    let sign = |g: &UnlockGrant| jws::sign_compact(&org, &kid, &serde_json::to_vec(g).unwrap());

    let good = sign(&grant("dev-1", "n-1"));
    assert_eq!(
        verify_grant(&good, &keys, "dev-1", "n-1").unwrap(),
        grant("dev-1", "n-1")
    );
    let untrusted = |result: Result<UnlockGrant, ClientError>| {
        let error = result.unwrap_err();
        assert_eq!(error.code(), Some("grant.untrusted"), "{error}");
        error.to_string()
    };
    assert!(untrusted(verify_grant(&good, &keys, "dev-1", "n-2")).contains("nonce"));
    assert!(untrusted(verify_grant(&good, &keys, "dev-2", "n-1")).contains("device"));
    let other_key = SigningKey::generate();
    let forged = jws::sign_compact(
        &other_key,
        &kid,
        &serde_json::to_vec(&grant("dev-1", "n-1")).unwrap(),
    );
    assert!(untrusted(verify_grant(&forged, &keys, "dev-1", "n-1")).contains("signature"));
    let unknown = jws::sign_compact(
        &org,
        "other-kid",
        &serde_json::to_vec(&grant("dev-1", "n-1")).unwrap(),
    );
    assert!(
        untrusted(verify_grant(&unknown, &keys, "dev-1", "n-1")).contains("no organisation key")
    );
    untrusted(verify_grant("not.a.token", &keys, "dev-1", "n-1"));
}

#[tokio::test]
async fn the_device_refuses_a_grant_for_another_nonce_device_or_key() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-1", 2, "fingerprint+face");
    let dir = tempfile::tempdir().unwrap();
    let device = active_box(&server, dir.path(), config(&server)).await;

    for fault in 0..4 {
        {
            let mut inner = server.inner();
            inner.faults.grant_other_nonce = fault == 0;
            inner.faults.grant_other_device = fault == 1;
            inner.faults.grant_wrong_key = fault == 2;
            inner.faults.grant_body_differs = fault == 3;
        }
        let error = device.unlock("ORD-1", &alice()).await.unwrap_err();
        assert_eq!(
            error.refusal_code(),
            Some("grant.untrusted"),
            "fault {fault}: {error}"
        );
        assert!(device.status().locked);
        assert_eq!(
            device.press(400).await.unwrap_err().refusal_code(),
            Some(codes::LOCKED)
        );
    }
    server.inner().faults = Default::default();
    let outcome = device.unlock("ORD-1", &alice()).await.unwrap();
    assert_eq!(outcome.uses_left, 2);
    assert_eq!(outcome.factors, vec![Factor::Fingerprint, Factor::Face]);
}

// ---- the seal box ---------------------------------------------------------------------

#[tokio::test]
async fn the_box_locks_after_the_last_use_and_refuses_the_next_press() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-1", 3, "fingerprint+face");
    let dir = tempfile::tempdir().unwrap();
    let device = active_box(
        &server,
        dir.path(),
        SimConfig {
            photo_kb: 8,
            ..config(&server)
        },
    )
    .await;

    // Not enough factors: stays locked.
    let error = device
        .unlock("ORD-1", &[Presented::Fingerprint("alice-fp".into())])
        .await
        .unwrap_err();
    assert_eq!(error.refusal_code(), Some(codes::FACTORS_NOT_SATISFIED));
    assert!(device.status().locked);
    // An unknown order: the server's code comes through.
    let error = device.unlock("ORD-404", &alice()).await.unwrap_err();
    assert_eq!(error.refusal_code(), Some("unlock.unknown_order"));

    device.unlock("ORD-1", &alice()).await.unwrap();
    let status = device.status();
    assert!(!status.locked);
    assert_eq!(status.uses_left, 3);
    for (i, expected_left) in [2, 1, 0].into_iter().enumerate() {
        let press = device.press(420).await.unwrap();
        assert_eq!(press.seq, i as u64 + 1);
        assert_eq!(press.uses_left, expected_left);
        assert_eq!(press.locked, expected_left == 0);
        assert_eq!(
            press.buffered, 0,
            "reported at once: {:?}",
            press.sync_error
        );
        assert!(press.photo_bytes > 2000);
    }
    let error = device.press(420).await.unwrap_err();
    assert_eq!(error.refusal_code(), Some(codes::LOCKED));
    assert_eq!(device.status().next_seq, 4, "a refused press takes no seq");

    let inner = server.inner();
    let events: Vec<&StampEvent> = inner.events.iter().map(|(_, e)| e).collect();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    for event in events {
        assert_eq!(event.grant_id, "grant-2");
        assert_eq!(event.press_ms, 420);
        assert_eq!(event.factors, ["fingerprint", "face"]);
        let position = event.position.unwrap();
        assert!((position.lat - 31.2304).abs() < 0.001);
        use base64::Engine as _;
        let photo = base64::engine::general_purpose::STANDARD
            .decode(event.photo.as_deref().unwrap())
            .unwrap();
        assert_eq!(&photo[..3], &[0xFF, 0xD8, 0xFF]);
    }
}

#[tokio::test]
async fn any_of_rules_accept_a_pin_or_an_id_with_its_code() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-3", 1, "pin|id_code");
    let dir = tempfile::tempdir().unwrap();
    let device = active_box(&server, dir.path(), config(&server)).await;
    device
        .add_template(Factor::IdCode, "ID42", Some("AUTH9"))
        .unwrap();
    let wrong = [Presented::Pin("0000".into())];
    assert_eq!(
        device
            .unlock("ORD-3", &wrong)
            .await
            .unwrap_err()
            .refusal_code(),
        Some(codes::FACTORS_NOT_SATISFIED)
    );
    let id = [Presented::IdCode {
        id: "ID42".into(),
        code: "AUTH9".into(),
    }];
    assert_eq!(
        device.unlock("ORD-3", &id).await.unwrap().factors,
        [Factor::IdCode]
    );
    assert_eq!(
        device
            .unlock("ORD-3", &[Presented::Pin("1234".into())])
            .await
            .unwrap()
            .factors,
        [Factor::Pin]
    );
}

#[tokio::test]
async fn offline_presses_are_buffered_then_sent_in_order_in_batches() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-1", 250, "fingerprint");
    let dir = tempfile::tempdir().unwrap();
    let device = active_box(&server, dir.path(), config(&server)).await;
    device
        .unlock("ORD-1", &[Presented::Fingerprint("alice-fp".into())])
        .await
        .unwrap();
    device.set_offline(true);
    assert_eq!(device.heartbeat().await.unwrap(), None, "skipped offline");
    assert_eq!(
        device.sync().await.unwrap_err().refusal_code(),
        Some(codes::OFFLINE)
    );
    for _ in 0..250 {
        device.press(400).await.unwrap();
    }
    assert_eq!(device.status().buffered, 250);
    assert!(server.event_seqs().is_empty());
    assert!(server.inner().heartbeats.is_empty());

    device.set_offline(false);
    let report = device.sync().await.unwrap();
    assert_eq!(
        (report.stored, report.batches, report.remaining),
        (250, 3, 0)
    );
    assert_eq!(server.event_seqs(), (1..=250).collect::<Vec<u64>>());
    let sizes: Vec<usize> = server.inner().batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert!(device.status().locked, "locked after the 250th press");
}

#[tokio::test]
async fn a_lost_answer_is_retried_and_duplicates_count_as_acknowledged() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-1", 5, "fingerprint");
    let dir = tempfile::tempdir().unwrap();
    let device = active_box(&server, dir.path(), config(&server)).await;
    device
        .unlock("ORD-1", &[Presented::Fingerprint("alice-fp".into())])
        .await
        .unwrap();
    device.set_offline(true);
    device.press(400).await.unwrap();
    device.press(400).await.unwrap();
    device.set_offline(false);
    // The server stores the batch, but its answer is lost (502): the retry gets
    // "duplicate" for both, which acknowledges them.
    server.inner().faults.events_lost_answers = 1;
    let report = device.sync().await.unwrap();
    assert_eq!(
        (report.stored, report.duplicates, report.remaining),
        (0, 2, 0)
    );
    assert_eq!(server.event_seqs(), [1, 2]);
    assert_eq!(server.inner().batches, [vec![1, 2], vec![1, 2]]);

    // When the server stays down the events stay buffered.
    device.set_offline(true);
    device.press(400).await.unwrap();
    device.set_offline(false);
    server.inner().faults.events_unavailable = 10;
    let error = device.sync().await.unwrap_err();
    assert_eq!(
        error.refusal_code(),
        None,
        "a failure, not a refusal: {error}"
    );
    assert_eq!(device.status().buffered, 1);
    server.inner().faults.events_unavailable = 0;
    device.sync().await.unwrap();
    assert_eq!(server.event_seqs(), [1, 2, 3]);
}

#[tokio::test]
async fn a_full_outbox_refuses_the_press() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-1", 10, "fingerprint");
    let dir = tempfile::tempdir().unwrap();
    let device = active_box(
        &server,
        dir.path(),
        SimConfig {
            buffer_capacity: 3,
            ..config(&server)
        },
    )
    .await;
    device
        .unlock("ORD-1", &[Presented::Fingerprint("alice-fp".into())])
        .await
        .unwrap();
    device.set_offline(true);
    for _ in 0..3 {
        device.press(400).await.unwrap();
    }
    let error = device.press(400).await.unwrap_err();
    assert_eq!(error.refusal_code(), Some(codes::BUFFER_FULL));
    let status = device.status();
    assert_eq!(
        (status.uses_left, status.buffered, status.next_seq),
        (7, 3, 4)
    );
    device.set_offline(false);
    device.sync().await.unwrap();
    assert_eq!(device.press(400).await.unwrap().seq, 4);
}

#[tokio::test]
async fn a_reopened_device_keeps_its_identity_sequence_and_outbox() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-1", 10, "fingerprint");
    let dir = tempfile::tempdir().unwrap();
    let device_id = {
        let device = active_box(&server, dir.path(), config(&server)).await;
        device
            .unlock("ORD-1", &[Presented::Fingerprint("alice-fp".into())])
            .await
            .unwrap();
        device.set_offline(true);
        device.press(400).await.unwrap();
        device.press(400).await.unwrap();
        device.device_id().unwrap()
    };
    let device = SimDevice::open(dir.path(), config(&server)).unwrap();
    assert_eq!(device.device_id().as_deref(), Some(device_id.as_str()));
    let status = device.status();
    assert!(status.locked, "a restarted box is locked");
    assert_eq!((status.buffered, status.next_seq), (2, 3));
    assert!(device.templates().fingerprints.contains("alice-fp"));
    device.sync().await.unwrap();
    device
        .unlock("ORD-1", &[Presented::Fingerprint("alice-fp".into())])
        .await
        .unwrap();
    assert_eq!(device.press(400).await.unwrap().seq, 3);
    assert_eq!(server.event_seqs(), [1, 2, 3]);
}

// ---- commands and heartbeats ----------------------------------------------------------

fn command(id: &str, kind: &str) -> Command {
    Command {
        id: id.into(),
        kind: kind.into(),
        grant_id: None,
        parameters: None,
        created_at: now_ms(),
    }
}

#[tokio::test]
async fn polled_commands_are_applied_once_and_acknowledged() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-1", 5, "fingerprint");
    let dir = tempfile::tempdir().unwrap();
    let device = active_box(&server, dir.path(), config(&server)).await;
    let fp = [Presented::Fingerprint("alice-fp".into())];

    device.unlock("ORD-1", &fp).await.unwrap();
    server.command(command("c1", "lock"));
    let outcomes = device.poll_commands(0).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(
        (outcomes[0].result.as_str(), outcomes[0].acked),
        ("done", true)
    );
    assert!(device.status().locked);
    assert_eq!(device.status().grant_id, None);

    let grant = device.unlock("ORD-1", &fp).await.unwrap().grant;
    server.command(Command {
        grant_id: Some("grant-other".into()),
        ..command("c2", "cancel_grant")
    });
    device.poll_commands(0).await.unwrap();
    assert!(
        !device.status().locked,
        "another grant's cancellation changes nothing"
    );
    server.command(Command {
        grant_id: Some(grant.grant_id.clone()),
        ..command("c3", "cancel_grant")
    });
    device.poll_commands(0).await.unwrap();
    assert!(device.status().locked);

    let parameters = Parameters {
        heartbeat_seconds: 7,
        press_max_ms: 1500,
        low_battery_pct: 20,
    };
    server.command(Command {
        parameters: Some(parameters.clone()),
        ..command("c4", "update_parameters")
    });
    server.command(command("c5", "self_destruct"));
    let outcomes = device.poll_commands(0).await.unwrap();
    assert_eq!(outcomes[0].result, "done");
    assert_eq!(outcomes[1].result, "failed");
    assert_eq!(device.status().parameters, parameters);

    // A command sent again (its ack was lost) is acknowledged but not applied twice.
    device.unlock("ORD-1", &fp).await.unwrap();
    let again = device.handle_command(&command("c1", "lock")).await.unwrap();
    assert!(again.repeated && again.acked);
    assert!(!device.status().locked);

    let acks: Vec<(String, String)> = server
        .inner()
        .acks
        .iter()
        .map(|(id, ack)| (id.clone(), ack.result.clone()))
        .collect();
    let ids: Vec<&str> = acks.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["c1", "c2", "c3", "c4", "c5", "c1"]);
    // Parameters survive a restart.
    drop(device);
    let device = SimDevice::open(dir.path(), config(&server)).unwrap();
    assert_eq!(device.status().parameters, parameters);
}

#[tokio::test]
async fn heartbeats_report_the_sensors() {
    let server = FakeServer::start(false).await;
    let dir = tempfile::tempdir().unwrap();
    let device = active_box(&server, dir.path(), config(&server)).await;
    device.set_tamper(true).unwrap();
    device.set_on_base(false).unwrap();
    device.move_to(30.0, 120.0).unwrap();
    device.set_battery(9).unwrap();
    let response = device.heartbeat().await.unwrap().unwrap();
    assert_eq!(response.commands_pending, 0);
    let heartbeat = server.inner().heartbeats[0].clone();
    assert!(heartbeat.tamper && !heartbeat.on_base && heartbeat.locked);
    assert!(heartbeat.battery_pct == 9 || heartbeat.battery_pct == 8);
    let position = heartbeat.position.unwrap();
    assert!((position.lat - 30.0).abs() < 0.001 && (position.lon - 120.0).abs() < 0.001);
    assert_eq!(heartbeat.buffered_events, 0);
    assert!(heartbeat.firmware.starts_with("sim-"));
}

#[tokio::test]
async fn run_obeys_commands_from_the_stream() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-1", 5, "fingerprint");
    // A long heartbeat interval: within the test only the stream can bring the command.
    server.inner().parameters = Some(Parameters {
        heartbeat_seconds: 600,
        press_max_ms: 3000,
        low_battery_pct: 15,
    });
    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(active_box(&server, dir.path(), config(&server)).await);
    device
        .unlock("ORD-1", &[Presented::Fingerprint("alice-fp".into())])
        .await
        .unwrap();
    let (stop, stopped) = watch::channel(false);
    let runner = tokio::spawn({
        let device = Arc::clone(&device);
        async move { device.run(stopped).await }
    });
    eventually("the first heartbeat", || {
        !server.inner().heartbeats.is_empty()
    })
    .await;
    eventually("the stream", || server.fake.stream.receiver_count() > 0).await;
    assert!(!device.status().locked);
    let _ = server.fake.stream.send(command("s1", "lock"));
    eventually("the ack", || !server.inner().acks.is_empty()).await;
    assert!(device.status().locked);
    assert_eq!(server.inner().heartbeats.len(), 1);
    stop.send(true).unwrap();
    runner.await.unwrap().unwrap();
}

#[tokio::test]
async fn without_the_stream_run_polls_when_a_heartbeat_says_commands_wait() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-1", 5, "fingerprint");
    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(
        active_box(
            &server,
            dir.path(),
            SimConfig {
                use_stream: false,
                ..config(&server)
            },
        )
        .await,
    );
    device
        .unlock("ORD-1", &[Presented::Fingerprint("alice-fp".into())])
        .await
        .unwrap();
    server.inner().commands.push(command("p1", "lock"));
    let (stop, stopped) = watch::channel(false);
    let runner = tokio::spawn({
        let device = Arc::clone(&device);
        async move { device.run(stopped).await }
    });
    eventually("the ack", || !server.inner().acks.is_empty()).await;
    assert!(device.status().locked);
    stop.send(true).unwrap();
    runner.await.unwrap().unwrap();
}

// ---- the printer ----------------------------------------------------------------------

#[tokio::test]
async fn the_printer_scans_a_page_and_saves_the_print_job() {
    let server = FakeServer::start(false).await;
    server.add_order("ORD-P", 2, "fingerprint");
    let dir = tempfile::tempdir().unwrap();
    let printer = active_box(
        &server,
        dir.path(),
        SimConfig {
            kind: DeviceKind::SealPrinter,
            ..config(&server)
        },
    )
    .await;
    assert_eq!(printer.kind(), DeviceKind::SealPrinter);
    let page = dir.path().join("page.png");
    seal_device::photo::draw_page(120, 170, 1)
        .save(&page)
        .unwrap();
    let outcome = printer.scan("ORD-P", &page).await.unwrap();
    assert_eq!(outcome.job.uses_left, 1);
    let svg = std::fs::read_to_string(&outcome.svg_path).unwrap();
    assert!(svg.contains("<svg"));
    assert!(
        svg.contains("70mm"),
        "the printer prints the mark, not the bare seal: {svg}"
    );
    assert!(outcome.svg_path.starts_with(dir.path().join("prints")));
    assert_eq!(printer.status().uses_left, 1);
    use base64::Engine as _;
    let sent = base64::engine::general_purpose::STANDARD
        .decode(&server.inner().scans[0].page)
        .unwrap();
    assert_eq!(sent, std::fs::read(&page).unwrap());

    let text = dir.path().join("page.txt");
    std::fs::write(&text, "not an image").unwrap();
    assert_eq!(
        printer
            .scan("ORD-P", &text)
            .await
            .unwrap_err()
            .refusal_code(),
        Some(codes::BAD_PAGE)
    );
    assert_eq!(
        printer.press(400).await.unwrap_err().refusal_code(),
        Some(codes::WRONG_KIND)
    );
}

// ---- scenarios and the entry point ------------------------------------------------------

#[tokio::test]
async fn a_scenario_runs_and_prints_one_line_per_step() {
    let server = FakeServer::start(true).await;
    server.add_order("ORD-1", 2, "fingerprint+face");
    server.refuse_order("ORD-NA", "unlock.not_approved");
    let dir = tempfile::tempdir().unwrap();
    let device = SimDevice::open(dir.path(), config(&server)).unwrap();
    let script = Script::parse(
        "enrol sket_1\n\
         wait-approval 5\n\
         template fingerprint alice-fp\n\
         template face alice-face\n\
         unlock ORD-NA fingerprint:alice-fp face:alice-face\n\
         expect refused unlock.not_approved\n\
         unlock ORD-1 fingerprint:alice-fp face:alice-face\n\
         expect unlocked\n\
         offline\n\
         press --hold-ms 9000\n\
         expect buffered 1\n\
         heartbeat\n\
         online\n\
         expect buffered 0\n\
         press 2\n\
         expect refused press.locked\n\
         expect locked\n\
         tamper\n\
         lift\n\
         move 31.9 121.9\n\
         battery 10\n\
         heartbeat\n\
         status\n\
         quit\n\
         press\n",
    )
    .unwrap();
    let mut out = Vec::new();
    let summary = scenario::run(&device, &script, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(summary.quit);
    assert_eq!(summary.refusals, 2, "{text}");
    assert!(
        lines[0].starts_with("ok enrol device_id=dev-1 status=pending"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("ok wait-approval status=active"),
        "{text}"
    );
    assert!(
        lines.contains(&"ok expect refused unlock.not_approved"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("refused unlock code=unlock.not_approved")),
        "{text}"
    );
    assert!(
        lines.contains(&"ok press seq=1 uses_left=1 locked=false buffered=1 hold_ms=9000"),
        "{text}"
    );
    assert!(lines.contains(&"ok heartbeat skipped=offline"), "{text}");
    assert!(lines.contains(&"ok online synced=1 buffered=0"), "{text}");
    assert!(
        lines.contains(&"ok press seq=2 uses_left=0 locked=true buffered=0 hold_ms=400"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("refused press code=press.locked")),
        "{text}"
    );
    assert_eq!(lines.last(), Some(&"ok quit"));
    let heartbeat = server.inner().heartbeats.last().cloned().unwrap();
    assert!(heartbeat.tamper && !heartbeat.on_base && heartbeat.battery_pct <= 10);
    assert_eq!(server.event_seqs(), [1, 2]);
    assert_eq!(server.inner().events[0].1.press_ms, 9000);
}

#[tokio::test]
async fn a_failed_expectation_stops_the_run_with_its_line() {
    let server = FakeServer::start(true).await;
    let dir = tempfile::tempdir().unwrap();
    let device = SimDevice::open(dir.path(), config(&server)).unwrap();
    let script =
        Script::parse("enrol sket_1\n# locked\nexpect locked\nexpect uses 3\nstatus\n").unwrap();
    let mut out = Vec::new();
    let error = scenario::run(&device, &script, &mut out).await.unwrap_err();
    match &error {
        ScenarioError::Expectation { line, message } => {
            assert_eq!(*line, 4);
            assert!(message.contains("expected uses 3, found 0"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with("fail expect line=4 expected uses 3, found 0\n"),
        "{text}"
    );
    assert!(!text.contains("ok status"));

    // A network failure is fatal too (not a refusal).
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let device = SimDevice::open(
        dir.path(),
        SimConfig {
            server: Some(format!("http://{closed}")),
            ..config(&server)
        },
    )
    .unwrap();
    let script = Script::parse("enrol sket_2\n").unwrap();
    let error = scenario::run(&device, &script, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            ScenarioError::Fatal {
                line: 1,
                step: "enrol",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn simulate_enrols_runs_a_script_and_resumes() {
    let server = FakeServer::start(true).await;
    server.add_order("ORD-1", 5, "pin");
    let state = tempfile::tempdir().unwrap();
    let script = state.path().join("press.txt");
    std::fs::write(
        &script,
        "wait-approval 5\ntemplate pin 1234\nunlock ORD-1 pin:1234\noffline\npress 2\nexpect buffered 2\n",
    )
    .unwrap();
    let tokens = state.path().join("tokens.txt");
    std::fs::write(&tokens, "# tokens\nsket_1\n\nsket_2\n").unwrap();
    let mut args = SimulateArgs::new(
        &server.url,
        state.path().join("devices"),
        DeviceKind::SealBox,
        2,
    );
    args.tokens_file = Some(tokens.clone());
    args.script = Some(script.display().to_string());
    args.photo_kb = 0;
    let (_stop, stopped) = watch::channel(false);
    let mut out = Vec::new();
    let report = simulate_with(args.clone(), &mut out, stopped.clone())
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(report.devices.len(), 2);
    assert!(
        text.contains("ok enrol device=1 device_id=dev-1 status=pending"),
        "{text}"
    );
    assert!(text.contains("ok enrol device=2 device_id=dev-2"), "{text}");
    assert!(text.contains("ok expect buffered 2"), "{text}");
    assert!(server.event_seqs().is_empty());
    assert!(
        state
            .path()
            .join("devices/device-001/identity.json")
            .is_file()
    );

    // Again: no enrolment, the buffered events go first.
    args.tokens_file = None;
    args.script = None;
    let mut out = Vec::new();
    simulate_with(args.clone(), &mut out, stopped.clone())
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("ok resume device=1 device_id=dev-1 kind=seal_box buffered=2"),
        "{text}"
    );
    assert!(
        text.contains("ok sync device=1 stored=2 duplicates=0 buffered=0"),
        "{text}"
    );
    assert!(
        text.contains("ok resume device=2 device_id=dev-2"),
        "{text}"
    );
    assert_eq!(server.event_seqs(), [1, 2]);
    assert_eq!(server.inner().devices.len(), 2);

    // A third device without a token is a usage error.
    args.count = 3;
    let error = simulate_with(args.clone(), &mut Vec::new(), stopped.clone())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("--token"), "{error}");

    // A failed expectation fails the run.
    let bad = state.path().join("bad.txt");
    std::fs::write(&bad, "expect unlocked\n").unwrap();
    args.count = 1;
    args.script = Some(bad.display().to_string());
    let error = simulate_with(args, &mut Vec::new(), stopped)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("line 1"), "{error}");
}

#[tokio::test]
async fn simulate_heartbeats_until_stopped() {
    let server = FakeServer::start(true).await;
    let state = tempfile::tempdir().unwrap();
    let mut args = SimulateArgs::new(&server.url, state.path().to_owned(), DeviceKind::SealBox, 1);
    args.token = Some("sket_1".into());
    args.heartbeat = true;
    let (stop, stopped) = watch::channel(false);
    let run = tokio::spawn(async move {
        let mut out = Vec::new();
        simulate_with(args, &mut out, stopped).await.map(|_| out)
    });
    eventually("heartbeats", || server.inner().heartbeats.len() >= 2).await;
    stop.send(true).unwrap();
    let out = run.await.unwrap().unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .starts_with("ok enrol device=1")
    );
}

// ---- crash safety -----------------------------------------------------------------------

/// The child half of `a_kill_at_any_instant_loses_no_acknowledged_event`: presses into
/// the outbox as fast as it can, printing each seq once `push` returned.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("SEAL_DEVICE_CRASH_DIR") else {
        return;
    };
    let dir = Path::new(&dir);
    let (mut identity, _) = Identity::open_or_create(dir, || {
        DeviceInfo::simulated("http://127.0.0.1:9", "seal_box", "fw")
    })
    .unwrap();
    let mut buffer = EventBuffer::open(&dir.join("outbox")).unwrap();
    let mut photos = seal_device::photo::PhotoMaker::new(4);
    loop {
        let seq = identity.next_seq().unwrap();
        let photo = photos.make(seq).unwrap().map(|bytes| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(bytes)
        });
        buffer
            .push(&StampEvent {
                seq,
                grant_id: "g".into(),
                at: now_ms(),
                position: None,
                press_ms: 400,
                factors: vec!["pin".into()],
                photo,
            })
            .unwrap();
        println!("pushed {seq}");
    }
}

#[cfg(unix)]
#[test]
fn a_kill_at_any_instant_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged = Vec::new();
    for round in 0..3 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("SEAL_DEVICE_CRASH_DIR", dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut seen = 0;
        // Kill it (SIGKILL) at a slightly different moment each round.
        while seen < 15 + round * 7 {
            let line = lines.next().unwrap().unwrap();
            if let Some(seq) = line.strip_prefix("pushed ") {
                acknowledged.push(seq.parse::<u64>().unwrap());
                seen += 1;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Lines printed before the kill but not read yet count too.
        for line in lines.map_while(Result::ok) {
            if let Some(seq) = line.strip_prefix("pushed ") {
                acknowledged.push(seq.parse::<u64>().unwrap());
            }
        }

        let identity = Identity::open(dir.path()).unwrap();
        let mut buffer = EventBuffer::open(&dir.path().join("outbox")).unwrap();
        let pending = buffer.pending().unwrap();
        let seqs: Vec<u64> = pending.iter().map(|e| e.seq).collect();
        for seq in &acknowledged {
            assert!(seqs.contains(seq), "round {round}: event {seq} was lost");
        }
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        assert!(
            identity.peek_next_seq() > *seqs.last().unwrap(),
            "round {round}: a used seq would be handed out again"
        );
        assert!(
            buffer.dir().join("quarantine").read_dir().is_err(),
            "no torn event"
        );
    }
}

#[tokio::test]
async fn run_stops_when_the_device_is_revoked() {
    let server = FakeServer::start(false).await;
    let dir = tempfile::tempdir().unwrap();
    let device = active_box(&server, dir.path(), config(&server)).await;
    let device_id = device.device_id().unwrap();
    let (_stop, stopped) = watch::channel(false);
    let run = device.run(stopped);
    tokio::pin!(run);
    // Heartbeats go on (every second here) until the device is revoked.
    let early = tokio::time::timeout(Duration::from_millis(300), &mut run).await;
    assert!(early.is_err(), "still running");
    assert!(!server.inner().heartbeats.is_empty());
    server.inner().devices.get_mut(&device_id).unwrap().1 = "revoked".into();
    let result = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .unwrap();
    assert_eq!(result.unwrap_err().refusal_code(), Some(codes::REVOKED));
    assert_eq!(device.status().status.as_deref(), Some("revoked"));
}
