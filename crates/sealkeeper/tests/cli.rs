//! Tests of the `sealkeeper` binary as a user runs it: configuration commands, clear
//! start-up errors, JSON logs, and graceful shutdown on SIGTERM that finishes a request
//! still in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn sealkeeper() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sealkeeper"));
    // Keep the developer's own settings out of the tests.
    for (key, _) in std::env::vars() {
        if key.starts_with("SEALKEEPER__") {
            command.env_remove(key);
        }
    }
    command
}

#[test]
fn config_default_is_the_effective_default() {
    let output = sealkeeper().args(["config", "default"]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("[database]") && text.contains("SEALKEEPER__SECTION__KEY"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealkeeper.toml");
    std::fs::write(&file, &text).unwrap();
    let shown = sealkeeper()
        .args(["config", "show", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
}

#[test]
fn environment_overrides_and_secrets_are_redacted() {
    let shown = sealkeeper()
        .args(["config", "show"])
        .env("SEALKEEPER__SERVER__LISTEN", "0.0.0.0:9999")
        .env(
            "SEALKEEPER__DATABASE__URL",
            "postgres://app:hunter2@db.internal/sk",
        )
        .output()
        .unwrap();
    let text = String::from_utf8(shown.stdout).unwrap();
    assert!(text.contains("0.0.0.0:9999"), "{text}");
    assert!(
        !text.contains("hunter2") && text.contains("[redacted]"),
        "{text}"
    );
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let missing = sealkeeper()
        .args(["serve", "--config", "/nonexistent/sk.toml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("configuration file /nonexistent/sk.toml not found"),
        "{stderr}"
    );

    let typo = sealkeeper()
        .args(["config", "show"])
        .env("SEALKEEPER__SERVER__LISSEN", "x")
        .output()
        .unwrap();
    assert_eq!(typo.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("lissen"));
}

#[test]
fn unreachable_database_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = sealkeeper()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env(
            "SEALKEEPER__DATABASE__URL",
            "postgres://postgres:secret@127.0.0.1:1/none",
        )
        .env("SEALKEEPER__DATABASE__CONNECT_TIMEOUT_SECONDS", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot open the database postgres://postgres:***@127.0.0.1:1/none"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("secret"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    let output = sealkeeper()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env(
            "SEALKEEPER__DATABASE__URL",
            "sqlite:///nonexistent-folder/x/sk.db",
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot open the database"));
}

/// Starts `sealkeeper serve` on a free port; returns the child and its address.
fn serve(data: &std::path::Path, extra_env: &[(&str, &str)]) -> (Child, String) {
    let mut child = sealkeeper()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().unwrap().unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_finishes_the_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(dir.path(), &[]);
    let body = r#"{"org_code":"nobody","login":"13800000001","password":"whatever it is"}"#;
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body.as_bytes()[..10]).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    terminate(&child);
    std::thread::sleep(Duration::from_millis(300));
    // The server is shutting down but still owes this request its answer.
    stream.write_all(&body.as_bytes()[10..]).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("bad_credentials"), "{answer}");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    // And new connections are refused once it has stopped.
    assert!(TcpStream::connect(&addr).is_err());
}

#[test]
fn json_logs_by_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(dir.path(), &[("SEALKEEPER__LOG__FORMAT", "json")]);
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"));
    terminate(&child);
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value["level"].is_string(), "{line}");
    }
}
