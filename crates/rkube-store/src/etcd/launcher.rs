//! Real etcd members on loopback ports, for tests and benchmarks.
//!
//! Tests of the etcd backend and of several API servers need an actual etcd
//! (the semantics under test are etcd's), started fresh in a directory the
//! caller owns and killed when the [`EtcdCluster`] is dropped, so that no
//! test leaves a process behind.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use etcd_client::{Client, ConnectOptions};

/// Where the etcd binary is: `$ETCD_BIN`, else `/usr/bin/etcd` (Debian's
/// `etcd-server`), else `etcd` on the PATH.
pub fn etcd_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ETCD_BIN") {
        return Some(PathBuf::from(p));
    }
    let debian = PathBuf::from("/usr/bin/etcd");
    if debian.exists() {
        return Some(debian);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("etcd"))
            .find(|p| p.is_file())
    })
}

/// Failures to start etcd: a message is all a test needs.
pub type LaunchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    /// Where the log of the current process starts (the file is appended
    /// to across restarts).
    log_from: u64,
    child: Option<Child>,
}

/// What etcd logs when a port it was given is in use.
const PORT_TAKEN: &str = "address already in use";

impl Member {
    /// The log written since this member was last spawned.
    fn new_log(&self) -> String {
        let log = std::fs::read(&self.log).unwrap_or_default();
        let from = (self.log_from as usize).min(log.len());
        String::from_utf8_lossy(&log[from..]).into_owned()
    }
}

pub struct EtcdCluster {
    members: Vec<Member>,
    initial_cluster: String,
}

/// A port free right now. The listener is closed before etcd binds it, so
/// another process could take it in between (tests running in parallel
/// do); [`EtcdCluster::start`] then retries on fresh ports.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl EtcdCluster {
    /// Starts `size` members under `dir` and waits until the cluster has a
    /// leader and answers reads. A port taken by another process between
    /// [`free_port`] and etcd's bind (tests run in parallel) is retried
    /// with fresh ports, a few times.
    pub async fn start(dir: &Path, size: usize) -> LaunchResult<EtcdCluster> {
        let binary = etcd_binary().ok_or("etcd is not installed")?;
        // Data a member of a failed attempt wrote names that attempt's
        // ports; only data that was there before (a restart) is kept.
        let fresh: Vec<PathBuf> = (0..size)
            .map(|i| dir.join(format!("m{i}")))
            .filter(|d| !d.exists())
            .collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            for d in &fresh {
                let _ = std::fs::remove_dir_all(d);
            }
            let mut cluster = EtcdCluster::on_free_ports(dir, size)?;
            for i in 0..size {
                cluster.spawn(&binary, i)?;
            }
            match cluster.wait_ready(Duration::from_secs(30)).await {
                Ok(()) => return Ok(cluster),
                Err(e) if attempt < 5 && cluster.lost_a_port() => {
                    tracing::debug!("etcd: a port was taken, retrying: {e}");
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn on_free_ports(dir: &Path, size: usize) -> LaunchResult<EtcdCluster> {
        let mut members = Vec::new();
        for i in 0..size {
            members.push(Member {
                name: format!("m{i}"),
                client_port: free_port()?,
                peer_port: free_port()?,
                data_dir: dir.join(format!("m{i}")),
                log: dir.join(format!("m{i}.log")),
                log_from: 0,
                child: None,
            });
        }
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        Ok(EtcdCluster {
            members,
            initial_cluster,
        })
    }

    /// Whether a member of the last spawn failed to bind its port.
    fn lost_a_port(&self) -> bool {
        self.members
            .iter()
            .any(|m| m.new_log().contains(PORT_TAKEN))
    }

    fn spawn(&mut self, binary: &Path, i: usize) -> LaunchResult<()> {
        let initial_cluster = self.initial_cluster.clone();
        let m = &mut self.members[i];
        let client = format!("http://127.0.0.1:{}", m.client_port);
        let peer = format!("http://127.0.0.1:{}", m.peer_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&m.log)?;
        m.log_from = log.metadata()?.len();
        let child = Command::new(binary)
            .arg("--name")
            .arg(&m.name)
            .arg("--data-dir")
            .arg(&m.data_dir)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &initial_cluster])
            .args(["--initial-cluster-state", "new"])
            .args(["--initial-cluster-token", "rkube-test"])
            // Faster elections than the defaults (100/1000 ms), so a
            // killed leader is replaced quickly even on a loaded machine.
            .args(["--heartbeat-interval", "50"])
            .args(["--election-timeout", "500"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?;
        m.child = Some(child);
        Ok(())
    }

    /// Client URLs of every member, running or not.
    pub fn endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| format!("http://127.0.0.1:{}", m.client_port))
            .collect()
    }

    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.members[i].client_port)
    }

    /// Kills member `i` at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data directory and ports.
    pub async fn restart(&mut self, i: usize) -> LaunchResult<()> {
        let binary = etcd_binary().ok_or("etcd is not installed")?;
        self.kill(i);
        self.spawn(&binary, i)?;
        self.wait_ready(Duration::from_secs(30)).await
    }

    /// Which running member is the leader, as the members report it.
    pub async fn leader(&self) -> Option<usize> {
        for (i, m) in self.members.iter().enumerate() {
            if m.child.is_none() {
                continue;
            }
            let Ok(mut client) = quick_client(&self.endpoint(i)).await else {
                continue;
            };
            let Ok(Ok(status)) =
                tokio::time::timeout(Duration::from_secs(2), client.status()).await
            else {
                continue;
            };
            if status.header().map(|h| h.member_id()) == Some(status.leader()) {
                return Some(i);
            }
        }
        None
    }

    /// Polls every running member until each answers a linearizable read
    /// (which needs an elected leader).
    pub async fn wait_ready(&self, within: Duration) -> LaunchResult<()> {
        let deadline = tokio::time::Instant::now() + within;
        for (i, m) in self.members.iter().enumerate() {
            if m.child.is_none() {
                continue;
            }
            loop {
                let ok = match quick_client(&self.endpoint(i)).await {
                    Ok(mut c) => matches!(
                        tokio::time::timeout(Duration::from_secs(1), c.get("health", None)).await,
                        Ok(Ok(_))
                    ),
                    Err(_) => false,
                };
                if ok {
                    break;
                }
                // A member that could not bind has exited: say so now
                // rather than at the deadline.
                let lost_port = m.new_log().contains(PORT_TAKEN);
                if lost_port || tokio::time::Instant::now() >= deadline {
                    let log = std::fs::read_to_string(&m.log).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(20).collect();
                    return Err(format!(
                        "etcd member {} did not become ready; log tail:\n{}",
                        m.name,
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    )
                    .into());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }
}

async fn quick_client(endpoint: &str) -> Result<Client, etcd_client::Error> {
    let options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(1))
        .with_timeout(Duration::from_secs(2));
    Client::connect([endpoint], Some(options)).await
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}
