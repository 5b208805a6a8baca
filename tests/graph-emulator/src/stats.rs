//! Write concurrency per application: how many writes (POST/PATCH/DELETE, `$batch`
//! items included) to one application or its sub-resources were in flight at
//! once. A client that promises to serialise its writes to an object can be
//! checked against `GET /_emulator/stats`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::lock;

#[derive(Debug, Default)]
pub struct WriteStats {
    in_flight: HashMap<String, u32>,
    peak: BTreeMap<String, u32>,
}

impl WriteStats {
    /// Peaks since the last reset, by application object id.
    pub fn peaks(&self) -> BTreeMap<String, u32> {
        self.peak.clone()
    }
    /// Forgets the peaks; writes still in flight keep counting.
    pub fn reset(&mut self) {
        self.peak.clear();
    }
}

/// One write in flight; dropping it (when the answer is sent) ends the window.
pub struct WriteGuard<'a> {
    stats: &'a Mutex<WriteStats>,
    app: String,
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        let mut s = lock(self.stats);
        if let Some(n) = s.in_flight.get_mut(&self.app) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                s.in_flight.remove(&self.app);
            }
        }
    }
}

/// Starts a write's window for `app` (an application object id).
pub fn begin<'a>(stats: &'a Mutex<WriteStats>, app: &str) -> WriteGuard<'a> {
    let app = app.to_ascii_lowercase();
    let mut s = lock(stats);
    let n = s.in_flight.entry(app.clone()).or_insert(0);
    *n += 1;
    let now = *n;
    let peak = s.peak.entry(app.clone()).or_insert(0);
    *peak = (*peak).max(now);
    WriteGuard { stats, app }
}

/// Whether a method writes.
pub fn is_write(method: &str) -> bool {
    matches!(
        method.to_ascii_uppercase().as_str(),
        "POST" | "PATCH" | "DELETE" | "PUT"
    )
}

/// The application a Graph path writes to, if any: `/applications/{id}/…`
/// (object id), `/applications(appId='…')/…` (resolved by `by_app_id`), or a
/// deleted application restored or purged through `/directory/deletedItems/{id}`.
pub fn target_app(path: &str, by_app_id: impl Fn(&str) -> Option<String>) -> Option<String> {
    let segs = crate::routes::parse_segments(path);
    let first = segs.first()?;
    match (first.name.as_str(), &first.key) {
        ("applications", Some(crate::routes::Key::Alt(k, v)))
            if k.eq_ignore_ascii_case("appId") =>
        {
            by_app_id(v)
        }
        ("applications", Some(crate::routes::Key::Id(id))) => Some(id.clone()),
        ("applications", None) => segs
            .get(1)
            .filter(|s| s.key.is_none() && crate::util::is_guid(&s.name))
            .map(|s| s.name.clone()),
        ("directory", None) => match segs.get(1..3) {
            Some([d, id]) if d.name == "deletedItems" && crate::util::is_guid(&id.name) => {
                Some(id.name.clone())
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_overlap_not_total() {
        let s = Mutex::new(WriteStats::default());
        {
            let _a = begin(&s, "A");
            let _b = begin(&s, "a");
            let _c = begin(&s, "b");
        }
        let _d = begin(&s, "a");
        let p = lock(&s).peaks();
        assert_eq!(p.get("a"), Some(&2));
        assert_eq!(p.get("b"), Some(&1));
        lock(&s).reset();
        let _e = begin(&s, "a");
        assert_eq!(lock(&s).peaks().get("a"), Some(&2), "_d is still in flight");
    }

    #[test]
    fn finds_the_application_written_to() {
        let id = "00000000-0000-4000-8000-00000000e001";
        let none = |_: &str| None;
        assert_eq!(
            target_app(&format!("/applications/{id}"), none),
            Some(id.into())
        );
        assert_eq!(
            target_app(
                &format!("/applications/{id}/federatedIdentityCredentials/x"),
                none
            ),
            Some(id.into())
        );
        assert_eq!(
            target_app("/applications(appId='abc')/owners/$ref", |a| Some(format!(
                "obj-{a}"
            ))),
            Some("obj-abc".into())
        );
        assert_eq!(target_app("/applications", none), None);
        assert_eq!(target_app("/servicePrincipals", none), None);
        assert_eq!(
            target_app(&format!("/directory/deletedItems/{id}/restore"), none),
            Some(id.into())
        );
    }
}
