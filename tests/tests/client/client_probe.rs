//! The `client_probe` example (docs/PROGRAMS.md, `client_probe`) against three servers with the `/`,
//! `/custom`, `/chat` contract — the official Node `socket.io` server, a python-socketio server
//! and our own `conformance` example — over polling, WebSocket and the upgrade. This test is
//! the probe's runner: on `RESTART-SERVER` it kills the server's process group with SIGKILL,
//! waits 0.5 s and starts the server again on the same port, so all 16 checks must pass.

use crate::common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long one probe run may take, restart included.
const PROBE_LIMIT: Duration = Duration::from_secs(90);

/// A server program with the contract, started in its own process group.
#[derive(Clone, Copy)]
enum Server {
    Node,
    Python,
    Conformance,
}

impl Server {
    fn command(self, port: u16) -> Command {
        let mut cmd = match self {
            Server::Node => {
                common::require_npm_package("socket.io");
                let mut cmd = Command::new("node");
                cmd.arg("tests/js/contract_server.mjs");
                cmd
            }
            Server::Python => {
                let mut cmd = Command::new(common::require_venv_python());
                cmd.arg("tests/python/contract_server.py");
                cmd
            }
            Server::Conformance => Command::new(common::example_binary("conformance")),
        };
        cmd.current_dir(common::workspace_root())
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        cmd
    }

    /// Starts the server on `port` (0: any) and waits for its ready line.
    fn start(self, port: u16) -> Started {
        let mut child = self
            .command(port)
            .spawn()
            .expect("start the contract server");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let running = Running { child };
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server printed its ready line within 30 s");
        let addr: SocketAddr = line
            .rsplit(' ')
            .next()
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in the ready line {line:?}"));
        Started { running, addr }
    }
}

/// A started server; its whole process group is killed when dropped.
struct Running {
    child: Child,
}

/// A server that printed its address.
struct Started {
    running: Running,
    addr: SocketAddr,
}

impl Running {
    /// SIGKILL to the process group: no close frame, no DISCONNECT.
    fn kill(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the probe against `server` over `transport`, restarting the server when asked, and
/// returns everything the probe printed.
fn run_probe(server: Server, transport: &str) -> String {
    let mut started = server.start(0);
    let port = started.addr.port();
    let mut probe = Command::new(common::example_binary("client_probe"))
        .args(["--url", &format!("http://{}", started.addr)])
        .args(["--transport", transport])
        .env("PROBE_RESTART", "line")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start client_probe");
    let stdout = probe.stdout.take().expect("piped stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = std::time::Instant::now() + PROBE_LIMIT;
    let mut output = String::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                output.push_str(&line);
                output.push('\n');
                if line == "RESTART-SERVER" {
                    started.running.kill();
                    std::thread::sleep(Duration::from_millis(500));
                    started = server.start(port);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = probe.kill();
                panic!("client_probe did not finish within {PROBE_LIMIT:?}:\n{output}");
            }
        }
    }
    let _ = probe.wait();
    drop(started);
    output
}

fn assert_all_pass(server: Server, name: &str) {
    for transport in ["polling", "websocket", "default"] {
        let output = run_probe(server, transport);
        let last = output.lines().last().unwrap_or_default();
        assert_eq!(
            last, "16 passed, 0 failed",
            "client_probe --transport {transport} against {name}:\n{output}"
        );
        assert!(
            output.contains("RESTART-SERVER"),
            "the probe asked for a restart:\n{output}"
        );
    }
}

#[test]
fn against_the_official_node_server() {
    assert_all_pass(Server::Node, "the Node socket.io server");
}

#[test]
fn against_python_socketio() {
    assert_all_pass(Server::Python, "the python-socketio server");
}

#[test]
fn against_our_conformance_example() {
    assert_all_pass(Server::Conformance, "the conformance example");
}
