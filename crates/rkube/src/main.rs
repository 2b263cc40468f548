//! rkube: a Kubernetes control plane in one binary.

mod cmd;
mod controllers;
mod kubeconfig;
mod pki;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rkube",
    version,
    about = "A Kubernetes control plane in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole control plane: API server, controllers, scheduler and
    /// simulated nodes, on embedded storage or etcd.
    Server(cmd::server::ServerArgs),
    /// The API server alone.
    Apiserver(cmd::server::ServerArgs),
    /// The controllers alone, against the API server of a kubeconfig.
    ControllerManager(cmd::components::ControllerManagerArgs),
    /// The scheduler alone, against the API server of a kubeconfig.
    Scheduler(cmd::components::RemoteArgs),
    /// Add simulated nodes to the cluster of a kubeconfig.
    Node(cmd::components::NodeArgs),
    /// Measure a fresh server: start-up, memory, creates, GET, LIST, watch.
    Bench(cmd::bench::BenchArgs),
    /// Copy a cluster's stored state between a data directory and etcd.
    Migrate(cmd::migrate::MigrateArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RKUBE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Server(args) => runtime.block_on(cmd::server::run(args, true)),
        Command::Apiserver(args) => runtime.block_on(cmd::server::run(args, false)),
        Command::Bench(args) => runtime.block_on(cmd::bench::run(args)),
        Command::Migrate(args) => runtime.block_on(cmd::migrate::run(args)),
        Command::ControllerManager(args) => {
            runtime.block_on(cmd::components::controller_manager(args))
        }
        Command::Scheduler(args) => runtime.block_on(cmd::components::scheduler(args)),
        Command::Node(args) => runtime.block_on(cmd::components::node(args)),
    }
}
