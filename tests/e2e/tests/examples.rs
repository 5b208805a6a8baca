//! The examples under `examples/`: every directory passes `terraform validate`, and the
//! ones meant to run here (the quickstart, and the host layouts with their
//! `terraform.tfvars.example`) plan, apply and destroy cleanly against the Graph
//! emulator with only this provider.

use e2e::{Emulator, Workspace, workspace_root};
use std::path::{Path, PathBuf};

/// Every directory under `examples/` holding `.tf` files.
fn example_dirs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        if entries
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "tf"))
        {
            out.push(dir.to_owned());
        }
        for p in entries.into_iter().filter(|p| p.is_dir()) {
            walk(&p, out);
        }
    }
    let mut out = Vec::new();
    walk(&workspace_root().join("examples"), &mut out);
    out
}

/// A workspace holding the example's `.tf` files (and its `terraform.tfvars.example`
/// as `terraform.tfvars`, when it has one and `with_vars` is set).
fn copy_example(dir: &Path, with_vars: bool) -> Workspace {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tf"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    // Each example declares its provider requirement itself.
    assert!(
        files
            .iter()
            .any(|(_, text)| text.contains("required_providers")
                && text.contains("source = \"psoxy/psoxy\"")),
        "{} has no required_providers block for psoxy/psoxy",
        dir.display()
    );
    assert!(
        dir.join("README.md").exists(),
        "{} has no README.md",
        dir.display()
    );
    let (first_name, first_text) = files
        .iter()
        .find(|(_, t)| t.contains("required_providers"))
        .cloned()
        .unwrap();
    let ws = Workspace::new(&first_text);
    if first_name != "main.tf" {
        ws.write(&first_name, &first_text);
        std::fs::remove_file(ws.path().join("main.tf")).unwrap();
    }
    for (name, text) in &files {
        if *name != first_name {
            ws.write(name, text);
        }
    }
    let vars = dir.join("terraform.tfvars.example");
    if with_vars && vars.exists() {
        ws.write("terraform.tfvars", &std::fs::read_to_string(vars).unwrap());
    }
    ws
}

#[test]
fn every_example_validates() {
    let dirs = example_dirs();
    let names: Vec<String> = dirs
        .iter()
        .map(|d| {
            d.strip_prefix(workspace_root().join("examples"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    for expected in [
        "quickstart",
        "aws",
        "gcp",
        "shared-app",
        "import-admin-created",
        "migrate-from-azuread",
        "provider",
        "resources/psoxy_msft_connector",
        "resources/psoxy_federated_credential",
        "data-sources/psoxy_msft_connector_specs",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    for dir in &dirs {
        let run = copy_example(dir, false).terraform(&["validate", "-no-color"]);
        assert!(
            run.success,
            "terraform validate failed for {}:\n{}",
            dir.display(),
            run.all()
        );
    }
    for resource in ["psoxy_msft_connector", "psoxy_federated_credential"] {
        let import = workspace_root().join(format!("examples/resources/{resource}/import.sh"));
        let text = std::fs::read_to_string(&import).expect("import.sh for every resource");
        assert!(
            text.contains(&format!("terraform import {resource}.")),
            "{text}"
        );
    }
}

/// plan, apply, a second plan with no changes, destroy.
fn run_against_emulator(emulator: &Emulator, example: &str) -> serde_json::Value {
    let ws = copy_example(&workspace_root().join("examples").join(example), true)
        .with_env(emulator.provider_env());
    let plan = ws.terraform(&["plan", "-no-color"]);
    assert!(plan.success, "{example}: plan failed:\n{}", plan.all());
    ws.terraform(&["apply", "-auto-approve", "-no-color"])
        .assert_success();
    let outputs = ws.terraform(&["output", "-json"]).assert_success().json();
    let again = ws.terraform(&["plan", "-detailed-exitcode", "-no-color"]);
    assert!(
        again.success,
        "{example}: second plan not empty:\n{}",
        again.all()
    );
    ws.terraform(&["destroy", "-auto-approve", "-no-color"])
        .assert_success();
    outputs
}

#[test]
fn quickstart_applies_against_the_emulator() {
    let emulator = Emulator::start(&[]);
    let out = run_against_emulator(&emulator, "quickstart");
    let client_id = out["client_id"]["value"].as_str().unwrap();
    assert_eq!(client_id.len(), 36, "{out}");
    assert_eq!(out["consent_granted"]["value"], false);
    let doc = out["consent_instructions"]["value"].as_str().unwrap();
    assert!(
        doc.contains(&format!("adminconsent?client_id={client_id}")),
        "{doc}"
    );
}

#[test]
fn host_layouts_apply_against_the_emulator() {
    let emulator = Emulator::start(&[]);
    let aws = run_against_emulator(&emulator, "aws");
    let docs = aws["consent_documents"]["value"].as_object().unwrap();
    assert_eq!(
        docs.keys().collect::<Vec<_>>(),
        ["outlook-cal", "outlook-mail"]
    );
    let gcp = run_against_emulator(&emulator, "gcp");
    assert_eq!(gcp["client_ids"]["value"].as_object().unwrap().len(), 2);
    let shared = run_against_emulator(&emulator, "shared-app");
    assert!(
        shared["required_app_roles"]["value"]
            .as_object()
            .unwrap()
            .contains_key("Mail.ReadBasic.All"),
        "{shared}"
    );
    // The tfvars example names the emulator's seeded applications (one by object id,
    // one by client id).
    let imported = run_against_emulator(&emulator, "import-admin-created");
    let ids = imported["object_ids"]["value"].as_object().unwrap();
    assert_eq!(ids["outlook-cal"], "00000000-0000-4000-8000-00000000e001");
    assert_eq!(ids["msft-entra-id"], "00000000-0000-4000-8000-00000000e002");
}
