//! `BroadcastOperator::emit` to every socket of a namespace of 10 000 in-process sockets.
//!
//! One iteration is one `emit("bcast", payload)`: the packet is encoded once and the same
//! frames are queued on each socket. Throughput is in sockets, so criterion's `elem/s` is
//! sockets reached per second.
//!
//! The sockets have no transport, so nothing empties their queues. After every timed emit
//! the queues are drained, outside the timed section (`iter_custom` times only the emit),
//! so queues never fill and every iteration starts from the same state. The cost of the
//! drain (popping the entries and dropping one reference per frame), which a transport pays
//! when it writes to the client, is therefore not counted.
//!
//! Run: `cargo bench -p socketio --features bench-internals --bench broadcast`

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use socketio::Payload;
use socketio::bench_support::BenchNamespace;

const SOCKETS: usize = 10_000;

fn payloads() -> Vec<(&'static str, Payload, usize)> {
    let small = Payload::from_args(vec![json!({ "room": "a", "text": "hi" })]);
    let mut binary = Payload::empty();
    let data = binary.binary(Bytes::from(vec![7u8; 1024]));
    binary.args.push(json!({ "name": "blob", "data": data }));
    // Frames queued per socket: the text frame, plus one per attachment.
    vec![("small_json", small, 1), ("binary_1k", binary, 2)]
}

fn broadcast(c: &mut Criterion) {
    let namespace = BenchNamespace::new(SOCKETS);
    let operator = namespace.broadcast();
    let mut group = c.benchmark_group("broadcast/10k_sockets");
    group.throughput(Throughput::Elements(SOCKETS as u64));
    group.sample_size(20);
    for (name, payload, frames_per_socket) in payloads() {
        // Sanity check, untimed: every socket is reached and receives the whole packet.
        operator.emit("bcast", payload.clone()).expect("emit");
        assert_eq!(namespace.drain(), SOCKETS * frames_per_socket);

        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let payload = payload.clone();
                    let start = Instant::now();
                    let sent = operator.emit(black_box("bcast"), payload);
                    timed += start.elapsed();
                    black_box(sent).expect("emit");
                    namespace.drain();
                }
                timed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, broadcast);
criterion_main!(benches);
