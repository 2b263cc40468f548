//! Property: for random pairs of pod-like objects `a` and `b`,
//! `strategic_merge(a, create_two_way_merge_patch(a, b)) == b`, checked
//! with proptest. The objects are built from a tape of random choices that
//! proptest generates and, on a failure, shrinks: a shorter tape of smaller
//! numbers builds a smaller object, so the case reported is a small one.
//!
//! Also a micro benchmark of a 50-container pod (`#[ignore]`; run with
//! `cargo test --release -p rkube-api patch_bench -- --ignored --nocapture`).

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};

use super::{BUILTIN, create_two_way_merge_patch, strategic_merge};

const POD: &str = "io.k8s.api.core.v1.Pod";

/// The source of every random choice the generators make: a proptest tape
/// (0 once it runs out), or xorshift64* from a seed for the benchmarks.
pub(super) struct Rng {
    state: u64,
    tape: Option<Vec<u64>>,
    at: usize,
}

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            tape: None,
            at: 0,
        }
    }

    pub(super) fn from_tape(tape: Vec<u64>) -> Rng {
        Rng {
            state: 1,
            tape: Some(tape),
            at: 0,
        }
    }

    fn next(&mut self) -> u64 {
        if let Some(tape) = &self.tape {
            let v = tape.get(self.at).copied().unwrap_or(0);
            self.at += 1;
            return v;
        }
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// A random subset of `items`, shuffled, without duplicates.
    pub(super) fn subset<T: Clone>(&mut self, items: &[T], max: usize) -> Vec<T> {
        let mut pool: Vec<T> = items.to_vec();
        let n = self.below(max.min(pool.len()) + 1);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let i = self.below(pool.len());
            out.push(pool.remove(i));
        }
        out
    }
}

pub(super) fn string_map(rng: &mut Rng, keys: &[&str], values: &[&str]) -> Value {
    let mut m = Map::new();
    for k in rng.subset(keys, keys.len()) {
        m.insert(k.to_string(), json!(rng.pick(values)));
    }
    Value::Object(m)
}

fn container(rng: &mut Rng, name: &str) -> Value {
    let mut c = Map::new();
    c.insert("name".into(), json!(name));
    c.insert(
        "image".into(),
        json!(rng.pick(&["nginx:1.14", "nginx:1.21", "busybox"])),
    );
    if rng.chance(40) {
        let n = rng.below(3);
        let args: Vec<Value> = (0..n)
            .map(|_| json!(rng.pick(&["-v", "-q", "run"])))
            .collect();
        c.insert("args".into(), Value::Array(args));
    }
    if rng.chance(50) {
        let ports: Vec<Value> = rng
            .subset(&[80, 443, 8080, 9090], 3)
            .into_iter()
            .map(|p| {
                let mut port = json!({"containerPort": p});
                if rng.chance(50) {
                    port["protocol"] = json!(rng.pick(&["TCP", "UDP"]));
                }
                if rng.chance(30) {
                    port["name"] = json!(rng.pick(&["http", "https", "metrics"]));
                }
                port
            })
            .collect();
        c.insert("ports".into(), Value::Array(ports));
    }
    if rng.chance(50) {
        let env: Vec<Value> = rng
            .subset(&["A", "B", "C", "D"], 4)
            .into_iter()
            .map(|n| json!({"name": n, "value": rng.pick(&["1", "2", "x"])}))
            .collect();
        c.insert("env".into(), Value::Array(env));
    }
    if rng.chance(30) {
        c.insert(
            "resources".into(),
            json!({"limits": string_map(rng, &["cpu", "memory"], &["1", "2", "500m"])}),
        );
    }
    Value::Object(c)
}

fn volume(rng: &mut Rng, name: &str) -> Value {
    let mut v = json!({"name": name});
    match rng.below(3) {
        0 => v["emptyDir"] = json!({}),
        1 => v["configMap"] = json!({"name": rng.pick(&["cm1", "cm2"])}),
        _ => v["secret"] = json!({"secretName": rng.pick(&["s1", "s2"])}),
    }
    v
}

/// A pod-like object: maps, merged lists of objects (by name, by
/// containerPort, by uid), a merged set, atomic lists, volumes with
/// `retainKeys`. No nulls, no duplicate keys in merged lists.
pub(super) fn pod(rng: &mut Rng) -> Value {
    let mut meta = Map::new();
    meta.insert("name".into(), json!("p"));
    if rng.chance(70) {
        meta.insert(
            "labels".into(),
            string_map(rng, &["app", "tier", "env"], &["a", "b"]),
        );
    }
    if rng.chance(40) {
        meta.insert(
            "annotations".into(),
            string_map(rng, &["note", "owner"], &["x", "y"]),
        );
    }
    if rng.chance(50) {
        let f = rng.subset(&["f1", "f2", "f3", "f4"], 4);
        meta.insert("finalizers".into(), json!(f));
    }
    if rng.chance(30) {
        let refs: Vec<Value> = rng
            .subset(&["u1", "u2", "u3"], 2)
            .into_iter()
            .map(|u| json!({"uid": u, "name": rng.pick(&["rs1", "rs2"])}))
            .collect();
        meta.insert("ownerReferences".into(), Value::Array(refs));
    }
    let mut spec = Map::new();
    if rng.chance(90) {
        let names = rng.subset(&["a", "b", "c", "d", "e"], 4);
        let list: Vec<Value> = names.iter().map(|n| container(rng, n)).collect();
        spec.insert("containers".into(), Value::Array(list));
    }
    if rng.chance(40) {
        let names = rng.subset(&["v1", "v2", "v3"], 3);
        let list: Vec<Value> = names.iter().map(|n| volume(rng, n)).collect();
        spec.insert("volumes".into(), Value::Array(list));
    }
    if rng.chance(30) {
        let n = rng.below(3);
        let list: Vec<Value> = (0..n)
            .map(|_| json!({"key": rng.pick(&["k1", "k2"]), "operator": "Exists"}))
            .collect();
        spec.insert("tolerations".into(), Value::Array(list));
    }
    if rng.chance(30) {
        spec.insert(
            "nodeSelector".into(),
            string_map(rng, &["disk", "zone"], &["ssd", "a"]),
        );
    }
    if rng.chance(30) {
        spec.insert("hostname".into(), json!(rng.pick(&["h1", "h2"])));
    }
    if rng.chance(30) {
        spec.insert("securityContext".into(), json!({"runAsUser": rng.below(3)}));
    }
    let mut pod = Map::new();
    pod.insert("metadata".into(), Value::Object(meta));
    pod.insert("spec".into(), Value::Object(spec));
    Value::Object(pod)
}

/// Upstream's diff only orders a merged scalar list (`finalizers`) when
/// its content changed or the original, once sorted, differs from the
/// modified one: `[b, a]` to `[a, b]` gives no patch. Compare those lists
/// as sets.
fn sorted_sets(mut v: Value) -> Value {
    if let Some(Value::Array(f)) = v.get_mut("metadata").and_then(|m| m.get_mut("finalizers")) {
        f.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    }
    v
}

/// A tape long enough for the largest pod the generators build.
fn tape() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(any::<u64>(), 0..600)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn two_way_patch_round_trips(tape in tape()) {
        let mut rng = Rng::from_tape(tape);
        let a = pod(&mut rng);
        let b = pod(&mut rng);
        let patch = create_two_way_merge_patch(&a, &b, &BUILTIN, POD)
            .map_err(|e| TestCaseError::fail(format!("diff failed: {e}\na = {a}\nb = {b}")))?;
        let got = strategic_merge(&a, &patch, &BUILTIN, POD)
            .map_err(|e| TestCaseError::fail(format!("apply failed: {e}\na = {a}\npatch = {patch}")))?;
        prop_assert_eq!(sorted_sets(got), sorted_sets(b.clone()), "a = {}\npatch = {}", a, patch);
        // Upstream's diff of an object with itself is empty but for
        // `$setElementOrder` of merged scalar lists that are not sorted.
        let same = create_two_way_merge_patch(&a, &a, &BUILTIN, POD).unwrap();
        let again = strategic_merge(&a, &same, &BUILTIN, POD).unwrap();
        prop_assert_eq!(&again, &a, "patch = {}", same);
    }

    #[test]
    fn small_edits_round_trip(tape in tape()) {
        // Pairs that differ a little: the common case of kubectl edit.
        let mut rng = Rng::from_tape(tape);
        let a = pod(&mut rng);
        let mut b = a.clone();
        let containers = b
            .get_mut("spec")
            .and_then(|s| s.get_mut("containers"))
            .and_then(Value::as_array_mut);
        if let Some(list) = containers.filter(|l| !l.is_empty()) {
            let i = rng.below(list.len());
            list[i]["image"] = json!("changed");
            if rng.chance(50) {
                list.swap(0, i);
            }
            if rng.chance(30) {
                list.remove(i);
            }
        }
        if rng.chance(50) {
            b["metadata"]["labels"]["new"] = json!("v");
        }
        let patch = create_two_way_merge_patch(&a, &b, &BUILTIN, POD).unwrap();
        let got = strategic_merge(&a, &patch, &BUILTIN, POD).unwrap();
        prop_assert_eq!(&got, &b, "a = {}\npatch = {}", a, patch);
    }
}

fn big_pod(n: usize) -> Value {
    let containers: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "name": format!("c{i}"), "image": "nginx:1.14.2",
                "ports": [{"containerPort": 8000 + i, "protocol": "TCP"}],
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "resources": {"limits": {"cpu": "100m"}},
                "terminationMessagePath": "/dev/termination-log",
                "imagePullPolicy": "IfNotPresent"
            })
        })
        .collect();
    json!({"metadata": {"name": "big", "labels": {"app": "big"}},
           "spec": {"containers": containers, "restartPolicy": "Always"}})
}

#[test]
#[ignore = "micro benchmark; run in release with --ignored"]
fn patch_bench_50_containers() {
    let live = big_pod(50);
    // kubectl apply style: every container named in $setElementOrder, half
    // of them with a new image.
    let order: Vec<Value> = (0..50).map(|i| json!({"name": format!("c{i}")})).collect();
    let changed: Vec<Value> = (0..50)
        .step_by(2)
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx:1.21"}))
        .collect();
    let patch = json!({"spec": {"$setElementOrder/containers": order, "containers": changed}});
    let set_image = json!({"spec": {"containers": [{"name": "c7", "image": "nginx:1.21"}]}});
    let mut timings = Vec::new();
    let start = std::time::Instant::now();
    for _ in 0..200 {
        std::hint::black_box(live.clone());
    }
    eprintln!(
        "baseline: cloning and dropping the pod: {:?}",
        start.elapsed() / 200
    );
    for (what, patch) in [("apply-style", &patch), ("set-image", &set_image)] {
        let iterations = 200;
        let start = std::time::Instant::now();
        for _ in 0..iterations {
            let out = strategic_merge(&live, patch, &BUILTIN, POD).unwrap();
            std::hint::black_box(out);
        }
        let per = start.elapsed() / iterations;
        eprintln!("strategic_merge {what}, 50 containers: {per:?} per patch");
        timings.push((what, per));
    }
    let mut modified = live.clone();
    for i in (0..50).step_by(3) {
        modified["spec"]["containers"][i]["image"] = json!("nginx:1.21");
    }
    let start = std::time::Instant::now();
    for _ in 0..50 {
        let p = create_two_way_merge_patch(&live, &modified, &BUILTIN, POD).unwrap();
        std::hint::black_box(p);
    }
    eprintln!(
        "create_two_way_merge_patch, 50 containers: {:?}",
        start.elapsed() / 50
    );
    let p = create_two_way_merge_patch(&live, &modified, &BUILTIN, POD).unwrap();
    assert_eq!(strategic_merge(&live, &p, &BUILTIN, POD).unwrap(), modified);
    if !cfg!(debug_assertions) {
        for (what, per) in timings {
            assert!(per < std::time::Duration::from_millis(1), "{what}: {per:?}");
        }
    }
}
