//! `tocsin demo`: the whole path on the embedded default, with visible output.
//!
//! Opens the data directory, installs every plugin found in the plugins folder
//! with the grants of `examples/demo/grants.toml`, loads the sample rules and
//! sends the sample events through the engine (durable ingestion, the
//! frequency gate, the outbox, the audit); prints which rule fired, what each
//! action did according to the audit, and finally the lines the Log to File
//! plugin wrote.

use crate::calendars::{CalendarConfig, Calendars};
use crate::catalog::catalog;
use crate::engine::audit::{Entry, Query};
use crate::engine::gate::Decision;
use crate::engine::{Engine, EngineConfig, Sink, SystemClock};
use crate::event::Event;
use crate::plugins::{Grants, Registry, Runtime, RuntimeConfig};
use crate::rules::{RuleRepo, RuleSet, Validator};
use crate::store::Store;
use anyhow::{bail, Context as _};
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments of `tocsin demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Data directory (sled); created if missing.
    #[arg(long, default_value_os_t = super::default_data())]
    data: PathBuf,
    /// Folder of built plugins (`<id>.wasm` + `<id>.toml`), as `cargo xtask plugins` leaves them.
    #[arg(long, default_value = "target/plugins")]
    plugins: PathBuf,
    /// Folder of examples; the demo reads `demo/rules.json`, `demo/events.jsonl`, `demo/grants.toml`.
    #[arg(long, default_value = "examples")]
    examples: PathBuf,
}

/// Where the demo's granted directories go, relative to the data directory.
fn resolve_grants(file: &Path, data: &Path) -> anyhow::Result<BTreeMap<String, Grants>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut grants: BTreeMap<String, Grants> =
        toml::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    for g in grants.values_mut() {
        if let Some(dir) = &mut g.directory {
            if dir.path.is_relative() {
                dir.path = data.join(&dir.path);
            }
            // Start each demo with empty logs so the output shows this run only.
            let _ = std::fs::remove_dir_all(&dir.path);
            std::fs::create_dir_all(&dir.path)
                .with_context(|| format!("creating {}", dir.path.display()))?;
        }
    }
    Ok(grants)
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let demo = args.examples.join("demo");
    println!("tocsin demo: data directory {}", args.data.display());
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating {}", args.data.display()))?;
    // The demo's own database starts empty each run, so its output is the
    // same every time (windows and jobs of an earlier run would change it).
    let db = args.data.join("demo-db");
    if db.exists() {
        std::fs::remove_dir_all(&db).with_context(|| format!("clearing {}", db.display()))?;
    }
    let store = Store::open(&db)?;
    let grants = resolve_grants(&demo.join("grants.toml"), &args.data)?;

    let sink = Arc::new(Sink::new(store.clone())?);
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default(), sink.clone())?);
    let registry = Arc::new(Registry::new(runtime));
    let mut wasm_files: Vec<PathBuf> = std::fs::read_dir(&args.plugins)
        .with_context(|| {
            format!(
                "reading the plugins folder {} (run `cargo xtask plugins`)",
                args.plugins.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    wasm_files.sort();
    if wasm_files.is_empty() {
        bail!(
            "no plugins in {} (run `cargo xtask plugins`)",
            args.plugins.display()
        );
    }
    println!("\n== plugins");
    for wasm in &wasm_files {
        let id = wasm
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let granted = grants.get(&id).cloned().unwrap_or_default();
        let installed = registry.install_file(wasm, granted).await?;
        let p = &installed.plugin;
        let actions: Vec<String> = p
            .info
            .actions
            .iter()
            .map(|a| {
                let modes: Vec<&str> = a.modes.iter().map(|m| m.name()).collect();
                format!("{} [{}]", a.id, modes.join(", "))
            })
            .collect();
        let dir = installed
            .grants
            .directory
            .as_ref()
            .map(|d| format!("directory {} ({})", d.path.display(), d.access.name()))
            .unwrap_or_else(|| "no directory".into());
        println!(
            "installed {} {}: {}; grants: {dir}",
            p.id(),
            p.info.version,
            actions.join(", ")
        );
    }

    let rules_file = demo.join("rules.json");
    let text = std::fs::read_to_string(&rules_file)
        .with_context(|| format!("reading {}", rules_file.display()))?;
    let set: RuleSet =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", rules_file.display()))?;
    let calendars_file = demo.join("calendars.toml");
    let calendars = match std::fs::read_to_string(&calendars_file) {
        Ok(text) => {
            let config: CalendarConfig = toml::from_str(&text)
                .with_context(|| format!("parsing {}", calendars_file.display()))?;
            Calendars::compile(&config).with_context(|| calendars_file.display().to_string())?
        }
        Err(_) => Calendars::default(),
    };
    let repo = RuleRepo::open(&store)?;
    let validator = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    repo.import(&set, &validator)
        .with_context(|| rules_file.display().to_string())?;
    let engine = Engine::open(
        &store,
        registry.clone(),
        sink,
        Arc::new(calendars),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )?;
    println!(
        "\n== rules: {} loaded from {} and stored",
        set.rules.len(),
        rules_file.display()
    );
    for r in &set.rules {
        println!(
            "  {} \"{}\" on {}/{} ({} action(s))",
            r.id,
            r.name,
            r.category,
            r.event_type,
            r.actions.len()
        );
    }

    let events_file = demo.join("events.jsonl");
    let text = std::fs::read_to_string(&events_file)
        .with_context(|| format!("reading {}", events_file.display()))?;
    println!("\n== events from {}", events_file.display());
    let (mut events, mut fired, mut ok, mut failed) = (0, 0, 0, 0);
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let place = || format!("{}:{}", events_file.display(), n + 1);
        let event: Event = serde_json::from_str(line).with_context(place)?;
        let items: Vec<String> = event
            .items
            .iter()
            .map(|i| format!("{}#{}", i.kind, i.id))
            .collect();
        let (category, event_type) = (event.category.clone(), event.event_type.clone());
        let result = engine.ingest(event).await.with_context(place)?;
        events += 1;
        println!(
            "event {} {category}/{event_type} [{}]",
            result.event,
            items.join(", ")
        );
        if result.matched.is_empty() {
            println!("  no rule fired");
        }
        engine.run_due().await;
        let records = engine.audit(&Query {
            event: Some(result.event.clone()),
            ..Default::default()
        })?;
        for rule_id in &result.matched {
            fired += 1;
            let rule = repo.get(rule_id)?;
            println!("  rule {} \"{}\" fired", rule.id, rule.name);
            let mut lines = Vec::new();
            for r in &records {
                let line = match &r.entry {
                    Entry::Attempt {
                        rule: id,
                        action_index,
                        items,
                        outcome,
                        message,
                        ..
                    } if id == rule_id => {
                        if outcome == "ok" {
                            ok += 1;
                        } else {
                            failed += 1;
                        }
                        let shown = if outcome == "ok" {
                            "ok"
                        } else {
                            outcome.as_str()
                        };
                        (*action_index, items.clone(), format!("{shown}: {message}"))
                    }
                    Entry::Gate {
                        rule: id,
                        action_index,
                        items,
                        decision:
                            Decision::Suppressed {
                                until_ms,
                                coalesced,
                            },
                        ..
                    } if id == rule_id => {
                        let until = jiff::Timestamp::from_millisecond(*until_ms)
                            .map(|t| t.to_string())
                            .unwrap_or_default();
                        let what = if *coalesced {
                            "coalesced"
                        } else {
                            "suppressed"
                        };
                        (
                            *action_index,
                            items.clone(),
                            format!("{what} until {until}"),
                        )
                    }
                    _ => continue,
                };
                lines.push(line);
            }
            lines.sort();
            for (index, items, result) in lines {
                let action = &rule.actions[index];
                let ids: Vec<&str> = items
                    .iter()
                    .map(|k| k.rsplit('/').next().unwrap_or(k))
                    .collect();
                println!(
                    "    action {} {}/{} {} items [{}] -> {result}",
                    index + 1,
                    action.plugin,
                    action.action,
                    action.mode.name(),
                    ids.join(", ")
                );
            }
        }
    }
    println!("\n== summary: {events} event(s) stored, {fired} firing(s), {ok} invocation(s) ok, {failed} failed");
    let pending = engine.pending_jobs()?.len();
    let dead = engine.dead_letters()?.len();
    if pending + dead > 0 {
        println!("   {pending} job(s) waiting for a retry, {dead} dead-lettered");
    }

    for (id, g) in &grants {
        let Some(dir) = &g.directory else { continue };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir.path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for file in files {
            println!("\n== {} (written by plugin {id})", file.display());
            print!("{}", std::fs::read_to_string(&file)?);
        }
    }
    if failed > 0 {
        bail!("{failed} invocation(s) failed");
    }
    Ok(())
}
