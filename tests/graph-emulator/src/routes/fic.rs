//! `/applications/{id}/federatedIdentityCredentials` with Graph's validation
//! (msgraph-behaviour A3): name rules and immutability, one audience, lengths,
//! no wildcards, ≤20 per app, unique name (409) and issuer+subject (400).

use serde_json::{Map, Value, json};

use super::{Ctx, Key, Seg, entity};
use crate::errors::{GResult, GraphError, Resp};
use crate::odata::Resource;
use crate::util::{is_guid, new_guid};

pub const MAX_PER_APP: usize = 20;

const RESOURCE: Resource = Resource {
    type_name: "microsoft.graph.federatedIdentityCredential",
    label: "FederatedIdentityCredential",
    entities: &["federatedIdentityCredential"],
    filterable: &["name", "subject", "issuer"],
    expandable: &[],
};

fn invalid(prop: &str, why: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Invalid value specified for property '{prop}' of resource 'FederatedIdentityCredential'. {why}"
    ))
}

fn valid_name(n: &str) -> bool {
    let len = n.chars().count();
    let mut chars = n.chars();
    (3..=120).contains(&len)
        && chars
            .next()
            .map(|c| c.is_ascii_alphanumeric())
            .unwrap_or(false)
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn valid_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r) => {
            let host = r.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Validates a complete credential (after merging a PATCH).
fn validate(m: &Map<String, Value>) -> GResult<()> {
    let s = |k: &str| m.get(k).and_then(Value::as_str);
    let name = s("name").ok_or_else(|| invalid("name", "The name is required."))?;
    if !valid_name(name) {
        return Err(invalid(
            "name",
            "Name value is not a valid URI last segment: it must be 3 to 120 characters, start with a letter or digit, and contain only letters, digits, '-' and '_'.",
        ));
    }
    let issuer = s("issuer").ok_or_else(|| invalid("issuer", "The issuer is required."))?;
    if issuer.chars().count() > 600 {
        return Err(invalid("issuer", "The maximum length is 600 characters."));
    }
    if !valid_url(issuer) {
        return Err(invalid("issuer", "The issuer must be a valid URL."));
    }
    let subject = s("subject")
        .filter(|x| !x.is_empty())
        .ok_or_else(|| invalid("subject", "The subject is required."))?;
    if subject.chars().count() > 600 {
        return Err(invalid("subject", "The maximum length is 600 characters."));
    }
    let auds = m
        .get("audiences")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("audiences", "Exactly one audience must be specified."))?;
    if auds.len() != 1 {
        return Err(invalid(
            "audiences",
            "Exactly one audience must be specified.",
        ));
    }
    let aud = auds[0]
        .as_str()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid("audiences", "The audience must be a non-empty string."))?;
    if aud.chars().count() > 600 {
        return Err(invalid(
            "audiences",
            "The maximum length is 600 characters.",
        ));
    }
    match m.get("description") {
        None | Some(Value::Null) => {}
        Some(Value::String(d)) if d.chars().count() <= 600 => {}
        Some(_) => {
            return Err(invalid(
                "description",
                "The maximum length is 600 characters.",
            ));
        }
    }
    for (field, v) in [
        ("name", name),
        ("issuer", issuer),
        ("subject", subject),
        ("audiences", aud),
    ] {
        if v.contains('*') {
            return Err(invalid(field, "Wildcard characters are not supported."));
        }
    }
    Ok(())
}

/// Graph's metadata: declared, writable properties of the declared types.
fn check_contract(body: &Map<String, Value>, create: bool) -> GResult<()> {
    crate::schema::schema().check_body(
        "federatedIdentityCredential",
        "FederatedIdentityCredential",
        body,
        create,
    )
}

fn duplicate_pair(iss: &str, sub: &str) -> GraphError {
    GraphError::new(
        400,
        "InvalidFederatedIdentityCredentialValue",
        format!(
            "The combination of issuer and subject must be unique for the application. Issuer {iss} and Subject: {sub} already exist. paramName: FederatedIdentityCredential.Subject, paramValue: {sub}, objectType: Microsoft.Online.DirectoryServices.Application"
        ),
    )
}

fn get_str<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// Checks uniqueness of name and issuer+subject against the app's other credentials.
fn check_unique(
    others: &[Map<String, Value>],
    m: &Map<String, Value>,
    self_id: Option<&str>,
) -> GResult<()> {
    let (name, iss, sub) = (
        get_str(m, "name"),
        get_str(m, "issuer"),
        get_str(m, "subject"),
    );
    for o in others.iter().filter(|o| Some(get_str(o, "id")) != self_id) {
        if get_str(o, "name").eq_ignore_ascii_case(name) {
            return Err(GraphError::new(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                format!("FederatedIdentityCredential with name {name} already exists."),
            ));
        }
        if get_str(o, "issuer") == iss && get_str(o, "subject") == sub {
            return Err(duplicate_pair(iss, sub));
        }
    }
    Ok(())
}

pub fn route(ctx: &mut Ctx, app_id: &str, rest: &[Seg]) -> GResult {
    let m = ctx.req.method.clone();
    let fic_seg = &rest[0];
    // Where the credential is addressed: `(name='x')`, `/{id}`, or the collection.
    let target: Option<Key> = match (&fic_seg.key, rest.get(1)) {
        (Some(k), None) => Some(k.clone()),
        (None, Some(s)) if rest.len() == 2 => Some(Key::Id(s.name.clone())),
        (None, None) => None,
        _ => {
            return Err(GraphError::segment(
                &rest.last().map(|s| s.raw.clone()).unwrap_or_default(),
            ));
        }
    };
    match (target, m.as_str()) {
        (None, "GET") => list(ctx, app_id),
        (None, "POST") => create(ctx, app_id, ctx.body()?, None),
        (None, _) => Err(GraphError::method_not_allowed()),
        (Some(key), "GET") => {
            let q = ctx.entity_query(&RESOURCE)?;
            let f = find(ctx, app_id, &key, true)?;
            Ok(Resp::ok(entity(
                item_context(ctx, app_id),
                q.project(Value::Object(f)),
            )))
        }
        (Some(key), "PATCH") => patch(ctx, app_id, &key),
        (Some(key), "DELETE") => {
            let f = find(ctx, app_id, &key, false)?;
            manage_check(ctx, app_id)?;
            let id = get_str(&f, "id").to_string();
            if let Some(app) = ctx.dir.app_mut(app_id) {
                app.fics.retain(|x| get_str(x, "id") != id);
            }
            Ok(Resp::no_content())
        }
        (Some(_), _) => Err(GraphError::method_not_allowed()),
    }
}

fn item_context(ctx: &Ctx, app_id: &str) -> String {
    ctx.context(&format!(
        "applications('{app_id}')/federatedIdentityCredentials/$entity"
    ))
}

fn manage_check(ctx: &Ctx, app_id: &str) -> GResult<()> {
    let app = ctx
        .dir
        .app(app_id)
        .ok_or_else(|| GraphError::not_found(app_id))?;
    if ctx.who.can_manage(app) {
        Ok(())
    } else {
        Err(GraphError::denied())
    }
}

fn find(ctx: &mut Ctx, app_id: &str, key: &Key, own_read: bool) -> GResult<Map<String, Value>> {
    let app = ctx
        .dir
        .app(app_id)
        .ok_or_else(|| GraphError::not_found(app_id))?;
    let (found, shown_missing) = match key {
        Key::Alt(k, name) if k.eq_ignore_ascii_case("name") => (
            app.fics
                .iter()
                .find(|f| get_str(f, "name").eq_ignore_ascii_case(name))
                .cloned(),
            GraphError::not_found("").tap_message(format!(
                "FederatedIdentityCredential with name {name} not found."
            )),
        ),
        Key::Alt(k, _) => {
            return Err(GraphError::bad_request(format!(
                "Alternate key '{k}' is not supported for federatedIdentityCredentials."
            )));
        }
        Key::Id(id) => {
            if !is_guid(id) {
                return Err(GraphError::invalid_id(id));
            }
            (
                app.fics
                    .iter()
                    .find(|f| get_str(f, "id").eq_ignore_ascii_case(id))
                    .cloned(),
                GraphError::not_found(id),
            )
        }
    };
    let f = found.ok_or(shown_missing.clone())?;
    if own_read && ctx.lagging(get_str(&f, "id")) {
        return Err(shown_missing);
    }
    Ok(f)
}

trait TapMessage {
    fn tap_message(self, m: String) -> Self;
}
impl TapMessage for GraphError {
    fn tap_message(mut self, m: String) -> Self {
        self.message = m;
        self
    }
}

fn list(ctx: &mut Ctx, app_id: &str) -> GResult {
    let q = ctx.list_query(&RESOURCE)?;
    let fics = ctx
        .dir
        .app(app_id)
        .map(|a| a.fics.clone())
        .unwrap_or_default();
    let mut items = Vec::new();
    for f in fics {
        if ctx.lagging(get_str(&f, "id")) {
            continue;
        }
        let v = Value::Object(f);
        if q.matches(&v) {
            items.push(v);
        }
    }
    let context = ctx.context(&q.context(&format!(
        "applications('{app_id}')/federatedIdentityCredentials"
    )));
    Ok(Resp::ok(q.page(items, &context, &ctx.self_url())))
}

fn create(
    ctx: &mut Ctx,
    app_id: &str,
    body: Map<String, Value>,
    upsert_name: Option<&str>,
) -> GResult {
    manage_check(ctx, app_id)?;
    check_contract(&body, true)?;
    let mut m = Map::new();
    m.insert("id".into(), json!(new_guid()));
    m.insert("description".into(), Value::Null);
    for (k, v) in body {
        if !k.starts_with('@') {
            m.insert(k, v);
        }
    }
    if let Some(n) = upsert_name {
        match m.get("name").and_then(Value::as_str) {
            Some(b) if b != n => {
                return Err(invalid(
                    "name",
                    "The name in the body must match the name in the URL.",
                ));
            }
            _ => {
                m.insert("name".into(), json!(n));
            }
        }
    }
    validate(&m)?;
    let app = ctx
        .dir
        .app(app_id)
        .ok_or_else(|| GraphError::not_found(app_id))?;
    check_unique(&app.fics, &m, None)?;
    if app.fics.len() >= MAX_PER_APP {
        // Graph's exact answer is unverified (A3); a 403 quota error with a clear message.
        return Err(GraphError::new(
            403,
            "Directory_QuotaExceeded",
            format!(
                "Size of object exceeded limit. An application can have at most {MAX_PER_APP} federated identity credentials."
            ),
        ));
    }
    let ordered = order(&m);
    let id = get_str(&m, "id").to_string();
    ctx.dir
        .app_mut(app_id)
        .ok_or_else(|| GraphError::not_found(app_id))?
        .fics
        .push(ordered.clone());
    ctx.faults.created(&id, ctx.now);
    let mut r = Resp::created(entity(item_context(ctx, app_id), Value::Object(ordered)));
    if upsert_name.is_some() {
        r = r.with_header("Preference-Applied", "create-if-missing");
    }
    Ok(r)
}

/// Graph's property order: id, name, issuer, subject, description, audiences.
fn order(m: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for k in [
        "id",
        "name",
        "issuer",
        "subject",
        "description",
        "audiences",
    ] {
        out.insert(k.into(), m.get(k).cloned().unwrap_or(Value::Null));
    }
    out
}

fn patch(ctx: &mut Ctx, app_id: &str, key: &Key) -> GResult {
    let body = ctx.body()?;
    let create_if_missing = ctx
        .req
        .header("prefer")
        .map(|p| {
            p.split(',')
                .any(|x| x.trim().eq_ignore_ascii_case("create-if-missing"))
        })
        .unwrap_or(false);
    let existing = match find(ctx, app_id, key, !create_if_missing) {
        Ok(f) => f,
        Err(e) if e.status == 404 && create_if_missing => {
            if let Key::Alt(_, name) = key {
                let name = name.clone();
                return create(ctx, app_id, body, Some(&name));
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    manage_check(ctx, app_id)?;
    if let Some(n) = body.get("name")
        && n.as_str() != Some(get_str(&existing, "name"))
    {
        return Err(GraphError::bad_request(
            "Name is immutable: the name of a federated identity credential cannot be changed.",
        ));
    }
    check_contract(&body, false)?;
    let mut merged = existing.clone();
    for (k, v) in body {
        if !k.starts_with('@') {
            merged.insert(k, v);
        }
    }
    validate(&merged)?;
    let id = get_str(&existing, "id").to_string();
    let app = ctx
        .dir
        .app(app_id)
        .ok_or_else(|| GraphError::not_found(app_id))?;
    check_unique(&app.fics, &merged, Some(&id))?;
    let ordered = order(&merged);
    let app = ctx
        .dir
        .app_mut(app_id)
        .ok_or_else(|| GraphError::not_found(app_id))?;
    if let Some(slot) = app.fics.iter_mut().find(|f| get_str(f, "id") == id) {
        *slot = ordered;
    }
    Ok(Resp::no_content())
}

/// Token exchange: does the app have a credential matching the assertion?
pub fn matches_assertion(
    fics: &[Map<String, Value>],
    iss: &str,
    sub: &str,
    aud: &str,
) -> Option<String> {
    fics.iter()
        .find(|f| {
            get_str(f, "issuer") == iss
                && get_str(f, "subject") == sub
                && f.get("audiences")
                    .and_then(Value::as_array)
                    .map(|a| a.len() == 1 && a[0].as_str() == Some(aud))
                    .unwrap_or(false)
        })
        .map(|f| get_str(f, "id").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("abc"));
        assert!(valid_name("GcpFederation"));
        assert!(valid_name("a-b_c1"));
        assert!(!valid_name("ab"));
        assert!(!valid_name("-abc"));
        assert!(!valid_name("has space"));
        assert!(!valid_name(&"a".repeat(121)));
        assert!(valid_name(&"a".repeat(120)));
    }

    #[test]
    fn urls() {
        assert!(valid_url("https://accounts.google.com"));
        assert!(valid_url("https://cognito-identity.amazonaws.com"));
        assert!(!valid_url("accounts.google.com"));
        assert!(!valid_url("https://"));
    }
}
