//! State survives a restart and a kill -9: objects, uids and
//! resourceVersions, and watches resume from before the restart.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::TestServer;
use futures::TryStreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

async fn api(s: &TestServer) -> Api<ConfigMap> {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    Api::namespaced(kube::Client::try_from(cfg).expect("client"), "default")
}

fn cm(name: &str) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name.into());
    c.data = Some(BTreeMap::from([("k".into(), name.into())]));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_objects_and_watch_resumes() {
    let s = TestServer::start();
    let a = api(&s).await;
    let before = a.create(&PostParams::default(), &cm("kept")).await.unwrap();
    let dir = s.stop();

    let s = TestServer::start_in(dir);
    let a = api(&s).await;
    let after = a.get("kept").await.unwrap();
    assert_eq!(after.metadata.uid, before.metadata.uid);
    assert_eq!(
        after.metadata.resource_version,
        before.metadata.resource_version
    );
    assert_eq!(
        after.metadata.creation_timestamp,
        before.metadata.creation_timestamp
    );

    let next = a
        .create(&PostParams::default(), &cm("later"))
        .await
        .unwrap();
    let next_rv: i64 = next.metadata.resource_version.unwrap().parse().unwrap();
    let old_rv: i64 = before
        .metadata
        .resource_version
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    assert!(next_rv > old_rv, "revisions continue after a restart");

    let wp = WatchParams::default().timeout(5);
    let mut stream = Box::pin(
        a.watch(&wp, &before.metadata.resource_version.unwrap())
            .await
            .unwrap(),
    );
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Added(o)) => assert_eq!(o.metadata.name.as_deref(), Some("later")),
        other => panic!("expected ADDED later, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_loses_no_acknowledged_write() {
    let s = TestServer::start();
    let a = api(&s).await;
    let acked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let a = a.clone();
        let acked = Arc::clone(&acked);
        let stop = Arc::clone(&stop);
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 5000 {
                let name = format!("crash-{w}-{i}");
                match a.create(&PostParams::default(), &cm(&name)).await {
                    Ok(_) => acked.lock().unwrap().push(name),
                    Err(_) => break,
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let dir = s.kill();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "the load wrote too little to mean anything: {}",
        acked.len()
    );

    let s = TestServer::start_in(dir);
    let a = api(&s).await;
    let list = a.list(&Default::default()).await.unwrap();
    let present: std::collections::HashSet<String> = list
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|n| !present.contains(*n)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}
