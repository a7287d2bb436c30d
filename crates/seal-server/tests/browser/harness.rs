//! The browser fixture: a `chromedriver` child process on a free port, a headless Chromium
//! session with a fresh profile, and helpers that panic with the current URL and page
//! source when the page is not what the test expects.
//!
//! ```ignore
//! let Some((server, browser)) = harness::start().await else { return };
//! browser.goto("/login").await;
//! browser.fill("input[name=login]", "13800000001").await;
//! browser.click("button[type=submit]").await;
//! browser.wait_for("nav").await;
//! browser.screenshots("home").await;
//! browser.close().await;
//! server.stop().await;
//! ```

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::common::TestServer;

/// Set to `1` to turn every browser test into a printed note (machines without Chromium).
pub const SKIP_ENV: &str = "SEALKEEPER_SKIP_BROWSER";
/// Overrides the ChromeDriver binary (default `/usr/bin/chromedriver`).
pub const CHROMEDRIVER_ENV: &str = "SEALKEEPER_CHROMEDRIVER";
/// Overrides the Chromium binary (default `/usr/bin/chromium`).
pub const CHROMIUM_ENV: &str = "SEALKEEPER_CHROMIUM";
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// How long the `wait_for`-style helpers wait before failing the test.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The viewport a browser starts with (width, height in CSS pixels).
pub const DESKTOP: (u32, u32) = (1280, 800);
/// The phone width for the second screenshot of a page.
pub const PHONE_WIDTH: u32 = 390;
/// Full-page screenshots are cut at this height.
const MAX_SCREENSHOT_HEIGHT: u32 = 6000;
const POLL: Duration = Duration::from_millis(50);

/// Chromium's command line. The first eight are what this machine kind needs (no sandbox
/// as root; no background connections, which the closed network refuses); the rest make
/// screenshots stable and keep Chromium within a small container's /dev/shm.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
    "--lang=zh-CN",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--password-store=basic",
];

/// Whether `SEALKEEPER_SKIP_BROWSER=1` asks to skip the browser tests.
pub fn skipped() -> bool {
    std::env::var(SKIP_ENV).is_ok_and(|value| value.trim() == "1")
}

/// A fresh server (SQLite in a tempdir, cheap argon2) and a browser pointed at it, or
/// `None` after a printed note when `SEALKEEPER_SKIP_BROWSER=1`.
pub async fn start() -> Option<(TestServer, Browser)> {
    if skip_note() {
        return None;
    }
    let server = TestServer::spawn().await;
    let browser = Browser::launch(&server.url("")).await?;
    Some((server, browser))
}

/// Prints the skip note and returns true when the browser tests are to be skipped.
fn skip_note() -> bool {
    let skip = skipped();
    if skip {
        eprintln!("note: {SKIP_ENV}=1 is set: skipping this browser test");
    }
    skip
}

/// The ChromeDriver and Chromium binaries, from the environment or Debian's paths.
fn binaries() -> (PathBuf, PathBuf) {
    let from_env = |name: &str, default: &str| {
        std::env::var_os(name)
            .filter(|value| !value.is_empty())
            .map_or_else(|| PathBuf::from(default), PathBuf::from)
    };
    (
        from_env(CHROMEDRIVER_ENV, DEFAULT_CHROMEDRIVER),
        from_env(CHROMIUM_ENV, DEFAULT_CHROMIUM),
    )
}

/// `Err` with what to do when either binary is missing.
pub fn check_binaries(chromedriver: &Path, chromium: &Path) -> Result<(), String> {
    let missing: Vec<String> = [
        (chromedriver, "chromium-driver", CHROMEDRIVER_ENV),
        (chromium, "chromium", CHROMIUM_ENV),
    ]
    .into_iter()
    .filter(|(path, _, _)| !path.is_file())
    .map(|(path, package, env)| {
        format!(
            "{} (Debian package {package}; or point {env} at one)",
            path.display()
        )
    })
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the browser tests need Chromium and ChromeDriver, but these are missing: {}.\n\
         Run `cargo xtask setup` (as root it installs chromium, chromium-driver and \
         fonts-noto-cjk with apt-get), or set {SKIP_ENV}=1 to skip the browser tests.",
        missing.join("; ")
    ))
}

/// The directory screenshots are saved in: `$CARGO_TARGET_DIR/screenshots`, else
/// `<workspace>/target/screenshots`.
pub fn screenshots_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_TARGET_DIR").map(PathBuf::from))
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
    target.join("screenshots")
}

/// A port nobody listens on right now (the kernel's pick for port 0, released again).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// The last `max` characters of a file, for failure messages.
fn tail(path: &Path, max: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let skip = text.chars().count().saturating_sub(max);
    text.chars().skip(skip).collect()
}

/// The first `max` characters of `text`, marked when cut.
fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…[{} more bytes]", &text[..cut], text.len() - cut),
        None => text.to_owned(),
    }
}

/// A `chromedriver` child process in its own process group; killed (with any Chromium it
/// started) on drop.
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    /// Starts ChromeDriver on a free port and waits until it answers `/status`. A port
    /// taken between the pick and the bind makes ChromeDriver exit; it is retried.
    async fn start(binary: &Path, dir: &Path) -> Driver {
        use std::os::unix::process::CommandExt;
        let mut failures = Vec::new();
        for attempt in 1..=3 {
            let port = free_port();
            let log = dir.join(format!("chromedriver-{attempt}.log"));
            let file = File::create(&log).expect("chromedriver log file");
            let child = Command::new(binary)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(file.try_clone().expect("log file handle"))
                .stderr(file)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|error| {
                    panic!("cannot start {}: {error}", binary.display());
                });
            let mut driver = Driver { child, port, log };
            match driver.wait_ready().await {
                Ok(()) => return driver,
                Err(error) => failures.push(format!(
                    "attempt {attempt} on port {port}: {error}; its log:\n{}",
                    tail(&driver.log, 2000)
                )),
            }
        }
        panic!(
            "ChromeDriver ({}) did not start:\n{}",
            binary.display(),
            failures.join("\n")
        );
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = format!("http://127.0.0.1:{}/status", self.port);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("HTTP client");
        loop {
            if let Some(exit) = self.child.try_wait().expect("chromedriver status") {
                return Err(format!("ChromeDriver exited with {exit}"));
            }
            if let Ok(response) = http.get(&status).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err("ChromeDriver did not answer /status within 10 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: ChromeDriver and any Chromium it left behind.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One headless Chromium, driven through its own ChromeDriver, aimed at one server.
///
/// The helpers panic with a message that names the selector, the current URL and an
/// excerpt of the page source, so a failing test explains itself.
pub struct Browser {
    client: Client,
    base: String,
    /// The WebDriver session, until it is closed.
    session: Option<String>,
    /// How much taller the window is than its viewport (headless Chromium still counts
    /// a frame around the page).
    frame_height: u32,
    driver: Driver,
    /// Chromium's `--user-data-dir` and ChromeDriver's logs; removed last.
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts ChromeDriver and Chromium for the server at `base` (e.g.
    /// `http://127.0.0.1:4321`). `None` (after a note) when `SEALKEEPER_SKIP_BROWSER=1`;
    /// panics naming `cargo xtask setup` when Chromium or ChromeDriver is missing.
    pub async fn launch(base: &str) -> Option<Browser> {
        if skip_note() {
            return None;
        }
        let (chromedriver, chromium) = binaries();
        if let Err(message) = check_binaries(&chromedriver, &chromium) {
            panic!("{message}");
        }
        let profile = tempfile::Builder::new()
            .prefix("sealkeeper-browser-")
            .tempdir()
            .expect("tempdir for the browser profile");
        let driver = Driver::start(&chromedriver, profile.path()).await;

        let user_data_dir = profile.path().join("profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|&arg| arg.to_owned()).collect();
        args.push(format!("--user-data-dir={}", user_data_dir.display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": args,
                // What Accept-Language sends; --lang alone sets only the UI language.
                "prefs": {"intl.accept_languages": "zh-CN,zh"},
            }),
        );
        capabilities.insert("goog:loggingPrefs".to_owned(), json!({"browser": "ALL"}));
        capabilities.insert(
            "timeouts".to_owned(),
            // Pages load in milliseconds; a document comparison posts and waits for seconds.
            json!({"pageLoad": 60_000, "script": 5_000, "implicit": 0}),
        );
        let connect = async {
            ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities)
                .connect(&driver.url())
                .await
        };
        let client = match tokio::time::timeout(Duration::from_secs(20), connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => panic!(
                "Chromium ({}) did not start through ChromeDriver: {error}\nChromeDriver's log:\n{}",
                chromium.display(),
                tail(&driver.log, 3000)
            ),
            Err(_) => panic!(
                "Chromium ({}) did not start within 20 s\nChromeDriver's log:\n{}",
                chromium.display(),
                tail(&driver.log, 3000)
            ),
        };
        let session = client.session_id().await.ok().flatten();
        let mut browser = Browser {
            client,
            base: base.trim_end_matches('/').to_owned(),
            session,
            frame_height: 0,
            driver,
            _profile: profile,
        };
        let window_height = match browser.client.get_window_size().await {
            Ok((_, height)) => u32::try_from(height).unwrap_or(DESKTOP.1),
            Err(error) => panic!("cannot read the window size: {error}"),
        };
        let (_, viewport_height) = browser.viewport().await;
        browser.frame_height = window_height.saturating_sub(viewport_height);
        browser.set_size(DESKTOP.0, DESKTOP.1).await;
        Some(browser)
    }

    /// The fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The absolute URL of `path` on the server (`path` as is when it is a whole URL:
    /// `http:`, `https:`, `data:` or `about:`).
    pub fn url(&self, path: &str) -> String {
        if ["http://", "https://", "data:", "about:"]
            .iter()
            .any(|scheme| path.starts_with(scheme))
        {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Opens `path` (e.g. `/login`) and waits for the page to load.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        if let Err(error) = self.client.goto(&url).await {
            panic!("cannot open {url}: {error}");
        }
    }

    /// The current URL.
    pub async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(String::from)
            .unwrap_or_else(|error| format!("<current URL unknown: {error}>"))
    }

    /// The current path with its query, e.g. `/people?page=2`.
    pub async fn path(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            },
            Err(error) => panic!("cannot read the current URL: {error}"),
        }
    }

    /// The page source as the browser has it now.
    pub async fn source(&self) -> String {
        self.client
            .source()
            .await
            .unwrap_or_else(|error| format!("<source unavailable: {error}>"))
    }

    /// A failure message: `what`, then the current URL, title and a page source excerpt.
    pub async fn failure(&self, what: &str) -> String {
        let url = self.current_url().await;
        let title = self.client.title().await.unwrap_or_default();
        let source = self.source().await;
        format!(
            "{what}\n  current URL: {url}\n  title: {title}\n  page source (excerpt):\n{}",
            excerpt(&source, 3000)
        )
    }

    /// The first element matching `css`, waiting up to [`TIMEOUT`] for it to appear.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.wait_for_within(css, TIMEOUT).await
    }

    /// The first element matching `css`, waiting up to `timeout` for it to appear.
    pub async fn wait_for_within(&self, css: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(error) if is_status(&error, &ErrorStatus::NoSuchElement) => {}
                Err(error) => panic!(
                    "{}",
                    self.failure(&format!("looking for `{css}` failed: {error}"))
                        .await
                ),
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}",
                    self.failure(&format!("no element matches `{css}` after {timeout:?}"))
                        .await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the element matching `css` contains `needle` in its text; returns the text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return text;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}",
                    self.failure(&format!(
                        "`{css}` does not contain {needle:?} after {TIMEOUT:?}; its text: {text:?}"
                    ))
                    .await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the current path (with query) is `path`, e.g. after a form redirects.
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let now = self.path().await;
            if now == path {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}",
                    self.failure(&format!("expected to be at {path} after {TIMEOUT:?}"))
                        .await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Whether any element matches `css` now (no waiting): for asserting absence.
    pub async fn exists(&self, css: &str) -> bool {
        self.count(css).await > 0
    }

    /// How many elements match `css` now (no waiting).
    pub async fn count(&self, css: &str) -> usize {
        match self.client.find_all(Locator::Css(css)).await {
            Ok(elements) => elements.len(),
            Err(error) => panic!(
                "{}",
                self.failure(&format!("looking for `{css}` failed: {error}"))
                    .await
            ),
        }
    }

    /// Replaces the value of the field matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        let result = async {
            element.clear().await?;
            element.send_keys(text).await
        }
        .await;
        if let Err(error) = result {
            panic!(
                "{}",
                self.failure(&format!("cannot type into `{css}`: {error}"))
                    .await
            );
        }
    }

    /// Picks the `<option value="…">` of the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        let element = self.wait_for(css).await;
        if let Err(error) = element.select_by_value(value).await {
            panic!(
                "{}",
                self.failure(&format!("cannot select {value:?} in `{css}`: {error}"))
                    .await
            );
        }
    }

    /// Clicks the element matching `css`, waiting while it is missing, hidden or covered.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let element = self.wait_for(css).await;
            let error = match element.click().await {
                Ok(()) => return,
                Err(error) => error,
            };
            let retry = [
                ErrorStatus::ElementNotInteractable,
                ErrorStatus::ElementClickIntercepted,
                ErrorStatus::StaleElementReference,
            ]
            .iter()
            .any(|status| is_status(&error, status));
            if !retry || Instant::now() >= deadline {
                panic!(
                    "{}",
                    self.failure(&format!("cannot click `{css}`: {error}"))
                        .await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The rendered text of the element matching `css` (waiting for it to appear).
    pub async fn text_of(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        match element.text().await {
            Ok(text) => text,
            Err(error) => panic!(
                "{}",
                self.failure(&format!("cannot read the text of `{css}`: {error}"))
                    .await
            ),
        }
    }

    /// An attribute of the element matching `css` (waiting for it to appear).
    pub async fn attr_of(&self, css: &str, name: &str) -> Option<String> {
        let element = self.wait_for(css).await;
        match element.attr(name).await {
            Ok(value) => value,
            Err(error) => panic!(
                "{}",
                self.failure(&format!("cannot read `{name}` of `{css}`: {error}"))
                    .await
            ),
        }
    }

    /// Runs JavaScript in the page (`return …;` gives a value).
    pub async fn js(&self, script: &str) -> Value {
        match self.client.execute(script, Vec::new()).await {
            Ok(value) => value,
            Err(error) => panic!(
                "{}",
                self.failure(&format!("script failed: {error}\n  script: {script}"))
                    .await
            ),
        }
    }

    /// The browser's cookie called `name` on the current page's origin, if it has one.
    pub async fn cookie(&self, name: &str) -> Option<Cookie<'static>> {
        match self.client.get_all_cookies().await {
            Ok(cookies) => cookies.into_iter().find(|cookie| cookie.name() == name),
            Err(error) => panic!("cannot read cookies: {error}"),
        }
    }

    /// Resizes the window so that the page's viewport is `width` × `height` CSS pixels.
    pub async fn set_size(&self, width: u32, height: u32) {
        let window_height = height + self.frame_height;
        if let Err(error) = self.client.set_window_size(width, window_height).await {
            panic!("cannot resize the window to {width}×{window_height}: {error}");
        }
    }

    /// Makes the viewport `width` pixels wide, keeping its height (390 for a phone).
    pub async fn set_width(&self, width: u32) {
        let (_, height) = self.viewport().await;
        self.set_size(width, height).await;
    }

    /// The viewport's size in CSS pixels (`window.innerWidth`, `window.innerHeight`).
    pub async fn viewport(&self) -> (u32, u32) {
        let size = self
            .js("return [window.innerWidth, window.innerHeight];")
            .await;
        let dimension = |index: usize| {
            size[index]
                .as_u64()
                .and_then(|value| u32::try_from(value).ok())
                .unwrap_or_else(|| panic!("the viewport's size is not two numbers: {size}"))
        };
        (dimension(0), dimension(1))
    }

    /// Saves what the viewport shows as `<target>/screenshots/<name>.png`; returns the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = match self.client.screenshot().await {
            Ok(png) => png,
            Err(error) => panic!(
                "{}",
                self.failure(&format!("screenshot {name} failed: {error}"))
                    .await
            ),
        };
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        path
    }

    /// Saves the whole page at the current width: the viewport is made as tall as the page
    /// (at most 6000 px) for the shot, then set back.
    pub async fn screenshot_full(&self, name: &str) -> PathBuf {
        let (width, height) = self.viewport().await;
        let page = self
            .js("return Math.ceil(document.documentElement.scrollHeight);")
            .await
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(height);
        let tall = page.clamp(height, MAX_SCREENSHOT_HEIGHT);
        if tall != height {
            self.set_size(width, tall).await;
        }
        let path = self.screenshot(name).await;
        if tall != height {
            self.set_size(width, height).await;
        }
        path
    }

    /// The two screenshots of a page for review: `<name>-desktop.png` (1280 wide) and
    /// `<name>-phone.png` (390 wide), both full-page; the window is 1280×800 afterwards.
    pub async fn screenshots(&self, name: &str) -> [PathBuf; 2] {
        self.set_size(DESKTOP.0, DESKTOP.1).await;
        let desktop = self.screenshot_full(&format!("{name}-desktop")).await;
        self.set_size(PHONE_WIDTH, DESKTOP.1).await;
        let phone = self.screenshot_full(&format!("{name}-phone")).await;
        self.set_size(DESKTOP.0, DESKTOP.1).await;
        [desktop, phone]
    }

    /// The browser console's error messages since the last call (ChromeDriver's log of
    /// the `browser` type, level SEVERE).
    pub async fn console_errors(&self) -> Vec<String> {
        let Some(session) = &self.session else {
            return Vec::new();
        };
        let url = format!("{}/session/{session}/se/log", self.driver.url());
        let answer = reqwest::Client::new()
            .post(&url)
            .json(&json!({"type": "browser"}))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        let body: Value = match answer {
            Ok(response) => response.json().await.unwrap_or(Value::Null),
            Err(error) => panic!("cannot read the browser console log: {error}"),
        };
        body["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .filter_map(|entry| entry["message"].as_str().map(str::to_owned))
            .collect()
    }

    /// Fails when the console logged errors, except a missing `/favicon.ico`.
    pub async fn assert_no_console_errors(&self) {
        let errors: Vec<String> = self
            .console_errors()
            .await
            .into_iter()
            .filter(|message| !message.contains("/favicon.ico"))
            .collect();
        if !errors.is_empty() {
            panic!(
                "{}",
                self.failure(&format!(
                    "the browser console logged errors:\n  {}",
                    errors.join("\n  ")
                ))
                .await
            );
        }
    }

    /// Ends the WebDriver session (Chromium quits), then ChromeDriver. Dropping the browser
    /// does the same without waiting on the async runtime; this is the tidy way.
    pub async fn close(mut self) {
        if self.client.clone().close().await.is_ok() {
            self.session = None;
        }
    }
}

impl Drop for Browser {
    /// Ends a session still open (a test that panicked): a blocking `DELETE /session/…`
    /// so ChromeDriver quits Chromium, whatever the async runtime is doing. The driver's
    /// own drop then kills its process group.
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let address = (Ipv4Addr::LOCALHOST, self.driver.port).into();
        let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let request = format!(
            "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.driver.port
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return;
        }
        // ChromeDriver answers once Chromium has quit, and keeps the connection open
        // whatever `Connection: close` says: the end of the answer's head is enough.
        let mut answer = Vec::new();
        let mut chunk = [0_u8; 1024];
        while !answer.windows(4).any(|window| window == b"\r\n\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(read) => answer.extend_from_slice(&chunk[..read]),
            }
        }
    }
}

/// Whether a WebDriver command failed with `status`.
fn is_status(error: &CmdError, status: &ErrorStatus) -> bool {
    matches!(error, CmdError::Standard(webdriver) if webdriver.error == *status)
}
