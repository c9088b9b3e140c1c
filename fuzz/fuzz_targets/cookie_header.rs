//! The Set-Cookie header of the sticky-session cookie.
//! The checks live in `socketio::__fuzz::cookie_header`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::cookie_header(data));
