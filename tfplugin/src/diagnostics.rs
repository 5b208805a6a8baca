//! Diagnostics: what Terraform shows the user, each tied to an attribute where one is
//! to blame so that Terraform can point at the offending line of configuration.

use super::proto::tfplugin5 as pb;
use super::value::PathStep;
use std::fmt;

/// A path to an attribute or element inside a resource's value, e.g. `connectors[2]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The whole value (a diagnostic about the resource as a whole).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// A top-level attribute.
    pub fn attr(name: impl Into<String>) -> Self {
        Self(vec![PathStep::Attr(name.into())])
    }

    /// This path, then an attribute of the object there.
    pub fn then_attr(mut self, name: impl Into<String>) -> Self {
        self.0.push(PathStep::Attr(name.into()));
        self
    }

    /// This path, then an element of the list, set or tuple there.
    pub fn then_index(mut self, index: i64) -> Self {
        self.0.push(PathStep::Index(index));
        self
    }

    /// This path, then an entry of the map there.
    pub fn then_key(mut self, key: impl Into<String>) -> Self {
        self.0.push(PathStep::Key(key.into()));
        self
    }

    /// Whether the path names the whole value.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path as the protocol sends it.
    pub fn to_proto(&self) -> pb::AttributePath {
        use pb::attribute_path::{Step, step::Selector};
        let steps = self
            .0
            .iter()
            .map(|step| Step {
                selector: Some(match step {
                    PathStep::Attr(name) => Selector::AttributeName(name.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                }),
            })
            .collect();
        pb::AttributePath { steps }
    }

    /// A path Terraform sent.
    pub fn from_proto(path: &pb::AttributePath) -> Self {
        use pb::attribute_path::step::Selector;
        Self(
            path.steps
                .iter()
                .filter_map(|s| s.selector.as_ref())
                .map(|s| match s {
                    Selector::AttributeName(n) => PathStep::Attr(n.clone()),
                    Selector::ElementKeyString(k) => PathStep::Key(k.clone()),
                    Selector::ElementKeyInt(i) => PathStep::Index(*i),
                })
                .collect(),
        )
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attr(name) if i == 0 => write!(f, "{name}")?,
                PathStep::Attr(name) => write!(f, ".{name}")?,
                PathStep::Index(idx) => write!(f, "[{idx}]")?,
                PathStep::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The operation fails.
    Error,
    /// Shown to the user; the operation goes on.
    Warning,
}

/// One message for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A short headline.
    pub summary: String,
    /// What happened and what to do about it.
    pub detail: String,
    /// The attribute to blame, so that Terraform points at its line of configuration.
    pub attribute: Option<AttributePath>,
}

impl Diagnostic {
    /// An error not tied to an attribute.
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            attribute: None,
        }
    }

    /// A warning not tied to an attribute.
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(summary, detail)
        }
    }

    /// The same diagnostic, blamed on `path` (the root path blames nothing).
    pub fn at(mut self, path: AttributePath) -> Self {
        self.attribute = (!path.is_root()).then_some(path);
        self
    }

    /// The diagnostic as the protocol sends it.
    pub fn to_proto(&self) -> pb::Diagnostic {
        pb::Diagnostic {
            severity: match self.severity {
                Severity::Error => pb::diagnostic::Severity::Error,
                Severity::Warning => pb::diagnostic::Severity::Warning,
            } as i32,
            summary: self.summary.clone(),
            detail: self.detail.clone(),
            attribute: self.attribute.as_ref().map(AttributePath::to_proto),
        }
    }
}

/// The diagnostics collected while serving one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Adds an error not tied to an attribute.
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::error(summary, detail));
    }

    /// Adds a warning not tied to an attribute.
    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::warning(summary, detail));
    }

    /// Adds an error blamed on the attribute at `path`.
    pub fn attribute_error(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Diagnostic::error(summary, detail).at(path));
    }

    /// Adds a warning blamed on the attribute at `path`.
    pub fn attribute_warning(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Diagnostic::warning(summary, detail).at(path));
    }

    /// Adds all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Whether any diagnostic is an error (the operation failed).
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Whether there are no diagnostics at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The diagnostics in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// The diagnostics as the protocol sends them.
    pub fn to_proto(&self) -> Vec<pb::Diagnostic> {
        self.0.iter().map(Diagnostic::to_proto).collect()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Self(vec![d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_displays_like_terraform_addresses() {
        let path = AttributePath::attr("aws")
            .then_index(0)
            .then_attr("identity_id")
            .then_key("k");
        assert_eq!(path.to_string(), "aws[0].identity_id[\"k\"]");
    }

    #[test]
    fn path_round_trips_through_proto() {
        let path = AttributePath::attr("owners").then_index(3).then_key("x");
        assert_eq!(AttributePath::from_proto(&path.to_proto()), path);
    }

    #[test]
    fn root_path_is_not_sent() {
        let d = Diagnostic::error("s", "d").at(AttributePath::root());
        assert!(d.to_proto().attribute.is_none());
    }

    #[test]
    fn warnings_are_not_errors() {
        let mut diags = Diagnostics::new();
        diags.warning("careful", "");
        assert!(!diags.has_errors());
        diags.attribute_error(AttributePath::attr("name"), "bad", "");
        assert!(diags.has_errors());
        let proto = diags.to_proto();
        assert_eq!(proto[0].severity, pb::diagnostic::Severity::Warning as i32);
        assert_eq!(proto[1].severity, pb::diagnostic::Severity::Error as i32);
    }
}
