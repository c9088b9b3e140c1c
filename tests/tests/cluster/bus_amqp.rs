//! `AmqpBus` against the RabbitMQ of this machine (`amqp://guest:guest@127.0.0.1:5672/%2f`,
//! or `SOCKETIO_TEST_AMQP_URL`).
//!
//! Every test uses channel names of its own, so tests run in parallel without seeing each
//! other's messages, and deletes its exchanges at the end. Connection loss is simulated with
//! a TCP proxy in front of the broker: the shared RabbitMQ is never stopped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use socketio::manager::{AmqpBus, BusDriver, BusError, BusEvent, BusOptions};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::common::bus::amqp_url;
use crate::common::bus_contract::{self, next, subscribed};

/// The broker under test, from `SOCKETIO_TEST_AMQP_URL` (a plain `amqp://` URL).
struct Broker {
    url: String,
    /// `host:port`
    addr: String,
    user: String,
    password: String,
    /// As in the URL (percent-encoded).
    vhost_path: String,
    vhost: String,
}

fn broker() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(|| {
        let url = amqp_url();
        let rest = url
            .strip_prefix("amqp://")
            .expect("SOCKETIO_TEST_AMQP_URL: an amqp:// URL");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, host) = authority
            .rsplit_once('@')
            .unwrap_or(("guest:guest", authority));
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let vhost_path = path.split('?').next().unwrap_or_default().to_owned();
        let vhost = match vhost_path.replace("%2f", "/").replace("%2F", "/") {
            vhost if vhost.is_empty() => "/".to_owned(),
            vhost => vhost,
        };
        Broker {
            addr: if host.contains(':') {
                host.to_owned()
            } else {
                format!("{host}:5672")
            },
            user: user.to_owned(),
            password: password.to_owned(),
            vhost_path,
            vhost,
            url,
        }
    })
}

/// A channel name no other test (or test run) uses; its exchange is deleted on drop.
struct TestChannel(String);

impl AsRef<str> for TestChannel {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TestChannel {
    fn new(label: &str) -> TestChannel {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        TestChannel(format!(
            "socketio-rs-test.{label}.{}.{nanos}.{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ))
    }

    fn name(&self) -> String {
        self.0.clone()
    }
}

impl Drop for TestChannel {
    fn drop(&mut self) {
        if let Ok(mut amqp) = raw::Amqp::connect(broker()) {
            amqp.delete_exchange(&self.0);
        }
    }
}

fn options(timeout_ms: u64) -> BusOptions {
    BusOptions {
        operation_timeout: Duration::from_millis(timeout_ms),
        ..BusOptions::default()
    }
}

async fn next_message(events: &mut mpsc::Receiver<BusEvent>) -> (String, Bytes) {
    match next(events).await {
        BusEvent::Message { channel, payload } => (channel, payload),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// The suite every bus driver runs (`common::bus_contract`), on RabbitMQ; its exchanges are
/// deleted at the end like every other test's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_driver_contract_holds() {
    let mut made = Vec::new();
    let channel = |label: &str| {
        let channel = TestChannel::new(label);
        let name = channel.name();
        made.push(channel);
        name
    };
    bus_contract::run(|| AmqpBus::new(&broker().url).unwrap(), channel).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_loses_nothing() {
    // Two slots for the manager: the driver stops taking deliveries from the broker (it
    // acknowledges only what it queued), and the broker keeps the rest.
    let channel = TestChannel::new("slow");
    let bus = AmqpBus::with_options(
        &broker().url,
        BusOptions {
            queue_capacity: 2,
            ..BusOptions::default()
        },
    )
    .unwrap();
    let mut events = subscribed(&bus, &[&channel]).await;
    for i in 0..50u8 {
        bus.publish(&channel.0, Bytes::from(vec![i])).await.unwrap();
    }
    // Not a synchronisation: the reader stays idle a while so the driver meets a full queue
    // (the assertions below hold however long this is).
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..50u8 {
        assert_eq!(next_message(&mut events).await.1, Bytes::from(vec![i]));
    }
}

#[tokio::test]
async fn bad_urls_are_refused_without_connecting() {
    for url in [
        "http://127.0.0.1:5672",
        "127.0.0.1:5672",
        "",
        "amqp://host:port/",
    ] {
        assert!(
            matches!(AmqpBus::new(url), Err(BusError::InvalidUrl(_))),
            "{url}"
        );
    }
    // Valid URLs of brokers that do not exist: construction does not connect.
    AmqpBus::new("amqps://user:pass@rabbit.invalid/prod").unwrap();
    AmqpBus::new("amqp://guest:guest@localhost:5672//").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_to_a_closed_port_fails_clearly() {
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", closed_port().await);
    let bus = AmqpBus::with_options(&url, options(1000)).unwrap();
    let start = Instant::now();
    let err = bus.subscribe(vec!["socketio".into()]).await.unwrap_err();
    assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_to_a_closed_port_fails_in_time() {
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", closed_port().await);
    let bus = AmqpBus::with_options(&url, options(500)).unwrap();
    for _ in 0..3 {
        let start = Instant::now();
        let err = bus
            .publish("socketio", Bytes::from_static(b"x"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, BusError::Unavailable(_) | BusError::Timeout(_)),
            "{err:?}"
        );
        assert!(
            start.elapsed() < Duration::from_millis(1000),
            "{:?}",
            start.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_broker_times_out() {
    // Accepts TCP and never answers: neither publish nor subscribe may hang.
    let proxy = Proxy::start().await;
    proxy.blackhole.store(true, Ordering::SeqCst);
    let bus = AmqpBus::with_options(&proxy.url(), options(500)).unwrap();

    let start = Instant::now();
    let err = bus
        .publish("socketio", Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(err, BusError::Timeout(Duration::from_millis(500)));
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );

    let start = Instant::now();
    let err = bus.subscribe(vec!["socketio".into()]).await.unwrap_err();
    assert_eq!(err, BusError::Timeout(Duration::from_millis(500)));
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_are_dropped() {
    let channel = TestChannel::new("oversize");
    let bus = AmqpBus::with_options(
        &broker().url,
        BusOptions {
            max_message_size: 1024,
            ..BusOptions::default()
        },
    )
    .unwrap();
    let mut events = subscribed(&bus, &[&channel]).await;
    bus.publish(&channel.0, Bytes::from(vec![b'x'; 1025]))
        .await
        .unwrap();
    bus.publish(&channel.0, Bytes::from(vec![b'y'; 1024]))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut events).await,
        (channel.name(), Bytes::from(vec![b'y'; 1024]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchanges_are_declared_as_python_socketio_declares_them() {
    // python-socketio (kombu and aio_pika) declares the channel's exchange as fanout, not
    // durable, not auto-deleted. The broker refuses a declaration whose flags differ from the
    // existing exchange, so the same declaration must succeed and a different one fail.
    let listened = TestChannel::new("interop-sub");
    let published = TestChannel::new("interop-pub");
    let bus = AmqpBus::new(&broker().url).unwrap();
    let _events = subscribed(&bus, &[&listened]).await;
    bus.publish(&published.0, Bytes::from_static(b"x"))
        .await
        .unwrap();

    let mut amqp = raw::Amqp::connect(broker()).unwrap();
    for channel in [&listened, &published] {
        let name = &channel.0;
        assert_eq!(amqp.declare_exchange(name, "fanout", false, false), Ok(()));
        // 406 PRECONDITION_FAILED: inequivalent arguments.
        assert_eq!(amqp.declare_exchange(name, "fanout", true, false), Err(406));
        assert_eq!(amqp.declare_exchange(name, "fanout", false, true), Err(406));
        assert_eq!(
            amqp.declare_exchange(name, "direct", false, false),
            Err(406)
        );
    }

    // And the other way round: an exchange python-socketio created is used as it is.
    let python = TestChannel::new("interop-py");
    assert_eq!(
        amqp.declare_exchange(&python.0, "fanout", false, false),
        Ok(())
    );
    let mut events = subscribed(&bus, &[&python]).await;
    bus.publish(&python.0, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut events).await,
        (python.name(), Bytes::from_static(b"{}"))
    );

    // A conflicting exchange (say, durable) is reported, not silently ignored.
    let conflicting = TestChannel::new("interop-conflict");
    assert_eq!(
        amqp.declare_exchange(&conflicting.0, "fanout", true, false),
        Ok(())
    );
    let err = bus.subscribe(vec![conflicting.name()]).await.unwrap_err();
    assert!(matches!(err, BusError::Protocol(_)), "{err:?}");
    let err = bus
        .publish(&conflicting.0, Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Protocol(_)), "{err:?}");
    // The refused declaration does not poison the publisher.
    bus.publish(&published.0, Bytes::from_static(b"x"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscription_comes_back_after_a_connection_loss() {
    let channel = TestChannel::new("reconnect");
    let proxy = Proxy::start().await;
    let node = AmqpBus::with_options(&proxy.url(), options(1000)).unwrap();
    let emitter = AmqpBus::new(&broker().url).unwrap();
    let mut events = subscribed(&node, &[&channel]).await;
    emitter
        .publish(&channel.0, Bytes::from_static(b"before"))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut events).await.1,
        Bytes::from_static(b"before")
    );

    proxy.cut();
    let start = Instant::now();
    assert!(matches!(next(&mut events).await, BusEvent::Disconnected(_)));
    assert_eq!(next(&mut events).await, BusEvent::Subscribed);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );

    emitter
        .publish(&channel.0, Bytes::from_static(b"after"))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut events).await.1,
        Bytes::from_static(b"after")
    );

    // While the broker stays away the subscription keeps trying, without more events.
    proxy.refuse.store(true, Ordering::SeqCst);
    proxy.cut();
    assert!(matches!(next(&mut events).await, BusEvent::Disconnected(_)));
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), events.recv())
            .await
            .is_err()
    );
    proxy.refuse.store(false, Ordering::SeqCst);
    assert_eq!(next(&mut events).await, BusEvent::Subscribed);
    emitter
        .publish(&channel.0, Bytes::from_static(b"again"))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut events).await.1,
        Bytes::from_static(b"again")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publisher_reconnects_on_a_later_call() {
    let channel = TestChannel::new("republish");
    let proxy = Proxy::start().await;
    let emitter = AmqpBus::with_options(&proxy.url(), options(1000)).unwrap();
    let node = AmqpBus::new(&broker().url).unwrap();
    let mut events = subscribed(&node, &[&channel]).await;
    emitter
        .publish(&channel.0, Bytes::from_static(b"1"))
        .await
        .unwrap();
    assert_eq!(proxy.active(), 1);

    // Broker away: publishes fail fast.
    proxy.refuse.store(true, Ordering::SeqCst);
    proxy.cut();
    // The cut reaches the driver's socket asynchronously; publishes right after it may still
    // be written into the dying connection, which is a different path than this test's.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        let start = Instant::now();
        assert!(
            emitter
                .publish(&channel.0, Bytes::from_static(b"lost"))
                .await
                .is_err()
        );
        assert!(start.elapsed() < Duration::from_millis(1500));
    }

    // Broker back: a later call connects again (failed attempts hold off for 100 ms).
    proxy.refuse.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    emitter
        .publish(&channel.0, Bytes::from_static(b"2"))
        .await
        .unwrap();
    assert_eq!(next_message(&mut events).await.1, Bytes::from_static(b"1"));
    assert_eq!(next_message(&mut events).await.1, Bytes::from_static(b"2"));
}

/// `count` messages `{label}-{i}` spread over `channels` in turn: `(channel, i)` per message.
fn labelled_batch<'a>(
    channels: &[&'a TestChannel],
    label: &str,
    count: usize,
) -> Vec<(&'a str, Bytes)> {
    (0..count)
        .map(|i| {
            let channel = channels[i % channels.len()].0.as_str();
            (channel, Bytes::from(format!("{label}-{i}")))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_to_a_closed_port_fails_in_time() {
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", closed_port().await);
    let bus = AmqpBus::with_options(&url, options(500)).unwrap();
    let payload = Bytes::from_static(b"x");
    let batch = vec![("socketio", payload.clone()), ("other", payload)];
    for _ in 0..3 {
        let start = Instant::now();
        let err = bus.publish_batch(&batch).await.unwrap_err();
        assert!(
            matches!(err, BusError::Unavailable(_) | BusError::Timeout(_)),
            "{err:?}"
        );
        assert!(
            start.elapsed() < Duration::from_millis(1000),
            "{:?}",
            start.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_to_a_silent_broker_times_out() {
    let proxy = Proxy::start().await;
    proxy.blackhole.store(true, Ordering::SeqCst);
    let bus = AmqpBus::with_options(&proxy.url(), options(500)).unwrap();
    let start = Instant::now();
    let err = bus
        .publish_batch(&[("socketio", Bytes::from_static(b"x"))])
        .await
        .unwrap_err();
    assert_eq!(err, BusError::Timeout(Duration::from_millis(500)));
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_batch_fails_and_the_next_one_reconnects() {
    let channel = TestChannel::new("batch-cut");
    let proxy = Proxy::start().await;
    let emitter = AmqpBus::with_options(&proxy.url(), options(2000)).unwrap();
    let node = AmqpBus::new(&broker().url).unwrap();
    let mut events = subscribed(&node, &[&channel]).await;
    emitter
        .publish_batch(&labelled_batch(&[&channel], "before", 10))
        .await
        .unwrap();
    for i in 0..10 {
        assert_eq!(
            next_message(&mut events).await.1,
            Bytes::from(format!("before-{i}"))
        );
    }
    assert_eq!(proxy.active(), 1);

    // The connection is cut while a large batch is on its way.
    let cut = labelled_batch(&[&channel], "cut", 50_000);
    let start = Instant::now();
    let publishing = emitter.publish_batch(&cut);
    let cutting = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        proxy.cut();
    };
    let (result, ()) = tokio::join!(publishing, cutting);
    let err = result.unwrap_err();
    assert!(
        matches!(err, BusError::Unavailable(_) | BusError::Timeout(_)),
        "{err:?}"
    );
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );

    // The next batch opens a new connection and arrives whole.
    let after = labelled_batch(&[&channel], "after", 100);
    emitter.publish_batch(&after).await.unwrap();
    assert_eq!(proxy.active(), 1);
    // What the broker took of the cut batch, if anything, is a prefix of it, in order.
    let mut prefix = 0;
    let mut got = Vec::new();
    while got.len() < after.len() {
        let payload = next_message(&mut events).await.1;
        if got.is_empty() && payload.starts_with(b"cut-") {
            assert_eq!(payload, Bytes::from(format!("cut-{prefix}")));
            prefix += 1;
        } else {
            got.push(payload);
        }
    }
    assert!(prefix < cut.len(), "the whole cut batch went through");
    let after: Vec<Bytes> = after.into_iter().map(|(_, payload)| payload).collect();
    assert_eq!(got, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nack_fails_the_batch() {
    // A queue that takes two messages and has the broker refuse (nack) the rest.
    let full = TestChannel::new("batch-nack");
    let fine = TestChannel::new("batch-fine");
    let mut amqp = raw::Amqp::connect(broker()).unwrap();
    assert_eq!(
        amqp.declare_exchange(&full.0, "fanout", false, false),
        Ok(())
    );
    let queue = format!("{}.queue", full.0);
    amqp.declare_bounded_queue(&queue, 2);
    amqp.bind_queue(&queue, &full.0);

    let proxy = Proxy::start().await;
    let bus = AmqpBus::new(&proxy.url()).unwrap();
    let node = AmqpBus::new(&broker().url).unwrap();
    let mut events = subscribed(&node, &[&fine]).await;

    let mut batch = labelled_batch(&[&full], "full", 5);
    batch.insert(0, (fine.0.as_str(), Bytes::from_static(b"first")));
    let err = bus.publish_batch(&batch).await.unwrap_err();
    assert!(matches!(err, BusError::Protocol(_)), "{err:?}");
    assert_eq!(
        next_message(&mut events).await.1,
        Bytes::from_static(b"first")
    );

    // The failed batch dropped its connection; the next call opens another.
    let start = Instant::now();
    while proxy.active() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the connection stayed open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bus.publish_batch(&[(fine.0.as_str(), Bytes::from_static(b"next"))])
        .await
        .unwrap();
    assert_eq!(proxy.active(), 1);
    assert_eq!(
        next_message(&mut events).await.1,
        Bytes::from_static(b"next")
    );
    amqp.delete_queue(&queue);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_receiver_closes_the_connection() {
    let channel = TestChannel::new("drop");
    let proxy = Proxy::start().await;
    let bus = AmqpBus::new(&proxy.url()).unwrap();
    let events = subscribed(&bus, &[&channel]).await;
    assert_eq!(proxy.active(), 1);
    drop(events);
    let start = Instant::now();
    while proxy.active() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the connection stayed open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A TCP proxy to the broker that can cut its connections, refuse new ones, or accept and
/// never answer.
struct Proxy {
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    active: Arc<AtomicUsize>,
    refuse: Arc<AtomicBool>,
    blackhole: Arc<AtomicBool>,
    accept: AbortHandle,
}

struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(Mutex::new(Vec::new()));
        let active = Arc::new(AtomicUsize::new(0));
        let refuse = Arc::new(AtomicBool::new(false));
        let blackhole = Arc::new(AtomicBool::new(false));
        let accept = tokio::spawn({
            let (connections, active) = (connections.clone(), active.clone());
            let (refuse, blackhole) = (refuse.clone(), blackhole.clone());
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        return;
                    };
                    if refuse.load(Ordering::SeqCst) {
                        continue; // dropped: the client sees its connection closed
                    }
                    active.fetch_add(1, Ordering::SeqCst);
                    let guard = Active(active.clone());
                    let silent = blackhole.load(Ordering::SeqCst);
                    let task = tokio::spawn(async move {
                        let _guard = guard;
                        if silent {
                            let _ = tokio::io::copy(&mut client, &mut tokio::io::sink()).await;
                            return;
                        }
                        if let Ok(mut broker) = TcpStream::connect(&broker().addr).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
                        }
                    });
                    connections.lock().unwrap().push(task.abort_handle());
                }
            }
        })
        .abort_handle();
        Proxy {
            addr,
            connections,
            active,
            refuse,
            blackhole,
            accept,
        }
    }

    fn url(&self) -> String {
        let broker = broker();
        format!(
            "amqp://{}:{}@{}/{}",
            broker.user, broker.password, self.addr, broker.vhost_path
        )
    }

    /// Closes every proxied connection, as a broker restart or a network failure would.
    fn cut(&self) {
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Just enough AMQP 0-9-1 to declare and delete exchanges the way another client (kombu,
/// aio_pika) would, independently of the driver under test.
mod raw {
    use std::io::{self, Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    const FRAME_METHOD: u8 = 1;
    const FRAME_END: u8 = 0xCE;

    pub(crate) struct Amqp {
        stream: TcpStream,
        channel: u16,
    }

    fn short_string(buf: &mut Vec<u8>, s: &str) {
        buf.push(u8::try_from(s.len()).expect("short string"));
        buf.extend_from_slice(s.as_bytes());
    }

    fn long_string(buf: &mut Vec<u8>, s: &[u8]) {
        buf.extend_from_slice(&u32::try_from(s.len()).unwrap().to_be_bytes());
        buf.extend_from_slice(s);
    }

    fn invalid(msg: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, msg)
    }

    impl Amqp {
        pub(crate) fn connect(broker: &super::Broker) -> io::Result<Amqp> {
            let stream = TcpStream::connect(&broker.addr)?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut amqp = Amqp { stream, channel: 0 };
            amqp.stream.write_all(b"AMQP\x00\x00\x09\x01")?;
            amqp.expect(0, (10, 10))?; // connection.start
            let mut args = vec![0, 0, 0, 0]; // client properties: empty table
            short_string(&mut args, "PLAIN");
            let credentials = format!("\0{}\0{}", broker.user, broker.password);
            long_string(&mut args, credentials.as_bytes());
            short_string(&mut args, "en_US");
            amqp.send(0, (10, 11), &args)?; // connection.start-ok
            let tune = amqp.expect(0, (10, 30))?;
            let mut args = tune[..6].to_vec(); // channel-max, frame-max as offered
            args.extend_from_slice(&[0, 0]); // no heartbeats
            amqp.send(0, (10, 31), &args)?; // connection.tune-ok
            let mut args = Vec::new();
            short_string(&mut args, &broker.vhost);
            short_string(&mut args, "");
            args.push(0);
            amqp.send(0, (10, 40), &args)?; // connection.open
            amqp.expect(0, (10, 41))?;
            Ok(amqp)
        }

        /// Declares on a fresh channel; `Err(reply code)` when the broker refuses.
        pub(crate) fn declare_exchange(
            &mut self,
            name: &str,
            kind: &str,
            durable: bool,
            auto_delete: bool,
        ) -> Result<(), u16> {
            let channel = self.open_channel().expect("channel.open");
            let mut args = vec![0, 0];
            short_string(&mut args, name);
            short_string(&mut args, kind);
            args.push(u8::from(durable) << 1 | u8::from(auto_delete) << 2);
            args.extend_from_slice(&[0, 0, 0, 0]);
            self.send(channel, (40, 10), &args).expect("send");
            let (method, args) = self.read_method(channel).expect("reply");
            match method {
                (40, 11) => Ok(()),
                (20, 40) => {
                    self.send(channel, (20, 41), &[]).expect("send");
                    Err(u16::from_be_bytes([args[0], args[1]]))
                }
                other => panic!("unexpected {other:?} after exchange.declare"),
            }
        }

        pub(crate) fn delete_exchange(&mut self, name: &str) {
            let Ok(channel) = self.open_channel() else {
                return;
            };
            let mut args = vec![0, 0];
            short_string(&mut args, name);
            args.push(0);
            if self.send(channel, (40, 20), &args).is_ok() {
                let _ = self.read_method(channel);
            }
        }

        /// Declares a queue that holds at most `max_length` messages and has the broker nack
        /// publishes beyond that (`x-overflow: reject-publish`).
        pub(crate) fn declare_bounded_queue(&mut self, name: &str, max_length: i32) {
            let channel = self.open_channel().expect("channel.open");
            let mut args = vec![0, 0];
            short_string(&mut args, name);
            args.push(0); // not passive, durable, exclusive, auto-deleted; wait
            let mut table = Vec::new();
            short_string(&mut table, "x-max-length");
            table.push(b'I');
            table.extend_from_slice(&max_length.to_be_bytes());
            short_string(&mut table, "x-overflow");
            table.push(b'S');
            long_string(&mut table, b"reject-publish");
            long_string(&mut args, &table);
            self.send(channel, (50, 10), &args).expect("send");
            self.expect(channel, (50, 11)).expect("queue.declare-ok");
        }

        pub(crate) fn bind_queue(&mut self, queue: &str, exchange: &str) {
            let channel = self.open_channel().expect("channel.open");
            let mut args = vec![0, 0];
            short_string(&mut args, queue);
            short_string(&mut args, exchange);
            short_string(&mut args, "");
            args.push(0);
            args.extend_from_slice(&[0, 0, 0, 0]);
            self.send(channel, (50, 20), &args).expect("send");
            self.expect(channel, (50, 21)).expect("queue.bind-ok");
        }

        pub(crate) fn delete_queue(&mut self, name: &str) {
            let Ok(channel) = self.open_channel() else {
                return;
            };
            let mut args = vec![0, 0];
            short_string(&mut args, name);
            args.push(0);
            if self.send(channel, (50, 40), &args).is_ok() {
                let _ = self.read_method(channel);
            }
        }

        fn open_channel(&mut self) -> io::Result<u16> {
            self.channel += 1;
            let channel = self.channel;
            self.send(channel, (20, 10), &[0])?;
            self.expect(channel, (20, 11))?;
            Ok(channel)
        }

        fn send(
            &mut self,
            channel: u16,
            (class, method): (u16, u16),
            args: &[u8],
        ) -> io::Result<()> {
            let mut payload = Vec::with_capacity(4 + args.len());
            payload.extend_from_slice(&class.to_be_bytes());
            payload.extend_from_slice(&method.to_be_bytes());
            payload.extend_from_slice(args);
            let mut frame = vec![FRAME_METHOD];
            frame.extend_from_slice(&channel.to_be_bytes());
            frame.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
            frame.extend_from_slice(&payload);
            frame.push(FRAME_END);
            self.stream.write_all(&frame)
        }

        fn read_method(&mut self, channel: u16) -> io::Result<((u16, u16), Vec<u8>)> {
            let mut header = [0u8; 7];
            self.stream.read_exact(&mut header)?;
            let size = u32::from_be_bytes([header[3], header[4], header[5], header[6]]);
            let mut payload = vec![0u8; size as usize + 1];
            self.stream.read_exact(&mut payload)?;
            let on = u16::from_be_bytes([header[1], header[2]]);
            if header[0] != FRAME_METHOD || payload.pop() != Some(FRAME_END) || payload.len() < 4 {
                return Err(invalid(format!("unexpected frame {header:?}")));
            }
            let method = (
                u16::from_be_bytes([payload[0], payload[1]]),
                u16::from_be_bytes([payload[2], payload[3]]),
            );
            if on != channel {
                return Err(invalid(format!(
                    "{method:?} on channel {on}, not {channel}"
                )));
            }
            Ok((method, payload.split_off(4)))
        }

        fn expect(&mut self, channel: u16, want: (u16, u16)) -> io::Result<Vec<u8>> {
            let (method, args) = self.read_method(channel)?;
            if method != want {
                return Err(invalid(format!(
                    "got {method:?}, expected {want:?}: {args:?}"
                )));
            }
            Ok(args)
        }
    }

    impl Drop for Amqp {
        fn drop(&mut self) {
            let mut args = vec![0, 200];
            short_string(&mut args, "bye");
            args.extend_from_slice(&[0, 0, 0, 0]);
            if self.send(0, (10, 50), &args).is_ok() {
                let _ = self.read_method(0);
            }
        }
    }
}
