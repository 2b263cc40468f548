//! What the Endpoints and EndpointSlice controllers share: which pods a
//! Service selects, and where each of its ports lands on a pod (a named
//! targetPort resolves per pod, so pods of one Service can expose
//! different numbers under one name).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use crate::runtime::{Change, Informer, Key, Queue};
use crate::util::{is_pod_ready, pod_phase};

/// A Service port resolved on one pod.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResolvedPort {
    pub name: Option<String>,
    pub port: i32,
    pub protocol: String,
    pub app_protocol: Option<String>,
}

/// The selector of a Service that has one (a Service without a selector
/// has its endpoints managed by someone else, e.g. the API server for
/// `kubernetes`).
pub fn service_selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec
        .as_ref()?
        .selector
        .as_ref()
        .filter(|s| !s.is_empty())
}

pub fn selects(sel: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    sel.iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Where `sp` lands on `pod`: a number as is, a name by the pod's
/// container ports; None when the pod has no port of that name.
pub fn resolve_port(sp: &ServicePort, pod: &Pod) -> Option<ResolvedPort> {
    let protocol = sp.protocol.clone().unwrap_or_else(|| "TCP".into());
    let port = match &sp.target_port {
        None => sp.port,
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(name)) => match name.parse::<i32>() {
            Ok(n) => n,
            Err(_) => {
                pod.spec
                    .as_ref()?
                    .containers
                    .iter()
                    .flat_map(|c| c.ports.iter().flatten())
                    .find(|p| {
                        p.name.as_deref() == Some(name.as_str())
                            && p.protocol.as_deref().unwrap_or("TCP") == protocol
                    })?
                    .container_port
            }
        },
    };
    Some(ResolvedPort {
        name: sp.name.clone(),
        port,
        protocol,
        app_protocol: sp.app_protocol.clone(),
    })
}

/// Every port of `svc` resolved on `pod` (ports that do not resolve are
/// left out, as upstream does).
pub fn pod_ports(svc: &Service, pod: &Pod) -> Vec<ResolvedPort> {
    let mut out: Vec<ResolvedPort> = svc
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .filter_map(|sp| resolve_port(sp, pod))
        .collect();
    out.sort();
    out
}

pub fn pod_ip(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()?
        .pod_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
}

/// Whether the pod belongs in the Service's endpoints at all: it has an
/// IP and has not finished.
pub fn has_endpoint(pod: &Pod) -> bool {
    pod_ip(pod).is_some() && !matches!(pod_phase(pod), "Succeeded" | "Failed")
}

pub fn publish_not_ready(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

/// Ready for traffic: Ready and not being deleted, or any address when
/// the Service publishes not-ready ones.
pub fn counts_ready(svc: &Service, pod: &Pod) -> bool {
    publish_not_ready(svc) || (is_pod_ready(pod) && pod.metadata.deletion_timestamp.is_none())
}

pub fn target_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.namespace(),
        name: Some(pod.name_any()),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

/// The pod's DNS hostname within the Service, when it set hostname and
/// a subdomain equal to the Service's name.
pub fn hostname(svc: &Service, pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    (spec.subdomain.as_deref() == Some(svc.name_any().as_str()))
        .then(|| spec.hostname.clone())
        .flatten()
}

/// The selected pods of `svc`, ordered by name.
pub fn selected_pods(svc: &Service, pods: &Informer<Pod>) -> Vec<Arc<Pod>> {
    let Some(sel) = service_selector(svc) else {
        return Vec::new();
    };
    let mut out: Vec<Arc<Pod>> = pods
        .list_namespace(&svc.namespace().unwrap_or_default())
        .into_iter()
        .filter(|p| selects(sel, p))
        .collect();
    out.sort_by_key(|p| p.name_any());
    out
}

/// Queue the Services a pod change concerns: those selecting the old or
/// the new labels.
pub fn enqueue_for_pod(services: &Informer<Service>, queue: &Queue<Key>, ch: &Change<'_, Pod>) {
    let pods: Vec<&Arc<Pod>> = match ch {
        Change::Added(p) | Change::Deleted(p) => vec![p],
        Change::Updated { old, new } => vec![old, new],
    };
    let ns = pods[0].namespace().unwrap_or_default();
    for svc in services.list_namespace(&ns) {
        if let Some(sel) = service_selector(&svc)
            && pods.iter().any(|p| selects(sel, p))
        {
            queue.add(Key::of(svc.as_ref()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_target_ports_resolve_per_pod() {
        let svc: Service = serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [
                {"name": "http", "port": 80, "targetPort": "web"},
                {"name": "metrics", "port": 9090, "targetPort": 9100},
                {"name": "missing", "port": 81, "targetPort": "nope"}
            ]}
        }))
        .unwrap();
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "ports": [{"name": "web", "containerPort": 8080}]}]}
        }))
        .unwrap();
        let ports = pod_ports(&svc, &pod);
        assert_eq!(ports.len(), 2);
        assert_eq!(ports[0].name.as_deref(), Some("http"));
        assert_eq!(ports[0].port, 8080);
        assert_eq!(ports[1].port, 9100);
        assert!(selects(service_selector(&svc).unwrap(), &pod));
    }
}
