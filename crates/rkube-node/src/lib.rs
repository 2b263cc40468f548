//! Simulated nodes. rkube runs no containers: each simulated node is an
//! ordinary API client that registers a Node, renews its Lease in
//! `kube-node-lease`, reports capacity and conditions, and drives the pods
//! bound to it through `ContainerCreating` → `Running` (Ready) → gone, with
//! pod IPs from the node's pod CIDR. Many nodes run in one process on one
//! pod watch, so thousands fit on a machine.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> anyhow::Result<()> {
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! rkube_node::run_cluster(client, 3, shutdown).await
//! # }
//! ```

mod events;
mod fleet;
mod ipam;
mod node;
mod status;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::time::Duration;

pub use k8s_openapi::api::core::v1::Taint;
pub use status::{EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION};

/// The kubelet version simulated nodes report.
pub const KUBELET_VERSION: &str = "v1.37.0";
/// The container runtime simulated nodes report.
pub const CONTAINER_RUNTIME_VERSION: &str = "containerd://2.1.4";
/// The name of the control-plane node [`cluster_configs`] creates.
pub const CONTROL_PLANE_NODE: &str = "rkube-control-plane";
/// The label and taint key that mark the control-plane node.
pub const CONTROL_PLANE_ROLE: &str = "node-role.kubernetes.io/control-plane";

/// How long the simulated lifecycle steps take.
#[derive(Debug, Clone, PartialEq)]
pub struct Delays {
    /// Time a pod spends in `ContainerCreating` (the image "pull").
    pub start: Duration,
    /// Extra time from Running until a container is Ready (a readiness
    /// probe's `initialDelaySeconds` is honoured on top of nothing: the
    /// larger of the two wins).
    pub ready: Duration,
    /// The part of its grace period a deleted pod stays Terminating.
    pub terminate_fraction: f64,
    /// The longest a deleted pod stays Terminating.
    pub terminate_max: Duration,
    /// How long a Job's pod (restartPolicy Never/OnFailure) runs before it
    /// completes (exit code 0 unless the pod's `rkube.io/exit-code`
    /// annotation says otherwise; `rkube.io/run-seconds` overrides the
    /// time per pod).
    pub job_duration: Duration,
}

impl Default for Delays {
    fn default() -> Self {
        Delays {
            start: Duration::from_secs(2),
            ready: Duration::ZERO,
            terminate_fraction: 0.1,
            terminate_max: Duration::from_secs(1),
            job_duration: Duration::from_secs(3),
        }
    }
}

/// One simulated node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub name: String,
    /// CPU capacity as a quantity ("8", "3500m").
    pub cpu: String,
    /// Memory capacity as a quantity ("32Gi").
    pub memory: String,
    /// Pod capacity (110, as the kubelet's default).
    pub pods: u32,
    pub ephemeral_storage: String,
    /// The pod CIDR pod IPs come from, e.g. "10.244.1.0/24".
    pub pod_cidr: String,
    /// The node's InternalIP.
    pub internal_ip: Ipv4Addr,
    /// Labels besides the well-known ones every node gets
    /// (kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch).
    pub labels: BTreeMap<String, String>,
    /// Taints the node registers with.
    pub taints: Vec<Taint>,
    pub delays: Delays,
    /// The Lease's `leaseDurationSeconds`.
    pub lease_duration_seconds: i32,
    /// How often the Lease is renewed.
    pub lease_renew_interval: Duration,
    /// How often the node's conditions are re-posted (lastHeartbeatTime).
    pub status_update_interval: Duration,
    /// Whether to record Events (Pulling, Pulled, Created, Started, Killing).
    pub events: bool,
}

impl NodeConfig {
    /// A node with default capacity (8 CPUs, 32Gi, 110 pods); `index`
    /// picks its pod CIDR (10.244.<index>.0/24) and InternalIP
    /// (172.18.0.<index + 2>), so give every node of a cluster its own.
    pub fn new(name: impl Into<String>, index: u32) -> NodeConfig {
        NodeConfig {
            name: name.into(),
            cpu: "8".into(),
            memory: "32Gi".into(),
            pods: 110,
            ephemeral_storage: "100Gi".into(),
            pod_cidr: pod_cidr(index),
            internal_ip: internal_ip(index),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            delays: Delays::default(),
            lease_duration_seconds: 40,
            lease_renew_interval: Duration::from_secs(10),
            status_update_interval: Duration::from_secs(60),
            events: true,
        }
    }

    /// The control-plane node: [`CONTROL_PLANE_NODE`], index 0, labelled
    /// `node-role.kubernetes.io/control-plane=""` and tainted
    /// `node-role.kubernetes.io/control-plane:NoSchedule`.
    pub fn control_plane() -> NodeConfig {
        let mut cfg = NodeConfig::new(CONTROL_PLANE_NODE, 0);
        cfg.labels.insert(CONTROL_PLANE_ROLE.into(), String::new());
        cfg.labels.insert(
            "node.kubernetes.io/exclude-from-external-load-balancers".into(),
            String::new(),
        );
        cfg.taints.push(Taint {
            key: CONTROL_PLANE_ROLE.into(),
            effect: "NoSchedule".into(),
            ..Taint::default()
        });
        cfg
    }

    /// Worker `i` (1-based): `rkube-worker<i>`, index `i`.
    pub fn worker(i: u32) -> NodeConfig {
        NodeConfig::new(format!("rkube-worker{i}"), i)
    }
}

/// 10.244.<index>.0/24 (carrying into the next octets past 255).
pub fn pod_cidr(index: u32) -> String {
    let base = u32::from(Ipv4Addr::new(10, 244, 0, 0));
    format!("{}/24", Ipv4Addr::from(base.wrapping_add(index << 8)))
}

/// 172.18.0.<index + 2> (carrying into the next octets).
pub fn internal_ip(index: u32) -> Ipv4Addr {
    let base = u32::from(Ipv4Addr::new(172, 18, 0, 2));
    Ipv4Addr::from(base.wrapping_add(index))
}

/// The control-plane node and `workers` workers (`rkube-worker1..N`).
pub fn cluster_configs(workers: u32) -> Vec<NodeConfig> {
    std::iter::once(NodeConfig::control_plane())
        .chain((1..=workers).map(NodeConfig::worker))
        .collect()
}

/// Run one simulated node until `shutdown` completes. Watches only the
/// pods bound to it (fieldSelector spec.nodeName=<name>).
pub async fn run_node(
    client: kube::Client,
    cfg: NodeConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    fleet::run(client, vec![cfg], shutdown).await
}

/// Run many simulated nodes in one loop, on one pod watch, until
/// `shutdown` completes. Names must be distinct.
pub async fn run_nodes(
    client: kube::Client,
    cfgs: Vec<NodeConfig>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    fleet::run(client, cfgs, shutdown).await
}

/// Run the control-plane node and `workers` workers ([`cluster_configs`])
/// until `shutdown` completes.
pub async fn run_cluster(
    client: kube::Client,
    workers: u32,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    run_nodes(client, cluster_configs(workers), shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_index() {
        assert_eq!(pod_cidr(0), "10.244.0.0/24");
        assert_eq!(pod_cidr(3), "10.244.3.0/24");
        assert_eq!(pod_cidr(256), "10.245.0.0/24");
        assert_eq!(internal_ip(1), Ipv4Addr::new(172, 18, 0, 3));
        assert_eq!(internal_ip(300), Ipv4Addr::new(172, 18, 1, 46));
    }

    #[test]
    fn cluster_has_a_tainted_control_plane_and_workers() {
        let c = cluster_configs(2);
        let names: Vec<_> = c.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            ["rkube-control-plane", "rkube-worker1", "rkube-worker2"]
        );
        assert_eq!(c[0].labels.get(CONTROL_PLANE_ROLE), Some(&String::new()));
        assert_eq!(c[0].taints[0].effect, "NoSchedule");
        assert!(c[1].taints.is_empty());
        assert_eq!(c[2].pod_cidr, "10.244.2.0/24");
    }
}
