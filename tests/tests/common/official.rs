//! What the official protocol test suites (socketio/engine.io-protocol and
//! socketio/socket.io-protocol, `test-suite/test-suite.js`) do on the client side, in Rust, so
//! that a port checks what the official test checks: no more, no less.
//!
//! The official tests run under mocha with `node-fetch` and `ws`. What that means here:
//! - [`mocha`] bounds a whole test like mocha's timeout (2000 ms, 5000 ms in the heartbeat
//!   blocks); a test that is not done by then fails.
//! - [`fetch`] fails only when the HTTP exchange itself fails; statuses are for the test to check.
//! - [`WebSocket`] hands out every text or binary frame as a message, heartbeat pings (`2`)
//!   included, and answers nothing by itself: the official tests answer pings only where they
//!   say so. A refused handshake, or a frame `ws` would reject, fails the test, because the
//!   official tests register no `error` listener (except where [`WebSocket::open_and_forget`]
//!   is used).
//! - The official `waitFor` drops a message that arrives while nobody listens. Where that loss
//!   follows from the order of the protocol (a `3probe` nobody waited for), the port skips
//!   that message ([`WebSocket::message_after_unheard_probe`]); where it would only be a matter
//!   of timing, the port expects the messages the official test waits for, in order.
//!
//! The engine-level tests that both suites share (handshake, heartbeat, close) are written once
//! below, for the engine at `path`.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::{Method, StatusCode, header};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{self, Message};

use super::eio::{self, Reply, Ws, polling_target_at};

/// `PING_INTERVAL` of the official suites (the `conformance` example's setting).
pub const PING_INTERVAL: Duration = Duration::from_millis(300);
/// `PING_TIMEOUT` of the official suites.
pub const PING_TIMEOUT: Duration = Duration::from_millis(200);
/// mocha's default timeout for one test.
pub const TIMEOUT: Duration = Duration::from_millis(2000);
/// `this.timeout(5000)` of the official `heartbeat` blocks.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(5000);

/// How many fresh sessions a port may try when two requests that one official test sends at
/// once, on separate connections, may reach the server in either order: the server cannot
/// tell which one the test sent first, so the official test has the same race. Only the
/// outcome that shows the other order is tried again, and the last attempt must pass the
/// official assertions as they are. Races a server can settle (a request sent after another
/// one was written) are not retried.
pub const RACE_ATTEMPTS: usize = 20;

/// Runs one ported test within `limit`, as mocha does; the server process is started before.
pub async fn mocha(limit: Duration, test: impl Future<Output = ()>) {
    if tokio::time::timeout(limit, test).await.is_err() {
        panic!(
            "Timeout of {}ms exceeded (mocha's bound for this official test)",
            limit.as_millis()
        );
    }
}

// ---- fetch ----

/// `fetch(target)`: a GET; fails the test only when the exchange fails, like `node-fetch`.
pub async fn fetch(addr: SocketAddr, target: &str) -> Reply {
    fetch_with(addr, Method::GET, target, None).await
}

/// One GET on `target` that must be answered 400 (the session is gone or refuses polling).
pub async fn assert_poll_refused(addr: SocketAddr, target: &str) {
    let poll_response = fetch(addr, target).await;
    assert_eq!(
        poll_response.status,
        StatusCode::BAD_REQUEST,
        "GET {target}: {:?}",
        poll_response.text()
    );
}

/// `fetch(target, { method, body })`.
pub async fn fetch_with(
    addr: SocketAddr,
    method: Method,
    target: &str,
    body: Option<&str>,
) -> Reply {
    let what = format!("{method} {target}");
    try_fetch_with(addr, method, target, body)
        .await
        .unwrap_or_else(|e| panic!("fetch rejected ({what}): {e}"))
}

/// `fetch(target, { method, body })` whose failure the caller handles (the official
/// `try { … } catch`).
pub async fn try_fetch_with(
    addr: SocketAddr,
    method: Method,
    target: &str,
    body: Option<&str>,
) -> Result<Reply, String> {
    // A string body goes out as text, as `fetch` sends it.
    let headers: &[(&str, &str)] = match body {
        Some(_) => &[(header::CONTENT_TYPE.as_str(), "text/plain;charset=UTF-8")],
        None => &[],
    };
    let body = eio::full(body.unwrap_or_default().to_owned());
    eio::try_send(addr, eio::request(addr, method, target, headers, body)).await
}

/// `JSON.parse(text)`: fails the test on anything but one JSON value.
#[track_caller]
pub fn json_parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON.parse({text:?}) throws: {e}"))
}

/// `text.substring(n)` for the ASCII prefixes the suites cut off.
pub fn substring(text: &str, n: usize) -> &str {
    text.get(n..).unwrap_or_default()
}

/// `${value.sid}` as a template literal writes it into a URL.
#[track_caller]
fn sid_in_url(value: &Value) -> String {
    assert!(!value.is_null(), "reading `sid` of null throws a TypeError");
    match value.get("sid") {
        None => "undefined".to_owned(),
        Some(Value::String(sid)) => sid.clone(),
        Some(other) => other.to_string(),
    }
}

/// The official `initLongPollingSession` for the engine at `path`: one GET, whose body's JSON
/// after the first character gives the sid. Nothing else is checked.
pub async fn init_long_polling_session(addr: SocketAddr, path: &str) -> String {
    let content = fetch(addr, &polling_target_at(path, None)).await.text();
    sid_in_url(&json_parse(substring(&content, 1)))
}

/// `expect(value).to.have.all.keys(...keys)`: an object with exactly these keys.
#[track_caller]
pub fn assert_all_keys(value: &Value, keys: &[&str]) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{value} is not an object"));
    let mut have: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut want = keys.to_vec();
    have.sort_unstable();
    want.sort_unstable();
    assert_eq!(have, want, "keys of {value}");
}

/// `expect(value).to.eql(number)`: JSON numbers compare by value, whatever their notation.
#[track_caller]
pub fn assert_eql_number(value: &Value, number: f64, what: &str) {
    assert_eq!(value.as_f64(), Some(number), "{what}: {value}");
}

/// The official checks of an open packet's JSON: exactly the five keys, a string sid, these
/// upgrades, and the suites' heartbeat and payload settings.
#[track_caller]
pub fn assert_handshake(value: &Value, upgrades: &[&str]) {
    assert_all_keys(
        value,
        &[
            "sid",
            "upgrades",
            "pingInterval",
            "pingTimeout",
            "maxPayload",
        ],
    );
    assert!(value["sid"].is_string(), "sid of {value}");
    assert_eq!(value["upgrades"], serde_json::json!(upgrades), "upgrades");
    assert_eql_number(
        &value["pingInterval"],
        PING_INTERVAL.as_millis() as f64,
        "pingInterval",
    );
    assert_eql_number(
        &value["pingTimeout"],
        PING_TIMEOUT.as_millis() as f64,
        "pingTimeout",
    );
    assert_eql_number(&value["maxPayload"], 1_000_000.0, "maxPayload");
}

/// A message's `data` as a string; a binary message fails what the official test asserts on
/// strings (`startsWith`, equality with a string).
#[track_caller]
pub fn text_of(message: Message) -> String {
    match message {
        Message::Text(text) => text.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

// ---- WebSocket ----

/// `new WebSocket(url)` of the `ws` package, used the way the official tests use it.
pub struct WebSocket {
    ws: Ws,
}

impl WebSocket {
    /// `new WebSocket(ws://addr{target})` up to its `open` event. With no `error` listener, a
    /// refused handshake is an uncaught error: the official test fails.
    pub async fn open(addr: SocketAddr, target: &str) -> WebSocket {
        match eio::ws_connect_at(addr, target, &[]).await {
            Ok(ws) => WebSocket { ws },
            Err(e) => panic!("WebSocket {target}: unhandled 'error' event: {e}"),
        }
    }

    /// `new WebSocket(url)` with an `error` listener that ignores everything, and nothing
    /// awaited: only building the request from the URL can fail, as the constructor throws
    /// on a bad URL. The attempt runs in the background until the test ends.
    pub fn open_and_forget(addr: SocketAddr, target: &str) {
        let request = format!("ws://{addr}{target}")
            .into_client_request()
            .unwrap_or_else(|e| panic!("new WebSocket({target}) throws: {e}"));
        tokio::spawn(async move {
            if let Ok((mut ws, _)) = tokio_tungstenite::connect_async(request).await {
                while ws.next().await.is_some() {}
            }
        });
    }

    /// `await waitFor(socket, "message")`: the next text or binary frame, whatever it is.
    pub async fn message(&mut self) -> Message {
        loop {
            match self.ws.next().await {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => return message,
                // Control frames are no messages; `ws` answers WebSocket pings itself, and
                // so does tungstenite.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(frame))) => {
                    panic!(
                        "the server closed the WebSocket ({frame:?}) while a message was awaited"
                    )
                }
                Some(Err(e)) => panic!("the WebSocket failed while a message was awaited: {e}"),
                None => panic!("the WebSocket ended while a message was awaited"),
            }
        }
    }

    /// The official `waitForPackets(socket, count)`: the next `count` messages, text `2`
    /// (pings) skipped and not answered.
    pub async fn packets(&mut self, count: usize) -> Vec<Message> {
        let mut packets = Vec::with_capacity(count);
        while packets.len() < count {
            let message = self.message().await;
            if message != Message::text("2") {
                packets.push(message);
            }
        }
        packets
    }

    /// The message an official test's listener gets after it sent `2probe` and `5` without
    /// waiting for the answer: the `3probe` came while nobody listened and is lost there, so
    /// a `3probe` in front is skipped; any other message is what the listener gets.
    pub async fn message_after_unheard_probe(&mut self) -> Message {
        let first = self.message().await;
        if first == Message::text("3probe") {
            self.message().await
        } else {
            first
        }
    }

    /// `socket.send(text)`: never throws once open; a failed write shows up as the missing
    /// answer.
    pub async fn send(&mut self, text: &str) {
        let _ = self.ws.send(Message::text(text)).await;
    }

    /// `socket.send(Uint8Array.from(data))`.
    pub async fn send_binary(&mut self, data: &[u8]) {
        let _ = self.ws.send(Message::binary(data.to_vec())).await;
    }

    /// `await waitFor(socket, "close")`: until the connection is over, messages ignored. A
    /// close frame alone is not the end: `ws` reports `close` once the server ends the TCP
    /// connection. A frame `ws` would reject emits `error`, which nothing listens to.
    pub async fn closed(&mut self) {
        loop {
            match self.ws.next().await {
                Some(Ok(_)) => {}
                None
                | Some(Err(
                    tungstenite::Error::ConnectionClosed
                    | tungstenite::Error::AlreadyClosed
                    | tungstenite::Error::Io(_)
                    | tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake),
                )) => return,
                Some(Err(e)) => panic!("unhandled 'error' event on the WebSocket: {e}"),
            }
        }
    }
}

// ---- the engine-level tests both suites share, for the engine at `path` ----

/// `{path}?{query}`: what the official tests append to the server's URL.
fn target_at(path: &str, query: &str) -> String {
    format!("{path}?{query}")
}

/// `handshake › HTTP long-polling › successfully opens a session`.
pub async fn handshake_polling_successfully_opens_a_session(addr: SocketAddr, path: &str) {
    mocha(TIMEOUT, async {
        let response = fetch(addr, &polling_target_at(path, None)).await;
        assert_eq!(response.status, StatusCode::OK);
        let content = response.text();
        assert!(content.starts_with('0'), "{content:?}");
        assert_handshake(&json_parse(substring(&content, 1)), &["websocket"]);
    })
    .await;
}

/// Both GETs of a handshake with these queries are answered 400.
async fn both_handshakes_refused(addr: SocketAddr, path: &str, queries: [&str; 2]) {
    mocha(TIMEOUT, async {
        for query in queries {
            let response = fetch(addr, &target_at(path, query)).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "?{query}");
        }
    })
    .await;
}

/// `handshake › HTTP long-polling › fails with an invalid 'EIO' query parameter`.
pub async fn handshake_polling_fails_with_an_invalid_eio_query_parameter(
    addr: SocketAddr,
    path: &str,
) {
    both_handshakes_refused(
        addr,
        path,
        ["transport=polling", "EIO=abc&transport=polling"],
    )
    .await;
}

/// `handshake › HTTP long-polling › fails with an invalid 'transport' query parameter`.
pub async fn handshake_polling_fails_with_an_invalid_transport_query_parameter(
    addr: SocketAddr,
    path: &str,
) {
    both_handshakes_refused(addr, path, ["EIO=4", "EIO=4&transport=abc"]).await;
}

/// `handshake › HTTP long-polling › fails with an invalid request method`.
pub async fn handshake_polling_fails_with_an_invalid_request_method(addr: SocketAddr, path: &str) {
    mocha(TIMEOUT, async {
        for method in [Method::POST, Method::PUT] {
            let response =
                fetch_with(addr, method.clone(), &polling_target_at(path, None), None).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{method}");
        }
    })
    .await;
}

/// `handshake › WebSocket › successfully opens a session`.
pub async fn handshake_websocket_successfully_opens_a_session(addr: SocketAddr, path: &str) {
    mocha(TIMEOUT, async {
        let target = target_at(path, "EIO=4&transport=websocket");
        let mut socket = WebSocket::open(addr, &target).await;
        let data = text_of(socket.message().await);
        assert!(data.starts_with('0'), "{data:?}");
        assert_handshake(&json_parse(substring(&data, 1)), &[]);
    })
    .await;
}

/// Two WebSockets opened with these queries, errors ignored, nothing awaited.
async fn both_websockets_forgotten(addr: SocketAddr, path: &str, queries: [&str; 2]) {
    mocha(TIMEOUT, async {
        for query in queries {
            WebSocket::open_and_forget(addr, &target_at(path, query));
        }
    })
    .await;
}

/// `handshake › WebSocket › fails with an invalid 'EIO' query parameter`.
pub async fn handshake_websocket_fails_with_an_invalid_eio_query_parameter(
    addr: SocketAddr,
    path: &str,
) {
    both_websockets_forgotten(
        addr,
        path,
        ["transport=websocket", "EIO=abc&transport=websocket"],
    )
    .await;
}

/// `handshake › WebSocket › fails with an invalid 'transport' query parameter`.
pub async fn handshake_websocket_fails_with_an_invalid_transport_query_parameter(
    addr: SocketAddr,
    path: &str,
) {
    both_websockets_forgotten(addr, path, ["EIO=4", "EIO=4&transport=abc"]).await;
}

/// `heartbeat › HTTP long-polling › sends ping/pong packets`: three rounds of one GET that
/// holds exactly the ping and one POST of the pong.
pub async fn heartbeat_polling_sends_ping_pong_packets(addr: SocketAddr, path: &str) {
    mocha(HEARTBEAT_TIMEOUT, async {
        let sid = init_long_polling_session(addr, path).await;
        let target = polling_target_at(path, Some(&sid));
        for round in 0..3 {
            let poll_response = fetch(addr, &target).await;
            assert_eq!(poll_response.status, StatusCode::OK, "GET {round}");
            assert_eq!(poll_response.text(), "2", "GET {round}");
            let push_response = fetch_with(addr, Method::POST, &target, Some("3")).await;
            assert_eq!(push_response.status, StatusCode::OK, "POST {round}");
        }
    })
    .await;
}

/// `heartbeat › HTTP long-polling › closes the session upon ping timeout`: the official test
/// waits exactly `PING_INTERVAL + PING_TIMEOUT`, then one GET must find the session gone.
pub async fn heartbeat_polling_closes_the_session_upon_ping_timeout(addr: SocketAddr, path: &str) {
    mocha(HEARTBEAT_TIMEOUT, async {
        let sid = init_long_polling_session(addr, path).await;
        tokio::time::sleep(PING_INTERVAL + PING_TIMEOUT).await;
        assert_poll_refused(addr, &polling_target_at(path, Some(&sid))).await;
    })
    .await;
}

/// `heartbeat › WebSocket › sends ping/pong packets`.
pub async fn heartbeat_websocket_sends_ping_pong_packets(addr: SocketAddr, path: &str) {
    mocha(HEARTBEAT_TIMEOUT, async {
        let target = target_at(path, "EIO=4&transport=websocket");
        let mut socket = WebSocket::open(addr, &target).await;
        socket.message().await; // the handshake, not checked
        for round in 0..3 {
            assert_eq!(socket.message().await, Message::text("2"), "ping {round}");
            socket.send("3").await;
        }
    })
    .await;
}

/// `heartbeat › WebSocket › closes the session upon ping timeout`: open and never answer.
pub async fn heartbeat_websocket_closes_the_session_upon_ping_timeout(
    addr: SocketAddr,
    path: &str,
) {
    mocha(HEARTBEAT_TIMEOUT, async {
        let target = target_at(path, "EIO=4&transport=websocket");
        WebSocket::open(addr, &target).await.closed().await;
    })
    .await;
}

/// `close › HTTP long-polling › forcefully closes the session`: a GET and a POST of `1` at
/// once; the GET gets the noop, the POST's answer is not checked, then a GET gets 400.
pub async fn close_polling_forcefully_closes_the_session(addr: SocketAddr, path: &str) {
    mocha(TIMEOUT, async {
        for attempt in 1..=RACE_ATTEMPTS {
            let sid = init_long_polling_session(addr, path).await;
            let target = polling_target_at(path, Some(&sid));
            let (poll_response, _push_response) = tokio::join!(
                fetch(addr, &target),
                fetch_with(addr, Method::POST, &target, Some("1")),
            );
            // The two requests travel on separate connections, in the official test too; if
            // the server takes the POST first the session is gone before the GET arrives.
            if poll_response.status == StatusCode::BAD_REQUEST && attempt < RACE_ATTEMPTS {
                eprintln!("attempt {attempt}: the POST of 1 overtook the GET; a fresh session");
                continue;
            }
            assert_eq!(poll_response.status, StatusCode::OK);
            assert_eq!(poll_response.text(), "6");
            assert_poll_refused(addr, &target).await;
            return;
        }
    })
    .await;
}

/// `close › WebSocket › forcefully closes the session`.
pub async fn close_websocket_forcefully_closes_the_session(addr: SocketAddr, path: &str) {
    mocha(TIMEOUT, async {
        let target = target_at(path, "EIO=4&transport=websocket");
        let mut socket = WebSocket::open(addr, &target).await;
        socket.message().await; // the handshake, not checked
        socket.send("1").await;
        socket.closed().await;
    })
    .await;
}

/// The GET of upgrade › "ignores HTTP requests with same sid after upgrade". `upgrade` opens a
/// session, sends `2probe` and `5` on its WebSocket and returns the session's polling target
/// and the WebSocket. The GET then travels on another connection, in the official test too:
/// when it overtakes the two frames it is answered as a poll during a probe (200 `6`). Only
/// that outcome is tried again, on a fresh session; the last attempt must get the 400.
pub async fn poll_refused_after_upgrade<F, Fut>(addr: SocketAddr, mut upgrade: F) -> WebSocket
where
    F: FnMut() -> Fut,
    Fut: Future<Output = (String, WebSocket)>,
{
    for attempt in 1..=RACE_ATTEMPTS {
        let (target, socket) = upgrade().await;
        let poll_response = fetch(addr, &target).await;
        let overtaken = poll_response.status == StatusCode::OK && poll_response.text() == "6";
        if overtaken && attempt < RACE_ATTEMPTS {
            eprintln!("attempt {attempt}: the GET overtook the upgrade; a fresh session");
            continue;
        }
        assert_eq!(
            poll_response.status,
            StatusCode::BAD_REQUEST,
            "GET {target}: {:?}",
            poll_response.text()
        );
        return socket;
    }
    unreachable!("the last attempt returns or fails")
}
