//! The README's main command runs the `chat` example. Its page is driven in real headless
//! Chromium (`tests/js/chat_browser.mjs`); its refusals (nicknames, guarded and unknown
//! events) are checked here over raw Socket.IO frames, so their exact wire form is pinned.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::eio::http;
use common::sio::Client;
use http::Method;
use serde_json::{Value, json};

/// Debian's browser, which `scripts/test.sh` installs; Playwright's own download does not
/// work offline.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Fail (never skip) when `scripts/test.sh` has not installed Chromium.
fn require_chromium() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: run scripts/test.sh, which installs the Debian package chromium"
    );
}

#[test]
fn chat_works_in_headless_chromium() {
    common::require_npm_package("playwright-core");
    require_chromium();
    let server = common::spawn_example("chat", &[]);
    let mut cmd = Command::new("node");
    cmd.arg("tests/js/chat_browser.mjs").arg(server.url());
    common::assert_script_passes(cmd, "tests/js/chat_browser.mjs");
}

#[tokio::test]
async fn chat_serves_its_page_and_the_vendored_client() {
    common::require_npm_package("socket.io-client");
    let server = common::spawn_example("chat", &[]);
    let addr = server.addr;

    let page = http(addr, Method::GET, "/", "").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html"));
    assert!(
        page.text().contains("<title>socketio-rs chat</title>"),
        "{}",
        page.text()
    );

    let script = http(addr, Method::GET, "/chat.js", "").await;
    assert_eq!(script.status, 200);
    assert_eq!(script.header("content-type"), Some("text/javascript"));

    // The vendored bundle must be the one package-lock.json pins, byte for byte: a bump of
    // socket.io-client in package.json fails here until the copy is refreshed.
    let bundle = http(addr, Method::GET, "/socket.io.min.js", "").await;
    assert_eq!(bundle.status, 200);
    let pinned = common::node_modules().join("socket.io-client/dist/socket.io.min.js");
    let pinned =
        std::fs::read(&pinned).unwrap_or_else(|e| panic!("read {}: {e}", pinned.display()));
    assert!(
        bundle.body == pinned,
        "examples/static/chat/socket.io.min.js differs from node_modules/socket.io-client/dist/socket.io.min.js"
    );
}

/// The reply to `42/chat,<id>[…]`: the arguments of `43/chat,<id>[…]`.
async fn ack(client: &mut Client, id: u32) -> Value {
    let frame = client.recv_text().await;
    let head = format!("43/chat,{id}");
    let args = frame
        .strip_prefix(&head)
        .unwrap_or_else(|| panic!("{frame:?} is not the ack {id} of /chat"));
    serde_json::from_str(args).unwrap_or_else(|e| panic!("ack {frame:?} is not JSON: {e}"))
}

/// The next event on `/chat`: `42/chat,[name, …args]`.
async fn event(client: &mut Client) -> Value {
    let frame = client.recv_text().await;
    let args = frame
        .strip_prefix("42/chat,")
        .unwrap_or_else(|| panic!("{frame:?} is not an event of /chat"));
    serde_json::from_str(args).unwrap_or_else(|e| panic!("event {frame:?} is not JSON: {e}"))
}

/// The CONNECT_ERROR message the server answers `auth` with.
async fn refusal(addr: std::net::SocketAddr, auth: &str) -> Value {
    let mut client = Client::connect(addr).await;
    client.send(&format!("40/chat,{auth}"));
    let frame = client.recv_text().await;
    let json = frame
        .strip_prefix("44/chat,")
        .unwrap_or_else(|| panic!("{auth:?} was not refused: {frame:?}"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("refusal {frame:?} is not JSON: {e}"))
}

#[tokio::test]
async fn chat_refuses_bad_nicknames_guarded_and_unknown_events() {
    let server = common::spawn_example("chat", &[]);
    let addr = server.addr;

    let mut alice = Client::connect(addr).await;
    alice.join("/chat", Some(r#"{"nick":"alice"}"#)).await;

    // Nicknames: taken (case does not matter), missing, unsafe.
    assert_eq!(
        refusal(addr, r#"{"nick":"ALICE"}"#).await,
        json!({ "message": "the nickname \"ALICE\" is taken" })
    );
    assert_eq!(
        refusal(addr, "").await,
        json!({ "message": "a nickname is required" })
    );
    assert_eq!(
        refusal(addr, r#"{"nick":"<b>"}"#).await,
        json!({ "message": "a nickname uses only letters, digits, '-' and '_'" })
    );

    // The guard of `message`: no room joined yet.
    alice.send(r#"42/chat,1["message",{"room":"lobby","text":"hi"}]"#);
    assert_eq!(
        ack(&mut alice, 1).await,
        json!([{ "error": "forbidden: join a room first" }])
    );

    alice.send(r#"42/chat,2["join","lobby"]"#);
    assert_eq!(
        ack(&mut alice, 2).await,
        json!([{ "room": "lobby", "members": ["alice"], "history": [] }])
    );

    // Past the guard, the handler still refuses a room the sender is not in.
    alice.send(r#"42/chat,3["message",{"room":"kitchen","text":"hi"}]"#);
    assert_eq!(
        ack(&mut alice, 3).await,
        json!([{ "error": "you are not in room \"kitchen\"" }])
    );

    // Every socket sits in a room named after its id, which is how private messages reach
    // it. Alice joins a chat room spelled like Bob's id: Carol's private message to Bob must
    // still reach Bob alone.
    let mut bob = Client::connect(addr).await;
    let bob_sid = bob.join("/chat", Some(r#"{"nick":"bob"}"#)).await;
    alice.send(&format!(r#"42/chat,4["join","{bob_sid}"]"#));
    assert_eq!(
        ack(&mut alice, 4).await,
        json!([{ "room": bob_sid, "members": ["alice"], "history": [] }])
    );
    let mut carol = Client::connect(addr).await;
    carol.join("/chat", Some(r#"{"nick":"carol"}"#)).await;
    carol.send(r#"42/chat,1["private","Bob","psst"]"#);
    let receipt = ack(&mut carol, 1).await;
    assert!(receipt[0]["id"].is_u64(), "receipt {receipt}");
    let private = event(&mut bob).await;
    assert_eq!(private[0], "private", "{private}");
    assert_eq!(private[1]["from"], "carol", "{private}");
    assert_eq!(private[1]["text"], "psst", "{private}");
    assert_eq!(private[1]["id"], receipt[0]["id"], "{private}");
    // Had the private message leaked to Alice, it would have been queued before this ack.
    alice.send(r#"42/chat,5["dance"]"#);
    assert_eq!(
        ack(&mut alice, 5).await,
        json!([{ "error": "unknown event \"dance\"" }]),
        "the catch-all function answers events nobody handles"
    );

    alice.send(r#"42/chat,6["private","nobody","hi"]"#);
    assert_eq!(
        ack(&mut alice, 6).await,
        json!([{ "error": "nobody called \"nobody\" is online" }])
    );

    // Bob joins; when alice leaves the namespace he hears it, and her name is free again.
    bob.send(r#"42/chat,1["join","lobby"]"#);
    assert_eq!(
        ack(&mut bob, 1).await,
        json!([{ "room": "lobby", "members": ["alice", "bob"], "history": [] }])
    );
    assert_eq!(
        event(&mut alice).await,
        json!(["joined", { "room": "lobby", "nick": "bob" }])
    );
    alice.send("41/chat,");
    assert_eq!(
        event(&mut bob).await,
        json!(["left", { "room": "lobby", "nick": "alice", "reason": "client namespace disconnect" }])
    );
    let mut alice_again = Client::connect(addr).await;
    alice_again.join("/chat", Some(r#"{"nick":"alice"}"#)).await;

    // One socket is in at most ten rooms, so one client cannot make the server keep the
    // history of any number of them.
    for id in 1..=10 {
        alice_again.send(&format!(r#"42/chat,{id}["join","room{id}"]"#));
        let joined = ack(&mut alice_again, id).await;
        assert_eq!(joined[0]["room"], format!("room{id}"), "{joined}");
    }
    alice_again.send(r#"42/chat,11["join","one-too-many"]"#);
    assert_eq!(
        ack(&mut alice_again, 11).await,
        json!([{ "error": "you are in 10 rooms already; leave one first" }])
    );
    alice_again.send(r#"42/chat,12["leave","room1"]"#);
    assert_eq!(ack(&mut alice_again, 12).await, json!([true]));
    alice_again.send(r#"42/chat,13["join","one-too-many"]"#);
    let joined = ack(&mut alice_again, 13).await;
    assert_eq!(joined[0]["members"], json!(["alice"]), "{joined}");
}
