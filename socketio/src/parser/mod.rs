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
//! # Raw arguments and key order
//!
//! A plain event fed to [`Decoder::feed_str`] keeps its arguments as slices of the frame
//! ([`Args`]): they are checked to be JSON but parsed only when read, and a handler that
//! passes them on writes them back as they came, key order and all. Arguments read as
//! [`serde_json::Value`]s keep the order of object keys only when serde_json's
//! `preserve_order` feature is enabled somewhere in the build (this crate enables it).

mod args;
pub(crate) mod binary;
mod decode;
mod depth;
mod encode;
mod error;
mod limits;
mod packet;
mod parse;
pub(crate) mod scan;
mod validate;

#[cfg(test)]
mod tests;

pub use args::Args;
pub use binary::{attach, placeholder, placeholder_index, replace_placeholders};
pub use decode::{DecodeStatus, Decoder};
pub use encode::Encoded;
pub(crate) use encode::event_or_ack_frames;
pub use error::ParseError;
pub use limits::ParserLimits;
pub use packet::{
    Packet, PacketData, PacketKind, RESERVED_EVENTS, ROOT_NAMESPACE, is_reserved_event,
};
