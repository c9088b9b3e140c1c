//! Binary placeholders: building them, checking them, resolving them.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::error::ParseError;

const PLACEHOLDER_KEY: &str = "_placeholder";
const NUM_KEY: &str = "num";

/// What an object turned out to be.
enum Slot {
    /// Not a placeholder (no `"_placeholder": true`).
    Plain,
    /// A placeholder with a usable index.
    Index(u64),
    /// `"_placeholder": true` but no non-negative integer `num`.
    Malformed,
}

fn classify(map: &Map<String, Value>) -> Slot {
    if map.get(PLACEHOLDER_KEY) != Some(&Value::Bool(true)) {
        return Slot::Plain;
    }
    match map.get(NUM_KEY).and_then(Value::as_u64) {
        Some(num) => Slot::Index(num),
        None => Slot::Malformed,
    }
}

/// The placeholder object for attachment `num`: `{"_placeholder":true,"num":num}`.
///
/// ```
/// assert_eq!(socketio::parser::placeholder(0).to_string(), r#"{"_placeholder":true,"num":0}"#);
/// ```
pub fn placeholder(num: usize) -> Value {
    let mut map = Map::with_capacity(2);
    map.insert(PLACEHOLDER_KEY.to_owned(), Value::Bool(true));
    map.insert(NUM_KEY.to_owned(), Value::from(num));
    Value::Object(map)
}

/// Pushes `data` onto `attachments` and returns the placeholder to put where
/// the binary value belongs in the arguments.
///
/// This is how binary values found at any depth are extracted when building an
/// event or ack.
///
/// ```
/// use socketio::parser::{attach, Packet};
/// use bytes::Bytes;
/// use serde_json::json;
///
/// let mut attachments = Vec::new();
/// let file = attach(&mut attachments, Bytes::from_static(&[1, 2, 3]));
/// let args = vec![json!("upload"), json!({ "file": file })];
/// let encoded = Packet::binary_event("/", args, attachments).encode();
/// assert_eq!(encoded.text, r#"51-["upload",{"file":{"_placeholder":true,"num":0}}]"#);
/// assert_eq!(encoded.attachments, vec![Bytes::from_static(&[1, 2, 3])]);
/// ```
pub fn attach(attachments: &mut Vec<Bytes>, data: Bytes) -> Value {
    attachments.push(data);
    placeholder(attachments.len() - 1)
}

/// The attachment index of a well-formed placeholder object, `None` for any
/// other value.
///
/// ```
/// use socketio::parser::{placeholder, placeholder_index};
/// use serde_json::json;
///
/// assert_eq!(placeholder_index(&placeholder(3)), Some(3));
/// assert_eq!(placeholder_index(&json!({ "num": 3 })), None);
/// ```
pub fn placeholder_index(value: &Value) -> Option<usize> {
    match value {
        Value::Object(map) => match classify(map) {
            Slot::Index(num) => usize::try_from(num).ok(),
            _ => None,
        },
        _ => None,
    }
}

/// Replaces, in place and at any depth, every placeholder in `value` by
/// `f(&attachments[num])`.
///
/// This mirrors what the JavaScript and Python implementations do after
/// decoding; `f` chooses the JSON form binary data takes (for instance an array
/// of numbers, or a base64 string). Fails on a malformed placeholder or one
/// whose `num` is out of range; `value` may then be partly replaced.
///
/// ```
/// use socketio::parser::{placeholder, replace_placeholders};
/// use bytes::Bytes;
/// use serde_json::json;
///
/// let mut args = json!(["file", { "data": placeholder(0) }]);
/// let attachments = [Bytes::from_static(&[1, 2])];
/// replace_placeholders(&mut args, &attachments, |bytes| json!(bytes.len())).unwrap();
/// assert_eq!(args, json!(["file", { "data": 2 }]));
/// ```
pub fn replace_placeholders<F>(
    value: &mut Value,
    attachments: &[Bytes],
    mut f: F,
) -> Result<(), ParseError>
where
    F: FnMut(&Bytes) -> Value,
{
    replace_in(value, attachments, &mut f)
}

fn replace_in<F>(value: &mut Value, attachments: &[Bytes], f: &mut F) -> Result<(), ParseError>
where
    F: FnMut(&Bytes) -> Value,
{
    match value {
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| replace_in(item, attachments, f)),
        Value::Object(map) => match classify(map) {
            Slot::Plain => map
                .values_mut()
                .try_for_each(|item| replace_in(item, attachments, f)),
            Slot::Malformed => Err(ParseError::InvalidPlaceholder),
            Slot::Index(num) => {
                let data = usize::try_from(num)
                    .ok()
                    .and_then(|index| attachments.get(index))
                    .ok_or(ParseError::PlaceholderOutOfRange {
                        num,
                        count: attachments.len(),
                    })?;
                *value = f(data);
                Ok(())
            }
        },
        _ => Ok(()),
    }
}

/// Checks that every placeholder in `args` is well formed and below `count`,
/// and that each of the `count` attachments is referenced at least once. Placeholders
/// are rewritten to their exact form, so keys a peer slipped in next to `_placeholder`
/// and `num` are never passed on.
///
/// Recursion depth is bounded by the depth pre-scan done before parsing.
pub(crate) fn check_placeholders(args: &mut [Value], count: usize) -> Result<(), ParseError> {
    let mut seen = vec![false; count];
    args.iter_mut().try_for_each(|arg| mark(arg, &mut seen))?;
    match seen.iter().position(|referenced| !referenced) {
        Some(index) => Err(ParseError::UnreferencedAttachment(index)),
        None => Ok(()),
    }
}

fn mark(value: &mut Value, seen: &mut [bool]) -> Result<(), ParseError> {
    let num = match value {
        Value::Array(items) => return items.iter_mut().try_for_each(|item| mark(item, seen)),
        Value::Object(map) => match classify(map) {
            Slot::Plain => return map.values_mut().try_for_each(|item| mark(item, seen)),
            Slot::Malformed => return Err(ParseError::InvalidPlaceholder),
            Slot::Index(num) => num,
        },
        _ => return Ok(()),
    };
    let count = seen.len();
    let index = usize::try_from(num)
        .ok()
        .filter(|&index| index < count)
        .ok_or(ParseError::PlaceholderOutOfRange { num, count })?;
    seen[index] = true;
    *value = placeholder(index);
    Ok(())
}
