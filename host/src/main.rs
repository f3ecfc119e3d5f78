//! The `tocsin` binary: parses arguments and hands over to [`tocsin::cli`].

fn main() -> std::process::ExitCode {
    tocsin::cli::main()
}
