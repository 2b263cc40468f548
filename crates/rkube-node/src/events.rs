//! core/v1 Events about pods, written by a few background workers so the
//! lifecycle never waits on them. Best effort: when the queue is full an
//! event is dropped, as a kubelet's broadcaster does under load.

use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const QUEUE: usize = 8192;
const WORKERS: usize = 8;

#[derive(Clone)]
pub(crate) struct Recorder {
    tx: mpsc::Sender<Event>,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Recorder {
    pub(crate) fn start(client: kube::Client) -> (Recorder, Vec<JoinHandle<()>>) {
        let (tx, rx) = mpsc::channel::<Event>(QUEUE);
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        let workers = (0..WORKERS)
            .map(|_| {
                let rx = rx.clone();
                let client = client.clone();
                tokio::spawn(async move {
                    loop {
                        let next = rx.lock().await.recv().await;
                        let Some(ev) = next else { return };
                        let ns = ev.metadata.namespace.clone().unwrap_or_default();
                        let api: Api<Event> = Api::namespaced(client.clone(), &ns);
                        if let Err(e) = api.create(&PostParams::default(), &ev).await {
                            tracing::debug!("recording event {:?}: {e}", ev.reason);
                        }
                    }
                })
            })
            .collect();
        (Recorder { tx }, workers)
    }

    /// Record a Normal event about `pod` (a container in it when
    /// `container` is given) from the kubelet of `node`.
    pub(crate) fn pod_event(
        &self,
        pod: &Pod,
        node: &str,
        container: Option<&str>,
        reason: &str,
        message: String,
    ) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let now = chrono::Utc::now();
        let stamp = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let unique = (now.timestamp_nanos_opt().unwrap_or(0) as u64)
            .wrapping_add(SEQ.fetch_add(1, Ordering::Relaxed));
        let mut involved = json!({
            "kind": "Pod",
            "namespace": ns,
            "name": name,
            "uid": pod.metadata.uid,
            "apiVersion": "v1",
        });
        if let Some(c) = container {
            involved["fieldPath"] = json!(format!("spec.containers{{{c}}}"));
        }
        let ev = json!({
            "metadata": {"name": format!("{name}.{unique:x}"), "namespace": ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": "Normal",
            "source": {"component": "kubelet", "host": node},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": "kubelet",
            "reportingInstance": node,
        });
        match serde_json::from_value::<Event>(ev) {
            Ok(ev) => {
                if self.tx.try_send(ev).is_err() {
                    tracing::debug!("event queue full; dropped {reason} for {ns}/{name}");
                }
            }
            Err(e) => tracing::warn!("building event: {e}"),
        }
    }
}
