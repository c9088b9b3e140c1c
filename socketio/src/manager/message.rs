//! The messages nodes exchange on the bus, in python-socketio's JSON format (5.15.1 and later),
//! so Python processes and ours share one bus.
//!
//! Main channel (`socketio` by default), one JSON object per message:
//!
//! - `emit`: `event`, `data` (the argument list; with `binary: true` it is
//!   `[args with placeholders, base64 of each attachment…]`), `namespace`, `room` (null for the
//!   whole namespace, a name, or a list of names), `skip_sid` (null, a sid or a list),
//!   `callback` (`[sid, namespace, id]` or null), `host_id`.
//! - `callback`: `host_id` (the node that asked), `sid`, `namespace`, `id`, `args`.
//! - `disconnect`, `enter_room`, `leave_room`: `sid`, `namespace`, `room`, `host_id`.
//! - `close_room`: `room`, `namespace`, `host_id`.
//!
//! Our additions ride in keys python-socketio ignores: `except_rooms` and `volatile` on `emit`;
//! `rooms` and `except_rooms` on `disconnect`, `enter_room` and `leave_room` when the target is
//! a selection rather than one sid (then `sid` is null and Python nodes do nothing); `binary`
//! on `callback` when the reply carries attachments.
//!
//! Everything here is parsed from untrusted bytes: wrong types are errors, never panics.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::args::Payload;
use crate::manager::BroadcastTarget;
use crate::parser::binary::check_placeholders;

/// Why a bus message was ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MessageError {
    #[error("message of {size} bytes is over the {limit} byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("not a JSON object: {0}")]
    NotJson(String),
    #[error("no `method`")]
    NoMethod,
    #[error("unknown method {0:?}")]
    UnknownMethod(String),
    #[error("`{0}` is missing or has the wrong type")]
    BadField(&'static str),
    #[error("bad binary data: {0}")]
    BadBinary(String),
}

/// Where an ack reply goes back to: python-socketio's `callback` triple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallbackRef {
    /// The room (in practice one sid) the emit was addressed to.
    pub(crate) sid: String,
    pub(crate) namespace: String,
    pub(crate) id: u64,
}

/// The sockets a message is for: one sid (python's form) or a selection (ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    Sid(String),
    Target {
        rooms: Vec<String>,
        except: Vec<String>,
    },
}

impl Selection {
    /// A selection from a broadcast target: one room and nothing else is sent as python's
    /// `sid` form, since a sid is a room and Python nodes only understand that form.
    pub(crate) fn from_target(target: &BroadcastTarget) -> Self {
        match target.rooms.as_slice() {
            [room] if target.except.is_empty() && target.skip.is_none() => {
                Selection::Sid(room.clone())
            }
            _ => {
                let mut except = target.except.clone();
                except.extend(target.skip.iter().map(|sid| sid.to_string()));
                Selection::Target {
                    rooms: target.rooms.clone(),
                    except,
                }
            }
        }
    }

    pub(crate) fn to_target(&self) -> BroadcastTarget {
        match self {
            Selection::Sid(sid) => BroadcastTarget {
                rooms: vec![sid.clone()],
                ..BroadcastTarget::default()
            },
            Selection::Target { rooms, except } => BroadcastTarget {
                rooms: rooms.clone(),
                except: except.clone(),
                ..BroadcastTarget::default()
            },
        }
    }
}

/// One message of the main channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BusMessage {
    Emit {
        host_id: Option<String>,
        namespace: String,
        event: String,
        payload: Payload,
        rooms: Vec<String>,
        except: Vec<String>,
        skip_sids: Vec<String>,
        callback: Option<CallbackRef>,
        volatile: bool,
    },
    Callback {
        host_id: String,
        sid: String,
        namespace: String,
        id: u64,
        payload: Payload,
    },
    Disconnect {
        host_id: Option<String>,
        namespace: String,
        selection: Selection,
    },
    EnterRoom {
        host_id: Option<String>,
        namespace: String,
        selection: Selection,
        room: String,
    },
    LeaveRoom {
        host_id: Option<String>,
        namespace: String,
        selection: Selection,
        room: String,
    },
    CloseRoom {
        host_id: Option<String>,
        namespace: String,
        room: String,
    },
}

impl BusMessage {
    /// The node that sent it (for `callback`: the node it is for).
    pub(crate) fn host_id(&self) -> Option<&str> {
        match self {
            BusMessage::Callback { host_id, .. } => Some(host_id),
            BusMessage::Emit { host_id, .. }
            | BusMessage::Disconnect { host_id, .. }
            | BusMessage::EnterRoom { host_id, .. }
            | BusMessage::LeaveRoom { host_id, .. }
            | BusMessage::CloseRoom { host_id, .. } => host_id.as_deref(),
        }
    }

    /// The `method` name on the wire.
    pub(crate) fn method(&self) -> &'static str {
        match self {
            BusMessage::Emit { .. } => "emit",
            BusMessage::Callback { .. } => "callback",
            BusMessage::Disconnect { .. } => "disconnect",
            BusMessage::EnterRoom { .. } => "enter_room",
            BusMessage::LeaveRoom { .. } => "leave_room",
            BusMessage::CloseRoom { .. } => "close_room",
        }
    }

    /// Parses one message, refusing anything over `limit` bytes.
    pub(crate) fn decode(bytes: &[u8], limit: usize) -> Result<BusMessage, MessageError> {
        if bytes.len() > limit {
            return Err(MessageError::TooLarge {
                size: bytes.len(),
                limit,
            });
        }
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| MessageError::NotJson(e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(MessageError::NotJson("not an object".into()));
        };
        let fields = Fields(map);
        let method = match fields.0.get("method") {
            Some(Value::String(method)) => method.clone(),
            Some(_) => return Err(MessageError::BadField("method")),
            None => return Err(MessageError::NoMethod),
        };
        let host_id = fields.opt_string("host_id")?;
        let namespace = fields
            .opt_string("namespace")?
            .unwrap_or_else(|| "/".into());
        match method.as_str() {
            "emit" => {
                let (payload, _) = decode_data(&fields, "data")?;
                Ok(BusMessage::Emit {
                    host_id,
                    namespace,
                    event: fields.string("event")?,
                    payload,
                    rooms: fields.names("room")?,
                    except: fields.names("except_rooms")?,
                    skip_sids: fields.names("skip_sid")?,
                    callback: fields.callback()?,
                    volatile: fields.opt_bool("volatile")?,
                })
            }
            "callback" => {
                let (payload, _) = decode_data(&fields, "args")?;
                Ok(BusMessage::Callback {
                    host_id: host_id.ok_or(MessageError::BadField("host_id"))?,
                    sid: fields.string("sid")?,
                    namespace,
                    id: fields.id("id")?,
                    payload,
                })
            }
            "disconnect" => Ok(BusMessage::Disconnect {
                host_id,
                namespace,
                selection: fields.selection()?,
            }),
            "enter_room" => Ok(BusMessage::EnterRoom {
                host_id,
                namespace,
                selection: fields.selection()?,
                room: fields.string("room")?,
            }),
            "leave_room" => Ok(BusMessage::LeaveRoom {
                host_id,
                namespace,
                selection: fields.selection()?,
                room: fields.string("room")?,
            }),
            "close_room" => Ok(BusMessage::CloseRoom {
                host_id,
                namespace,
                room: fields.string("room")?,
            }),
            _ => Err(MessageError::UnknownMethod(method)),
        }
    }

    /// The JSON bytes, as python-socketio writes them.
    pub(crate) fn encode(&self) -> Bytes {
        match self {
            BusMessage::Emit {
                host_id,
                namespace,
                event,
                payload,
                rooms,
                except,
                skip_sids,
                callback,
                volatile,
            } => EmitRef {
                host_id: host_id.as_deref(),
                namespace,
                event,
                payload,
                rooms,
                except,
                skip_sids: Names::List(skip_sids),
                callback: callback.as_ref(),
                volatile: *volatile,
            }
            .encode(),
            BusMessage::Callback {
                host_id,
                sid,
                namespace,
                id,
                payload,
            } => to_bytes(&CallbackWire {
                method: "callback",
                host_id,
                sid,
                namespace,
                id: *id,
                binary: !payload.attachments.is_empty(),
                args: WireData(payload),
            }),
            BusMessage::Disconnect {
                host_id,
                namespace,
                selection,
            } => json_bytes(with_selection(
                json!({ "method": "disconnect", "namespace": namespace, "host_id": host_id }),
                selection,
            )),
            BusMessage::EnterRoom {
                host_id,
                namespace,
                selection,
                room,
            }
            | BusMessage::LeaveRoom {
                host_id,
                namespace,
                selection,
                room,
            } => json_bytes(with_selection(
                json!({
                    "method": self.method(),
                    "room": room,
                    "namespace": namespace,
                    "host_id": host_id,
                }),
                selection,
            )),
            BusMessage::CloseRoom {
                host_id,
                namespace,
                room,
            } => json_bytes(json!({
                "method": "close_room",
                "room": room,
                "namespace": namespace,
                "host_id": host_id,
            })),
        }
    }
}

fn with_selection(mut map: Value, selection: &Selection) -> Value {
    match selection {
        Selection::Sid(sid) => map["sid"] = json!(sid),
        Selection::Target { rooms, except } => {
            map["sid"] = Value::Null;
            map["rooms"] = json!(rooms);
            map["except_rooms"] = json!(except);
        }
    }
    map
}

/// An emit as it goes on the bus, borrowed from whoever holds its parts: a broadcast is
/// serialized straight from its payload, without copying it first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EmitRef<'a> {
    pub(crate) host_id: Option<&'a str>,
    pub(crate) namespace: &'a str,
    pub(crate) event: &'a str,
    pub(crate) payload: &'a Payload,
    pub(crate) rooms: &'a [String],
    pub(crate) except: &'a [String],
    pub(crate) skip_sids: Names<'a>,
    pub(crate) callback: Option<&'a CallbackRef>,
    pub(crate) volatile: bool,
}

impl EmitRef<'_> {
    /// The JSON bytes of python-socketio's `emit` message, plus our extra keys when used.
    pub(crate) fn encode(&self) -> Bytes {
        to_bytes(&EmitWire {
            method: "emit",
            event: self.event,
            data: WireData(self.payload),
            binary: !self.payload.attachments.is_empty(),
            namespace: self.namespace,
            room: Names::List(self.rooms),
            skip_sid: self.skip_sids,
            callback: self
                .callback
                .map(|c| (c.sid.as_str(), c.namespace.as_str(), c.id)),
            host_id: self.host_id,
            except_rooms: self.except,
            volatile: self.volatile,
        })
    }
}

#[derive(serde::Serialize)]
struct EmitWire<'a> {
    method: &'static str,
    event: &'a str,
    data: WireData<'a>,
    binary: bool,
    namespace: &'a str,
    room: Names<'a>,
    skip_sid: Names<'a>,
    callback: Option<(&'a str, &'a str, u64)>,
    host_id: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    except_rooms: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    volatile: bool,
}

#[derive(serde::Serialize)]
struct CallbackWire<'a> {
    method: &'static str,
    host_id: &'a str,
    sid: &'a str,
    namespace: &'a str,
    id: u64,
    args: WireData<'a>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    binary: bool,
}

fn json_bytes(value: Value) -> Bytes {
    Bytes::from(value.to_string())
}

fn to_bytes(wire: &impl serde::Serialize) -> Bytes {
    // Strings, numbers and JSON values only: serializing them cannot fail.
    Bytes::from(serde_json::to_vec(wire).unwrap_or_default())
}

/// Room names as python-socketio writes `room` and `skip_sid`: `null`, one name, or a list.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Names<'a> {
    List(&'a [String]),
    One(&'a str),
}

impl serde::Serialize for Names<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Names::List([]) => serializer.serialize_none(),
            Names::List([one]) => serializer.serialize_str(one),
            Names::One(one) => serializer.serialize_str(one),
            Names::List(many) => many.serialize(serializer),
        }
    }
}

/// `data` (or `args`) on the wire: the arguments, or with attachments
/// `[args with placeholders, base64…]` (and `binary: true` beside it).
struct WireData<'a>(&'a Payload);

impl serde::Serialize for WireData<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let Payload { args, attachments } = self.0;
        if attachments.is_empty() {
            return args.serialize(serializer);
        }
        let mut seq = serializer.serialize_seq(Some(attachments.len() + 1))?;
        seq.serialize_element(args)?;
        for bytes in attachments {
            seq.serialize_element(&BASE64.encode(bytes))?;
        }
        seq.end()
    }
}

fn decode_data(fields: &Fields, key: &'static str) -> Result<(Payload, bool), MessageError> {
    let Some(Value::Array(data)) = fields.0.get(key) else {
        return Err(MessageError::BadField(key));
    };
    if !fields.opt_bool("binary")? {
        return Ok((Payload::from_args(data.clone()), false));
    }
    let Some((Value::Array(args), encoded)) = data.split_first() else {
        return Err(MessageError::BadBinary(format!(
            "`{key}` must start with the argument list"
        )));
    };
    let attachments = encoded
        .iter()
        .map(|item| match item {
            Value::String(text) => BASE64
                .decode(text)
                .map(Bytes::from)
                .map_err(|e| MessageError::BadBinary(e.to_string())),
            _ => Err(MessageError::BadBinary("attachment is not a string".into())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut args = args.clone();
    check_placeholders(&mut args, attachments.len())
        .map_err(|e| MessageError::BadBinary(e.to_string()))?;
    Ok((
        Payload {
            args: args.into(),
            attachments,
        },
        true,
    ))
}

/// Typed access to the keys of one message.
struct Fields(Map<String, Value>);

impl Fields {
    fn string(&self, key: &'static str) -> Result<String, MessageError> {
        self.opt_string(key)?.ok_or(MessageError::BadField(key))
    }

    fn opt_string(&self, key: &'static str) -> Result<Option<String>, MessageError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(MessageError::BadField(key)),
        }
    }

    fn opt_bool(&self, key: &'static str) -> Result<bool, MessageError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(MessageError::BadField(key)),
        }
    }

    fn id(&self, key: &'static str) -> Result<u64, MessageError> {
        self.0
            .get(key)
            .and_then(Value::as_u64)
            .ok_or(MessageError::BadField(key))
    }

    /// `null`, a string or a list of strings.
    fn names(&self, key: &'static str) -> Result<Vec<String>, MessageError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(name)) => Ok(vec![name.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(name) => Ok(name.clone()),
                    _ => Err(MessageError::BadField(key)),
                })
                .collect(),
            Some(_) => Err(MessageError::BadField(key)),
        }
    }

    fn callback(&self) -> Result<Option<CallbackRef>, MessageError> {
        match self.0.get("callback") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(parts)) => match parts.as_slice() {
                [Value::String(sid), Value::String(namespace), id] => Ok(Some(CallbackRef {
                    sid: sid.clone(),
                    namespace: namespace.clone(),
                    id: id.as_u64().ok_or(MessageError::BadField("callback"))?,
                })),
                _ => Err(MessageError::BadField("callback")),
            },
            Some(_) => Err(MessageError::BadField("callback")),
        }
    }

    /// Python's `sid`, or our `rooms` / `except_rooms` selection when `sid` is null.
    fn selection(&self) -> Result<Selection, MessageError> {
        if let Some(sid) = self.opt_string("sid")? {
            return Ok(Selection::Sid(sid));
        }
        if !self.0.contains_key("rooms") {
            return Err(MessageError::BadField("sid"));
        }
        Ok(Selection::Target {
            rooms: self.names("rooms")?,
            except: self.names("except_rooms")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    fn decode(text: &str) -> Result<BusMessage, MessageError> {
        BusMessage::decode(text.as_bytes(), LIMIT)
    }

    #[test]
    fn python_emit_to_a_room() {
        let message = decode(
            r#"{"method": "emit", "event": "room-message", "data": ["hi", {"a": 1}],
                "binary": false, "namespace": "/chat", "room": "r1", "skip_sid": null,
                "callback": null, "host_id": "abc"}"#,
        )
        .unwrap();
        let BusMessage::Emit {
            host_id,
            namespace,
            event,
            payload,
            rooms,
            skip_sids,
            callback,
            ..
        } = message
        else {
            panic!("not an emit")
        };
        assert_eq!(host_id.as_deref(), Some("abc"));
        assert_eq!(namespace, "/chat");
        assert_eq!(event, "room-message");
        assert_eq!(payload.args, vec![json!("hi"), json!({"a": 1})]);
        assert_eq!(rooms, ["r1"]);
        assert!(skip_sids.is_empty());
        assert_eq!(callback, None);
    }

    #[test]
    fn python_binary_emit_with_callback() {
        // python-socketio: data = [args with placeholders, base64 of each attachment]
        let message = decode(
            r#"{"method": "emit", "event": "e", "binary": true, "namespace": "/",
                "data": [["x", {"_placeholder": true, "num": 0}], "AQI="],
                "room": ["a", "b"], "skip_sid": ["s1"], "callback": ["a", "/", 7],
                "host_id": "h"}"#,
        )
        .unwrap();
        let BusMessage::Emit {
            payload,
            rooms,
            skip_sids,
            callback,
            ..
        } = message
        else {
            panic!("not an emit")
        };
        assert_eq!(payload.attachments, vec![Bytes::from_static(&[1, 2])]);
        assert_eq!(rooms, ["a", "b"]);
        assert_eq!(skip_sids, ["s1"]);
        assert_eq!(
            callback,
            Some(CallbackRef {
                sid: "a".into(),
                namespace: "/".into(),
                id: 7
            })
        );
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let mut payload = Payload::from_args(vec![json!("x")]);
        let slot = payload.binary(Bytes::from_static(b"\xff\x00"));
        payload.args.push(json!({ "blob": slot }));
        let messages = [
            BusMessage::Emit {
                host_id: Some("h".into()),
                namespace: "/chat".into(),
                event: "e".into(),
                payload: payload.clone(),
                rooms: vec!["r".into()],
                except: vec!["x".into()],
                skip_sids: vec!["s".into()],
                callback: Some(CallbackRef {
                    sid: "r".into(),
                    namespace: "/chat".into(),
                    id: 3,
                }),
                volatile: true,
            },
            BusMessage::Callback {
                host_id: "h".into(),
                sid: "s".into(),
                namespace: "/".into(),
                id: 9,
                payload,
            },
            BusMessage::Disconnect {
                host_id: Some("h".into()),
                namespace: "/".into(),
                selection: Selection::Sid("s".into()),
            },
            BusMessage::EnterRoom {
                host_id: Some("h".into()),
                namespace: "/".into(),
                selection: Selection::Target {
                    rooms: vec!["a".into()],
                    except: vec!["b".into()],
                },
                room: "r".into(),
            },
            BusMessage::LeaveRoom {
                host_id: None,
                namespace: "/".into(),
                selection: Selection::Sid("s".into()),
                room: "r".into(),
            },
            BusMessage::CloseRoom {
                host_id: Some("h".into()),
                namespace: "/".into(),
                room: "r".into(),
            },
        ];
        for message in messages {
            let bytes = message.encode();
            assert_eq!(BusMessage::decode(&bytes, LIMIT).unwrap(), message);
        }
    }

    #[test]
    fn python_keys_of_an_emit() {
        let bytes = BusMessage::Emit {
            host_id: Some("h".into()),
            namespace: "/".into(),
            event: "e".into(),
            payload: Payload::from_args(vec![json!(1)]),
            rooms: Vec::new(),
            except: Vec::new(),
            skip_sids: Vec::new(),
            callback: None,
            volatile: false,
        }
        .encode();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            value,
            json!({"method": "emit", "event": "e", "data": [1], "binary": false,
                   "namespace": "/", "room": null, "skip_sid": null, "callback": null,
                   "host_id": "h"})
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let cases: &[(&[u8], &str)] = &[
            (b"\xff\xfe not json", "not a JSON object"),
            (b"[1, 2]", "not a JSON object"),
            (br#"{"event": "e"}"#, "no `method`"),
            (br#"{"method": 3}"#, "`method`"),
            (br#"{"method": "explode"}"#, "unknown method"),
            (br#"{"method": "emit", "event": "e"}"#, "`data`"),
            (
                br#"{"method": "emit", "event": "e", "data": "x"}"#,
                "`data`",
            ),
            (br#"{"method": "emit", "data": []}"#, "`event`"),
            (
                br#"{"method": "emit", "event": "e", "data": [], "room": 5}"#,
                "`room`",
            ),
            (
                br#"{"method": "emit", "event": "e", "data": [], "room": [1]}"#,
                "`room`",
            ),
            (
                br#"{"method": "emit", "event": "e", "data": [], "skip_sid": {}}"#,
                "`skip_sid`",
            ),
            (
                br#"{"method": "emit", "event": "e", "data": [], "namespace": 1}"#,
                "`namespace`",
            ),
            (
                br#"{"method": "emit", "event": "e", "data": [], "callback": ["s"]}"#,
                "`callback`",
            ),
            (
                br#"{"method": "emit", "event": "e", "data": [[], "!!"], "binary": true}"#,
                "bad binary",
            ),
            (
                br#"{"method": "emit", "event": "e", "data": ["x"], "binary": true}"#,
                "bad binary",
            ),
            (
                br#"{"method": "emit", "event": "e", "binary": true,
                     "data": [[{"_placeholder": true, "num": 1}], "AQI="]}"#,
                "bad binary",
            ),
            (
                br#"{"method": "emit", "event": "e", "data": [], "binary": "yes"}"#,
                "`binary`",
            ),
            (
                br#"{"method": "callback", "sid": "s", "id": 1, "args": []}"#,
                "`host_id`",
            ),
            (
                br#"{"method": "callback", "host_id": "h", "sid": "s", "id": -1, "args": []}"#,
                "`id`",
            ),
            (br#"{"method": "disconnect", "namespace": "/"}"#, "`sid`"),
            (br#"{"method": "enter_room", "sid": "s"}"#, "`room`"),
            (br#"{"method": "close_room", "room": ["a"]}"#, "`room`"),
        ];
        for (bytes, expected) in cases {
            let err = BusMessage::decode(bytes, LIMIT).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{:?}: {err:?} should mention {expected:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn oversized_message_is_refused_before_parsing() {
        let big = vec![b' '; 100];
        assert_eq!(
            BusMessage::decode(&big, 10),
            Err(MessageError::TooLarge {
                size: 100,
                limit: 10
            })
        );
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        /// JSON values of every shape, a few levels deep.
        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                "[a-z_]{0,8}".prop_map(Value::from),
            ];
            leaf.prop_recursive(4, 32, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                        .prop_map(|map| Value::Object(map.into_iter().collect())),
                ]
            })
        }

        /// Objects that look like bus messages, with any keys python-socketio uses and
        /// values of any type.
        fn message_like() -> impl Strategy<Value = Value> {
            let key = prop_oneof![
                Just("method"),
                Just("event"),
                Just("data"),
                Just("binary"),
                Just("namespace"),
                Just("room"),
                Just("skip_sid"),
                Just("callback"),
                Just("host_id"),
                Just("sid"),
                Just("id"),
                Just("args"),
                Just("rooms"),
                Just("except_rooms"),
                Just("volatile"),
            ];
            let method = prop_oneof![
                Just("emit"),
                Just("callback"),
                Just("disconnect"),
                Just("enter_room"),
                Just("leave_room"),
                Just("close_room"),
                Just("other"),
            ];
            (method, prop::collection::vec((key, json_value()), 0..10)).prop_map(
                |(method, fields)| {
                    let mut map = Map::new();
                    map.insert("method".into(), Value::from(method));
                    for (key, value) in fields {
                        map.insert(key.to_owned(), value);
                    }
                    Value::Object(map)
                },
            )
        }

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                let _ = BusMessage::decode(&bytes, LIMIT);
            }

            #[test]
            fn message_shaped_json_never_panics_and_what_parses_round_trips(
                value in message_like()
            ) {
                let text = value.to_string();
                if let Ok(message) = BusMessage::decode(text.as_bytes(), LIMIT) {
                    let again = BusMessage::decode(&message.encode(), LIMIT);
                    prop_assert_eq!(again, Ok(message));
                }
            }
        }
    }

    #[test]
    fn deep_json_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let text = format!(r#"{{"method":"emit","event":"e","data":{deep}}}"#);
        assert!(BusMessage::decode(text.as_bytes(), usize::MAX).is_err());
    }
}
