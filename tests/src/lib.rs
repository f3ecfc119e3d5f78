//! Helpers for the end-to-end tests: where the built components and the binary
//! are, a runtime with a recording outbound, and builders for invocations.
//!
//! `cargo xtask test` builds the plugins and the binary first and passes their
//! locations in `TOCSIN_PLUGINS_DIR`, `TOCSIN_TEST_GUESTS_DIR` and `TOCSIN_BIN`.

pub mod engine;
pub mod smtp;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tocsin::plugins::bindings::{helpdesk, mail, Event, Invocation, Item, Mode, RuleRef};
use tocsin::plugins::{
    Grants, LoadError, LoadedPlugin, Manifest, Outbound, Runtime, RuntimeConfig,
};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn dir_from(var: &str, default: &str) -> PathBuf {
    let dir = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(default));
    assert!(
        dir.is_dir(),
        "{} does not exist: run the tests with `cargo xtask test` (it builds the plugins first)",
        dir.display()
    );
    dir
}

/// Folder of the built-in plugin components.
pub fn plugins_dir() -> PathBuf {
    dir_from("TOCSIN_PLUGINS_DIR", "target/plugins")
}

/// Folder of the test-guest components.
pub fn guests_dir() -> PathBuf {
    dir_from("TOCSIN_TEST_GUESTS_DIR", "target/test-guests")
}

/// The `tocsin` binary.
pub fn tocsin_bin() -> PathBuf {
    let bin = std::env::var_os("TOCSIN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/tocsin"));
    assert!(
        bin.exists(),
        "{} does not exist: run `cargo xtask test`",
        bin.display()
    );
    bin
}

/// A `tocsin serve` a test started, with the address it printed and the
/// rest of its standard output.
pub struct Served {
    /// The server process.
    pub process: std::process::Child,
    /// `host:port` it listens on.
    pub addr: String,
    /// The lines it prints after the first.
    pub lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

/// Starts `tocsin serve` on a free loopback port with `config`, the data
/// directory `data` and the built plugins; waits for its first line.
pub fn serve_tocsin(config: &std::path::Path, data: &std::path::Path) -> Served {
    use std::io::BufRead as _;
    let mut process = std::process::Command::new(tocsin_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--data")
        .arg(data)
        .arg("--plugins")
        .arg(plugins_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting tocsin serve");
    let stdout = process.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let first = lines.next().expect("a first line").expect("stdout");
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    Served {
        process,
        addr,
        lines,
    }
}

/// Records what plugins queue, instead of storing it.
#[derive(Default)]
pub struct Recorder {
    /// Queued mail subjects.
    pub mail: Mutex<Vec<String>>,
    /// Queued command names.
    pub commands: Mutex<Vec<String>>,
    /// The notification profiles plugins may read.
    pub profiles: Mutex<Vec<tocsin::profiles::Profile>>,
}

impl Outbound for Recorder {
    fn queue_mail(&self, _plugin: &str, _inv: &str, m: &mail::Message) -> anyhow::Result<String> {
        self.mail.lock().unwrap().push(m.subject.clone());
        Ok("mail-1".into())
    }
    fn submit_command(
        &self,
        _plugin: &str,
        _inv: &str,
        c: &helpdesk::Command,
    ) -> anyhow::Result<String> {
        self.commands.lock().unwrap().push(c.name.clone());
        Ok("cmd-1".into())
    }
    fn profile(
        &self,
        agent: &str,
        name: Option<&str>,
    ) -> anyhow::Result<Option<tocsin::profiles::Profile>> {
        let profiles = self.profiles.lock().unwrap();
        Ok(profiles
            .iter()
            .find(|p| p.agent == agent && name.map_or(p.default, |n| p.name == n))
            .cloned())
    }
}

/// A runtime sized for tests.
pub fn runtime() -> Arc<Runtime> {
    Arc::new(
        Runtime::new(
            RuntimeConfig {
                max_instances: 16,
                ..Default::default()
            },
            Arc::new(Recorder::default()),
        )
        .expect("runtime"),
    )
}

/// Reads `<dir>/<name>.toml` and `<dir>/<name>.wasm`.
pub fn component(dir: &std::path::Path, name: &str) -> (Manifest, Vec<u8>) {
    let text = std::fs::read_to_string(dir.join(format!("{name}.toml"))).expect("manifest");
    let manifest = Manifest::parse(&text).expect("valid manifest");
    let wasm = std::fs::read(dir.join(format!("{name}.wasm"))).expect("component");
    (manifest, wasm)
}

/// Loads a built-in plugin.
pub async fn load_plugin(rt: &Runtime, name: &str) -> Result<LoadedPlugin, LoadError> {
    let (m, w) = component(&plugins_dir(), name);
    rt.load(m, &w).await
}

/// Loads a test guest.
pub async fn load_guest(rt: &Runtime, name: &str) -> Result<LoadedPlugin, LoadError> {
    let (m, w) = component(&guests_dir(), name);
    rt.load(m, &w).await
}

/// A ticket item with a subject.
pub fn ticket(id: &str, subject: &str) -> Item {
    Item {
        kind: "ticket".into(),
        id: id.into(),
        fields: serde_json::json!({ "subject": subject }).to_string(),
    }
}

/// An invocation of `action` with settings and items.
pub fn invocation(
    action: &str,
    mode: Mode,
    settings: serde_json::Value,
    items: Vec<Item>,
) -> Invocation {
    Invocation {
        id: format!("test-{action}"),
        attempt: 1,
        rule: RuleRef {
            id: "rule-1".into(),
            name: "Test rule".into(),
            owner: "system".into(),
        },
        action: action.into(),
        action_index: 0,
        mode,
        settings: settings.to_string(),
        event: Event {
            id: "ev-1".into(),
            category: "ticket".into(),
            event_type: "ticket-idle".into(),
            occurred_at: "2026-11-28T10:00:00Z".into(),
            agent: None,
            old_values: "{}".into(),
        },
        items,
    }
}

/// Grants with a read-write directory.
pub fn dir_grant(path: &std::path::Path) -> Arc<Grants> {
    Arc::new(Grants {
        directory: Some(tocsin::plugins::DirectoryGrant {
            path: path.to_path_buf(),
            access: tocsin::plugins::Access::ReadWrite,
        }),
        ..Grants::default()
    })
}

/// A request as the tests' loopback HTTP servers see it.
pub struct Received {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path with query.
    pub path: String,
    /// Request headers.
    pub headers: hyper::HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Received {
    /// A header's value, or "" when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// What they answer.
pub type Answer = hyper::Response<http_body_util::Full<bytes::Bytes>>;

/// An answer with a status, headers and a body.
pub fn answer(status: u16, headers: &[(&str, &str)], body: &'static [u8]) -> Answer {
    let mut response = hyper::Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response
        .body(http_body_util::Full::new(bytes::Bytes::from_static(body)))
        .unwrap()
}

/// Serves HTTP/1 on a fresh port of 127.0.0.1, every request through
/// `handler`; returns the address.
pub async fn serve<F, Fut>(handler: F) -> std::net::SocketAddr
where
    F: Fn(Received) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Answer> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_on(listener, handler)
}

/// Serves HTTP/1 on `listener` (a receiver that comes up on a port chosen
/// earlier), every request through `handler`; returns the address.
pub fn serve_on<F, Fut>(listener: tokio::net::TcpListener, handler: F) -> std::net::SocketAddr
where
    F: Fn(Received) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Answer> + Send + 'static,
{
    use http_body_util::BodyExt;
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let handler = handler.clone();
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let method = req.method().to_string();
                        let path = req
                            .uri()
                            .path_and_query()
                            .map(|p| p.to_string())
                            .unwrap_or_default();
                        let headers = req.headers().clone();
                        let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                        let received = Received {
                            method,
                            path,
                            headers,
                            body,
                        };
                        Ok::<_, std::convert::Infallible>(handler(received).await)
                    }
                });
            tokio::spawn(async move {
                let io = wasmtime_wasi_http::io::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    addr
}
