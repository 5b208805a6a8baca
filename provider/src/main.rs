use psoxy_provider::provider::PsoxyProvider;
use std::process::ExitCode;
use std::sync::Arc;
use tfplugin::server::{ServeOptions, serve};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-psoxy: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = ServeOptions::new("terraform-provider-psoxy", "psoxy/psoxy")
        .install_hint("see `make install` in the project README")
        .log_crates(["psoxy_provider", "terraform_provider_psoxy"])
        .log_prefix("psoxy");
    runtime.block_on(serve(Arc::new(PsoxyProvider::new()), options))
}
