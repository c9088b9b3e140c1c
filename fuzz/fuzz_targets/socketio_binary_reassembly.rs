//! Socket.IO text and binary frames reassembled by one decoder.
//! The checks live in `socketio::__fuzz::socketio_binary_reassembly`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::socketio_binary_reassembly(data));
