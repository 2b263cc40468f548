//! A real API server (`rkube apiserver`: no controllers, scheduler or
//! nodes of its own, so the ones under test are the only ones) from the
//! binary `cargo build -p rkube` leaves in the workspace's target directory
//! (or $RKUBE_BIN), on a free port in a temporary directory, stopped when
//! the test ends; kube clients and the real kubectl against it.
#![allow(dead_code)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};

pub struct Server {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

fn rkube_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("RKUBE_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let bin = target.join("debug/rkube");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p rkube` first (or set RKUBE_BIN)",
        bin.display()
    );
    bin
}

/// The real kubectl, when installed.
pub fn kubectl_path() -> Option<PathBuf> {
    let p = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"));
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED kubectl checks: {} not found", p.display());
        None
    }
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(rkube_bin())
            .args(["apiserver", "--secure-port", "0", "--data-dir"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start rkube server");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut port = 0u16;
        for line in lines.by_ref() {
            let line = line.expect("server output");
            if let Some(p) = line.strip_prefix("listening on port ") {
                port = p.trim().parse().expect("port");
            }
            if line.starts_with("ready in") {
                break;
            }
        }
        assert!(port != 0, "the server printed no port");
        std::thread::spawn(move || for _ in lines {});
        let kubeconfig = dir.path().join("kubeconfig.yaml");
        Server {
            child: Some(child),
            dir,
            kubeconfig,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    pub async fn client(&self) -> kube::Client {
        let kc = Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("client config");
        kube::Client::try_from(cfg).expect("client")
    }

    /// Run kubectl; returns (success, stdout, stderr).
    pub async fn kubectl(
        &self,
        kubectl: &PathBuf,
        args: &[&str],
        stdin: Option<&str>,
    ) -> (bool, String, String) {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new(kubectl);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env("HOME", self.dir.path())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("run kubectl");
        if let Some(input) = stdin {
            let mut w = child.stdin.take().expect("stdin");
            w.write_all(input.as_bytes()).await.expect("write stdin");
        }
        let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .expect("kubectl timed out")
            .expect("kubectl output");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// kubectl that must succeed; returns stdout.
    pub async fn ok(&self, kubectl: &PathBuf, args: &[&str], stdin: Option<&str>) -> String {
        let (ok, out, err) = self.kubectl(kubectl, args, stdin).await;
        assert!(ok, "kubectl {args:?} failed: {out}{err}");
        out
    }

    /// SIGTERM, then wait (bounded) for the server to exit.
    pub fn stop(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Poll `check` every 100 ms until it yields a value or `within` passes.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A stop signal for in-process loops.
pub struct Stopper(Option<tokio::sync::oneshot::Sender<()>>);

pub fn stopper() -> (Stopper, impl Future<Output = ()> + Send + 'static) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    (Stopper(Some(tx)), async move {
        let _ = rx.await;
    })
}

impl Stopper {
    pub fn stop(mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}
