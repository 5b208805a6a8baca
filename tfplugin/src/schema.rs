//! The schema model: what a resource, data source or provider configuration looks like
//! to Terraform, plus what Terraform's wire schema cannot say (validators, attributes
//! that force replacement, computed values kept across updates), which the plan rules in
//! `plan.rs` and the validation below act on.

use super::diagnostics::{AttributePath, Diagnostics};
use super::proto::tfplugin5 as pb;
use super::value::{Type, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A resource's, data source's or provider's schema.
#[derive(Clone, Debug)]
pub struct Schema {
    /// Bumped when the state layout changes; `UpgradeResourceState` migrates older state.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

impl Schema {
    /// A schema at `version` with `block` as its top level.
    pub fn new(version: i64, block: Block) -> Self {
        Self { version, block }
    }

    /// The schema as the protocol sends it.
    pub fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(self.block.to_proto(self.version)),
        }
    }
}

/// A block: attributes and nested blocks.
#[derive(Clone, Debug, Default)]
pub struct Block {
    /// Markdown shown in documentation.
    pub description: String,
    /// Whether the whole block is deprecated.
    pub deprecated: bool,
    /// The block's attributes.
    pub attributes: Vec<Attribute>,
    /// The blocks nested in it.
    pub blocks: Vec<NestedBlock>,
}

/// How a nested block repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// At most one; an object or null.
    Single,
    /// An ordered list of blocks.
    List,
    /// An unordered set of blocks.
    Set,
    /// Blocks keyed by label.
    Map,
    /// Like `Single`, but never null: an absent block reads as an object of nulls.
    Group,
}

/// A block nested in another.
#[derive(Clone, Debug)]
pub struct NestedBlock {
    /// The block type's name in configuration.
    pub name: String,
    /// How it repeats.
    pub nesting: Nesting,
    /// Its content.
    pub block: Block,
    /// Fewest blocks allowed (0: no limit).
    pub min_items: i64,
    /// Most blocks allowed (0: no limit).
    pub max_items: i64,
}

/// A check on a known, non-null attribute value. Validators never see unknown values:
/// those are checked again once known, at apply.
pub trait Validator: Send + Sync {
    /// Adds diagnostics, blamed on `path`, for what is wrong with `value`.
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics);
}

impl<F> Validator for F
where
    F: Fn(&Value, &AttributePath, &mut Diagnostics) + Send + Sync,
{
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        self(value, path, diags)
    }
}

/// An attribute of a block.
#[derive(Clone)]
pub struct Attribute {
    /// The attribute's name in configuration.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Markdown.
    pub description: String,
    /// The user must set it.
    pub required: bool,
    /// The user may set it.
    pub optional: bool,
    /// The provider sets it (alone, or when the user does not).
    pub computed: bool,
    /// Terraform hides it in plans and output.
    pub sensitive: bool,
    /// Why the attribute is deprecated and what to use instead.
    pub deprecation: Option<String>,
    /// A change of this attribute replaces the remote object.
    pub requires_replace: bool,
    /// A computed value that does not change when other attributes do (an id, say):
    /// the plan keeps the prior value instead of marking it unknown.
    pub use_state_for_unknown: bool,
    /// Checks on known, non-null values.
    pub validators: Vec<Arc<dyn Validator>>,
}

impl std::fmt::Debug for Attribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("required", &self.required)
            .field("optional", &self.optional)
            .field("computed", &self.computed)
            .field("sensitive", &self.sensitive)
            .field("requires_replace", &self.requires_replace)
            .field("use_state_for_unknown", &self.use_state_for_unknown)
            .field("validators", &self.validators.len())
            .finish()
    }
}

impl Attribute {
    fn new(name: &str, ty: Type) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            deprecation: None,
            requires_replace: false,
            use_state_for_unknown: false,
            validators: Vec::new(),
        }
    }

    /// Set by the user, always.
    pub fn required(name: &str, ty: Type) -> Self {
        Self {
            required: true,
            ..Self::new(name, ty)
        }
    }

    /// Set by the user, or null.
    pub fn optional(name: &str, ty: Type) -> Self {
        Self {
            optional: true,
            ..Self::new(name, ty)
        }
    }

    /// Set by the provider only.
    pub fn computed(name: &str, ty: Type) -> Self {
        Self {
            computed: true,
            ..Self::new(name, ty)
        }
    }

    /// Set by the user, or chosen by the provider when the user leaves it out.
    pub fn optional_computed(name: &str, ty: Type) -> Self {
        Self {
            optional: true,
            computed: true,
            ..Self::new(name, ty)
        }
    }

    /// The attribute's documentation (Markdown).
    pub fn description(mut self, markdown: &str) -> Self {
        self.description = markdown.to_owned();
        self
    }

    /// Hides the value in plans and output.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Marks the attribute deprecated, saying why and what to use instead.
    pub fn deprecated(mut self, why: &str) -> Self {
        self.deprecation = Some(why.to_owned());
        self
    }

    /// A change of this attribute replaces the remote object.
    pub fn requires_replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }

    /// Keeps the prior value in plans instead of marking it unknown (for values that never
    /// change, like ids).
    pub fn use_state_for_unknown(mut self) -> Self {
        self.use_state_for_unknown = true;
        self
    }

    /// Adds a check on known, non-null values.
    pub fn validator(mut self, v: impl Validator + 'static) -> Self {
        self.validators.push(Arc::new(v));
        self
    }

    fn is_configurable(&self) -> bool {
        self.required || self.optional
    }

    fn to_proto(&self) -> pb::schema::Attribute {
        pb::schema::Attribute {
            name: self.name.clone(),
            r#type: self.ty.to_json(),
            description: self.description.clone(),
            required: self.required,
            optional: self.optional,
            computed: self.computed,
            sensitive: self.sensitive,
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecation.is_some(),
            write_only: false,
        }
    }
}

impl NestedBlock {
    /// A nested block named `name`, without item limits.
    pub fn new(name: &str, nesting: Nesting, block: Block) -> Self {
        Self {
            name: name.to_owned(),
            nesting,
            block,
            min_items: 0,
            max_items: 0,
        }
    }

    /// Limits the number of blocks (0: no limit).
    pub fn items(mut self, min: i64, max: i64) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }

    /// The type of the nested block's value: an object, or a list, set or map of objects.
    pub fn value_type(&self) -> Type {
        let object = self.block.value_type();
        match self.nesting {
            Nesting::Single | Nesting::Group => object,
            Nesting::List => Type::List(Box::new(object)),
            Nesting::Set => Type::Set(Box::new(object)),
            Nesting::Map => Type::Map(Box::new(object)),
        }
    }
}

impl Block {
    /// An empty block with a description (Markdown).
    pub fn new(description: &str) -> Self {
        Self {
            description: description.to_owned(),
            ..Self::default()
        }
    }

    /// Adds an attribute.
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Adds a nested block.
    pub fn block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    /// The attribute named `name`.
    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The object type of a value of this block, as it travels on the wire.
    pub fn value_type(&self) -> Type {
        let mut attrs = BTreeMap::new();
        for a in &self.attributes {
            attrs.insert(a.name.clone(), a.ty.clone());
        }
        for b in &self.blocks {
            attrs.insert(b.name.clone(), b.value_type());
        }
        Type::Object(attrs)
    }

    /// The block as the protocol sends it.
    pub fn to_proto(&self, version: i64) -> pb::schema::Block {
        pb::schema::Block {
            version,
            attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
            block_types: self
                .blocks
                .iter()
                .map(|b| pb::schema::NestedBlock {
                    type_name: b.name.clone(),
                    block: Some(b.block.to_proto(version)),
                    nesting: match b.nesting {
                        Nesting::Single => pb::schema::nested_block::NestingMode::Single,
                        Nesting::List => pb::schema::nested_block::NestingMode::List,
                        Nesting::Set => pb::schema::nested_block::NestingMode::Set,
                        Nesting::Map => pb::schema::nested_block::NestingMode::Map,
                        Nesting::Group => pb::schema::nested_block::NestingMode::Group,
                    } as i32,
                    min_items: b.min_items,
                    max_items: b.max_items,
                })
                .collect(),
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecated,
        }
    }

    /// Checks a configuration against the schema: values on attributes only the
    /// provider sets, deprecated attributes in use, and every attribute's validators.
    pub fn validate(&self, config: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if config.is_null() || config.is_unknown() {
            return;
        }
        for attr in &self.attributes {
            let value = config.get_attr(&attr.name).unwrap_or(&Value::Null);
            let here = path.clone().then_attr(&attr.name);
            if value.is_null() {
                continue;
            }
            if !attr.is_configurable() {
                diags.attribute_error(
                    here,
                    "Value for unconfigurable attribute",
                    format!(
                        "`{}` is set by the provider and cannot be configured. Remove it from \
                         the configuration.",
                        attr.name
                    ),
                );
                continue;
            }
            if let Some(why) = &attr.deprecation {
                diags.attribute_warning(
                    here.clone(),
                    format!("`{}` is deprecated", attr.name),
                    why.clone(),
                );
            }
            if value.is_unknown() {
                continue;
            }
            for v in &attr.validators {
                v.validate(value, &here, diags);
            }
        }
        for nested in &self.blocks {
            let value = config.get_attr(&nested.name).unwrap_or(&Value::Null);
            let here = path.clone().then_attr(&nested.name);
            match (nested.nesting, value) {
                (_, Value::Null) | (_, Value::Unknown(_)) => {}
                (Nesting::Single | Nesting::Group, v) => nested.block.validate(v, &here, diags),
                (Nesting::List | Nesting::Set, Value::List(items) | Value::Set(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        nested
                            .block
                            .validate(item, &here.clone().then_index(i as i64), diags);
                    }
                }
                (Nesting::Map, Value::Map(items)) => {
                    for (k, item) in items {
                        nested
                            .block
                            .validate(item, &here.clone().then_key(k), diags);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Common validators.
pub mod validators {
    use super::*;

    /// The value must be one of `allowed` (case-sensitive, as Terraform compares).
    pub fn one_of(allowed: &'static [&'static str]) -> impl Validator {
        move |value: &Value, path: &AttributePath, diags: &mut Diagnostics| {
            if let Some(s) = value.as_str()
                && !allowed.contains(&s)
            {
                diags.attribute_error(
                    path.clone(),
                    "Invalid value",
                    format!(
                        "{s:?} is not allowed here. Use one of: {}.",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// A string length in characters, inclusive bounds.
    pub fn length_between(min: usize, max: usize) -> impl Validator {
        move |value: &Value, path: &AttributePath, diags: &mut Diagnostics| {
            if let Some(s) = value.as_str() {
                let n = s.chars().count();
                if n < min || n > max {
                    diags.attribute_error(
                        path.clone(),
                        "Invalid length",
                        format!("Must be {min} to {max} characters long; this is {n}."),
                    );
                }
            }
        }
    }

    /// A list or set with at least `min` elements.
    pub fn min_items(min: usize) -> impl Validator {
        move |value: &Value, path: &AttributePath, diags: &mut Diagnostics| {
            if let Some(items) = value.as_list()
                && items.len() < min
            {
                diags.attribute_error(
                    path.clone(),
                    "Too few items",
                    format!(
                        "At least {min} item(s) are required; {} given.",
                        items.len()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Block {
        Block::new("A thing.")
            .attribute(
                Attribute::required("name", Type::String)
                    .description("The *name*.")
                    .requires_replace()
                    .validator(validators::length_between(3, 5)),
            )
            .attribute(
                Attribute::optional("mode", Type::String)
                    .validator(validators::one_of(&["a", "b"])),
            )
            .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
            .attribute(Attribute::optional("old", Type::String).deprecated("Use `mode`."))
            .attribute(Attribute::optional("secret", Type::String).sensitive())
            .block(
                NestedBlock::new(
                    "timeouts",
                    Nesting::Single,
                    Block::new("").attribute(Attribute::optional("create", Type::String)),
                )
                .items(0, 1),
            )
    }

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn config(name: &str) -> Value {
        object(&[
            ("name", Value::String(name.into())),
            ("mode", Value::Null),
            ("id", Value::Null),
            ("old", Value::Null),
            ("secret", Value::Null),
            ("timeouts", Value::Null),
        ])
    }

    #[test]
    fn proto_carries_flags_and_markdown() {
        let proto = Schema::new(0, sample()).to_proto();
        let block = proto.block.unwrap();
        let name = &block.attributes[0];
        assert!(name.required && !name.optional && !name.computed);
        assert_eq!(name.r#type, b"\"string\"".to_vec());
        assert_eq!(name.description_kind, pb::StringKind::Markdown as i32);
        assert!(block.attributes[2].computed);
        assert!(block.attributes[3].deprecated);
        assert!(block.attributes[4].sensitive);
        assert_eq!(block.block_types[0].type_name, "timeouts");
        assert_eq!(block.block_types[0].max_items, 1);
    }

    #[test]
    fn value_type_includes_blocks() {
        let ty = sample().value_type();
        let Type::Object(attrs) = ty else { panic!() };
        assert_eq!(attrs.len(), 6);
        assert!(matches!(attrs["timeouts"], Type::Object(_)));
    }

    #[test]
    fn validators_name_the_attribute() {
        let mut diags = Diagnostics::new();
        sample().validate(&config("ab"), &AttributePath::root(), &mut diags);
        assert!(diags.has_errors());
        assert_eq!(diags.0[0].attribute, Some(AttributePath::attr("name")));
        assert!(diags.0[0].detail.contains("3 to 5"));
    }

    #[test]
    fn a_valid_config_has_no_diagnostics() {
        let mut diags = Diagnostics::new();
        sample().validate(&config("abcd"), &AttributePath::root(), &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn computed_only_values_are_rejected() {
        let mut c = config("abcd");
        c.set_attr("id", Value::String("x".into())).unwrap();
        let mut diags = Diagnostics::new();
        sample().validate(&c, &AttributePath::root(), &mut diags);
        assert_eq!(diags.0.len(), 1);
        assert_eq!(diags.0[0].summary, "Value for unconfigurable attribute");
        assert_eq!(diags.0[0].attribute, Some(AttributePath::attr("id")));
    }

    #[test]
    fn deprecated_attributes_warn_and_unknowns_are_not_validated() {
        let mut c = config("abcd");
        c.set_attr("old", Value::String("x".into())).unwrap();
        c.set_attr("mode", Value::unknown()).unwrap();
        let mut diags = Diagnostics::new();
        sample().validate(&c, &AttributePath::root(), &mut diags);
        assert!(!diags.has_errors(), "{diags:?}");
        assert_eq!(diags.0.len(), 1);
        assert!(diags.0[0].summary.contains("deprecated"));
    }

    #[test]
    fn one_of_lists_the_choices() {
        let mut c = config("abcd");
        c.set_attr("mode", Value::String("c".into())).unwrap();
        let mut diags = Diagnostics::new();
        sample().validate(&c, &AttributePath::root(), &mut diags);
        assert!(diags.0[0].detail.contains("a, b"));
    }
}
