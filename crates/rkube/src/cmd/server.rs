//! `rkube server` and `rkube apiserver`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use rkube_apiserver::auth::{Authenticators, StaticTokens, UserInfo};
use rkube_apiserver::{ApiServer, ServerConfig};
use rkube_store::Backend;

use crate::{kubeconfig, pki::Pki};

#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Where state, credentials and the kubeconfig live.
    #[arg(long, default_value = "./rkube-data")]
    pub data_dir: PathBuf,
    /// The address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: IpAddr,
    /// The HTTPS port; 0 picks a free one.
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    /// Simulated worker nodes (besides the control-plane node).
    #[arg(long, default_value_t = 3)]
    pub nodes: u32,
    /// Do not register the simulated control-plane node (with --nodes 0,
    /// no node at all).
    #[arg(long)]
    pub no_control_plane_node: bool,
    /// The range Service cluster IPs are allocated from.
    #[arg(long, default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,
    /// The range of NodePorts, as `low-high`.
    #[arg(long, default_value = "30000-32767")]
    pub service_node_port_range: String,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub simulation: super::components::SimulationArgs,
}

/// Where the cluster's state lives: the embedded store in --data-dir, or
/// etcd when --etcd-servers is given (kube-apiserver's flags and meanings).
#[derive(Args, Debug, Clone, Default)]
pub struct StorageArgs {
    /// etcd client URLs, comma separated (e.g. http://127.0.0.1:2379);
    /// without them state is kept in <data-dir>/state.redb.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,
    /// The etcd key prefix everything is stored under, as kube-apiserver's:
    /// a Pod is at <prefix>/pods/<namespace>/<name>.
    #[arg(long, default_value = "/registry")]
    pub etcd_prefix: String,
    /// CA certificate (PEM) that signed etcd's serving certificates.
    #[arg(long)]
    pub etcd_cafile: Option<PathBuf>,
    /// Client certificate (PEM) for etcd's client certificate authentication.
    #[arg(long)]
    pub etcd_certfile: Option<PathBuf>,
    /// The key (PEM) of --etcd-certfile.
    #[arg(long)]
    pub etcd_keyfile: Option<PathBuf>,
}

/// The root of every key the API server stores (see the catalogue's
/// storage prefixes); --etcd-prefix takes its place in etcd.
const API_KEY_ROOT: &str = "/registry";

impl StorageArgs {
    pub fn uses_etcd(&self) -> bool {
        !self.etcd_servers.is_empty()
    }

    pub fn etcd_options(&self) -> anyhow::Result<rkube_store::etcd::EtcdOptions> {
        anyhow::ensure!(self.uses_etcd(), "no --etcd-servers given");
        let prefix = self.etcd_prefix.trim_end_matches('/');
        anyhow::ensure!(
            prefix.starts_with('/'),
            "--etcd-prefix must start with '/' (got {:?})",
            self.etcd_prefix
        );
        let mut options = rkube_store::etcd::EtcdOptions::new(self.etcd_servers.clone());
        options.key_root = API_KEY_ROOT.into();
        options.prefix = prefix.into();
        if self.etcd_cafile.is_some() || self.etcd_certfile.is_some() || self.etcd_keyfile.is_some()
        {
            options.tls = Some(rkube_store::etcd::EtcdTls {
                ca_file: self.etcd_cafile.clone(),
                cert_file: self.etcd_certfile.clone(),
                key_file: self.etcd_keyfile.clone(),
            });
        }
        Ok(options)
    }

    /// Opens the store these flags name, with its scheduled compactor
    /// running (on etcd, API servers sharing it take turns).
    pub async fn open(&self, data_dir: &Path) -> anyhow::Result<Arc<dyn Backend>> {
        // kube-apiserver compacts every five minutes; so does rkube.
        let policy = rkube_store::CompactionPolicy::default();
        if self.uses_etcd() {
            let backend = rkube_store::etcd::EtcdBackend::connect(self.etcd_options()?)
                .await
                .map_err(|e| anyhow::anyhow!("connecting to etcd: {e}"))?;
            backend.spawn_compactor(policy);
            return Ok(backend);
        }
        let backend = rkube_store::embedded::EmbeddedBackend::open(&data_dir.join("state.redb"))
            .await
            .map_err(|e| anyhow::anyhow!("opening storage: {e}"))?;
        backend.spawn_compactor(policy);
        Ok(backend)
    }
}

/// kubeadm's default `--service-account-issuer`.
pub const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

fn port_range(s: &str) -> anyhow::Result<(u16, u16)> {
    let (lo, hi) = s
        .split_once('-')
        .context("--service-node-port-range must look like 30000-32767")?;
    let (lo, hi): (u16, u16) = (lo.trim().parse()?, hi.trim().parse()?);
    anyhow::ensure!(lo <= hi, "--service-node-port-range: {lo} is above {hi}");
    Ok((lo, hi))
}

/// A kube-rs client for the control loops that run in this process: the
/// same HTTPS API and credentials a separate process would use.
pub async fn loopback_client(kubeconfig: &std::path::Path) -> anyhow::Result<kube::Client> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let kc = Kubeconfig::read_from(kubeconfig)?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(cfg)?)
}

pub async fn run(args: ServerArgs, control_loops: bool) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let data_dir = args.data_dir.canonicalize()?;
    let mut hosts = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Ok(h) = hostname() {
        hosts.push(h);
    }
    let bind = args.bind_address.to_string();
    if !hosts.contains(&bind) && !args.bind_address.is_unspecified() {
        hosts.push(bind);
    }
    let pki = Pki::load_or_create(&data_dir, &hosts)?;
    let backend = args.storage.open(&data_dir).await?;
    let admin = UserInfo {
        name: "kubernetes-admin".into(),
        uid: String::new(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
    };
    let service_accounts = Arc::new(pki.service_account_tokens(SERVICE_ACCOUNT_ISSUER)?);
    let authenticators = Authenticators {
        tokens: vec![Arc::new(StaticTokens::new(vec![(
            pki.admin_token.clone(),
            admin,
        )]))],
        service_accounts: Some(Arc::clone(&service_accounts)),
    };
    let server = ApiServer::bind(ServerConfig {
        bind: SocketAddr::new(args.bind_address, args.secure_port),
        tls: Arc::new(pki.server_tls()?),
        backend,
        authenticators,
        service_cidr: args.service_cluster_ip_range.clone(),
        node_ports: port_range(&args.service_node_port_range)?,
    })
    .await?;
    let addr = server.local_addr;
    let host = if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        match addr.ip() {
            IpAddr::V6(_) => "[::1]".to_string(),
            IpAddr::V4(_) => "127.0.0.1".to_string(),
        }
    } else {
        match addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        }
    };
    let url = format!("https://{host}:{}", addr.port());
    let kubeconfig_path = data_dir.join("kubeconfig.yaml");
    kubeconfig::write(&kubeconfig_path, &url, &pki)?;
    println!(
        "rkube {} serving Kubernetes {} on {url}",
        env!("CARGO_PKG_VERSION"),
        rkube_api::KUBERNETES_VERSION
    );
    println!("listening on port {}", addr.port());
    println!("kubeconfig: {}", kubeconfig_path.display());
    println!(
        "try: kubectl --kubeconfig {} get namespaces",
        kubeconfig_path.display()
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut loops = Vec::new();
    if control_loops {
        let client = loopback_client(&kubeconfig_path).await?;
        let token = crate::controllers::token::TokenController {
            client: client.clone(),
            signer: Arc::clone(&service_accounts),
            ca_pem: pki.ca_pem.clone(),
        };
        // The control loops stop on SIGTERM, before the API server does.
        let forever = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        };
        // On etcd, other servers may share the cluster, so the control
        // loops (the token controller among them, as in
        // kube-controller-manager) elect a leader as upstream's do. The
        // embedded store is this process's alone (its file is locked), and
        // electing there would only make a restart after kill -9 wait out
        // the old Lease.
        let shared = args.storage.uses_etcd();
        let token = if shared {
            Some(token)
        } else {
            loops.push(tokio::spawn(token.run(forever())));
            None
        };
        let c = client.clone();
        let stop = forever();
        loops.push(tokio::spawn(async move {
            let run = if shared {
                super::components::elected_controllers(c, token, stop).await
            } else {
                rkube_controllers::run_all(c, stop).await
            };
            if let Err(e) = run {
                tracing::error!("controllers stopped: {e:#}");
            }
        }));
        let c = client.clone();
        let stop = forever();
        loops.push(tokio::spawn(async move {
            let run = if shared {
                super::components::elected_scheduler(c, stop).await
            } else {
                rkube_scheduler::run(c, stop).await
            };
            if let Err(e) = run {
                tracing::error!("scheduler stopped: {e:#}");
            }
        }));
        if args.nodes > 0 || !args.no_control_plane_node {
            let c = client.clone();
            let configs = rkube_node::cluster_configs(args.nodes)
                .into_iter()
                .skip(usize::from(args.no_control_plane_node))
                .map(|cfg| args.simulation.apply(cfg))
                .collect();
            let stop = forever();
            loops.push(tokio::spawn(async move {
                let run = if shared {
                    super::components::elected_nodes(c, configs, stop).await
                } else {
                    rkube_node::run_nodes(c, configs, stop).await
                };
                if let Err(e) = run {
                    tracing::error!("simulated nodes stopped: {e:#}");
                }
            }));
        }
    }
    println!("ready in {} ms", started.elapsed().as_millis());
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        let _ = stop_tx.send(true);
        // The control loops stop while the API still answers (a loop cut
        // off mid-request would only log a connection error); one that
        // hangs does not hold the shutdown up for long.
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            futures::future::join_all(loops),
        )
        .await;
    };
    server.serve(shutdown).await?;
    println!("rkube stopped");
    Ok(())
}

fn hostname() -> anyhow::Result<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname")?;
    let h = h.trim().to_lowercase();
    anyhow::ensure!(!h.is_empty(), "empty host name");
    Ok(h)
}
