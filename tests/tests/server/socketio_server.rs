//! The Socket.IO server API over real WebSockets: dynamic and catch-all namespaces, catch-all
//! events, broadcasts with acks and per-socket timeouts, rooms, sessions and disconnect
//! reasons.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::eio::{Ws, within, ws_connect_at, ws_recv, ws_send};
use serde_json::json;
use socketio::handler::EventName;
use socketio::{AckSender, DisconnectReason, Payload, Socket, SocketIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

async fn serve(io: &SocketIo) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = io.router();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

async fn text(ws: &mut Ws) -> String {
    match ws_recv(ws).await {
        Message::Text(text) => text.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Opens a connection and joins `namespace`; returns the socket id.
async fn join(addr: SocketAddr, namespace: &str) -> (Ws, String) {
    let mut ws = ws_connect_at(addr, "/socket.io/?EIO=4&transport=websocket", &[])
        .await
        .unwrap();
    text(&mut ws).await; // open packet
    let prefix = if namespace == "/" {
        String::new()
    } else {
        format!("{namespace},")
    };
    ws_send(&mut ws, &format!("40{prefix}")).await;
    let reply = text(&mut ws).await;
    let json = reply
        .strip_prefix(&format!("40{prefix}"))
        .expect("CONNECT reply");
    let sid = serde_json::from_str::<serde_json::Value>(json).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    (ws, sid)
}

#[tokio::test]
async fn dynamic_and_catch_all_namespaces() {
    let io = SocketIo::builder()
        .dynamic_namespace(
            |name| name.starts_with("/team-"),
            |ns| {
                ns.on(
                    "who",
                    |socket: Arc<Socket>, ack: Option<AckSender>| async move {
                        if let Some(ack) = ack {
                            let _ = ack.send(json!(socket.namespace()));
                        }
                    },
                )
            },
        )
        .namespace("*", |ns| {
            ns.on_any(
                |socket: Arc<Socket>,
                 EventName(event): EventName,
                 payload: Payload,
                 ack: Option<AckSender>| async move {
                    if let Some(ack) = ack {
                        let mut args = vec![json!(socket.namespace()), json!(event)];
                        args.extend(payload.args);
                        let _ = ack.send(socketio::Payload::from_args(args));
                    }
                },
            )
        })
        .build()
        .unwrap();
    let addr = serve(&io).await;

    let (mut red, _) = join(addr, "/team-red").await;
    ws_send(&mut red, r#"42/team-red,1["who"]"#).await;
    assert_eq!(text(&mut red).await, r#"43/team-red,1["/team-red"]"#);

    let (mut other, _) = join(addr, "/anything").await;
    ws_send(&mut other, r#"42/anything,2["custom",7]"#).await;
    assert_eq!(
        text(&mut other).await,
        r#"43/anything,2["/anything","custom",7]"#
    );

    assert!(
        io.of("/team-red").is_some(),
        "a created namespace can be addressed"
    );
    io.of("/team-red").unwrap().emit("news", 1).expect("emit");
    assert_eq!(text(&mut red).await, r#"42/team-red,["news",1]"#);
}

#[tokio::test]
async fn broadcast_with_acks_reports_each_socket() {
    let io = SocketIo::builder()
        .namespace("/", |ns| ns.on("noop", |_ack: Option<AckSender>| async {}))
        .build()
        .unwrap();
    let addr = serve(&io).await;
    let (mut answers, answering_sid) = join(addr, "/").await;
    let (mut silent, silent_sid) = join(addr, "/").await;

    let io2 = io.clone();
    let results = tokio::spawn(async move {
        io2.of("/")
            .unwrap()
            .timeout(Duration::from_millis(500))
            .emit_with_ack::<socketio::Payload>("question", "?")
            .expect("emit")
            .collect_all()
            .await
    });
    let asked = text(&mut answers).await;
    let id = asked
        .strip_prefix("42")
        .and_then(|rest| rest.strip_suffix(r#"["question","?"]"#))
        .unwrap_or_else(|| panic!("unexpected {asked}"));
    assert_eq!(
        text(&mut silent).await,
        asked,
        "the same packet, id included, goes to everyone"
    );
    ws_send(&mut answers, &format!(r#"43{id}["yes"]"#)).await;

    let mut results = within("broadcast acks", results).await.unwrap();
    results.sort_by_key(|(sid, _)| sid.to_string() != answering_sid);
    assert_eq!(results[0].0.as_str(), answering_sid);
    assert_eq!(results[0].1, Ok(Payload::from_args(vec![json!("yes")])));
    assert_eq!(results[1].0.as_str(), silent_sid);
    assert_eq!(results[1].1, Err(socketio::AckError::Timeout));
}

#[tokio::test]
async fn rooms_sessions_and_disconnect_reasons() {
    let (reasons_tx, mut reasons) = mpsc::unbounded_channel();
    let reasons_tx = Arc::new(reasons_tx);
    let io = SocketIo::builder()
        .namespace("/", move |ns| {
            let reasons_tx = reasons_tx.clone();
            ns.on(
                "join",
                |socket: Arc<Socket>, payload: Payload, ack: Option<AckSender>| async move {
                    let room = payload.args[0].as_str().unwrap().to_owned();
                    socket.join(&room);
                    socket.with_session(|joined: &mut Vec<String>| joined.push(room));
                    if let Some(ack) = ack {
                        let _ = ack.send(json!(socket.rooms()));
                    }
                },
            )
            .on(
                "kick-me",
                |socket: Arc<Socket>, _ack: Option<AckSender>| async move {
                    socket.disconnect();
                },
            )
            .on_disconnect(move |socket: Arc<Socket>, reason: DisconnectReason| {
                let reasons_tx = reasons_tx.clone();
                async move {
                    let joined = socket.get_session::<Vec<String>>().unwrap_or_default();
                    let _ = reasons_tx.send((reason, socket.rooms(), joined));
                }
            })
        })
        .build()
        .unwrap();
    let addr = serve(&io).await;

    let (mut a, a_sid) = join(addr, "/").await;
    ws_send(&mut a, r#"421["join","lobby"]"#).await;
    let mut expected = vec![a_sid.clone(), "lobby".to_owned()];
    expected.sort();
    assert_eq!(text(&mut a).await, format!("431[{}]", json!(expected)));
    assert!(io.rooms("/").contains(&"lobby".to_owned()));

    ws_send(&mut a, r#"42["kick-me"]"#).await;
    assert_eq!(text(&mut a).await, "41");
    let (reason, rooms, joined) = within("disconnect", reasons.recv()).await.unwrap();
    assert_eq!(reason, DisconnectReason::ServerDisconnect);
    assert!(
        rooms.contains(&"lobby".to_owned()),
        "rooms are readable in the disconnect handler"
    );
    assert_eq!(joined, ["lobby"]);
    assert!(
        !io.rooms("/").contains(&"lobby".to_owned()),
        "left every room afterwards"
    );

    let (mut b, _) = join(addr, "/").await;
    ws_send(&mut b, "41").await;
    let (reason, _, _) = within("disconnect", reasons.recv()).await.unwrap();
    assert_eq!(reason, DisconnectReason::ClientDisconnect);

    let (c, _) = join(addr, "/").await;
    drop(c);
    let (reason, _, _) = within("disconnect", reasons.recv()).await.unwrap();
    assert_eq!(reason, DisconnectReason::TransportClose);

    let (mut d, _) = join(addr, "/").await;
    ws_send(&mut d, "4zzz").await;
    let (reason, _, _) = within("disconnect", reasons.recv()).await.unwrap();
    assert_eq!(reason, DisconnectReason::ParseError);

    let (mut e, _) = join(addr, "/").await;
    io.shutdown();
    let (reason, _, _) = within("disconnect", reasons.recv()).await.unwrap();
    assert_eq!(reason, DisconnectReason::ServerShutdown);
    assert_eq!(
        text(&mut e).await,
        "1",
        "the engine close packet reaches the client"
    );
}

#[tokio::test]
async fn always_connect_answers_first_and_disconnects_on_refusal() {
    let io = SocketIo::builder()
        .always_connect(true)
        .namespace("/", |ns| {
            ns.on_connect(|socket: Arc<Socket>| async move {
                let _ = socket.emit("hello", json!(1));
                match socket.auth().get("token") {
                    Some(_) => Ok(()),
                    None => Err(socketio::ConnectError::new("no token")),
                }
            })
        })
        .build()
        .unwrap();
    let addr = serve(&io).await;

    let mut ws = ws_connect_at(addr, "/socket.io/?EIO=4&transport=websocket", &[])
        .await
        .unwrap();
    text(&mut ws).await; // open packet
    ws_send(&mut ws, "40").await;
    assert!(
        text(&mut ws).await.starts_with("40{\"sid\":"),
        "CONNECT is answered first"
    );
    assert_eq!(text(&mut ws).await, r#"42["hello",1]"#);
    assert_eq!(
        text(&mut ws).await,
        "41",
        "the refusal arrives as a disconnect"
    );

    let mut ok = ws_connect_at(addr, "/socket.io/?EIO=4&transport=websocket", &[])
        .await
        .unwrap();
    text(&mut ok).await;
    ws_send(&mut ok, r#"40{"token":"t"}"#).await;
    assert!(text(&mut ok).await.starts_with("40{\"sid\":"));
    assert_eq!(text(&mut ok).await, r#"42["hello",1]"#);
    assert_eq!(
        io.of("/").unwrap().sockets().len(),
        1,
        "only the accepted socket stays"
    );
}

#[tokio::test]
async fn parser_limits_from_the_builder_apply_to_every_connection() {
    let limits = socketio::parser::ParserLimits {
        max_depth: 3,
        ..Default::default()
    };
    let io = SocketIo::builder()
        .parser_limits(limits)
        .namespace("/", |ns| {
            ns.on(
                "echo",
                |socket: Arc<Socket>, payload: Payload, _ack: Option<AckSender>| async move {
                    let _ = socket.emit("echo", payload);
                },
            )
        })
        .build()
        .unwrap();
    let addr = serve(&io).await;
    let (mut ws, _) = join(addr, "/").await;
    ws_send(&mut ws, r#"42["echo",[1]]"#).await;
    assert_eq!(
        text(&mut ws).await,
        r#"42["echo",[1]]"#,
        "within the depth limit"
    );
    ws_send(&mut ws, r#"42["echo",[[[[1]]]]]"#).await;
    let closed = common::eio::ws_until_closed(&mut ws).await;
    assert!(
        closed
            .frames
            .iter()
            .all(|f| f != &Message::text(r#"42["echo",[[[[1]]]]]"#)),
        "a packet past the depth limit is not handled"
    );
}

#[tokio::test]
async fn volatile_broadcasts_skip_clients_that_cannot_take_them_now() {
    use common::eio::http;
    use http::Method;

    let io = SocketIo::builder()
        .namespace("/", |ns| ns.on("noop", |_ack: Option<AckSender>| async {}))
        .build()
        .unwrap();
    let addr = serve(&io).await;

    // A polling client: open, join `/`, read the CONNECT reply.
    let open = http(addr, Method::GET, "/socket.io/?EIO=4&transport=polling", "").await;
    let sid = serde_json::from_str::<serde_json::Value>(&open.text()[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(http(addr, Method::POST, &target, "40").await.text(), "ok");
    assert!(
        http(addr, Method::GET, &target, "")
            .await
            .text()
            .starts_with("40{")
    );

    // No poll is waiting: this tick is skipped, so the next poll gets tick 2 alone.
    let everyone = io.of("/").unwrap();
    everyone.clone().volatile().emit("tick", 1).expect("emit");

    let poll = tokio::spawn({
        let target = target.clone();
        async move { http(addr, Method::GET, &target, "").await }
    });
    let socket = everyone.sockets().pop().unwrap();
    within("the poll to arrive", async {
        while !socket.engine_socket().is_writable() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    everyone.clone().volatile().emit("tick", 2).expect("emit");
    assert_eq!(
        within("the poll", poll).await.unwrap().text(),
        r#"42["tick",2]"#
    );

    // WebSocket clients are always writable.
    let (mut ws, _) = join(addr, "/").await;
    everyone.volatile().emit("tick", 3).expect("emit");
    assert_eq!(text(&mut ws).await, r#"42["tick",3]"#);
}

#[tokio::test]
async fn middlewares_run_first_and_refuse_even_with_always_connect() {
    let io = SocketIo::builder()
        .always_connect(true)
        .namespace("/", |ns| {
            ns.on_connect(|socket: Arc<Socket>| async move {
                let _ = socket.emit("order", json!(socket.get_session::<u8>()));
                Ok(())
            })
            .middleware(|socket: Arc<Socket>| async move {
                socket.save_session(1_u8);
                match socket.auth().get("token") {
                    Some(_) => Ok(()),
                    None => Err(socketio::ConnectError::new("no token")
                        .with_data(json!({"hint": "send a token"}))),
                }
            })
        })
        .build()
        .unwrap();
    let addr = serve(&io).await;

    let mut refused = ws_connect_at(addr, "/socket.io/?EIO=4&transport=websocket", &[])
        .await
        .unwrap();
    text(&mut refused).await;
    ws_send(&mut refused, "40").await;
    assert_eq!(
        text(&mut refused).await,
        r#"44{"message":"no token","data":{"hint":"send a token"}}"#,
        "a middleware refuses with CONNECT_ERROR before any CONNECT reply"
    );

    let mut accepted = ws_connect_at(addr, "/socket.io/?EIO=4&transport=websocket", &[])
        .await
        .unwrap();
    text(&mut accepted).await;
    ws_send(&mut accepted, r#"40{"token":"t"}"#).await;
    assert!(text(&mut accepted).await.starts_with("40{\"sid\":"));
    assert_eq!(
        text(&mut accepted).await,
        r#"42["order",1]"#,
        "the middleware ran before the connect handler, though registered after it"
    );
}
