//! The Socket.IO server: namespaces, rooms, acks, concurrency, bad input, the protocol suite
//! ports, the chat and bench_server examples and the official JavaScript and Python clients.
//!
//! One test binary for these files (link time on two cores); each file is a module.

#[path = "../common/mod.rs"]
mod common;

mod example_bench_server;
mod example_chat;
mod interop_socketio_js;
mod interop_socketio_python;
mod socketio_bad_input;
mod socketio_concurrency;
mod socketio_protocol;
mod socketio_protocol_suite;
mod socketio_server;
