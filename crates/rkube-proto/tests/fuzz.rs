//! Arbitrary and mutated bodies never panic, and whatever decodes encodes
//! and decodes again to the same JSON (`null` and absent being the same).
//! A deterministic generator keeps failures reproducible; raise
//! `RKUBE_PROTO_FUZZ_ROUNDS` (and vary `RKUBE_PROTO_FUZZ_SEED`) for a longer run.

use prost::Message;
use serde_json::Value;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "pb"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    // Upstream's filled-in objects, when present, make much richer seeds.
    for dir in std::env::var("RKUBE_PROTO_UPSTREAM_TESTDATA")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
    {
        for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
            if e.path().extension().is_some_and(|x| x == "pb") {
                out.push(std::fs::read(e.path()).unwrap());
            }
        }
    }
    out.sort();
    assert!(!out.is_empty());
    out
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, pool: &[Vec<u8>]) {
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                let interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08];
                data.insert(i, interesting[rng.below(interesting.len())]);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(len - i) + 1;
                data.drain(i..i + n.min(8));
            }
            4 => data.truncate(rng.below(len + 1)),
            5 if len > 0 => {
                // Duplicate a slice (repeated/merged fields).
                let i = rng.below(len);
                let n = rng.below(len - i) + 1;
                let piece: Vec<u8> = data[i..i + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, piece);
            }
            6 => {
                // Splice in a piece of another body.
                let other = &pool[rng.below(pool.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = rng.below(other.len() - i) + 1;
                    let at = rng.below(len + 1);
                    data.splice(at..at, other[i..i + n.min(32)].iter().copied());
                }
            }
            _ => {
                let at = rng.below(len + 1);
                let bytes: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, bytes);
            }
        }
    }
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

fn check(body: &[u8]) -> bool {
    let Ok(mut v) = rkube_proto::decode_request(body) else {
        return false;
    };
    let again = rkube_proto::encode(&v)
        .unwrap_or_else(|e| panic!("decoded JSON does not encode: {e}\n{v}"));
    let mut back = rkube_proto::decode_request(&again).expect("encoded body decodes");
    drop_nulls(&mut v);
    drop_nulls(&mut back);
    assert_eq!(back, v, "round trip changed the object");
    true
}

/// Re-wraps a mutated inner object in a valid envelope, so mutations reach
/// the schema-driven part rather than only the envelope.
fn rewrap(body: &[u8], rng: &mut Rng, pool: &[Vec<u8>]) -> Vec<u8> {
    use k8s_pb::apimachinery::pkg::runtime::Unknown;
    let Ok(mut unknown) = Unknown::decode(&body[4.min(body.len())..]) else {
        return body.to_vec();
    };
    let mut raw = unknown.raw.take().unwrap_or_default();
    mutate(rng, &mut raw, pool);
    unknown.raw = Some(raw);
    let mut out = b"k8s\0".to_vec();
    out.extend(unknown.encode_to_vec());
    out
}

#[test]
fn mutated_bodies_never_panic() {
    let rounds: usize = std::env::var("RKUBE_PROTO_FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(30_000);
    let pool = seeds();
    let seed = std::env::var("RKUBE_PROTO_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9);
    let mut rng = Rng(seed | 1);
    let mut decoded = 0;
    for round in 0..rounds {
        let seed = &pool[round % pool.len()];
        let body = if round % 2 == 0 {
            rewrap(seed, &mut rng, &pool)
        } else {
            let mut b = seed.clone();
            mutate(&mut rng, &mut b, &pool);
            b
        };
        decoded += usize::from(check(&body));
    }
    // Enough mutated bodies still decode for the round trip to be exercised.
    assert!(decoded > rounds / 40, "only {decoded} of {rounds} decoded");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let n = rng.below(64);
        let mut b: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 {
            b.splice(0..0, *b"k8s\0");
        }
        check(&b);
    }
}

#[test]
fn deep_nesting_is_refused() {
    // JSONSchemaProps.not (tag 28) nested far deeper than the limit.
    let mut inner: Vec<u8> = Vec::new();
    for _ in 0..rkube_proto::MAX_DEPTH + 10 {
        let mut next = vec![0xe2, 0x01]; // key of field 28, wire type 2
        let mut len = inner.len();
        loop {
            let b = (len & 0x7f) as u8;
            len >>= 7;
            next.push(if len > 0 { b | 0x80 } else { b });
            if len == 0 {
                break;
            }
        }
        next.extend(&inner);
        inner = next;
    }
    let msg = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";
    let err = rkube_proto::decode_message(msg, &inner).unwrap_err();
    assert!(err.to_string().contains("too deeply nested"), "{err}");
}
