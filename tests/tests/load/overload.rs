//! Slow consumers and overload.
//!
//! The policy under test (see `EngineConfig::queue_capacity`): a client whose bounded outbound
//! queue fills up is disconnected with the reason "slow client" instead of losing packets
//! silently or making the server buffer without bound, and nobody else waits for it. A flood
//! of handshakes is answered, and past the optional `EngineConfig::max_sessions` cap refused
//! with 503.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::eio::{
    self, TestEngine, get, http, open_polling, post, refused_status, within, ws_connect,
};
use common::sio;
use http::{Method, StatusCode};
use socketio::engineio::EngineConfig;
use socketio::{DisconnectReason, Socket, SocketIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};

/// Outbound queue of every session of the broadcast server, in packets.
const QUEUE: usize = 128;
/// Text of every broadcast: large enough that a stalled client fills its socket buffers
/// after a few thousand broadcasts.
const FILLER_LEN: usize = 1024;
const WELL_BEHAVED: usize = 8;
/// How far the broadcaster may run ahead of the slowest well-behaved client.
const WINDOW: u64 = 16;

/// A Socket.IO server on `/` that reports every connect and every disconnect with its reason.
struct BroadcastServer {
    io: SocketIo,
    addr: SocketAddr,
    connects: mpsc::UnboundedReceiver<String>,
    disconnects: mpsc::UnboundedReceiver<(String, DisconnectReason)>,
}

impl BroadcastServer {
    async fn start() -> BroadcastServer {
        let (connected, connects) = mpsc::unbounded_channel();
        let (disconnected, disconnects) = mpsc::unbounded_channel();
        let io = SocketIo::builder()
            .engine(|config| config.queue_capacity(QUEUE))
            .namespace("/", move |ns| {
                ns.on_connect(move |socket: Arc<Socket>| {
                    let _ = connected.send(socket.sid().to_string());
                    async { Ok(()) }
                })
                .on_disconnect(
                    move |socket: Arc<Socket>, reason: DisconnectReason| {
                        let _ = disconnected.send((socket.sid().to_string(), reason));
                        async {}
                    },
                )
            })
            .build()
            .expect("valid server");
        let addr = common::serve(&io).await;
        BroadcastServer {
            io,
            addr,
            connects,
            disconnects,
        }
    }

    async fn next_connect(&mut self) -> String {
        within("a connect", self.connects.recv())
            .await
            .expect("server alive")
    }
}

/// A WebSocket client that completes the handshake, joins `/`, and then never reads again.
/// Its receive buffer is small so that the server's writes back up early.
async fn stalled_websocket(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut stream = socket.connect(addr).await.expect("connect");
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        sio::WS_TARGET
    );
    stream.write_all(head.as_bytes()).await.expect("handshake");
    // Read the answer's head only (the open packet may follow in the same read; it is not
    // needed).
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        within("the 101 answer", stream.read_exact(&mut byte))
            .await
            .expect("101 answer");
        seen.push(byte[0]);
    }
    assert!(
        seen.starts_with(b"HTTP/1.1 101"),
        "{:?}",
        String::from_utf8_lossy(&seen)
    );
    // A masked text frame `40` (mask of zeros keeps the payload as it is).
    stream
        .write_all(&[0x81, 0x82, 0, 0, 0, 0, b'4', b'0'])
        .await
        .expect("CONNECT");
    stream
}

/// Reads what the server left in a stalled connection until it ends; returns the byte count.
async fn drain_until_closed(stream: &mut TcpStream) -> usize {
    let mut total = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    within("the server to drop the stalled connection", async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    })
    .await;
    total
}

/// Every well-behaved client must see the ticks `0..` in order, none missing, none twice,
/// until `last`; it reports each one on `progress`.
async fn assert_receives_every_tick(
    client: &mut sio::Client,
    progress: &watch::Sender<u64>,
    last: &mut mpsc::Receiver<u64>,
) {
    let mut expected = 0u64;
    let mut end = None;
    loop {
        if end.is_some_and(|end| expected > end) {
            return;
        }
        tokio::select! {
            biased;
            Some(total) = last.recv(), if end.is_none() => end = Some(total),
            frame = client.recv_text() => {
                let (seq, filler): (u64, String) = tick_of(&frame);
                assert_eq!(seq, expected, "ticks arrive in order, none missing");
                assert_eq!(filler.len(), FILLER_LEN);
                progress.send_replace(seq + 1);
                expected += 1;
            }
        }
    }
}

fn tick_of(frame: &str) -> (u64, String) {
    let json = frame
        .strip_prefix("42")
        .unwrap_or_else(|| panic!("not an event: {frame:.80}"));
    let value: serde_json::Value = serde_json::from_str(json).expect("JSON event");
    assert_eq!(value[0], "tick", "{frame:.80}");
    (
        value[1].as_u64().expect("seq"),
        value[2].as_str().expect("filler").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_and_nobody_else_waits() {
    let _alone = crate::alone().await;
    let mut server = BroadcastServer::start().await;
    let addr = server.addr;

    let mut stalled_ws = stalled_websocket(addr).await;
    let stalled_ws_id = server.next_connect().await;
    // A polling client that joins and then never polls again.
    let (poll_sid, _) = eio::open_polling_at(addr, "/socket.io/").await;
    eio::assert_ok(
        &eio::post_at(addr, "/socket.io/", &poll_sid, "40").await,
        "CONNECT over polling",
    );
    let stalled_poll_id = server.next_connect().await;

    let mut clients = Vec::new();
    for _ in 0..WELL_BEHAVED {
        let mut client = sio::Client::connect(addr).await;
        client.join("/", None).await;
        server.next_connect().await;
        clients.push(client);
    }

    // Broadcast as fast as the well-behaved clients take it (at most WINDOW ticks ahead of
    // the slowest of them, like the load generator's window) until both stalled clients are
    // gone, then a few more; the well-behaved clients must get every one.
    let mut lasts = Vec::new();
    let mut progress = Vec::new();
    let mut readers = Vec::new();
    for mut client in clients {
        let (last_tx, mut last_rx) = mpsc::channel(1);
        let (progress_tx, progress_rx) = watch::channel(0u64);
        lasts.push(last_tx);
        progress.push(progress_rx);
        readers.push(tokio::spawn(async move {
            assert_receives_every_tick(&mut client, &progress_tx, &mut last_rx).await;
            client
        }));
    }
    let gone = Arc::new(AtomicBool::new(false));
    let broadcaster = {
        let io = server.io.clone();
        let gone = gone.clone();
        tokio::spawn(async move {
            let filler = "x".repeat(FILLER_LEN);
            let mut seq = 0u64;
            let mut after = 0;
            while after < 200 && seq < 200_000 {
                for received in &mut progress {
                    received
                        .wait_for(|received| received + WINDOW > seq)
                        .await
                        .expect("reader alive");
                }
                io.emit("tick", (seq, &filler)).expect("emit");
                seq += 1;
                if gone.load(Ordering::Acquire) {
                    after += 1;
                }
            }
            seq - 1
        })
    };

    let mut slow = Vec::new();
    while slow.len() < 2 {
        let (id, reason) = within(
            "the stalled clients to be disconnected",
            server.disconnects.recv(),
        )
        .await
        .expect("server alive");
        assert!(
            id == stalled_ws_id || id == stalled_poll_id,
            "only the stalled clients are disconnected, not {id} ({reason})"
        );
        assert_eq!(reason, DisconnectReason::SlowClient, "{id}");
        slow.push(id);
    }
    gone.store(true, Ordering::Release);
    let last = within("the broadcaster", broadcaster)
        .await
        .expect("broadcaster");
    assert!(
        last as usize > QUEUE,
        "the stalled clients were dropped only after their queue filled ({last} ticks)"
    );
    for last_tx in &lasts {
        last_tx.send(last).await.expect("reader alive");
    }
    let mut clients = Vec::new();
    for reader in readers {
        let client = within("a well-behaved client to get every tick", reader)
            .await
            .expect("every tick, in order");
        clients.push(client);
    }
    if let Ok(extra) = server.disconnects.try_recv() {
        panic!("no well-behaved client may be disconnected: {extra:?}");
    }

    // The stalled WebSocket was dropped by the server (EOF after what was in flight), and what
    // it had been sent is bounded by its queue and the socket buffers, not by the traffic.
    let drained = drain_until_closed(&mut stalled_ws).await;
    let frame_len = FILLER_LEN + 64;
    let socket_buffers = 8 << 20;
    assert!(
        drained < QUEUE * frame_len + socket_buffers,
        "{drained} bytes were in flight to the stalled client"
    );
    // The polling session is gone too.
    eio::get_at(addr, "/socket.io/", &poll_sid)
        .await
        .assert_error(400, 1, "GET of the dropped polling session");
    assert_eq!(server.io.engine().sockets().len(), clients.len());
}

// ---- handshake floods ----

/// Polls `count` until it returns `expected`, for at most the test timeout.
async fn eventually(what: &str, expected: usize, count: impl Fn() -> usize) {
    within(what, async {
        while count() != expected {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_past_the_session_cap_get_503_and_a_freed_place_is_reused() {
    let _alone = crate::alone().await;
    const CAP: usize = 40;
    let server = TestEngine::start(EngineConfig::default().max_sessions(CAP)).await;
    let addr = server.addr;
    let target = eio::polling_target(None);
    let replies =
        futures_util::future::join_all((0..100).map(|_| http(addr, Method::GET, &target, "")))
            .await;
    let accepted: Vec<String> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .map(|r| {
            eio::parse_open(&r.packets()[0])["sid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(accepted.len(), CAP, "exactly the cap is accepted");
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.header("retry-after"), Some("1"));
        let json: serde_json::Value = serde_json::from_slice(&reply.body).expect("JSON body");
        assert_eq!(json["message"], "Too many sessions", "{json}");
    }
    assert_eq!(
        refused_status(ws_connect(addr, "EIO=4&transport=websocket", &[]).await),
        503,
        "a WebSocket handshake past the cap"
    );
    // Every accepted session still works.
    for sid in &accepted {
        eio::assert_polling_echoes(addr, sid, "a session under the cap").await;
    }
    // Closing ten gives ten places back.
    for sid in &accepted[..10] {
        eio::assert_ok(&post(addr, sid, "1").await, "close");
    }
    eventually("ten sessions to end", CAP - 10, || {
        server.eio.sockets().len()
    })
    .await;
    for _ in 0..10 {
        open_polling(addr).await;
    }
    assert_eq!(
        http(addr, Method::GET, &target, "").await.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "full again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_handshakes_is_answered_and_leaves_nothing_behind() {
    let _alone = crate::alone().await;
    const FLOOD: usize = 1500;
    // Short pings so that the flood's sessions, which never answer, end soon; a timeout
    // long enough for the witness's pong to get through the flood on a busy machine.
    let config = EngineConfig::default()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_secs(2));
    let server = TestEngine::start(config).await;
    let addr = server.addr;
    let (witness, _) = open_polling(addr).await;
    // The witness answers its pings throughout; nobody answers those of the flood, so every
    // one of its sessions ends.
    let keep_alive = {
        let witness = witness.clone();
        tokio::spawn(async move {
            loop {
                let reply = get(addr, &witness).await;
                assert_eq!(reply.status, StatusCode::OK, "witness GET");
                if reply.packets().iter().any(|p| p == "2") {
                    eio::assert_ok(&post(addr, &witness, "3").await, "witness pong");
                }
            }
        })
    };
    let target = eio::polling_target(None);
    let flood = (0..FLOOD).map(|i| {
        let target = target.clone();
        async move {
            if i % 3 == 0 {
                // WebSocket handshakes too; the connection is dropped right after the open
                // packet, so the session ends as a transport close.
                let (_ws, _, _) = eio::open_websocket(addr).await;
                true
            } else {
                http(addr, Method::GET, &target, "").await.status == StatusCode::OK
            }
        }
    });
    let answered = futures_util::future::join_all(flood).await;
    assert!(
        answered.iter().all(|ok| *ok),
        "every handshake was answered with an open packet"
    );
    eventually("the flood's sessions to end", 1, || {
        server.eio.sockets().len()
    })
    .await;
    keep_alive.abort();
    assert!(
        server.eio.socket(&witness).is_some(),
        "the witness survived"
    );
}
