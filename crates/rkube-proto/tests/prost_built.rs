//! Bodies encoded with prost from k8s-pb's structs decode to the JSON
//! Kubernetes writes for the same objects.

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{RawExtension, TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::{Value, json};

fn body(api_version: &str, kind: &str, msg: &impl Message) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(msg.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = b"k8s\0".to_vec();
    out.extend(unknown.encode_to_vec());
    out
}

fn decode(b: &[u8]) -> Value {
    rkube_proto::decode_request(b).unwrap()
}

fn meta(name: &str) -> Option<meta::ObjectMeta> {
    Some(meta::ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    })
}

fn s(v: &str) -> Option<String> {
    Some(v.into())
}

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Quantity { string: s(v) }))
        .collect()
}

/// Also checks that encoding the JSON back decodes to the same JSON.
fn assert_decodes(b: &[u8], want: Value) {
    let got = decode(b);
    assert_eq!(
        serde_json::to_string_pretty(&got).unwrap(),
        serde_json::to_string_pretty(&want).unwrap()
    );
    let again = rkube_proto::encode(&got).unwrap();
    assert_eq!(decode(&again), got);
}

#[test]
fn namespace() {
    let ns = core::Namespace {
        metadata: meta("x"),
        ..Default::default()
    };
    assert_decodes(
        &body("v1", "Namespace", &ns),
        json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "x"}}),
    );
}

#[test]
fn deployment_with_quantities_and_int_or_string() {
    let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
    let container = core::Container {
        name: s("web"),
        image: s("nginx:1"),
        ports: vec![core::ContainerPort {
            container_port: Some(80),
            protocol: s("TCP"),
            ..Default::default()
        }],
        resources: Some(core::ResourceRequirements {
            limits: quantities(&[("cpu", "500m"), ("memory", "128Mi")]),
            requests: quantities(&[("cpu", "100m")]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let d = apps::Deployment {
        metadata: Some(meta::ObjectMeta {
            name: s("web"),
            namespace: s("default"),
            labels: labels.clone(),
            ..Default::default()
        }),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(3),
            selector: Some(meta::LabelSelector {
                match_labels: labels.clone(),
                ..Default::default()
            }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(meta::ObjectMeta {
                    labels,
                    ..Default::default()
                }),
                spec: Some(core::PodSpec {
                    containers: vec![container],
                    ..Default::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy {
                r#type: s("RollingUpdate"),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString {
                        r#type: Some(0),
                        int_val: Some(0),
                        str_val: s(""),
                    }),
                    max_surge: Some(IntOrString {
                        r#type: Some(1),
                        int_val: Some(0),
                        str_val: s("25%"),
                    }),
                }),
            }),
            revision_history_limit: Some(0),
            ..Default::default()
        }),
        status: None,
    };
    assert_decodes(
        &body("apps/v1", "Deployment", &d),
        json!({
            "kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{
                        "name": "web", "image": "nginx:1",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}}
                    }]}
                },
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
                "revisionHistoryLimit": 0
            }
        }),
    );
}

#[test]
fn secret_bytes_and_configmap() {
    let secret = core::Secret {
        metadata: meta("s"),
        data: [
            ("a".to_string(), b"b".to_vec()),
            ("bin".to_string(), vec![0, 0xff]),
        ]
        .into(),
        r#type: s("Opaque"),
        ..Default::default()
    };
    assert_decodes(
        &body("v1", "Secret", &secret),
        json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"},
               "data": {"a": "Yg==", "bin": "AP8="}, "type": "Opaque"}),
    );
    let cm = core::ConfigMap {
        metadata: meta("c"),
        data: [
            ("k".to_string(), "v".to_string()),
            ("empty".to_string(), String::new()),
        ]
        .into(),
        binary_data: [("raw".to_string(), vec![1, 2, 3])].into(),
        immutable: Some(false),
    };
    assert_decodes(
        &body("v1", "ConfigMap", &cm),
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c"}, "immutable": false,
               "data": {"empty": "", "k": "v"}, "binaryData": {"raw": "AQID"}}),
    );
}

#[test]
fn pod_times_and_inline_volume_source() {
    let pod = core::Pod {
        metadata: Some(meta::ObjectMeta {
            name: s("p"),
            creation_timestamp: Some(meta::Time {
                seconds: Some(1_700_000_000),
                nanos: Some(5),
            }),
            deletion_timestamp: Some(meta::Time::default()),
            managed_fields: vec![meta::ManagedFieldsEntry {
                manager: s("kubectl"),
                time: Some(meta::Time {
                    seconds: Some(0),
                    nanos: None,
                }),
                fields_v1: Some(meta::FieldsV1 {
                    raw: Some(br#"{"f:metadata":{}}"#.to_vec()),
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        spec: Some(core::PodSpec {
            volumes: vec![core::Volume {
                name: s("cfg"),
                volume_source: Some(core::VolumeSource {
                    config_map: Some(core::ConfigMapVolumeSource {
                        local_object_reference: Some(core::LocalObjectReference { name: s("c") }),
                        default_mode: Some(0o644),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }],
            host_ipc: Some(true),
            ..Default::default()
        }),
        status: Some(core::PodStatus {
            pod_ips: vec![core::PodIp { ip: s("10.0.0.1") }],
            start_time: Some(meta::Time {
                seconds: Some(-1),
                nanos: None,
            }),
            ..Default::default()
        }),
    };
    assert_decodes(
        &body("v1", "Pod", &pod),
        json!({
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {
                "name": "p",
                "creationTimestamp": "2023-11-14T22:13:20Z",
                "deletionTimestamp": null,
                "managedFields": [{"manager": "kubectl", "time": "1970-01-01T00:00:00Z", "fieldsV1": {"f:metadata": {}}}]
            },
            "spec": {
                "volumes": [{"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}}],
                "hostIPC": true
            },
            "status": {"podIPs": [{"ip": "10.0.0.1"}], "startTime": "1969-12-31T23:59:59Z"}
        }),
    );
}

#[test]
fn token_request_lease_and_revision() {
    let tr = k8s_pb::api::authentication::v1::TokenRequest {
        metadata: None,
        spec: Some(k8s_pb::api::authentication::v1::TokenRequestSpec {
            audiences: vec!["api".into()],
            expiration_seconds: Some(3600),
            bound_object_ref: None,
        }),
        status: None,
    };
    assert_decodes(
        &body("authentication.k8s.io/v1", "TokenRequest", &tr),
        json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
               "spec": {"audiences": ["api"], "expirationSeconds": 3600}}),
    );
    let lease = k8s_pb::api::coordination::v1::Lease {
        metadata: meta("l"),
        spec: Some(k8s_pb::api::coordination::v1::LeaseSpec {
            holder_identity: s("me"),
            renew_time: Some(meta::MicroTime {
                seconds: Some(1_700_000_000),
                nanos: Some(123_456_789),
            }),
            ..Default::default()
        }),
    };
    assert_decodes(
        &body("coordination.k8s.io/v1", "Lease", &lease),
        json!({"kind": "Lease", "apiVersion": "coordination.k8s.io/v1", "metadata": {"name": "l"},
               "spec": {"holderIdentity": "me", "renewTime": "2023-11-14T22:13:20.123456Z"}}),
    );
    let rev = apps::ControllerRevision {
        metadata: meta("r"),
        data: Some(RawExtension {
            raw: Some(br#"{"spec":{"x":[1,2.5,"y"]}}"#.to_vec()),
        }),
        revision: Some(2),
    };
    assert_decodes(
        &body("apps/v1", "ControllerRevision", &rev),
        json!({"kind": "ControllerRevision", "apiVersion": "apps/v1", "metadata": {"name": "r"},
               "data": {"spec": {"x": [1, 2.5, "y"]}}, "revision": 2}),
    );
    // An embedded protobuf object is decoded too.
    let nested = apps::ControllerRevision {
        metadata: meta("n"),
        data: Some(RawExtension {
            raw: Some(body("v1", "Namespace", &core::Namespace::default())),
        }),
        revision: None,
    };
    let got = decode(&body("apps/v1", "ControllerRevision", &nested));
    assert_eq!(
        got["data"],
        json!({"kind": "Namespace", "apiVersion": "v1"})
    );
}

#[test]
fn crd_schema_unions_and_extra_values() {
    use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
    let string_schema = ext::JsonSchemaProps {
        r#type: s("string"),
        ..Default::default()
    };
    let props = ext::JsonSchemaProps {
        r#type: s("object"),
        r#ref: s("#/x"),
        maximum: Some(10.0),
        minimum: Some(0.5),
        default: Some(ext::Json {
            raw: Some(b"{\"a\":1}".to_vec()),
        }),
        r#enum: vec![ext::Json {
            raw: Some(b"\"x\"".to_vec()),
        }],
        items: Some(Box::new(ext::JsonSchemaPropsOrArray {
            schema: Some(Box::new(string_schema.clone())),
            j_son_schemas: vec![],
        })),
        additional_properties: Some(Box::new(ext::JsonSchemaPropsOrBool {
            allows: Some(false),
            schema: None,
        })),
        additional_items: Some(Box::new(ext::JsonSchemaPropsOrBool {
            allows: Some(true),
            schema: Some(Box::new(string_schema.clone())),
        })),
        dependencies: [(
            "a".to_string(),
            ext::JsonSchemaPropsOrStringArray {
                schema: None,
                property: vec!["b".into(), "c".into()],
            },
        )]
        .into(),
        x_kubernetes_preserve_unknown_fields: Some(true),
        ..Default::default()
    };
    let v = decode_message_json(
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        &props,
    );
    assert_eq!(
        v,
        json!({
            "$ref": "#/x", "type": "object", "default": {"a": 1}, "maximum": 10, "minimum": 0.5,
            "enum": ["x"], "items": {"type": "string"}, "additionalProperties": false,
            "additionalItems": {"type": "string"}, "dependencies": {"a": ["b", "c"]},
            "x-kubernetes-preserve-unknown-fields": true
        })
    );
    let sar = k8s_pb::api::authorization::v1::SubjectAccessReview {
        spec: Some(k8s_pb::api::authorization::v1::SubjectAccessReviewSpec {
            user: s("alice"),
            extra: [(
                "scopes".to_string(),
                k8s_pb::api::authorization::v1::ExtraValue {
                    items: vec!["a".into()],
                },
            )]
            .into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_decodes(
        &body("authorization.k8s.io/v1", "SubjectAccessReview", &sar),
        json!({"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
               "spec": {"user": "alice", "extra": {"scopes": ["a"]}}}),
    );
}

fn decode_message_json(name: &str, msg: &impl Message) -> Value {
    rkube_proto::decode_message(name, &msg.encode_to_vec()).unwrap()
}

#[test]
fn wire_details() {
    // Durations are only used outside the served types; decode one directly.
    let d = meta::Duration {
        duration: Some(5_400_000_000_000),
    };
    assert_eq!(
        decode_message_json("k8s.io.apimachinery.pkg.apis.meta.v1.Duration", &d),
        json!("1h30m0s")
    );
    // Negative int32 (10-byte varint), unknown fields, packed repeated ints,
    // and a singular message split in two chunks (merged).
    let mut raw = Vec::new();
    core::ContainerPort {
        container_port: Some(-1),
        ..Default::default()
    }
    .encode(&mut raw)
    .unwrap();
    raw.extend([0xf8, 0x7f, 0x01]); // field 1023, varint 1: unknown
    let port = rkube_proto::decode_message("k8s.io.api.core.v1.ContainerPort", &raw).unwrap();
    assert_eq!(port, json!({"containerPort": -1}));
    // ServiceSpec.ports (1) as two chunks of one Service spec (2), each
    // carrying part of the spec: clusterIP (3), then type (4).
    let first = core::ServiceSpec {
        cluster_ip: s("10.0.0.1"),
        ..Default::default()
    }
    .encode_to_vec();
    let second = core::ServiceSpec {
        r#type: s("ClusterIP"),
        ..Default::default()
    }
    .encode_to_vec();
    let mut svc = Vec::new();
    for chunk in [&first, &second] {
        svc.push(0x12);
        svc.push(chunk.len() as u8);
        svc.extend_from_slice(chunk);
    }
    let v = rkube_proto::decode_message("k8s.io.api.core.v1.Service", &svc).unwrap();
    assert_eq!(
        v,
        json!({"spec": {"clusterIP": "10.0.0.1", "type": "ClusterIP"}})
    );
    // Packed and unpacked repeated int32 (PodSecurityContext.supplementalGroups is int64, tag 4).
    let unpacked = core::PodSecurityContext {
        supplemental_groups: vec![1, 2],
        ..Default::default()
    }
    .encode_to_vec();
    let packed = [0x22, 0x02, 0x01, 0x02];
    for b in [&unpacked[..], &packed[..]] {
        let v = rkube_proto::decode_message("k8s.io.api.core.v1.PodSecurityContext", b).unwrap();
        assert_eq!(v, json!({"supplementalGroups": [1, 2]}));
    }
}

#[test]
fn errors_are_descriptive() {
    use rkube_proto::DecodeError;
    assert_eq!(
        rkube_proto::decode_request(b"{}"),
        Err(DecodeError::NotProtobuf)
    );
    let err =
        rkube_proto::decode_request(&body("v1", "Nope", &core::Namespace::default())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no kind \"Nope\" is registered for version \"v1\""
    );
    let mut b = body(
        "v1",
        "Namespace",
        &core::Namespace {
            metadata: meta("x"),
            ..Default::default()
        },
    );
    b.truncate(b.len() - 3);
    assert!(rkube_proto::decode_request(&b).is_err());
    // A string where a message belongs, deep inside: the path is reported.
    let pod = core::Pod {
        spec: Some(core::PodSpec {
            containers: vec![core::Container {
                name: s("a"),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut raw = pod.encode_to_vec();
    // Append to the pod a spec (2) whose containers (2) element has ports (6) as a varint.
    raw.extend([0x12, 0x04, 0x12, 0x02, 0x30, 0x01]);
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: s("v1"),
            kind: s("Pod"),
        }),
        raw: Some(raw),
        ..Default::default()
    };
    let mut b = b"k8s\0".to_vec();
    b.extend(unknown.encode_to_vec());
    let err = rkube_proto::decode_request(&b).unwrap_err();
    assert!(
        err.to_string().contains("spec.containers[1].ports"),
        "{err}"
    );
}
