//! A complete, minimal provider: one resource (`notes_note`, kept in the provider's
//! memory) and one data source (`notes_count`). Build it with
//! `cargo build -p tfplugin --example notes`, copy the binary to a directory named in a
//! `dev_overrides` block for `example/notes` as `terraform-provider-notes`, and:
//!
//! ```hcl
//! terraform {
//!   required_providers { notes = { source = "example/notes" } }
//! }
//! provider "notes" { prefix = "n-" }
//! resource "notes_note" "hello" { text = "hello" }
//! data "notes_count" "all" {}
//! ```
//!
//! Terraform starts a fresh provider process per command, so the notes do not outlive
//! one `terraform apply`; a real provider would call an API instead.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfplugin::diagnostics::{AttributePath, Diagnostics};
use tfplugin::framework::{ConfigureRequest, DataSource, Provider, RequestContext, Resource};
use tfplugin::model::{Attr, from_value, to_value};
use tfplugin::schema::{Attribute, Block, Schema};
use tfplugin::server::{ServeOptions, serve};
use tfplugin::value::{Type, Value};

/// What the provider and its resources share.
#[derive(Default)]
struct Store {
    prefix: Mutex<String>,
    next_id: AtomicU64,
    notes: Mutex<BTreeMap<String, String>>,
}

struct NotesProvider {
    store: Arc<Store>,
}

#[derive(Deserialize)]
struct ProviderConfig {
    prefix: Option<String>,
}

#[async_trait]
impl Provider for NotesProvider {
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("Notes kept in memory.").attribute(
                Attribute::optional("prefix", Type::String).description("Prefix of note ids."),
            ),
        )
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Note {
            store: self.store.clone(),
        })]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(Count {
            store: self.store.clone(),
        })]
    }

    async fn configure(&self, _: &RequestContext, req: ConfigureRequest, diags: &mut Diagnostics) {
        match from_value::<ProviderConfig>(&req.config) {
            Ok(config) => *self.store.prefix.lock().unwrap() = config.prefix.unwrap_or_default(),
            Err(e) => diags.error("Invalid provider configuration", e.to_string()),
        }
    }
}

/// The resource's model: one field per attribute of its schema.
#[derive(Serialize, Deserialize)]
struct NoteModel {
    /// Computed: unknown in the plan of a new note, known once created.
    id: Attr<String>,
    text: String,
}

struct Note {
    store: Arc<Store>,
}

impl Note {
    fn value_type() -> Type {
        Note::block().value_type()
    }

    fn block() -> Block {
        Block::new("A note.")
            .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
            .attribute(
                Attribute::required("text", Type::String)
                    .requires_replace()
                    .validator(|v: &Value, path: &AttributePath, diags: &mut Diagnostics| {
                        if v.as_str().is_some_and(str::is_empty) {
                            diags.attribute_error(path.clone(), "Empty note", "Write something.");
                        }
                    }),
            )
    }

    /// Reads a value into the model, or says what is wrong with it.
    fn read_model(value: &Value, diags: &mut Diagnostics) -> Option<NoteModel> {
        from_value(value)
            .map_err(|e| diags.error("Unexpected note value", e.to_string()))
            .ok()
    }

    fn to_state(model: &NoteModel, diags: &mut Diagnostics) -> Value {
        to_value(model, &Note::value_type()).unwrap_or_else(|e| {
            diags.error("Cannot write the note's state", e.to_string());
            Value::Null
        })
    }
}

#[async_trait]
impl Resource for Note {
    fn type_name(&self) -> &'static str {
        "notes_note"
    }

    fn schema(&self) -> Schema {
        Schema::new(0, Note::block())
    }

    async fn create(
        &self,
        _: &RequestContext,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let Some(mut note) = Note::read_model(planned, diags) else {
            return Value::Null;
        };
        let n = self.store.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}{n}", self.store.prefix.lock().unwrap());
        self.store
            .notes
            .lock()
            .unwrap()
            .insert(id.clone(), note.text.clone());
        note.id = Attr::Known(id);
        Note::to_state(&note, diags)
    }

    async fn read(&self, _: &RequestContext, current: &Value, diags: &mut Diagnostics) -> Value {
        let Some(mut note) = Note::read_model(current, diags) else {
            return current.clone();
        };
        let Some(id) = note.id.known().cloned() else {
            return current.clone();
        };
        match self.store.notes.lock().unwrap().get(&id) {
            Some(text) => note.text = text.clone(),
            // Gone: Terraform plans to create it again.
            None => return Value::Null,
        }
        Note::to_state(&note, diags)
    }

    async fn update(
        &self,
        _: &RequestContext,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
        _diags: &mut Diagnostics,
    ) -> Value {
        // `text` requires replacement and `id` keeps its state, so nothing changes here.
        planned.clone()
    }

    async fn delete(&self, _: &RequestContext, prior: &Value, diags: &mut Diagnostics) {
        if let Some(id) = Note::read_model(prior, diags).and_then(|n| n.id.into_known()) {
            self.store.notes.lock().unwrap().remove(&id);
        }
    }

    async fn import(&self, _: &RequestContext, id: &str, diags: &mut Diagnostics) -> Value {
        let note = NoteModel {
            id: Attr::Known(id.to_owned()),
            // Filled in by the read that follows every import.
            text: String::new(),
        };
        Note::to_state(&note, diags)
    }
}

#[derive(Serialize)]
struct CountModel {
    total: u64,
}

struct Count {
    store: Arc<Store>,
}

#[async_trait]
impl DataSource for Count {
    fn type_name(&self) -> &'static str {
        "notes_count"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("How many notes there are.")
                .attribute(Attribute::computed("total", Type::Number)),
        )
    }

    async fn read(&self, _: &RequestContext, _config: &Value, diags: &mut Diagnostics) -> Value {
        let total = self.store.notes.lock().unwrap().len() as u64;
        let ty = self.schema().block.value_type();
        to_value(&CountModel { total }, &ty).unwrap_or_else(|e| {
            diags.error("Cannot write the count", e.to_string());
            Value::Null
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let provider = NotesProvider {
        store: Arc::default(),
    };
    serve(
        Arc::new(provider),
        ServeOptions::new("terraform-provider-notes", "example/notes"),
    )
    .await
}
