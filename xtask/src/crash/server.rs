//! The server under test: `tocsin serve` as a child process on loopback, its
//! stderr kept in a log file, and a small HTTP client for its API.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a start may take (plugins load from the compiled cache after the first).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the server's files are.
pub struct Layout {
    /// The `tocsin` binary.
    pub bin: PathBuf,
    /// `--data`.
    pub data: PathBuf,
    /// `--config`.
    pub config: PathBuf,
    /// `--plugins`.
    pub plugins: PathBuf,
}

/// A running `tocsin serve`.
pub struct Server {
    child: Child,
    /// `127.0.0.1:port`.
    pub addr: String,
    /// Lines the server printed on stdout after the first.
    rest: mpsc::Receiver<String>,
}

impl Server {
    /// Starts the server; returns once it printed its address. `log` receives stderr.
    pub fn start(layout: &Layout, log: &Path) -> Result<Server> {
        let stderr = std::fs::File::create(log)
            .with_context(|| format!("creating the server log {}", log.display()))?;
        let mut child = Command::new(&layout.bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&layout.config)
            .arg("--data")
            .arg(&layout.data)
            .arg("--plugins")
            .arg(&layout.plugins)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", layout.bin.display()))?;
        let stdout = child.stdout.take().context("the server has no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait()?;
                bail!(
                    "the server did not start ({status}); its log {}:\n{}",
                    log.display(),
                    tail(log)
                );
            }
        };
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .with_context(|| format!("no address in the server's first line {first:?}"))?
            .to_string();
        Ok(Server {
            child,
            addr,
            rest: rx,
        })
    }

    /// SIGKILL (what `Child::kill` sends on unix): no chance to flush anything.
    pub fn kill(mut self) -> Result<()> {
        self.child.kill().context("killing the server")?;
        self.child.wait().context("waiting for the killed server")?;
        Ok(())
    }

    /// SIGTERM, then waits for the graceful stop ("tocsin stopped").
    pub fn stop(mut self) -> Result<()> {
        let pid = self.child.id().to_string();
        crate::run(Command::new("kill").args(["-TERM", &pid]))?;
        let status = self
            .child
            .wait()
            .context("waiting for the server to stop")?;
        let said: Vec<String> = self.rest.try_iter().collect();
        if !status.success() || !said.iter().any(|l| l == "tocsin stopped") {
            bail!("the server did not stop cleanly: {status}, printed {said:?}");
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A server left running by an error path must not outlive the harness.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last lines of a log file, for error messages.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A client of one server: base URL, admin token, keep-alive connections.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
}

/// An answer: status and JSON body (`Null` when the body is not JSON).
pub type Reply = (u16, Value);

impl Client {
    /// A client of `addr` with `token`.
    pub fn new(addr: &str, token: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Client {
            agent,
            base: format!("http://{addr}"),
            token: token.to_string(),
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Reply> {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .call()
            .with_context(|| format!("GET {path}"))?;
        read(response, path)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Reply> {
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .send(body.to_string())
            .with_context(|| format!("POST {path}"))?;
        read(response, path)
    }

    /// Polls `/healthz` until it answers 200.
    pub fn wait_healthy(&self) -> Result<Duration> {
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = self.get("/healthz") {
                return Ok(started.elapsed());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!("/healthz did not answer 200 within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read(mut response: ureq::http::Response<ureq::Body>, path: &str) -> Result<Reply> {
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading the answer to {path}"))?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}
