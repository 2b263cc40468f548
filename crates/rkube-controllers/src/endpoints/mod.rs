//! The Endpoints controller: for every Service with a selector, one
//! Endpoints object of the same name listing the selected pods' IPs (ready
//! ones under `addresses`, the others under `notReadyAddresses`), grouped
//! into subsets by the ports they resolve to. Services without a selector
//! are left to whoever manages their endpoints (the API server writes the
//! `kubernetes` Service's own).

pub mod common;
pub mod slice;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams};
use kube::{Client, ResourceExt};

use crate::runtime::{Change, Factory, Informer, Key, Queue, Shutdown, SyncResult, run_controller};
use crate::util::{api_code, post_params};
use common::{ResolvedPort, has_endpoint, pod_ip, selected_pods, service_selector};

/// The label marking Endpoints this controller owns (so it never deletes
/// ones a user or the API server manages).
pub const MANAGED_BY: &str = "endpoints.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "endpoint-controller";
pub const HEADLESS: &str = "service.kubernetes.io/headless";

pub struct EndpointsController {
    client: Client,
    services: Informer<Service>,
    pods: Informer<Pod>,
    endpoints: Informer<Endpoints>,
    queue: Arc<Queue<Key>>,
}

fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// The labels the controller's objects for `svc` carry: the Service's,
/// plus the headless marker.
pub fn service_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut l = svc.labels().clone();
    if is_headless(svc) {
        l.insert(HEADLESS.into(), String::new());
    } else {
        l.remove(HEADLESS);
    }
    l
}

/// The subsets `svc` should have over `pods`: one per distinct set of
/// resolved ports, addresses sorted by IP.
pub fn subsets(svc: &Service, pods: &[Arc<Pod>]) -> Vec<EndpointSubset> {
    type Group = (Vec<EndpointAddress>, Vec<EndpointAddress>);
    let mut groups: BTreeMap<Vec<ResolvedPort>, Group> = BTreeMap::new();
    for pod in pods.iter().filter(|p| has_endpoint(p)) {
        let ready = common::counts_ready(svc, pod);
        // Terminating pods leave Endpoints (EndpointSlices keep them with
        // the terminating condition).
        if pod.metadata.deletion_timestamp.is_some() && !common::publish_not_ready(svc) {
            continue;
        }
        let ports = common::pod_ports(svc, pod);
        let has_ports = svc
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .is_some_and(|p| !p.is_empty());
        if ports.is_empty() && has_ports {
            continue;
        }
        let addr = EndpointAddress {
            ip: pod_ip(pod).unwrap_or_default().to_string(),
            hostname: common::hostname(svc, pod),
            node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            target_ref: Some(common::target_ref(pod)),
        };
        let g = groups.entry(ports).or_default();
        if ready {
            g.0.push(addr);
        } else {
            g.1.push(addr);
        }
    }
    groups
        .into_iter()
        .map(|(ports, (mut ready, mut not_ready))| {
            ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            not_ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: (!ports.is_empty()).then(|| {
                    ports
                        .into_iter()
                        .map(|p| EndpointPort {
                            name: p.name,
                            port: p.port,
                            protocol: Some(p.protocol),
                            app_protocol: p.app_protocol,
                        })
                        .collect()
                }),
            }
        })
        .collect()
}

impl EndpointsController {
    pub fn new(factory: &Factory) -> Arc<Self> {
        let c = Arc::new(EndpointsController {
            client: factory.client().clone(),
            services: factory.informer::<Service>(),
            pods: factory.informer::<Pod>(),
            endpoints: factory.informer::<Endpoints>(),
            queue: Queue::new(),
        });
        let q = Arc::clone(&c.queue);
        c.services.on_change(move |ch| match ch {
            Change::Added(s) | Change::Updated { new: s, .. } | Change::Deleted(s) => {
                q.add(Key::of(s.as_ref()))
            }
        });
        let q = Arc::clone(&c.queue);
        c.endpoints.on_change(move |ch| {
            if let Change::Updated { new: e, .. } | Change::Deleted(e) = ch {
                q.add(Key::of(e.as_ref()));
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
            self.endpoints.wait_synced().await;
        };
        let queue = Arc::clone(&self.queue);
        run_controller(
            "endpoints",
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
        let api: Api<Endpoints> = Api::namespaced(self.client.clone(), &key.namespace);
        let existing = self.endpoints.get(&key.namespace, &key.name);
        let ours = |e: &Endpoints| {
            e.labels().get(MANAGED_BY).map(String::as_str) == Some(MANAGED_BY_VALUE)
        };
        let svc = self.services.get(&key.namespace, &key.name);
        let Some(svc) = svc.filter(|s| service_selector(s).is_some()) else {
            // No Service, or one without a selector: drop what we made.
            if existing.is_some_and(|e| ours(&e)) {
                match api.delete(&key.name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(e) if api_code(&e) == Some(404) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(None);
        };
        let pods = selected_pods(&svc, &self.pods);
        let subsets = subsets(&svc, &pods);
        let mut labels = service_labels(&svc);
        labels.insert(MANAGED_BY.into(), MANAGED_BY_VALUE.into());
        let want_subsets = (!subsets.is_empty()).then_some(subsets);
        match existing {
            Some(e) if e.subsets == want_subsets && e.metadata.labels.as_ref() == Some(&labels) => {
                Ok(None)
            }
            Some(e) => {
                let mut next = (*e).clone();
                next.subsets = want_subsets;
                next.metadata.labels = Some(labels);
                api.replace(&key.name, &post_params(), &next).await?;
                Ok(None)
            }
            None => {
                let e = Endpoints {
                    metadata: ObjectMeta {
                        name: Some(key.name.clone()),
                        namespace: Some(key.namespace.clone()),
                        labels: Some(labels),
                        ..Default::default()
                    },
                    subsets: want_subsets,
                };
                // A 409 (made meanwhile, our cache lags) retries the sync.
                api.create(&post_params(), &e).await?;
                Ok(None)
            }
        }
    }
}
