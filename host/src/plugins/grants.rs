//! Capability grants: what an admin allows one plugin to do.
//!
//! Everything is denied by default ([`Grants::default`]): no directory, no
//! outbound HTTP, no mail, no help-desk command, no external provider, no
//! notification profiles. Limits (memory, deadline,
//! concurrency) always have a value. This module knows nothing of wasmtime; the
//! runtime reads it when it builds a store and when a host call arrives.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Default memory cap of one invocation.
pub const DEFAULT_MEMORY_MIB: u32 = 64;
/// Highest memory cap a grant may set (the pooling allocator reserves this per slot).
pub const MAX_MEMORY_MIB: u32 = 1024;
/// Default deadline of one invocation.
pub const DEFAULT_DEADLINE_MS: u64 = 5_000;
/// Invocations of one plugin that may run at once, unless granted otherwise.
pub const DEFAULT_MAX_CONCURRENT: u32 = 16;
/// The most invocations of one plugin that may be granted to run at once.
pub const MAX_CONCURRENT: u32 = 1024;

/// What one plugin may do. Deny by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Grants {
    /// One directory the plugin sees as `/data`. By default there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectoryGrant>,
    /// Hosts the plugin may call over `wasi:http` (`api.example.com`,
    /// `*.example.com`, `hooks.example.com:8443`). By default none.
    ///
    /// Loopback, private and link-local addresses need an exact entry:
    /// - an address literal in the URL passes only when listed (`127.0.0.1`
    ///   or `127.0.0.1:8080`), never through a wildcard;
    /// - a host *name* is resolved before the request, and refused when any
    ///   address it resolves to is not public, unless that address is listed
    ///   too (see [`Grants::allows_resolved`]). So `localhost` alone is refused;
    ///   `localhost` plus `127.0.0.1` is allowed. The check runs before the
    ///   connection, which resolves again: it stops a misconfigured or internal
    ///   name, not a DNS server that answers differently the second time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<String>,
    /// Whether the plugin may queue mail. By default no.
    #[serde(default)]
    pub mail: bool,
    /// Help-desk commands the plugin may submit (`set-status`, or `*`). By default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub helpdesk: Vec<String>,
    /// External providers the plugin may hand events to through the
    /// `providers` import (`billing-provider`, or `*`). By default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<String>,
    /// Whether the plugin may read agents' notification profiles (their email
    /// and SMS addresses). By default no.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub profiles: bool,
    /// Memory cap per invocation, MiB.
    #[serde(default = "default_memory")]
    pub memory_mib: u32,
    /// Deadline per invocation, milliseconds.
    #[serde(default = "default_deadline")]
    pub deadline_ms: u64,
    /// Invocations of this plugin that may run at once; further ones wait
    /// for a slot (the wait does not count against their deadline).
    #[serde(default = "default_concurrent")]
    pub max_concurrent: u32,
    /// Fuel per invocation (about one unit per WebAssembly instruction):
    /// a CPU budget that holds however busy the machine is, unlike the
    /// wall-clock deadline. By default none (only the deadline applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
}

fn default_memory() -> u32 {
    DEFAULT_MEMORY_MIB
}

fn default_deadline() -> u64 {
    DEFAULT_DEADLINE_MS
}

fn default_concurrent() -> u32 {
    DEFAULT_MAX_CONCURRENT
}

impl Default for Grants {
    fn default() -> Self {
        Grants {
            directory: None,
            http: Vec::new(),
            mail: false,
            helpdesk: Vec::new(),
            providers: Vec::new(),
            profiles: false,
            memory_mib: DEFAULT_MEMORY_MIB,
            deadline_ms: DEFAULT_DEADLINE_MS,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            fuel: None,
        }
    }
}

/// A directory grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DirectoryGrant {
    /// Host path of the directory.
    pub path: PathBuf,
    /// Read-only or read-write.
    #[serde(default)]
    pub access: Access,
}

/// How a granted directory may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Files can be read, nothing written.
    #[default]
    ReadOnly,
    /// Files can be read, created and written.
    ReadWrite,
}

impl Access {
    /// As written in grants.
    pub fn name(self) -> &'static str {
        match self {
            Access::ReadOnly => "read-only",
            Access::ReadWrite => "read-write",
        }
    }
}

/// A grant value that makes no sense.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GrantError {
    /// The memory cap is 0 or above the maximum.
    #[error("grants.memory-mib: {0} is not accepted; use 1 to {MAX_MEMORY_MIB}")]
    Memory(u32),
    /// The deadline is 0.
    #[error("grants.deadline-ms: 0 is not accepted; use a positive number of milliseconds")]
    Deadline,
    /// The concurrency limit is 0 or above the maximum.
    #[error("grants.max-concurrent: {0} is not accepted; use 1 to {MAX_CONCURRENT}")]
    Concurrent(u32),
    /// The fuel is 0.
    #[error(
        "grants.fuel: 0 is not accepted; leave it out for no fuel limit, or give a positive number"
    )]
    Fuel,
    /// A host pattern is malformed.
    #[error("grants.http[{index}]: {pattern:?} is not a host pattern; use `host`, `*.domain`, `host:port` or an IP address")]
    HttpPattern {
        /// Position in the list.
        index: usize,
        /// The pattern as given.
        pattern: String,
    },
}

impl Grants {
    /// Checks the values; errors name the field and what is accepted.
    pub fn validate(&self) -> Result<(), GrantError> {
        if self.memory_mib == 0 || self.memory_mib > MAX_MEMORY_MIB {
            return Err(GrantError::Memory(self.memory_mib));
        }
        if self.deadline_ms == 0 {
            return Err(GrantError::Deadline);
        }
        if self.max_concurrent == 0 || self.max_concurrent > MAX_CONCURRENT {
            return Err(GrantError::Concurrent(self.max_concurrent));
        }
        if self.fuel == Some(0) {
            return Err(GrantError::Fuel);
        }
        for (index, pattern) in self.http.iter().enumerate() {
            if !valid_host_pattern(pattern) {
                return Err(GrantError::HttpPattern {
                    index,
                    pattern: pattern.clone(),
                });
            }
        }
        Ok(())
    }

    /// Memory cap in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory_mib as usize * 1024 * 1024
    }

    /// Deadline as a duration.
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    /// Whether a help-desk command is granted.
    pub fn allows_command(&self, name: &str) -> bool {
        self.helpdesk.iter().any(|c| c == "*" || c == name)
    }

    /// Whether the external provider `id` may be called.
    pub fn allows_provider(&self, id: &str) -> bool {
        self.providers.iter().any(|p| p == "*" || p == id)
    }

    /// Whether an outbound HTTP request to `host` (and `port`) is granted.
    /// Hosts compare case-insensitively; `*.example.com` matches subdomains only.
    pub fn allows_http(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        self.http.iter().any(|pattern| {
            let pattern = pattern.to_ascii_lowercase();
            let (pat_host, pat_port) = match pattern.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse::<u16>().ok()),
                None => (pattern.clone(), None),
            };
            if pat_port.is_some_and(|p| p != port) {
                return false;
            }
            match pat_host.strip_prefix("*.") {
                Some(domain) => host.ends_with(&format!(".{domain}")),
                None => host == pat_host,
            }
        })
    }
}

impl Grants {
    /// Whether a granted host name may be called at `ip`, one of the addresses
    /// it resolved to: always for a public address; for loopback, private and
    /// similar ranges only when the grant lists the address (`ip` or `ip:port`).
    pub fn allows_resolved(&self, ip: std::net::IpAddr, port: u16) -> bool {
        super::state::is_public(ip) || {
            let (bare, with_port) = (ip.to_string(), format!("{ip}:{port}"));
            self.http.iter().any(|p| *p == bare || *p == with_port)
        }
    }
}

fn valid_host_pattern(pattern: &str) -> bool {
    // An IPv6 address literal (`::1`) has colons of its own and no port.
    if pattern.parse::<std::net::Ipv6Addr>().is_ok() {
        return true;
    }
    let (host, port) = match pattern.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (pattern, None),
    };
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
        return false;
    }
    let host = host.strip_prefix("*.").unwrap_or(host);
    !host.is_empty()
        && !host.contains('*')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_denies_everything() {
        let g = Grants::default();
        assert!(g.directory.is_none());
        assert!(!g.mail);
        assert!(!g.profiles);
        assert!(!g.allows_http("example.com", 443));
        assert!(!g.allows_command("set-status"));
        assert!(!g.allows_provider("billing"));
        assert_eq!(g.memory_mib, DEFAULT_MEMORY_MIB);
    }

    #[test]
    fn exact_host_matches_any_port_without_port_pattern() {
        let g = Grants {
            http: vec!["API.example.com".into()],
            ..Grants::default()
        };
        assert!(g.allows_http("api.example.com", 443));
        assert!(g.allows_http("api.EXAMPLE.com", 80));
        assert!(!g.allows_http("example.com", 443));
        assert!(!g.allows_http("evil-api.example.com", 443));
    }

    #[test]
    fn wildcard_matches_subdomains_only() {
        let g = Grants {
            http: vec!["*.example.com".into()],
            ..Grants::default()
        };
        assert!(g.allows_http("a.example.com", 443));
        assert!(g.allows_http("a.b.example.com", 443));
        assert!(!g.allows_http("example.com", 443));
        assert!(!g.allows_http("badexample.com", 443));
    }

    #[test]
    fn port_pattern_restricts_port() {
        let g = Grants {
            http: vec!["hooks.example.com:8443".into()],
            ..Grants::default()
        };
        assert!(g.allows_http("hooks.example.com", 8443));
        assert!(!g.allows_http("hooks.example.com", 443));
    }

    #[test]
    fn resolved_private_addresses_need_the_literal() {
        let loopback = "127.0.0.1".parse().unwrap();
        let by_name = Grants {
            http: vec!["localhost".into()],
            ..Grants::default()
        };
        assert!(!by_name.allows_resolved(loopback, 80));
        assert!(by_name.allows_resolved("93.184.216.34".parse().unwrap(), 80));
        let with_literal = Grants {
            http: vec!["localhost".into(), "127.0.0.1:8080".into()],
            ..Grants::default()
        };
        assert!(with_literal.allows_resolved(loopback, 8080));
        assert!(!with_literal.allows_resolved(loopback, 9090));
        assert!(!with_literal.allows_resolved("10.0.0.1".parse().unwrap(), 8080));
    }

    #[test]
    fn command_grants() {
        let g = Grants {
            helpdesk: vec!["set-status".into()],
            ..Grants::default()
        };
        assert!(g.allows_command("set-status"));
        assert!(!g.allows_command("transfer"));
        let all = Grants {
            helpdesk: vec!["*".into()],
            ..Grants::default()
        };
        assert!(all.allows_command("transfer"));
    }

    #[test]
    fn validate_names_the_field() {
        let g = Grants {
            memory_mib: 0,
            ..Grants::default()
        };
        assert!(g.validate().unwrap_err().to_string().contains("memory-mib"));
        let g = Grants {
            http: vec!["ok.com".into(), "bad host".into()],
            ..Grants::default()
        };
        let err = g.validate().unwrap_err().to_string();
        assert!(err.contains("grants.http[1]"), "{err}");
        let g = Grants {
            http: vec!["a.com:0".into()],
            ..Grants::default()
        };
        assert!(g.validate().is_err());
        let g = Grants {
            http: vec!["a.*.com".into()],
            ..Grants::default()
        };
        assert!(g.validate().is_err());
        let g = Grants {
            http: vec!["::1".into(), "127.0.0.1:8080".into()],
            ..Grants::default()
        };
        assert!(g.validate().is_ok(), "address literals are patterns");
        assert!(Grants::default().validate().is_ok());
    }

    #[test]
    fn parses_from_toml_with_defaults() {
        let g: Grants = toml::from_str(
            r#"
            mail = true
            profiles = true
            http = ["*.example.com"]
            [directory]
            path = "/tmp/x"
            access = "read-write"
            "#,
        )
        .unwrap();
        assert!(g.mail);
        assert!(g.profiles);
        assert_eq!(g.directory.unwrap().access, Access::ReadWrite);
        assert_eq!(g.deadline_ms, DEFAULT_DEADLINE_MS);
        assert_eq!(g.max_concurrent, DEFAULT_MAX_CONCURRENT);
        assert_eq!(g.fuel, None);
        let g: Grants = toml::from_str("fuel = 3\nmax-concurrent = 2").unwrap();
        assert_eq!((g.fuel, g.max_concurrent), (Some(3), 2));
        let err = toml::from_str::<Grants>("cpu = 3").unwrap_err().to_string();
        assert!(err.contains("cpu"), "{err}");
    }

    #[test]
    fn concurrency_and_fuel_are_checked() {
        for (g, field) in [
            (
                Grants {
                    max_concurrent: 0,
                    ..Grants::default()
                },
                "grants.max-concurrent",
            ),
            (
                Grants {
                    max_concurrent: MAX_CONCURRENT + 1,
                    ..Grants::default()
                },
                "grants.max-concurrent",
            ),
            (
                Grants {
                    fuel: Some(0),
                    ..Grants::default()
                },
                "grants.fuel",
            ),
        ] {
            let err = g.validate().unwrap_err().to_string();
            assert!(err.starts_with(field), "{err}");
        }
        let ok = Grants {
            max_concurrent: 1,
            fuel: Some(1),
            ..Grants::default()
        };
        assert!(ok.validate().is_ok());
    }
}
