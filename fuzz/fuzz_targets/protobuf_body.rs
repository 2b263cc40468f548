//! Protobuf request bodies: `rkube_proto::decode_request` never panics, and
//! whatever decodes encodes and decodes again to the same JSON (`null` and
//! absent being the same).
//!
//! Input forms, so that mutations reach the schema-driven part as well as
//! the envelope:
//! * starts with `k8s\0`: the body as the client sent it;
//! * first byte < 0x80: `KINDS[byte]` wrapped around the rest as `raw`
//!   (the envelope is rebuilt, so lengths stay right);
//! * first byte 0x80..0xC0: the next two bytes pick any message of the
//!   schema and the rest is its bare protobuf, for `decode_message` (no
//!   round trip);
//! * first byte >= 0xC0: the rest after one more byte is a JSON object (as
//!   a client's JSON body), given `KINDS[that byte]` when it names no
//!   apiVersion/kind, for `encode`: what encodes must decode, and that
//!   decoded object must round-trip as above.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Kinds the wrapped form can name (index = first byte modulo the length).
const KINDS: &[(&str, &str)] = &[
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("v1", "ResourceQuota"),
    ("v1", "Node"),
    ("v1", "PersistentVolume"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Endpoints"),
    ("v1", "Event"),
    ("v1", "LimitRange"),
    ("v1", "ReplicationController"),
    ("v1", "Binding"),
    ("v1", "PodTemplate"),
    ("v1", "DeleteOptions"),
    ("v1", "Status"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "ControllerRevision"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("autoscaling/v1", "Scale"),
    ("autoscaling/v1", "HorizontalPodAutoscaler"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "IngressClass"),
    ("policy/v1", "PodDisruptionBudget"),
    ("policy/v1", "Eviction"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("authentication.k8s.io/v1", "TokenRequest"),
    ("authentication.k8s.io/v1", "TokenReview"),
    ("authentication.k8s.io/v1", "SelfSubjectReview"),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
    ("authorization.k8s.io/v1", "SubjectAccessReview"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
    ),
    ("coordination.k8s.io/v1", "Lease"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("storage.k8s.io/v1", "CSIDriver"),
    ("storage.k8s.io/v1", "VolumeAttachment"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    ("events.k8s.io/v1", "Event"),
    ("certificates.k8s.io/v1", "CertificateSigningRequest"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("resource.k8s.io/v1", "ResourceClaim"),
    ("resource.k8s.io/v1", "DeviceClass"),
    ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"),
    ("node.k8s.io/v1", "RuntimeClass"),
    ("metrics.k8s.io/v1beta1", "PodMetrics"),
];

fn message_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let schema = rkube_proto::schema::Schema::builtin();
        for (gv, kind) in KINDS {
            assert!(
                schema.lookup_kind(gv, kind).is_some(),
                "{gv} {kind} not in schema"
            );
        }
        let mut names: Vec<String> = schema.messages().map(|(_, m)| m.name.clone()).collect();
        names.sort();
        names
    })
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_bytes(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    put_varint(out, u64::from(tag << 3 | 2));
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `k8s\0` + runtime.Unknown{typeMeta{apiVersion, kind}, raw}.
fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    put_bytes(&mut type_meta, 1, api_version.as_bytes());
    put_bytes(&mut type_meta, 2, kind.as_bytes());
    let mut out = b"k8s\0".to_vec();
    put_bytes(&mut out, 1, &type_meta);
    put_bytes(&mut out, 2, raw);
    out
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

fn round_trip(body: &[u8]) {
    let mut v = match rkube_proto::decode_request(body) {
        Ok(v) => v,
        Err(e) => {
            // The message goes into a Status: formatting must not panic.
            let _ = e.to_string();
            return;
        }
    };
    let again = rkube_proto::encode(&v)
        .unwrap_or_else(|e| panic!("decoded JSON does not encode: {e}\n{v}"));
    let mut back = rkube_proto::decode_request(&again)
        .unwrap_or_else(|e| panic!("encoded body does not decode: {e}\n{v}"));
    drop_nulls(&mut v);
    drop_nulls(&mut back);
    assert_eq!(back, v, "round trip changed the object");
}

fn encode_json((gv, kind): (&str, &str), json: &[u8]) {
    let Ok(mut v) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    let Some(map) = v.as_object_mut() else { return };
    map.entry("apiVersion").or_insert_with(|| gv.into());
    map.entry("kind").or_insert_with(|| kind.into());
    match rkube_proto::encode(&v) {
        Ok(body) => {
            if let Err(e) = rkube_proto::decode_request(&body) {
                panic!("encoded JSON does not decode: {e}\n{v}");
            }
            round_trip(&body);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let names = message_names();
    if data.starts_with(&rkube_proto::MAGIC) {
        round_trip(data);
    } else if let Some((&b, rest)) = data.split_first() {
        if b < 0x80 {
            let (gv, kind) = KINDS[usize::from(b) % KINDS.len()];
            round_trip(&envelope(gv, kind, rest));
        } else if b < 0xc0 {
            if rest.len() >= 2 {
                let i = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % names.len();
                if let Err(e) = rkube_proto::decode_message(&names[i], &rest[2..]) {
                    let _ = e.to_string();
                }
            }
        } else if let Some((&k, json)) = rest.split_first() {
            encode_json(KINDS[usize::from(k) % KINDS.len()], json);
        }
    }
});
