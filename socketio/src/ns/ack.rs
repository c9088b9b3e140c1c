//! Acknowledgements in both directions.

use std::sync::Arc;

use super::socket::Socket;
use crate::args::{EmitError, IntoPayload};

/// Answers a client's event that asked for an acknowledgement. Send at most once; dropping it
/// sends nothing.
#[derive(Debug)]
pub struct AckSender {
    socket: Arc<Socket>,
    ack_id: u64,
}

impl AckSender {
    pub(crate) fn new(socket: Arc<Socket>, ack_id: u64) -> Self {
        AckSender { socket, ack_id }
    }

    /// Sends the ack with `args`, typed like an emit's (a tuple for several arguments;
    /// binary attachments included).
    pub fn send(self, args: impl IntoPayload) -> Result<(), EmitError> {
        let frames = args
            .into_payload()?
            .into_ack_frames(self.socket.namespace(), self.ack_id);
        Ok(self.socket.send_frames(&frames)?)
    }
}
