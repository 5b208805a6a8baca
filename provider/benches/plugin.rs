//! Benchmark of what Terraform pays on every provider start: process start to the
//! handshake line (with and without TLS), the memory the process holds by then, and a
//! GetSchema round trip over mutual TLS. Terraform starts the provider several times
//! per command, so all of it counts.
//!
//! Run: `cargo bench -p terraform-provider-psoxy --bench plugin`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::{ClientCert, connect, launch};
use tfplugin::proto::tfplugin5::{get_provider_schema, provider_client::ProviderClient};

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-psoxy");

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name:<40} n={:<4} min={:>8.2?} median={:>8.2?} p95={:>8.2?} max={:>8.2?}",
        samples.len(),
        samples[0],
        pick(0.5),
        pick(0.95),
        samples[samples.len() - 1]
    );
}

/// Resident memory of a running process from /proc (Linux), in KiB; 0 where
/// unavailable.
struct Resident {
    /// VmRSS: everything mapped in, shared library and binary pages included.
    total: u64,
    /// RssAnon: heap, stacks and pages the loader wrote (relocations): what this
    /// process alone costs.
    private: u64,
}

fn resident(pid: u32) -> Resident {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Resident {
        total: field("VmRSS:"),
        private: field("RssAnon:"),
    }
}

fn memory_summary(name: &str, samples: &[Resident]) {
    // (min, median, max) of one measure.
    let spread = |pick: fn(&Resident) -> u64| {
        let mut v: Vec<u64> = samples.iter().map(pick).collect();
        v.sort_unstable();
        (v[0], v[v.len() / 2], v[v.len() - 1])
    };
    let (min, mid, max) = spread(|r| r.total);
    let (_, private, _) = spread(|r| r.private);
    println!(
        "{name:<40} n={:<4} min={min} KiB median={mid} KiB max={max} KiB (private median {private} KiB)",
        samples.len()
    );
}

#[tokio::main]
async fn main() {
    let terraform = ClientCert::generate();

    let mut to_handshake = Vec::new();
    let mut to_first_schema = Vec::new();
    let mut after_schema = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let launched = launch(BINARY, Some(&terraform.cert_pem));
        to_handshake.push(launched.time_to_handshake);
        let channel = connect(&launched, Some(&terraform)).await.unwrap();
        ProviderClient::new(channel)
            .get_schema(get_provider_schema::Request {})
            .await
            .unwrap();
        to_first_schema.push(started.elapsed());
        after_schema.push(resident(launched.child.id()));
    }
    summary("start -> handshake line", to_handshake);
    let mut rss = Vec::new();
    let mut plain = Vec::new();
    for _ in 0..30 {
        let launched = launch(BINARY, Some(&terraform.cert_pem));
        rss.push(resident(launched.child.id()));
        plain.push(launch(BINARY, None).time_to_handshake);
    }
    memory_summary("resident memory at the handshake line", &rss);
    memory_summary("resident memory after the first GetSchema", &after_schema);
    summary("start -> handshake line (no TLS)", plain);
    println!(
        "{:<40} {} bytes",
        "binary size",
        std::fs::metadata(BINARY).map(|m| m.len()).unwrap_or(0)
    );
    summary("start -> first GetSchema answered (mTLS)", to_first_schema);

    let launched = launch(BINARY, Some(&terraform.cert_pem));
    let mut client = ProviderClient::new(connect(&launched, Some(&terraform)).await.unwrap());
    let mut round_trips = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        client
            .get_schema(get_provider_schema::Request {})
            .await
            .unwrap();
        round_trips.push(started.elapsed());
    }
    summary("GetSchema round trip (warm connection)", round_trips);
}
