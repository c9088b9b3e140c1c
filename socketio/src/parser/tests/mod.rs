//! Parser tests. Inputs are Socket.IO payloads, i.e. Engine.IO `message`
//! packets with their leading `4` already stripped.

mod binary;
mod decoder;
mod errors;
mod props;
mod vectors;

use bytes::Bytes;

use super::{DecodeStatus, Decoder, Packet, ParseError, ParserLimits};

/// Feeds `text` then `attachments` to a fresh decoder with `limits`.
fn decode_with(
    limits: ParserLimits,
    text: &str,
    attachments: &[Bytes],
) -> Result<Packet, ParseError> {
    let mut decoder = Decoder::with_limits(limits);
    let mut status = decoder.feed_text(text)?;
    for attachment in attachments {
        status = decoder.feed_binary(attachment.clone())?;
    }
    match status {
        DecodeStatus::Complete(packet) => Ok(packet),
        DecodeStatus::Incomplete { remaining } => {
            panic!("{remaining} attachment(s) still expected for {text:?}")
        }
    }
}

/// Decodes with the default limits.
fn decode(text: &str, attachments: &[Bytes]) -> Result<Packet, ParseError> {
    decode_with(ParserLimits::default(), text, attachments)
}

/// Decodes a frame that needs no attachment.
fn decode_text(text: &str) -> Result<Packet, ParseError> {
    decode(text, &[])
}
