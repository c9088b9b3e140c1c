//! Per-type payload and ack id rules applied to decoded packets.

use serde_json::Value;

use super::error::ParseError;
use super::packet::{PacketData, PacketKind, is_reserved_event};

/// Builds the packet data for `kind` from the parsed payload, enforcing the
/// shape each type requires.
pub(crate) fn packet_data(
    kind: PacketKind,
    payload: Option<Value>,
) -> Result<PacketData, ParseError> {
    match (kind, payload) {
        (PacketKind::Connect, None) => Ok(PacketData::Connect(None)),
        (PacketKind::Connect, Some(value @ Value::Object(_))) => {
            Ok(PacketData::Connect(Some(value)))
        }
        (PacketKind::Connect, Some(_)) => Err(invalid(kind, "expected a JSON object")),
        (PacketKind::Disconnect, None) => Ok(PacketData::Disconnect),
        (PacketKind::Disconnect, Some(_)) => Err(ParseError::UnexpectedPayload(kind)),
        (PacketKind::ConnectError, Some(value @ (Value::Object(_) | Value::String(_)))) => {
            Ok(PacketData::ConnectError(value))
        }
        (PacketKind::ConnectError, Some(_)) => {
            Err(invalid(kind, "expected a JSON object or string"))
        }
        (PacketKind::Event | PacketKind::BinaryEvent, Some(Value::Array(args))) => {
            check_event_name(kind, &args)?;
            Ok(PacketData::Event {
                args: args.into(),
                attachments: Vec::new(),
            })
        }
        (PacketKind::Ack | PacketKind::BinaryAck, Some(Value::Array(args))) => {
            Ok(PacketData::Ack {
                args: args.into(),
                attachments: Vec::new(),
            })
        }
        (_, None) => Err(ParseError::MissingPayload(kind)),
        (_, Some(_)) => Err(invalid(kind, "expected a JSON array")),
    }
}

/// The first argument must be a string that is not reserved, or a number.
fn check_event_name(kind: PacketKind, args: &[Value]) -> Result<(), ParseError> {
    match args.first() {
        None => Err(invalid(kind, "event array is empty")),
        Some(Value::String(name)) if is_reserved_event(name) => {
            Err(ParseError::ReservedEventName(name.clone()))
        }
        Some(Value::String(_) | Value::Number(_)) => Ok(()),
        Some(_) => Err(invalid(kind, "event name must be a string or a number")),
    }
}

/// Acks need an id; connection-level packets must not have one.
pub(crate) fn check_ack_id(kind: PacketKind, ack_id: Option<u64>) -> Result<(), ParseError> {
    match (kind, ack_id) {
        (PacketKind::Ack | PacketKind::BinaryAck, None) => Err(ParseError::MissingAckId(kind)),
        (PacketKind::Connect | PacketKind::Disconnect | PacketKind::ConnectError, Some(_)) => {
            Err(ParseError::UnexpectedAckId(kind))
        }
        _ => Ok(()),
    }
}

fn invalid(kind: PacketKind, reason: &'static str) -> ParseError {
    ParseError::InvalidPayload { kind, reason }
}
