//! The text/binary frame state machine.

use bytes::Bytes;
use serde_json::json;

use crate::parser::{DecodeStatus, Decoder, Packet, ParseError, ParserLimits, placeholder};

const TWO: &str = r#"52-["m",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#;

#[test]
fn assembles_attachments_in_order() {
    let mut decoder = Decoder::new();
    assert_eq!(decoder.remaining_attachments(), 0);
    assert_eq!(
        decoder.feed_text(TWO),
        Ok(DecodeStatus::Incomplete { remaining: 2 })
    );
    assert_eq!(decoder.remaining_attachments(), 2);
    assert_eq!(
        decoder.feed_binary(Bytes::from_static(b"first")),
        Ok(DecodeStatus::Incomplete { remaining: 1 })
    );
    assert_eq!(decoder.remaining_attachments(), 1);
    let expected = Packet::binary_event(
        "/",
        vec![json!("m"), placeholder(1), placeholder(0)],
        vec![Bytes::from_static(b"first"), Bytes::from_static(b"second")],
    );
    assert_eq!(
        decoder.feed_binary(Bytes::from_static(b"second")),
        Ok(DecodeStatus::Complete(expected))
    );
    assert_eq!(decoder.remaining_attachments(), 0);
    // Idle again: plain packets go straight through.
    assert!(matches!(
        decoder.feed_text(r#"2["x"]"#),
        Ok(DecodeStatus::Complete(_))
    ));
}

#[test]
fn binary_frame_when_idle_is_an_error() {
    let mut decoder = Decoder::new();
    assert_eq!(
        decoder.feed_binary(Bytes::new()),
        Err(ParseError::UnexpectedBinary)
    );
    assert!(matches!(
        decoder.feed_text(r#"2["x"]"#),
        Ok(DecodeStatus::Complete(_))
    ));
    assert_eq!(
        decoder.feed_binary(Bytes::new()),
        Err(ParseError::UnexpectedBinary)
    );
}

#[test]
fn extra_binary_frame_is_an_error() {
    let mut decoder = Decoder::new();
    decoder
        .feed_text(r#"51-["a",{"_placeholder":true,"num":0}]"#)
        .unwrap();
    assert!(matches!(
        decoder.feed_binary(Bytes::new()),
        Ok(DecodeStatus::Complete(_))
    ));
    assert_eq!(
        decoder.feed_binary(Bytes::new()),
        Err(ParseError::UnexpectedBinary)
    );
}

#[test]
fn text_frame_while_waiting_is_an_error_and_resets() {
    let mut decoder = Decoder::new();
    decoder.feed_text(TWO).unwrap();
    decoder.feed_binary(Bytes::new()).unwrap();
    assert_eq!(
        decoder.feed_text(r#"2["x"]"#),
        Err(ParseError::UnexpectedText { remaining: 1 })
    );
    assert_eq!(decoder.remaining_attachments(), 0);
    assert_eq!(
        decoder.feed_binary(Bytes::new()),
        Err(ParseError::UnexpectedBinary)
    );
    assert!(matches!(
        decoder.feed_text(r#"2["x"]"#),
        Ok(DecodeStatus::Complete(_))
    ));
}

#[test]
fn failed_text_frame_leaves_decoder_idle() {
    let mut decoder = Decoder::new();
    assert!(decoder.feed_text(r#"51-["a"]"#).is_err());
    assert_eq!(decoder.remaining_attachments(), 0);
    assert_eq!(
        decoder.feed_binary(Bytes::new()),
        Err(ParseError::UnexpectedBinary)
    );
}

#[test]
fn reset_drops_partial_packet() {
    let mut decoder = Decoder::new();
    decoder.feed_text(TWO).unwrap();
    decoder.reset();
    assert!(matches!(
        decoder.feed_text(r#"2["x"]"#),
        Ok(DecodeStatus::Complete(_))
    ));
}

#[test]
fn zero_attachment_binary_packet_completes_immediately() {
    let mut decoder = Decoder::new();
    assert_eq!(
        decoder.feed_text(r#"50-["hello"]"#),
        Ok(DecodeStatus::Complete(Packet::event(
            "/",
            vec![json!("hello")]
        )))
    );
}

#[test]
fn attachment_limit_is_configurable() {
    let limits = ParserLimits {
        max_attachments: 1,
        ..ParserLimits::default()
    };
    let mut decoder = Decoder::with_limits(limits);
    assert_eq!(decoder.limits(), &limits);
    assert_eq!(
        decoder.feed_text(TWO),
        Err(ParseError::TooManyAttachments { count: 2, max: 1 })
    );
    let text = format!(
        r#"510-["a",{}]"#,
        (0..10)
            .map(|n| placeholder(n).to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(
        Decoder::new().feed_text(&text),
        Ok(DecodeStatus::Incomplete { remaining: 10 })
    );
}
