//! The README's main command runs the `engine_echo` example: its page, its wrapped app and
//! its echo must work as the README says.

use crate::common;

use common::eio::{assert_ws_echoes, http, open_websocket};
use http::Method;

#[tokio::test]
async fn engine_echo_serves_its_page_app_routes_and_echo() {
    let server = common::spawn_example("engine_echo", &[]);
    let addr = server.addr;

    let page = http(addr, Method::GET, "/", "").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Engine.IO echo"), "{}", page.text());
    assert_eq!(page.header("content-type"), Some("text/html"));

    let app = http(addr, Method::GET, "/hello", "").await;
    assert_eq!(app.text(), "hello from the wrapped app");

    assert_eq!(http(addr, Method::GET, "/missing", "").await.status, 404);

    let (mut ws, _sid, open) = open_websocket(addr).await;
    assert_eq!(open["upgrades"], serde_json::json!([]));
    assert_ws_echoes(&mut ws, "engine_echo over websocket").await;
}
