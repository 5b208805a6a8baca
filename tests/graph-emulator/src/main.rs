//! `graph-emulator` command line. The first stdout line is the base URL;
//! everything else (logs) goes to stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use graph_emulator::{Config, FaultSettings};

const USAGE: &str = "\
usage: graph-emulator [options]
  --listen ADDR                  bind address (default 127.0.0.1:0 = a free port)
  --tenant ID                    tenant id (default 00000000-0000-4000-8000-00000000a001);
                                 repeatable: the first is the home tenant, each has its own directory
  --admin-client ID:SECRET       add an app identity with Cloud Application Administrator
                                 and Privileged Role Administrator (repeatable)
  --managed-identity ID:HEADER   a managed identity (both admin roles) served at
                                 GET /msi/token to callers sending X-IDENTITY-HEADER: HEADER
  --tls DIR                      serve HTTPS; write DIR/cert.pem (and key.pem)
  --state FILE                   persist the directory to FILE (atomic writes)
  --token-lifetime-secs N        lifetime of issued tokens (default 3600)
  --seed N                       seed for fault injection (default 1)
  --latency-ms N                 added latency per request
  --throttle-probability P       answer 429 with probability P (0..1)
  --throttle-every-n N           answer every Nth Graph request 429
  --retry-after-secs N           Retry-After on 429/503 (default 2)
  --unavailable-probability P    answer 503/504 with probability P
  --consistency-delay-ms N       new objects invisible (404) for N ms
  --consistency-reads N          new objects invisible for N reads
  --consistency-subresources     the window also hides new objects from sub-resource calls
  --sp-backing-app-delay-reads N SP POST after app creation fails N times (NoBackingApplicationObject)
  --faults-on-token              apply throttling/unavailability to the token endpoint too
  --fault-rule JSON              a targeted fault, e.g. '{\"method\":\"POST\",\"path\":\"/applications\",
                                 \"action\":\"act_then_504\"}' (repeatable; see README)
  -h, --help                     this text";

fn parse(args: Vec<String>) -> Result<Config, String> {
    let mut c = Config::default();
    let mut f = FaultSettings::default();
    let mut tenants: Vec<String> = Vec::new();
    let mut it = args.into_iter();
    fn val<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.parse()
            .map_err(|_| format!("invalid value for {flag}: {v}"))
    }
    while let Some(a) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut next = || inline.clone().or_else(|| it.next());
        match flag.as_str() {
            "--listen" => {
                use std::net::ToSocketAddrs;
                let v: String = val(&flag, next())?;
                c.listen = v
                    .to_socket_addrs()
                    .map_err(|e| format!("invalid --listen {v}: {e}"))?
                    .next()
                    .ok_or_else(|| format!("--listen {v} resolves to nothing"))?;
            }
            "--tenant" => tenants.push(val(&flag, next())?),
            "--admin-client" => {
                let v: String = val(&flag, next())?;
                let (id, secret) = v
                    .split_once(':')
                    .ok_or("--admin-client needs CLIENT_ID:SECRET")?;
                c.admin_clients.push((id.to_string(), secret.to_string()));
            }
            "--managed-identity" => {
                let v: String = val(&flag, next())?;
                let (id, header) = v
                    .split_once(':')
                    .ok_or("--managed-identity needs CLIENT_ID:IDENTITY_HEADER")?;
                c.managed_identity = Some((id.to_string(), header.to_string()));
            }
            "--tls" => c.tls_dir = Some(PathBuf::from(val::<String>(&flag, next())?)),
            "--state" => c.state_file = Some(PathBuf::from(val::<String>(&flag, next())?)),
            "--token-lifetime-secs" => c.token_lifetime_secs = val(&flag, next())?,
            "--seed" => f.seed = val(&flag, next())?,
            "--latency-ms" => f.latency_ms = val(&flag, next())?,
            "--throttle-probability" => f.throttle_probability = val(&flag, next())?,
            "--throttle-every-n" => f.throttle_every_n = val(&flag, next())?,
            "--retry-after-secs" => f.retry_after_secs = val(&flag, next())?,
            "--unavailable-probability" => f.unavailable_probability = val(&flag, next())?,
            "--consistency-delay-ms" => f.consistency_delay_ms = val(&flag, next())?,
            "--consistency-reads" => f.consistency_reads = val(&flag, next())?,
            "--consistency-subresources" => f.consistency_subresources = true,
            "--sp-backing-app-delay-reads" => f.sp_backing_app_delay_reads = val(&flag, next())?,
            "--faults-on-token" => f.faults_on_token = true,
            "--fault-rule" => {
                let v: String = val(&flag, next())?;
                let rule = serde_json::from_str(&v)
                    .map_err(|e| format!("invalid --fault-rule {v}: {e}"))?;
                f.rules.push(rule);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    f.check()
        .map_err(|e| format!("invalid fault settings: {e}"))?;
    c.faults = f;
    let mut tenants = tenants.into_iter();
    if let Some(home) = tenants.next() {
        c.tenant = home;
    }
    c.extra_tenants = tenants.collect();
    Ok(c)
}

fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1).collect()) {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("graph-emulator: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "graph_emulator=info".into()),
        )
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("graph-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let running = match graph_emulator::start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("graph-emulator: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", running.base_url);
        let _ = out.flush();
        drop(out);
        tracing::info!("graph emulator listening on {}", running.base_url);
        let _ = tokio::signal::ctrl_c().await;
        running.shutdown().await;
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags() {
        let c = parse(
            [
                "--listen",
                "127.0.0.1:0",
                "--admin-client",
                "abc:s3cr:et",
                "--seed=7",
                "--consistency-reads",
                "2",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        )
        .unwrap();
        assert_eq!(
            c.admin_clients,
            vec![("abc".to_string(), "s3cr:et".to_string())]
        );
        assert_eq!(c.faults.seed, 7);
        assert_eq!(c.faults.consistency_reads, 2);
        assert!(parse(vec!["--bogus".into()]).is_err());
        assert_eq!(c.tenant, graph_emulator::seed::DEFAULT_TENANT);
    }

    #[test]
    fn parses_tenants_and_fault_rules() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = parse(args(&[
            "--tenant",
            "t1",
            "--tenant=t2",
            "--fault-rule",
            r#"{"method":"POST","path":"/applications","action":"hold","hold_ms":10}"#,
            "--fault-rule",
            r#"{"path":"/applications/*","action":"act_then_504","times":0}"#,
        ]))
        .unwrap();
        assert_eq!(c.tenant, "t1");
        assert_eq!(c.extra_tenants, vec!["t2".to_string()]);
        assert_eq!(c.faults.rules.len(), 2);
        assert_eq!(c.faults.rules[0].remaining, Some(1));
        assert_eq!(c.faults.rules[1].remaining, None);
        assert!(parse(args(&["--fault-rule", r#"{"path":"/x","action":"nope"}"#])).is_err());
        assert!(parse(args(&["--latency-ms", "99999999"])).is_err());
    }
}
