//! Hostile and malformed Socket.IO input against the `conformance` example
//! (docs/PROGRAMS.md, `conformance`, `/socket.io/`).
//!
//! Every case runs on its own server with two clients connected to `/`: the offender sends the
//! bad frames, and the bystander must keep working afterwards whatever happened to the
//! offender. There are three outcomes:
//!
//! - **closes**: a packet the parser refuses (`socketio/src/parser/error.rs`,
//!   `validate.rs`) or a packet that makes no sense from a client ends that engine
//!   connection, with nothing but pings before the end (Node's `socket.io` does the same:
//!   its decoder throws and the client is closed);
//! - **refused**: a well-formed CONNECT the server turns down gets `44<nsp>,{"message":…}`
//!   and the connection stays usable;
//! - **ignored**: a well-formed packet that has nowhere to go gets no answer, and the
//!   connection stays usable. Packets of one connection are handled in order, so "the next
//!   frame answers a later probe" proves nothing was sent in between.

use crate::common;

use std::net::SocketAddr;

use common::ExampleProcess;
use common::sio::Client;
use tokio_tungstenite::tungstenite::Message;

/// One frame the offender sends.
enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

fn text(frame: impl Into<String>) -> Frame {
    Frame::Text(frame.into())
}

fn binary(data: &[u8]) -> Frame {
    Frame::Binary(data.to_vec())
}

/// What must happen to the offender.
enum Outcome {
    /// The server ends the connection; only pings may come first.
    Closes,
    /// These frames come back, in order, and the connection keeps working.
    Answers(Vec<Message>),
    /// Nothing comes back, and the connection keeps working.
    Ignored,
}

/// `{"_placeholder":true,"num":N}`
fn ph(num: usize) -> String {
    format!(r#"{{"_placeholder":true,"num":{num}}}"#)
}

/// A fresh server and a client connected to `/` (its `auth` event read).
async fn connected(addr: SocketAddr) -> Client {
    let mut client = Client::connect(addr).await;
    client.join("/", None).await;
    assert_eq!(client.recv_text().await, r#"42["auth",{}]"#);
    client
}

/// A `message` on `/` comes straight back as `message-back`: the connection works, and
/// nothing else was queued before the echo.
async fn assert_echoes(client: &mut Client, who: &str) {
    let probe = format!("still working: {who}");
    client.send(&format!(r#"42["message","{probe}"]"#));
    assert_eq!(
        client.recv_text().await,
        format!(r#"42["message-back","{probe}"]"#),
        "{who}: the first frame after the probe"
    );
}

/// Runs one case: a bystander and the offender connect to `/`, the offender sends `frames`,
/// `outcome` is checked on the offender, then the bystander must still get its echo.
async fn check(frames: Vec<Frame>, outcome: Outcome) {
    let server: ExampleProcess = common::spawn_example("conformance", &[]);
    let mut bystander = connected(server.addr).await;
    let mut offender = connected(server.addr).await;

    for frame in frames {
        match frame {
            Frame::Text(frame) => offender.send(&frame),
            Frame::Binary(data) => offender.send_binary(data),
        }
    }

    match outcome {
        Outcome::Closes => {
            let before = offender.until_closed().await;
            assert!(
                before.is_empty(),
                "the offender got frames before its connection ended: {before:?}"
            );
        }
        Outcome::Answers(expected) => {
            for (index, want) in expected.into_iter().enumerate() {
                assert_eq!(offender.recv().await, want, "answer frame {index}");
            }
            assert_echoes(&mut offender, "the offender").await;
        }
        Outcome::Ignored => assert_echoes(&mut offender, "the offender").await,
    }

    assert_echoes(&mut bystander, "the bystander").await;
}

// ---- EVENT payloads that are not `[name, ...args]` ----

#[tokio::test]
async fn event_with_an_empty_array_closes() {
    // No event name at all: the parser refuses an empty event array.
    check(vec![text("42[]")], Outcome::Closes).await;
}

#[tokio::test]
async fn event_named_null_closes() {
    // The name must be a string or a number (Node's parser checks the same).
    check(vec![text("42[null]")], Outcome::Closes).await;
}

#[tokio::test]
async fn event_named_by_an_object_closes() {
    // An object as the name, even one that looks like a JS prototype trick.
    check(vec![text(r#"42[{"toString":1}]"#)], Outcome::Closes).await;
}

#[tokio::test]
async fn event_with_a_string_payload_closes() {
    // EVENT needs a JSON array; a string is the wrong shape.
    check(vec![text(r#"42"str""#)], Outcome::Closes).await;
}

#[tokio::test]
async fn event_with_an_object_payload_closes() {
    // EVENT needs a JSON array; an object is the wrong shape.
    check(vec![text("42{}")], Outcome::Closes).await;
}

#[tokio::test]
async fn event_without_a_payload_closes() {
    // EVENT requires a payload.
    check(vec![text("42")], Outcome::Closes).await;
}

#[tokio::test]
async fn event_with_letters_before_the_payload_closes() {
    // `abc` is neither an ack id nor JSON, so the payload is invalid JSON.
    check(vec![text(r#"42abc["message"]"#)], Outcome::Closes).await;
}

#[tokio::test]
async fn event_with_trailing_garbage_closes() {
    // Trailing bytes after the JSON array make the payload invalid.
    check(vec![text(r#"42["message"]x"#)], Outcome::Closes).await;
}

// ---- packet types ----

#[tokio::test]
async fn packet_type_letter_closes() {
    // `a` is not a packet type digit.
    check(vec![text("4abc")], Outcome::Closes).await;
}

#[tokio::test]
async fn packet_type_7_closes() {
    // Types stop at 6 (BINARY_ACK).
    check(vec![text(r#"47["message"]"#)], Outcome::Closes).await;
}

#[tokio::test]
async fn packet_type_8_closes() {
    // Types stop at 6, with or without a payload.
    check(vec![text("48")], Outcome::Closes).await;
}

#[tokio::test]
async fn packet_type_9_closes() {
    // Types stop at 6, with a namespace too.
    check(vec![text(r#"49/custom,["message"]"#)], Outcome::Closes).await;
}

#[tokio::test]
async fn empty_socketio_packet_closes() {
    // An Engine.IO message with no Socket.IO packet in it.
    check(vec![text("4")], Outcome::Closes).await;
}

// ---- binary headers ----

#[tokio::test]
async fn huge_attachment_count_closes() {
    // 999 999 999 announced attachments: far above the cap of 10, refused from the header
    // alone (nothing is allocated for them).
    check(
        vec![text(format!(r#"45999999999-["message",{}]"#, ph(0)))],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn attachment_count_with_too_many_digits_closes() {
    // More digits than any count can have.
    check(
        vec![text(format!(r#"45123456789012-["message",{}]"#, ph(0)))],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn missing_attachment_count_closes() {
    // `5-1-…`: the count is empty, so the binary header is malformed.
    check(
        vec![text(format!(r#"45-1-["message",{}]"#, ph(0))), binary(&[1])],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn eleven_attachments_close() {
    // One more than the default cap of 10.
    let placeholders: Vec<String> = (0..11).map(ph).collect();
    let mut frames = vec![text(format!(
        r#"4511-["message",{}]"#,
        placeholders.join(",")
    ))];
    frames.extend((0..11u8).map(|n| binary(&[n])));
    check(frames, Outcome::Closes).await;
}

#[tokio::test]
async fn ten_attachments_are_echoed() {
    // Exactly at the cap: accepted, and echoed with every attachment in order.
    let placeholders: Vec<String> = (0..10).map(ph).collect();
    let list = placeholders.join(",");
    let mut frames = vec![text(format!(r#"4510-["message",{list}]"#))];
    frames.extend((0..10u8).map(|n| binary(&[n, n])));
    let mut answer = vec![Message::text(format!(r#"4510-["message-back",{list}]"#))];
    answer.extend((0..10u8).map(|n| Message::binary(vec![n, n])));
    check(frames, Outcome::Answers(answer)).await;
}

// ---- placeholders ----

#[tokio::test]
async fn placeholder_num_as_a_string_closes() {
    // `num` must be a non-negative integer; "0" is a string.
    check(
        vec![
            text(r#"451-["message",{"_placeholder":true,"num":"0"}]"#),
            binary(&[1]),
        ],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn placeholder_num_negative_closes() {
    // A negative index refers to nothing.
    check(
        vec![
            text(r#"451-["message",{"_placeholder":true,"num":-1}]"#),
            binary(&[1]),
        ],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn placeholder_num_fractional_closes() {
    // 0.5 is no index (Node would look up `buffers[0.5]` and get undefined).
    check(
        vec![
            text(r#"451-["message",{"_placeholder":true,"num":0.5}]"#),
            binary(&[1]),
        ],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn placeholder_num_past_the_attachments_closes() {
    // Index 1 of a packet with one attachment.
    check(
        vec![text(format!(r#"451-["message",{}]"#, ph(1))), binary(&[1])],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn placeholder_num_beyond_64_bits_closes() {
    // An index no integer type holds.
    check(
        vec![
            text(r#"451-["message",{"_placeholder":true,"num":99999999999999999999999}]"#),
            binary(&[1]),
        ],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn placeholder_in_a_plain_event_closes() {
    // A placeholder in a packet without attachments refers to nothing.
    check(
        vec![text(format!(r#"42["message",{}]"#, ph(0)))],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn placeholder_under_a_proto_key_is_an_ordinary_placeholder() {
    // `__proto__` is an ordinary key in JSON: the placeholder inside it is found and the
    // attachment echoed, key and all.
    let args = format!(r#"{{"__proto__":{}}}"#, ph(0));
    check(
        vec![text(format!(r#"451-["message",{args}]"#)), binary(&[7, 8])],
        Outcome::Answers(vec![
            Message::text(format!(r#"451-["message-back",{args}]"#)),
            Message::binary(vec![7, 8]),
        ]),
    )
    .await;
}

#[tokio::test]
async fn placeholder_flag_hidden_under_proto_closes() {
    // `{"__proto__":{"_placeholder":true},"num":0}`: the inner object claims to be a
    // placeholder without an index; no prototype lookup lends it the outer `num`.
    check(
        vec![
            text(r#"451-["message",{"__proto__":{"_placeholder":true},"num":0}]"#),
            binary(&[1]),
        ],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn placeholder_num_as_proto_closes() {
    // `num` naming a property instead of an index.
    check(
        vec![
            text(r#"451-["message",{"_placeholder":true,"num":"__proto__"}]"#),
            binary(&[1]),
        ],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn placeholder_with_extra_keys_is_echoed_canonically() {
    // The placeholder stands for the bytes: Node and python-socketio replace it on receipt
    // and write a fresh one when sending, so extra keys never travel back (the contract
    // wants placeholders exactly `{"_placeholder":true,"num":N}`).
    check(
        vec![
            text(r#"451-["message",{"_placeholder":true,"num":0,"__proto__":{"polluted":1}}]"#),
            binary(&[5]),
        ],
        Outcome::Answers(vec![
            Message::text(format!(r#"451-["message-back",{}]"#, ph(0))),
            Message::binary(vec![5]),
        ]),
    )
    .await;
}

#[tokio::test]
async fn unreferenced_attachment_closes() {
    // Two attachments announced, one referenced: the parser refuses the packet.
    check(
        vec![
            text(format!(r#"452-["message",{}]"#, ph(0))),
            binary(&[1]),
            binary(&[2]),
        ],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn binary_frame_without_a_header_closes() {
    // No binary packet announced any attachment.
    check(vec![binary(&[1, 2, 3])], Outcome::Closes).await;
}

#[tokio::test]
async fn text_frame_while_attachments_are_due_closes() {
    // The header announced one attachment; a text packet cannot come in between.
    check(
        vec![
            text(format!(r#"451-["message",{}]"#, ph(0))),
            text(r#"42["message","cut in"]"#),
            binary(&[1]),
        ],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn binary_frame_beyond_the_announced_count_closes() {
    // The packet is complete after one attachment; the second binary frame belongs to
    // nothing. The echo of the complete packet may or may not beat the close.
    let server = common::spawn_example("conformance", &[]);
    let mut bystander = connected(server.addr).await;
    let mut offender = connected(server.addr).await;
    offender.send(&format!(r#"451-["message",{}]"#, ph(0)));
    offender.send_binary(vec![1]);
    offender.send_binary(vec![2]);
    let before = offender.until_closed().await;
    let echo = [
        Message::text(format!(r#"451-["message-back",{}]"#, ph(0))),
        Message::binary(vec![1]),
    ];
    assert!(
        before.is_empty() || before == echo,
        "frames before the end: {before:?}"
    );
    assert_echoes(&mut bystander, "the bystander").await;
}

#[tokio::test]
async fn binary_event_on_a_namespace_never_joined_is_ignored() {
    // A complete, well-formed packet for `/custom`, which this client never joined: the
    // attachment is consumed and dropped with it (python-socketio ignores events for
    // namespaces that are not connected), and the next packet decodes normally.
    check(
        vec![
            text(format!(r#"451-/custom,["message",{}]"#, ph(0))),
            binary(&[1, 2]),
        ],
        Outcome::Ignored,
    )
    .await;
}

// ---- ack ids ----

#[tokio::test]
async fn ack_id_of_101_digits_closes() {
    // Far past the 10 digits an ack id may have.
    let id = "1".repeat(101);
    check(
        vec![text(format!(r#"42{id}["message-with-ack"]"#))],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn ack_id_of_11_digits_closes() {
    // One digit past the default limit of 10.
    check(
        vec![text(r#"4212345678901["message-with-ack"]"#)],
        Outcome::Closes,
    )
    .await;
}

#[tokio::test]
async fn ack_id_of_10_digits_is_answered() {
    // At the limit: the ack carries the same id back.
    check(
        vec![text(r#"429999999999["message-with-ack",1]"#)],
        Outcome::Answers(vec![Message::text("439999999999[1]")]),
    )
    .await;
}

// ---- sizes ----

#[tokio::test]
async fn integer_of_a_million_digits_closes() {
    // As large as the 1 000 000-byte frame limit allows: no number type holds it, so the
    // JSON is refused (and quickly; the bystander's echo proves the server did not stall).
    let digits = 1_000_000 - 64;
    let mut frame = String::with_capacity(digits + 32);
    frame.push_str(r#"42["message",1"#);
    frame.extend(std::iter::repeat_n('0', digits - 1));
    frame.push(']');
    check(vec![text(frame)], Outcome::Closes).await;
}

#[tokio::test]
async fn arrays_nested_10_000_deep_close() {
    // Far past the nesting limit of 32; refused by a scan before any recursion.
    let depth = 10_000;
    let frame = format!(
        r#"42["message",{}{}]"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    check(vec![text(frame)], Outcome::Closes).await;
}

#[tokio::test]
async fn nesting_at_the_limit_is_echoed() {
    // 32 levels counting the event array itself: accepted and echoed unchanged.
    let inner = format!("{}{}", "[".repeat(31), "]".repeat(31));
    check(
        vec![text(format!(r#"42["message",{inner}]"#))],
        Outcome::Answers(vec![Message::text(format!(
            r#"42["message-back",{inner}]"#
        ))]),
    )
    .await;
}

#[tokio::test]
async fn nesting_one_past_the_limit_closes() {
    // 33 levels counting the event array itself.
    let inner = format!("{}{}", "[".repeat(32), "]".repeat(32));
    check(
        vec![text(format!(r#"42["message",{inner}]"#))],
        Outcome::Closes,
    )
    .await;
}

// ---- reserved event names ----

/// One test per reserved name: a client must not be able to fire the server's own events.
macro_rules! reserved_name_closes {
    ($($test:ident => $name:literal),* $(,)?) => {$(
        #[tokio::test]
        async fn $test() {
            // Reserved by Socket.IO; Node's parser refuses these too (plus `error` here).
            check(vec![text(format!(r#"42["{}",1]"#, $name))], Outcome::Closes).await;
        }
    )*};
}

reserved_name_closes! {
    reserved_connect_closes => "connect",
    reserved_connect_error_closes => "connect_error",
    reserved_disconnect_closes => "disconnect",
    reserved_disconnecting_closes => "disconnecting",
    reserved_new_listener_closes => "newListener",
    reserved_remove_listener_closes => "removeListener",
    reserved_error_closes => "error",
}

#[tokio::test]
async fn reserved_name_in_a_binary_event_closes() {
    // Attachments do not make a reserved name acceptable.
    check(
        vec![
            text(format!(r#"451-["disconnect",{}]"#, ph(0))),
            binary(&[1]),
        ],
        Outcome::Closes,
    )
    .await;
}

// ---- namespaces ----

#[tokio::test]
async fn connect_to_a_namespace_without_slash_closes() {
    // Without a leading `/` the text is no namespace; it is read as the payload, which is
    // not JSON.
    check(vec![text("40custom")], Outcome::Closes).await;
}

#[tokio::test]
async fn event_on_a_namespace_without_slash_closes() {
    // Same for an event: `custom,[…]` is not JSON.
    check(vec![text(r#"42custom,["message"]"#)], Outcome::Closes).await;
}

#[tokio::test]
async fn connect_to_a_namespace_with_a_query_is_refused() {
    // Protocol v5 has no query in the namespace: `/chat?token=secret` is another,
    // unknown, namespace (Node answers the same), so the query cannot stand in for auth.
    check(
        vec![text(r#"40/chat?token=secret,{"token":"secret"}"#)],
        Outcome::Answers(vec![Message::text(
            r#"44/chat?token=secret,{"message":"Invalid namespace"}"#,
        )]),
    )
    .await;
}

#[tokio::test]
async fn connect_to_an_unknown_namespace_is_refused() {
    // No such namespace.
    check(
        vec![text("40/nowhere")],
        Outcome::Answers(vec![Message::text(
            r#"44/nowhere,{"message":"Invalid namespace"}"#,
        )]),
    )
    .await;
}

#[tokio::test]
async fn connect_with_a_wrong_token_is_refused() {
    // `/chat` refuses in its connect handler.
    check(
        vec![text(r#"40/chat,{"token":"guess"}"#)],
        Outcome::Answers(vec![Message::text(r#"44/chat,{"message":"unauthorized"}"#)]),
    )
    .await;
}

#[tokio::test]
async fn connect_without_auth_to_a_guarded_namespace_is_refused() {
    // No payload means `{}` as auth, which has no token.
    check(
        vec![text("40/chat,")],
        Outcome::Answers(vec![Message::text(r#"44/chat,{"message":"unauthorized"}"#)]),
    )
    .await;
}

#[tokio::test]
async fn connect_with_a_string_auth_closes() {
    // The CONNECT payload must be an object (Node's parser checks the same).
    check(vec![text(r#"40/chat,"str""#)], Outcome::Closes).await;
}

#[tokio::test]
async fn connect_with_an_array_auth_closes() {
    // An array is no object either, on the main namespace too.
    check(vec![text("40[1]")], Outcome::Closes).await;
}

#[tokio::test]
async fn connect_with_a_null_auth_closes() {
    // `null` is no object.
    check(vec![text("40/custom,null")], Outcome::Closes).await;
}

#[tokio::test]
async fn second_connect_to_the_same_namespace_is_ignored() {
    // Already connected to `/`: the socket stays as it is and no second reply is sent.
    check(vec![text("40")], Outcome::Ignored).await;
}

#[tokio::test]
async fn second_connect_with_other_auth_is_ignored() {
    // Joined `/chat` once with the right token; a second CONNECT cannot swap the auth or get
    // a second socket: no reply, and the first socket keeps working.
    let server = common::spawn_example("conformance", &[]);
    let mut bystander = connected(server.addr).await;
    let mut offender = connected(server.addr).await;
    offender.join("/chat", Some(r#"{"token":"secret"}"#)).await;
    assert_eq!(
        offender.recv_text().await,
        r#"42/chat,["auth",{"token":"secret"}]"#
    );
    offender.send(r#"40/chat,{"token":"other"}"#);
    offender.send(r#"42/chat,["echo","same socket"]"#);
    assert_eq!(
        offender.recv_text().await,
        r#"42/chat,["echo","same socket"]"#,
        "the first frame after the second CONNECT"
    );
    assert_echoes(&mut offender, "the offender").await;
    assert_echoes(&mut bystander, "the bystander").await;
}

#[tokio::test]
async fn event_on_a_namespace_not_joined_is_ignored() {
    // `/custom` exists but this client is not in it.
    check(
        vec![text(r#"42/custom,["message","lost"]"#)],
        Outcome::Ignored,
    )
    .await;
}

#[tokio::test]
async fn event_with_ack_on_an_unknown_namespace_is_ignored() {
    // No socket there to answer the ack.
    check(
        vec![text(r#"42/nowhere,5["message-with-ack",1]"#)],
        Outcome::Ignored,
    )
    .await;
}

#[tokio::test]
async fn disconnect_from_a_namespace_not_joined_is_ignored() {
    // Nothing to leave.
    check(vec![text("41/custom,")], Outcome::Ignored).await;
}

#[tokio::test]
async fn disconnect_with_a_payload_closes() {
    // DISCONNECT never carries data.
    check(vec![text("41{}")], Outcome::Closes).await;
}

// ---- acks and connect errors from the client ----

#[tokio::test]
async fn ack_with_an_unknown_id_is_ignored() {
    // The server never asked: a late or forged ack is dropped.
    check(vec![text(r#"43999["x"]"#)], Outcome::Ignored).await;
}

#[tokio::test]
async fn binary_ack_with_an_unknown_id_is_ignored() {
    // Same with an attachment, which is consumed with the packet.
    check(
        vec![text(format!(r#"461-998[{}]"#, ph(0))), binary(&[9])],
        Outcome::Ignored,
    )
    .await;
}

#[tokio::test]
async fn ack_without_an_id_closes() {
    // An ACK needs the id it answers.
    check(vec![text(r#"43["x"]"#)], Outcome::Closes).await;
}

#[tokio::test]
async fn connect_error_from_a_client_closes() {
    // Only servers refuse connections; Node closes the client that sends one, as here.
    check(vec![text(r#"44{"message":"no thanks"}"#)], Outcome::Closes).await;
}

#[tokio::test]
async fn connect_error_with_a_string_from_a_client_closes() {
    // The older string form changes nothing.
    check(vec![text(r#"44/custom,"no thanks""#)], Outcome::Closes).await;
}
