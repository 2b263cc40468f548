//! The smaller groups: `rbac.authorization.k8s.io`, `certificates.k8s.io`,
//! `coordination.k8s.io`, `scheduling.k8s.io`, `node.k8s.io`, `policy`,
//! `flowcontrol.apiserver.k8s.io`, `resource.k8s.io`,
//! `storagemigration.k8s.io`, `apiregistration.k8s.io` and
//! `apiextensions.k8s.io`.

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::format::{arr, b, created_at, has, human_duration, i, or, s, text};
use super::{AGE, CREATED, Column, NAME, Printer, Row, col, wide};

const fn p(
    group: &'static str,
    plural: &'static str,
    columns: &'static [Column],
    cells: fn(&Row) -> Vec<Value>,
) -> Printer {
    Printer {
        group,
        plural,
        columns,
        cells,
    }
}

const RBAC: &str = "rbac.authorization.k8s.io";
const CERTS: &str = "certificates.k8s.io";
const FLOW: &str = "flowcontrol.apiserver.k8s.io";
const RES: &str = "resource.k8s.io";

pub(crate) const PRINTERS: &[Printer] = &[
    p(RBAC, "rolebindings", ROLEBINDING_COLUMNS, rolebinding_cells),
    p(
        RBAC,
        "clusterrolebindings",
        ROLEBINDING_COLUMNS,
        rolebinding_cells,
    ),
    p(CERTS, "certificatesigningrequests", CSR_COLUMNS, csr_cells),
    p(CERTS, "clustertrustbundles", CTB_COLUMNS, ctb_cells),
    p("coordination.k8s.io", "leases", LEASE_COLUMNS, lease_cells),
    p(
        "scheduling.k8s.io",
        "priorityclasses",
        PRIORITYCLASS_COLUMNS,
        priorityclass_cells,
    ),
    p(
        "node.k8s.io",
        "runtimeclasses",
        RUNTIMECLASS_COLUMNS,
        runtimeclass_cells,
    ),
    p("policy", "poddisruptionbudgets", PDB_COLUMNS, pdb_cells),
    p(FLOW, "flowschemas", FLOWSCHEMA_COLUMNS, flowschema_cells),
    p(FLOW, "prioritylevelconfigurations", PLC_COLUMNS, plc_cells),
    p(RES, "deviceclasses", NAME_AGE, name_age_cells),
    p(RES, "resourceclaims", CLAIM_COLUMNS, claim_cells),
    p(RES, "resourceclaimtemplates", NAME_AGE, name_age_cells),
    p(RES, "resourceslices", SLICE_COLUMNS, slice_cells),
    p(
        "storagemigration.k8s.io",
        "storageversionmigrations",
        SVM_COLUMNS,
        svm_cells,
    ),
    p(
        "apiregistration.k8s.io",
        "apiservices",
        APISERVICE_COLUMNS,
        apiservice_cells,
    ),
    p(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        CRD_COLUMNS,
        crd_cells,
    ),
];

const NAME_AGE: &[Column] = &[NAME, AGE];

fn name_age_cells(row: &Row) -> Vec<Value> {
    vec![row.name(), row.age()]
}

// ---- RBAC ----

const ROLEBINDING_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Role",
        "string",
        "The role the binding grants, as Kind/name.",
    ),
    AGE,
    wide(
        "Users",
        "string",
        "The users the binding grants the role to.",
    ),
    wide(
        "Groups",
        "string",
        "The groups the binding grants the role to.",
    ),
    wide(
        "ServiceAccounts",
        "string",
        "The service accounts the binding grants the role to.",
    ),
];

fn rolebinding_cells(row: &Row) -> Vec<Value> {
    let rb = row.obj;
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for subject in arr(rb, "/subjects") {
        match s(subject, "/kind") {
            "User" => users.push(s(subject, "/name").to_string()),
            "Group" => groups.push(s(subject, "/name").to_string()),
            "ServiceAccount" => sas.push(format!(
                "{}/{}",
                s(subject, "/namespace"),
                s(subject, "/name")
            )),
            _ => {}
        }
    }
    vec![
        row.name(),
        json!(format!(
            "{}/{}",
            s(rb, "/roleRef/kind"),
            s(rb, "/roleRef/name")
        )),
        row.age(),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(sas.join(", ")),
    ]
}

// ---- certificates ----

const CSR_COLUMNS: &[Column] = &[
    NAME,
    AGE,
    col(
        "SignerName",
        "string",
        "The signer the request is addressed to.",
    ),
    col("Requestor", "string", "The user who created the request."),
    col(
        "RequestedDuration",
        "string",
        "The certificate lifetime the requestor asked for.",
    ),
    col(
        "Condition",
        "string",
        "Approved, Denied or Pending, with Failed and Issued.",
    ),
];

/// `Approved`, `Denied` or `Pending`, then `,Failed` and `,Issued`.
fn csr_condition(csr: &Value) -> String {
    let has_type = |t: &str| {
        arr(csr, "/status/conditions")
            .iter()
            .any(|c| s(c, "/type") == t)
    };
    let mut out = if has_type("Denied") {
        "Denied"
    } else if has_type("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has_type("Failed") {
        out.push_str(",Failed");
    }
    if !s(csr, "/status/certificate").is_empty() {
        out.push_str(",Issued");
    }
    out
}

fn csr_cells(row: &Row) -> Vec<Value> {
    let csr = row.obj;
    let duration = if has(csr, "/spec/expirationSeconds") {
        human_duration(TimeDelta::seconds(i(csr, "/spec/expirationSeconds")))
    } else {
        "<none>".to_string()
    };
    vec![
        row.name(),
        row.age(),
        json!(or(s(csr, "/spec/signerName"), "<none>")),
        json!(s(csr, "/spec/username")),
        json!(duration),
        json!(csr_condition(csr)),
    ]
}

const CTB_COLUMNS: &[Column] = &[
    NAME,
    col(
        "SignerName",
        "string",
        "The signer the bundle holds trust anchors for, if any.",
    ),
];

fn ctb_cells(row: &Row) -> Vec<Value> {
    vec![
        row.name(),
        json!(or(s(row.obj, "/spec/signerName"), "<none>")),
    ]
}

// ---- leases, priority classes, runtime classes, disruption budgets ----

const LEASE_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Holder",
        "string",
        "The identity currently holding the lease.",
    ),
    AGE,
];

fn lease_cells(row: &Row) -> Vec<Value> {
    vec![
        row.name(),
        json!(s(row.obj, "/spec/holderIdentity")),
        row.age(),
    ]
}

const PRIORITYCLASS_COLUMNS: &[Column] = &[
    NAME,
    col("Value", "integer", "The priority of pods of the class."),
    col(
        "Global-Default",
        "boolean",
        "Whether pods without a class get this one.",
    ),
    AGE,
    col(
        "PreemptionPolicy",
        "string",
        "Whether pods of the class may preempt lower priority pods.",
    ),
];

fn priorityclass_cells(row: &Row) -> Vec<Value> {
    let pc = row.obj;
    vec![
        row.name(),
        json!(i(pc, "/value")),
        json!(b(pc, "/globalDefault")),
        row.age(),
        json!(s(pc, "/preemptionPolicy")),
    ]
}

const RUNTIMECLASS_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Handler",
        "string",
        "The CRI handler that runs pods of the class.",
    ),
    AGE,
];

fn runtimeclass_cells(row: &Row) -> Vec<Value> {
    vec![row.name(), json!(s(row.obj, "/handler")), row.age()]
}

const PDB_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Min Available",
        "string",
        "The minimum number of pods that must be available.",
    ),
    col(
        "Max Unavailable",
        "string",
        "The maximum number of pods that may be unavailable.",
    ),
    col(
        "Allowed Disruptions",
        "integer",
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE,
];

fn pdb_cells(row: &Row) -> Vec<Value> {
    let pdb = row.obj;
    let bound = |ptr: &str| match pdb.pointer(ptr) {
        Some(v) if !v.is_null() => text(Some(v)),
        _ => "N/A".to_string(),
    };
    vec![
        row.name(),
        json!(bound("/spec/minAvailable")),
        json!(bound("/spec/maxUnavailable")),
        json!(i(pdb, "/status/disruptionsAllowed")),
        row.age(),
    ]
}

// ---- flow control ----

const FLOWSCHEMA_COLUMNS: &[Column] = &[
    NAME,
    col(
        "PriorityLevel",
        "string",
        "The priority level the matched requests are assigned to.",
    ),
    col(
        "MatchingPrecedence",
        "string",
        "The order in which flow schemas are tried; lowest first.",
    ),
    col(
        "DistinguisherMethod",
        "string",
        "How matched requests are split into flows.",
    ),
    AGE,
    col(
        "MissingPL",
        "string",
        "references a broken or non-existent PriorityLevelConfiguration",
    ),
];

fn flowschema_cells(row: &Row) -> Vec<Value> {
    let fs = row.obj;
    let distinguisher = match fs.pointer("/spec/distinguisherMethod") {
        Some(d) if !d.is_null() => s(d, "/type").to_string(),
        _ => "<none>".to_string(),
    };
    let dangling = arr(fs, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == "Dangling")
        .map(|c| s(c, "/status").to_string())
        .unwrap_or_else(|| "?".to_string());
    vec![
        row.name(),
        json!(s(fs, "/spec/priorityLevelConfiguration/name")),
        json!(i(fs, "/spec/matchingPrecedence")),
        json!(distinguisher),
        row.age(),
        json!(dangling),
    ]
}

const PLC_COLUMNS: &[Column] = &[
    NAME,
    col("Type", "string", "Exempt or Limited."),
    col(
        "NominalConcurrencyShares",
        "string",
        "The level's share of the server's concurrency limit.",
    ),
    col("Queues", "string", "The number of queues of the level."),
    col(
        "HandSize",
        "string",
        "The number of queues a flow is shuffle-sharded to.",
    ),
    col(
        "QueueLengthLimit",
        "string",
        "The most requests one queue holds.",
    ),
    AGE,
];

fn plc_cells(row: &Row) -> Vec<Value> {
    let plc = row.obj;
    let none = || json!("<none>");
    let (mut ncs, mut queues, mut hand, mut limit) = (none(), none(), none(), none());
    if let Some(limited) = plc.pointer("/spec/limited").filter(|v| !v.is_null()) {
        ncs = json!(i(limited, "/nominalConcurrencyShares"));
        if let Some(q) = limited
            .pointer("/limitResponse/queuing")
            .filter(|v| !v.is_null())
        {
            queues = json!(i(q, "/queues"));
            hand = json!(i(q, "/handSize"));
            limit = json!(i(q, "/queueLengthLimit"));
        }
    }
    vec![
        row.name(),
        json!(s(plc, "/spec/type")),
        ncs,
        queues,
        hand,
        limit,
        row.age(),
    ]
}

// ---- dynamic resource allocation ----

const CLAIM_COLUMNS: &[Column] = &[
    NAME,
    col(
        "State",
        "string",
        "A summary of the current state (allocated, pending, reserved, etc.).",
    ),
    AGE,
];

fn claim_cells(row: &Row) -> Vec<Value> {
    let claim = row.obj;
    let deleted = has(claim, "/metadata/deletionTimestamp");
    let mut states: Vec<&str> = Vec::new();
    if deleted {
        states.push("deleted");
    }
    if !has(claim, "/status/allocation") {
        if !deleted {
            states.push("pending");
        }
    } else {
        states.push("allocated");
        if !arr(claim, "/status/reservedFor").is_empty() {
            states.push("reserved");
        }
    }
    vec![row.name(), json!(states.join(",")), row.age()]
}

const SLICE_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Node",
        "string",
        "The node whose devices the slice lists, if node-local.",
    ),
    col(
        "Driver",
        "string",
        "The DRA driver that publishes the slice.",
    ),
    col("Pool", "string", "The pool the slice belongs to."),
    AGE,
];

fn slice_cells(row: &Row) -> Vec<Value> {
    let slice = row.obj;
    vec![
        row.name(),
        json!(s(slice, "/spec/nodeName")),
        json!(s(slice, "/spec/driver")),
        json!(s(slice, "/spec/pool/name")),
        row.age(),
    ]
}

// ---- storage version migrations ----

const SVM_COLUMNS: &[Column] = &[
    Column { format: "", ..NAME },
    col("Resource", "string", "Fully qualified resource to migrate"),
];

fn svm_cells(row: &Row) -> Vec<Value> {
    let resource = match s(row.obj, "/spec/resource/group") {
        "" => s(row.obj, "/spec/resource/resource").to_string(),
        g => format!("{}.{g}", s(row.obj, "/spec/resource/resource")),
    };
    vec![row.name(), json!(resource)]
}

// ---- API services ----

const APISERVICE_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Service",
        "string",
        "The reference to the service that hosts this API endpoint.",
    ),
    col("Available", "string", "Whether this service is available."),
    AGE,
];

fn apiservice_cells(row: &Row) -> Vec<Value> {
    let svc = row.obj;
    let service = match svc.pointer("/spec/service") {
        Some(s_) if !s_.is_null() => format!("{}/{}", s(s_, "/namespace"), s(s_, "/name")),
        _ => "Local".to_string(),
    };
    let available = match arr(svc, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == "Available")
    {
        None => "Unknown".to_string(),
        Some(c) => match (s(c, "/status"), s(c, "/reason")) {
            ("True", _) | (_, "") => s(c, "/status").to_string(),
            (status, reason) => format!("{status} ({reason})"),
        },
    };
    vec![row.name(), json!(service), json!(available), row.age()]
}

// ---- custom resource definitions ----

const CRD_COLUMNS: &[Column] = &[
    NAME,
    col("Group", "string", "The API group of the custom resource."),
    col("Scope", "string", "Namespaced or Cluster."),
    col(
        "Versions",
        "string",
        "The served versions of the custom resource.",
    ),
    CREATED,
];

fn crd_cells(row: &Row) -> Vec<Value> {
    let crd = row.obj;
    let versions: Vec<&str> = arr(crd, "/spec/versions")
        .iter()
        .filter(|v| b(v, "/served"))
        .map(|v| s(v, "/name"))
        .collect();
    vec![
        row.name(),
        json!(s(crd, "/spec/group")),
        json!(s(crd, "/spec/scope")),
        json!(versions.join(",")),
        created_at(crd),
    ]
}
