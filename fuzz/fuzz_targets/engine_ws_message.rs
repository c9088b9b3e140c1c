//! WebSocket messages of a live session handed to the engine.
//! The checks live in `socketio::__fuzz::engine_ws_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio::__fuzz::engine_ws_message(data));
