//! Seeded fault injection (429, 503/504, latency) and the eventual-consistency
//! window (new objects invisible for a while; SP creation racing its app).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Settings, as read and written by `GET/PUT /_emulator/faults` (field names are the contract).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct FaultSettings {
    /// Probability (0..1) that a Graph request is answered 429.
    pub throttle_probability: f64,
    /// Every Nth Graph request is answered 429 (0 = off).
    pub throttle_every_n: u64,
    /// `Retry-After` seconds on 429 (and 503).
    pub retry_after_secs: u64,
    /// Probability (0..1) that a Graph request is answered 503 or 504.
    pub unavailable_probability: f64,
    /// Added to every non-admin HTTP request.
    pub latency_ms: u64,
    /// A newly created object is invisible (404) for this long...
    pub consistency_delay_ms: u64,
    /// ...and/or for this many reads/PATCHes of it.
    pub consistency_reads: u32,
    /// Also hide a new object from requests on its sub-resources (owners, FICs,
    /// role assignments) and from references to it in request bodies.
    pub consistency_subresources: bool,
    /// `POST /servicePrincipals` for a just-created app fails with
    /// `NoBackingApplicationObject` this many times.
    pub sp_backing_app_delay_reads: u32,
    /// Apply throttling/unavailability to the token endpoint too.
    pub faults_on_token: bool,
    pub seed: u64,
    /// Targeted faults for named requests (see [`FaultRule`]); checked before the dice.
    pub rules: Vec<FaultRule>,
}

impl FaultSettings {
    /// Bounds every setting that could otherwise hold requests without end, and
    /// completes the rules (`remaining`).
    pub fn check(&mut self) -> Result<(), String> {
        if self.latency_ms > MAX_HOLD_MS {
            return Err(format!("latency_ms must be at most {MAX_HOLD_MS}"));
        }
        for r in &mut self.rules {
            r.normalize()?;
        }
        Ok(())
    }
}

/// What a [`FaultRule`] does to the request it matches.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// Wait `hold_ms`, then act and answer normally (even if the client has gone).
    Hold,
    /// Act, then answer 504 `UnknownError` instead of the real answer.
    #[serde(rename = "act_then_504")]
    ActThen504,
    /// Act, then close the connection without an answer.
    ActThenDrop,
    /// A collection page whose `@odata.nextLink` leads back to the same page, forever.
    EndlessNextLink,
    /// 200 with a valid JSON body of `size_bytes` bytes; the request is not acted on.
    OversizedBody,
    /// 429 with `Retry-After: 0`; the request is not acted on.
    RetryAfterZero,
}

impl RuleAction {
    pub fn name(self) -> &'static str {
        match self {
            RuleAction::Hold => "hold",
            RuleAction::ActThen504 => "act_then_504",
            RuleAction::ActThenDrop => "act_then_drop",
            RuleAction::EndlessNextLink => "endless_next_link",
            RuleAction::OversizedBody => "oversized_body",
            RuleAction::RetryAfterZero => "retry_after_zero",
        }
    }
    /// Actions that have a meaning for a `$batch` item (which has no connection or
    /// body of its own to drop or inflate).
    fn applies_to_batch_items(self) -> bool {
        !matches!(self, RuleAction::ActThenDrop | RuleAction::OversizedBody)
    }
}

/// Upper bounds that keep every rule finite (a rule must never wedge the emulator).
pub const MAX_HOLD_MS: u64 = 600_000;
pub const MAX_OVERSIZED_BYTES: u64 = 1 << 30;
pub const DEFAULT_OVERSIZED_BYTES: u64 = 64 << 20;

fn default_times() -> u64 {
    1
}
fn default_size() -> u64 {
    DEFAULT_OVERSIZED_BYTES
}

/// `{"method":"POST","path":"/applications/*/owners/$ref","action":"hold","hold_ms":4000,"times":1}`.
/// `remaining` and `fired` are reported by `GET /_emulator/faults`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Case-insensitive; `None` = any method.
    #[serde(default)]
    pub method: Option<String>,
    /// Path after `/v1.0` or `/beta`, without query; `*` matches one segment.
    pub path: String,
    pub action: RuleAction,
    #[serde(default)]
    pub hold_ms: u64,
    /// How many matching requests the rule fires for; 0 = unlimited.
    #[serde(default = "default_times")]
    pub times: u64,
    #[serde(default = "default_size")]
    pub size_bytes: u64,
    /// Firings left (`None` = unlimited). Filled from `times` when not given.
    #[serde(default)]
    pub remaining: Option<u64>,
    #[serde(default)]
    pub fired: u64,
}

impl FaultRule {
    /// Checks bounds and fills `remaining`; the error is the admin API's message.
    pub fn normalize(&mut self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err(format!("rule path '{}' must start with '/'", self.path));
        }
        let first = self.path.trim_start_matches('/').split('/').next();
        if matches!(first, Some("v1.0" | "beta")) {
            return Err(format!(
                "rule path '{}' is matched after the version prefix; drop '/{}'",
                self.path,
                first.unwrap_or_default()
            ));
        }
        if self.hold_ms > MAX_HOLD_MS {
            return Err(format!("hold_ms must be at most {MAX_HOLD_MS}"));
        }
        if self.size_bytes > MAX_OVERSIZED_BYTES || self.size_bytes < 2 {
            return Err(format!(
                "size_bytes must be between 2 and {MAX_OVERSIZED_BYTES}"
            ));
        }
        if self.times == 0 {
            self.remaining = None;
        } else if self.remaining.is_none() {
            self.remaining = Some(self.times);
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        path_matches(&self.path, path)
    }
}

/// `*` matches exactly one segment; segments compare case-insensitively (as
/// Graph's do); a trailing slash is ignored.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let segs = |s: &str| -> Vec<String> {
        s.trim_matches('/')
            .split('/')
            .map(|x| crate::util::percent_decode(x, false))
            .collect()
    };
    let (p, q) = (segs(pattern), segs(path));
    p.len() == q.len()
        && p.iter()
            .zip(&q)
            .all(|(a, b)| a == "*" || a.eq_ignore_ascii_case(b))
}

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            throttle_probability: 0.0,
            throttle_every_n: 0,
            retry_after_secs: 2,
            unavailable_probability: 0.0,
            latency_ms: 0,
            consistency_delay_ms: 0,
            consistency_reads: 0,
            consistency_subresources: false,
            sp_backing_app_delay_reads: 0,
            faults_on_token: false,
            seed: 1,
            rules: Vec::new(),
        }
    }
}

/// splitmix64: tiny, seedable, good enough for fault dice.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    Unavailable(u16),
}

#[derive(Debug, Clone)]
struct Lag {
    created_ms: u64,
    reads: u32,
    delay_ms: u64,
    max_reads: u32,
}

/// Runtime fault state (not persisted).
#[derive(Debug)]
pub struct Faults {
    pub settings: FaultSettings,
    rng: Rng,
    counter: u64,
    lag: HashMap<String, Lag>,
    /// appId -> remaining NoBackingApplicationObject failures.
    backing: HashMap<String, u32>,
}

impl Faults {
    pub fn new(settings: FaultSettings) -> Faults {
        let rng = Rng::new(settings.seed);
        Faults {
            settings,
            rng,
            counter: 0,
            lag: HashMap::new(),
            backing: HashMap::new(),
        }
    }

    /// Replaces the settings and restarts the dice from the seed, so a test that
    /// sets faults gets the same sequence every run.
    pub fn set(&mut self, settings: FaultSettings) {
        self.rng = Rng::new(settings.seed);
        self.counter = 0;
        self.settings = settings;
    }

    pub fn clear_windows(&mut self) {
        self.lag.clear();
        self.backing.clear();
    }

    /// The first live rule matching this request, counted as fired. Items of a
    /// `$batch` only match rules whose action makes sense for an item.
    pub fn take_rule(&mut self, method: &str, path: &str, batch_item: bool) -> Option<FaultRule> {
        let rule = self.settings.rules.iter_mut().find(|r| {
            r.remaining != Some(0)
                && (!batch_item || r.action.applies_to_batch_items())
                && r.matches(method, path)
        })?;
        rule.fired += 1;
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        Some(rule.clone())
    }

    /// Rolls the dice for one Graph request. Always draws the same number of values
    /// per request so one request's outcome does not shift the next ones'.
    pub fn roll(&mut self) -> Option<Fault> {
        self.counter += 1;
        let (a, b, c) = (
            self.rng.next_f64(),
            self.rng.next_f64(),
            self.rng.next_u64(),
        );
        let s = &self.settings;
        if s.throttle_every_n > 0 && self.counter.is_multiple_of(s.throttle_every_n) {
            return Some(Fault::Throttle);
        }
        if a < s.throttle_probability {
            return Some(Fault::Throttle);
        }
        if b < s.unavailable_probability {
            return Some(Fault::Unavailable(if c & 1 == 0 { 503 } else { 504 }));
        }
        None
    }

    /// Registers a freshly written object for the consistency window.
    pub fn created(&mut self, id: &str, now: u64) {
        let s = &self.settings;
        if s.consistency_delay_ms > 0 || s.consistency_reads > 0 {
            self.lag.insert(
                id.to_ascii_lowercase(),
                Lag {
                    created_ms: now,
                    reads: 0,
                    delay_ms: s.consistency_delay_ms,
                    max_reads: s.consistency_reads,
                },
            );
        }
    }

    pub fn app_created(&mut self, app_id: &str) {
        if self.settings.sp_backing_app_delay_reads > 0 {
            self.backing.insert(
                app_id.to_ascii_lowercase(),
                self.settings.sp_backing_app_delay_reads,
            );
        }
    }

    /// True if the object is still invisible to this read; counts the read.
    pub fn lagging(&mut self, id: &str, now: u64) -> bool {
        let key = id.to_ascii_lowercase();
        let Some(l) = self.lag.get_mut(&key) else {
            return false;
        };
        let time_pending = l.delay_ms > 0 && now < l.created_ms + l.delay_ms;
        let reads_pending = l.max_reads > 0 && l.reads < l.max_reads;
        if time_pending || reads_pending {
            l.reads += 1;
            true
        } else {
            self.lag.remove(&key);
            false
        }
    }

    /// True if an SP POST for this appId must fail with NoBackingApplicationObject.
    pub fn backing_missing(&mut self, app_id: &str) -> bool {
        let key = app_id.to_ascii_lowercase();
        match self.backing.get_mut(&key) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            Some(_) => {
                self.backing.remove(&key);
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let s = FaultSettings {
            throttle_probability: 0.3,
            unavailable_probability: 0.2,
            seed: 42,
            ..Default::default()
        };
        let mut a = Faults::new(s.clone());
        let mut b = Faults::new(s);
        let ra: Vec<_> = (0..50).map(|_| a.roll()).collect();
        let rb: Vec<_> = (0..50).map(|_| b.roll()).collect();
        assert_eq!(ra, rb);
        assert!(ra.contains(&Some(Fault::Throttle)));
        assert!(ra.iter().any(Option::is_none));
    }

    #[test]
    fn lag_by_reads() {
        let mut f = Faults::new(FaultSettings {
            consistency_reads: 2,
            ..Default::default()
        });
        f.created("X", 0);
        assert!(f.lagging("x", 0));
        assert!(f.lagging("x", 0));
        assert!(!f.lagging("x", 0));
        assert!(!f.lagging("x", 0));
    }

    #[test]
    fn lag_by_time() {
        let mut f = Faults::new(FaultSettings {
            consistency_delay_ms: 100,
            ..Default::default()
        });
        f.created("x", 1000);
        assert!(f.lagging("x", 1050));
        assert!(!f.lagging("x", 1100));
    }

    fn rule(v: serde_json::Value) -> FaultRule {
        let mut r: FaultRule = serde_json::from_value(v).unwrap();
        r.normalize().unwrap();
        r
    }

    #[test]
    fn rule_paths_match_one_segment_per_star() {
        assert!(path_matches(
            "/applications/*/federatedIdentityCredentials",
            "/applications/abc/federatedIdentityCredentials"
        ));
        assert!(!path_matches(
            "/applications/*/federatedIdentityCredentials",
            "/applications/federatedIdentityCredentials"
        ));
        assert!(!path_matches("/applications/*", "/applications/a/owners"));
        assert!(path_matches("/Applications/", "/applications"));
        assert!(path_matches("/$batch", "/$batch"));
    }

    #[test]
    fn rules_fire_times_then_stay_listed_spent() {
        assert_eq!(
            serde_json::to_value(RuleAction::ActThen504).unwrap(),
            "act_then_504"
        );
        let mut f = Faults::new(FaultSettings {
            rules: vec![
                rule(
                    serde_json::json!({"method": "post", "path": "/applications", "action": "hold", "hold_ms": 5, "times": 2}),
                ),
                rule(
                    serde_json::json!({"path": "/applications/*", "action": "act_then_drop", "times": 0}),
                ),
            ],
            ..Default::default()
        });
        assert!(f.take_rule("GET", "/applications", false).is_none());
        assert_eq!(
            f.take_rule("POST", "/applications", false)
                .map(|r| r.action),
            Some(RuleAction::Hold)
        );
        assert!(f.take_rule("POST", "/applications", true).is_some());
        assert!(f.take_rule("POST", "/applications", false).is_none());
        assert_eq!(f.settings.rules[0].remaining, Some(0));
        assert_eq!(f.settings.rules[0].fired, 2);
        // Unlimited, but a batch item cannot have its connection dropped.
        for _ in 0..5 {
            assert!(f.take_rule("DELETE", "/applications/x", false).is_some());
        }
        assert!(f.take_rule("DELETE", "/applications/x", true).is_none());
        assert_eq!(f.settings.rules[1].remaining, None);
        assert_eq!(f.settings.rules[1].fired, 5);
    }

    #[test]
    fn rules_are_bounded_and_checked() {
        let mut r: FaultRule = serde_json::from_value(
            serde_json::json!({"path": "/v1.0/applications", "action": "hold"}),
        )
        .unwrap();
        assert!(r.normalize().is_err());
        let mut r: FaultRule = serde_json::from_value(
            serde_json::json!({"path": "/applications", "action": "hold", "hold_ms": MAX_HOLD_MS + 1}),
        )
        .unwrap();
        assert!(r.normalize().is_err());
        assert!(
            serde_json::from_value::<FaultRule>(
                serde_json::json!({"path": "/a", "action": "explode"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<FaultRule>(
                serde_json::json!({"path": "/a", "action": "hold", "hold": 3})
            )
            .is_err()
        );
    }

    #[test]
    fn every_n() {
        let mut f = Faults::new(FaultSettings {
            throttle_every_n: 3,
            ..Default::default()
        });
        let r: Vec<_> = (0..6).map(|_| f.roll()).collect();
        assert_eq!(r[2], Some(Fault::Throttle));
        assert_eq!(r[5], Some(Fault::Throttle));
        assert_eq!(r[0], None);
    }
}
