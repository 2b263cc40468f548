//! `metadata.managedFields`: one entry per manager, operation, subresource
//! and (for Update) apiVersion, each with the FieldsV1 set it owns.
//!
//! Entries are kept as upstream encodes them: Apply entries first, then by
//! time, manager, apiVersion and subresource; an entry that owns nothing
//! is dropped.

use serde_json::{Map, Value, json};

use super::fieldpath::{FieldSet, Name, PathElement};

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
    /// What the entry owns; `None` until it is first needed, when it is
    /// read from `raw` (an apply that touches nothing of another manager's
    /// never reads its set).
    set: Option<FieldSet>,
    /// The FieldsV1 this entry was read from, reused when it is written
    /// back unchanged (encoding a large set costs more than the apply).
    raw: Option<Value>,
    /// `raw` is known to spell the set a caller of [`decode_lazily`]
    /// compares it with.
    vouched: bool,
}

impl Entry {
    /// A new entry owning `set`.
    pub fn new(
        manager: &str,
        operation: Operation,
        api_version: &str,
        subresource: Option<&str>,
        time: Option<String>,
        set: FieldSet,
    ) -> Entry {
        Entry {
            manager: manager.to_string(),
            operation,
            api_version: api_version.to_string(),
            subresource: subresource.map(str::to_string),
            time,
            set: Some(set),
            raw: None,
            vouched: false,
        }
    }

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

    /// The set the entry owns.
    pub fn set(&mut self) -> &FieldSet {
        self.read()
    }

    fn read(&mut self) -> &mut FieldSet {
        self.set.get_or_insert_with(|| {
            // `raw` was checked when the entry was decoded.
            self.raw
                .as_ref()
                .and_then(|r| FieldSet::from_fields_v1(r).ok())
                .unwrap_or_default()
        })
    }

    /// Changes the set with `f`, which says whether it changed anything;
    /// the FieldsV1 read is then stale.
    pub fn update(&mut self, f: impl FnOnce(&mut FieldSet) -> bool) -> bool {
        let changed = f(self.read());
        if changed {
            self.raw = None;
            self.vouched = false;
        }
        changed
    }

    /// Whether the FieldsV1 the entry was read from, unread and
    /// unchanged, spells exactly `set` (a quick check: false says nothing).
    pub fn spells(&self, set: &FieldSet) -> bool {
        match (&self.set, &self.raw) {
            (None, Some(raw)) => set.spelled_by(raw),
            _ => false,
        }
    }

    /// Whether [`decode_lazily`] was told the entry spells the set its
    /// caller had, and it is unchanged since.
    pub fn vouched(&self) -> bool {
        self.vouched
    }

    /// Gives a new entry the FieldsV1 its set was read from (the caller
    /// knows they agree), to be written back as it was.
    pub fn reuse(&mut self, raw: Option<Value>) {
        self.raw = raw;
    }

    /// The FieldsV1 the entry was read from, if unchanged since.
    pub fn into_raw(self) -> Option<Value> {
        self.raw
    }

    /// The set and the FieldsV1 it was read from, if unchanged since.
    pub fn into_parts(mut self) -> (FieldSet, Option<Value>) {
        self.read();
        (self.set.unwrap_or_default(), self.raw)
    }

    fn owns_nothing(&self) -> bool {
        match (&self.set, &self.raw) {
            (Some(set), _) => set.is_empty(),
            // A FieldsV1 document reads as an empty set only when it has
            // no element at the top.
            (None, Some(Value::Object(m))) => m.keys().all(|k| k == "."),
            (None, _) => true,
        }
    }
}

/// Reads `metadata.managedFields`; an error names the first bad entry.
pub fn decode(obj: &Value) -> Result<Vec<Entry>, String> {
    decode_with(obj, |e, raw| {
        e.set = Some(FieldSet::from_fields_v1(raw).map_err(|e| e.0)?);
        Ok(())
    })
}

/// [`decode`] that leaves reading each entry's FieldsV1 for when its set
/// is needed, only checking it can be read. An entry `vouch` says spells
/// the set about to be compared with it (see [`Entry::spells`]) is not
/// even checked.
pub fn decode_lazily(obj: &Value, vouch: impl Fn(&Entry) -> bool) -> Result<Vec<Entry>, String> {
    decode_with(obj, |e, raw| {
        if vouch(e) {
            e.vouched = true;
            Ok(())
        } else {
            FieldSet::check_fields_v1(raw).map_err(|e| e.0)
        }
    })
}

fn decode_with(
    obj: &Value,
    read: impl Fn(&mut Entry, &Value) -> Result<(), String>,
) -> Result<Vec<Entry>, String> {
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
        let raw = e.get("fieldsV1");
        let mut entry = Entry {
            manager: s("manager").to_string(),
            operation,
            api_version: s("apiVersion").to_string(),
            subresource: Some(s("subresource"))
                .filter(|x| !x.is_empty())
                .map(str::to_string),
            time: e.get("time").and_then(Value::as_str).map(str::to_string),
            set: None,
            raw: None,
            vouched: false,
        };
        match raw {
            Some(fields) => {
                entry.raw = Some(fields.clone());
                read(&mut entry, fields).map_err(|err| format!("managedFields[{i}]: {err}"))?;
            }
            None => entry.set = Some(FieldSet::new()),
        }
        match out.iter_mut().find(|x| {
            x.is(
                &entry.manager,
                entry.operation,
                &entry.api_version,
                entry.subresource.as_deref(),
            )
        }) {
            Some(x) => {
                let more = std::mem::take(entry.read());
                x.update(|set| {
                    set.union_with(more);
                    true
                });
            }
            None => out.push(entry),
        }
    }
    Ok(out)
}

/// The managedFields list of these entries, sorted, empty ones dropped.
pub fn encode(mut entries: Vec<Entry>) -> Value {
    entries.retain(|e| !e.owns_nothing());
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
                let fields = match (e.raw, e.set) {
                    (Some(raw), _) => raw,
                    (None, Some(set)) => set.to_fields_v1(),
                    (None, None) => Value::Object(Map::new()),
                };
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

/// The server's metadata as a set.
fn server_fields() -> FieldSet {
    let f = |s: &'static str| PathElement::Field(Name::from_static(s));
    let mut strip = FieldSet::new();
    strip.insert(&[f("apiVersion")]);
    strip.insert(&[f("kind")]);
    strip.insert(&[f("metadata")]);
    for m in STRIPPED_METADATA {
        strip.insert(&[f("metadata"), f(m)]);
    }
    strip
}

/// A set without the server's metadata and the fields out of scope: what
/// an entry stores.
pub fn filter(set: FieldSet, scope: Scope) -> FieldSet {
    let mut set = set;
    set.subtract(&server_fields());
    in_scope(set, scope)
}

/// Takes the server's metadata out of `set` (as [`filter`]), returning
/// what was taken, so that the set as it was is the union of the two.
pub fn take_server_fields(set: &mut FieldSet) -> FieldSet {
    let strip = server_fields();
    let taken = set.intersection(&strip);
    set.subtract(&strip);
    taken
}

/// A set without the fields out of scope. While an apply is computed the
/// applier's set keeps the server's metadata (the name, say), so that
/// pruning never takes `metadata` away; only the stored entry drops it.
pub fn in_scope(mut set: FieldSet, scope: Scope) -> FieldSet {
    let f = |s: &'static str| PathElement::Field(Name::from_static(s));
    match scope {
        Scope::Whole => {}
        Scope::AllButStatus => set.remove_prefix(&[f("status")]),
        Scope::OnlyStatus => set.retain_prefix(&[f("status")]),
    }
    set
}
