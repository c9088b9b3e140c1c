//! Engine.IO: the protocol suite ports, features, bad input, the engine_echo example and the
//! official JavaScript and Python Engine.IO clients.
//!
//! One test binary for these files (link time on two cores); each file is a module.

#[path = "../common/mod.rs"]
mod common;

mod engine_bad_input;
mod engine_features;
mod engine_protocol;
mod example_engine_echo;
mod interop_engine_js;
mod interop_engine_python;
