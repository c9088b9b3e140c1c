//! python-socketio's `AsyncClient` against the `/socket.io/` contract of the `conformance`
//! example, once per transport setup. The checks live in `tests/python/socketio_client.py`.

use crate::common;

use common::Runtime;

fn socketio_client(arg: &str) {
    common::run_script_against_conformance(Runtime::Python, "tests/python/socketio_client.py", arg);
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
