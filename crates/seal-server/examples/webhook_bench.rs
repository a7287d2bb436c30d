//! Webhook delivery throughput: queues N events for one endpoint (an axum receiver on
//! loopback answering 204), lets the delivery worker (`App::deliver_due_webhooks`: claim,
//! sign, send 16 at a time, record every attempt) deliver them all, and compares with raw
//! reqwest POSTs of the same body to the same receiver, 16 at a time, without the store.
//! Rounds alternate (baseline, worker, baseline, worker …) so both see the same machine.
//!
//! `cargo run --release -p seal-server --example webhook_bench [-- N ROUNDS]`; run by
//! `cargo xtask bench webhooks`. SQLite in a temporary folder, or PostgreSQL when
//! `SEALKEEPER_BENCH_PG_URL` names an empty database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use seal_app::clock::SystemClock;
use seal_app::orgs::Registration;
use seal_app::webhooks::{WebhookClient, WebhookClientOptions, WebhookInput};
use seal_app::{App, AppSettings, RequestContext};
use seal_core::ids::WebhookDeliveryId;
use seal_core::time::Timestamp;
use seal_core::webhook::{EventKind, message_id};
use seal_store::blobs::{BlobConfig, Blobs};
use seal_store::{Store, StoreOptions, WebhookEventRecord};

const CONCURRENCY: usize = 16;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(2000);
    let rounds = args.get(1).copied().unwrap_or(3);

    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                drop(body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let folder = tempfile::tempdir().unwrap();
    let database = std::env::var("SEALKEEPER_BENCH_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}", folder.path().join("bench.db").display()));
    let store = Store::connect(&database, &StoreOptions::default())
        .await
        .unwrap();
    let engine = format!("{:?}", store.backend());
    let blobs = Blobs::open(&BlobConfig::Local {
        root: folder.path().join("blobs"),
    })
    .unwrap();
    let settings = AppSettings {
        webhooks_allow_private_targets: true,
        ..AppSettings::default()
    };
    let app = App::new(store, blobs, Arc::new(SystemClock), settings).unwrap();
    let context = RequestContext::default();
    let registered = app
        .register_org(
            &Registration {
                org_name: "压测有限公司".into(),
                org_code: format!("bench{}", std::process::id()),
                uscc: None,
                admin_name: "王管理".into(),
                admin_phone: Some("13800000001".into()),
                admin_email: None,
                admin_password: "Correct-Horse-印章-Battery".into(),
            },
            &context,
        )
        .await
        .unwrap();
    let principal = app
        .authenticate_session(&registered.session.token)
        .await
        .unwrap();
    let endpoint = app
        .create_webhook(
            &principal,
            &WebhookInput {
                url: url.clone(),
                kinds: vec!["seal.created".into()],
                filing_target: None,
                enabled: true,
                secret: None,
            },
            &context,
        )
        .await
        .unwrap()
        .endpoint;
    let client = WebhookClient::new(WebhookClientOptions {
        timeout: Duration::from_secs(10),
        concurrency: CONCURRENCY,
        allow_private_targets: true,
    })
    .unwrap();
    let body = sample_payload(0);

    println!(
        "webhook delivery benchmark: N = {n} deliveries per round, {rounds} rounds, {CONCURRENCY} at a time, {engine}, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut baselines = vec![];
    let mut workers = vec![];
    for round in 1..=rounds {
        let before = received.load(Ordering::Relaxed);
        let baseline = raw_posts(&url, &body, n).await;
        assert_eq!(received.load(Ordering::Relaxed) - before, n);

        // Queue N events (as `enqueue` does: event and delivery rows in one transaction).
        let now = Timestamp::from_millis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
        );
        let mut tx = app.store().write().await.unwrap();
        for i in 0..n {
            let event = WebhookEventRecord {
                id: message_id(*uuid::Uuid::new_v4().as_bytes()),
                org_id: principal.org_id(),
                kind: EventKind::SealCreated,
                payload: sample_payload(i),
                created_at: now,
            };
            tx.insert_webhook_event(&event).await.unwrap();
            tx.insert_webhook_delivery(
                principal.org_id(),
                WebhookDeliveryId::from_uuid(uuid::Uuid::new_v4()),
                &event.id,
                endpoint.id,
                now,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();

        let before = received.load(Ordering::Relaxed);
        let started = Instant::now();
        let mut delivered = 0;
        while delivered < n {
            let done = app
                .deliver_due_webhooks(&client, CONCURRENCY * 4)
                .await
                .unwrap();
            assert_eq!(done.failed + done.given_up, 0, "{done:?}");
            if done.claimed == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            delivered += done.delivered;
        }
        let worker = n as f64 / started.elapsed().as_secs_f64();
        assert_eq!(received.load(Ordering::Relaxed) - before, n);
        println!(
            "  round {round}: raw POSTs {baseline:>8.0}/s   worker {worker:>7.0} deliveries/s   ratio {:.3}",
            worker / baseline
        );
        baselines.push(baseline);
        workers.push(worker);
    }
    let (baseline, worker) = (median(&baselines), median(&workers));
    println!("  median: raw POSTs {baseline:.0}/s, worker {worker:.0} deliveries/s");
    println!(
        "  ratio worker / raw POSTs: {:.3} (target: worker >= 200 deliveries/s: {})",
        worker / baseline,
        if worker >= 200.0 { "met" } else { "NOT met" }
    );
    app.store().close().await;
}

/// A body the size of a typical event.
fn sample_payload(i: usize) -> String {
    serde_json::json!({
        "type": "seal.created",
        "timestamp": "2026-11-22T08:30:00.000Z",
        "data": {"seal_id": uuid::Uuid::new_v4().to_string(), "name": "合同专用章", "n": i,
                 "organisation": "bench", "kind": "contract", "level": 2}
    })
    .to_string()
}

/// POSTs `body` `n` times, `CONCURRENCY` at a time, with a client like the worker's;
/// returns requests per second.
async fn raw_posts(url: &str, body: &str, n: usize) -> f64 {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (http, next, url, body) = (http.clone(), next.clone(), url.to_owned(), body.to_owned());
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let response = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
