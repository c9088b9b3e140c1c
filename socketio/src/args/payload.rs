//! Event arguments as they travel: JSON values plus binary attachments.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::engineio::packet::Frames;
use crate::parser::{self, Args, Packet};

/// The arguments of an event or an ack.
///
/// Binary data stays out of the JSON: inside `args` it is a placeholder object
/// `{"_placeholder":true,"num":N}` that refers to `attachments[N]`. Use [`Payload::binary`]
/// (or [`parser::attach`]) to put bytes into an argument.
///
/// ```
/// use bytes::Bytes;
/// use serde_json::json;
/// use socketio::Payload;
///
/// let mut payload = Payload::from_args(vec![json!("report")]);
/// let data = payload.binary(Bytes::from_static(b"\x01\x02"));
/// payload.args.push(json!({ "file": data }));
/// assert_eq!(payload.attachments.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    /// The JSON arguments, in order. [`Args`] reads and changes like a `Vec<Value>`, and
    /// arguments nobody reads travel on as the JSON text they came as.
    pub args: Args,
    /// Binary attachments referred to by placeholders in `args`.
    pub attachments: Vec<Bytes>,
}

impl Payload {
    /// The ack an error travels as, the same from every side: `{"error": "<message>"}`.
    pub(crate) fn error_ack(error: &impl std::fmt::Display) -> Self {
        Payload::from_args(vec![serde_json::json!({ "error": error.to_string() })])
    }

    /// No arguments.
    pub fn empty() -> Self {
        Payload::default()
    }

    /// JSON arguments without binary data.
    pub fn from_args(args: impl Into<Args>) -> Self {
        Payload {
            args: args.into(),
            attachments: Vec::new(),
        }
    }

    /// One argument serialized with serde.
    pub fn json(value: impl Serialize) -> serde_json::Result<Self> {
        Ok(Payload::from_args(vec![serde_json::to_value(value)?]))
    }

    /// Adds `data` as an attachment and returns the placeholder to put into an argument.
    pub fn binary(&mut self, data: Bytes) -> Value {
        parser::attach(&mut self.attachments, data)
    }

    /// The event packet `[event, ...args]` for `namespace`.
    pub(crate) fn into_event(self, namespace: &str, event: &str) -> Packet {
        let mut args = self.args;
        args.prepend(Value::String(event.to_owned()));
        if self.attachments.is_empty() {
            Packet::event(namespace, args)
        } else {
            Packet::binary_event(namespace, args, self.attachments)
        }
    }

    /// The frames of the ack answering `ack_id`, encoded without building a packet.
    pub(crate) fn into_ack_frames(self, namespace: &str, ack_id: u64) -> Frames {
        parser::event_or_ack_frames(true, namespace, Some(ack_id), &self.args, self.attachments)
    }

    /// The ack packet answering `ack_id`.
    pub(crate) fn into_ack(self, namespace: &str, ack_id: u64) -> Packet {
        if self.attachments.is_empty() {
            Packet::ack(namespace, ack_id, self.args)
        } else {
            Packet::binary_ack(namespace, ack_id, self.args, self.attachments)
        }
    }
}

impl From<Vec<Value>> for Payload {
    fn from(args: Vec<Value>) -> Self {
        Payload::from_args(args)
    }
}
