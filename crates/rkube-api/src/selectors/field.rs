//! Field selectors: `a=b`, `a==b`, `a!=b`, joined by commas, with `\,`,
//! `\=` and `\\` escapes in values, over the fields each resource supports
//! (metadata.name and metadata.namespace everywhere, plus per-resource ones
//! such as spec.nodeName and status.phase for pods).
//!
//! Parsing, the supported field sets, their error messages and the values
//! fields take (a missing field reads as "", booleans as "true"/"false",
//! counters as decimal) follow kube-apiserver.

use serde_json::Value;

use crate::catalogue::ResourceDef;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: String,
    /// `=`/`==` when true, `!=` when false.
    equal: bool,
    value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    requirements: Vec<Term>,
}

impl FieldSelector {
    /// Parse and check every field against what `def` supports; the error is
    /// the message of upstream's 400 (`field label not supported: x`).
    pub fn parse(s: &str, def: &ResourceDef) -> Result<Self, String> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            let value = unescape_value(rhs)?;
            terms.push(Term {
                field: lhs.to_string(),
                equal: op != "!=",
                value,
            });
        }
        for t in &mut terms {
            t.field = convert_field_label(def, &t.field)?;
        }
        Ok(FieldSelector {
            requirements: terms,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, def: &ResourceDef, obj: &Value) -> bool {
        self.requirements.iter().all(|t| {
            let actual = field_value(def, obj, &t.field);
            (actual == t.value) == t.equal
        })
    }

    /// The value `field` must equal for a match, when the selector pins it
    /// (`spec.nodeName=n1`), as upstream's `RequiresExactMatch`.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|t| t.equal && t.field == field)
            .map(|t| t.value.as_str())
    }
}

impl std::fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|t| {
                let op = if t.equal { "=" } else { "!=" };
                format!("{}{op}{}", t.field, escape_value(&t.value))
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// Escape `\`, `,` and `=` in a value.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Undo [`escape_value`]; unescaped `,`/`=` and unknown escapes are errors.
pub fn unescape_value(s: &str) -> Result<String, String> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{c}"
                    ));
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                ));
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

/// Split on commas that are not escaped.
fn split_terms(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(s[start..i].to_string());
            start = i + 1;
        }
    }
    terms.push(s[start..].to_string());
    terms
}

/// The first operator in the term, trying `!=`, `==` then `=` at each place.
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], op, value));
            }
        }
    }
    None
}

const POD_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
];

const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    "metadata.namespace",
    "metadata.name",
];

/// events.k8s.io field names and the core field they select on.
const EVENTS_V1_FIELDS: &[(&str, &str)] = &[
    ("reason", "reason"),
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    (
        "regarding.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reportingController", "reportingComponent"),
    ("source", "source"),
    ("type", "type"),
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
];

/// The field labels supported for a kind that has its own list upstream.
fn supported_fields(def: &ResourceDef) -> Option<&'static [&'static str]> {
    Some(match (def.group, def.kind) {
        ("", "Pod") => POD_FIELDS,
        ("", "Node") => &["metadata.name", "spec.unschedulable"],
        ("", "ReplicationController") => {
            &["metadata.name", "metadata.namespace", "status.replicas"]
        }
        ("", "Event") => EVENT_FIELDS,
        ("", "Namespace") => &["status.phase", "metadata.name"],
        ("", "Secret") => &["type", "metadata.namespace", "metadata.name"],
        ("", "Service") => &[
            "metadata.namespace",
            "metadata.name",
            "spec.clusterIP",
            "spec.type",
        ],
        ("batch", "Job") => &["metadata.name", "metadata.namespace", "status.successful"],
        ("certificates.k8s.io", "CertificateSigningRequest" | "ClusterTrustBundle") => {
            &["metadata.name", "spec.signerName"]
        }
        ("certificates.k8s.io", "PodCertificateRequest") => &[
            "metadata.name",
            "spec.signerName",
            "spec.podName",
            "spec.nodeName",
        ],
        ("resource.k8s.io", "ResourceSlice") => &["metadata.name", "spec.nodeName", "spec.driver"],
        _ => return None,
    })
}

/// What kube-apiserver's field-label conversion does with `label` for this
/// kind: the (possibly renamed) label, or the 400 message.
fn convert_field_label(def: &ResourceDef, label: &str) -> Result<String, String> {
    if def.group == "events.k8s.io" && def.kind == "Event" {
        return EVENTS_V1_FIELDS
            .iter()
            .find(|(from, _)| *from == label)
            .map(|(_, to)| to.to_string())
            .ok_or_else(|| format!("field label not supported: {label}"));
    }
    if def.group.is_empty() && def.kind == "Pod" && label == "spec.host" {
        return Ok("spec.nodeName".to_string());
    }
    match supported_fields(def) {
        Some(fields) if fields.contains(&label) => Ok(label.to_string()),
        Some(_) => Err(match (def.group, def.kind) {
            ("batch", "Job") => format!("field label {label:?} not supported for batchv1.Job"),
            ("resource.k8s.io", "ResourceSlice") => format!(
                "field label not supported for {}, Kind=ResourceSlice: {label}",
                def.group_version(def.storage_version)
            ),
            _ => format!("field label not supported: {label}"),
        }),
        None if label == "metadata.name" || label == "metadata.namespace" => Ok(label.to_string()),
        None => Err(format!(
            "{label:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        )),
    }
}

fn text_at(obj: &Value, dotted: &str) -> String {
    let mut cur = obj;
    for part in dotted.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return String::new(),
        }
    }
    scalar_text(cur)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn bool_at(obj: &Value, dotted: &str) -> String {
    let v = obj.pointer(&format!("/{}", dotted.replace('.', "/")));
    v.and_then(Value::as_bool).unwrap_or(false).to_string()
}

fn int_at(obj: &Value, pointer: &str) -> String {
    obj.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string()
}

/// The value a field takes in the set upstream's `GetAttrs` builds for an
/// object; fields outside that set read as "".
pub fn field_value(def: &ResourceDef, obj: &Value, field: &str) -> String {
    match field {
        "metadata.name" => return text_at(obj, field),
        "metadata.namespace" if !def.namespaced => return String::new(),
        "metadata.namespace" => return text_at(obj, field),
        _ => {}
    }
    match (def.group, def.kind, field) {
        ("", "Pod", "spec.hostNetwork") => bool_at(obj, field),
        ("", "Pod", "status.podIP") => obj
            .pointer("/status/podIPs/0/ip")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| text_at(obj, "status.podIP")),
        ("", "Pod", "status.podIPs") => String::new(),
        ("", "Pod", _) => text_at(obj, field),
        ("", "Node", "spec.unschedulable") => bool_at(obj, field),
        ("", "ReplicationController", "status.replicas") => int_at(obj, "/status/replicas"),
        ("apps", "ReplicaSet", "status.replicas") => int_at(obj, "/status/replicas"),
        ("batch", "Job", "status.successful") => int_at(obj, "/status/succeeded"),
        ("", "Event", "source") => {
            let s = text_at(obj, "source.component");
            if s.is_empty() {
                text_at(obj, "reportingComponent")
            } else {
                s
            }
        }
        ("events.k8s.io", "Event", _) => events_v1_value(obj, field),
        _ => text_at(obj, field),
    }
}

/// Fields of an events.k8s.io/v1 Event under their core names.
fn events_v1_value(obj: &Value, field: &str) -> String {
    if let Some(rest) = field.strip_prefix("involvedObject.") {
        return text_at(obj, &format!("regarding.{rest}"));
    }
    match field {
        "reportingComponent" => text_at(obj, "reportingController"),
        "source" => {
            let s = text_at(obj, "deprecatedSource.component");
            if s.is_empty() {
                text_at(obj, "reportingController")
            } else {
                s
            }
        }
        _ => text_at(obj, field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(group: &'static str, kind: &'static str, namespaced: bool) -> ResourceDef {
        ResourceDef {
            group,
            versions: &["v1"],
            storage_version: "v1",
            kind,
            list_kind: "",
            plural: "",
            singular: "",
            namespaced,
            verbs: &[],
            short_names: &[],
            categories: &[],
            subresources: &[],
            stored: true,
        }
    }

    #[test]
    fn pods() {
        let pods = def("", "Pod", true);
        let pod = json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}]}
        });
        let sel = |s: &str| FieldSelector::parse(s, &pods).unwrap();
        assert!(sel("spec.nodeName=n1").matches(&pods, &pod));
        assert!(sel("spec.nodeName==n1,status.phase=Running").matches(&pods, &pod));
        assert!(!sel("status.phase!=Running").matches(&pods, &pod));
        assert!(sel("spec.hostNetwork=false").matches(&pods, &pod));
        assert!(sel("status.podIP=10.0.0.5").matches(&pods, &pod));
        assert!(sel("spec.schedulerName=").matches(&pods, &pod));
        assert!(sel("spec.host=n1").matches(&pods, &pod));
        assert!(sel("metadata.name=web,metadata.namespace=default").matches(&pods, &pod));
        assert_eq!(
            sel("spec.nodeName=n1").requires_exact_match("spec.nodeName"),
            Some("n1")
        );
        assert_eq!(
            FieldSelector::parse("foo=bar", &pods).unwrap_err(),
            "field label not supported: foo"
        );
    }

    #[test]
    fn per_resource_sets_and_messages() {
        let cms = def("", "ConfigMap", true);
        assert_eq!(
            FieldSelector::parse("data.x=1", &cms).unwrap_err(),
            "\"data.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        let jobs = def("batch", "Job", true);
        assert_eq!(
            FieldSelector::parse("spec.x=1", &jobs).unwrap_err(),
            "field label \"spec.x\" not supported for batchv1.Job"
        );
        let job = json!({"metadata": {"name": "j"}, "status": {"succeeded": 1}});
        assert!(
            FieldSelector::parse("status.successful=1", &jobs)
                .unwrap()
                .matches(&jobs, &job)
        );
        let nodes = def("", "Node", false);
        assert!(FieldSelector::parse("metadata.namespace=x", &nodes).is_err());
        let node = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
        assert!(
            FieldSelector::parse("spec.unschedulable=true", &nodes)
                .unwrap()
                .matches(&nodes, &node)
        );
        let ns = def("", "Namespace", false);
        let obj = json!({"metadata": {"name": "a"}, "status": {"phase": "Active"}});
        assert!(
            FieldSelector::parse("status.phase=Active", &ns)
                .unwrap()
                .matches(&ns, &obj)
        );
        let secrets = def("", "Secret", true);
        let s = json!({"metadata": {"name": "s"}, "type": "Opaque"});
        assert!(
            FieldSelector::parse("type=Opaque", &secrets)
                .unwrap()
                .matches(&secrets, &s)
        );
        let events = def("", "Event", true);
        let e = json!({"involvedObject": {"kind": "Pod", "name": "p"}, "reportingComponent": "kubelet"});
        let sel = FieldSelector::parse("involvedObject.kind=Pod,source=kubelet", &events).unwrap();
        assert!(sel.matches(&events, &e));
        let ev1 = def("events.k8s.io", "Event", true);
        let e1 = json!({"regarding": {"kind": "Pod"}, "reportingController": "kubelet"});
        let sel =
            FieldSelector::parse("regarding.kind=Pod,reportingController=kubelet", &ev1).unwrap();
        assert!(sel.matches(&ev1, &e1));
        let rs = def("apps", "ReplicaSet", true);
        assert!(FieldSelector::parse("status.replicas=1", &rs).is_err());
    }

    #[test]
    fn syntax() {
        let cms = def("", "ConfigMap", true);
        assert_eq!(
            FieldSelector::parse("metadata.name", &cms).unwrap_err(),
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
        );
        let sel = FieldSelector::parse("metadata.name=a\\,b", &cms).unwrap();
        assert!(sel.matches(&cms, &json!({"metadata": {"name": "a,b"}})));
        assert_eq!(sel.to_string(), "metadata.name=a\\,b");
        assert_eq!(
            FieldSelector::parse("metadata.name=a=b", &cms).unwrap_err(),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            FieldSelector::parse("metadata.name=a\\b", &cms).unwrap_err(),
            "invalid field selector: invalid escape sequence: \\b"
        );
        assert!(FieldSelector::parse(",,", &cms).unwrap().is_empty());
        let cluster = def("", "ClusterThing", false);
        let sel = FieldSelector::parse("metadata.namespace=", &cluster).unwrap();
        assert!(sel.matches(&cluster, &json!({"metadata": {"name": "x"}})));
        assert!(FieldSelector::parse("metadata.name = x", &cms).is_err());
    }
}
