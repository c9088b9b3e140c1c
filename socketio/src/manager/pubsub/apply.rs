//! Applying what other nodes publish on the main channel to this node's sockets, and sending
//! the replies of this node's clients back to the node that asked.

use std::sync::Arc;

use super::{BusStats, Outgoing, Shared};
use crate::manager::message::{BusMessage, CallbackRef, Selection};
use crate::manager::{BroadcastTarget, ServerNode};
use crate::ns::namespace::Namespace;
use crate::ns::payload::Payload;
use crate::operators::BroadcastOperator;
use crate::server::glue::Namespaces;

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
        let Some(namespaces) = server.namespaces() else {
            return;
        };
        if self.apply_message(&namespaces, message) {
            BusStats::add(&self.stats.received);
        } else {
            BusStats::add(&self.stats.ignored);
        }
    }

    /// Applies a parsed message; `false` when it concerned nothing here (an unknown
    /// namespace, an ack nobody waits for).
    fn apply_message(&self, namespaces: &Namespaces, message: BusMessage) -> bool {
        let namespace_of = |name: &str| namespaces.get(name);
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
                let Some(ns) = namespace_of(&namespace) else {
                    return false;
                };
                // Every socket is in the room of its own id, so skipped sids are rooms too.
                except.extend(skip_sids);
                let target = BroadcastTarget {
                    rooms,
                    except,
                    skip: None,
                    local: true,
                };
                let operator = BroadcastOperator::with_target(ns, target).volatile_if(volatile);
                match (callback, host_id) {
                    (Some(callback), Some(asker)) => {
                        self.deliver_with_remote_ack(&operator, &event, payload, callback, asker)
                    }
                    _ => {
                        // An already encoded payload cannot fail to encode.
                        let _ = operator.emit(&event, payload);
                    }
                }
                true
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
            } => namespace_of(&namespace)
                .map(|ns| local_operator(ns, &selection).disconnect())
                .is_some(),
            BusMessage::EnterRoom {
                namespace,
                selection,
                room,
                ..
            } => namespace_of(&namespace)
                .map(|ns| local_operator(ns, &selection).join(&room))
                .is_some(),
            BusMessage::LeaveRoom {
                namespace,
                selection,
                room,
                ..
            } => namespace_of(&namespace)
                .map(|ns| local_operator(ns, &selection).leave(&room))
                .is_some(),
            BusMessage::CloseRoom {
                namespace, room, ..
            } => namespace_of(&namespace)
                .map(|ns| ns.close_room(&room))
                .is_some(),
        }
    }

    /// Emits with an ack to this node's chosen sockets; each reply travels back to `asker`
    /// as a `callback` message.
    fn deliver_with_remote_ack(
        &self,
        operator: &BroadcastOperator,
        event: &str,
        payload: Payload,
        callback: CallbackRef,
        asker: String,
    ) {
        // A payload is always encodable: it is already encoded.
        let Ok(mut replies) = operator
            .clone()
            .timeout(self.remote_ack_timeout)
            .emit_with_ack::<Payload>(event, payload)
        else {
            return;
        };
        if replies.waiting() == 0 {
            return;
        }
        let outbox = self.outbox.clone();
        let stats = self.stats.clone();
        tokio::spawn(async move {
            use futures_util::StreamExt;
            while let Some((_, reply)) = replies.next().await {
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
    }
}

/// This node's sockets chosen by `selection`, for operations that must not be published
/// again.
fn local_operator(ns: Arc<Namespace>, selection: &Selection) -> BroadcastOperator {
    let mut target = selection.to_target();
    target.local = true;
    BroadcastOperator::with_target(ns, target)
}
