//! Shared helpers for the integration tests: start example programs, find the installed
//! npm packages and the Python virtualenv.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The workspace root (the parent of this package's directory).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `target/<profile>`: the directory holding this test binary's `deps/` folder.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent() // deps
        .and_then(|p| p.parent())
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// Path of a compiled example binary (`cargo build --examples` builds it).
pub fn example_binary(name: &str) -> PathBuf {
    let path = profile_dir().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --examples` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A running example program, killed when dropped.
pub struct ExampleProcess {
    pub child: Child,
    pub addr: SocketAddr,
}

impl ExampleProcess {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT`
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }
}

impl Drop for ExampleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start an example with `PORT=0` and wait for its ready line, which ends with
/// `listening on <ip>:<port>`.
pub fn spawn_example(name: &str, extra_env: &[(&str, &str)]) -> ExampleProcess {
    let mut cmd = Command::new(example_binary(name));
    cmd.env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn example");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        // Keep draining so the child never blocks on a full pipe.
        for _ in lines {}
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{name} printed no ready line within 30 s"));
    let addr_text = line
        .rsplit(' ')
        .next()
        .and_then(|s| s.strip_prefix("http://").or(Some(s)))
        .unwrap_or_default()
        .trim_end_matches('/');
    let addr: SocketAddr = addr_text
        .parse()
        .unwrap_or_else(|e| panic!("ready line {line:?} has no address: {e}"));
    ExampleProcess { child, addr }
}

/// `node_modules` installed by `scripts/test.sh` from the repository's `package.json`.
pub fn node_modules() -> PathBuf {
    workspace_root().join("node_modules")
}

/// The Python interpreter of the virtualenv made by `scripts/test.sh`.
pub fn venv_python() -> PathBuf {
    let dir = std::env::var_os("SOCKETIO_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv"));
    dir.join("bin").join("python")
}
