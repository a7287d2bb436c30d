//! Test harness: spawn the whole server on port 0 with a fresh SQLite database (or a fresh
//! PostgreSQL database when `SEALKEEPER_TEST_PG_URL` is set and the test asks for it),
//! a manual clock, and an HTTP client that keeps cookies and the CSRF token.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use seal_app::clock::{Clock, ManualClock};
use seal_core::time::Timestamp;
use seal_server::config::Config;
use serde_json::{Value, json};

/// A strong password every test account uses.
pub const PASSWORD: &str = "Correct-Horse-印章-Battery";

pub struct TestServer {
    pub addr: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub server: Option<seal_server::RunningServer>,
    _dir: tempfile::TempDir,
    /// A PostgreSQL database made for this server: (server URL, database name), dropped at stop.
    postgres: Option<(String, String)>,
}

/// The PostgreSQL server to test against, when `SEALKEEPER_TEST_PG_URL` names one.
pub fn postgres_url() -> Option<String> {
    std::env::var("SEALKEEPER_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

async fn postgres_admin(url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(url)
        .await
        .expect("PostgreSQL answers")
}

impl TestServer {
    pub async fn spawn() -> TestServer {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::default();
        config.server.listen = "127.0.0.1:0".parse().expect("addr");
        config.server.data_dir = dir.path().to_owned();
        // Cheap hashing keeps the suite fast; production costs are tested in seal-app.
        config.security.argon2_memory_kib = 1024;
        config.security.argon2_iterations = 1;
        config.security.login_attempts_per_account_per_minute = 1000;
        config.security.login_attempts_per_address_per_minute = 1000;
        // Press photos are compared only where a test turns the worker on (the generated
        // photos show no document); one OCR engine instance per server is enough.
        config.comparison.worker = false;
        config.comparison.instances = 1;
        adjust(&mut config);
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_795_336_200_000)));
        let server = seal_server::start(&config, clock.clone())
            .await
            .expect("server starts");
        TestServer {
            addr: server.addr,
            clock,
            server: Some(server),
            _dir: dir,
            postgres: None,
        }
    }

    /// A server on a fresh PostgreSQL database, or `None` (with a note) when
    /// `SEALKEEPER_TEST_PG_URL` is not set.
    pub async fn spawn_postgres() -> Option<TestServer> {
        Self::spawn_postgres_with(|_| {}).await
    }

    /// Like [`TestServer::spawn_postgres`], with the configuration adjusted.
    pub async fn spawn_postgres_with(adjust: impl FnOnce(&mut Config)) -> Option<TestServer> {
        use sqlx::Executor;
        let Some(url) = postgres_url() else {
            eprintln!("SEALKEEPER_TEST_PG_URL is not set: skipping the PostgreSQL run");
            return None;
        };
        let name = format!("sk_api_{}", uuid::Uuid::new_v4().simple());
        let mut admin = postgres_admin(&url).await;
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create database");
        let base = url
            .rsplit_once('/')
            .map_or(url.as_str(), |(base, _)| base)
            .to_owned();
        let database_url = format!("{base}/{name}");
        let mut server = Self::spawn_with(|config| {
            config.database.url = seal_server::config::Secret::new(database_url);
            adjust(config);
        })
        .await;
        server.postgres = Some((url, name));
        Some(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client with its own cookie jar.
    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                // Tests look at redirects themselves (the console answers with 303s).
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: format!("http://{}", self.addr),
            csrf: None,
            bearer: None,
            lang: None,
        }
    }

    /// Registers an organisation; returns its admin's signed-in client.
    pub async fn register(&self, code: &str) -> Client {
        let mut admin = self.client();
        let response = admin
            .post(
                "/api/v1/organisations",
                json!({
                    "org_name": format!("{code} 有限公司"),
                    "org_code": code,
                    "admin_name": "王管理",
                    "admin_phone": "13800000001",
                    "admin_password": PASSWORD,
                }),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
        admin.csrf = response.body["session"]["csrf_token"]
            .as_str()
            .map(str::to_owned);
        admin
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            let store = server.app.store().clone();
            server.stop().await;
            store.close().await;
        }
        if let Some((url, name)) = self.postgres.take() {
            use sqlx::Executor;
            let mut admin = postgres_admin(&url).await;
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await
                .expect("drop database");
        }
    }
}

/// An answer: status and JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
    /// The body as text (pages are HTML).
    pub text: String,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    /// Sent as X-CSRF-Token on writes.
    pub csrf: Option<String>,
    /// Sent as Authorization: Bearer.
    pub bearer: Option<String>,
    /// Sent as Accept-Language.
    pub lang: Option<&'static str>,
}

impl Client {
    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.request_with(method, path, body, &[]).await
    }

    /// Like [`Client::request`], with extra headers (e.g. `Origin`).
    pub async fn request_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.prepare(method, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request).await
    }

    /// Sends a raw body with the given content type, or none (for malformed requests).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
    ) -> Answer {
        let mut request = self.prepare(method, path).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        answer(request).await
    }

    /// A request with this client's CSRF token, bearer token and language.
    fn prepare(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(bearer) = &self.bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(lang) = self.lang {
            request = request.header("accept-language", lang);
        }
        request
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.request(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.request(Method::DELETE, path, None).await
    }

    /// Signs in (password only); stores the CSRF token. Returns the answer.
    pub async fn login(&mut self, org_code: &str, login: &str, password: &str) -> Answer {
        let answer = self
            .post(
                "/api/v1/auth/login",
                json!({"org_code": org_code, "login": login, "password": password}),
            )
            .await;
        if answer.status == StatusCode::OK {
            self.csrf = answer.body["csrf_token"].as_str().map(str::to_owned);
        }
        answer
    }
}

/// Sends a request and reads its answer (the body as JSON, Null when empty or not JSON).
async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("request is answered");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        headers,
        text,
    }
}

impl TestServer {
    /// The manual clock's time in whole Unix seconds (what TOTP codes are computed from).
    pub fn unix_seconds(&self) -> u64 {
        u64::try_from(self.clock.now().as_millis() / 1000).expect("after 1970")
    }

    /// A client whose cookie jar holds `token` as the session cookie: replays a captured
    /// cookie from a different client.
    pub fn client_with_session(&self, token: &str) -> Client {
        let base = format!("http://{}", self.addr);
        let jar = reqwest::cookie::Jar::default();
        jar.add_cookie_str(
            &format!("sk_session={token}; Path=/"),
            &base.parse().expect("url"),
        );
        Client {
            http: reqwest::Client::builder()
                .cookie_provider(Arc::new(jar))
                .build()
                .expect("client"),
            base,
            csrf: None,
            bearer: None,
            lang: None,
        }
    }
}

impl Answer {
    /// Every `Set-Cookie` header of the answer.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    /// The session token this answer sets (`sk_session=…`), if it sets a non-empty one.
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookies().iter().find_map(|cookie| {
            let value = cookie.strip_prefix("sk_session=")?.split(';').next()?;
            (!value.is_empty()).then(|| value.to_owned())
        })
    }
}

/// The id of a built-in role in the admin's organisation.
pub async fn role_id(admin: &Client, key: &str) -> String {
    let roles = admin.get("/api/v1/roles").await;
    roles
        .body
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["builtin"] == key)
        .and_then(|r| r["id"].as_str())
        .expect("role exists")
        .to_owned()
}

/// Creates a person holding one built-in role with a known password; returns their id.
pub async fn add_person(admin: &Client, name: &str, phone: &str, role: &str) -> String {
    let role = role_id(admin, role).await;
    let answer = admin
        .post(
            "/api/v1/people",
            json!({"name": name, "phone": phone, "role_ids": [role], "password": PASSWORD}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    answer.body["person"]["id"].as_str().expect("id").to_owned()
}
