//! The cluster channel: heartbeats, and the queries our nodes ask each other.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{BusStats, Outgoing, REPLIES_PER_QUERY, Shared};
use crate::manager::cluster::{Answer, ClusterMessage, Query, SocketInfo, WireSocket};
use crate::manager::{BroadcastTarget, LocalNode, Manager, ServerNode};

impl Shared {
    fn send_cluster(&self, message: ClusterMessage) {
        if self
            .outbox
            .try_send(Outgoing::Cluster(message.encode()))
            .is_err()
        {
            BusStats::add(&self.stats.publish_failures);
            tracing::warn!("bus publish queue full: cluster message dropped");
        }
    }

    pub(super) fn send_heartbeat(&self) {
        self.send_cluster(ClusterMessage::Heartbeat {
            host_id: self.host_id.clone(),
            interval_ms: Some(
                self.heartbeat_interval
                    .as_millis()
                    .try_into()
                    .unwrap_or(u64::MAX),
            ),
        });
    }

    /// Applies one message of the cluster channel: heartbeats, queries, answers.
    pub(super) fn apply_cluster(&self, server: &ServerNode, bytes: &[u8]) {
        let message = match ClusterMessage::decode(bytes, self.max_message_size) {
            Ok(message) => message,
            Err(err) => {
                BusStats::add(&self.stats.ignored);
                tracing::warn!(%err, "ignoring a cluster message");
                return;
            }
        };
        if message.host_id() == self.host_id {
            return;
        }
        let announced = match &message {
            ClusterMessage::Heartbeat { interval_ms, .. } => interval_ms.map(Duration::from_millis),
            _ => None,
        };
        let newcomer = self.peers.lock().unwrap_or_else(|e| e.into_inner()).seen(
            message.host_id(),
            Instant::now(),
            announced,
        );
        if newcomer {
            // Answer at once, so a node that just started knows its peers without waiting
            // for their next heartbeat.
            self.send_heartbeat();
        }
        match message {
            ClusterMessage::Heartbeat { .. } => {}
            ClusterMessage::Request {
                host_id,
                request_id,
                query,
            } => {
                let Some(node) = server.local() else {
                    return;
                };
                let answer = self.answer(node.as_ref(), query);
                self.send_cluster(ClusterMessage::Response {
                    host_id: self.host_id.clone(),
                    to: host_id,
                    request_id,
                    answer,
                });
            }
            ClusterMessage::Response {
                host_id,
                to,
                request_id,
                answer,
            } => {
                if to != self.host_id {
                    return;
                }
                let waiting = self
                    .queries
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&request_id)
                    .cloned();
                if let Some(replies) = waiting {
                    let _ = replies.try_send((host_id, answer));
                }
            }
        }
    }

    /// This node's part of a cluster-wide query.
    fn answer(&self, node: &dyn LocalNode, query: Query) -> Answer {
        match query {
            Query::Sockets {
                namespace,
                rooms,
                except_rooms,
            } => {
                let target = BroadcastTarget {
                    rooms,
                    except: except_rooms,
                    ..BroadcastTarget::default()
                };
                Answer::Sockets(
                    self.local_sockets(node, &namespace, &target)
                        .into_iter()
                        .map(|info| WireSocket {
                            id: info.sid,
                            rooms: info.rooms,
                        })
                        .collect(),
                )
            }
            Query::Rooms { namespace } => Answer::Rooms(self.local.rooms(&namespace)),
        }
    }

    pub(super) fn local_sockets(
        &self,
        node: &dyn LocalNode,
        namespace: &str,
        target: &BroadcastTarget,
    ) -> Vec<SocketInfo> {
        let mut sockets = node.sockets(namespace, target.clone());
        for socket in &mut sockets {
            socket.node = self.host_id.clone();
        }
        sockets
    }

    /// Asks every live peer and gathers their answers until all answered or the request
    /// timeout.
    pub(super) async fn ask_peers(&self, query: Query) -> Vec<(String, Answer)> {
        let mut expected: HashSet<String> = self
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .alive(Instant::now())
            .into_iter()
            .collect();
        if expected.is_empty() {
            return Vec::new();
        }
        let request_id = self.next_query.fetch_add(1, Ordering::Relaxed);
        let (replies, mut answers) = mpsc::channel(REPLIES_PER_QUERY);
        self.queries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(request_id, replies);
        self.send_cluster(ClusterMessage::Request {
            host_id: self.host_id.clone(),
            request_id,
            query,
        });
        let mut gathered = Vec::new();
        let deadline = tokio::time::sleep(self.request_timeout);
        tokio::pin!(deadline);
        while !expected.is_empty() {
            tokio::select! {
                _ = &mut deadline => break,
                answer = answers.recv() => match answer {
                    Some((host_id, answer)) => {
                        if expected.remove(&host_id) {
                            gathered.push((host_id, answer));
                        }
                    }
                    None => break,
                },
            }
        }
        self.queries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&request_id);
        gathered
    }
}
