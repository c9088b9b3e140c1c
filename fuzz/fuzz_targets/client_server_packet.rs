//! WebSocket frames a client gets from a scripted server on 127.0.0.1.
//! The checks live in `socketio::__fuzz::client_server_packet`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::client_server_packet(data));
