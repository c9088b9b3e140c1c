//! Packet → wire frames.

use std::fmt::Write as _;

use bytes::Bytes;
use serde_json::Value;

use super::packet::{Packet, PacketData, ROOT_NAMESPACE};
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
            text: self.encode_text(),
            attachments: self.attachments().to_vec(),
        }
    }

    /// Like [`encode`](Self::encode) but moves the attachments out.
    pub fn into_encoded(mut self) -> Encoded {
        let text = self.encode_text();
        let attachments = self
            .attachments_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        Encoded { text, attachments }
    }

    fn encode_text(&self) -> String {
        let mut out = String::with_capacity(64 + self.namespace.len());
        out.push(char::from(self.kind().digit()));
        let attachments = self.attachments();
        if !attachments.is_empty() {
            // Writing to a String cannot fail.
            let _ = write!(out, "{}-", attachments.len());
        }
        if !self.namespace.is_empty() && self.namespace != ROOT_NAMESPACE {
            out.push_str(&self.namespace);
            out.push(',');
        }
        if let Some(id) = self.ack_id {
            let _ = write!(out, "{id}");
        }
        match &self.data {
            PacketData::Connect(Some(value)) | PacketData::ConnectError(value) => {
                write_json(&mut out, value);
            }
            PacketData::Event { args, .. } | PacketData::Ack { args, .. } => {
                write_array(&mut out, args);
            }
            PacketData::Connect(None) | PacketData::Disconnect => {}
        }
        out
    }
}

/// Compact JSON straight into `out` (serde_json's `Display` is compact).
fn write_json(out: &mut String, value: &Value) {
    let _ = write!(out, "{value}");
}

fn write_array(out: &mut String, items: &[Value]) {
    out.push('[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_json(out, item);
    }
    out.push(']');
}

impl Packet {
    /// Encodes the packet once into the Engine.IO frames that carry it.
    pub(crate) fn into_frames(self) -> Frames {
        let Encoded { text, attachments } = self.into_encoded();
        let head = Frame::message(&text);
        if attachments.is_empty() {
            return Frames::One(head);
        }
        let frames: Vec<Frame> = std::iter::once(head)
            .chain(attachments.into_iter().map(Frame::Binary))
            .collect();
        Frames::Group(frames.into())
    }
}
