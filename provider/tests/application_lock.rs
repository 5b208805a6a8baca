//! The per-application write lock (`Session::lock_application` and
//! `resources::common::lock_application`): Graph answers concurrent writes to one
//! application with conflicts, so the provider sends them one at a time. Holders of
//! one application's lock take turns; other applications are not held up; a waiter
//! gives up when its operation's deadline passes or Terraform asks to stop; object
//! ids name the same application whatever their case.

use psoxy_provider::config::ProviderSettings;
use psoxy_provider::graph::auth::AuthError;
use psoxy_provider::graph::{GraphErrorKind, Operation};
use psoxy_provider::resources::common::lock_application;
use psoxy_provider::session::Session;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

const APP: &str = "00000000-0000-4000-8000-0000000000aa";
const OTHER_APP: &str = "00000000-0000-4000-8000-0000000000bb";
/// Longer than any wait here: with the clock paused it passes at once, so a lock
/// that never gives up fails the test instead of hanging it.
const FOREVER: Duration = Duration::from_secs(24 * 3600);

/// A session that never reaches Graph: the lock needs none.
fn session() -> Arc<Session> {
    let url = url::Url::parse("https://graph.invalid").unwrap();
    let settings = ProviderSettings::for_endpoints(url.clone(), url);
    Arc::new(Session::new(
        settings,
        Err(AuthError::new("no sign-in", "not needed")),
    ))
}

fn op(timeout: Duration) -> Operation {
    Operation::new(timeout, CancellationToken::new())
}

#[tokio::test(start_paused = true)]
async fn writers_to_one_application_take_turns() {
    let session = session();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for _ in 0..10 {
        let (session, in_flight, peak) = (session.clone(), in_flight.clone(), peak.clone());
        writers.push(tokio::spawn(async move {
            let _guard = lock_application(&session, &op(FOREVER), APP)
                .await
                .expect("the lock is granted");
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            // A write takes a while; the others must wait for it.
            sleep(Duration::from_millis(100)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
        }));
    }
    let started = Instant::now();
    for w in writers {
        timeout(FOREVER, w).await.expect("writers finish").unwrap();
    }
    assert_eq!(peak.load(Ordering::SeqCst), 1, "writes overlapped");
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "ten writes of 100 ms one after another: {:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_holder_waits_for_the_first_and_other_applications_do_not() {
    let session = session();
    let first = session.lock_application(APP).await;
    // Another application is not held up by this one.
    let other = timeout(
        Duration::from_millis(10),
        session.lock_application(OTHER_APP),
    )
    .await
    .expect("another application's lock is free");
    drop(other);
    let second = tokio::spawn({
        let session = session.clone();
        async move {
            let _guard = lock_application(&session, &op(FOREVER), APP)
                .await
                .expect("granted once the first holder is done");
            Instant::now()
        }
    });
    sleep(Duration::from_secs(5)).await;
    assert!(!second.is_finished(), "granted while the first held it");
    let released = Instant::now();
    drop(first);
    let granted = timeout(FOREVER, second).await.unwrap().unwrap();
    assert!(granted >= released);
}

#[tokio::test(start_paused = true)]
async fn a_waiter_gives_up_when_its_deadline_passes() {
    let session = session();
    let _held = session.lock_application(APP).await;
    let started = Instant::now();
    let e = timeout(
        FOREVER,
        lock_application(&session, &op(Duration::from_secs(30)), APP),
    )
    .await
    .expect("the waiter gave up")
    .expect_err("the lock was held throughout");
    assert_eq!(e.kind, GraphErrorKind::Deadline, "{e:?}");
    assert!(!e.is_not_found());
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert!(e.message.contains("until the timeout"), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn a_waiter_gives_up_when_terraform_asks_to_stop() {
    let session = session();
    let _held = session.lock_application(APP).await;
    let stop = CancellationToken::new();
    let waiter = tokio::spawn({
        let (session, stop) = (session.clone(), stop.clone());
        async move {
            lock_application(&session, &Operation::new(FOREVER, stop), APP)
                .await
                .map(drop)
        }
    });
    sleep(Duration::from_secs(2)).await;
    assert!(!waiter.is_finished());
    let stopped = Instant::now();
    stop.cancel();
    let e = timeout(Duration::from_secs(1), waiter)
        .await
        .expect("Stop ends the wait at once")
        .unwrap()
        .expect_err("the lock was held throughout");
    assert_eq!(e.kind, GraphErrorKind::Cancelled, "{e:?}");
    assert_eq!(stopped.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn object_ids_name_the_same_application_whatever_their_case() {
    let session = session();
    let _held = session.lock_application(&APP.to_ascii_uppercase()).await;
    let e = timeout(
        FOREVER,
        lock_application(&session, &op(Duration::from_secs(3)), APP),
    )
    .await
    .expect("the waiter gave up")
    .expect_err("the same application, spelt in capitals, holds the lock");
    assert_eq!(e.kind, GraphErrorKind::Deadline, "{e:?}");
}
