//! The `openclarify` binary: everything lives in the library; see [`openclarify::cli`].

fn main() -> std::process::ExitCode {
    openclarify::cli::main()
}
