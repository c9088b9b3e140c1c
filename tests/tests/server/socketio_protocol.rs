//! The `/socket.io/` half of the conformance contract at the wire level: namespaces, connect
//! replies, unknown namespaces, malformed packets and the connect timeout.

use crate::common;

use common::eio::{Ws, ws_connect_at, ws_recv, ws_send, ws_until_closed};
use tokio_tungstenite::tungstenite::Message;

async fn open(addr: std::net::SocketAddr) -> Ws {
    let mut ws = ws_connect_at(addr, "/socket.io/?EIO=4&transport=websocket", &[])
        .await
        .expect("WebSocket handshake");
    let Message::Text(open) = ws_recv(&mut ws).await else {
        panic!("no open packet")
    };
    assert!(open.starts_with("0{\"sid\":"), "{open}");
    ws
}

async fn recv_text(ws: &mut Ws) -> String {
    match ws_recv(ws).await {
        Message::Text(text) => text.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// `40{"sid":"…"}`-style reply for `namespace`, returning the socket id.
fn connect_reply_sid(reply: &str, prefix: &str) -> String {
    let json = reply
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{reply:?} does not start with {prefix:?}"));
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["sid"], "the CONNECT reply carries only the sid");
    value["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn namespaces_connect_and_report_auth() {
    let server = common::spawn_example("conformance", &[]);
    let mut ws = open(server.addr).await;

    ws_send(&mut ws, "40").await;
    connect_reply_sid(&recv_text(&mut ws).await, "40");
    assert_eq!(recv_text(&mut ws).await, r#"42["auth",{}]"#);

    // No trailing comma after the namespace is accepted too.
    ws_send(&mut ws, "40/custom").await;
    connect_reply_sid(&recv_text(&mut ws).await, "40/custom,");
    assert_eq!(recv_text(&mut ws).await, r#"42/custom,["auth",{}]"#);

    ws_send(&mut ws, r#"40/chat,{"token":"secret","z":1,"a":[1]}"#).await;
    connect_reply_sid(&recv_text(&mut ws).await, "40/chat,");
    assert_eq!(
        recv_text(&mut ws).await,
        r#"42/chat,["auth",{"token":"secret","z":1,"a":[1]}]"#,
        "compact JSON in the order received"
    );

    ws_send(&mut ws, r#"40/chat,{"token":"wrong"}"#).await;
    // Already connected to /chat on this connection: a second CONNECT changes nothing, so
    // probe with a fresh connection instead.
    let mut other = open(server.addr).await;
    ws_send(&mut other, r#"40/chat,{"token":"wrong"}"#).await;
    assert_eq!(
        recv_text(&mut other).await,
        r#"44/chat,{"message":"unauthorized"}"#
    );

    ws_send(&mut other, "40/random").await;
    assert_eq!(
        recv_text(&mut other).await,
        r#"44/random,{"message":"Invalid namespace"}"#
    );

    // Binary echo keeps the placeholder shape and the attachment.
    ws_send(
        &mut ws,
        r#"451-/custom,["message",{"_placeholder":true,"num":0}]"#,
    )
    .await;
    ws.send_binary_frame(vec![1, 2, 3]).await;
    assert_eq!(
        recv_text(&mut ws).await,
        r#"451-/custom,["message-back",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(ws_recv(&mut ws).await, Message::binary(vec![1, 2, 3]));

    ws_send(&mut ws, r#"427["message-with-ack",1,"two"]"#).await;
    assert_eq!(recv_text(&mut ws).await, r#"437[1,"two"]"#);
}

#[tokio::test]
async fn malformed_packets_close_the_connection() {
    let server = common::spawn_example("conformance", &[]);
    for bad in ["4abc", "42{}", r#"42abc["x"]"#, "49", r#"42["connect"]"#] {
        let mut ws = open(server.addr).await;
        ws_send(&mut ws, "40").await;
        recv_text(&mut ws).await;
        recv_text(&mut ws).await; // auth
        ws_send(&mut ws, bad).await;
        let closed = ws_until_closed(&mut ws).await;
        assert!(
            closed.frames.is_empty() || closed.frames.iter().all(|f| f == &Message::text("2")),
            "{bad}: nothing but pings before the close, got {:?}",
            closed.frames
        );
    }
}

#[tokio::test]
async fn a_connection_without_namespace_is_closed_after_the_connect_timeout() {
    use futures_util::{SinkExt, StreamExt};
    let server = common::spawn_example("conformance", &[]);
    let mut ws = open(server.addr).await;
    let started = std::time::Instant::now();
    // Answer pings but send no CONNECT: the server ends the session after its 1 s connect
    // timeout, with a close packet.
    let ended_with = common::eio::within("the connect timeout", async {
        let mut last = None;
        while let Some(Ok(message)) = ws.next().await {
            match &message {
                Message::Text(text) if text.as_str() == "2" => {
                    ws.send(Message::text("3")).await.expect("pong");
                }
                Message::Close(_) => break,
                _ => last = Some(message),
            }
        }
        last
    })
    .await;
    assert_eq!(ended_with, Some(Message::text("1")));
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
}

trait SendBinary {
    async fn send_binary_frame(&mut self, data: Vec<u8>);
}

impl SendBinary for Ws {
    async fn send_binary_frame(&mut self, data: Vec<u8>) {
        use futures_util::SinkExt;
        self.send(Message::binary(data))
            .await
            .expect("send binary frame");
    }
}
