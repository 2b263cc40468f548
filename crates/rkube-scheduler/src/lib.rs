//! rkube's pod scheduler, an ordinary API client. It keeps nodes and the
//! pods bound to them in memory from two watches (nodes, pods), filters
//! nodes for each pending pod (spec.unschedulable, taints and tolerations,
//! nodeSelector and required node affinity, CPU/memory/ephemeral-storage
//! requests against allocatable, pod count), scores the ones that fit
//! (least allocated, spreading an owner's pods, preferred affinity,
//! PreferNoSchedule taints), and binds through pods/binding. Pods that fit
//! nowhere get a FailedScheduling event and a PodScheduled=False
//! condition, and are retried when nodes change or pods go away.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> anyhow::Result<()> {
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! rkube_scheduler::run(client, shutdown).await
//! # }
//! ```

mod events;
mod placement;
mod predicates;
mod quantity;
mod sched;

use std::future::Future;

/// The name pods ask for in spec.schedulerName (the default).
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Pods whose spec.schedulerName is this are scheduled.
    pub scheduler_name: String,
    /// Record Scheduled / FailedScheduling events.
    pub events: bool,
    /// Bindings in flight at once.
    pub max_in_flight: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scheduler_name: DEFAULT_SCHEDULER_NAME.into(),
            events: true,
            max_in_flight: 128,
        }
    }
}

/// Schedule pods with the default configuration until `shutdown`
/// completes.
pub async fn run(
    client: kube::Client,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    run_with(client, Config::default(), shutdown).await
}

/// Schedule pods until `shutdown` completes.
pub async fn run_with(
    client: kube::Client,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    sched::run(client, config, shutdown).await
}
