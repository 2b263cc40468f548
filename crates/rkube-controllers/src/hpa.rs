//! The HorizontalPodAutoscaler controller (autoscaling/v2). Every HPA is
//! looked at when it changes and every 15 seconds: through its target's
//! scale subresource it holds the replica count within
//! [minReplicas, maxReplicas] at once. Metrics-based scaling needs the
//! resource metrics API (metrics.k8s.io), which rkube does not serve yet:
//! within the bounds the HPA reports ScalingActive=False, as
//! kube-controller-manager does without a metrics server.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus,
};
use kube::api::{Api, DynamicObject, Patch};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::events::{Recorder, reference};
use crate::mapper::Mapper;
use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_workers};
use crate::util::{now, patch_params, post_params};

const RESYNC: Duration = Duration::from_secs(15);
const WORKERS: usize = 2;

pub struct HpaController {
    client: Client,
    hpas: Informer<HorizontalPodAutoscaler>,
    queue: Arc<Queue<Key>>,
    recorder: Recorder,
    mapper: Mapper,
}

fn set_condition(
    s: &mut HorizontalPodAutoscalerStatus,
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
) {
    let conds = s.conditions.get_or_insert_with(Vec::new);
    let prev = conds.iter().position(|c| c.type_ == type_);
    let mut c = HorizontalPodAutoscalerCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_transition_time: Some(now()),
        observed_generation: None,
    };
    match prev {
        Some(i) => {
            if conds[i].status == c.status {
                c.last_transition_time = conds[i].last_transition_time.clone();
            }
            conds[i] = c;
        }
        None => conds.push(c),
    }
}

/// The reason and message upstream gives when the metrics of the first
/// metric cannot be read.
fn metrics_failure(hpa: &HorizontalPodAutoscaler) -> (&'static str, String) {
    let metric = hpa.spec.metrics.iter().flatten().next();
    let what = match metric.map(|m| m.type_.as_str()) {
        Some("Resource") | None => {
            let name = metric
                .and_then(|m| m.resource.as_ref())
                .map(|r| r.name.clone())
                .unwrap_or_else(|| "cpu".into());
            return (
                "FailedGetResourceMetric",
                format!(
                    "failed to get {name} utilization: unable to get metrics for resource {name}: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"
                ),
            );
        }
        Some("ContainerResource") => "FailedGetContainerResourceMetric",
        Some("Pods") => "FailedGetPodsMetric",
        Some("Object") => "FailedGetObjectMetric",
        Some(_) => "FailedGetExternalMetric",
    };
    (
        what,
        "unable to fetch metrics: no metrics API is served".into(),
    )
}

impl HpaController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(HpaController {
            client: factory.client().clone(),
            hpas: factory.informer::<HorizontalPodAutoscaler>(),
            queue: Queue::new(),
            recorder: Recorder::new(factory.client().clone(), "horizontal-pod-autoscaler"),
            mapper: Mapper::new(factory.client().clone()),
        });
        let q = Arc::clone(&c.queue);
        c.hpas.on_change(move |ch| match ch {
            Change::Added(h) => q.add(Key::of(h.as_ref())),
            Change::Updated { old, new } => {
                // Our own status writes do not need another look.
                if old.spec != new.spec || old.metadata.generation != new.metadata.generation {
                    q.add(Key::of(new.as_ref()));
                }
            }
            Change::Deleted(_) => {}
        });
        // Not upstream: a target scaled out of bounds is corrected at once
        // rather than at the next resync.
        let weak = Arc::downgrade(&c);
        factory.informer::<Deployment>().on_change(move |ch| {
            if let (Some(c), Change::Updated { old, new }) = (weak.upgrade(), ch)
                && old.spec.replicas != new.spec.replicas
            {
                c.enqueue_targeting("Deployment", new.as_ref());
            }
        });
        let weak = Arc::downgrade(&c);
        factory.informer::<ReplicaSet>().on_change(move |ch| {
            if let (Some(c), Change::Updated { old, new }) = (weak.upgrade(), ch)
                && old.spec.replicas != new.spec.replicas
            {
                c.enqueue_targeting("ReplicaSet", new.as_ref());
            }
        });
        c
    }

    fn enqueue_targeting<K: ResourceExt>(&self, kind: &str, target: &K) {
        let ns = target.namespace().unwrap_or_default();
        let name = target.name_any();
        for h in self.hpas.list_namespace(&ns) {
            let r = &h.spec.scale_target_ref;
            if r.kind == kind
                && r.name == name
                && r.api_version
                    .as_deref()
                    .is_some_and(|v| v.starts_with("apps/"))
            {
                self.queue.add(Key::of(h.as_ref()));
            }
        }
    }

    pub async fn run(self: Arc<Self>, mut shutdown: Shutdown) {
        tokio::select! {
            _ = self.hpas.wait_synced() => {}
            _ = shutdown.wait() => return,
        }
        let q = Arc::clone(&self.queue);
        let mut sd = shutdown.clone();
        tokio::spawn(async move {
            sd.wait().await;
            q.shut_down();
        });
        let me = Arc::clone(&self);
        run_workers(
            "horizontalpodautoscaling",
            Arc::clone(&self.queue),
            WORKERS,
            move |key| {
                let me = Arc::clone(&me);
                async move { me.sync(key).await }
            },
        )
        .await;
    }

    async fn sync(&self, key: Key) -> SyncResult {
        let Some(hpa) = self.hpas.get(&key.namespace, &key.name) else {
            return Ok(None);
        };
        let old_status = hpa.status.clone();
        let mut s = hpa.status.clone().unwrap_or_default();
        s.observed_generation = hpa.metadata.generation;
        let target = &hpa.spec.scale_target_ref;
        let api_version = target.api_version.clone().unwrap_or_default();
        let r = self.mapper.resolve(&api_version, &target.kind).await;
        let scale_api = match r {
            Ok(Some((ar, _))) => {
                Api::<DynamicObject>::namespaced_with(self.client.clone(), &key.namespace, &ar)
            }
            Ok(None) | Err(_) => {
                let msg = format!(
                    "the HPA controller was unable to get the target's current scale: no matches for kind \"{}\" in group \"{}\"",
                    target.kind,
                    crate::mapper::group_version(&api_version).0
                );
                return self.fail(&hpa, old_status, s, "FailedGetScale", msg).await;
            }
        };
        let scale = match scale_api.get_scale(&target.name).await {
            Ok(scale) => scale,
            Err(e) => {
                let msg =
                    format!("the HPA controller was unable to get the target's current scale: {e}");
                return self.fail(&hpa, old_status, s, "FailedGetScale", msg).await;
            }
        };
        set_condition(
            &mut s,
            "AbleToScale",
            "True",
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale".into(),
        );
        let current = scale.spec.as_ref().and_then(|sp| sp.replicas).unwrap_or(0);
        let min = hpa.spec.min_replicas.unwrap_or(1);
        let max = hpa.spec.max_replicas;
        s.current_replicas = Some(current);
        let (desired, reason) = if current == 0 && min != 0 {
            set_condition(
                &mut s,
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero".into(),
            );
            (0, None)
        } else if current > max {
            (
                max,
                Some("Current number of replicas above Spec.MaxReplicas"),
            )
        } else if current < min {
            (
                min,
                Some("Current number of replicas below Spec.MinReplicas"),
            )
        } else {
            let (r, detail) = metrics_failure(&hpa);
            set_condition(
                &mut s,
                "ScalingActive",
                "False",
                r,
                format!("the HPA was unable to compute the replica count: {detail}"),
            );
            self.recorder
                .warning(reference(hpa.as_ref()), r, detail.clone());
            self.recorder.warning(
                reference(hpa.as_ref()),
                "FailedComputeMetricsReplicas",
                format!("invalid metrics (1 invalid out of 1), first error is: {detail}"),
            );
            self.write_status(&hpa, old_status, s).await?;
            return Ok(Some(RESYNC));
        };
        if let Some(reason) = reason {
            let patch = json!({"spec": {"replicas": desired}});
            if let Err(e) = scale_api
                .patch_scale(&target.name, &patch_params(), &Patch::Merge(&patch))
                .await
            {
                self.recorder.warning(
                    reference(hpa.as_ref()),
                    "FailedRescale",
                    format!("New size: {desired}; reason: {reason}; error: {e}"),
                );
                set_condition(
                    &mut s,
                    "AbleToScale",
                    "False",
                    "FailedUpdateScale",
                    format!("the HPA controller was unable to update the target scale: {e}"),
                );
                self.write_status(&hpa, old_status, s).await?;
                return Err(e.into());
            }
            set_condition(
                &mut s,
                "AbleToScale",
                "True",
                "SucceededRescale",
                format!("the HPA controller was able to update the target scale to {desired}"),
            );
            self.recorder.normal(
                reference(hpa.as_ref()),
                "SuccessfulRescale",
                format!("New size: {desired}; reason: {reason}"),
            );
            s.last_scale_time = Some(now());
        }
        s.desired_replicas = desired;
        self.write_status(&hpa, old_status, s).await?;
        Ok(Some(RESYNC))
    }

    async fn fail(
        &self,
        hpa: &HorizontalPodAutoscaler,
        old: Option<HorizontalPodAutoscalerStatus>,
        mut s: HorizontalPodAutoscalerStatus,
        reason: &str,
        message: String,
    ) -> SyncResult {
        self.recorder
            .warning(reference(hpa), reason, message.clone());
        set_condition(&mut s, "AbleToScale", "False", reason, message);
        self.write_status(hpa, old, s).await?;
        Ok(Some(RESYNC))
    }

    async fn write_status(
        &self,
        hpa: &HorizontalPodAutoscaler,
        old: Option<HorizontalPodAutoscalerStatus>,
        s: HorizontalPodAutoscalerStatus,
    ) -> anyhow::Result<()> {
        if old.as_ref() == Some(&s) {
            return Ok(());
        }
        let api: Api<HorizontalPodAutoscaler> =
            Api::namespaced(self.client.clone(), &hpa.namespace().unwrap_or_default());
        let mut next = hpa.clone();
        next.status = Some(s);
        api.replace_status(&hpa.name_any(), &post_params(), &next)
            .await?;
        Ok(())
    }
}
