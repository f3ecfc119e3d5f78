//! The plugin runtime: one wasmtime [`Engine`] with the pooling allocator, a
//! compiled component and an `InstancePre` per loaded plugin version, and a
//! fresh store per invocation with an epoch deadline, a memory cap and only
//! the capabilities its grants allow.

use super::bindings::{
    self, action, provider, Failure, FailureKind, Invocation, Outcome, PluginInfo, ProviderRequest,
    Variable,
};
use super::error::{InvokeError, LoadError};
use super::grants::{Grants, MAX_MEMORY_MIB};
pub use super::limits::MAX_MESSAGE;
use super::limits::{cut, fault, guarded};
use super::manifest::{Manifest, World};
use super::registry::Installed;
use super::slots::{Load, Slots};
use super::state::{InvocationState, Outbound};
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

/// How often the epoch advances; deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Settings of the runtime as a whole.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Instances that may exist at once (pool slots).
    pub max_instances: u32,
    /// Where compiled components are kept, by content hash and engine
    /// version, so a restart or a reload of unchanged code skips compiling.
    /// None: compile every time.
    pub cache_dir: Option<std::path::PathBuf>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_instances: 128,
            cache_dir: None,
        }
    }
}

/// Bytes of a freed instance's dirty linear memory (and of its tables) reset
/// in place with `memset`, found with the `PAGEMAP_SCAN` ioctl where the
/// kernel has it (Linux 6.7+), instead of handing the pages back with
/// `madvise`. Handing pages back flushes the TLB of every core that ran the
/// process (an inter-processor interrupt each time), which cost two thirds of
/// a fresh instance's time on a 2-core VM; kept pages also spare the next
/// instance in that slot its page faults. A trivial Rust plugin dirties well
/// under 1 MiB, so this bounds the memory kept per pool slot.
pub const KEEP_RESIDENT_BYTES: usize = 2 * 1024 * 1024;

/// The pooling allocator's settings for `max_instances` instances at once:
/// slots for every core instance, memory and table a component may hold, and
/// reuse of freed slots without giving their pages back to the kernel (see
/// [`KEEP_RESIDENT_BYTES`]). Public so the benchmark's bare-wasmtime floor
/// runs with the same settings.
pub fn pooling(max_instances: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(max_instances)
        .total_core_instances(max_instances * 4)
        .total_memories(max_instances * 2)
        .total_tables(max_instances * 4)
        .total_stacks(max_instances)
        .max_memory_size(MAX_MEMORY_MIB as usize * 1024 * 1024)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES)
        .pagemap_scan(wasmtime::Enabled::Auto);
    pool
}

/// A plugin version, compiled and linked, ready to instantiate.
pub struct LoadedPlugin {
    /// Its manifest.
    pub manifest: Manifest,
    /// What its `describe` returned (for providers: id and version, no actions).
    pub info: PluginInfo,
    pre: Pre,
    /// Settings validators by action id, compiled once at load.
    schemas: std::collections::HashMap<String, jsonschema::Validator>,
}

enum Pre {
    Action(action::ActionPluginPre<InvocationState>),
    Provider(provider::ExternalProviderPre<InvocationState>),
}

impl LoadedPlugin {
    /// Plugin id.
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// Whether the plugin provides an action with this id.
    pub fn has_action(&self, action: &str) -> bool {
        self.info.actions.iter().any(|a| a.id == action)
    }

    /// Checks settings against the action's schema. On failure returns the
    /// path inside the settings (`.url`, empty for the whole object) and the problem.
    pub fn check_settings(
        &self,
        action: &str,
        settings: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<(String, String)> {
        let validator = self.schemas.get(action)?;
        let instance = serde_json::Value::Object(settings.clone());
        let error = validator.iter_errors(&instance).next()?;
        let pointer = error.instance_path().to_string();
        let path: String = pointer
            .split('/')
            .filter(|p| !p.is_empty())
            .map(|p| {
                if p.chars().all(|c| c.is_ascii_digit()) {
                    format!("[{p}]")
                } else {
                    format!(".{p}")
                }
            })
            .collect();
        Some((path, error.to_string()))
    }
}

/// The runtime. Cheap to share behind an `Arc`; drops its epoch ticker with it.
pub struct Runtime {
    shared: Arc<Shared>,
    cache_dir: Option<std::path::PathBuf>,
    linker: Linker<InvocationState>,
    _ticker: EpochTicker,
}

/// What the runtime and every store it makes share: the engine, where
/// outbound calls go, and the installed plugins, which the `providers`
/// import looks external providers up in.
pub(crate) struct Shared {
    engine: Engine,
    outbound: Arc<dyn Outbound>,
    /// The installed plugins by id; the [`Registry`](super::Registry) keeps it.
    pub(crate) installed: RwLock<BTreeMap<String, Installed>>,
    /// How many invocations of each plugin may run at once.
    slots: Slots,
}

impl Runtime {
    /// Builds the engine, the linker and the epoch ticker.
    pub fn new(config: RuntimeConfig, outbound: Arc<dyn Outbound>) -> anyhow::Result<Runtime> {
        let pool = pooling(config.max_instances);
        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .consume_fuel(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm)
            .map_err(anyhow::Error::from)
            .context("creating the wasmtime engine")?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking WASI")?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking wasi:http")?;
        action::tocsin::plugin::types::add_to_linker::<_, HasSelf<_>>(&mut linker, own)
            .map_err(anyhow::Error::from)?;
        bindings::logging::add_to_linker::<_, HasSelf<_>>(&mut linker, own)
            .map_err(anyhow::Error::from)?;
        bindings::mail::add_to_linker::<_, HasSelf<_>>(&mut linker, own)
            .map_err(anyhow::Error::from)?;
        bindings::helpdesk::add_to_linker::<_, HasSelf<_>>(&mut linker, own)
            .map_err(anyhow::Error::from)?;
        bindings::profiles::add_to_linker::<_, HasSelf<_>>(&mut linker, own)
            .map_err(anyhow::Error::from)?;

        bindings::providers::add_to_linker::<_, HasSelf<_>>(&mut linker, own)
            .map_err(anyhow::Error::from)?;

        let ticker = EpochTicker::start(engine.clone()).context("starting the epoch thread")?;
        Ok(Runtime {
            shared: Arc::new(Shared {
                engine,
                outbound,
                installed: RwLock::new(BTreeMap::new()),
                slots: Slots::default(),
            }),
            linker,
            cache_dir: config.cache_dir,
            _ticker: ticker,
        })
    }

    /// How busy a plugin is: invocations running and waiting for a slot.
    /// `None` when it was never invoked.
    pub fn load_of(&self, plugin: &str) -> Option<Load> {
        self.shared.slots.load(plugin)
    }

    /// What the runtime shares with its stores and its registry.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Compiles and checks a plugin: a component (not a core module), of the
    /// manifest's world, importing only what the manifest requests, whose
    /// `describe` agrees with the manifest.
    pub async fn load(&self, manifest: Manifest, bytes: &[u8]) -> Result<LoadedPlugin, LoadError> {
        let plugin = manifest.id.clone();
        if is_core_module(bytes) {
            return Err(LoadError::CoreModule { plugin });
        }
        let component =
            super::cache::compile(&self.shared.engine, self.cache_dir.as_deref(), bytes).map_err(
                |e| LoadError::NotAComponent {
                    plugin: plugin.clone(),
                    reason: format!("{e:#}"),
                },
            )?;
        self.check_world(&manifest, &component)?;
        self.check_imports(&manifest, &component)?;
        let other = |source: wasmtime::Error| LoadError::Other {
            plugin: plugin.clone(),
            source: source.into(),
        };
        let instance_pre = self.linker.instantiate_pre(&component).map_err(other)?;
        let pre = match manifest.world {
            World::ActionPlugin => Pre::Action(
                action::ActionPluginPre::new(instance_pre)
                    .map_err(|e| wrong_world(&manifest, e))?,
            ),
            World::ExternalProvider => Pre::Provider(
                provider::ExternalProviderPre::new(instance_pre)
                    .map_err(|e| wrong_world(&manifest, e))?,
            ),
        };
        let mut loaded = LoadedPlugin {
            info: PluginInfo {
                id: plugin.clone(),
                version: manifest.version.clone(),
                actions: Vec::new(),
            },
            manifest,
            pre,
            schemas: Default::default(),
        };
        loaded.info = self.describe(&loaded).await?;
        check_describe(&loaded)?;
        loaded.schemas = compile_schemas(&loaded)?;
        Ok(loaded)
    }

    fn check_world(&self, manifest: &Manifest, component: &Component) -> Result<(), LoadError> {
        let ty = component.component_type();
        let exports: Vec<&str> = ty
            .exports(&self.shared.engine)
            .map(|(name, _)| name)
            .collect();
        let expected = manifest.world;
        if exports.contains(&expected.distinctive_export()) {
            return Ok(());
        }
        let other = match expected {
            World::ActionPlugin => World::ExternalProvider,
            World::ExternalProvider => World::ActionPlugin,
        };
        let detail = if exports.contains(&other.distinctive_export()) {
            format!(
                "it exports `{}`, so it is an {} (set `world = \"{}\"` in its manifest if that is intended)",
                other.distinctive_export(),
                other.name(),
                other.name()
            )
        } else {
            format!(
                "it has no `{}` export (its exports: {})",
                expected.distinctive_export(),
                if exports.is_empty() {
                    "none".to_string()
                } else {
                    exports.join(", ")
                }
            )
        };
        Err(LoadError::WrongWorld {
            plugin: manifest.id.clone(),
            expected: expected.name(),
            detail,
        })
    }

    fn check_imports(&self, manifest: &Manifest, component: &Component) -> Result<(), LoadError> {
        let ty = component.component_type();
        let caps = &manifest.capabilities;
        for (import, _) in ty.imports(&self.shared.engine) {
            let interface = import.split('@').next().unwrap_or(import);
            let needs = match interface {
                "tocsin:plugin/types" | "tocsin:plugin/logging" => None,
                "tocsin:plugin/mail" => (!caps.mail).then_some("mail"),
                "tocsin:plugin/helpdesk" => caps.helpdesk.is_empty().then_some("helpdesk"),
                "tocsin:plugin/providers" => (!caps.providers).then_some("providers"),
                "tocsin:plugin/profiles" => (!caps.profiles).then_some("profiles"),
                i if i.starts_with("wasi:http/") => (!caps.http).then_some("http"),
                i if i.starts_with("wasi:") => None,
                _ => {
                    return Err(LoadError::UnknownImport {
                        plugin: manifest.id.clone(),
                        import: import.to_string(),
                    })
                }
            };
            if let Some(capability) = needs {
                return Err(LoadError::UndeclaredImport {
                    plugin: manifest.id.clone(),
                    import: import.to_string(),
                    capability,
                });
            }
        }
        Ok(())
    }

    async fn describe(&self, plugin: &LoadedPlugin) -> Result<PluginInfo, LoadError> {
        let grants = Arc::new(Grants::default());
        let mut store = self
            .shared
            .store(plugin, "describe".into(), grants.clone())
            .map_err(|source| LoadError::Other {
                plugin: plugin.id().to_string(),
                source,
            })?;
        let fail = |e: wasmtime::Error| LoadError::Describe {
            plugin: plugin.id().to_string(),
            problem: format!("failed: {}", fault(plugin.id(), &grants, &None, e)),
        };
        let info = match &plugin.pre {
            Pre::Action(pre) => {
                let instance = pre.instantiate_async(&mut store).await.map_err(fail)?;
                instance.call_describe(&mut store).await.map_err(fail)?
            }
            Pre::Provider(pre) => {
                let instance = pre.instantiate_async(&mut store).await.map_err(fail)?;
                let p = instance.call_describe(&mut store).await.map_err(fail)?;
                PluginInfo {
                    id: p.id,
                    version: p.version,
                    actions: Vec::new(),
                }
            }
        };
        Ok(info)
    }

    /// Runs one invocation of an action plugin in a fresh instance.
    pub async fn invoke(
        &self,
        plugin: &LoadedPlugin,
        grants: Arc<Grants>,
        invocation: Invocation,
    ) -> Result<Outcome, InvokeError> {
        let Pre::Action(pre) = &plugin.pre else {
            return Err(InvokeError::Unavailable {
                plugin: plugin.id().to_string(),
                message: "is an external provider, not an action plugin".into(),
            });
        };
        if !plugin.has_action(&invocation.action) {
            return Err(InvokeError::Unavailable {
                plugin: plugin.id().to_string(),
                message: format!("has no action `{}`", invocation.action),
            });
        }
        let _slot = self
            .shared
            .slots
            .enter(plugin.id(), grants.max_concurrent)
            .await;
        let span = tracing::info_span!("invocation", plugin = plugin.id(), invocation = %invocation.id, action = %invocation.action);
        let _enter = span.enter();
        let mut store = self
            .shared
            .store(plugin, invocation.id.clone(), grants.clone())
            .map_err(|e| InvokeError::Unavailable {
                plugin: plugin.id().to_string(),
                message: format!("{e:#}"),
            })?;
        let result = guarded(&grants, async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance.call_run(&mut store, &invocation).await
        })
        .await;
        store.data().flush_output();
        let refused = store.data().limiter.refused;
        let output_full = store.data().output_full();
        match result {
            Err(e) if output_full && refused.is_none() => Err(InvokeError::Trap {
                plugin: plugin.id().to_string(),
                message: format!(
                    "printed more than {} KiB to stdout or stderr (the limit per invocation), and failed when the write was refused: {e:#}",
                    super::state::OUTPUT_CAPACITY / 1024
                ),
            }),
            Ok(Ok(mut outcome)) => {
                cut(&mut outcome.summary);
                Ok(outcome)
            }
            Ok(Err(mut failure)) => {
                cut(&mut failure.message);
                Err(InvokeError::Failed {
                    plugin: plugin.id().to_string(),
                    failure,
                })
            }
            Err(e) => Err(fault(plugin.id(), &grants, &refused, e)),
        }
    }

    /// Hands an event to an external provider; returns its output variables.
    pub async fn notify(
        &self,
        plugin: &LoadedPlugin,
        grants: Arc<Grants>,
        request: ProviderRequest,
    ) -> Result<Vec<Variable>, InvokeError> {
        self.shared.notify(plugin, grants, request).await
    }
}

impl Shared {
    /// Where mail and help-desk commands go.
    pub(crate) fn outbound(&self) -> &dyn Outbound {
        &*self.outbound
    }

    fn store(
        self: &Arc<Self>,
        plugin: &LoadedPlugin,
        invocation: String,
        grants: Arc<Grants>,
    ) -> anyhow::Result<Store<InvocationState>> {
        let deadline_ticks = (grants.deadline().as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        let fuel = grants.fuel.unwrap_or(u64::MAX);
        let state = InvocationState::new(plugin.id().into(), invocation, grants, self.clone())?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(deadline_ticks);
        store.epoch_deadline_trap();
        store.set_fuel(fuel)?;
        Ok(store)
    }

    /// Hands an event to an external provider; returns its output variables.
    pub(crate) async fn notify(
        self: &Arc<Self>,
        plugin: &LoadedPlugin,
        grants: Arc<Grants>,
        request: ProviderRequest,
    ) -> Result<Vec<Variable>, InvokeError> {
        let Pre::Provider(pre) = &plugin.pre else {
            return Err(InvokeError::Unavailable {
                plugin: plugin.id().to_string(),
                message: "is an action plugin, not an external provider".into(),
            });
        };
        let _slot = self.slots.enter(plugin.id(), grants.max_concurrent).await;
        let mut store = self
            .store(plugin, request.id.clone(), grants.clone())
            .map_err(|e| InvokeError::Unavailable {
                plugin: plugin.id().to_string(),
                message: format!("{e:#}"),
            })?;
        let result = guarded(&grants, async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance.call_notify(&mut store, &request).await
        })
        .await;
        store.data().flush_output();
        let refused = store.data().limiter.refused;
        match result {
            Ok(Ok(vars)) => Ok(vars),
            Ok(Err(mut failure)) => {
                cut(&mut failure.message);
                Err(InvokeError::Failed {
                    plugin: plugin.id().to_string(),
                    failure,
                })
            }
            Err(e) => Err(fault(plugin.id(), &grants, &refused, e)),
        }
    }

    /// Serves the `providers` import: runs the installed external provider
    /// `id` under its own grants and turns what can go wrong into a failure
    /// the calling plugin can report.
    pub(crate) async fn notify_provider(
        self: &Arc<Self>,
        id: &str,
        request: ProviderRequest,
    ) -> Result<Vec<Variable>, Failure> {
        let failure = |kind, message: String| Failure {
            kind,
            message,
            retry_after_ms: None,
        };
        let installed = self
            .installed
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        let Some(installed) = installed else {
            let providers: Vec<String> = self
                .installed
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .filter(|i| i.plugin.manifest.world == World::ExternalProvider)
                .map(|i| i.plugin.id().to_string())
                .collect();
            return Err(failure(
                FailureKind::BadSettings,
                format!(
                    "no external provider `{id}` is installed; installed providers: {}",
                    if providers.is_empty() {
                        "none".to_string()
                    } else {
                        providers.join(", ")
                    }
                ),
            ));
        };
        match self
            .notify(&installed.plugin, installed.grants.clone(), request)
            .await
        {
            Ok(variables) => Ok(variables),
            Err(InvokeError::Failed { failure: f, .. }) => Err(Failure {
                message: format!("provider `{id}`: {}", f.message),
                ..f
            }),
            Err(e @ InvokeError::Unavailable { .. }) => {
                Err(failure(FailureKind::BadSettings, e.to_string()))
            }
            Err(e @ InvokeError::Deadline { .. }) => {
                Err(failure(FailureKind::Retryable, e.to_string()))
            }
            Err(e) => Err(failure(FailureKind::Permanent, e.to_string())),
        }
    }
}

/// The store data itself serves the tocsin imports.
fn own(state: &mut InvocationState) -> &mut InvocationState {
    state
}

fn wrong_world(manifest: &Manifest, e: wasmtime::Error) -> LoadError {
    LoadError::WrongWorld {
        plugin: manifest.id.clone(),
        expected: manifest.world.name(),
        detail: format!("{e:#}"),
    }
}

/// Checks that `describe` agrees with the manifest and is well formed.
fn check_describe(plugin: &LoadedPlugin) -> Result<(), LoadError> {
    let problem = |problem: String| LoadError::Describe {
        plugin: plugin.id().to_string(),
        problem,
    };
    let info = &plugin.info;
    if info.id != plugin.manifest.id {
        return Err(problem(format!(
            "says id `{}` but the manifest says `{}`",
            info.id, plugin.manifest.id
        )));
    }
    if info.version != plugin.manifest.version {
        return Err(problem(format!(
            "says version `{}` but the manifest says `{}`",
            info.version, plugin.manifest.version
        )));
    }
    if plugin.manifest.world == World::ActionPlugin && info.actions.is_empty() {
        return Err(problem("lists no actions".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, action) in info.actions.iter().enumerate() {
        if !seen.insert(action.id.as_str()) {
            return Err(problem(format!(
                "actions[{i}].id `{}` is listed twice",
                action.id
            )));
        }
        if action.modes.is_empty() {
            return Err(problem(format!(
                "actions[{i}].modes is empty; list digest, per-item or both"
            )));
        }
        if serde_json::from_str::<serde_json::Value>(&action.settings_schema).is_err() {
            return Err(problem(format!("actions[{i}].settings-schema is not JSON")));
        }
    }
    Ok(())
}

/// Compiles each action's settings schema; a schema that is not valid JSON
/// Schema refuses the plugin.
fn compile_schemas(
    plugin: &LoadedPlugin,
) -> Result<std::collections::HashMap<String, jsonschema::Validator>, LoadError> {
    let mut schemas = std::collections::HashMap::new();
    for (i, action) in plugin.info.actions.iter().enumerate() {
        let problem = |p: String| LoadError::Describe {
            plugin: plugin.id().to_string(),
            problem: format!("actions[{i}].settings-schema {p}"),
        };
        let schema: serde_json::Value = serde_json::from_str(&action.settings_schema)
            .map_err(|e| problem(format!("is not JSON: {e}")))?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| problem(format!("is not a valid JSON Schema: {e}")))?;
        schemas.insert(action.id.clone(), validator);
    }
    Ok(schemas)
}

/// Whether the bytes carry the header of a core module (version 1) rather
/// than a component (version 0x0d, layer 1).
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] == [1, 0, 0, 0]
}

/// Advances the engine's epoch every tick until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: Engine) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("tocsin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(EpochTicker { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
