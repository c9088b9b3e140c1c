//! The official Node client, `socket.io-client`, against the `/socket.io/` contract of the
//! `conformance` example: auth accepted and refused, auth echo, multiplexed namespaces,
//! events and acks with nested binary, large payloads, ordering, server acks, rooms, and
//! both kinds of disconnect, once per transport setup. The checks live in
//! `tests/js/socketio_client.mjs`.

use crate::common;

use common::Runtime;

fn socketio_client(arg: &str) {
    common::run_script_against_conformance(
        Runtime::Node {
            package: "socket.io-client",
        },
        "tests/js/socketio_client.mjs",
        arg,
    );
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
