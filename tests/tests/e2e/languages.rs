//! External providers written in other languages: `examples/provider-c` (C,
//! wit-bindgen's C bindings) and `examples/provider-js` (JavaScript, jco's
//! QuickJS backend), built by `cargo xtask examples` into the folder named by
//! `TOCSIN_EXAMPLES_DIR`. Each is installed, granted to the built-in
//! `providers` plugin, and a rule's Notify External Provider action changes
//! the item's custom field to what the provider computed from the event.
//!
//! Without `TOCSIN_EXAMPLES_DIR` (a plain `cargo test`) these tests say why
//! they skip; `cargo xtask test` builds the examples and sets it.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use tocsin::calendars::Calendars;
use tocsin::catalog::catalog;
use tocsin::engine::{Engine, EngineConfig, Sink};
use tocsin::plugins::{Grants, Registry, Runtime, RuntimeConfig};
use tocsin::rules::{Rule, RuleRepo, Validator};
use tocsin::store::Store;
use tocsin_tests::engine::{attempts, clock, rule};
use tocsin_tests::{plugins_dir, tocsin_bin};

/// The providers, by plugin id, as `cargo xtask examples` names the files.
const PROVIDERS: [&str; 2] = ["provider-c", "provider-js"];

/// The folder of the built examples, or `None` (saying why) when the
/// variable is unset, so a plain `cargo test` passes without the C and
/// JavaScript toolchains.
fn examples_dir(test: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("TOCSIN_EXAMPLES_DIR").map(PathBuf::from) else {
        eprintln!(
            "{test}: skipped, TOCSIN_EXAMPLES_DIR is unset; `cargo xtask test` builds the \
             C and JavaScript providers with `cargo xtask examples` and sets it"
        );
        return None;
    };
    for id in PROVIDERS {
        for ext in ["wasm", "toml"] {
            let file = dir.join(format!("{id}.{ext}"));
            assert!(
                file.exists(),
                "{} is missing: run `cargo xtask examples`",
                file.display()
            );
        }
    }
    Some(dir)
}

/// An engine on `dir` with the helpdesk plugin, the providers plugin (granted
/// both example providers and `set-fields`), both examples installed with no
/// grants, and `rules` stored. Prints each example's first install time (its
/// host compile).
async fn open(dir: &Path, examples: &Path, rules: &[Value]) -> Engine {
    let store = Store::open(dir).unwrap();
    let sink = Arc::new(Sink::new(store.clone()).unwrap());
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default(), sink.clone()).unwrap());
    let registry = Arc::new(Registry::new(runtime));
    let every_command = Grants {
        helpdesk: vec!["*".into()],
        ..Default::default()
    };
    registry
        .install_file(&plugins_dir().join("helpdesk.wasm"), every_command)
        .await
        .unwrap();
    let providers = Grants {
        providers: PROVIDERS.map(String::from).to_vec(),
        helpdesk: vec!["set-fields".into()],
        ..Default::default()
    };
    registry
        .install_file(&plugins_dir().join("providers.wasm"), providers)
        .await
        .unwrap();
    for id in PROVIDERS {
        let wasm = examples.join(format!("{id}.wasm"));
        let started = Instant::now();
        let installed = registry
            .install_file(&wasm, Grants::default())
            .await
            .unwrap_or_else(|e| panic!("installing {}: {e:#}", wasm.display()));
        let size = std::fs::metadata(&wasm).unwrap().len();
        eprintln!(
            "{id}: {} KiB, installed (compiled and described) in {} ms",
            size / 1024,
            started.elapsed().as_millis()
        );
        assert_eq!(installed.plugin.id(), id);
    }
    let repo = RuleRepo::open(&store).unwrap();
    let validator = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    for r in rules {
        let rule: Rule = serde_json::from_value(r.clone()).unwrap();
        repo.create(&rule, &validator).unwrap();
    }
    Engine::open(
        &store,
        registry,
        sink,
        Arc::new(Calendars::default()),
        clock(),
        EngineConfig::default(),
    )
    .unwrap()
}

/// A ticket rule handing the event's items to the provider its `settings` name.
fn notify(id: &str, settings: Value) -> Value {
    rule(
        id,
        "ticket-created",
        json!([{"plugin": "providers", "action": "notify-external-provider",
                "mode": "digest", "settings": settings}]),
    )
}

/// A Ticket Created event for ticket `id`; `None` leaves the subject out.
fn created(id: &str, subject: Option<&str>) -> tocsin::event::Event {
    let fields = match subject {
        Some(s) => json!({"subject": s, "priority": "normal"}),
        None => json!({"priority": "normal"}),
    };
    serde_json::from_value(json!({
        "category": "ticket", "event_type": "ticket-created",
        "occurred_at": "2026-11-30T10:00:00Z",
        "items": [{"kind": "ticket", "id": id, "fields": fields}]
    }))
    .unwrap()
}

/// The C and the JavaScript providers each set a custom field computed from
/// the item: the C one `cf.reference` from its kind and id, the JavaScript one
/// `cf.subject_words` from its subject and the rule's settings.
#[tokio::test]
async fn c_and_javascript_providers_set_custom_fields_computed_from_the_item() {
    let Some(examples) =
        examples_dir("c_and_javascript_providers_set_custom_fields_computed_from_the_item")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rules = [
        notify("by-c", json!({"provider": "provider-c"})),
        notify(
            "by-js",
            json!({"provider": "provider-js", "prefix": "words"}),
        ),
    ];
    let engine = open(dir.path(), &examples, &rules).await;
    for (id, subject) in [("41", "Printer on fire  again"), ("42", "Refund please")] {
        engine.ingest(created(id, Some(subject))).await.unwrap();
    }
    for _ in 0..4 {
        engine.run_due().await;
    }
    for (rule, provider) in [("by-c", "provider-c"), ("by-js", "provider-js")] {
        let attempts = attempts(&engine, rule);
        assert_eq!(attempts.len(), 2, "{rule}: {attempts:?}");
        for (outcome, _, message) in &attempts {
            assert_eq!(outcome, "ok", "{rule}: {message}");
            assert!(
                message.contains(&format!("{provider} answered")),
                "{rule}: {message}"
            );
        }
    }
    for (id, reference, words) in [
        ("41", "TICKET-41", "words-4"),
        ("42", "TICKET-42", "words-2"),
    ] {
        let item = engine.item("ticket", id).unwrap().unwrap();
        assert_eq!(item["fields"]["cf.reference"], reference, "{item}");
        assert_eq!(item["fields"]["cf.subject_words"], words, "{item}");
        assert_eq!(item["fields"]["priority"], "normal", "{item}");
    }
}

/// A C provider reads the rule's settings; a JavaScript provider's thrown
/// `failure` reaches the audit with its kind and message, and changes nothing.
#[tokio::test]
async fn c_provider_reads_settings_and_a_javascript_failure_is_dead_lettered() {
    let Some(examples) =
        examples_dir("c_provider_reads_settings_and_a_javascript_failure_is_dead_lettered")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rules = [
        notify("by-c", json!({"provider": "provider-c", "prefix": "acme"})),
        notify("by-js", json!({"provider": "provider-js"})),
    ];
    let engine = open(dir.path(), &examples, &rules).await;
    engine.ingest(created("43", None)).await.unwrap();
    for _ in 0..4 {
        engine.run_due().await;
    }
    let item = engine.item("ticket", "43").unwrap().unwrap();
    assert_eq!(item["fields"]["cf.reference"], "ACME-43", "{item}");
    assert!(item["fields"].get("cf.subject_words").is_none(), "{item}");

    let attempts = attempts(&engine, "by-js");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].0, "dead-letter", "{attempts:?}");
    assert!(
        attempts[0]
            .2
            .contains("provider `provider-js`: ticket 43 has no subject to count"),
        "{}",
        attempts[0].2
    );
}

/// `tocsin plugin install` accepts both built examples as external providers.
#[test]
fn plugin_install_accepts_the_c_and_javascript_providers() {
    let Some(examples) = examples_dir("plugin_install_accepts_the_c_and_javascript_providers")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for id in PROVIDERS {
        let wasm = examples.join(format!("{id}.wasm"));
        let out = Command::new(tocsin_bin())
            .args(["plugin", "install"])
            .arg(&wasm)
            .arg("--data")
            .arg(dir.path())
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{id}: {stderr}");
        assert!(
            stdout.starts_with(&format!("{id} 0.1.0 (external-provider")),
            "{id}: {stdout}"
        );
        assert!(dir.path().join(format!("plugins/{id}.wasm")).exists());
    }
}
