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
