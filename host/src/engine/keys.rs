//! Key layout of the engine's sled tree. One tree, so that an event, its item
//! update, its jobs and its gate windows can be written in one atomic batch
//! (scheduler and follow-on events, the worker) or key by key in one order
//! with the event record last (a help desk's event; see [`super::writes`]).
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `ev/` | event id | the event (JSON) |
//! | `idem/` | idempotency key | the first ingestion's result |
//! | `item/` | `kind/id` | the item mirror: latest fields |
//! | `win/` | `rule/action/scope` | a frequency window |
//! | `job/` | job number (16 hex digits) | a pending job |
//! | `dead/` | job number | a dead-lettered job |
//! | `aud/` | `event/sequence` | an audit record |
//! | `ax/` | `r/rule/…`, `i/kind/id/…`, `p/plugin/…` then `event/sequence` | audit indexes |
//! | `cmd/` | sequence | a help-desk command for the connector (pull list) |
//! | `owed/` | event id | a follow-on event a finished job owes, until it is ingested |
//! | `alert/` | sequence | an alert (runaway rule disabled, cascade cut) |
//! | `t/` | time indexes, count sets and rule cursors | see [`crate::scheduler::index`], [`crate::scheduler::counts`], [`crate::scheduler::upkeep`] |

/// `ev/<id>`.
pub fn event(id: &str) -> Vec<u8> {
    format!("ev/{id}").into_bytes()
}

/// `idem/<key>`.
pub fn idempotency(key: &str) -> Vec<u8> {
    format!("idem/{key}").into_bytes()
}

/// `item/<kind>/<id>`.
pub fn item(kind: &str, id: &str) -> Vec<u8> {
    format!("item/{kind}/{id}").into_bytes()
}

/// `win/<rule>/<action index>/<scope>` (scope: `*` for digest, the item for per-item).
pub fn window(rule: &str, action: usize, scope: &str) -> Vec<u8> {
    format!("win/{rule}/{action}/{scope}").into_bytes()
}

/// `job/<number>`.
pub fn job(n: u64) -> Vec<u8> {
    format!("job/{n:016x}").into_bytes()
}

/// `dead/<number>`.
pub fn dead(n: u64) -> Vec<u8> {
    format!("dead/{n:016x}").into_bytes()
}

/// `aud/<event>/<sequence>`.
pub fn audit(event: &str, seq: u64) -> Vec<u8> {
    format!("aud/{event}/{seq:016x}").into_bytes()
}

/// `owed/<event id>`.
pub fn owed(event: &str) -> Vec<u8> {
    format!("owed/{event}").into_bytes()
}

/// `cmd/<sequence>`.
pub fn command(seq: u64) -> Vec<u8> {
    format!("cmd/{seq:016x}").into_bytes()
}

/// `alert/<sequence>`.
pub fn alert(seq: u64) -> Vec<u8> {
    format!("alert/{seq:016x}").into_bytes()
}
