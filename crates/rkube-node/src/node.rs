//! The Node object, its registration, Lease renewal and status heartbeat.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::{CONTAINER_RUNTIME_VERSION, KUBELET_VERSION, NodeConfig};

const LEASE_NAMESPACE: &str = "kube-node-lease";
/// Registrations, renewals and heartbeats in flight at once.
const CONCURRENCY: usize = 32;

pub(crate) fn now_secs() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn now_micros() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The node's conditions: Ready, and no pressure of any kind.
pub(crate) fn conditions(heartbeat: &str, since: &str) -> Value {
    let c = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({
            "type": kind,
            "status": status,
            "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": since,
            "reason": reason,
            "message": message,
        })
    };
    json!([
        c(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"
        ),
        c(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure"
        ),
        c(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available"
        ),
        c(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status"
        ),
    ])
}

fn stable_id(name: &str, salt: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{salt}/{name}").as_bytes());
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn uuid_like(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

pub(crate) fn status(cfg: &NodeConfig, heartbeat: &str, since: &str) -> Value {
    let resources = json!({
        "cpu": cfg.cpu,
        "memory": cfg.memory,
        "pods": cfg.pods.to_string(),
        "ephemeral-storage": cfg.ephemeral_storage,
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
    });
    json!({
        "capacity": resources,
        "allocatable": resources,
        "conditions": conditions(heartbeat, since),
        "addresses": [
            {"type": "InternalIP", "address": cfg.internal_ip.to_string()},
            {"type": "Hostname", "address": cfg.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": stable_id(&cfg.name, "machine"),
            "systemUUID": uuid_like(&stable_id(&cfg.name, "system")),
            "bootID": uuid_like(&stable_id(&cfg.name, since)),
            "kernelVersion": "6.8.0-rkube",
            "osImage": "rkube simulated node",
            "containerRuntimeVersion": CONTAINER_RUNTIME_VERSION,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    })
}

fn labels(cfg: &NodeConfig) -> Value {
    let mut l = serde_json::Map::new();
    for (k, v) in [
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/hostname", cfg.name.as_str()),
        ("kubernetes.io/os", "linux"),
    ] {
        l.insert(k.into(), json!(v));
    }
    for (k, v) in &cfg.labels {
        l.insert(k.clone(), json!(v));
    }
    Value::Object(l)
}

/// The Node a simulated kubelet registers.
pub(crate) fn node_object(cfg: &NodeConfig, now: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": cfg.name,
            "labels": labels(cfg),
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                "rkube.io/simulated": "true",
            },
        },
        "spec": {
            "podCIDR": cfg.pod_cidr,
            "podCIDRs": [cfg.pod_cidr],
            "providerID": format!("rkube://{}", cfg.name),
            "taints": serde_json::to_value(&cfg.taints).unwrap_or_else(|_| json!([])),
        },
        "status": status(cfg, now, now),
    })
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// Create the Node, or, when it exists (a restart), bring its labels and
/// status up to date. Returns the Node's uid.
pub(crate) async fn register(
    client: &kube::Client,
    cfg: &NodeConfig,
    since: &str,
) -> anyhow::Result<String> {
    let api: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(node_object(cfg, since))?;
    let created = match api.create(&PostParams::default(), &node).await {
        Ok(n) => n,
        Err(e) if is_status(&e, 409) => {
            let pp = PatchParams::default();
            api.patch(
                &cfg.name,
                &pp,
                &Patch::Merge(json!({"metadata": {"labels": labels(cfg)}})),
            )
            .await?;
            let body = json!({"status": status(cfg, since, since)});
            api.patch_status(&cfg.name, &pp, &Patch::Merge(body))
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    Ok(created.metadata.uid.unwrap_or_default())
}

/// Renew the node's Lease, creating it when missing.
pub(crate) async fn renew_lease(
    client: &kube::Client,
    cfg: &NodeConfig,
    node_uid: &str,
) -> anyhow::Result<()> {
    let api: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let spec = json!({
        "holderIdentity": cfg.name,
        "leaseDurationSeconds": cfg.lease_duration_seconds,
        "renewTime": now_micros(),
    });
    let patch = json!({ "spec": spec });
    match api
        .patch(&cfg.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 404) => {
            let lease: Lease = serde_json::from_value(json!({
                "metadata": {
                    "name": cfg.name,
                    "namespace": LEASE_NAMESPACE,
                    "ownerReferences": [{
                        "apiVersion": "v1",
                        "kind": "Node",
                        "name": cfg.name,
                        "uid": node_uid,
                    }],
                },
                "spec": spec,
            }))?;
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(()),
                Err(e) if is_status(&e, 409) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Re-post the node's conditions with a fresh lastHeartbeatTime.
pub(crate) async fn heartbeat(
    client: &kube::Client,
    cfg: &NodeConfig,
    since: &str,
) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let body = json!({"status": {"conditions": conditions(&now_secs(), since)}});
    api.patch_status(&cfg.name, &PatchParams::default(), &Patch::Merge(body))
        .await?;
    Ok(())
}

/// Register every node (retrying until each succeeds), then take their
/// Leases; returns each node's uid in order.
pub(crate) async fn register_all(
    client: &kube::Client,
    nodes: &[Arc<NodeConfig>],
    since: &str,
) -> Vec<String> {
    futures::stream::iter(nodes.iter().cloned())
        .map(|cfg| async move {
            let mut backoff = Duration::from_millis(200);
            let uid = loop {
                match register(client, &cfg, since).await {
                    Ok(uid) => break uid,
                    Err(e) => {
                        tracing::warn!("registering node {}: {e:#}", cfg.name);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            };
            if let Err(e) = renew_lease(client, &cfg, &uid).await {
                tracing::warn!("lease for node {}: {e:#}", cfg.name);
            }
            uid
        })
        .buffered(CONCURRENCY)
        .collect()
        .await
}

/// Renew Leases and post heartbeats forever, spreading the nodes over each
/// interval so a big fleet does not write in bursts.
pub(crate) async fn maintain(
    client: kube::Client,
    nodes: Vec<(Arc<NodeConfig>, String)>,
    since: String,
) {
    let n = nodes.len().max(1) as u32;
    let start = Instant::now();
    let mut next_lease: Vec<Instant> = Vec::with_capacity(nodes.len());
    let mut next_status: Vec<Instant> = Vec::with_capacity(nodes.len());
    for (i, (cfg, _)) in nodes.iter().enumerate() {
        let i = i as u32;
        next_lease.push(start + cfg.lease_renew_interval * i / n + cfg.lease_renew_interval / n);
        next_status
            .push(start + cfg.status_update_interval * i / n + cfg.status_update_interval / n);
    }
    loop {
        let wake = next_lease
            .iter()
            .chain(next_status.iter())
            .min()
            .copied()
            .unwrap_or(start + Duration::from_secs(10));
        tokio::time::sleep_until(wake).await;
        let now = Instant::now();
        let mut due = Vec::new();
        for (i, (cfg, _)) in nodes.iter().enumerate() {
            let lease = next_lease[i] <= now;
            let status = next_status[i] <= now;
            if lease {
                next_lease[i] = now + cfg.lease_renew_interval;
            }
            if status {
                next_status[i] = now + cfg.status_update_interval;
            }
            if lease || status {
                due.push((i, lease, status));
            }
        }
        let (client, nodes, since) = (&client, &nodes, since.as_str());
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |(i, lease, status)| async move {
                let (cfg, uid) = &nodes[i];
                if lease && let Err(e) = renew_lease(client, cfg, uid).await {
                    tracing::warn!("renewing lease of node {}: {e:#}", cfg.name);
                }
                if status && let Err(e) = heartbeat(client, cfg, since).await {
                    tracing::warn!("node {} status: {e:#}", cfg.name);
                }
            })
            .await;
    }
}

/// Re-post Ready whenever something else (the node lifecycle controller,
/// after missed heartbeats) set one of our nodes' Ready condition to
/// anything but True, as a kubelet does on its next status sync instead
/// of waiting out the full status interval.
pub(crate) async fn reassert_ready(
    client: kube::Client,
    nodes: Vec<Arc<NodeConfig>>,
    since: String,
) {
    use kube::runtime::{WatchStreamExt, watcher};
    let by_name: std::collections::HashMap<String, Arc<NodeConfig>> =
        nodes.into_iter().map(|c| (c.name.clone(), c)).collect();
    let api: Api<Node> = Api::all(client.clone());
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects();
    futures::pin_mut!(stream);
    while let Some(ev) = stream.next().await {
        let Ok(node) = ev else { continue };
        let Some(cfg) = node.metadata.name.as_ref().and_then(|n| by_name.get(n)) else {
            continue;
        };
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.as_str());
        if ready.is_some_and(|r| r != "True")
            && let Err(e) = heartbeat(&client, cfg, &since).await
        {
            tracing::warn!("node {} status: {e:#}", cfg.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_object_reports_capacity_info_and_conditions() {
        let cfg = NodeConfig::control_plane();
        let n = node_object(&cfg, "2024-01-01T00:00:00Z");
        assert_eq!(
            n["metadata"]["labels"]["node-role.kubernetes.io/control-plane"],
            ""
        );
        assert_eq!(
            n["metadata"]["labels"]["kubernetes.io/hostname"],
            "rkube-control-plane"
        );
        assert_eq!(
            n["spec"]["taints"][0]["key"],
            "node-role.kubernetes.io/control-plane"
        );
        assert_eq!(n["spec"]["taints"][0]["effect"], "NoSchedule");
        assert_eq!(n["spec"]["podCIDR"], "10.244.0.0/24");
        let s = &n["status"];
        assert_eq!(s["capacity"]["pods"], "110");
        assert_eq!(s["allocatable"]["cpu"], "8");
        assert_eq!(s["nodeInfo"]["kubeletVersion"], "v1.37.0");
        assert_eq!(s["nodeInfo"]["architecture"], "amd64");
        assert_eq!(s["addresses"][0]["address"], "172.18.0.2");
        let ready = s["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready["status"], "True");
        assert_eq!(ready["reason"], "KubeletReady");
        let node: Node = serde_json::from_value(n).expect("a valid Node");
        assert_eq!(node.status.unwrap().conditions.unwrap().len(), 4);
    }
}
