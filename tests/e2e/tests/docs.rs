//! The documentation against the provider's schema, as `terraform providers schema -json`
//! reports it: every attribute documented, nothing documented that does not exist, and
//! each with the right type and flags.
//!
//! Convention of the pages under `docs/resources/` and `docs/data-sources/` (the
//! `tfplugindocs` layout):
//!
//! - `## Argument Reference` lists what the configuration may set (Required or Optional
//!   attributes, and blocks); `## Attribute Reference` lists what is only computed.
//! - Each nested block, and each attribute whose type holds objects, has a
//!   `### Nested Schema for \`path\`` heading, `path` being dotted from the top
//!   (`timeouts`, `connectors.permissions`); the items under it are named relative to it.
//!   The test names them `path.attr`.
//! - An item is a list line ``- `name` (Type, Flags) description``: Type is `String`,
//!   `Boolean`, `Number`, `List of String`, `Set of String`, `Map of String`,
//!   `List of Object`, ... or `Block`; Flags are those of `Required`, `Optional`,
//!   `Computed` and `Sensitive` that the schema sets (none for the fields of an object
//!   attribute), followed by `Forces replacement` exactly where changing the argument
//!   makes the provider replace the resource. The schema JSON does not carry that, so
//!   the test asks the provider itself: it creates every resource against the Graph
//!   emulator, changes every argument, and reads `replace_paths` from the plan.
//! - Any other `##` heading ends the reference part; fenced code is skipped.
//!
//! `docs/index.md` documents the provider's arguments as a table under
//! `## Argument reference`: ``| `name` | type | sensitive | environment variable | description |``
//! with type `string`/`bool` and sensitive `no` or `**yes**`.
//!
//! The pages' "Example Usage" and "Import" blocks must also hold the files under
//! `examples/` verbatim, so the examples (which `examples.rs` validates) and the pages
//! cannot drift apart.

use e2e::{Emulator, Workspace, workspace_root};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// path => (type, flags), `Forces replacement` left out.
type Items = BTreeMap<String, (String, Vec<String>)>;

/// Where an item was documented: argument, attribute or nested section.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Section {
    Arguments,
    Attributes,
    Nested(String),
}

fn schema() -> Value {
    let ws = Workspace::new("");
    let run = ws.terraform(&["providers", "schema", "-json"]);
    run.assert_success();
    run.json()["provider_schemas"]["registry.terraform.io/psoxy/psoxy"].clone()
}

fn type_name(t: &Value) -> String {
    match t {
        Value::String(s) => match s.as_str() {
            "string" => "String".into(),
            "bool" => "Boolean".into(),
            "number" => "Number".into(),
            "dynamic" => "Dynamic".into(),
            other => panic!("unknown type {other}"),
        },
        Value::Array(a) => {
            let kind = a[0].as_str().unwrap();
            match kind {
                "object" => "Object".into(),
                "list" | "set" | "map" => {
                    let k = match kind {
                        "list" => "List",
                        "set" => "Set",
                        _ => "Map",
                    };
                    format!("{k} of {}", type_name(&a[1]))
                }
                other => panic!("unknown type {other}"),
            }
        }
        other => panic!("unknown type {other}"),
    }
}

fn flags(a: &Value) -> Vec<String> {
    ["required", "optional", "computed", "sensitive"]
        .iter()
        .filter(|f| a[**f].as_bool() == Some(true))
        .map(|f| {
            let mut c = f.chars();
            let first = c.next().unwrap().to_ascii_uppercase();
            format!("{first}{}", c.as_str())
        })
        .collect()
}

/// The object inside a type such as `["list", ["object", {...}]]`, if any.
fn object_fields(t: &Value) -> Option<&serde_json::Map<String, Value>> {
    let a = t.as_array()?;
    match a[0].as_str()? {
        "object" => a[1].as_object(),
        "list" | "set" | "map" => object_fields(&a[1]),
        _ => None,
    }
}

fn object_items(
    path: &str,
    t: &Value,
    items: &mut Items,
    sections: &mut BTreeMap<String, Section>,
) {
    let Some(fields) = object_fields(t) else {
        return;
    };
    for (name, ft) in fields {
        let p = format!("{path}.{name}");
        items.insert(p.clone(), (type_name(ft), Vec::new()));
        sections.insert(p.clone(), Section::Nested(path.to_owned()));
        object_items(&p, ft, items, sections);
    }
}

/// What the schema says should be documented, and in which section.
fn expected(block: &Value, prefix: &str) -> (Items, BTreeMap<String, Section>) {
    let mut items = Items::new();
    let mut sections = BTreeMap::new();
    for (name, a) in block["attributes"].as_object().into_iter().flatten() {
        let path = format!("{prefix}{name}");
        let f = flags(a);
        let section = if prefix.is_empty() {
            if f.iter().any(|f| f == "Required" || f == "Optional") {
                Section::Arguments
            } else {
                Section::Attributes
            }
        } else {
            Section::Nested(prefix.trim_end_matches('.').to_owned())
        };
        items.insert(path.clone(), (type_name(&a["type"]), f));
        sections.insert(path.clone(), section);
        object_items(&path, &a["type"], &mut items, &mut sections);
    }
    for (name, b) in block["block_types"].as_object().into_iter().flatten() {
        let path = format!("{prefix}{name}");
        let required = b["min_items"].as_u64().unwrap_or(0) > 0;
        items.insert(
            path.clone(),
            (
                "Block".into(),
                vec![if required { "Required" } else { "Optional" }.into()],
            ),
        );
        sections.insert(
            path.clone(),
            if prefix.is_empty() {
                Section::Arguments
            } else {
                Section::Nested(prefix.trim_end_matches('.').to_owned())
            },
        );
        let (nested, nested_sections) = expected(&b["block"], &format!("{path}."));
        items.extend(nested);
        sections.extend(nested_sections);
    }
    (items, sections)
}

/// The items a page documents, with their sections and those marked `Forces
/// replacement`; panics on a malformed item line or an item documented twice.
fn documented(page: &str) -> (Items, BTreeMap<String, Section>, BTreeSet<String>) {
    let mut items = Items::new();
    let mut sections = BTreeMap::new();
    let mut forced = BTreeSet::new();
    let mut section: Option<Section> = None;
    let mut fenced = false;
    for line in page.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            section = match h.trim() {
                "Argument Reference" => Some(Section::Arguments),
                "Attribute Reference" => Some(Section::Attributes),
                _ => None,
            };
            continue;
        }
        if let Some(h) = line.strip_prefix("### ") {
            if let Some(path) = h.trim().strip_prefix("Nested Schema for ") {
                section = Some(Section::Nested(path.trim_matches('`').to_owned()));
            } else if matches!(section, Some(Section::Nested(_))) {
                section = None;
            }
            continue;
        }
        let (Some(sec), Some(rest)) = (&section, line.strip_prefix("- `")) else {
            continue;
        };
        let (name, rest) = rest
            .split_once('`')
            .unwrap_or_else(|| panic!("malformed item: {line}"));
        let annotation = rest
            .trim_start()
            .strip_prefix('(')
            .and_then(|r| r.split_once(')'))
            .unwrap_or_else(|| panic!("item without (Type, Flags): {line}"))
            .0;
        let mut parts = annotation.split(',').map(str::trim);
        let ty = parts.next().unwrap().to_owned();
        let path = match sec {
            Section::Nested(p) => format!("{p}.{name}"),
            _ => name.to_owned(),
        };
        let mut f = Vec::new();
        for part in parts {
            if part == "Forces replacement" {
                forced.insert(path.clone());
            } else {
                f.push(part.to_owned());
            }
        }
        assert!(
            items.insert(path.clone(), (ty, f)).is_none(),
            "`{path}` documented twice"
        );
        sections.insert(path, sec.clone());
    }
    (items, sections, forced)
}

/// Compares the page with the schema; returns how many items were checked and the
/// items the page marks `Forces replacement`.
fn compare(page_name: &str, block: &Value) -> (usize, BTreeSet<String>) {
    let path = workspace_root().join("docs").join(page_name);
    let page = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} missing ({e}): every resource and data source needs a page",
            path.display()
        )
    });
    let (want, want_sections) = expected(block, "");
    let (got, got_sections, forced) = documented(&page);
    let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{page_name}: undocumented attributes {missing:?}; documented but not in the schema {extra:?}"
    );
    for (k, v) in &want {
        assert_eq!(
            &got[k], v,
            "{page_name}: `{k}` documented as {:?}, the schema says {v:?}",
            got[k]
        );
        assert_eq!(
            got_sections[k], want_sections[k],
            "{page_name}: `{k}` is in the wrong section"
        );
    }
    (want.len(), forced)
}

/// The paths a configuration may set: arguments, blocks, and the arguments inside
/// blocks, dotted from the top (`gcp.service_account_unique_id`).
fn configurable(block: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    for (name, a) in block["attributes"].as_object().into_iter().flatten() {
        if a["required"] == true || a["optional"] == true {
            out.insert(format!("{prefix}{name}"));
        }
    }
    for (name, b) in block["block_types"].as_object().into_iter().flatten() {
        let path = format!("{prefix}{name}");
        out.insert(path.clone());
        configurable(&b["block"], &format!("{path}."), out);
    }
}

/// The values at a dotted path, looking through the lists that hold nested blocks.
fn values_at(v: &Value, path: &[&str]) -> Vec<Value> {
    match (v, path.split_first()) {
        (_, None) => vec![v.clone()],
        (Value::Array(items), Some(_)) => items.iter().flat_map(|i| values_at(i, path)).collect(),
        (Value::Object(o), Some((first, rest))) => o
            .get(*first)
            .map(|x| values_at(x, rest))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Seeded applications ("Owned App One" and "Two") for the credentials to sit on.
const APP_ONE: &str = "00000000-0000-4000-8000-00000000e001";
const APP_TWO: &str = "00000000-0000-4000-8000-00000000e002";

/// Before (`after == false`) and after of the replacement scenario: every resource the
/// provider has, with every argument set, then every argument changed.
fn replacement_scenario(after: bool) -> String {
    let pick = |before: &str, changed: &str| if after { changed } else { before }.to_owned();
    let timeouts = pick(
        r#"timeouts {
    create = "10m"
    read   = "5m"
    update = "10m"
    delete = "5m"
  }"#,
        r#"timeouts {
    create = "11m"
    read   = "6m"
    update = "11m"
    delete = "6m"
  }"#,
    );
    format!(
        r#"
resource "psoxy_msft_connector" "x" {{
  connectors       = {connectors}
  display_name     = "{display_name}"
  owners           = ["{owner}"]
  purge_on_destroy = {purge}
  grant_admin_consent = {grant}
  {timeouts}
}}

resource "psoxy_federated_credential" "explicit" {{
  application_object_id = "{app}"
  name                  = "{name}"
  description           = "{description}"
  issuer                = "{issuer}"
  subject               = "{subject}"
  audience              = "{audience}"
  {timeouts}
}}

resource "psoxy_federated_credential" "gcp" {{
  application_object_id = "{APP_ONE}"
  name                  = "docs-gcp"
  gcp {{ service_account_unique_id = "{gcp}" }}
}}

resource "psoxy_federated_credential" "aws" {{
  application_object_id = "{APP_ONE}"
  name                  = "docs-aws"
  aws {{
    identity_pool_id = "{pool}"
    identity_id      = "{identity}"
  }}
}}
"#,
        connectors = pick(r#"["outlook-cal"]"#, r#"["outlook-cal", "outlook-mail"]"#),
        display_name = pick("Docs before", "Docs after"),
        owner = pick(
            "00000000-0000-4000-8000-00000000b002",
            "00000000-0000-4000-8000-00000000b003"
        ),
        purge = pick("false", "true"),
        grant = pick("false", "true"),
        app = pick(APP_ONE, APP_TWO),
        name = pick("docs-before", "docs-after"),
        description = pick("before", "after"),
        issuer = pick(
            "https://token.actions.githubusercontent.com",
            "https://issuer.example.com"
        ),
        subject = pick(
            "repo:worklytics/psoxy:ref:refs/heads/main",
            "another-subject"
        ),
        audience = pick("api://AzureADTokenExchange", "api://another-audience"),
        gcp = pick("112233445566778899001", "112233445566778899002"),
        pool = pick(
            "us-east-1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
            "us-east-1:0f2b6a8e-3c4d-4e5f-8a9b-0c1d2e3f4a5c"
        ),
        identity = pick(
            "us-east-1:11111111-2222-4333-8444-555555555555",
            "us-east-1:11111111-2222-4333-8444-555555555556"
        ),
    )
}

/// For each resource type, the arguments whose change makes the provider replace the
/// resource: every resource is created against the Graph emulator, every argument is
/// changed, and the plan's `replace_paths` name those that force replacement. Fails if
/// the scenario leaves an argument of the schema unchanged.
fn replacing_arguments(
    resources: &serde_json::Map<String, Value>,
) -> BTreeMap<String, BTreeSet<String>> {
    let emulator = Emulator::start(&[]);
    let ws = Workspace::new(&replacement_scenario(false)).with_env(emulator.provider_env());
    ws.terraform(&["apply", "-auto-approve", "-no-color"])
        .assert_success();
    ws.write("main.tf", &replacement_scenario(true));
    ws.terraform(&["plan", "-no-color", "-out=changed.tfplan"])
        .assert_success();
    let plan = ws
        .terraform(&["show", "-json", "changed.tfplan"])
        .assert_success()
        .json();
    let mut changed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut replacing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rc in plan["resource_changes"].as_array().unwrap() {
        let ty = rc["type"].as_str().unwrap().to_owned();
        let change = &rc["change"];
        let mut paths = BTreeSet::new();
        configurable(&resources[&ty]["block"], "", &mut paths);
        for path in paths {
            let steps: Vec<&str> = path.split('.').collect();
            if values_at(&change["before"], &steps) != values_at(&change["after"], &steps) {
                changed.entry(ty.clone()).or_default().insert(path);
            }
        }
        let forced = replacing.entry(ty).or_default();
        for p in change["replace_paths"].as_array().into_iter().flatten() {
            let steps: Vec<&str> = p
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            forced.insert(steps.join("."));
        }
    }
    for (ty, s) in resources {
        let mut paths = BTreeSet::new();
        configurable(&s["block"], "", &mut paths);
        let unchanged: Vec<&String> = paths
            .iter()
            .filter(|p| !changed.get(ty).is_some_and(|c| c.contains(*p)))
            .collect();
        assert!(
            unchanged.is_empty(),
            "{ty}: the replacement scenario in docs.rs does not change {unchanged:?}, so \
             whether changing them forces replacement goes unchecked; change them there"
        );
    }
    // The scenario itself holds: some change replaces, and some does not.
    assert!(
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|rc| { rc["change"]["actions"] == json!(["update"]) }),
        "no resource is updated in place: {plan}"
    );
    replacing
}

fn example_in_page(page_name: &str, example: &str) {
    let page = std::fs::read_to_string(workspace_root().join("docs").join(page_name)).unwrap();
    let text = std::fs::read_to_string(workspace_root().join("examples").join(example))
        .unwrap_or_else(|e| panic!("examples/{example}: {e}"));
    assert!(
        page.contains(text.trim_end()),
        "docs/{page_name} does not hold examples/{example} verbatim; copy it in again"
    );
}

#[test]
fn resource_and_data_source_pages_match_the_schema() {
    let schema = schema();
    let mut checked = 0;
    let resources = schema["resource_schemas"].as_object().unwrap();
    assert!(resources.len() >= 2, "{resources:?}");
    let replacing = replacing_arguments(resources);
    for (name, s) in resources {
        let (n, forced) = compare(&format!("resources/{name}.md"), &s["block"]);
        checked += n;
        assert_eq!(
            forced, replacing[name],
            "docs/resources/{name}.md marks `Forces replacement` on the left; changing \
             these arguments makes the provider replace the resource (right)"
        );
        example_in_page(
            &format!("resources/{name}.md"),
            &format!("resources/{name}/resource.tf"),
        );
        example_in_page(
            &format!("resources/{name}.md"),
            &format!("resources/{name}/import.sh"),
        );
    }
    let data_sources = schema["data_source_schemas"].as_object().unwrap();
    assert!(!data_sources.is_empty());
    for (name, s) in data_sources {
        let (n, forced) = compare(&format!("data-sources/{name}.md"), &s["block"]);
        checked += n;
        assert!(
            forced.is_empty(),
            "docs/data-sources/{name}.md: a data source is never replaced: {forced:?}"
        );
        example_in_page(
            &format!("data-sources/{name}.md"),
            &format!("data-sources/{name}/data-source.tf"),
        );
    }
    // No page for something the provider does not have.
    for (dir, known) in [("resources", resources), ("data-sources", data_sources)] {
        for entry in std::fs::read_dir(workspace_root().join("docs").join(dir)).unwrap() {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            let name = file.trim_end_matches(".md");
            assert!(
                known.contains_key(name),
                "docs/{dir}/{file} documents {name}, which the provider does not have"
            );
        }
    }
    assert!(checked > 40, "only {checked} attributes checked");
}

#[test]
fn provider_page_matches_the_schema() {
    let schema = schema();
    let attrs = schema["provider"]["block"]["attributes"]
        .as_object()
        .unwrap();
    let page = std::fs::read_to_string(workspace_root().join("docs/index.md")).unwrap();
    let table = page
        .split("\n## Argument reference")
        .nth(1)
        .expect("docs/index.md has an `## Argument reference` section");
    let table = table.split("\n## ").next().unwrap();
    let mut documented = BTreeMap::new();
    for row in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_owned();
        let ty = cells[2].to_owned();
        let sensitive = cells[3].contains("yes");
        assert!(
            documented.insert(name.clone(), (ty, sensitive)).is_none(),
            "`{name}` documented twice"
        );
    }
    let want: BTreeMap<String, (String, bool)> = attrs
        .iter()
        .map(|(name, a)| {
            let ty = match &a["type"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (name.clone(), (ty, a["sensitive"].as_bool() == Some(true)))
        })
        .collect();
    assert_eq!(
        documented, want,
        "docs/index.md's argument table (left) disagrees with the provider schema (right)"
    );
    // Every provider argument is optional, as the page says.
    assert!(attrs.values().all(|a| a["optional"] == true), "{attrs:?}");
}
