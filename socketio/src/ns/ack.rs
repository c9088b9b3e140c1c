//! Acknowledgements in both directions.

use std::sync::Arc;

use super::payload::Payload;
use super::socket::Socket;
use crate::engineio::SendError;

/// Why an awaited ack did not arrive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// The client did not answer in time.
    #[error("the client did not acknowledge in time")]
    Timeout,
    /// The socket disconnected before answering.
    #[error("the socket disconnected before acknowledging")]
    Disconnected,
    /// The packet could not be queued.
    #[error("could not send: {0}")]
    Send(#[from] SendError),
}

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

    /// Sends the ack with these arguments (binary attachments included).
    pub fn send(self, payload: impl Into<Payload>) -> Result<(), SendError> {
        let packet = payload
            .into()
            .into_ack(self.socket.namespace(), self.ack_id);
        self.socket.send_packet(packet)
    }
}
