//! The official Kubernetes Python client against a real `rkube server`:
//! tests/python/client_check.py does what a Python user would (list,
//! create, patch, conflicts, pagination, a watch with a selector, defaults,
//! scale, dry run) and asserts what kube-apiserver answers.
//!
//! Needs `python3` with the `kubernetes` package (`pip install kubernetes`;
//! `RKUBE_PYTHON` names another interpreter, such as a venv's). Skipped
//! with a message without it, and a failure under CI=true.

mod common;

use std::process::Command;

use common::TestServer;

fn python() -> Option<String> {
    let python = std::env::var("RKUBE_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import kubernetes"])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(python);
    }
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true"),
        "CI=true but {python} cannot import the kubernetes package"
    );
    eprintln!("SKIPPED: {python} has no kubernetes package (pip install kubernetes)");
    None
}

#[test]
fn official_python_client_works() {
    let Some(python) = python() else {
        return;
    };
    let s = TestServer::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&s.kubeconfig)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "client_check.py failed:\n{stdout}\n{stderr}"
    );
    // Every step printed its line: a script that stopped early without an
    // error would not pass.
    let steps = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(steps, 10, "{stdout}");
}
