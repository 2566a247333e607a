#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    layer2::cli::main()
}
