//! What a provider start costs that a change could silently bring back.

mod support;

use support::launch;

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-psoxy");

/// The binary supplies `pow` itself (main.rs), so libm.so is never loaded. A new
/// dependency calling another libm function brings it back; define that function
/// beside `pow` or accept the cost, measured in docs/benchmarks.md.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_running_provider_loads_no_libm() {
    let launched = launch(BINARY, None);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", launched.child.id()))
        .expect("read the provider's memory map");
    assert!(
        maps.contains("libc.so"),
        "the map was read from a running, dynamically linked provider:\n{maps}"
    );
    let libm: Vec<&str> = maps.lines().filter(|l| l.contains("libm.so")).collect();
    assert!(libm.is_empty(), "libm.so is mapped:\n{}", libm.join("\n"));
}
