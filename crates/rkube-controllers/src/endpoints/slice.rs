//! The EndpointSlice controller: for every Service with a selector, IPv4
//! EndpointSlices (named `<service>-<random>`, owned by the Service,
//! labelled `kubernetes.io/service-name` and
//! `endpointslice.kubernetes.io/managed-by`) with one endpoint per selected
//! pod and its ready / serving / terminating conditions. Unlike Endpoints,
//! terminating pods stay listed (terminating=true) so proxies can drain
//! them. One slice per distinct resolved port set, at most 100 endpoints
//! each; existing slices are reused for the same ports before new ones
//! are made.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams};
use kube::{Client, ResourceExt};

use super::common::{self, ResolvedPort, has_endpoint, pod_ip, selected_pods, service_selector};
use super::service_labels;
use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{api_code, is_pod_ready, owner_ref, post_params};

pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "endpointslice-controller.k8s.io";
const MAX_ENDPOINTS: usize = 100;
/// How long to wait for the cache to show a slice we created before
/// acting without it.
const CREATE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct EndpointSliceController {
    client: Client,
    services: Informer<Service>,
    pods: Informer<Pod>,
    slices: Informer<EndpointSlice>,
    queue: Arc<Queue<Key>>,
    /// Slices created (server-named) that the cache has not shown yet:
    /// syncing before they appear would create them twice.
    pending: Mutex<HashMap<Key, (Instant, Vec<String>)>>,
}

/// The Service a slice of ours belongs to.
fn slice_service(s: &EndpointSlice) -> Option<Key> {
    let l = s.metadata.labels.as_ref()?;
    (l.get(MANAGED_BY).map(String::as_str) == Some(MANAGED_BY_VALUE))
        .then(|| l.get(SERVICE_NAME))
        .flatten()
        .map(|n| Key::new(s.namespace().unwrap_or_default(), n.clone()))
}

fn to_ports(ports: &[ResolvedPort]) -> Vec<EndpointPort> {
    ports
        .iter()
        .map(|p| EndpointPort {
            name: Some(p.name.clone().unwrap_or_default()),
            port: Some(p.port),
            protocol: Some(p.protocol.clone()),
            app_protocol: p.app_protocol.clone(),
        })
        .collect()
}

/// The endpoint of one pod.
pub fn endpoint(svc: &Service, pod: &Pod) -> Endpoint {
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let publish = common::publish_not_ready(svc);
    let serving = publish || is_pod_ready(pod);
    Endpoint {
        addresses: vec![pod_ip(pod).unwrap_or_default().to_string()],
        conditions: Some(EndpointConditions {
            ready: Some(serving && (publish || !terminating)),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: common::hostname(svc, pod),
        node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        target_ref: Some(common::target_ref(pod)),
        ..Default::default()
    }
}

/// The slices' contents `svc` should have: (ports, endpoints) chunks.
pub fn desired(svc: &Service, pods: &[Arc<Pod>]) -> Vec<(Vec<EndpointPort>, Vec<Endpoint>)> {
    let has_ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .is_some_and(|p| !p.is_empty());
    let mut groups: BTreeMap<Vec<ResolvedPort>, Vec<Endpoint>> = BTreeMap::new();
    for pod in pods.iter().filter(|p| has_endpoint(p)) {
        let ports = common::pod_ports(svc, pod);
        if ports.is_empty() && has_ports {
            continue;
        }
        groups.entry(ports).or_default().push(endpoint(svc, pod));
    }
    let mut out = Vec::new();
    for (ports, mut eps) in groups {
        eps.sort_by(|a, b| a.addresses.cmp(&b.addresses));
        for chunk in eps.chunks(MAX_ENDPOINTS) {
            out.push((to_ports(&ports), chunk.to_vec()));
        }
    }
    out
}

impl EndpointSliceController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(EndpointSliceController {
            client: factory.client().clone(),
            services: factory.informer::<Service>(),
            pods: factory.informer::<Pod>(),
            slices: factory.informer::<EndpointSlice>(),
            queue: Queue::new(),
            pending: Mutex::new(HashMap::new()),
        });
        let q = Arc::clone(&c.queue);
        c.services.on_change(move |ch| match ch {
            Change::Added(s) | Change::Updated { new: s, .. } | Change::Deleted(s) => {
                q.add(Key::of(s.as_ref()))
            }
        });
        let q = Arc::clone(&c.queue);
        c.slices.on_change(move |ch| {
            if let Change::Updated { new: s, .. } | Change::Deleted(s) = ch
                && let Some(k) = slice_service(s)
            {
                q.add(k);
            }
        });
        let (q, services) = (Arc::clone(&c.queue), c.services.clone());
        c.pods
            .on_change(move |ch| common::enqueue_for_pod(&services, &q, ch));
        c
    }

    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let synced = async {
            self.services.wait_synced().await;
            self.pods.wait_synced().await;
            self.slices.wait_synced().await;
        };
        let queue = Arc::clone(&self.queue);
        run_controller(
            "endpointslice",
            Arc::clone(&self),
            queue,
            5,
            synced,
            shutdown,
            |me, key| async move { me.sync(key).await },
        )
        .await;
    }

    async fn sync(&self, key: Key) -> SyncResult {
        {
            let mut pending = self.pending.lock().expect("pending lock");
            if let Some((at, names)) = pending.get(&key) {
                let unseen = names
                    .iter()
                    .any(|n| self.slices.get(&key.namespace, n).is_none());
                if unseen && at.elapsed() < CREATE_TIMEOUT {
                    return Ok(Some(Duration::from_millis(50)));
                }
                pending.remove(&key);
            }
        }
        let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &key.namespace);
        let mut existing: Vec<Arc<EndpointSlice>> = self
            .slices
            .list_namespace(&key.namespace)
            .into_iter()
            .filter(|s| slice_service(s).as_ref() == Some(&key))
            .collect();
        existing.sort_by_key(|s| s.name_any());
        let svc = self.services.get(&key.namespace, &key.name);
        let desired = match &svc {
            Some(svc) if service_selector(svc).is_some() => {
                desired(svc, &selected_pods(svc, &self.pods))
            }
            _ => Vec::new(),
        };
        let mut used = vec![false; existing.len()];
        let mut writes = Vec::new();
        for (ports, endpoints) in desired {
            let svc = svc.as_ref().expect("desired slices need a Service");
            let mut labels = service_labels(svc);
            labels.insert(SERVICE_NAME.into(), key.name.clone());
            labels.insert(MANAGED_BY.into(), MANAGED_BY_VALUE.into());
            let reuse = existing
                .iter()
                .enumerate()
                .find(|(i, s)| !used[*i] && s.ports.as_deref().unwrap_or_default() == ports);
            match reuse {
                Some((i, s)) => {
                    used[i] = true;
                    let want_eps = Some(endpoints);
                    let want_ports = Some(ports);
                    if s.endpoints == want_eps
                        && s.ports == want_ports
                        && s.metadata.labels.as_ref() == Some(&labels)
                    {
                        continue;
                    }
                    let mut next = (**s).clone();
                    next.endpoints = want_eps;
                    next.ports = want_ports;
                    next.metadata.labels = Some(labels);
                    writes.push((Some(next.name_any()), next));
                }
                None => {
                    let slice = EndpointSlice {
                        metadata: ObjectMeta {
                            generate_name: Some(format!("{}-", key.name)),
                            namespace: Some(key.namespace.clone()),
                            labels: Some(labels),
                            owner_references: Some(vec![owner_ref("v1", "Service", &svc.metadata)]),
                            ..Default::default()
                        },
                        address_type: "IPv4".into(),
                        endpoints: Some(endpoints),
                        ports: Some(ports),
                    };
                    writes.push((None, slice));
                }
            }
        }
        // A Service with a selector but no pods keeps one empty slice, as
        // upstream does, so consumers see "no endpoints" explicitly.
        if writes.is_empty()
            && !used.iter().any(|u| *u)
            && let Some(svc) = svc.as_ref().filter(|s| service_selector(s).is_some())
        {
            let mut labels = service_labels(svc);
            labels.insert(SERVICE_NAME.into(), key.name.clone());
            labels.insert(MANAGED_BY.into(), MANAGED_BY_VALUE.into());
            match existing.first() {
                Some(s) => {
                    used[0] = true;
                    if s.endpoints.as_ref().is_some_and(|e| !e.is_empty())
                        || s.metadata.labels.as_ref() != Some(&labels)
                    {
                        let mut next = (**s).clone();
                        next.endpoints = None;
                        next.metadata.labels = Some(labels);
                        writes.push((Some(next.name_any()), next));
                    }
                }
                None => writes.push((
                    None,
                    EndpointSlice {
                        metadata: ObjectMeta {
                            generate_name: Some(format!("{}-", key.name)),
                            namespace: Some(key.namespace.clone()),
                            labels: Some(labels),
                            owner_references: Some(vec![owner_ref("v1", "Service", &svc.metadata)]),
                            ..Default::default()
                        },
                        address_type: "IPv4".into(),
                        endpoints: None,
                        ports: None,
                    },
                )),
            }
        }
        for (name, slice) in writes {
            match name {
                Some(n) => {
                    api.replace(&n, &post_params(), &slice).await?;
                }
                None => {
                    let made = api.create(&post_params(), &slice).await?;
                    let mut pending = self.pending.lock().expect("pending lock");
                    let entry = pending
                        .entry(key.clone())
                        .or_insert_with(|| (Instant::now(), Vec::new()));
                    entry.1.push(made.name_any());
                }
            }
        }
        for (s, _) in existing.iter().zip(&used).filter(|(_, u)| !**u) {
            match api.delete(&s.name_any(), &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if api_code(&e) == Some(404) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }
}
