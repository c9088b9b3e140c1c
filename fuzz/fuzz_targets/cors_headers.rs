//! Request headers under each CORS policy, through the engine service.
//! The checks live in `socketio::__fuzz::cors_headers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::cors_headers(data));
