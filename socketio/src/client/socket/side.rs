//! The client as a side of the handler model: what a client handler call carries.

use super::{ClientAck, ClientSocket};
use crate::args::Payload;
use crate::client::error::DisconnectReason;
use crate::handler::Side;

/// The client side of handlers: they get a [`ClientSocket`] and answer with a [`ClientAck`].
#[derive(Debug)]
pub enum ClientSide {}

impl Side for ClientSide {
    type Socket = ClientSocket;
    type Ack = ClientAck;
    type Reason = DisconnectReason;
    type Context = ();

    fn send_ack(ack: ClientAck, payload: Payload) {
        let _ = ack.send(payload);
    }

    fn describe(socket: &ClientSocket) -> (String, String) {
        (
            socket.sid().unwrap_or_default(),
            socket.namespace().to_owned(),
        )
    }
}
