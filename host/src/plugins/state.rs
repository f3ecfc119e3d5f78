//! The per-invocation store data and the host side of the plugin imports.
//!
//! Every invocation gets a fresh [`InvocationState`]: its own WASI context (a
//! preopen only for a granted directory, no network sockets, no environment),
//! its memory limiter, and the grants that the host calls check.

use super::bindings::{helpdesk, logging, mail, profiles, providers, Failure, FailureKind};
use super::grants::{Access, Grants};
use super::runtime::Shared;
use crate::profiles::Profile;
use std::net::IpAddr;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// Where a granted directory appears inside the sandbox.
pub const GUEST_DIR: &str = "/data";
/// How much guest stdout/stderr is kept per invocation before it is cut.
pub(crate) const OUTPUT_CAPACITY: usize = 64 * 1024;

/// Where host calls that leave the sandbox go: mail and help-desk commands,
/// and the notification profiles plugins may read. The store implements it
/// with durable queues and its `profiles` tree.
pub trait Outbound: Send + Sync {
    /// Queues a message; returns its id.
    fn queue_mail(
        &self,
        plugin: &str,
        invocation: &str,
        message: &mail::Message,
    ) -> anyhow::Result<String>;
    /// Queues a help-desk command; returns its id.
    fn submit_command(
        &self,
        plugin: &str,
        invocation: &str,
        command: &helpdesk::Command,
    ) -> anyhow::Result<String>;
    /// An agent's notification profile: the one named `name`, or its default
    /// when `name` is `None`. `Ok(None)` when there is no such profile.
    fn profile(&self, agent: &str, name: Option<&str>) -> anyhow::Result<Option<Profile>>;
}

/// Store data of one invocation.
pub struct InvocationState {
    plugin: Arc<str>,
    invocation: String,
    grants: Arc<Grants>,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    gate: HttpGate,
    table: ResourceTable,
    pub(crate) limiter: MemoryCap,
    shared: Arc<Shared>,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl InvocationState {
    /// Builds the state from the grants; fails if a granted directory cannot be opened.
    pub fn new(
        plugin: Arc<str>,
        invocation: String,
        grants: Arc<Grants>,
        shared: Arc<Shared>,
    ) -> anyhow::Result<Self> {
        let stdout = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let stderr = MemoryOutputPipe::new(OUTPUT_CAPACITY);
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(stdout.clone()).stderr(stderr.clone());
        if let Some(dir) = &grants.directory {
            let perms = match dir.access {
                Access::ReadOnly => FsPerms::ReadOnly,
                Access::ReadWrite => FsPerms::ReadWrite,
            };
            // cap-std underneath: the guest cannot name anything outside this directory.
            wasi.preopened_dir(&dir.path, GUEST_DIR, perms)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "granted directory {} cannot be opened: {e}",
                        dir.path.display()
                    )
                })?;
        }
        Ok(InvocationState {
            limiter: MemoryCap::new(grants.memory_bytes()),
            gate: HttpGate {
                plugin: plugin.clone(),
                grants: grants.clone(),
            },
            plugin,
            invocation,
            grants,
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            shared,
            stdout,
            stderr,
        })
    }

    /// Whether the guest filled its stdout or stderr buffer (further writes
    /// fail, which Rust's `println!` turns into a panic).
    pub fn output_full(&self) -> bool {
        self.stdout.contents().len() >= OUTPUT_CAPACITY
            || self.stderr.contents().len() >= OUTPUT_CAPACITY
    }

    /// Sends what the guest printed to `tracing`, one record per line.
    pub fn flush_output(&self) {
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let bytes = pipe.contents();
            for line in String::from_utf8_lossy(&bytes).lines() {
                tracing::info!(plugin = %self.plugin, invocation = %self.invocation, stream, "{line}");
            }
        }
    }
}

impl WasiView for InvocationState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InvocationState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.gate,
        }
    }
}

/// Checks every outbound request against the plugin's HTTP grant.
struct HttpGate {
    plugin: Arc<str>,
    grants: Arc<Grants>,
}

impl HttpGate {
    fn allowed(&self, uri: &http::Uri) -> bool {
        let Some(host) = uri.host() else {
            return false;
        };
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            // An address literal passes only when listed exactly: loopback,
            // private and link-local ranges are never matched by a wildcard.
            return self
                .grants
                .http
                .iter()
                .any(|p| p == bare || *p == format!("{bare}:{port}"))
                && (is_public(ip) || self.grants.http.iter().any(|p| p.starts_with(bare)));
        }
        self.grants.allows_http(host, port)
    }
}

/// Resolves a granted host name and refuses it when an address it resolves to
/// is not public and not listed in the grant ([`Grants::allows_resolved`]).
/// Address literals were checked by [`HttpGate::allowed`] and pass through; a
/// name that does not resolve is left to the connection to report.
async fn check_resolved(grants: &Grants, uri: &http::Uri) -> Result<(), String> {
    let Some(host) = uri.host() else {
        return Err("no host".into());
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let Ok(addrs) = tokio::net::lookup_host((bare, port)).await else {
        return Ok(());
    };
    for addr in addrs {
        if !grants.allows_resolved(addr.ip(), port) {
            return Err(format!(
                "{bare} resolves to {}, which is not public and not listed in the http grant",
                addr.ip()
            ));
        }
    }
    Ok(())
}

/// Whether an address is outside loopback, private, link-local and similar ranges.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (seg & 0xfe00) == 0xfc00
                || (seg & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| !is_public(IpAddr::V4(v4))))
        }
    }
}

impl WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn std::future::Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<
                        dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>>
                            + Send,
                    >,
                )>,
            > + Send,
    > {
        if !self.allowed(request.uri()) {
            tracing::warn!(plugin = %self.plugin, uri = %request.uri(), "outbound HTTP refused: host not in the plugin's http grant");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        drop(fut);
        let (plugin, grants) = (self.plugin.clone(), self.grants.clone());
        Box::new(async move {
            use http_body_util::BodyExt;
            if let Err(refused) = check_resolved(&grants, request.uri()).await {
                tracing::warn!(plugin = %plugin, uri = %request.uri(), "outbound HTTP refused: {refused}");
                return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
            }
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn std::future::Future<Output = _> + Send>,
            ))
        })
    }
}

/// Caps linear memory and remembers a refused growth, so the trap that follows
/// can be reported as what it is.
pub(crate) struct MemoryCap {
    cap: usize,
    /// The size a refused growth asked for.
    pub(crate) refused: Option<usize>,
}

impl MemoryCap {
    fn new(cap: usize) -> Self {
        MemoryCap { cap, refused: None }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold pointers; a million entries is far past any honest plugin.
        Ok(desired <= 1_000_000)
    }
}

impl super::bindings::action::tocsin::plugin::types::Host for InvocationState {}

impl logging::Host for InvocationState {
    async fn log(&mut self, level: logging::Level, message: String) {
        let plugin = &*self.plugin;
        let invocation = &*self.invocation;
        match level {
            logging::Level::Trace => tracing::trace!(plugin, invocation, "{message}"),
            logging::Level::Debug => tracing::debug!(plugin, invocation, "{message}"),
            logging::Level::Info => tracing::info!(plugin, invocation, "{message}"),
            logging::Level::Warn => tracing::warn!(plugin, invocation, "{message}"),
            logging::Level::Error => tracing::error!(plugin, invocation, "{message}"),
        }
    }
}

impl mail::Host for InvocationState {
    async fn send(&mut self, message: mail::Message) -> Result<String, String> {
        if !self.grants.mail {
            return Err(format!(
                "mail refused: plugin `{}` has no `mail` grant",
                self.plugin
            ));
        }
        if message.to.is_empty() && message.cc.is_empty() && message.bcc.is_empty() {
            return Err("mail refused: message.to, cc and bcc are all empty".into());
        }
        for (field, list) in [
            ("to", &message.to),
            ("cc", &message.cc),
            ("bcc", &message.bcc),
        ] {
            for (i, address) in list.iter().enumerate() {
                if let Err(e) = address.parse::<lettre::message::Mailbox>() {
                    return Err(format!(
                        "mail refused: message.{field}[{i}]: {address:?} is not an address: {e}"
                    ));
                }
            }
        }
        self.shared
            .outbound()
            .queue_mail(&self.plugin, &self.invocation, &message)
            .map_err(|e| format!("mail could not be queued: {e:#}"))
    }
}

impl helpdesk::Host for InvocationState {
    async fn submit(&mut self, command: helpdesk::Command) -> Result<String, String> {
        if !self.grants.allows_command(&command.name) {
            return Err(format!(
                "help-desk command `{}` refused: plugin `{}` has no `helpdesk` grant for it",
                command.name, self.plugin
            ));
        }
        if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&command.arguments)
            .is_err()
        {
            return Err(format!(
                "help-desk command `{}`: command.arguments is not a JSON object",
                command.name
            ));
        }
        self.shared
            .outbound()
            .submit_command(&self.plugin, &self.invocation, &command)
            .map_err(|e| format!("{e:#}"))
    }
}

impl providers::Host for InvocationState {
    async fn notify(
        &mut self,
        provider: String,
        request: providers::ProviderRequest,
    ) -> Result<Vec<providers::Variable>, Failure> {
        if !self.grants.allows_provider(&provider) {
            return Err(Failure {
                kind: FailureKind::BadSettings,
                message: format!(
                    "external provider `{provider}` refused: plugin `{}` has no `providers` grant for it",
                    self.plugin
                ),
                retry_after_ms: None,
            });
        }
        self.shared.notify_provider(&provider, request).await
    }
}

impl InvocationState {
    /// Reads a profile for the guest, after checking the `profiles` grant.
    fn read_profile(
        &self,
        agent: &str,
        name: Option<&str>,
    ) -> Result<Option<profiles::Profile>, String> {
        if !self.grants.profiles {
            return Err(format!(
                "notification profiles refused: plugin `{}` has no `profiles` grant",
                self.plugin
            ));
        }
        let found = self
            .shared
            .outbound()
            .profile(agent, name)
            .map_err(|e| format!("notification profiles could not be read: {e:#}"))?;
        Ok(found.map(|p| profiles::Profile {
            agent: p.agent,
            name: p.name,
            emails: p.emails,
            sms: p.sms,
            email_on: p.email_on,
            sms_on: p.sms_on,
            is_default: p.default,
        }))
    }
}

impl profiles::Host for InvocationState {
    async fn default_for(&mut self, agent: String) -> Result<Option<profiles::Profile>, String> {
        self.read_profile(&agent, None)
    }

    async fn named(
        &mut self,
        agent: String,
        name: String,
    ) -> Result<Option<profiles::Profile>, String> {
        self.read_profile(&agent, Some(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_need_the_address_granted() {
        let grants = |http: &[&str]| Grants {
            http: http.iter().map(|s| s.to_string()).collect(),
            ..Grants::default()
        };
        let uri: http::Uri = "http://localhost:8080/x".parse().unwrap();
        let err = check_resolved(&grants(&["localhost"]), &uri)
            .await
            .unwrap_err();
        assert!(err.contains("localhost resolves to"), "{err}");
        // localhost may also resolve to ::1: grant both loopback literals.
        check_resolved(&grants(&["localhost", "127.0.0.1", "::1"]), &uri)
            .await
            .unwrap();
        let literal: http::Uri = "http://127.0.0.1:8080/".parse().unwrap();
        check_resolved(&grants(&[]), &literal).await.unwrap();
    }

    #[test]
    fn address_literals_need_an_exact_grant() {
        let gate = |http: &[&str]| HttpGate {
            plugin: "p".into(),
            grants: Arc::new(Grants {
                http: http.iter().map(|s| s.to_string()).collect(),
                ..Grants::default()
            }),
        };
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        assert!(!gate(&["*.example.com"]).allowed(&uri("http://127.0.0.1/")));
        assert!(!gate(&[]).allowed(&uri("http://169.254.169.254/latest")));
        assert!(gate(&["127.0.0.1"]).allowed(&uri("http://127.0.0.1:8080/")));
        assert!(gate(&["127.0.0.1:8080"]).allowed(&uri("http://127.0.0.1:8080/")));
        assert!(!gate(&["127.0.0.1:8080"]).allowed(&uri("http://127.0.0.1:9090/")));
        assert!(gate(&["api.example.com"]).allowed(&uri("https://api.example.com/x")));
        assert!(!gate(&["api.example.com"]).allowed(&uri("https://other.example.com/x")));
    }
}
