//! Socket.IO parser: encoding packets into frames and decoding frames into packets.
//!
//! Throughput is the size of everything on the wire for one packet: the text frame plus
//! every binary attachment.
//!
//! Run: `cargo bench -p socketio --bench parser`

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use socketio::parser::{DecodeStatus, Decoder, Packet, attach};

/// One benchmark input: a packet and its encoded form.
struct Case {
    name: &'static str,
    packet: Packet,
    text: String,
    attachments: Vec<Bytes>,
}

impl Case {
    fn new(name: &'static str, packet: Packet) -> Self {
        let encoded = packet.encode();
        Case {
            name,
            packet,
            text: encoded.text,
            attachments: encoded.attachments,
        }
    }

    fn wire_bytes(&self) -> u64 {
        let binary: usize = self.attachments.iter().map(Bytes::len).sum();
        (self.text.len() + binary) as u64
    }

    /// Feeds the text frame then every binary frame, as a connection would.
    fn decode(&self, decoder: &mut Decoder) -> Packet {
        let mut status = decoder.feed_text(&self.text).expect("valid text frame");
        for frame in &self.attachments {
            status = decoder
                .feed_binary(frame.clone())
                .expect("expected attachment");
        }
        match status {
            DecodeStatus::Complete(packet) => packet,
            DecodeStatus::Incomplete { remaining } => panic!("{remaining} attachments missing"),
        }
    }
}

/// An upload event with `count` attachments of 1 KiB, each placeholder seven arrays or
/// objects deep (the argument array included):
/// `["upload", {"batch": {"files": [{"name": "f0", "meta": {"data": <placeholder>}}, …]}}]`.
fn binary_event(count: usize) -> Packet {
    let mut attachments = Vec::with_capacity(count);
    let files: Vec<Value> = (0..count)
        .map(|index| {
            let data = Bytes::from(vec![index as u8; 1024]);
            let placeholder = attach(&mut attachments, data);
            json!({ "name": format!("f{index}"), "meta": { "data": placeholder } })
        })
        .collect();
    let args = vec![json!("upload"), json!({ "batch": { "files": files } })];
    Packet::binary_event("/", args, attachments)
}

fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "text/small_event",
            Packet::event(
                "/",
                vec![json!("chat"), json!({ "room": "a", "text": "hi" })],
            ),
        ),
        Case::new(
            "text/string_10k",
            Packet::event("/", vec![json!("chat"), json!("x".repeat(10 * 1024))]),
        ),
        Case::new(
            "text/ack",
            Packet::ack("/", 42, vec![json!({ "ok": true, "id": 7 })]),
        ),
        Case::new("binary/1x1k_nested", binary_event(1)),
        Case::new("binary/10x1k_nested", binary_event(10)),
    ]
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("parser/encode");
    for case in cases() {
        group.throughput(Throughput::Bytes(case.wire_bytes()));
        group.bench_function(case.name, |b| b.iter(|| black_box(&case.packet).encode()));
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("parser/decode");
    for case in cases() {
        let mut decoder = Decoder::new();
        assert_eq!(
            case.decode(&mut decoder),
            case.packet,
            "{} round trip",
            case.name
        );
        group.throughput(Throughput::Bytes(case.wire_bytes()));
        group.bench_function(case.name, |b| {
            b.iter(|| case.decode(black_box(&mut decoder)))
        });
    }
    group.finish();
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
