//! The committed table must agree with the k8s-pb the workspace locks: the
//! generator re-derives every message, tag, type and repetition from
//! k8s-pb's source and compares (see `rkube-proto-gen check`).

#[test]
fn schema_table_matches_k8s_pb() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rkube-proto-gen"))
        .arg("check")
        .output()
        .expect("run rkube-proto-gen");
    assert!(
        out.status.success(),
        "{}{}\nregenerate with `rkube-proto-gen generate` (see the crate docs)",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
