//! Write throughput by concurrency, to see group commit at work.
//! Not part of the normal run: `cargo test -p rkube-store --release --test
//! throughput -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rkube_store::Backend;
use rkube_store::embedded::EmbeddedBackend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn write_throughput_by_concurrency() {
    let value = Bytes::from(vec![b'x'; 1024]);
    for writers in [1usize, 8, 64, 256] {
        let dir = tempfile::TempDir::new().unwrap();
        let s = EmbeddedBackend::open(&dir.path().join("state.redb"))
            .await
            .unwrap();
        let per_writer = 4000 / writers;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (s, value) = (Arc::clone(&s), value.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..per_writer {
                    s.create(&format!("/bench/{w}/{i}"), value.clone())
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = started.elapsed();
        let n = writers * per_writer;
        let stats = s.stats();
        println!(
            "{writers:>4} writers: {n} creates in {elapsed:.2?} = {:>8.0}/s, {} commits, largest batch {}",
            n as f64 / elapsed.as_secs_f64(),
            stats.commits,
            stats.largest_batch
        );
    }
}
