//! `apps`: deployments, replica sets, stateful sets, daemon sets,
//! controller revisions.

use serde_json::{Value, json};

use super::format::{arr, containers, group_kind, i, label_selector, labels, s, selector};
use super::{AGE, CONTAINERS, Column, IMAGES, NAME, Printer, Row, col, wide};

const fn p(
    plural: &'static str,
    columns: &'static [Column],
    cells: fn(&Row) -> Vec<Value>,
) -> Printer {
    Printer {
        group: "apps",
        plural,
        columns,
        cells,
    }
}

pub(crate) const PRINTERS: &[Printer] = &[
    p("deployments", DEPLOYMENT_COLUMNS, deployment_cells),
    p("replicasets", REPLICASET_COLUMNS, replicaset_cells),
    p("statefulsets", STATEFULSET_COLUMNS, statefulset_cells),
    p("daemonsets", DAEMONSET_COLUMNS, daemonset_cells),
    p("controllerrevisions", REVISION_COLUMNS, revision_cells),
];

/// Container names and images of `spec.template`.
fn template_containers(obj: &Value) -> (Value, Value) {
    let (names, images) = containers(arr(obj, "/spec/template/spec/containers"));
    (json!(names), json!(images))
}

const DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "Ready pods out of the desired number."),
    col(
        "Up-to-date",
        "string",
        "Pods that run the latest pod template.",
    ),
    col(
        "Available",
        "string",
        "Pods that have been ready for at least minReadySeconds.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "string",
        "The label selector of the deployment's pods.",
    ),
];

fn deployment_cells(row: &Row) -> Vec<Value> {
    let d = row.obj;
    let (names, images) = template_containers(d);
    // Deployments print an empty selector as "", not "<none>".
    let sel = selector(d.pointer("/spec/selector")).unwrap_or_else(|()| "<invalid>".to_string());
    vec![
        row.name(),
        json!(format!(
            "{}/{}",
            i(d, "/status/readyReplicas"),
            i(d, "/spec/replicas")
        )),
        json!(i(d, "/status/updatedReplicas")),
        json!(i(d, "/status/availableReplicas")),
        row.age(),
        names,
        images,
        json!(sel),
    ]
}

const REPLICASET_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "How many pods the replica set should run.",
    ),
    col(
        "Current",
        "integer",
        "How many pods the replica set runs now.",
    ),
    col("Ready", "integer", "How many of its pods are ready."),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "string",
        "The label selector of the replica set's pods.",
    ),
];

fn replicaset_cells(row: &Row) -> Vec<Value> {
    let rs = row.obj;
    let (names, images) = template_containers(rs);
    vec![
        row.name(),
        json!(i(rs, "/spec/replicas")),
        json!(i(rs, "/status/replicas")),
        json!(i(rs, "/status/readyReplicas")),
        row.age(),
        names,
        images,
        json!(label_selector(rs.pointer("/spec/selector"))),
    ]
}

const STATEFULSET_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "Ready pods out of the desired number."),
    AGE,
    CONTAINERS,
    IMAGES,
];

fn statefulset_cells(row: &Row) -> Vec<Value> {
    let sts = row.obj;
    let (names, images) = template_containers(sts);
    vec![
        row.name(),
        json!(format!(
            "{}/{}",
            i(sts, "/status/readyReplicas"),
            i(sts, "/spec/replicas")
        )),
        row.age(),
        names,
        images,
    ]
}

const DAEMONSET_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "How many nodes should run the daemon pod.",
    ),
    col(
        "Current",
        "integer",
        "How many nodes run at least one daemon pod.",
    ),
    col(
        "Ready",
        "integer",
        "How many nodes have a ready daemon pod.",
    ),
    col(
        "Up-to-date",
        "integer",
        "How many nodes run the latest daemon pod template.",
    ),
    col(
        "Available",
        "integer",
        "How many nodes have an available daemon pod.",
    ),
    col(
        "Node Selector",
        "string",
        "The node selector of the daemon pods.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "string",
        "The label selector of the daemon set's pods.",
    ),
];

fn daemonset_cells(row: &Row) -> Vec<Value> {
    let ds = row.obj;
    let (names, images) = template_containers(ds);
    vec![
        row.name(),
        json!(i(ds, "/status/desiredNumberScheduled")),
        json!(i(ds, "/status/currentNumberScheduled")),
        json!(i(ds, "/status/numberReady")),
        json!(i(ds, "/status/updatedNumberScheduled")),
        json!(i(ds, "/status/numberAvailable")),
        json!(labels(ds.pointer("/spec/template/spec/nodeSelector"))),
        row.age(),
        names,
        images,
        json!(label_selector(ds.pointer("/spec/selector"))),
    ]
}

const REVISION_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Controller",
        "string",
        "The object that owns the revision, as kind.group/name.",
    ),
    col("Revision", "string", "The revision number."),
    AGE,
];

fn revision_cells(row: &Row) -> Vec<Value> {
    let cr = row.obj;
    let controller = arr(cr, "/metadata/ownerReferences")
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|o| {
            let gk = group_kind(s(o, "/apiVersion"), s(o, "/kind"));
            if gk.is_empty() {
                s(o, "/name").to_string()
            } else {
                format!("{gk}/{}", s(o, "/name"))
            }
        })
        .unwrap_or_else(|| "<none>".to_string());
    vec![
        row.name(),
        json!(controller),
        json!(i(cr, "/revision")),
        row.age(),
    ]
}
