//! `xtask-wit`: the two WIT steps of building the C example provider, run by
//! `cargo xtask examples` (and so by `cargo xtask test`):
//!
//! - `c-bindings`: the C bindings of a world (header, implementation and an
//!   object file carrying the world's type), with the `wit-bindgen-c`
//!   library, the same code as `wit-bindgen c`;
//! - `componentize`: a WASI preview 1 reactor core module to a component,
//!   with `wit-component` and the preview 1 reactor adapter.
//!
//! A crate of its own because its dependencies take a fresh build 15 s on 2
//! cores, which every other xtask command would otherwise wait for.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::fs;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "WIT tools for the C example provider")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Writes the C bindings of a world into a folder.
    CBindings {
        /// The WIT folder (its package and dependencies).
        #[arg(long)]
        wit: PathBuf,
        /// The world to generate for.
        #[arg(long)]
        world: String,
        /// The folder written (created when missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Turns a WASI preview 1 reactor core module into a component.
    Componentize {
        /// The core module, with its component-type custom section.
        #[arg(long)]
        module: PathBuf,
        /// The component written.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::CBindings { wit, world, out } => c_bindings(&wit, &world, &out),
        Cmd::Componentize { module, out } => {
            let core =
                fs::read(&module).with_context(|| format!("reading {}", module.display()))?;
            let component = componentize(&core)
                .with_context(|| format!("componentizing {}", module.display()))?;
            fs::write(&out, component).with_context(|| format!("writing {}", out.display()))
        }
    }
}

fn c_bindings(wit: &std::path::Path, world: &str, out: &std::path::Path) -> Result<()> {
    use wit_bindgen_core::wit_parser::Resolve;
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_path(wit)
        .with_context(|| format!("parsing the WIT in {}", wit.display()))?;
    let world = resolve
        .select_world(&[package], Some(world))
        .with_context(|| format!("finding the world `{world}` in {}", wit.display()))?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .context("generating the C bindings")?;
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, contents) in files.iter() {
        let path = out.join(name);
        fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn componentize(module: &[u8]) -> Result<Vec<u8>> {
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    wit_component::ComponentEncoder::default()
        .module(module)
        .context("reading the core module and its component-type section")?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .context("adding the WASI preview 1 reactor adapter")?
        .validate(true)
        .encode()
}
