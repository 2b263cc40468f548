//! Field errors as upstream words them, Go-style value rendering, and small
//! accessors over JSON objects.

use serde_json::{Map, Value};

use crate::status::Cause;

// ---- accessors ----

/// The string at `key`, or "" when absent or not a string.
pub(crate) fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The array at `key`, or an empty slice.
pub(crate) fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The object at `key`, if any.
pub(crate) fn obj<'a>(v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

/// The integer at `key`, if any (null counts as absent).
pub(crate) fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// Whether `key` holds something other than null.
pub(crate) fn has(v: &Value, key: &str) -> bool {
    v.get(key).is_some_and(|x| !x.is_null())
}

/// The value at `key`, or null.
pub(crate) fn get<'a>(v: &'a Value, key: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.get(key).unwrap_or(&NULL)
}

// ---- Go rendering ----

/// A string quoted as Go's `%q` does.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON value printed as a field error prints a Go value of that shape:
/// strings quoted, numbers and booleans bare, null as "null".
pub(crate) fn render(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// A `map[string]string` as Go's `%#v` prints it (keys sorted).
pub(crate) fn go_string_map(v: Option<&Value>) -> String {
    let Some(m) = v.and_then(Value::as_object) else {
        return "map[string]string(nil)".to_string();
    };
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let items: Vec<String> = keys
        .iter()
        .map(|k| {
            let val = m[k.as_str()].as_str().unwrap_or_default();
            format!("{}:{}", go_quote(k), go_quote(val))
        })
        .collect();
    format!("map[string]string{{{}}}", items.join(", "))
}

/// A `[]string` as Go's `%#v` prints it.
pub(crate) fn go_string_slice(v: Option<&Value>) -> String {
    match v.and_then(Value::as_array) {
        None => "[]string(nil)".to_string(),
        Some(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|i| go_quote(i.as_str().unwrap_or_default()))
                .collect();
            format!("[]string{{{}}}", parts.join(", "))
        }
    }
}

/// A `*metav1.LabelSelector` as its generated `String()` prints it.
pub(crate) fn go_label_selector(v: &Value) -> String {
    if v.is_null() {
        return "null".to_string();
    }
    let mut labels = String::from("map[string]string{");
    if let Some(m) = obj(v, "matchLabels") {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        for k in keys {
            labels.push_str(&format!(
                "{k}: {},",
                m[k.as_str()].as_str().unwrap_or_default()
            ));
        }
    }
    labels.push('}');
    let mut exprs = String::from("[]LabelSelectorRequirement{");
    for e in arr(v, "matchExpressions") {
        let values: Vec<&str> = arr(e, "values").iter().filter_map(Value::as_str).collect();
        exprs.push_str(&format!(
            "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
            s(e, "key"),
            s(e, "operator"),
            values.join(" ")
        ));
    }
    exprs.push('}');
    format!("&LabelSelector{{MatchLabels:{labels},MatchExpressions:{exprs},}}")
}

// ---- field errors ----

pub(crate) fn required(field: impl Into<String>) -> Cause {
    Cause::required(field)
}

pub(crate) fn required_msg(field: impl Into<String>, detail: &str) -> Cause {
    if detail.is_empty() {
        Cause::required(field)
    } else {
        Cause::required_detail(field, detail)
    }
}

/// `Invalid value: <rendered>: <detail>` with the value already rendered.
pub(crate) fn invalid_raw(field: impl Into<String>, rendered: &str, detail: &str) -> Cause {
    let message = if detail.is_empty() {
        format!("Invalid value: {rendered}")
    } else {
        format!("Invalid value: {rendered}: {detail}")
    };
    Cause::with_detail(field, "FieldValueInvalid", message)
}

pub(crate) fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Cause {
    invalid_raw(field, &render(value), detail)
}

pub(crate) fn invalid_str(field: impl Into<String>, value: &str, detail: &str) -> Cause {
    invalid_raw(field, &go_quote(value), detail)
}

pub(crate) fn invalid_int(field: impl Into<String>, value: i64, detail: &str) -> Cause {
    invalid_raw(field, &value.to_string(), detail)
}

pub(crate) fn not_supported(field: impl Into<String>, value: &Value, supported: &[&str]) -> Cause {
    let list: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
    let message = format!(
        "Unsupported value: {}: supported values: {}",
        render(value),
        list.join(", ")
    );
    Cause::with_detail(field, "FieldValueNotSupported", message)
}

pub(crate) fn duplicate(field: impl Into<String>, value: &Value) -> Cause {
    duplicate_raw(field, &render(value))
}

pub(crate) fn duplicate_raw(field: impl Into<String>, rendered: &str) -> Cause {
    Cause::with_detail(
        field,
        "FieldValueDuplicate",
        format!("Duplicate value: {rendered}"),
    )
}

pub(crate) fn forbidden(field: impl Into<String>, detail: &str) -> Cause {
    Cause::forbidden(field, detail)
}

pub(crate) fn not_found(field: impl Into<String>, value: &Value) -> Cause {
    Cause::with_detail(
        field,
        "FieldValueNotFound",
        format!("Not found: {}", render(value)),
    )
}

/// `Too long: must have at most N bytes`.
pub(crate) fn too_long(field: impl Into<String>, max: usize) -> Cause {
    Cause::with_detail(
        field,
        "FieldValueTooLong",
        format!("Too long: must have at most {max} bytes"),
    )
}

/// `must be greater than or equal to 0` for a negative integer field.
pub(crate) fn nonnegative(field: &str, v: Option<i64>) -> Vec<Cause> {
    match v {
        Some(n) if n < 0 => vec![invalid_int(field, n, crate::validation::IS_NEGATIVE)],
        _ => Vec::new(),
    }
}

/// One cause per message of a name check.
pub(crate) fn each_msg(field: &str, value: &str, msgs: Vec<String>) -> Vec<Cause> {
    msgs.into_iter()
        .map(|m| invalid_str(field, value, &m))
        .collect()
}

/// Whether a JSON value is unset in the Go sense for a pointer/slice/map.
pub(crate) fn empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

/// Deep equality where null and absent are the same (Go's semantic equality
/// of two decoded objects).
pub(crate) fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None | Some(Value::Null), None | Some(Value::Null)) => true,
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys = x.keys().chain(y.keys());
            keys.into_iter().all(|k| same(x.get(k), y.get(k)))
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(Some(p), Some(q)))
        }
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_rendering() {
        assert_eq!(go_quote("a\"b\n"), "\"a\\\"b\\n\"");
        assert_eq!(
            go_string_map(Some(&json!({"b": "2", "a": "1"}))),
            "map[string]string{\"a\":\"1\", \"b\":\"2\"}"
        );
        assert_eq!(go_string_map(None), "map[string]string(nil)");
        assert_eq!(
            go_string_slice(Some(&json!(["a", "b"]))),
            "[]string{\"a\", \"b\"}"
        );
        assert_eq!(
            go_label_selector(&json!({"matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "k", "operator": "In", "values": ["a", "b"]}]})),
            "&LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,Operator:In,Values:[a b],},},}"
        );
        assert!(same(Some(&json!({"a": null})), Some(&json!({}))));
        assert!(!same(Some(&json!({"a": 1})), Some(&json!({}))));
    }
}
