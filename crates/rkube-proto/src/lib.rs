//! Kubernetes protobuf bodies as JSON, for every built-in type.
//!
//! kubectl's generator commands (`create namespace`, `create deployment`,
//! `create secret`, `create token`, `auth can-i`, ...) and every typed
//! client-go client send `Content-Type: application/vnd.kubernetes.protobuf`
//! and do not retry with JSON on a 415. rkube handles objects as
//! `serde_json::Value`, so [`decode_request`] turns such a body into the
//! JSON the client would have sent had it used JSON; [`encode`] goes the
//! other way (for protobuf responses, later).
//!
//! # Design
//!
//! One transcoder walks the wire format with one table; no code per type.
//!
//! * **The table** (`schema/kubernetes.schema`, text, loaded once by
//!   [`schema::Schema::builtin`]) lists every message of the served version
//!   by its proto name, and per field: tag, JSON name, scalar / message /
//!   `map<K,V>` type, repetition, and three flags (`omitempty`, `omitzero`,
//!   `inline`). A text table rather than generated Rust: it diffs well when
//!   Kubernetes moves, serves both directions, and costs a few milliseconds to
//!   parse on first use.
//! * **Its sources.** The wire schema (messages, tags, types, repetition)
//!   comes from the k8s-pb crate's source, which prost generated from the
//!   upstream `.proto` files. k8s-pb's Rust names are lossy (`host_ipc`,
//!   `pod_cid_rs`, `AwsElasticBlockStoreVolumeSource`), and the protos cannot
//!   say what Go's JSON encoding does with a field, so the generator joins
//!   each field, by tag, with the Go API types (k8s.io/api, apimachinery,
//!   apiextensions-apiserver, kube-aggregator, metrics): the JSON name, the
//!   `omitempty`/`omitzero` options, whether the field is a pointer, which
//!   embedded structs are inlined (`Volume.volumeSource`), which types are
//!   named slices (`ExtraValue`, `Verbs`), the struct field order (Go's JSON
//!   order) and each package's group/version. Names are matched by their
//!   lowercase alphanumerics, and, when k8s-openapi's source is at hand,
//!   every JSON name is cross-checked against its property names.
//!   k8s-openapi alone would give the names but not the rest: without
//!   pointer and `omitempty` facts a decoder must either keep every empty
//!   string a Go client puts on the wire (`namespace: ""`, `uid: ""`, which
//!   defaulting then mistakes for set values) or drop meaningful zeros
//!   (`replicas: 0`, `runAsUser: 0`, `automountServiceAccountToken: false`).
//! * **Special types**, whose JSON is not an object of their fields, are
//!   recognised by proto name and handled once, in each direction:
//!   `Time` (RFC 3339 seconds; `null` when unset), `MicroTime` (six
//!   fractional digits), `Duration` (Go duration string, `1h0m0s`),
//!   `Quantity` (its string), `IntOrString` (number or string),
//!   `RawExtension` (embedded JSON, or an embedded `k8s\0` protobuf object
//!   decoded recursively), `FieldsV1` and apiextensions `JSON` (raw JSON),
//!   and the three `JSONSchemaPropsOr*` unions.
//!
//! # Proto -> JSON rules
//!
//! Go's protobuf marshallers write every non-pointer field, zero or not, and
//! pointer fields only when set; Go's JSON encoder then omits zero
//! non-pointer `omitempty` scalars. So a field absent on the wire is absent
//! in JSON; a present scalar is written unless its Go field is a non-pointer
//! `omitempty` one and the value is zero (`metadata.namespace: ""` goes, a
//! pointer's explicit `replicas: 0` stays); `omitzero` drops zero values of
//! any type (v1.37's `creationTimestamp`); present empty structs stay (`spec:
//! {}`, `status: {}`). Repeated fields are arrays, maps are objects with
//! sorted keys, bytes are base64, integral doubles print without a
//! fraction, invalid UTF-8 is replaced, unknown fields are skipped, repeated
//! scalars are read packed or not, a singular message seen twice is merged.
//! `kind` and `apiVersion` come from the envelope and are written first.
//! Decoding never panics; nesting is limited to [`MAX_DEPTH`].
//!
//! # Regenerating the table
//!
//! `cargo test -p rkube-proto` runs `rkube-proto-gen check`, which fails
//! when the table no longer matches what the locked k8s-pb declares. To
//! regenerate (after bumping k8s-pb or the served version), extract the Go
//! sources of the matching release and run the generator:
//!
//! ```text
//! for r in api apimachinery apiextensions-apiserver kube-aggregator metrics; do
//!   git clone --depth 1 https://github.com/kubernetes/$r /tmp/k8s/$r; done
//! cargo run -p rkube-proto --bin rkube-proto-gen -- generate \
//!   --go-src /tmp/k8s/api --go-src /tmp/k8s/apimachinery \
//!   --go-src /tmp/k8s/apiextensions-apiserver --go-src /tmp/k8s/kube-aggregator \
//!   --go-src /tmp/k8s/metrics --note "Go API types: kubernetes/api@<commit> ..."
//! ```
//!
//! Known gap: k8s-pb 0.9 trails v1.37. The header of the table lists the Go
//! fields it does not carry yet (alpha fields such as
//! `PodSpec.schedulingGroup`); they are skipped when decoding. Kinds it
//! lacks entirely (`MutatingAdmissionPolicy` v1, `ClusterTrustBundle` v1,
//! `PodCertificateRequest` v1, `DeviceTaintRule` v1, `PodGroup`,
//! `Workload`, `StorageVersionMigration` v1, `lifecycle.k8s.io`) are
//! refused with [`DecodeError::UnknownKind`]. Both go away with a k8s-pb
//! bump and a regeneration.
//!
//! # Test fixtures
//!
//! `tests/fixtures/kubectl-*.pb` are request bodies the real kubectl 1.32
//! sent; `kubectl-*.json` is what the same command prints with
//! `--dry-run=client -o json`. To capture again: run a throwaway HTTP server
//! on 127.0.0.1 that answers `GET /api`, `/apis` and `/api[s]/<gv>` with
//! minimal discovery documents listing the resources used, saves each POST
//! body and echoes it back with the request's Content-Type (status 201);
//! point a kubeconfig at it over plain `http://` with a dummy token; run
//! e.g. `kubectl create deployment nginx --image=nginx:1 --replicas=3
//! --port=80` (add `-v=9` to see the headers), then the same command with
//! `--dry-run=client -o json` (before any `--` argument). The fixtures cover
//! `create namespace|deployment|configmap|secret generic|secret
//! docker-registry|service clusterip|service nodeport|serviceaccount|job|
//! cronjob|role|rolebinding|clusterrole|quota|poddisruptionbudget|
//! priorityclass|ingress|token` and `auth can-i|whoami`. `kubectl run`
//! sends JSON, so it has no fixture. `cargo run -p rkube-proto --example
//! decode -- FILE.pb` prints a body's JSON.
//!
//! `RKUBE_PROTO_UPSTREAM_TESTDATA=<k8s.io/api>/testdata/HEAD` runs a further
//! test over upstream's round-trip data, one filled-in object of every
//! built-in kind as protobuf and as Go's JSON (see
//! `tests/upstream_testdata.rs`): each decodes to exactly Go's JSON,
//! property order included, once the fields k8s-pb lacks are pruned.

mod decode;
mod encode;
mod goformat;
pub mod schema;
mod wire;

use serde_json::Value;

pub use decode::MAX_DEPTH;

/// The media type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The 4 bytes that open every Kubernetes protobuf body.
pub const MAGIC: [u8; 4] = *b"k8s\0";

/// Why a protobuf body could not be decoded. The messages are meant for
/// the `message` of a `meta.k8s.io/v1` Status (400 Bad Request; a
/// [`DecodeError::UnknownKind`] is what kube-apiserver also reports as 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the body is not a Kubernetes protobuf object: it does not start with \"k8s\\x00\"")]
    NotProtobuf,
    #[error("{}", unknown_kind(api_version, kind))]
    UnknownKind { api_version: String, kind: String },
    #[error("unsupported protobuf content encoding {0:?}")]
    UnsupportedEncoding(String),
    #[error("invalid protobuf body{}: {reason}", if path.is_empty() { String::new() } else { format!(" at {path}") })]
    Malformed {
        /// JSON path of the field, e.g. `spec.template.spec.containers[0].ports`.
        path: String,
        reason: String,
    },
}

fn unknown_kind(api_version: &str, kind: &str) -> String {
    if kind.is_empty() {
        "Object 'Kind' is missing in the protobuf body".into()
    } else {
        format!("no kind {kind:?} is registered for version {api_version:?}")
    }
}

/// Why a JSON object could not be encoded as protobuf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("{}", unknown_kind(api_version, kind))]
    UnknownKind { api_version: String, kind: String },
    #[error("cannot encode as protobuf{}: {reason}", if path.is_empty() { String::new() } else { format!(" at {path}") })]
    Invalid { path: String, reason: String },
}

/// Whether a `Content-Type` header names the Kubernetes protobuf encoding
/// (parameters and case aside).
pub fn is_protobuf_content_type(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case(CONTENT_TYPE)
}

/// Decodes a protobuf request body (`k8s\0` + `runtime.Unknown`) into the
/// object's JSON, `kind` and `apiVersion` first.
pub fn decode_request(body: &[u8]) -> Result<Value, DecodeError> {
    let d = decode::Decoder {
        schema: schema::Schema::builtin(),
        depth: 0,
    };
    d.envelope(body).map_err(decode::Fail::into_error)
}

/// Decodes the bare protobuf of a message (no envelope) given its proto
/// name, e.g. `k8s.io.api.core.v1.PodSpec`.
pub fn decode_message(message: &str, bytes: &[u8]) -> Result<Value, DecodeError> {
    let schema = schema::Schema::builtin();
    let id = schema
        .lookup(message)
        .ok_or_else(|| DecodeError::Malformed {
            path: String::new(),
            reason: format!("unknown message {message}"),
        })?;
    let d = decode::Decoder { schema, depth: 0 };
    d.message(id, &[bytes]).map_err(decode::Fail::into_error)
}

/// Encodes an object (with `apiVersion` and `kind`) as a protobuf body:
/// `k8s\0` + `runtime.Unknown`. Properties the schema does not know are
/// dropped; `decode_request(&encode(v)?)` gives `v` back for objects in
/// the form decoding produces (`null` and absent alike). Unlike Go it does
/// not write zero non-pointer fields the JSON omits, which every decoder
/// reads the same; otherwise the bytes are Go's.
pub fn encode(value: &Value) -> Result<Vec<u8>, EncodeError> {
    encode::encode(schema::Schema::builtin(), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_protobuf_content_type(
            "application/vnd.kubernetes.protobuf"
        ));
        assert!(is_protobuf_content_type(
            "Application/VND.Kubernetes.Protobuf ; charset=x"
        ));
        assert!(!is_protobuf_content_type("application/json"));
        assert!(!is_protobuf_content_type(
            "application/vnd.kubernetes.protobuf+json"
        ));
    }

    #[test]
    fn builtin_schema_loads() {
        let s = schema::Schema::builtin();
        assert!(s.lookup_kind("apps/v1", "Deployment").is_some());
        assert!(s.lookup_kind("v1", "DeleteOptions").is_some());
        assert!(s.lookup_kind("v1", "Nope").is_none());
        assert_eq!(s.package_for("v1"), Some("k8s.io.api.core.v1"));
        assert!(s.lookup_kind("apps/v1", "ObjectMeta").is_none());
    }
}
