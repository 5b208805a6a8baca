//! When and how long to wait before asking Graph again: throttling (429, honouring
//! `Retry-After`), transient server errors (500, 502, 503, 504), and, where an operation
//! says so, the answers eventual consistency produces right after a write. Waits grow
//! exponentially with jitter and never run past the operation's deadline.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Upper bound on a server-requested `Retry-After`, so a bad header cannot stall
    /// an apply for hours; the deadline still applies on top.
    pub max_retry_after: Duration,
    /// Lower bound on it, so `Retry-After: 0` cannot turn retries into a busy loop.
    pub min_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(16),
            max_retry_after: Duration::from_secs(60),
            min_retry_after: Duration::from_millis(500),
        }
    }
}

/// Statuses worth retrying for any request: the request was throttled or the service
/// had a transient fault. 501 (not implemented) is permanent.
pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1).
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.clamp(self.min_retry_after, self.max_retry_after);
        }
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_backoff);
        // ±20% jitter so that parallel operations throttled together do not retry in
        // lockstep.
        let jitter = 0.8 + 0.4 * pseudo_random_unit();
        capped.mul_f64(jitter)
    }
}

/// `Retry-After` in seconds (Graph's form); HTTP dates are not used by Graph.
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn pseudo_random_unit() -> f64 {
    // Jitter needs spread, not cryptographic randomness.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_wins_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(99_999))),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn retry_after_zero_is_not_a_busy_loop() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.backoff(1, Some(Duration::ZERO)),
            Duration::from_millis(500)
        );
        assert_eq!(
            p.backoff(1, parse_retry_after(Some("18446744073709551615"))),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn backoff_grows_then_caps() {
        let p = RetryPolicy::default();
        let first = p.backoff(1, None);
        assert!(first >= Duration::from_millis(400) && first <= Duration::from_millis(600));
        let fourth = p.backoff(4, None);
        assert!(fourth >= Duration::from_millis(3200) && fourth <= Duration::from_millis(4800));
        let late = p.backoff(30, None);
        assert!(late <= Duration::from_millis(19_200));
    }

    #[test]
    fn transient_statuses() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_transient_status(s));
        }
        for s in [400, 401, 403, 404, 409, 501] {
            assert!(!is_transient_status(s));
        }
    }

    #[test]
    fn retry_after_parses_seconds_only() {
        assert_eq!(parse_retry_after(Some("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }
}
