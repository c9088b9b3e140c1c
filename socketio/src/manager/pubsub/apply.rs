//! Applying what other nodes publish on the main channel to this node's sockets, and sending
//! the replies of this node's clients back to the node that asked.

use super::{BusStats, Outgoing, Shared};
use crate::args::Payload;
use crate::manager::message::{BusMessage, CallbackRef, Selection};
use crate::manager::{BroadcastTarget, LocalNode, ServerNode};

impl Shared {
    /// Applies one message from the bus to this node's sockets.
    pub(super) fn apply(&self, server: &ServerNode, bytes: &[u8]) {
        let message = match BusMessage::decode(bytes, self.max_message_size) {
            Ok(message) => message,
            Err(err) => {
                BusStats::add(&self.stats.ignored);
                tracing::warn!(%err, "ignoring a bus message");
                return;
            }
        };
        let from_self = message.host_id() == Some(self.host_id.as_str());
        let for_us = match &message {
            // A callback names the node it is for; everything else names its sender.
            BusMessage::Callback { .. } => from_self,
            _ => !from_self,
        };
        if !for_us {
            BusStats::add(&self.stats.ignored);
            return;
        }
        let Some(node) = server.local() else {
            return;
        };
        if self.apply_message(node.as_ref(), message) {
            BusStats::add(&self.stats.received);
        } else {
            BusStats::add(&self.stats.ignored);
        }
    }

    /// Applies a parsed message; `false` when it concerned nothing here (an unknown
    /// namespace, an ack nobody waits for).
    fn apply_message(&self, node: &dyn LocalNode, message: BusMessage) -> bool {
        match message {
            BusMessage::Emit {
                host_id,
                namespace,
                event,
                payload,
                rooms,
                mut except,
                skip_sids,
                callback,
                volatile,
            } => {
                // Every socket is in the room of its own id, so skipped sids are rooms too.
                except.extend(skip_sids);
                let target = BroadcastTarget {
                    rooms,
                    except,
                    skip: None,
                    local: true,
                };
                match (callback, host_id) {
                    (Some(callback), Some(asker)) => {
                        let remote = RemoteAck { callback, asker };
                        self.deliver_with_remote_ack(
                            node, &namespace, target, &event, payload, volatile, remote,
                        )
                    }
                    _ => node.emit(&namespace, target, &event, payload, volatile),
                }
            }
            BusMessage::Callback {
                sid, id, payload, ..
            } => {
                let waiting = self.lock_acks().get(&(sid.clone(), id)).cloned();
                match waiting {
                    Some(replies) => {
                        if replies.try_send((sid, payload)).is_err() {
                            tracing::debug!(id, "ack reply after its emit stopped waiting");
                        }
                        true
                    }
                    None => {
                        tracing::debug!(%sid, id, "ack reply for an unknown emit; ignored");
                        false
                    }
                }
            }
            BusMessage::Disconnect {
                namespace,
                selection,
                ..
            } => node.disconnect(&namespace, local_target(&selection)),
            BusMessage::EnterRoom {
                namespace,
                selection,
                room,
                ..
            } => node.join(&namespace, local_target(&selection), &room),
            BusMessage::LeaveRoom {
                namespace,
                selection,
                room,
                ..
            } => node.leave(&namespace, local_target(&selection), &room),
            BusMessage::CloseRoom {
                namespace, room, ..
            } => node.close_room(&namespace, &room),
        }
    }

    /// Emits with an ack to this node's chosen sockets; each reply travels back to the
    /// asking node as a `callback` message. `false` when the namespace is not here.
    #[allow(clippy::too_many_arguments)]
    fn deliver_with_remote_ack(
        &self,
        node: &dyn LocalNode,
        namespace: &str,
        target: BroadcastTarget,
        event: &str,
        payload: Payload,
        volatile: bool,
        remote: RemoteAck,
    ) -> bool {
        let timeout = self.remote_ack_timeout;
        let Some(mut acks) =
            node.emit_with_ack(namespace, target, event, payload, volatile, timeout)
        else {
            return false;
        };
        if acks.waiting == 0 {
            return true;
        }
        let outbox = self.outbox.clone();
        let stats = self.stats.clone();
        tokio::spawn(async move {
            use futures_util::StreamExt;
            let RemoteAck { callback, asker } = remote;
            while let Some(reply) = acks.replies.next().await {
                let Ok(payload) = reply else { continue };
                let message = BusMessage::Callback {
                    host_id: asker.clone(),
                    sid: callback.sid.clone(),
                    namespace: callback.namespace.clone(),
                    id: callback.id,
                    payload,
                };
                if outbox.try_send(Outgoing::Main(message.encode())).is_err() {
                    BusStats::add(&stats.publish_failures);
                    tracing::warn!("bus publish queue full: ack reply dropped");
                }
            }
        });
        true
    }
}

/// Where the replies to a published emit with ack go: the asking node and its ack.
struct RemoteAck {
    callback: CallbackRef,
    asker: String,
}

/// The target `selection` names, on this node only: an operation from the bus is never
/// published again.
fn local_target(selection: &Selection) -> BroadcastTarget {
    let mut target = selection.to_target();
    target.local = true;
    target
}
