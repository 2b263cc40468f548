//! Field sets read without being built, built from nodes in any order,
//! and FieldsV1 checked without being read: the shortcuts apply takes
//! must agree with the long way round.

use serde_json::json;

use super::fieldpath::{FieldSet, Node, PathElement};

fn f(name: &str) -> PathElement {
    PathElement::Field(name.into())
}

#[test]
fn spelled_by_is_reading_without_building() {
    let canonical = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}}},
            "f:list": {"i:1": {}}, "f:finalizers": {"v:\"a\"": {}}}});
    let set = FieldSet::from_fields_v1(&canonical).unwrap();
    assert!(set.spelled_by(&canonical));
    assert!(set.spelled_by(&set.to_fields_v1()));
    // Order and where "." goes do not matter to what a document reads as.
    let reordered = json!({"f:spec": {"f:list": {"i:1": {}}, "f:finalizers": {"v:\"a\"": {}},
        "f:containers": {"k:{\"name\":\"c\"}": {"f:image": {}, ".": {}}}},
        "f:metadata": {"f:labels": {"f:app": {}, ".": {}}}});
    assert!(set.spelled_by(&reordered));
    // Keys spelled otherwise than the set would are not taken on trust,
    // even when they read as the same element.
    for other in [
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{ \"name\": \"c\" }": {".": {}, "f:image": {}}},
                "f:list": {"i:1": {}}, "f:finalizers": {"v:\"a\"": {}}}}),
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}}},
                "f:list": {"i:01": {}}, "f:finalizers": {"v:\"a\"": {}}}}),
        json!({"f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}}},
                "f:list": {"i:1": {}}, "f:finalizers": {"v:\"a\"": {}}}}),
        json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}),
        json!([]),
    ] {
        assert!(!set.spelled_by(&other), "{other}");
    }
}

#[test]
fn later_keys_naming_one_element_win() {
    let set = FieldSet::from_fields_v1(&json!({"i:1": {"f:a": {}}, "i:01": {"f:b": {}}})).unwrap();
    assert_eq!(set.to_fields_v1(), json!({"i:1": {"f:b": {}}}));
}

#[test]
fn nodes_in_any_order_make_one_set() {
    let node = |member: bool, children: FieldSet| Node { member, children };
    let mut b = FieldSet::new();
    b.insert(&[f("x")]);
    let set = FieldSet::from_nodes(vec![
        (f("b"), node(false, b.clone())),
        (PathElement::Index(0), node(true, FieldSet::new())),
        (f("a"), node(true, FieldSet::new())),
        (f("b"), node(true, FieldSet::new())),
        (f("c"), node(false, FieldSet::new())),
    ]);
    assert_eq!(
        set.to_fields_v1(),
        json!({"f:a": {}, "f:b": {".": {}, "f:x": {}}, "i:0": {}})
    );
    let names: Vec<String> = set.iter().map(|(pe, _)| pe.to_fields_v1_key()).collect();
    assert_eq!(names, ["f:a", "f:b", "i:0"]);
}

#[test]
fn checking_agrees_with_reading() {
    for v in [
        json!({"f:a": {"k:{\"x\":1}": {}, "v:[1,2]": {}, "i:3": {}}}),
        json!([]),
        json!({"x:a": {}}),
        json!({"f:a": 1}),
        json!({"f:a": {"k:notjson": {}}}),
        json!({"k:[1]": {}}),
        json!({"v:{": {}}),
        json!({"i:x": {}}),
        json!({"i:-1": {}}),
    ] {
        assert_eq!(
            FieldSet::check_fields_v1(&v).is_ok(),
            FieldSet::from_fields_v1(&v).is_ok(),
            "{v}"
        );
    }
}
