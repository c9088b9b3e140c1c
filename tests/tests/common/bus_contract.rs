//! What every bus driver must do, whatever the bus: the one suite that the cluster tests'
//! `bus_redis` (Redis), `bus_redis_cluster` (Redis Cluster, sharded pub/sub) and `bus_amqp`
//! (RabbitMQ) run against a real server. Each driver's own file adds what only that bus can
//! show (restarts, slot moves, unix sockets…).

use bytes::Bytes;
use socketio::manager::{BusDriver, BusEvent};
use tokio::sync::mpsc;

use super::eio::within;

/// Runs every check of the contract. `connect` makes a new driver on the same bus (a node);
/// `channel` turns a label into a channel name, unique on buses that other tests share.
pub async fn run<B: BusDriver>(connect: impl Fn() -> B, mut channel: impl FnMut(&str) -> String) {
    only_the_subscribed_channels(&connect(), [channel("a"), channel("b")], channel("c")).await;
    every_subscriber_gets_each_message(&connect(), &connect(), &connect(), channel("all")).await;
    a_batch_arrives_whole_and_in_order(&connect(), [channel("batch-a"), channel("batch-b")]).await;
}

/// Messages, text and binary, reach the subscription on each of its channels and on no
/// other, in the order they were published on a channel.
pub async fn only_the_subscribed_channels(bus: &impl BusDriver, ours: [String; 2], other: String) {
    let mut events = subscribed(bus, &ours).await;
    publish(bus, &ours[0], b"one").await;
    publish(bus, &other, b"not for us").await;
    publish(bus, &ours[1], b"two").await;
    publish(bus, &ours[0], b"\x00binary\xff").await;

    let mut on_first = Vec::new();
    let mut on_second = Vec::new();
    for _ in 0..3 {
        match next(&mut events).await {
            BusEvent::Message { channel, payload } if channel == ours[0] => on_first.push(payload),
            BusEvent::Message { channel, payload } if channel == ours[1] => on_second.push(payload),
            unexpected => panic!("expected a message of {ours:?}, got {unexpected:?}"),
        }
    }
    assert_eq!(on_first, [&b"one"[..], &b"\x00binary\xff"[..]]);
    assert_eq!(on_second, [&b"two"[..]]);
    // A last message on a subscribed channel shows nothing from `other` is queued before it.
    publish(bus, &ours[1], b"last").await;
    assert_eq!(next(&mut events).await, message(&ours[1], b"last"));
}

/// Two nodes subscribed to one channel both get what a third publishes, and what one of them
/// publishes too (its own messages included).
pub async fn every_subscriber_gets_each_message(
    node_a: &impl BusDriver,
    node_b: &impl BusDriver,
    emitter: &impl BusDriver,
    channel: String,
) {
    let channels = [channel.clone()];
    let mut events_a = subscribed(node_a, &channels).await;
    let mut events_b = subscribed(node_b, &channels).await;
    publish(emitter, &channel, b"hello").await;
    publish(node_b, &channel, b"again").await;
    for events in [&mut events_a, &mut events_b] {
        assert_eq!(next(events).await, message(&channel, b"hello"));
        assert_eq!(next(events).await, message(&channel, b"again"));
    }
}

/// A batch of 500 messages over two channels arrives whole, each channel's messages in order;
/// so do a batch of one and an empty batch.
pub async fn a_batch_arrives_whole_and_in_order(bus: &impl BusDriver, channels: [String; 2]) {
    let mut events = subscribed(bus, &channels).await;
    let names = [channels[0].as_str(), channels[1].as_str()];
    let batch = numbered_batch(&names, 500);
    for name in names {
        let on_channel = batch.iter().filter(|(channel, _)| *channel == name).count();
        assert!(
            on_channel > 100,
            "{name} has {on_channel} messages of the batch"
        );
    }
    within("publish_batch", bus.publish_batch(&batch))
        .await
        .expect("publish_batch");
    expect_batch(&mut events, &batch).await;

    // A batch of one and an empty batch are batches too.
    let alone = [(names[1], Bytes::from_static(b"alone"))];
    within("publish_batch", bus.publish_batch(&alone))
        .await
        .expect("a batch of one");
    within("publish_batch", bus.publish_batch(&[]))
        .await
        .expect("an empty batch");
    publish(bus, names[0], b"single").await;
    assert_eq!(next(&mut events).await, message(names[1], b"alone"));
    assert_eq!(next(&mut events).await, message(names[0], b"single"));
}

/// `count` numbered messages spread unevenly over `names`, as `publish_batch` takes them.
pub fn numbered_batch<'a>(names: &[&'a str], count: usize) -> Vec<(&'a str, Bytes)> {
    (0..count)
        .map(|i| {
            // Runs of one, two and three on a channel, so the channels interleave unevenly.
            let channel = names[(i / (1 + i % 3)) % names.len()];
            (channel, Bytes::from(format!("{channel}:{i}")))
        })
        .collect()
}

/// Reads `batch.len()` messages and checks that every channel got its messages of `batch`,
/// all of them and in order.
pub async fn expect_batch(events: &mut mpsc::Receiver<BusEvent>, batch: &[(&str, Bytes)]) {
    let mut received: Vec<(String, Bytes)> = Vec::with_capacity(batch.len());
    for _ in batch {
        match next(events).await {
            BusEvent::Message { channel, payload } => received.push((channel, payload)),
            other => panic!("expected a message, got {other:?}"),
        }
    }
    let mut names: Vec<&str> = batch.iter().map(|(channel, _)| *channel).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let sent: Vec<&Bytes> = batch
            .iter()
            .filter(|(channel, _)| *channel == name)
            .map(|(_, payload)| payload)
            .collect();
        let got: Vec<&Bytes> = received
            .iter()
            .filter(|(channel, _)| channel == name)
            .map(|(_, payload)| payload)
            .collect();
        assert_eq!(got, sent, "the messages of {name}");
    }
    assert_eq!(received.len(), batch.len(), "messages on other channels");
}

/// A message event, as a subscription reports it.
pub fn message(channel: &str, payload: &'static [u8]) -> BusEvent {
    BusEvent::Message {
        channel: channel.to_owned(),
        payload: Bytes::from_static(payload),
    }
}

/// The next event of a subscription; fails the test after a step's time.
pub async fn next(events: &mut mpsc::Receiver<BusEvent>) -> BusEvent {
    within("the next bus event", events.recv())
        .await
        .expect("the subscription ended")
}

/// A subscription to `channels`, once it reports that it listens.
pub async fn subscribed(
    bus: &impl BusDriver,
    channels: &[impl AsRef<str>],
) -> mpsc::Receiver<BusEvent> {
    let channels = channels.iter().map(|c| c.as_ref().to_owned()).collect();
    let mut events = within("subscribe", bus.subscribe(channels))
        .await
        .expect("subscribe");
    assert_eq!(next(&mut events).await, BusEvent::Subscribed);
    events
}

/// Publishes `payload` on `channel`; fails the test when the bus refuses it.
pub async fn publish(bus: &impl BusDriver, channel: &str, payload: &'static [u8]) {
    within("publish", bus.publish(channel, Bytes::from_static(payload)))
        .await
        .expect("publish");
}
