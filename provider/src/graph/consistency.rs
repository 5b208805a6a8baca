//! Microsoft Graph's eventual consistency and lost answers, handled in one place
//! (docs/design/graph-behaviour.md, "Eventual consistency" and "Lost answers"):
//!
//! - which answers right after a write are replication lag ([`LagRule`]s) and how long
//!   they are waited out ([`LAG_BUDGET`]); the client retries them;
//! - how reads and lookups poll while Graph catches up ([`Settle`]): bounded in looks
//!   and time, and an interrupted wait is an error, never a reason to drop an object;
//! - whether Graph may have acted on a write whose answer was lost
//!   ([`may_have_acted`]), and for how long the provider looks for what it did
//!   ([`FIND_OUT_BUDGET`]), even after Terraform asked to stop.

use super::client::Operation;
use super::error::GraphError;
use std::time::Duration;
use tokio::time::Instant;

/// Says whether an error answer right after a write is replication lag.
pub type LagRule = fn(&GraphError) -> bool;

/// How long an answer that may be replication lag is waited out before it is taken at
/// its word. Microsoft advises backing off 1, 2, 4, 8, 16 s; this covers that twice.
pub const LAG_BUDGET: Duration = Duration::from_secs(60);

/// How long the provider looks for what a write did after its answer was lost. It runs
/// even after Stop and after the operation's own deadline: Stop prevents the next step,
/// it must not hide the result of the current one.
pub const FIND_OUT_BUDGET: Duration = Duration::from_secs(60);

/// The wait before the `n`th retry (from 1) of an answer that is replication lag:
/// from a quarter second, doubling, at most 8 s. Lag usually clears within a second or
/// two, so the first retries come quickly; throttling has its own, slower schedule.
pub fn lag_wait(n: u32) -> Duration {
    Duration::from_millis(250)
        .saturating_mul(1 << n.saturating_sub(1).min(5))
        .min(Duration::from_secs(8))
}

/// A 404 right after a write: the object (or one it refers to) has not replicated to
/// the replica that answered.
pub fn not_found(e: &GraphError) -> bool {
    e.is_not_found()
}

/// Creating a service principal for an application created moments ago: Graph has
/// not seen the application yet (`NoBackingApplicationObject`, or the 403 Graph gives
/// for the same race when the caller holds only `Application.ReadWrite.OwnedBy`).
pub fn no_backing_application(e: &GraphError) -> bool {
    e.has_code("NoBackingApplicationObject")
        || (e.is_status(400)
            && e.message
                .contains("does not reference a valid application object"))
        || (e.is_status(403) && e.message.contains("backing application"))
}

/// Graph may have acted on a write that did not answer with success: no answer came
/// (connection lost, timed out, unreadable), a gateway answered 500, 502 or 504, or an
/// earlier attempt of the same request ended that way before a retry.
pub fn may_have_acted(e: &GraphError) -> bool {
    use super::error::GraphErrorKind;
    e.acted_unknown
        || e.kind == GraphErrorKind::Transport
        || matches!(e.status, Some(500 | 502 | 504))
}

/// Polling while Graph catches up: a bounded number of looks with growing waits in
/// between, within a time budget and the operation's deadline.
#[derive(Debug)]
pub struct Settle {
    delay: Duration,
    max_delay: Duration,
    looks_left: u32,
    until: Instant,
    what: String,
}

impl Settle {
    /// How a read decides that a missing object is gone: six looks, from a quarter
    /// second to 4 s apart, so a 404 must last about eight seconds; an object that was
    /// only lagging is usually seen again within the first second.
    pub fn read_window(what: impl Into<String>) -> Settle {
        Settle {
            delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            looks_left: 6,
            until: Instant::now() + LAG_BUDGET,
            what: what.into(),
        }
    }

    /// Looks for at most `budget`: waits from half a second, doubling up to 8 s.
    pub fn within(budget: Duration, what: impl Into<String>) -> Settle {
        Settle {
            delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            looks_left: u32::MAX,
            until: Instant::now() + budget,
            what: what.into(),
        }
    }

    /// Counts a look and waits before the next one. `Ok(false)`: the looks or the
    /// budget are spent and the last answer stands. An error: Terraform asked to stop
    /// or the operation's deadline came first, which says nothing about the object.
    pub async fn again(&mut self, op: &Operation) -> Result<bool, GraphError> {
        self.looks_left = self.looks_left.saturating_sub(1);
        if self.looks_left == 0 || Instant::now() + self.delay > self.until {
            return Ok(false);
        }
        tracing::debug!(what = %self.what, delay_ms = self.delay.as_millis() as u64, "waiting for Microsoft Graph's replication");
        op.wait(self.delay).await.map_err(|kind| GraphError {
            kind,
            ..GraphError::transport(
                self.what.clone(),
                "the wait for Microsoft Graph's replication was interrupted".into(),
            )
        })?;
        self.delay = (self.delay * 2).min(self.max_delay);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::error::GraphErrorKind;
    use tokio_util::sync::CancellationToken;

    fn answer(status: u16) -> GraphError {
        GraphError::from_response("POST /x".into(), status, None, b"{}")
    }

    #[test]
    fn graph_may_have_acted_only_where_the_answer_was_lost() {
        assert!(may_have_acted(&GraphError::transport(
            "POST /x".into(),
            "reset".into()
        )));
        for status in [500, 502, 504] {
            assert!(may_have_acted(&answer(status)), "{status}");
        }
        for status in [400, 403, 404, 409, 429, 503] {
            assert!(!may_have_acted(&answer(status)), "{status}");
        }
        // A retry answered 409 after an attempt whose answer was lost.
        let after_lost = GraphError {
            acted_unknown: true,
            ..answer(409)
        };
        assert!(may_have_acted(&after_lost));
        assert!(!may_have_acted(&GraphError {
            kind: GraphErrorKind::Cancelled,
            ..answer(429)
        }));
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_window_is_six_looks_over_eight_seconds() {
        let op = Operation::new(Duration::from_secs(600), CancellationToken::new());
        let mut settle = Settle::read_window("GET /applications/x");
        let started = tokio::time::Instant::now();
        let mut looks = 1;
        while settle.again(&op).await.unwrap() {
            looks += 1;
        }
        assert_eq!(looks, 6);
        assert_eq!(started.elapsed(), Duration::from_millis(7750));
    }

    #[test]
    fn lag_is_retried_quickly_then_less_often() {
        let waits: Vec<u128> = (1..=8).map(|n| lag_wait(n).as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
    }

    #[tokio::test(start_paused = true)]
    async fn running_out_of_time_is_an_error_not_an_answer() {
        let op = Operation::new(Duration::from_millis(600), CancellationToken::new());
        let mut settle = Settle::read_window("GET /applications/x");
        assert!(settle.again(&op).await.unwrap());
        let e = settle.again(&op).await.unwrap_err();
        assert_eq!(e.kind, GraphErrorKind::Deadline);
        assert!(!e.is_not_found());
    }

    #[tokio::test(start_paused = true)]
    async fn stop_interrupts_a_wait() {
        let stop = CancellationToken::new();
        let op = Operation::new(Duration::from_secs(600), stop.clone());
        let mut settle = Settle::within(Duration::from_secs(60), "lookup");
        stop.cancel();
        let e = settle.again(&op).await.unwrap_err();
        assert_eq!(e.kind, GraphErrorKind::Cancelled);
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_ends_the_looks() {
        let op = Operation::new(Duration::from_secs(600), CancellationToken::new());
        let mut settle = Settle::within(Duration::from_secs(10), "lookup");
        let started = tokio::time::Instant::now();
        while settle.again(&op).await.unwrap() {}
        assert!(started.elapsed() <= Duration::from_secs(10));
        assert!(started.elapsed() >= Duration::from_secs(7));
    }
}
