//! Benchmark: stamp events ingested per second from many simulated devices, against a real
//! `sealkeeper serve` process on loopback (SQLite), with the server's `GET /healthz` in
//! the same run as the baseline; and the server's resident memory idle and holding one
//! WebSocket command stream per device. Run by `cargo xtask bench devices` (which builds
//! the release binary and passes it as `SEALKEEPER_BIN`); prints the figures for
//! docs/benchmarks.md. Devices: `BENCH_DEVICES` (default 1000).
//!
//! With `BENCH_MODE=verify` (`cargo xtask bench verify`): a few devices press once each,
//! then public verification `GET /api/v1/verify/{code}` of those stamps is loaded by 64
//! clients, alternating with `GET /healthz` of the same server, and requests per second,
//! their ratio and p50/p99 latencies are printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use seal_device::DeviceClient;
use seal_device::photo::PhotoMaker;
use seal_proof::keys::SigningKey;
use seal_proof::wire::{Position, StampEvent};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const PASSWORD: &str = "Correct-Horse-印章-Battery";
/// Setup requests in flight at once.
const SETUP_CONCURRENCY: usize = 32;

struct Api {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        let value: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn login(base: &str, phone: &str) -> Api {
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
        Api {
            http,
            base: base.to_owned(),
            csrf: r["csrf_token"].as_str().unwrap().to_owned(),
        }
    }
}

struct Server {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let binary = std::env::var("SEALKEEPER_BIN")
            .expect("SEALKEEPER_BIN: the sealkeeper binary (cargo xtask bench devices sets it)");
        let data = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data.path())
            .env("SEALKEEPER__LOG__LEVEL", "warn")
            // The benchmark verifies from one address, far beyond a visitor's limit.
            .env(
                "SEALKEEPER__PROOFS__VERIFY_PER_ADDRESS_PER_MINUTE",
                "100000000",
            )
            .env(
                "SEALKEEPER__SECURITY__LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE",
                "1000",
            )
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            child,
            base,
            _data: data,
        }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tiny_png() -> Vec<u8> {
    let image = image::RgbImage::from_pixel(64, 90, image::Rgb([250, 250, 250]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// One device ready to press: its client and grant.
struct Ready {
    client: DeviceClient,
    grant: String,
    application: String,
}

/// The requests of one measured round: every device sends `requests` requests of
/// `per_request` events each, all devices at once.
struct Round {
    events: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

async fn press_round(
    devices: &Arc<Vec<Ready>>,
    next_seq: &Arc<Vec<std::sync::atomic::AtomicU64>>,
    requests: usize,
    per_request: usize,
    photo: Option<Arc<String>>,
) -> Round {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for index in 0..devices.len() {
        let devices = devices.clone();
        let next_seq = next_seq.clone();
        let photo = photo.clone();
        tasks.push(tokio::spawn(async move {
            let device = &devices[index];
            let mut latencies = Vec::new();
            for _ in 0..requests {
                let events: Vec<StampEvent> = (0..per_request)
                    .map(|_| StampEvent {
                        seq: next_seq[index].fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                        grant_id: device.grant.clone(),
                        at: device.client.now_ms(),
                        position: Some(Position {
                            lat: 31.2304,
                            lon: 121.4737,
                            accuracy_m: 5.0,
                        }),
                        press_ms: 420,
                        factors: vec!["pin".to_owned()],
                        photo: photo.as_ref().map(|p| p.as_str().to_owned()),
                    })
                    .collect();
                let sent = Instant::now();
                let result = device.client.send_events(&events).await.unwrap();
                latencies.push(sent.elapsed());
                assert!(result.results.iter().all(|r| r.result == "stored"));
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    Round {
        events: devices.len() * requests * per_request,
        seconds,
        latencies,
    }
}

/// An offered load below saturation: every device sends one event every `period`,
/// `requests` times, the devices spread evenly over the period; latency per request.
async fn paced_round(
    devices: &Arc<Vec<Ready>>,
    next_seq: &Arc<Vec<std::sync::atomic::AtomicU64>>,
    requests: usize,
    period: Duration,
) -> Round {
    let started = Instant::now();
    let mut tasks = Vec::new();
    let n = devices.len();
    for index in 0..n {
        let devices = devices.clone();
        let next_seq = next_seq.clone();
        tasks.push(tokio::spawn(async move {
            let device = &devices[index];
            let offset = period.mul_f64(index as f64 / n as f64);
            let mut latencies = Vec::new();
            for round in 0..requests {
                let due = started + offset + period * round as u32;
                tokio::time::sleep_until(due.into()).await;
                let event = StampEvent {
                    seq: next_seq[index].fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    grant_id: device.grant.clone(),
                    at: device.client.now_ms(),
                    position: None,
                    press_ms: 420,
                    factors: vec!["pin".to_owned()],
                    photo: None,
                };
                let sent = Instant::now();
                let result = device.client.send_events(&[event]).await.unwrap();
                latencies.push(sent.elapsed());
                assert_eq!(result.results[0].result, "stored");
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    Round {
        events: n * requests,
        seconds,
        latencies,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `clients` connections request the URLs round-robin for `seconds`: requests per second
/// and every latency, sorted.
async fn load(urls: Arc<Vec<String>>, clients: usize, seconds: f64) -> (f64, Vec<Duration>) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, urls) = (http.clone(), urls.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = c;
            while started.elapsed().as_secs_f64() < seconds {
                let sent = Instant::now();
                let r = http.get(&urls[i % urls.len()]).send().await.unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                r.bytes().await.unwrap();
                latencies.push(sent.elapsed());
                i += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let rps = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort();
    (rps, all)
}

/// Public verification against `/healthz`, alternating (see the module docs).
async fn verify_bench(
    base: &str,
    devices: &Arc<Vec<Ready>>,
    next_seq: &Arc<Vec<std::sync::atomic::AtomicU64>>,
    employee: &Api,
) {
    press_round(devices, next_seq, 1, 1, None).await;
    let mut codes = Vec::new();
    for d in devices.iter() {
        let stamps = employee
            .send(
                reqwest::Method::GET,
                &format!("/api/v1/applications/{}/stamps", d.application),
                None,
            )
            .await;
        for s in stamps.as_array().unwrap() {
            codes.push(s["code"].as_str().unwrap().to_owned());
        }
    }
    let verify: Arc<Vec<String>> = Arc::new(
        codes
            .iter()
            .map(|c| format!("{base}/api/v1/verify/{c}"))
            .collect(),
    );
    let health = Arc::new(vec![format!("{base}/healthz")]);
    let sample = reqwest::get(&verify[0])
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut rounds = Vec::new();
    for _ in 0..2 {
        rounds.push(("GET /healthz", load(health.clone(), 64, 4.0).await));
        rounds.push((
            "GET /api/v1/verify/{code}",
            load(verify.clone(), 64, 4.0).await,
        ));
    }
    println!();
    println!(
        "verify benchmark: {} stamps, sealkeeper serve (release, SQLite) on loopback, 64 clients in one process ({} cores shared); answer {} bytes",
        codes.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        sample.len()
    );
    for (name, (rps, latencies)) in &rounds {
        println!(
            "  {name:<28} {rps:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
            ms(percentile(latencies, 0.5)),
            ms(percentile(latencies, 0.99))
        );
    }
    let mean = |name: &str| {
        let v: Vec<f64> = rounds
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, (rps, _))| *rps)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    println!(
        "  verify / healthz: {:.2}x (target >= 0.8x)",
        mean("GET /api/v1/verify/{code}") / mean("GET /healthz")
    );
}

async fn healthz_rps(base: &str, seconds: f64) -> f64 {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let http = http.clone();
        let url = format!("{base}/healthz");
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while started.elapsed().as_secs_f64() < seconds {
                http.get(&url).send().await.unwrap().bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// A fresh server: `count` devices enrolled and approved (nothing else), its RSS idle,
/// then idle while holding one WebSocket command stream per device.
async fn connections_rss(count: usize) -> (u64, u64) {
    let server = Server::start();
    let base = server.base.clone();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let registered: Value = http
        .post(format!("{base}/api/v1/organisations"))
        .json(
            &json!({"org_name": "连接基准有限公司", "org_code": "bench", "admin_name": "王管理",
            "admin_phone": "13800000001", "admin_password": PASSWORD}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = Arc::new(Api {
        http,
        base: base.clone(),
        csrf: registered["session"]["csrf_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    });
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut tasks = Vec::new();
    for i in 0..count {
        let (admin, gate, base) = (admin.clone(), gate.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let token = admin
                .post(
                    "/api/v1/device-enrolment-tokens",
                    json!({"kind": "seal_box"}),
                )
                .await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            let client = DeviceClient::new(&base, SigningKey::generate(), None).unwrap();
            let device = client
                .enrol(
                    &token,
                    "seal_box",
                    &format!("CONN-{i:05}"),
                    &format!(
                        "02:00:5f:{:02x}:{:02x}:{:02x}",
                        i >> 16,
                        (i >> 8) & 255,
                        i & 255
                    ),
                    "bench-1.0",
                )
                .await
                .unwrap()
                .device_id;
            admin
                .post(&format!("/api/v1/devices/{device}/approve"), json!({}))
                .await;
            client
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = server.rss_kib();
    let mut streams = Vec::new();
    for client in &clients {
        streams.push(client.open_stream().await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let holding = server.rss_kib();
    drop(streams);
    (idle, holding)
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("BENCH_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let server = Server::start();
    let base = server.base.clone();
    let setup_started = Instant::now();

    // An organisation with an employee and an approver, and a default flow.
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let registered: Value = http
        .post(format!("{base}/api/v1/organisations"))
        .json(
            &json!({"org_name": "设备基准有限公司", "org_code": "bench", "admin_name": "王管理",
            "admin_phone": "13800000001", "admin_password": PASSWORD}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = Arc::new(Api {
        http,
        base: base.clone(),
        csrf: registered["session"]["csrf_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    });
    let roles = admin
        .send(reqwest::Method::GET, "/api/v1/roles", None)
        .await;
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
    admin
        .post(
            "/api/v1/flows",
            json!({"name": "默认", "is_default": true, "steps": [{"name": "审批", "approvers": "role", "role_id": role("approver"), "rule": "any"}]}),
        )
        .await;
    let employee = Arc::new(Api::login(&base, "13800000005").await);
    let approver = Arc::new(Api::login(&base, "13800000003").await);
    let png = bytes::Bytes::from(tiny_png());

    // Per device: a seal (level 3: PIN), an approved application of 999 presses, an
    // enrolment token; the device enrols, is approved and bound, and unlocks.
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut tasks = Vec::new();
    for i in 0..count {
        let (admin, employee, approver, gate, png, base) = (
            admin.clone(),
            employee.clone(),
            approver.clone(),
            gate.clone(),
            png.clone(),
            base.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let seal = admin
                .post(
                    "/api/v1/seals",
                    json!({"name": format!("基准章{i:04}"), "kind": "seal_box", "seal_type": "contract", "level": 3}),
                )
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let application = employee
                .post(
                    "/api/v1/applications",
                    json!({"seal_id": seal, "stamp_kind": "ordinary", "title": "基准", "reason": "基准测试",
                        "count": 999, "from": rfc3339(now - 60), "until": rfc3339(now + 86_400)}),
                )
                .await;
            let id = application["id"].as_str().unwrap().to_owned();
            let r = employee
                .http
                .post(format!("{base}/api/v1/applications/{id}/documents?name=page.png"))
                .header("x-csrf-token", &employee.csrf)
                .header("content-type", "image/png")
                .body(png)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "upload: {}", r.status());
            employee
                .post(&format!("/api/v1/applications/{id}/submit"), json!({}))
                .await;
            approver
                .post(
                    &format!("/api/v1/applications/{id}/decision"),
                    json!({"verdict": "approve", "comment": ""}),
                )
                .await;
            let token = admin
                .post(
                    "/api/v1/device-enrolment-tokens",
                    json!({"kind": "seal_box"}),
                )
                .await["token"]
                .as_str()
                .unwrap()
                .to_owned();
            let client = DeviceClient::new(&base, SigningKey::generate(), None).unwrap();
            let enrolled = client
                .enrol(
                    &token,
                    "seal_box",
                    &format!("BENCH-{i:05}"),
                    &format!("02:00:5e:{:02x}:{:02x}:{:02x}", i >> 16, (i >> 8) & 255, i & 255),
                    "bench-1.0",
                )
                .await
                .unwrap();
            let device = enrolled.device_id;
            admin
                .post(&format!("/api/v1/devices/{device}/approve"), json!({}))
                .await;
            admin
                .send(
                    reqwest::Method::PATCH,
                    &format!("/api/v1/devices/{device}"),
                    Some(json!({"seal_id": seal})),
                )
                .await;
            client.me().await.unwrap();
            let grant = client
                .unlock(application["number"].as_str().unwrap())
                .await
                .unwrap();
            Ready {
                grant: grant.grant.grant_id.clone(),
                client,
                application: id,
            }
        }));
    }
    let mut ready = Vec::new();
    for t in tasks {
        ready.push(t.await.unwrap());
    }
    let devices = Arc::new(ready);
    let next_seq: Arc<Vec<std::sync::atomic::AtomicU64>> = Arc::new(
        (0..count)
            .map(|_| std::sync::atomic::AtomicU64::new(1))
            .collect(),
    );
    let setup = setup_started.elapsed();
    if std::env::var("BENCH_MODE").as_deref() == Ok("verify") {
        verify_bench(&base, &devices, &next_seq, &employee).await;
        return;
    }
    let idle_rss = server.rss_kib();

    // Every device holds a WebSocket command stream: the server's memory with them all,
    // idle (before any load), then the load rounds.
    let mut streams = Vec::new();
    for device in devices.iter() {
        streams.push(device.client.open_stream().await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let streams_rss = server.rss_kib();

    // Baseline and rounds, alternating so both see the same machine.
    let health_before = healthz_rps(&base, 3.0).await;
    let single = press_round(&devices, &next_seq, 10, 1, None).await;
    let batched = press_round(&devices, &next_seq, 2, 10, None).await;
    // 1,000 devices each pressing every second: 1,000 events/s offered.
    let paced = paced_round(&devices, &next_seq, 10, Duration::from_secs(1)).await;
    let health_after = healthz_rps(&base, 3.0).await;
    let mut maker = PhotoMaker::new(200);
    let photo_bytes = maker.make(7).unwrap().unwrap();
    let photo = Arc::new(STANDARD.encode(&photo_bytes));
    let photos = press_round(&devices, &next_seq, 1, 1, Some(photo)).await;
    drop(streams);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_rss = server.rss_kib();

    drop(server);
    let (fresh_idle, fresh_holding) = connections_rss(count).await;
    let health = (health_before + health_after) / 2.0;
    println!();
    println!(
        "devices benchmark: {count} devices, sealkeeper serve (release, SQLite) on loopback, clients in one process ({} cores shared)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  setup (seals, approved applications, enrol, approve, bind, unlock)  {:.1} s",
        setup.as_secs_f64()
    );
    println!(
        "  GET /healthz (64 clients, before/after)  {health_before:.0} / {health_after:.0} req/s"
    );
    for (name, round) in [
        ("1 event per request, no photo", &single),
        ("10 events per request, no photo", &batched),
        ("paced: each device 1 event/s", &paced),
        ("1 event per request, 200 KB photo", &photos),
    ] {
        let rps = round.latencies.len() as f64 / round.seconds;
        println!(
            "  {name:<36} {:>8.0} events/s  {:>7.0} req/s ({:.2}x healthz)  p50 {:>6.1} ms  p99 {:>7.1} ms  ({} events)",
            round.events as f64 / round.seconds,
            rps,
            rps / health,
            ms(percentile(&round.latencies, 0.5)),
            ms(percentile(&round.latencies, 0.99)),
            round.events
        );
    }
    println!(
        "  photo size {:.0} KB; server RSS after setup {:.1} MB, idle holding {count} WebSocket streams {:.1} MB, after the load {:.1} MB",
        photo_bytes.len() as f64 / 1024.0,
        idle_rss as f64 / 1024.0,
        streams_rss as f64 / 1024.0,
        after_rss as f64 / 1024.0
    );
    println!(
        "  fresh server, {count} devices enrolled and approved: RSS idle {:.1} MB, holding {count} WebSocket streams {:.1} MB",
        fresh_idle as f64 / 1024.0,
        fresh_holding as f64 / 1024.0
    );
    println!(
        "  targets: >= 10,000 signed, durably committed events/s without photos, p99 <= 50 ms; <= 100 MB RSS with 1,000 devices connected"
    );
}

/// Unix seconds as RFC 3339.
fn rfc3339(seconds: u64) -> String {
    seal_core::time::Timestamp::from_millis(seconds as i64 * 1000).to_string()
}
