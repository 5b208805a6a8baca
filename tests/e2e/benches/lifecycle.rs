//! Benchmark of the connector and credential lifecycle with real Terraform against the
//! Graph emulator adding a per-request latency that stands for the real network: wall
//! time of apply (create), plan (refresh), update and destroy for N connectors with
//! one federated credential each, and the Graph round trips and operations each step
//! costs (a `$batch` is one round trip; its items are operations). Then the same three
//! connectors and credentials under faults: every new object unreadable for its first
//! three reads, and every fifth request answered 429 with `Retry-After: 1`.
//!
//! Run: `E2E_PROFILE=release cargo bench -p e2e --bench lifecycle`
//! (optional: LATENCY_MS, default 100; SIZES, default "1,10,50,200"; FAULTS=0 to skip
//! the fault run).

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

resource "psoxy_federated_credential" "f" {{
  count                 = {n}
  application_object_id = psoxy_msft_connector.c[count.index].object_id
  name                  = "psoxy-bench-${{count.index}}"
  description           = "bench${{var.suffix}}"
  gcp {{
    service_account_unique_id = "1000${{count.index}}"
  }}
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

fn measure(
    emulator: &Emulator,
    ws: &Workspace,
    name: &'static str,
    args: &[&str],
    expect_success: bool,
) -> Step {
    emulator.clear_requests();
    let started = Instant::now();
    let result = ws.terraform(args);
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        result.success == expect_success,
        "{name}: unexpected outcome:\n{}",
        result.all()
    );
    let log = emulator.logged_requests();
    Step {
        name,
        seconds,
        round_trips: log.iter().filter(|r| !r.in_batch).count(),
        graph_operations: log.iter().filter(|r| r.path != "/v1.0/$batch").count(),
    }
}

fn main() {
    let latency = std::env::var("LATENCY_MS").unwrap_or_else(|_| "100".into());
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "1,10,50,200".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "Graph emulator latency: {latency} ms per request; Terraform parallelism 10 (default)\n"
    );
    println!(
        "| connectors + credentials | step | wall time | Graph round trips | Graph operations |"
    );
    println!("|---|---|---|---|---|");
    for n in sizes {
        let emulator = Emulator::start(&["--latency-ms", &latency]);
        let ws = Workspace::new(&config(n)).with_env(emulator.provider_env());
        let apply = ["apply", "-auto-approve", "-no-color"];
        let steps = [
            measure(&emulator, &ws, "apply (create)", &apply, true),
            measure(
                &emulator,
                &ws,
                "plan (refresh, no change)",
                &["plan", "-detailed-exitcode", "-no-color"],
                true,
            ),
            measure(
                &emulator,
                &ws,
                "apply (update)",
                &["apply", "-auto-approve", "-no-color", "-var", "suffix=-v2"],
                true,
            ),
            measure(
                &emulator,
                &ws,
                "destroy",
                &[
                    "destroy",
                    "-auto-approve",
                    "-no-color",
                    "-var",
                    "suffix=-v2",
                ],
                true,
            ),
        ];
        for s in steps {
            println!(
                "| {n} + {n} | {} | {:.2} s | {} | {} |",
                s.name, s.seconds, s.round_trips, s.graph_operations
            );
        }
    }
    if std::env::var("FAULTS").is_ok_and(|f| f == "0") {
        return;
    }
    // Every new object unreadable for its first three reads, every fifth request 429.
    let emulator = Emulator::start(&[
        "--latency-ms",
        &latency,
        "--consistency-reads",
        "3",
        "--consistency-subresources",
        "--throttle-every-n",
        "5",
        "--retry-after-secs",
        "1",
    ]);
    let ws = Workspace::new(&config(3)).with_env(emulator.provider_env());
    let started = Instant::now();
    let apply = measure(
        &emulator,
        &ws,
        "apply (create)",
        &["apply", "-auto-approve", "-no-color"],
        true,
    );
    let plan = measure(
        &emulator,
        &ws,
        "plan (refresh, no change)",
        &["plan", "-detailed-exitcode", "-no-color"],
        true,
    );
    println!(
        "\nUnder faults (new objects unreadable for 3 reads, every 5th request 429 with \
         Retry-After: 1), 3 + 3 converge in {:.2} s: apply {:.2} s ({} operations), \
         plan with no change {:.2} s ({} operations).",
        started.elapsed().as_secs_f64(),
        apply.seconds,
        apply.graph_operations,
        plan.seconds,
        plan.graph_operations
    );
}
