//! rkube's control loops. Each is an ordinary API client over kube-rs: it
//! lists and watches through shared informers, queues the keys of objects
//! to look at, and writes through the API (replace with resourceVersion,
//! JSON merge patch, the status and scale subresources), never reaching
//! into storage. Every sync is idempotent: it reads the cache, computes
//! what should be, and writes only the difference.
//!
//! `run` runs the named controllers (`CONTROLLERS` lists them) until
//! `shutdown` completes; `run_elected` runs them only while this process
//! holds kube-controller-manager's Lease, as several controller managers
//! on one cluster must.

pub mod claim;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
pub mod events;
pub mod expectations;
pub mod gc;
pub mod hpa;
pub mod job;
pub mod leader;
pub mod mapper;
pub mod namespace;
pub mod nodelifecycle;
pub mod podcontrol;
pub mod replicaset;
pub mod revision;
pub mod runtime;
pub mod serviceaccount;
pub mod statefulset;
pub mod util;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use kube::Client;

use runtime::{Factory, Shutdown};

/// The names `run` accepts, in the order `run_all` starts them.
pub const CONTROLLERS: &[&str] = &[
    "replicaset",
    "deployment",
    "horizontalpodautoscaling",
    "namespace",
    "serviceaccount",
    "garbagecollector",
    "job",
    "ttl-after-finished",
    "endpoint",
    "endpointslice",
    "statefulset",
    "daemonset",
    "cronjob",
    "nodelifecycle",
    "replicationcontroller",
];

/// Timings upstream exposes as kube-controller-manager flags; tests
/// shorten them to stay fast.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The first delay before a failed Job pod is replaced (doubled per
    /// failure; upstream's 10 s).
    pub job_backoff: Duration,
    /// How long a node may go without a heartbeat before it is marked
    /// Unknown and tainted unreachable (upstream's 40 s).
    pub node_monitor_grace_period: Duration,
    /// How often node health is checked (upstream's 5 s).
    pub node_monitor_period: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            job_backoff: Duration::from_secs(10),
            node_monitor_grace_period: Duration::from_secs(40),
            node_monitor_period: Duration::from_secs(5),
        }
    }
}

type Run = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// Run the named controllers (see `CONTROLLERS`) until `shutdown`
/// completes. They share one informer per resource type.
pub async fn run(
    client: Client,
    names: &[&str],
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_with(client, names, Settings::default(), shutdown).await
}

/// `run` with non-default timings.
pub async fn run_with(
    client: Client,
    names: &[&str],
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let shutdown = Shutdown::from_future(shutdown);
    let factory = Factory::new(client.clone());
    let mut runs: Vec<Run> = Vec::new();
    for name in names {
        let sd = shutdown.clone();
        let run: Run = match *name {
            "replicaset" => {
                let c = replicaset::ReplicaSetController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "deployment" => {
                let c = deployment::DeploymentController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "horizontalpodautoscaling" => {
                let c = hpa::HpaController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "namespace" => {
                let c = namespace::NamespaceController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "serviceaccount" => {
                let c = serviceaccount::ServiceAccountController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "job" => {
                let c = job::JobController::new(&factory, settings.job_backoff);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "ttl-after-finished" => {
                let c = job::ttl::TtlAfterFinishedController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "endpoint" => {
                let c = endpoints::EndpointsController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "endpointslice" => {
                let c = endpoints::slice::EndpointSliceController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "statefulset" => {
                let c = statefulset::StatefulSetController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "daemonset" => {
                let c = daemonset::DaemonSetController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "cronjob" => {
                let c = cronjob::CronJobController::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "nodelifecycle" => {
                let timing = nodelifecycle::Timing {
                    grace_period: settings.node_monitor_grace_period,
                    monitor_period: settings.node_monitor_period,
                };
                let c = nodelifecycle::NodeLifecycleController::new(&factory, timing);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "replicationcontroller" => {
                let c = replicaset::ReplicationManager::new(&factory);
                Box::pin(async move {
                    c.run(sd).await;
                    Ok(())
                })
            }
            "garbagecollector" => {
                let c = gc::GarbageCollector::new(client.clone());
                Box::pin(async move { c.run(sd).await })
            }
            other => anyhow::bail!(
                "unknown controller {other:?}; known: {}",
                CONTROLLERS.join(", ")
            ),
        };
        runs.push(run);
    }
    let informers = factory.start(&shutdown);
    let results = futures::future::join_all(runs).await;
    for h in informers {
        let _ = h.await;
    }
    results.into_iter().collect()
}

/// Run the named controllers while this process holds the election's
/// Lease (see `leader`), until `shutdown` completes.
pub async fn run_elected(
    client: Client,
    names: &[&str],
    election: leader::LeaderElection,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    leader::run_elected(client.clone(), election, shutdown, |stop| {
        run(client.clone(), names, stop)
    })
    .await
}

/// Run every controller until `shutdown` completes.
pub async fn run_all(
    client: Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run(client, CONTROLLERS, shutdown).await
}
