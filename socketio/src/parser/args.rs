//! The JSON arguments of an event or ack, kept as the client wrote them until someone reads
//! them.
//!
//! Parsing an argument into a [`Value`] tree costs allocations for every key, string and
//! container, and dropping the tree costs as much again. A handler that only passes its
//! arguments on (an echo, a relay, a broadcast) never needs the tree: the parser checks the
//! JSON and records where each argument is, and the encoder writes those bytes back as they
//! came. Reading the arguments as values (through `Deref`) parses them then, once.

use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde_json::Value;

use super::encode::TextOut;
use super::scan::Spans;
use crate::engineio::Str;

/// The arguments of an event or ack: a `Vec<Value>` to read and change (it derefs to one),
/// which keeps arguments that nobody has read yet as their original JSON text.
///
/// ```
/// use socketio::parser::Args;
/// use serde_json::json;
///
/// let mut args = Args::from(vec![json!("hello"), json!(1)]);
/// args.push(json!({ "more": true }));
/// assert_eq!(args.len(), 3);
/// assert_eq!(args[2]["more"], json!(true));
/// assert_eq!(args, vec![json!("hello"), json!(1), json!({ "more": true })]);
/// ```
#[derive(Default)]
pub struct Args {
    /// Arguments held as values: all of them when `raw` is `None`, otherwise the ones
    /// before the raw tail.
    values: Vec<Value>,
    /// Arguments after `values` that are still the client's JSON text. Boxed: payloads move
    /// through several futures on their way, and this keeps them small.
    raw: Option<Box<RawTail>>,
}

/// Arguments as JSON text: slices of one received frame, each checked to be valid JSON.
struct RawTail {
    text: Str,
    spans: Spans,
    /// The values before the tail followed by the tail parsed, for reading through `&self`.
    parsed: OnceLock<Vec<Value>>,
}

impl Clone for RawTail {
    fn clone(&self) -> Self {
        RawTail {
            text: self.text.clone(),
            spans: self.spans.clone(),
            // A copy parses again if it is read; most copies are not.
            parsed: OnceLock::new(),
        }
    }
}

impl RawTail {
    fn get(&self, index: usize) -> Option<&str> {
        self.spans
            .get(index)
            .and_then(|span| self.text.get(span.clone()))
    }

    fn parse_all(&self) -> impl Iterator<Item = Value> + '_ {
        (0..self.spans.len()).map(|index| self.parse(index))
    }

    fn parse(&self, index: usize) -> Value {
        let Some(json) = self.get(index) else {
            return Value::Null;
        };
        // A string without escapes (an event name, usually) needs no parser.
        if let Some(text) = super::parse::plain_string(json) {
            return Value::String(text.to_owned());
        }
        // Each span was checked to be one JSON value when it was received, so this does not
        // fail; `Null` would stand for a span that broke that promise.
        serde_json::from_str(json).unwrap_or(Value::Null)
    }
}

/// A value as an event name: a string as it is, anything else as its JSON text.
fn name_of(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(name) => Cow::Borrowed(name),
        other => Cow::Owned(other.to_string()),
    }
}

impl Args {
    /// Arguments that are `values` followed by the JSON values at `spans` of `text`. Every
    /// span must hold exactly one valid JSON value; the parser checks that before it calls
    /// this.
    pub(crate) fn from_raw(values: Vec<Value>, text: Str, spans: Spans) -> Args {
        Args {
            values,
            raw: Some(Box::new(RawTail {
                text,
                spans,
                parsed: OnceLock::new(),
            })),
        }
    }

    /// How many arguments there are, without parsing any.
    pub(crate) fn count(&self) -> usize {
        self.values.len() + self.raw.as_ref().map_or(0, |raw| raw.spans.len())
    }

    /// Puts `value` first, without parsing the others.
    pub(crate) fn prepend(&mut self, value: Value) {
        self.forget_parsed();
        self.values.insert(0, value);
    }

    /// Drops the parsed copy, which no longer matches once the arguments change.
    fn forget_parsed(&mut self) {
        if let Some(raw) = &mut self.raw {
            raw.parsed = OnceLock::new();
        }
    }

    /// The first argument as an event name, left in place: a string as it is, anything else
    /// as its JSON text. Nothing is parsed or copied when it is a string without escapes.
    pub(crate) fn first_name(&self) -> Option<Cow<'_, str>> {
        let first = match (self.values.first(), &self.raw) {
            (Some(value), _) => return Some(name_of(value)),
            (None, Some(raw)) => raw.get(0)?,
            (None, None) => return None,
        };
        if let Some(text) = super::parse::plain_string(first) {
            return Some(Cow::Borrowed(text));
        }
        Some(match self.raw.as_ref()?.parse(0) {
            Value::String(name) => Cow::Owned(name),
            other => Cow::Owned(other.to_string()),
        })
    }

    /// Removes the first argument, without parsing it.
    pub(crate) fn drop_first(&mut self) {
        self.forget_parsed();
        if !self.values.is_empty() {
            self.values.remove(0);
        } else if let Some(raw) = self.raw.as_mut().filter(|raw| !raw.spans.is_empty()) {
            raw.spans.remove(0);
        }
    }

    /// Appends the arguments to `out` as JSON, separated by commas: values serialized,
    /// raw arguments copied as they came.
    pub(crate) fn write_json(&self, out: &mut impl TextOut) {
        let mut separator: &[u8] = b"";
        for value in &self.values {
            out.put_ascii(std::mem::replace(&mut separator, b","));
            out.put_value(value);
        }
        if let Some(raw) = &self.raw {
            for index in 0..raw.spans.len() {
                out.put_ascii(std::mem::replace(&mut separator, b","));
                out.put(raw.get(index).unwrap_or("null"));
            }
        }
    }

    /// How many bytes [`write_json`](Self::write_json) writes, when every argument is still
    /// raw (`None` when some are values).
    pub(crate) fn raw_json_len(&self) -> Option<usize> {
        if !self.values.is_empty() {
            return None;
        }
        let Some(raw) = &self.raw else {
            return Some(0);
        };
        let text: usize = raw.spans.iter().map(|span| span.len()).sum();
        Some(text + raw.spans.len().saturating_sub(1))
    }

    /// Takes the arguments out as values, parsing what is still raw.
    pub fn into_vec(mut self) -> Vec<Value> {
        std::mem::take(self.values_mut())
    }

    fn values_mut(&mut self) -> &mut Vec<Value> {
        if let Some(mut raw) = self.raw.take() {
            match raw.parsed.take() {
                Some(all) => self.values = all,
                None => self.values.extend(raw.parse_all()),
            }
        }
        &mut self.values
    }
}

impl Deref for Args {
    type Target = Vec<Value>;

    fn deref(&self) -> &Vec<Value> {
        match &self.raw {
            None => &self.values,
            Some(raw) => raw.parsed.get_or_init(|| {
                let mut all = Vec::with_capacity(self.count());
                all.extend(self.values.iter().cloned());
                all.extend(raw.parse_all());
                all
            }),
        }
    }
}

impl DerefMut for Args {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        self.values_mut()
    }
}

impl Clone for Args {
    fn clone(&self) -> Self {
        Args {
            values: self.values.clone(),
            raw: self.raw.clone(),
        }
    }
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for Args {
    fn eq(&self, other: &Args) -> bool {
        **self == **other
    }
}

impl PartialEq<Vec<Value>> for Args {
    fn eq(&self, other: &Vec<Value>) -> bool {
        **self == *other
    }
}

impl PartialEq<[Value]> for Args {
    fn eq(&self, other: &[Value]) -> bool {
        **self == *other
    }
}

impl PartialEq<&[Value]> for Args {
    fn eq(&self, other: &&[Value]) -> bool {
        **self == **other
    }
}

impl<const N: usize> PartialEq<[Value; N]> for Args {
    fn eq(&self, other: &[Value; N]) -> bool {
        **self == *other
    }
}

impl PartialEq<Args> for Vec<Value> {
    fn eq(&self, other: &Args) -> bool {
        *self == **other
    }
}

impl serde::Serialize for Args {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Args {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Value>::deserialize(deserializer).map(Args::from)
    }
}

impl From<Vec<Value>> for Args {
    fn from(values: Vec<Value>) -> Self {
        Args { values, raw: None }
    }
}

impl From<Args> for Vec<Value> {
    fn from(args: Args) -> Self {
        args.into_vec()
    }
}

impl FromIterator<Value> for Args {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        Args::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl IntoIterator for Args {
    type Item = Value;
    type IntoIter = std::vec::IntoIter<Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<'a> IntoIterator for &'a Args {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Args {
    type Item = &'a mut Value;
    type IntoIter = std::slice::IterMut<'a, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl Extend<Value> for Args {
    fn extend<I: IntoIterator<Item = Value>>(&mut self, iter: I) {
        self.values_mut().extend(iter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(text: &str) -> Args {
        let spans = crate::parser::scan::plain_array(text, 32).unwrap();
        Args::from_raw(Vec::new(), Str::from(text), spans)
    }

    fn written(args: &Args) -> String {
        let mut out = Vec::new();
        args.write_json(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn raw_arguments_are_written_back_as_they_came() {
        let args = raw(r#"["echo", { "b" : 1, "a" : [2, 3] },null]"#);
        assert_eq!(args.count(), 3);
        assert_eq!(written(&args), r#""echo",{ "b" : 1, "a" : [2, 3] },null"#);
    }

    #[test]
    fn reading_parses_and_keeps_the_key_order() {
        let args = raw(r#"["echo",{"b":1,"a":2}]"#);
        assert_eq!(args[1], json!({"b": 1, "a": 2}));
        let keys: Vec<&String> = args[1].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "a"]);
        // Reading does not change what is written.
        assert_eq!(written(&args), r#""echo",{"b":1,"a":2}"#);
    }

    #[test]
    fn the_first_is_read_and_dropped_alone_and_a_prepended_value_goes_in_front() {
        let mut args = raw(r#"["echo",{"x":1}]"#);
        assert!(matches!(args.first_name(), Some(Cow::Borrowed("echo"))));
        args.drop_first();
        args.prepend(json!("bcast"));
        assert_eq!(written(&args), r#""bcast",{"x":1}"#);
        assert_eq!(args, vec![json!("bcast"), json!({"x": 1})]);
        assert_eq!(args.first_name().as_deref(), Some("bcast"));
        args.drop_first();
        assert_eq!(args.first_name().as_deref(), Some(r#"{"x":1}"#));
        args.drop_first();
        assert_eq!(args.first_name(), None);
        args.drop_first();
        assert_eq!(args.count(), 0);
    }

    #[test]
    fn names_with_escapes_or_of_other_types_are_read_as_values() {
        assert_eq!(raw(r#"["a\"b",1]"#).first_name().as_deref(), Some("a\"b"));
        assert_eq!(raw(r#"[7,1]"#).first_name().as_deref(), Some("7"));
        assert_eq!(
            Args::from(vec![json!("plain")]).first_name().as_deref(),
            Some("plain")
        );
    }

    #[test]
    fn changing_them_turns_them_into_values() {
        let mut args = raw(r#"[1,2]"#);
        let _ = args.len();
        args.push(json!(3));
        assert_eq!(written(&args), "1,2,3");
        assert_eq!(args.clone().into_vec(), vec![json!(1), json!(2), json!(3)]);
    }
}
