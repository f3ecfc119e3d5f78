//! Errors of the plugin runtime: refusing a plugin at load, and an invocation
//! that a fault ended. Each names the plugin and says what went wrong.

use super::bindings::Failure;

/// Why a plugin cannot be loaded. The old version, if any, keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are a core WebAssembly module, not a component.
    #[error("plugin `{plugin}`: the file is a core WebAssembly module, not a component; build it for wasm32-wasip2 or wrap it with wit-component")]
    CoreModule {
        /// Plugin id.
        plugin: String,
    },
    /// The bytes are not WebAssembly at all, or do not compile.
    #[error("plugin `{plugin}`: not a valid WebAssembly component: {reason}")]
    NotAComponent {
        /// Plugin id.
        plugin: String,
        /// What the compiler said.
        reason: String,
    },
    /// The component does not export the world its manifest names.
    #[error("plugin `{plugin}`: the component does not implement the `{expected}` world of tocsin:plugin@0.1: {detail}")]
    WrongWorld {
        /// Plugin id.
        plugin: String,
        /// World named by the manifest.
        expected: &'static str,
        /// What was found instead.
        detail: String,
    },
    /// The component imports an interface the manifest does not ask for.
    #[error("plugin `{plugin}`: the component imports `{import}`, which needs the `{capability}` capability, but its manifest does not request it")]
    UndeclaredImport {
        /// Plugin id.
        plugin: String,
        /// The import name.
        import: String,
        /// The capability it needs.
        capability: &'static str,
    },
    /// The component imports something this host does not provide.
    #[error("plugin `{plugin}`: the component imports `{import}`, which this host does not provide (it provides tocsin:plugin@0.1 and WASI 0.2)")]
    UnknownImport {
        /// Plugin id.
        plugin: String,
        /// The import name.
        import: String,
    },
    /// `describe` disagrees with the manifest, or is malformed.
    #[error("plugin `{plugin}`: describe() {problem}")]
    Describe {
        /// Plugin id.
        plugin: String,
        /// What is wrong.
        problem: String,
    },
    /// Anything else (linking, instantiation).
    #[error("plugin `{plugin}`: {source:#}")]
    Other {
        /// Plugin id.
        plugin: String,
        /// The cause.
        source: anyhow::Error,
    },
}

/// Why an invocation did not produce an outcome.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The plugin ran and reported a failure.
    #[error("plugin `{plugin}` failed ({kind:?}): {message}", kind = failure.kind, message = failure.message)]
    Failed {
        /// Plugin id.
        plugin: String,
        /// The failure it returned.
        failure: Failure,
    },
    /// The plugin ran past its deadline and was stopped.
    #[error("plugin `{plugin}` was stopped at its deadline of {deadline_ms} ms")]
    Deadline {
        /// Plugin id.
        plugin: String,
        /// The deadline.
        deadline_ms: u64,
    },
    /// The plugin used up its fuel (its CPU budget) and was stopped.
    #[error("plugin `{plugin}` used up its fuel of {fuel} units (grants.fuel) and was stopped")]
    Fuel {
        /// Plugin id.
        plugin: String,
        /// The fuel granted per invocation.
        fuel: u64,
    },
    /// The plugin tried to grow its memory past the cap.
    #[error("plugin `{plugin}` exceeded its memory cap of {cap_mib} MiB (it asked for {wanted_mib} MiB)")]
    MemoryCap {
        /// Plugin id.
        plugin: String,
        /// The cap.
        cap_mib: u32,
        /// What the growth would have reached.
        wanted_mib: u64,
    },
    /// The plugin trapped (panic, unreachable, out-of-bounds...).
    #[error("plugin `{plugin}` trapped: {message}")]
    Trap {
        /// Plugin id.
        plugin: String,
        /// Trap description and backtrace.
        message: String,
    },
    /// The plugin is not installed, or has no such action.
    #[error("plugin `{plugin}`: {message}")]
    Unavailable {
        /// Plugin id.
        plugin: String,
        /// What is missing.
        message: String,
    },
}

impl InvokeError {
    /// Whether trying again later may help. Deadlines may be transient (a
    /// slow dependency, a busy machine); traps, fuel, memory caps and missing
    /// plugins will not change by themselves.
    pub fn retryable(&self) -> bool {
        use super::bindings::FailureKind;
        match self {
            InvokeError::Failed { failure, .. } => failure.kind == FailureKind::Retryable,
            InvokeError::Deadline { .. } => true,
            InvokeError::Trap { .. } => false,
            InvokeError::Fuel { .. }
            | InvokeError::MemoryCap { .. }
            | InvokeError::Unavailable { .. } => false,
        }
    }
}
