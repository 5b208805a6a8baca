use psoxy_provider::provider::PsoxyProvider;
use std::process::ExitCode;
use std::sync::Arc;

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
    runtime.block_on(tfplugin::server::serve(Arc::new(PsoxyProvider::new())))
}
