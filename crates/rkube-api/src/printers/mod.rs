//! Server-side printing: the Table columns kube-apiserver serves for each
//! built-in type, so `kubectl get` output reads the same.
//!
//! One [`Printer`] per (group, plural) holds the columns and the function
//! that renders one object into cells; the files of this module hold them
//! by API group. Resources without a printer get the default table of
//! upstream's default table convertor: `Name` and `Created At`.
//!
//! kube-apiserver always renders the wide form (`-o wide` columns have
//! priority 1 and kubectl hides them unless asked), so every printer
//! returns one cell per column.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::catalogue::ResourceDef;

mod admission;
mod apps;
mod autoscaling;
mod batch;
mod cluster;
mod core;
mod core_pods;
mod core_volumes;
mod format;
mod networking;
mod storage;

#[cfg(test)]
mod tests;

pub use format::human_duration;

/// One column of a Table (`meta.k8s.io/v1` TableColumnDefinition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub type_: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    /// 0 for columns shown always, higher for `-o wide` only.
    pub priority: u32,
}

impl Column {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// A column shown by default.
pub(crate) const fn col(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        priority: 0,
    }
}

/// A column shown with `-o wide` only.
pub(crate) const fn wide(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
) -> Column {
    Column {
        priority: 1,
        ..col(name, type_, description)
    }
}

pub(crate) const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    priority: 0,
};
const CREATED_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
pub(crate) const CREATED: Column = col("Created At", "date", CREATED_DESCRIPTION);
/// `Age`: the creation timestamp, printed as a duration.
pub(crate) const AGE: Column = col("Age", "string", CREATED_DESCRIPTION);
pub(crate) const CONTAINERS: Column = wide(
    "Containers",
    "string",
    "Names of each container in the template.",
);
pub(crate) const IMAGES: Column = wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);

/// The default table: name and creation time.
const DEFAULT_COLUMNS: &[Column] = &[NAME, CREATED];

/// What a cell function sees: the object and the time ages are measured to.
pub(crate) struct Row<'a> {
    pub obj: &'a Value,
    pub now: DateTime<Utc>,
}

impl Row<'_> {
    /// The object's name.
    pub fn name(&self) -> Value {
        Value::String(format::s(self.obj, "/metadata/name").to_string())
    }

    /// The `Age` cell.
    pub fn age(&self) -> Value {
        Value::String(self.since(format::s(self.obj, "/metadata/creationTimestamp")))
    }

    /// Time since an RFC 3339 timestamp, as upstream prints it.
    pub fn since(&self, timestamp: &str) -> String {
        format::since(timestamp, self.now)
    }
}

/// The table of one resource.
pub struct Printer {
    pub group: &'static str,
    pub plural: &'static str,
    pub columns: &'static [Column],
    /// One cell per column.
    pub(crate) cells: fn(&Row) -> Vec<Value>,
}

/// Every printer, by API group.
const PRINTERS: &[&[Printer]] = &[
    core_pods::PRINTERS,
    self::core::PRINTERS,
    core_volumes::PRINTERS,
    apps::PRINTERS,
    autoscaling::PRINTERS,
    batch::PRINTERS,
    networking::PRINTERS,
    storage::PRINTERS,
    admission::PRINTERS,
    cluster::PRINTERS,
];

/// The printer of a resource, if upstream has one.
pub fn printer(group: &str, plural: &str) -> Option<&'static Printer> {
    PRINTERS
        .iter()
        .flat_map(|p| p.iter())
        .find(|p| p.group == group && p.plural == plural)
}

/// Every printer (for tests and documentation).
pub fn all_printers() -> impl Iterator<Item = &'static Printer> {
    PRINTERS.iter().flat_map(|p| p.iter())
}

/// The columns for a resource.
pub fn columns(def: &ResourceDef) -> Vec<Column> {
    match printer(def.group, def.plural) {
        Some(p) => p.columns.to_vec(),
        None => DEFAULT_COLUMNS.to_vec(),
    }
}

/// The cells of one row, in `columns` order. `now` is for ages.
pub fn cells(def: &ResourceDef, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let row = Row { obj, now };
    match printer(def.group, def.plural) {
        Some(p) => (p.cells)(&row),
        None => vec![row.name(), format::created_at(obj)],
    }
}
