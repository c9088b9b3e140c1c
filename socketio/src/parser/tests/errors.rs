//! Every malformed input must be rejected with the right error.

use bytes::Bytes;

use super::{decode, decode_text, decode_with};
use crate::parser::{PacketKind, ParseError, ParserLimits};

fn invalid(kind: PacketKind, reason: &'static str) -> ParseError {
    ParseError::InvalidPayload { kind, reason }
}

#[test]
fn header_errors() {
    use ParseError::*;
    let cases: Vec<(&str, ParseError)> = vec![
        ("", Empty),
        // Engine.IO `4abc`: Socket.IO payload `abc`.
        ("abc", UnknownPacketType('a')),
        ("7[\"a\"]", UnknownPacketType('7')),
        ("9", UnknownPacketType('9')),
        ("-1", UnknownPacketType('-')),
        ("\u{e9}", UnknownPacketType('\u{e9}')),
        // Binary packets need `<digits>-`.
        ("5", InvalidAttachmentCount),
        (r#"5["a"]"#, InvalidAttachmentCount),
        (r#"5-["a"]"#, InvalidAttachmentCount),
        (r#"51["a"]"#, InvalidAttachmentCount),
        (r#"5a-["a"]"#, InvalidAttachmentCount),
        (r#"6/admin,1-[]"#, InvalidAttachmentCount),
        (r#"511-["a"]"#, TooManyAttachments { count: 11, max: 10 }),
        (
            r#"59999999999-["a"]"#,
            TooManyAttachments {
                count: 9_999_999_999,
                max: 10,
            },
        ),
        (
            r#"512345678901-["a"]"#,
            AttachmentCountTooLong { max_digits: 10 },
        ),
        // Ack ids.
        (r#"212345678901["a"]"#, AckIdTooLong { max_digits: 10 }),
        (r#"3[]"#, MissingAckId(PacketKind::Ack)),
        (r#"3/admin,[]"#, MissingAckId(PacketKind::Ack)),
        (
            r#"61-[{"_placeholder":true,"num":0}]"#,
            MissingAckId(PacketKind::BinaryAck),
        ),
        (r#"012{}"#, UnexpectedAckId(PacketKind::Connect)),
        (r#"1/admin,3"#, UnexpectedAckId(PacketKind::Disconnect)),
        (
            r#"442["some","data"]"#,
            UnexpectedAckId(PacketKind::ConnectError),
        ),
    ];
    for (text, error) in cases {
        assert_eq!(decode_text(text), Err(error), "{text:?}");
    }
}

#[test]
fn ack_id_overflow_is_rejected_even_with_generous_limits() {
    let limits = ParserLimits {
        max_ack_id_digits: 40,
        ..ParserLimits::default()
    };
    assert_eq!(
        decode_with(limits, r#"218446744073709551616["a"]"#, &[]),
        Err(ParseError::AckIdOverflow)
    );
    assert_eq!(
        decode_with(limits, r#"218446744073709551615["a"]"#, &[])
            .unwrap()
            .ack_id,
        Some(u64::MAX)
    );
}

#[test]
fn payload_errors() {
    use PacketKind::*;
    use ParseError::*;
    let cases: Vec<(&str, ParseError)> = vec![
        // Engine.IO `42{}`: event payload must be an array.
        ("2{}", invalid(Event, "expected a JSON array")),
        ("2[]", invalid(Event, "event array is empty")),
        ("2", MissingPayload(Event)),
        ("2/admin,", MissingPayload(Event)),
        (r#"2/admin["a"]"#, MissingPayload(Event)),
        ("31", MissingPayload(Ack)),
        ("3/admin,1{}", invalid(Ack, "expected a JSON array")),
        ("0[]", invalid(Connect, "expected a JSON object")),
        (
            r#"0/admin,"invalid""#,
            invalid(Connect, "expected a JSON object"),
        ),
        ("0null", invalid(Connect, "expected a JSON object")),
        ("1/admin,{}", UnexpectedPayload(Disconnect)),
        ("1[]", UnexpectedPayload(Disconnect)),
        ("4", MissingPayload(ConnectError)),
        (
            "4[]",
            invalid(ConnectError, "expected a JSON object or string"),
        ),
        ("2/admin,{}", invalid(Event, "expected a JSON array")),
        (
            r#"2[{"toString":"foo"}]"#,
            invalid(Event, "event name must be a string or a number"),
        ),
        (
            r#"2[true,"foo"]"#,
            invalid(Event, "event name must be a string or a number"),
        ),
        (
            r#"2[null,"bar"]"#,
            invalid(Event, "event name must be a string or a number"),
        ),
        (
            r#"2[["a"]]"#,
            invalid(Event, "event name must be a string or a number"),
        ),
        (r#"50-[]"#, invalid(BinaryEvent, "event array is empty")),
        (
            r#"51-[{"_placeholder":true,"num":0}]"#,
            invalid(BinaryEvent, "event name must be a string or a number"),
        ),
    ];
    for (text, error) in cases {
        assert_eq!(decode_text(text), Err(error), "{text:?}");
    }
}

#[test]
fn reserved_event_names() {
    for name in crate::parser::RESERVED_EVENTS {
        let text = format!(r#"2["{name}","x"]"#);
        assert_eq!(
            decode_text(&text),
            Err(ParseError::ReservedEventName(name.to_owned())),
            "{text}"
        );
    }
    assert!(decode_text(r#"2["connection"]"#).is_ok());
}

#[test]
fn invalid_json_errors() {
    let cases = [
        // Engine.IO `42abc[...]`.
        r#"2abc["a"]"#,
        r#"2["some","data""#,
        r#"2/admin,"invalid"#,
        r#"2["a"]x"#,
        r#"2["a"]["b"]"#,
        r#"2["a"],"#,
        r#"2 "#,
        r#"0{"a":1}}"#,
        r#"0{a:1}"#,
        r#"2admin,["a"]"#,
        r#"4abc"#,
        "2[\"a\",1e]",
    ];
    for text in cases {
        assert!(
            matches!(decode_text(text), Err(ParseError::InvalidJson(_))),
            "{text:?}: {:?}",
            decode_text(text)
        );
    }
}

fn nested(depth: usize) -> String {
    // The event array is level 1; add `depth - 1` nested arrays.
    format!(
        r#"2["a",{}{}]"#,
        "[".repeat(depth - 1),
        "]".repeat(depth - 1)
    )
}

#[test]
fn depth_limit() {
    assert!(decode_text(&nested(32)).is_ok());
    assert_eq!(
        decode_text(&nested(33)),
        Err(ParseError::TooDeep { max: 32 })
    );
    assert_eq!(
        decode_text(&nested(5000)),
        Err(ParseError::TooDeep { max: 32 })
    );
    let objects = format!(r#"0{}{}"#, r#"{"a":"#.repeat(33), "}".repeat(33));
    assert_eq!(decode_text(&objects), Err(ParseError::TooDeep { max: 32 }));
    let limits = ParserLimits {
        max_depth: 2,
        ..ParserLimits::default()
    };
    assert!(decode_with(limits, &nested(2), &[]).is_ok());
    assert_eq!(
        decode_with(limits, &nested(3), &[]),
        Err(ParseError::TooDeep { max: 2 })
    );
}

#[test]
fn depth_scan_skips_strings() {
    let brackets = "[{".repeat(100);
    let text = format!(r#"2["{brackets}","\"{brackets}","\\",[1]]"#);
    let packet = decode_text(&text).unwrap();
    assert_eq!(packet.encode().text, text);
}

#[test]
fn placeholder_errors() {
    use ParseError::*;
    let one = [Bytes::from_static(b"x")];
    let two = [Bytes::from_static(b"x"), Bytes::from_static(b"y")];
    let cases: Vec<(&str, &[Bytes], ParseError)> = vec![
        (r#"51-["a"]"#, &one, UnreferencedAttachment(0)),
        (
            r#"51-["a",{"_placeholder":true,"num":1}]"#,
            &one,
            PlaceholderOutOfRange { num: 1, count: 1 },
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
            &one,
            InvalidPlaceholder,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":-1}]"#,
            &one,
            InvalidPlaceholder,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":0.5}]"#,
            &one,
            InvalidPlaceholder,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":0.0}]"#,
            &one,
            InvalidPlaceholder,
        ),
        (
            r#"51-["a",{"_placeholder":true}]"#,
            &one,
            InvalidPlaceholder,
        ),
        (
            r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#,
            &two,
            UnreferencedAttachment(1),
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":18446744073709551615}]"#,
            &one,
            PlaceholderOutOfRange {
                num: u64::MAX,
                count: 1,
            },
        ),
        // Placeholders in a packet without attachments.
        (
            r#"2["a",{"_placeholder":true,"num":0}]"#,
            &[],
            PlaceholderOutOfRange { num: 0, count: 0 },
        ),
        (
            r#"31[{"_placeholder":true,"num":0}]"#,
            &[],
            PlaceholderOutOfRange { num: 0, count: 0 },
        ),
        (
            r#"50-["a",{"_placeholder":true,"num":0}]"#,
            &[],
            PlaceholderOutOfRange { num: 0, count: 0 },
        ),
    ];
    for (text, attachments, error) in cases {
        // Placeholders are checked on the text frame, before any attachment.
        assert_eq!(decode(text, attachments), Err(error.clone()), "{text}");
        assert_eq!(decode_text(text), Err(error), "{text}");
    }
}

#[test]
fn errors_have_readable_messages() {
    assert_eq!(
        ParseError::TooManyAttachments { count: 11, max: 10 }.to_string(),
        "packet announces 11 attachments, limit is 10"
    );
    assert_eq!(
        ParseError::MissingAckId(PacketKind::BinaryAck).to_string(),
        "BINARY_ACK packet is missing its ack id"
    );
    assert_eq!(
        ParseError::ReservedEventName("connect".into()).to_string(),
        r#"event name "connect" is reserved"#
    );
}
