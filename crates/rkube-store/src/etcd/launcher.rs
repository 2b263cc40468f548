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
    child: Option<Child>,
}

pub struct EtcdCluster {
    members: Vec<Member>,
    initial_cluster: String,
}

/// A port free right now. The listener is closed before etcd binds it, so
/// another process could take it in between; on loopback in a test run
/// that is rare, and etcd then fails loudly rather than silently.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl EtcdCluster {
    /// Starts `size` members under `dir` and waits until the cluster has a
    /// leader and answers reads.
    pub async fn start(dir: &Path, size: usize) -> LaunchResult<EtcdCluster> {
        let binary = etcd_binary().ok_or("etcd is not installed")?;
        let mut members = Vec::new();
        for i in 0..size {
            members.push(Member {
                name: format!("m{i}"),
                client_port: free_port()?,
                peer_port: free_port()?,
                data_dir: dir.join(format!("m{i}")),
                log: dir.join(format!("m{i}.log")),
                child: None,
            });
        }
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = EtcdCluster {
            members,
            initial_cluster,
        };
        for i in 0..size {
            cluster.spawn(&binary, i)?;
        }
        cluster.wait_ready(Duration::from_secs(30)).await?;
        Ok(cluster)
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
                if tokio::time::Instant::now() >= deadline {
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
