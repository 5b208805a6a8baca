//! `$filter` as Graph's directory endpoints take it: a small parser (`eq`, `ne`,
//! `gt`/`ge`/`lt`/`le`, `in`, `and`/`or`/`not`, `startswith`/`endswith`, lambda
//! `any`), the advanced-query rules for which operators need `ConsistencyLevel`,
//! and an evaluator over the objects' Graph JSON.

use serde_json::Value;

use crate::errors::{GResult, GraphError};
use crate::odata::Resource;

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Null,
    Bool(bool),
    Num(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Cmp {
        prop: String,
        op: String,
        value: Lit,
    },
    In {
        prop: String,
        values: Vec<Lit>,
    },
    Func {
        name: String,
        prop: String,
        value: Lit,
    },
    Any {
        prop: String,
        var: String,
        inner: Box<Filter>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Word(String),
    LParen,
    RParen,
    Comma,
    Colon,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        match c[i] {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    if i >= c.len() {
                        return Err(format!(
                            "Unterminated string literal at position {i} in '{s}'."
                        ));
                    }
                    if c[i] == '\'' {
                        if i + 1 < c.len() && c[i + 1] == '\'' {
                            v.push('\'');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    v.push(c[i]);
                    i += 1;
                }
                out.push(Tok::Str(v));
            }
            ch if ch.is_alphanumeric() || "_./@-+".contains(ch) => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || "_./@-+".contains(c[i])) {
                    i += 1;
                }
                out.push(Tok::Word(c[start..i].iter().collect()));
            }
            _ => return Err(format!("Syntax error at position {i} in '{s}'.")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    src: String,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn err(&self) -> String {
        format!("Syntax error at position {} in '{}'.", self.pos, self.src)
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        if self.next() == Some(t) {
            Ok(())
        } else {
            Err(self.err())
        }
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }
    fn or(&mut self) -> Result<Filter, String> {
        let mut l = self.and()?;
        while self.is_word("or") {
            self.pos += 1;
            let r = self.and()?;
            l = Filter::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Filter, String> {
        let mut l = self.unary()?;
        while self.is_word("and") {
            self.pos += 1;
            let r = self.unary()?;
            l = Filter::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<Filter, String> {
        if self.is_word("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            self.expect(Tok::RParen)?;
            return Ok(e);
        }
        self.primary()
    }
    fn literal(&mut self) -> Result<Lit, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Word(w)) if w == "null" => Ok(Lit::Null),
            Some(Tok::Word(w)) if w == "true" => Ok(Lit::Bool(true)),
            Some(Tok::Word(w)) if w == "false" => Ok(Lit::Bool(false)),
            Some(Tok::Word(w)) => match w.parse::<f64>() {
                Ok(n) => Ok(Lit::Num(n)),
                // Unquoted GUIDs are accepted by Graph for Edm.Guid properties.
                Err(_) if crate::util::is_guid(&w) => Ok(Lit::Str(w)),
                Err(_) => Err(self.err()),
            },
            _ => Err(self.err()),
        }
    }
    fn primary(&mut self) -> Result<Filter, String> {
        let Some(Tok::Word(w)) = self.next() else {
            return Err(self.err());
        };
        let lw = w.to_ascii_lowercase();
        if ["startswith", "endswith", "contains"].contains(&lw.as_str())
            && self.peek() == Some(&Tok::LParen)
        {
            self.pos += 1;
            let Some(Tok::Word(prop)) = self.next() else {
                return Err(self.err());
            };
            self.expect(Tok::Comma)?;
            let value = self.literal()?;
            self.expect(Tok::RParen)?;
            return Ok(Filter::Func {
                name: lw,
                prop,
                value,
            });
        }
        if let Some(prop) = w.strip_suffix("/any").or_else(|| w.strip_suffix("/ANY")) {
            self.expect(Tok::LParen)?;
            let Some(Tok::Word(var)) = self.next() else {
                return Err(self.err());
            };
            self.expect(Tok::Colon)?;
            let inner = self.or()?;
            self.expect(Tok::RParen)?;
            return Ok(Filter::Any {
                prop: prop.to_string(),
                var,
                inner: Box::new(inner),
            });
        }
        let Some(Tok::Word(op)) = self.next() else {
            return Err(self.err());
        };
        let op = op.to_ascii_lowercase();
        if op == "in" {
            self.expect(Tok::LParen)?;
            let mut values = vec![self.literal()?];
            while self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                values.push(self.literal()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Filter::In { prop: w, values });
        }
        if !["eq", "ne", "gt", "ge", "lt", "le"].contains(&op.as_str()) {
            return Err(self.err());
        }
        let value = self.literal()?;
        Ok(Filter::Cmp { prop: w, op, value })
    }
}

pub fn parse_filter(s: &str) -> Result<Filter, String> {
    let toks = tokenize(s)?;
    let mut p = Parser {
        toks,
        pos: 0,
        src: s.to_string(),
    };
    let f = p.or()?;
    if p.pos != p.toks.len() {
        return Err(p.err());
    }
    Ok(f)
}

fn advanced_needed(op: &str) -> GraphError {
    GraphError::new(
        400,
        "Request_UnsupportedQuery",
        format!(
            "Operator '{op}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
        ),
    )
}

/// Checks properties and operators against what Graph supports for the resource.
pub(crate) fn validate(
    f: &Filter,
    res: &Resource,
    advanced: bool,
    var: Option<&str>,
) -> GResult<()> {
    let prop_ok = |p: &str| -> GResult<()> {
        if Some(p) == var || res.filterable.iter().any(|x| x.eq_ignore_ascii_case(p)) {
            Ok(())
        } else {
            Err(GraphError::new(
                400,
                "Request_UnsupportedQuery",
                format!(
                    "Unsupported or invalid query filter clause specified for property '{p}' of resource '{}'.",
                    res.label
                ),
            ))
        }
    };
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate(a, res, advanced, var)?;
            validate(b, res, advanced, var)
        }
        Filter::Not(a) => {
            if !advanced {
                return Err(advanced_needed("not"));
            }
            validate(a, res, advanced, var)
        }
        Filter::Cmp { prop, op, .. } => {
            if op == "ne" && !advanced {
                return Err(advanced_needed("ne"));
            }
            prop_ok(prop)
        }
        Filter::In { prop, .. } => prop_ok(prop),
        Filter::Func { name, prop, .. } => {
            if name == "endswith" && !advanced {
                return Err(advanced_needed("endsWith"));
            }
            if name == "contains" {
                return Err(GraphError::new(
                    400,
                    "Request_UnsupportedQuery",
                    "Unsupported Query.".to_string(),
                ));
            }
            prop_ok(prop)
        }
        Filter::Any {
            prop,
            var: v,
            inner,
        } => {
            prop_ok(prop)?;
            validate(inner, res, advanced, Some(v))
        }
    }
}

fn lookup<'a>(obj: &'a Value, prop: &str, bind: Option<(&str, &'a Value)>) -> Option<&'a Value> {
    if let Some((var, v)) = bind {
        if var == prop {
            return Some(v);
        }
        if let Some(rest) = prop.strip_prefix(var).and_then(|r| r.strip_prefix('/')) {
            return path_get(v, rest);
        }
    }
    path_get(obj, prop)
}

pub(crate) fn path_get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path.split('/') {
        let m = cur.as_object()?;
        cur = m.get(seg).or_else(|| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(seg))
                .map(|(_, v)| v)
        })?;
    }
    Some(cur)
}

fn cmp(v: Option<&Value>, op: &str, lit: &Lit) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (v, lit) {
        (None | Some(Value::Null), Lit::Null) => Some(Ordering::Equal),
        (Some(_), Lit::Null) | (None, _) | (Some(Value::Null), _) => None,
        (Some(Value::String(s)), Lit::Str(l)) => Some(s.to_lowercase().cmp(&l.to_lowercase())),
        (Some(Value::Bool(b)), Lit::Bool(l)) => Some(b.cmp(l)),
        (Some(Value::Number(n)), Lit::Num(l)) => n.as_f64().and_then(|x| x.partial_cmp(l)),
        _ => None,
    };
    match op {
        "eq" => ord == Some(Ordering::Equal),
        "ne" => ord != Some(Ordering::Equal),
        "gt" => ord == Some(Ordering::Greater),
        "ge" => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        "lt" => ord == Some(Ordering::Less),
        "le" => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        _ => false,
    }
}

pub fn eval(f: &Filter, obj: &Value) -> bool {
    eval_in(f, obj, None)
}

fn eval_in<'a>(f: &Filter, obj: &'a Value, bind: Option<(&str, &'a Value)>) -> bool {
    match f {
        Filter::And(a, b) => eval_in(a, obj, bind) && eval_in(b, obj, bind),
        Filter::Or(a, b) => eval_in(a, obj, bind) || eval_in(b, obj, bind),
        Filter::Not(a) => !eval_in(a, obj, bind),
        Filter::Cmp { prop, op, value } => cmp(lookup(obj, prop, bind), op, value),
        Filter::In { prop, values } => values.iter().any(|l| cmp(lookup(obj, prop, bind), "eq", l)),
        Filter::Func { name, prop, value } => {
            let (Some(Value::String(s)), Lit::Str(l)) = (lookup(obj, prop, bind), value) else {
                return false;
            };
            let (s, l) = (s.to_lowercase(), l.to_lowercase());
            match name.as_str() {
                "startswith" => s.starts_with(&l),
                "endswith" => s.ends_with(&l),
                _ => s.contains(&l),
            }
        }
        Filter::Any { prop, var, inner } => match lookup(obj, prop, bind) {
            Some(Value::Array(items)) => items
                .iter()
                .any(|it| eval_in(inner, obj, Some((var.as_str(), it)))),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters() {
        let obj = json!({"appId": "ABC", "displayName": "Psoxy One", "tags": ["HideApp", "x"]});
        let t = |s: &str| eval(&parse_filter(s).unwrap(), &obj);
        assert!(t("appId eq 'abc'"));
        assert!(!t("appId eq 'abd'"));
        assert!(t("startswith(displayName,'psoxy')"));
        assert!(t("tags/any(t:t eq 'HideApp')"));
        assert!(!t("tags/any(t:t eq 'nope')"));
        assert!(t("appId eq 'abc' and displayName eq 'Psoxy One'"));
        assert!(t("appId eq 'zzz' or (displayName eq 'Psoxy One')"));
        assert!(t("appId in ('x','abc')"));
        assert!(parse_filter("displayName eq 'it''s'").is_ok());
        assert!(parse_filter("appId eq").is_err());
    }
}
