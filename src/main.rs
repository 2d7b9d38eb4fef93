fn main() -> std::process::ExitCode {
    opsdeck::cli::main()
}
