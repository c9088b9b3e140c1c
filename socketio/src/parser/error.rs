//! The single error type of the parser.

use super::packet::PacketKind;

/// Why a frame could not be decoded.
///
/// Every variant means the peer sent something outside the protocol; the
/// usual reaction is to close the connection. After returning an error the
/// [`Decoder`](super::Decoder) is back in its idle state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text frame was empty.
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type digit between 0 and 6.
    #[error("unknown packet type {0:?}")]
    UnknownPacketType(char),
    /// A binary packet does not start with `<digits>-`.
    #[error("malformed attachment count in binary packet")]
    InvalidAttachmentCount,
    /// The attachment count has more digits than allowed.
    #[error("attachment count has more than {max_digits} digits")]
    AttachmentCountTooLong {
        /// Maximum number of digits accepted.
        max_digits: usize,
    },
    /// The packet announces more attachments than the configured limit.
    #[error("packet announces {count} attachments, limit is {max}")]
    TooManyAttachments {
        /// Announced attachment count.
        count: u64,
        /// Configured limit.
        max: usize,
    },
    /// The acknowledgement id has more digits than allowed.
    #[error("ack id has more than {max_digits} digits")]
    AckIdTooLong {
        /// Maximum number of digits accepted.
        max_digits: usize,
    },
    /// The acknowledgement id does not fit in a `u64`.
    #[error("ack id does not fit in 64 bits")]
    AckIdOverflow,
    /// An `ACK` / `BINARY_ACK` packet carries no ack id.
    #[error("{0} packet is missing its ack id")]
    MissingAckId(PacketKind),
    /// A packet type that never carries an ack id has one.
    #[error("{0} packet must not carry an ack id")]
    UnexpectedAckId(PacketKind),
    /// The JSON payload is nested deeper than allowed.
    #[error("JSON payload is nested deeper than {max} levels")]
    TooDeep {
        /// Configured maximum depth.
        max: usize,
    },
    /// The payload is not valid JSON (this includes trailing garbage).
    #[error("invalid JSON payload: {0}")]
    InvalidJson(String),
    /// The packet type requires a payload but none was given.
    #[error("{0} packet requires a payload")]
    MissingPayload(PacketKind),
    /// The packet type forbids a payload but one was given.
    #[error("{0} packet must not carry a payload")]
    UnexpectedPayload(PacketKind),
    /// The payload has the wrong shape for the packet type.
    #[error("invalid {kind} payload: {reason}")]
    InvalidPayload {
        /// Packet type being decoded.
        kind: PacketKind,
        /// What is wrong with the payload.
        reason: &'static str,
    },
    /// The event name is reserved by Socket.IO (see [`RESERVED_EVENTS`](super::RESERVED_EVENTS)).
    #[error("event name {0:?} is reserved")]
    ReservedEventName(String),
    /// A placeholder object is malformed (its `num` is not a non-negative integer).
    #[error("malformed binary placeholder: `num` must be a non-negative integer")]
    InvalidPlaceholder,
    /// A placeholder refers to an attachment that does not exist.
    #[error("placeholder refers to attachment {num} but the packet has {count}")]
    PlaceholderOutOfRange {
        /// Index found in the placeholder.
        num: u64,
        /// Number of attachments of the packet.
        count: usize,
    },
    /// An announced attachment is not referenced by any placeholder.
    #[error("attachment {0} is not referenced by any placeholder")]
    UnreferencedAttachment(usize),
    /// A binary frame arrived while no attachment was expected.
    #[error("unexpected binary frame: no attachment is expected")]
    UnexpectedBinary,
    /// A text frame arrived while attachments of a previous packet were expected.
    #[error("unexpected text frame: {remaining} attachment(s) still expected")]
    UnexpectedText {
        /// Attachments that were still missing.
        remaining: usize,
    },
}
