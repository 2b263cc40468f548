//! A real `rkube server` for end-to-end tests: started from the built
//! binary on a free loopback port in a temporary directory, and stopped
//! when the test ends.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rkube_store::etcd::launcher::{EtcdCluster, etcd_binary};

pub struct TestServer {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub kubeconfig: PathBuf,
    /// The etcd this server stores into when the suite runs on etcd;
    /// dropped (stopped) after the server.
    etcd: Option<EtcdCluster>,
}

/// Which storage backend the API suites run on: the embedded store
/// unless `RKUBE_TEST_BACKEND=etcd` (CI runs them both ways). One set of
/// tests, parametrised here rather than copied per backend.
pub fn etcd_backend() -> bool {
    match std::env::var("RKUBE_TEST_BACKEND").as_deref() {
        Ok("etcd") => true,
        Ok("embedded") | Err(_) => false,
        Ok(other) => panic!("RKUBE_TEST_BACKEND={other}: expected embedded or etcd"),
    }
}

/// A one-member etcd whose data lives in the server's data directory, so
/// that a restart test that reopens the directory finds its data again.
fn start_etcd(data_dir: &Path) -> EtcdCluster {
    assert!(
        etcd_binary().is_some(),
        "RKUBE_TEST_BACKEND=etcd but etcd is not installed (apt-get install etcd-server)"
    );
    let dir = data_dir.join("test-etcd");
    std::fs::create_dir_all(&dir).expect("etcd dir");
    // The launcher is async; the tests calling this may be sync or inside a
    // runtime, so it runs on a runtime of its own.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(EtcdCluster::start(&dir, 1))
            .expect("start etcd")
    })
    .join()
    .expect("etcd launcher thread")
}

/// The real kubectl, or None (then the test says so and stops, except in
/// CI, where a missing kubectl is a failure).
pub fn kubectl_path() -> Option<PathBuf> {
    let path = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "kubectl is required in CI but {} is missing",
            path.display()
        );
    }
    eprintln!(
        "SKIPPED: {} not found; install kubectl to run this test",
        path.display()
    );
    None
}

impl TestServer {
    pub fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir)
    }

    /// Start on an existing data directory (for restart tests).
    pub fn start_in(dir: tempfile::TempDir) -> TestServer {
        Self::start_with(dir, &["--nodes", "0"])
    }

    /// Start with extra `rkube server` flags.
    pub fn start_with(dir: tempfile::TempDir, extra: &[&str]) -> TestServer {
        Self::spawn("server", dir, extra)
    }

    /// `rkube apiserver` (the API server without control loops) with extra
    /// flags.
    pub fn start_apiserver(dir: tempfile::TempDir, extra: &[&str]) -> TestServer {
        Self::spawn("apiserver", dir, extra)
    }

    fn spawn(subcommand: &str, dir: tempfile::TempDir, extra: &[&str]) -> TestServer {
        let etcd =
            (etcd_backend() && !extra.contains(&"--etcd-servers")).then(|| start_etcd(dir.path()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rkube"));
        if let Some(etcd) = &etcd {
            cmd.arg(subcommand)
                .arg("--etcd-servers")
                .arg(etcd.endpoints().join(","));
        } else {
            cmd.arg(subcommand);
        }
        let mut child = cmd
            .args(["--secure-port", "0"])
            .args(extra)
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start rkube server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut port = 0;
        for line in lines.by_ref() {
            let line = line.expect("read server output");
            if let Some(p) = line.strip_prefix("listening on port ") {
                port = p.trim().parse().expect("port");
            }
            if line.starts_with("ready in") {
                break;
            }
        }
        assert!(port != 0, "server did not print its port");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let kubeconfig = dir.path().join("kubeconfig.yaml");
        let server = TestServer {
            child: Some(child),
            dir,
            port,
            kubeconfig,
            etcd,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let out = Command::new("curl")
                .args(["-sk", &format!("https://127.0.0.1:{}/readyz", self.port)])
                .output();
            if let Ok(o) = out
                && o.stdout == b"ok"
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server not ready");
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pki/admin.token"))
            .expect("token")
            .trim()
            .to_string()
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Run kubectl against this server.
    pub fn kubectl(&self, kubectl: &Path, args: &[&str]) -> Output {
        self.kubectl_stdin(kubectl, args, None)
    }

    pub fn kubectl_stdin(&self, kubectl: &Path, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(kubectl);
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).args(args);
        cmd.env("HOME", self.dir.path());
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run kubectl");
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        child.wait_with_output().expect("kubectl output")
    }

    /// kubectl that must succeed; returns stdout.
    pub fn ok(&self, kubectl: &Path, args: &[&str]) -> String {
        let out = self.kubectl(kubectl, args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// curl with the admin token; returns (status code, body).
    pub fn curl(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        content_type: &str,
    ) -> (u16, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-sk", "-o", "-", "-w", "\n%{http_code}", "-X", method])
            .arg("-H")
            .arg(format!("Authorization: Bearer {}", self.token()))
            .arg("-H")
            .arg(format!("Content-Type: {content_type}"));
        if let Some(b) = body {
            cmd.arg("--data-binary").arg(b);
        }
        cmd.arg(format!("{}{}", self.url(), path));
        let out = cmd.output().expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// Stop with SIGKILL (crash tests) and hand back the data directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"))
    }

    /// Stop with SIGTERM and wait for a clean exit.
    pub fn stop(mut self) -> tempfile::TempDir {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(status)) = c.try_wait() {
                    assert!(status.success(), "server exited with {status}");
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    panic!("server did not stop on SIGTERM");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
