//! Pod status as a kubelet would write it at each simulated step, built
//! from the pod (its spec and the status it has now), as the body of a
//! JSON merge patch on pods/status. Pure functions.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Where a pod stands, read from its status.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Observed {
    /// Nothing written by a node yet.
    Fresh,
    /// Containers waiting (ContainerCreating / PodInitializing).
    Creating,
    /// Containers running, with each main container's readiness in spec
    /// order.
    Running { ready: Vec<bool> },
    /// Succeeded or Failed.
    Terminal,
}

/// The step to write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    Creating,
    Running {
        ready: &'a [bool],
    },
    /// Every container exited with `exit_code` (0: Succeeded, else Failed).
    Completed {
        exit_code: i32,
    },
}

pub(crate) fn observe(pod: &Pod) -> Observed {
    let Some(status) = &pod.status else {
        return Observed::Fresh;
    };
    if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
        return Observed::Terminal;
    }
    let statuses = status.container_statuses.as_deref().unwrap_or_default();
    if statuses.is_empty() || status.host_ip.as_deref().unwrap_or("").is_empty() {
        return Observed::Fresh;
    }
    let waiting = statuses
        .iter()
        .any(|s| s.state.as_ref().is_none_or(|st| st.running.is_none()));
    if waiting || status.phase.as_deref() != Some("Running") {
        return Observed::Creating;
    }
    let ready = containers(pod)
        .iter()
        .map(|c| {
            statuses
                .iter()
                .find(|s| s.name == c.name)
                .is_some_and(|s| s.ready)
        })
        .collect();
    Observed::Running { ready }
}

pub(crate) fn containers(pod: &Pod) -> &[Container] {
    pod.spec.as_ref().map_or(&[], |s| s.containers.as_slice())
}

fn init_containers(pod: &Pod) -> &[Container] {
    pod.spec
        .as_ref()
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default()
}

/// How long after it starts a container turns Ready: the larger of the
/// node's ready delay and the readiness probe's initialDelaySeconds.
pub(crate) fn ready_delay(c: &Container, base: Duration) -> Duration {
    let probe = c
        .readiness_probe
        .as_ref()
        .and_then(|p| p.initial_delay_seconds)
        .unwrap_or(0)
        .max(0);
    base.max(Duration::from_secs(probe as u64))
}

/// The annotation that makes a simulated pod's containers exit with this
/// code (non-zero: the pod fails), so tests can exercise Job failure
/// handling without real processes.
pub const EXIT_CODE_ANNOTATION: &str = "rkube.io/exit-code";
/// The annotation that overrides how long a run-to-completion pod runs
/// (seconds, fractions allowed), e.g. a Job that must outlive a deadline.
pub const RUN_SECONDS_ANNOTATION: &str = "rkube.io/run-seconds";

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(|v| v.trim())
}

/// Whether a pod that does not restart runs to completion: a Job's pods
/// always do; other pods only when annotated with an exit code or a run
/// time, since a bare `restartPolicy: Never` nginx would run forever.
pub(crate) fn runs_to_completion(pod: &Pod) -> bool {
    let restart = pod
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always");
    if restart == "Always" {
        return false;
    }
    let owned_by_job = pod
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|o| o.kind == "Job");
    owned_by_job
        || annotation(pod, EXIT_CODE_ANNOTATION).is_some()
        || annotation(pod, RUN_SECONDS_ANNOTATION).is_some()
}

/// The exit code the pod's containers finish with (0 unless annotated).
pub(crate) fn exit_code(pod: &Pod) -> i32 {
    annotation(pod, EXIT_CODE_ANNOTATION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// How long the pod runs before it finishes: the annotation when it
/// parses, else the node's default.
pub(crate) fn run_time(pod: &Pod, default: Duration) -> Duration {
    annotation(pod, RUN_SECONDS_ANNOTATION)
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(default, Duration::from_secs_f64)
}

/// The image reference as a runtime reports it: registry and tag filled in.
pub(crate) fn normalize_image(image: &str) -> String {
    let (name, suffix) = match image.split_once('@') {
        Some((n, d)) => (n, format!("@{d}")),
        None => match image.rsplit_once(':') {
            Some((n, tag)) if !tag.contains('/') => (n, format!(":{tag}")),
            _ => (image, ":latest".to_string()),
        },
    };
    let first = name.split('/').next().unwrap_or("");
    let has_registry =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let repo = if has_registry {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    format!("{repo}{suffix}")
}

/// `<repository>@sha256:<digest>`, stable per image.
pub(crate) fn image_id(image: &str) -> String {
    let normalized = normalize_image(image);
    if let Some((repo, digest)) = normalized.split_once('@') {
        return format!("{repo}@{digest}");
    }
    let repo = normalized
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .map_or(normalized.as_str(), |(r, _)| r);
    let digest = Sha256::digest(image.as_bytes());
    format!("{repo}@sha256:{}", hex(&digest))
}

/// A size for the image in bytes, stable per image and in the range of
/// common base images (10 to 200 MB), for the kubelet's Pulled event.
pub(crate) fn image_size(image: &str) -> u64 {
    let digest = Sha256::digest(image.as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    10_000_000 + n % 190_000_000
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn new_container_id() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("containerd://{}", hex(&bytes))
}

fn time_str(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> String {
    t.0.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn previous<'a>(pod: &'a Pod, name: &str, init: bool) -> Option<&'a ContainerStatus> {
    let status = pod.status.as_ref()?;
    let list = if init {
        status.init_container_statuses.as_deref()
    } else {
        status.container_statuses.as_deref()
    };
    list?.iter().find(|s| s.name == name)
}

/// The container ID and start time a container keeps across writes.
fn identity(prev: Option<&ContainerStatus>, now: &str) -> (String, String) {
    let id = prev
        .and_then(|p| p.container_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(new_container_id);
    let started = prev
        .and_then(|p| p.state.as_ref())
        .and_then(|s| {
            s.running
                .as_ref()
                .and_then(|r| r.started_at.as_ref())
                .or_else(|| s.terminated.as_ref().and_then(|t| t.started_at.as_ref()))
        })
        .map(time_str)
        .unwrap_or_else(|| now.to_string());
    (id, started)
}

fn container_status(
    c: &Container,
    prev: Option<&ContainerStatus>,
    step: Step,
    ready: bool,
    waiting_reason: &str,
    now: &str,
) -> Value {
    let image = c.image.clone().unwrap_or_default();
    let mut s = json!({
        "name": c.name,
        "image": normalize_image(&image),
        "imageID": "",
        "ready": false,
        "restartCount": 0,
        "started": false,
        "lastState": {},
    });
    match step {
        Step::Creating => {
            s["state"] = json!({"waiting": {"reason": waiting_reason}});
        }
        Step::Running { .. } => {
            let (id, started) = identity(prev, now);
            s["imageID"] = json!(image_id(&image));
            s["containerID"] = json!(id);
            s["ready"] = json!(ready);
            s["started"] = json!(true);
            s["state"] = json!({"running": {"startedAt": started}});
        }
        Step::Completed { exit_code } => {
            let (id, started) = identity(prev, now);
            s["imageID"] = json!(image_id(&image));
            s["containerID"] = json!(id.clone());
            let reason = if exit_code == 0 { "Completed" } else { "Error" };
            s["state"] = json!({"terminated": {
                "exitCode": exit_code,
                "reason": reason,
                "startedAt": started,
                "finishedAt": now,
                "containerID": id,
            }});
        }
    }
    s
}

fn condition(kind: &str, ok: bool, reason: Option<&str>, message: Option<String>) -> Value {
    let mut c =
        json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastProbeTime": null});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

const KUBELET_CONDITIONS: [&str; 5] = [
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
];

/// The pod's conditions for `step`, keeping lastTransitionTime where a
/// condition's status did not change and conditions others own.
fn conditions(pod: &Pod, step: Step, ready: &[bool], now: &str) -> Value {
    let names = |pick: &dyn Fn(usize) -> bool| -> String {
        containers(pod)
            .iter()
            .enumerate()
            .filter(|(i, _)| pick(*i))
            .map(|(_, c)| c.name.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let has_init = !init_containers(pod).is_empty();
    let mut list = match step {
        Step::Creating => {
            let unready = format!("containers with unready status: [{}]", names(&|_| true));
            let initialized = if has_init {
                let inits: Vec<&str> = init_containers(pod)
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                condition(
                    "Initialized",
                    false,
                    Some("ContainersNotInitialized"),
                    Some(format!(
                        "containers with incomplete status: [{}]",
                        inits.join(" ")
                    )),
                )
            } else {
                condition("Initialized", true, None, None)
            };
            vec![
                condition("PodReadyToStartContainers", false, None, None),
                initialized,
                condition(
                    "Ready",
                    false,
                    Some("ContainersNotReady"),
                    Some(unready.clone()),
                ),
                condition(
                    "ContainersReady",
                    false,
                    Some("ContainersNotReady"),
                    Some(unready),
                ),
            ]
        }
        Step::Running { .. } => {
            let all = ready.iter().all(|r| *r);
            let unready = format!(
                "containers with unready status: [{}]",
                names(&|i| !ready.get(i).copied().unwrap_or(false))
            );
            let (reason, message) = if all {
                (None, None)
            } else {
                (Some("ContainersNotReady"), Some(unready))
            };
            vec![
                condition("PodReadyToStartContainers", true, None, None),
                condition("Initialized", true, None, None),
                condition("Ready", all, reason, message.clone()),
                condition("ContainersReady", all, reason, message),
            ]
        }
        Step::Completed { .. } => vec![
            condition("PodReadyToStartContainers", false, None, None),
            condition("Initialized", true, Some("PodCompleted"), None),
            condition("Ready", false, Some("PodCompleted"), None),
            condition("ContainersReady", false, Some("PodCompleted"), None),
        ],
    };
    list.push(condition("PodScheduled", true, None, None));
    let old = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    for c in &mut list {
        let kept = old
            .iter()
            .find(|o| {
                Some(o.type_.as_str()) == c["type"].as_str()
                    && Some(o.status.as_str()) == c["status"].as_str()
            })
            .and_then(|o| o.last_transition_time.as_ref())
            .map(time_str);
        c["lastTransitionTime"] = json!(kept.unwrap_or_else(|| now.to_string()));
    }
    list.extend(
        old.iter()
            .filter(|o| !KUBELET_CONDITIONS.contains(&o.type_.as_str()))
            .filter_map(|o| serde_json::to_value(o).ok()),
    );
    Value::Array(list)
}

/// The merge patch (`{"status": ...}`) that moves `pod` to `step`.
pub(crate) fn patch(
    pod: &Pod,
    step: Step,
    host_ip: &str,
    pod_ip: Option<&str>,
    now: &str,
) -> Value {
    let ready: &[bool] = match step {
        Step::Running { ready } => ready,
        _ => &[],
    };
    let has_init = !init_containers(pod).is_empty();
    let main_waiting = if has_init {
        "PodInitializing"
    } else {
        "ContainerCreating"
    };
    let statuses: Vec<Value> = containers(pod)
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let r = ready.get(i).copied().unwrap_or(false);
            container_status(c, previous(pod, &c.name, false), step, r, main_waiting, now)
        })
        .collect();
    let inits: Vec<Value> = init_containers(pod)
        .iter()
        .map(|c| {
            let prev = previous(pod, &c.name, true);
            let sidecar = c.restart_policy.as_deref() == Some("Always");
            let init_step = match step {
                Step::Running { .. } if sidecar => Step::Running { ready: &[] },
                Step::Running { .. } => Step::Completed { exit_code: 0 },
                Step::Completed { .. } => Step::Completed { exit_code: 0 },
                other => other,
            };
            container_status(c, prev, init_step, sidecar, "PodInitializing", now)
        })
        .collect();
    let start_time = pod
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map(time_str)
        .unwrap_or_else(|| now.to_string());
    let phase = match step {
        Step::Creating => "Pending",
        Step::Running { .. } => "Running",
        Step::Completed { exit_code: 0 } => "Succeeded",
        Step::Completed { .. } => "Failed",
    };
    let mut status = json!({
        "phase": phase,
        "conditions": conditions(pod, step, ready, now),
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": start_time,
        "containerStatuses": statuses,
    });
    if !inits.is_empty() {
        status["initContainerStatuses"] = Value::Array(inits);
    }
    if let Some(ip) = pod_ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    if let Some(g) = pod.metadata.generation {
        status["observedGeneration"] = json!(g);
    }
    json!({ "status": status })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn nginx() -> Pod {
        pod(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
        }))
    }

    fn apply(p: &Pod, patch: &Value) -> Pod {
        let mut v = serde_json::to_value(p).unwrap();
        v["status"] = patch["status"].clone();
        pod(v)
    }

    #[test]
    fn images_are_normalized() {
        assert_eq!(normalize_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            normalize_image("nginx:1.21"),
            "docker.io/library/nginx:1.21"
        );
        assert_eq!(
            normalize_image("bitnami/redis:7"),
            "docker.io/bitnami/redis:7"
        );
        assert_eq!(
            normalize_image("registry.k8s.io/pause:3.10"),
            "registry.k8s.io/pause:3.10"
        );
        assert_eq!(
            normalize_image("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        let size = image_size("nginx:1");
        assert!((10_000_000..200_000_000).contains(&size));
        assert_eq!(size, image_size("nginx:1"));
        let id = image_id("nginx:1");
        assert!(id.starts_with("docker.io/library/nginx@sha256:"), "{id}");
        assert_eq!(id.len(), "docker.io/library/nginx@sha256:".len() + 64);
        assert_eq!(id, image_id("nginx:1"));
    }

    #[test]
    fn lifecycle_creating_running_completed() {
        let p = nginx();
        assert_eq!(observe(&p), Observed::Fresh);
        let now = "2024-01-01T00:00:05Z";
        let creating = patch(&p, Step::Creating, "172.18.0.3", None, now);
        let s = &creating["status"];
        assert_eq!(s["phase"], "Pending");
        assert_eq!(
            s["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        assert_eq!(s["containerStatuses"][0]["ready"], false);
        let cond = |s: &Value, t: &str| {
            s["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["type"] == t)
                .cloned()
                .unwrap()
        };
        assert_eq!(
            cond(s, "PodScheduled")["lastTransitionTime"],
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(cond(s, "Initialized")["status"], "True");
        assert_eq!(cond(s, "ContainersReady")["status"], "False");
        assert_eq!(cond(s, "PodReadyToStartContainers")["status"], "False");
        let p = apply(&p, &creating);
        assert_eq!(observe(&p), Observed::Creating);

        let running = patch(
            &p,
            Step::Running { ready: &[true] },
            "172.18.0.3",
            Some("10.244.1.2"),
            "2024-01-01T00:00:07Z",
        );
        let s = &running["status"];
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["podIP"], "10.244.1.2");
        assert_eq!(s["startTime"], now);
        let cs = &s["containerStatuses"][0];
        let id = cs["containerID"].as_str().unwrap();
        assert!(
            id.starts_with("containerd://") && id.len() == 13 + 64,
            "{id}"
        );
        assert_eq!(cs["started"], true);
        assert_eq!(cs["ready"], true);
        assert_eq!(cond(s, "Ready")["status"], "True");
        let p = apply(&p, &running);
        assert_eq!(observe(&p), Observed::Running { ready: vec![true] });

        let done = patch(
            &p,
            Step::Completed { exit_code: 0 },
            "172.18.0.3",
            Some("10.244.1.2"),
            "2024-01-01T00:00:09Z",
        );
        let t = &done["status"]["containerStatuses"][0];
        assert_eq!(t["containerID"], id, "the container keeps its ID");
        assert_eq!(t["state"]["terminated"]["reason"], "Completed");
        assert_eq!(t["state"]["terminated"]["exitCode"], 0);
        assert_eq!(
            t["state"]["terminated"]["startedAt"],
            "2024-01-01T00:00:07Z"
        );
        assert_eq!(done["status"]["phase"], "Succeeded");
        assert_eq!(observe(&apply(&p, &done)), Observed::Terminal);
    }

    #[test]
    fn unready_containers_are_named_and_probes_delay_readiness() {
        let p = pod(json!({
            "metadata": {"name": "two"},
            "spec": {"containers": [
                {"name": "a", "image": "busybox"},
                {"name": "b", "image": "busybox", "readinessProbe": {"initialDelaySeconds": 5, "exec": {"command": ["true"]}}}
            ]}
        }));
        let c = containers(&p);
        assert_eq!(ready_delay(&c[0], Duration::ZERO), Duration::ZERO);
        assert_eq!(
            ready_delay(&c[1], Duration::from_secs(1)),
            Duration::from_secs(5)
        );
        let s = patch(
            &p,
            Step::Running {
                ready: &[true, false],
            },
            "h",
            Some("ip"),
            "t",
        );
        let ready = s["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap()
            .clone();
        assert_eq!(ready["status"], "False");
        assert_eq!(ready["message"], "containers with unready status: [b]");
    }

    #[test]
    fn init_containers_complete_before_the_main_ones_run() {
        let p = pod(json!({
            "metadata": {"name": "init"},
            "spec": {
                "initContainers": [{"name": "setup", "image": "busybox"}],
                "containers": [{"name": "app", "image": "busybox"}]
            }
        }));
        let s = patch(&p, Step::Creating, "h", None, "t");
        assert_eq!(
            s["status"]["initContainerStatuses"][0]["state"]["waiting"]["reason"],
            "PodInitializing"
        );
        let s = patch(&p, Step::Running { ready: &[true] }, "h", Some("ip"), "t");
        assert_eq!(
            s["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"],
            "Completed"
        );
    }

    #[test]
    fn job_pods_run_to_completion() {
        let mut p = nginx();
        assert!(!runs_to_completion(&p));
        p.spec.as_mut().unwrap().restart_policy = Some("Never".into());
        assert!(!runs_to_completion(&p));
        p.metadata.owner_references = Some(vec![
            serde_json::from_value(json!({
                "apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "x"
            }))
            .unwrap(),
        ]);
        assert!(runs_to_completion(&p));
    }

    #[test]
    fn annotated_pods_fail_with_their_exit_code_after_their_run_time() {
        let mut p = nginx();
        p.spec.as_mut().unwrap().restart_policy = Some("Never".into());
        p.metadata.annotations = Some(
            [
                (EXIT_CODE_ANNOTATION.to_string(), "3".to_string()),
                (RUN_SECONDS_ANNOTATION.to_string(), "0.5".to_string()),
            ]
            .into(),
        );
        assert!(runs_to_completion(&p), "annotated bare pods finish too");
        assert_eq!(exit_code(&p), 3);
        assert_eq!(
            run_time(&p, Duration::from_secs(9)),
            Duration::from_millis(500)
        );
        let done = patch(&p, Step::Completed { exit_code: 3 }, "h", None, "t");
        assert_eq!(done["status"]["phase"], "Failed");
        let t = &done["status"]["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(t["exitCode"], 3);
        assert_eq!(t["reason"], "Error");
        p.metadata.annotations = None;
        assert!(!runs_to_completion(&p));
        assert_eq!(run_time(&p, Duration::from_secs(9)), Duration::from_secs(9));
    }
}
