//! JSON arguments plus attachments → Rust values.

use super::*;

// ---------------------------------------------------------------------------
// Deserialization
// ---------------------------------------------------------------------------

/// Deserializes one argument, reading placeholders from `attachments`.
///
/// At a placeholder the target gets the attachment's bytes: `bytes::Bytes`,
/// `serde_bytes::ByteBuf`, `Vec<u8>` and `[u8; N]` all work. Elsewhere this behaves
/// like deserializing from a [`serde_json::Value`] (same enum representation, same
/// number conversions, same map-key parsing). A placeholder whose `num` is past the
/// end of `attachments`, or that has no usable `num`, is an error.
///
/// A `serde_json::Value` target cannot hold binary data: it fails on a placeholder.
/// Use [`Rest`] or the [`Payload`] itself to keep arguments as raw JSON.
pub fn from_arg<T: DeserializeOwned>(
    value: &Value,
    attachments: &[Bytes],
) -> Result<T, SerdeError> {
    T::deserialize(ValueDeserializer::new(value, attachments))
}

/// Deserializes the arguments of `payload`.
///
/// * A tuple, tuple struct or fixed-size array takes one argument per element.
///   Elements past the last argument read as absent: an `Option` (or `()`) element
///   becomes `None`, anything else is a [`SerdeError::Missing`] error. Arguments past
///   the last element are ignored, as JavaScript does with extra arguments.
/// * `()` accepts any arguments and ignores them.
/// * A [`Rest`] element takes all remaining arguments as raw JSON; it must be last.
/// * A newtype struct is transparent: it reads the arguments as its inner type would.
/// * Any other type reads the first argument (an `Option` reads `None` when there is
///   none).
///
/// Errors name the failing argument, counted from 0:
/// `argument 2: invalid type: string "x", expected u32`.
///
/// ```
/// use serde_json::json;
/// use socketio::Payload;
/// use socketio::args::from_args;
///
/// # fn main() -> Result<(), socketio::args::SerdeError> {
/// let payload = Payload::from_args(vec![json!("x"), json!(7)]);
/// let (name, count, extra): (String, u32, Option<bool>) = from_args(&payload)?;
/// assert_eq!((name.as_str(), count, extra), ("x", 7, None));
/// # Ok(())
/// # }
/// ```
pub fn from_args<T: DeserializeOwned>(payload: &Payload) -> Result<T, SerdeError> {
    T::deserialize(ArgsDeserializer {
        args: &payload.args,
        attachments: &payload.attachments,
    })
}

/// The remaining arguments of an event, kept as raw JSON.
///
/// As the last element of a tuple given to [`from_args`], it receives every argument
/// from its position on (possibly none). Placeholders are left as they are; they
/// still refer to the attachments of the payload. Given alone to [`from_args`], it
/// receives all the arguments.
///
/// ```
/// use serde_json::json;
/// use socketio::Payload;
/// use socketio::args::{Rest, from_args};
///
/// # fn main() -> Result<(), socketio::args::SerdeError> {
/// let payload = Payload::from_args(vec![json!("move"), json!(1), json!(2)]);
/// let (kind, Rest(rest)): (String, Rest) = from_args(&payload)?;
/// assert_eq!((kind.as_str(), rest), ("move", vec![json!(1), json!(2)]));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rest(pub Vec<Value>);

impl<'de> Deserialize<'de> for Rest {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(REST_TOKEN, RestVisitor)
    }
}

struct RestVisitor;

impl<'de> Visitor<'de> for RestVisitor {
    type Value = Rest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the remaining arguments")
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Rest, D::Error> {
        Vec::<Value>::deserialize(d).map(Rest)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rest, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Rest(items))
    }
}

/// The JSON shape of `value`, for "invalid type" errors.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (None, Some(i)) => Unexpected::Signed(i),
            (None, None) => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// Hands a JSON number to `visitor` as the type it is stored as; the visitor converts
/// (and range-checks), as with `serde_json`.
fn visit_number<'de, V: Visitor<'de>>(n: &Number, visitor: V) -> Result<V::Value, SerdeError> {
    if let Some(u) = n.as_u64() {
        visitor.visit_u64(u)
    } else if let Some(i) = n.as_i64() {
        visitor.visit_i64(i)
    } else if let Some(f) = n.as_f64() {
        visitor.visit_f64(f)
    } else {
        Err(SerdeError::NumberOutOfRange)
    }
}

/// `true` for an object marked as a binary placeholder (well formed or not).
fn is_placeholder(map: &Map<String, Value>) -> bool {
    map.get(PLACEHOLDER_KEY) == Some(&Value::Bool(true))
}

/// Deserializes from a borrowed [`Value`], resolving placeholders.
#[derive(Clone, Copy)]
struct ValueDeserializer<'de> {
    value: &'de Value,
    attachments: &'de [Bytes],
    /// The value stands for an absent argument: it reads as `null`, and type errors
    /// say "missing" instead.
    missing: bool,
}

impl<'de> ValueDeserializer<'de> {
    fn new(value: &'de Value, attachments: &'de [Bytes]) -> Self {
        ValueDeserializer {
            value,
            attachments,
            missing: false,
        }
    }

    fn absent(attachments: &'de [Bytes]) -> Self {
        ValueDeserializer {
            value: &ABSENT,
            attachments,
            missing: true,
        }
    }

    /// The bytes this value stands for, if it is a placeholder.
    fn binary(&self) -> Result<Option<&'de [u8]>, SerdeError> {
        match self.value {
            Value::Object(map) if is_placeholder(map) => {
                let num = placeholder_index(self.value).ok_or(SerdeError::InvalidPlaceholder)?;
                match self.attachments.get(num) {
                    Some(bytes) => Ok(Some(bytes.as_ref())),
                    None => Err(SerdeError::PlaceholderOutOfRange {
                        num,
                        count: self.attachments.len(),
                    }),
                }
            }
            _ => Ok(None),
        }
    }

    fn invalid_type(&self, expected: &dyn Expected) -> SerdeError {
        if self.missing {
            SerdeError::Missing {
                expected: expected.to_string(),
            }
        } else {
            de::Error::invalid_type(unexpected(self.value), expected)
        }
    }

    /// The value does not have the shape the visitor asked for. Binary data is only
    /// given to targets that ask for bytes, a sequence or anything; here it is a type
    /// error like any other.
    fn mismatch<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.binary()? {
            Some(bytes) => Err(de::Error::invalid_type(Unexpected::Bytes(bytes), &visitor)),
            None => Err(self.invalid_type(&visitor)),
        }
    }

    fn visit_array<V: Visitor<'de>>(
        self,
        items: &'de [Value],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        let mut access = ArrayAccess {
            items: items.iter(),
            attachments: self.attachments,
        };
        let out = visitor.visit_seq(&mut access)?;
        if access.items.len() == 0 {
            Ok(out)
        } else {
            Err(de::Error::invalid_length(
                items.len(),
                &"fewer elements in array",
            ))
        }
    }

    fn visit_object<V: Visitor<'de>>(
        self,
        map: &'de Map<String, Value>,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        let mut access = ObjectAccess {
            entries: map.iter(),
            value: None,
            attachments: self.attachments,
        };
        let out = visitor.visit_map(&mut access)?;
        if access.entries.len() == 0 {
            Ok(out)
        } else {
            Err(de::Error::invalid_length(
                map.len(),
                &"fewer elements in map",
            ))
        }
    }

    /// Binary data as a sequence of `u8`, for `Vec<u8>`, `[u8; N]` and the like.
    fn visit_byte_seq<V: Visitor<'de>>(
        bytes: &'de [u8],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        let mut seq = SeqDeserializer::<_, SerdeError>::new(bytes.iter().copied());
        let out = visitor.visit_seq(&mut seq)?;
        seq.end()?;
        Ok(out)
    }

    fn sequence<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        if let Some(bytes) = self.binary()? {
            return Self::visit_byte_seq(bytes, visitor);
        }
        match self.value {
            Value::Array(items) => self.visit_array(items, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn bytes<V: Visitor<'de>>(self, visitor: V, owned: bool) -> Result<V::Value, SerdeError> {
        if let Some(bytes) = self.binary()? {
            return if owned {
                visitor.visit_byte_buf(bytes.to_vec())
            } else {
                visitor.visit_borrowed_bytes(bytes)
            };
        }
        match self.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.visit_array(items, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
}

macro_rules! deserialize_number {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
            match self.value {
                Value::Number(n) => visit_number(n, visitor),
                _ => self.mismatch(visitor),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = SerdeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        if let Some(bytes) = self.binary()? {
            return visitor.visit_borrowed_bytes(bytes);
        }
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => visit_number(n, visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.visit_array(items, visitor),
            Value::Object(map) => self.visit_object(map, visitor),
        }
    }

    deserialize_number! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            _ => self.mismatch(visitor),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            _ => self.mismatch(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        self.bytes(visitor, false)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        self.bytes(visitor, true)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            _ => self.mismatch(visitor),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        self.sequence(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.sequence(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.sequence(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.value {
            Value::Object(map) if !is_placeholder(map) => self.visit_object(map, visitor),
            _ => self.mismatch(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        match self.value {
            Value::Array(items) => self.visit_array(items, visitor),
            Value::Object(map) if !is_placeholder(map) => self.visit_object(map, visitor),
            _ => self.mismatch(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        match self.value {
            Value::String(variant) => visitor.visit_enum(EnumAccessor {
                variant,
                value: None,
                attachments: self.attachments,
            }),
            Value::Object(map) if !is_placeholder(map) => {
                let mut entries = map.iter();
                match (entries.next(), entries.next()) {
                    (Some((variant, value)), None) => visitor.visit_enum(EnumAccessor {
                        variant,
                        value: Some(value),
                        attachments: self.attachments,
                    }),
                    _ => Err(de::Error::invalid_value(
                        Unexpected::Map,
                        &"map with a single key",
                    )),
                }
            }
            _ => self.mismatch(visitor),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        visitor.visit_unit()
    }
}

/// The elements of a JSON array.
struct ArrayAccess<'de> {
    items: std::slice::Iter<'de, Value>,
    attachments: &'de [Bytes],
}

impl<'de> SeqAccess<'de> for ArrayAccess<'de> {
    type Error = SerdeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, SerdeError> {
        match self.items.next() {
            Some(item) => seed
                .deserialize(ValueDeserializer::new(item, self.attachments))
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// The entries of a JSON object.
struct ObjectAccess<'de> {
    entries: serde_json::map::Iter<'de>,
    /// The value of the key just handed out.
    value: Option<&'de Value>,
    attachments: &'de [Bytes],
}

impl<'de> MapAccess<'de> for ObjectAccess<'de> {
    type Error = SerdeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, SerdeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(KeyDeserializer { key }).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, SerdeError> {
        match self.value.take() {
            Some(value) => seed.deserialize(ValueDeserializer::new(value, self.attachments)),
            None => Err(SerdeError::Message(
                "map value requested before its key".to_owned(),
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum: a variant name, with the variant's data when there is any.
struct EnumAccessor<'de> {
    variant: &'de str,
    value: Option<&'de Value>,
    attachments: &'de [Bytes],
}

impl<'de> EnumAccess<'de> for EnumAccessor<'de> {
    type Error = SerdeError;
    type Variant = VariantAccessor<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantAccessor<'de>), SerdeError> {
        let variant = seed.deserialize(BorrowedStrDeserializer::new(self.variant))?;
        Ok((
            variant,
            VariantAccessor {
                value: self.value,
                attachments: self.attachments,
            },
        ))
    }
}

struct VariantAccessor<'de> {
    value: Option<&'de Value>,
    attachments: &'de [Bytes],
}

impl<'de> VariantAccess<'de> for VariantAccessor<'de> {
    type Error = SerdeError;

    fn unit_variant(self) -> Result<(), SerdeError> {
        match self.value {
            Some(value) => <()>::deserialize(ValueDeserializer::new(value, self.attachments)),
            None => Ok(()),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, SerdeError> {
        match self.value {
            Some(value) => seed.deserialize(ValueDeserializer::new(value, self.attachments)),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        match self.value {
            Some(value) => ValueDeserializer::new(value, self.attachments).sequence(visitor),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        match self.value {
            Some(value @ Value::Object(map)) if !is_placeholder(map) => {
                ValueDeserializer::new(value, self.attachments).visit_object(map, visitor)
            }
            Some(other) => Err(de::Error::invalid_type(
                unexpected(other),
                &"struct variant",
            )),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

/// A map key: a string, which numeric and boolean targets parse, as in `serde_json`.
struct KeyDeserializer<'de> {
    key: &'de str,
}

macro_rules! deserialize_numeric_key {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
            // A JSON number starts with a digit or '-' and ends with a digit; checking
            // both ends keeps out whitespace, which the JSON parser would skip.
            let bytes = self.key.as_bytes();
            let numeric = matches!(bytes.first(), Some(b'0'..=b'9' | b'-'))
                && bytes.last().is_some_and(u8::is_ascii_digit);
            if !numeric {
                return Err(de::Error::invalid_type(Unexpected::Str(self.key), &visitor));
            }
            let mut parser = serde_json::Deserializer::from_str(self.key);
            let out = (&mut parser).$method(visitor).map_err(json_error)?;
            parser.end().map_err(json_error)?;
            Ok(out)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDeserializer<'de> {
    type Error = SerdeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        visitor.visit_borrowed_str(self.key)
    }

    deserialize_numeric_key! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        match self.key {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => Err(de::Error::invalid_type(Unexpected::Str(self.key), &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        // A key is never null.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        BorrowedStrDeserializer::<SerdeError>::new(self.key)
            .deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct
        map struct identifier ignored_any
    }
}

/// The whole argument list of a payload (see [`from_args`]).
struct ArgsDeserializer<'de> {
    args: &'de [Value],
    attachments: &'de [Bytes],
}

impl<'de> ArgsDeserializer<'de> {
    fn spread<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, SerdeError> {
        visitor.visit_seq(ArgsAccess {
            args: self.args,
            attachments: self.attachments,
            next: 0,
            len,
            rest_taken: false,
        })
    }

    /// The first argument, for a target that is not spread over the arguments.
    fn first(&self) -> ArgDeserializer<'_, 'de> {
        ArgDeserializer {
            args: self.args,
            attachments: self.attachments,
            index: 0,
            rest_taken: None,
        }
    }
}

macro_rules! forward_to_first_arg {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, SerdeError> {
            self.first().$method($($arg,)* visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ArgsDeserializer<'de> {
    type Error = SerdeError;

    forward_to_first_arg! {
        deserialize_any() deserialize_bool()
        deserialize_i8() deserialize_i16() deserialize_i32() deserialize_i64() deserialize_i128()
        deserialize_u8() deserialize_u16() deserialize_u32() deserialize_u64() deserialize_u128()
        deserialize_f32() deserialize_f64() deserialize_char() deserialize_str()
        deserialize_string() deserialize_bytes() deserialize_byte_buf() deserialize_option()
        deserialize_unit_struct(name: &'static str) deserialize_seq() deserialize_map()
        deserialize_struct(name: &'static str, fields: &'static [&'static str])
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
        deserialize_identifier() deserialize_ignored_any()
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SerdeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        if name == REST_TOKEN {
            visitor
                .visit_newtype_struct(RawArgs(self.args))
                .map_err(json_error)
        } else {
            visitor.visit_newtype_struct(self)
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.spread(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        self.spread(len, visitor)
    }
}

/// The arguments as the elements of a tuple of `len` elements.
struct ArgsAccess<'de> {
    args: &'de [Value],
    attachments: &'de [Bytes],
    next: usize,
    len: usize,
    /// A [`Rest`] element has taken the remaining arguments.
    rest_taken: bool,
}

impl<'de> SeqAccess<'de> for ArgsAccess<'de> {
    type Error = SerdeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, SerdeError> {
        if self.next >= self.len {
            return Ok(None);
        }
        let index = self.next;
        self.next += 1;
        seed.deserialize(ArgDeserializer {
            args: self.args,
            attachments: self.attachments,
            index,
            rest_taken: Some(&mut self.rest_taken),
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len - self.next)
    }
}

/// Argument `index` of the list; errors are attributed to it.
struct ArgDeserializer<'a, 'de> {
    args: &'de [Value],
    attachments: &'de [Bytes],
    index: usize,
    /// Inside a tuple: whether a [`Rest`] element took the remaining arguments.
    rest_taken: Option<&'a mut bool>,
}

impl<'de> ArgDeserializer<'_, 'de> {
    fn value(&self) -> ValueDeserializer<'de> {
        let taken = self.rest_taken.as_deref().copied().unwrap_or(false);
        match self.args.get(self.index) {
            Some(value) if !taken => ValueDeserializer::new(value, self.attachments),
            _ => ValueDeserializer::absent(self.attachments),
        }
    }
}

macro_rules! forward_to_value {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, SerdeError> {
            let index = self.index;
            self.value().$method($($arg,)* visitor).map_err(|e| e.at(index))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ArgDeserializer<'_, 'de> {
    type Error = SerdeError;

    forward_to_value! {
        deserialize_any() deserialize_bool()
        deserialize_i8() deserialize_i16() deserialize_i32() deserialize_i64() deserialize_i128()
        deserialize_u8() deserialize_u16() deserialize_u32() deserialize_u64() deserialize_u128()
        deserialize_f32() deserialize_f64() deserialize_char() deserialize_str()
        deserialize_string() deserialize_bytes() deserialize_byte_buf() deserialize_option()
        deserialize_unit() deserialize_unit_struct(name: &'static str) deserialize_seq()
        deserialize_tuple(len: usize) deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_map() deserialize_struct(name: &'static str, fields: &'static [&'static str])
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
        deserialize_identifier() deserialize_ignored_any()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SerdeError> {
        let index = self.index;
        if name != REST_TOKEN {
            return self
                .value()
                .deserialize_newtype_struct(name, visitor)
                .map_err(|e| e.at(index));
        }
        let already_taken = match self.rest_taken.as_deref_mut() {
            Some(taken) => std::mem::replace(taken, true),
            None => false,
        };
        let rest = if already_taken {
            &[][..]
        } else {
            self.args.get(index..).unwrap_or_default()
        };
        visitor
            .visit_newtype_struct(RawArgs(rest))
            .map_err(|e| json_error(e).at(index))
    }
}

/// Arguments handed to [`Rest`] untouched, through `serde_json`'s own deserializer.
struct RawArgs<'de>(&'de [Value]);

impl<'de> de::Deserializer<'de> for RawArgs<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        visitor.visit_seq(RawArgsAccess(self.0.iter()))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct RawArgsAccess<'de>(std::slice::Iter<'de, Value>);

impl<'de> SeqAccess<'de> for RawArgsAccess<'de> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, serde_json::Error> {
        self.0
            .next()
            .map(|value| seed.deserialize(value))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// Deserializes argument `index` of `payload` on its own, as the element of a tuple given to
/// [`from_args`] would be: a missing argument reads as absent, and a [`Rest`] takes every
/// argument from `index` on (after which `rest_taken` makes the following ones absent).
pub(crate) fn arg_at<T: DeserializeOwned>(
    payload: &Payload,
    index: usize,
    rest_taken: &mut bool,
) -> Result<T, SerdeError> {
    T::deserialize(ArgDeserializer {
        args: &payload.args,
        attachments: &payload.attachments,
        index,
        rest_taken: Some(rest_taken),
    })
}
