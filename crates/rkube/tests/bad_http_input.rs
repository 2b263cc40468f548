//! Malformed request paths, query strings and bodies over real HTTPS (curl)
//! get the answers kube-apiserver gives them: the same status code, Status
//! reason and, where the message is upstream's, the same message. The
//! parsers behind these are fuzzed in `fuzz/` (see fuzz/README.md).

mod common;

use common::TestServer;
use serde_json::Value;

const CM: &str = "/api/v1/namespaces/default/configmaps";

fn status(code: u16, body: &str, want_code: u16, want_reason: &str) -> Value {
    assert_eq!(code, want_code, "{body}");
    let status: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(status["kind"], "Status", "{body}");
    assert_eq!(status["code"], want_code, "{body}");
    assert_eq!(status["reason"], want_reason, "{body}");
    status
}

#[test]
fn bad_http_input_gets_kube_apiserver_answers() {
    let s = TestServer::start();
    let get = |path: &str| s.curl("GET", path, None, "application/json");
    let (code, body) = s.curl(
        "POST",
        CM,
        Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"one"}}"#),
        "application/json",
    );
    assert_eq!(code, 201, "{body}");

    // Integers: strconv's message as a 400.
    let (code, body) = get(&format!("{CM}?limit=abc"));
    let st = status(code, &body, 400, "BadRequest");
    assert_eq!(
        st["message"],
        "strconv.ParseInt: parsing \"abc\": invalid syntax"
    );
    let (code, body) = get(&format!("{CM}?limit=99999999999999999999"));
    let st = status(code, &body, 400, "BadRequest");
    assert_eq!(
        st["message"],
        "strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
    );

    // What upstream accepts: the first of repeated values, any int64
    // timeout, booleans other than 0/false as true, an unparsable pretty.
    for q in [
        "limit=1&limit=abc",
        "timeoutSeconds=-1",
        "allowWatchBookmarks=yes",
        "pretty=maybe",
        "limit=5;x=1",
    ] {
        let (code, body) = get(&format!("{CM}?{q}"));
        assert_eq!(code, 200, "{q}: {body}");
        let list: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(list["kind"], "ConfigMapList", "{q}: {body}");
    }
    let (code, body) = get(&format!("{CM}?limit=1&limit=abc"));
    assert_eq!(code, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{body}");

    // Selectors: upstream's 400s.
    let (code, body) = get(&format!("{CM}?fieldSelector=spec.x%3Dy"));
    let st = status(code, &body, 400, "BadRequest");
    assert_eq!(
        st["message"],
        "\"spec.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    );
    let (code, body) = get(&format!("{CM}?labelSelector=a%20in"));
    status(code, &body, 400, "BadRequest");

    // Paths are percent-decoded as Go decodes them.
    let (code, body) = get(&format!("{CM}/o%6Ee"));
    assert_eq!(code, 200, "{body}");
    let cm: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(cm["metadata"]["name"], "one");
    let (code, body) = get(&format!("{CM}/a%20b"));
    let st = status(code, &body, 404, "NotFound");
    assert_eq!(st["message"], "configmaps \"a b\" not found");

    // Paths no route of kube-apiserver matches: the router's 404.
    for path in [
        format!("{CM}/one/status/extra"),
        format!("{CM}/one%2Fnope"),
        "/apis/apps/v1/namespaces/default/deployments/web/scale/x".to_string(),
        "/api/v1/watch/namespaces/default/pods/web/status".to_string(),
        "/api/v1/namespaces/default/widgets".to_string(),
    ] {
        let (code, body) = get(&path);
        let st = status(code, &body, 404, "NotFound");
        assert_eq!(
            st["message"], "the server could not find the requested resource",
            "{path}"
        );
    }

    // Bodies: undecodable protobuf and YAML are 400s.
    let (code, body) = s.curl(
        "POST",
        CM,
        Some("not protobuf"),
        "application/vnd.kubernetes.protobuf",
    );
    status(code, &body, 400, "BadRequest");
    let (code, body) = s.curl("POST", CM, Some("a: [1\nb: {"), "application/yaml");
    status(code, &body, 400, "BadRequest");
}

/// Headers over kube-apiserver's 1 MiB limit get 431, which the client
/// actually reads (the server drains the unread request instead of
/// resetting the connection), and the server goes on answering. curl
/// refuses to send a header this large, so this speaks HTTP/1.1 over
/// rustls itself.
#[test]
fn oversized_headers_get_431() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use std::io::{Read, Write};

    let s = TestServer::start();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(s.data_dir().join("pki/ca.crt")).unwrap())
        .unwrap();
    let config = std::sync::Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let port = s.url().rsplit(':').next().unwrap().to_string();
    let answer = |header_bytes: usize| -> String {
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
        let tcp = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let request = format!(
            "GET /api HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
            "a".repeat(header_bytes)
        );
        // The server may stop reading before the end; the answer is what
        // counts.
        let _ = tls.write_all(request.as_bytes());
        let mut head = [0u8; 64];
        let n = tls.read(&mut head).unwrap_or(0);
        String::from_utf8_lossy(&head[..n]).to_string()
    };
    let small = answer(900 * 1024);
    assert!(small.starts_with("HTTP/1.1 401"), "{small}");
    let big = answer(1536 * 1024);
    assert!(
        big.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{big:?}"
    );
    let (code, _) = s.curl("GET", "/api/v1/namespaces", None, "application/json");
    assert_eq!(code, 200);
}
