//! Differential cases: random objects and patches (directives, malformed
//! ones included) whose outcomes were recorded from upstream's
//! `k8s.io/apimachinery/pkg/util/strategicpatch` (as of Kubernetes 1.35,
//! its `patch.go` unchanged since mid-2024), called through its
//! `StrategicMergeMapPatchUsingLookupPatchMeta` and
//! `CreateTwoWayMergeMapPatchUsingLookupPatchMeta` with a `LookupPatchMeta`
//! that answers from the same schema facts rkube uses, on documents decoded
//! as kube-apiserver decodes them (integers kept as `int64`).
//!
//! `testdata/upstream_cases.jsonl` holds one case a line: `op` (`apply` or
//! `diff`), `root`, `a`, `b` and upstream's outcome `want`: `{"ok": value}`,
//! `{"err": message}`, or `{"panic": message}` (upstream crashed; we must
//! fail with an error). Only cases whose outcome was the same in five runs
//! are kept: upstream walks Go maps in random order, so which of two
//! errors it reports, or the order of a list patched and pruned in one
//! object, can vary from run to run.
//!
//! To record new cases: run the ignored `write_upstream_cases` with
//! `RKUBE_SMP_CASES=<dir>` (and optionally `RKUBE_SMP_SEED`,
//! `RKUBE_SMP_COUNT`), which writes `<dir>/schema.json` (definition →
//! field → strategy, merge key, child) and `<dir>/cases.jsonl`; run them
//! through such a harness and store its outcomes as `want`.
//! `RKUBE_SMP_FIXTURE=<file>` makes `matches_recorded_upstream_outcomes`
//! check another recorded file (24,000 cases matched when this was
//! written).

use serde_json::{Map, Value, json};

use super::tests_prop::{Rng, pod, string_map};
use super::{BUILTIN, SchemaLookup, create_two_way_merge_patch, strategic_merge};

const POD: &str = "io.k8s.api.core.v1.Pod";
const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";
const CSR: &str = "io.k8s.api.certificates.v1.CertificateSigningRequest";
const CASES: &str = include_str!("testdata/upstream_cases.jsonl");

#[test]
fn matches_recorded_upstream_outcomes() {
    // RKUBE_SMP_FIXTURE=<file> checks a freshly recorded file instead.
    let other = std::env::var("RKUBE_SMP_FIXTURE")
        .ok()
        .map(|p| std::fs::read_to_string(p).expect("fixture"));
    let cases = other.as_deref().unwrap_or(CASES);
    let mut failures = Vec::new();
    let mut count = 0;
    for (line_no, line) in cases.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        count += 1;
        let case: Value = serde_json::from_str(line).expect("case JSON");
        let root = case["root"].as_str().unwrap();
        let got = match case["op"].as_str().unwrap() {
            "apply" => strategic_merge(&case["a"], &case["b"], &BUILTIN, root),
            _ => create_two_way_merge_patch(&case["a"], &case["b"], &BUILTIN, root),
        };
        let want = &case["want"];
        let ok = match (got.as_ref(), want) {
            (Ok(v), w) if w.get("ok").is_some() => *v == w["ok"],
            (Err(e), w) if w.get("err").is_some() => Some(e.message()) == w["err"].as_str(),
            (Err(_), w) => w.get("panic").is_some(),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "line {}: {} root={root}\na = {}\nb = {}\nwant {want}\ngot  {got:?}",
                line_no + 1,
                case["op"],
                case["a"],
                case["b"]
            ));
        }
    }
    assert!(count > 0, "no recorded cases");
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The schema facts of every definition, for the harness.
fn schema_dump() -> Value {
    let mut defs: std::collections::BTreeSet<&str> =
        super::type_graph::TYPES.iter().map(|(d, _)| *d).collect();
    defs.extend(crate::patch_strategy::all().iter().map(|t| t.definition));
    let mut out = Map::new();
    for def in defs {
        let mut names: std::collections::BTreeSet<&str> = crate::patch_strategy::fields(def)
            .iter()
            .map(|f| f.field)
            .collect();
        if let Ok(i) = super::type_graph::TYPES.binary_search_by(|(d, _)| (*d).cmp(def)) {
            names.extend(super::type_graph::TYPES[i].1.iter().map(|(f, _)| *f));
        }
        let mut fields = Map::new();
        for name in names {
            let info = BUILTIN.field(def, name).expect("listed field");
            let child = match info.child {
                super::Child::None => String::new(),
                super::Child::Map => "map".into(),
                super::Child::Def(d) => d.to_string(),
            };
            fields.insert(
                name.into(),
                json!({"strategy": info.patch_strategy, "mergeKey": info.merge_key, "child": child}),
            );
        }
        out.insert(def.into(), Value::Object(fields));
    }
    Value::Object(out)
}

fn names(rng: &mut Rng, pool: &[&str], max: usize) -> Vec<Value> {
    rng.subset(pool, max)
        .into_iter()
        .map(|n| json!(n))
        .collect()
}

fn directive(rng: &mut Rng) -> Value {
    json!(rng.pick(&["delete", "replace", "replace", "delete", "merge", "bogus"]))
}

fn container_patch(rng: &mut Rng) -> Value {
    let mut c = Map::new();
    if !rng.chance(4) {
        c.insert(
            "name".into(),
            json!(rng.pick(&["a", "b", "c", "d", "e", "f"])),
        );
    }
    if rng.chance(60) {
        let image = if rng.chance(15) {
            Value::Null
        } else {
            json!(rng.pick(&["nginx:1.21", "x"]))
        };
        c.insert("image".into(), image);
    }
    if rng.chance(25) {
        c.insert(
            "args".into(),
            Value::Array(names(rng, &["-v", "-q", "run"], 3)),
        );
    }
    if rng.chance(10) {
        c.insert(
            "$deleteFromPrimitiveList/args".into(),
            Value::Array(names(rng, &["-v", "-q"], 2)),
        );
    }
    if rng.chance(30) {
        let ports: Vec<Value> = rng
            .subset(&[80, 443, 8080, 9090], 3)
            .into_iter()
            .map(|p| {
                let mut port = json!({"containerPort": p});
                if rng.chance(20) {
                    port["$patch"] = json!("delete");
                } else if rng.chance(40) {
                    port["name"] = json!(rng.pick(&["http", "x"]));
                }
                port
            })
            .collect();
        c.insert("ports".into(), Value::Array(ports));
    }
    if rng.chance(15) {
        let order: Vec<Value> = rng
            .subset(&[80, 443, 8080, 9090], 4)
            .into_iter()
            .map(|p| json!({"containerPort": p}))
            .collect();
        c.insert("$setElementOrder/ports".into(), Value::Array(order));
    }
    if rng.chance(30) {
        let env: Vec<Value> = rng
            .subset(&["A", "B", "C", "D"], 3)
            .into_iter()
            .map(|n| {
                if rng.chance(25) {
                    json!({"name": n, "$patch": "delete"})
                } else {
                    json!({"name": n, "value": rng.pick(&["1", "9"])})
                }
            })
            .collect();
        c.insert("env".into(), Value::Array(env));
    }
    if rng.chance(8) {
        c.insert("$patch".into(), directive(rng));
    }
    Value::Object(c)
}

fn spec_patch(rng: &mut Rng) -> Value {
    let mut s = Map::new();
    if rng.chance(60) {
        let n = rng.below(4);
        let mut list: Vec<Value> = (0..n).map(|_| container_patch(rng)).collect();
        if rng.chance(5) {
            list.push(json!({"$patch": "replace"}));
        }
        if rng.chance(3) {
            list.push(json!("stray"));
        }
        s.insert("containers".into(), Value::Array(list));
    }
    if rng.chance(35) {
        let order: Vec<Value> = rng
            .subset(&["a", "b", "c", "d", "e", "f"], 5)
            .into_iter()
            .map(|n| json!({"name": n}))
            .collect();
        s.insert("$setElementOrder/containers".into(), Value::Array(order));
    }
    if rng.chance(20) {
        let vols: Vec<Value> = rng
            .subset(&["v1", "v2", "v3"], 2)
            .into_iter()
            .map(|n| {
                let mut v = json!({"name": n});
                match rng.below(3) {
                    0 => v["emptyDir"] = json!({}),
                    1 => v["configMap"] = json!({"name": "cm9"}),
                    _ => v["secret"] = Value::Null,
                }
                if rng.chance(60) {
                    let keys = names(rng, &["name", "emptyDir", "configMap", "secret"], 3);
                    v["$retainKeys"] = Value::Array(keys);
                }
                v
            })
            .collect();
        s.insert("volumes".into(), Value::Array(vols));
    }
    if rng.chance(15) {
        s.insert(
            "tolerations".into(),
            json!([{"key": rng.pick(&["k1", "k9"])}]),
        );
    }
    if rng.chance(15) {
        let mut sel = string_map(rng, &["disk", "zone"], &["hdd", "b"]);
        if rng.chance(40) {
            sel["zone"] = Value::Null;
        }
        s.insert("nodeSelector".into(), sel);
    }
    if rng.chance(15) {
        let mut sc = json!({"runAsUser": rng.below(3)});
        if rng.chance(50) {
            sc["$patch"] = directive(rng);
        }
        s.insert("securityContext".into(), sc);
    }
    if rng.chance(10) {
        s.insert("hostname".into(), json!({"odd": [1, 2]}));
    }
    if rng.chance(10) {
        s.insert(
            "x-extra".into(),
            json!({"list": [rng.below(3)], "m": {"k": rng.below(3)}}),
        );
    }
    if rng.chance(5) {
        s.insert("containers".into(), json!([[1]]));
    }
    Value::Object(s)
}

fn meta_patch(rng: &mut Rng) -> Value {
    let mut m = Map::new();
    if rng.chance(50) {
        let mut labels = string_map(rng, &["app", "tier", "new"], &["z", "a"]);
        if rng.chance(40) {
            labels["tier"] = Value::Null;
        }
        if rng.chance(5) {
            labels["$patch"] = directive(rng);
        }
        m.insert("labels".into(), labels);
    }
    if rng.chance(35) {
        m.insert(
            "finalizers".into(),
            Value::Array(names(rng, &["f1", "f2", "f5"], 2)),
        );
    }
    if rng.chance(25) {
        m.insert(
            "$deleteFromPrimitiveList/finalizers".into(),
            Value::Array(names(rng, &["f1", "f2", "f3"], 2)),
        );
    }
    if rng.chance(25) {
        m.insert(
            "$setElementOrder/finalizers".into(),
            Value::Array(names(rng, &["f1", "f2", "f3", "f4", "f5"], 5)),
        );
    }
    if rng.chance(15) {
        m.insert(
            "ownerReferences".into(),
            json!([{"uid": rng.pick(&["u1", "u2", "u9"]), "controller": true}]),
        );
    }
    Value::Object(m)
}

fn random_patch(rng: &mut Rng) -> Value {
    let mut p = Map::new();
    if rng.chance(60) {
        p.insert("metadata".into(), meta_patch(rng));
    }
    if rng.chance(75) {
        p.insert("spec".into(), spec_patch(rng));
    }
    if rng.chance(2) {
        p.insert("$patch".into(), json!("replace"));
    }
    Value::Object(p)
}

/// A certificate signing request (or a patch to one): `extra` is a map of
/// lists, below which upstream cannot look fields up.
fn csr(rng: &mut Rng) -> Value {
    let mut extra = Map::new();
    for k in rng.subset(&["k1", "k2", "k3"], 3) {
        let v = match rng.below(4) {
            0 => Value::Null,
            1 => json!({"m": rng.below(2)}),
            _ => Value::Array(names(rng, &["a", "b"], 2)),
        };
        extra.insert(k.into(), v);
    }
    let usages = names(rng, &["digital signature", "client auth"], 2);
    let mut spec = json!({"extra": extra, "usages": usages});
    if rng.chance(20) {
        spec["$retainKeys"] = json!(["extra", 1]);
    }
    if rng.chance(10) {
        spec["$deleteFromPrimitiveList/"] = json!(["x"]);
    }
    json!({"metadata": {"name": "c"}, "spec": spec})
}

fn deployment(rng: &mut Rng) -> Value {
    let template = pod(rng);
    let strategy = if rng.chance(50) {
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    } else {
        json!({"type": "Recreate"})
    };
    json!({"metadata": {"name": "d"}, "spec": {"replicas": 1, "strategy": strategy,
                                               "template": template}})
}

fn deployment_patch(rng: &mut Rng) -> Value {
    let mut spec = Map::new();
    if rng.chance(60) {
        let mut strategy = json!({"type": rng.pick(&["Recreate", "RollingUpdate"])});
        if rng.chance(40) {
            strategy["rollingUpdate"] = json!({"maxSurge": 2});
        }
        if rng.chance(70) {
            strategy["$retainKeys"] = Value::Array(names(rng, &["type", "rollingUpdate"], 2));
        }
        spec.insert("strategy".into(), strategy);
    }
    if rng.chance(70) {
        let mut template = Map::new();
        template.insert("spec".into(), spec_patch(rng));
        spec.insert("template".into(), Value::Object(template));
    }
    json!({"spec": spec})
}

#[test]
#[ignore = "writes inputs for recording upstream outcomes"]
fn write_upstream_cases() {
    let Ok(dir) = std::env::var("RKUBE_SMP_CASES") else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("schema.json"), schema_dump().to_string()).unwrap();
    let count: u64 = std::env::var("RKUBE_SMP_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(600);
    let offset: u64 = std::env::var("RKUBE_SMP_SEED")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1_000_000);
    let mut lines = String::new();
    for seed in 0..count {
        let mut rng = Rng::new(seed + offset);
        let (op, root, a, b) = match seed % 6 {
            0 | 1 => ("apply", POD, pod(&mut rng), random_patch(&mut rng)),
            2 => {
                let a = deployment(&mut rng);
                ("apply", DEPLOYMENT, a, deployment_patch(&mut rng))
            }
            3 => ("apply", CSR, csr(&mut rng), csr(&mut rng)),
            4 => {
                let a = deployment(&mut rng);
                let b = deployment(&mut rng);
                ("diff", DEPLOYMENT, a, b)
            }
            _ => {
                let a = pod(&mut rng);
                let b = pod(&mut rng);
                ("diff", POD, a, b)
            }
        };
        let case = json!({"op": op, "root": root, "a": a, "b": b});
        lines.push_str(&case.to_string());
        lines.push('\n');
    }
    std::fs::write(dir.join("cases.jsonl"), lines).unwrap();
}
