//! Socket.IO v5 packet parser.
//!
//! This module turns [`Packet`]s into wire frames and back, following the
//! default Socket.IO parser format (protocol v5):
//!
//! ```text
//! <type>[<#attachments>-][<namespace>,][<ack id>][<JSON payload>]
//! ```
//!
//! followed, for `BINARY_EVENT` / `BINARY_ACK`, by one binary frame per
//! attachment.
//!
//! * Encoding: [`Packet::encode`] produces an [`Encoded`] value: one text frame
//!   plus zero or more binary frames that must be sent together, in order.
//! * Decoding: a [`Decoder`] (one per connection) is fed text and binary frames
//!   and yields a [`DecodeStatus`] telling whether a packet is complete.
//!
//! # Binary data
//!
//! Binary values never appear inside [`serde_json::Value`]. Instead an event or
//! ack carries its arguments with *placeholder* objects
//! (`{"_placeholder":true,"num":N}`) where binary data belongs, and a separate
//! `Vec<Bytes>` in which placeholder `N` refers to element `N`. The helpers
//! [`attach`], [`placeholder`], [`placeholder_index`] and
//! [`replace_placeholders`] build and resolve such trees.
//!
//! # Key order
//!
//! Payloads are kept as [`serde_json::Value`]. Object keys keep the order they
//! were received in only when serde_json's `preserve_order` feature is enabled
//! somewhere in the build; otherwise they are re-encoded sorted by key.

pub(crate) mod binary;
mod decode;
mod depth;
mod encode;
mod error;
mod limits;
mod packet;
mod parse;
mod validate;

#[cfg(test)]
mod tests;

pub use binary::{attach, placeholder, placeholder_index, replace_placeholders};
pub use decode::{DecodeStatus, Decoder};
pub use encode::Encoded;
pub use error::ParseError;
pub use limits::ParserLimits;
pub use packet::{
    Packet, PacketData, PacketKind, RESERVED_EVENTS, ROOT_NAMESPACE, is_reserved_event,
};
