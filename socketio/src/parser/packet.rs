//! The packet model.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde_json::{Number, Value};

use super::args::Args;

/// Name of the main namespace, which is omitted on the wire.
pub const ROOT_NAMESPACE: &str = "/";

/// Event names that Socket.IO reserves; incoming events with these names are
/// rejected by the decoder. `error` is on the list too: a client must not be able to fire
/// the server's error handling.
pub const RESERVED_EVENTS: [&str; 7] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "error",
    "newListener",
    "removeListener",
];

/// Whether `name` is one of the [`RESERVED_EVENTS`].
///
/// ```
/// assert!(socketio::parser::is_reserved_event("disconnect"));
/// assert!(!socketio::parser::is_reserved_event("chat"));
/// ```
pub fn is_reserved_event(name: &str) -> bool {
    RESERVED_EVENTS.contains(&name)
}

/// The seven Socket.IO packet types, with their wire digit as discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// `0`: connection to a namespace (request or acceptance).
    Connect = 0,
    /// `1`: disconnection from a namespace.
    Disconnect = 1,
    /// `2`: an event without binary attachments.
    Event = 2,
    /// `3`: an acknowledgement without binary attachments.
    Ack = 3,
    /// `4`: refusal of a namespace connection.
    ConnectError = 4,
    /// `5`: an event with binary attachments.
    BinaryEvent = 5,
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck = 6,
}

impl PacketKind {
    /// The numeric packet type.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The packet type for a numeric value, if it is one of 0 to 6.
    ///
    /// ```
    /// use socketio::parser::PacketKind;
    ///
    /// assert_eq!(PacketKind::from_u8(5), Some(PacketKind::BinaryEvent));
    /// assert_eq!(PacketKind::from_u8(7), None);
    /// ```
    pub const fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0 => Self::Connect,
            1 => Self::Disconnect,
            2 => Self::Event,
            3 => Self::Ack,
            4 => Self::ConnectError,
            5 => Self::BinaryEvent,
            6 => Self::BinaryAck,
            _ => return None,
        })
    }

    /// Whether packets of this type are followed by binary attachments.
    pub const fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }

    /// The protocol name of the type, e.g. `"BINARY_EVENT"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Connect => "CONNECT",
            Self::Disconnect => "DISCONNECT",
            Self::Event => "EVENT",
            Self::Ack => "ACK",
            Self::ConnectError => "CONNECT_ERROR",
            Self::BinaryEvent => "BINARY_EVENT",
            Self::BinaryAck => "BINARY_ACK",
        }
    }

    /// The ASCII digit written on the wire.
    pub(crate) const fn digit(self) -> u8 {
        b'0' + self as u8
    }
}

impl fmt::Display for PacketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The payload of a packet, one variant per kind of packet.
///
/// Plain and binary events (and acks) share a variant: a packet is binary
/// exactly when its `attachments` list is non-empty. Inside `args`, binary data
/// is represented by placeholder objects `{"_placeholder":true,"num":N}`
/// referring to `attachments[N]` (see [`attach`](super::attach) and
/// [`replace_placeholders`](super::replace_placeholders)).
#[derive(Debug, Clone, PartialEq)]
pub enum PacketData {
    /// `CONNECT`: optional object (auth data from the client, `{"sid":…}` from
    /// the server).
    Connect(Option<Value>),
    /// `DISCONNECT`: never carries data.
    Disconnect,
    /// `EVENT` / `BINARY_EVENT`.
    Event {
        /// Event name (string, or number as JavaScript allows) followed by the
        /// arguments.
        args: Args,
        /// Binary attachments referenced by placeholders in `args`.
        attachments: Vec<Bytes>,
    },
    /// `ACK` / `BINARY_ACK`.
    Ack {
        /// Acknowledgement arguments (possibly empty).
        args: Args,
        /// Binary attachments referenced by placeholders in `args`.
        attachments: Vec<Bytes>,
    },
    /// `CONNECT_ERROR`: an object such as `{"message":"Not authorized"}`, or a
    /// plain string from older peers.
    ConnectError(Value),
}

/// A Socket.IO packet.
///
/// The packet type is not stored but derived from [`data`](Self::data) (see
/// [`kind`](Self::kind)), so a packet cannot claim to be binary without
/// attachments or the reverse.
///
/// ```
/// use socketio::parser::{Packet, PacketKind};
/// use serde_json::json;
///
/// let packet = Packet::event("/admin", vec![json!("project:delete"), json!(123)]).with_ack_id(456);
/// assert_eq!(packet.kind(), PacketKind::Event);
/// assert_eq!(packet.encode().text, r#"2/admin,456["project:delete",123]"#);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// Namespace, starting with `/`; [`ROOT_NAMESPACE`] for the main one. Must
    /// not contain `,` (the encoder does not check).
    pub namespace: String,
    /// Acknowledgement id: optional on events, required on acks, absent
    /// otherwise.
    pub ack_id: Option<u64>,
    /// Type-specific payload.
    pub data: PacketData,
}

impl Packet {
    /// A packet without ack id.
    pub fn new(namespace: impl Into<String>, data: PacketData) -> Self {
        Self {
            namespace: namespace.into(),
            ack_id: None,
            data,
        }
    }

    /// A `CONNECT` packet with optional object payload.
    pub fn connect(namespace: impl Into<String>, data: Option<Value>) -> Self {
        Self::new(namespace, PacketData::Connect(data))
    }

    /// A `DISCONNECT` packet.
    pub fn disconnect(namespace: impl Into<String>) -> Self {
        Self::new(namespace, PacketData::Disconnect)
    }

    /// A `CONNECT_ERROR` packet.
    pub fn connect_error(namespace: impl Into<String>, data: Value) -> Self {
        Self::new(namespace, PacketData::ConnectError(data))
    }

    /// An `EVENT` packet; `args[0]` is the event name.
    pub fn event(namespace: impl Into<String>, args: impl Into<Args>) -> Self {
        Self::binary_event(namespace, args, Vec::new())
    }

    /// An event whose `args` contain placeholders for `attachments`; it is a
    /// `BINARY_EVENT` when `attachments` is non-empty.
    pub fn binary_event(
        namespace: impl Into<String>,
        args: impl Into<Args>,
        attachments: Vec<Bytes>,
    ) -> Self {
        let args = args.into();
        Self::new(namespace, PacketData::Event { args, attachments })
    }

    /// An `ACK` packet answering event `ack_id`.
    pub fn ack(namespace: impl Into<String>, ack_id: u64, args: impl Into<Args>) -> Self {
        Self::binary_ack(namespace, ack_id, args, Vec::new())
    }

    /// An ack whose `args` contain placeholders for `attachments`; it is a
    /// `BINARY_ACK` when `attachments` is non-empty.
    pub fn binary_ack(
        namespace: impl Into<String>,
        ack_id: u64,
        args: impl Into<Args>,
        attachments: Vec<Bytes>,
    ) -> Self {
        let args = args.into();
        Self::new(namespace, PacketData::Ack { args, attachments }).with_ack_id(ack_id)
    }

    /// The same packet with its ack id set.
    pub fn with_ack_id(mut self, ack_id: u64) -> Self {
        self.ack_id = Some(ack_id);
        self
    }

    /// The wire type of the packet, derived from its data.
    pub fn kind(&self) -> PacketKind {
        match &self.data {
            PacketData::Connect(_) => PacketKind::Connect,
            PacketData::Disconnect => PacketKind::Disconnect,
            PacketData::ConnectError(_) => PacketKind::ConnectError,
            PacketData::Event { attachments, .. } if attachments.is_empty() => PacketKind::Event,
            PacketData::Event { .. } => PacketKind::BinaryEvent,
            PacketData::Ack { attachments, .. } if attachments.is_empty() => PacketKind::Ack,
            PacketData::Ack { .. } => PacketKind::BinaryAck,
        }
    }

    /// The binary attachments (empty for non-binary packets).
    pub fn attachments(&self) -> &[Bytes] {
        match &self.data {
            PacketData::Event { attachments, .. } | PacketData::Ack { attachments, .. } => {
                attachments
            }
            _ => &[],
        }
    }

    /// Mutable access to the attachment list, for events and acks.
    pub(crate) fn attachments_mut(&mut self) -> Option<&mut Vec<Bytes>> {
        match &mut self.data {
            PacketData::Event { attachments, .. } | PacketData::Ack { attachments, .. } => {
                Some(attachments)
            }
            _ => None,
        }
    }

    /// The event name of an event packet.
    ///
    /// Like JavaScript, a numeric event name is accepted and turned into its
    /// decimal string (`1` and `1.0` both give `"1"`); `args[0]` itself keeps
    /// the number. Returns `None` for other packet types.
    ///
    /// ```
    /// use socketio::parser::Packet;
    /// use serde_json::json;
    ///
    /// assert_eq!(Packet::event("/", vec![json!("hello")]).event_name().as_deref(), Some("hello"));
    /// assert_eq!(Packet::event("/", vec![json!(7)]).event_name().as_deref(), Some("7"));
    /// ```
    pub fn event_name(&self) -> Option<Cow<'_, str>> {
        let PacketData::Event { args, .. } = &self.data else {
            return None;
        };
        match args.first()? {
            Value::String(name) => Some(Cow::Borrowed(name)),
            Value::Number(number) => Some(Cow::Owned(js_number_string(number))),
            _ => None,
        }
    }
}

/// Decimal form of a JSON number as JavaScript's `String(n)` would print it
/// for the common cases (integers, including integral floats below 1e21, and
/// short decimals). Exotic floats may differ in exponent notation.
fn js_number_string(number: &Number) -> String {
    if let Some(value) = number.as_i64() {
        return value.to_string();
    }
    if let Some(value) = number.as_u64() {
        return value.to_string();
    }
    match number.as_f64() {
        Some(value) if value.fract() == 0.0 && value.abs() < 1e21 => (value as i128).to_string(),
        _ => number.to_string(),
    }
}
