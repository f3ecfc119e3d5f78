//! The `tocsin` binary: parses arguments and hands over to [`tocsin::cli`].

/// mimalloc instead of the system allocator: sled copies a tree node on
/// every write and frees the old one, and ingestion allocates many small
/// values; the `ingest` bench measured 1.3–1.7x more events per second with
/// it (the bench binary uses it too, so it measures what ships).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tocsin::cli::main()
}
