//! Text frame → packet (without its attachments yet).

use serde_json::Value;

use super::args::Args;
use super::binary::check_placeholders;
use super::depth::check_depth;
use super::error::ParseError;
use super::limits::ParserLimits;
use super::packet::{Packet, PacketData, PacketKind, ROOT_NAMESPACE, is_reserved_event};
use super::scan::plain_array;
use super::validate::{check_ack_id, packet_data};
use crate::engineio::Str;

/// A decoded text frame and the number of binary frames that must follow.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) packet: Packet,
    pub(crate) attachments: usize,
}

/// Parses `<type>[<count>-][<nsp>,][<id>][<json>]`.
///
/// For binary packets the placeholders are already checked against the
/// announced count; the attachment list of the returned packet is empty.
pub(crate) fn parse_text(text: &str, limits: &ParserLimits) -> Result<Parsed, ParseError> {
    parse(text, None, limits)
}

/// [`parse_text`] of a frame held as [`Str`]: the arguments of a plain event then stay as
/// slices of it, unparsed (see [`Args`]).
pub(crate) fn parse_shared(text: &Str, limits: &ParserLimits) -> Result<Parsed, ParseError> {
    parse(text.as_str(), Some(text), limits)
}

fn parse(text: &str, shared: Option<&Str>, limits: &ParserLimits) -> Result<Parsed, ParseError> {
    let first = *text.as_bytes().first().ok_or(ParseError::Empty)?;
    let kind = first
        .checked_sub(b'0')
        .and_then(PacketKind::from_u8)
        .ok_or_else(|| ParseError::UnknownPacketType(text.chars().next().unwrap_or('\0')))?;
    // Every delimiter is ASCII, so each slice below starts on a char boundary.
    let mut rest = &text[1..];

    let mut attachments = 0;
    if kind.is_binary() {
        let (count, after) = attachment_count(rest, limits)?;
        attachments = count;
        rest = after;
    }

    let mut namespace = ROOT_NAMESPACE;
    if rest.starts_with('/') {
        match rest.find(',') {
            Some(comma) => {
                namespace = &rest[..comma];
                rest = &rest[comma + 1..];
            }
            None => {
                namespace = rest;
                rest = "";
            }
        }
    }

    let (ack_id, rest) = ack_id(rest, limits)?;
    check_ack_id(kind, ack_id)?;

    let payload = if rest.is_empty() {
        None
    } else {
        if let Some(shared) = shared
            && kind == PacketKind::Event
            && let Some(args) = raw_event_args(shared, rest, limits.max_depth)
        {
            let packet = Packet {
                namespace: namespace.to_owned(),
                ack_id,
                data: PacketData::Event {
                    args: args?,
                    attachments: Vec::new(),
                },
            };
            return Ok(Parsed {
                packet,
                attachments: 0,
            });
        }
        check_depth(rest.as_bytes(), limits.max_depth)?;
        let value = serde_json::from_str::<Value>(rest)
            .map_err(|error| ParseError::InvalidJson(error.to_string()))?;
        Some(value)
    };
    let data = packet_data(kind, payload)?;
    let mut packet = Packet {
        namespace: namespace.to_owned(),
        ack_id,
        data,
    };

    // Non-binary packets must not contain placeholders either: every
    // placeholder handed to the upper layer refers to a real attachment.
    if let PacketData::Event { args, .. } | PacketData::Ack { args, .. } = &mut packet.data {
        check_placeholders(args, attachments)?;
    }
    Ok(Parsed {
        packet,
        attachments,
    })
}

/// Leading run of ASCII digits of `input`.
fn digits(input: &str) -> &str {
    let end = input
        .bytes()
        .position(|byte| !byte.is_ascii_digit())
        .unwrap_or(input.len());
    &input[..end]
}

/// Accumulates decimal digits, `None` on `u64` overflow.
fn to_u64(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |acc, byte| {
        acc.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
    })
}

/// Parses `<digits>-`, returning the count and what follows the dash.
fn attachment_count<'a>(
    input: &'a str,
    limits: &ParserLimits,
) -> Result<(usize, &'a str), ParseError> {
    let count = digits(input);
    if count.len() > ParserLimits::MAX_COUNT_DIGITS {
        return Err(ParseError::AttachmentCountTooLong {
            max_digits: ParserLimits::MAX_COUNT_DIGITS,
        });
    }
    let after = &input[count.len()..];
    let after = match after.strip_prefix('-') {
        Some(after) if !count.is_empty() => after,
        _ => return Err(ParseError::InvalidAttachmentCount),
    };
    let value = to_u64(count).ok_or(ParseError::InvalidAttachmentCount)?;
    match usize::try_from(value) {
        Ok(value) if value <= limits.max_attachments => Ok((value, after)),
        _ => Err(ParseError::TooManyAttachments {
            count: value,
            max: limits.max_attachments,
        }),
    }
}

/// Parses an optional ack id, returning it and what follows.
fn ack_id<'a>(input: &'a str, limits: &ParserLimits) -> Result<(Option<u64>, &'a str), ParseError> {
    let id = digits(input);
    if id.is_empty() {
        return Ok((None, input));
    }
    if id.len() > limits.max_ack_id_digits {
        return Err(ParseError::AckIdTooLong {
            max_digits: limits.max_ack_id_digits,
        });
    }
    let value = to_u64(id).ok_or(ParseError::AckIdOverflow)?;
    Ok((Some(value), &input[id.len()..]))
}

/// The arguments of a plain event as slices of `shared`, checked to be JSON, the event name
/// included (checked, not parsed). `None` when the full parse must decide (see
/// [`plain_array`], and names that are neither a plain string nor a number); `rest` is a
/// slice of `shared`.
fn raw_event_args(shared: &Str, rest: &str, max_depth: usize) -> Option<Result<Args, ParseError>> {
    let mut spans = plain_array(rest, max_depth)?;
    let name = &rest[spans.first()?.clone()];
    match name.as_bytes().first()? {
        b'"' => {
            let name = plain_string(name)?;
            if is_reserved_event(name) {
                return Some(Err(ParseError::ReservedEventName(name.to_owned())));
            }
        }
        b'-' | b'0'..=b'9' => {}
        _ => return None,
    }
    // `rest` is what follows the packet's head, so it ends where the frame ends.
    let offset = shared.len().saturating_sub(rest.len());
    for span in &mut spans {
        *span = span.start + offset..span.end + offset;
    }
    Some(Ok(Args::from_raw(Vec::new(), shared.clone(), spans)))
}

/// The text of a JSON string without escapes (`None` for other JSON).
pub(crate) fn plain_string(json: &str) -> Option<&str> {
    json.strip_prefix('"')?
        .strip_suffix('"')
        .filter(|text| !text.contains('\\'))
}
