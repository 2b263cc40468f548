//! Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`,
//! `!a`, `a>1`, `a<1`, joined by commas.
//!
//! The parser follows the grammar, tokenisation and error wording of
//! kube-apiserver's `labelSelector` parameter, so a bad selector gets the
//! same 400 message (`unable to parse requirement: ...`). A selector can
//! also be built from a `metav1.LabelSelector` object (matchLabels and
//! matchExpressions), for controllers and the scheduler.

use std::fmt;

use serde_json::{Map, Value};

use super::label_parser::{check_requirement, parse_requirements};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    /// A selector that matches nothing (a missing `metav1.LabelSelector`).
    nothing: bool,
}

/// One clause of a selector. Values of the set operators are kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    DoubleEquals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
    GreaterThan(String, i64),
    LessThan(String, i64),
}

impl Requirement {
    pub fn key(&self) -> &str {
        match self {
            Requirement::Equals(k, _)
            | Requirement::DoubleEquals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::DoesNotExist(k)
            | Requirement::GreaterThan(k, _)
            | Requirement::LessThan(k, _) => k,
        }
    }

    fn matches(&self, labels: &Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).map(label_text);
        match self {
            Requirement::Equals(k, v) | Requirement::DoubleEquals(k, v) => {
                get(k).is_some_and(|l| l == *v)
            }
            Requirement::In(k, vs) => get(k).is_some_and(|l| vs.contains(&l)),
            Requirement::NotEquals(k, v) => get(k).is_none_or(|l| l != *v),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|l| !vs.contains(&l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
            Requirement::GreaterThan(k, n) => get(k)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|l| l > *n),
            Requirement::LessThan(k, n) => get(k)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|l| l < *n),
        }
    }
}

fn label_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |vs: &Vec<String>| {
            let mut sorted = vs.clone();
            sorted.sort();
            sorted.join(",")
        };
        match self {
            Requirement::Equals(k, v) => write!(f, "{k}={v}"),
            Requirement::DoubleEquals(k, v) => write!(f, "{k}=={v}"),
            Requirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            Requirement::In(k, vs) => write!(f, "{k} in ({})", set(vs)),
            Requirement::NotIn(k, vs) => write!(f, "{k} notin ({})", set(vs)),
            Requirement::Exists(k) => write!(f, "{k}"),
            Requirement::DoesNotExist(k) => write!(f, "!{k}"),
            Requirement::GreaterThan(k, n) => write!(f, "{k}>{n}"),
            Requirement::LessThan(k, n) => write!(f, "{k}<{n}"),
        }
    }
}

impl fmt::Display for LabelSelector {
    /// The canonical form upstream prints (requirements sorted by key).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.requirements.iter().map(|r| r.to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

impl LabelSelector {
    /// Parse the `labelSelector` query parameter. The error text is the
    /// message of the 400 that upstream returns.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut requirements = parse_requirements(s)?;
        requirements.sort_by(|a, b| a.key().cmp(b.key()));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// A selector from a `metav1.LabelSelector` JSON object, as
    /// `LabelSelectorAsSelector` builds it: `null` selects nothing, `{}`
    /// selects everything.
    pub fn from_match_labels_and_expressions(selector: &Value) -> Result<Self, String> {
        let Some(obj) = selector.as_object() else {
            return Ok(Self::nothing());
        };
        let mut requirements = Vec::new();
        if let Some(ml) = obj.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in ml {
                let v = v.as_str().unwrap_or_default().to_string();
                check_requirement(k, "=", std::slice::from_ref(&v))?;
                requirements.push(Requirement::Equals(k.clone(), v));
            }
        }
        if let Some(exprs) = obj.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
                let op = e
                    .get("operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|vs| {
                        vs.iter()
                            .map(|v| v.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                let (sym, req) = match op {
                    "In" => ("in", Requirement::In(key.to_string(), values.clone())),
                    "NotIn" => ("notin", Requirement::NotIn(key.to_string(), values.clone())),
                    "Exists" => ("exists", Requirement::Exists(key.to_string())),
                    "DoesNotExist" => ("!", Requirement::DoesNotExist(key.to_string())),
                    other => {
                        return Err(format!("{other:?} is not a valid label selector operator"));
                    }
                };
                check_requirement(key, sym, &values)?;
                requirements.push(req);
            }
        }
        requirements.sort_by(|a, b| a.key().cmp(b.key()));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// A selector that matches no object.
    pub fn nothing() -> Self {
        LabelSelector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// A selector of `key=value` pairs (no validation), like
    /// `SelectorFromSet`.
    pub fn from_set(labels: &Map<String, Value>) -> Self {
        let mut requirements: Vec<Requirement> = labels
            .iter()
            .map(|(k, v)| Requirement::Equals(k.clone(), label_text(v)))
            .collect();
        requirements.sort_by(|a, b| a.key().cmp(b.key()));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// True for the selector that matches nothing.
    pub fn matches_nothing(&self) -> bool {
        self.nothing
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// `labels` is `metadata.labels` (absent labels: pass an empty map).
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Match against an object's `metadata.labels`.
    pub fn matches_object(&self, obj: &Value) -> bool {
        let empty = Map::new();
        let labels = obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        self.matches(labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn m(sel: &str, l: Value) -> bool {
        LabelSelector::parse(sel).unwrap().matches(&labels(l))
    }

    #[test]
    fn equality_and_sets() {
        assert!(m("app=web", json!({"app": "web"})));
        assert!(m("app==web", json!({"app": "web"})));
        assert!(!m("app=web", json!({"app": "db"})));
        assert!(!m("app=web", json!({})));
        assert!(m("app!=web", json!({})));
        assert!(m("app!=web", json!({"app": "db"})));
        assert!(m("env in (prod, qa)", json!({"env": "qa"})));
        assert!(!m("env in (prod)", json!({})));
        assert!(m("env notin (prod)", json!({})));
        assert!(!m("env notin (prod,qa)", json!({"env": "prod"})));
        assert!(m("app", json!({"app": ""})));
        assert!(m("!app", json!({"x": "y"})));
        assert!(!m("!app", json!({"app": "y"})));
        assert!(m("app=web,tier", json!({"app": "web", "tier": "x"})));
        assert!(!m("app=web,tier", json!({"app": "web"})));
        assert!(m("n>3", json!({"n": "4"})));
        assert!(!m("n<3", json!({"n": "x"})));
        assert!(m(
            "  app = web , env in ( a ) ",
            json!({"app": "web", "env": "a"})
        ));
        assert!(m("app=", json!({"app": ""})));
        assert!(m("x in (in, notin)", json!({"x": "notin"})));
        assert!(LabelSelector::parse("").unwrap().is_empty());
    }

    #[test]
    fn canonical_string() {
        let s = LabelSelector::parse("z=1,a in (c,b),!q").unwrap();
        assert_eq!(s.to_string(), "a in (b,c),!q,z=1");
    }

    #[test]
    fn parse_errors_read_like_upstream() {
        let e = |s: &str| LabelSelector::parse(s).unwrap_err();
        assert_eq!(
            e("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(e("a=b c"), "found 'c', expected: ',' or 'end of string'");
        assert_eq!(e("a=b,"), "found '', expected: identifier after ','");
        assert_eq!(
            e(",a"),
            "found ',', expected: !, identifier, or 'end of string'"
        );
        assert_eq!(
            e("a in b"),
            "unable to parse requirement: found 'b' expected: '('"
        );
        assert_eq!(
            e("a in (b"),
            "unable to parse requirement: found '', expected: ',' or ')'"
        );
        assert_eq!(
            e("!"),
            "unable to parse requirement: found '', expected: identifier"
        );
        assert_eq!(
            e("a=(b"),
            "unable to parse requirement: found '(', expected: identifier"
        );
        assert_eq!(
            e("A B/c/d"),
            "unable to parse requirement: found 'B/c/d', expected: in, notin, =, ==, !=, gt, lt"
        );
        assert_eq!(
            e("-a=b"),
            "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        assert_eq!(
            e("a=-b"),
            "unable to parse requirement: values[0][a]: Invalid value: \"-b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        assert_eq!(
            e("a>b"),
            "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
    }

    #[test]
    fn empty_values() {
        assert!(m("a in ()", json!({"a": ""})));
        assert!(m("a in (,b)", json!({"a": ""})));
        assert!(m("a in (b,)", json!({"a": ""})));
    }

    #[test]
    fn from_metav1_selector() {
        let sel = json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "zone", "operator": "Exists"}
            ]
        });
        let s = LabelSelector::from_match_labels_and_expressions(&sel).unwrap();
        assert!(s.matches(&labels(json!({"app": "web", "tier": "fe", "zone": "a"}))));
        assert!(!s.matches(&labels(json!({"app": "web", "tier": "fe"}))));
        assert!(!s.matches(&labels(
            json!({"app": "web", "tier": "fe", "zone": "a", "canary": "1"})
        )));
        assert_eq!(
            s.to_string(),
            "app=web,!canary,env notin (dev),tier in (be,fe),zone"
        );
        let none = LabelSelector::from_match_labels_and_expressions(&Value::Null).unwrap();
        assert!(!none.matches(&Map::new()));
        assert!(!none.is_empty());
        let all = LabelSelector::from_match_labels_and_expressions(&json!({})).unwrap();
        assert!(all.matches(&Map::new()));
        let bad = json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]});
        assert_eq!(
            LabelSelector::from_match_labels_and_expressions(&bad).unwrap_err(),
            "\"Foo\" is not a valid label selector operator"
        );
        let empty_in = json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]});
        assert_eq!(
            LabelSelector::from_match_labels_and_expressions(&empty_in).unwrap_err(),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
        );
    }
}
