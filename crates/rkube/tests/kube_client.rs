//! kube-rs against a real `rkube server`: pagination, optimistic
//! concurrency, watch resume and selectors, as a controller would use them.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::TestServer;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

async fn client(s: &TestServer) -> kube::Client {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name.to_string());
    c.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    c.data = Some(BTreeMap::from([("n".to_string(), "0".to_string())]));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_returns_every_object_exactly_once() {
    let s = TestServer::start();
    let c = client(&s).await;
    let api: Api<ConfigMap> = Api::namespaced(c, "default");
    let total = 2000;
    futures::stream::iter(0..total)
        .map(|i| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &cm(&format!("page-{i:05}"), &[]))
                    .await
                    .expect("create")
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let mut seen = HashSet::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    let mut first_rv = None;
    loop {
        let mut lp = ListParams::default().limit(300);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = api.list(&lp).await.expect("list page");
        pages += 1;
        let rv = page.metadata.resource_version.clone();
        if first_rv.is_none() {
            first_rv = rv.clone();
            // A write between pages must not show up in later pages.
            api.create(&PostParams::default(), &cm("page-zzz-late", &[]))
                .await
                .unwrap();
        } else {
            assert_eq!(rv, first_rv, "pages come from one snapshot");
        }
        for item in page.items {
            let name = item.metadata.name.unwrap();
            assert!(seen.insert(name.clone()), "{name} returned twice");
        }
        match page.metadata.continue_ {
            Some(t) if !t.is_empty() => {
                assert!(page.metadata.remaining_item_count.unwrap_or(0) > 0);
                token = Some(t)
            }
            _ => break,
        }
    }
    let created: HashSet<String> = (0..total).map(|i| format!("page-{i:05}")).collect();
    let seen_pages: HashSet<String> = seen
        .iter()
        .filter(|n| n.starts_with("page-0"))
        .cloned()
        .collect();
    assert_eq!(seen_pages, created);
    assert!(!seen.contains("page-zzz-late"));
    assert_eq!(pages, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_lose_nothing() {
    let s = TestServer::start();
    let api: Api<ConfigMap> = Api::namespaced(client(&s).await, "default");
    api.create(&PostParams::default(), &cm("counter", &[]))
        .await
        .unwrap();
    let tasks = 8;
    let per_task = 25;
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let api = api.clone();
        handles.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..per_task {
                loop {
                    let mut cur = api.get("counter").await.unwrap();
                    let data = cur.data.get_or_insert_with(BTreeMap::new);
                    let n: i64 = data["n"].parse().unwrap();
                    data.insert("n".into(), (n + 1).to_string());
                    match api.replace("counter", &PostParams::default(), &cur).await {
                        Ok(_) => break,
                        Err(kube::Error::Api(e)) if e.code == 409 => {
                            assert_eq!(e.reason, "Conflict");
                            conflicts += 1;
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for h in handles {
        conflicts += h.await.unwrap();
    }
    let n: i64 = api.get("counter").await.unwrap().data.unwrap()["n"]
        .parse()
        .unwrap();
    assert_eq!(n, tasks * per_task);
    assert!(conflicts > 0, "8 writers on one key should have collided");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumes_from_a_resource_version() {
    let s = TestServer::start();
    let api: Api<ConfigMap> = Api::namespaced(client(&s).await, "default");
    let first = api
        .create(&PostParams::default(), &cm("w-0", &[("app", "w")]))
        .await
        .unwrap();
    let rv = first.metadata.resource_version.unwrap();
    for i in 1..=5 {
        api.create(
            &PostParams::default(),
            &cm(&format!("w-{i}"), &[("app", "w")]),
        )
        .await
        .unwrap();
    }
    api.create(&PostParams::default(), &cm("other", &[("app", "x")]))
        .await
        .unwrap();
    api.delete("w-1", &Default::default()).await.unwrap();

    let wp = WatchParams::default().labels("app=w").timeout(5);
    let mut stream = api.watch(&wp, &rv).await.unwrap().boxed();
    let mut seen = Vec::new();
    while let Some(ev) = stream.try_next().await.unwrap() {
        match ev {
            WatchEvent::Added(o) => seen.push(format!("ADDED {}", o.metadata.name.unwrap())),
            WatchEvent::Deleted(o) => seen.push(format!("DELETED {}", o.metadata.name.unwrap())),
            WatchEvent::Modified(o) => seen.push(format!("MODIFIED {}", o.metadata.name.unwrap())),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("{e:?}"),
        }
        if seen.len() == 6 {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            "ADDED w-1",
            "ADDED w-2",
            "ADDED w-3",
            "ADDED w-4",
            "ADDED w-5",
            "DELETED w-1"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selectors_filter_lists() {
    let s = TestServer::start();
    let api: Api<ConfigMap> = Api::namespaced(client(&s).await, "default");
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web")] {
        api.create(&PostParams::default(), &cm(name, &[("tier", tier)]))
            .await
            .unwrap();
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect()
    };
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier=web"))
                .await
                .unwrap()
        ),
        ["a", "c"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier in (db)"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier,tier notin (web)"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name=c"))
                .await
                .unwrap()
        ),
        ["c"]
    );
    let err = api
        .list(&ListParams::default().fields("data.n=0"))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(e) => assert_eq!(e.code, 400),
        other => panic!("{other}"),
    }
}

/// core/v1 and events.k8s.io/v1 Events are one store, as upstream keeps
/// them: an Event written through either API reads back through the other
/// with that API's field names.
#[test]
fn events_are_one_store_under_two_apis() {
    let s = TestServer::start();
    let json = "application/json";
    let (code, body) = s.curl(
        "POST",
        "/api/v1/namespaces/default/events",
        Some(
            r#"{"apiVersion":"v1","kind":"Event","metadata":{"name":"core.1"},
            "involvedObject":{"kind":"Pod","name":"web","namespace":"default"},
            "reason":"Started","message":"Started container web","type":"Normal",
            "source":{"component":"kubelet"},"count":3}"#,
        ),
        json,
    );
    assert_eq!(code, 201, "{body}");
    let (code, body) = s.curl(
        "GET",
        "/apis/events.k8s.io/v1/namespaces/default/events/core.1",
        None,
        json,
    );
    assert_eq!(code, 200, "{body}");
    let ev: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ev["apiVersion"], "events.k8s.io/v1");
    assert_eq!(ev["note"], "Started container web");
    assert_eq!(ev["regarding"]["name"], "web");
    assert_eq!(ev["deprecatedSource"]["component"], "kubelet");
    assert_eq!(ev["deprecatedCount"], 3);
    assert!(ev.get("message").is_none(), "{body}");

    let (code, body) = s.curl(
        "POST",
        "/apis/events.k8s.io/v1/namespaces/default/events",
        Some(
            r#"{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"new.1"},
            "eventTime":"2026-11-25T10:00:00.000000Z","reportingController":"rkube.io/test",
            "reportingInstance":"t1","action":"Testing","reason":"Tested","type":"Normal",
            "regarding":{"kind":"Pod","name":"db","namespace":"default"},"note":"it works"}"#,
        ),
        json,
    );
    assert_eq!(code, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["note"], "it works", "{body}");
    let (code, body) = s.curl(
        "GET",
        "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Ddb",
        None,
        json,
    );
    assert_eq!(code, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["message"], "it works");
    assert_eq!(items[0]["reportingComponent"], "rkube.io/test");
}
