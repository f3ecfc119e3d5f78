//! The server's configuration file (TOML). Every key has a default, so an
//! empty file (or none) is a working configuration; `TOCSIN_DATA` and
//! `TOCSIN_LISTEN` (or `--data`, `--listen`) override the file. Every key is
//! documented in the README's configuration section.

use crate::api::ApiConfig;
use crate::mail::SmtpConfig;
use crate::plugins::Grants;
use crate::scheduler::SchedulerConfig;
use anyhow::Context as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Data directory: the sled database lives in `<data>/db`. Default `tocsin-data`.
    pub data: PathBuf,
    /// Address the API listens on. Default `127.0.0.1:8080`.
    pub listen: String,
    /// Folder of plugin components (`<id>.wasm` + `<id>.toml`) installed at
    /// start. Default `target/plugins`.
    pub plugins: PathBuf,
    /// API limits and agents' rights.
    pub api: ApiConfig,
    /// Grants by plugin id; a plugin not listed gets none.
    pub grants: BTreeMap<String, Grants>,
    /// Where help-desk commands are POSTed (none: pulled through the API only).
    pub connector: Option<Connector>,
    /// The SMTP relay queued mail goes to (none: mail stays queued).
    pub smtp: Option<SmtpConfig>,
    /// The scheduler of time-based events.
    pub scheduler: SchedulerConfig,
    /// Retries of failed jobs: plugin invocations and connector deliveries.
    pub retries: Retries,
}

/// When failed jobs are tried again: exponential backoff with jitter from
/// `backoff_base_ms` up to `backoff_cap_ms`, until `horizon_ms` after the
/// first attempt was due, then the dead-letter list. The defaults are the
/// engine's ([`crate::engine::EngineConfig`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retries {
    /// First retry delay (ms), doubling per attempt, jitter 50-100%. Default 1 s.
    pub backoff_base_ms: i64,
    /// Longest retry delay (ms). Default 1 h.
    pub backoff_cap_ms: i64,
    /// Retries stop this long (ms) after a job's first attempt was due. Default 3 days.
    pub horizon_ms: i64,
}

impl Default for Retries {
    fn default() -> Self {
        let engine = crate::engine::EngineConfig::default();
        Retries {
            backoff_base_ms: engine.backoff_base_ms,
            backoff_cap_ms: engine.backoff_cap_ms,
            horizon_ms: engine.retry_horizon_ms,
        }
    }
}

impl Retries {
    /// Checks the values; the error names the key and what is accepted.
    fn validate(&self) -> anyhow::Result<()> {
        if self.backoff_base_ms < 1 {
            anyhow::bail!(
                "retries.backoff_base_ms: {} is not accepted; use a delay of at least 1 ms",
                self.backoff_base_ms
            );
        }
        if self.backoff_cap_ms < self.backoff_base_ms {
            anyhow::bail!(
                "retries.backoff_cap_ms: {} is below backoff_base_ms ({}); use a cap at least as long",
                self.backoff_cap_ms,
                self.backoff_base_ms
            );
        }
        if self.horizon_ms < 0 {
            anyhow::bail!(
                "retries.horizon_ms: {} is not accepted; use 0 (never retry) or more",
                self.horizon_ms
            );
        }
        Ok(())
    }
}

/// The help desk's webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    /// `http://` or `https://` URL.
    pub url: String,
    /// Shared secret of the `x-tocsin-signature` header.
    pub secret: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data: PathBuf::from(crate::cli::DEFAULT_DATA_DIR),
            listen: "127.0.0.1:8080".into(),
            plugins: PathBuf::from("target/plugins"),
            api: ApiConfig::default(),
            grants: BTreeMap::new(),
            connector: None,
            smtp: None,
            scheduler: SchedulerConfig::default(),
            retries: Retries::default(),
        }
    }
}

impl Config {
    /// Reads a file; errors name the file and the bad key. Relative granted
    /// directories are taken inside the data directory.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration {}", path.display()))?;
        Self::parse(&text).with_context(|| path.display().to_string())
    }

    /// Parses TOML text.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        config.retries.validate()?;
        for (id, grants) in &config.grants {
            grants.validate().with_context(|| format!("grants.{id}"))?;
        }
        Ok(config)
    }

    /// The grants of a plugin, a relative directory resolved in the data directory.
    pub fn grants_for(&self, plugin: &str) -> Grants {
        let mut grants = self.grants.get(plugin).cloned().unwrap_or_default();
        if let Some(dir) = &mut grants.directory {
            if dir.path.is_relative() {
                dir.path = self.data.join(&dir.path);
            }
        }
        grants
    }
}

/// Grants an admin changed through the API (tree `grants`, id → grants);
/// they win over the file's at start.
pub fn stored_grants(store: &crate::store::Store) -> anyhow::Result<BTreeMap<String, Grants>> {
    let tree = store.tree("grants")?;
    let mut out = BTreeMap::new();
    for kv in tree.iter() {
        let (k, v) = kv?;
        out.insert(
            String::from_utf8_lossy(&k).into_owned(),
            serde_json::from_slice(&v).context("reading stored grants")?,
        );
    }
    Ok(out)
}

/// Keeps a plugin's grants for the next start (or forgets them with `None`).
pub fn store_grants(
    store: &crate::store::Store,
    plugin: &str,
    grants: Option<&Grants>,
) -> anyhow::Result<()> {
    let tree = store.tree("grants")?;
    match grants {
        Some(g) => {
            tree.insert(plugin, serde_json::to_vec(g)?)?;
        }
        None => {
            tree.remove(plugin)?;
        }
    }
    tree.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults_and_keys_are_checked() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.api, ApiConfig::default());
        let c = Config::parse(
            "listen = \"0.0.0.0:9000\"\n[api]\nmax_body_bytes = 10\n[grants.web-call]\nhttp = [\"hooks.example.com\"]\n",
        )
        .unwrap();
        assert_eq!(c.api.max_body_bytes, 10);
        assert_eq!(c.grants_for("web-call").http, ["hooks.example.com"]);
        assert!(c.grants_for("other").http.is_empty());
        let e = Config::parse("[api]\nmax_body = 1\n").unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown field `max_body`"),
            "{e:#}"
        );
        let e = Config::parse("[grants.x]\nmemory-mib = 0\n").unwrap_err();
        assert!(format!("{e:#}").contains("grants.x"), "{e:#}");
    }

    #[test]
    fn the_example_configuration_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tocsin.toml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.scheduler.stop_after_ms, 7 * 24 * 3600 * 1000);
    }

    #[test]
    fn retries_default_to_the_engine_and_are_checked() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.retries.backoff_base_ms, 1_000);
        assert_eq!(c.retries.horizon_ms, 3 * 24 * 3600 * 1000);
        let c = Config::parse("[retries]\nbackoff_base_ms = 20\nbackoff_cap_ms = 200\n").unwrap();
        assert_eq!(
            (c.retries.backoff_base_ms, c.retries.backoff_cap_ms),
            (20, 200)
        );
        let e = Config::parse("[retries]\nbackoff_base_ms = 0\n").unwrap_err();
        assert!(
            format!("{e:#}").contains("retries.backoff_base_ms: 0 is not accepted"),
            "{e:#}"
        );
        let e =
            Config::parse("[retries]\nbackoff_base_ms = 500\nbackoff_cap_ms = 100\n").unwrap_err();
        assert!(
            format!("{e:#}").contains("retries.backoff_cap_ms: 100"),
            "{e:#}"
        );
        let e = Config::parse("[retries]\nbase_ms = 5\n").unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown field `base_ms`"),
            "{e:#}"
        );
    }

    #[test]
    fn scheduler_settings_default_and_are_checked() {
        let c = Config::parse("[scheduler]\nstop_after_ms = 3600000\n").unwrap();
        assert_eq!(c.scheduler.stop_after_ms, 3_600_000);
        assert_eq!(c.scheduler.chunk, SchedulerConfig::default().chunk);
        let e = Config::parse("[scheduler]\nstop_after = 1\n").unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown field `stop_after`"),
            "{e:#}"
        );
    }
}
