//! One message from the pub/sub bus.
//! The checks live in `socketio::__fuzz::bus_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::bus_message(data));
