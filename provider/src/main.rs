use psoxy_provider::provider::PsoxyProvider;
use std::process::ExitCode;
use std::sync::Arc;
use tfplugin::server::{ServeOptions, serve_blocking};

/// `pow` is the only libm function the binary calls (tokio's multi-thread scheduler
/// uses `f64::powf` for its poll-time average). Defined here, from rust-lang's `libm`
/// crate, it resolves inside the binary and libm.so is not loaded: one library fewer
/// for the loader to map and relocate at every start, 0.5 MiB less resident
/// (docs/benchmarks.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

fn main() -> ExitCode {
    let options = ServeOptions::new("terraform-provider-psoxy", "psoxy/psoxy")
        .install_hint("see `make install` in the project README")
        .log_crates(["psoxy_provider", "terraform_provider_psoxy"])
        .log_prefix("psoxy");
    // The runtime is built once the handshake line is out: starting its threads is
    // about a third of a start, and Terraform connects meanwhile.
    serve_blocking(Arc::new(PsoxyProvider::new()), options, || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    })
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::pow;

    #[test]
    fn pow_computes_powers() {
        assert_eq!(pow(2.0, 10.0), 1024.0);
        assert_eq!(pow(0.9, 0.0), 1.0);
        assert!(pow(-8.0, 1.0 / 3.0).is_nan());
        assert_eq!(pow(0.0, -1.0), f64::INFINITY);
        // tokio's use: 1 - (1 - alpha)^n for a small alpha and a poll count.
        let weighted = 1.0 - pow(1.0 - 0.1, 16.0);
        assert!(
            (weighted - 0.814_697_981_114_815_8).abs() < 1e-12,
            "{weighted}"
        );
    }
}
