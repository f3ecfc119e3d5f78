//! The engine: durable ingestion, the frequency gate, the outbox and its
//! workers, retries with backoff, the dead-letter list, item commands with
//! their cascades, and the audit trail.
//!
//! An event is validated against the catalog, then, under one short lock, it
//! is matched, each action of each matched rule passes the [`gate`], and the
//! event, its item updates, its jobs, the windows and the audit records go to
//! sled key by key with the event record last (or in one batch, see
//! [`writes`]); the call returns once a (shared) flush made them durable
//! ([`commit`]). Workers run due jobs with a per-plugin concurrency limit
//! ([`worker`]); what their help-desk commands do to the item mirror is in
//! `apply`.

mod apply;
pub mod audit;
pub mod clock;
pub mod commands;
pub mod commit;
pub mod connector;
pub mod gate;
mod ingest;
pub mod keys;
pub mod outbox;
pub mod requests;
mod scheduled;
pub mod sink;
mod worker;
pub mod writes;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ingest::{check as check_event, IngestError, IngestResult};
pub use outbox::{Job, OwedEvent};
pub use sink::Sink;

use crate::calendars::Calendars;
use crate::catalog::catalog;
use crate::matcher::Matcher;
use crate::plugins::Registry;
use crate::rules::{RuleRepo, Validator};
use crate::scheduler::upkeep::{self, Kept};
use crate::store::Store;
use anyhow::Context as _;
use commit::GroupCommit;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{Notify, Semaphore};

/// The sled tree holding the engine's state (jobs, windows, item mirror, audit).
pub const TREE: &str = "engine";

/// Engine settings. Every field has a default; see the README's
/// configuration table.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Retries stop this long after a job's first attempt was due (default 3 days).
    pub retry_horizon_ms: i64,
    /// First retry delay (default 1 s); doubles per attempt, with jitter.
    pub backoff_base_ms: i64,
    /// Longest retry delay (default 1 h).
    pub backoff_cap_ms: i64,
    /// Follow-on events deeper than this are not ingested (default 5).
    pub cascade_depth: u32,
    /// A rule firing more than this many times for one item within
    /// `runaway_window_ms` is disabled with an alert (default 20).
    pub runaway_limit: usize,
    /// The window of `runaway_limit` (default 10 minutes).
    pub runaway_window_ms: i64,
    /// Invocations of one plugin running at once (default 4).
    pub plugin_concurrency: usize,
    /// Where help-desk commands are delivered (none: listed for pulling only).
    pub connector: Option<connector::ConnectorConfig>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            retry_horizon_ms: 3 * 24 * 3600 * 1000,
            backoff_base_ms: 1_000,
            backoff_cap_ms: 3600 * 1000,
            cascade_depth: 5,
            runaway_limit: 20,
            runaway_window_ms: 10 * 60 * 1000,
            plugin_concurrency: 4,
            connector: None,
        }
    }
}

/// The engine. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    tree: sled::Tree,
    db: sled::Db,
    commit: Arc<GroupCommit>,
    clock: Arc<dyn Clock>,
    registry: Arc<Registry>,
    sink: Arc<Sink>,
    repo: RuleRepo,
    matcher: RwLock<Matcher>,
    config: EngineConfig,
    /// Serializes gate decisions and their batch.
    decide: tokio::sync::Mutex<()>,
    /// The time indexes and count sets written with the item mirror (read
    /// and changed under `decide`).
    kept: RwLock<Arc<Kept>>,
    /// The kept families that are filled (their markers are stored): the
    /// scheduler sweeps only these.
    filled: RwLock<Arc<Kept>>,
    queue: Mutex<Queue>,
    /// Windows with items waiting for their end: (end, key).
    coalescing: Mutex<BTreeSet<(i64, Vec<u8>)>>,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Recent firings per (rule, item), for runaway detection.
    recent: Mutex<HashMap<(String, String), VecDeque<i64>>>,
    /// Rules disabled as runaway, to remove from the matcher.
    disabled: Mutex<Vec<String>>,
    wake: Notify,
    /// Told of every finished attempt: plugin, outcome, duration (ms).
    observer: std::sync::OnceLock<InvocationObserver>,
    /// Follow-on events found owed at open (a crash came between a job's
    /// end and their ingestion); the worker ingests them first.
    owed: Mutex<Vec<OwedEvent>>,
}

/// A function told of every finished attempt: plugin, outcome (`ok`,
/// `retry`, `dead-letter`) and duration in milliseconds.
pub type InvocationObserver = Arc<dyn Fn(&str, &str, u64) + Send + Sync>;

#[derive(Default)]
struct Queue {
    due: BTreeSet<(i64, u64)>,
    running: HashSet<u64>,
}

impl Engine {
    /// Opens the engine on a store: loads and checks the stored rules (a rule
    /// that no longer validates is left out with a warning), the pending jobs
    /// and the windows with waiting items. `sink` must be the [`Outbound`]
    /// the registry's runtime was built with.
    ///
    /// [`Outbound`]: crate::plugins::Outbound
    pub fn open(
        store: &Store,
        registry: Arc<Registry>,
        sink: Arc<Sink>,
        calendars: Arc<Calendars>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> anyhow::Result<Engine> {
        let tree = store.tree(TREE)?;
        let repo = RuleRepo::open(store)?;
        let validator = Validator {
            catalog: catalog(),
            plugins: &registry,
        };
        let mut checked = Vec::new();
        for rule in repo.list().context("loading rules")? {
            match validator.check(&rule) {
                Ok(c) => checked.push(c),
                Err(e) => tracing::warn!("rule {} is left out: {e}", rule.id),
            }
        }
        let mut queue = Queue::default();
        for kv in tree.scan_prefix("job/") {
            let (k, v) = kv?;
            let job: Job = serde_json::from_slice(&v).context("reading a stored job")?;
            if !job.coalesced && !tree.contains_key(keys::event(&job.event))? {
                // Left by an ingestion the process stopped in: it wrote its
                // jobs, then stopped before its event record (written last),
                // so it never returned success; the help desk sends it again.
                tracing::warn!(
                    event = %job.event,
                    "dropping job {} of an event whose ingestion never finished",
                    job.invocation_id()
                );
                tree.remove(k)?;
                continue;
            }
            queue.due.insert((job.due_ms, job.n));
        }
        let mut owed = Vec::new();
        for kv in tree.scan_prefix("owed/") {
            let (_, v) = kv?;
            owed.push(serde_json::from_slice(&v).context("reading an owed follow-on event")?);
        }
        let matcher = Matcher::new(checked, calendars);
        let needed = upkeep::needed(|c, t| !matcher.rules_for(c, t).is_empty());
        let kept = upkeep::fill_at_open(&tree, &needed).context("filling the time indexes")?;
        let mut coalescing = BTreeSet::new();
        for kv in tree.scan_prefix("win/") {
            let (k, v) = kv?;
            let w: gate::Window = serde_json::from_slice(&v).context("reading a window")?;
            if !w.pending.is_empty() {
                coalescing.insert((w.until_ms, k.to_vec()));
            }
        }
        Ok(Engine {
            inner: Arc::new(Inner {
                commit: GroupCommit::start(store.db().clone())
                    .context("starting the flusher thread")?,
                db: store.db().clone(),
                tree,
                clock,
                registry,
                sink,
                repo,
                matcher: RwLock::new(matcher),
                config,
                decide: tokio::sync::Mutex::new(()),
                filled: RwLock::new(Arc::new(kept.clone())),
                kept: RwLock::new(Arc::new(kept)),
                queue: Mutex::new(queue),
                coalescing: Mutex::new(coalescing),
                limits: Mutex::new(HashMap::new()),
                recent: Mutex::new(HashMap::new()),
                disabled: Mutex::new(Vec::new()),
                wake: Notify::new(),
                observer: std::sync::OnceLock::new(),
                owed: Mutex::new(owed),
            }),
        })
    }

    /// The store the engine runs on (for the mail outbox that delivers what
    /// plugins queued).
    pub fn store(&self) -> &Store {
        self.inner.sink.store()
    }

    /// Replaces the calendars used for business hours and local times.
    pub fn set_calendars(&self, calendars: Arc<Calendars>) {
        self.inner
            .matcher
            .write()
            .expect("matcher lock")
            .set_calendars(calendars);
    }

    /// The installed plugins the engine's rules are checked against.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    /// The rule store; call [`Engine::reload_rules`] after changing it.
    pub fn rules(&self) -> &RuleRepo {
        &self.inner.repo
    }

    /// Re-reads every rule from the store into the matcher.
    pub fn reload_rules(&self) -> anyhow::Result<()> {
        let validator = Validator {
            catalog: catalog(),
            plugins: &self.inner.registry,
        };
        let mut matcher = self.inner.matcher.write().expect("matcher lock");
        let mut fresh = Matcher::new(Vec::new(), matcher.calendars().clone());
        for rule in self.inner.repo.list()? {
            match validator.check(&rule) {
                Ok(c) => fresh.upsert(c),
                Err(e) => tracing::warn!("rule {} is left out: {e}", rule.id),
            }
        }
        *matcher = fresh;
        Ok(())
    }

    /// Jobs waiting to run (or to be retried), in job order.
    pub fn pending_jobs(&self) -> anyhow::Result<Vec<Job>> {
        self.inner.list("job/")
    }

    /// The dead-letter list, in job order.
    pub fn dead_letters(&self) -> anyhow::Result<Vec<Job>> {
        self.inner.list("dead/")
    }

    /// Audit records matching a query, oldest first.
    pub fn audit(&self, query: &audit::Query) -> anyhow::Result<Vec<audit::Record>> {
        audit::query(&self.inner.tree, query)
    }

    /// The item mirror's latest fields of an item.
    pub fn item(&self, kind: &str, id: &str) -> anyhow::Result<Option<serde_json::Value>> {
        Ok(match self.inner.tree.get(keys::item(kind, id))? {
            Some(v) => Some(serde_json::from_slice(&v)?),
            None => None,
        })
    }

    /// Help-desk commands submitted by plugins, oldest first (the pull list).
    pub fn commands(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        self.inner.values("cmd/")
    }

    /// Alerts (rules disabled as runaway, cascades cut), oldest first.
    pub fn alerts(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        self.inner.values("alert/")
    }

    /// Sets the function told of every finished attempt (for metrics); only
    /// the first call has an effect.
    pub fn observe_invocations(&self, observer: InvocationObserver) {
        let _ = self.inner.observer.set(observer);
    }

    /// Whether an event is stored.
    pub fn has_event(&self, id: &str) -> anyhow::Result<bool> {
        Ok(self.inner.tree.contains_key(keys::event(id))?)
    }

    /// Spawns the worker loop: runs due jobs and ends coalescing windows as
    /// they come due, until the returned handle is aborted.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            loop {
                let next = engine.run_due().await;
                let wait = match next {
                    Some(at) => (at - engine.inner.clock.now_ms()).clamp(1, 1_000),
                    None => 1_000,
                };
                let _ = tokio::time::timeout(
                    std::time::Duration::from_millis(wait as u64),
                    engine.inner.wake.notified(),
                )
                .await;
            }
        })
    }
}

impl Inner {
    /// The time indexes and count sets written with the item mirror.
    fn kept(&self) -> Arc<Kept> {
        self.kept.read().expect("kept lock").clone()
    }

    fn list(&self, prefix: &str) -> anyhow::Result<Vec<Job>> {
        self.tree
            .scan_prefix(prefix)
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    fn values(&self, prefix: &str) -> anyhow::Result<Vec<serde_json::Value>> {
        self.tree
            .scan_prefix(prefix)
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    fn next_id(&self) -> anyhow::Result<u64> {
        Ok(self.db.generate_id()?)
    }

    fn limit(&self, plugin: &str) -> Arc<Semaphore> {
        self.limits
            .lock()
            .expect("limits lock")
            .entry(plugin.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.config.plugin_concurrency.max(1))))
            .clone()
    }
}
