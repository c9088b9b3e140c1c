//! One Engine.IO packet (polling segment or WebSocket text frame).
//! The checks live in `socketio::__fuzz::engine_packet`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::engine_packet(data));
