//! Property: applying the same configuration twice changes nothing the
//! second time, whatever was applied or updated before, checked with
//! proptest. Configurations are built from a tape of random choices that
//! proptest generates and shrinks on a failure (a shorter tape of smaller
//! numbers builds a smaller configuration).
//!
//! Also the benchmark of a ~1,000-field apply (`#[ignore]`; run with
//! `cargo test --release -p rkube-api apply_bench -- --ignored --nocapture`).

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use super::*;

const DEPLOY: &str = "io.k8s.api.apps.v1.Deployment";

/// Random choices read off a proptest tape; 0 once it runs out.
struct Rng {
    tape: Vec<u64>,
    at: usize,
}

impl Rng {
    fn next(&mut self) -> u64 {
        let v = self.tape.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        v
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn writer(manager: &'static str) -> Writer<'static> {
    Writer {
        root: DEPLOY,
        manager,
        api_version: "apps/v1",
        subresource: None,
        scope: Scope::AllButStatus,
        now: "2026-01-01T00:00:00Z",
    }
}

fn container(rng: &mut Rng, name: &str) -> Value {
    let mut c = json!({"name": name, "image": format!("img:{}", rng.below(3))});
    if rng.below(2) == 0 {
        let ports: Vec<Value> = (0..rng.below(3))
            .map(|p| json!({"containerPort": 8000 + p, "name": format!("p{p}")}))
            .collect();
        c["ports"] = json!(ports);
    }
    if rng.below(2) == 0 {
        let env: Vec<Value> = (0..rng.below(4))
            .map(|e| json!({"name": format!("E{e}"), "value": format!("{}", rng.below(2))}))
            .collect();
        c["env"] = json!(env);
    }
    if rng.below(3) == 0 {
        c["args"] = json!(["--a", format!("--b={}", rng.below(2))]);
    }
    c
}

fn config(rng: &mut Rng) -> Value {
    let mut labels = serde_json::Map::new();
    for i in 0..rng.below(4) {
        labels.insert(format!("l{i}"), json!(format!("{}", rng.below(2))));
    }
    let names = ["a", "b", "c", "d"];
    let mut containers = Vec::new();
    for n in names {
        if rng.below(2) == 0 || containers.is_empty() && n == "d" {
            containers.push(container(rng, n));
        }
    }
    let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "x", "labels": labels},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}},
                "spec": {"containers": containers}}}});
    if rng.below(2) == 0 {
        d["spec"]["replicas"] = json!(rng.below(4));
    }
    if rng.below(3) == 0 {
        d["metadata"]["finalizers"] = json!(["f/a", format!("f/{}", rng.below(3))]);
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn applying_twice_is_idempotent(tape in prop::collection::vec(any::<u64>(), 0..400)) {
        let mut rng = Rng { tape, at: 0 };
        let mut live: Option<Value> = None;
        for step in 0..4 {
            let who = ["a", "b"][rng.below(2) as usize];
            let cfg = config(&mut rng);
            // An updater sometimes changes things in between.
            if let Some(l) = &live
                && rng.below(3) == 0
            {
                let mut u = l.clone();
                u["spec"]["replicas"] = json!(7);
                record_update(Some(l), &mut u, &writer("updater"));
                live = Some(u);
            }
            let once = apply(live.as_ref(), &cfg, &writer(who), true)
                .map_err(|e| TestCaseError::fail(format!("step {step}: first apply: {e:?}")))?;
            let twice = apply(Some(&once), &cfg, &writer(who), false)
                .map_err(|e| TestCaseError::fail(format!("step {step}: second apply: {e:?}")))?;
            prop_assert_eq!(&once, &twice, "step {}: config {}", step, cfg);
            live = Some(twice);
        }
    }
}

/// A Deployment of about 1,000 fields: 40 containers of 25 fields.
pub(super) fn big_config(image: &str) -> Value {
    let containers: Vec<Value> = (0..40)
        .map(|i| {
            let env: Vec<Value> = (0..6)
                .map(|e| json!({"name": format!("VAR_{e}"), "value": format!("v{e}")}))
                .collect();
            json!({"name": format!("c{i}"), "image": format!("{image}:{i}"),
                "args": ["--x", "--y"],
                "ports": [{"containerPort": 8000 + i, "name": "http"}],
                "env": env,
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}})
        })
        .collect();
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "big", "labels": {"app": "big"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "big"}},
            "template": {"metadata": {"labels": {"app": "big"}},
                "spec": {"containers": containers}}}})
}

#[test]
fn big_config_has_about_a_thousand_fields() {
    let set = fieldpath::FieldSet::new()
        .union(&typed::to_field_set(&big_config("i"), typed::def_shape(DEPLOY)).unwrap());
    let n = set.paths().len();
    assert!((900..1200).contains(&n), "{n} fields");
}

#[test]
#[ignore]
fn apply_bench() {
    let first = apply(None, &big_config("a"), &writer("mgr"), false).unwrap();
    let changed = big_config("b");
    let rounds = 200;
    for (label, cfg) in [
        ("same config", big_config("a")),
        ("40 images changed", changed),
    ] {
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            let out = apply(Some(&first), &cfg, &writer("mgr"), false).unwrap();
            std::hint::black_box(out);
        }
        let per = start.elapsed() / rounds;
        println!("server-side apply of a ~1,000-field Deployment ({label}): {per:?} per apply");
    }
}

#[test]
#[ignore]
fn apply_bench_parts() {
    let cfg = big_config("a");
    let first = apply(None, &cfg, &writer("mgr"), false).unwrap();
    let shape = typed::def_shape(DEPLOY);
    let t = |label: &str, f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..50 {
            f();
        }
        println!("{label}: {:?}", start.elapsed() / 50);
    };
    t("to_field_set", &mut || {
        std::hint::black_box(typed::to_field_set(&cfg, shape).unwrap());
    });
    t("merge", &mut || {
        std::hint::black_box(merge(&first, &cfg, shape).unwrap());
    });
    t("compare", &mut || {
        std::hint::black_box(compare(&first, &cfg, shape));
    });
    t("decode", &mut || {
        std::hint::black_box(managed::decode(&first).unwrap());
    });
    t("encode", &mut || {
        std::hint::black_box(managed::encode(managed::decode(&first).unwrap()));
    });
}

#[test]
#[ignore]
fn apply_bench_baseline() {
    let cfg = big_config("a");
    let start = std::time::Instant::now();
    for _ in 0..200 {
        std::hint::black_box(cfg.clone());
    }
    println!("clone of the object: {:?}", start.elapsed() / 200);
    let start = std::time::Instant::now();
    for _ in 0..200 {
        std::hint::black_box(serde_json::to_string(&cfg).unwrap());
    }
    println!("serialize the object: {:?}", start.elapsed() / 200);
}
