//! `storage.k8s.io`: storage classes, volume attributes classes, volume
//! attachments, CSI drivers, nodes and storage capacities.

use serde_json::{Value, json};

use super::format::{arr, b, count, has, map, or, s, text};
use super::{AGE, Column, NAME, Printer, Row, col};

const fn p(
    plural: &'static str,
    columns: &'static [Column],
    cells: fn(&Row) -> Vec<Value>,
) -> Printer {
    Printer {
        group: "storage.k8s.io",
        plural,
        columns,
        cells,
    }
}

pub(crate) const PRINTERS: &[Printer] = &[
    p("storageclasses", STORAGECLASS_COLUMNS, storageclass_cells),
    p("volumeattributesclasses", VAC_COLUMNS, vac_cells),
    p("volumeattachments", ATTACHMENT_COLUMNS, attachment_cells),
    p("csinodes", CSINODE_COLUMNS, csinode_cells),
    p("csidrivers", CSIDRIVER_COLUMNS, csidriver_cells),
    p("csistoragecapacities", CAPACITY_COLUMNS, capacity_cells),
];

/// Whether an annotation is set to "true".
fn annotated(obj: &Value, keys: &[&str]) -> bool {
    map(obj, "/metadata/annotations").is_some_and(|a| {
        keys.iter()
            .any(|k| a.get(*k).and_then(Value::as_str) == Some("true"))
    })
}

/// `true`/`false` from an optional boolean with a default.
fn flag(obj: &Value, ptr: &str, default: bool) -> bool {
    obj.pointer(ptr).and_then(Value::as_bool).unwrap_or(default)
}

const STORAGECLASS_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Provisioner",
        "string",
        "The volume plugin that provisions volumes of the class.",
    ),
    col(
        "ReclaimPolicy",
        "string",
        "What happens to volumes of the class when released.",
    ),
    col(
        "VolumeBindingMode",
        "string",
        "When volumes of the class are bound and provisioned.",
    ),
    col(
        "AllowVolumeExpansion",
        "string",
        "Whether volumes of the class may grow.",
    ),
    AGE,
];

const DEFAULT_CLASS: &[&str] = &[
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];

fn storageclass_cells(row: &Row) -> Vec<Value> {
    let sc = row.obj;
    let mut name = s(sc, "/metadata/name").to_string();
    if annotated(sc, DEFAULT_CLASS) {
        name.push_str(" (default)");
    }
    vec![
        json!(name),
        json!(s(sc, "/provisioner")),
        json!(or(s(sc, "/reclaimPolicy"), "Delete")),
        json!(or(s(sc, "/volumeBindingMode"), "Immediate")),
        json!(flag(sc, "/allowVolumeExpansion", false)),
        row.age(),
    ]
}

const VAC_COLUMNS: &[Column] = &[
    NAME,
    col(
        "DriverName",
        "string",
        "The CSI driver that applies the class's parameters.",
    ),
    AGE,
];

const DEFAULT_VAC: &[&str] = &["volumeattributesclass.alpha.kubernetes.io/is-default-class"];

fn vac_cells(row: &Row) -> Vec<Value> {
    let vac = row.obj;
    let mut name = s(vac, "/metadata/name").to_string();
    if annotated(vac, DEFAULT_VAC) {
        name.push_str(" (default)");
    }
    vec![json!(name), json!(s(vac, "/driverName")), row.age()]
}

const ATTACHMENT_COLUMNS: &[Column] = &[
    NAME,
    Column {
        format: "name",
        ..col(
            "Attacher",
            "string",
            "The volume driver that attaches the volume.",
        )
    },
    col("PV", "string", "The persistent volume being attached."),
    col("Node", "string", "The node the volume is attached to."),
    col(
        "Attached",
        "boolean",
        "Whether the attach operation succeeded.",
    ),
    AGE,
];

fn attachment_cells(row: &Row) -> Vec<Value> {
    let va = row.obj;
    vec![
        row.name(),
        json!(s(va, "/spec/attacher")),
        json!(s(va, "/spec/source/persistentVolumeName")),
        json!(s(va, "/spec/nodeName")),
        json!(b(va, "/status/attached")),
        row.age(),
    ]
}

const CSINODE_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Drivers",
        "integer",
        "How many CSI drivers are registered on the node.",
    ),
    AGE,
];

fn csinode_cells(row: &Row) -> Vec<Value> {
    vec![
        row.name(),
        json!(count(row.obj, "/spec/drivers")),
        row.age(),
    ]
}

const CSIDRIVER_COLUMNS: &[Column] = &[
    NAME,
    col(
        "AttachRequired",
        "boolean",
        "Whether volumes of the driver need an attach step.",
    ),
    col(
        "PodInfoOnMount",
        "boolean",
        "Whether the driver receives pod information on mount.",
    ),
    col(
        "StorageCapacity",
        "boolean",
        "Whether the scheduler considers the driver's capacity.",
    ),
    col(
        "TokenRequests",
        "string",
        "Audiences of the service account tokens the driver gets.",
    ),
    col(
        "RequiresRepublish",
        "boolean",
        "Whether the driver's volumes are republished periodically.",
    ),
    col(
        "Modes",
        "string",
        "The volume lifecycle modes the driver supports.",
    ),
    AGE,
];

fn csidriver_cells(row: &Row) -> Vec<Value> {
    let d = row.obj;
    let tokens = if has(d, "/spec/tokenRequests") {
        let audiences: Vec<&str> = arr(d, "/spec/tokenRequests")
            .iter()
            .map(|t| s(t, "/audience"))
            .collect();
        audiences.join(",")
    } else {
        "<unset>".to_string()
    };
    let modes: Vec<String> = arr(d, "/spec/volumeLifecycleModes")
        .iter()
        .map(|m| text(Some(m)))
        .collect();
    vec![
        row.name(),
        json!(flag(d, "/spec/attachRequired", true)),
        json!(flag(d, "/spec/podInfoOnMount", false)),
        json!(flag(d, "/spec/storageCapacity", false)),
        json!(tokens),
        json!(flag(d, "/spec/requiresRepublish", false)),
        json!(or(&modes.join(","), "<none>")),
        row.age(),
    ]
}

const CAPACITY_COLUMNS: &[Column] = &[
    NAME,
    col(
        "StorageClassName",
        "string",
        "The storage class the capacity is reported for.",
    ),
    col(
        "Capacity",
        "string",
        "The capacity available for new volumes.",
    ),
];

fn capacity_cells(row: &Row) -> Vec<Value> {
    let c = row.obj;
    let capacity = match c.get("capacity") {
        Some(v) if !v.is_null() => text(Some(v)),
        _ => "<unset>".to_string(),
    };
    vec![
        row.name(),
        json!(s(c, "/storageClassName")),
        json!(capacity),
    ]
}
