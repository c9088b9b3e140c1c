//! The per-connection decoding state machine.

use bytes::Bytes;

use super::error::ParseError;
use super::limits::ParserLimits;
use super::packet::Packet;
use super::parse::{Parsed, parse_shared, parse_text};
use crate::engineio::Str;

/// Outcome of feeding a frame to a [`Decoder`].
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeStatus {
    /// A whole packet, attachments included.
    Complete(Packet),
    /// A binary packet header was read; this many binary frames must follow.
    Incomplete {
        /// Attachments still expected.
        remaining: usize,
    },
}

/// A binary packet waiting for its attachments.
#[derive(Debug)]
struct Pending {
    packet: Packet,
    expected: usize,
}

/// Reassembles packets from the text and binary frames of one connection.
///
/// Feed every Socket.IO text frame (Engine.IO `message` payload, without the
/// `4` prefix) to [`feed_text`](Self::feed_text) and every binary frame to
/// [`feed_binary`](Self::feed_binary). A text frame announcing `N` attachments
/// yields [`DecodeStatus::Incomplete`]; the packet is returned once the `N`-th
/// binary frame arrives. Any error resets the decoder to its idle state.
///
/// ```
/// use socketio::parser::{DecodeStatus, Decoder};
/// use bytes::Bytes;
///
/// let mut decoder = Decoder::new();
/// let status = decoder.feed_text(r#"51-["hello",{"_placeholder":true,"num":0}]"#).unwrap();
/// assert_eq!(status, DecodeStatus::Incomplete { remaining: 1 });
/// let DecodeStatus::Complete(packet) = decoder.feed_binary(Bytes::from_static(b"\x01")).unwrap() else {
///     panic!("expected a packet");
/// };
/// assert_eq!(packet.event_name().as_deref(), Some("hello"));
/// assert_eq!(packet.attachments(), [Bytes::from_static(b"\x01")]);
/// ```
#[derive(Debug, Default)]
pub struct Decoder {
    limits: ParserLimits,
    pending: Option<Pending>,
}

impl Decoder {
    /// A decoder with the default [`ParserLimits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with custom limits.
    pub fn with_limits(limits: ParserLimits) -> Self {
        Self {
            limits,
            pending: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &ParserLimits {
        &self.limits
    }

    /// Attachments still expected for the packet being assembled (0 when idle).
    pub fn remaining_attachments(&self) -> usize {
        self.pending.as_ref().map_or(0, |pending| {
            pending
                .expected
                .saturating_sub(pending.packet.attachments().len())
        })
    }

    /// Drops any partially assembled packet.
    pub fn reset(&mut self) {
        self.pending = None;
    }

    /// Decodes a text frame.
    ///
    /// Fails if the frame is malformed or if attachments of a previous packet
    /// are still expected.
    pub fn feed_text(&mut self, text: &str) -> Result<DecodeStatus, ParseError> {
        self.check_no_attachment_pending()?;
        let parsed = parse_text(text, &self.limits)?;
        self.accept(parsed)
    }

    /// Like [`feed_text`](Self::feed_text), for a frame held as [`Str`]: the arguments of a
    /// plain event stay slices of it, parsed only when read (see
    /// [`Args`](super::Args)).
    ///
    /// ```
    /// use socketio::engineio::Str;
    /// use socketio::parser::{DecodeStatus, Decoder};
    /// use serde_json::json;
    ///
    /// let mut decoder = Decoder::new();
    /// let frame = Str::from(r#"2["echo",{"b":1,"a":2}]"#);
    /// let DecodeStatus::Complete(packet) = decoder.feed_str(&frame).unwrap() else {
    ///     panic!("a whole packet");
    /// };
    /// assert_eq!(packet.event_name().as_deref(), Some("echo"));
    /// assert_eq!(packet.encode().text, r#"2["echo",{"b":1,"a":2}]"#);
    /// ```
    pub fn feed_str(&mut self, text: &Str) -> Result<DecodeStatus, ParseError> {
        self.check_no_attachment_pending()?;
        let parsed = parse_shared(text, &self.limits)?;
        self.accept(parsed)
    }

    /// A text frame while attachments are expected breaks the packet being assembled.
    fn check_no_attachment_pending(&mut self) -> Result<(), ParseError> {
        let remaining = self.remaining_attachments();
        if remaining > 0 {
            self.reset();
            return Err(ParseError::UnexpectedText { remaining });
        }
        Ok(())
    }

    fn accept(&mut self, parsed: Parsed) -> Result<DecodeStatus, ParseError> {
        if parsed.attachments == 0 {
            return Ok(DecodeStatus::Complete(parsed.packet));
        }
        let mut packet = parsed.packet;
        if let Some(attachments) = packet.attachments_mut() {
            attachments.reserve_exact(parsed.attachments);
        }
        self.pending = Some(Pending {
            packet,
            expected: parsed.attachments,
        });
        Ok(DecodeStatus::Incomplete {
            remaining: parsed.attachments,
        })
    }

    /// Adds a binary frame to the packet being assembled.
    ///
    /// Fails if no attachment is expected.
    pub fn feed_binary(&mut self, data: Bytes) -> Result<DecodeStatus, ParseError> {
        let Some(mut pending) = self.pending.take() else {
            return Err(ParseError::UnexpectedBinary);
        };
        let Some(attachments) = pending.packet.attachments_mut() else {
            // Only events and acks are ever pending.
            return Err(ParseError::UnexpectedBinary);
        };
        attachments.push(data);
        let remaining = pending.expected.saturating_sub(attachments.len());
        if remaining == 0 {
            return Ok(DecodeStatus::Complete(pending.packet));
        }
        self.pending = Some(pending);
        Ok(DecodeStatus::Incomplete { remaining })
    }
}
