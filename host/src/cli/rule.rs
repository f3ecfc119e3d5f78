//! `tocsin rule ...`, `tocsin audit`: rules and the audit on a data
//! directory, through the same library as the API (while the server is
//! stopped: sled allows one process; a running server has the API).

use super::serve::{open, Place};
use crate::catalog::catalog;
use crate::engine::audit::Query;
use crate::event::Event;
use crate::rules::{Rule, RuleSet, Validator};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Rule commands.
#[derive(Subcommand)]
pub enum RuleCommand {
    /// List rules: id, enabled, owner, category/event type, name.
    List {
        #[command(flatten)]
        place: Place,
        /// Only this owner (`system` or an agent id).
        #[arg(long)]
        owner: Option<String>,
        /// Only this category.
        #[arg(long)]
        category: Option<String>,
    },
    /// Print one rule as JSON.
    Show {
        #[command(flatten)]
        place: Place,
        /// Rule id.
        id: String,
    },
    /// Add a rule from a JSON file (`-` for stdin).
    Add {
        #[command(flatten)]
        place: Place,
        /// The rule.
        file: PathBuf,
    },
    /// Replace a rule (the id in the file) from a JSON file (`-` for stdin).
    Edit {
        #[command(flatten)]
        place: Place,
        /// The rule.
        file: PathBuf,
    },
    /// Enable a rule.
    Enable {
        #[command(flatten)]
        place: Place,
        /// Rule id.
        id: String,
    },
    /// Disable a rule.
    Disable {
        #[command(flatten)]
        place: Place,
        /// Rule id.
        id: String,
    },
    /// Delete a rule.
    Delete {
        #[command(flatten)]
        place: Place,
        /// Rule id.
        id: String,
    },
    /// Dry run an event (JSON file) against every rule of its type, or one:
    /// per-condition results, nothing stored, no action run.
    Explain {
        #[command(flatten)]
        place: Place,
        /// Only this rule.
        #[arg(long)]
        rule: Option<String>,
        /// The event.
        event: PathBuf,
    },
    /// Write every rule as one JSON document (stdout without a file).
    Export {
        #[command(flatten)]
        place: Place,
        /// Where to write it.
        file: Option<PathBuf>,
    },
    /// Replace every rule from one JSON document, all or nothing.
    Import {
        #[command(flatten)]
        place: Place,
        /// The document (`{"rules": [...]}`).
        file: PathBuf,
    },
}

/// Arguments of `tocsin audit`.
#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    place: Place,
    /// Records of this event.
    #[arg(long)]
    event: Option<String>,
    /// Records about this rule.
    #[arg(long)]
    rule: Option<String>,
    /// Records about this item (`kind/id`).
    #[arg(long)]
    item: Option<String>,
    /// Records about this plugin.
    #[arg(long)]
    plugin: Option<String>,
    /// At most this many, oldest first.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
}

fn read(file: &PathBuf) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

fn parse<T: serde::de::DeserializeOwned>(file: &PathBuf) -> anyhow::Result<T> {
    let text = read(file)?;
    let mut de = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut de)
        .map_err(|e| anyhow::anyhow!("{}: {}: {}", file.display(), e.path(), e.inner()))
}

pub async fn run(cmd: RuleCommand) -> anyhow::Result<()> {
    let place = match &cmd {
        RuleCommand::List { place, .. }
        | RuleCommand::Show { place, .. }
        | RuleCommand::Add { place, .. }
        | RuleCommand::Edit { place, .. }
        | RuleCommand::Enable { place, .. }
        | RuleCommand::Disable { place, .. }
        | RuleCommand::Delete { place, .. }
        | RuleCommand::Explain { place, .. }
        | RuleCommand::Export { place, .. }
        | RuleCommand::Import { place, .. } => place,
    };
    let (engine, registry) = open(&place.config()?, false).await?;
    let validator = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let repo = engine.rules();
    match &cmd {
        RuleCommand::List {
            owner, category, ..
        } => {
            for r in repo.list()? {
                if owner.as_ref().is_some_and(|o| *o != r.owner)
                    || category.as_ref().is_some_and(|c| *c != r.category)
                {
                    continue;
                }
                println!(
                    "{}\t{}\t{}\t{}/{}\t{}",
                    r.id,
                    if r.enabled { "enabled" } else { "disabled" },
                    r.owner,
                    r.category,
                    r.event_type,
                    r.name
                );
            }
        }
        RuleCommand::Show { id, .. } => {
            println!("{}", serde_json::to_string_pretty(&repo.get(id)?)?);
        }
        RuleCommand::Add { file, .. } => {
            let rule: Rule = parse(file)?;
            repo.create(&rule, &validator)?;
            println!("added {}", rule.id);
        }
        RuleCommand::Edit { file, .. } => {
            let rule: Rule = parse(file)?;
            repo.update(&rule, &validator)?;
            println!("updated {}", rule.id);
        }
        RuleCommand::Enable { id, .. } => {
            repo.set_enabled(id, true)?;
            println!("enabled {id}");
        }
        RuleCommand::Disable { id, .. } => {
            repo.set_enabled(id, false)?;
            println!("disabled {id}");
        }
        RuleCommand::Delete { id, .. } => {
            repo.delete(id)?;
            println!("deleted {id}");
        }
        RuleCommand::Explain { rule, event, .. } => {
            let event: Event = parse(event)?;
            let results = engine.explain(&event, rule.as_deref())?;
            println!("{}", serde_json::to_string_pretty(&results)?);
        }
        RuleCommand::Export { file, .. } => {
            let text = repo.export()?;
            match file {
                Some(f) => {
                    std::fs::write(f, text).with_context(|| format!("writing {}", f.display()))?;
                    eprintln!("exported to {}", f.display());
                }
                None => print!("{text}"),
            }
        }
        RuleCommand::Import { file, .. } => {
            let set: RuleSet = parse(file)?;
            let checked = repo.import(&set, &validator)?;
            println!("imported {} rule(s)", checked.len());
        }
    }
    engine.store().db().flush_async().await?;
    Ok(())
}

pub async fn audit(args: AuditArgs) -> anyhow::Result<()> {
    let (engine, _) = open(&args.place.config()?, false).await?;
    let query = Query {
        event: args.event,
        rule: args.rule,
        item: args.item,
        plugin: args.plugin,
        since_ms: None,
        until_ms: None,
        limit: Some(args.limit),
    };
    for record in engine.audit(&query)? {
        println!("{}", serde_json::to_string(&record)?);
    }
    Ok(())
}
