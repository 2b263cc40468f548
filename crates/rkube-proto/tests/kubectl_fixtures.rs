//! Request bodies captured from the real kubectl 1.32 (`tests/fixtures/
//! kubectl-*.pb`, see the crate docs for how they were captured) decode to
//! the JSON the same kubectl command prints with `--dry-run=client -o json`
//! (`kubectl-*.json`). `create token`, `auth can-i` and `auth whoami` have no
//! dry-run; their `.json` is written by hand from the Go types.
//!
//! One normalisation: properties whose value is `null` are dropped from both
//! sides. kubectl 1.32 writes `"creationTimestamp": null` (its Go types had
//! no `omitzero`; v1.37's omit a zero creationTimestamp, and so does the
//! decoder) and `null` for unset non-omitempty pointers (which a protobuf
//! body cannot distinguish from absent). Every Kubernetes decoder reads
//! `null` and absent alike. Property order is compared exactly.

use std::path::PathBuf;

use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[test]
fn kubectl_bodies_decode_to_kubectl_json() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".pb").map(str::to_string))
        .filter(|n| n.starts_with("kubectl-"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "fixtures missing: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let body = std::fs::read(fixtures().join(format!("{name}.pb"))).unwrap();
        assert!(body.starts_with(b"k8s\0"), "{name} is not a protobuf body");
        let want = std::fs::read(fixtures().join(format!("{name}.json"))).expect("expected JSON");
        let mut want: Value = serde_json::from_slice(&want).unwrap();
        let mut got = rkube_proto::decode_request(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        // And back: the re-encoded body decodes to the same object.
        let again = rkube_proto::encode(&got).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            rkube_proto::decode_request(&again).unwrap(),
            got,
            "{name} round trip"
        );
        drop_nulls(&mut want);
        drop_nulls(&mut got);
        let (w, g) = (
            serde_json::to_string_pretty(&want).unwrap(),
            serde_json::to_string_pretty(&got).unwrap(),
        );
        if w != g {
            failures.push(format!("{name}:\nwant {w}\ngot  {g}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn kubectl_create_namespace_exactly() {
    let body = std::fs::read(fixtures().join("kubectl-namespace.pb")).unwrap();
    let got = rkube_proto::decode_request(&body).unwrap();
    // Empty non-pointer strings (namespace, uid, ...) and the zero
    // creationTimestamp are on the wire but not in the JSON; the empty
    // structs spec and status are.
    assert_eq!(
        serde_json::to_string(&got).unwrap(),
        r#"{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x"},"spec":{},"status":{}}"#
    );
}

#[test]
fn kubectl_zero_replicas_survive() {
    let body = std::fs::read(fixtures().join("kubectl-deployment-zero.pb")).unwrap();
    let got = rkube_proto::decode_request(&body).unwrap();
    // replicas is a pointer in Go: an explicit 0 is kept.
    assert_eq!(got["spec"]["replicas"], 0);
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["command"],
        serde_json::json!(["sleep", "3600"])
    );
}
