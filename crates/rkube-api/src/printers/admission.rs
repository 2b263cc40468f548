//! `admissionregistration.k8s.io`: webhook configurations and admission
//! policies with their bindings.

use serde_json::{Value, json};

use super::format::{count, has, label_selector, s};
use super::{AGE, Column, NAME, Printer, Row, col};

const fn p(
    plural: &'static str,
    columns: &'static [Column],
    cells: fn(&Row) -> Vec<Value>,
) -> Printer {
    Printer {
        group: "admissionregistration.k8s.io",
        plural,
        columns,
        cells,
    }
}

pub(crate) const PRINTERS: &[Printer] = &[
    p(
        "mutatingwebhookconfigurations",
        WEBHOOK_COLUMNS,
        webhook_cells,
    ),
    p(
        "validatingwebhookconfigurations",
        WEBHOOK_COLUMNS,
        webhook_cells,
    ),
    p(
        "validatingadmissionpolicies",
        VAP_COLUMNS,
        validating_policy_cells,
    ),
    p(
        "validatingadmissionpolicybindings",
        BINDING_COLUMNS,
        binding_cells,
    ),
    p(
        "mutatingadmissionpolicies",
        MAP_COLUMNS,
        mutating_policy_cells,
    ),
    p(
        "mutatingadmissionpolicybindings",
        BINDING_COLUMNS,
        binding_cells,
    ),
];

const WEBHOOK_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Webhooks",
        "integer",
        "How many webhooks the configuration registers.",
    ),
    AGE,
];

fn webhook_cells(row: &Row) -> Vec<Value> {
    vec![row.name(), json!(count(row.obj, "/webhooks")), row.age()]
}

const PARAM_KIND: Column = col(
    "ParamKind",
    "string",
    "The kind of the objects that parameterize the policy.",
);

const VAP_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Validations",
        "integer",
        "How many validation rules the policy defines.",
    ),
    PARAM_KIND,
    AGE,
];

const MAP_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Mutations",
        "integer",
        "How many mutations the policy defines.",
    ),
    PARAM_KIND,
    AGE,
];

/// `apiVersion/Kind` of the policy's parameters, `<unset>` without.
fn param_kind(policy: &Value) -> String {
    match policy.pointer("/spec/paramKind") {
        Some(k) if !k.is_null() => format!("{}/{}", s(k, "/apiVersion"), s(k, "/kind")),
        _ => "<unset>".to_string(),
    }
}

fn validating_policy_cells(row: &Row) -> Vec<Value> {
    let vap = row.obj;
    vec![
        row.name(),
        json!(count(vap, "/spec/validations")),
        json!(param_kind(vap)),
        row.age(),
    ]
}

fn mutating_policy_cells(row: &Row) -> Vec<Value> {
    let map = row.obj;
    vec![
        row.name(),
        json!(count(map, "/spec/mutations")),
        json!(param_kind(map)),
        row.age(),
    ]
}

const BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("PolicyName", "string", "The policy the binding applies."),
    col(
        "ParamRef",
        "string",
        "The parameter object (or selector) the binding uses.",
    ),
    AGE,
];

fn binding_cells(row: &Row) -> Vec<Value> {
    let b = row.obj;
    let param = match b.pointer("/spec/paramRef") {
        Some(r) if !r.is_null() => match (s(r, "/name"), s(r, "/namespace")) {
            ("", _) if has(r, "/selector") => label_selector(r.get("selector")),
            ("", _) => "<unset>".to_string(),
            // Without a namespace the param may be cluster-scoped or in the
            // request's namespace: `*/name`.
            (name, "") => format!("*/{name}"),
            (name, ns) => format!("{ns}/{name}"),
        },
        _ => "<unset>".to_string(),
    };
    vec![
        row.name(),
        json!(s(b, "/spec/policyName")),
        json!(param),
        row.age(),
    ]
}
