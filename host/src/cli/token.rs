//! `tocsin token create|list|revoke`: API tokens, on the data directory
//! (while the server is stopped; a running server has `POST /v1/tokens`).

use crate::api::auth::{Role, Tokens};
use clap::Subcommand;
use std::path::PathBuf;

/// Token commands.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints the secret once.
    Create {
        /// Data directory.
        #[arg(long, env = "TOCSIN_DATA", default_value_os_t = super::default_data())]
        data: PathBuf,
        /// `admin` or `agent`.
        #[arg(long, value_parser = ["admin", "agent"])]
        role: String,
        /// The agent's id (agent tokens only).
        #[arg(long)]
        agent: Option<String>,
    },
    /// List tokens (ids, roles, agents; never secrets).
    List {
        /// Data directory.
        #[arg(long, env = "TOCSIN_DATA", default_value_os_t = super::default_data())]
        data: PathBuf,
    },
    /// Revoke a token by id.
    Revoke {
        /// Data directory.
        #[arg(long, env = "TOCSIN_DATA", default_value_os_t = super::default_data())]
        data: PathBuf,
        /// Token id (`tok-...`).
        id: String,
    },
}

pub fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create { data, role, agent } => {
            let tokens = Tokens::open(&super::serve::open_store(&data)?)?;
            let role = if role == "admin" {
                Role::Admin
            } else {
                Role::Agent
            };
            let (principal, secret) = tokens.create(role, agent.as_deref())?;
            eprintln!(
                "created {} token {}{}",
                principal.role.name(),
                principal.token,
                principal
                    .agent
                    .as_deref()
                    .map(|a| format!(" for agent {a}"))
                    .unwrap_or_default()
            );
            println!("{secret}");
        }
        TokenCommand::List { data } => {
            let tokens = Tokens::open(&super::serve::open_store(&data)?)?;
            for p in tokens.list()? {
                println!(
                    "{}\t{}\t{}",
                    p.token,
                    p.role.name(),
                    p.agent.as_deref().unwrap_or("-")
                );
            }
        }
        TokenCommand::Revoke { data, id } => {
            let tokens = Tokens::open(&super::serve::open_store(&data)?)?;
            if !tokens.revoke(&id)? {
                anyhow::bail!("no token `{id}`");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}
