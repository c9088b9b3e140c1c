//! Placeholders nested at depth, extraction and reconstruction helpers.

use bytes::Bytes;
use serde_json::{Value, json};

use super::decode;
use crate::parser::{
    Packet, PacketData, ParseError, attach, placeholder, placeholder_index, replace_placeholders,
};

#[test]
fn placeholder_has_exact_wire_form() {
    assert_eq!(
        placeholder(0).to_string(),
        r#"{"_placeholder":true,"num":0}"#
    );
    assert_eq!(
        placeholder(12).to_string(),
        r#"{"_placeholder":true,"num":12}"#
    );
}

#[test]
fn placeholder_index_recognises_only_placeholders() {
    assert_eq!(placeholder_index(&placeholder(2)), Some(2));
    assert_eq!(
        placeholder_index(&json!({"_placeholder": true, "num": 1, "extra": 0})),
        Some(1)
    );
    assert_eq!(
        placeholder_index(&json!({"_placeholder": "true", "num": 1})),
        None
    );
    assert_eq!(
        placeholder_index(&json!({"_placeholder": true, "num": -1})),
        None
    );
    assert_eq!(placeholder_index(&json!({"_placeholder": true})), None);
    assert_eq!(placeholder_index(&json!([placeholder(0)])), None);
    assert_eq!(placeholder_index(&json!(0)), None);
}

/// Builds `["deep", {"a":[[{"b":[<bin0>]}]]}, [..10 levels.. <bin1>], <bin2>]`.
fn deep_packet() -> (Packet, String) {
    let mut attachments = Vec::new();
    let first = attach(&mut attachments, Bytes::from_static(b"zero"));
    let second = attach(&mut attachments, Bytes::from_static(b"one"));
    let third = attach(&mut attachments, Bytes::from_static(b"two"));
    let mut tower = second;
    for _ in 0..10 {
        tower = Value::Array(vec![tower]);
    }
    let args = vec![
        json!("deep"),
        json!({"a": [[{"b": [first]}]]}),
        tower,
        third,
    ];
    let text = format!(
        r#"53-/bin,9["deep",{{"a":[[{{"b":[{p0}]}}]]}},{open}{p1}{close},{p2}]"#,
        p0 = placeholder(0),
        p1 = placeholder(1),
        p2 = placeholder(2),
        open = "[".repeat(10),
        close = "]".repeat(10),
    );
    (
        Packet::binary_event("/bin", args, attachments).with_ack_id(9),
        text,
    )
}

#[test]
fn nested_placeholders_round_trip() {
    let (packet, text) = deep_packet();
    let encoded = packet.encode();
    assert_eq!(encoded.text, text);
    assert_eq!(encoded.attachments.len(), 3);
    assert_eq!(decode(&encoded.text, &encoded.attachments), Ok(packet));
}

#[test]
fn replace_placeholders_reconstructs_in_place() {
    let (packet, _) = deep_packet();
    let PacketData::Event { args, attachments } = packet.data else {
        panic!("event expected");
    };
    let mut value = Value::Array(args.into_vec());
    replace_placeholders(&mut value, &attachments, |bytes| {
        json!(String::from_utf8_lossy(bytes))
    })
    .unwrap();
    let mut tower = json!("one");
    for _ in 0..10 {
        tower = Value::Array(vec![tower]);
    }
    assert_eq!(
        value,
        json!(["deep", {"a": [[{"b": ["zero"]}]]}, tower, "two"])
    );
}

#[test]
fn replace_placeholders_reports_bad_references() {
    let mut out_of_range = json!([placeholder(1)]);
    assert_eq!(
        replace_placeholders(&mut out_of_range, &[Bytes::new()], |_| Value::Null),
        Err(ParseError::PlaceholderOutOfRange { num: 1, count: 1 })
    );
    let mut malformed = json!({"x": {"_placeholder": true, "num": "0"}});
    assert_eq!(
        replace_placeholders(&mut malformed, &[Bytes::new()], |_| Value::Null),
        Err(ParseError::InvalidPlaceholder)
    );
    let mut plain = json!({"_placeholder": false});
    assert_eq!(
        replace_placeholders(&mut plain, &[], |_| Value::Null),
        Ok(())
    );
}

#[test]
fn binary_ack_with_nested_attachment() {
    let mut attachments = Vec::new();
    let data = attach(&mut attachments, Bytes::from_static(&[0xff, 0]));
    let packet = Packet::binary_ack(
        "/admin",
        456,
        vec![json!({"file": data, "ok": true})],
        attachments,
    );
    let encoded = packet.encode();
    assert_eq!(
        encoded.text,
        r#"61-/admin,456[{"file":{"_placeholder":true,"num":0},"ok":true}]"#
    );
    assert_eq!(decode(&encoded.text, &encoded.attachments), Ok(packet));
}
