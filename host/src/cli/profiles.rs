//! `tocsin profiles ...`: agents' notification profiles as one file.

use crate::profiles::{ProfileSet, Profiles};
use crate::store::Store;
use anyhow::Context as _;
use clap::Subcommand;
use std::path::PathBuf;

/// Profile commands. A file ending in `.json` is JSON; any other is TOML.
#[derive(Subcommand)]
pub enum ProfilesCommand {
    /// Store every profile of a file; nothing is stored when one is invalid.
    /// Profiles with the same agent and name are replaced.
    Import {
        /// Data directory (sled); created if missing.
        #[arg(long, default_value_os_t = super::default_data())]
        data: PathBuf,
        /// The profiles file.
        file: PathBuf,
    },
    /// Write every stored profile to a file.
    Export {
        /// Data directory (sled).
        #[arg(long, default_value_os_t = super::default_data())]
        data: PathBuf,
        /// The file to write.
        file: PathBuf,
    },
}

/// Runs a profile command.
pub fn run(cmd: ProfilesCommand) -> anyhow::Result<()> {
    match cmd {
        ProfilesCommand::Import { data, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let set = ProfileSet::parse(&file, &text).context(file.display().to_string())?;
            let n = open(&data)?
                .import(&set)
                .context(file.display().to_string())?;
            println!("imported {n} profile(s)");
            Ok(())
        }
        ProfilesCommand::Export { data, file } => {
            let set = open(&data)?.export()?;
            std::fs::write(&file, set.render(&file)?)
                .with_context(|| format!("writing {}", file.display()))?;
            println!("exported {} profile(s)", set.profiles.len());
            Ok(())
        }
    }
}

/// The profiles of the store in `data` (the same `db` folder `tocsin ingest` uses).
fn open(data: &std::path::Path) -> anyhow::Result<Profiles> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    Profiles::open(&Store::open(&data.join("db"))?)
}
