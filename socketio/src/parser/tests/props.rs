//! Property tests: round trips of arbitrary packets, and no panic on any input.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Map, Value};

use super::decode_with;
use crate::parser::{
    DecodeStatus, Decoder, Packet, PacketData, ParserLimits, attach, is_reserved_event,
};

/// An argument tree whose leaves may be binary.
#[derive(Debug, Clone)]
enum Node {
    Json(Value),
    Binary(Vec<u8>),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// Converts to JSON, extracting binary leaves as attachments.
    fn into_value(self, attachments: &mut Vec<Bytes>) -> Value {
        match self {
            Node::Json(value) => value,
            Node::Binary(data) => attach(attachments, Bytes::from(data)),
            Node::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| item.into_value(attachments))
                    .collect(),
            ),
            Node::Object(entries) => {
                let mut map = Map::new();
                for (key, item) in entries {
                    // Skip duplicate keys so no extracted attachment is lost.
                    if map.contains_key(&key) {
                        continue;
                    }
                    let value = item.into_value(attachments);
                    map.insert(key, value);
                }
                Value::Object(map)
            }
        }
    }
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Exactly representable floats with short decimal forms.
        (-4000i32..4000).prop_map(|n| Value::from(f64::from(n) / 8.0)),
        any::<String>().prop_map(Value::String),
        "[\\[\\]{}\"\\\\,:/0-9]{0,8}".prop_map(Value::String),
    ]
}

fn node(binary: bool) -> impl Strategy<Value = Node> {
    let leaves = if binary {
        prop_oneof![
            4 => leaf().prop_map(Node::Json),
            1 => proptest::collection::vec(any::<u8>(), 0..16).prop_map(Node::Binary),
        ]
        .boxed()
    } else {
        leaf().prop_map(Node::Json).boxed()
    };
    leaves.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Node::Array),
            proptest::collection::vec(("[a-z0-9_$\"]{0,6}", inner), 0..4).prop_map(Node::Object),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    proptest::collection::vec(("\\PC{0,6}", node(false)), 0..4)
        .prop_map(|entries| Node::Object(entries).into_value(&mut Vec::new()))
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[^,]{0,10}"]
}

fn event_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        "\\PC{0,10}"
            .prop_filter("reserved", |name| !is_reserved_event(name))
            .prop_map(Value::String),
        any::<i32>().prop_map(Value::from),
    ]
}

fn ack_id() -> impl Strategy<Value = u64> {
    0..10_000_000_000u64
}

/// Arguments with binary leaves anywhere; returns `(args, attachments)`.
fn args() -> impl Strategy<Value = (Vec<Value>, Vec<Bytes>)> {
    proptest::collection::vec(node(true), 0..5).prop_map(|nodes| {
        let mut attachments = Vec::new();
        let args = nodes
            .into_iter()
            .map(|n| n.into_value(&mut attachments))
            .collect();
        (args, attachments)
    })
}

fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        (namespace(), proptest::option::of(object()))
            .prop_map(|(ns, data)| Packet::connect(ns, data)),
        namespace().prop_map(Packet::disconnect),
        (
            namespace(),
            prop_oneof![object(), any::<String>().prop_map(Value::String)]
        )
            .prop_map(|(ns, data)| Packet::connect_error(ns, data)),
        (
            namespace(),
            event_name(),
            args(),
            proptest::option::of(ack_id())
        )
            .prop_map(|(ns, name, (mut args, attachments), id)| {
                args.insert(0, name);
                let packet = Packet::binary_event(ns, args, attachments);
                match id {
                    Some(id) => packet.with_ack_id(id),
                    None => packet,
                }
            }),
        (namespace(), ack_id(), args()).prop_map(|(ns, id, (args, attachments))| {
            Packet::binary_ack(ns, id, args, attachments)
        }),
    ]
}

/// Attachment count is unbounded in generated packets.
fn roomy() -> ParserLimits {
    ParserLimits {
        max_attachments: usize::MAX,
        ..ParserLimits::default()
    }
}

proptest! {
    #[test]
    fn decode_inverts_encode(packet in packet()) {
        let encoded = packet.encode();
        prop_assert_eq!(encoded.attachments.as_slice(), packet.attachments());
        let decoded = decode_with(roomy(), &encoded.text, &encoded.attachments);
        prop_assert_eq!(decoded.as_ref(), Ok(&packet));
        // Encoding is canonical: re-encoding the decoded packet is identical.
        prop_assert_eq!(decoded.unwrap().into_encoded(), encoded);
    }

    #[test]
    fn binary_kind_matches_attachments(packet in packet()) {
        let kind = packet.kind();
        prop_assert_eq!(kind.is_binary(), !packet.attachments().is_empty());
        let text = packet.encode().text;
        prop_assert_eq!(text.as_bytes()[0], b'0' + kind.as_u8());
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), frames in 0usize..3) {
        let mut decoder = Decoder::new();
        let _ = decoder.feed_text(&text);
        for _ in 0..frames {
            let _ = decoder.feed_binary(Bytes::from_static(b"\x00"));
        }
        let _ = decoder.feed_text(&text);
    }

    #[test]
    fn protocol_like_text_never_panics(
        text in "[0-9]{0,3}-?(/[a-z,]{0,4})?,?[0-9]{0,25}[\\[\\]{}\":,_a-z0-9.\\\\ -]{0,40}",
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4), 0..12),
    ) {
        let mut decoder = Decoder::new();
        let status = decoder.feed_text(&text);
        let expected = match status {
            Ok(DecodeStatus::Incomplete { remaining }) => remaining,
            _ => 0,
        };
        let mut fed = 0;
        for frame in frames {
            let result = decoder.feed_binary(Bytes::from(frame));
            fed += 1;
            // Exactly the announced number of frames is accepted.
            prop_assert_eq!(result.is_ok(), fed <= expected);
        }
    }

    /// A frame held as `Str` (whose plain events keep their arguments raw) decodes to the
    /// same packet, or the same error, as the same text parsed whole; and writes back the same.
    #[test]
    fn shared_frames_decode_like_plain_text(packet in packet()) {
        let text = packet.encode().text;
        let whole = Decoder::with_limits(roomy()).feed_text(&text);
        let shared = Decoder::with_limits(roomy()).feed_str(&crate::engineio::Str::from(text.as_str()));
        prop_assert_eq!(&shared, &whole);
        if let (Ok(DecodeStatus::Complete(shared)), Ok(DecodeStatus::Complete(whole))) = (shared, whole) {
            prop_assert_eq!(shared.encode(), whole.encode());
        }
    }

    #[test]
    fn shared_protocol_like_text_decodes_like_plain_text(
        text in "2(/[a-z]{0,3},)?[0-9]{0,3}\\[[\\[\\]{}\":,_a-z0-9.eE\\\\ \t-]{0,40}\\]?",
    ) {
        let whole = Decoder::new().feed_text(&text);
        let shared = Decoder::new().feed_str(&crate::engineio::Str::from(text.as_str()));
        prop_assert_eq!(&shared, &whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let text = String::from_utf8_lossy(&bytes);
        let mut decoder = Decoder::new();
        let _ = decoder.feed_text(&text);
        let _ = decoder.feed_binary(Bytes::from(bytes));
    }

    #[test]
    fn packets_with_placeholders_survive_replacement(packet in packet()) {
        if let PacketData::Event { args, attachments } | PacketData::Ack { args, attachments } = packet.data {
            let mut value = Value::Array(args.into_vec());
            let mut seen = 0;
            let result = crate::parser::replace_placeholders(&mut value, &attachments, |_| {
                seen += 1;
                Value::Null
            });
            prop_assert!(result.is_ok());
            prop_assert_eq!(seen, attachments.len());
        }
    }
}
