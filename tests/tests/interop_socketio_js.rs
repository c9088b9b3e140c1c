//! The official Node client, `socket.io-client`, against the `/socket.io/` contract of the
//! `conformance` example: auth accepted and refused, auth echo, multiplexed namespaces,
//! events and acks with nested binary, large payloads, ordering, server acks, rooms, and
//! both kinds of disconnect, once per transport setup. The checks live in
//! `tests/js/socketio_client.mjs`.

mod common;

use std::process::Command;

fn socketio_client(transport: &str) {
    common::require_npm_package("socket.io-client");
    let server = common::spawn_example("conformance", &[]);
    let mut cmd = Command::new("node");
    cmd.arg("tests/js/socketio_client.mjs")
        .arg(server.url())
        .arg(transport);
    common::assert_script_passes(cmd, &format!("socketio_client.mjs {transport}"));
}

#[test]
fn polling_only() {
    socketio_client("polling");
}

#[test]
fn websocket_only() {
    socketio_client("websocket");
}

#[test]
fn polling_then_upgrade_to_websocket() {
    socketio_client("default");
}
