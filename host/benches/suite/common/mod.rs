//! What the benches share: the durable-engine set-up, the generated
//! matching workload, the peer's copy of it and the report rows.

pub mod durable;
pub mod floor;
pub mod peer;
pub mod report;
pub mod tickets;
pub mod workload;

/// The runtime every bench measures on: tokio with 2 worker threads, one
/// per core of the machines the goals were set for.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}
