//! The `timeouts` block every resource takes, as terraform-plugin-framework-timeouts
//! offers it: `create`, `read`, `update` and `delete`, each a Go-style duration
//! ("90s", "10m", "1h30m").

use std::time::Duration;
use tfplugin::diagnostics::{AttributePath, Diagnostics};
use tfplugin::schema::{Attribute, Block, NestedBlock, Nesting};
use tfplugin::value::{Type, Value};

#[derive(Clone, Copy, Debug)]
pub struct Defaults {
    pub create: Duration,
    pub read: Duration,
    pub update: Duration,
    pub delete: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Create,
    Read,
    Update,
    Delete,
}

impl Step {
    fn key(self) -> &'static str {
        match self {
            Step::Create => "create",
            Step::Read => "read",
            Step::Update => "update",
            Step::Delete => "delete",
        }
    }
}

pub fn block(defaults: Defaults) -> NestedBlock {
    let minutes = |d: Duration| d.as_secs() / 60;
    let mut b = Block::new("How long each step may take, counting Microsoft Graph's retries.");
    for (key, d) in [
        ("create", defaults.create),
        ("read", defaults.read),
        ("update", defaults.update),
        ("delete", defaults.delete),
    ] {
        b = b.attribute(
            Attribute::optional(key, Type::String)
                .description(&format!(
                    "A duration such as `30s`, `10m` or `1h`. Default `{}m`.",
                    minutes(d)
                ))
                .validator(|v: &Value, p: &AttributePath, d: &mut Diagnostics| {
                    if let Some(s) = v.as_str()
                        && let Err(why) = parse_duration(s)
                    {
                        d.attribute_error(p.clone(), "Invalid duration", why);
                    }
                }),
        );
    }
    NestedBlock::new("timeouts", Nesting::Single, b)
}

/// The timeout for `step` from a resource value holding a `timeouts` block.
pub fn get(value: &Value, step: Step, defaults: Defaults) -> Duration {
    let configured = value
        .get_attr("timeouts")
        .and_then(|t| t.get_attr(step.key()))
        .and_then(Value::as_str)
        .and_then(|s| parse_duration(s).ok());
    configured.unwrap_or(match step {
        Step::Create => defaults.create,
        Step::Read => defaults.read,
        Step::Update => defaults.update,
        Step::Delete => defaults.delete,
    })
}

/// The longest timeout accepted: no Graph operation needs more, and a longer one is
/// almost certainly a typo (`1000h`) that would keep a stuck apply waiting for weeks.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Parses Go's duration syntax for the units that make sense here (h, m, s, ms), up to
/// [`MAX_TIMEOUT`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad =
        || format!("{s:?} is not a duration. Use a number and a unit, such as 30s, 10m or 1h30m.");
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        let part = number * seconds;
        // Checked before converting: a Duration cannot hold every f64.
        if !part.is_finite() || total.as_secs_f64() + part > MAX_TIMEOUT.as_secs_f64() {
            return Err(format!(
                "{s:?} is longer than the longest timeout accepted, 24h. No Microsoft Graph \
                 operation needs that long; use a duration such as 30m or 2h."
            ));
        }
        total += Duration::from_secs_f64(part);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn oversized_durations_are_refused_not_a_panic() {
        assert_eq!(parse_duration("24h"), Ok(MAX_TIMEOUT));
        for huge in ["25h", "86401s", "99999999999999999999999h", "23h61m"] {
            let e = parse_duration(huge).unwrap_err();
            assert!(e.contains("24h"), "{huge}: {e}");
        }
    }

    #[test]
    fn configured_values_win_over_defaults() {
        let defaults = Defaults {
            create: Duration::from_secs(600),
            read: Duration::from_secs(300),
            update: Duration::from_secs(600),
            delete: Duration::from_secs(300),
        };
        let v = Value::object([(
            "timeouts",
            Value::object([
                ("create", Value::string("2m")),
                ("read", Value::Null),
                ("update", Value::Null),
                ("delete", Value::Null),
            ]),
        )]);
        assert_eq!(get(&v, Step::Create, defaults), Duration::from_secs(120));
        assert_eq!(get(&v, Step::Read, defaults), Duration::from_secs(300));
        assert_eq!(
            get(&Value::Null, Step::Delete, defaults),
            Duration::from_secs(300)
        );
    }
}
