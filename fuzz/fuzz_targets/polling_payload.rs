//! A long-polling POST body split into Engine.IO packets.
//! The checks live in `socketio::__fuzz::polling_payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::polling_payload(data));
