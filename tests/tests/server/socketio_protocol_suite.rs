//! Ports of the official Socket.IO protocol test suite (socketio/socket.io-protocol,
//! `test-suite/test-suite.js`) against the `conformance` example at `/socket.io/`
//! (docs/PROGRAMS.md, `conformance`): one test per official test, in the official order, each doing what
//! the official test does and checking exactly what it checks (see `common::official` for how
//! its JavaScript client is mirrored). The official suite's two top-level blocks, "Engine.IO
//! protocol" and "Socket.IO protocol", follow each other below.
//!
//! What docs/PROGRAMS.md, `conformance` asks beyond the official suite is checked in [`beyond`] at the end:
//! the Socket.IO tests over HTTP long-polling as well, heartbeats and upgrades of a session
//! that joined a namespace, the connect timeout, and exact refusals.

use crate::common;

use std::net::SocketAddr;

use common::ExampleProcess;
use common::eio::{SOCKETIO_PATH, polling_target_at};
use common::official::{
    self, TIMEOUT, WebSocket, assert_all_keys, init_long_polling_session, json_parse, mocha,
    substring, text_of,
};
use tokio_tungstenite::tungstenite::Message;

fn conformance() -> ExampleProcess {
    common::spawn_example("conformance", &[])
}

const WEBSOCKET: &str = "/socket.io/?EIO=4&transport=websocket";

// ==== Engine.IO protocol › handshake ====

/// Port of the official test Engine.IO protocol › handshake › HTTP long-polling › "should
/// successfully open a session".
#[tokio::test]
async fn handshake_polling_should_successfully_open_a_session() {
    let server = conformance();
    official::handshake_polling_successfully_opens_a_session(server.addr, SOCKETIO_PATH).await;
}

/// Port of the official test Engine.IO protocol › handshake › HTTP long-polling › "should
/// fail with an invalid 'EIO' query parameter".
#[tokio::test]
async fn handshake_polling_should_fail_with_an_invalid_eio_query_parameter() {
    let server = conformance();
    official::handshake_polling_fails_with_an_invalid_eio_query_parameter(
        server.addr,
        SOCKETIO_PATH,
    )
    .await;
}

/// Port of the official test Engine.IO protocol › handshake › HTTP long-polling › "should
/// fail with an invalid 'transport' query parameter".
#[tokio::test]
async fn handshake_polling_should_fail_with_an_invalid_transport_query_parameter() {
    let server = conformance();
    official::handshake_polling_fails_with_an_invalid_transport_query_parameter(
        server.addr,
        SOCKETIO_PATH,
    )
    .await;
}

/// Port of the official test Engine.IO protocol › handshake › HTTP long-polling › "should
/// fail with an invalid request method".
#[tokio::test]
async fn handshake_polling_should_fail_with_an_invalid_request_method() {
    let server = conformance();
    official::handshake_polling_fails_with_an_invalid_request_method(server.addr, SOCKETIO_PATH)
        .await;
}

/// Port of the official test Engine.IO protocol › handshake › WebSocket › "should
/// successfully open a session".
#[tokio::test]
async fn handshake_websocket_should_successfully_open_a_session() {
    let server = conformance();
    official::handshake_websocket_successfully_opens_a_session(server.addr, SOCKETIO_PATH).await;
}

/// Port of the official test Engine.IO protocol › handshake › WebSocket › "should fail with
/// an invalid 'EIO' query parameter", which awaits nothing; the refusal itself is checked in
/// [`beyond::websocket_handshake_refuses_a_missing_or_bad_eio`].
#[tokio::test]
async fn handshake_websocket_should_fail_with_an_invalid_eio_query_parameter() {
    let server = conformance();
    official::handshake_websocket_fails_with_an_invalid_eio_query_parameter(
        server.addr,
        SOCKETIO_PATH,
    )
    .await;
}

/// Port of the official test Engine.IO protocol › handshake › WebSocket › "should fail with
/// an invalid 'transport' query parameter", which awaits nothing either.
#[tokio::test]
async fn handshake_websocket_should_fail_with_an_invalid_transport_query_parameter() {
    let server = conformance();
    official::handshake_websocket_fails_with_an_invalid_transport_query_parameter(
        server.addr,
        SOCKETIO_PATH,
    )
    .await;
}

// ==== Engine.IO protocol › heartbeat ====
//
// No namespace is joined, as in the official tests: three heartbeats (900 ms) fit in the
// 1000 ms connect timeout.

/// Port of the official test Engine.IO protocol › heartbeat › HTTP long-polling › "should
/// send ping/pong packets".
#[tokio::test]
async fn heartbeat_polling_should_send_ping_pong_packets() {
    let server = conformance();
    official::heartbeat_polling_sends_ping_pong_packets(server.addr, SOCKETIO_PATH).await;
}

/// Port of the official test Engine.IO protocol › heartbeat › HTTP long-polling › "should
/// close the session upon ping timeout".
#[tokio::test]
async fn heartbeat_polling_should_close_the_session_upon_ping_timeout() {
    let server = conformance();
    official::heartbeat_polling_closes_the_session_upon_ping_timeout(server.addr, SOCKETIO_PATH)
        .await;
}

/// Port of the official test Engine.IO protocol › heartbeat › WebSocket › "should send
/// ping/pong packets".
#[tokio::test]
async fn heartbeat_websocket_should_send_ping_pong_packets() {
    let server = conformance();
    official::heartbeat_websocket_sends_ping_pong_packets(server.addr, SOCKETIO_PATH).await;
}

/// Port of the official test Engine.IO protocol › heartbeat › WebSocket › "should close the
/// session upon ping timeout".
#[tokio::test]
async fn heartbeat_websocket_should_close_the_session_upon_ping_timeout() {
    let server = conformance();
    official::heartbeat_websocket_closes_the_session_upon_ping_timeout(server.addr, SOCKETIO_PATH)
        .await;
}

// ==== Engine.IO protocol › close ====

/// Port of the official test Engine.IO protocol › close › HTTP long-polling › "should
/// forcefully close the session".
#[tokio::test]
async fn close_polling_should_forcefully_close_the_session() {
    let server = conformance();
    official::close_polling_forcefully_closes_the_session(server.addr, SOCKETIO_PATH).await;
}

/// Port of the official test Engine.IO protocol › close › WebSocket › "should forcefully
/// close the session".
#[tokio::test]
async fn close_websocket_should_forcefully_close_the_session() {
    let server = conformance();
    official::close_websocket_forcefully_closes_the_session(server.addr, SOCKETIO_PATH).await;
}

// ==== Engine.IO protocol › upgrade ====

/// A polling session, a WebSocket opened for its sid, `2probe` sent on it.
async fn probing(addr: SocketAddr) -> (String, WebSocket) {
    let sid = init_long_polling_session(addr, SOCKETIO_PATH).await;
    let mut socket = WebSocket::open(addr, &format!("{WEBSOCKET}&sid={sid}")).await;
    socket.send("2probe").await;
    (sid, socket)
}

/// Port of the official test Engine.IO protocol › upgrade › "should successfully upgrade
/// from HTTP long-polling to WebSocket". It ends with sending `5`.
#[tokio::test]
async fn upgrade_should_successfully_upgrade_from_http_long_polling_to_websocket() {
    let server = conformance();
    mocha(TIMEOUT, async {
        let (_sid, mut socket) = probing(server.addr).await;
        assert_eq!(socket.message().await, Message::text("3probe"));
        socket.send("5").await;
    })
    .await;
}

/// Port of the official test Engine.IO protocol › upgrade › "should ignore HTTP requests
/// with same sid after upgrade".
#[tokio::test]
async fn upgrade_should_ignore_http_requests_with_same_sid_after_upgrade() {
    let server = conformance();
    let addr = server.addr;
    mocha(TIMEOUT, async {
        official::poll_refused_after_upgrade(addr, || async {
            let (sid, mut socket) = probing(addr).await;
            socket.send("5").await;
            (polling_target_at(SOCKETIO_PATH, Some(&sid)), socket)
        })
        .await;
    })
    .await;
}

/// Port of the official test Engine.IO protocol › upgrade › "should ignore WebSocket
/// connection with same sid after upgrade": the second WebSocket has no `error` listener,
/// so it must be accepted (101) and then be closed by the server.
#[tokio::test]
async fn upgrade_should_ignore_websocket_connection_with_same_sid_after_upgrade() {
    let server = conformance();
    let addr = server.addr;
    mocha(TIMEOUT, async {
        let (sid, mut socket) = probing(addr).await;
        socket.send("5").await;
        let mut socket2 = WebSocket::open(addr, &format!("{WEBSOCKET}&sid={sid}")).await;
        socket2.closed().await;
    })
    .await;
}

// ==== Socket.IO protocol › connect ====

/// Sends `connect` after the Engine.IO handshake; the reply must start with `prefix` and
/// carry an object with the sid only, and the next message must be `auth`.
async fn connects(addr: SocketAddr, connect: &str, prefix: &str, auth: &str) {
    mocha(TIMEOUT, async {
        let mut socket = WebSocket::open(addr, WEBSOCKET).await;
        socket.message().await; // the Engine.IO handshake, not checked
        socket.send(connect).await;
        let data = text_of(socket.message().await);
        assert!(data.starts_with(prefix), "{data:?}");
        let handshake = json_parse(substring(&data, prefix.len()));
        assert_all_keys(&handshake, &["sid"]);
        assert!(handshake["sid"].is_string(), "{handshake}");
        assert_eq!(socket.message().await, Message::text(auth));
    })
    .await;
}

/// Port of the official test Socket.IO protocol › connect › "should allow connection to the
/// main namespace".
#[tokio::test]
async fn connect_should_allow_connection_to_the_main_namespace() {
    let server = conformance();
    connects(server.addr, "40", "40", r#"42["auth",{}]"#).await;
}

/// Port of the official test Socket.IO protocol › connect › "should allow connection to the
/// main namespace with a payload".
#[tokio::test]
async fn connect_should_allow_connection_to_the_main_namespace_with_a_payload() {
    let server = conformance();
    connects(
        server.addr,
        r#"40{"token":"123"}"#,
        "40",
        r#"42["auth",{"token":"123"}]"#,
    )
    .await;
}

/// Port of the official test Socket.IO protocol › connect › "should allow connection to a
/// custom namespace".
#[tokio::test]
async fn connect_should_allow_connection_to_a_custom_namespace() {
    let server = conformance();
    connects(
        server.addr,
        "40/custom,",
        "40/custom,",
        r#"42/custom,["auth",{}]"#,
    )
    .await;
}

/// Port of the official test Socket.IO protocol › connect › "should allow connection to a
/// custom namespace with a payload".
#[tokio::test]
async fn connect_should_allow_connection_to_a_custom_namespace_with_a_payload() {
    let server = conformance();
    connects(
        server.addr,
        r#"40/custom,{"token":"abc"}"#,
        "40/custom,",
        r#"42/custom,["auth",{"token":"abc"}]"#,
    )
    .await;
}

/// Port of the official test Socket.IO protocol › connect › "should disallow connection to
/// an unknown namespace".
#[tokio::test]
async fn connect_should_disallow_connection_to_an_unknown_namespace() {
    let server = conformance();
    mocha(TIMEOUT, async {
        let mut socket = WebSocket::open(server.addr, WEBSOCKET).await;
        socket.message().await; // the Engine.IO handshake, not checked
        socket.send("40/random").await;
        assert_eq!(
            socket.message().await,
            Message::text(r#"44/random,{"message":"Invalid namespace"}"#)
        );
    })
    .await;
}

/// Port of the official test Socket.IO protocol › connect › "should disallow connection with
/// an invalid handshake".
#[tokio::test]
async fn connect_should_disallow_connection_with_an_invalid_handshake() {
    let server = conformance();
    mocha(TIMEOUT, async {
        let mut socket = WebSocket::open(server.addr, WEBSOCKET).await;
        socket.message().await; // the Engine.IO handshake, not checked
        socket.send("4abc").await;
        socket.closed().await;
    })
    .await;
}

/// Port of the official test Socket.IO protocol › connect › "should close the connection if
/// no handshake is received". Nothing answers the pings either, so the ping timeout may end
/// it first; the connect timeout itself is checked in
/// [`beyond::polling::no_handshake_closes_after_the_connect_timeout`] and its WebSocket twin.
#[tokio::test]
async fn connect_should_close_the_connection_if_no_handshake_is_received() {
    let server = conformance();
    mocha(TIMEOUT, async {
        WebSocket::open(server.addr, WEBSOCKET).await.closed().await;
    })
    .await;
}

// ==== Socket.IO protocol › disconnect ====

/// The official `initSocketIOConnection`: the Engine.IO handshake, `40`, then two messages
/// (the CONNECT reply and the `auth` event), none of them checked.
async fn init_socketio_connection(addr: SocketAddr) -> WebSocket {
    let mut socket = WebSocket::open(addr, WEBSOCKET).await;
    socket.message().await;
    socket.send("40").await;
    socket.message().await;
    socket.message().await;
    socket
}

/// Port of the official test Socket.IO protocol › disconnect › "should disconnect from the
/// main namespace": after `41` the next message is the server's next ping.
#[tokio::test]
async fn disconnect_should_disconnect_from_the_main_namespace() {
    let server = conformance();
    mocha(TIMEOUT, async {
        let mut socket = init_socketio_connection(server.addr).await;
        socket.send("41").await;
        assert_eq!(socket.message().await, Message::text("2"));
    })
    .await;
}

/// Port of the official test Socket.IO protocol › disconnect › "should connect then
/// disconnect from a custom namespace". The message it waits for first is the ping, which it
/// does not answer; the rest happens before the ping times out.
#[tokio::test]
async fn disconnect_should_connect_then_disconnect_from_a_custom_namespace() {
    let server = conformance();
    mocha(TIMEOUT, async {
        let mut socket = init_socketio_connection(server.addr).await;
        socket.message().await; // the ping, not checked
        socket.send("40/custom").await;
        socket.message().await; // the Socket.IO handshake, not checked
        socket.message().await; // the auth packet, not checked
        socket.send("41/custom").await;
        socket
            .send(r#"42["message","message to main namespace"]"#)
            .await;
        assert_eq!(
            socket.message().await,
            Message::text(r#"42["message-back","message to main namespace"]"#)
        );
    })
    .await;
}

// ==== Socket.IO protocol › message ====

const PLACEHOLDERS: &str = r#"{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}"#;

/// Sends `sent` after `initSocketIOConnection`; the next message must be `expected`.
async fn answers(addr: SocketAddr, sent: &str, expected: &str) {
    mocha(TIMEOUT, async {
        let mut socket = init_socketio_connection(addr).await;
        socket.send(sent).await;
        assert_eq!(socket.message().await, Message::text(expected));
    })
    .await;
}

/// Sends `sent` and the attachments `[1, 2, 3]` and `[4, 5, 6]`; the next three messages
/// other than pings must be `expected` and the same two attachments.
async fn answers_with_attachments(addr: SocketAddr, sent: &str, expected: &str) {
    mocha(TIMEOUT, async {
        let mut socket = init_socketio_connection(addr).await;
        socket.send(sent).await;
        socket.send_binary(&[1, 2, 3]).await;
        socket.send_binary(&[4, 5, 6]).await;
        let packets = socket.packets(3).await;
        assert_eq!(packets[0], Message::text(expected));
        assert_eq!(packets[1], Message::binary(vec![1u8, 2, 3]));
        assert_eq!(packets[2], Message::binary(vec![4u8, 5, 6]));
    })
    .await;
}

/// `sent` after `initSocketIOConnection` ends the connection.
async fn closes_upon(addr: SocketAddr, sent: &str) {
    mocha(TIMEOUT, async {
        let mut socket = init_socketio_connection(addr).await;
        socket.send(sent).await;
        socket.closed().await;
    })
    .await;
}

/// Port of the official test Socket.IO protocol › message › "should send a plain-text
/// packet".
#[tokio::test]
async fn message_should_send_a_plain_text_packet() {
    let server = conformance();
    answers(
        server.addr,
        r#"42["message",1,"2",{"3":[true]}]"#,
        r#"42["message-back",1,"2",{"3":[true]}]"#,
    )
    .await;
}

/// Port of the official test Socket.IO protocol › message › "should send a packet with
/// binary attachments".
#[tokio::test]
async fn message_should_send_a_packet_with_binary_attachments() {
    let server = conformance();
    answers_with_attachments(
        server.addr,
        &format!(r#"452-["message",{PLACEHOLDERS}]"#),
        &format!(r#"452-["message-back",{PLACEHOLDERS}]"#),
    )
    .await;
}

/// Port of the official test Socket.IO protocol › message › "should send a plain-text packet
/// with an ack".
#[tokio::test]
async fn message_should_send_a_plain_text_packet_with_an_ack() {
    let server = conformance();
    answers(
        server.addr,
        r#"42456["message-with-ack",1,"2",{"3":[false]}]"#,
        r#"43456[1,"2",{"3":[false]}]"#,
    )
    .await;
}

/// Port of the official test Socket.IO protocol › message › "should send a packet with
/// binary attachments and an ack".
#[tokio::test]
async fn message_should_send_a_packet_with_binary_attachments_and_an_ack() {
    let server = conformance();
    answers_with_attachments(
        server.addr,
        &format!(r#"452-789["message-with-ack",{PLACEHOLDERS}]"#),
        &format!("462-789[{PLACEHOLDERS}]"),
    )
    .await;
}

/// Port of the official test Socket.IO protocol › message › "should close the connection
/// upon invalid format (unknown packet type)".
#[tokio::test]
async fn message_should_close_the_connection_upon_invalid_format_unknown_packet_type() {
    let server = conformance();
    closes_upon(server.addr, "4abc").await;
}

/// Port of the official test Socket.IO protocol › message › "should close the connection
/// upon invalid format (invalid payload format)".
#[tokio::test]
async fn message_should_close_the_connection_upon_invalid_format_invalid_payload_format() {
    let server = conformance();
    closes_upon(server.addr, "42{}").await;
}

/// Port of the official test Socket.IO protocol › message › "should close the connection
/// upon invalid format (invalid ack id)".
#[tokio::test]
async fn message_should_close_the_connection_upon_invalid_format_invalid_ack_id() {
    let server = conformance();
    closes_upon(
        server.addr,
        r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#,
    )
    .await;
}

/// docs/PROGRAMS.md, `conformance` beyond the official suite, on `/socket.io/`: the Socket.IO tests over
/// both transports (the official suite uses WebSocket only), with what may come before the
/// end; heartbeats, ping timeouts and upgrades of a session that joined `/`; the connect
/// timeout; exact refusals.
mod beyond {
    use std::collections::VecDeque;
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use super::common::eio::{
        self, Reply, Ws, within, ws_connect_at, ws_recv, ws_send, ws_until_closed,
    };
    use super::common::sio::{self, Client, connect_reply_sid};
    use super::conformance;
    use futures_util::StreamExt;
    use http::StatusCode;
    use tokio_tungstenite::tungstenite::{self, Message};

    const PING_INTERVAL: Duration = Duration::from_millis(300);
    const PING_TIMEOUT: Duration = Duration::from_millis(200);
    const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
    /// Timers never fire early, but the clocks of the test and of the server start a little
    /// apart.
    const CLOCK_SLACK: Duration = Duration::from_millis(50);

    // ---- HTTP long-polling at /socket.io/ ----

    async fn get(addr: SocketAddr, sid: &str) -> Reply {
        eio::get_at(addr, eio::SOCKETIO_PATH, sid).await
    }

    async fn post(addr: SocketAddr, sid: &str, body: impl Into<bytes::Bytes>) -> Reply {
        eio::post_at(addr, eio::SOCKETIO_PATH, sid, body).await
    }

    /// Opens a polling session; returns its sid and handshake.
    async fn open_polling(addr: SocketAddr) -> (String, serde_json::Value) {
        eio::open_polling_at(addr, eio::SOCKETIO_PATH).await
    }

    const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// Standard base64 with padding, as Engine.IO writes binary packets over polling.
    fn base64_encode(data: &[u8]) -> String {
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let bits = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(BASE64[(bits >> (18 - 6 * i) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn base64_decode(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut bits, mut count) = (0u32, 0);
        for c in text.bytes().filter(|&c| c != b'=') {
            let value = BASE64
                .iter()
                .position(|&b| b == c)
                .unwrap_or_else(|| panic!("{text:?} is not base64"));
            bits = bits << 6 | value as u32;
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
            }
        }
        out
    }

    // ---- one Socket.IO connection over either transport ----

    #[derive(Debug, Clone, Copy)]
    enum Transport {
        Polling,
        WebSocket,
    }

    /// A polling session that answers pings and hands out packets one by one, as frames:
    /// `b<base64>` becomes a binary frame, everything else a text frame.
    struct PollingSession {
        addr: SocketAddr,
        sid: String,
        queued: VecDeque<Message>,
    }

    impl PollingSession {
        /// One GET: queues what it brought, answers pings; `false` when the session is gone.
        async fn poll(&mut self) -> bool {
            let reply = get(self.addr, &self.sid).await;
            if reply.status == StatusCode::BAD_REQUEST {
                return false;
            }
            assert_eq!(reply.status, StatusCode::OK, "GET: {}", reply.text());
            let mut pinged = false;
            for packet in reply.packets() {
                if packet == "2" {
                    pinged = true;
                } else if let Some(data) = packet.strip_prefix('b') {
                    self.queued.push_back(Message::binary(base64_decode(data)));
                } else {
                    self.queued.push_back(Message::text(packet));
                }
            }
            if pinged {
                // Refused once the session is closing; the next GET says so.
                let _ = post(self.addr, &self.sid, "3").await;
            }
            true
        }

        /// Sends frames in one POST, binary ones as `b<base64>`; returns the reply.
        async fn post_frames(&self, frames: &[Message]) -> Reply {
            let body: Vec<String> = frames
                .iter()
                .map(|frame| match frame {
                    Message::Text(text) => text.to_string(),
                    Message::Binary(data) => format!("b{}", base64_encode(data)),
                    other => panic!("cannot send {other:?} over polling"),
                })
                .collect();
            post(self.addr, &self.sid, body.join("\x1e")).await
        }
    }

    enum Session {
        Polling(PollingSession),
        WebSocket(Client),
    }

    impl Session {
        /// Opens an engine connection to `/socket.io/`.
        async fn open(addr: SocketAddr, transport: Transport) -> Session {
            match transport {
                Transport::Polling => {
                    let (sid, _) = open_polling(addr).await;
                    Session::Polling(PollingSession {
                        addr,
                        sid,
                        queued: VecDeque::new(),
                    })
                }
                Transport::WebSocket => Session::WebSocket(Client::connect(addr).await),
            }
        }

        /// Sends frames that the server must accept at the transport level.
        async fn send(&mut self, frames: &[Message]) {
            match self {
                Session::Polling(polling) => {
                    let reply = polling.post_frames(frames).await;
                    eio::assert_ok(&reply, "POST");
                }
                Session::WebSocket(client) => {
                    for frame in frames {
                        match frame {
                            Message::Text(text) => client.send(text),
                            Message::Binary(data) => client.send_binary(data.clone()),
                            other => panic!("cannot send {other:?}"),
                        }
                    }
                }
            }
        }

        /// Sends frames the server may refuse (they end the session).
        async fn send_bad(&mut self, frames: &[Message]) {
            match self {
                Session::Polling(polling) => {
                    let _ = polling.post_frames(frames).await;
                }
                Session::WebSocket(_) => self.send(frames).await,
            }
        }

        async fn send_text(&mut self, frame: &str) {
            self.send(&[Message::text(frame)]).await;
        }

        /// The next frame other than a ping.
        async fn recv(&mut self) -> Message {
            match self {
                Session::Polling(polling) => {
                    within("a packet over polling", async {
                        loop {
                            if let Some(frame) = polling.queued.pop_front() {
                                return frame;
                            }
                            assert!(polling.poll().await, "the session ended");
                        }
                    })
                    .await
                }
                Session::WebSocket(client) => client.recv().await,
            }
        }

        async fn recv_text(&mut self) -> String {
            match self.recv().await {
                Message::Text(text) => text.to_string(),
                other => panic!("expected a text packet, got {other:?}"),
            }
        }

        /// Waits until the server ends the session; returns what came first (pings excluded).
        async fn until_closed(&mut self) -> Vec<Message> {
            match self {
                Session::Polling(polling) => {
                    within("the server to end the session", async {
                        while polling.poll().await {}
                    })
                    .await;
                    polling.queued.drain(..).collect()
                }
                Session::WebSocket(client) => client.until_closed().await,
            }
        }

        /// Connects `namespace` with an optional auth payload; checks the reply and the `auth`
        /// event the conformance server sends back.
        async fn join(&mut self, namespace: &str, auth: Option<&str>) -> String {
            let prefix = sio::ns_prefix(namespace);
            self.send_text(&format!("40{prefix}{}", auth.unwrap_or_default()))
                .await;
            let sid = connect_reply_sid(&self.recv_text().await, namespace);
            assert_eq!(
                self.recv_text().await,
                format!(r#"42{prefix}["auth",{}]"#, auth.unwrap_or("{}"))
            );
            sid
        }
    }

    /// The suite's `initSocketIOConnection`: an engine connection joined to `/`.
    async fn connected(addr: SocketAddr, transport: Transport) -> Session {
        let mut session = Session::open(addr, transport).await;
        session.join("/", None).await;
        session
    }

    /// Only a close packet (or nothing) may come before the end.
    #[track_caller]
    fn assert_nothing_but_close(frames: &[Message], what: &str) {
        assert!(
            frames.iter().all(|f| *f == Message::text("1")),
            "{what}: frames before the end: {frames:?}"
        );
    }

    #[tokio::test]
    async fn websocket_handshake_refuses_a_missing_or_bad_eio() {
        let server = conformance();
        for query in ["transport=websocket", "EIO=abc&transport=websocket"] {
            let attempt = ws_connect_at(server.addr, &format!("/socket.io/?{query}"), &[]).await;
            assert_eq!(eio::refused_status(attempt), 400, "{query}");
        }
    }

    #[tokio::test]
    async fn websocket_handshake_refuses_a_missing_or_bad_transport() {
        let server = conformance();
        for query in ["EIO=4", "EIO=4&transport=abc"] {
            let attempt = ws_connect_at(server.addr, &format!("/socket.io/?{query}"), &[]).await;
            assert_eq!(eio::refused_status(attempt), 400, "{query}");
        }
    }

    // ==== Engine.IO protocol: heartbeat ====

    /// A polling session joined to `/` (pings on the way answered); returns its sid.
    async fn polling_joined(addr: SocketAddr) -> String {
        let (sid, _) = open_polling(addr).await;
        let mut session = Session::Polling(PollingSession {
            addr,
            sid: sid.clone(),
            queued: VecDeque::new(),
        });
        session.join("/", None).await;
        sid
    }

    #[tokio::test]
    async fn polling_heartbeat_pings_and_accepts_pongs() {
        let server = conformance();
        let sid = polling_joined(server.addr).await;
        for round in 0..3 {
            let reply = get(server.addr, &sid).await;
            assert_eq!(
                (reply.status, reply.text().as_str()),
                (StatusCode::OK, "2"),
                "ping {round}"
            );
            eio::assert_ok(&post(server.addr, &sid, "3").await, "pong");
        }
    }

    #[tokio::test]
    async fn polling_ping_timeout_closes_the_session() {
        let server = conformance();
        let started = Instant::now();
        let (sid, _) = open_polling(server.addr).await;
        eio::assert_ok(&post(server.addr, &sid, "40").await, "POST 40");
        // Poll without ever answering a ping, until the session is gone.
        let mut seen = Vec::new();
        within("the ping timeout", async {
            loop {
                let reply = get(server.addr, &sid).await;
                if reply.status == StatusCode::BAD_REQUEST {
                    break;
                }
                assert_eq!(reply.status, StatusCode::OK, "GET: {}", reply.text());
                seen.extend(reply.packets());
            }
        })
        .await;
        assert!(
            started.elapsed() + CLOCK_SLACK >= PING_INTERVAL + PING_TIMEOUT,
            "closed after {:?}, before a ping could time out",
            started.elapsed()
        );
        assert!(
            seen.contains(&"2".to_owned()),
            "a ping came first: {seen:?}"
        );
        assert!(
            seen.iter().all(|p| p.starts_with("40{")
                || p == r#"42["auth",{}]"#
                || ["2", "1", "6"].contains(&p.as_str())),
            "only the CONNECT reply, the auth event and engine packets: {seen:?}"
        );
    }

    /// The next raw frame, pings included.
    async fn raw_frame(ws: &mut Ws) -> Message {
        match within("a raw WebSocket frame", ws.next()).await {
            Some(Ok(frame)) => frame,
            other => panic!("the WebSocket ended: {other:?}"),
        }
    }

    /// A raw WebSocket to `/socket.io/` joined to `/`; pings on the way are answered.
    async fn raw_ws_joined(addr: SocketAddr) -> Ws {
        let mut ws = ws_connect_at(addr, sio::WS_TARGET, &[])
            .await
            .expect("WebSocket handshake");
        let Message::Text(open) = ws_recv(&mut ws).await else {
            panic!("no open packet")
        };
        eio::parse_open(&open);
        ws_send(&mut ws, "40").await;
        let Message::Text(reply) = ws_recv(&mut ws).await else {
            panic!("no CONNECT reply")
        };
        connect_reply_sid(&reply, "/");
        assert_eq!(ws_recv(&mut ws).await, Message::text(r#"42["auth",{}]"#));
        ws
    }

    #[tokio::test]
    async fn websocket_heartbeat_pings_and_accepts_pongs() {
        let server = conformance();
        let mut ws = raw_ws_joined(server.addr).await;
        for round in 0..3 {
            assert_eq!(raw_frame(&mut ws).await, Message::text("2"), "ping {round}");
            ws_send(&mut ws, "3").await;
        }
        ws_send(&mut ws, r#"42["message","after three pongs"]"#).await;
        assert_eq!(
            ws_recv(&mut ws).await,
            Message::text(r#"42["message-back","after three pongs"]"#)
        );
    }

    #[tokio::test]
    async fn websocket_ping_timeout_closes_the_connection() {
        let server = conformance();
        let started = Instant::now();
        let mut ws = ws_connect_at(server.addr, sio::WS_TARGET, &[])
            .await
            .expect("WebSocket handshake");
        ws_send(&mut ws, "40").await;
        // Never answer: the open packet, the CONNECT reply, the auth event, one ping, the end.
        let closed = ws_until_closed(&mut ws).await;
        let frames: Vec<String> = closed
            .frames
            .iter()
            .map(|frame| match frame {
                Message::Text(text) => text.to_string(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(frames.len(), 4, "{frames:?}");
        eio::parse_open(&frames[0]);
        connect_reply_sid(&frames[1], "/");
        assert_eq!(frames[2..], [r#"42["auth",{}]"#, "2"]);
        assert!(
            started.elapsed() + CLOCK_SLACK >= PING_INTERVAL + PING_TIMEOUT,
            "closed after {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn websocket_without_pongs_is_closed() {
        // The suite's literal version: open and wait; with no namespace either, the ping
        // timeout (500 ms) ends it before the connect timeout could.
        let server = conformance();
        let mut ws = ws_connect_at(server.addr, sio::WS_TARGET, &[])
            .await
            .expect("WebSocket handshake");
        let closed = ws_until_closed(&mut ws).await;
        assert!(
            !closed.frames.is_empty() && closed.frames.len() <= 3,
            "the open packet and a ping or two: {closed:?}"
        );
    }

    // ==== Engine.IO protocol: close ====

    #[tokio::test]
    async fn polling_close_packet_answers_the_pending_get_with_noop() {
        let server = conformance();
        eio::assert_close_answers_pending_poll(server.addr, eio::SOCKETIO_PATH).await;
    }

    #[tokio::test]
    async fn websocket_close_packet_closes_the_connection() {
        let server = conformance();
        let mut client = Client::connect(server.addr).await;
        client.send("1");
        let before = client.until_closed().await;
        assert!(before.is_empty(), "frames before the end: {before:?}");
    }

    // ==== Engine.IO protocol: upgrade ====

    /// A polling session joined to `/`, then upgraded: `2probe` → `3probe`, the GET parked
    /// meanwhile is released with a noop, then `5`. The first Socket.IO round trip over the
    /// WebSocket proves the server took the `5`.
    async fn upgraded(addr: SocketAddr) -> (String, Ws) {
        let sid = polling_joined(addr).await;
        let target = format!("/socket.io/?EIO=4&transport=websocket&sid={sid}");
        let mut ws = ws_connect_at(addr, &target, &[])
            .await
            .expect("upgrade WebSocket handshake");
        ws_send(&mut ws, "2probe").await;
        assert_eq!(raw_frame(&mut ws).await, Message::text("3probe"));
        let mut noop = false;
        for _ in 0..5 {
            let reply = get(addr, &sid).await;
            assert_eq!(reply.status, StatusCode::OK, "GET during the probe");
            if reply.text() == "6" {
                noop = true;
                break;
            }
            assert!(
                reply.packets().iter().all(|p| p == "2"),
                "GET during the probe: {:?}",
                reply.text()
            );
            eio::assert_ok(&post(addr, &sid, "3").await, "pong during the probe");
        }
        assert!(noop, "no GET during the probe was released with a noop");
        ws_send(&mut ws, "5").await;
        ws_send(&mut ws, r#"42["message","over websocket"]"#).await;
        assert_eq!(
            ws_recv(&mut ws).await,
            Message::text(r#"42["message-back","over websocket"]"#)
        );
        (sid, ws)
    }

    #[tokio::test]
    async fn upgrade_from_polling_to_websocket() {
        let server = conformance();
        let (_, mut ws) = upgraded(server.addr).await;
        ws_send(&mut ws, r#"42456["message-with-ack","after the upgrade"]"#).await;
        assert_eq!(
            ws_recv(&mut ws).await,
            Message::text(r#"43456["after the upgrade"]"#)
        );
    }

    #[tokio::test]
    async fn after_upgrade_polling_requests_are_refused() {
        let server = conformance();
        let (sid, mut ws) = upgraded(server.addr).await;
        let reply = get(server.addr, &sid).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "GET after the upgrade"
        );
        ws_send(&mut ws, r#"42["message","still upgraded"]"#).await;
        assert_eq!(
            ws_recv(&mut ws).await,
            Message::text(r#"42["message-back","still upgraded"]"#)
        );
    }

    #[tokio::test]
    async fn after_upgrade_a_second_websocket_is_closed() {
        let server = conformance();
        let (sid, mut ws) = upgraded(server.addr).await;
        let target = format!("/socket.io/?EIO=4&transport=websocket&sid={sid}");
        match ws_connect_at(server.addr, &target, &[]).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(
                    response.status(),
                    StatusCode::BAD_REQUEST,
                    "second WebSocket"
                );
            }
            Err(other) => panic!("the second WebSocket failed without an answer: {other}"),
            Ok(mut second) => {
                ws_send(&mut second, "2probe").await;
                let closed = ws_until_closed(&mut second).await;
                assert!(
                    !closed.frames.contains(&Message::text("3probe")),
                    "the second WebSocket was probed: {closed:?}"
                );
            }
        }
        ws_send(&mut ws, r#"42["message","first one still works"]"#).await;
        assert_eq!(
            ws_recv(&mut ws).await,
            Message::text(r#"42["message-back","first one still works"]"#)
        );
    }

    // ==== Socket.IO protocol, over both transports ====

    /// Runs each `async fn name(transport)` below once per transport, as
    /// `polling::name` and `websocket::name`.
    macro_rules! over_both_transports {
    ($($name:ident),* $(,)?) => {
        mod polling {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Transport::Polling).await;
                }
            )*
        }
        mod websocket {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Transport::WebSocket).await;
                }
            )*
        }
    };
}

    over_both_transports! {
        connect_to_the_main_namespace,
        connect_to_the_main_namespace_with_a_payload,
        connect_to_a_custom_namespace,
        connect_to_a_custom_namespace_with_a_payload,
        connect_to_an_unknown_namespace_is_refused,
        invalid_handshake_closes,
        no_handshake_closes_after_the_connect_timeout,
        disconnect_from_the_main_namespace_keeps_the_connection,
        connect_then_disconnect_from_a_custom_namespace,
        plain_text_event,
        event_with_binary_attachments,
        plain_text_event_with_an_ack,
        event_with_binary_attachments_and_an_ack,
        unknown_packet_type_closes,
        invalid_payload_format_closes,
        invalid_ack_id_closes,
    }

    // ---- connect ----

    async fn connect_to_the_main_namespace(transport: Transport) {
        let server = conformance();
        let mut session = Session::open(server.addr, transport).await;
        session.send_text("40").await;
        connect_reply_sid(&session.recv_text().await, "/");
        assert_eq!(session.recv_text().await, r#"42["auth",{}]"#);
    }

    async fn connect_to_the_main_namespace_with_a_payload(transport: Transport) {
        let server = conformance();
        let mut session = Session::open(server.addr, transport).await;
        session.send_text(r#"40{"token":"123"}"#).await;
        connect_reply_sid(&session.recv_text().await, "/");
        assert_eq!(session.recv_text().await, r#"42["auth",{"token":"123"}]"#);
    }

    async fn connect_to_a_custom_namespace(transport: Transport) {
        let server = conformance();
        let mut session = Session::open(server.addr, transport).await;
        session.send_text("40/custom,").await;
        connect_reply_sid(&session.recv_text().await, "/custom");
        assert_eq!(session.recv_text().await, r#"42/custom,["auth",{}]"#);
    }

    async fn connect_to_a_custom_namespace_with_a_payload(transport: Transport) {
        let server = conformance();
        let mut session = Session::open(server.addr, transport).await;
        session.send_text(r#"40/custom,{"token":"abc"}"#).await;
        connect_reply_sid(&session.recv_text().await, "/custom");
        assert_eq!(
            session.recv_text().await,
            r#"42/custom,["auth",{"token":"abc"}]"#
        );
    }

    async fn connect_to_an_unknown_namespace_is_refused(transport: Transport) {
        let server = conformance();
        let mut session = Session::open(server.addr, transport).await;
        session.send_text("40/random").await;
        assert_eq!(
            session.recv_text().await,
            r#"44/random,{"message":"Invalid namespace"}"#
        );
    }

    async fn invalid_handshake_closes(transport: Transport) {
        let server = conformance();
        let mut session = Session::open(server.addr, transport).await;
        session.send_bad(&[Message::text("4abc")]).await;
        let before = session.until_closed().await;
        assert_nothing_but_close(&before, "4abc as the first packet");
    }

    async fn no_handshake_closes_after_the_connect_timeout(transport: Transport) {
        let server = conformance();
        let started = Instant::now();
        // Pings are answered, so only the missing namespace CONNECT can end the session.
        let mut session = Session::open(server.addr, transport).await;
        let before = session.until_closed().await;
        assert_nothing_but_close(&before, "no CONNECT");
        assert!(
            started.elapsed() + CLOCK_SLACK >= CONNECT_TIMEOUT,
            "closed after {:?}, before the connect timeout",
            started.elapsed()
        );
    }

    // ---- disconnect ----

    async fn disconnect_from_the_main_namespace_keeps_the_connection(transport: Transport) {
        let server = conformance();
        match transport {
            Transport::WebSocket => {
                let mut ws = raw_ws_joined(server.addr).await;
                ws_send(&mut ws, "41").await;
                // Nothing answers the DISCONNECT and the connection stays: the next frame is
                // the server's next ping.
                assert_eq!(raw_frame(&mut ws).await, Message::text("2"));
                ws_send(&mut ws, "3").await;
                ws_send(&mut ws, "40").await;
                let Message::Text(reply) = ws_recv(&mut ws).await else {
                    panic!("no CONNECT reply")
                };
                connect_reply_sid(&reply, "/");
            }
            Transport::Polling => {
                let sid = polling_joined(server.addr).await;
                eio::assert_ok(&post(server.addr, &sid, "41").await, "POST 41");
                let reply = get(server.addr, &sid).await;
                assert_eq!(
                    (reply.status, reply.text().as_str()),
                    (StatusCode::OK, "2"),
                    "the next GET brings only the next ping"
                );
                eio::assert_ok(
                    &post(server.addr, &sid, "3\x1e40").await,
                    "pong and CONNECT",
                );
                let reply = get(server.addr, &sid).await;
                connect_reply_sid(&reply.packets()[0], "/");
            }
        }
    }

    async fn connect_then_disconnect_from_a_custom_namespace(transport: Transport) {
        let server = conformance();
        let mut session = connected(server.addr, transport).await;
        session.join("/custom", None).await;
        session.send_text("41/custom").await;
        session
            .send(&[
                // Left `/custom`: this one is dropped.
                Message::text(r#"42/custom,["message","to a namespace left"]"#),
                Message::text(r#"42["message","message to main namespace"]"#),
            ])
            .await;
        assert_eq!(
            session.recv_text().await,
            r#"42["message-back","message to main namespace"]"#
        );
    }

    // ---- message ----

    fn placeholders_0_and_1() -> &'static str {
        r#"{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}"#
    }

    async fn plain_text_event(transport: Transport) {
        let server = conformance();
        let mut session = connected(server.addr, transport).await;
        session
            .send_text(r#"42["message",1,"2",{"3":[true]}]"#)
            .await;
        assert_eq!(
            session.recv_text().await,
            r#"42["message-back",1,"2",{"3":[true]}]"#
        );
    }

    async fn event_with_binary_attachments(transport: Transport) {
        let server = conformance();
        let mut session = connected(server.addr, transport).await;
        let places = placeholders_0_and_1();
        session
            .send(&[
                Message::text(format!(r#"452-["message",{places}]"#)),
                Message::binary(vec![1, 2, 3]),
                Message::binary(vec![4, 5, 6]),
            ])
            .await;
        assert_eq!(
            session.recv_text().await,
            format!(r#"452-["message-back",{places}]"#)
        );
        assert_eq!(session.recv().await, Message::binary(vec![1, 2, 3]));
        assert_eq!(session.recv().await, Message::binary(vec![4, 5, 6]));
    }

    async fn plain_text_event_with_an_ack(transport: Transport) {
        let server = conformance();
        let mut session = connected(server.addr, transport).await;
        session
            .send_text(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#)
            .await;
        assert_eq!(session.recv_text().await, r#"43456[1,"2",{"3":[false]}]"#);
    }

    async fn event_with_binary_attachments_and_an_ack(transport: Transport) {
        let server = conformance();
        let mut session = connected(server.addr, transport).await;
        let places = placeholders_0_and_1();
        session
            .send(&[
                Message::text(format!(r#"452-789["message-with-ack",{places}]"#)),
                Message::binary(vec![1, 2, 3]),
                Message::binary(vec![4, 5, 6]),
            ])
            .await;
        assert_eq!(session.recv_text().await, format!("462-789[{places}]"));
        assert_eq!(session.recv().await, Message::binary(vec![1, 2, 3]));
        assert_eq!(session.recv().await, Message::binary(vec![4, 5, 6]));
    }

    async fn closes_on(transport: Transport, bad: &str) {
        let server = conformance();
        let mut session = connected(server.addr, transport).await;
        session.send_bad(&[Message::text(bad)]).await;
        let before = session.until_closed().await;
        assert_nothing_but_close(&before, bad);
    }

    async fn unknown_packet_type_closes(transport: Transport) {
        closes_on(transport, "4abc").await;
    }

    async fn invalid_payload_format_closes(transport: Transport) {
        closes_on(transport, "42{}").await;
    }

    async fn invalid_ack_id_closes(transport: Transport) {
        closes_on(
            transport,
            r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#,
        )
        .await;
    }

    #[test]
    fn base64_helpers_round_trip() {
        assert_eq!(base64_encode(&[1, 2, 3]), "AQID");
        assert_eq!(base64_encode(&[4, 5]), "BAU=");
        assert_eq!(base64_encode(&[255]), "/w==");
        for data in [&[][..], &[0], &[1, 2], &[1, 2, 3, 4, 250, 251, 252]] {
            assert_eq!(base64_decode(&base64_encode(data)), data);
        }
    }
}
