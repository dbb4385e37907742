#![forbid(unsafe_code)]

// Many small short-lived allocations per request (headers, JSON, rows): mimalloc serves them
// with less contention than glibc's malloc (measured in docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    assentd::cli::run()
}
