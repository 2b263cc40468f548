//! Core group: persistent volumes and their claims.

use serde_json::{Value, json};

use super::format::{arr, map, or, s, text};
use super::{AGE, Column, NAME, Printer, Row, col, wide};

pub(crate) const PRINTERS: &[Printer] = &[
    Printer {
        group: "",
        plural: "persistentvolumes",
        columns: PV_COLUMNS,
        cells: pv_cells,
    },
    Printer {
        group: "",
        plural: "persistentvolumeclaims",
        columns: PVC_COLUMNS,
        cells: pvc_cells,
    },
];

// ---- persistent volumes and claims ----

/// `RWO,ROX,RWX,RWOP`, in that order, each once.
pub(crate) fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(m, _)| has(m))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// The storage class: the beta annotation wins over the field.
fn storage_class(obj: &Value) -> String {
    match map(obj, "/metadata/annotations").and_then(|a| a.get(BETA_STORAGE_CLASS)) {
        Some(v) => text(Some(v)),
        None => s(obj, "/spec/storageClassName").to_string(),
    }
}

/// A storage quantity, `0` when unset.
pub(crate) fn storage_quantity(v: Option<&Value>) -> String {
    or(&text(v), "0")
}

fn deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

const PV_COLUMNS: &[Column] = &[
    NAME,
    col("Capacity", "string", "The storage capacity of the volume."),
    col(
        "Access Modes",
        "string",
        "The ways the volume can be mounted.",
    ),
    col(
        "Reclaim Policy",
        "string",
        "What happens to the volume when its claim is released.",
    ),
    col("Status", "string", "The phase of the volume."),
    col(
        "Claim",
        "string",
        "The claim bound to the volume, as namespace/name.",
    ),
    col("StorageClass", "string", "StorageClass of the pv"),
    col(
        "VolumeAttributesClass",
        "string",
        "VolumeAttributesClass of the pv",
    ),
    col(
        "Reason",
        "string",
        "Why the volume is in its phase, if it failed.",
    ),
    AGE,
    wide(
        "VolumeMode",
        "string",
        "Whether the volume is a filesystem or a raw block device.",
    ),
];

fn pv_cells(row: &Row) -> Vec<Value> {
    let pv = row.obj;
    let claim = match pv.pointer("/spec/claimRef") {
        Some(c) if !c.is_null() => format!("{}/{}", s(c, "/namespace"), s(c, "/name")),
        _ => String::new(),
    };
    let phase = if deleting(pv) {
        "Terminating"
    } else {
        s(pv, "/status/phase")
    };
    vec![
        row.name(),
        json!(storage_quantity(pv.pointer("/spec/capacity/storage"))),
        json!(access_modes(arr(pv, "/spec/accessModes"))),
        json!(s(pv, "/spec/persistentVolumeReclaimPolicy")),
        json!(phase),
        json!(claim),
        json!(storage_class(pv)),
        json!(or(s(pv, "/spec/volumeAttributesClassName"), "<unset>")),
        json!(s(pv, "/status/reason")),
        row.age(),
        json!(or(s(pv, "/spec/volumeMode"), "<unset>")),
    ]
}

const PVC_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "The phase of the claim."),
    col("Volume", "string", "The volume bound to the claim."),
    col("Capacity", "string", "The capacity of the bound volume."),
    col(
        "Access Modes",
        "string",
        "The access modes of the bound volume.",
    ),
    col("StorageClass", "string", "StorageClass of the pvc"),
    col(
        "VolumeAttributesClass",
        "string",
        "VolumeAttributesClass of the pvc",
    ),
    AGE,
    wide(
        "VolumeMode",
        "string",
        "Whether the claim wants a filesystem or a raw block device.",
    ),
];

fn pvc_cells(row: &Row) -> Vec<Value> {
    let pvc = row.obj;
    let phase = if deleting(pvc) {
        "Terminating"
    } else {
        s(pvc, "/status/phase")
    };
    let volume = s(pvc, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            storage_quantity(pvc.pointer("/status/capacity/storage")),
            access_modes(arr(pvc, "/status/accessModes")),
        )
    };
    vec![
        row.name(),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(storage_class(pvc)),
        json!(or(s(pvc, "/spec/volumeAttributesClassName"), "<unset>")),
        row.age(),
        json!(or(s(pvc, "/spec/volumeMode"), "<unset>")),
    ]
}
