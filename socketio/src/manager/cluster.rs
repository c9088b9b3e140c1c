//! Cluster-wide queries between our nodes, on a channel of their own (`<channel>-cluster`) that
//! python-socketio never listens to: heartbeats (who is alive), and requests for the sockets of
//! a selection or the rooms of a namespace, answered by every node.
//!
//! ```text
//! {"kind":"heartbeat","host_id":H}
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
    /// The socket id (also the name of its own room).
    pub id: String,
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
            ClusterMessage::Heartbeat { host_id }
            | ClusterMessage::Request { host_id, .. }
            | ClusterMessage::Response { host_id, .. } => host_id,
        }
    }
}

/// The other nodes heard from lately.
#[derive(Debug)]
pub(crate) struct Peers {
    last_seen: HashMap<String, Instant>,
    expiry: Duration,
    /// Bounds the table, so forged host ids cannot grow it without limit.
    max_peers: usize,
}

impl Peers {
    pub(crate) fn new(expiry: Duration) -> Self {
        Peers {
            last_seen: HashMap::new(),
            expiry,
            max_peers: 4096,
        }
    }

    /// Records a sign of life; `true` when the peer was not known (or had expired).
    pub(crate) fn seen(&mut self, host_id: &str, now: Instant) -> bool {
        self.forget_expired(now);
        if let Some(last) = self.last_seen.get_mut(host_id) {
            *last = now;
            return false;
        }
        if self.last_seen.len() < self.max_peers {
            self.last_seen.insert(host_id.to_owned(), now);
        }
        true
    }

    /// The peers alive at `now`.
    pub(crate) fn alive(&mut self, now: Instant) -> Vec<String> {
        self.forget_expired(now);
        self.last_seen.keys().cloned().collect()
    }

    fn forget_expired(&mut self, now: Instant) {
        let expiry = self.expiry;
        self.last_seen
            .retain(|_, last| now.saturating_duration_since(*last) < expiry);
    }
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
    fn peers_expire_and_are_bounded() {
        let start = Instant::now();
        let mut peers = Peers::new(Duration::from_secs(5));
        assert!(peers.seen("a", start));
        assert!(!peers.seen("a", start + Duration::from_secs(1)));
        assert_eq!(peers.alive(start + Duration::from_secs(5)), ["a"]);
        assert!(peers.alive(start + Duration::from_secs(7)).is_empty());
        peers.max_peers = 2;
        let now = start + Duration::from_secs(8);
        peers.seen("x", now);
        peers.seen("y", now);
        peers.seen("z", now);
        assert_eq!(peers.alive(now).len(), 2);
    }
}
