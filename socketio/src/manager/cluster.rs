//! Cluster-wide queries between our nodes, on a channel of their own (`<channel>-cluster`) that
//! python-socketio never listens to: heartbeats (who is alive), and requests for the sockets of
//! a selection or the rooms of a namespace, answered by every node.
//!
//! ```text
//! {"kind":"heartbeat","host_id":H,"interval_ms":N}
//! {"kind":"request","host_id":H,"request_id":N,"query":"sockets","namespace":NS,"rooms":[…],"except_rooms":[…]}
//! {"kind":"request","host_id":H,"request_id":N,"query":"rooms","namespace":NS}
//! {"kind":"response","host_id":R,"to":H,"request_id":N,"sockets":[{"id":…,"rooms":[…]}]}
//! {"kind":"response","host_id":R,"to":H,"request_id":N,"rooms":[…]}
//! ```

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// One socket somewhere in the cluster, as a cluster-wide query reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketInfo {
    /// The socket's id, its `sid` (also the name of its own room).
    pub sid: String,
    /// Its namespace.
    pub namespace: String,
    /// The rooms it is in, its own included, sorted.
    pub rooms: Vec<String>,
    /// The node it is connected to: a pub/sub manager's host id, or `local` without one.
    pub node: String,
}

/// The wire form of a socket in a response (the namespace and node are implied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WireSocket {
    pub(crate) id: String,
    pub(crate) rooms: Vec<String>,
}

/// What a request asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "snake_case")]
pub(crate) enum Query {
    Sockets {
        namespace: String,
        #[serde(default)]
        rooms: Vec<String>,
        #[serde(default)]
        except_rooms: Vec<String>,
    },
    Rooms {
        namespace: String,
    },
}

/// What a response carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Answer {
    Sockets(Vec<WireSocket>),
    Rooms(Vec<String>),
}

/// One message of the cluster channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum ClusterMessage {
    Heartbeat {
        host_id: String,
        /// The sender's heartbeat interval: it is counted as alive for three of its own
        /// intervals, whatever the receiver's interval is. Absent: the receiver's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interval_ms: Option<u64>,
    },
    Request {
        host_id: String,
        request_id: u64,
        #[serde(flatten)]
        query: Query,
    },
    Response {
        host_id: String,
        to: String,
        request_id: u64,
        #[serde(flatten)]
        answer: Answer,
    },
}

impl ClusterMessage {
    pub(crate) fn encode(&self) -> Bytes {
        // Serializing these plain structs cannot fail.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    pub(crate) fn decode(bytes: &[u8], limit: usize) -> Result<Self, String> {
        if bytes.len() > limit {
            return Err(format!(
                "{} bytes is over the {limit} byte limit",
                bytes.len()
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    pub(crate) fn host_id(&self) -> &str {
        match self {
            ClusterMessage::Heartbeat { host_id, .. }
            | ClusterMessage::Request { host_id, .. }
            | ClusterMessage::Response { host_id, .. } => host_id,
        }
    }
}

/// Heartbeats missed before a peer no longer counts.
const MISSED_HEARTBEATS: u32 = 3;

/// The longest a peer counts without a sign of life, whatever interval it announces, so a
/// forged heartbeat cannot keep a phantom node in every query for long.
const MAX_EXPIRY: Duration = Duration::from_secs(300);

/// The other nodes heard from lately.
#[derive(Debug)]
pub(crate) struct Peers {
    /// When each peer was last heard from, and how long it counts after that.
    last_seen: HashMap<String, (Instant, Duration)>,
    /// For peers that announce no interval: three of this node's own.
    default_expiry: Duration,
    /// Bounds the table, so forged host ids cannot grow it without limit.
    max_peers: usize,
}

impl Peers {
    /// `interval` is this node's heartbeat interval.
    pub(crate) fn new(interval: Duration) -> Self {
        Peers {
            last_seen: HashMap::new(),
            default_expiry: expiry_for(interval),
            max_peers: 4096,
        }
    }

    /// Records a sign of life; `true` when the peer was not known (or had expired).
    /// `announced` is the heartbeat interval the peer announced, when the message is a
    /// heartbeat that carries one; other messages keep what the peer announced before.
    pub(crate) fn seen(
        &mut self,
        host_id: &str,
        now: Instant,
        announced: Option<Duration>,
    ) -> bool {
        self.forget_expired(now);
        if let Some((last, expiry)) = self.last_seen.get_mut(host_id) {
            *last = now;
            if let Some(interval) = announced {
                *expiry = expiry_for(interval);
            }
            return false;
        }
        if self.last_seen.len() < self.max_peers {
            let expiry = announced.map_or(self.default_expiry, expiry_for);
            self.last_seen.insert(host_id.to_owned(), (now, expiry));
        }
        true
    }

    /// The peers alive at `now`.
    pub(crate) fn alive(&mut self, now: Instant) -> Vec<String> {
        self.forget_expired(now);
        self.last_seen.keys().cloned().collect()
    }

    fn forget_expired(&mut self, now: Instant) {
        self.last_seen
            .retain(|_, (last, expiry)| now.saturating_duration_since(*last) < *expiry);
    }
}

fn expiry_for(interval: Duration) -> Duration {
    interval.saturating_mul(MISSED_HEARTBEATS).min(MAX_EXPIRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_their_documented_keys() {
        let request = ClusterMessage::Request {
            host_id: "a".into(),
            request_id: 7,
            query: Query::Sockets {
                namespace: "/chat".into(),
                rooms: vec!["r".into()],
                except_rooms: vec![],
            },
        };
        let value: serde_json::Value = serde_json::from_slice(&request.encode()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"kind": "request", "host_id": "a", "request_id": 7,
                "query": "sockets", "namespace": "/chat", "rooms": ["r"], "except_rooms": []})
        );
        let response = ClusterMessage::Response {
            host_id: "b".into(),
            to: "a".into(),
            request_id: 7,
            answer: Answer::Rooms(vec!["r".into()]),
        };
        for message in [
            request,
            response,
            ClusterMessage::Heartbeat {
                host_id: "c".into(),
                interval_ms: Some(2000),
            },
            ClusterMessage::Heartbeat {
                host_id: "d".into(),
                interval_ms: None,
            },
        ] {
            assert_eq!(
                ClusterMessage::decode(&message.encode(), 1 << 20).unwrap(),
                message
            );
        }
    }

    #[test]
    fn bad_messages_are_errors() {
        for bad in [
            &b"nope"[..],
            br#"{"kind":"heartbeat"}"#,
            br#"{"kind":"request","host_id":"a","request_id":-1,"query":"rooms","namespace":"/"}"#,
            br#"{"kind":"request","host_id":"a","request_id":1,"query":"drop tables"}"#,
            br#"{"kind":"response","host_id":"a","to":"b","request_id":1,"sockets":"x"}"#,
        ] {
            assert!(ClusterMessage::decode(bad, 1 << 20).is_err(), "{bad:?}");
        }
        assert!(ClusterMessage::decode(&[b' '; 100], 10).is_err());
    }

    #[test]
    fn peers_expire_after_three_of_their_intervals_and_are_bounded() {
        let start = Instant::now();
        let secs = Duration::from_secs;
        // This node beats every 2 s: a peer that announces nothing counts for 6 s.
        let mut peers = Peers::new(secs(2));
        assert!(peers.seen("a", start, None));
        assert!(!peers.seen("a", start + secs(1), None));
        assert_eq!(peers.alive(start + secs(6)), ["a"]);
        assert!(peers.alive(start + secs(7)).is_empty());
        // A peer that beats every 10 s counts for 30 s here, a faster one for three of its
        // own intervals; a later message without an interval keeps the announced one.
        assert!(peers.seen("slow", start, Some(secs(10))));
        assert!(peers.seen("fast", start, Some(Duration::from_millis(100))));
        assert_eq!(peers.alive(start + Duration::from_millis(299)).len(), 2);
        assert_eq!(peers.alive(start + Duration::from_millis(300)), ["slow"]);
        assert!(!peers.seen("slow", start + secs(1), None));
        assert_eq!(peers.alive(start + secs(30)), ["slow"]);
        assert!(peers.alive(start + secs(31)).is_empty());
        // A forged huge interval counts for at most MAX_EXPIRY.
        assert!(peers.seen("forged", start, Some(Duration::MAX)));
        assert!(peers.alive(start + MAX_EXPIRY).is_empty());
        peers.max_peers = 2;
        let now = start + MAX_EXPIRY;
        peers.seen("x", now, None);
        peers.seen("y", now, None);
        peers.seen("z", now, None);
        assert_eq!(peers.alive(now).len(), 2);
    }
}
