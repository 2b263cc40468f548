//! The pod-template-hash: the name suffix of a Deployment's ReplicaSets
//! and the label that keeps their pods apart. As kube-controller-manager
//! computes it: FNV-32a over the printed Go value of the pod template (see
//! `gotypes`), then the Deployment's collisionCount (when set) as eight
//! bytes holding it little-endian, and the decimal value of the hash
//! written in the "safe" alphabet (no vowels, no 0/1/3). The same
//! template gives the same name as upstream of the same version: the
//! article's `nginx:1` template (Kubernetes 1.23) is `65895c4c4f`.

use k8s_openapi::api::core::v1::PodTemplateSpec;

use super::gotypes::{self, GoTypes};

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a, 32 bits.
#[derive(Clone, Copy)]
pub struct Fnv32a(u32);

impl Default for Fnv32a {
    fn default() -> Self {
        Fnv32a(FNV_OFFSET)
    }
}

impl Fnv32a {
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u32::from(*b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    pub fn sum(&self) -> u32 {
        self.0
    }
}

/// The alphabet of generated names: no vowels (no words), no 0, 1, 3 (no
/// look-alikes of o, l, e).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Map every byte of `s` into the safe alphabet.
pub fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// The hash of a pod template and collision count.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    hash_with(gotypes::current(), template, collision_count)
}

/// The hash with the Go layout of a given Kubernetes version.
pub fn hash_with(
    layout: &GoTypes,
    template: &PodTemplateSpec,
    collision_count: Option<i32>,
) -> String {
    let value = serde_json::to_value(template).expect("a pod template serializes");
    let mut h = Fnv32a::default();
    h.write(layout.print("v1.PodTemplateSpec", &value).as_bytes());
    if let Some(c) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(c as u32).to_le_bytes());
        h.write(&bytes);
    }
    safe_encode(&h.sum().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        let sum = |s: &str| {
            let mut h = Fnv32a::default();
            h.write(s.as_bytes());
            h.sum()
        };
        assert_eq!(sum(""), 0x811c9dc5);
        assert_eq!(sum("a"), 0xe40c292c);
        assert_eq!(sum("foobar"), 0xbf9cf968);
    }

    #[test]
    fn digits_map_to_the_safe_alphabet() {
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    fn template(image: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: None,
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "nginx".into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }

    /// The template `kubectl create deployment nginx --image=<image>`
    /// leaves on Kubernetes 1.23 after defaulting.
    fn defaulted(image: &str) -> PodTemplateSpec {
        serde_json::from_value(serde_json::json!({
            "metadata": {"creationTimestamp": null, "labels": {"app": "nginx"}},
            "spec": {
                "containers": [{
                    "name": "nginx",
                    "image": image,
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent"
                }],
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst",
                "securityContext": {},
                "schedulerName": "default-scheduler"
            }
        }))
        .unwrap()
    }

    #[test]
    fn the_articles_replica_set_names_come_out_exactly() {
        // Kubernetes 1.23's layout, as the article's cluster ran.
        let v1_23 = GoTypes::parse(include_str!("testdata/go_types_v0.23.4.txt"));
        assert_eq!(hash_with(&v1_23, &defaulted("nginx:1"), None), "65895c4c4f");
        assert_eq!(
            hash_with(&v1_23, &defaulted("nginx:1.21"), None),
            "f594cdf46"
        );
        // A collision count changes the name.
        assert_ne!(
            hash_with(&v1_23, &defaulted("nginx:1"), Some(1)),
            "65895c4c4f"
        );
    }

    #[test]
    fn hashes_look_like_upstream_and_depend_on_template_and_collisions() {
        let a = template_hash(&template("nginx:1"), None);
        let b = template_hash(&template("nginx:1.21"), None);
        let c = template_hash(&template("nginx:1"), Some(1));
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, template_hash(&template("nginx:1"), None));
        for h in [&a, &b, &c] {
            assert!(!h.is_empty() && h.len() <= 10, "{h}");
            assert!(h.chars().all(|ch| "456789bcdf".contains(ch)), "{h}");
        }
    }
}
