//! What the benches share: the durable-engine set-up, the generated
//! matching workload, the peer's copy of it and the report rows.

pub mod durable;
pub mod peer;
pub mod report;
pub mod tickets;
pub mod workload;
