//! The Redis bus driver against real `redis-server` processes, one per test on a free loopback
//! port: publish/subscribe, several subscribers, batches (order, Redis down, silent or
//! restarted), bad URLs, Redis down or silent, Redis killed and restarted under a live
//! subscription, oversized messages, back-pressure, the end of a subscription when its receiver
//! is dropped, and a unix socket.

use std::time::{Duration, Instant};

use bytes::Bytes;
use socketio::manager::{BusDriver, BusError, BusEvent, BusOptions, RedisBus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::bus::{RedisServer, TempDir, free_port};
use crate::common::bus_contract::{
    self, expect_batch, message, next, numbered_batch, publish, subscribed,
};
use crate::common::eio::{TIMEOUT, within};

fn channels(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn options() -> BusOptions {
    BusOptions {
        operation_timeout: Duration::from_millis(500),
        ..BusOptions::default()
    }
}

/// A loopback port that accepts connections and never answers, like a host behind a dead link.
async fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// `PUBSUB NUMSUB channel` on a plain connection, in inline protocol.
async fn subscribers(port: u16, channel: &str) -> i64 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream
        .write_all(format!("PUBSUB NUMSUB {channel}\r\n").as_bytes())
        .await
        .unwrap();
    // The reply is `*2 $len channel :count`; the count is the one integer line.
    let mut reply = Vec::new();
    loop {
        let mut chunk = [0u8; 256];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "redis closed the connection");
        reply.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&reply);
        let count = text
            .split("\r\n")
            .find_map(|line| line.strip_prefix(':'))
            .filter(|_| text.ends_with("\r\n"));
        if let Some(count) = count {
            return count.parse().unwrap();
        }
    }
}

/// The suite every bus driver runs (`common::bus_contract`), on a plain Redis.
#[tokio::test]
async fn the_bus_driver_contract_holds() {
    let redis = RedisServer::start();
    let url = redis.url();
    let connect = || RedisBus::with_options(&url, options()).unwrap();
    bus_contract::run(connect, |label| format!("redis-{label}")).await;
}

#[tokio::test]
async fn bad_urls_are_refused_and_good_ones_need_no_server() {
    for url in [
        "http://127.0.0.1:6379",
        "not a url",
        "redis://",
        "redis://127.0.0.1:6379/not-a-db",
        "",
    ] {
        let err = RedisBus::new(url).expect_err(url);
        assert!(matches!(err, BusError::InvalidUrl(_)), "{url}: {err:?}");
    }
    let port = free_port();
    for url in [
        format!("redis://127.0.0.1:{port}"),
        format!("redis://user:secret@127.0.0.1:{port}/2"),
        format!("rediss://127.0.0.1:{port}"),
        "unix:///tmp/nowhere/redis.sock".to_owned(),
    ] {
        let bus = RedisBus::new(&url).expect(&url);
        assert!(
            !format!("{bus:?}").contains("secret"),
            "Debug shows the password"
        );
    }
}

#[tokio::test]
async fn subscribe_fails_when_nothing_listens() {
    let bus =
        RedisBus::with_options(&format!("redis://127.0.0.1:{}", free_port()), options()).unwrap();
    let err = within("subscribe", bus.subscribe(channels(&["room"])))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");

    let err = within("subscribe", bus.subscribe(Vec::new()))
        .await
        .expect_err("no channel");
    assert!(matches!(err, BusError::Protocol(_)), "{err:?}");
}

#[tokio::test]
async fn publish_fails_fast_when_redis_is_down() {
    let bus =
        RedisBus::with_options(&format!("redis://127.0.0.1:{}", free_port()), options()).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        let err = within("publish", bus.publish("room", Bytes::from_static(b"x")))
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");
        assert!(started.elapsed() < options().operation_timeout);
    }
}

#[tokio::test]
async fn a_silent_server_times_out_publish_and_subscribe() {
    let port = silent_server().await;
    let timeout = options().operation_timeout;
    let bus = RedisBus::with_options(&format!("redis://127.0.0.1:{port}"), options()).unwrap();

    for _ in 0..2 {
        let started = Instant::now();
        let err = within("publish", bus.publish("room", Bytes::from_static(b"x")))
            .await
            .expect_err("silent server");
        assert_eq!(err, BusError::Timeout(timeout));
        assert!(started.elapsed() < timeout + Duration::from_millis(500));
    }

    let started = Instant::now();
    let err = within("subscribe", bus.subscribe(channels(&["room"])))
        .await
        .expect_err("silent server");
    assert_eq!(err, BusError::Timeout(timeout));
    assert!(started.elapsed() < timeout + Duration::from_millis(500));
}

#[tokio::test]
async fn the_subscription_comes_back_after_redis_restarts() {
    let mut redis = RedisServer::start();
    let bus = RedisBus::with_options(&redis.url(), options()).unwrap();
    let mut events = subscribed(&bus, &["room"]).await;
    publish(&bus, "room", b"before").await;
    assert_eq!(next(&mut events).await, message("room", b"before"));

    redis.kill();
    assert!(
        matches!(next(&mut events).await, BusEvent::Disconnected(_)),
        "a killed server is reported"
    );
    // While Redis is down publishing fails, within the timeout.
    let err = within("publish", bus.publish("room", Bytes::from_static(b"lost")))
        .await
        .expect_err("redis is down");
    assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");

    let restarted = Instant::now();
    redis.restart();
    assert_eq!(next(&mut events).await, BusEvent::Subscribed);
    assert!(
        restarted.elapsed() < Duration::from_secs(2),
        "resubscribed {:?} after the restart",
        restarted.elapsed()
    );

    publish(&bus, "room", b"after").await;
    assert_eq!(next(&mut events).await, message("room", b"after"));
}

#[tokio::test]
async fn the_first_publish_after_a_restart_goes_through() {
    let mut redis = RedisServer::start();
    let bus = RedisBus::with_options(&redis.url(), options()).unwrap();
    publish(&bus, "room", b"opens the connection").await;

    redis.kill();
    redis.restart();
    let listener = RedisBus::with_options(&redis.url(), options()).unwrap();
    let mut events = subscribed(&listener, &["room"]).await;

    // The kept connection died with the old server; the publish replaces it.
    publish(&bus, "room", b"after").await;
    assert_eq!(next(&mut events).await, message("room", b"after"));
}

async fn publish_batch(bus: &RedisBus, batch: &[(&str, Bytes)]) {
    within("publish_batch", bus.publish_batch(batch))
        .await
        .expect("publish_batch");
}

#[tokio::test]
async fn a_batch_fails_within_the_timeout_while_redis_is_down_and_goes_through_after() {
    let mut redis = RedisServer::start();
    let bus = RedisBus::with_options(&redis.url(), options()).unwrap();
    let timeout = options().operation_timeout;
    let batch = numbered_batch(&["room-a", "room-b"], 300);
    publish_batch(&bus, &batch).await;

    redis.kill();
    for _ in 0..2 {
        let started = Instant::now();
        let err = within("publish_batch", bus.publish_batch(&batch))
            .await
            .expect_err("redis is down");
        assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");
        assert!(started.elapsed() < timeout);
    }

    redis.restart();
    let listener = RedisBus::with_options(&redis.url(), options()).unwrap();
    let mut events = subscribed(&listener, &["room-a", "room-b"]).await;
    publish_batch(&bus, &batch).await;
    expect_batch(&mut events, &batch).await;

    // Killed and back before the next batch: the kept connection died with the old server,
    // and the batch goes through on a new one.
    redis.kill();
    redis.restart();
    let mut events = subscribed(&listener, &["room-a", "room-b"]).await;
    publish_batch(&bus, &batch).await;
    expect_batch(&mut events, &batch).await;
}

#[tokio::test]
async fn a_batch_to_a_silent_server_times_out() {
    let port = silent_server().await;
    let timeout = options().operation_timeout;
    let bus = RedisBus::with_options(&format!("redis://127.0.0.1:{port}"), options()).unwrap();
    let batch = numbered_batch(&["room-a", "room-b"], 50);

    for _ in 0..2 {
        let started = Instant::now();
        let err = within("publish_batch", bus.publish_batch(&batch))
            .await
            .expect_err("silent server");
        assert_eq!(err, BusError::Timeout(timeout));
        assert!(started.elapsed() < timeout + Duration::from_millis(500));
    }
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_dropped() {
    let redis = RedisServer::start();
    let options = BusOptions {
        max_message_size: 8,
        ..options()
    };
    let bus = RedisBus::with_options(&redis.url(), options).unwrap();
    let mut events = subscribed(&bus, &["room"]).await;

    publish(&bus, "room", b"123456789").await;
    publish(&bus, "room", b"12345678").await;

    assert_eq!(next(&mut events).await, message("room", b"12345678"));
}

#[tokio::test]
async fn a_full_queue_holds_messages_back_without_losing_them() {
    let redis = RedisServer::start();
    let options = BusOptions {
        queue_capacity: 2,
        ..options()
    };
    let bus = RedisBus::with_options(&redis.url(), options).unwrap();
    let mut events = subscribed(&bus, &["room"]).await;

    const PAYLOADS: [&[u8]; 6] = [b"0", b"1", b"2", b"3", b"4", b"5"];
    for payload in PAYLOADS {
        publish(&bus, "room", payload).await;
    }
    for payload in PAYLOADS {
        assert_eq!(next(&mut events).await, message("room", payload));
    }
}

#[tokio::test]
async fn dropping_the_receiver_ends_the_subscription() {
    let redis = RedisServer::start();
    let bus = RedisBus::with_options(&redis.url(), options()).unwrap();
    let events = subscribed(&bus, &["room"]).await;
    assert_eq!(subscribers(redis.port(), "room").await, 1);

    drop(events);

    let deadline = Instant::now() + TIMEOUT;
    while subscribers(redis.port(), "room").await != 0 {
        assert!(
            Instant::now() < deadline,
            "the subscription outlived its receiver"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_unix_socket_works_like_tcp() {
    let dir = TempDir::new("redis-unix");
    let redis = RedisServer::unix(dir.path().join("redis.sock"));
    let bus = RedisBus::with_options(&redis.url(), options()).unwrap();
    let mut events = subscribed(&bus, &["room"]).await;

    publish(&bus, "room", b"over a unix socket").await;

    assert_eq!(
        next(&mut events).await,
        message("room", b"over a unix socket")
    );
}

#[tokio::test]
async fn rediss_speaks_tls_and_refuses_an_unknown_certificate() {
    // A self-signed certificate is not among the webpki roots the driver trusts: the TLS
    // handshake takes place and fails cleanly, without a panic or a hang.
    let dir = TempDir::new("redis-tls");
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, pem("CERTIFICATE", certified.cert.der())).unwrap();
    std::fs::write(
        &key,
        pem("PRIVATE KEY", &certified.key_pair.serialize_der()),
    )
    .unwrap();
    let redis = RedisServer::tls(cert, key);
    let bus = RedisBus::with_options(&redis.url(), options()).unwrap();

    let err = within("subscribe", bus.subscribe(channels(&["room"])))
        .await
        .expect_err("untrusted certificate");
    assert!(
        matches!(&err, BusError::Unavailable(reason) if reason.contains("certificate")),
        "{err:?}"
    );
    let err = within("publish", bus.publish("room", Bytes::from_static(b"x")))
        .await
        .expect_err("untrusted certificate");
    assert!(
        matches!(&err, BusError::Unavailable(reason) if reason.contains("certificate")),
        "{err:?}"
    );
}

/// PEM armour for `der` (rcgen is built without its `pem` feature here).
fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut base64 = String::new();
    for chunk in der.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let bits = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                base64.push(ALPHABET[(bits >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                base64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
