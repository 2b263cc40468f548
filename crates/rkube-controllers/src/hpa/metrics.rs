//! What the HPA reads for one resource metric: the target's pods (by the
//! scale subresource's selector) and their usage from the resource metrics
//! API (`metrics.k8s.io/v1beta1` PodMetrics), as upstream's REST metrics
//! client does, turned into [`calc`] inputs in milli-units.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::{Client, ResourceExt};
use serde_json::Value;

use super::calc::PodSample;
use crate::util::{is_being_deleted, is_pod_ready, pod_phase};

fn pod_metrics_resource() -> ApiResource {
    ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: "PodMetrics".into(),
        plural: "pods".into(),
    }
}

/// Which usage of a pod counts: the sum over its containers, or one
/// container's (ContainerResource metrics).
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Pod,
    Container(&'a str),
}

/// Pods matched by `selector`, with their requests of `resource`.
pub async fn pods(
    client: &Client,
    namespace: &str,
    selector: &str,
    resource: &str,
    scope: Scope<'_>,
) -> kube::Result<Vec<PodSample>> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = api.list(&ListParams::default().labels(selector)).await?;
    Ok(list
        .items
        .iter()
        .map(|p| sample(p, resource, scope))
        .collect())
}

fn sample(p: &Pod, resource: &str, scope: Scope<'_>) -> PodSample {
    let phase = pod_phase(p);
    let mut request = Ok(0i64);
    for c in p.spec.iter().flat_map(|s| &s.containers) {
        if let Scope::Container(name) = scope
            && c.name != name
        {
            continue;
        }
        let q = c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get(resource))
            .and_then(|q| milli(&q.0));
        match (q, &mut request) {
            (Some(v), Ok(total)) => *total += v,
            (None, Ok(_)) => request = Err(c.name.clone()),
            (_, Err(_)) => {}
        }
    }
    PodSample {
        name: p.name_any(),
        pending: phase == "Pending",
        gone: is_being_deleted(&p.metadata) || phase == "Failed" || phase == "Succeeded",
        ready: is_pod_ready(p),
        request,
    }
}

/// Usage of `resource` per pod, in milli-units. A pod some of whose
/// containers report no such usage is left out, as upstream does.
pub async fn usage(
    client: &Client,
    namespace: &str,
    selector: &str,
    resource: &str,
    scope: Scope<'_>,
) -> Result<BTreeMap<String, i64>, String> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &pod_metrics_resource());
    let list = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| {
            format!(
                "unable to get metrics for resource {resource}: unable to fetch metrics from resource metrics API: {e}"
            )
        })?;
    if list.items.is_empty() {
        return Err(format!(
            "unable to get metrics for resource {resource}: no metrics returned from resource metrics API"
        ));
    }
    Ok(list
        .items
        .iter()
        .filter_map(|m| Some((m.name_any(), pod_usage(&m.data, resource, scope)?)))
        .collect())
}

fn pod_usage(data: &Value, resource: &str, scope: Scope<'_>) -> Option<i64> {
    let mut total = 0i64;
    let mut found = false;
    for c in data["containers"].as_array()? {
        if let Scope::Container(name) = scope
            && c["name"].as_str() != Some(name)
        {
            continue;
        }
        total += milli(c["usage"][resource].as_str()?)?;
        found = true;
    }
    found.then_some(total)
}

/// A quantity in thousandths, rounded up (upstream's `MilliValue`).
pub fn milli(s: &str) -> Option<i64> {
    rkube_api::quantity::Quantity::parse(s.trim())
        .ok()
        .map(|q| q.milli_value())
}

/// A milli-value as upstream's `NewMilliQuantity(v, DecimalSI)` prints it.
pub fn quantity_text(milli: i64) -> String {
    if milli % 1000 != 0 {
        return format!("{milli}m");
    }
    let mut v = milli / 1000;
    if v == 0 {
        return "0".into();
    }
    for suffix in ["", "k", "M", "G", "T", "P"] {
        if v % 1000 != 0 {
            return format!("{v}{suffix}");
        }
        v /= 1000;
    }
    format!("{v}E")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_in_thousandths() {
        assert_eq!(milli("250m"), Some(250));
        assert_eq!(milli("1"), Some(1000));
        assert_eq!(milli("1.5"), Some(1500));
        assert_eq!(milli("123456789n"), Some(124));
        assert_eq!(milli("64Mi"), Some(64 * 1024 * 1024 * 1000));
        assert_eq!(milli("65536Ki"), Some(64 * 1024 * 1024 * 1000));
        assert_eq!(milli("2k"), Some(2_000_000));
        assert_eq!(milli("1e3"), Some(1_000_000));
        assert_eq!(milli("-5m"), Some(-5));
        assert_eq!(milli("lots"), None);
        assert_eq!(milli("5X"), None);
        assert_eq!(milli(""), None);
    }

    #[test]
    fn milli_values_print_like_decimal_si() {
        assert_eq!(quantity_text(250), "250m");
        assert_eq!(quantity_text(2000), "2");
        assert_eq!(quantity_text(0), "0");
        assert_eq!(quantity_text(67_108_864_000), "67108864");
        assert_eq!(quantity_text(5_000_000_000), "5M");
    }

    #[test]
    fn pod_usage_sums_containers_or_picks_one() {
        let m = json!({"containers": [
            {"name": "app", "usage": {"cpu": "100m", "memory": "1Ki"}},
            {"name": "side", "usage": {"cpu": "20m", "memory": "1Ki"}},
        ]});
        assert_eq!(pod_usage(&m, "cpu", Scope::Pod), Some(120));
        assert_eq!(pod_usage(&m, "cpu", Scope::Container("side")), Some(20));
        assert_eq!(pod_usage(&m, "cpu", Scope::Container("nope")), None);
        assert_eq!(pod_usage(&m, "gpu", Scope::Pod), None);
    }

    #[test]
    fn samples_carry_requests_and_state() {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [
                {"name": "app", "resources": {"requests": {"cpu": "200m"}}},
                {"name": "side"},
            ]},
            "status": {"phase": "Running"},
        }))
        .unwrap();
        let s = sample(&p, "cpu", Scope::Pod);
        assert_eq!(s.request, Err("side".to_string()));
        assert!(!s.pending && !s.gone && !s.ready);
        let s = sample(&p, "cpu", Scope::Container("app"));
        assert_eq!(s.request, Ok(200));
    }
}
