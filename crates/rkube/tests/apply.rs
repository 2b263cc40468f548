//! The real kubectl against `rkube apiserver`: client-side and server-side
//! apply, conflicts between managers, dry runs, edit, label, annotate,
//! diff, field validation, and the managedFields kubectl shows.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{TestServer, kubectl_path};
use serde_json::{Value, json};

fn server() -> TestServer {
    TestServer::start_apiserver(tempfile::tempdir().expect("tempdir"), &[])
}

/// Writes a manifest into the server's directory and returns its path.
fn manifest(s: &TestServer, name: &str, text: &str) -> PathBuf {
    let p = s.data_dir().join(name);
    std::fs::write(&p, text).expect("write manifest");
    p
}

fn deployment(replicas: u32, image: &str, extra_label: Option<&str>) -> String {
    let extra = extra_label
        .map(|l| format!("\n    {l}"))
        .unwrap_or_default();
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web{extra}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: {image}
        ports:
        - containerPort: 80
"
    )
}

fn get_json(s: &TestServer, k: &Path, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json", "--show-managed-fields"]);
    serde_json::from_str(&s.ok(k, &args)).expect("json")
}

/// The managedFields entry of one manager and operation.
fn entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
}

fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}/{}",
                e["manager"].as_str().unwrap_or(""),
                e["operation"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// kubectl with extra environment (KUBE_EDITOR).
fn kubectl_env(s: &TestServer, k: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(k);
    cmd.arg("--kubeconfig").arg(&s.kubeconfig).args(args);
    cmd.env("HOME", s.data_dir());
    for (key, v) in env {
        cmd.env(key, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.output().expect("run kubectl")
}

#[test]
fn client_side_apply_creates_changes_and_removes_fields() {
    let Some(k) = kubectl_path() else { return };
    let s = server();
    let f = manifest(
        &s,
        "d.yaml",
        &deployment(2, "nginx:1.25", Some("tier: front")),
    );
    let f = f.to_str().unwrap();
    assert_eq!(
        s.ok(&k, &["apply", "-f", f]).trim(),
        "deployment.apps/web created"
    );
    let d = get_json(&s, &k, &["deployment", "web"]);
    assert_eq!(d["metadata"]["labels"]["tier"], "front");
    let last = d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .expect("last-applied annotation");
    assert!(last.contains("\"tier\":\"front\""), "{last}");
    assert_eq!(managers(&d), ["kubectl-client-side-apply/Update"]);

    // Unchanged: nothing to do.
    assert_eq!(
        s.ok(&k, &["apply", "-f", f]).trim(),
        "deployment.apps/web unchanged"
    );

    // Change a value and drop a label from the file.
    manifest(&s, "d.yaml", &deployment(3, "nginx:1.26", None));
    assert_eq!(
        s.ok(&k, &["apply", "-f", f]).trim(),
        "deployment.apps/web configured"
    );
    let d = get_json(&s, &k, &["deployment", "web"]);
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.26"
    );
    assert_eq!(
        d["metadata"]["labels"],
        json!({"app": "web"}),
        "tier removed"
    );
    let csa = entry(&d, "kubectl-client-side-apply", "Update").expect("csa entry");
    assert!(
        csa["fieldsV1"]["f:metadata"]["f:labels"]
            .get("f:tier")
            .is_none()
    );
}

#[test]
fn server_side_apply_conflicts_and_force() {
    let Some(k) = kubectl_path() else { return };
    let s = server();
    let f = manifest(&s, "d.yaml", &deployment(2, "nginx:1.25", None));
    let f = f.to_str().unwrap();
    assert_eq!(
        s.ok(&k, &["apply", "--server-side", "-f", f]).trim(),
        "deployment.apps/web serverside-applied"
    );
    let d = get_json(&s, &k, &["deployment", "web"]);
    assert_eq!(managers(&d), ["kubectl/Apply"]);
    let mine = &entry(&d, "kubectl", "Apply").unwrap()["fieldsV1"];
    assert_eq!(
        mine,
        &json!({"f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                    ".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                        ".": {}, "f:containerPort": {}}}}}}}}})
    );
    // Defaults are there but not the applier's.
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );

    // Another manager with a different value: a conflict.
    let other = manifest(&s, "o.yaml", &deployment(5, "nginx:1.25", None));
    let other = other.to_str().unwrap();
    let out = s.kubectl(
        &k,
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "-f",
            other,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out)
            .contains("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("--force-conflicts"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        get_json(&s, &k, &["deployment", "web"])["spec"]["replicas"],
        2
    );

    // Forced: the field changes hands.
    s.ok(
        &k,
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            other,
        ],
    );
    let d = get_json(&s, &k, &["deployment", "web"]);
    assert_eq!(d["spec"]["replicas"], 5);
    assert!(
        entry(&d, "kubectl", "Apply").unwrap()["fieldsV1"]["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    assert!(
        entry(&d, "other", "Apply").unwrap()["fieldsV1"]["f:spec"]
            .get("f:replicas")
            .is_some()
    );

    // The first manager drops replicas from its file: the value stays,
    // since "other" owns it now.
    let without = deployment(2, "nginx:1.25", None).replace("  replicas: 2\n", "");
    manifest(&s, "d.yaml", &without);
    s.ok(&k, &["apply", "--server-side", "-f", f]);
    assert_eq!(
        get_json(&s, &k, &["deployment", "web"])["spec"]["replicas"],
        5
    );
}

#[test]
fn server_side_apply_removes_fields_dropped_from_the_file() {
    let Some(k) = kubectl_path() else { return };
    let s = server();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  labels:\n    a: \"1\"\ndata:\n  x: \"1\"\n  y: \"2\"\n";
    let f = manifest(&s, "cm.yaml", cm);
    let f = f.to_str().unwrap();
    s.ok(&k, &["apply", "--server-side", "-f", f]);
    manifest(
        &s,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  x: \"1\"\n",
    );
    s.ok(&k, &["apply", "--server-side", "-f", f]);
    let c = get_json(&s, &k, &["configmap", "cfg"]);
    assert_eq!(c["data"], json!({"x": "1"}));
    assert!(c["metadata"].get("labels").is_none(), "{c}");
}

#[test]
fn client_side_to_server_side_migration() {
    let Some(k) = kubectl_path() else { return };
    let s = server();
    let f = manifest(&s, "d.yaml", &deployment(2, "nginx:1.25", None));
    let f = f.to_str().unwrap();
    s.ok(&k, &["apply", "-f", f]);
    // The same file with a new value, now server-side: no conflict with
    // kubectl-client-side-apply, as upstream upgrades it.
    manifest(&s, "d.yaml", &deployment(4, "nginx:1.25", None));
    let out = s.ok(&k, &["apply", "--server-side", "-f", f]);
    assert_eq!(out.trim(), "deployment.apps/web serverside-applied");
    let d = get_json(&s, &k, &["deployment", "web"]);
    assert_eq!(d["spec"]["replicas"], 4);
    let last: Value = serde_json::from_str(
        d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["spec"]["replicas"], 4, "annotation follows the apply");
    // kubectl 1.32 then moves the client-side manager's fields to its
    // server-side one (a JSON patch of managedFields) and gives the
    // annotation to "kubectl-last-applied".
    // Entries sort as upstream sorts them: by operation, then by time in
    // whole seconds, then by manager. kubectl gives "kubectl-last-applied"
    // the time of the client-side apply, so it comes first when that was in
    // an earlier second than the server-side one, and by name otherwise.
    let second = |manager: &str| {
        entry(&d, manager, "Apply").unwrap()["time"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let expected = if second("kubectl-last-applied") < second("kubectl") {
        ["kubectl-last-applied/Apply", "kubectl/Apply"]
    } else {
        ["kubectl/Apply", "kubectl-last-applied/Apply"]
    };
    assert_eq!(managers(&d), expected);
    assert!(
        entry(&d, "kubectl", "Apply").unwrap()["fieldsV1"]["f:spec"]
            .get("f:replicas")
            .is_some()
    );
    assert_eq!(
        entry(&d, "kubectl-last-applied", "Apply").unwrap()["fieldsV1"],
        json!({"f:metadata": {"f:annotations": {
            "f:kubectl.kubernetes.io/last-applied-configuration": {}}}})
    );
    // And back to client-side apply, which diffs against the annotation.
    manifest(&s, "d.yaml", &deployment(4, "nginx:1.26", None));
    s.ok(&k, &["apply", "-f", f]);
    let d = get_json(&s, &k, &["deployment", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.26"
    );
}

#[test]
fn dry_run_server_changes_nothing() {
    let Some(k) = kubectl_path() else { return };
    let s = server();
    let f = manifest(&s, "d.yaml", &deployment(2, "nginx:1.25", None));
    let f = f.to_str().unwrap();
    let out = s.ok(&k, &["apply", "--server-side", "--dry-run=server", "-f", f]);
    assert_eq!(
        out.trim(),
        "deployment.apps/web serverside-applied (server dry run)"
    );
    let missing = s.kubectl(&k, &["get", "deployment", "web"]);
    assert!(!missing.status.success());
    s.ok(&k, &["apply", "--server-side", "-f", f]);
    manifest(&s, "d.yaml", &deployment(7, "nginx:1.25", None));
    let out = s.ok(
        &k,
        &[
            "apply",
            "--server-side",
            "--dry-run=server",
            "-f",
            f,
            "-o",
            "json",
        ],
    );
    let dry: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(dry["spec"]["replicas"], 7);
    assert_eq!(
        get_json(&s, &k, &["deployment", "web"])["spec"]["replicas"],
        2
    );
    s.ok(&k, &["apply", "--dry-run=server", "-f", f]);
    assert_eq!(
        get_json(&s, &k, &["deployment", "web"])["spec"]["replicas"],
        2
    );
}

#[test]
fn managed_fields_after_create_label_annotate_and_edit() {
    let Some(k) = kubectl_path() else { return };
    let s = server();
    let f = manifest(&s, "d.yaml", &deployment(1, "nginx:1.25", None));
    s.ok(&k, &["create", "-f", f.to_str().unwrap()]);
    let d = get_json(&s, &k, &["deployment", "web"]);
    assert_eq!(managers(&d), ["kubectl-create/Update"]);
    // What kube-apiserver shows for the same create: defaulted fields
    // included, "." on maps and items that the write brought into being.
    assert_eq!(
        entry(&d, "kubectl-create", "Update").unwrap()["fieldsV1"],
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {},
                "f:selector": {},
                "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
                    "f:type": {}},
                "f:template": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
                        "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}, "f:protocol": {}}},
                        "f:resources": {}, "f:terminationMessagePath": {},
                        "f:terminationMessagePolicy": {}}},
                    "f:dnsPolicy": {}, "f:restartPolicy": {}, "f:schedulerName": {},
                    "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}}}}})
    );

    // label: refused without --overwrite, then owned by kubectl-label.
    let out = s.kubectl(&k, &["label", "deployment", "web", "app=other"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already has a value (web)"),
        "{}",
        stderr(&out)
    );
    s.ok(
        &k,
        &["label", "deployment", "web", "app=other", "--overwrite"],
    );
    s.ok(&k, &["annotate", "deployment", "web", "note=a"]);
    s.ok(
        &k,
        &["annotate", "deployment", "web", "note=b", "--overwrite"],
    );
    let d = get_json(&s, &k, &["deployment", "web"]);
    assert_eq!(d["metadata"]["labels"]["app"], "other");
    assert_eq!(d["metadata"]["annotations"]["note"], "b");
    assert_eq!(
        entry(&d, "kubectl-label", "Update").unwrap()["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:app": {}}}})
    );
    assert_eq!(
        entry(&d, "kubectl-annotate", "Update").unwrap()["fieldsV1"],
        json!({"f:metadata": {"f:annotations": {".": {}, "f:note": {}}}})
    );
    let create = &entry(&d, "kubectl-create", "Update").unwrap()["fieldsV1"];
    assert_eq!(
        create["f:metadata"]["f:labels"],
        json!({}),
        "the label moved; the map stays"
    );

    // edit with a scripted editor.
    let out = kubectl_env(
        &s,
        &k,
        &["edit", "deployment", "web"],
        &[("KUBE_EDITOR", "sed -i -e 's/replicas: 1/replicas: 6/'")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "deployment.apps/web edited");
    let d = get_json(&s, &k, &["deployment", "web"]);
    assert_eq!(d["spec"]["replicas"], 6);
    assert_eq!(
        entry(&d, "kubectl-edit", "Update").unwrap()["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert!(
        entry(&d, "kubectl-create", "Update").unwrap()["fieldsV1"]["f:spec"]
            .get("f:replicas")
            .is_none()
    );
}

#[test]
fn diff_shows_what_apply_would_change() {
    let Some(k) = kubectl_path() else { return };
    let s = server();
    let f = manifest(&s, "d.yaml", &deployment(2, "nginx:1.25", None));
    let f = f.to_str().unwrap();
    s.ok(&k, &["apply", "-f", f]);
    let same = s.kubectl(&k, &["diff", "-f", f]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}{}",
        stdout(&same),
        stderr(&same)
    );
    manifest(&s, "d.yaml", &deployment(3, "nginx:1.25", None));
    let changed = s.kubectl(&k, &["diff", "-f", f]);
    assert_eq!(changed.status.code(), Some(1), "{}", stderr(&changed));
    let text = stdout(&changed);
    assert!(
        text.contains("-  replicas: 2") && text.contains("+  replicas: 3"),
        "{text}"
    );
    let ssa = s.kubectl(&k, &["diff", "--server-side", "--force-conflicts", "-f", f]);
    assert_eq!(ssa.status.code(), Some(1), "{}", stderr(&ssa));
    assert!(stdout(&ssa).contains("+  replicas: 3"), "{}", stdout(&ssa));
    assert_eq!(
        get_json(&s, &k, &["deployment", "web"])["spec"]["replicas"],
        2
    );
}

#[test]
fn field_validation_strict_warn_and_ignore() {
    let Some(k) = kubectl_path() else { return };
    let s = server();
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  foo: 1\ndata:\n  a: \"1\"\nbogus: true\n";
    let f = manifest(&s, "bad.yaml", bad);
    let f = f.to_str().unwrap();

    // kubectl's default is --validate=strict: the server refuses.
    let out = s.kubectl(&k, &["create", "-f", f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"metadata.foo\", unknown field \"bogus\""
        ),
        "{}",
        stderr(&out)
    );
    assert!(!s.kubectl(&k, &["get", "configmap", "bad"]).status.success());

    // warn: created, one warning per field, the fields dropped.
    let out = s.kubectl(&k, &["create", "--validate=warn", "-f", f]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Warning: unknown field \"metadata.foo\""),
        "{err}"
    );
    assert!(err.contains("Warning: unknown field \"bogus\""), "{err}");
    let c = get_json(&s, &k, &["configmap", "bad"]);
    assert!(
        c.get("bogus").is_none() && c["metadata"].get("foo").is_none(),
        "{c}"
    );

    // false: no warning at all.
    s.ok(&k, &["delete", "configmap", "bad"]);
    let out = s.kubectl(&k, &["create", "--validate=false", "-f", f]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("unknown field"), "{}", stderr(&out));

    // Strict patches are refused too; duplicate keys are reported.
    let out = s.kubectl(&k, &["apply", "-f", f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("strict decoding error: unknown field \"metadata.foo\""),
        "{}",
        stderr(&out)
    );
    let out = s.kubectl(
        &k,
        &[
            "patch",
            "configmap",
            "bad",
            "--type=merge",
            "-p",
            r#"{"data":{"b":"2"},"data":{"c":"3"}}"#,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Warning: duplicate field \"data\""),
        "{}",
        stderr(&out)
    );

    // Server-side apply never takes a field the schema does not have.
    let out = s.kubectl(&k, &["apply", "--server-side", "--validate=false", "-f", f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "failed to create typed patch object (/v1, Kind=ConfigMap): .metadata.foo: field not declared in schema"
        ),
        "{}",
        stderr(&out)
    );

    // An unsupported directive is refused by the server.
    let (code, body) = s.curl(
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Loud",
        Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#),
        "application/json",
    );
    assert_eq!(code, 422, "{body}");
    assert!(
        body.contains(r#"fieldValidation: Unsupported value: \"Loud\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""#),
        "{body}"
    );
}

#[test]
fn apply_errors_over_http() {
    let Some(_) = kubectl_path() else { return };
    let s = server();
    let path = "/apis/apps/v1/namespaces/default/deployments/web";
    let body = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"w"}},"template":{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}"#;
    // No fieldManager.
    let (code, out) = s.curl("PATCH", path, Some(body), "application/apply-patch+yaml");
    assert_eq!(code, 422, "{out}");
    assert!(
        out.contains("fieldManager: Required value: is required for apply patch"),
        "{out}"
    );
    // Apply creates (201), then a second manager conflicts (409 with causes).
    let (code, out) = s.curl(
        "PATCH",
        &format!("{path}?fieldManager=a"),
        Some(body),
        "application/apply-patch+yaml",
    );
    assert_eq!(code, 201, "{out}");
    let other = body.replace("\"replicas\":1", "\"replicas\":2");
    let (code, out) = s.curl(
        "PATCH",
        &format!("{path}?fieldManager=b"),
        Some(&other),
        "application/apply-patch+yaml",
    );
    assert_eq!(code, 409, "{out}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(
        status["message"],
        "Apply failed with 1 conflict: conflict with \"a\": .spec.replicas"
    );
    assert_eq!(
        status["details"]["causes"],
        json!([{"type": "FieldManagerConflict", "message": "conflict with \"a\"", "field": ".spec.replicas"}])
    );
    // Wrong version, managedFields in the configuration, YAML body.
    let (code, out) = s.curl(
        "PATCH",
        &format!("{path}?fieldManager=a"),
        Some(&body.replace("apps/v1", "apps/v2")),
        "application/apply-patch+yaml",
    );
    assert_eq!(code, 400, "{out}");
    assert!(out.contains("Incorrect version specified in apply patch. Specified patch version: apps/v2, expected: apps/v1"), "{out}");
    let with_mf = body.replace(
        "\"name\":\"web\"",
        "\"name\":\"web\",\"managedFields\":[{\"manager\":\"x\"}]",
    );
    let (code, out) = s.curl(
        "PATCH",
        &format!("{path}?fieldManager=a"),
        Some(&with_mf),
        "application/apply-patch+yaml",
    );
    assert_eq!(code, 400, "{out}");
    assert!(out.contains("metadata.managedFields must be nil"), "{out}");
    // A YAML body from a new manager: merged, nothing else touched.
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  paused: true\n";
    let (code, out) = s.curl(
        "PATCH",
        &format!("{path}?fieldManager=c"),
        Some(yaml),
        "application/apply-patch+yaml",
    );
    assert_eq!(code, 200, "{out}");
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["spec"]["paused"], true);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["name"], "c",
        "{out}"
    );
    // The same from "a", which applied the template before: dropping it
    // removes it (nobody else owns it), and the result is invalid.
    let (code, out) = s.curl(
        "PATCH",
        &format!("{path}?fieldManager=a"),
        Some(yaml),
        "application/apply-patch+yaml",
    );
    assert_eq!(code, 422, "{out}");
    assert!(
        out.contains("spec.template.spec.containers: Required value"),
        "{out}"
    );
}
