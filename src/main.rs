use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    clearance::cli::main().await
}
