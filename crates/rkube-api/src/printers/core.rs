//! Core group (`/api/v1`): every table but pods and nodes. Events of
//! `events.k8s.io` share the core event table, as upstream.

use serde_json::{Value, json};

use super::core_volumes::storage_quantity;
use super::format::{arr, count, host_port, i, labels, load_balancer, map, or, s, text};
use super::{AGE, Column, NAME, Printer, Row, col, wide};

const fn p(
    plural: &'static str,
    columns: &'static [Column],
    cells: fn(&Row) -> Vec<Value>,
) -> Printer {
    Printer {
        group: "",
        plural,
        columns,
        cells,
    }
}

pub(crate) const PRINTERS: &[Printer] = &[
    p("services", SERVICE_COLUMNS, service_cells),
    p("endpoints", ENDPOINTS_COLUMNS, endpoints_cells),
    p("events", EVENT_COLUMNS, core_event_cells),
    Printer {
        group: "events.k8s.io",
        plural: "events",
        columns: EVENT_COLUMNS,
        cells: events_v1_cells,
    },
    p("namespaces", NAMESPACE_COLUMNS, namespace_cells),
    p("secrets", SECRET_COLUMNS, secret_cells),
    p("configmaps", CONFIGMAP_COLUMNS, configmap_cells),
    p(
        "serviceaccounts",
        SERVICEACCOUNT_COLUMNS,
        serviceaccount_cells,
    ),
    p("resourcequotas", QUOTA_COLUMNS, quota_cells),
    p(
        "componentstatuses",
        COMPONENTSTATUS_COLUMNS,
        componentstatus_cells,
    ),
];

// ---- services ----

const SERVICE_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Type",
        "string",
        "How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.",
    ),
    col(
        "Cluster-IP",
        "string",
        "The service's (first) cluster IP; None for a headless service.",
    ),
    col(
        "External-IP",
        "string",
        "Addresses outside the cluster that reach the service.",
    ),
    col(
        "Port(s)",
        "string",
        "The ports the service exposes, with node ports and protocols.",
    ),
    AGE,
    wide(
        "Selector",
        "string",
        "The labels of the pods the service routes to.",
    ),
];

fn service_external_ip(svc: &Value) -> String {
    let external: Vec<String> = arr(svc, "/spec/externalIPs")
        .iter()
        .map(|v| text(Some(v)))
        .collect();
    match s(svc, "/spec/type") {
        "ClusterIP" | "NodePort" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" => "<none>".to_string(),
        "LoadBalancer" => {
            let lb = load_balancer(arr(svc, "/status/loadBalancer/ingress"));
            if !external.is_empty() {
                let mut all: Vec<String> = lb
                    .split(',')
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect();
                all.extend(external);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => s(svc, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// `80/TCP`, `80:30080/TCP`, comma-joined.
pub(crate) fn service_ports(svc: &Value) -> String {
    arr(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let protocol = or(s(p, "/protocol"), "TCP");
            match i(p, "/nodePort") {
                n if n > 0 => format!("{}:{n}/{protocol}", i(p, "/port")),
                _ => format!("{}/{protocol}", i(p, "/port")),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn service_cells(row: &Row) -> Vec<Value> {
    let svc = row.obj;
    let cluster_ip = arr(svc, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .unwrap_or_else(|| s(svc, "/spec/clusterIP"));
    vec![
        row.name(),
        json!(s(svc, "/spec/type")),
        json!(or(cluster_ip, "<none>")),
        json!(service_external_ip(svc)),
        json!(or(&service_ports(svc), "<none>")),
        row.age(),
        json!(labels(svc.pointer("/spec/selector"))),
    ]
}

// ---- endpoints ----

const ENDPOINTS_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Endpoints",
        "string",
        "The first few ready addresses with their ports.",
    ),
    AGE,
];

/// Up to three `ip:port` pairs, then ` + N more...`; `<none>` for no subsets.
pub(crate) fn format_endpoints(ep: &Value) -> String {
    let subsets = arr(ep, "/subsets");
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut total = 0;
    for ss in subsets {
        let addresses = arr(ss, "/addresses");
        let ports = arr(ss, "/ports");
        if ports.is_empty() {
            total += addresses.len();
            for a in addresses {
                if list.len() < MAX {
                    list.push(s(a, "/ip").to_string());
                }
            }
            continue;
        }
        for port in ports {
            total += addresses.len();
            for a in addresses {
                if list.len() < MAX {
                    list.push(host_port(s(a, "/ip"), i(port, "/port")));
                }
            }
        }
    }
    let joined = list.join(",");
    if total > MAX {
        format!("{joined} + {} more...", total - MAX)
    } else {
        joined
    }
}

fn endpoints_cells(row: &Row) -> Vec<Value> {
    vec![row.name(), json!(format_endpoints(row.obj)), row.age()]
}

// ---- events ----

const EVENT_COLUMNS: &[Column] = &[
    col("Last Seen", "string", "When the event was last observed."),
    col("Type", "string", "Normal or Warning."),
    col(
        "Reason",
        "string",
        "A short, machine-readable reason for the event.",
    ),
    col(
        "Object",
        "string",
        "The object the event is about, as kind/name.",
    ),
    wide(
        "Subobject",
        "string",
        "The part of the object the event is about (a field path).",
    ),
    wide(
        "Source",
        "string",
        "The component (and host) that reported the event.",
    ),
    col(
        "Message",
        "string",
        "A human-readable description of the event.",
    ),
    wide("First Seen", "string", "When the event was first observed."),
    wide("Count", "string", "How many times the event has occurred."),
    super::Column {
        priority: 1,
        ..NAME
    },
];

/// The fields of an event, from either API's shape.
struct EventFields {
    involved: &'static str,
    message: &'static str,
    first: &'static str,
    last: &'static str,
    count: &'static str,
    source: &'static str,
}

const CORE_EVENT: EventFields = EventFields {
    involved: "/involvedObject",
    message: "/message",
    first: "/firstTimestamp",
    last: "/lastTimestamp",
    count: "/count",
    source: "/source",
};

fn core_event_cells(row: &Row) -> Vec<Value> {
    event_cells(row, &CORE_EVENT)
}

fn events_v1_cells(row: &Row) -> Vec<Value> {
    event_cells(
        row,
        &EventFields {
            involved: "/regarding",
            message: "/note",
            first: "/deprecatedFirstTimestamp",
            last: "/deprecatedLastTimestamp",
            count: "/deprecatedCount",
            source: "/deprecatedSource",
        },
    )
}

fn event_cells(row: &Row, f: &EventFields) -> Vec<Value> {
    let ev = row.obj;
    let first = match s(ev, f.first) {
        "" => row.since(s(ev, "/eventTime")),
        t => row.since(t),
    };
    let mut last = match s(ev, f.last) {
        "" => first.clone(),
        t => row.since(t),
    };
    let mut count = i(ev, f.count);
    if ev.get("series").is_some_and(|x| !x.is_null()) {
        last = row.since(s(ev, "/series/lastObservedTime"));
        count = i(ev, "/series/count");
    } else if count == 0 {
        // Singleton events of the new API carry no count.
        count = 1;
    }
    let kind = s(ev, &format!("{}/kind", f.involved)).to_lowercase();
    let target = match s(ev, &format!("{}/name", f.involved)) {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let component = or(
        s(ev, &format!("{}/component", f.source)),
        s(ev, "/reportingController"),
    );
    let host = or(
        s(ev, &format!("{}/host", f.source)),
        s(ev, "/reportingInstance"),
    );
    let source = if host.is_empty() {
        component
    } else {
        format!("{component}, {host}")
    };
    vec![
        json!(last),
        json!(s(ev, "/type")),
        json!(s(ev, "/reason")),
        json!(target),
        json!(s(ev, &format!("{}/fieldPath", f.involved))),
        json!(source),
        json!(s(ev, f.message).trim()),
        json!(first),
        json!(count),
        row.name(),
    ]
}

// ---- namespaces, secrets, configmaps, service accounts ----

const NAMESPACE_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Status",
        "string",
        "The phase of the namespace: Active or Terminating.",
    ),
    AGE,
];

fn namespace_cells(row: &Row) -> Vec<Value> {
    vec![row.name(), json!(s(row.obj, "/status/phase")), row.age()]
}

const SECRET_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Type",
        "string",
        "The type of the secret, which says what its data holds.",
    ),
    col("Data", "string", "How many keys the secret holds."),
    AGE,
];

fn secret_cells(row: &Row) -> Vec<Value> {
    vec![
        row.name(),
        json!(s(row.obj, "/type")),
        json!(count(row.obj, "/data")),
        row.age(),
    ]
}

const CONFIGMAP_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Data",
        "string",
        "How many keys the config map holds (text and binary).",
    ),
    AGE,
];

fn configmap_cells(row: &Row) -> Vec<Value> {
    let n = count(row.obj, "/data") + count(row.obj, "/binaryData");
    vec![row.name(), json!(n), row.age()]
}

const SERVICEACCOUNT_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Secrets",
        "string",
        "How many secrets the service account lists.",
    ),
    AGE,
];

fn serviceaccount_cells(row: &Row) -> Vec<Value> {
    vec![row.name(), json!(count(row.obj, "/secrets")), row.age()]
}

// ---- resource quotas, component statuses ----

const QUOTA_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Request",
        "string",
        "Used and hard amounts of the quota's request resources.",
    ),
    col(
        "Limit",
        "string",
        "Used and hard amounts of the quota's limits.* resources.",
    ),
    AGE,
];

fn quota_cells(row: &Row) -> Vec<Value> {
    let q = row.obj;
    let mut request: Vec<String> = Vec::new();
    let mut limit: Vec<String> = Vec::new();
    if let Some(hard) = map(q, "/status/hard") {
        let mut names: Vec<&String> = hard.keys().collect();
        names.sort();
        for name in names {
            let used =
                storage_quantity(q.pointer(&format!("/status/used/{}", name.replace('/', "~1"))));
            let entry = format!("{name}: {used}/{}", storage_quantity(hard.get(name)));
            let mut pieces = name.split('.');
            let is_limit = pieces.next() == Some("limits") && pieces.next().is_some();
            if is_limit { &mut limit } else { &mut request }.push(entry);
        }
    }
    vec![
        row.name(),
        json!(request.join(", ")),
        json!(limit.join(", ")),
        row.age(),
    ]
}

const COMPONENTSTATUS_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "Whether the component reports healthy."),
    col(
        "Message",
        "string",
        "The message of the component's health condition.",
    ),
    col(
        "Error",
        "string",
        "The error of the component's health condition.",
    ),
];

fn componentstatus_cells(row: &Row) -> Vec<Value> {
    let healthy = arr(row.obj, "/conditions")
        .iter()
        .find(|c| s(c, "/type") == "Healthy");
    let (status, message, error) = match healthy {
        Some(c) => (
            if s(c, "/status") == "True" {
                "Healthy"
            } else {
                "Unhealthy"
            },
            s(c, "/message"),
            s(c, "/error"),
        ),
        None => ("Unknown", "", ""),
    };
    vec![row.name(), json!(status), json!(message), json!(error)]
}
