//! Bad input to the Engine.IO server: each case gets a clear refusal, and a session that was
//! already open on the same server keeps working afterwards.
//!
//! Every server here is an in-process echo engine with the default 25 s heartbeat, so no ping
//! shows up during a test, and every ended session is reported with its reason.

use crate::common;

use std::net::SocketAddr;

use bytes::Bytes;
use common::eio::{
    Reply, TestEngine, assert_ok, assert_polling_echoes, assert_polling_gone, assert_ws_echoes,
    chunked, full, get, http, open_polling, open_websocket, poll_messages, post, refused_status,
    request, send, try_send, within, ws_connect, ws_recv, ws_send, ws_until_closed,
};
use futures_util::SinkExt;
use http::{Method, StatusCode};
use socketio::engineio::{DisconnectReason, EngineConfig, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// An echo server with `config` and one polling session already open on it.
async fn server_with_witness(config: EngineConfig) -> (TestEngine, String) {
    let server = TestEngine::start(config).await;
    let (witness, _) = open_polling(server.addr).await;
    (server, witness)
}

async fn handshake_get(addr: SocketAddr, query: &str) -> Reply {
    http(addr, Method::GET, &format!("/engine.io/?{query}"), "").await
}

/// The headers of a WebSocket handshake request.
const WS_UPGRADE: [(&str, &str); 4] = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
];

/// A WebSocket handshake request sent as plain HTTP, so a refusal's JSON body can be read.
async fn ws_handshake(addr: SocketAddr, query: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers = WS_UPGRADE.to_vec();
    headers.extend_from_slice(extra);
    let target = format!("/engine.io/?{query}");
    send(
        addr,
        request(addr, Method::GET, &target, &headers, full("")),
    )
    .await
}

/// Opens a polling session, expects `body` POSTed on it to be refused with 400 and code 3,
/// and the session to end as a transport error.
async fn assert_post_closes_session(server: &mut TestEngine, body: impl Into<Bytes>, what: &str) {
    let addr = server.addr;
    let (sid, _) = open_polling(addr).await;
    post(addr, &sid, body).await.assert_error(400, 3, what);
    assert_polling_gone(addr, &sid, what).await;
    assert_eq!(
        server.disconnected(&sid).await,
        DisconnectReason::TransportError,
        "{what}"
    );
}

// ---- query parameters ----

#[tokio::test]
async fn missing_or_wrong_eio_is_refused_with_code_5() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    for query in [
        "transport=polling",
        "EIO=3&transport=polling",
        "EIO=abc&transport=polling",
        "EIO=&transport=polling",
        "EIO=4&EIO=4&transport=polling",
    ] {
        handshake_get(server.addr, query)
            .await
            .assert_error(400, 5, &format!("?{query}"));
    }
    ws_handshake(server.addr, "EIO=3&transport=websocket", &[])
        .await
        .assert_error(400, 5, "WebSocket with EIO=3");
    assert_polling_echoes(server.addr, &witness, "after bad EIO").await;
}

#[tokio::test]
async fn bad_transport_is_refused_with_code_0() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    for query in [
        "EIO=4",
        "EIO=4&transport=__proto__",
        "EIO=4&transport=",
        "EIO=4&transport=polling&transport=polling",
        "EIO=4&transport=polling&transport=websocket",
        "EIO=4&transport=Polling",
    ] {
        handshake_get(server.addr, query)
            .await
            .assert_error(400, 0, &format!("?{query}"));
    }
    assert_polling_echoes(server.addr, &witness, "after bad transports").await;
}

#[tokio::test]
async fn handshake_by_post_or_put_is_refused_with_code_2() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    for method in [Method::POST, Method::PUT] {
        let target = common::eio::polling_target(None);
        http(server.addr, method.clone(), &target, "4hello")
            .await
            .assert_error(400, 2, &format!("{method} without sid"));
    }
    assert_polling_echoes(server.addr, &witness, "after a POST without sid").await;
}

#[tokio::test]
async fn unknown_sid_is_refused_with_code_1() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let addr = server.addr;
    get(addr, "AAAAAAAAAAAAAAAAAAAA")
        .await
        .assert_error(400, 1, "GET");
    post(addr, "AAAAAAAAAAAAAAAAAAAA", "4hello")
        .await
        .assert_error(400, 1, "POST");
    ws_handshake(
        addr,
        "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA",
        &[],
    )
    .await
    .assert_error(400, 1, "WebSocket upgrade");
    assert_polling_echoes(addr, &witness, "after unknown sids").await;
}

#[tokio::test]
async fn bad_jsonp_index_is_refused_with_code_3() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    for query in [
        "EIO=4&transport=polling&j=abc",
        "EIO=4&transport=polling&j=-1",
        "EIO=4&transport=polling&j=",
    ] {
        handshake_get(server.addr, query)
            .await
            .assert_error(400, 3, &format!("?{query}"));
    }
    assert_polling_echoes(server.addr, &witness, "after bad j").await;
}

// ---- transports the configuration does not allow ----

#[tokio::test]
async fn websocket_on_a_polling_only_server_is_refused_with_code_0() {
    let config = EngineConfig::default().transports([TransportKind::Polling]);
    let (server, witness) = server_with_witness(config).await;
    let addr = server.addr;
    // A polling-only server offers no upgrade.
    let (_, open) = open_polling(addr).await;
    assert_eq!(open["upgrades"], serde_json::json!([]), "{open}");
    ws_handshake(addr, "EIO=4&transport=websocket", &[])
        .await
        .assert_error(400, 0, "WebSocket handshake");
    ws_handshake(
        addr,
        &format!("EIO=4&transport=websocket&sid={witness}"),
        &[],
    )
    .await
    .assert_error(400, 0, "WebSocket upgrade");
    assert_eq!(
        refused_status(ws_connect(addr, "EIO=4&transport=websocket", &[]).await),
        400
    );
    assert_polling_echoes(addr, &witness, "after refused WebSockets").await;
}

#[tokio::test]
async fn polling_on_a_websocket_only_server_is_refused_with_code_0() {
    let config = EngineConfig::default().transports([TransportKind::WebSocket]);
    let server = TestEngine::start(config).await;
    let (mut witness, sid, _) = open_websocket(server.addr).await;
    handshake_get(server.addr, "EIO=4&transport=polling")
        .await
        .assert_error(400, 0, "polling handshake");
    get(server.addr, &sid)
        .await
        .assert_error(400, 0, "polling GET on a WebSocket session");
    assert_ws_echoes(&mut witness, "after refused polling").await;
}

// ---- HTTP methods ----

#[tokio::test]
async fn other_methods_on_a_session_are_405() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let (sid, _) = open_polling(server.addr).await;
    let target = common::eio::polling_target(Some(&sid));
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let reply = http(server.addr, method.clone(), &target, "4hello").await;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} with a sid: {}",
            reply.text()
        );
    }
    assert_polling_echoes(server.addr, &witness, "after other methods").await;
}

// ---- CORS (default: same origin only) ----

const FOREIGN_ORIGIN: &str = "http://evil.example";

#[tokio::test]
async fn foreign_origin_is_refused_on_polling_with_code_4() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let addr = server.addr;
    let origin = [("Origin", FOREIGN_ORIGIN)];
    let target = common::eio::polling_target(None);
    send(addr, request(addr, Method::GET, &target, &origin, full("")))
        .await
        .assert_error(400, 4, "handshake from a foreign origin");
    let target = common::eio::polling_target(Some(&witness));
    send(
        addr,
        request(addr, Method::POST, &target, &origin, full("4x")),
    )
    .await
    .assert_error(400, 4, "POST from a foreign origin");
    assert_eq!(
        server.eio.sockets().len(),
        1,
        "only the witness session is open"
    );
    assert_polling_echoes(addr, &witness, "after a foreign origin").await;
}

#[tokio::test]
async fn foreign_origin_is_refused_on_websocket_with_code_4() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let addr = server.addr;
    let origin = [("Origin", FOREIGN_ORIGIN)];
    ws_handshake(addr, "EIO=4&transport=websocket", &origin)
        .await
        .assert_error(400, 4, "WebSocket from a foreign origin");
    assert_eq!(
        refused_status(ws_connect(addr, "EIO=4&transport=websocket", &origin).await),
        400
    );
    assert_eq!(
        server.eio.sockets().len(),
        1,
        "only the witness session is open"
    );
    assert_polling_echoes(addr, &witness, "after a foreign origin").await;
}

#[tokio::test]
async fn same_origin_is_accepted_and_echoed_in_cors_headers() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let addr = server.addr;
    let own = format!("http://{addr}");
    let origin = [("Origin", own.as_str())];
    let target = common::eio::polling_target(None);
    let reply = send(addr, request(addr, Method::GET, &target, &origin, full(""))).await;
    assert_eq!(reply.status, StatusCode::OK, "handshake: {}", reply.text());
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(own.as_str()),
        "Access-Control-Allow-Origin on the handshake"
    );
    let mut ws = ws_connect(addr, "EIO=4&transport=websocket", &origin)
        .await
        .expect("same-origin WebSocket accepted");
    assert!(
        matches!(ws_recv(&mut ws).await, Message::Text(t) if t.starts_with('0')),
        "open packet"
    );
    assert_ws_echoes(&mut ws, "same-origin WebSocket").await;
    assert_polling_echoes(addr, &witness, "after same-origin clients").await;
}

// ---- payload limits ----

fn small_payload() -> EngineConfig {
    EngineConfig::default().max_payload(1000)
}

#[tokio::test]
async fn content_length_over_max_payload_closes_the_session() {
    let (mut server, witness) = server_with_witness(small_payload()).await;
    let addr = server.addr;
    let (sid, _) = open_polling(addr).await;
    let body = format!("4{}", "x".repeat(1000));
    let reply = try_send(
        addr,
        request(
            addr,
            Method::POST,
            &common::eio::polling_target(Some(&sid)),
            &[],
            full(body),
        ),
    )
    .await;
    let reply = reply.unwrap_or_else(|e| panic!("POST over max_payload got no answer: {e}"));
    reply.assert_error(400, 3, "POST over max_payload");
    assert_polling_gone(addr, &sid, "over max_payload").await;
    assert_eq!(
        server.disconnected(&sid).await,
        DisconnectReason::TransportError
    );
    // Exactly at the limit is fine.
    let at_limit = format!("4{}", "y".repeat(999));
    assert_ok(
        &post(addr, &witness, at_limit.clone()).await,
        "POST at max_payload",
    );
    assert_eq!(poll_messages(addr, &witness).await, [at_limit]);
    assert_polling_echoes(addr, &witness, "after an oversized POST").await;
}

#[tokio::test]
async fn chunked_body_over_max_payload_closes_the_session() {
    let (mut server, witness) = server_with_witness(small_payload()).await;
    let addr = server.addr;
    let (sid, _) = open_polling(addr).await;
    let chunks = vec![
        Bytes::from(format!("4{}", "x".repeat(599))),
        Bytes::from("x".repeat(600)),
    ];
    let target = common::eio::polling_target(Some(&sid));
    let reply = try_send(
        addr,
        request(addr, Method::POST, &target, &[], chunked(chunks)),
    )
    .await;
    let reply =
        reply.unwrap_or_else(|e| panic!("chunked POST over max_payload got no answer: {e}"));
    reply.assert_error(400, 3, "chunked POST over max_payload");
    assert_polling_gone(addr, &sid, "chunked over max_payload").await;
    assert_eq!(
        server.disconnected(&sid).await,
        DisconnectReason::TransportError
    );
    assert_polling_echoes(addr, &witness, "after an oversized chunked POST").await;
}

#[tokio::test]
async fn websocket_message_over_max_payload_closes_the_socket() {
    let (mut server, witness) = server_with_witness(small_payload()).await;
    let (mut ws, sid, _) = open_websocket(server.addr).await;
    ws_send(&mut ws, &format!("4{}", "x".repeat(2000))).await;
    let closed = ws_until_closed(&mut ws).await;
    assert!(closed.frames.is_empty(), "nothing echoed: {closed:?}");
    assert!(
        closed.code.is_none_or(|code| code != 1000),
        "an oversized message is not a normal close: {closed:?}"
    );
    assert_eq!(
        server.disconnected(&sid).await,
        DisconnectReason::TransportError
    );
    assert!(server.eio.socket(&sid).is_none(), "session {sid} is gone");
    assert_polling_echoes(
        server.addr,
        &witness,
        "after an oversized WebSocket message",
    )
    .await;
}

// ---- malformed polling payloads ----

#[tokio::test]
async fn seventeen_packets_in_one_post_are_refused() {
    let (mut server, witness) = server_with_witness(EngineConfig::default()).await;
    let addr = server.addr;
    // Sixteen is the most one POST may carry.
    let sixteen: Vec<String> = (0..16).map(|i| format!("4p{i}")).collect();
    assert_ok(
        &post(addr, &witness, sixteen.join("\x1e")).await,
        "16 packets",
    );
    assert_eq!(poll_messages(addr, &witness).await, sixteen);
    let seventeen = vec!["4x"; 17].join("\x1e");
    assert_post_closes_session(&mut server, seventeen, "17 packets").await;
    assert_polling_echoes(addr, &witness, "after 17 packets").await;
}

#[tokio::test]
async fn invalid_base64_is_refused() {
    let (mut server, witness) = server_with_witness(EngineConfig::default()).await;
    assert_post_closes_session(&mut server, "b!!not base64!!", "invalid base64").await;
    assert_post_closes_session(&mut server, "4ok\x1ebAQID*A==", "invalid base64 second").await;
    assert_polling_echoes(server.addr, &witness, "after invalid base64").await;
}

#[tokio::test]
async fn invalid_utf8_is_refused() {
    let (mut server, witness) = server_with_witness(EngineConfig::default()).await;
    let body = Bytes::from_static(b"4caf\xc3\x28 \xff");
    assert_post_closes_session(&mut server, body, "invalid UTF-8").await;
    assert_polling_echoes(server.addr, &witness, "after invalid UTF-8").await;
}

#[tokio::test]
async fn unknown_packet_types_close_the_session() {
    let (mut server, witness) = server_with_witness(EngineConfig::default()).await;
    for body in ["7", "x", "4ok\x1e9oops"] {
        assert_post_closes_session(&mut server, body, &format!("POST {body:?}")).await;
    }
    assert_polling_echoes(server.addr, &witness, "after unknown packet types").await;
}

#[tokio::test]
async fn empty_packets_close_the_session() {
    let (mut server, witness) = server_with_witness(EngineConfig::default()).await;
    for body in ["", "4a\x1e", "\x1e4a"] {
        assert_post_closes_session(&mut server, body, &format!("POST {body:?}")).await;
    }
    assert_polling_echoes(server.addr, &witness, "after empty packets").await;
}

#[tokio::test]
async fn pong_flood_leaves_the_session_healthy() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = open_polling(addr).await;
    let pongs = vec!["3"; 16].join("\x1e");
    for round in 0..50 {
        assert_ok(
            &post(addr, &sid, pongs.clone()).await,
            &format!("flood {round}"),
        );
    }
    assert_polling_echoes(addr, &sid, "the flooded session").await;
    assert_polling_echoes(addr, &witness, "another session").await;
}

// ---- upgrade misuse ----

/// Opens a polling session and a probing WebSocket for it.
async fn probing_websocket(addr: SocketAddr) -> (String, common::eio::Ws) {
    let (sid, _) = open_polling(addr).await;
    let ws = ws_connect(addr, &format!("EIO=4&transport=websocket&sid={sid}"), &[])
        .await
        .expect("upgrade WebSocket handshake");
    (sid, ws)
}

#[tokio::test]
async fn second_probe_closes_the_probing_websocket() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let addr = server.addr;
    let (sid, mut ws) = probing_websocket(addr).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_recv(&mut ws).await, Message::text("3probe"));
    ws_send(&mut ws, "2probe").await;
    let closed = ws_until_closed(&mut ws).await;
    assert!(closed.frames.is_empty(), "no second 3probe: {closed:?}");
    // The session stays on polling.
    assert_polling_echoes(addr, &sid, "the session whose probe failed").await;
    assert_polling_echoes(addr, &witness, "another session").await;
}

#[tokio::test]
async fn upgrade_without_probe_closes_the_probing_websocket() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let addr = server.addr;
    let (sid, mut ws) = probing_websocket(addr).await;
    ws_send(&mut ws, "5").await;
    let closed = ws_until_closed(&mut ws).await;
    assert!(closed.frames.is_empty(), "nothing sent back: {closed:?}");
    assert!(server.eio.socket(&sid).is_some(), "the session survives");
    assert_polling_echoes(addr, &sid, "the session whose upgrade failed").await;
    assert_polling_echoes(addr, &witness, "another session").await;
}

/// A second WebSocket for a session that already has one (upgrading or upgraded) completes
/// its handshake and is closed by the server at once, as Node's engine.io does; the session
/// and its first WebSocket are not touched.
async fn assert_second_websocket_is_closed(
    server: &TestEngine,
    sid: &str,
    first: &mut common::eio::Ws,
) {
    let query = format!("EIO=4&transport=websocket&sid={sid}");
    let mut second = ws_connect(server.addr, &query, &[])
        .await
        .expect("the second WebSocket's handshake is accepted (101)");
    ws_send(&mut second, "2probe").await;
    let closed = ws_until_closed(&mut second).await;
    assert!(closed.frames.is_empty(), "nothing but a close: {closed:?}");
    assert!(server.eio.socket(sid).is_some(), "the session survives");
    assert_ws_echoes(first, "the first WebSocket").await;
}

#[tokio::test]
async fn second_websocket_after_the_upgrade_is_accepted_then_closed() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let (sid, mut ws) = probing_websocket(server.addr).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_recv(&mut ws).await, Message::text("3probe"));
    ws_send(&mut ws, "5").await;
    // The echo proves the server handled `5`.
    assert_ws_echoes(&mut ws, "after the upgrade").await;
    assert_second_websocket_is_closed(&server, &sid, &mut ws).await;
    assert_polling_echoes(server.addr, &witness, "another session").await;
}

#[tokio::test]
async fn second_websocket_during_the_probe_is_accepted_then_closed() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let (sid, mut ws) = probing_websocket(server.addr).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_recv(&mut ws).await, Message::text("3probe"));
    let query = format!("EIO=4&transport=websocket&sid={sid}");
    let mut second = ws_connect(server.addr, &query, &[])
        .await
        .expect("the second WebSocket's handshake is accepted (101)");
    let closed = ws_until_closed(&mut second).await;
    assert!(closed.frames.is_empty(), "nothing but a close: {closed:?}");
    // The first probe goes on and completes.
    ws_send(&mut ws, "5").await;
    assert_ws_echoes(&mut ws, "the first WebSocket, upgraded").await;
    assert_polling_echoes(server.addr, &witness, "another session").await;
}

#[tokio::test]
async fn second_websocket_on_a_websocket_session_is_accepted_then_closed() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let (mut ws, sid, _) = open_websocket(server.addr).await;
    assert_second_websocket_is_closed(&server, &sid, &mut ws).await;
    assert_polling_echoes(server.addr, &witness, "another session").await;
}

/// RFC 6455 §4.2.1: `Sec-WebSocket-Key` must be the base64 of 16 bytes, or the handshake is
/// refused with 400.
#[tokio::test]
async fn malformed_sec_websocket_key_is_refused_with_400() {
    let (server, witness) = server_with_witness(EngineConfig::default()).await;
    let addr = server.addr;
    let bad_keys = [
        "abc",
        // 12 bytes that are not ASCII, then padding.
        "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}==",
        "",
        // base64 of 15 and of 17 bytes.
        "AAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAAA=",
        // 16 bytes without the padding, and with characters outside the alphabet.
        "dGhlIHNhbXBsZSBub25jZQ",
        "dGhlIHNhbXBsZSBub25jZ*==",
    ];
    for key in bad_keys {
        for query in [
            "EIO=4&transport=websocket".to_owned(),
            format!("EIO=4&transport=websocket&sid={witness}"),
        ] {
            let headers = [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", key),
                ("Sec-WebSocket-Version", "13"),
            ];
            let target = format!("/engine.io/?{query}");
            send(
                addr,
                request(addr, Method::GET, &target, &headers, full("")),
            )
            .await
            .assert_error(400, 3, &format!("key {key:?} on ?{query}"));
        }
    }
    assert_eq!(server.eio.sockets().len(), 1, "no session was opened");
    assert_polling_echoes(addr, &witness, "after the refused handshakes").await;
}

// ---- raw WebSocket frames ----

/// A minimal WebSocket client on a bare TCP stream, to send frames no library would.
struct RawWs {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl RawWs {
    /// Sends the handshake by hand and expects `101 Switching Protocols`.
    async fn connect(addr: SocketAddr) -> RawWs {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut head =
            format!("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n");
        for (name, value) in WS_UPGRADE {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .await
            .expect("write handshake");
        let mut raw = RawWs {
            stream,
            buffer: Vec::new(),
        };
        let end = within("the handshake answer", async {
            loop {
                if let Some(pos) = raw.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    return pos + 4;
                }
                assert!(raw.fill().await, "connection closed during the handshake");
            }
        })
        .await;
        let answer = String::from_utf8_lossy(&raw.buffer[..end]).into_owned();
        assert!(
            answer.starts_with("HTTP/1.1 101"),
            "handshake answer: {answer}"
        );
        raw.buffer.drain(..end);
        raw
    }

    /// Reads more bytes; false at the end of the stream or on an error.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next server frame as (first byte, payload); `None` once the connection ends.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        within("a raw WebSocket frame", async {
            loop {
                if let Some((header, len)) = frame_size(&self.buffer)
                    && self.buffer.len() >= header + len
                {
                    let first = self.buffer[0];
                    let payload = self.buffer[header..header + len].to_vec();
                    self.buffer.drain(..header + len);
                    return Some((first, payload));
                }
                if !self.fill().await {
                    return None;
                }
            }
        })
        .await
    }

    /// Sends one masked frame with the given first byte (FIN, RSV bits, opcode).
    async fn send(&mut self, first: u8, payload: &[u8]) {
        assert!(payload.len() < 126, "short frames only");
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        let mut frame = vec![first, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.expect("write frame");
    }
}

/// Header length and payload length of an unmasked server frame, once enough bytes are in.
fn frame_size(buffer: &[u8]) -> Option<(usize, usize)> {
    let short = usize::from(*buffer.get(1)? & 0x7f);
    match short {
        126 => Some((
            4,
            usize::from(u16::from_be_bytes([*buffer.get(2)?, *buffer.get(3)?])),
        )),
        127 => {
            let bytes: [u8; 8] = buffer.get(2..10)?.try_into().ok()?;
            Some((10, usize::try_from(u64::from_be_bytes(bytes)).ok()?))
        }
        len => Some((2, len)),
    }
}

const FIN_TEXT: u8 = 0x81;
const RSV1: u8 = 0x40;
const OPCODE_CLOSE: u8 = 0x8;

#[tokio::test]
async fn frame_with_reserved_bits_closes_the_websocket() {
    let (mut server, witness) = server_with_witness(EngineConfig::default()).await;
    let mut raw = RawWs::connect(server.addr).await;
    let (first, open) = raw.frame().await.expect("open packet");
    assert_eq!(first, FIN_TEXT);
    let open = common::eio::parse_open(&String::from_utf8_lossy(&open));
    let sid = open["sid"].as_str().expect("sid").to_owned();
    // A well-formed frame first, so the raw client itself is known to work.
    raw.send(FIN_TEXT, b"4plain").await;
    assert_eq!(raw.frame().await, Some((FIN_TEXT, b"4plain".to_vec())));
    // No extension was negotiated, so RSV1 is a protocol error.
    raw.send(FIN_TEXT | RSV1, b"4reserved").await;
    // The server answers with a close frame or just drops the connection; never an echo.
    match raw.frame().await {
        None => {}
        Some((first, _)) if first & 0x0f == OPCODE_CLOSE => {}
        Some(other) => panic!("frame after the bad frame: {other:?}"),
    }
    assert_eq!(
        server.disconnected(&sid).await,
        DisconnectReason::TransportError
    );
    assert_polling_echoes(server.addr, &witness, "after reserved bits").await;
}

#[tokio::test]
async fn binary_frame_over_max_payload_closes_the_websocket() {
    let (mut server, witness) = server_with_witness(small_payload()).await;
    let (mut ws, sid, _) = open_websocket(server.addr).await;
    within("send", ws.send(Message::binary(vec![7u8; 1500])))
        .await
        .expect("send binary");
    let closed = ws_until_closed(&mut ws).await;
    assert!(closed.frames.is_empty(), "nothing echoed: {closed:?}");
    assert_eq!(
        server.disconnected(&sid).await,
        DisconnectReason::TransportError
    );
    assert_polling_echoes(server.addr, &witness, "after an oversized binary frame").await;
}
