//! Prints the JSON of protobuf request bodies: `cargo run -p rkube-proto --example decode -- FILE...`
fn main() {
    for path in std::env::args().skip(1) {
        let body = std::fs::read(&path).expect("readable file");
        match rkube_proto::decode_request(&body) {
            Ok(v) => println!(
                "{path}:\n{}",
                serde_json::to_string_pretty(&v).expect("json")
            ),
            Err(e) => println!("{path}: {e}"),
        }
    }
}
