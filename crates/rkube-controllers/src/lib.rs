//! rkube's control loops. Each is an ordinary API client over kube-rs: it
//! lists and watches through shared informers, queues the keys of objects
//! to look at, and writes through the API (replace with resourceVersion,
//! JSON merge patch, the status and scale subresources), never reaching
//! into storage. Every sync is idempotent: it reads the cache, computes
//! what should be, and writes only the difference.
//!
//! `run_all` runs every controller until `shutdown` completes; each
//! `run_<name>` runs one.

pub mod claim;
pub mod deployment;
pub mod events;
pub mod expectations;
pub mod gc;
pub mod hpa;
pub mod leader;
pub mod mapper;
pub mod namespace;
pub mod replicaset;
pub mod runtime;
pub mod serviceaccount;
pub mod util;

use std::future::Future;
use std::pin::Pin;

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
];

type Run = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// Run the named controllers (see `CONTROLLERS`) until `shutdown`
/// completes. They share one informer per resource type.
pub async fn run(
    client: Client,
    names: &[&str],
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

/// Run the ReplicaSet controller.
pub async fn run_replicaset(
    client: Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run(client, &["replicaset"], shutdown).await
}

/// Run the Deployment controller.
pub async fn run_deployment(
    client: Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run(client, &["deployment"], shutdown).await
}

/// Run the HorizontalPodAutoscaler controller.
pub async fn run_horizontal_pod_autoscaler(
    client: Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run(client, &["horizontalpodautoscaling"], shutdown).await
}

/// Run the Namespace controller.
pub async fn run_namespace(
    client: Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run(client, &["namespace"], shutdown).await
}

/// Run the ServiceAccount controller.
pub async fn run_serviceaccount(
    client: Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run(client, &["serviceaccount"], shutdown).await
}

/// Run the garbage collector.
pub async fn run_garbage_collector(
    client: Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run(client, &["garbagecollector"], shutdown).await
}
