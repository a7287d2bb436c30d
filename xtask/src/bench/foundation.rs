//! The foundation benchmark: builds the release binary, starts `sealkeeper serve` on a
//! fresh SQLite database, and measures its binary size, its idle memory, and the requests
//! per second of `GET /healthz` against an authenticated `GET /api/v1/me` on loopback
//! (wrk, alternating the two endpoints so both see the same machine; the ratio is the
//! figure that holds on a noisy machine, the absolute numbers are for orientation).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::setup::{AptPackage, ensure_apt_packages};
use crate::task::{self, Error, Result};

const WRK: AptPackage = AptPackage {
    name: "wrk",
    why: "HTTP load generator for the foundation benchmark",
};
/// wrk settings: two threads (the machine has two cores), 32 connections, 10 s a round.
const WRK_ARGS: [&str; 6] = ["-t2", "-c32", "-d10s", "--latency", "--timeout", "5s"];
const ROUNDS: usize = 3;

pub fn run() -> Result {
    ensure_apt_packages(&[WRK])?;
    let root = task::workspace_root()?;

    let started = Instant::now();
    task::run(
        &mut task::cargo(["build", "--release", "-p", "sealkeeper"])?,
        "building the release binary",
    )?;
    let build = started.elapsed();
    let binary = root.join("target/release/sealkeeper");
    let size = std::fs::metadata(&binary)
        .map_err(|e| Error::new(format!("{}: {e}", binary.display())))?
        .len();

    let data = std::env::temp_dir().join(format!("sealkeeper-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut server = Server::start(&binary, &data)?;
    let result = measure(&server);
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
    let figures = result?;

    println!();
    println!(
        "foundation benchmark (this machine: {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  release build (incremental, as run)   {}",
        task::seconds(build)
    );
    println!(
        "  binary size                           {:.1} MB",
        size as f64 / 1e6
    );
    println!(
        "  idle RSS after start                  {:.1} MB",
        figures.idle_rss_kib as f64 / 1024.0
    );
    println!(
        "  idle RSS after the load               {:.1} MB",
        figures.after_load_rss_kib as f64 / 1024.0
    );
    for (round, (health, me)) in figures.rounds.iter().enumerate() {
        println!(
            "  round {}: GET /healthz {:>9.0} req/s   GET /api/v1/me {:>9.0} req/s   ratio {:.2}",
            round + 1,
            health.rps,
            me.rps,
            me.rps / health.rps
        );
    }
    let health = median(figures.rounds.iter().map(|(h, _)| h.rps).collect());
    let me = median(figures.rounds.iter().map(|(_, m)| m.rps).collect());
    println!(
        "  median: GET /healthz {health:.0} req/s, GET /api/v1/me {me:.0} req/s, ratio {:.2} (target >= 0.5)",
        me / health
    );
    let p99 = figures
        .rounds
        .iter()
        .map(|(h, m)| format!("{} / {}", h.p99, m.p99))
        .collect::<Vec<_>>()
        .join(", ");
    println!("  p99 latency per round (healthz / me): {p99}");
    println!(
        "  wrk {} (one process, same machine as the server)",
        WRK_ARGS.join(" ")
    );
    println!("  reproduce: cargo xtask bench foundation");
    Ok(())
}

struct Figures {
    idle_rss_kib: u64,
    after_load_rss_kib: u64,
    rounds: Vec<(Load, Load)>,
}

struct Load {
    rps: f64,
    p99: String,
}

fn measure(server: &Server) -> Result<Figures> {
    // Let start-up settle, then read the resident set.
    std::thread::sleep(Duration::from_secs(3));
    let idle_rss_kib = server.rss_kib()?;
    let cookie = register(&server.addr)?;
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        let health = wrk(&format!("http://{}/healthz", server.addr), None)?;
        let me = wrk(&format!("http://{}/api/v1/me", server.addr), Some(&cookie))?;
        rounds.push((health, me));
    }
    std::thread::sleep(Duration::from_secs(3));
    let after_load_rss_kib = server.rss_kib()?;
    Ok(Figures {
        idle_rss_kib,
        after_load_rss_kib,
        rounds,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(binary: &Path, data: &Path) -> Result<Server> {
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("SEALKEEPER__LOG__LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::new(format!("starting {}: {e}", binary.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::new("no stdout from the server"))?;
        let mut lines = BufReader::new(stdout).lines();
        let line = lines
            .next()
            .and_then(|l| l.ok())
            .ok_or_else(|| Error::new("the server stopped before saying where it listens"))?;
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .ok_or_else(|| Error::new(format!("no address in {line:?}")))?
            .to_owned();
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Server { child, addr })
    }

    fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| Error::new(format!("reading the server's memory: {e}")))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| Error::new("no VmRSS line"))
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Registers an organisation over plain HTTP and returns its admin's session cookie.
fn register(addr: &str) -> Result<String> {
    let body = r#"{"org_name":"基准测试有限公司","org_code":"bench","admin_name":"王管理","admin_phone":"13800000001","admin_password":"Bench-印章-Keeper-2026"}"#;
    let mut stream =
        TcpStream::connect(addr).map_err(|e| Error::new(format!("connecting to {addr}: {e}")))?;
    write!(
        stream,
        "POST /api/v1/organisations HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| Error::new(format!("registering: {e}")))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| Error::new(format!("registering: {e}")))?;
    if !answer.starts_with("HTTP/1.1 201") {
        return Err(Error::new(format!(
            "registration failed: {}",
            answer.lines().next().unwrap_or_default()
        )));
    }
    answer
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| Error::new("registration set no session cookie"))
}

fn wrk(url: &str, cookie: Option<&str>) -> Result<Load> {
    let mut command = Command::new("wrk");
    command.args(WRK_ARGS);
    if let Some(cookie) = cookie {
        command.args(["-H", &format!("Cookie: {cookie}")]);
    }
    command.arg(url);
    let output = command
        .output()
        .map_err(|e| Error::new(format!("running wrk: {e}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Error::new(format!("wrk failed: {text}")));
    }
    if let Some(errors) = text
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses"))
    {
        return Err(Error::new(format!("{url}: {}", errors.trim())));
    }
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::new(format!("no Requests/sec in wrk's output:\n{text}")))?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    Ok(Load { rps, p99 })
}
