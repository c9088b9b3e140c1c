//! Ports of the official Engine.IO protocol test suite (socketio/engine.io-protocol,
//! `test-suite/test-suite.js`) against the `conformance` example at `/engine.io/`
//! (docs/PROGRAMS.md, `conformance`): one test per official test, in the official order, each doing what
//! the official test does and checking exactly what it checks (see `common::official` for how
//! its JavaScript client is mirrored).
//!
//! What docs/PROGRAMS.md, `conformance` asks beyond the official suite is checked in [`beyond`] at the end.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use common::ExampleProcess;
use common::eio::{ENGINE_PATH, polling_target};
use common::official::{
    self, RACE_ATTEMPTS, TIMEOUT, WebSocket, assert_poll_refused, fetch, fetch_with,
    init_long_polling_session, mocha, try_fetch_with,
};
use http::{Method, StatusCode};
use tokio_tungstenite::tungstenite::Message;

fn conformance() -> ExampleProcess {
    common::spawn_example("conformance", &[])
}

const WEBSOCKET: &str = "/engine.io/?EIO=4&transport=websocket";

// ==== handshake ====

/// Port of the official test handshake › HTTP long-polling › "successfully opens a session".
#[tokio::test]
async fn handshake_polling_successfully_opens_a_session() {
    let server = conformance();
    official::handshake_polling_successfully_opens_a_session(server.addr, ENGINE_PATH).await;
}

/// Port of the official test handshake › HTTP long-polling › "fails with an invalid 'EIO'
/// query parameter".
#[tokio::test]
async fn handshake_polling_fails_with_an_invalid_eio_query_parameter() {
    let server = conformance();
    official::handshake_polling_fails_with_an_invalid_eio_query_parameter(server.addr, ENGINE_PATH)
        .await;
}

/// Port of the official test handshake › HTTP long-polling › "fails with an invalid
/// 'transport' query parameter".
#[tokio::test]
async fn handshake_polling_fails_with_an_invalid_transport_query_parameter() {
    let server = conformance();
    official::handshake_polling_fails_with_an_invalid_transport_query_parameter(
        server.addr,
        ENGINE_PATH,
    )
    .await;
}

/// Port of the official test handshake › HTTP long-polling › "fails with an invalid request
/// method".
#[tokio::test]
async fn handshake_polling_fails_with_an_invalid_request_method() {
    let server = conformance();
    official::handshake_polling_fails_with_an_invalid_request_method(server.addr, ENGINE_PATH)
        .await;
}

/// Port of the official test handshake › WebSocket › "successfully opens a session".
#[tokio::test]
async fn handshake_websocket_successfully_opens_a_session() {
    let server = conformance();
    official::handshake_websocket_successfully_opens_a_session(server.addr, ENGINE_PATH).await;
}

/// Port of the official test handshake › WebSocket › "fails with an invalid 'EIO' query
/// parameter", which awaits nothing; the refusal itself is checked in
/// [`beyond::websocket_handshake_refusals_are_400`].
#[tokio::test]
async fn handshake_websocket_fails_with_an_invalid_eio_query_parameter() {
    let server = conformance();
    official::handshake_websocket_fails_with_an_invalid_eio_query_parameter(
        server.addr,
        ENGINE_PATH,
    )
    .await;
}

/// Port of the official test handshake › WebSocket › "fails with an invalid 'transport' query
/// parameter", which awaits nothing either.
#[tokio::test]
async fn handshake_websocket_fails_with_an_invalid_transport_query_parameter() {
    let server = conformance();
    official::handshake_websocket_fails_with_an_invalid_transport_query_parameter(
        server.addr,
        ENGINE_PATH,
    )
    .await;
}

// ==== message ====

/// A POST of `body` answered `ok`, then one GET that holds exactly `body`.
async fn polling_round_trip(addr: SocketAddr, body: &str) {
    mocha(TIMEOUT, async {
        let sid = init_long_polling_session(addr, ENGINE_PATH).await;
        let target = polling_target(Some(&sid));
        let push_response = fetch_with(addr, Method::POST, &target, Some(body)).await;
        assert_eq!(push_response.status, StatusCode::OK);
        assert_eq!(push_response.text(), "ok");
        let poll_response = fetch(addr, &target).await;
        assert_eq!(poll_response.status, StatusCode::OK);
        assert_eq!(poll_response.text(), body);
    })
    .await;
}

/// Port of the official test message › HTTP long-polling › "sends and receives a payload
/// containing one plain text packet".
#[tokio::test]
async fn message_polling_sends_and_receives_a_payload_containing_one_plain_text_packet() {
    let server = conformance();
    polling_round_trip(server.addr, "4hello").await;
}

/// Port of the official test message › HTTP long-polling › "sends and receives a payload
/// containing several plain text packets".
#[tokio::test]
async fn message_polling_sends_and_receives_a_payload_containing_several_plain_text_packets() {
    let server = conformance();
    polling_round_trip(server.addr, "4test1\x1e4test2\x1e4test3").await;
}

/// Port of the official test message › HTTP long-polling › "sends and receives a payload
/// containing plain text and binary packets".
#[tokio::test]
async fn message_polling_sends_and_receives_a_payload_containing_plain_text_and_binary_packets() {
    let server = conformance();
    polling_round_trip(server.addr, "4hello\x1ebAQIDBA==").await;
}

/// Port of the official test message › HTTP long-polling › "closes the session upon invalid
/// packet format". The official POST and its status check sit in a `try` whose `catch`
/// swallows both, so nothing about the POST is checked; the 400 is in
/// [`beyond::polling_invalid_packet_post_is_refused_with_400`].
#[tokio::test]
async fn message_polling_closes_the_session_upon_invalid_packet_format() {
    let server = conformance();
    let addr = server.addr;
    mocha(TIMEOUT, async {
        let sid = init_long_polling_session(addr, ENGINE_PATH).await;
        let target = polling_target(Some(&sid));
        let _ = try_fetch_with(addr, Method::POST, &target, Some("abc")).await;
        assert_poll_refused(addr, &target).await;
    })
    .await;
}

/// The official "closes the session upon duplicate poll requests": two GETs, the second sent
/// 5 ms after the first (the official test's own delay); returns both answers and that of
/// the GET after them.
async fn duplicate_polls(addr: SocketAddr) -> [(u16, String); 3] {
    let outcome = |reply: common::eio::Reply| (reply.status.as_u16(), reply.text());
    for attempt in 1..=RACE_ATTEMPTS {
        let sid = init_long_polling_session(addr, ENGINE_PATH).await;
        let target = polling_target(Some(&sid));
        let (first, second) = tokio::join!(fetch(addr, &target), async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            fetch(addr, &format!("{target}&t=burst")).await
        });
        let (first, second) = (outcome(first), outcome(second));
        // The GETs travel on separate connections, in the official test too: when the
        // second reaches the server first their roles swap, which only a fresh session can
        // sort out.
        if second == (200, "1".to_owned()) && attempt < RACE_ATTEMPTS {
            eprintln!("attempt {attempt}: the second GET overtook the first; a fresh session");
            continue;
        }
        let after = outcome(fetch(addr, &target).await);
        return [first, second, after];
    }
    unreachable!("the last attempt returns")
}

/// Port of the official test message › HTTP long-polling › "closes the session upon
/// duplicate poll requests". The official test accepts 400 or 500 for the second GET;
/// docs/PROGRAMS.md's 400 is checked in [`beyond::duplicate_poll_is_refused_with_400`].
#[tokio::test]
async fn message_polling_closes_the_session_upon_duplicate_poll_requests() {
    let server = conformance();
    mocha(TIMEOUT, async {
        let [first, second, after] = duplicate_polls(server.addr).await;
        assert_eq!(first, (200, "1".to_owned()), "the first GET");
        assert!([400, 500].contains(&second.0), "the second GET: {second:?}");
        assert_eq!(after.0, 400, "the GET after them: {after:?}");
    })
    .await;
}

/// Port of the official test message › WebSocket › "sends and receives a plain text packet".
#[tokio::test]
async fn message_websocket_sends_and_receives_a_plain_text_packet() {
    let server = conformance();
    mocha(TIMEOUT, async {
        let mut socket = WebSocket::open(server.addr, WEBSOCKET).await;
        socket.message().await; // the handshake, not checked
        socket.send("4hello").await;
        assert_eq!(socket.message().await, Message::text("4hello"));
    })
    .await;
}

/// Port of the official test message › WebSocket › "sends and receives a binary packet".
#[tokio::test]
async fn message_websocket_sends_and_receives_a_binary_packet() {
    let server = conformance();
    mocha(TIMEOUT, async {
        let mut socket = WebSocket::open(server.addr, WEBSOCKET).await;
        socket.message().await; // the handshake, not checked
        socket.send_binary(&[1, 2, 3, 4]).await;
        assert_eq!(socket.message().await, Message::binary(vec![1u8, 2, 3, 4]));
    })
    .await;
}

/// Port of the official test message › WebSocket › "closes the session upon invalid packet
/// format".
#[tokio::test]
async fn message_websocket_closes_the_session_upon_invalid_packet_format() {
    let server = conformance();
    mocha(TIMEOUT, async {
        let mut socket = WebSocket::open(server.addr, WEBSOCKET).await;
        socket.message().await; // the handshake, not checked
        socket.send("abc").await;
        socket.closed().await;
    })
    .await;
}

// ==== heartbeat ====

/// Port of the official test heartbeat › HTTP long-polling › "sends ping/pong packets".
#[tokio::test]
async fn heartbeat_polling_sends_ping_pong_packets() {
    let server = conformance();
    official::heartbeat_polling_sends_ping_pong_packets(server.addr, ENGINE_PATH).await;
}

/// Port of the official test heartbeat › HTTP long-polling › "closes the session upon ping
/// timeout".
#[tokio::test]
async fn heartbeat_polling_closes_the_session_upon_ping_timeout() {
    let server = conformance();
    official::heartbeat_polling_closes_the_session_upon_ping_timeout(server.addr, ENGINE_PATH)
        .await;
}

/// Port of the official test heartbeat › WebSocket › "sends ping/pong packets".
#[tokio::test]
async fn heartbeat_websocket_sends_ping_pong_packets() {
    let server = conformance();
    official::heartbeat_websocket_sends_ping_pong_packets(server.addr, ENGINE_PATH).await;
}

/// Port of the official test heartbeat › WebSocket › "closes the session upon ping timeout".
#[tokio::test]
async fn heartbeat_websocket_closes_the_session_upon_ping_timeout() {
    let server = conformance();
    official::heartbeat_websocket_closes_the_session_upon_ping_timeout(server.addr, ENGINE_PATH)
        .await;
}

// ==== close ====

/// Port of the official test close › HTTP long-polling › "forcefully closes the session".
#[tokio::test]
async fn close_polling_forcefully_closes_the_session() {
    let server = conformance();
    official::close_polling_forcefully_closes_the_session(server.addr, ENGINE_PATH).await;
}

/// Port of the official test close › WebSocket › "forcefully closes the session".
#[tokio::test]
async fn close_websocket_forcefully_closes_the_session() {
    let server = conformance();
    official::close_websocket_forcefully_closes_the_session(server.addr, ENGINE_PATH).await;
}

// ==== upgrade ====

/// A polling session and a WebSocket opened for its sid.
async fn session_and_upgrade_socket(addr: SocketAddr) -> (String, WebSocket) {
    let sid = init_long_polling_session(addr, ENGINE_PATH).await;
    let socket = WebSocket::open(addr, &format!("{WEBSOCKET}&sid={sid}")).await;
    (sid, socket)
}

/// Port of the official test upgrade › "successfully upgrades from HTTP long-polling to
/// WebSocket".
#[tokio::test]
async fn upgrade_successfully_upgrades_from_http_long_polling_to_websocket() {
    let server = conformance();
    let addr = server.addr;
    mocha(TIMEOUT, async {
        let (sid, mut socket) = session_and_upgrade_socket(addr).await;
        socket.send("2probe").await;
        assert_eq!(socket.message().await, Message::text("3probe"));
        let poll_response = fetch(addr, &polling_target(Some(&sid))).await;
        assert_eq!(poll_response.status, StatusCode::OK);
        assert_eq!(poll_response.text(), "6");
        socket.send("5").await;
        socket.send("4hello").await;
        assert_eq!(socket.message().await, Message::text("4hello"));
    })
    .await;
}

/// Port of the official test upgrade › "ignores HTTP requests with same sid after upgrade".
#[tokio::test]
async fn upgrade_ignores_http_requests_with_same_sid_after_upgrade() {
    let server = conformance();
    let addr = server.addr;
    mocha(TIMEOUT, async {
        let mut socket = official::poll_refused_after_upgrade(addr, || async {
            let (sid, mut socket) = session_and_upgrade_socket(addr).await;
            socket.send("2probe").await;
            socket.send("5").await;
            (polling_target(Some(&sid)), socket)
        })
        .await;
        socket.send("4hello").await;
        assert_eq!(
            socket.message_after_unheard_probe().await,
            Message::text("4hello")
        );
    })
    .await;
}

/// Port of the official test upgrade › "ignores WebSocket connection with same sid after
/// upgrade": the second WebSocket has no `error` listener, so it must be accepted (101) and
/// then be closed by the server; the first one keeps working.
#[tokio::test]
async fn upgrade_ignores_websocket_connection_with_same_sid_after_upgrade() {
    let server = conformance();
    let addr = server.addr;
    mocha(TIMEOUT, async {
        let (sid, mut socket) = session_and_upgrade_socket(addr).await;
        socket.send("2probe").await;
        socket.send("5").await;
        let mut socket2 = WebSocket::open(addr, &format!("{WEBSOCKET}&sid={sid}")).await;
        socket2.closed().await;
        socket.send("4hello").await;
        assert_eq!(
            socket.message_after_unheard_probe().await,
            Message::text("4hello")
        );
    })
    .await;
}

/// docs/PROGRAMS.md, `conformance` beyond the official suite: what the contract promises on `/engine.io/`
/// that the official tests leave open.
mod beyond {
    use std::net::SocketAddr;

    use http::{Method, StatusCode};
    use tokio_tungstenite::tungstenite::Message;

    use super::common::eio::{
        self, Reply, assert_ok, assert_ws_echoes, get, http, open_polling, open_websocket,
        poll_messages, post, refused_status, within, ws_connect, ws_recv, ws_send, ws_until_closed,
    };
    use super::{conformance, duplicate_polls};

    /// Both handshakes name a non-empty sid (the official test only asks for a string).
    #[tokio::test]
    async fn handshake_sid_is_not_empty() {
        let server = conformance();
        let reply = http(server.addr, Method::GET, &eio::polling_target(None), "").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        eio::parse_open(&reply.text());
        // parse_open checks the sid of the WebSocket handshake the same way.
        open_websocket(server.addr).await;
    }

    /// Every WebSocket handshake with a missing or bad `EIO` or `transport` gets HTTP 400.
    #[tokio::test]
    async fn websocket_handshake_refusals_are_400() {
        let server = conformance();
        for query in [
            "transport=websocket",
            "EIO=abc&transport=websocket",
            "EIO=4",
            "EIO=4&transport=abc",
        ] {
            let status = refused_status(ws_connect(server.addr, query, &[]).await);
            assert_eq!(status, 400, "?{query}");
        }
    }

    /// A POST of an invalid packet is answered 400, and the session is gone.
    #[tokio::test]
    async fn polling_invalid_packet_post_is_refused_with_400() {
        let server = conformance();
        let addr = server.addr;
        let (sid, _) = open_polling(addr).await;
        let reply = post(addr, &sid, "abc").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "POST abc");
        let reply = get(addr, &sid).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "GET after POST abc");
    }

    /// Of two overlapping GETs, the second is refused with exactly 400.
    #[tokio::test]
    async fn duplicate_poll_is_refused_with_400() {
        let server = conformance();
        let [first, second, after] = duplicate_polls(server.addr).await;
        assert_eq!(first, (200, "1".to_owned()), "the poll that waited");
        assert_eq!(second.0, 400, "the overlapping poll: {second:?}");
        assert_eq!(after.0, 400, "GET after the duplicate: {after:?}");
    }

    /// A GET hands out at most 16 packets; the rest wait, in order, for the next GETs.
    #[tokio::test]
    async fn polling_response_holds_at_most_16_packets() {
        let server = conformance();
        let addr = server.addr;
        let (sid, _) = open_polling(addr).await;
        let sent: Vec<String> = (0..32).map(|i| format!("4m{i}")).collect();
        for half in sent.chunks(16) {
            assert_ok(&post(addr, &sid, half.join("\x1e")).await, "POST of 16");
        }
        let first = get(addr, &sid).await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(
            first.packets().len(),
            16,
            "first GET: {:?}",
            first.packets()
        );
        let mut received: Vec<String> = first.packets().into_iter().filter(|p| p != "2").collect();
        if first.packets().iter().any(|p| p == "2") {
            assert_ok(&post(addr, &sid, "3").await, "pong");
        }
        while received.len() < sent.len() {
            let more = poll_messages(addr, &sid).await;
            assert!(more.len() <= 16, "a GET held {} packets", more.len());
            received.extend(more);
        }
        assert_eq!(received, sent);
    }

    /// `text` closes the WebSocket with nothing but heartbeats before the close.
    async fn assert_closes_after(addr: SocketAddr, text: &str) {
        let (mut ws, _, _) = open_websocket(addr).await;
        ws_send(&mut ws, text).await;
        let closed = ws_until_closed(&mut ws).await;
        assert!(
            closed.frames.iter().all(|m| *m == Message::text("2")),
            "only heartbeats may come before the close: {closed:?}"
        );
    }

    /// An invalid packet closes the WebSocket; only heartbeats come before.
    #[tokio::test]
    async fn websocket_invalid_packet_closes_with_only_heartbeats_before() {
        let server = conformance();
        assert_closes_after(server.addr, "abc").await;
    }

    /// The close packet closes the WebSocket; only heartbeats come before.
    #[tokio::test]
    async fn websocket_close_packet_closes_with_only_heartbeats_before() {
        let server = conformance();
        assert_closes_after(server.addr, "1").await;
    }

    /// Pongs over polling are answered `ok`.
    #[tokio::test]
    async fn polling_pongs_are_answered_ok() {
        let server = conformance();
        let addr = server.addr;
        let (sid, _) = open_polling(addr).await;
        for round in 0..3 {
            let reply = get(addr, &sid).await;
            assert_eq!(
                (reply.status, reply.text().as_str()),
                (StatusCode::OK, "2"),
                "ping {round}"
            );
            assert_ok(&post(addr, &sid, "3").await, "pong");
        }
    }

    /// Three pongs over WebSocket keep the session open.
    #[tokio::test]
    async fn websocket_session_lives_on_after_three_heartbeats() {
        use futures_util::StreamExt;
        let server = conformance();
        let (mut ws, _, _) = open_websocket(server.addr).await;
        for round in 0..3 {
            let frame = within("a ping", ws.next()).await;
            match frame {
                Some(Ok(message)) => assert_eq!(message, Message::text("2"), "ping {round}"),
                other => panic!("ping {round}: {other:?}"),
            }
            ws_send(&mut ws, "3").await;
        }
        assert_ws_echoes(&mut ws, "after three heartbeats").await;
    }

    /// A WebSocket that never answers gets one ping, then the end.
    #[tokio::test]
    async fn websocket_ping_timeout_comes_after_exactly_one_ping() {
        let server = conformance();
        let (mut ws, _, _) = open_websocket(server.addr).await;
        let closed = ws_until_closed(&mut ws).await;
        assert_eq!(closed.frames, [Message::text("2")], "{closed:?}");
    }

    /// The POST of `1` that ends a pending GET is answered `ok`.
    #[tokio::test]
    async fn polling_close_post_is_answered_ok() {
        let server = conformance();
        eio::assert_close_answers_pending_poll(server.addr, eio::ENGINE_PATH).await;
    }

    /// Opens a polling session and upgrades it: `2probe` → `3probe`, a GET during the probe
    /// gets a noop, then `5`. Returns the sid and the WebSocket, which now carries the session.
    async fn upgraded_session(addr: SocketAddr) -> (String, eio::Ws) {
        let (sid, _) = open_polling(addr).await;
        let mut ws = ws_connect(addr, &format!("EIO=4&transport=websocket&sid={sid}"), &[])
            .await
            .expect("upgrade WebSocket handshake");
        ws_send(&mut ws, "2probe").await;
        assert_eq!(ws_recv(&mut ws).await, Message::text("3probe"));
        // A ping queued before the probe answered may still come first; answer it and poll
        // again.
        let mut noop = false;
        for _ in 0..5 {
            let reply: Reply = get(addr, &sid).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "GET during the probe: {}",
                reply.text()
            );
            if reply.text() == "6" {
                noop = true;
                break;
            }
            assert!(
                reply.packets().iter().all(|p| p == "2"),
                "GET during the probe: {:?}",
                reply.text()
            );
            assert_ok(&post(addr, &sid, "3").await, "pong during the probe");
        }
        assert!(noop, "no GET during the probe was answered with a noop");
        ws_send(&mut ws, "5").await;
        (sid, ws)
    }

    /// A second WebSocket for an upgraded session is not probed: its `2probe` gets no
    /// `3probe` before it is closed, and the first keeps working.
    #[tokio::test]
    async fn after_upgrade_a_second_websocket_is_not_probed() {
        let server = conformance();
        let addr = server.addr;
        let (sid, mut ws) = upgraded_session(addr).await;
        assert_ws_echoes(&mut ws, "first message after the upgrade").await;
        let query = format!("EIO=4&transport=websocket&sid={sid}");
        match ws_connect(addr, &query, &[]).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(
                    response.status(),
                    StatusCode::BAD_REQUEST,
                    "second WebSocket"
                );
            }
            Err(other) => panic!("second WebSocket failed without an answer: {other}"),
            Ok(mut second) => {
                // Accepted at the HTTP level: then it must be closed without taking the
                // session.
                ws_send(&mut second, "2probe").await;
                let closed = ws_until_closed(&mut second).await;
                assert!(
                    !closed.frames.contains(&Message::text("3probe")),
                    "the second WebSocket was probed: {closed:?}"
                );
            }
        }
        assert_ws_echoes(&mut ws, "after the second WebSocket").await;
    }
}
