//! One set of storage tests, run against every backend.
//!
//! `on_every_backend!(name, ...)` turns each `async fn name(t: TestBackend)`
//! into two tests, `name::embedded` and `name::etcd`. The etcd one starts a
//! fresh single-member etcd on free loopback ports in a temporary directory
//! (so revisions start at 1 as in a new embedded store) and kills it when
//! the test ends. Without an etcd binary it is skipped with a message,
//! unless `CI=true`, where a missing etcd is a failure.

#![allow(dead_code)]

use std::sync::Arc;

use rkube_store::embedded::EmbeddedBackend;
use rkube_store::etcd::launcher::{EtcdCluster, etcd_binary};
use rkube_store::etcd::{EtcdBackend, EtcdOptions};
use rkube_store::{Backend, CompactionPolicy};
use tempfile::TempDir;
use tokio::task::JoinHandle;

enum Store {
    Embedded(Arc<EmbeddedBackend>),
    Etcd(Arc<EtcdBackend>),
}

pub struct TestBackend {
    pub name: &'static str,
    store: Option<Store>,
    /// Declared before `dir` so that etcd is killed before its directory
    /// goes.
    etcd: Option<EtcdCluster>,
    dir: TempDir,
}

/// A prefix other than the empty one, so that the key mapping is exercised.
const PREFIX: &str = "/rkube-test";

impl TestBackend {
    pub async fn embedded() -> TestBackend {
        let dir = TempDir::new().unwrap();
        let mut t = TestBackend {
            name: "embedded",
            store: None,
            etcd: None,
            dir,
        };
        t.reopen().await;
        t
    }

    /// None when etcd is not installed and this is not CI.
    pub async fn etcd() -> Option<TestBackend> {
        if etcd_binary().is_none() {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "CI=true but etcd is not installed (apt-get install etcd-server)"
            );
            eprintln!(
                "skipping the etcd variant: etcd is not installed (apt-get install etcd-server)"
            );
            return None;
        }
        let dir = TempDir::new().unwrap();
        let cluster = EtcdCluster::start(dir.path(), 1)
            .await
            .expect("starting etcd");
        let mut t = TestBackend {
            name: "etcd",
            store: None,
            etcd: Some(cluster),
            dir,
        };
        t.reopen().await;
        Some(t)
    }

    /// A new, empty backend of the same kind.
    pub async fn fresh(self) -> TestBackend {
        let etcd = self.etcd.is_some();
        drop(self);
        if etcd {
            TestBackend::etcd()
                .await
                .expect("etcd was there a moment ago")
        } else {
            TestBackend::embedded().await
        }
    }

    pub fn store(&self) -> Arc<dyn Backend> {
        match self.store.as_ref().expect("open") {
            Store::Embedded(s) => Arc::clone(s) as Arc<dyn Backend>,
            Store::Etcd(s) => Arc::clone(s) as Arc<dyn Backend>,
        }
    }

    /// Closes the backend and opens it again on the same data: the same
    /// file for the embedded store, a new client of the same etcd. Every
    /// handle from [`TestBackend::store`] must have been dropped.
    pub async fn reopen(&mut self) {
        self.store = None;
        self.store = Some(match &self.etcd {
            None => Store::Embedded(
                EmbeddedBackend::open(&self.dir.path().join("state.redb"))
                    .await
                    .expect("open"),
            ),
            Some(cluster) => {
                let mut options = EtcdOptions::new(cluster.endpoints());
                options.prefix = PREFIX.into();
                Store::Etcd(EtcdBackend::connect(options).await.expect("connect"))
            }
        });
    }

    /// Whether a watch event at exactly the compacted revision carries the
    /// previous value. etcd reads it at the revision before, which
    /// compaction made unreadable, and sends none; the embedded store keeps
    /// every version that was live at the compacted revision.
    pub fn prev_at_compacted(&self) -> bool {
        self.etcd.is_none()
    }

    pub fn spawn_compactor(&self, policy: CompactionPolicy) -> JoinHandle<()> {
        match self.store.as_ref().expect("open") {
            Store::Embedded(s) => s.spawn_compactor(policy),
            Store::Etcd(s) => s.spawn_compactor(policy),
        }
    }
}

#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$name($crate::common::TestBackend::embedded().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn etcd() {
                if let Some(t) = $crate::common::TestBackend::etcd().await {
                    super::$name(t).await
                }
            }
        }
    )*};
}
