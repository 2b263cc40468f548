//! `rkube controller-manager`, `rkube scheduler` and `rkube node`: the
//! control loops as separate processes against any API server.

use std::path::PathBuf;

use clap::Args;

use super::server::loopback_client;

#[derive(Args, Debug, Clone)]
pub struct RemoteArgs {
    /// The kubeconfig of the API server to drive.
    #[arg(long)]
    pub kubeconfig: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
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

pub async fn controller_manager(args: RemoteArgs) -> anyhow::Result<()> {
    let client = loopback_client(&args.kubeconfig).await?;
    rkube_controllers::run_all(client, until_signal()).await
}

pub async fn scheduler(args: RemoteArgs) -> anyhow::Result<()> {
    let client = loopback_client(&args.kubeconfig).await?;
    rkube_scheduler::run(client, until_signal()).await
}

pub async fn node(args: NodeArgs) -> anyhow::Result<()> {
    let client = loopback_client(&args.remote.kubeconfig).await?;
    let configs = (args.start_index..args.start_index + args.count)
        .map(rkube_node::NodeConfig::worker)
        .collect();
    rkube_node::run_nodes(client, configs, until_signal()).await
}
