//! Shared helpers for the integration tests: start example programs, find the installed
//! npm packages and the Python virtualenv.
#![allow(dead_code, unreachable_pub)]

pub mod bus;
pub mod bus_contract;
pub mod official;

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
    cmd.env("PORT", "0");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    spawn_until_ready(cmd, name)
}

/// Starts `cmd` and waits for its first stdout line, which ends with the address it listens
/// on (`… listening on <ip>:<port>`).
pub fn spawn_until_ready(mut cmd: Command, name: &str) -> ExampleProcess {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
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

/// Who runs an interop script.
pub enum Runtime {
    /// `node`, with the npm package the script imports.
    Node { package: &'static str },
    /// The Python of the test virtualenv.
    Python,
}

/// Starts the `conformance` example and runs `script <url> <arg>` against it, failing the
/// test with the script's output unless it exits 0.
pub fn run_script_against_conformance(runtime: Runtime, script: &str, arg: &str) {
    let mut cmd = match runtime {
        Runtime::Node { package } => {
            require_npm_package(package);
            Command::new("node")
        }
        Runtime::Python => Command::new(require_venv_python()),
    };
    // Pings every 300 ms as the official suites have them, but a pong may take 5 s instead
    // of their 200 ms: a client script on a busy machine (debug builds, tests side by side
    // on two cores) answered a ping over long-polling too late and lost its session.
    let mut conformance = Command::new(example_binary("conformance"));
    conformance
        .env("PORT", "0")
        .args(["--ping-timeout", "5000"]);
    let server = spawn_until_ready(conformance, "conformance");
    cmd.arg(script).arg(server.url()).arg(arg);
    assert_script_passes(cmd, &format!("{script} {arg}"));
}

/// Serves `io` on a free loopback port, in the background; returns the address.
pub async fn serve(io: &socketio::SocketIo) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let app = io.router();
    tokio::spawn(async move {
        let _ = socketio::serve(listener, app).await;
    });
    addr
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

/// Fail (never skip) when `scripts/test.sh` has not installed the npm package `package`.
pub fn require_npm_package(package: &str) {
    let dir = node_modules().join(package);
    assert!(
        dir.join("package.json").is_file(),
        "{} is missing: run scripts/test.sh, which installs the npm packages of package-lock.json",
        dir.display()
    );
}

/// The virtualenv's interpreter; fails (never skips) when `scripts/test.sh` has not made it.
pub fn require_venv_python() -> PathBuf {
    let python = venv_python();
    assert!(
        python.exists(),
        "{} is missing: run scripts/test.sh, which creates the virtualenv from \
         tests/python/requirements.txt",
        python.display()
    );
    python
}

/// Run an interop client script to completion (each script bounds itself with a hard timeout)
/// and assert that it exited 0, showing everything it printed when it did not.
pub fn assert_script_passes(cmd: Command, what: &str) {
    script_stdout(cmd, what);
}

/// [`assert_script_passes`], returning what the script printed on stdout.
pub fn script_stdout(mut cmd: Command, what: &str) -> String {
    cmd.current_dir(workspace_root()).stdin(Stdio::null());
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not start {what} ({cmd:?}): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed with {}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}",
        output.status
    );
    stdout.into_owned()
}

/// Drives an Engine.IO v4 server by hand over real sockets: a bare HTTP/1.1 client, a
/// WebSocket client, and an in-process echo server that reports every session that ends.
pub mod eio {
    use std::convert::Infallible;
    use std::future::Future;
    use std::net::SocketAddr;
    use std::time::Duration;

    use bytes::Bytes;
    use futures_util::{SinkExt, StreamExt};
    use http::{HeaderMap, Method, Request, StatusCode, header};
    use http_body_util::combinators::BoxBody;
    use http_body_util::{BodyExt, Full, StreamBody};
    use hyper_util::rt::TokioIo;
    use socketio::engineio::{DisconnectReason, EngineConfig, EngineIo};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::{self, Message};
    use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

    /// The longest any single step may take; generous so a loaded 2-core machine never flakes.
    pub const TIMEOUT: Duration = Duration::from_secs(10);

    /// Awaits `future`, failing the test with `what` if it takes longer than [`TIMEOUT`].
    pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
        within_for(TIMEOUT, what, future).await
    }

    /// Like [`within`], with a bound of `limit` for steps that may take longer (a Redis
    /// Cluster forming or healing).
    pub async fn within_for<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
        tokio::time::timeout(limit, future)
            .await
            .unwrap_or_else(|_| panic!("timed out after {limit:?}: {what}"))
    }

    /// `/engine.io/?EIO=4&transport=polling`, plus `&sid=…` when given.
    pub fn polling_target(sid: Option<&str>) -> String {
        polling_target_at(ENGINE_PATH, sid)
    }

    /// The bare engine's path on the `conformance` example.
    pub const ENGINE_PATH: &str = "/engine.io/";

    /// The Socket.IO path on the `conformance` example.
    pub const SOCKETIO_PATH: &str = "/socket.io/";

    /// `{path}?EIO=4&transport=polling`, plus `&sid=…` when given.
    pub fn polling_target_at(path: &str, sid: Option<&str>) -> String {
        match sid {
            Some(sid) => format!("{path}?EIO=4&transport=polling&sid={sid}"),
            None => format!("{path}?EIO=4&transport=polling"),
        }
    }

    /// A complete HTTP response.
    #[derive(Debug)]
    pub struct Reply {
        pub status: StatusCode,
        pub headers: HeaderMap,
        pub body: Bytes,
    }

    impl Reply {
        /// The body as text (lossy, for messages and comparisons).
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }

        /// The Engine.IO packets of a polling body, split on the record separator.
        pub fn packets(&self) -> Vec<String> {
            self.text().split('\x1e').map(str::to_owned).collect()
        }

        /// A header as text.
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).and_then(|v| v.to_str().ok())
        }

        /// Asserts an Engine.IO error answer: `status` and a JSON body
        /// `{"code":code,"message":"…"}`.
        #[track_caller]
        pub fn assert_error(&self, status: u16, code: u64, what: &str) {
            assert_eq!(
                self.status.as_u16(),
                status,
                "{what}: status (body {:?})",
                self.text()
            );
            let json: serde_json::Value = serde_json::from_slice(&self.body)
                .unwrap_or_else(|e| panic!("{what}: body {:?} is not JSON: {e}", self.text()));
            assert_eq!(json["code"], code, "{what}: error code in {json}");
            assert!(
                json["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{what}: error message in {json}"
            );
        }
    }

    /// A request body: buffered or streamed.
    pub type Body = BoxBody<Bytes, Infallible>;

    /// Builds a request with `Host: <addr>` unless `headers` names a host.
    pub fn request(
        addr: SocketAddr,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(target);
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            builder = builder.header(header::HOST, addr.to_string());
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(body).expect("valid request")
    }

    /// A buffered body (sent with `Content-Length`).
    pub fn full(body: impl Into<Bytes>) -> Body {
        Full::new(body.into()).boxed()
    }

    /// A body of unknown length, so it is sent with `Transfer-Encoding: chunked`.
    pub fn chunked(chunks: Vec<Bytes>) -> Body {
        let frames = chunks
            .into_iter()
            .map(|chunk| Ok::<_, Infallible>(hyper::body::Frame::data(chunk)));
        BodyExt::boxed(StreamBody::new(futures_util::stream::iter(frames)))
    }

    /// Sends one request on a fresh connection and reads the whole response; `Err` when the
    /// connection fails.
    pub async fn try_send(addr: SocketAddr, request: Request<Body>) -> Result<Reply, String> {
        let exchange = async {
            let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| e.to_string())?;
            Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body: body.to_bytes(),
            })
        };
        within("an HTTP exchange", exchange).await
    }

    /// Sends one request and reads the response; fails the test when the connection fails.
    pub async fn send(addr: SocketAddr, request: Request<Body>) -> Reply {
        let what = format!("{} {}", request.method(), request.uri());
        try_send(addr, request)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// `method target` with `body` and no extra headers.
    pub async fn http(
        addr: SocketAddr,
        method: Method,
        target: &str,
        body: impl Into<Bytes>,
    ) -> Reply {
        send(addr, request(addr, method, target, &[], full(body))).await
    }

    /// A long-polling GET on session `sid`.
    pub async fn get(addr: SocketAddr, sid: &str) -> Reply {
        get_at(addr, ENGINE_PATH, sid).await
    }

    /// A long-polling POST of `body` on session `sid`.
    pub async fn post(addr: SocketAddr, sid: &str, body: impl Into<Bytes>) -> Reply {
        post_at(addr, ENGINE_PATH, sid, body).await
    }

    /// A long-polling GET on session `sid` of the engine at `path`.
    pub async fn get_at(addr: SocketAddr, path: &str, sid: &str) -> Reply {
        http(addr, Method::GET, &polling_target_at(path, Some(sid)), "").await
    }

    /// A long-polling POST of `body` on session `sid` of the engine at `path`.
    pub async fn post_at(addr: SocketAddr, path: &str, sid: &str, body: impl Into<Bytes>) -> Reply {
        http(
            addr,
            Method::POST,
            &polling_target_at(path, Some(sid)),
            body,
        )
        .await
    }

    /// The official suites' "forcefully closes the session" over polling, for the engine at
    /// `path`: a POST of `1` answers a pending GET with `6`, and the sid is gone afterwards.
    ///
    /// Nothing tells a client that its GET is parked at the server, so it gets a moment to get
    /// there; if the POST still overtakes it, or a ping answers it, a fresh session is tried.
    pub async fn assert_close_answers_pending_poll(addr: SocketAddr, path: &str) {
        for attempt in 1..=5 {
            let (sid, _) = open_polling_at(addr, path).await;
            let pending = tokio::spawn({
                let (sid, path) = (sid.clone(), path.to_owned());
                async move { get_at(addr, &path, &sid).await }
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_ok(&post_at(addr, path, &sid, "1").await, "POST 1");
            let reply = within("the pending GET", pending).await.expect("GET task");
            let outcome = (reply.status.as_u16(), reply.text());
            if outcome == (200, "2".to_owned()) || outcome.0 == 400 {
                eprintln!("attempt {attempt}: the GET was not pending in time ({outcome:?})");
                continue;
            }
            assert_eq!(outcome, (200, "6".to_owned()), "the pending GET");
            let after = get_at(addr, path, &sid).await;
            assert_eq!(after.status, StatusCode::BAD_REQUEST, "GET after the close");
            return;
        }
        panic!("the GET was never pending when the close packet arrived");
    }

    /// Asserts that a POST was accepted with `ok`.
    #[track_caller]
    pub fn assert_ok(reply: &Reply, what: &str) {
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (StatusCode::OK, "ok"),
            "{what}"
        );
    }

    /// Parses an open packet `0{…}`, checking it has exactly the five v4 keys.
    #[track_caller]
    pub fn parse_open(packet: &str) -> serde_json::Value {
        let json = packet
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("not an open packet: {packet:?}"));
        let value: serde_json::Value = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("open packet {packet:?} is not JSON: {e}"));
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap_or_else(|| panic!("open packet {packet:?} is not an object"))
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "maxPayload",
                "pingInterval",
                "pingTimeout",
                "sid",
                "upgrades"
            ],
            "keys of {packet:?}"
        );
        assert!(
            value["sid"].as_str().is_some_and(|s| !s.is_empty()),
            "sid of {packet:?}"
        );
        value
    }

    /// Opens a polling session; returns its sid and handshake.
    pub async fn open_polling(addr: SocketAddr) -> (String, serde_json::Value) {
        open_polling_at(addr, ENGINE_PATH).await
    }

    /// Opens a polling session on the engine at `path`; returns its sid and handshake.
    pub async fn open_polling_at(addr: SocketAddr, path: &str) -> (String, serde_json::Value) {
        let reply = http(addr, Method::GET, &polling_target_at(path, None), "").await;
        assert_eq!(reply.status, StatusCode::OK, "handshake: {}", reply.text());
        let open = parse_open(&reply.text());
        let sid = open["sid"].as_str().expect("sid").to_owned();
        (sid, open)
    }

    /// GETs until a response holds something besides pings and returns those packets in
    /// order. Pings are answered with a POST of `3`, so short heartbeats cannot end the session
    /// under a slow test.
    pub async fn poll_messages(addr: SocketAddr, sid: &str) -> Vec<String> {
        within("a poll with messages", async {
            loop {
                let reply = get(addr, sid).await;
                assert_eq!(reply.status, StatusCode::OK, "GET: {:?}", reply.text());
                let (pings, rest): (Vec<String>, Vec<String>) =
                    reply.packets().into_iter().partition(|p| p == "2");
                if !pings.is_empty() {
                    assert_ok(&post(addr, sid, "3").await, "pong");
                }
                if !rest.is_empty() {
                    return rest;
                }
            }
        })
        .await
    }

    /// Asserts that polling session `sid` echoes a fresh message.
    pub async fn assert_polling_echoes(addr: SocketAddr, sid: &str, what: &str) {
        let text = format!("4still alive: {what}");
        assert_ok(&post(addr, sid, text.clone()).await, what);
        assert_eq!(poll_messages(addr, sid).await, [text], "{what}");
    }

    /// Asserts that polling session `sid` is gone: a GET is refused as an unknown sid.
    pub async fn assert_polling_gone(addr: SocketAddr, sid: &str, what: &str) {
        get(addr, sid)
            .await
            .assert_error(400, 1, &format!("{what}: GET after the session ended"));
    }

    /// A WebSocket client connection.
    pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

    /// Opens a WebSocket to `/engine.io/?{query}` with extra request headers.
    pub async fn ws_connect(
        addr: SocketAddr,
        query: &str,
        headers: &[(&str, &str)],
    ) -> Result<Ws, tungstenite::Error> {
        ws_connect_at(addr, &format!("/engine.io/?{query}"), headers).await
    }

    /// Opens a WebSocket to `target` (path and query) with extra request headers.
    pub async fn ws_connect_at(
        addr: SocketAddr,
        target: &str,
        headers: &[(&str, &str)],
    ) -> Result<Ws, tungstenite::Error> {
        let mut request = format!("ws://{addr}{target}")
            .into_client_request()
            .expect("valid WebSocket URL");
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                http::HeaderValue::from_str(value).expect("header value"),
            );
        }
        within("a WebSocket handshake", async {
            tokio_tungstenite::connect_async(request)
                .await
                .map(|(ws, _)| ws)
        })
        .await
    }

    /// The status of a refused WebSocket handshake; fails the test if it was accepted.
    pub fn refused_status(result: Result<Ws, tungstenite::Error>) -> u16 {
        match result {
            Ok(_) => panic!("the WebSocket handshake was accepted"),
            Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
            Err(other) => panic!("the WebSocket handshake failed without an HTTP answer: {other}"),
        }
    }

    /// Opens a session over WebSocket; returns the socket, its sid and handshake.
    pub async fn open_websocket(addr: SocketAddr) -> (Ws, String, serde_json::Value) {
        let mut ws = ws_connect(addr, "EIO=4&transport=websocket", &[])
            .await
            .expect("WebSocket handshake");
        let open = match ws_recv(&mut ws).await {
            Message::Text(text) => parse_open(&text),
            other => panic!("first frame is not the open packet: {other:?}"),
        };
        let sid = open["sid"].as_str().expect("sid").to_owned();
        (ws, sid, open)
    }

    /// The next text or binary frame, answering pings (`2`) with `3` on the way.
    pub async fn ws_recv(ws: &mut Ws) -> Message {
        within("a WebSocket message", async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                        ws.send(Message::text("3")).await.expect("send pong");
                    }
                    Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                        return message;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        panic!("the server closed the WebSocket: {frame:?}")
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => panic!("WebSocket error: {err}"),
                    None => panic!("the WebSocket ended"),
                }
            }
        })
        .await
    }

    /// Sends a text frame.
    pub async fn ws_send(ws: &mut Ws, text: &str) {
        within("sending a WebSocket message", ws.send(Message::text(text)))
            .await
            .expect("send WebSocket message");
    }

    /// Asserts that the WebSocket session echoes a fresh message.
    pub async fn assert_ws_echoes(ws: &mut Ws, what: &str) {
        let text = format!("4still alive: {what}");
        ws_send(ws, &text).await;
        assert_eq!(ws_recv(ws).await, Message::text(text), "{what}");
    }

    /// How the server ended a WebSocket.
    #[derive(Debug)]
    pub struct Closed {
        /// Text and binary frames received before the end.
        pub frames: Vec<Message>,
        /// The close frame's code, when the server sent one.
        pub code: Option<u16>,
    }

    /// Reads until the server ends the WebSocket (close frame, end of stream or error).
    pub async fn ws_until_closed(ws: &mut Ws) -> Closed {
        within("the server to close the WebSocket", async {
            let mut frames = Vec::new();
            loop {
                match ws.next().await {
                    Some(Ok(Message::Close(frame))) => {
                        return Closed {
                            frames,
                            code: frame.map(|f| u16::from(f.code)),
                        };
                    }
                    Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                        frames.push(message);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return Closed { frames, code: None },
                }
            }
        })
        .await
    }

    /// An in-process echo server on `127.0.0.1:0` that reports every ended session.
    pub struct TestEngine {
        pub addr: SocketAddr,
        pub eio: EngineIo,
        disconnects: mpsc::UnboundedReceiver<(String, DisconnectReason)>,
        server: tokio::task::JoinHandle<()>,
    }

    impl Drop for TestEngine {
        fn drop(&mut self) {
            self.server.abort();
        }
    }

    impl TestEngine {
        /// Starts an echo server with `config`.
        pub async fn start(config: EngineConfig) -> TestEngine {
            let (tx, disconnects) = mpsc::unbounded_channel();
            let eio = EngineIo::builder()
                .config(config)
                .on_message(|socket, message| async move {
                    let _ = socket.send(message);
                })
                .on_disconnect(move |socket, reason| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send((socket.sid().to_string(), reason));
                    }
                })
                .build();
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local addr");
            let app = eio.router();
            let server = tokio::spawn(async move {
                let _ = socketio::serve(listener, app).await;
            });
            TestEngine {
                addr,
                eio,
                disconnects,
                server,
            }
        }

        /// Waits until session `sid` has ended and returns why.
        pub async fn disconnected(&mut self, sid: &str) -> DisconnectReason {
            let disconnects = &mut self.disconnects;
            within(&format!("session {sid} to end"), async {
                loop {
                    let (ended, reason) = disconnects.recv().await.expect("server alive");
                    if ended == sid {
                        return reason;
                    }
                }
            })
            .await
        }
    }
}

/// A Socket.IO client over a raw WebSocket that answers the server's pings in the background,
/// so a test may leave it unread for as long as it likes (the `conformance` example gives up
/// on a silent client after 500 ms). Frames are sent exactly as given: remember the Engine.IO
/// `4` in front of every Socket.IO packet.
pub mod sio {
    use std::net::SocketAddr;

    use bytes::Bytes;
    use futures_util::{SinkExt, StreamExt};
    use tokio::sync::mpsc;
    use tokio_tungstenite::tungstenite::Message;

    use super::eio::{self, within};

    /// Where the Socket.IO server listens, opened directly over WebSocket.
    pub const WS_TARGET: &str = "/socket.io/?EIO=4&transport=websocket";

    enum Seen {
        Frame(Message),
        Closed,
    }

    /// One engine connection; dropping it drops the TCP connection without a close frame.
    pub struct Client {
        /// The handshake of the open packet.
        pub open: serde_json::Value,
        outgoing: mpsc::UnboundedSender<Message>,
        seen: mpsc::UnboundedReceiver<Seen>,
        closed: bool,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Client {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    /// `""` for the main namespace, `"<namespace>,"` otherwise: what goes between the packet
    /// type and the payload.
    pub fn ns_prefix(namespace: &str) -> String {
        if namespace == "/" {
            String::new()
        } else {
            format!("{namespace},")
        }
    }

    impl Client {
        /// Opens `/socket.io/` over WebSocket and reads the open packet.
        pub async fn connect(addr: SocketAddr) -> Client {
            let mut ws = eio::ws_connect_at(addr, WS_TARGET, &[])
                .await
                .expect("Socket.IO WebSocket handshake");
            let open = match eio::ws_recv(&mut ws).await {
                Message::Text(text) => eio::parse_open(&text),
                other => panic!("the first frame is not the open packet: {other:?}"),
            };
            let (outgoing, mut to_send) = mpsc::unbounded_channel::<Message>();
            let (report, seen) = mpsc::unbounded_channel();
            let task = tokio::spawn(async move {
                loop {
                    tokio::select! {
                        frame = ws.next() => match frame {
                            Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                                // A failed pong shows up as the end of the stream next.
                                let _ = ws.send(Message::text("3")).await;
                            }
                            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                                if report.send(Seen::Frame(message)).is_err() {
                                    return;
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => {
                                let _ = report.send(Seen::Closed);
                                return;
                            }
                        },
                        next = to_send.recv() => match next {
                            // The server may have closed already; the reader reports that.
                            Some(message) => { let _ = ws.send(message).await; }
                            None => return,
                        },
                    }
                }
            });
            Client {
                open,
                outgoing,
                seen,
                closed: false,
                task,
            }
        }

        /// Sends one text frame (an Engine.IO packet, e.g. `42["event"]`).
        pub fn send(&self, frame: &str) {
            let _ = self.outgoing.send(Message::text(frame));
        }

        /// Sends a WebSocket close frame after what was sent before: the client hangs up.
        pub fn hang_up(&self) {
            let _ = self.outgoing.send(Message::Close(None));
        }

        /// Sends one binary frame (a Socket.IO attachment).
        pub fn send_binary(&self, data: impl Into<Bytes>) {
            let _ = self.outgoing.send(Message::Binary(data.into()));
        }

        /// The next text or binary frame other than a ping; fails if the connection ends.
        pub async fn recv(&mut self) -> Message {
            assert!(!self.closed, "the connection already ended");
            match within("a Socket.IO frame", self.seen.recv()).await {
                Some(Seen::Frame(message)) => message,
                Some(Seen::Closed) | None => {
                    self.closed = true;
                    panic!("the server ended the connection")
                }
            }
        }

        /// The next frame, which must be text.
        pub async fn recv_text(&mut self) -> String {
            match self.recv().await {
                Message::Text(text) => text.to_string(),
                other => panic!("expected a text frame, got {other:?}"),
            }
        }

        /// The next frame, which must be binary.
        pub async fn recv_binary(&mut self) -> Bytes {
            match self.recv().await {
                Message::Binary(data) => data,
                other => panic!("expected a binary frame, got {other:?}"),
            }
        }

        /// Reads until the server ends the connection; returns the frames (pings excluded)
        /// that came first.
        pub async fn until_closed(&mut self) -> Vec<Message> {
            let mut frames = Vec::new();
            if self.closed {
                return frames;
            }
            within("the server to end the connection", async {
                while let Some(Seen::Frame(message)) = self.seen.recv().await {
                    frames.push(message);
                }
            })
            .await;
            self.closed = true;
            frames
        }

        /// Sends `40<namespace>,<auth>` and reads the CONNECT reply, which must carry only
        /// the socket id; returns it.
        pub async fn join(&mut self, namespace: &str, auth: Option<&str>) -> String {
            let prefix = ns_prefix(namespace);
            self.send(&format!("40{prefix}{}", auth.unwrap_or_default()));
            let reply = self.recv_text().await;
            connect_reply_sid(&reply, namespace)
        }
    }

    /// Checks a CONNECT reply `40<namespace>,{"sid":"…"}` (exactly that one key) and returns
    /// the socket id.
    #[track_caller]
    pub fn connect_reply_sid(reply: &str, namespace: &str) -> String {
        let head = format!("40{}", ns_prefix(namespace));
        let json = reply
            .strip_prefix(&head)
            .unwrap_or_else(|| panic!("{reply:?} is not a CONNECT reply for {namespace}"));
        let value: serde_json::Value = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("CONNECT reply {reply:?} is not JSON: {e}"));
        let object = value
            .as_object()
            .unwrap_or_else(|| panic!("CONNECT reply {reply:?} is not an object"));
        assert_eq!(
            object.keys().collect::<Vec<_>>(),
            ["sid"],
            "the CONNECT reply {reply:?} carries only the sid"
        );
        let sid = object["sid"].as_str().unwrap_or_default();
        assert!(!sid.is_empty(), "socket id in {reply:?}");
        sid.to_owned()
    }
}
