//! Exact wire vectors from the protocol specification, both directions.

use bytes::Bytes;
use serde_json::json;

use super::{decode, decode_text};
use crate::parser::{Packet, PacketKind, placeholder};

fn bin(data: &'static [u8]) -> Bytes {
    Bytes::from_static(data)
}

/// (wire text, attachments, packet, expected kind)
fn canonical() -> Vec<(&'static str, Vec<Bytes>, Packet, PacketKind)> {
    use PacketKind::*;
    vec![
        ("0", vec![], Packet::connect("/", None), Connect),
        (
            r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#,
            vec![],
            Packet::connect("/", Some(json!({"sid": "wZX3oN0bSVIhsaknAAAI"}))),
            Connect,
        ),
        ("0/admin,", vec![], Packet::connect("/admin", None), Connect),
        (
            r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
            vec![],
            Packet::connect("/admin", Some(json!({"sid": "oSO0OpakMV_3jnilAAAA"}))),
            Connect,
        ),
        (
            r#"0/admin,{"token":"123"}"#,
            vec![],
            Packet::connect("/admin", Some(json!({"token": "123"}))),
            Connect,
        ),
        (
            r#"4{"message":"Not authorized"}"#,
            vec![],
            Packet::connect_error("/", json!({"message": "Not authorized"})),
            ConnectError,
        ),
        (
            r#"4/random,{"message":"Invalid namespace"}"#,
            vec![],
            Packet::connect_error("/random", json!({"message": "Invalid namespace"})),
            ConnectError,
        ),
        (
            r#"4"Unauthorized""#,
            vec![],
            Packet::connect_error("/", json!("Unauthorized")),
            ConnectError,
        ),
        ("1", vec![], Packet::disconnect("/"), Disconnect),
        ("1/admin,", vec![], Packet::disconnect("/admin"), Disconnect),
        (
            r#"2["foo"]"#,
            vec![],
            Packet::event("/", vec![json!("foo")]),
            Event,
        ),
        (
            r#"2/admin,["bar"]"#,
            vec![],
            Packet::event("/admin", vec![json!("bar")]),
            Event,
        ),
        (
            r#"2["hello",1]"#,
            vec![],
            Packet::event("/", vec![json!("hello"), json!(1)]),
            Event,
        ),
        (
            r#"2["message",1,"2",{"3":[true]}]"#,
            vec![],
            Packet::event(
                "/",
                vec![json!("message"), json!(1), json!("2"), json!({"3": [true]})],
            ),
            Event,
        ),
        (
            r#"2[1,"a",{}]"#,
            vec![],
            Packet::event("/", vec![json!(1), json!("a"), json!({})]),
            Event,
        ),
        (
            r#"212["foo"]"#,
            vec![],
            Packet::event("/", vec![json!("foo")]).with_ack_id(12),
            Event,
        ),
        (
            r#"2/admin,13["foo"]"#,
            vec![],
            Packet::event("/admin", vec![json!("foo")]).with_ack_id(13),
            Event,
        ),
        (
            r#"2/admin,456["project:delete",123]"#,
            vec![],
            Packet::event("/admin", vec![json!("project:delete"), json!(123)]).with_ack_id(456),
            Event,
        ),
        ("312[]", vec![], Packet::ack("/", 12, vec![]), Ack),
        (
            r#"3/admin,13["bar"]"#,
            vec![],
            Packet::ack("/admin", 13, vec![json!("bar")]),
            Ack,
        ),
        (
            r#"314["bar"]"#,
            vec![],
            Packet::ack("/", 14, vec![json!("bar")]),
            Ack,
        ),
        (
            "3/admin,456[]",
            vec![],
            Packet::ack("/admin", 456, vec![]),
            Ack,
        ),
        (
            r#"51-["baz",{"_placeholder":true,"num":0}]"#,
            vec![bin(&[1, 2, 3, 4])],
            Packet::binary_event(
                "/",
                vec![json!("baz"), placeholder(0)],
                vec![bin(&[1, 2, 3, 4])],
            ),
            BinaryEvent,
        ),
        (
            r#"51-["hello",{"_placeholder":true,"num":0}]"#,
            vec![bin(b"xyz")],
            Packet::binary_event("/", vec![json!("hello"), placeholder(0)], vec![bin(b"xyz")]),
            BinaryEvent,
        ),
        (
            r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            vec![bin(&[1, 2]), bin(&[3, 4])],
            Packet::binary_event(
                "/admin",
                vec![json!("baz"), placeholder(0), placeholder(1)],
                vec![bin(&[1, 2]), bin(&[3, 4])],
            ),
            BinaryEvent,
        ),
        (
            r#"51-14["foo",{"_placeholder":true,"num":0}]"#,
            vec![bin(&[1, 2, 3, 4])],
            Packet::binary_event(
                "/",
                vec![json!("foo"), placeholder(0)],
                vec![bin(&[1, 2, 3, 4])],
            )
            .with_ack_id(14),
            BinaryEvent,
        ),
        (
            r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
            vec![bin(&[1, 2, 3, 4])],
            Packet::binary_ack(
                "/",
                15,
                vec![json!("bar"), placeholder(0)],
                vec![bin(&[1, 2, 3, 4])],
            ),
            BinaryAck,
        ),
        (
            r#"61-/admin,456[{"_placeholder":true,"num":0}]"#,
            vec![bin(&[9])],
            Packet::binary_ack("/admin", 456, vec![placeholder(0)], vec![bin(&[9])]),
            BinaryAck,
        ),
        (
            r#"61-/admin,1[{"_placeholder":true,"num":0}]"#,
            vec![bin(&[])],
            Packet::binary_ack("/admin", 1, vec![placeholder(0)], vec![bin(&[])]),
            BinaryAck,
        ),
    ]
}

#[test]
fn spec_vectors_encode_exactly() {
    for (text, attachments, packet, kind) in canonical() {
        assert_eq!(packet.kind(), kind, "{text}");
        let encoded = packet.encode();
        assert_eq!(encoded.text, text);
        assert_eq!(encoded.attachments, attachments, "{text}");
        assert_eq!(packet.clone().into_encoded(), encoded, "{text}");
    }
}

#[test]
fn spec_vectors_decode_exactly() {
    for (text, attachments, packet, _) in canonical() {
        assert_eq!(decode(text, &attachments), Ok(packet), "{text}");
    }
}

#[test]
fn lenient_inputs_decode() {
    let cases = [
        // Namespace without trailing comma at the end of the packet.
        ("0/random", Packet::connect("/random", None)),
        ("1/custom", Packet::disconnect("/custom")),
        // Explicit root namespace.
        (r#"2/,["a"]"#, Packet::event("/", vec![json!("a")])),
        // Binary type announcing zero attachments is a plain event.
        (r#"50-["hello"]"#, Packet::event("/", vec![json!("hello")])),
        (r#"60-7[]"#, Packet::ack("/", 7, vec![])),
        // Leading zeros in the ack id.
        (
            r#"2007["a"]"#,
            Packet::event("/", vec![json!("a")]).with_ack_id(7),
        ),
        // Whitespace around JSON is JSON.
        (r#"2 ["a"] "#, Packet::event("/", vec![json!("a")])),
        // Namespace with query-like characters is kept verbatim.
        (
            r#"2/a?b=c,["x"]"#,
            Packet::event("/a?b=c", vec![json!("x")]),
        ),
        // `_placeholder` other than `true` is plain data.
        (
            r#"2["a",{"_placeholder":false,"num":0}]"#,
            Packet::event(
                "/",
                vec![json!("a"), json!({"_placeholder": false, "num": 0})],
            ),
        ),
        // Largest ack id with the default 10 digits.
        (r#"39999999999[]"#, Packet::ack("/", 9_999_999_999, vec![])),
    ];
    for (text, packet) in cases {
        assert_eq!(decode_text(text), Ok(packet), "{text}");
    }
}

#[test]
fn numeric_event_names() {
    let cases = [
        (r#"2[1,"a"]"#, "1"),
        (r#"2[-3]"#, "-3"),
        (r#"2[1.0]"#, "1"),
        (r#"2[2.5]"#, "2.5"),
        (r#"2[18446744073709551615]"#, "18446744073709551615"),
    ];
    for (text, name) in cases {
        let packet = decode_text(text).unwrap();
        assert_eq!(packet.event_name().as_deref(), Some(name), "{text}");
    }
    // The number itself is kept, so re-encoding is faithful.
    assert_eq!(
        decode_text(r#"2[1,"a"]"#).unwrap().encode().text,
        r#"2[1,"a"]"#
    );
    assert_eq!(Packet::ack("/", 1, vec![json!("x")]).event_name(), None);
}

#[test]
fn empty_namespace_is_root_when_encoding() {
    assert_eq!(
        Packet::event("", vec![json!("a")]).encode().text,
        r#"2["a"]"#
    );
}

#[test]
fn json_is_compact_and_escaped() {
    let packet = Packet::event(
        "/",
        vec![json!("a\"b"), json!({"k": [1, null, "\u{e9}\n"]})],
    );
    let text = packet.encode().text;
    assert_eq!(text, "2[\"a\\\"b\",{\"k\":[1,null,\"\u{e9}\\n\"]}]");
    assert_eq!(decode_text(&text), Ok(packet));
}

/// Key order survives only with serde_json's `preserve_order` feature; this
/// test checks whichever behaviour is compiled in.
#[test]
fn object_key_order() {
    let text = r#"2["e",{"b":1,"a":2}]"#;
    let reencoded = decode_text(text).unwrap().encode().text;
    let mut probe = serde_json::Map::new();
    probe.insert("b".into(), json!(1));
    probe.insert("a".into(), json!(2));
    let preserve_order = probe.keys().next().map(String::as_str) == Some("b");
    if preserve_order {
        assert_eq!(reencoded, text);
    } else {
        assert_eq!(reencoded, r#"2["e",{"a":2,"b":1}]"#);
    }
}

/// Doubles come back exactly as sent, as Node echoes them: the shortest digits that read back
/// as the same double, written as JavaScript writes them (`e+308`). serde_json's default
/// float parser can be one ULP off on 17-digit values; the workspace enables its correctly
/// rounded `float_roundtrip` parser.
#[test]
fn doubles_round_trip_exactly() {
    for text in [
        r#"2["message",0.10326579001657021]"#,
        r#"2["message",1.7976931348623157e+308]"#,
        r#"2["message",5e-324]"#,
        r#"2["message",-0.30000000000000004]"#,
        r#"2["message",2.2250738585072014e-308]"#,
    ] {
        assert_eq!(decode_text(text).unwrap().encode().text, text);
    }
}
