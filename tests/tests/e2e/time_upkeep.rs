//! Time indexes and count sets are kept only once a rule needs them: events
//! ingested before write none, and the first tick after a time or count rule
//! arrives fills them from the item mirror, also while events keep coming.

use super::time_events::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tocsin::catalog::catalog;
use tocsin::engine::{Engine, EngineConfig, TREE};
use tocsin::rules::{Rule, Validator};
use tocsin::scheduler::{counts, index};
use tocsin_tests::engine::*;

/// Stores `rule` and loads it into the engine, as the API does.
fn add_rule(engine: &Engine, rule: Value) {
    let rule: Rule = serde_json::from_value(rule).unwrap();
    let v = Validator {
        catalog: catalog(),
        plugins: engine.registry(),
    };
    engine.rules().create(&rule, &v).unwrap();
    engine.reload_rules().unwrap();
}

fn tree(engine: &Engine) -> sled::Tree {
    engine.store().tree(TREE).unwrap()
}

/// Open tickets per group, from the item mirror.
fn open_per_group(tree: &sled::Tree) -> BTreeMap<String, usize> {
    let mut groups = BTreeMap::new();
    for v in tree.scan_prefix("item/ticket/").values() {
        let m: Value = serde_json::from_slice(&v.unwrap()).unwrap();
        if m["fields"]["status"] != "closed" {
            let group = m["fields"]["group"].as_str().unwrap().to_string();
            *groups.entry(group).or_insert(0) += 1;
        }
    }
    groups
}

/// Members per group, from the count sets.
fn members_per_group(tree: &sled::Tree, groups: &[&str]) -> BTreeMap<String, usize> {
    groups
        .iter()
        .map(|g| {
            let n = tree
                .scan_prefix(counts::members("ticket", "group", g))
                .count();
            (g.to_string(), n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// With no time or count rule, a ticket event writes no index entry and no
/// set member. An idle rule added later fires for the tickets ingested
/// before it; a count rule added later counts them.
#[tokio::test]
async fn indexes_no_rule_needs_are_not_written_and_are_filled_when_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &[]).await;
    let s = scheduler(&engine);
    for id in ["1", "2", "3"] {
        let fields = json!({"status": "active", "group": "g"});
        engine
            .ingest(ticket("ticket-created", id, fields, &c))
            .await
            .unwrap();
    }
    assert_eq!(tick_at(&engine, &s, &c, 1).await, Default::default());
    assert_eq!(tree(&engine).scan_prefix("t/").count(), 0);

    add_rule(&engine, idle_rule("idle", "greater", json!(5)));
    assert_eq!(tick_at(&engine, &s, &c, 6).await.fired, 3);
    let idle = index::prefix("idle", "ticket");
    assert_eq!(tree(&engine).scan_prefix(&idle).count(), 3);
    assert_eq!(tree(&engine).scan_prefix(counts::MEMBERS).count(), 0);

    add_rule(
        &engine,
        timed(
            "busy",
            "ticket",
            "ticket-count-for-group",
            json!([{"field": "count", "op": "greater", "value": 3}]),
        ),
    );
    assert_eq!(tick_at(&engine, &s, &c, 7).await.crossed, 0);
    // The fourth open ticket of the group crosses: the three before it were
    // counted by the fill.
    let fields = json!({"status": "active", "group": "g"});
    engine
        .ingest(ticket("ticket-created", "4", fields, &c))
        .await
        .unwrap();
    assert_eq!(tick_at(&engine, &s, &c, 8).await.crossed, 1);
    assert_eq!(
        fired_field(&engine, "busy", "count"),
        [("4".to_string(), json!(4))]
    );
}

/// Filling goes on while events close tickets and move them between
/// groups: afterwards every set holds exactly the open tickets of its group
/// and every ticket has the idle entry of its latest mirror.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filling_while_events_arrive_leaves_every_item_as_its_mirror_says() {
    const TICKETS: usize = 1_500;
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &[]).await;
    let s = scheduler(&engine);
    let created = |n: usize, status: &str, group: &str| {
        ticket(
            "ticket-created",
            &n.to_string(),
            json!({"status": status, "group": group}),
            &c,
        )
    };
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in 0..4 {
        let (engine, events): (Engine, Vec<_>) = (
            engine.clone(),
            (chunk * TICKETS / 4..(chunk + 1) * TICKETS / 4)
                .map(|n| created(n, "active", if n % 2 == 0 { "a" } else { "b" }))
                .collect(),
        );
        tasks.spawn(async move {
            for e in events {
                engine.ingest(e).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    assert_eq!(tree(&engine).scan_prefix("t/").count(), 0);

    add_rule(&engine, idle_rule("idle", "greater", json!(600)));
    add_rule(
        &engine,
        timed(
            "crowded",
            "ticket",
            "ticket-count-for-group",
            json!([{"field": "count", "op": "greater", "value": 100_000}]),
        ),
    );
    // Later changes, sent while the tick fills: every third ticket closes,
    // every third moves to group c, from both ends of the key range.
    let changes: Vec<_> = (0..TICKETS)
        .rev()
        .filter(|n| n % 3 != 2)
        .map(|n| match n % 3 {
            0 => created(n, "closed", if n % 2 == 0 { "a" } else { "b" }),
            _ => created(n, "active", "c"),
        })
        .collect();
    let mut senders = tokio::task::JoinSet::new();
    for part in changes.chunks(changes.len().div_ceil(6)) {
        let (engine, part) = (engine.clone(), part.to_vec());
        senders.spawn(async move {
            for e in part {
                engine.ingest(e).await.unwrap();
            }
        });
    }
    c.advance(MINUTE);
    let report = s.tick(START_MS + MINUTE).await.unwrap();
    assert_eq!(report.fired, 0);
    while let Some(done) = senders.join_next().await {
        done.unwrap();
    }

    let t = tree(&engine);
    assert_eq!(
        members_per_group(&t, &["a", "b", "c"]),
        open_per_group(&t),
        "count sets against the mirror"
    );
    for v in t.scan_prefix("item/ticket/").values() {
        let m: Value = serde_json::from_slice(&v.unwrap()).unwrap();
        let idle: Vec<Vec<u8>> = index::entries(&m)
            .into_iter()
            .filter(|k| k.starts_with(&index::prefix("idle", "ticket")))
            .collect();
        assert_eq!(idle.len(), 1, "{m}");
        assert!(t.contains_key(&idle[0]).unwrap(), "no idle entry for {m}");
    }
}
