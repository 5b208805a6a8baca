//! The plan rules Terraform expects of every provider (terraform-plugin-framework applies
//! the same ones): when a resource changes, each computed attribute the configuration
//! leaves null becomes unknown ("known after apply") unless the schema says the prior
//! value stays; and a change to an attribute marked `requires_replace` asks Terraform to
//! replace the object. Resources refine the result afterwards.

use super::diagnostics::AttributePath;
use super::schema::{Block, Nesting};
use super::value::Value;

/// The outcome of the generic plan rules.
#[derive(Debug, PartialEq)]
pub struct PlannedChange {
    /// The planned new state.
    pub planned: Value,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<AttributePath>,
}

/// Applies the generic rules to Terraform's proposed new state.
pub fn plan_change(
    block: &Block,
    prior: &Value,
    proposed: &Value,
    config: &Value,
) -> PlannedChange {
    if proposed.is_null() {
        // Destroy: nothing to plan.
        return PlannedChange {
            planned: Value::Null,
            requires_replace: Vec::new(),
        };
    }
    let creating = prior.is_null();
    let changed = creating || proposed != prior;
    let mut planned = proposed.clone();
    if changed {
        mark_computed_unknown(block, prior, config, &mut planned, creating);
    }
    let mut requires_replace = Vec::new();
    if !creating {
        collect_replacements(
            block,
            prior,
            &planned,
            &AttributePath::root(),
            &mut requires_replace,
        );
    }
    PlannedChange {
        planned,
        requires_replace,
    }
}

fn mark_computed_unknown(
    block: &Block,
    prior: &Value,
    config: &Value,
    planned: &mut Value,
    creating: bool,
) {
    for attr in block.attributes.iter().filter(|a| a.computed) {
        let configured = config.get_attr(&attr.name).is_some_and(|v| !v.is_null());
        if configured {
            continue;
        }
        let prior_value = prior.get_attr(&attr.name).cloned().unwrap_or(Value::Null);
        let value = if !creating && attr.use_state_for_unknown {
            prior_value
        } else {
            Value::unknown()
        };
        // `planned` is a known object here: the proposed state of a live resource.
        let _ = planned.set_attr(&attr.name, value);
    }
    for nested in &block.blocks {
        let (Some(p), Some(c)) = (
            planned.get_attr(&nested.name),
            config.get_attr(&nested.name),
        ) else {
            continue;
        };
        let mut p = p.clone();
        let c = c.clone();
        let prior_nested = prior.get_attr(&nested.name).cloned().unwrap_or(Value::Null);
        match nested.nesting {
            Nesting::Single | Nesting::Group => {
                if !p.is_null() && !p.is_unknown() {
                    mark_computed_unknown(
                        &nested.block,
                        &prior_nested,
                        &c,
                        &mut p,
                        creating || prior_nested.is_null(),
                    );
                }
            }
            Nesting::List => {
                if let (Value::List(items), Some(config_items)) = (&mut p, c.as_list()) {
                    let prior_items = prior_nested.as_list().unwrap_or(&[]).to_vec();
                    for (i, item) in items.iter_mut().enumerate() {
                        let item_prior = prior_items.get(i).cloned().unwrap_or(Value::Null);
                        let item_config = config_items.get(i).cloned().unwrap_or(Value::Null);
                        mark_computed_unknown(
                            &nested.block,
                            &item_prior,
                            &item_config,
                            item,
                            creating || item_prior.is_null(),
                        );
                    }
                }
            }
            // Sets and maps of blocks carry no computed attributes in this provider;
            // their elements pass through as proposed.
            Nesting::Set | Nesting::Map => {}
        }
        let _ = planned.set_attr(&nested.name, p);
    }
}

fn collect_replacements(
    block: &Block,
    prior: &Value,
    planned: &Value,
    path: &AttributePath,
    out: &mut Vec<AttributePath>,
) {
    for attr in block.attributes.iter().filter(|a| a.requires_replace) {
        let before = prior.get_attr(&attr.name).unwrap_or(&Value::Null);
        let after = planned.get_attr(&attr.name).unwrap_or(&Value::Null);
        if before != after {
            out.push(path.clone().then_attr(&attr.name));
        }
    }
    for nested in &block.blocks {
        if matches!(nested.nesting, Nesting::Single | Nesting::Group) {
            let before = prior.get_attr(&nested.name).unwrap_or(&Value::Null);
            let after = planned.get_attr(&nested.name).unwrap_or(&Value::Null);
            collect_replacements(
                &nested.block,
                before,
                after,
                &path.clone().then_attr(&nested.name),
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Attribute, NestedBlock};
    use crate::value::Type;

    fn block() -> Block {
        Block::new("")
            .attribute(Attribute::required("name", Type::String).requires_replace())
            .attribute(Attribute::optional("description", Type::String))
            .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
            .attribute(Attribute::computed("etag", Type::String))
            .attribute(Attribute::optional_computed("audience", Type::String))
            .block(NestedBlock::new(
                "aws",
                Nesting::Single,
                Block::new("")
                    .attribute(Attribute::required("pool", Type::String).requires_replace())
                    .attribute(Attribute::computed("arn", Type::String)),
            ))
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn config(name: &str, description: Value, audience: Value) -> Value {
        obj(&[
            ("name", s(name)),
            ("description", description),
            ("id", Value::Null),
            ("etag", Value::Null),
            ("audience", audience),
            ("aws", obj(&[("pool", s("p")), ("arn", Value::Null)])),
        ])
    }

    fn state(name: &str, description: Value) -> Value {
        obj(&[
            ("name", s(name)),
            ("description", description),
            ("id", s("id-1")),
            ("etag", s("e1")),
            ("audience", s("api://x")),
            ("aws", obj(&[("pool", s("p")), ("arn", s("arn:1"))])),
        ])
    }

    /// What Terraform proposes: config values, with prior values for computed
    /// attributes that the configuration leaves null.
    fn proposed(config: &Value, prior: &Value) -> Value {
        let mut p = config.clone();
        if prior.is_null() {
            return p;
        }
        for key in ["id", "etag", "audience"] {
            if config.get_attr(key).unwrap().is_null() {
                p.set_attr(key, prior.get_attr(key).unwrap().clone())
                    .unwrap();
            }
        }
        let mut aws = config.get_attr("aws").unwrap().clone();
        aws.set_attr(
            "arn",
            prior
                .get_attr("aws")
                .unwrap()
                .get_attr("arn")
                .unwrap()
                .clone(),
        )
        .unwrap();
        p.set_attr("aws", aws).unwrap();
        p
    }

    #[test]
    fn create_marks_every_unset_computed_attribute_unknown() {
        let c = config("a", Value::Null, Value::Null);
        let plan = plan_change(&block(), &Value::Null, &c, &c);
        let p = &plan.planned;
        assert!(
            p.get_attr("id").unwrap().is_unknown(),
            "no prior value to keep on create"
        );
        assert!(p.get_attr("etag").unwrap().is_unknown());
        assert!(p.get_attr("audience").unwrap().is_unknown());
        assert!(
            p.get_attr("aws")
                .unwrap()
                .get_attr("arn")
                .unwrap()
                .is_unknown()
        );
        assert_eq!(p.get_attr("name"), Some(&s("a")));
        assert!(plan.requires_replace.is_empty());
    }

    #[test]
    fn configured_computed_values_are_kept() {
        let c = config("a", Value::Null, s("aud"));
        let plan = plan_change(&block(), &Value::Null, &c, &c);
        assert_eq!(plan.planned.get_attr("audience"), Some(&s("aud")));
    }

    #[test]
    fn no_change_means_no_unknowns() {
        let prior = state("a", Value::Null);
        let c = config("a", Value::Null, Value::Null);
        let plan = plan_change(&block(), &prior, &proposed(&c, &prior), &c);
        assert_eq!(plan.planned, prior);
        assert!(plan.requires_replace.is_empty());
    }

    #[test]
    fn an_update_keeps_marked_values_and_unknowns_the_rest() {
        let prior = state("a", Value::Null);
        let c = config("a", s("new"), Value::Null);
        let plan = plan_change(&block(), &prior, &proposed(&c, &prior), &c);
        let p = &plan.planned;
        assert_eq!(p.get_attr("id"), Some(&s("id-1")), "use_state_for_unknown");
        assert!(p.get_attr("etag").unwrap().is_unknown());
        assert!(p.get_attr("audience").unwrap().is_unknown());
        assert!(plan.requires_replace.is_empty());
    }

    #[test]
    fn a_change_to_a_replacing_attribute_asks_for_replacement() {
        let prior = state("a", Value::Null);
        let c = config("b", Value::Null, Value::Null);
        let plan = plan_change(&block(), &prior, &proposed(&c, &prior), &c);
        assert_eq!(plan.requires_replace, vec![AttributePath::attr("name")]);
    }

    #[test]
    fn replacement_inside_a_nested_block_has_its_path() {
        let prior = state("a", Value::Null);
        let mut c = config("a", Value::Null, Value::Null);
        c.set_attr("aws", obj(&[("pool", s("q")), ("arn", Value::Null)]))
            .unwrap();
        let plan = plan_change(&block(), &prior, &proposed(&c, &prior), &c);
        assert_eq!(
            plan.requires_replace,
            vec![AttributePath::attr("aws").then_attr("pool")]
        );
    }

    #[test]
    fn destroy_plans_null() {
        let prior = state("a", Value::Null);
        let plan = plan_change(&block(), &prior, &Value::Null, &Value::Null);
        assert_eq!(plan.planned, Value::Null);
    }

    #[test]
    fn a_block_added_on_update_gets_unknowns_not_nulls() {
        let block = Block::new("")
            .attribute(Attribute::required("name", Type::String))
            .block(NestedBlock::new(
                "extra",
                Nesting::Single,
                Block::new("")
                    .attribute(Attribute::required("x", Type::String))
                    .attribute(Attribute::computed("kept", Type::String).use_state_for_unknown()),
            ));
        let prior = obj(&[("name", s("a")), ("extra", Value::Null)]);
        let config = obj(&[
            ("name", s("a")),
            ("extra", obj(&[("x", s("1")), ("kept", Value::Null)])),
        ]);
        let plan = plan_change(&block, &prior, &config, &config);
        let kept = plan
            .planned
            .get_attr("extra")
            .unwrap()
            .get_attr("kept")
            .unwrap();
        assert!(kept.is_unknown(), "no prior value to keep: {kept:?}");
    }
}
