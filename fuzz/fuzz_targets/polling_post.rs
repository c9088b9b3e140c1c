//! A long-polling POST through the engine service to a live echo session (plain and JSONP).
//! The checks live in `socketio::__fuzz::polling_post`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::polling_post(data));
