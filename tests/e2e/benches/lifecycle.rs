//! Benchmark of the connector lifecycle with real Terraform against the Graph emulator
//! adding a per-request latency that stands for the real network: wall time of apply
//! (create), plan (refresh), refresh-only apply, update and destroy for 1, 10 and 50
//! connectors, and the Graph round trips each step costs.
//!
//! Run: `E2E_PROFILE=release cargo bench -p e2e --bench lifecycle`
//! (optional: LATENCY_MS, default 100; SIZES, default "1,10,50").

use e2e::{Emulator, Workspace};
use std::time::Instant;

fn config(n: usize) -> String {
    format!(
        r#"
variable "suffix" {{
  type    = string
  default = ""
}}

resource "psoxy_msft_connector" "c" {{
  count        = {n}
  connectors   = ["outlook-cal"]
  display_name = "Psoxy bench ${{count.index}}${{var.suffix}}"
}}
"#
    )
}

struct Step {
    name: &'static str,
    seconds: f64,
    round_trips: usize,
    graph_operations: usize,
}

fn main() {
    let latency = std::env::var("LATENCY_MS").unwrap_or_else(|_| "100".into());
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "1,10,50".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "Graph emulator latency: {latency} ms per request; Terraform parallelism 10 (default)\n"
    );
    println!("| connectors | step | wall time | Graph round trips | Graph operations |");
    println!("|---|---|---|---|---|");
    for n in sizes {
        let emulator = Emulator::start(&["--latency-ms", &latency]);
        let ws = Workspace::new(&config(n)).with_env(emulator.provider_env());
        let mut steps = Vec::new();
        let mut run = |name: &'static str, args: &[&str]| {
            emulator.clear_requests();
            let started = Instant::now();
            let result = ws.terraform(args);
            let seconds = started.elapsed().as_secs_f64();
            assert!(
                result.success || name == "plan",
                "{name} failed:\n{}",
                result.all()
            );
            let log = emulator.logged_requests();
            steps.push(Step {
                name,
                seconds,
                round_trips: log.iter().filter(|r| !r.in_batch).count(),
                graph_operations: log.iter().filter(|r| r.path != "/v1.0/$batch").count(),
            });
        };
        run("apply (create)", &["apply", "-auto-approve", "-no-color"]);
        run("plan (refresh, no change)", &["plan", "-no-color"]);
        run(
            "apply -refresh-only",
            &["apply", "-refresh-only", "-auto-approve", "-no-color"],
        );
        run(
            "apply (update name)",
            &["apply", "-auto-approve", "-no-color", "-var", "suffix=-v2"],
        );
        run(
            "destroy",
            &[
                "destroy",
                "-auto-approve",
                "-no-color",
                "-var",
                "suffix=-v2",
            ],
        );
        for s in steps {
            println!(
                "| {n} | {} | {:.2} s | {} | {} |",
                s.name, s.seconds, s.round_trips, s.graph_operations
            );
        }
    }
}
