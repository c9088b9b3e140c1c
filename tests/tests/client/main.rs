//! The Socket.IO client: features, reconnection, TLS, the blocking and simple clients, bad input
//! from servers, and client_probe against the official Node server.
//!
//! One test binary for these files (link time on two cores); each file is a module.

#[path = "../common/mod.rs"]
mod common;

mod client_bad_input;
mod client_blocking;
mod client_features;
mod client_probe;
mod client_reconnect;
mod client_tls;
