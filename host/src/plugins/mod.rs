//! Plugins: the WebAssembly runtime that runs every action, and what surrounds it.
//!
//! - [`bindings`]: the generated bindings of `wit/plugin.wit` (every `bindgen!`).
//! - [`manifest`]: the plugin manifest and the contract compatibility rule.
//! - [`grants`]: capabilities an admin grants, deny by default (no wasmtime here).
//! - [`runtime`]: engine, loading and checking components, invoking them under
//!   a deadline and a memory cap.
//! - `cache`: compiled components kept on disk.
//! - `limits`: the wall-clock bound, message cuts, naming faults.
//! - [`slots`]: how many invocations of one plugin run at once.
//! - [`registry`]: the installed plugins by id, with their grants.
//! - `state`: the per-invocation store and the host side of the imports.
//! - [`watch`]: hot reload of changed components.
//!
//! **Invariant:** a plugin sees only what its grants allow: no directory, no
//! outbound HTTP, no mail, no help-desk command and no notification profile
//! unless granted.

pub mod bindings;
mod cache;
pub mod error;
pub mod grants;
mod limits;
pub mod manifest;
pub mod registry;
pub mod runtime;
pub mod slots;
mod state;
pub mod watch;

pub use error::{InvokeError, LoadError};
pub use grants::{Access, DirectoryGrant, Grants};
pub use manifest::{Manifest, World};
pub use registry::{Installed, Registry};
pub use runtime::{LoadedPlugin, Runtime, RuntimeConfig};
pub use slots::Load;
pub use state::{is_public, Outbound, GUEST_DIR};
