//! Field access and the formatting rules upstream's printers share: ages,
//! label maps, label selectors, container lists.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};

/// The string at a JSON pointer, or "" when absent or not a string.
pub(crate) fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The integer at a JSON pointer, or 0.
pub(crate) fn i(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// The boolean at a JSON pointer, or false.
pub(crate) fn b(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).and_then(Value::as_bool).unwrap_or(false)
}

/// The array at a JSON pointer, or an empty slice.
pub(crate) fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The object at a JSON pointer, if there is one.
pub(crate) fn map<'a>(v: &'a Value, ptr: &str) -> Option<&'a Map<String, Value>> {
    v.pointer(ptr).and_then(Value::as_object)
}

/// The number of entries of the array or map at a JSON pointer.
pub(crate) fn count(v: &Value, ptr: &str) -> i64 {
    match v.pointer(ptr) {
        Some(Value::Array(a)) => a.len() as i64,
        Some(Value::Object(m)) => m.len() as i64,
        _ => 0,
    }
}

/// Whether the field at a JSON pointer is present and not null.
pub(crate) fn has(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).is_some_and(|x| !x.is_null())
}

/// `value`, or `fallback` when it is empty.
pub(crate) fn or(value: &str, fallback: &str) -> String {
    if value.is_empty() { fallback } else { value }.to_string()
}

/// A quantity, int-or-string or any scalar as text ("" for null).
pub(crate) fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// A duration the way `kubectl get` prints ages: about two significant
/// figures, `5s`, `2m30s`, `45m`, `3h5m`, `22h`, `3d4h`, `120d`, `2y30d`.
/// Up to one second in the future still reads `0s`; further is `<invalid>`.
pub fn human_duration(d: TimeDelta) -> String {
    // Whole seconds, truncated toward zero.
    let seconds = d.num_milliseconds() / 1000;
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

/// An RFC 3339 timestamp (seconds or micro-seconds precision).
pub(crate) fn parse_time(ts: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Time elapsed since a timestamp; `<unknown>` when there is none.
pub(crate) fn since(ts: &str, now: DateTime<Utc>) -> String {
    match parse_time(ts) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_string(),
    }
}

/// The `Created At` cell of the default table: RFC 3339 in UTC, seconds.
pub(crate) fn created_at(obj: &Value) -> Value {
    match parse_time(s(obj, "/metadata/creationTimestamp")) {
        Some(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => Value::Null,
    }
}

/// A label map as `k=v,k2=v2` sorted by key; `<none>` when empty.
pub(crate) fn labels(v: Option<&Value>) -> String {
    let Some(m) = v.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return "<none>".to_string();
    };
    let mut pairs: Vec<(&String, String)> = m.iter().map(|(k, v)| (k, text(Some(v)))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A `LabelSelector` in selector syntax (`app=web,tier in (a,b),!legacy`),
/// requirements sorted by key; "" for a missing or empty selector. Err for
/// a selector that does not parse.
pub(crate) fn selector(sel: Option<&Value>) -> Result<String, ()> {
    let Some(sel) = sel.filter(|v| !v.is_null()) else {
        return Ok(String::new());
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            reqs.push((k.clone(), format!("{k}={}", text(Some(v)))));
        }
    }
    for e in arr(sel, "/matchExpressions") {
        let key = s(e, "/key");
        let mut values: Vec<String> = arr(e, "/values").iter().map(|v| text(Some(v))).collect();
        values.sort();
        let req = match (s(e, "/operator"), values.is_empty()) {
            ("In", false) => format!("{key} in ({})", values.join(",")),
            ("NotIn", false) => format!("{key} notin ({})", values.join(",")),
            ("Exists", true) => key.to_string(),
            ("DoesNotExist", true) => format!("!{key}"),
            _ => return Err(()),
        };
        reqs.push((key.to_string(), req));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(","))
}

/// A selector for display: `<none>` when empty, `<error>` when invalid.
pub(crate) fn label_selector(sel: Option<&Value>) -> String {
    match selector(sel) {
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
        Err(()) => "<error>".to_string(),
    }
}

/// Container names and images, each comma-joined.
pub(crate) fn containers(list: &[Value]) -> (String, String) {
    let names: Vec<&str> = list.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = list.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

/// `True`/`False` for a set boolean, `<unset>` otherwise.
pub(crate) fn bool_ptr(v: Option<&Value>) -> String {
    match v.and_then(Value::as_bool) {
        Some(true) => "True".to_string(),
        Some(false) => "False".to_string(),
        None => "<unset>".to_string(),
    }
}

/// The first `max` entries, comma-joined, with ` + N more...` when longer;
/// `<unset>` when empty.
pub(crate) fn list_with_more(list: &[String], total: usize, max: usize) -> String {
    let joined = list.join(",");
    if total > max {
        format!("{joined} + {} more...", total - max)
    } else if joined.is_empty() {
        "<unset>".to_string()
    } else {
        joined
    }
}

/// `host:port`, with brackets around IPv6 hosts.
pub(crate) fn host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Distinct load-balancer ingress points (IP, else hostname), sorted and
/// comma-joined.
pub(crate) fn load_balancer(ingress: &[Value]) -> String {
    let mut out: Vec<&str> = ingress
        .iter()
        .map(|i| match s(i, "/ip") {
            "" => s(i, "/hostname"),
            ip => ip,
        })
        .filter(|x| !x.is_empty())
        .collect();
    out.sort_unstable();
    out.dedup();
    out.join(",")
}

/// `group/resource` style names: `Kind.group` lower-cased, or just the
/// lower-cased kind for the core group.
pub(crate) fn group_kind(api_version: &str, kind: &str) -> String {
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    if group.is_empty() {
        kind.to_lowercase()
    } else {
        format!("{kind}.{group}").to_lowercase()
    }
}
