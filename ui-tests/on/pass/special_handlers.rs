//! Connect and disconnect handlers, and guards.

use std::sync::Arc;

use serde::Deserialize;
use socketio::{ConnectError, DisconnectReason, Socket};

#[derive(Deserialize)]
struct Token {
    token: String,
}

#[socketio::on("connect")]
async fn plain_connect(_socket: Arc<Socket>) {}

#[socketio::on("connect", namespace = "/bool")]
async fn bool_connect(auth: Option<Token>) -> bool {
    auth.is_some_and(|auth| auth.token == "secret")
}

#[socketio::on("connect", namespace = "/result")]
async fn result_connect(auth: Token) -> Result<(), ConnectError> {
    if auth.token.is_empty() {
        return Err(ConnectError::new("empty token").with_data(serde_json::json!({"retry": true})));
    }
    Ok(())
}

#[socketio::on("connect", namespace = "/string")]
async fn string_connect(_auth: Token) -> Result<(), String> {
    Err("never".to_owned())
}

#[socketio::on("disconnect")]
async fn disconnect(_socket: Arc<Socket>, _reason: DisconnectReason) {}

fn is_admin(socket: &Arc<Socket>) -> bool {
    socket.auth().get("admin").is_some()
}

fn is_member(socket: &Arc<Socket>) -> Result<(), String> {
    if socket.rooms().len() > 1 { Ok(()) } else { Err("join a room first".into()) }
}

#[socketio::on("kick", guard = is_admin)]
async fn kick(_user: String) {}

#[socketio::on("post", guard = is_member, namespace = "/rooms")]
async fn post(_text: String) -> &'static str {
    "posted"
}

fn main() {}
