//! An acknowledged write survives `kill -9`.
//!
//! The test binary runs itself as a child process (the `crash_child` test,
//! which does nothing unless the environment names a store). The child writes
//! from several tasks and prints each write once its future returned Ok; the
//! parent kills it with SIGKILL in the middle of the stream, reopens the file
//! and looks for every acknowledged write.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use rkube_store::embedded::EmbeddedBackend;
use rkube_store::{Backend, WriteOutcome};

const CHILD_ENV: &str = "RKUBE_STORE_CRASH_CHILD";

#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let s = EmbeddedBackend::open(Path::new(&path)).await.unwrap();
        let mut tasks = Vec::new();
        for w in 0..8 {
            let s = Arc::clone(&s);
            tasks.push(tokio::spawn(async move {
                for i in 0..100_000 {
                    let key = format!("/crash/{w}/{i}");
                    let rev = match s.create(&key, Bytes::from(key.clone())).await.unwrap() {
                        WriteOutcome::Written { revision, .. } => revision,
                        other => panic!("{other:?}"),
                    };
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {key} {rev}").unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("state.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let started = std::time::Instant::now();
    let acked = tokio::task::spawn_blocking(move || {
        let mut acked = Vec::new();
        let mut killed = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("ACK ") {
                let (key, rev) = rest.split_once(' ').unwrap();
                acked.push((key.to_owned(), rev.parse::<i64>().unwrap()));
                // SIGKILL while the other writers are mid-commit, after
                // at least one checkpoint (a durable redb commit, once a
                // second), so that recovery needs both the database and the
                // write-ahead log written since.
                if !killed && acked.len() >= 400 && started.elapsed().as_millis() > 1500 {
                    child.kill().unwrap();
                    killed = true;
                }
            }
        }
        child.wait().unwrap();
        acked
    })
    .await
    .unwrap();
    assert!(
        acked.len() >= 400,
        "the child acknowledged only {} writes",
        acked.len()
    );

    let wal = std::fs::read(path.with_extension("wal")).unwrap();
    assert!(
        wal.iter().take(64).any(|b| *b != 0),
        "the kill left nothing in the write-ahead log, so replay went untested"
    );
    let s = EmbeddedBackend::open(&path).await.unwrap();
    let current = s.current_revision().await.unwrap();
    for (key, rev) in &acked {
        let kv = s
            .get(key, 0)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("lost {key}"));
        assert_eq!(kv.mod_revision, *rev, "{key}");
        assert!(*rev <= current);
    }
    // The store is consistent and writable after recovery.
    let count = s
        .range(rkube_store::RangeRequest {
            prefix: "/crash/".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .count;
    assert_eq!(count, current - 1, "one key per revision");
    assert!(matches!(
        s.create("/crash/after", Bytes::from_static(b"x")).await.unwrap(),
        WriteOutcome::Written { revision, .. } if revision == current + 1
    ));
}
