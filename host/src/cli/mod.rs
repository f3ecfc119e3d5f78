//! The `tocsin` command line (clap). Each command is a thin layer over the library.

mod demo;
mod ingest;
mod plugin;
mod profiles;
mod rule;
pub mod serve;
mod token;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// tocsin: a help-desk event engine whose actions run in WebAssembly sandboxes.
#[derive(Parser)]
#[command(name = "tocsin", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install the built-in plugins, load sample rules, send sample events, show what ran.
    Demo(demo::DemoArgs),
    /// Send events (JSON lines) through the engine; print each acknowledgement.
    Ingest(ingest::IngestArgs),
    /// Print the catalog: categories, event types, conditions, actions.
    Catalog {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Work with plugin components.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Import or export agents' notification profiles.
    #[command(subcommand)]
    Profiles(profiles::ProfilesCommand),
    /// Manage rules on a data directory (list, show, add, edit, enable, disable, delete, explain, export, import).
    #[command(subcommand)]
    Rule(rule::RuleCommand),
    /// Send events to the engine.
    #[command(subcommand)]
    Event(EventCommand),
    /// Print audit records as JSON lines.
    Audit(rule::AuditArgs),
    /// Run the engine and the HTTP API until Ctrl-C or SIGTERM.
    Serve(serve::ServeArgs),
    /// Create, list or revoke API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
}

/// Event commands.
#[derive(Subcommand)]
enum EventCommand {
    /// Send events (JSON lines) through the engine; print each acknowledgement
    /// (the same as `tocsin ingest`).
    Send(ingest::IngestArgs),
}

/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "tocsin-data";

/// Parses arguments, runs the command, prints errors with their causes.
pub fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Plugin(cmd) => plugin::run(cmd).await,
            Command::Ingest(args) => ingest::run(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Rule(cmd) => rule::run(cmd).await,
            Command::Event(EventCommand::Send(args)) => ingest::run(args).await,
            Command::Audit(args) => rule::audit(args).await,
            Command::Token(cmd) => token::run(cmd),
            Command::Profiles(cmd) => profiles::run(cmd),
            Command::Catalog { json } => {
                let catalog = crate::catalog::catalog();
                if json {
                    println!("{}", serde_json::to_string_pretty(catalog)?);
                } else {
                    print!("{}", catalog.render_text());
                }
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOCSIN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn default_data() -> PathBuf {
    PathBuf::from(DEFAULT_DATA_DIR)
}
