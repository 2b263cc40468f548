//! `networking.k8s.io` (ingresses, ingress classes, network policies,
//! service CIDRs, IP addresses) and `discovery.k8s.io` (endpoint slices).

use serde_json::{Value, json};

use super::format::{arr, has, label_selector, list_with_more, load_balancer, s, text};
use super::{AGE, Column, NAME, Printer, Row, col};

const NET: &str = "networking.k8s.io";

const fn p(
    plural: &'static str,
    columns: &'static [Column],
    cells: fn(&Row) -> Vec<Value>,
) -> Printer {
    Printer {
        group: NET,
        plural,
        columns,
        cells,
    }
}

pub(crate) const PRINTERS: &[Printer] = &[
    p("ingresses", INGRESS_COLUMNS, ingress_cells),
    p("ingressclasses", INGRESSCLASS_COLUMNS, ingressclass_cells),
    p("networkpolicies", NETPOL_COLUMNS, netpol_cells),
    p("servicecidrs", SERVICECIDR_COLUMNS, servicecidr_cells),
    p("ipaddresses", IPADDRESS_COLUMNS, ipaddress_cells),
    Printer {
        group: "discovery.k8s.io",
        plural: "endpointslices",
        columns: ENDPOINTSLICE_COLUMNS,
        cells: endpointslice_cells,
    },
];

const INGRESS_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Class",
        "string",
        "The IngressClass that implements the ingress.",
    ),
    col(
        "Hosts",
        "string",
        "The hosts the ingress rules match requests against.",
    ),
    col(
        "Address",
        "string",
        "The load-balancer ingress points of the ingress.",
    ),
    col(
        "Ports",
        "string",
        "The ports the ingress serves: 80, and 443 with TLS.",
    ),
    AGE,
];

/// Up to three rule hosts, ` + N more...` when rules remain after the third
/// host; `*` when no rule names a host.
fn ingress_hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == MAX {
            more = true;
            break;
        }
        if !s(rule, "/host").is_empty() {
            hosts.push(s(rule, "/host"));
        }
    }
    if hosts.is_empty() {
        return "*".to_string();
    }
    let joined = hosts.join(",");
    if more {
        format!("{joined} + {} more...", rules.len() - MAX)
    } else {
        joined
    }
}

fn ingress_cells(row: &Row) -> Vec<Value> {
    let ing = row.obj;
    let ports = if arr(ing, "/spec/tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    let class = if has(ing, "/spec/ingressClassName") {
        s(ing, "/spec/ingressClassName")
    } else {
        "<none>"
    };
    vec![
        row.name(),
        json!(class),
        json!(ingress_hosts(arr(ing, "/spec/rules"))),
        json!(load_balancer(arr(ing, "/status/loadBalancer/ingress"))),
        json!(ports),
        row.age(),
    ]
}

const INGRESSCLASS_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Controller",
        "string",
        "The controller that implements the class.",
    ),
    col(
        "Parameters",
        "string",
        "The object holding the class's extra parameters.",
    ),
    AGE,
];

fn ingressclass_cells(row: &Row) -> Vec<Value> {
    let ic = row.obj;
    let params = match ic.pointer("/spec/parameters") {
        Some(p) if !p.is_null() => {
            let kind = match s(p, "/apiGroup") {
                "" if !has(p, "/apiGroup") => s(p, "/kind").to_string(),
                g => format!("{}.{g}", s(p, "/kind")),
            };
            format!("{kind}/{}", s(p, "/name"))
        }
        _ => "<none>".to_string(),
    };
    vec![
        row.name(),
        json!(s(ic, "/spec/controller")),
        json!(params),
        row.age(),
    ]
}

const NETPOL_COLUMNS: &[Column] = &[
    NAME,
    col("Pod-Selector", "string", "The pods the policy applies to."),
    AGE,
];

fn netpol_cells(row: &Row) -> Vec<Value> {
    let sel = label_selector(Some(
        row.obj.pointer("/spec/podSelector").unwrap_or(&json!({})),
    ));
    vec![row.name(), json!(sel), row.age()]
}

const SERVICECIDR_COLUMNS: &[Column] = &[
    NAME,
    col(
        "CIDRs",
        "string",
        "The IP ranges service cluster IPs are allocated from.",
    ),
    AGE,
];

fn servicecidr_cells(row: &Row) -> Vec<Value> {
    let cidrs: Vec<String> = arr(row.obj, "/spec/cidrs")
        .iter()
        .map(|v| text(Some(v)))
        .collect();
    vec![row.name(), json!(cidrs.join(",")), row.age()]
}

// Upstream lists two columns for IP addresses but also sends the age as a
// third cell; a row has exactly one cell per column here.
const IPADDRESS_COLUMNS: &[Column] = &[
    NAME,
    col(
        "ParentRef",
        "string",
        "The object the IP address is allocated to.",
    ),
];

fn ipaddress_cells(row: &Row) -> Vec<Value> {
    let parent = match row.obj.pointer("/spec/parentRef") {
        Some(p) if !p.is_null() => {
            let gr = match s(p, "/group") {
                "" => s(p, "/resource").to_string(),
                g => format!("{}.{g}", s(p, "/resource")),
            };
            let mut name = gr.to_lowercase();
            if !s(p, "/namespace").is_empty() {
                name = format!("{name}/{}", s(p, "/namespace"));
            }
            format!("{name}/{}", s(p, "/name"))
        }
        _ => "<none>".to_string(),
    };
    vec![row.name(), json!(parent)]
}

const ENDPOINTSLICE_COLUMNS: &[Column] = &[
    NAME,
    col(
        "AddressType",
        "string",
        "The type of the slice's addresses: IPv4, IPv6 or FQDN.",
    ),
    col("Ports", "string", "The first few ports of the slice."),
    col(
        "Endpoints",
        "string",
        "The first few addresses of the slice.",
    ),
    AGE,
];

fn endpointslice_cells(row: &Row) -> Vec<Value> {
    const MAX: usize = 3;
    let slice = row.obj;
    let ports = arr(slice, "/ports");
    let port_list: Vec<String> = ports
        .iter()
        .take(MAX)
        .map(|p| match p.get("port").filter(|v| !v.is_null()) {
            Some(n) => text(Some(n)),
            None if has(p, "/name") => s(p, "/name").to_string(),
            None => "*".to_string(),
        })
        .collect();
    let addresses: Vec<String> = arr(slice, "/endpoints")
        .iter()
        .flat_map(|e| arr(e, "/addresses").iter().map(|a| text(Some(a))))
        .collect();
    let shown: Vec<String> = addresses.iter().take(MAX).cloned().collect();
    vec![
        row.name(),
        json!(s(slice, "/addressType")),
        json!(list_with_more(&port_list, ports.len(), MAX)),
        json!(list_with_more(&shown, addresses.len(), MAX)),
        row.age(),
    ]
}
