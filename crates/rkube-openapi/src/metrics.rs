//! Schemas of the resource metrics types (`metrics.k8s.io/v1beta1`), which
//! k8s-openapi does not carry: upstream they come from k8s.io/metrics and
//! metrics-server publishes them, and kube-apiserver's aggregator merges
//! them into its own documents under these names. Written out here from
//! the types' fields so `kubectl explain podmetrics` has something real to
//! show.

use serde_json::{Value, json};

use crate::definitions::{META, V2_REF};

const PREFIX: &str = "io.k8s.metrics.pkg.apis.metrics.v1beta1.";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// The definitions a kind needs besides the apimachinery ones: its name
/// and, in order, every (name, schema) pair to add.
pub(crate) fn definitions(
    group: &str,
    version: &str,
    kind: &str,
) -> Option<(String, Vec<(String, Value)>)> {
    if group != "metrics.k8s.io" || version != "v1beta1" {
        return None;
    }
    let own = match kind {
        "NodeMetrics" => vec![(kind, node_metrics())],
        "PodMetrics" => vec![
            (kind, pod_metrics()),
            ("ContainerMetrics", container_metrics()),
        ],
        _ => return None,
    };
    Some((
        format!("{PREFIX}{kind}"),
        own.into_iter()
            .map(|(k, v)| (format!("{PREFIX}{k}"), v))
            .collect(),
    ))
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("{V2_REF}{name}")})
}

fn usage(what: &str) -> Value {
    json!({
        "description": format!("The memory and CPU usage of the {what}, over the window."),
        "type": "object",
        "additionalProperties": reference(QUANTITY),
    })
}

fn common(kind: &str, what: &str) -> serde_json::Map<String, Value> {
    let mut props = serde_json::Map::new();
    props.insert(
        "apiVersion".into(),
        json!({"description": "Version of the schema the object was written in.", "type": "string"}),
    );
    props.insert(
        "kind".into(),
        json!({"description": "Kind of the object, in CamelCase.", "type": "string"}),
    );
    let mut metadata = reference(&format!("{META}ObjectMeta"));
    metadata["description"] = json!(format!(
        "The {what}'s name, namespace and labels; {kind} objects are computed on read, never stored."
    ));
    props.insert("metadata".into(), metadata);
    let mut timestamp = reference(&format!("{META}Time"));
    timestamp["description"] = json!("The end of the window the usage was measured over.");
    props.insert("timestamp".into(), timestamp);
    props.insert(
        "window".into(),
        json!({"description": "The length of the window the usage was measured over, as a duration (10s).", "type": "string"}),
    );
    props
}

fn node_metrics() -> Value {
    let mut props = common("NodeMetrics", "node");
    props.insert("usage".into(), usage("node"));
    json!({
        "description": "The resource usage of a node.",
        "type": "object",
        "properties": props,
        "required": ["timestamp", "window", "usage"],
    })
}

fn pod_metrics() -> Value {
    let mut props = common("PodMetrics", "pod");
    props.insert(
        "containers".into(),
        json!({
            "description": "The usage of each of the pod's containers.",
            "type": "array",
            "items": reference(&format!("{PREFIX}ContainerMetrics")),
        }),
    );
    json!({
        "description": "The resource usage of a pod's containers.",
        "type": "object",
        "properties": props,
        "required": ["timestamp", "window", "containers"],
    })
}

fn container_metrics() -> Value {
    json!({
        "description": "The resource usage of one container.",
        "type": "object",
        "properties": {
            "name": {"description": "The container's name, as in the pod's spec.", "type": "string"},
            "usage": usage("container"),
        },
        "required": ["name", "usage"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_metrics_kinds_are_described() {
        let (name, defs) = definitions("metrics.k8s.io", "v1beta1", "PodMetrics").unwrap();
        assert_eq!(name, "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics");
        assert_eq!(defs.len(), 2);
        assert_eq!(
            defs[0].1["properties"]["containers"]["items"]["$ref"],
            "#/definitions/io.k8s.metrics.pkg.apis.metrics.v1beta1.ContainerMetrics"
        );
        assert!(definitions("metrics.k8s.io", "v1beta1", "NodeMetrics").is_some());
        assert!(definitions("metrics.k8s.io", "v1beta1", "Other").is_none());
        assert!(definitions("", "v1", "NodeMetrics").is_none());
    }
}
