//! What the resources share: reaching Microsoft Graph through the configured session,
//! and small readers and writers of resource values.

use crate::graph::GraphClient;
use crate::session::{Session, SessionSlot};
use std::sync::Arc;
use tfplugin::diagnostics::Diagnostics;
use tfplugin::value::Value;

/// The session and its Graph client, or the diagnostic saying why there is none.
pub fn connect(
    slot: &SessionSlot,
    diags: &mut Diagnostics,
) -> Option<(Arc<Session>, Arc<GraphClient>)> {
    let session = slot.get().map_err(|d| diags.push(d)).ok()?;
    let graph = session.graph().map_err(|d| diags.push(d)).ok()?;
    Some((session, graph))
}

/// A directory object id or client id: a GUID.
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A string attribute, or "" when null or unknown.
pub fn text(v: &Value, key: &str) -> String {
    v.get_attr(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

pub fn is_null(v: &Value, key: &str) -> bool {
    v.get_attr(key).is_none_or(Value::is_null)
}

/// The strings of a wholly known list or set, or None while any is unknown.
pub fn known_strings(v: Option<&Value>) -> Option<Vec<String>> {
    let items = v?.as_list()?;
    items
        .iter()
        .map(|i| i.as_str().map(str::to_owned))
        .collect()
}

pub fn set(v: &mut Value, key: &str, value: Value) {
    // Resource values are always objects, so setting an attribute cannot fail.
    let _ = v.set_attr(key, value);
}

pub fn copy_prior(planned: &mut Value, prior: &Value, key: &str) {
    if let Some(p) = prior.get_attr(key) {
        set(planned, key, p.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("00000000-0000-4000-8000-00000000e001"));
        assert!(!is_guid("my-app"));
        assert!(!is_guid("00000000-0000-4000-8000-00000000e00"));
        assert!(!is_guid("0000000g-0000-4000-8000-00000000e001"));
    }

    #[test]
    fn known_strings_waits_for_every_element() {
        let known = Value::list([Value::string("a"), Value::string("b")]);
        assert_eq!(
            known_strings(Some(&known)),
            Some(vec!["a".into(), "b".into()])
        );
        let partly = Value::list([Value::string("a"), Value::unknown()]);
        assert_eq!(known_strings(Some(&partly)), None);
        assert_eq!(known_strings(None), None);
    }
}
