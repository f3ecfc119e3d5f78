//! The catalog against the specification: every category, event type,
//! condition and action named in tests/catalog/spec-names.txt resolves.

use tocsin::catalog::{catalog, kebab, Category};

fn spec() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(
        tocsin_tests::workspace_root().join("tests/catalog/spec-names.txt"),
    )
    .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let parts: Vec<&str> = l.split(" | ").collect();
            assert_eq!(parts.len(), 3, "bad line {l:?}");
            (
                parts[0].to_string(),
                parts[1].to_string(),
                parts[2].to_string(),
            )
        })
        .collect()
}

fn category(title: &str) -> &'static Category {
    catalog()
        .categories()
        .iter()
        .find(|c| c.title == title || c.title.trim_end_matches('s') == title)
        .unwrap_or_else(|| panic!("category {title:?} is missing"))
}

/// Every event type named in the specification is accepted, in its category.
#[test]
fn every_event_type_resolves_in_its_category() {
    let mut n = 0;
    for (cat, kind, name) in spec().iter().filter(|(_, k, _)| k == "type") {
        let c = category(cat);
        let t = c
            .event_type(&kebab(name))
            .unwrap_or_else(|| panic!("{cat}: event type {name:?} ({kind}) is missing"));
        assert_eq!(t.title, name);
        n += 1;
    }
    let total: usize = catalog()
        .categories()
        .iter()
        .map(|c| c.event_types.len())
        .sum();
    assert_eq!(
        n, total,
        "the catalog has event types the specification does not name"
    );
}

/// Every condition of every category resolves to a typed field on each of its event types.
#[test]
fn every_condition_resolves_to_a_typed_field() {
    for (cat, _, name) in spec().iter().filter(|(_, k, _)| k == "condition") {
        let c = category(cat);
        for t in &c.event_types {
            let cond = t
                .condition(&kebab(name))
                .unwrap_or_else(|| panic!("{cat}/{}: condition {name:?} is missing", t.id));
            assert_eq!(cond.title, name);
            // Each maps to a field and a comparison kind with at least one operator.
            let (_, kind) = tocsin::catalog::condition_field(cond);
            assert!(!kind.operators().is_empty());
        }
    }
}

/// Every action resolves; "(once per item)" names the per-item variant, the plain name the digest.
#[test]
fn every_action_resolves_with_its_variant() {
    for (cat, _, name) in spec().iter().filter(|(_, k, _)| k == "action") {
        let c = category(cat);
        let (base, per_item) = match name.strip_suffix(" (once per item)") {
            Some(base) => (base, true),
            None => (name.as_str(), false),
        };
        for t in &c.event_types {
            let a = t
                .action(&kebab(base))
                .unwrap_or_else(|| panic!("{cat}/{}: action {base:?} is missing", t.id));
            if per_item {
                assert!(a.per_item, "{cat}: {name}");
            } else {
                assert!(a.digest, "{cat}: {name}");
            }
        }
    }
}

/// Custom fields are offered where the specification says so.
#[test]
fn custom_fields_on_tickets_chats_and_call_logs() {
    for (cat, has) in [
        ("ticket", true),
        ("live-chat", true),
        ("call-logs", true),
        ("task", false),
        ("user", false),
    ] {
        let c = catalog().category(cat).unwrap();
        assert!(
            c.event_types.iter().all(|t| t.has_custom_fields() == has),
            "{cat}"
        );
    }
}

/// `tocsin catalog` prints the catalog.
#[test]
fn catalog_command_prints_every_category() {
    let out = std::process::Command::new(tocsin_tests::tocsin_bin())
        .arg("catalog")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for c in catalog().categories() {
        assert!(
            text.contains(&format!("{} ({})", c.title, c.id)),
            "{}",
            c.title
        );
    }
    assert!(
        text.contains("event Ticket Idle (ticket-idle) [time-based]"),
        "{text}"
    );
    let json = std::process::Command::new(tocsin_tests::tocsin_bin())
        .args(["catalog", "--json"])
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["categories"].as_array().unwrap().len(), 13);
}

/// Every action of every event type of the catalog is provided, in each mode
/// the catalog gives it, by a built-in plugin in `target/plugins`.
#[tokio::test]
async fn every_catalog_action_is_provided_by_a_built_in_plugin() {
    use std::collections::BTreeMap;
    use tocsin::catalog::ActionMode;
    use tocsin::plugins::bindings::Mode;

    let rt = tocsin_tests::runtime();
    let mut provided: BTreeMap<String, (String, Vec<Mode>)> = BTreeMap::new();
    let dir = tocsin_tests::plugins_dir();
    let mut wasm: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    wasm.sort();
    for path in wasm {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let (manifest, bytes) = tocsin_tests::component(&dir, &name);
        let plugin = rt.load(manifest, &bytes).await.unwrap();
        for action in &plugin.info.actions {
            let before = provided.insert(
                action.id.clone(),
                (plugin.id().to_string(), action.modes.clone()),
            );
            assert!(
                before.is_none(),
                "action {} is provided twice: by {} and {:?}",
                action.id,
                plugin.id(),
                before.map(|b| b.0)
            );
        }
    }
    let mut checked = 0;
    let mut problems = std::collections::BTreeSet::new();
    for category in catalog().categories() {
        for event_type in &category.event_types {
            for action in &event_type.actions {
                checked += 1;
                let Some((plugin, modes)) = provided.get(&action.id) else {
                    problems.insert(format!(
                        "{} is not provided by any built-in plugin",
                        action.id
                    ));
                    continue;
                };
                for mode in action.modes() {
                    let wanted = match mode {
                        ActionMode::Digest => Mode::Digest,
                        ActionMode::PerItem => Mode::PerItem,
                    };
                    if !modes.contains(&wanted) {
                        problems.insert(format!(
                            "{plugin}/{} lacks the {} mode ({}/{})",
                            action.id,
                            wanted.name(),
                            category.id,
                            event_type.id
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(checked > 300, "only {checked} actions walked");
}
