//! Request bodies in JSON and YAML, decoded as the API server does: the
//! helpers in `rkube_apiserver::handlers` (`body::parse_json`,
//! `parse_yaml`, `decode_object`) are private, so this drives the same
//! library calls they make: `serde_json::from_slice` and
//! `serde_saphyr::from_str::<serde_json::Value>`. Nothing may panic, and a
//! YAML document that decodes must print as JSON that parses again.
//!
//! Input: first byte even = JSON, odd = YAML; the rest is the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&b, body)) = data.split_first() else {
        return;
    };
    let value = if b & 1 == 0 {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        v
    } else {
        let Ok(text) = std::str::from_utf8(body) else {
            return;
        };
        match serde_saphyr::from_str::<Value>(text) {
            Ok(v) => v,
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        }
    };
    // The API server stores and answers the value as JSON. (Equality after a
    // re-parse is not asserted: without serde_json's `float_roundtrip`
    // feature a float may come back one ulp off.)
    let printed = serde_json::to_vec(&value).expect("a Value always prints");
    let _: Value = serde_json::from_slice(&printed).expect("printed JSON parses");
});
