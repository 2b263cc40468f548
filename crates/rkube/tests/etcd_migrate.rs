//! `rkube migrate` from a data directory to etcd and back: objects keep
//! their uids, creation timestamps and owner references.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::TestServer;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use rkube_store::etcd::launcher::{EtcdCluster, etcd_binary};
use tempfile::TempDir;

async fn api(s: &TestServer) -> Api<ConfigMap> {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    Api::namespaced(kube::Client::try_from(cfg).expect("client"), "default")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A new data directory holding only `from`'s credentials.
fn with_pki_of(from: &Path) -> TempDir {
    let dir = TempDir::new().unwrap();
    copy_dir(&from.join("pki"), &dir.path().join("pki"));
    dir
}

fn migrate(from: &str, to: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rkube"))
        .args(["migrate", "--from", from, "--to", to])
        .output()
        .expect("run rkube migrate")
}

fn migrate_ok(from: &str, to: &str) {
    let out = migrate(from, to);
    assert!(
        out.status.success(),
        "rkube migrate --from {from} --to {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The identity a migration must keep, by name.
fn identity(items: &[ConfigMap]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|c| {
            let m = &c.metadata;
            let owners: Vec<String> = m
                .owner_references
                .iter()
                .flatten()
                .map(|o| format!("{}/{}/{}", o.kind, o.name, o.uid))
                .collect();
            (
                m.name.clone().unwrap(),
                format!(
                    "uid={:?} created={:?} owners={owners:?} data={:?}",
                    m.uid, m.creation_timestamp, c.data
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_to_etcd_and_back_keeps_identity_and_ownership() {
    if etcd_binary().is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but etcd is not installed"
        );
        eprintln!("SKIPPED: etcd is not installed (apt-get install etcd-server)");
        return;
    }
    let etcd_dir = TempDir::new().unwrap();
    let etcd = EtcdCluster::start(etcd_dir.path(), 1).await.expect("etcd");
    let url = etcd.endpoints().join(",");

    // An embedded cluster with an owner and its dependent.
    let s = TestServer::start_apiserver(TempDir::new().unwrap(), &[]);
    let a = api(&s).await;
    let mut owner = ConfigMap::default();
    owner.metadata.name = Some("owner".into());
    let owner = a.create(&PostParams::default(), &owner).await.unwrap();
    let mut dependent = ConfigMap::default();
    dependent.metadata.name = Some("dependent".into());
    dependent.data = Some(BTreeMap::from([("k".into(), "v".into())]));
    dependent.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "owner".into(),
        uid: owner.metadata.uid.clone().unwrap(),
        ..Default::default()
    }]);
    a.create(&PostParams::default(), &dependent).await.unwrap();
    let before = identity(&a.list(&Default::default()).await.unwrap().items);
    let embedded_dir = s.stop();
    let embedded = embedded_dir.path().to_str().unwrap().to_owned();

    // A second copy into the now non-empty etcd is refused.
    migrate_ok(&embedded, &url);
    let again = migrate(&embedded, &url);
    assert!(!again.status.success(), "migrating into a non-empty etcd");

    let on_etcd =
        TestServer::start_apiserver(with_pki_of(embedded_dir.path()), &["--etcd-servers", &url]);
    let e = api(&on_etcd).await;
    assert_eq!(
        identity(&e.list(&Default::default()).await.unwrap().items),
        before
    );
    let mut later = ConfigMap::default();
    later.metadata.name = Some("made-on-etcd".into());
    e.create(&PostParams::default(), &later).await.unwrap();
    let on_etcd_state = identity(&e.list(&Default::default()).await.unwrap().items);
    assert_eq!(on_etcd_state.len(), 3);

    // And back into a new data directory, while the etcd server runs.
    let back_dir = with_pki_of(embedded_dir.path());
    migrate_ok(&url, back_dir.path().to_str().unwrap());
    let back = TestServer::start_apiserver(back_dir, &[]);
    let b = api(&back).await;
    assert_eq!(
        identity(&b.list(&Default::default()).await.unwrap().items),
        on_etcd_state
    );
    // Namespaces and the kubernetes Service came along too.
    let (code, body) = back.curl(
        "GET",
        "/api/v1/namespaces/kube-system",
        None,
        "application/json",
    );
    assert_eq!(code, 200, "{body}");
}
