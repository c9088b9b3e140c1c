// One set per direction, used on a server socket, a broadcast, a handler parameter, the
// client and a write-only emitter; plain string events still work on the untyped handle.
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use socketio::client::{ClientSocket, Client};
use socketio::{Socket, Typed};

#[derive(Serialize, Deserialize, socketio::Event)]
#[event("line")]
struct Line {
    text: String,
}

#[derive(Serialize, Deserialize, socketio::Event)]
#[event("typing")]
struct Typing(String, bool);

#[socketio::event_set]
enum ToClient {
    Line(Line),
    Typing(Typing),
}

#[socketio::event_set]
enum ToServer {
    Line(Line),
}

#[socketio::on("typing")]
async fn on_typing(socket: Typed<Arc<Socket>, ToClient>, user: String, on: bool) {
    let _ = socket.broadcast().emit(&Typing(user, on));
    let _ = socket.untyped().emit("free-form", 1);
}

async fn server(socket: Arc<Socket>) -> Result<(), Box<dyn std::error::Error>> {
    let typed = socket.typed::<ToClient>();
    typed.emit(&Line { text: "hi".into() })?;
    typed.to("room").except("muted").emit(&Typing("ann".into(), true))?;
    let _seen: bool = typed.emit_with_ack(&Line { text: "seen?".into() }).await?;
    let _seen: bool = typed
        .timeout(Duration::from_secs(1))
        .emit_with_ack(&Line { text: "seen?".into() })
        .await?;
    let _acks = typed
        .to("room")
        .emit_with_ack::<_, bool>(&Line { text: "all?".into() })?;
    Ok(())
}

#[socketio::on("line", client)]
async fn on_line(socket: Typed<ClientSocket, ToServer>, line: Line) {
    let _ = socket.emit(&line);
}

async fn client(client: Client) -> Result<(), Box<dyn std::error::Error>> {
    let typed = client.typed::<ToServer>();
    typed.emit(&Line { text: "hi".into() })?;
    let _kept: bool = typed
        .timeout(Duration::from_secs(1))
        .emit_with_ack(&Line { text: "kept?".into() })
        .await?;
    Ok(())
}

#[allow(dead_code)]
async fn emitter<B: socketio::manager::BusDriver>(
    emitter: socketio::manager::Emitter<B>,
) -> Result<(), socketio::EmitError> {
    let typed = emitter.typed::<ToClient>();
    typed.of("/chat").to("room").emit(&Typing("bus".into(), false)).await
}

fn main() {
    let _ = (server, client);
}
