//! Benchmark: seal-use applications filed per second through the JSON API, each with a
//! 1 MB PDF (a one-page A4 scan: an uncompressed 1 MB image), against the same server's
//! `GET /healthz` in the same run. Run by `cargo xtask bench applications`; prints the
//! figures for docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use seal_app::clock::SystemClock;
use seal_server::config::Config;
use serde_json::{Value, json};

const PASSWORD: &str = "Correct-Horse-印章-Battery";
/// Applications filed per round, and how many clients file at once.
const APPLICATIONS: usize = 200;
const CONCURRENCY: usize = 8;
const HEALTHZ: usize = 4000;

/// A one-page A4 PDF holding a 600 × 583 RGB image drawn full page: just over 1 MB.
fn one_megabyte_pdf() -> Vec<u8> {
    let (w, h) = (600i64, 583i64);
    let pixels: Vec<u8> = (0..(w * h * 3) as usize)
        .map(|i| ((i * 7919) % 251) as u8)
        .collect();
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let image = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
        },
        pixels,
    ));
    let content = Content {
        operations: vec![
            Operation::new("q", vec![]),
            Operation::new(
                "cm",
                vec![
                    595.into(),
                    0.into(),
                    0.into(),
                    842.into(),
                    0.into(),
                    0.into(),
                ],
            ),
            Operation::new("Do", vec!["Im1".into()]),
            Operation::new("Q", vec![]),
        ],
    };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Resources" => dictionary! { "XObject" => dictionary! { "Im1" => image } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
        ),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

struct Client {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Client {
    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let value: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    async fn login(base: &str, phone: &str) -> Client {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let r: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"org_code": "bench", "login": phone, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Client {
            http,
            base: base.to_owned(),
            csrf: r["csrf_token"].as_str().unwrap().to_owned(),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.data_dir = dir.path().to_owned();
    config.security.login_attempts_per_account_per_minute = 1000;
    let server = seal_server::start(&config, Arc::new(SystemClock))
        .await
        .unwrap();
    let base = format!("http://{}", server.addr);

    // An organisation, an employee, an approver, a seal and a default flow.
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let registered: Value = http
        .post(format!("{base}/api/v1/organisations"))
        .json(
            &json!({"org_name": "基准测试有限公司", "org_code": "bench", "admin_name": "王管理",
            "admin_phone": "13800000001", "admin_password": PASSWORD}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = Client {
        http,
        base: base.clone(),
        csrf: registered["session"]["csrf_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    let roles: Value = admin
        .http
        .get(format!("{base}/api/v1/roles"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let role = |key: &str| {
        roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["builtin"] == key)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (phone, key) in [("13800000005", "employee"), ("13800000003", "approver")] {
        admin
            .post(
                "/api/v1/people",
                json!({"name": key, "phone": phone, "role_ids": [role(key)], "password": PASSWORD}),
            )
            .await;
    }
    let seal = admin
        .post(
            "/api/v1/seals",
            json!({"name": "合同专用章", "kind": "seal_box", "seal_type": "contract", "level": 2}),
        )
        .await;
    admin
        .post(
            "/api/v1/flows",
            json!({"name": "默认", "is_default": true, "steps": [{"name": "审批", "approvers": "role", "role_id": role("approver"), "rule": "any"}]}),
        )
        .await;
    let seal_id = seal["id"].as_str().unwrap().to_owned();
    let pdf = bytes::Bytes::from(one_megabyte_pdf());

    // Baseline: GET /healthz on the same server, same concurrency.
    let healthz = {
        let http = reqwest::Client::new();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..CONCURRENCY {
            let http = http.clone();
            let url = format!("{base}/healthz");
            tasks.push(tokio::spawn(async move {
                for _ in 0..HEALTHZ / CONCURRENCY {
                    http.get(&url).send().await.unwrap().bytes().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        HEALTHZ as f64 / started.elapsed().as_secs_f64()
    };

    // Applications: create the draft, upload the PDF, submit — three requests each.
    let employee = Arc::new(Client::login(&base, "13800000005").await);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let employee = employee.clone();
        let pdf = pdf.clone();
        let seal_id = seal_id.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for i in 0..APPLICATIONS / CONCURRENCY {
                let t = Instant::now();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let created = employee
                    .post(
                        "/api/v1/applications",
                        json!({"seal_id": seal_id, "stamp_kind": "ordinary",
                            "title": format!("合同 {worker}-{i}"), "reason": "基准测试", "count": 1,
                            "from": seal_core_like_date(now), "until": seal_core_like_date(now + 7 * 86_400)}),
                    )
                    .await;
                let id = created["id"].as_str().unwrap();
                let r = employee
                    .http
                    .post(format!("{}/api/v1/applications/{id}/documents?name=scan.pdf", employee.base))
                    .header("x-csrf-token", &employee.csrf)
                    .body(pdf.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
                employee
                    .post(&format!("/api/v1/applications/{id}/submit"), json!({}))
                    .await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let per_second = APPLICATIONS as f64 / elapsed.as_secs_f64();
    println!(
        "applications benchmark ({} cores, SQLite, local blobs, {CONCURRENCY} clients)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  PDF size                          {} bytes (1 page, A4)",
        pdf.len()
    );
    println!("  GET /healthz                      {healthz:.0} requests/s (baseline, same server)");
    println!(
        "  application filed (create + 1 MB upload + submit)  {per_second:.1}/s  ({:.1} MB/s of documents)",
        per_second * pdf.len() as f64 / 1e6
    );
    println!(
        "  per application: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "  ratio applications/s ÷ healthz requests/s: {:.4}",
        per_second / healthz
    );
    server.stop().await;
}

/// `YYYY-MM-DD` of a Unix time (UTC), for the window's end.
fn seal_core_like_date(unix: u64) -> String {
    seal_core::time::Timestamp::from_millis(unix as i64 * 1000)
        .to_string()
        .chars()
        .take(10)
        .collect()
}
