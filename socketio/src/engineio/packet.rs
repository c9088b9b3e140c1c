//! Engine.IO v4 packets: pure encoding and decoding, no I/O.
//!
//! A text packet is one type digit followed by its payload (`4hello`). Binary messages travel
//! as WebSocket binary frames, or as `b<base64>` inside a long-polling payload.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{BufMut, Bytes, BytesMut};

use super::str::Str;

/// One decoded Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Packet {
    /// `0` + handshake JSON. Only the server sends it.
    Open(Str),
    /// `1`: the peer closes the session.
    Close,
    /// `2` + optional payload (`probe` during an upgrade).
    Ping(Str),
    /// `3` + optional payload (`probe` during an upgrade).
    Pong(Str),
    /// `4` + text message.
    Message(Str),
    /// A binary message.
    Binary(Bytes),
    /// `5`: the client switches to the probed WebSocket.
    Upgrade,
    /// `6`: does nothing; used to end a pending poll.
    Noop,
}

/// Why a packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PacketError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    #[error("invalid base64 in binary packet")]
    InvalidBase64,
    #[error("packet is not valid UTF-8")]
    InvalidUtf8,
}

/// A packet encoded for the wire. Cloning shares the bytes, so one frame can be queued on many
/// connections without copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// The whole text packet, type digit included.
    Text(Str),
    /// A binary message, without any prefix.
    Binary(Bytes),
}

impl Frame {
    pub(crate) const PING: Frame = Frame::Text(Str::from_static("2"));
    pub(crate) const CLOSE: Frame = Frame::Text(Str::from_static("1"));
    pub(crate) const NOOP: Frame = Frame::Text(Str::from_static("6"));
    pub(crate) const PONG_PROBE: Frame = Frame::Text(Str::from_static("3probe"));

    /// A `4<text>` message frame.
    pub(crate) fn message(text: &str) -> Frame {
        let mut buf = String::with_capacity(text.len() + 1);
        buf.push('4');
        buf.push_str(text);
        Frame::Text(Str::from(buf))
    }

    /// Length of this frame inside a long-polling payload.
    pub(crate) fn polling_len(&self) -> usize {
        match self {
            Frame::Text(text) => text.len(),
            Frame::Binary(data) => 1 + base64::encoded_len(data.len(), true).unwrap_or(0),
        }
    }

    /// Appends this frame as it appears in a long-polling payload.
    pub(crate) fn write_polling(&self, out: &mut BytesMut) {
        match self {
            Frame::Text(text) => out.put_slice(text.as_bytes()),
            Frame::Binary(data) => {
                out.put_u8(b'b');
                let start = out.len();
                let encoded_len = base64::encoded_len(data.len(), true).unwrap_or(0);
                out.resize(start + encoded_len, 0);
                // The buffer was sized by `encoded_len`, so encoding cannot run out of space.
                let written = BASE64
                    .encode_slice(data, &mut out[start..])
                    .unwrap_or_default();
                out.truncate(start + written);
            }
        }
    }

    /// True for the close frame, which ends a session's outbound stream.
    pub(crate) fn is_close(&self) -> bool {
        matches!(self, Frame::Text(text) if text.as_bytes().as_ref() == b"1")
    }
}

impl Packet {
    /// Decodes a text packet. `polling` allows the `b<base64>` form of binary messages.
    pub(crate) fn decode_text(text: Str, polling: bool) -> Result<Packet, PacketError> {
        let kind = text.chars().next().ok_or(PacketError::Empty)?;
        let payload = || text.slice_from(1).unwrap_or_default();
        Ok(match kind {
            '0' => Packet::Open(payload()),
            '1' => Packet::Close,
            '2' => Packet::Ping(payload()),
            '3' => Packet::Pong(payload()),
            '4' => Packet::Message(payload()),
            '5' => Packet::Upgrade,
            '6' => Packet::Noop,
            'b' if polling => Packet::Binary(
                BASE64
                    .decode(&text.as_bytes()[1..])
                    .map_err(|_| PacketError::InvalidBase64)?
                    .into(),
            ),
            other => return Err(PacketError::UnknownType(other)),
        })
    }

    /// Decodes raw bytes of a text packet, checking UTF-8 first.
    pub(crate) fn decode_text_bytes(bytes: Bytes, polling: bool) -> Result<Packet, PacketError> {
        let text = Str::from_utf8(bytes).map_err(|_| PacketError::InvalidUtf8)?;
        Packet::decode_text(text, polling)
    }

    /// Encodes this packet as a wire frame.
    pub(crate) fn encode(&self) -> Frame {
        let with_type = |kind: char, payload: &Str| {
            let mut buf = String::with_capacity(payload.len() + 1);
            buf.push(kind);
            buf.push_str(payload);
            Frame::Text(Str::from(buf))
        };
        match self {
            Packet::Open(json) => with_type('0', json),
            Packet::Close => Frame::CLOSE,
            Packet::Ping(data) => with_type('2', data),
            Packet::Pong(data) => with_type('3', data),
            Packet::Message(text) => with_type('4', text),
            Packet::Binary(data) => Frame::Binary(data.clone()),
            Packet::Upgrade => Frame::Text(Str::from_static("5")),
            Packet::Noop => Frame::NOOP,
        }
    }
}

/// Frames that go out together: one frame, or a binary Socket.IO packet's text frame and its
/// attachments, which must not be split. Encoded once, shared by every recipient.
#[derive(Debug, Clone)]
pub(crate) enum Frames {
    One(Frame),
    /// A binary packet: its text frame and attachments, which must stay together.
    Group(std::sync::Arc<[Frame]>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(text: &str) -> Result<Packet, PacketError> {
        Packet::decode_text(Str::from(text), true)
    }

    #[test]
    fn decodes_every_type() {
        let cases: &[(&str, Packet)] = &[
            ("0{}", Packet::Open(Str::from("{}"))),
            ("1", Packet::Close),
            ("2", Packet::Ping(Str::default())),
            ("2probe", Packet::Ping(Str::from("probe"))),
            ("3probe", Packet::Pong(Str::from("probe"))),
            ("4hello", Packet::Message(Str::from("hello"))),
            ("4", Packet::Message(Str::default())),
            ("4héllo", Packet::Message(Str::from("héllo"))),
            ("5", Packet::Upgrade),
            ("6", Packet::Noop),
            (
                "bAQIDBA==",
                Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            ),
            ("b", Packet::Binary(Bytes::new())),
        ];
        for (wire, expected) in cases {
            assert_eq!(&decode(wire).unwrap(), expected, "decoding {wire:?}");
        }
    }

    #[test]
    fn rejects_bad_packets() {
        assert_eq!(decode(""), Err(PacketError::Empty));
        assert_eq!(decode("abc"), Err(PacketError::UnknownType('a')));
        assert_eq!(decode("7"), Err(PacketError::UnknownType('7')));
        assert_eq!(decode("b!!!"), Err(PacketError::InvalidBase64));
        assert_eq!(
            Packet::decode_text(Str::from("bAQIDBA=="), false),
            Err(PacketError::UnknownType('b'))
        );
        assert_eq!(
            Packet::decode_text_bytes(Bytes::from_static(&[b'4', 0xff]), false),
            Err(PacketError::InvalidUtf8)
        );
    }

    #[test]
    fn encodes_exact_bytes() {
        assert_eq!(Frame::message("hi"), Frame::Text(Str::from("4hi")));
        assert_eq!(Packet::Pong(Str::from("probe")).encode(), Frame::PONG_PROBE);
        assert_eq!(Packet::Upgrade.encode(), Frame::Text(Str::from("5")));
        let mut out = BytesMut::new();
        Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])).write_polling(&mut out);
        assert_eq!(&out[..], b"bAQIDBA==");
        assert_eq!(
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])).polling_len(),
            9
        );
        assert!(Frame::CLOSE.is_close());
        assert!(!Frame::message("1").is_close());
    }

    fn any_packet() -> impl Strategy<Value = Packet> {
        let text = any::<String>().prop_map(Str::from);
        prop_oneof![
            text.clone().prop_map(Packet::Open),
            Just(Packet::Close),
            text.clone().prop_map(Packet::Ping),
            text.clone().prop_map(Packet::Pong),
            text.prop_map(Packet::Message),
            any::<Vec<u8>>().prop_map(|b| Packet::Binary(b.into())),
            Just(Packet::Upgrade),
            Just(Packet::Noop),
        ]
    }

    proptest! {
        #[test]
        fn polling_round_trip(packet in any_packet()) {
            let mut out = BytesMut::new();
            packet.encode().write_polling(&mut out);
            let decoded = Packet::decode_text_bytes(out.freeze(), true).unwrap();
            prop_assert_eq!(decoded, packet);
        }

        #[test]
        fn websocket_round_trip(packet in any_packet()) {
            let decoded = match packet.encode() {
                Frame::Text(text) => Packet::decode_text(text, false).unwrap(),
                Frame::Binary(data) => Packet::Binary(data),
            };
            prop_assert_eq!(decoded, packet);
        }

        #[test]
        fn decoding_never_panics(bytes in any::<Vec<u8>>(), polling in any::<bool>()) {
            let _ = Packet::decode_text_bytes(bytes.into(), polling);
        }
    }
}
