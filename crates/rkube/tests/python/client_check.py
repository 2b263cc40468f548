"""Drives an rkube server with the official Kubernetes Python client.

Usage: client_check.py KUBECONFIG

Each step asserts what kube-apiserver would answer; the first failed
assertion ends the script with a traceback and a non-zero exit. Each step
that passes prints one line starting with "ok", which the Rust test counts.
"""

import sys
import threading

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


def main(kubeconfig):
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    apps = client.AppsV1Api()

    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names, names
    print("ok list namespaces")

    ns = "python-client"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    created = core.create_namespaced_config_map(
        ns,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="settings", labels={"app": "demo"}),
            data={"mode": "fast"},
        ),
    )
    assert created.metadata.uid and created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None
    print("ok create configmap")

    # A strategic merge patch (the client's default for dict bodies).
    patched = core.patch_namespaced_config_map(
        "settings", ns, {"data": {"size": "large"}}
    )
    assert patched.data == {"mode": "fast", "size": "large"}, patched.data
    print("ok patch configmap")

    # Replacing with the old resourceVersion is a 409 Conflict.
    stale = created
    stale.data = {"mode": "slow"}
    try:
        core.replace_namespaced_config_map("settings", ns, stale)
        raise AssertionError("a stale replace succeeded")
    except ApiException as e:
        assert e.status == 409, e.status
        assert '"reason":"Conflict"' in e.body.replace(" ", ""), e.body
    print("ok stale replace is a conflict")

    try:
        core.read_namespaced_config_map("missing", ns)
        raise AssertionError("reading a missing object succeeded")
    except ApiException as e:
        assert e.status == 404, e.status
        assert '"reason":"NotFound"' in e.body.replace(" ", ""), e.body
    print("ok missing is not found")

    # Pagination: every object exactly once across pages.
    for i in range(25):
        core.create_namespaced_config_map(
            ns,
            client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name=f"page-{i:02}", labels={"page": "yes"})
            ),
        )
    seen, token = [], None
    while True:
        page = core.list_namespaced_config_map(
            ns, label_selector="page=yes", limit=10, _continue=token
        )
        seen += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert seen == [f"page-{i:02}" for i in range(25)], seen
    print("ok pagination")

    # A watch with a label selector sees ADDED, MODIFIED and DELETED.
    start = core.list_namespaced_config_map(ns).metadata.resource_version
    events = []
    w = watch.Watch()

    def follow():
        for ev in w.stream(
            core.list_namespaced_config_map,
            ns,
            label_selector="app=watched",
            resource_version=start,
            timeout_seconds=20,
        ):
            events.append((ev["type"], ev["object"].metadata.name))
            if ev["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=follow)
    t.start()
    core.create_namespaced_config_map(
        ns,
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="watched", labels={"app": "watched"})
        ),
    )
    core.create_namespaced_config_map(
        ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="unwatched"))
    )
    core.patch_namespaced_config_map("watched", ns, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("watched", ns)
    t.join(30)
    assert events == [
        ("ADDED", "watched"),
        ("MODIFIED", "watched"),
        ("DELETED", "watched"),
    ], events
    print("ok watch with a label selector")

    # A Deployment comes back with the defaults kube-apiserver sets.
    dep = apps.create_namespaced_deployment(
        ns,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1DeploymentSpec(
                selector=client.V1LabelSelector(match_labels={"app": "web"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"app": "web"}),
                    spec=client.V1PodSpec(
                        containers=[client.V1Container(name="web", image="nginx:1.27")]
                    ),
                ),
            ),
        ),
    )
    assert dep.spec.replicas == 1
    assert dep.spec.revision_history_limit == 10
    assert dep.spec.progress_deadline_seconds == 600
    assert dep.spec.strategy.type == "RollingUpdate"
    assert dep.spec.strategy.rolling_update.max_surge == "25%"
    pod_spec = dep.spec.template.spec
    assert pod_spec.restart_policy == "Always"
    assert pod_spec.dns_policy == "ClusterFirst"
    assert pod_spec.containers[0].image_pull_policy == "IfNotPresent"
    print("ok deployment defaults")

    # The scale subresource.
    scale = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    assert scale.spec.replicas == 3, scale
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 3
    print("ok scale subresource")

    # Server-side dry run stores nothing.
    core.create_namespaced_config_map(
        ns,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dry")),
        dry_run="All",
    )
    try:
        core.read_namespaced_config_map("dry", ns)
        raise AssertionError("a dry-run create was stored")
    except ApiException as e:
        assert e.status == 404, e.status
    print("ok dry run")


if __name__ == "__main__":
    main(sys.argv[1])
