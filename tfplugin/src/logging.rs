//! Logs for Terraform. go-plugin reads the provider's stderr line by line; a line that is
//! a JSON object with `@level`, `@message` and `@timestamp` is re-logged by Terraform at
//! that level, so `TF_LOG=debug terraform plan` shows the provider's messages as its own.
//! The level comes from `TF_LOG_PROVIDER`, else `TF_LOG`, as Go providers do.

use serde_json::{Map, Value as Json};
use std::fmt::Debug;
use std::io::Write;
use std::sync::Mutex;
use std::time::SystemTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// The level a `TF_LOG`-style setting asks for. `JSON` is Terraform's trace-in-JSON mode.
pub fn level_from_setting(setting: Option<&str>) -> LevelFilter {
    match setting.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE" | "JSON") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("INFO") => LevelFilter::INFO,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR") => LevelFilter::ERROR,
        Some("OFF") => LevelFilter::OFF,
        // Terraform discards plugin output unless TF_LOG is set; warnings cost nothing.
        _ => LevelFilter::WARN,
    }
}

/// Which log targets are the provider's own, and how their `@module` is shortened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderModules {
    /// Crate names (log target roots) whose events are the provider's.
    pub crates: Vec<String>,
    /// What replaces a crate name in `@module`: `my_provider::graph::client` becomes
    /// `<prefix>.graph`. Empty keeps targets as they are.
    pub prefix: String,
}

impl ProviderModules {
    fn owns(&self, root: &str) -> bool {
        self.crates.iter().any(|c| c == root)
    }

    /// The `@module` of an event: short for the provider's crates, the target otherwise.
    fn module_of(&self, target: &str) -> String {
        let mut parts = target.split("::");
        let root = parts.next().unwrap_or_default();
        if self.prefix.is_empty() || !self.owns(root) {
            return target.to_owned();
        }
        match parts.next() {
            Some(layer) => format!("{}.{layer}", self.prefix),
            None => self.prefix.clone(),
        }
    }
}

/// Installs the JSON layer and a panic hook that logs panics without a backtrace. The
/// provider's crates log at the level `TF_LOG_PROVIDER`/`TF_LOG` asks for; everything
/// else (gRPC, HTTP libraries) at warn at most.
pub fn init(modules: &ProviderModules) {
    let setting = std::env::var("TF_LOG_PROVIDER")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("TF_LOG").ok());
    let level = level_from_setting(setting.as_deref());
    let filter = filter(modules, level);
    let layer = GoPluginJsonLayer::new(std::io::stderr())
        .with_modules(modules.clone())
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%location, "provider panic: {}", panic_message(info.payload()));
    }));
}

/// The provider's crates, and this one, at `level`; gRPC and HTTP libraries, chatty at
/// debug, at warn at most.
fn filter(modules: &ProviderModules, level: LevelFilter) -> Targets {
    // This crate's own events (serving, Stop, refused connections) are the provider's
    // too.
    modules
        .crates
        .iter()
        .map(String::as_str)
        .chain([env!("CARGO_CRATE_NAME")])
        .fold(Targets::new(), |targets, name| {
            targets.with_target(name.to_owned(), level)
        })
        .with_default(level.min(LevelFilter::WARN))
}

/// The text of a panic payload, for logs and for the diagnostic the user sees.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// A tracing layer writing one go-plugin JSON object per event.
pub struct GoPluginJsonLayer<W> {
    writer: Mutex<W>,
    modules: ProviderModules,
}

impl<W: Write> GoPluginJsonLayer<W> {
    /// A layer writing to `writer`, with each event's target as its `@module`.
    pub fn new(writer: W) -> Self {
        Self {
            writer: Mutex::new(writer),
            modules: ProviderModules::default(),
        }
    }

    /// Shortens the `@module` of the provider's own events.
    pub fn with_modules(mut self, modules: ProviderModules) -> Self {
        self.modules = modules;
        self
    }
}

impl<S, W> Layer<S> for GoPluginJsonLayer<W>
where
    S: Subscriber,
    W: Write + Send + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut line = format_event(event, &self.modules);
        line.push('\n');
        if let Ok(mut writer) = self.writer.lock() {
            // A broken stderr must never take the provider down.
            let _ = writer.write_all(line.as_bytes());
            let _ = writer.flush();
        }
    }
}

fn format_event(event: &Event<'_>, modules: &ProviderModules) -> String {
    let mut fields = FieldCollector::default();
    event.record(&mut fields);
    let mut object = Map::new();
    object.insert(
        "@level".into(),
        Json::from(hclog_level(event.metadata().level())),
    );
    object.insert(
        "@message".into(),
        Json::from(fields.message.unwrap_or_default()),
    );
    object.insert(
        "@timestamp".into(),
        Json::from(humantime::format_rfc3339_micros(SystemTime::now()).to_string()),
    );
    object.insert(
        "@module".into(),
        Json::from(modules.module_of(event.metadata().target())),
    );
    for (key, value) in fields.rest {
        // go-plugin reads the @-keys as strings; a field must never replace one.
        if key.starts_with('@') {
            continue;
        }
        object.insert(key, value);
    }
    Json::Object(object).to_string()
}

fn hclog_level(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

#[derive(Default)]
struct FieldCollector {
    message: Option<String>,
    rest: Vec<(String, Json)>,
}

impl Visit for FieldCollector {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.put(field, Json::from(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Json::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Json::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Json::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Json::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Json::from(value));
    }
}

impl FieldCollector {
    fn put(&mut self, field: &Field, value: Json) {
        if field.name() == "message" {
            self.message = Some(match value {
                Json::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.rest.push((field.name().to_owned(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(level: LevelFilter, f: impl FnOnce()) -> Vec<Json> {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(GoPluginJsonLayer::new(buffer.clone()).with_filter(level));
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
            .collect()
    }

    #[test]
    fn lines_carry_the_fields_go_plugin_reads() {
        let lines = capture(LevelFilter::DEBUG, || {
            tracing::debug!(resource = "example_thing", calls = 3u64, "planned");
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["@level"], "debug");
        assert_eq!(line["@message"], "planned");
        assert_eq!(line["resource"], "example_thing");
        assert_eq!(line["calls"], 3);
        // go-plugin parses this exact layout: microseconds and a Z.
        let ts = line["@timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), "2026-11-28T17:18:52.123456Z".len(), "{ts}");
        assert!(ts.ends_with('Z'));
    }

    #[test]
    fn the_level_setting_filters() {
        let lines = capture(level_from_setting(Some("info")), || {
            tracing::debug!("hidden");
            tracing::info!("shown");
            tracing::error!("also shown");
        });
        let messages: Vec<_> = lines.iter().map(|l| l["@message"].clone()).collect();
        assert_eq!(messages, vec!["shown", "also shown"]);
    }

    #[test]
    fn settings_map_like_terraforms() {
        assert_eq!(level_from_setting(Some("TRACE")), LevelFilter::TRACE);
        assert_eq!(level_from_setting(Some("json")), LevelFilter::TRACE);
        assert_eq!(level_from_setting(Some("debug")), LevelFilter::DEBUG);
        assert_eq!(level_from_setting(None), LevelFilter::WARN);
        assert_eq!(level_from_setting(Some("off")), LevelFilter::OFF);
    }

    #[test]
    fn the_providers_crates_and_this_one_log_at_the_level_asked_for() {
        let modules = ProviderModules {
            crates: vec!["example_provider".into()],
            prefix: "example".into(),
        };
        let targets = filter(&modules, LevelFilter::DEBUG);
        assert!(targets.would_enable("example_provider::graph", &Level::DEBUG));
        assert!(targets.would_enable("tfplugin::server", &Level::DEBUG));
        assert!(!targets.would_enable("h2::codec", &Level::DEBUG));
        assert!(targets.would_enable("h2::codec", &Level::WARN));
    }

    #[test]
    fn modules_are_shortened() {
        let modules = ProviderModules {
            crates: vec![
                "example_provider".into(),
                "terraform_provider_example".into(),
            ],
            prefix: "example".into(),
        };
        assert_eq!(
            modules.module_of("example_provider::graph::client"),
            "example.graph"
        );
        assert_eq!(modules.module_of("terraform_provider_example"), "example");
        assert_eq!(modules.module_of("h2::codec"), "h2::codec");
        assert_eq!(
            modules.module_of("example_provider_extra::x"),
            "example_provider_extra::x"
        );
        assert_eq!(
            ProviderModules::default().module_of("example_provider::graph"),
            "example_provider::graph"
        );
    }

    #[test]
    fn the_layer_writes_the_short_module() {
        let buffer = Buffer::default();
        let modules = ProviderModules {
            crates: vec![module_path!().split("::").next().unwrap().to_owned()],
            prefix: "short".into(),
        };
        let subscriber = tracing_subscriber::registry()
            .with(GoPluginJsonLayer::new(buffer.clone()).with_modules(modules));
        tracing::subscriber::with_default(subscriber, || tracing::warn!("hello"));
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: Json = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["@module"], "short.logging");
    }
}
