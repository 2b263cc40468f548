//! The HorizontalPodAutoscaler controller (autoscaling/v2; v1 objects are
//! converted by the API server). Every HPA is looked at when it changes
//! and every 15 seconds (upstream's sync period):
//!
//! 1. Through its target's scale subresource it reads the replica count. A
//!    count outside [minReplicas, maxReplicas] is corrected at once,
//!    without consulting metrics, as upstream does.
//! 2. Within the bounds, each `Resource` or `ContainerResource` metric
//!    proposes a count from the resource metrics API that rkube serves
//!    itself (`metrics.k8s.io`, see the API server's `handlers/metrics.rs`
//!    for where usage comes from); the highest proposal wins ([`calc`]).
//!    Pods, Object and External metrics need a custom or external metrics
//!    API, which is not served: they are invalid metrics, reported as
//!    upstream reports a failing adapter.
//! 3. The proposal is stabilized and rate-limited ([`normalize`]): without
//!    `spec.behavior` a 300 s scale-down window and at most
//!    max(2 x current, 4) up; with it, each direction's window and
//!    policies.
//! 4. A changed count is written to the scale subresource with the
//!    `SuccessfulRescale` event; the status gets currentReplicas,
//!    desiredReplicas, currentMetrics, lastScaleTime and the AbleToScale,
//!    ScalingActive and ScalingLimited conditions in upstream's words.

mod calc;
mod metrics;
mod normalize;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricStatus, HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition,
    HorizontalPodAutoscalerStatus, MetricSpec, MetricStatus, MetricValueStatus,
    ResourceMetricStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, DynamicObject, Patch};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::events::{Recorder, reference};
use crate::mapper::Mapper;
use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{now, patch_params, post_params};
use calc::Target;
use metrics::Scope;
use normalize::{Behavior, History};

const RESYNC: Duration = Duration::from_secs(15);
const WORKERS: usize = 2;

pub struct HpaController {
    client: Client,
    hpas: Informer<HorizontalPodAutoscaler>,
    queue: Arc<Queue<Key>>,
    recorder: Recorder,
    mapper: Mapper,
    /// Recent recommendations and scale events per HPA.
    history: Mutex<HashMap<Key, History>>,
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

/// One metric's proposal: the count, the name upstream gives the metric in
/// conditions and events, and its status entry.
struct Computed {
    replicas: i32,
    name: String,
    status: MetricStatus,
}

/// Why a metric gave no proposal: the condition reason and the message.
type Failure = (&'static str, String);

/// The outcome over all metrics: the highest proposal and its metric's
/// name, every status entry (empty for invalid metrics, keeping positions
/// as upstream does), and the invalid metrics' failures.
struct AllMetrics {
    best: Option<(i32, String)>,
    statuses: Vec<MetricStatus>,
    failures: Vec<Failure>,
}

fn milli_quantity(v: i64) -> Quantity {
    Quantity(metrics::quantity_text(v))
}

impl HpaController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(HpaController {
            client: factory.client().clone(),
            hpas: factory.informer::<HorizontalPodAutoscaler>(),
            queue: Queue::new(),
            recorder: Recorder::new(factory.client().clone(), "horizontal-pod-autoscaler"),
            mapper: Mapper::new(factory.client().clone()),
            history: Mutex::new(HashMap::new()),
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
            Change::Deleted(h) => q.add(Key::of(h.as_ref())),
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

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = self.hpas.wait_synced();
        let queue = Arc::clone(&self.queue);
        run_controller(
            "horizontalpodautoscaling",
            Arc::clone(&self),
            queue,
            WORKERS,
            synced,
            shutdown,
            |me, key| async move { me.sync(key).await },
        )
        .await;
    }

    fn history(&self) -> std::sync::MutexGuard<'_, HashMap<Key, History>> {
        self.history.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn sync(&self, key: Key) -> SyncResult {
        let Some(hpa) = self.hpas.get(&key.namespace, &key.name) else {
            self.history().remove(&key);
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
                Some("Current number of replicas above Spec.MaxReplicas".to_string()),
            )
        } else if current < min {
            (
                min,
                Some("Current number of replicas below Spec.MinReplicas".to_string()),
            )
        } else {
            let selector = scale
                .status
                .as_ref()
                .and_then(|st| st.selector.clone())
                .unwrap_or_default();
            if selector.is_empty() {
                self.recorder.warning(
                    reference(hpa.as_ref()),
                    "SelectorRequired",
                    "selector is required".into(),
                );
                set_condition(
                    &mut s,
                    "ScalingActive",
                    "False",
                    "InvalidSelector",
                    "the HPA target's scale is missing a selector".into(),
                );
                self.write_status(&hpa, old_status, s).await?;
                return Ok(Some(RESYNC));
            }
            let all = self
                .compute_all(&hpa, &key.namespace, &selector, current)
                .await;
            let n = all.statuses.len();
            s.current_metrics = Some(all.statuses);
            // All invalid, or some invalid and the valid ones would scale
            // down: upstream refuses to act on half the picture.
            let refuse =
                !all.failures.is_empty() && all.best.as_ref().is_none_or(|(r, _)| *r < current);
            if let Some((r, detail)) = all.failures.first().filter(|_| refuse) {
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
                    format!(
                        "invalid metrics ({} invalid out of {n}), first error is: {detail}",
                        all.failures.len()
                    ),
                );
                self.write_status(&hpa, old_status, s).await?;
                return Ok(Some(RESYNC));
            }
            let (proposed, metric) = all.best.unwrap_or((current, String::new()));
            set_condition(
                &mut s,
                "ScalingActive",
                "True",
                "ValidMetricFound",
                format!("the HPA was able to successfully calculate a replica count from {metric}"),
            );
            let outcome = self.normalize(&key, &hpa, current, proposed, min, max);
            set_condition(
                &mut s,
                "AbleToScale",
                "True",
                outcome.able.0,
                outcome.able.1.into(),
            );
            set_condition(
                &mut s,
                "ScalingLimited",
                if outcome.limited { "True" } else { "False" },
                outcome.limit.0,
                outcome.limit.1.into(),
            );
            let reason = if outcome.replicas > current {
                format!("{metric} above target")
            } else {
                "All metrics below target".to_string()
            };
            (outcome.replicas, Some(reason))
        };
        if let Some(reason) = reason.filter(|_| desired != current) {
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
            if hpa.spec.behavior.is_some() {
                self.history().entry(key.clone()).or_default().record_scale(
                    Instant::now(),
                    current,
                    desired,
                );
            }
            s.last_scale_time = Some(now());
        }
        s.desired_replicas = desired;
        self.write_status(&hpa, old_status, s).await?;
        Ok(Some(RESYNC))
    }

    fn normalize(
        &self,
        key: &Key,
        hpa: &HorizontalPodAutoscaler,
        current: i32,
        proposed: i32,
        min: i32,
        max: i32,
    ) -> normalize::Outcome {
        let mut history = self.history();
        let h = history.entry(key.clone()).or_default();
        let now = Instant::now();
        match &hpa.spec.behavior {
            None => h.normalize(now, current, proposed, min, max),
            Some(b) => {
                h.normalize_with_behavior(now, current, proposed, min, max, &Behavior::from_api(b))
            }
        }
    }

    /// Every metric's proposal; an HPA without metrics targets 80% CPU, as
    /// upstream's defaulting gives it.
    async fn compute_all(
        &self,
        hpa: &HorizontalPodAutoscaler,
        namespace: &str,
        selector: &str,
        current: i32,
    ) -> AllMetrics {
        let default_metric = [serde_json::from_value::<MetricSpec>(json!({
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
        }))
        .expect("a valid metric")];
        let specs: &[MetricSpec] = match hpa.spec.metrics.as_deref() {
            Some(m) if !m.is_empty() => m,
            _ => &default_metric,
        };
        let mut all = AllMetrics {
            best: None,
            statuses: Vec::new(),
            failures: Vec::new(),
        };
        for spec in specs {
            match self.compute(spec, namespace, selector, current).await {
                Ok(c) => {
                    if all.best.as_ref().is_none_or(|(r, _)| c.replicas > *r) {
                        all.best = Some((c.replicas, c.name));
                    }
                    all.statuses.push(c.status);
                }
                Err(f) => {
                    all.statuses.push(MetricStatus::default());
                    all.failures.push(f);
                }
            }
        }
        all
    }

    async fn compute(
        &self,
        spec: &MetricSpec,
        namespace: &str,
        selector: &str,
        current: i32,
    ) -> Result<Computed, Failure> {
        let (name, target, scope, reason, kind) = match spec.type_.as_str() {
            "Resource" => {
                let r = spec.resource.as_ref().ok_or_else(|| {
                    (
                        "FailedGetResourceMetric",
                        "invalid resource metric source: no resource given".to_string(),
                    )
                })?;
                (
                    &r.name,
                    &r.target,
                    Scope::Pod,
                    "FailedGetResourceMetric",
                    "",
                )
            }
            "ContainerResource" => {
                let r = spec.container_resource.as_ref().ok_or_else(|| {
                    (
                        "FailedGetContainerResourceMetric",
                        "invalid container resource metric source: no resource given".to_string(),
                    )
                })?;
                (
                    &r.name,
                    &r.target,
                    Scope::Container(r.container.as_str()),
                    "FailedGetContainerResourceMetric",
                    " container",
                )
            }
            other => {
                let (reason, api) = match other {
                    "Pods" => ("FailedGetPodsMetric", "custom.metrics.k8s.io"),
                    "Object" => ("FailedGetObjectMetric", "custom.metrics.k8s.io"),
                    "External" => ("FailedGetExternalMetric", "external.metrics.k8s.io"),
                    _ => {
                        return Err((
                            "InvalidMetricSourceType",
                            format!("unknown metric source type \"{other}\""),
                        ));
                    }
                };
                return Err((
                    reason,
                    format!(
                        "unable to get {} metric: the server could not find the requested resource ({api} is not served by rkube)",
                        other.to_lowercase()
                    ),
                ));
            }
        };
        let target = if let Some(v) = target.average_value.as_ref() {
            let v = metrics::milli(&v.0)
                .ok_or_else(|| (reason, format!("invalid average value target {:?}", v.0)))?;
            Target::AverageValue(v)
        } else if let Some(u) = target.average_utilization {
            Target::Utilization(u)
        } else {
            return Err((
                reason,
                "invalid resource metric source: neither an average utilization target nor an average value (usage) target was set".into(),
            ));
        };
        let what = match target {
            Target::Utilization(_) => "utilization",
            Target::AverageValue(_) => "usage",
        };
        let failed = |e: String| (reason, format!("failed to get {name}{kind} {what}: {e}"));
        let usage = metrics::usage(&self.client, namespace, selector, name, scope)
            .await
            .map_err(failed)?;
        let pods = metrics::pods(&self.client, namespace, selector, name, scope)
            .await
            .map_err(|e| {
                failed(format!(
                    "unable to get pods while calculating replica count: {e}"
                ))
            })?;
        let p =
            calc::replicas(current, target, name, name == "cpu", &pods, &usage).map_err(failed)?;
        let current_value = MetricValueStatus {
            average_utilization: p.utilization,
            average_value: Some(milli_quantity(p.average)),
            value: None,
        };
        let (metric_name, status) = match scope {
            Scope::Pod => (
                name.to_string(),
                MetricStatus {
                    type_: "Resource".into(),
                    resource: Some(ResourceMetricStatus {
                        name: name.clone(),
                        current: current_value,
                    }),
                    ..Default::default()
                },
            ),
            Scope::Container(c) => (
                name.to_string(),
                MetricStatus {
                    type_: "ContainerResource".into(),
                    container_resource: Some(ContainerResourceMetricStatus {
                        name: name.clone(),
                        container: c.to_string(),
                        current: current_value,
                    }),
                    ..Default::default()
                },
            ),
        };
        let name = match target {
            Target::Utilization(_) => {
                format!("{metric_name}{kind} resource utilization (percentage of request)")
            }
            Target::AverageValue(_) => format!("{metric_name}{kind} resource"),
        };
        Ok(Computed {
            replicas: p.replicas,
            name,
            status,
        })
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
