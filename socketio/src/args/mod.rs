//! Serde for event arguments whose binary data travels as attachments.
//!
//! Socket.IO keeps binary data out of the JSON of an event: each binary value is
//! replaced by a placeholder object `{"_placeholder":true,"num":N}` and sent as
//! attachment `N`. This module maps Rust values to and from that shape at any depth:
//!
//! * [`to_payload`] and [`to_arg`] serialize into [`serde_json::Value`]s. Whatever a
//!   `Serialize` implementation hands over as bytes (`Serializer::serialize_bytes`,
//!   which is what `bytes::Bytes` with the `serde` feature of `bytes` and
//!   `serde_bytes::ByteBuf` do) becomes an attachment, with a placeholder at its place.
//!   Everything else comes out exactly as `serde_json::to_value` would produce it.
//! * [`from_args`] and [`from_arg`] deserialize from those values. At a placeholder,
//!   the target receives the attachment's bytes; everywhere else they behave like
//!   deserializing from a `serde_json::Value`.
//!
//! A plain `Vec<u8>` or `&[u8]` serializes as a JSON array of numbers, as in
//! `serde_json`; wrap it (`serde_bytes::ByteBuf`, `bytes::Bytes`) to send it as binary.
//! On the way in, a `Vec<u8>` accepts both an attachment and an array of numbers.
//!
//! Binary data is only given to targets that ask for bytes, a sequence or "anything"
//! (`deserialize_any`); a `String` field receiving an attachment is a type error. One
//! catch: inside `#[serde(untagged)]` (and internally tagged or flattened) types, serde
//! buffers values and then lets a `String` accept UTF-8 bytes, so list a binary variant
//! before a string variant.

use std::fmt;

use bytes::Bytes;
use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, Expected, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use serde::ser::{self, Impossible, Serialize};
use serde::{Deserialize, forward_to_deserialize_any};
use serde_json::{Map, Number, Value};

use crate::parser::{attach, placeholder_index};

mod deserialize;
mod emit;
mod events;
mod payload;
mod serialize;
#[cfg(test)]
mod tests;

pub(crate) use deserialize::arg_at;
pub use deserialize::{Rest, from_arg, from_args};
pub(crate) use emit::decode_reply;
pub use emit::{
    AckError, DEFAULT_ACK_TIMEOUT, EmitError, Event, FromPayload, IntoPayload, WithTimeout,
};
pub use events::{Contains, EventSet, Typed, Undeclared};
pub use payload::Payload;
pub(crate) use serialize::to_ack;
pub use serialize::{to_arg, to_payload};

/// The key that marks an object as a binary placeholder.
const PLACEHOLDER_KEY: &str = "_placeholder";

/// The newtype name [`Rest`] asks for, so the argument list can recognise it.
const REST_TOKEN: &str = "$socketio::serde_binary::Rest";

/// What stands in for an argument the payload does not have.
static ABSENT: Value = Value::Null;

/// Why event arguments could not be serialized or deserialized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SerdeError {
    /// A type mismatch, or a message from a `Serialize` or `Deserialize` implementation.
    #[error("{0}")]
    Message(String),
    /// A map key that JSON cannot hold: keys must be strings, numbers, booleans,
    /// chars or unit enum variants.
    #[error("map key must be a string")]
    KeyMustBeString,
    /// A 128-bit integer outside the range of a JSON number (`i64` or `u64`).
    #[error("number out of range")]
    NumberOutOfRange,
    /// An object with `"_placeholder": true` but no non-negative integer `num`.
    #[error("invalid binary placeholder: `num` must be a non-negative integer")]
    InvalidPlaceholder,
    /// A placeholder that refers to an attachment the payload does not have.
    #[error("binary placeholder {num} out of range: {count} attachment(s)")]
    PlaceholderOutOfRange {
        /// The index the placeholder refers to.
        num: usize,
        /// How many attachments there are.
        count: usize,
    },
    /// An argument the target type needs is not in the payload.
    #[error("missing, expected {expected}")]
    Missing {
        /// What the target type expected, in serde's words.
        expected: String,
    },
    /// An error in one argument of [`from_args`].
    #[error("argument {index}: {error}")]
    Argument {
        /// The index of the argument in [`Payload::args`], starting at 0.
        index: usize,
        /// What went wrong with it.
        error: Box<SerdeError>,
    },
}

impl SerdeError {
    /// Attributes the error to argument `index`, unless it already names one.
    fn at(self, index: usize) -> SerdeError {
        match self {
            SerdeError::Argument { .. } => self,
            error => SerdeError::Argument {
                index,
                error: Box::new(error),
            },
        }
    }
}

impl ser::Error for SerdeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerdeError::Message(msg.to_string())
    }
}

impl de::Error for SerdeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerdeError::Message(msg.to_string())
    }
}

fn json_error(error: serde_json::Error) -> SerdeError {
    SerdeError::Message(error.to_string())
}
