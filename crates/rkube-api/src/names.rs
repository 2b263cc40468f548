//! Name and identifier rules: DNS-1123 subdomains and labels, RFC 1035
//! labels, path-segment names, qualified names (label keys), label values,
//! config keys and port names, with the messages kube-apiserver prints.
//!
//! Two families of length messages exist upstream: the older helpers (DNS
//! names) say "characters", the newer content helpers (label keys and values)
//! say "bytes". Both are reproduced as they are.

use serde_json::Value;

use crate::catalogue::ResourceDef;
use crate::status::Cause;

pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
pub const DNS1035_LABEL_MAX_LENGTH: usize = 63;
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;
pub const QUALIFIED_NAME_MAX_LENGTH: usize = 63;

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const LABEL_KEY_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const CONFIG_KEY_MSG: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

/// "must be no more than N characters" (the DNS helpers' wording).
pub fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// "must be no more than N bytes" (the label key/value helpers' wording).
pub fn max_len_bytes_error(length: usize) -> String {
    format!("must be no more than {length} bytes")
}

/// A regex failure explained with examples, as upstream words it.
pub fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let shown: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        shown.join(" or ")
    )
}

/// "must be between LO and HI, inclusive".
pub fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

fn lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn matches_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && lower_alnum(b[0])
        && lower_alnum(b[b.len() - 1])
        && b.iter().all(|&c| lower_alnum(c) || c == b'-')
}

fn matches_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(matches_dns1123_label)
}

fn matches_dns1035_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_lowercase()
        && lower_alnum(b[b.len() - 1])
        && b.iter().all(|&c| lower_alnum(c) || c == b'-')
}

fn matches_label_key_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Errors for a DNS-1123 label (at most 63 characters).
pub fn check_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// Errors for a DNS-1123 subdomain (at most 253 characters).
pub fn check_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// The subdomain check of the newer content helpers, which count bytes
/// (used for the prefix of label keys).
fn check_dns1123_subdomain_bytes(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_bytes_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Kept for callers that only need a yes/no: the messages joined by "; ".
pub fn is_dns1123_subdomain(s: &str) -> Result<(), String> {
    let errs = check_dns1123_subdomain(s);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Errors for an RFC 1035 label (service names).
pub fn check_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1035_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1035_LABEL_MAX_LENGTH));
    }
    if !matches_dns1035_label(value) {
        errs.push(regex_error(
            DNS1035_LABEL_MSG,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// Errors for a qualified name (a label key, annotation key, finalizer):
/// an optional DNS subdomain prefix and '/', then a name part.
pub fn check_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.len() {
        1 => parts[0],
        2 => {
            let prefix = parts[0];
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                for msg in check_dns1123_subdomain_bytes(prefix) {
                    errs.push(format!("prefix part {msg}"));
                }
            }
            parts[1]
        }
        _ => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_MSG, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_bytes_error(QUALIFIED_NAME_MAX_LENGTH)
        ));
    }
    if !matches_label_key_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_MSG,
                LABEL_KEY_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// Errors for a label value (empty, or at most 63 bytes of the key charset).
pub fn check_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_bytes_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !matches_label_key_name(value) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// Errors for a name that must be usable as one segment of a URL path.
pub fn check_path_segment_name(name: &str) -> Vec<String> {
    for illegal in [".", ".."] {
        if name == illegal {
            return vec![format!("may not be '{illegal}'")];
        }
    }
    check_path_segment_prefix(name)
}

/// Errors for a prefix of a path-segment name (generateName).
pub fn check_path_segment_prefix(name: &str) -> Vec<String> {
    ["/", "%"]
        .iter()
        .filter(|c| name.contains(*c))
        .map(|c| format!("may not contain '{c}'"))
        .collect()
}

fn chdir_prefix_errors(value: &str) -> Vec<String> {
    if value == "." {
        vec!["must not be '.'".to_string()]
    } else if value == ".." {
        vec!["must not be '..'".to_string()]
    } else if value.starts_with("..") {
        vec!["must not start with '..'".to_string()]
    } else {
        Vec::new()
    }
}

/// Errors for a ConfigMap or Secret data key.
pub fn check_config_map_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
    if !ok {
        errs.push(regex_error(
            CONFIG_KEY_MSG,
            CONFIG_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    errs.extend(chdir_prefix_errors(value));
    errs
}

/// Errors for a port name (IANA_SVC_NAME: at most 15 characters).
pub fn check_port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push(max_len_error(15));
    }
    let charset_ok = !port.is_empty() && port.bytes().all(|c| lower_alnum(c) || c == b'-');
    if !charset_ok {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !port.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

/// Errors for a port number (1..=65535).
pub fn check_port_num(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) {
        Vec::new()
    } else {
        vec![inclusive_range_error(1, 65535)]
    }
}

/// Errors for an environment variable name (the relaxed rule, GA upstream).
pub fn check_env_var_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.is_empty() {
        errs.push("environment variable name must be non-empty".to_string());
    }
    if value
        .chars()
        .any(|c| !c.is_ascii() || c.is_ascii_control() || c == '=')
    {
        errs.push("a valid environment variable name must consist only of printable ASCII characters other than '='".to_string());
    }
    errs
}

/// Errors for a C identifier.
pub fn check_c_identifier(value: &str) -> Vec<String> {
    let b = value.as_bytes();
    let ok = !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_');
    if ok {
        Vec::new()
    } else {
        vec![regex_error(
            "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'",
            "[A-Za-z_][A-Za-z0-9_]*",
            &["my_name", "MY_NAME", "MyName"],
        )]
    }
}

/// Which rule a resource's `metadata.name` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain: most resources.
    DnsSubdomain,
    /// DNS-1123 label: namespaces.
    DnsLabel,
    /// RFC 1035 label: services.
    Rfc1035Label,
    /// Anything that can be one URL path segment: RBAC objects.
    PathSegment,
}

impl NameRule {
    /// The messages for `name`; `prefix` is true for `generateName`, where a
    /// suffix will follow (so a trailing '-' is fine).
    pub fn check(self, name: &str, prefix: bool) -> Vec<String> {
        match self {
            NameRule::PathSegment => {
                if prefix {
                    check_path_segment_prefix(name)
                } else {
                    check_path_segment_name(name)
                }
            }
            rule => {
                let masked;
                let name = if prefix {
                    masked = mask_trailing_dash(name);
                    masked.as_str()
                } else {
                    name
                };
                match rule {
                    NameRule::DnsLabel => check_dns1123_label(name),
                    NameRule::Rfc1035Label => check_dns1035_label(name),
                    _ => check_dns1123_subdomain(name),
                }
            }
        }
    }
}

/// Upstream replaces a trailing '-' of a generateName before checking it,
/// dropping the character before the dash as well.
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        let cut = name.len() - 2;
        let mut base = name.get(..cut).unwrap_or("").to_string();
        base.push('a');
        base
    } else {
        name.to_string()
    }
}

/// The rule `metadata.name` of `def` follows, as kube-apiserver's validation
/// for that kind picks it.
pub fn name_rule(def: &ResourceDef) -> NameRule {
    match (def.group, def.kind) {
        ("", "Namespace") => NameRule::DnsLabel,
        ("", "Service") => NameRule::Rfc1035Label,
        (
            "rbac.authorization.k8s.io",
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding",
        ) => NameRule::PathSegment,
        ("authentication.k8s.io" | "authorization.k8s.io", _) => NameRule::PathSegment,
        _ => NameRule::DnsSubdomain,
    }
}

/// Causes for `metadata.generateName` and `metadata.name` of an object of
/// `def`. An empty name is not reported: the API server reports it itself
/// ("name or generateName is required").
pub fn validate_object_name(def: &ResourceDef, obj: &Value) -> Vec<Cause> {
    let rule = name_rule(def);
    let mut causes = Vec::new();
    let md = obj.get("metadata");
    let generate = md
        .and_then(|m| m.get("generateName"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !generate.is_empty() {
        for msg in rule.check(generate, true) {
            causes.push(Cause::invalid(
                "metadata.generateName",
                &Value::String(generate.to_string()),
                &msg,
            ));
        }
    }
    let name = md
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !name.is_empty() {
        for msg in rule.check(name, false) {
            causes.push(Cause::invalid(
                "metadata.name",
                &Value::String(name.to_string()),
                &msg,
            ));
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::ResourceDef;

    const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

    fn def(group: &'static str, kind: &'static str) -> ResourceDef {
        ResourceDef {
            group,
            versions: &["v1"],
            storage_version: "v1",
            kind,
            list_kind: "",
            plural: "",
            singular: "",
            namespaced: true,
            verbs: &[],
            short_names: &[],
            categories: &[],
            subresources: &[],
            stored: true,
        }
    }

    #[test]
    fn subdomain_messages() {
        assert!(check_dns1123_subdomain("example.com").is_empty());
        assert!(check_dns1123_subdomain("a").is_empty());
        assert_eq!(check_dns1123_subdomain("Example"), vec![SUBDOMAIN_MSG]);
        assert_eq!(check_dns1123_subdomain("a..b"), vec![SUBDOMAIN_MSG]);
        assert_eq!(check_dns1123_subdomain("-a"), vec![SUBDOMAIN_MSG]);
        let long = "a".repeat(254);
        assert_eq!(
            check_dns1123_subdomain(&long),
            vec!["must be no more than 253 characters".to_string()]
        );
        assert!(is_dns1123_subdomain("x.y").is_ok());
        assert!(is_dns1123_subdomain("X").is_err());
    }

    #[test]
    fn label_messages() {
        assert!(check_dns1123_label("my-name").is_empty());
        assert!(check_dns1123_label("123-abc").is_empty());
        assert_eq!(check_dns1123_label("a.b"), vec!["must not contain dots"]);
        assert_eq!(
            check_dns1123_label("Abc"),
            vec![
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
        assert_eq!(check_dns1123_label(&"a".repeat(64)).len(), 1);
        assert_eq!(
            check_dns1035_label("1abc"),
            vec![
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
    }

    #[test]
    fn qualified_names_and_values() {
        assert!(check_qualified_name("app").is_empty());
        assert!(check_qualified_name("example.com/MyName").is_empty());
        assert_eq!(
            check_qualified_name("/a"),
            vec!["prefix part must be non-empty"]
        );
        assert_eq!(
            check_qualified_name("a b"),
            vec![
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            ]
        );
        assert_eq!(
            check_qualified_name(&"a".repeat(64)),
            vec!["name part must be no more than 63 bytes"]
        );
        assert!(check_qualified_name("a/b/c")[0].starts_with("a valid label key must consist"));
        assert!(check_label_value("").is_empty());
        assert!(check_label_value("my_value").is_empty());
        assert_eq!(
            check_label_value(&"a".repeat(64)),
            vec!["must be no more than 63 bytes"]
        );
        assert_eq!(
            check_label_value("-x"),
            vec![
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            ]
        );
    }

    #[test]
    fn path_segments_and_keys() {
        assert_eq!(check_path_segment_name(".."), vec!["may not be '..'"]);
        assert_eq!(
            check_path_segment_name("a/b%"),
            vec!["may not contain '/'", "may not contain '%'"]
        );
        assert!(check_path_segment_name("system:node").is_empty());
        assert_eq!(check_path_segment_prefix("."), Vec::<String>::new());
        assert!(check_config_map_key("key.name").is_empty());
        assert_eq!(
            check_config_map_key("..a"),
            vec!["must not start with '..'"]
        );
        assert_eq!(check_config_map_key("a b").len(), 1);
        assert!(check_port_name("http").is_empty());
        assert_eq!(
            check_port_name("80"),
            vec!["must contain at least one letter (a-z)"]
        );
        assert_eq!(
            check_port_num(0),
            vec!["must be between 1 and 65535, inclusive"]
        );
    }

    #[test]
    fn rules_per_resource() {
        assert_eq!(name_rule(&def("", "Namespace")), NameRule::DnsLabel);
        assert_eq!(name_rule(&def("", "Service")), NameRule::Rfc1035Label);
        assert_eq!(name_rule(&def("", "Pod")), NameRule::DnsSubdomain);
        assert_eq!(
            name_rule(&def("rbac.authorization.k8s.io", "ClusterRole")),
            NameRule::PathSegment
        );
    }

    #[test]
    fn generate_name_allows_trailing_dash() {
        let pod = def("", "Pod");
        let obj = serde_json::json!({"metadata": {"generateName": "web-", "name": "web-abcde"}});
        assert!(validate_object_name(&pod, &obj).is_empty());
        let bad = serde_json::json!({"metadata": {"generateName": "Web-", "name": "Web-abcde"}});
        let causes = validate_object_name(&pod, &bad);
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].field, "metadata.generateName");
        assert_eq!(causes[1].field, "metadata.name");
        assert_eq!(
            causes[1].message,
            format!("Invalid value: \"Web-abcde\": {SUBDOMAIN_MSG}")
        );
        let svc = def("", "Service");
        let obj = serde_json::json!({"metadata": {"name": "1web"}});
        assert_eq!(validate_object_name(&svc, &obj).len(), 1);
    }
}
