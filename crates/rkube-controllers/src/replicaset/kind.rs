//! The two kinds the replica controller manages: apps/v1 ReplicaSet and
//! its predecessor, core/v1 ReplicationController, whose spec and status
//! say the same things in slightly different shapes (an equality-only
//! selector map, an optional spec). The controller works on this view
//! so one implementation serves both, as kube-controller-manager's
//! replication manager wraps its ReplicaSet controller.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub trait Replicated:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    const API_VERSION: &'static str;
    const KIND: &'static str;
    /// The events' source component.
    const COMPONENT: &'static str;
    /// The controller's name in logs.
    const NAME: &'static str;

    fn selector(&self) -> LabelSelector;
    fn replicas(&self) -> i32;
    fn min_ready_seconds(&self) -> i32;
    fn template(&self) -> Option<&PodTemplateSpec>;
    /// The status in ReplicaSet form.
    fn rs_status(&self) -> Option<ReplicaSetStatus>;
    /// `self` with `status` (in ReplicaSet form) as its status.
    fn with_rs_status(&self, status: ReplicaSetStatus) -> Self;
}

impl Replicated for ReplicaSet {
    const API_VERSION: &'static str = "apps/v1";
    const KIND: &'static str = "ReplicaSet";
    const COMPONENT: &'static str = "replicaset-controller";
    const NAME: &'static str = "replicaset";

    fn selector(&self) -> LabelSelector {
        self.spec.selector.clone()
    }
    fn replicas(&self) -> i32 {
        self.spec.replicas.unwrap_or(1).max(0)
    }
    fn min_ready_seconds(&self) -> i32 {
        self.spec.min_ready_seconds.unwrap_or(0)
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.template.as_ref()
    }
    fn rs_status(&self) -> Option<ReplicaSetStatus> {
        self.status.clone()
    }
    fn with_rs_status(&self, status: ReplicaSetStatus) -> Self {
        let mut next = self.clone();
        next.status = Some(status);
        next
    }
}

impl Replicated for ReplicationController {
    const API_VERSION: &'static str = "v1";
    const KIND: &'static str = "ReplicationController";
    const COMPONENT: &'static str = "replication-controller";
    const NAME: &'static str = "replicationcontroller";

    fn selector(&self) -> LabelSelector {
        LabelSelector {
            match_labels: self
                .spec
                .as_ref()
                .and_then(|s| s.selector.clone())
                .filter(|m| !m.is_empty()),
            match_expressions: None,
        }
    }
    fn replicas(&self) -> i32 {
        self.spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1)
            .max(0)
    }
    fn min_ready_seconds(&self) -> i32 {
        self.spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }
    fn rs_status(&self) -> Option<ReplicaSetStatus> {
        let v = serde_json::to_value(self.status.as_ref()?).ok()?;
        serde_json::from_value(v).ok()
    }
    fn with_rs_status(&self, status: ReplicaSetStatus) -> Self {
        let mut next = self.clone();
        // The same fields by the same names, less terminatingReplicas.
        let mut v = serde_json::to_value(&status).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("terminatingReplicas");
        }
        next.status = serde_json::from_value(v).ok();
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replication_controllers_read_as_replica_sets() {
        let rc: ReplicationController = serde_json::from_value(json!({
            "metadata": {"name": "nginx"},
            "spec": {"replicas": 3, "selector": {"app": "nginx"},
                     "template": {"metadata": {"labels": {"app": "nginx"}}}}
        }))
        .unwrap();
        assert_eq!(rc.replicas(), 3);
        assert_eq!(rc.selector().match_labels.unwrap()["app"], "nginx");
        assert!(rc.template().is_some());
        let st = ReplicaSetStatus {
            replicas: 3,
            ready_replicas: Some(2),
            terminating_replicas: Some(1),
            observed_generation: Some(4),
            ..Default::default()
        };
        let next = rc.with_rs_status(st);
        let s = next.status.clone().unwrap();
        assert_eq!(
            (s.replicas, s.ready_replicas, s.observed_generation),
            (3, Some(2), Some(4))
        );
        assert_eq!(next.rs_status().unwrap().terminating_replicas, None);
    }
}
