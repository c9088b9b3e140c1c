//! A request path resolved against static-file rules.
//! The checks live in `socketio::__fuzz::static_path`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::static_path(data));
