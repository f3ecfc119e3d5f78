//! `tocsin demo`: the whole path on the embedded default, with visible output.
//!
//! Opens the data directory, installs every plugin found in the plugins folder
//! with the grants of `examples/demo/grants.toml`, loads the sample rules and
//! sends the sample events; prints which rule fired, which action ran with what
//! outcome, and finally the lines the Log to File plugin wrote.

use crate::calendars::{CalendarConfig, Calendars};
use crate::catalog::catalog;
use crate::dispatch;
use crate::event::Event;
use crate::matcher::Matcher;
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
    let store = Store::open(&args.data.join("db"))?;
    let grants = resolve_grants(&demo.join("grants.toml"), &args.data)?;

    let runtime = Arc::new(Runtime::new(
        RuntimeConfig::default(),
        Arc::new(store.clone()),
    )?);
    let registry = Registry::new(runtime);
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
    let checked = repo
        .import(&set, &validator)
        .with_context(|| rules_file.display().to_string())?;
    let matcher = Matcher::new(checked, Arc::new(calendars));
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
    let (mut fired, mut ok, mut failed) = (0, 0, 0);
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let place = || format!("{}:{}", events_file.display(), n + 1);
        let mut event: Event = serde_json::from_str(line).with_context(place)?;
        event.validate().with_context(place)?;
        let id = store.record_event(&mut event)?;
        let items: Vec<String> = event
            .items
            .iter()
            .map(|i| format!("{}#{}", i.kind, i.id))
            .collect();
        println!(
            "event {id} {}/{} [{}]",
            event.category,
            event.event_type,
            items.join(", ")
        );
        let firings = matcher.matches(&event, event.at());
        if firings.is_empty() {
            println!("  no rule fired");
        }
        for firing in firings {
            fired += 1;
            let rule = &firing.rule.rule;
            println!("  rule {} \"{}\" fired", rule.id, rule.name);
            for report in dispatch::fire(&registry, rule, &event, &firing.items).await {
                let head = format!(
                    "    action {} {}/{} {} items [{}]",
                    report.action_index + 1,
                    report.plugin,
                    report.action,
                    report.mode.name(),
                    report.items.join(", ")
                );
                match report.result {
                    Ok(summary) => {
                        ok += 1;
                        println!("{head} -> ok: {summary}");
                    }
                    Err(e) => {
                        failed += 1;
                        println!("{head} -> failed: {e}");
                    }
                }
            }
        }
    }
    println!("\n== summary: {} event(s) stored, {fired} firing(s), {ok} invocation(s) ok, {failed} failed", store.event_count());

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
