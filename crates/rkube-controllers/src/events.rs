//! core/v1 Events as client-go's event recorder writes them for
//! kube-controller-manager: named `<object>.<hex nanoseconds>`, source and
//! reportingComponent the controller's component name, and repeats of the
//! same event within ten minutes counted on the first one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch};
use kube::{Client, Resource};
use serde_json::json;
use tokio::sync::mpsc;

use crate::util::{is_not_found, now, patch_params, post_params};

const AGGREGATE_WINDOW: Duration = Duration::from_secs(600);

/// (involved uid, type, reason, message)
type EventKey = (String, &'static str, String, String);
/// (namespace, event name, count, last written)
type Written = (String, String, i32, Instant);

struct Record {
    reference: ObjectReference,
    type_: &'static str,
    reason: String,
    message: String,
}

/// Writes events in the background, in order, never blocking a sync.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<Record>,
}

/// The reference an event about `obj` carries.
pub fn reference<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
    obj.object_ref(&())
}

impl Recorder {
    pub fn new(client: Client, component: &'static str) -> Recorder {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_events(client, component, rx));
        Recorder { tx }
    }

    pub fn normal(&self, reference: ObjectReference, reason: &str, message: String) {
        self.send(reference, "Normal", reason, message);
    }

    pub fn warning(&self, reference: ObjectReference, reason: &str, message: String) {
        self.send(reference, "Warning", reason, message);
    }

    fn send(&self, reference: ObjectReference, type_: &'static str, reason: &str, message: String) {
        let _ = self.tx.send(Record {
            reference,
            type_,
            reason: reason.into(),
            message,
        });
    }
}

async fn write_events(
    client: Client,
    component: &'static str,
    mut rx: mpsc::UnboundedReceiver<Record>,
) {
    let mut seen: HashMap<EventKey, Written> = HashMap::new();
    while let Some(r) = rx.recv().await {
        seen.retain(|_, v| v.3.elapsed() < AGGREGATE_WINDOW);
        let namespace = r
            .reference
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into());
        let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
        let key = (
            r.reference.uid.clone().unwrap_or_default(),
            r.type_,
            r.reason.clone(),
            r.message.clone(),
        );
        if let Some((ns, name, count, at)) = seen.get_mut(&key)
            && *ns == namespace
        {
            let patch = json!({"count": *count + 1, "lastTimestamp": now()});
            match api
                .patch(name, &patch_params(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    *count += 1;
                    *at = Instant::now();
                    continue;
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    tracing::debug!("updating event {name}: {e}");
                    continue;
                }
            }
        }
        let t = now();
        let nanos = Timestamp::now().as_nanosecond();
        let name = format!(
            "{}.{:x}",
            r.reference.name.clone().unwrap_or_default(),
            nanos
        );
        let ev = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            involved_object: r.reference.clone(),
            reason: Some(r.reason.clone()),
            message: Some(r.message.clone()),
            source: Some(EventSource {
                component: Some(component.into()),
                host: None,
            }),
            first_timestamp: Some(t.clone()),
            last_timestamp: Some(t),
            count: Some(1),
            type_: Some(r.type_.into()),
            reporting_component: Some(component.into()),
            ..Default::default()
        };
        match api.create(&post_params(), &ev).await {
            Ok(_) => {
                seen.insert(key, (namespace, name, 1, Instant::now()));
            }
            Err(e) => tracing::debug!("writing event {name}: {e}"),
        }
    }
}
