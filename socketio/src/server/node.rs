//! The server's side of [`LocalNode`]: what a pub/sub manager applies to this node's sockets,
//! done with the same operators a user calls, on local targets only.

use std::time::Duration;

use futures_util::StreamExt;

use super::registry::Registry;
use crate::args::Payload;
use crate::manager::{BroadcastTarget, LocalAcks, LocalNode, SocketInfo};
use crate::operators::BroadcastOperator;

impl Registry {
    /// The operator for `target` of `namespace`, never published again.
    fn local_operator(
        &self,
        namespace: &str,
        mut target: BroadcastTarget,
    ) -> Option<BroadcastOperator> {
        target.local = true;
        Some(BroadcastOperator::with_target(self.get(namespace)?, target))
    }
}

impl LocalNode for Registry {
    fn emit(
        &self,
        namespace: &str,
        target: BroadcastTarget,
        event: &str,
        payload: Payload,
        volatile: bool,
    ) -> bool {
        let Some(operator) = self.local_operator(namespace, target) else {
            return false;
        };
        // An already encoded payload cannot fail to encode; a full or closed socket is that
        // socket's loss, as for any broadcast.
        let _ = operator.volatile_if(volatile).emit(event, payload);
        true
    }

    fn emit_with_ack(
        &self,
        namespace: &str,
        target: BroadcastTarget,
        event: &str,
        payload: Payload,
        volatile: bool,
        timeout: Duration,
    ) -> Option<LocalAcks> {
        let operator = self
            .local_operator(namespace, target)?
            .volatile_if(volatile);
        let stream = operator
            .timeout(timeout)
            .emit_with_ack::<Payload>(event, payload)
            .ok()?;
        Some(LocalAcks {
            waiting: stream.waiting(),
            replies: Box::pin(stream.map(|(_, reply)| reply)),
        })
    }

    fn join(&self, namespace: &str, target: BroadcastTarget, room: &str) -> bool {
        self.local_operator(namespace, target)
            .map(|operator| operator.join(room))
            .is_some()
    }

    fn leave(&self, namespace: &str, target: BroadcastTarget, room: &str) -> bool {
        self.local_operator(namespace, target)
            .map(|operator| operator.leave(room))
            .is_some()
    }

    fn disconnect(&self, namespace: &str, target: BroadcastTarget) -> bool {
        self.local_operator(namespace, target)
            .map(|operator| operator.disconnect())
            .is_some()
    }

    fn close_room(&self, namespace: &str, room: &str) -> bool {
        self.get(namespace).map(|ns| ns.close_room(room)).is_some()
    }

    fn sockets(&self, namespace: &str, target: BroadcastTarget) -> Vec<SocketInfo> {
        let Some(operator) = self.local_operator(namespace, target) else {
            return Vec::new();
        };
        operator
            .sockets()
            .iter()
            .map(|socket| SocketInfo {
                sid: socket.sid().to_string(),
                namespace: namespace.to_owned(),
                rooms: socket.rooms(),
                node: String::new(),
            })
            .collect()
    }
}
