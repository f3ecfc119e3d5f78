//! Rules: validation against the catalog, the owner's role and the plugins'
//! settings schemas (errors name the path); storage; export and import;
//! matching with conditions; explain.

use serde_json::json;
use std::sync::Arc;
use tocsin::calendars::Calendars;
use tocsin::catalog::catalog;
use tocsin::event::Event;
use tocsin::matcher::Matcher;
use tocsin::plugins::{Grants, Registry};
use tocsin::rules::repo::RepoError;
use tocsin::rules::{Rule, RuleRepo, RuleSet, Validator};
use tocsin::store::Store;
use tocsin_tests::*;

async fn registry() -> Registry {
    let registry = Registry::new(runtime());
    registry
        .install_file(&plugins_dir().join("log-file.wasm"), Grants::default())
        .await
        .unwrap();
    registry
}

fn rule(extra: serde_json::Value) -> Rule {
    let mut base = json!({
        "id": "r1", "name": "Rule one", "category": "ticket", "event_type": "ticket-created",
        "actions": [{"plugin": "log-file", "action": "log-to-file", "mode": "per-item", "settings": {"file": "a.log"}}]
    });
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

async fn refusal(extra: serde_json::Value) -> (String, String) {
    let registry = registry().await;
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let err = v.check(&rule(extra)).unwrap_err();
    (err.path, err.problem)
}

/// A condition of another category is refused at its path.
#[tokio::test]
async fn condition_of_another_category_is_refused() {
    let (path, problem) =
        refusal(json!({"conditions": [{"field": "survey-rating", "op": "greater", "value": 3}]}))
            .await;
    assert_eq!(path, "conditions[0].field");
    assert!(
        problem.contains("\"survey-rating\" is not a condition of ticket-created"),
        "{problem}"
    );
}

/// An action the category does not allow is refused at its path.
#[tokio::test]
async fn action_the_category_does_not_allow_is_refused() {
    let mut r = rule(json!({}));
    r.category = "survey".into();
    r.event_type = "survey-answered".into();
    r.actions[0].action = "set-ticket-status".into();
    let registry = registry().await;
    let err = Validator {
        catalog: catalog(),
        plugins: &registry,
    }
    .check(&r)
    .unwrap_err();
    assert_eq!(err.path, "actions[0].action");
    assert!(
        err.problem
            .contains("\"set-ticket-status\" is not an action of survey/survey-answered"),
        "{}",
        err.problem
    );
    // Survey has no per-item Log to File either.
    r.actions[0].action = "log-to-file".into();
    let err = Validator {
        catalog: catalog(),
        plugins: &registry,
    }
    .check(&r)
    .unwrap_err();
    assert_eq!(err.path, "actions[0].mode");
}

/// An agent cannot own a rule in an admin-only category or event type; the system can.
#[tokio::test]
async fn agent_rule_in_admin_only_category_is_refused() {
    let registry = registry().await;
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let mut r =
        rule(json!({"owner": "agent-7", "category": "smtp", "event_type": "smtp-delivery-failed"}));
    r.actions[0].mode = tocsin::rules::RuleMode::Digest;
    let err = v.check(&r).unwrap_err();
    assert_eq!(err.path, "category");
    assert!(
        err.problem.contains("admins only") && err.problem.contains("agent-7"),
        "{}",
        err.problem
    );
    r.owner = "system".into();
    v.check(&r).unwrap();
    let mut purge = r.clone();
    purge.owner = "agent-7".into();
    purge.category = "whos-on".into();
    purge.event_type = "online-visitor-purged".into();
    assert_eq!(v.check(&purge).unwrap_err().path, "event_type");
}

/// A bad regex is refused at the condition's value.
#[tokio::test]
async fn bad_regex_is_refused() {
    let (path, problem) =
        refusal(json!({"conditions": [{"field": "subject", "op": "matches", "value": "([a-z"}]}))
            .await;
    assert_eq!(path, "conditions[0].value");
    assert!(
        problem.contains("not a valid regular expression"),
        "{problem}"
    );
}

/// `between` with min > max is refused at the condition's value.
#[tokio::test]
async fn between_with_min_above_max_is_refused() {
    let (path, problem) = refusal(
        json!({"conditions": [{"field": "idle-minutes", "op": "between", "value": [15, 5]}]}),
    )
    .await;
    assert_eq!(path, "conditions[0].value");
    assert!(problem.contains("min is greater than max"), "{problem}");
}

/// Settings are checked against the plugin's schema, with the path inside the settings.
#[tokio::test]
async fn settings_are_checked_against_the_plugin_schema() {
    let registry = registry().await;
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let mut r = rule(json!({}));
    r.actions[0].settings = json!({"file": 42}).as_object().unwrap().clone();
    let err = v.check(&r).unwrap_err();
    assert_eq!(err.path, "actions[0].settings.file");
    assert!(
        err.problem.contains("42") && err.problem.contains("string"),
        "{}",
        err.problem
    );
    r.actions[0].settings = json!({}).as_object().unwrap().clone();
    let err = v.check(&r).unwrap_err();
    assert_eq!(err.path, "actions[0].settings");
    assert!(
        err.problem.contains("\"file\" is a required property"),
        "{}",
        err.problem
    );
}

/// Unknown categories, event types, operators and plugins name the accepted values.
#[tokio::test]
async fn other_refusals_name_path_value_and_accepted() {
    let (path, problem) = refusal(json!({"category": "tickets"})).await;
    assert_eq!(path, "category");
    assert!(
        problem.contains("\"tickets\"") && problem.contains("ticket, user"),
        "{problem}"
    );
    let (path, _) = refusal(json!({"event_type": "ticket-born"})).await;
    assert_eq!(path, "event_type");
    let (path, problem) =
        refusal(json!({"conditions": [{"field": "priority", "op": "greater", "value": "high"}]}))
            .await;
    assert_eq!(path, "conditions[0].op");
    assert!(problem.contains("use one of: equals"), "{problem}");
    let (path, problem) = refusal(
        json!({"conditions": [{"field": "priority", "op": "equals", "value": "critical"}]}),
    )
    .await;
    assert_eq!(path, "conditions[0].value");
    assert!(problem.contains("low, normal, high, urgent"), "{problem}");
    let (path, _) = refusal(
        json!({"actions": [{"plugin": "nope", "action": "log-to-file", "mode": "digest"}]}),
    )
    .await;
    assert_eq!(path, "actions[0].plugin");
    let (path, problem) = refusal(json!({"actions": [{"plugin": "log-file", "action": "log-to-file", "mode": "digest", "max_frequency": "often", "settings": {"file": "x"}}]})).await;
    assert_eq!(path, "actions[0].max_frequency");
    assert!(problem.contains("\"often\""), "{problem}");
    let (path, _) = refusal(json!({"conditions": [{"field": "cf.", "op": "is-set"}]})).await;
    assert_eq!(path, "conditions[0].field");
}

/// Create, update, disable, delete; conflicts and missing rules are reported.
#[tokio::test]
async fn rules_are_stored_updated_and_deleted() {
    let registry = registry().await;
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let dir = tempfile::tempdir().unwrap();
    let repo = RuleRepo::open(&Store::open(dir.path()).unwrap()).unwrap();
    let r = rule(json!({}));
    repo.create(&r, &v).unwrap();
    assert!(matches!(repo.create(&r, &v), Err(RepoError::Exists(_))));
    let mut changed = r.clone();
    changed.name = "Renamed".into();
    repo.update(&changed, &v).unwrap();
    assert_eq!(repo.get("r1").unwrap().name, "Renamed");
    assert!(!repo.set_enabled("r1", false).unwrap().enabled);
    assert!(!repo.get("r1").unwrap().enabled);
    repo.delete("r1").unwrap();
    assert!(matches!(repo.get("r1"), Err(RepoError::NotFound(_))));
    assert!(matches!(repo.delete("r1"), Err(RepoError::NotFound(_))));
    let mut bad = r;
    bad.category = "nope".into();
    assert!(matches!(repo.create(&bad, &v), Err(RepoError::Invalid(_))));
    assert!(repo.list().unwrap().is_empty());
}

/// Export then import gives identical rules, and identical export text.
#[tokio::test]
async fn export_then_import_is_exact() {
    let registry = registry().await;
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let set: RuleSet = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("examples/demo/rules.json")).unwrap(),
    )
    .unwrap();
    let mut rules = set.rules.clone();
    rules.push(rule(json!({
        "id": "r-full", "owner": "agent-3", "folder": "Mine", "position": -2, "stop_processing": true,
        "conditions": [
            {"field": "subject", "op": "matches", "value": "^Re:", "case_sensitive": true},
            {"field": "time-of-day", "op": "between", "value": ["22:00", "06:00"]},
            {"field": "cf.billing_id", "op": "is-set"}
        ],
        "actions": [{"plugin": "log-file", "action": "log-to-file", "mode": "digest", "max_frequency": "15m", "settings": {"file": "x.log", "message": "ü ✓"}}]
    })));
    let a = RuleRepo::open(&Store::open(tempfile::tempdir().unwrap().path()).unwrap()).unwrap();
    a.import(&RuleSet { rules }, &v).unwrap();
    let exported = a.export().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let b = RuleRepo::open(&Store::open(b_dir.path()).unwrap()).unwrap();
    b.import(&serde_json::from_str(&exported).unwrap(), &v)
        .unwrap();
    assert_eq!(b.list().unwrap(), a.list().unwrap());
    assert_eq!(b.export().unwrap(), exported);
}

/// A bad rule anywhere in an import changes nothing, and its error names its index.
#[tokio::test]
async fn import_is_all_or_nothing() {
    let registry = registry().await;
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let repo = RuleRepo::open(&Store::open(tempfile::tempdir().unwrap().path()).unwrap()).unwrap();
    repo.create(&rule(json!({"id": "keep"})), &v).unwrap();
    let bad = RuleSet {
        rules: vec![
            rule(json!({"id": "a"})),
            rule(json!({"id": "b", "category": "nope"})),
        ],
    };
    let err = repo.import(&bad, &v).unwrap_err().to_string();
    assert!(err.contains("rules[1].category"), "{err}");
    let dup = RuleSet {
        rules: vec![rule(json!({"id": "a"})), rule(json!({"id": "a"}))],
    };
    assert!(repo
        .import(&dup, &v)
        .unwrap_err()
        .to_string()
        .contains("rules[1].id"));
    let ids: Vec<String> = repo.list().unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["keep"]);
}

fn event(items: serde_json::Value) -> Event {
    serde_json::from_value(json!({
        "id": "e1", "category": "ticket", "event_type": "ticket-idle",
        "occurred_at": "2026-11-30T10:00:00Z", "items": items
    }))
    .unwrap()
}

/// The matcher fires each rule with the items passing all its conditions, in
/// position order, stops after a stop-processing rule, and explains why.
#[tokio::test]
async fn matching_filters_items_orders_rules_and_explains() {
    let registry = registry().await;
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let idle = |id: &str, pos: i32, conds: serde_json::Value, stop: bool| {
        v.check(&rule(json!({"id": id, "event_type": "ticket-idle", "position": pos, "conditions": conds, "stop_processing": stop})))
            .unwrap()
    };
    let m = Matcher::new(
        vec![
            idle(
                "b-urgent",
                0,
                json!([{"field": "priority", "op": "equals", "value": "urgent"}]),
                false,
            ),
            idle(
                "a-long",
                0,
                json!([{"field": "idle-minutes", "op": "greater", "value": 30}]),
                false,
            ),
            idle(
                "first",
                -1,
                json!([{"field": "department", "op": "equals", "value": "nobody"}]),
                true,
            ),
            idle("stopper", 5, json!([]), true),
            idle("never", 9, json!([]), false),
        ],
        Arc::new(Calendars::default()),
    );
    let ev = event(json!([
        {"kind": "ticket", "id": "1", "fields": {"priority": "urgent", "idle-minutes": 10}},
        {"kind": "ticket", "id": "2", "fields": {"priority": "low", "idle-minutes": 60}},
        {"kind": "ticket", "id": "3", "fields": {"priority": "urgent", "idle-minutes": 90}}
    ]));
    let firings = m.matches(&ev, ev.at());
    let got: Vec<(&str, Vec<usize>)> = firings
        .iter()
        .map(|f| (f.rule.rule.id.as_str(), f.items.to_vec()))
        .collect();
    assert_eq!(
        got,
        [
            ("a-long", vec![1, 2]),
            ("b-urgent", vec![0, 2]),
            ("stopper", vec![0, 1, 2])
        ]
    );

    let explain = m.explain(&ev, ev.at());
    let first = explain.iter().find(|e| e.rule == "first").unwrap();
    assert!(!first.fires);
    let c = &first.items[0].conditions[0];
    assert_eq!(
        (c.field.as_str(), c.op, c.passed),
        ("department", "equals", false)
    );
    assert_eq!(c.actual, serde_json::Value::Null);
    let urgent = explain.iter().find(|e| e.rule == "b-urgent").unwrap();
    assert_eq!(
        urgent.items.iter().map(|i| i.passed).collect::<Vec<_>>(),
        [true, false, true]
    );
    assert_eq!(urgent.items[1].conditions[0].actual, json!("low"));
    // Other event types cost nothing: no rule is looked at for ticket-created.
    assert!(m.rules_for("ticket", "ticket-created").is_empty());
}

/// The equality index and the shared condition results never change the
/// answer: for text that differs in case (ASCII and not), case-sensitive
/// rules, `one of`, numbers and missing fields, the rules that fire are
/// exactly those whose every condition holds for some item (`explain`).
#[tokio::test]
async fn indexed_matching_agrees_with_evaluating_every_condition() {
    let registry = registry().await;
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let conds = [
        json!([{"field": "department", "op": "equals", "value": "IT"}]),
        json!([{"field": "department", "op": "equals", "value": "it", "case_sensitive": true}]),
        json!([{"field": "department", "op": "equals", "value": "Ärger"}]),
        json!([{"field": "department", "op": "one-of", "value": ["Sales", "ärger"]}]),
        json!([{"field": "department", "op": "not-equals", "value": "IT"}]),
        json!([{"field": "priority", "op": "equals", "value": "urgent"},
               {"field": "department", "op": "equals", "value": "IT"}]),
        json!([{"field": "idle-minutes", "op": "greater", "value": 30},
               {"field": "department", "op": "equals", "value": "IT"}]),
        json!([{"field": "idle-minutes", "op": "greater", "value": 30}]),
        json!([{"field": "department", "op": "is-empty"}]),
    ];
    // Once each (a bucket of one 64-rule word: the matcher keeps bit sets),
    // then 40 copies of each (360 rules, 6 words: it keeps lists).
    for copies in [1, 40] {
        let mut rules: Vec<_> = conds
            .iter()
            .enumerate()
            .flat_map(|(n, c)| (0..copies).map(move |k| (n, k, c)))
            .map(|(n, k, c)| {
                v.check(&rule(
                    json!({"id": format!("r{n}-{k:02}"), "event_type": "ticket-idle", "conditions": c}),
                ))
                .unwrap()
            })
            .collect();
        // Firing order: position (all equal), then id.
        rules.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
        let m = Matcher::new(rules.clone(), Arc::new(Calendars::default()));
        let departments = [
            json!("IT"),
            json!("it"),
            json!("ÄRGER"),
            json!("sales"),
            json!(7),
            json!(null),
        ];
        let mut fired_somewhere = std::collections::BTreeSet::new();
        for (a, da) in departments.iter().enumerate() {
            for db in &departments[a..] {
                let ev = event(json!([
                    {"kind": "ticket", "id": "1", "fields": {"department": da, "priority": "urgent", "idle-minutes": 10}},
                    {"kind": "ticket", "id": "2", "fields": {"department": db, "idle-minutes": 60}},
                    {"kind": "ticket", "id": "3", "fields": {}}
                ]));
                let got: Vec<(String, Vec<usize>)> = m
                    .matches(&ev, ev.at())
                    .iter()
                    .map(|f| (f.rule.rule.id.clone(), f.items.to_vec()))
                    .collect();
                let want: Vec<(String, Vec<usize>)> = rules
                    .iter()
                    .map(|r| m.explain_rule(r, &ev, ev.at()))
                    .filter(|x| x.fires)
                    .map(|x| {
                        let items = (0..x.items.len()).filter(|&i| x.items[i].passed).collect();
                        (x.rule, items)
                    })
                    .collect();
                assert_eq!(got, want, "departments {da} and {db}");
                fired_somewhere.extend(got.into_iter().map(|(id, _)| id));
            }
        }
        // Every rule fired for some pair, so each case was really exercised.
        let conditions_fired: std::collections::BTreeSet<&str> = fired_somewhere
            .iter()
            .map(|id: &String| id.split('-').next().unwrap_or_default())
            .collect();
        assert_eq!(conditions_fired.len(), conds.len(), "{fired_somewhere:?}");
        assert_eq!(fired_somewhere.len(), conds.len() * copies);
    }
}
