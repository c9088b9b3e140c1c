//! python-socketio's `AsyncClient` against the `/socket.io/` contract of the `conformance`
//! example, once per transport setup. The checks live in `tests/python/socketio_client.py`.

mod common;

use std::process::Command;

fn socketio_client(transport: &str) {
    let python = common::require_venv_python();
    let server = common::spawn_example("conformance", &[]);
    let mut cmd = Command::new(python);
    cmd.arg("tests/python/socketio_client.py")
        .arg(server.url())
        .arg(transport);
    common::assert_script_passes(cmd, &format!("socketio_client.py {transport}"));
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
