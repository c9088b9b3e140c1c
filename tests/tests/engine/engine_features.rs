//! The standalone engine's HTTP features over real TCP: routing order (engine path, static
//! files, wrapped app, 404), sticky cookie, compression, JSONP, connect rejection, server
//! disconnect, sessions and the connect timeout.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socketio::engineio::{
    Compression, ConnectRejection, CookieConfig, DisconnectReason, EngineConfig, EngineIo,
    StaticFiles,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

/// A response read off the wire.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = timeout(LIMIT, TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    timeout(LIMIT, stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
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

fn sid_of(open: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(open.strip_prefix('0').expect("open packet")).unwrap();
    json["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn routing_order_is_engine_then_static_then_app_then_404() {
    let dir = std::env::temp_dir().join(format!("socketio-static-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>home</h1>").unwrap();
    std::fs::write(dir.join("assets").join("app.js"), "console.log(1)").unwrap();
    std::fs::write(dir.join("hello"), "from static").unwrap();

    let eio = EngineIo::builder()
        .config(
            EngineConfig::default().static_files(
                StaticFiles::new()
                    .route("/", format!("{}/index.html", dir.display()))
                    .route("/assets", format!("{}/assets", dir.display()))
                    .route("/hello", format!("{}/hello", dir.display())),
            ),
        )
        .build();
    let app = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "from app" }))
        .route("/app-only", axum::routing::get(|| async { "app route" }))
        .layer(eio.layer());
    let addr = serve(app).await;

    let engine = request(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"").await;
    assert_eq!(engine.status, 200);
    assert!(engine.text().starts_with("0{"), "{}", engine.text());

    let home = request(addr, "GET", "/", &[], b"").await;
    assert_eq!((home.status, home.text().as_str()), (200, "<h1>home</h1>"));
    assert_eq!(home.header("content-type"), Some("text/html"));

    let script = request(addr, "GET", "/assets/app.js", &[], b"").await;
    assert_eq!(
        (script.status, script.text().as_str()),
        (200, "console.log(1)")
    );
    assert!(
        script
            .header("content-type")
            .unwrap()
            .contains("javascript")
    );

    let shadowed = request(addr, "GET", "/hello", &[], b"").await;
    assert_eq!(
        shadowed.text(),
        "from static",
        "static files come before the wrapped app"
    );

    let app_only = request(addr, "GET", "/app-only", &[], b"").await;
    assert_eq!(
        (app_only.status, app_only.text().as_str()),
        (200, "app route")
    );

    let missing = request(addr, "GET", "/assets/missing.js", &[], b"").await;
    assert_eq!(missing.status, 404);
    let traversal = request(addr, "GET", "/assets/../index.html", &[], b"").await;
    assert_ne!(traversal.status, 200);

    let bare = serve(EngineIo::builder().build().router()).await;
    assert_eq!(request(bare, "GET", "/nothing", &[], b"").await.status, 404);
}

#[tokio::test]
async fn handshake_sets_the_sticky_cookie() {
    let eio = EngineIo::builder()
        .config(EngineConfig::default().cookie(CookieConfig::named("io")))
        .build();
    let addr = serve(eio.router()).await;
    let reply = request(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"").await;
    let sid = sid_of(&reply.text());
    let cookie = reply.header("set-cookie").expect("Set-Cookie");
    assert!(cookie.starts_with(&format!("io={sid}")), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");

    let plain = serve(EngineIo::builder().build().router()).await;
    let reply = request(
        plain,
        "GET",
        "/engine.io/?EIO=4&transport=polling",
        &[],
        b"",
    )
    .await;
    assert_eq!(
        reply.header("set-cookie"),
        None,
        "no cookie unless configured"
    );
}

#[tokio::test]
async fn large_polling_responses_are_compressed_when_asked() {
    let eio = EngineIo::builder()
        .config(EngineConfig::default().compression(Compression::default()))
        .on_message(|socket, message| async move {
            let _ = socket.send(message);
        })
        .build();
    let addr = serve(eio.router()).await;
    let open = request(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"").await;
    let sid = sid_of(&open.text());
    let url = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let big = format!("4{}", "x".repeat(4000));

    for encoding in ["gzip", "deflate"] {
        assert_eq!(
            request(addr, "POST", &url, &[], big.as_bytes())
                .await
                .text(),
            "ok"
        );
        let reply = request(addr, "GET", &url, &[("Accept-Encoding", encoding)], b"").await;
        assert_eq!(reply.header("content-encoding"), Some(encoding));
        let mut decoded = String::new();
        match encoding {
            "gzip" => flate2::read::GzDecoder::new(&reply.body[..]).read_to_string(&mut decoded),
            _ => flate2::read::ZlibDecoder::new(&reply.body[..]).read_to_string(&mut decoded),
        }
        .unwrap();
        assert_eq!(decoded, big);
    }

    assert_eq!(
        request(addr, "POST", &url, &[], big.as_bytes())
            .await
            .text(),
        "ok"
    );
    let reply = request(addr, "GET", &url, &[], b"").await;
    assert_eq!(reply.header("content-encoding"), None);
    assert_eq!(reply.text(), big);

    assert_eq!(
        request(addr, "POST", &url, &[], b"4small").await.text(),
        "ok"
    );
    let reply = request(addr, "GET", &url, &[("Accept-Encoding", "gzip")], b"").await;
    assert_eq!(
        reply.header("content-encoding"),
        None,
        "below the threshold"
    );
    assert_eq!(reply.text(), "4small");
}

#[tokio::test]
async fn jsonp_wraps_the_payload() {
    let addr = serve(EngineIo::builder().build().router()).await;
    let reply = request(
        addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling&j=3",
        &[],
        b"",
    )
    .await;
    assert_eq!(reply.status, 200);
    let text = reply.text();
    let inner = text
        .strip_prefix("___eio[3](")
        .and_then(|t| t.strip_suffix(");"))
        .unwrap_or_else(|| panic!("not JSONP: {text}"));
    let payload: String = serde_json::from_str(inner).unwrap();
    assert!(payload.starts_with("0{"), "{payload}");
}

#[tokio::test]
async fn connect_handler_can_refuse_with_401() {
    let eio = EngineIo::builder()
        .on_connect(|socket| async move {
            match socket.handshake().query("token").as_deref() {
                Some("secret") => Ok(()),
                _ => Err(ConnectRejection::new("bad token")
                    .with_data(serde_json::json!({"hint": "use secret"}))),
            }
        })
        .build();
    let addr = serve(eio.router()).await;
    let refused = request(
        addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling&token=x",
        &[],
        b"",
    )
    .await;
    assert_eq!(refused.status, 401);
    let body: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"message": "bad token", "data": {"hint": "use secret"}})
    );
    assert!(eio.sockets().is_empty(), "a refused session is not kept");

    let accepted = request(
        addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling&token=secret",
        &[],
        b"",
    )
    .await;
    assert_eq!(accepted.status, 200);
    assert_eq!(eio.sockets().len(), 1);
}

#[tokio::test]
async fn server_disconnect_reaches_a_pending_poll_and_the_handler() {
    let (reasons_tx, mut reasons) = mpsc::unbounded_channel();
    let eio = EngineIo::builder()
        .on_disconnect(move |socket, reason| {
            let reasons_tx = reasons_tx.clone();
            async move {
                let _ = reasons_tx.send((socket.sid().to_string(), reason));
            }
        })
        .build();
    let addr = serve(eio.router()).await;
    let sid = sid_of(
        &request(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"")
            .await
            .text(),
    );

    let socket = eio.socket(&sid).expect("open session");
    socket.save_session(String::from("kept"));
    assert_eq!(socket.get_session::<String>().as_deref(), Some("kept"));
    assert!(eio.save_session(&sid, 7_u8));
    assert_eq!(eio.with_session(&sid, |n: &mut u8| *n + 1), Some(8));
    assert_eq!(eio.get_session::<u8>(&sid), Some(7));
    assert_eq!(eio.get_session::<u8>("no-such-sid"), None);
    assert_eq!(
        socket.with_session(|n: &mut u32| {
            *n += 2;
            *n
        }),
        2
    );

    let url = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let poll = tokio::spawn(async move { request(addr, "GET", &url, &[], b"").await });
    // Whether the poll is already waiting or arrives later, it gets the queued message.
    assert!(eio.send(&sid, "before close").is_ok());
    let first = timeout(LIMIT, poll).await.unwrap().unwrap();
    assert_eq!(first.text(), "4before close");

    let url = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let poll = tokio::spawn(async move { request(addr, "GET", &url, &[], b"").await });
    // Whether the poll is already waiting or arrives just after, it gets the close packet.
    assert!(eio.disconnect(&sid));
    let last = timeout(LIMIT, poll).await.unwrap().unwrap();
    assert_eq!(last.text(), "1", "the pending poll gets the close packet");
    let (closed_sid, reason) = timeout(LIMIT, reasons.recv()).await.unwrap().unwrap();
    assert_eq!(
        (closed_sid, reason),
        (sid.clone(), DisconnectReason::ServerClose)
    );
    let url = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(request(addr, "GET", &url, &[], b"").await.status, 400);
}

#[tokio::test]
async fn sessions_not_marked_ready_hit_the_connect_timeout() {
    let (reasons_tx, mut reasons) = mpsc::unbounded_channel();
    let ready_flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mark = ready_flag.clone();
    let eio = EngineIo::builder()
        .config(EngineConfig::default().connect_timeout(Duration::from_millis(200)))
        .on_connect(move |socket| {
            let mark = mark.load(std::sync::atomic::Ordering::SeqCst);
            async move {
                if mark {
                    socket.mark_ready();
                }
                Ok(())
            }
        })
        .on_disconnect(move |_, reason| {
            let reasons_tx = reasons_tx.clone();
            async move {
                let _ = reasons_tx.send(reason);
            }
        })
        .build();
    let addr = serve(eio.router()).await;

    request(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"").await;
    let reason = timeout(LIMIT, reasons.recv()).await.unwrap().unwrap();
    assert_eq!(reason, DisconnectReason::ConnectTimeout);

    ready_flag.store(true, std::sync::atomic::Ordering::SeqCst);
    let sid = sid_of(
        &request(addr, "GET", "/engine.io/?EIO=4&transport=polling", &[], b"")
            .await
            .text(),
    );
    tokio::time::sleep(Duration::from_millis(400)).await; // well past the connect timeout
    assert!(
        eio.socket(&sid).is_some(),
        "a ready session outlives the connect timeout"
    );
}
