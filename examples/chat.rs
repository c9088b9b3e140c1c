//! A chat server: nicknames, rooms with recent history, typing notices and private messages,
//! with a web page that uses the official JavaScript client. Every handler is written with
//! the attribute macros: the `/chat` namespace is one stateful `impl Chat` block, plus a free
//! catch-all function for events the page does not know about.
//!
//! Run: `cargo run -p socketio-examples --example chat`, then open <http://127.0.0.1:3000/>
//! in two browser windows (`PORT` picks another port).
//!
//! What a client sends on `/chat` (connect with `auth: { nick }`):
//!
//! | event | arguments | ack |
//! |---|---|---|
//! | `join` | room | `{room, members, history}` |
//! | `leave` | room | whether the socket was in it |
//! | `message` | `{room, text}` | `{id, ts}` |
//! | `typing` | room, bool | none |
//! | `private` | nickname, text | `{id, ts}` |
//!
//! and what it receives: `message`, `joined`, `left`, `typing`, `private`. A refused call
//! acks `{"error": "…"}`; a refused connection gets CONNECT_ERROR with a readable message.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use socketio::engineio::StaticFiles;
use socketio::handler::{Auth, EventName, Session};
use socketio::{BroadcastOperator, ConnectError, DisconnectReason, Socket, SocketIo, Typed};

/// Messages each room keeps for people who join later.
const HISTORY_LEN: usize = 50;
const MAX_NICK: usize = 24;
const MAX_ROOM: usize = 32;
const MAX_TEXT: usize = 500;
/// Rooms one socket may be in at once: with the history cap, this bounds the memory one
/// client can make the server hold.
const MAX_ROOMS: usize = 10;

/// The `/chat` namespace: one instance serves every socket, so its state sits behind a lock
/// that is never held across an `.await`.
struct Chat {
    history_len: usize,
    directory: Mutex<Directory>,
}

#[derive(Default)]
struct Directory {
    /// Lower-cased nickname → socket id, so "Alice" and "alice" cannot both be online.
    nicks: HashMap<String, String>,
    /// Room → its most recent messages. Dropped when the room empties, so a client that
    /// invents room names cannot grow the server's memory without bound.
    history: HashMap<String, VecDeque<Line>>,
    next_id: u64,
}

/// Who a socket is; saved in its session by the connect handler.
#[derive(Clone, Default)]
struct Member {
    nick: String,
}

/// The connect auth the page sends: `io("/chat", { auth: { nick } })`.
#[derive(Deserialize)]
struct Login {
    #[serde(default)]
    nick: String,
}

#[derive(Deserialize)]
struct Post {
    room: String,
    text: String,
}

/// One chat message, as rooms receive it (event `message`) and as history keeps it.
#[derive(Clone, Serialize, socketio::Event)]
#[event("message")]
struct Line {
    id: u64,
    ts: u64,
    room: String,
    nick: String,
    text: String,
}

/// The ack of `message` and `private`: what the sender needs to show its own line.
#[derive(Serialize)]
struct Receipt {
    id: u64,
    ts: u64,
}

/// Told to the rest of a room when someone joins it.
#[derive(Serialize, socketio::Event)]
#[event("joined")]
struct MemberJoined<'a> {
    room: &'a str,
    nick: &'a str,
}

/// Told to the rest of a room when someone leaves it, and why.
#[derive(Serialize, socketio::Event)]
#[event("left")]
struct MemberLeft<'a> {
    room: &'a str,
    nick: &'a str,
    reason: &'a str,
}

/// Told to the rest of a room when someone starts or stops typing.
#[derive(Serialize, socketio::Event)]
#[event("typing")]
struct TypingNotice<'a> {
    room: &'a str,
    nick: &'a str,
    typing: bool,
}

/// A message for one person.
#[derive(Serialize, socketio::Event)]
#[event("private")]
struct PrivateLine<'a> {
    id: u64,
    ts: u64,
    from: &'a str,
    text: &'a str,
}

/// Everything this server sends to its clients. Emits go through [`to_room`], so emitting any
/// other type is a compile error.
#[socketio::event_set]
enum ToClient {
    Message(Line),
    Joined(MemberJoined<'static>),
    Left(MemberLeft<'static>),
    Typing(TypingNotice<'static>),
    Private(PrivateLine<'static>),
}

/// A broadcast to `room` (a room key or a socket id) that only takes [`ToClient`] events.
fn to_room(socket: &Arc<Socket>, room: impl Into<String>) -> Typed<BroadcastOperator, ToClient> {
    socket.typed().to(room)
}

/// The ack of `join`.
#[derive(Serialize)]
struct Joined {
    room: String,
    members: Vec<String>,
    history: Vec<Line>,
}

/// Chat rooms live under a `#` prefix. Every socket also sits in a room named after its id
/// (that is how private messages reach it); without the prefix a client could join someone
/// else's id room and read their private messages.
fn room_key(room: &str) -> String {
    format!("#{room}")
}

/// Checks a nickname or room name: trimmed, not empty, short, and made of letters, digits,
/// `-` and `_` only, so it is safe to show anywhere.
fn valid_name(what: &str, name: &str, max: usize) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("a {what} is required"));
    }
    if name.chars().count() > max {
        return Err(format!("a {what} has at most {max} characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("a {what} uses only letters, digits, '-' and '_'"));
    }
    Ok(name.to_owned())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Lets `message` and `typing` through only for sockets in at least one chat room; the
/// handlers then check the room they name.
fn in_a_room(socket: &Arc<Socket>) -> Result<(), &'static str> {
    if socket.rooms().iter().any(|room| room.starts_with('#')) {
        Ok(())
    } else {
        Err("join a room first")
    }
}

impl Chat {
    fn new(history_len: usize) -> Self {
        Chat {
            history_len,
            directory: Mutex::new(Directory::default()),
        }
    }

    fn directory(&self) -> MutexGuard<'_, Directory> {
        // A handler that panicked mid-update leaves maps that are still usable.
        self.directory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The nicknames of the connected sockets in room `key`, sorted.
    fn members(socket: &Socket, key: &str) -> Vec<String> {
        let mut nicks: Vec<String> = socket
            .namespace_sockets()
            .to(key)
            .sockets()
            .iter()
            .filter_map(|member| member.get_session::<Member>())
            .map(|member| member.nick)
            .collect();
        nicks.sort();
        nicks
    }

    /// Forgets a room's history once nobody connected is left in it.
    fn forget_if_empty(&self, socket: &Socket, key: &str) {
        if Chat::members(socket, key).is_empty() {
            self.directory().history.remove(key);
        }
    }
}

#[socketio::namespace("/chat")]
impl Chat {
    /// Claims the nickname, atomically, so two tabs racing for one name cannot both get it.
    async fn on_connect(
        &self,
        socket: Arc<Socket>,
        Auth(login): Auth<Option<Login>>,
    ) -> Result<(), ConnectError> {
        let wanted = login.map(|login| login.nick).unwrap_or_default();
        let nick = valid_name("nickname", &wanted, MAX_NICK).map_err(ConnectError::new)?;
        {
            let mut directory = self.directory();
            let key = nick.to_lowercase();
            if directory.nicks.contains_key(&key) {
                return Err(ConnectError::new(format!(
                    "the nickname \"{nick}\" is taken"
                )));
            }
            directory.nicks.insert(key, socket.sid().to_string());
        }
        tracing::info!(sid = %socket.sid(), %nick, "connected");
        socket.save_session(Member { nick });
        Ok(())
    }

    /// Joins a room; the ack carries who is there and what was said recently.
    async fn on_join(
        &self,
        socket: Arc<Socket>,
        Session(me): Session<Member>,
        room: String,
    ) -> Result<Joined, String> {
        let room = valid_name("room name", &room, MAX_ROOM)?;
        let key = room_key(&room);
        let rooms = socket.rooms();
        if !rooms.contains(&key) {
            if rooms.iter().filter(|room| room.starts_with('#')).count() >= MAX_ROOMS {
                return Err(format!(
                    "you are in {MAX_ROOMS} rooms already; leave one first"
                ));
            }
            socket.join(&key);
            let joined = MemberJoined {
                room: &room,
                nick: &me.nick,
            };
            if let Err(error) = to_room(&socket, &key).emit(&joined) {
                tracing::warn!(%error, "join not announced");
            }
        }
        let history = self
            .directory()
            .history
            .get(&key)
            .map(|lines| lines.iter().cloned().collect())
            .unwrap_or_default();
        Ok(Joined {
            members: Chat::members(&socket, &key),
            room,
            history,
        })
    }

    /// Leaves a room; the ack says whether the socket was in it.
    async fn on_leave(
        &self,
        socket: Arc<Socket>,
        Session(me): Session<Member>,
        room: String,
    ) -> bool {
        let key = room_key(&room);
        if !socket.rooms().contains(&key) {
            return false;
        }
        socket.leave(&key);
        let left = MemberLeft {
            room: &room,
            nick: &me.nick,
            reason: "left the room",
        };
        if let Err(error) = to_room(&socket, &key).emit(&left) {
            tracing::warn!(%error, "departure not announced");
        }
        self.forget_if_empty(&socket, &key);
        true
    }

    /// Sends a line to everyone else in the room; the sender shows its own line from the ack.
    #[on("message", guard = in_a_room)]
    async fn message(
        &self,
        socket: Arc<Socket>,
        Session(me): Session<Member>,
        post: Post,
    ) -> Result<Receipt, String> {
        let key = room_key(&post.room);
        if !socket.rooms().contains(&key) {
            return Err(format!("you are not in room \"{}\"", post.room));
        }
        let text = post.text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEXT {
            return Err(format!("a message has 1 to {MAX_TEXT} characters"));
        }
        let line = {
            let mut directory = self.directory();
            directory.next_id += 1;
            let line = Line {
                id: directory.next_id,
                ts: now_ms(),
                room: post.room,
                nick: me.nick,
                text: text.to_owned(),
            };
            let kept = directory.history.entry(key.clone()).or_default();
            if kept.len() == self.history_len {
                kept.pop_front();
            }
            kept.push_back(line.clone());
            line
        };
        let receipt = Receipt {
            id: line.id,
            ts: line.ts,
        };
        to_room(&socket, &key)
            .emit(&line)
            .map_err(|e| e.to_string())?;
        Ok(receipt)
    }

    /// Tells the rest of the room that someone started or stopped typing.
    #[on("typing", guard = in_a_room)]
    async fn typing(
        &self,
        socket: Arc<Socket>,
        Session(me): Session<Member>,
        room: String,
        typing: bool,
    ) {
        let key = room_key(&room);
        if socket.rooms().contains(&key) {
            let notice = TypingNotice {
                room: &room,
                nick: &me.nick,
                typing,
            };
            if let Err(error) = to_room(&socket, &key).emit(&notice) {
                tracing::warn!(%error, "typing notice not sent");
            }
        }
    }

    /// A message for one person: it goes to the room named after their socket id.
    async fn on_private(
        &self,
        socket: Arc<Socket>,
        Session(me): Session<Member>,
        to: String,
        text: String,
    ) -> Result<Receipt, String> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEXT {
            return Err(format!("a message has 1 to {MAX_TEXT} characters"));
        }
        let (sid, id) = {
            let mut directory = self.directory();
            let sid = directory.nicks.get(&to.trim().to_lowercase()).cloned();
            directory.next_id += 1;
            (sid, directory.next_id)
        };
        let sid = sid.ok_or_else(|| format!("nobody called \"{to}\" is online"))?;
        if sid == socket.sid().to_string() {
            return Err("that is you".into());
        }
        let ts = now_ms();
        let line = PrivateLine {
            id,
            ts,
            from: &me.nick,
            text,
        };
        to_room(&socket, sid)
            .emit(&line)
            .map_err(|e| e.to_string())?;
        Ok(Receipt { id, ts })
    }

    /// Frees the nickname and tells every room the socket was in. The socket is still in its
    /// rooms while this runs, but no longer among the connected sockets.
    async fn on_disconnect(
        &self,
        socket: Arc<Socket>,
        Session(me): Session<Member>,
        reason: DisconnectReason,
    ) {
        {
            let mut directory = self.directory();
            let key = me.nick.to_lowercase();
            // Only if it is still ours: the name may already belong to someone else.
            if directory.nicks.get(&key) == Some(&socket.sid().to_string()) {
                directory.nicks.remove(&key);
            }
        }
        for key in socket.rooms() {
            let Some(room) = key.strip_prefix('#') else {
                continue;
            };
            let left = MemberLeft {
                room,
                nick: &me.nick,
                reason: reason.as_str(),
            };
            if let Err(error) = to_room(&socket, &key).emit(&left) {
                tracing::warn!(%error, "departure not announced");
            }
            self.forget_if_empty(&socket, &key);
        }
        tracing::info!(sid = %socket.sid(), nick = %me.nick, %reason, "disconnected");
    }
}

/// Any other event: logged and refused, so a client with a typo learns about it from its ack
/// instead of waiting forever.
#[socketio::on("*", namespace = "/chat")]
async fn unknown_event(socket: Arc<Socket>, EventName(event): EventName) -> Result<(), String> {
    tracing::warn!(sid = %socket.sid(), %event, "unknown event");
    Err(format!("unknown event \"{event}\""))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    // Found next to this file, so the example runs from any working directory.
    let page = concat!(env!("CARGO_MANIFEST_DIR"), "/static/chat/");
    let io = SocketIo::builder()
        .engine(|config| config.static_files(StaticFiles::new().route("/", page)))
        .register_namespace(Chat::new(HISTORY_LEN))
        .build()
        .map_err(std::io::Error::other)?;

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = socketio::bind(format!("127.0.0.1:{port}")).await?;
    println!("chat listening on http://{}", listener.local_addr()?);

    let app = io.router();
    socketio::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Closes polls and WebSockets, so the graceful shutdown has nothing left to wait for.
            io.shutdown();
        })
        .await
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
