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

/// Where encoded text goes: bytes, which serde_json writes values into, or a `String`, when
/// every part is text already and nothing needs checking at the end.
pub(crate) trait TextOut {
    /// Appends text.
    fn put(&mut self, text: &str);
    /// Appends ASCII bytes.
    fn put_ascii(&mut self, ascii: &[u8]);
    /// Appends `value` as compact JSON.
    fn put_value(&mut self, value: &Value);
}

impl TextOut for Vec<u8> {
    fn put(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }

    fn put_ascii(&mut self, ascii: &[u8]) {
        self.extend_from_slice(ascii);
    }

    fn put_value(&mut self, value: &Value) {
        write_json(self, value);
    }
}

impl TextOut for String {
    fn put(&mut self, text: &str) {
        self.push_str(text);
    }

    fn put_ascii(&mut self, ascii: &[u8]) {
        // ASCII is UTF-8, so this always appends; the check is short for a few digits.
        if let Ok(text) = std::str::from_utf8(ascii) {
            self.push_str(text);
        }
    }

    fn put_value(&mut self, value: &Value) {
        self.push_str(&value.to_string());
    }
}

/// `<type>[<count>-][<namespace>,][<ack id>]`, what comes before a packet's JSON.
fn write_head(
    out: &mut impl TextOut,
    kind: PacketKind,
    attachments: usize,
    namespace: &str,
    ack_id: Option<u64>,
) {
    out.put_ascii(&[kind.digit()]);
    if attachments > 0 {
        push_decimal(out, attachments as u64);
        out.put_ascii(b"-");
    }
    if has_namespace(namespace) {
        out.put(namespace);
        out.put_ascii(b",");
    }
    if let Some(id) = ack_id {
        push_decimal(out, id);
    }
}

fn has_namespace(namespace: &str) -> bool {
    !namespace.is_empty() && namespace != ROOT_NAMESPACE
}

/// How many bytes [`write_head`] writes.
fn head_len(attachments: usize, namespace: &str, ack_id: Option<u64>) -> usize {
    let mut len = 1;
    if attachments > 0 {
        len += decimal_len(attachments as u64) + 1;
    }
    if has_namespace(namespace) {
        len += namespace.len() + 1;
    }
    len + ack_id.map_or(0, decimal_len)
}

fn decimal_len(value: u64) -> usize {
    value.checked_ilog10().map_or(1, |log| log as usize + 1)
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
    // The Engine.IO message prefix, the head and the arguments in brackets.
    let known = 1 + head_len(attachments.len(), namespace, ack_id) + 2;
    let text = match args.raw_json_len() {
        // All text already (arguments as the client sent them): a `String` of exactly the
        // right size becomes the frame's bytes as it is, with no check of its UTF-8 and no
        // allocation of its own for sharing them.
        Some(json) => {
            let mut text = String::with_capacity(known + json);
            write_args_frame(&mut text, kind, namespace, ack_id, args, attachments.len());
            text
        }
        None => {
            let mut text = Vec::with_capacity(known + 64);
            write_args_frame(&mut text, kind, namespace, ack_id, args, attachments.len());
            into_string(text)
        }
    };
    frames_of(text, attachments)
}

fn write_args_frame(
    out: &mut impl TextOut,
    kind: PacketKind,
    namespace: &str,
    ack_id: Option<u64>,
    args: &Args,
    attachments: usize,
) {
    out.put_ascii(b"4");
    write_head(out, kind, attachments, namespace, ack_id);
    out.put_ascii(b"[");
    args.write_json(out);
    out.put_ascii(b"]");
}

/// The message frame `text` (its Engine.IO prefix included), then one binary frame per
/// attachment.
fn frames_of(text: String, attachments: Vec<Bytes>) -> Frames {
    let head = Frame::Text(Str::from(text));
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
fn push_decimal(out: &mut impl TextOut, mut value: u64) {
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
    out.put_ascii(&digits[start..]);
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
        frames_of(into_string(text), attachments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_head_length_is_what_is_written() {
        for attachments in [0, 1, 9, 10, 12_345] {
            for namespace in ["", "/", "/admin", "/é"] {
                for ack_id in [None, Some(0), Some(9), Some(10), Some(u64::MAX)] {
                    let mut out = Vec::new();
                    write_head(&mut out, PacketKind::Event, attachments, namespace, ack_id);
                    assert_eq!(
                        head_len(attachments, namespace, ack_id),
                        out.len(),
                        "{attachments} {namespace} {ack_id:?}"
                    );
                }
            }
        }
    }

    /// Raw arguments are written into a `String` of exactly their frame's size, with the
    /// same text as values would give.
    #[test]
    fn raw_arguments_fill_their_buffer_exactly() {
        let text = r#"["echo",{"c":7,"p":"é"},[1,2]]"#;
        let spans = crate::parser::scan::plain_array(text, 32).unwrap();
        let mut raw = Args::from_raw(Vec::new(), Str::from(text), spans);
        raw.drop_first();
        let values = Args::from(vec![json!({"c":7,"p":"é"}), json!([1, 2])]);
        for (namespace, ack_id) in [("/", Some(12)), ("/chat", None), ("/chat", Some(0))] {
            let json = raw.raw_json_len().unwrap();
            let capacity = 1 + head_len(0, namespace, ack_id) + 2 + json;
            let mut exact = String::with_capacity(capacity);
            write_args_frame(&mut exact, PacketKind::Ack, namespace, ack_id, &raw, 0);
            assert_eq!(exact.len(), capacity);
            let mut bytes = Vec::new();
            write_args_frame(&mut bytes, PacketKind::Ack, namespace, ack_id, &values, 0);
            assert_eq!(exact, into_string(bytes));
        }
        assert_eq!(values.raw_json_len(), None);
        assert_eq!(Args::default().raw_json_len(), Some(0));
    }
}
