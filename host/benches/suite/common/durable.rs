//! The durable ingestion workload the ingest benches share.

use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use tocsin::calendars::Calendars;
use tocsin::catalog::catalog;
use tocsin::engine::{Engine, EngineConfig, Sink, SystemClock};
use tocsin::event::Event;
use tocsin::plugins::{Grants, Registry, Runtime, RuntimeConfig};
use tocsin::rules::{Rule, RuleRepo, Validator};
use tocsin::scheduler::upkeep::Family;
use tocsin::store::Store;

/// An engine on a fresh store in `dir` with `log-file` installed and two
/// rules that each fire on every [`event`]: three jobs per event.
pub async fn engine(dir: &std::path::Path) -> Engine {
    engine_and_registry(dir).await.0
}

/// Where the built plugins are (`TOCSIN_PLUGINS_DIR`, else `target/plugins`).
pub fn plugins_dir() -> PathBuf {
    std::env::var_os("TOCSIN_PLUGINS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"))
}

/// [`engine`], with the plugin registry it runs.
pub async fn engine_and_registry(dir: &std::path::Path) -> (Engine, Arc<Registry>) {
    let store = Store::open(dir).expect("store");
    open_with(&store, &firing_rules()).await
}

/// The two rules that fire on every [`event`].
fn firing_rules() -> Vec<Rule> {
    [("digest", "digest"), ("each", "per-item")]
        .map(|(id, mode)| {
            serde_json::from_value(json!({
                "id": id, "name": id, "category": "ticket", "event_type": "ticket-created",
                "conditions": [{"field": "priority", "op": "one-of", "value": ["high", "urgent"]}],
                "actions": [{"plugin": "log-file", "action": "log-to-file", "mode": mode, "settings": {"file": "x.log"}}]
            }))
            .expect("rule")
        })
        .to_vec()
}

/// [`engine`], with also a Ticket Idle and a Ticket Count for Department
/// rule enabled: every [`event`] then also writes the tickets' idle index
/// entries and department set memberships (which these rules need).
pub async fn engine_keeping_indexes(dir: &std::path::Path) -> Engine {
    let store = Store::open(dir).expect("store");
    let mut rules = firing_rules();
    for (event_type, field) in [
        ("ticket-idle", "idle-minutes"),
        ("ticket-count-for-department", "count"),
    ] {
        rules.push(
            serde_json::from_value(json!({
                "id": event_type, "name": event_type, "category": "ticket", "event_type": event_type,
                "conditions": [{"field": field, "op": "greater", "value": 1000}],
                "actions": [{"plugin": "log-file", "action": "log-to-file", "mode": "digest", "settings": {"file": "x.log"}}]
            }))
            .expect("rule"),
        );
    }
    open_with(&store, &rules).await.0
}

/// An engine on `store` with `log-file` installed and `rules` created.
pub async fn open_with(store: &Store, rules: &[Rule]) -> (Engine, Arc<Registry>) {
    let sink = Arc::new(Sink::new(store.clone()).unwrap());
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default(), sink.clone()).expect("runtime"));
    let registry = Arc::new(Registry::new(runtime));
    registry
        .install_file(&plugins_dir().join("log-file.wasm"), Grants::default())
        .await
        .expect("the log-file component (run `cargo xtask plugins`)");
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let repo = RuleRepo::open(store).expect("repo");
    for rule in rules {
        repo.create(rule, &v).expect("create rule");
    }
    let engine = Engine::open(
        store,
        registry.clone(),
        sink,
        Arc::new(Calendars::default()),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .expect("engine");
    (engine, registry)
}

/// A ticket-created event of two urgent tickets.
pub fn event(n: usize) -> Event {
    serde_json::from_value(json!({
        "category": "ticket", "event_type": "ticket-created",
        "occurred_at": "2026-11-30T10:00:00Z", "agent": "ana",
        "items": [
            {"kind": "ticket", "id": format!("{n}"), "fields": {"priority": "high", "subject": "Printer on fire", "department": "IT"}},
            {"kind": "ticket", "id": format!("{n}b"), "fields": {"priority": "urgent", "subject": "Still on fire", "department": "IT"}}
        ]
    }))
    .expect("event")
}

/// Writes the item mirror of each ticket in `ids` (`mirror(n)`), its
/// time-index entries and its count-set memberships into `tree`, as
/// ingestion writes them once rules have needed every ticket index and set;
/// their markers too, so opening an engine does not fill them again.
/// A bulk load: the keys sorted, then inserted one by one, which sled does
/// twice as fast as in batches (a million tickets: 12 s against 25 s on 2
/// cores; two writer threads were slower still).
pub fn write_tickets(
    tree: &sled::Tree,
    ids: std::ops::Range<usize>,
    mirror: impl Fn(usize) -> serde_json::Value,
) {
    let families: Vec<Family> = Family::all()
        .into_iter()
        .filter(|f| f.item_kind() == "ticket")
        .collect();
    let mut writes: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(ids.len() * 3);
    for n in ids {
        let m = mirror(n);
        for key in families.iter().flat_map(|f| f.keys_of(&m)) {
            writes.push((key, Vec::new()));
        }
        writes.push((
            format!("item/ticket/{n}").into_bytes(),
            serde_json::to_vec(&m).expect("mirror"),
        ));
    }
    for family in &families {
        writes.push((family.marker(), Vec::new()));
    }
    writes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (key, value) in writes {
        tree.insert(key, value).expect("insert");
    }
}
