//! Event arguments deserialized into typed handler parameters.
//! The checks live in `socketio::__fuzz::typed_args`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::typed_args(data));
