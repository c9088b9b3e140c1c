//! The behaviours of the official Engine.IO v4 protocol test suite, checked against the
//! `conformance` example (docs/CONTRACTS.md §1, `/engine.io/`) over real sockets.
//!
//! The server pings every 300 ms and gives up 200 ms later, so every helper that waits for
//! messages answers pings on the way; only the heartbeat tests look at pings themselves.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::ExampleProcess;
use common::eio::{
    self, Reply, assert_ok, assert_ws_echoes, get, http, open_polling, open_websocket,
    poll_messages, post, refused_status, within, ws_connect, ws_recv, ws_send, ws_until_closed,
};
use http::{Method, StatusCode};
use tokio_tungstenite::tungstenite::Message;

const PING_INTERVAL: Duration = Duration::from_millis(300);
const PING_TIMEOUT: Duration = Duration::from_millis(200);

fn conformance() -> (ExampleProcess, SocketAddr) {
    let server = common::spawn_example("conformance", &[]);
    let addr = server.addr;
    (server, addr)
}

async fn handshake_get(addr: SocketAddr, query: &str) -> Reply {
    http(addr, Method::GET, &format!("/engine.io/?{query}"), "").await
}

#[track_caller]
fn assert_conformance_settings(open: &serde_json::Value, upgrades: serde_json::Value) {
    assert_eq!(open["upgrades"], upgrades, "upgrades in {open}");
    assert_eq!(open["pingInterval"], 300, "pingInterval in {open}");
    assert_eq!(open["pingTimeout"], 200, "pingTimeout in {open}");
    assert_eq!(open["maxPayload"], 1_000_000, "maxPayload in {open}");
}

// ---- handshake ----

#[tokio::test]
async fn polling_handshake_opens_a_session() {
    let (_server, addr) = conformance();
    let reply = handshake_get(addr, "EIO=4&transport=polling").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    // One packet only: the open packet, with exactly the five keys (checked by parse_open).
    let packets = reply.packets();
    assert_eq!(packets.len(), 1, "{packets:?}");
    let open = eio::parse_open(&packets[0]);
    assert_conformance_settings(&open, serde_json::json!(["websocket"]));
}

#[tokio::test]
async fn websocket_handshake_opens_a_session() {
    let (_server, addr) = conformance();
    let (_ws, _sid, open) = open_websocket(addr).await;
    assert_conformance_settings(&open, serde_json::json!([]));
}

#[tokio::test]
async fn polling_handshake_refuses_missing_or_bad_eio() {
    let (_server, addr) = conformance();
    for query in ["transport=polling", "EIO=abc&transport=polling"] {
        let reply = handshake_get(addr, query).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "?{query}");
    }
}

#[tokio::test]
async fn polling_handshake_refuses_missing_or_bad_transport() {
    let (_server, addr) = conformance();
    for query in ["EIO=4", "EIO=4&transport=abc"] {
        let reply = handshake_get(addr, query).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "?{query}");
    }
}

#[tokio::test]
async fn websocket_handshake_refuses_missing_or_bad_eio() {
    let (_server, addr) = conformance();
    for query in ["transport=websocket", "EIO=abc&transport=websocket"] {
        let status = refused_status(ws_connect(addr, query, &[]).await);
        assert_eq!(status, 400, "?{query}");
    }
}

#[tokio::test]
async fn websocket_handshake_refuses_missing_or_bad_transport() {
    let (_server, addr) = conformance();
    for query in ["EIO=4", "EIO=4&transport=abc"] {
        let status = refused_status(ws_connect(addr, query, &[]).await);
        assert_eq!(status, 400, "?{query}");
    }
}

#[tokio::test]
async fn handshake_with_post_or_put_is_refused() {
    let (_server, addr) = conformance();
    for method in [Method::POST, Method::PUT] {
        let reply = http(addr, method.clone(), &eio::polling_target(None), "").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{method} handshake");
    }
}

// ---- messages over polling ----

/// POSTs `body`, expects `ok`, and expects the next GET to hold exactly `body` again
/// (heartbeat pings aside).
async fn assert_polling_round_trip(body: &str) {
    let (_server, addr) = conformance();
    let (sid, _) = open_polling(addr).await;
    assert_ok(&post(addr, &sid, body.to_owned()).await, "POST");
    let echoed = poll_messages(addr, &sid).await.join("\x1e");
    assert_eq!(echoed, body);
}

#[tokio::test]
async fn polling_echoes_one_text_packet() {
    assert_polling_round_trip("4hello").await;
}

#[tokio::test]
async fn polling_echoes_several_text_packets() {
    assert_polling_round_trip("4test1\x1e4test2\x1e4test3").await;
}

#[tokio::test]
async fn polling_echoes_text_and_binary_packets() {
    assert_polling_round_trip("4hello\x1ebAQIDBA==").await;
}

#[tokio::test]
async fn polling_invalid_packet_closes_the_session() {
    let (_server, addr) = conformance();
    let (sid, _) = open_polling(addr).await;
    let reply = post(addr, &sid, "abc").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "POST abc");
    let reply = get(addr, &sid).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "GET after POST abc");
}

#[tokio::test]
async fn polling_duplicate_get_closes_the_session() {
    let (_server, addr) = conformance();
    // A heartbeat ping queued before both GETs arrive would answer the first at once, so
    // the GETs would not overlap; that is the only reason to try again.
    for attempt in 1..=5 {
        let (sid, _) = open_polling(addr).await;
        let (a, b) = tokio::join!(get(addr, &sid), get(addr, &sid));
        let outcome = |r: &Reply| (r.status.as_u16(), r.text());
        if [&a, &b]
            .iter()
            .any(|r| r.status == StatusCode::OK && r.text() == "2")
        {
            eprintln!("attempt {attempt}: a heartbeat answered a GET first, trying again");
            continue;
        }
        let mut outcomes = [outcome(&a), outcome(&b)];
        outcomes.sort();
        assert_eq!(outcomes[0], (200, "1".to_owned()), "the poll that waited");
        assert_eq!(outcomes[1].0, 400, "the overlapping poll");
        let reply = get(addr, &sid).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "GET after the duplicate"
        );
        return;
    }
    panic!("the two GETs never overlapped");
}

#[tokio::test]
async fn polling_response_holds_at_most_16_packets() {
    let (_server, addr) = conformance();
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

// ---- messages over WebSocket ----

#[tokio::test]
async fn websocket_echoes_text() {
    let (_server, addr) = conformance();
    let (mut ws, _, _) = open_websocket(addr).await;
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_recv(&mut ws).await, Message::text("4hello"));
}

#[tokio::test]
async fn websocket_echoes_binary_as_a_binary_frame() {
    use futures_util::SinkExt;
    let (_server, addr) = conformance();
    let (mut ws, _, _) = open_websocket(addr).await;
    within("send", ws.send(Message::binary(vec![1u8, 2, 3, 4])))
        .await
        .expect("send binary");
    assert_eq!(ws_recv(&mut ws).await, Message::binary(vec![1u8, 2, 3, 4]));
}

#[tokio::test]
async fn websocket_invalid_packet_closes_the_socket() {
    let (_server, addr) = conformance();
    let (mut ws, _, _) = open_websocket(addr).await;
    ws_send(&mut ws, "abc").await;
    let closed = ws_until_closed(&mut ws).await;
    assert!(
        closed.frames.iter().all(|m| *m == Message::text("2")),
        "only heartbeats may come before the close: {closed:?}"
    );
}

// ---- heartbeat ----

#[tokio::test]
async fn polling_heartbeat_pings_and_accepts_pongs() {
    let (_server, addr) = conformance();
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

#[tokio::test]
async fn websocket_heartbeat_pings_and_accepts_pongs() {
    use futures_util::StreamExt;
    let (_server, addr) = conformance();
    let (mut ws, _, _) = open_websocket(addr).await;
    for round in 0..3 {
        let frame = within("a ping", ws.next()).await;
        match frame {
            Some(Ok(message)) => assert_eq!(message, Message::text("2"), "ping {round}"),
            other => panic!("ping {round}: {other:?}"),
        }
        ws_send(&mut ws, "3").await;
    }
    // Three pongs kept the session open.
    assert_ws_echoes(&mut ws, "after three heartbeats").await;
}

#[tokio::test]
async fn polling_ping_timeout_closes_the_session() {
    let (_server, addr) = conformance();
    let (sid, _) = open_polling(addr).await;
    // Waiting out the heartbeat is the behaviour under test; no GET is pending meanwhile, so
    // the server must run the timeout clock on its own. The margin absorbs timer lateness.
    tokio::time::sleep(PING_INTERVAL + PING_TIMEOUT + Duration::from_millis(150)).await;
    let reply = get(addr, &sid).await;
    let closed = reply.status == StatusCode::BAD_REQUEST
        || (reply.status == StatusCode::OK && reply.packets().last().is_some_and(|p| p == "1"));
    assert!(
        closed,
        "GET after the ping timeout: {} {:?}",
        reply.status,
        reply.text()
    );
}

#[tokio::test]
async fn websocket_ping_timeout_closes_the_socket() {
    let (_server, addr) = conformance();
    let (mut ws, _, _) = open_websocket(addr).await;
    // Never answer: the server pings, waits 200 ms, and ends the connection.
    let closed = ws_until_closed(&mut ws).await;
    assert_eq!(closed.frames, [Message::text("2")], "{closed:?}");
}

// ---- close ----

#[tokio::test]
async fn polling_close_packet_ends_a_pending_get_with_noop() {
    let (_server, addr) = conformance();
    common::eio::assert_close_answers_pending_poll(addr, common::eio::ENGINE_PATH).await;
}

#[tokio::test]
async fn websocket_close_packet_closes_the_socket() {
    let (_server, addr) = conformance();
    let (mut ws, _, _) = open_websocket(addr).await;
    ws_send(&mut ws, "1").await;
    let closed = ws_until_closed(&mut ws).await;
    assert!(
        closed.frames.iter().all(|m| *m == Message::text("2")),
        "only heartbeats may come before the close: {closed:?}"
    );
}

// ---- upgrade ----

/// Opens a polling session and upgrades it: `2probe` → `3probe`, a GET during the probe gets
/// a noop, then `5`. Returns the sid and the WebSocket, which now carries the session.
async fn upgraded_session(addr: SocketAddr) -> (String, eio::Ws) {
    let (sid, _) = open_polling(addr).await;
    let mut ws = ws_connect(addr, &format!("EIO=4&transport=websocket&sid={sid}"), &[])
        .await
        .expect("upgrade WebSocket handshake");
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_recv(&mut ws).await, Message::text("3probe"));
    // A ping queued before the probe answered may still come first; answer it and poll again.
    let mut noop = false;
    for _ in 0..5 {
        let reply = get(addr, &sid).await;
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

#[tokio::test]
async fn upgrade_from_polling_to_websocket() {
    let (_server, addr) = conformance();
    let (_sid, mut ws) = upgraded_session(addr).await;
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_recv(&mut ws).await, Message::text("4hello"));
}

#[tokio::test]
async fn after_upgrade_polling_requests_are_refused() {
    let (_server, addr) = conformance();
    let (sid, mut ws) = upgraded_session(addr).await;
    // The echo proves the server handled `5` before the GET arrives.
    assert_ws_echoes(&mut ws, "first message after the upgrade").await;
    let reply = get(addr, &sid).await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "GET after the upgrade"
    );
    assert_ws_echoes(&mut ws, "after the refused GET").await;
}

#[tokio::test]
async fn after_upgrade_a_second_websocket_is_refused() {
    let (_server, addr) = conformance();
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
            // Accepted at the HTTP level: then it must be closed without taking the session.
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
