//! Query parameters of resource requests, parsed once, as kube-apiserver
//! reads them: `url.ParseQuery` (pairs with a `;` or a bad `%` escape are
//! dropped), the first value of a repeated key wins, booleans are false
//! only for `0` and `false` (any case) and never an error, and integers
//! give strconv's error as a 400.

use rkube_api::status::ApiError;

/// Parameters that list, watch, get, write and delete requests share.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub watch: bool,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<i64>,
    pub continue_token: Option<String>,
    /// Upstream takes any int64; a negative value (which ends an upstream
    /// watch at once) reads as 0 here, the server's default.
    pub timeout_seconds: Option<u64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub field_validation: Option<String>,
    pub force: bool,
    pub grace_period_seconds: Option<i64>,
    pub propagation_policy: Option<String>,
    pub orphan_dependents: Option<bool>,
    pub include_object: Option<String>,
    pub pretty: bool,
}

/// `runtime.Convert_Slice_string_To_bool`: only `0` and `false` (Unicode
/// case-insensitively, as Go's `strings.EqualFold`) are false; anything
/// else, the empty string included, is true.
fn query_bool(value: &str) -> bool {
    let fold = |c: char| match c {
        // The one non-ASCII letter whose simple case folding is in "false".
        '\u{17f}' => 's',
        c => c.to_ascii_lowercase(),
    };
    !(value == "0" || value.chars().map(fold).eq("false".chars()))
}

/// `strconv.ParseBool`, for `pretty`, whose errors upstream ignores.
fn strconv_bool(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// `strconv.ParseInt(value, 10, 64)`, failing with Go's message, which
/// kube-apiserver returns as a 400.
fn parse_int(value: &str) -> Result<i64, ApiError> {
    value.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        ApiError::bad_request(format!(
            "strconv.ParseInt: parsing {}: {why}",
            go_quote(value)
        ))
    })
}

/// A string as Go's `%q` prints it.
fn go_quote(s: &str) -> String {
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

/// Go's `url.QueryUnescape`: `+` is a space, `%` takes two hex digits;
/// None for a malformed escape.
fn query_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(digit(hex[0]) << 4 | digit(hex[1]));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `url.ParseQuery` as `req.URL.Query()` uses it: the pairs it could
/// read, in order (a pair with a `;` or a bad escape is skipped).
fn parse_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|seg| !seg.is_empty() && !seg.contains(';'))
        .filter_map(|seg| {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            Some((query_unescape(k)?, query_unescape(v)?))
        })
        .collect()
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut q = Query::default();
        let Some(raw) = raw else { return Ok(q) };
        let pairs = parse_pairs(raw);
        let mut seen: Vec<&str> = Vec::new();
        for (key, v) in &pairs {
            let key = key.as_str();
            let v = v.as_str();
            if key == "dryRun" {
                // A list parameter: every value must be "All".
                if v != "All" {
                    return Err(ApiError::bad_request(format!(
                        "Invalid dryRun value: {v}; supported values: [\"All\"]"
                    )));
                }
                q.dry_run = true;
                continue;
            }
            // Upstream converts the first value of each key only.
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            match key {
                "watch" => q.watch = query_bool(v),
                "resourceVersion" => q.resource_version = Some(v.to_string()),
                "resourceVersionMatch" => q.resource_version_match = Some(v.to_string()),
                "labelSelector" => q.label_selector = Some(v.to_string()),
                "fieldSelector" => q.field_selector = Some(v.to_string()),
                "limit" => q.limit = Some(parse_int(v)?),
                "continue" => q.continue_token = Some(v.to_string()),
                "timeoutSeconds" => q.timeout_seconds = Some(parse_int(v)?.max(0) as u64),
                "allowWatchBookmarks" => q.allow_watch_bookmarks = query_bool(v),
                "sendInitialEvents" => q.send_initial_events = Some(query_bool(v)),
                "fieldManager" => q.field_manager = Some(v.to_string()),
                "fieldValidation" => q.field_validation = Some(v.to_string()),
                "force" => q.force = query_bool(v),
                "gracePeriodSeconds" => q.grace_period_seconds = Some(parse_int(v)?),
                "propagationPolicy" => q.propagation_policy = Some(v.to_string()),
                "orphanDependents" => q.orphan_dependents = Some(query_bool(v)),
                "includeObject" => q.include_object = Some(v.to_string()),
                "pretty" => q.pretty = strconv_bool(v),
                _ => {}
            }
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Query {
        Query::parse(Some(raw)).unwrap()
    }

    fn error(raw: &str) -> ApiError {
        Query::parse(Some(raw)).unwrap_err()
    }

    #[test]
    fn booleans_are_false_only_for_0_and_false() {
        for v in [
            "", "1", "true", "True", "yes", "no", "off", "f", "F", "garbage", "2",
        ] {
            let q = parse(&format!("watch={v}&allowWatchBookmarks={v}&force={v}"));
            assert!(q.watch && q.allow_watch_bookmarks && q.force, "{v:?}");
            let q = parse(&format!("sendInitialEvents={v}&orphanDependents={v}"));
            assert_eq!(
                (q.send_initial_events, q.orphan_dependents),
                (Some(true), Some(true))
            );
        }
        for v in ["0", "false", "False", "FALSE", "fAlSe", "fal%C5%BFe"] {
            let q = parse(&format!("watch={v}&force={v}&orphanDependents={v}"));
            assert!(!q.watch && !q.force, "{v:?}");
            assert_eq!(q.orphan_dependents, Some(false));
        }
        // A bare key is the empty string: true.
        assert!(parse("watch").watch);
        assert!(!parse("").watch);
    }

    #[test]
    fn pretty_is_strconv_parse_bool_with_errors_ignored() {
        assert!(parse("pretty=true").pretty);
        assert!(parse("pretty=1").pretty);
        assert!(!parse("pretty=yes").pretty);
        assert!(!parse("pretty=").pretty);
        assert!(!parse("pretty=0").pretty);
    }

    #[test]
    fn integers_fail_with_strconv_messages() {
        let e = error("limit=abc");
        assert_eq!((e.code, e.reason), (400, "BadRequest"));
        assert_eq!(
            e.message,
            "strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            error("timeoutSeconds=99999999999999999999").message,
            "strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
        );
        assert_eq!(
            error("gracePeriodSeconds=").message,
            "strconv.ParseInt: parsing \"\": invalid syntax"
        );
        assert_eq!(
            error("limit=1%0A").message,
            "strconv.ParseInt: parsing \"1\\n\": invalid syntax"
        );
        assert_eq!(parse("limit=-5").limit, Some(-5));
        assert_eq!(
            parse("gracePeriodSeconds=%2B3").grace_period_seconds,
            Some(3)
        );
        // '+' is a space in a query string, for Go too.
        assert_eq!(
            error("gracePeriodSeconds=+3").message,
            "strconv.ParseInt: parsing \" 3\": invalid syntax"
        );
        // Negative timeouts are int64s upstream, not a 400.
        assert_eq!(parse("timeoutSeconds=-1").timeout_seconds, Some(0));
        assert_eq!(parse("timeoutSeconds=300").timeout_seconds, Some(300));
    }

    #[test]
    fn the_first_value_of_a_key_wins() {
        let q = parse("limit=5&limit=abc&labelSelector=a%3Db&labelSelector=c");
        assert_eq!(q.limit, Some(5));
        assert_eq!(q.label_selector.as_deref(), Some("a=b"));
        assert!(!parse("watch=0&watch=1").watch);
        assert_eq!(
            error("limit=x&limit=5").message,
            "strconv.ParseInt: parsing \"x\": invalid syntax"
        );
    }

    #[test]
    fn unreadable_pairs_are_dropped_as_go_drops_them() {
        // A ';' in a pair, or a malformed escape, drops that pair only.
        let q = parse("limit=5;x=1&fieldSelector=a%3Db");
        assert_eq!(q.limit, None);
        assert_eq!(q.field_selector.as_deref(), Some("a=b"));
        assert_eq!(parse("limit=%zz&continue=t").limit, None);
        assert_eq!(parse("labelSelector=a%2").label_selector, None);
        assert_eq!(
            parse("labelSelector=a+b").label_selector.as_deref(),
            Some("a b")
        );
        assert_eq!(parse("&&limit=1&").limit, Some(1));
    }

    #[test]
    fn dry_run_takes_only_all() {
        assert!(parse("dryRun=All").dry_run);
        assert!(parse("dryRun=All&dryRun=All").dry_run);
        assert_eq!(error("dryRun=All&dryRun=x").code, 400);
        assert_eq!(error("dryRun=").code, 400);
    }

    #[test]
    fn go_quote_escapes_as_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\u{1}\u{7f}\t"), r#""\x01\x7f\t""#);
        assert_eq!(go_quote("é"), "\"é\"");
    }
}
