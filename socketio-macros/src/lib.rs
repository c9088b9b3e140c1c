//! Attribute macros for the `socketio` crate.
//!
//! The `#[socketio::on]` and `#[socketio::namespace]` attributes arrive with the macro issue;
//! this crate is a placeholder so the workspace layout is final from the start.
