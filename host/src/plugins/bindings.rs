//! Every `bindgen!` of the host, in one place.
//!
//! The two worlds of `wit/plugin.wit` share the `types` and `logging`
//! interfaces (the provider bindings reuse the action ones through `with`), and
//! the WASI packages map to wasmtime-wasi's and wasmtime-wasi-http's bindings so
//! the standard implementations are linked unchanged.

#![allow(missing_docs)]

/// The `action-plugin` world.
pub mod action {
    wasmtime::component::bindgen!({
        world: "tocsin:plugin/action-plugin",
        path: "../wit",
        imports: { default: async },
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        },
    });
}

/// The `external-provider` world.
pub mod provider {
    wasmtime::component::bindgen!({
        world: "tocsin:plugin/external-provider",
        path: "../wit",
        imports: { default: async },
        exports: { default: async },
        with: {
            "tocsin:plugin/types": super::action::tocsin::plugin::types,
            "tocsin:plugin/logging": super::action::tocsin::plugin::logging,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        },
    });
}

pub use action::tocsin::plugin::types::{
    ActionInfo, Event, Failure, FailureKind, Invocation, Item, Mode, Outcome, PluginInfo,
    ProviderInfo, ProviderRequest, RuleRef, Variable,
};
pub use action::tocsin::plugin::{helpdesk, logging, mail, profiles, providers};

impl Mode {
    /// The mode as rules and output spell it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Digest => "digest",
            Mode::PerItem => "per-item",
        }
    }
}
