//! Namespaces and their sockets.

pub(crate) mod ack;
pub(crate) mod namespace;
pub(crate) mod socket;
