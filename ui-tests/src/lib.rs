//! Compile-pass and compile-fail cases for `#[socketio::on]` and `#[socketio::namespace]`,
//! run by `tests/ui.rs` with trybuild. Each failing case has a `.stderr` snapshot made by the
//! toolchain pinned in `rust-toolchain.toml`; regenerate them with `TRYBUILD=overwrite` and
//! read the diff.
