//! Packet → wire frames.

use bytes::Bytes;
use serde_json::Value;

use super::args::Args;
use super::packet::{Packet, PacketData, PacketKind, ROOT_NAMESPACE};
use crate::engineio::Str;
use crate::engineio::packet::{Frame, Frames};

/// An encoded packet: one text frame followed by its binary frames.
///
/// The frames form a single unit: `text` first, then every element of
/// `attachments` in order, with no other frame of the same connection in
/// between (the peer's decoder rejects a text frame while attachments are
/// pending). For non-binary packets `attachments` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The text frame (without the Engine.IO `4` message prefix).
    pub text: String,
    /// Binary frames to send right after `text`.
    pub attachments: Vec<Bytes>,
}

impl Packet {
    /// Encodes the packet; attachments are cheaply cloned (`Bytes` is
    /// reference counted).
    ///
    /// The packet is written as given: the namespace should start with `/`
    /// and contain no `,`, and placeholders should match the attachments.
    /// JSON is compact; the text is built in a single `String`.
    ///
    /// ```
    /// use socketio::parser::Packet;
    /// use serde_json::json;
    ///
    /// let encoded = Packet::connect("/admin", Some(json!({ "sid": "abc" }))).encode();
    /// assert_eq!(encoded.text, r#"0/admin,{"sid":"abc"}"#);
    /// assert!(encoded.attachments.is_empty());
    /// ```
    pub fn encode(&self) -> Encoded {
        Encoded {
            text: into_string(self.text_bytes(Vec::with_capacity(self.text_capacity()))),
            attachments: self.attachments().to_vec(),
        }
    }

    /// Like [`encode`](Self::encode) but moves the attachments out.
    pub fn into_encoded(mut self) -> Encoded {
        let text = into_string(self.text_bytes(Vec::with_capacity(self.text_capacity())));
        let attachments = self
            .attachments_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        Encoded { text, attachments }
    }

    /// A first guess at the text's length, so that small packets need one allocation.
    fn text_capacity(&self) -> usize {
        64 + self.namespace.len()
    }

    /// Appends the text form to `out` and returns it. JSON goes through serde_json's writer
    /// straight into the bytes: its `Display` would pass every fragment through `fmt`.
    fn text_bytes(&self, mut out: Vec<u8>) -> Vec<u8> {
        let attachments = self.attachments().len();
        write_head(
            &mut out,
            self.kind(),
            attachments,
            &self.namespace,
            self.ack_id,
        );
        match &self.data {
            PacketData::Connect(Some(value)) | PacketData::ConnectError(value) => {
                write_json(&mut out, value);
            }
            PacketData::Event { args, .. } | PacketData::Ack { args, .. } => {
                out.push(b'[');
                args.write_json(&mut out);
                out.push(b']');
            }
            PacketData::Connect(None) | PacketData::Disconnect => {}
        }
        out
    }
}

/// `<type>[<count>-][<namespace>,][<ack id>]`, what comes before a packet's JSON.
fn write_head(
    out: &mut Vec<u8>,
    kind: PacketKind,
    attachments: usize,
    namespace: &str,
    ack_id: Option<u64>,
) {
    out.push(kind.digit());
    if attachments > 0 {
        push_decimal(out, attachments as u64);
        out.push(b'-');
    }
    if !namespace.is_empty() && namespace != ROOT_NAMESPACE {
        out.extend_from_slice(namespace.as_bytes());
        out.push(b',');
    }
    if let Some(id) = ack_id {
        push_decimal(out, id);
    }
}

/// The frames of an event (`ack_id` asks for an ack) or, with `is_ack`, of the ack answering
/// `ack_id`, written from their parts: no [`Packet`] is built, so the namespace is not
/// copied into one.
pub(crate) fn event_or_ack_frames(
    is_ack: bool,
    namespace: &str,
    ack_id: Option<u64>,
    args: &Args,
    attachments: Vec<Bytes>,
) -> Frames {
    let kind = match (is_ack, attachments.is_empty()) {
        (false, true) => PacketKind::Event,
        (false, false) => PacketKind::BinaryEvent,
        (true, true) => PacketKind::Ack,
        (true, false) => PacketKind::BinaryAck,
    };
    let mut text = Vec::with_capacity(1 + 64 + namespace.len());
    text.push(b'4');
    write_head(&mut text, kind, attachments.len(), namespace, ack_id);
    text.push(b'[');
    args.write_json(&mut text);
    text.push(b']');
    frames_of(text, attachments)
}

/// The message frame `text` (its Engine.IO prefix included), then one binary frame per
/// attachment.
fn frames_of(text: Vec<u8>, attachments: Vec<Bytes>) -> Frames {
    let head = Frame::Text(Str::from(into_string(text)));
    if attachments.is_empty() {
        return Frames::One(head);
    }
    let frames: Vec<Frame> = std::iter::once(head)
        .chain(attachments.into_iter().map(Frame::Binary))
        .collect();
    Frames::Group(frames.into())
}

/// Compact JSON appended to `out`. Writing a `Value` into a `Vec` cannot fail: its map keys
/// are strings, and a `Vec` takes every byte.
fn write_json(out: &mut Vec<u8>, value: &Value) {
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `value` in decimal, without going through `fmt`.
fn push_decimal(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// The text built by [`Packet::text_bytes`], which is UTF-8: ASCII, the namespace (a
/// `String`) and serde_json's output. The lossy path is never taken.
fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

impl Packet {
    /// Encodes the packet once into the Engine.IO frames that carry it.
    pub(crate) fn into_frames(mut self) -> Frames {
        // The Engine.IO message prefix first, so the frame is this buffer, not a copy of it.
        let mut text = Vec::with_capacity(1 + self.text_capacity());
        text.push(b'4');
        let text = self.text_bytes(text);
        let attachments = self
            .attachments_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        frames_of(text, attachments)
    }
}
