//! The `openclarify` binary: everything lives in the library; see [`openclarify::cli`].

/// mimalloc rather than the system allocator: the job allocates many small
/// values per cell and per captured event, and glibc's malloc and free were
/// about 45% of a monitoring run's profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    openclarify::cli::main()
}
