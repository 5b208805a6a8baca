//! Stored state meets the current schema. Adding an optional or computed attribute
//! does not change a schema's version (as with Terraform's Go SDKs), so state written
//! before the addition lacks the attribute, and state may still hold one since removed.
//! Both are made to fit before decoding: missing attributes become null, unknown ones
//! are dropped.

use super::value::Type;
use serde_json::Value as Json;

/// Fits stored state (JSON) to `ty`: missing attributes become null, attributes no longer
/// in the type are dropped.
pub fn conform_state_json(json: Json, ty: &Type) -> Json {
    match (json, ty) {
        (Json::Object(mut map), Type::Object(attrs)) => {
            map.retain(|k, _| {
                let known = attrs.contains_key(k);
                if !known {
                    tracing::debug!(attribute = %k, "dropping attribute no longer in the schema");
                }
                known
            });
            for (name, attr_ty) in attrs {
                let v = map.remove(name).unwrap_or(Json::Null);
                map.insert(name.clone(), conform_state_json(v, attr_ty));
            }
            Json::Object(map)
        }
        (Json::Array(items), Type::List(elem) | Type::Set(elem)) => Json::Array(
            items
                .into_iter()
                .map(|i| conform_state_json(i, elem))
                .collect(),
        ),
        (Json::Object(map), Type::Map(elem)) => Json::Object(
            map.into_iter()
                .map(|(k, v)| (k, conform_state_json(v, elem)))
                .collect(),
        ),
        (other, _) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn fills_missing_and_drops_removed_attributes() {
        let inner = Type::Object(BTreeMap::from([("a".to_owned(), Type::String)]));
        let ty = Type::Object(BTreeMap::from([
            ("id".to_owned(), Type::String),
            ("added".to_owned(), Type::Bool),
            ("items".to_owned(), Type::List(Box::new(inner))),
        ]));
        let stored = json!({"id": "x", "removed": 1, "items": [{"a": "1", "gone": 2}]});
        assert_eq!(
            conform_state_json(stored, &ty),
            json!({"id": "x", "added": null, "items": [{"a": "1"}]})
        );
    }
}
