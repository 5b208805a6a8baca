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
//!   attribute), optionally followed by `Forces replacement`, which the schema JSON does
//!   not carry and so is not checked.
//! - Any other `##` heading ends the reference part; fenced code is skipped.
//!
//! `docs/index.md` documents the provider's arguments as a table under
//! `## Argument reference`: ``| `name` | type | sensitive | environment variable | description |``
//! with type `string`/`bool` and sensitive `no` or `**yes**`.
//!
//! The pages' "Example Usage" and "Import" blocks must also hold the files under
//! `examples/` verbatim, so the examples (which `examples.rs` validates) and the pages
//! cannot drift apart.

use e2e::{Workspace, workspace_root};
use serde_json::Value;
use std::collections::BTreeMap;

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

/// The items a page documents, with their sections; panics on a malformed item line or
/// an item documented twice.
fn documented(page: &str) -> (Items, BTreeMap<String, Section>) {
    let mut items = Items::new();
    let mut sections = BTreeMap::new();
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
        let f: Vec<String> = parts
            .filter(|p| *p != "Forces replacement")
            .map(str::to_owned)
            .collect();
        let path = match sec {
            Section::Nested(p) => format!("{p}.{name}"),
            _ => name.to_owned(),
        };
        assert!(
            items.insert(path.clone(), (ty, f)).is_none(),
            "`{path}` documented twice"
        );
        sections.insert(path, sec.clone());
    }
    (items, sections)
}

fn compare(page_name: &str, block: &Value) -> usize {
    let path = workspace_root().join("docs").join(page_name);
    let page = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} missing ({e}): every resource and data source needs a page",
            path.display()
        )
    });
    let (want, want_sections) = expected(block, "");
    let (got, got_sections) = documented(&page);
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
    want.len()
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
    for (name, s) in resources {
        checked += compare(&format!("resources/{name}.md"), &s["block"]);
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
        checked += compare(&format!("data-sources/{name}.md"), &s["block"]);
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
