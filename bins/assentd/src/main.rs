#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    assentd::cli::run()
}
