//! `metadata.managedFields`: one entry per manager, operation, subresource
//! and (for Update) apiVersion, each with the FieldsV1 set it owns.
//!
//! Entries are kept as upstream encodes them: Apply entries first, then by
//! time, manager, apiVersion and subresource; an entry that owns nothing
//! is dropped.

use serde_json::{Map, Value, json};

use super::fieldpath::{FieldSet, PathElement};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One managedFields entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub subresource: Option<String>,
    pub time: Option<String>,
    pub set: FieldSet,
    /// The FieldsV1 this entry was read from, reused when it is written
    /// back unchanged (encoding a large set costs more than the apply).
    pub raw: Option<Value>,
}

impl Entry {
    /// Whether `self` is the entry of this writer. Appliers keep one
    /// entry whatever version they apply in; updaters one per version.
    pub fn is(
        &self,
        manager: &str,
        operation: Operation,
        api_version: &str,
        subresource: Option<&str>,
    ) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
            && (operation == Operation::Apply || self.api_version == api_version)
    }

    /// The manager as conflict messages name it.
    pub fn display(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            s.push_str(&format!(" with subresource {sub:?}"));
        }
        if self.operation == Operation::Update {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// Reads `metadata.managedFields`; an error names the first bad entry.
pub fn decode(obj: &Value) -> Result<Vec<Entry>, String> {
    let Some(list) = obj.pointer("/metadata/managedFields") else {
        return Ok(Vec::new());
    };
    if list.is_null() {
        return Ok(Vec::new());
    }
    let list = list
        .as_array()
        .ok_or("metadata.managedFields must be a list")?;
    let mut out: Vec<Entry> = Vec::with_capacity(list.len());
    for (i, e) in list.iter().enumerate() {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
        let operation = match s("operation") {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            other => return Err(format!("managedFields[{i}]: unknown operation {other:?}")),
        };
        if s("fieldsType") != "FieldsV1" {
            return Err(format!(
                "managedFields[{i}]: invalid fieldsType {:?}",
                s("fieldsType")
            ));
        }
        let set = FieldSet::from_fields_v1(e.get("fieldsV1").unwrap_or(&json!({})))
            .map_err(|err| format!("managedFields[{i}]: {}", err.0))?;
        let entry = Entry {
            manager: s("manager").to_string(),
            operation,
            api_version: s("apiVersion").to_string(),
            subresource: Some(s("subresource"))
                .filter(|x| !x.is_empty())
                .map(str::to_string),
            time: e.get("time").and_then(Value::as_str).map(str::to_string),
            set,
            raw: e.get("fieldsV1").cloned(),
        };
        match out.iter_mut().find(|x| {
            x.is(
                &entry.manager,
                entry.operation,
                &entry.api_version,
                entry.subresource.as_deref(),
            )
        }) {
            Some(x) => {
                x.set.union_with(entry.set);
                x.raw = None;
            }
            None => out.push(entry),
        }
    }
    Ok(out)
}

/// The managedFields list of these entries, sorted, empty ones dropped.
pub fn encode(mut entries: Vec<Entry>) -> Value {
    entries.retain(|e| !e.set.is_empty());
    entries.sort_by(|a, b| {
        a.operation
            .cmp(&b.operation)
            .then_with(|| seconds(&a.time).cmp(&seconds(&b.time)))
            .then_with(|| a.manager.cmp(&b.manager))
            .then_with(|| a.api_version.cmp(&b.api_version))
            .then_with(|| a.subresource.cmp(&b.subresource))
    });
    Value::Array(
        entries
            .into_iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("manager".into(), json!(e.manager));
                m.insert("operation".into(), json!(e.operation.as_str()));
                m.insert("apiVersion".into(), json!(e.api_version));
                if let Some(t) = e.time {
                    m.insert("time".into(), json!(t));
                }
                m.insert("fieldsType".into(), json!("FieldsV1"));
                let fields = e.raw.unwrap_or_else(|| e.set.to_fields_v1());
                m.insert("fieldsV1".into(), fields);
                if let Some(s) = e.subresource {
                    m.insert("subresource".into(), json!(s));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// Seconds since the epoch of an RFC 3339 time (sorting is by whole
/// seconds upstream); 0 when absent or unreadable.
fn seconds(t: &Option<String>) -> i64 {
    t.as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.timestamp())
        .unwrap_or(0)
}

/// Metadata the server owns: never in anyone's set.
const STRIPPED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
];

/// Which part of the object a write may own: the main resource does not
/// own `status` when the kind has a status subresource, and the status
/// subresource owns nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Whole,
    AllButStatus,
    OnlyStatus,
}

/// A set without the server's metadata and the fields out of scope: what
/// an entry stores.
pub fn filter(set: FieldSet, scope: Scope) -> FieldSet {
    let f = |s: &str| PathElement::Field(s.to_string());
    let mut strip = FieldSet::new();
    strip.insert(&[f("apiVersion")]);
    strip.insert(&[f("kind")]);
    strip.insert(&[f("metadata")]);
    for m in STRIPPED_METADATA {
        strip.insert(&[f("metadata"), f(m)]);
    }
    let mut set = set;
    set.subtract(&strip);
    in_scope(set, scope)
}

/// A set without the fields out of scope. While an apply is computed the
/// applier's set keeps the server's metadata (the name, say), so that
/// pruning never takes `metadata` away; only the stored entry drops it.
pub fn in_scope(mut set: FieldSet, scope: Scope) -> FieldSet {
    let f = |s: &str| PathElement::Field(s.to_string());
    match scope {
        Scope::Whole => {}
        Scope::AllButStatus => set.remove_prefix(&[f("status")]),
        Scope::OnlyStatus => set.retain_prefix(&[f("status")]),
    }
    set
}
