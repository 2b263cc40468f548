//! Writes the documents to `$RKUBE_OPENAPI_DUMP` when set (for trying them
//! with a real client); does nothing otherwise.

use rkube_openapi::OpenApi;

#[test]
fn dump_when_asked() {
    let Ok(dir) = std::env::var("RKUBE_OPENAPI_DUMP") else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    let t = std::time::Instant::now();
    let api = OpenApi::build();
    eprintln!("built in {:?}", t.elapsed());
    std::fs::create_dir_all(dir.join("v3")).unwrap();
    std::fs::write(dir.join("v2.json"), api.v2_json()).unwrap();
    std::fs::write(dir.join("v2.pb"), api.v2_protobuf().unwrap()).unwrap();
    std::fs::write(dir.join("v3-index.json"), api.v3_index()).unwrap();
    for gv in api.v3_paths() {
        let (body, hash) = api.v3_document(gv).unwrap();
        let name = gv.replace('/', "__");
        std::fs::write(dir.join("v3").join(format!("{name}.json")), body).unwrap();
        std::fs::write(dir.join("v3").join(format!("{name}.hash")), hash).unwrap();
    }
}
