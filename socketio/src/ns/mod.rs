//! Namespaces and their sockets.

pub(crate) mod ack;
pub(crate) mod namespace;
pub(crate) mod payload;
pub(crate) mod socket;
