//! OData query options as Graph's directory endpoints implement them:
//! `$select`, `$expand`, `$top` + `$skiptoken` paging, `$count`/`$search` with
//! their `ConsistencyLevel` rules, `$orderby`; `$filter` is [`crate::filter`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::errors::{GResult, GraphError};
use crate::filter::{Filter, eval, parse_filter, path_get, validate};
use crate::util::{parse_query, percent_encode};

pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 999;

/// What a collection allows: its OData type name and filterable properties.
pub struct Resource {
    /// `microsoft.graph.application` → used in messages as `Application`.
    pub type_name: &'static str,
    pub label: &'static str,
    /// The metadata entity types whose properties `$select` accepts (several for
    /// a collection of mixed directory objects, such as owners).
    pub entities: &'static [&'static str],
    pub filterable: &'static [&'static str],
    /// The navigation properties the emulator can `$expand`.
    pub expandable: &'static [&'static str],
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
    pub filter: Option<Filter>,
    pub select: Option<Vec<String>>,
    /// Selected properties that appear as `null` when an object has no value for
    /// them (structural properties, and on `/beta` names v1.0 does not declare).
    pub select_nulls: Vec<String>,
    pub expand: Vec<String>,
    pub top: Option<usize>,
    pub offset: usize,
    pub count: bool,
    pub search: Option<String>,
    pub orderby: Option<(String, bool)>,
    /// Advanced query mode: `ConsistencyLevel: eventual` + `$count=true`
    /// (or carried by a skiptoken from such a query).
    pub advanced: bool,
    pub eventual: bool,
}

impl Query {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(x, _)| x.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }

    /// Parses the options for a single entity (only `$select` / `$expand` apply).
    /// `beta`: the request came through `/beta` (see [`Query::parse_list`]).
    pub fn parse_entity(raw: &str, res: &Resource, beta: bool) -> GResult<Query> {
        let mut q = Query {
            pairs: parse_query(raw, true),
            ..Default::default()
        };
        q.parse_select_expand(res, beta)?;
        Ok(q)
    }

    /// `$select` takes the declared properties and navigation properties of the
    /// resource's entity types (Graph's metadata); on `/beta` an undeclared name
    /// is taken as a beta-only property and answered as `null`.
    fn parse_select_expand(&mut self, res: &Resource, beta: bool) -> GResult<()> {
        if let Some(sel) = self.get("$select").map(str::to_string) {
            let mut out = Vec::new();
            for p in sel.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let schema = crate::schema::schema();
                let mut known = None;
                let mut structural = false;
                for e in res.entities {
                    let et = schema.entity(e);
                    if let Some(name) = et.find(p) {
                        structural |= et.prop(name).is_some();
                        known = Some(name.to_string());
                    }
                }
                match known {
                    Some(k) => {
                        if structural {
                            self.select_nulls.push(k.clone());
                        }
                        out.push(k)
                    }
                    None if beta => {
                        self.select_nulls.push(p.to_string());
                        out.push(p.to_string())
                    }
                    None => return Err(unknown_property(p, res)),
                }
            }
            self.select = Some(out);
        }
        if let Some(exp) = self.get("$expand").map(str::to_string) {
            for e in exp
                .split(',')
                .map(|e| e.split('(').next().unwrap_or("").trim())
                .filter(|e| !e.is_empty())
            {
                match res.expandable.iter().find(|x| x.eq_ignore_ascii_case(e)) {
                    Some(x) => self.expand.push(x.to_string()),
                    None => return Err(unknown_property(e, res)),
                }
            }
        }
        Ok(())
    }

    /// Parses collection options with Graph's rules for directory objects.
    pub fn parse_list(raw: &str, eventual: bool, res: &Resource, beta: bool) -> GResult<Query> {
        let mut q = Query {
            pairs: parse_query(raw, true),
            eventual,
            ..Default::default()
        };
        q.parse_select_expand(res, beta)?;
        let count = q
            .get("$count")
            .map(|v| v.eq_ignore_ascii_case("true"))
            .unwrap_or(false);
        if let Some(tok) = q.get("$skiptoken").map(str::to_string) {
            let st = decode_skiptoken(&tok)?;
            q.offset = st.0;
            q.advanced = st.1;
        }
        // `$count=true` without the header is silently ignored (msgraph-behaviour A2).
        q.count = count && eventual;
        q.advanced = q.advanced || q.count;
        if let Some(t) = q.get("$top") {
            let n: usize = t.trim().parse().map_err(|_| {
                GraphError::new(
                    400,
                    "BadRequest",
                    format!("Invalid value '{t}' for $top query option found."),
                )
            })?;
            if n == 0 || n > MAX_PAGE {
                return Err(GraphError::bad_request(format!(
                    "Invalid page size specified: '{n}'. Must be between 1 and {MAX_PAGE} inclusive."
                )));
            }
            q.top = Some(n);
        }
        if let Some(s) = q.get("$search").map(str::to_string) {
            if !eventual && !q.advanced {
                return Err(GraphError::new(
                    400,
                    "Request_UnsupportedQuery",
                    "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
                ));
            }
            q.search = Some(s);
        }
        if let Some(f) = q.get("$filter").map(str::to_string) {
            let parsed = parse_filter(&f).map_err(|m| {
                GraphError::new(400, "BadRequest", format!("Invalid filter clause: {m}"))
            })?;
            validate(&parsed, res, q.advanced, None)?;
            q.filter = Some(parsed);
        }
        if let Some(o) = q.get("$orderby").map(str::to_string) {
            let mut it = o.split_whitespace();
            let prop = it.next().unwrap_or_default().to_string();
            let desc = it
                .next()
                .map(|d| d.eq_ignore_ascii_case("desc"))
                .unwrap_or(false);
            if !["displayName", "createdDateTime"]
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&prop))
            {
                return Err(GraphError::new(
                    400,
                    "Request_UnsupportedQuery",
                    "Sorting not supported for current query.",
                ));
            }
            q.orderby = Some((prop, desc));
        }
        Ok(q)
    }

    /// Applies filter, search and ordering (not paging).
    pub fn matches(&self, obj: &Value) -> bool {
        if let Some(f) = &self.filter
            && !eval(f, obj)
        {
            return false;
        }
        if let Some(s) = &self.search {
            // `"displayName:foo"` style tokenized search, approximated by substring.
            let s = s.trim_matches('"');
            let (prop, term) = s.split_once(':').unwrap_or(("displayName", s));
            let v = path_get(obj, prop)
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !v.to_lowercase().contains(&term.to_lowercase()) {
                return false;
            }
        }
        true
    }

    pub fn sort(&self, items: &mut [Value]) {
        if let Some((prop, desc)) = &self.orderby {
            items.sort_by(|a, b| {
                let ka = path_get(a, prop)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase();
                let kb = path_get(b, prop)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase();
                if *desc { kb.cmp(&ka) } else { ka.cmp(&kb) }
            });
        }
    }

    /// Builds a collection response: one page of `items`, `@odata.count` on the
    /// first page only, and `@odata.nextLink` carrying the original options.
    pub fn page(&self, mut items: Vec<Value>, context: &str, self_url: &str) -> Value {
        self.sort(&mut items);
        let total = items.len();
        let size = self.top.unwrap_or(DEFAULT_PAGE);
        let end = (self.offset + size).min(total);
        let page: Vec<Value> = items
            .into_iter()
            .skip(self.offset)
            .take(end.saturating_sub(self.offset))
            .map(|v| self.project(v))
            .collect();
        let mut out = Map::new();
        out.insert("@odata.context".into(), json!(context));
        if self.count && self.offset == 0 {
            out.insert("@odata.count".into(), json!(total));
        }
        if end < total {
            let link = next_link(
                self_url,
                &self.pairs,
                encode_skiptoken(end, self.advanced, false),
            );
            out.insert("@odata.nextLink".into(), json!(link));
        }
        out.insert("value".into(), Value::Array(page));
        Value::Object(out)
    }

    /// `$select` projection (expanded navigation properties are kept).
    pub fn project(&self, v: Value) -> Value {
        match (&self.select, v) {
            (Some(sel), Value::Object(m)) => {
                let mut out = Map::new();
                for (k, val) in m {
                    if k.starts_with('@') || sel.contains(&k) || self.expand.contains(&k) {
                        out.insert(k, val);
                    }
                }
                for k in &self.select_nulls {
                    if !out.contains_key(k) {
                        out.insert(k.clone(), Value::Null);
                    }
                }
                Value::Object(out)
            }
            (_, v) => v,
        }
    }

    /// `…#applications` or `…#applications(id,displayName)`.
    pub fn context(&self, base: &str) -> String {
        match &self.select {
            Some(sel) => format!("{base}({})", sel.join(",")),
            None => base.to_string(),
        }
    }
}

fn unknown_property(p: &str, res: &Resource) -> GraphError {
    GraphError::new(
        400,
        "BadRequest",
        format!(
            "Parsing OData Select and Expand failed: Could not find a property named '{p}' on type '{}'.",
            res.type_name
        ),
    )
}

fn encode_skiptoken(offset: usize, advanced: bool, endless: bool) -> String {
    let mut raw = format!("RFNwdAoAAQAAAAAAAAAAFAAAA{offset}:{}", u8::from(advanced));
    if endless {
        raw.push_str(":e");
    }
    URL_SAFE_NO_PAD.encode(raw)
}

/// Whether the request's `$skiptoken` came from an `endless_next_link` fault.
pub fn skiptoken_is_endless(raw_query: &str) -> bool {
    parse_query(raw_query, true)
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("$skiptoken"))
        .and_then(|(_, t)| decode_skiptoken(t).ok())
        .is_some_and(|t| t.2)
}

/// A next link to the page this query is on (its offset and options), marked so
/// that following it yields the same page and link again.
pub fn endless_link(self_url: &str, raw_query: &str, eventual: bool) -> String {
    let pairs = parse_query(raw_query, true);
    let tok = pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("$skiptoken"))
        .and_then(|(_, t)| decode_skiptoken(t).ok());
    let (offset, advanced) = match tok {
        Some((o, a, _)) => (o, a),
        None => {
            let count = pairs
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("$count") && v.eq_ignore_ascii_case("true"));
            (0, count && eventual)
        }
    };
    next_link(self_url, &pairs, encode_skiptoken(offset, advanced, true))
}

/// `self_url?{options except $skiptoken and $count}&$skiptoken=…`.
fn next_link(self_url: &str, pairs: &[(String, String)], skiptoken: String) -> String {
    let mut params: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken") && !k.eq_ignore_ascii_case("$count"))
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    params.push(format!("$skiptoken={skiptoken}"));
    format!("{self_url}?{}", params.join("&"))
}

/// `(offset, advanced, endless)`.
fn decode_skiptoken(tok: &str) -> GResult<(usize, bool, bool)> {
    let expired = || {
        GraphError::new(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        )
    };
    let raw = URL_SAFE_NO_PAD.decode(tok).map_err(|_| expired())?;
    let s = String::from_utf8(raw).map_err(|_| expired())?;
    let rest = s
        .strip_prefix("RFNwdAoAAQAAAAAAAAAAFAAAA")
        .ok_or_else(expired)?;
    let mut parts = rest.split(':');
    let o = parts.next().ok_or_else(expired)?;
    let a = parts.next().ok_or_else(expired)?;
    let endless = parts.next() == Some("e");
    Ok((o.parse().map_err(|_| expired())?, a == "1", endless))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RES: Resource = Resource {
        type_name: "microsoft.graph.application",
        label: "Application",
        entities: &["application"],
        filterable: &["appId", "displayName", "tags"],
        expandable: &["owners"],
    };

    #[test]
    fn validation() {
        assert!(Query::parse_list("$filter=appId%20eq%20'x'", false, &RES, false).is_ok());
        let e = Query::parse_list("$filter=notes%20eq%20'x'", false, &RES, false).unwrap_err();
        assert_eq!(e.code, "Request_UnsupportedQuery");
        let e =
            Query::parse_list("$filter=endswith(displayName,'x')", false, &RES, false).unwrap_err();
        assert!(e.message.contains("endsWith"));
        assert!(
            Query::parse_list(
                "$filter=endswith(displayName,'x')&$count=true",
                true,
                &RES,
                false
            )
            .is_ok()
        );
        let e = Query::parse_list("$search=\"displayName:x\"", false, &RES, false).unwrap_err();
        assert_eq!(e.code, "Request_UnsupportedQuery");
        assert!(Query::parse_list("$top=1000", false, &RES, false).is_err());
        assert!(Query::parse_list("$select=nope", false, &RES, false).is_err());
        // Declared in the metadata, whatever the emulator stores.
        let q = Query::parse_list(
            "$select=oauth2RequirePostResponse,owners",
            false,
            &RES,
            false,
        )
        .unwrap();
        assert_eq!(
            q.project(json!({"id": "x"})),
            json!({"oauth2RequirePostResponse": null})
        );
        // /beta: an undeclared name is a beta-only property, answered as null.
        let q = Query::parse_entity("$select=id,betaOnlyThing", &RES, true).unwrap();
        assert_eq!(
            q.project(json!({"id": "x", "appId": "y"})),
            json!({"id": "x", "betaOnlyThing": null})
        );
    }

    #[test]
    fn options_decode_plus_and_percent_20_as_spaces() {
        for raw in [
            "$filter=appId+eq+'00000003-0000-0000-c000-000000000000'&$select=id,+displayName&$orderby=displayName+desc&$top=+5",
            "$filter=appId%20eq%20'00000003-0000-0000-c000-000000000000'&$select=id,%20displayName&$orderby=displayName%20desc&$top=%205",
            "%24filter=appId+eq+%2700000003-0000-0000-c000-000000000000%27&%24select=id%2C+displayName&%24orderby=displayName+desc&%24top=5",
        ] {
            let q = Query::parse_list(raw, false, &RES, false)
                .unwrap_or_else(|e| panic!("{raw}: {}", e.message));
            assert_eq!(
                q.select,
                Some(vec!["id".to_string(), "displayName".to_string()]),
                "{raw}"
            );
            assert_eq!(q.orderby, Some(("displayName".to_string(), true)), "{raw}");
            assert_eq!(q.top, Some(5), "{raw}");
            assert!(
                q.matches(&json!({"appId": "00000003-0000-0000-c000-000000000000"})),
                "{raw}"
            );
        }
        let q = Query::parse_list("$search=%22displayName:a+b%22", true, &RES, false).unwrap();
        assert_eq!(q.search.as_deref(), Some("\"displayName:a b\""));
        // An encoded plus stays a plus.
        let q = Query::parse_list("$filter=displayName+eq+'a%2Bb'", false, &RES, false).unwrap();
        assert!(q.matches(&json!({"displayName": "a+b"})));
    }

    #[test]
    fn paging() {
        let q = Query::parse_list("$top=2&$filter=appId%20ne%20'x'", false, &RES, false);
        assert!(q.is_err());
        let q = Query::parse_list("$top=2", false, &RES, false).unwrap();
        let items: Vec<Value> = (0..5).map(|i| json!({"appId": i.to_string()})).collect();
        let p = q.page(items.clone(), "ctx", "http://x/v1.0/applications");
        assert_eq!(p["value"].as_array().unwrap().len(), 2);
        let next = p["@odata.nextLink"].as_str().unwrap();
        let raw = next.split_once('?').unwrap().1;
        let q2 = Query::parse_list(raw, false, &RES, false).unwrap();
        assert_eq!(q2.offset, 2);
        let p2 = q2.page(items, "ctx", "u");
        assert_eq!(p2["value"][0]["appId"], "2");
    }
}
