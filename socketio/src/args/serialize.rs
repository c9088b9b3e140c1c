//! Rust values → JSON arguments plus attachments.

use super::*;

// ---------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------

/// Serializes `args` into event arguments, moving binary data into attachments.
///
/// How `args` is split into arguments:
///
/// * a tuple, a tuple struct or a fixed-size array (serde treats those as tuples)
///   gives one argument per element;
/// * the unit value `()` gives no argument;
/// * anything else gives exactly one argument (a `Vec` is one array argument, a struct
///   one object argument, `None` one `null` argument).
///
/// A newtype struct is transparent: it splits like the value it wraps.
///
/// Attachments are numbered in the order the bytes are met, depth first.
///
/// ```
/// use socketio::args::to_payload;
///
/// #[derive(serde::Serialize)]
/// struct Upload { name: String, data: bytes::Bytes }
///
/// # fn main() -> Result<(), socketio::args::SerdeError> {
/// let upload = Upload { name: "a.bin".into(), data: bytes::Bytes::from_static(&[1, 2]) };
/// let payload = to_payload(&("upload", upload))?;
/// assert_eq!(
///     serde_json::Value::Array(payload.args.into_vec()).to_string(),
///     r#"["upload",{"name":"a.bin","data":{"_placeholder":true,"num":0}}]"#,
/// );
/// assert_eq!(payload.attachments, [bytes::Bytes::from_static(&[1, 2])]);
/// # Ok(())
/// # }
/// ```
pub fn to_payload<T: Serialize + ?Sized>(args: &T) -> Result<Payload, SerdeError> {
    let mut attachments = Vec::new();
    let mut spread = false;
    let value = args.serialize(ValueSerializer {
        attachments: &mut attachments,
        spread: Some(&mut spread),
        failed: None,
    })?;
    Ok(spread_into_payload(spread, value, attachments))
}

fn spread_into_payload(spread: bool, value: Value, attachments: Vec<Bytes>) -> Payload {
    let args = match (spread, value) {
        (true, Value::Array(items)) => items,
        (true, Value::Null) => Vec::new(),
        (_, value) => vec![value],
    };
    Payload {
        args: args.into(),
        attachments,
    }
}

/// Serializes a handler's return value into its ack: like [`to_payload`], except that a
/// `Result` at the top is opened. `Ok(value)` acks with `value`'s arguments; `Err(error)`
/// comes back as the inner `Err`, the error as one JSON value, for the caller to turn into
/// an error ack. (serde writes a `Result` as the enum `Result` with variants `Ok` and `Err`,
/// which is how it is recognized.)
pub(crate) fn to_ack<T: Serialize + ?Sized>(
    value: &T,
) -> Result<Result<Payload, Value>, SerdeError> {
    let mut attachments = Vec::new();
    let mut spread = false;
    let mut failed = false;
    let value = value.serialize(ValueSerializer {
        attachments: &mut attachments,
        spread: Some(&mut spread),
        failed: Some(&mut failed),
    })?;
    if failed {
        return Ok(Err(value));
    }
    Ok(Ok(spread_into_payload(spread, value, attachments)))
}

/// Serializes `value` into one JSON argument, appending its binary data to
/// `attachments` (placeholders number from the attachments already there).
///
/// On error, `attachments` is left as it was.
pub fn to_arg<T: Serialize + ?Sized>(
    value: &T,
    attachments: &mut Vec<Bytes>,
) -> Result<Value, SerdeError> {
    let before = attachments.len();
    let result = value.serialize(ValueSerializer::new(attachments));
    if result.is_err() {
        attachments.truncate(before);
    }
    result
}

/// Builds a [`Value`] the way `serde_json::to_value` does, except that bytes become
/// attachments.
struct ValueSerializer<'a> {
    attachments: &'a mut Vec<Bytes>,
    /// Only set for the top value of [`to_payload`]: becomes `true` when that value is
    /// a tuple (or unit) and so spreads into several arguments.
    spread: Option<&'a mut bool>,
    /// Only set for the top value of [`to_ack`]: becomes `true` when that value is an
    /// `Err`.
    failed: Option<&'a mut bool>,
}

impl<'a> ValueSerializer<'a> {
    fn new(attachments: &'a mut Vec<Bytes>) -> Self {
        ValueSerializer {
            attachments,
            spread: None,
            failed: None,
        }
    }

    fn mark_spread(&mut self) {
        if let Some(spread) = self.spread.as_deref_mut() {
            *spread = true;
        }
    }
}

/// `{variant: value}`, the JSON shape of an enum variant with data.
fn variant_object(variant: &'static str, value: Value) -> Value {
    let mut map = Map::with_capacity(1);
    map.insert(variant.to_owned(), value);
    Value::Object(map)
}

impl<'a> ser::Serializer for ValueSerializer<'a> {
    type Ok = Value;
    type Error = SerdeError;
    type SerializeSeq = SeqSerializer<'a>;
    type SerializeTuple = SeqSerializer<'a>;
    type SerializeTupleStruct = SeqSerializer<'a>;
    type SerializeTupleVariant = VariantSeqSerializer<'a>;
    type SerializeMap = MapSerializer<'a>;
    type SerializeStruct = MapSerializer<'a>;
    type SerializeStructVariant = VariantMapSerializer<'a>;

    fn serialize_bool(self, v: bool) -> Result<Value, SerdeError> {
        Ok(Value::Bool(v))
    }

    fn serialize_i8(self, v: i8) -> Result<Value, SerdeError> {
        Ok(Value::from(v))
    }

    fn serialize_i16(self, v: i16) -> Result<Value, SerdeError> {
        Ok(Value::from(v))
    }

    fn serialize_i32(self, v: i32) -> Result<Value, SerdeError> {
        Ok(Value::from(v))
    }

    fn serialize_i64(self, v: i64) -> Result<Value, SerdeError> {
        Ok(Value::from(v))
    }

    fn serialize_i128(self, v: i128) -> Result<Value, SerdeError> {
        if let Ok(v) = u64::try_from(v) {
            Ok(Value::from(v))
        } else if let Ok(v) = i64::try_from(v) {
            Ok(Value::from(v))
        } else {
            Err(SerdeError::NumberOutOfRange)
        }
    }

    fn serialize_u8(self, v: u8) -> Result<Value, SerdeError> {
        Ok(Value::from(v))
    }

    fn serialize_u16(self, v: u16) -> Result<Value, SerdeError> {
        Ok(Value::from(v))
    }

    fn serialize_u32(self, v: u32) -> Result<Value, SerdeError> {
        Ok(Value::from(v))
    }

    fn serialize_u64(self, v: u64) -> Result<Value, SerdeError> {
        Ok(Value::from(v))
    }

    fn serialize_u128(self, v: u128) -> Result<Value, SerdeError> {
        u64::try_from(v)
            .map(Value::from)
            .map_err(|_| SerdeError::NumberOutOfRange)
    }

    // Non-finite floats become `null`, as with `serde_json::to_value`.
    fn serialize_f32(self, v: f32) -> Result<Value, SerdeError> {
        Ok(Value::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<Value, SerdeError> {
        Ok(Value::from(v))
    }

    fn serialize_char(self, v: char) -> Result<Value, SerdeError> {
        Ok(Value::String(v.to_string()))
    }

    fn serialize_str(self, v: &str) -> Result<Value, SerdeError> {
        Ok(Value::String(v.to_owned()))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Value, SerdeError> {
        Ok(attach(self.attachments, Bytes::copy_from_slice(v)))
    }

    fn serialize_none(self) -> Result<Value, SerdeError> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, SerdeError> {
        // `Some(tuple)` is one argument, so the spread marker is not passed on.
        value.serialize(ValueSerializer::new(self.attachments))
    }

    fn serialize_unit(mut self) -> Result<Value, SerdeError> {
        self.mark_spread();
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, SerdeError> {
        Ok(Value::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, SerdeError> {
        Ok(Value::String(variant.to_owned()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, SerdeError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, SerdeError> {
        if let (Some(failed), "Result") = (self.failed, name) {
            // A handler's `Result`: its `Ok` value is the ack, split as usual.
            if variant == "Err" {
                *failed = true;
                return value.serialize(ValueSerializer::new(self.attachments));
            }
            return value.serialize(ValueSerializer {
                attachments: self.attachments,
                spread: self.spread,
                failed: None,
            });
        }
        let value = value.serialize(ValueSerializer::new(self.attachments))?;
        Ok(variant_object(variant, value))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSerializer<'a>, SerdeError> {
        Ok(SeqSerializer::new(self.attachments, len.unwrap_or(0)))
    }

    fn serialize_tuple(mut self, len: usize) -> Result<SeqSerializer<'a>, SerdeError> {
        self.mark_spread();
        Ok(SeqSerializer::new(self.attachments, len))
    }

    fn serialize_tuple_struct(
        mut self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqSerializer<'a>, SerdeError> {
        self.mark_spread();
        Ok(SeqSerializer::new(self.attachments, len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSeqSerializer<'a>, SerdeError> {
        Ok(VariantSeqSerializer {
            variant,
            seq: SeqSerializer::new(self.attachments, len),
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<MapSerializer<'a>, SerdeError> {
        Ok(MapSerializer::new(self.attachments, len.unwrap_or(0)))
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<MapSerializer<'a>, SerdeError> {
        Ok(MapSerializer::new(self.attachments, len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantMapSerializer<'a>, SerdeError> {
        Ok(VariantMapSerializer {
            variant,
            map: MapSerializer::new(self.attachments, len),
        })
    }
}

/// Sequences and tuples, as a JSON array.
struct SeqSerializer<'a> {
    attachments: &'a mut Vec<Bytes>,
    items: Vec<Value>,
}

impl<'a> SeqSerializer<'a> {
    fn new(attachments: &'a mut Vec<Bytes>, len: usize) -> Self {
        SeqSerializer {
            attachments,
            items: Vec::with_capacity(len),
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        let value = value.serialize(ValueSerializer::new(self.attachments))?;
        self.items.push(value);
        Ok(())
    }
}

impl ser::SerializeSeq for SeqSerializer<'_> {
    type Ok = Value;
    type Error = SerdeError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, SerdeError> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeTuple for SeqSerializer<'_> {
    type Ok = Value;
    type Error = SerdeError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, SerdeError> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeTupleStruct for SeqSerializer<'_> {
    type Ok = Value;
    type Error = SerdeError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, SerdeError> {
        Ok(Value::Array(self.items))
    }
}

/// A tuple variant, as `{variant: [..]}`.
struct VariantSeqSerializer<'a> {
    variant: &'static str,
    seq: SeqSerializer<'a>,
}

impl ser::SerializeTupleVariant for VariantSeqSerializer<'_> {
    type Ok = Value;
    type Error = SerdeError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        self.seq.push(value)
    }

    fn end(self) -> Result<Value, SerdeError> {
        Ok(variant_object(self.variant, Value::Array(self.seq.items)))
    }
}

/// Maps and structs, as a JSON object.
struct MapSerializer<'a> {
    attachments: &'a mut Vec<Bytes>,
    map: Map<String, Value>,
    /// The key given to `serialize_key`, waiting for its value.
    key: Option<String>,
}

impl<'a> MapSerializer<'a> {
    fn new(attachments: &'a mut Vec<Bytes>, len: usize) -> Self {
        MapSerializer {
            attachments,
            map: Map::with_capacity(len),
            key: None,
        }
    }

    fn insert<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), SerdeError> {
        let value = value.serialize(ValueSerializer::new(self.attachments))?;
        self.map.insert(key, value);
        Ok(())
    }
}

impl ser::SerializeMap for MapSerializer<'_> {
    type Ok = Value;
    type Error = SerdeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerdeError> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerdeError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerdeError::Message("map value serialized before its key".to_owned()))?;
        self.insert(key, value)
    }

    fn end(self) -> Result<Value, SerdeError> {
        Ok(Value::Object(self.map))
    }
}

impl ser::SerializeStruct for MapSerializer<'_> {
    type Ok = Value;
    type Error = SerdeError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerdeError> {
        self.insert(key.to_owned(), value)
    }

    fn end(self) -> Result<Value, SerdeError> {
        Ok(Value::Object(self.map))
    }
}

/// A struct variant, as `{variant: {..}}`.
struct VariantMapSerializer<'a> {
    variant: &'static str,
    map: MapSerializer<'a>,
}

impl ser::SerializeStructVariant for VariantMapSerializer<'_> {
    type Ok = Value;
    type Error = SerdeError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerdeError> {
        self.map.insert(key.to_owned(), value)
    }

    fn end(self) -> Result<Value, SerdeError> {
        Ok(variant_object(self.variant, Value::Object(self.map.map)))
    }
}

/// Turns a map key into the string JSON needs, with the conversions of `serde_json`:
/// numbers and booleans are written out, unit variants give their name.
struct KeySerializer;

/// A finite float written as `serde_json` writes it.
fn float_key<F: Serialize + Copy>(v: F, finite: bool) -> Result<String, SerdeError> {
    if finite {
        serde_json::to_string(&v).map_err(json_error)
    } else {
        Err(SerdeError::Message(
            "map key must be a finite number".to_owned(),
        ))
    }
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = SerdeError;
    type SerializeSeq = Impossible<String, SerdeError>;
    type SerializeTuple = Impossible<String, SerdeError>;
    type SerializeTupleStruct = Impossible<String, SerdeError>;
    type SerializeTupleVariant = Impossible<String, SerdeError>;
    type SerializeMap = Impossible<String, SerdeError>;
    type SerializeStruct = Impossible<String, SerdeError>;
    type SerializeStructVariant = Impossible<String, SerdeError>;

    fn serialize_bool(self, v: bool) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_i8(self, v: i8) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_i16(self, v: i16) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_i32(self, v: i32) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_i64(self, v: i64) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_i128(self, v: i128) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_u8(self, v: u8) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_u16(self, v: u16) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_u32(self, v: u32) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_u64(self, v: u64) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_u128(self, v: u128) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_f32(self, v: f32) -> Result<String, SerdeError> {
        float_key(v, v.is_finite())
    }

    fn serialize_f64(self, v: f64) -> Result<String, SerdeError> {
        float_key(v, v.is_finite())
    }

    fn serialize_char(self, v: char) -> Result<String, SerdeError> {
        Ok(v.to_string())
    }

    fn serialize_str(self, v: &str) -> Result<String, SerdeError> {
        Ok(v.to_owned())
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<String, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_none(self) -> Result<String, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_unit(self) -> Result<String, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, SerdeError> {
        Ok(variant.to_owned())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, SerdeError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, SerdeError> {
        Err(SerdeError::KeyMustBeString)
    }
}
