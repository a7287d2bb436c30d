//! What the end-to-end tests share: the `sealkeeper` binary as child processes (a
//! server on a fresh data folder, CLI runs), and the people's side over the JSON API (a
//! cookie session with its CSRF token, an organisation with an admin, an approver and an
//! employee, seals). Each test binary uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A strong password every test account uses.
pub const PASSWORD: &str = "Correct-Horse-印章-Battery";
/// The organisation code of every test (each test has its own server).
pub const ORG: &str = "acme";
/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(60);

// ----- processes ----------------------------------------------------------------------

/// The `sealkeeper` binary with the developer's own settings kept out.
pub fn sealkeeper() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sealkeeper"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SEALKEEPER") {
            command.env_remove(key);
        }
    }
    command.env_remove("RUST_LOG");
    command
}

/// A child process whose stdout lines arrive on a channel and whose stderr is kept (both
/// are printed when a test fails). Dropping it kills the process.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub lines: mpsc::UnboundedReceiver<String>,
    pub seen: Vec<String>,
    pub stderr: Arc<Mutex<String>>,
}

impl Proc {
    pub fn spawn(name: &str, mut command: Command) -> Proc {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let (sender, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let kept = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                kept.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Proc {
            name: name.to_owned(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// What the process said so far (for failure messages).
    pub fn report(&self) -> String {
        format!(
            "--- {} stdout ---\n{}\n--- {} stderr ---\n{}",
            self.name,
            self.seen.join("\n"),
            self.name,
            self.stderr.lock().unwrap()
        )
    }

    /// The first line (from now on) that `wanted` accepts; fails when the process ends
    /// or nothing comes within `within`.
    pub async fn line(
        &mut self,
        what: &str,
        wanted: impl Fn(&str) -> bool,
        within: Duration,
    ) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Ok(None) => panic!("{} ended before {what}\n{}", self.name, self.report()),
                Err(_) => panic!(
                    "{} printed no {what} within {within:?}\n{}",
                    self.name,
                    self.report()
                ),
            }
        }
    }

    /// Reads every remaining line, then the exit status (within `within`).
    pub async fn finish(&mut self, within: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => self.seen.push(line),
                Ok(None) => break,
                Err(_) => panic!(
                    "{} did not end within {within:?}\n{}",
                    self.name,
                    self.report()
                ),
            }
        }
        // Its stdout is closed: the process is ending.
        tokio::task::block_in_place(|| self.child.wait()).expect("wait")
    }

    /// Like [`Proc::finish`], and the process must have succeeded; returns every line.
    pub async fn succeed(&mut self) -> Vec<String> {
        let status = self.finish(WAIT).await;
        assert!(
            status.success(),
            "{} exited with {status}\n{}",
            self.name,
            self.report()
        );
        self.seen.clone()
    }

    /// `kill -9`, and the lines it printed before.
    pub async fn kill9(&mut self) -> Vec<String> {
        self.child.kill().expect("SIGKILL");
        let status = self.finish(WAIT).await;
        assert!(!status.success(), "{} was killed", self.name);
        self.seen.clone()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{}", self.report());
        }
    }
}

/// `sealkeeper serve` on a free port with a fresh data folder.
pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    pub proc: Proc,
    pub data: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        let data = tempfile::tempdir().expect("tempdir");
        let mut command = sealkeeper();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data.path())
            // Cheap hashing keeps the tests fast; production costs are tested in seal-app.
            .env("SEALKEEPER__SECURITY__ARGON2_MEMORY_KIB", "1024")
            .env("SEALKEEPER__SECURITY__ARGON2_ITERATIONS", "1")
            .env(
                "SEALKEEPER__SECURITY__LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE",
                "1000",
            )
            .env(
                "SEALKEEPER__SECURITY__LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE",
                "1000",
            )
            .env("SEALKEEPER__LOG__LEVEL", "warn")
            // The simulated presses photograph no document: their photos are not compared.
            .env("SEALKEEPER__COMPARISON__WORKER", "false")
            .env("SEALKEEPER__COMPARISON__INSTANCES", "1");
        let mut proc = Proc::spawn("server", command);
        // "Sealkeeper is listening on http://127.0.0.1:PORT  (Ctrl-C to stop)"
        let line = proc
            .line("its address", |l| l.contains("http://"), WAIT)
            .await;
        let addr: SocketAddr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let server = Server {
            base: format!("http://{addr}"),
            addr,
            proc,
            data,
        };
        server.wait_ready().await;
        server
    }

    /// The server's data folder.
    pub fn data_dir(&self) -> String {
        self.data.path().display().to_string()
    }

    /// Kills the server (`kill -9`: SQLite's WAL keeps every committed write) and keeps
    /// its data folder.
    pub fn stop(self) -> tempfile::TempDir {
        let Server { proc, data, .. } = self;
        drop(proc);
        data
    }

    pub async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server is not ready\n{}",
                self.proc.report()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A client with its own cookie jar.
    pub fn client(&self) -> Api {
        Api {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: self.base.clone(),
            csrf: None,
        }
    }
}

// ----- the JSON API -------------------------------------------------------------------

/// An answer: status and JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

#[track_caller]
pub fn check(answer: &Answer, status: StatusCode) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
}

#[track_caller]
pub fn check_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(
        (answer.status, answer.code()),
        (status, code),
        "{:#}",
        answer.body
    );
}

pub fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

pub fn list(value: &Value) -> Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .clone()
}

/// A person's client: cookie session and CSRF token.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: Option<String>,
}

impl Api {
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request
    }

    pub async fn send(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        Self::send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        Self::send(self.request(Method::POST, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        Self::send(self.request(Method::PATCH, path).json(&body)).await
    }

    pub async fn upload(&self, path: &str, bytes: Vec<u8>) -> Answer {
        Self::send(
            self.request(Method::POST, path)
                .header("content-type", "application/octet-stream")
                .body(bytes),
        )
        .await
    }

    /// Raw bytes of a GET, with the content type.
    pub async fn bytes(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let response = self
            .request(Method::GET, path)
            .send()
            .await
            .expect("answered");
        let status = response.status();
        let media = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (
            status,
            media,
            response.bytes().await.expect("body").to_vec(),
        )
    }

    pub async fn login(&mut self, phone: &str) {
        let answer = self
            .post(
                "/api/v1/auth/login",
                json!({"org_code": ORG, "login": phone, "password": PASSWORD}),
            )
            .await;
        check(&answer, StatusCode::OK);
        self.csrf = Some(text(&answer.body["csrf_token"]));
    }
}

/// An organisation: its admin (who manages seals and devices), the approver of the
/// default flow's only step, and an employee who files applications.
pub struct Org {
    pub admin: Api,
    pub approver: Api,
    pub employee: Api,
}

pub async fn org(server: &Server) -> Org {
    let mut admin = server.client();
    let answer = admin
        .post(
            "/api/v1/organisations",
            json!({
                "org_name": "Acme 有限公司",
                "org_code": ORG,
                "admin_name": "王管理",
                "admin_phone": "13800000001",
                "admin_password": PASSWORD,
            }),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    admin.csrf = Some(text(&answer.body["session"]["csrf_token"]));
    let roles = admin.get("/api/v1/roles").await;
    check(&roles, StatusCode::OK);
    let role = |key: &str| {
        list(&roles.body)
            .into_iter()
            .find(|r| r["builtin"] == key)
            .map(|r| text(&r["id"]))
            .unwrap_or_else(|| panic!("no built-in role {key}"))
    };
    let mut people = BTreeMap::new();
    for (name, phone, key) in [
        ("张审批", "13900000011", "approver"),
        ("钱员工", "13900000014", "employee"),
    ] {
        let answer = admin
            .post(
                "/api/v1/people",
                json!({"name": name, "phone": phone, "role_ids": [role(key)], "password": PASSWORD}),
            )
            .await;
        check(&answer, StatusCode::CREATED);
        people.insert(key, text(&answer.body["person"]["id"]));
    }
    let answer = admin
        .post(
            "/api/v1/flows",
            json!({
                "name": "默认流程",
                "is_default": true,
                "steps": [{"name": "审批", "approvers": "people", "people": [people["approver"]], "rule": "any"}],
            }),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    let mut approver = server.client();
    approver.login("13900000011").await;
    let mut employee = server.client();
    employee.login("13900000014").await;
    Org {
        admin,
        approver,
        employee,
    }
}

/// Registers a contract seal (40 mm round) of a level: 1 demands fingerprint+face, 2
/// fingerprint, 3 pin|id_code.
pub async fn seal(admin: &Api, name: &str, level: i64) -> String {
    let answer = admin
        .post(
            "/api/v1/seals",
            json!({"name": name, "kind": "seal_box", "seal_type": "contract", "level": level}),
        )
        .await;
    check(&answer, StatusCode::CREATED);
    text(&answer.body["id"])
}

pub fn unix_now() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(elapsed.as_secs()).expect("seconds")
}

/// Unix seconds as RFC 3339 in UTC.
pub fn rfc3339(unix: i64) -> String {
    seal_core::time::Timestamp::from_millis(unix * 1000).to_string()
}
