//! `rkube controller-manager`, `rkube scheduler` and `rkube node`: the
//! control loops as separate processes against any API server.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use futures::FutureExt;
use rkube_controllers::leader::{self, LeaderElection};

use super::server::{SERVICE_ACCOUNT_ISSUER, loopback_client};
use crate::controllers::token::TokenController;

#[derive(Args, Debug, Clone)]
pub struct RemoteArgs {
    /// The kubeconfig of the API server to drive.
    #[arg(long)]
    pub kubeconfig: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct ControllerManagerArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// The key that signs service-account tokens (the API server's
    /// `<data-dir>/pki/sa.key`). With it, the token controller runs too
    /// and fills kubernetes.io/service-account-token Secrets.
    #[arg(long)]
    pub service_account_private_key_file: Option<PathBuf>,
    /// The CA put in those Secrets as ca.crt (`<data-dir>/pki/ca.crt`).
    #[arg(long, requires = "service_account_private_key_file")]
    pub root_ca_file: Option<PathBuf>,
}

/// How long the simulated pod lifecycle takes on the nodes this process
/// runs. Durations are a number with `ms`, `s` or `m` (a bare number is
/// seconds); benchmarks set them to 0.
#[derive(Args, Debug, Clone)]
pub struct SimulationArgs {
    /// Time a pod's containers spend Waiting in ContainerCreating.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub pod_start_delay: Duration,
    /// Extra time from Running to Ready (a readiness probe's
    /// initialDelaySeconds wins when longer).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub pod_ready_delay: Duration,
    /// The longest a deleted pod shows Terminating (it stays for a tenth
    /// of its grace period, up to this).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub pod_terminate_max: Duration,
    /// How long a Job's pod runs before it succeeds.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub job_pod_duration: Duration,
}

impl SimulationArgs {
    pub fn apply(&self, mut cfg: rkube_node::NodeConfig) -> rkube_node::NodeConfig {
        cfg.delays.start = self.pod_start_delay;
        cfg.delays.ready = self.pod_ready_delay;
        cfg.delays.terminate_max = self.pod_terminate_max;
        cfg.delays.job_duration = self.job_pod_duration;
        cfg
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 2s or 500ms"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: the unit must be ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{s:?}: {e}"))
}

#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[command(flatten)]
    pub simulation: SimulationArgs,
    /// How many simulated worker nodes to add.
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// Index of the first node (`rkube-worker<index>`); pick one past the
    /// nodes that already exist.
    #[arg(long, default_value_t = 100)]
    pub start_index: u32,
}

async fn until_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Several controller managers may run against one cluster: they elect
/// one through kube-controller-manager's Lease and the rest wait.
pub async fn controller_manager(args: ControllerManagerArgs) -> anyhow::Result<()> {
    let client = loopback_client(&args.remote.kubeconfig).await?;
    let token = match &args.service_account_private_key_file {
        None => None,
        Some(key_file) => {
            let key = std::fs::read_to_string(key_file)
                .with_context(|| format!("reading {}", key_file.display()))?;
            let ca_pem = match &args.root_ca_file {
                Some(f) => std::fs::read_to_string(f)
                    .with_context(|| format!("reading {}", f.display()))?,
                None => String::new(),
            };
            Some(TokenController {
                client: client.clone(),
                signer: Arc::new(crate::pki::service_account_tokens(
                    &key,
                    SERVICE_ACCOUNT_ISSUER,
                )?),
                ca_pem,
            })
        }
    };
    elected_controllers(client, token, until_signal()).await
}

/// `rkube server`'s simulated nodes when other servers may share the
/// cluster: every server would run nodes of the same names, so one fleet
/// runs at a time, under a Lease of its own.
pub async fn elected_nodes(
    client: kube::Client,
    configs: Vec<rkube_node::NodeConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let election = LeaderElection {
        name: "rkube-simulated-nodes".into(),
        ..LeaderElection::controller_manager(leader::identity())
    };
    leader::run_elected(client.clone(), election, shutdown, |stop| {
        rkube_node::run_nodes(client.clone(), configs.clone(), stop)
    })
    .await
}

/// Several schedulers elect one through kube-scheduler's Lease.
pub async fn scheduler(args: RemoteArgs) -> anyhow::Result<()> {
    let client = loopback_client(&args.kubeconfig).await?;
    elected_scheduler(client, until_signal()).await
}

/// The controllers, and the token controller when there is a signing key,
/// while this process holds kube-controller-manager's Lease.
pub async fn elected_controllers(
    client: kube::Client,
    token: Option<TokenController>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let election = LeaderElection::controller_manager(leader::identity());
    leader::run_elected(client.clone(), election, shutdown, |stop| {
        let stop = stop.shared();
        let token = token.clone().map(|t| tokio::spawn(t.run(stop.clone())));
        let controllers =
            rkube_controllers::run(client.clone(), rkube_controllers::CONTROLLERS, stop);
        async move {
            let result = controllers.await;
            if let Some(t) = token {
                let _ = t.await;
            }
            result
        }
    })
    .await
}

/// The scheduler while this process holds kube-scheduler's Lease.
pub async fn elected_scheduler(
    client: kube::Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let election = LeaderElection::scheduler(leader::identity());
    leader::run_elected(client.clone(), election, shutdown, |stop| {
        rkube_scheduler::run(client.clone(), stop)
    })
    .await
}

pub async fn node(args: NodeArgs) -> anyhow::Result<()> {
    let client = loopback_client(&args.remote.kubeconfig).await?;
    let configs = (args.start_index..args.start_index + args.count)
        .map(|i| args.simulation.apply(rkube_node::NodeConfig::worker(i)))
        .collect();
    rkube_node::run_nodes(client, configs, until_signal()).await
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_take_a_unit_or_mean_seconds() {
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
