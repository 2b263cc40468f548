//! The errors of strategic merge patch, worded as upstream words them, and
//! the HTTP status kube-apiserver answers each with.
//!
//! Upstream maps a few sentinel errors to 400 and 422; every other error
//! reaches the client as a plain error, which kube-apiserver turns into a
//! 500 `Status` with an empty reason and the error's text as message
//! (kubectl prints `Error from server: map: map[image:nginx] does not
//! contain declared merge key: name`). Messages print JSON values the way
//! Go's `fmt` prints decoded JSON (`%v`): `map[k:v]` with sorted keys,
//! `[a b]`, `<nil>`.

use serde_json::Value;

/// A strategic merge patch that cannot be applied (or computed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// 400, reason `BadRequest`, this text as message, no details.
    #[error("{0}")]
    BadRequest(String),
    /// 422, reason `Invalid`, empty `details: {}`; upstream's
    /// `NewGenericServerResponse` drops this text and sends a fixed message
    /// (see [`PatchError::status_message`]).
    #[error("{0}")]
    Unprocessable(String),
    /// Every other error: kube-apiserver answers 500 with an empty reason
    /// and this text as message.
    #[error("{0}")]
    Internal(String),
}

impl PatchError {
    /// The HTTP status code kube-apiserver answers with.
    pub fn code(&self) -> u16 {
        match self {
            PatchError::BadRequest(_) => 400,
            PatchError::Unprocessable(_) => 422,
            PatchError::Internal(_) => 500,
        }
    }

    /// The `reason` of the `Status` (empty for 500s).
    pub fn reason(&self) -> &'static str {
        match self {
            PatchError::BadRequest(_) => "BadRequest",
            PatchError::Unprocessable(_) => "Invalid",
            PatchError::Internal(_) => "",
        }
    }

    /// Upstream's error text.
    pub fn message(&self) -> &str {
        match self {
            PatchError::BadRequest(m) | PatchError::Unprocessable(m) | PatchError::Internal(m) => m,
        }
    }

    /// The `message` of the `Status` kube-apiserver answers with.
    pub fn status_message(&self) -> &str {
        match self {
            PatchError::Unprocessable(_) => {
                "the server rejected our request due to an error in our request"
            }
            other => other.message(),
        }
    }
}

// The sentinel errors of `k8s.io/apimachinery/pkg/util/mergepatch`.

pub(crate) fn bad_json_doc() -> PatchError {
    PatchError::BadRequest("invalid JSON document".into())
}

pub(crate) fn no_list_of_lists() -> PatchError {
    PatchError::Unprocessable("lists of lists are not supported".into())
}

pub(crate) fn bad_format_primitive_list() -> PatchError {
    PatchError::BadRequest("invalid patch format of primitive list".into())
}

pub(crate) fn bad_format_retain_keys() -> PatchError {
    PatchError::BadRequest("invalid patch format of retainKeys".into())
}

pub(crate) fn bad_format_set_element_order() -> PatchError {
    PatchError::BadRequest("invalid patch format of setElementOrder list".into())
}

pub(crate) fn no_merge_key(map: &Value, key: &str) -> PatchError {
    PatchError::Internal(format!(
        "map: {} does not contain declared merge key: {key}",
        go_v(map)
    ))
}

/// `expected a <type>, but received a <type>`.
pub(crate) fn bad_arg_type(expected: GoType, actual: &Value) -> PatchError {
    PatchError::Internal(format!(
        "expected a {}, but received a {}",
        expected.name(),
        GoType::of(actual).name()
    ))
}

pub(crate) fn bad_patch_type(directive: &Value, map: &Value) -> PatchError {
    PatchError::Internal(format!(
        "unknown patch type: {} in map: {}",
        go_s(directive),
        go_v(map)
    ))
}

pub(crate) fn internal(message: impl Into<String>) -> PatchError {
    PatchError::Internal(message.into())
}

/// The Go type a decoded JSON value has in upstream's maps (integers stay
/// `int64`: kube-apiserver decodes patches preserving them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GoType {
    Nil,
    Bool,
    Int,
    Float,
    String,
    Map,
    Slice,
}

impl GoType {
    pub(crate) fn of(v: &Value) -> GoType {
        match v {
            Value::Null => GoType::Nil,
            Value::Bool(_) => GoType::Bool,
            Value::Number(n) if n.is_f64() => GoType::Float,
            Value::Number(_) => GoType::Int,
            Value::String(_) => GoType::String,
            Value::Array(_) => GoType::Slice,
            Value::Object(_) => GoType::Map,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            GoType::Nil => "<nil>",
            GoType::Bool => "bool",
            GoType::Int => "int64",
            GoType::Float => "float64",
            GoType::String => "string",
            GoType::Map => "map[string]interface {}",
            GoType::Slice => "[]interface {}",
        }
    }
}

/// Go's `%v` of a decoded JSON value.
pub(crate) fn go_v(v: &Value) -> String {
    let mut out = String::new();
    write_go(&mut out, v, false);
    out
}

/// Go's `%s` of a decoded JSON value (`%!s(int64=1)` for non-strings).
pub(crate) fn go_s(v: &Value) -> String {
    let mut out = String::new();
    write_go(&mut out, v, true);
    out
}

/// Go's `%v` of a list of lists (`fmt.Sprint` of `[][]interface{}`).
pub(crate) fn go_v_lists(lists: &[&[Value]]) -> String {
    let inner: Vec<String> = lists
        .iter()
        .map(|l| go_v(&Value::Array(l.to_vec())))
        .collect();
    format!("[{}]", inner.join(" "))
}

fn write_go(out: &mut String, v: &Value, s_verb: bool) {
    match v {
        Value::Null if s_verb => out.push_str("%!s(<nil>)"),
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) if s_verb => out.push_str(&format!("%!s(bool={b})")),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let text = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => i.to_string(),
                (None, Some(u), _) => u.to_string(),
                (None, None, Some(f)) => go_float(f),
                _ => n.to_string(),
            };
            if s_verb {
                let ty = GoType::of(v).name();
                out.push_str(&format!("%!s({ty}={text})"));
            } else {
                out.push_str(&text);
            }
        }
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(out, item, s_verb);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_go(out, &map[k], s_verb);
            }
            out.push(']');
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which `%v` uses: the
/// shortest digits that round-trip, in `%e` form when the decimal exponent
/// is below -4 or at least 6.
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `1.2345e6`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    // Plain decimal notation.
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        let zeros = "0".repeat((-point) as usize);
        format!("{sign}0.{zeros}{digits}")
    } else if (point as usize) >= digits.len() {
        let zeros = "0".repeat(point as usize - digits.len());
        format!("{sign}{digits}{zeros}")
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_formatting() {
        assert_eq!(
            go_v(&json!({"name": "a", "image": "nginx:1.21", "ports": [80, 443]})),
            "map[image:nginx:1.21 name:a ports:[80 443]]"
        );
        assert_eq!(go_v(&json!({"a": null, "b": true})), "map[a:<nil> b:true]");
        assert_eq!(go_s(&json!(1)), "%!s(int64=1)");
        assert_eq!(go_s(&json!("x")), "x");
        assert_eq!(go_s(&json!(null)), "%!s(<nil>)");
        assert_eq!(go_v(&json!(1.5)), "1.5");
        assert_eq!(go_v(&json!(1e6)), "1e+06");
        assert_eq!(go_v(&json!(123456.0)), "123456");
        assert_eq!(go_v(&json!(0.0001)), "0.0001");
        assert_eq!(go_v(&json!(0.00001)), "1e-05");
        assert_eq!(go_v(&json!(-2.5e-7)), "-2.5e-07");
        assert_eq!(
            go_v_lists(&[&[json!(1)], &[json!("a"), json!("b")]]),
            "[[1] [a b]]"
        );
    }
}
