//! `rkube bench`: starts a real `rkube server` (this binary) on a free
//! loopback port in a temporary directory and measures it through kube-rs
//! over HTTPS, as a client sees it. Bounded in count and time; stops the
//! server at the end.
//!
//! With `--etcd-servers`, it starts `--apiservers` API servers (one cluster:
//! the later ones get a copy of the first one's credentials) on that etcd,
//! under a prefix of their own so runs do not see each other's objects,
//! and spreads the clients over them; watchers then sit on the last API
//! server while writes go through the first, so with two the watch figure
//! is delivery from one API server to another.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// How long the server idles before its resident set is read.
const IDLE_SETTLE: Duration = Duration::from_secs(3);

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// ConfigMaps to create for the create, RSS and LIST figures.
    #[arg(long, default_value_t = 10_000)]
    pub objects: usize,
    /// Concurrent clients creating them.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// GETs for the latency percentiles.
    #[arg(long, default_value_t = 2_000)]
    pub gets: usize,
    /// Watchers for the watch delivery figure.
    #[arg(long, default_value_t = 100)]
    pub watchers: usize,
    /// Writes observed by the watchers.
    #[arg(long, default_value_t = 200)]
    pub watch_events: usize,
    /// Run on this etcd (client URLs, comma separated) instead of the
    /// embedded store.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,
    /// API servers to start on that etcd.
    #[arg(long, default_value_t = 1)]
    pub apiservers: usize,
}

struct Server {
    child: Child,
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Start the server and time it until it accepts connections, ready.
async fn start(how: &Launch) -> anyhow::Result<(Server, Duration)> {
    let dir = tempfile::tempdir()?;
    // Credentials are made on the first start; time a second start, as a
    // user restarting the server sees it, and the first one too.
    for _ in 0..1 {
        let mut first = spawn(dir.path(), how)?;
        wait_ready(first.1).await?;
        let _ = first.0.kill();
        let _ = first.0.wait();
    }
    let t0 = Instant::now();
    let (child, port) = spawn(dir.path(), how)?;
    wait_ready(port).await?;
    let ready = t0.elapsed();
    let kubeconfig = dir.path().join("kubeconfig.yaml");
    Ok((
        Server {
            child,
            _dir: dir,
            kubeconfig,
            port,
        },
        ready,
    ))
}

/// Another API server of the first one's cluster: its credentials, copied.
async fn start_another(first: &Server, how: &Launch) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let pki = first.kubeconfig.parent().context("data dir")?.join("pki");
    std::fs::create_dir_all(dir.path().join("pki"))?;
    for entry in std::fs::read_dir(&pki)? {
        let entry = entry?;
        std::fs::copy(entry.path(), dir.path().join("pki").join(entry.file_name()))?;
    }
    let (child, port) = spawn(dir.path(), how)?;
    wait_ready(port).await?;
    let kubeconfig = dir.path().join("kubeconfig.yaml");
    Ok(Server {
        child,
        _dir: dir,
        kubeconfig,
        port,
    })
}

/// What to start: `rkube server` on embedded storage, or `rkube apiserver`
/// on etcd under `prefix`.
enum Launch {
    Embedded,
    Etcd { servers: String, prefix: String },
}

fn spawn(dir: &std::path::Path, how: &Launch) -> anyhow::Result<(Child, u16)> {
    let mut cmd = Command::new(std::env::current_exe()?);
    match how {
        Launch::Embedded => cmd.args(["server", "--nodes", "0"]),
        Launch::Etcd { servers, prefix } => cmd.args([
            "apiserver",
            "--etcd-servers",
            servers,
            "--etcd-prefix",
            prefix,
        ]),
    };
    let mut child = cmd
        .args(["--secure-port", "0", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut port = 0;
    for line in lines.by_ref() {
        let line = line?;
        if let Some(p) = line.strip_prefix("listening on port ") {
            port = p.trim().parse()?;
        }
        // Printed once storage is open and bootstrap is done, just
        // before the accept loop starts.
        if line.starts_with("ready in") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    anyhow::ensure!(port != 0, "server printed no port");
    Ok((child, port))
}

async fn wait_ready(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    anyhow::bail!("server did not become ready")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn cm(name: String) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name);
    c.data = Some(BTreeMap::from([("key".to_string(), "value".repeat(20))]));
    c
}

async fn client(server: &Server) -> anyhow::Result<Api<ConfigMap>> {
    let kc = Kubeconfig::read_from(&server.kubeconfig)?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(Api::namespaced(kube::Client::try_from(cfg)?, "default"))
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let how = if args.etcd_servers.is_empty() {
        anyhow::ensure!(args.apiservers == 1, "--apiservers needs --etcd-servers");
        Launch::Embedded
    } else {
        anyhow::ensure!(args.apiservers >= 1, "--apiservers must be at least 1");
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        Launch::Etcd {
            servers: args.etcd_servers.join(","),
            prefix: format!("/rkube-bench-{stamp}"),
        }
    };
    let (server, ready) = start(&how).await?;
    let mut servers = vec![server];
    for _ in 1..args.apiservers {
        servers.push(start_another(&servers[0], &how).await?);
    }
    let server = &servers[0];
    let pid = server.child.id();
    let mut apis = Vec::new();
    for s in &servers {
        apis.push(client(s).await?);
    }
    let api = apis[0].clone();
    // One request so the connection is up, then a pause so every control
    // loop has started and synced: idle means settled, not just ready.
    api.list(&ListParams::default().limit(1)).await?;
    tokio::time::sleep(IDLE_SETTLE).await;
    let idle_rss = rss_kib(pid);
    println!("rkube bench against port {} (pid {pid})", server.port);
    if let Launch::Etcd { servers: urls, .. } = &how {
        println!("storage: etcd at {urls}, {} API server(s)", servers.len());
    }
    println!("{:<44} {}", "start to ready (second start)", ms(ready));
    println!(
        "{:<44} {:.1} MiB",
        format!("idle RSS ({} s after ready)", IDLE_SETTLE.as_secs()),
        idle_rss as f64 / 1024.0
    );

    let t0 = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let api = apis[c % apis.len()].clone();
        let next = Arc::clone(&next);
        let total = args.objects;
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, kube::Error>(());
                }
                api.create(&PostParams::default(), &cm(format!("bench-{i:06}")))
                    .await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = t0.elapsed();
    println!(
        "{:<44} {:.0}/s ({} in {:.2} s)",
        format!("durable creates, {} clients", args.clients),
        args.objects as f64 / elapsed.as_secs_f64(),
        args.objects,
        elapsed.as_secs_f64()
    );
    println!(
        "{:<44} {:.1} MiB",
        format!("RSS with {} ConfigMaps", args.objects),
        rss_kib(pid) as f64 / 1024.0
    );

    let mut lat = Vec::with_capacity(args.gets);
    for i in 0..args.gets {
        let name = format!("bench-{:06}", i % args.objects.max(1));
        let t = Instant::now();
        apis[i % apis.len()].get(&name).await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "{:<44} p50 {} p99 {}",
        "GET one ConfigMap",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );

    let mut lists = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let l = api.list(&ListParams::default()).await?;
        lists.push(t.elapsed());
        anyhow::ensure!(
            l.items.len() >= args.objects,
            "list returned {}",
            l.items.len()
        );
    }
    lists.sort();
    println!(
        "{:<44} median {} (best {})",
        format!("LIST of {} ConfigMaps", args.objects),
        ms(lists[lists.len() / 2]),
        ms(lists[0])
    );

    let watched = apis.last().expect("one API server");
    watch_delivery(&api, watched, &args).await?;
    Ok(())
}

/// Each watcher (on `watched`) records, for every write (through `api`),
/// the time from just before the create was sent to the event's arrival.
async fn watch_delivery(
    api: &Api<ConfigMap>,
    watched: &Api<ConfigMap>,
    args: &BenchArgs,
) -> anyhow::Result<()> {
    let start_rv = api
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let sent: Arc<std::sync::Mutex<BTreeMap<String, Instant>>> = Arc::default();
    let mut watchers = Vec::new();
    for _ in 0..args.watchers {
        let api = watched.clone();
        let sent = Arc::clone(&sent);
        let rv = start_rv.clone();
        let want = args.watch_events;
        watchers.push(tokio::spawn(async move {
            let wp = WatchParams::default().labels("bench=watch").timeout(120);
            let mut stream = api.watch(&wp, &rv).await?.boxed();
            let mut lat = Vec::with_capacity(want);
            while lat.len() < want {
                match stream.try_next().await? {
                    Some(WatchEvent::Added(o)) => {
                        let name = o.metadata.name.unwrap_or_default();
                        if let Some(t) = sent.lock().expect("lock").get(&name) {
                            lat.push(t.elapsed());
                        }
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            Ok::<_, kube::Error>(lat)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..args.watch_events {
        let name = format!("watch-{i:05}");
        let mut c = cm(name.clone());
        c.metadata.labels = Some(BTreeMap::from([("bench".into(), "watch".into())]));
        sent.lock().expect("lock").insert(name, Instant::now());
        api.create(&PostParams::default(), &c).await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut all = Vec::new();
    for w in watchers {
        all.extend(w.await??);
    }
    all.sort();
    println!(
        "{:<44} p50 {} p99 {} ({} deliveries)",
        format!("watch delivery, {} watchers", args.watchers),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        all.len()
    );
    Ok(())
}
