//! One Socket.IO text frame.
//! The checks live in `socketio::__fuzz::socketio_packet`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::socketio_packet(data));
