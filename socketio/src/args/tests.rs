use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use proptest::prelude::*;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use super::deserialize::*;
use super::serialize::*;
use super::*;
use crate::parser::placeholder;

/// Binary data the way `serde_bytes::ByteBuf` handles it: `serialize_bytes` out,
/// bytes or a sequence of numbers in.
#[derive(Debug, Clone, PartialEq, Default)]
struct Blob(Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BlobVisitor;

        impl<'de> Visitor<'de> for BlobVisitor {
            type Value = Blob;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("binary data")
            }

            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Blob, E> {
                Ok(Blob(v.to_vec()))
            }

            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Blob, E> {
                Ok(Blob(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Blob, A::Error> {
                let mut out = Vec::new();
                while let Some(byte) = seq.next_element()? {
                    out.push(byte);
                }
                Ok(Blob(out))
            }
        }

        deserializer.deserialize_byte_buf(BlobVisitor)
    }
}

fn blob(bytes: &[u8]) -> Blob {
    Blob(bytes.to_vec())
}

fn attachments(list: &[&[u8]]) -> Vec<Bytes> {
    list.iter().map(|b| Bytes::copy_from_slice(b)).collect()
}

fn args_text(payload: &Payload) -> String {
    Value::Array(payload.args.to_vec()).to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    label: String,
    data: Blob,
    list: Vec<Blob>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Outer {
    id: u32,
    head: Blob,
    inner: Inner,
    maybe: Option<Blob>,
    plain: Vec<u8>,
    map: BTreeMap<String, Blob>,
}

fn sample() -> Outer {
    Outer {
        id: 7,
        head: blob(&[0]),
        inner: Inner {
            label: "in".into(),
            data: blob(&[1, 1]),
            list: vec![blob(&[2]), blob(&[]), blob(&[3, 3, 3])],
        },
        maybe: Some(blob(&[4])),
        plain: vec![9, 8],
        map: BTreeMap::from([("k".to_owned(), blob(&[5]))]),
    }
}

#[test]
fn nested_binary_becomes_placeholders_in_order() {
    let payload = to_payload(&sample()).unwrap();
    let p = |n| placeholder(n).to_string();
    assert_eq!(
        args_text(&payload),
        format!(
            r#"[{{"id":7,"head":{},"inner":{{"label":"in","data":{},"list":[{},{},{}]}},"maybe":{},"plain":[9,8],"map":{{"k":{}}}}}]"#,
            p(0),
            p(1),
            p(2),
            p(3),
            p(4),
            p(5),
            p(6)
        )
    );
    assert_eq!(
        payload.attachments,
        attachments(&[&[0], &[1, 1], &[2], &[], &[3, 3, 3], &[4], &[5]])
    );
    let back: Outer = from_args(&payload).unwrap();
    assert_eq!(back, sample());
    let one: Outer = from_arg(&payload.args[0], &payload.attachments).unwrap();
    assert_eq!(one, sample());
}

#[test]
fn placeholder_text_is_exact() {
    #[derive(Serialize)]
    struct S {
        a: Blob,
    }
    let payload = to_payload(&("x", S { a: blob(&[1, 2]) })).unwrap();
    assert_eq!(
        args_text(&payload),
        r#"["x",{"a":{"_placeholder":true,"num":0}}]"#
    );
}

#[test]
fn to_arg_numbers_after_existing_attachments() {
    let mut list = attachments(&[b"first"]);
    let value = to_arg(&(blob(b"a"), "s"), &mut list).unwrap();
    assert_eq!(value, json!([placeholder(1), "s"]));
    assert_eq!(list, attachments(&[b"first", b"a"]));

    // A failure leaves the attachments alone.
    let mut map = HashMap::new();
    map.insert(vec![1u8], blob(b"lost"));
    let bad = (blob(b"kept?"), map);
    assert_eq!(to_arg(&bad, &mut list), Err(SerdeError::KeyMustBeString));
    assert_eq!(list.len(), 2);
}

#[test]
fn tuples_spread_into_arguments() {
    let payload = to_payload(&("a", 1u8, blob(&[7]), [1, 2])).unwrap();
    assert_eq!(
        args_text(&payload),
        format!(r#"["a",1,{},[1,2]]"#, placeholder(0))
    );
    assert_eq!(payload.attachments, attachments(&[&[7]]));
    let back: (String, u8, Blob, [i32; 2]) = from_args(&payload).unwrap();
    assert_eq!(back, ("a".to_owned(), 1, blob(&[7]), [1, 2]));

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pair(String, Blob);
    let payload = to_payload(&Pair("p".into(), blob(&[1]))).unwrap();
    assert_eq!(payload.args.len(), 2);
    assert_eq!(
        from_args::<Pair>(&payload).unwrap(),
        Pair("p".into(), blob(&[1]))
    );

    // A fixed-size array is a tuple to serde.
    assert_eq!(
        to_payload(&[1, 2, 3]).unwrap().args,
        [json!(1), json!(2), json!(3)]
    );
    assert_eq!(
        from_args::<[u8; 3]>(&to_payload(&[1, 2, 3]).unwrap()).unwrap(),
        [1, 2, 3]
    );
}

#[test]
fn unit_gives_no_arguments() {
    let payload = to_payload(&()).unwrap();
    assert_eq!(payload, Payload::default());
    from_args::<()>(&payload).unwrap();
    // `()` ignores whatever arguments there are.
    from_args::<()>(&to_payload(&(1, 2)).unwrap()).unwrap();
}

#[test]
fn other_values_are_one_argument() {
    assert_eq!(to_payload(&vec![1, 2]).unwrap().args, [json!([1, 2])]);
    assert_eq!(to_payload(&"s").unwrap().args, [json!("s")]);
    assert_eq!(to_payload(&None::<u8>).unwrap().args, [Value::Null]);
    assert_eq!(to_payload(&Some((1, 2))).unwrap().args, [json!([1, 2])]);
    #[derive(Serialize)]
    struct Unit;
    assert_eq!(to_payload(&Unit).unwrap().args, [Value::Null]);
    assert_eq!(to_payload(&blob(&[1])).unwrap().args, [placeholder(0)]);

    // A newtype struct is transparent, both ways.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Wrapped((u8, String));
    let payload = to_payload(&Wrapped((1, "w".into()))).unwrap();
    assert_eq!(payload.args, [json!(1), json!("w")]);
    assert_eq!(
        from_args::<Wrapped>(&payload).unwrap(),
        Wrapped((1, "w".into()))
    );
}

#[test]
fn single_target_reads_first_argument() {
    let payload = Payload {
        args: vec![json!([1, 2]), json!("ignored")].into(),
        attachments: Vec::new(),
    };
    assert_eq!(from_args::<Vec<u8>>(&payload).unwrap(), [1, 2]);
    assert_eq!(from_args::<Value>(&payload).unwrap(), json!([1, 2]));
    assert_eq!(from_args::<Option<u8>>(&Payload::default()).unwrap(), None);
    assert_eq!(
        from_args::<u8>(&Payload::default())
            .unwrap_err()
            .to_string(),
        "argument 0: missing, expected u8"
    );
}

#[test]
fn trailing_options_may_be_missing() {
    let payload = Payload {
        args: vec![json!("only")].into(),
        attachments: Vec::new(),
    };
    let (s, n, b): (String, Option<u32>, Option<Blob>) = from_args(&payload).unwrap();
    assert_eq!((s.as_str(), n, b), ("only", None, None));

    let err = from_args::<(String, u32)>(&payload).unwrap_err();
    assert_eq!(err.to_string(), "argument 1: missing, expected u32");
    assert_eq!(
        err,
        SerdeError::Argument {
            index: 1,
            error: Box::new(SerdeError::Missing {
                expected: "u32".into()
            }),
        }
    );
}

#[test]
fn extra_arguments_are_ignored() {
    let payload = to_payload(&("a", 1, 2, 3)).unwrap();
    let (a,): (String,) = from_args(&payload).unwrap();
    assert_eq!(a, "a");
}

#[test]
fn wrong_types_name_the_argument() {
    let payload = Payload {
        args: vec![json!("a"), json!(1), json!("x")].into(),
        attachments: Vec::new(),
    };
    let err = from_args::<(String, u32, u32)>(&payload).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"argument 2: invalid type: string "x", expected u32"#
    );

    let payload = Payload::from_args(vec![json!(300)]);
    assert_eq!(
        from_args::<u8>(&payload).unwrap_err().to_string(),
        "argument 0: invalid value: integer `300`, expected u8"
    );

    #[derive(Debug, Deserialize)]
    struct S {
        #[allow(dead_code)]
        n: u32,
    }
    let err = from_arg::<S>(&json!({ "n": -1 }), &[]).unwrap_err();
    assert_eq!(err.to_string(), "invalid value: integer `-1`, expected u32");
    let err = from_arg::<S>(&json!({}), &[]).unwrap_err();
    assert_eq!(err.to_string(), "missing field `n`");
}

#[test]
fn binary_where_something_else_is_expected() {
    let list = attachments(&[&[1, 2]]);
    let err = from_arg::<u32>(&placeholder(0), &list).unwrap_err();
    assert_eq!(err.to_string(), "invalid type: byte array, expected u32");
    let err = from_arg::<BTreeMap<String, u8>>(&placeholder(0), &list).unwrap_err();
    assert_eq!(err.to_string(), "invalid type: byte array, expected a map");
    // A `Value` cannot hold binary data.
    assert!(from_arg::<Value>(&placeholder(0), &list).is_err());
    // Not even UTF-8 binary passes for a string.
    let text = attachments(&[b"hi"]);
    let err = from_arg::<String>(&placeholder(0), &text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid type: byte array, expected a string"
    );
}

#[test]
fn bad_placeholders_are_errors() {
    let list = attachments(&[&[1]]);
    assert_eq!(
        from_arg::<Blob>(&placeholder(1), &list),
        Err(SerdeError::PlaceholderOutOfRange { num: 1, count: 1 })
    );
    assert_eq!(
        from_arg::<Vec<u8>>(&placeholder(5), &[]),
        Err(SerdeError::PlaceholderOutOfRange { num: 5, count: 0 })
    );
    for bad in [
        json!({ "_placeholder": true }),
        json!({ "_placeholder": true, "num": -1 }),
        json!({ "_placeholder": true, "num": "0" }),
        json!({ "_placeholder": true, "num": 0.5 }),
    ] {
        assert_eq!(
            from_arg::<Blob>(&bad, &list),
            Err(SerdeError::InvalidPlaceholder),
            "{bad}"
        );
        assert_eq!(
            from_arg::<Value>(&bad, &list),
            Err(SerdeError::InvalidPlaceholder),
            "{bad}"
        );
    }
    let payload = Payload {
        args: vec![json!("a"), json!({ "deep": [placeholder(3)] })].into(),
        attachments: list.clone(),
    };
    #[derive(Debug, Deserialize)]
    struct Deep {
        #[allow(dead_code)]
        deep: Vec<Blob>,
    }
    let err = from_args::<(String, Deep)>(&payload).unwrap_err();
    assert_eq!(
        err.to_string(),
        "argument 1: binary placeholder 3 out of range: 1 attachment(s)"
    );
    // `"_placeholder": false` is an ordinary object.
    let plain = json!({ "_placeholder": false, "num": 0 });
    assert_eq!(from_arg::<Value>(&plain, &list).unwrap(), plain);
    // Ignored fields are not looked at.
    #[derive(Debug, Deserialize, PartialEq)]
    struct Skips {
        a: u8,
    }
    let value = json!({ "a": 1, "b": placeholder(9) });
    assert_eq!(from_arg::<Skips>(&value, &list).unwrap(), Skips { a: 1 });
}

#[test]
fn socket_io_client_buffer() {
    // socket.emit("e", { a: Buffer.from([1, 2]) }, "x")
    #[derive(Debug, PartialEq, Deserialize)]
    struct S {
        a: Blob,
    }
    let payload = Payload {
        args: serde_json::from_str(r#"[{"a":{"_placeholder":true,"num":0}},"x"]"#).unwrap(),
        attachments: vec![Bytes::from_static(&[1, 2])],
    };
    let (s, x): (S, String) = from_args(&payload).unwrap();
    assert_eq!(s, S { a: blob(&[1, 2]) });
    assert_eq!(x, "x");

    #[derive(Debug, PartialEq, Deserialize)]
    struct V {
        a: Vec<u8>,
    }
    let (v, _): (V, String) = from_args(&payload).unwrap();
    assert_eq!(v.a, [1, 2]);
    let (a, _): (BTreeMap<String, [u8; 2]>, Value) = from_args(&payload).unwrap();
    assert_eq!(a["a"], [1, 2]);
}

#[test]
fn vec_u8_accepts_binary_and_numbers() {
    let list = attachments(&[&[4, 5]]);
    assert_eq!(from_arg::<Vec<u8>>(&placeholder(0), &list).unwrap(), [4, 5]);
    assert_eq!(from_arg::<Vec<u8>>(&json!([4, 5]), &list).unwrap(), [4, 5]);
    assert_eq!(
        from_arg::<Blob>(&json!([4, 5]), &list).unwrap(),
        blob(&[4, 5])
    );
    assert_eq!(
        from_arg::<Vec<u16>>(&placeholder(0), &list).unwrap(),
        [4, 5]
    );
    assert!(from_arg::<[u8; 3]>(&placeholder(0), &list).is_err());
    // Plain `Vec<u8>` serializes as numbers, as with serde_json.
    assert_eq!(to_payload(&vec![1u8, 2]).unwrap().args, [json!([1, 2])]);
}

#[test]
fn enums_with_binary() {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum E {
        Unit,
        New(Blob),
        Tuple(u8, Blob),
        Struct { data: Blob, n: i64 },
    }
    let values = vec![
        E::Unit,
        E::New(blob(&[1])),
        E::Tuple(2, blob(&[2])),
        E::Struct {
            data: blob(&[3]),
            n: -3,
        },
    ];
    let payload = to_payload(&values).unwrap();
    assert_eq!(
        args_text(&payload),
        format!(
            r#"[["Unit",{{"New":{}}},{{"Tuple":[2,{}]}},{{"Struct":{{"data":{},"n":-3}}}}]]"#,
            placeholder(0),
            placeholder(1),
            placeholder(2)
        )
    );
    assert_eq!(from_args::<Vec<E>>(&payload).unwrap(), values);
    assert!(from_arg::<E>(&json!({ "Unit": null, "New": 1 }), &[]).is_err());
    assert!(from_arg::<E>(&placeholder(0), &payload.attachments).is_err());
}

#[test]
fn tagged_untagged_and_flattened_binary() {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Data {
        // Before `Text`: serde's buffering lets a `String` take UTF-8 bytes.
        Binary(Blob),
        Text(String),
    }
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type")]
    enum Msg {
        File { name: String, data: Data },
    }
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Envelope {
        id: u8,
        #[serde(flatten)]
        msg: Msg,
    }
    let value = Envelope {
        id: 1,
        msg: Msg::File {
            name: "f".into(),
            data: Data::Binary(blob(&[6, 6])),
        },
    };
    let payload = to_payload(&(value.clone(), Data::Text("t".into()))).unwrap();
    assert_eq!(
        args_text(&payload),
        format!(
            r#"[{{"id":1,"type":"File","name":"f","data":{}}},"t"]"#,
            placeholder(0)
        )
    );
    let back: (Envelope, Data) = from_args(&payload).unwrap();
    assert_eq!(back, (value, Data::Text("t".into())));
}

/// A one-entry map `{key: 0}` with a float key.
struct FloatKey<F>(F);

impl<F: Serialize + Copy> Serialize for FloatKey<F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map([(self.0, 0)])
    }
}

#[test]
fn map_keys_follow_serde_json() {
    let map = BTreeMap::from([(1u32, "a"), (20, "b")]);
    let payload = to_payload(&map).unwrap();
    assert_eq!(args_text(&payload), r#"[{"1":"a","20":"b"}]"#);
    assert_eq!(
        from_args::<BTreeMap<u32, String>>(&payload).unwrap(),
        BTreeMap::from([(1, "a".to_owned()), (20, "b".to_owned())])
    );
    let keys = BTreeMap::from([(true, 1), (false, 0)]);
    assert_eq!(
        to_payload(&keys).unwrap().args,
        [json!({"false": 0, "true": 1})]
    );
    assert_eq!(
        from_arg::<BTreeMap<bool, u8>>(&json!({"false": 0, "true": 1}), &[]).unwrap(),
        keys
    );
    assert_eq!(
        to_payload(&FloatKey(-1.5f64)).unwrap().args,
        [json!({"-1.5": 0})]
    );
    assert_eq!(
        to_payload(&FloatKey(0.1f32)).unwrap().args,
        [serde_json::to_value(FloatKey(0.1f32)).unwrap()]
    );
    assert_eq!(
        to_payload(&FloatKey(0.1f32)).unwrap().args,
        [json!({"0.1": 0})]
    );
    assert_eq!(
        to_payload(&HashMap::from([('c', 0)])).unwrap().args,
        [json!({"c": 0})]
    );
    assert!(to_payload(&FloatKey(f64::NAN)).is_err());
    assert_eq!(
        to_payload(&HashMap::from([((1, 2), 0)])),
        Err(SerdeError::KeyMustBeString)
    );
    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
    enum Key {
        A,
        B,
    }
    let by_variant = BTreeMap::from([(Key::A, 1), (Key::B, 2)]);
    let payload = to_payload(&by_variant).unwrap();
    assert_eq!(payload.args, [json!({"A": 1, "B": 2})]);
    assert_eq!(
        from_args::<BTreeMap<Key, u8>>(&payload).unwrap(),
        by_variant
    );

    for bad in [
        json!({"x": 1}),
        json!({" 1": 1}),
        json!({"1 ": 1}),
        json!({"1.5": 1}),
    ] {
        assert!(from_arg::<BTreeMap<u32, u8>>(&bad, &[]).is_err(), "{bad}");
    }
    assert_eq!(
        from_arg::<BTreeMap<i64, u8>>(&json!({"-3": 1}), &[]).unwrap(),
        BTreeMap::from([(-3, 1)])
    );
    assert_eq!(
        from_arg::<BTreeMap<String, u8>>(&json!({"-3": 1}), &[]).unwrap(),
        BTreeMap::from([("-3".to_owned(), 1)])
    );
}

#[test]
fn numbers_follow_serde_json() {
    let payload = to_payload(&(
        u64::MAX,
        i64::MIN,
        1.5f64,
        -0.25f32,
        5i128,
        u128::from(u64::MAX),
    ))
    .unwrap();
    assert_eq!(
        args_text(&payload),
        format!("[{},{},1.5,-0.25,5,{}]", u64::MAX, i64::MIN, u64::MAX)
    );
    let back: (u64, i64, f64, f32, i128, u128) = from_args(&payload).unwrap();
    assert_eq!(
        back,
        (u64::MAX, i64::MIN, 1.5, -0.25, 5, u128::from(u64::MAX))
    );
    assert_eq!(to_payload(&i128::MIN), Err(SerdeError::NumberOutOfRange));
    assert_eq!(to_payload(&u128::MAX), Err(SerdeError::NumberOutOfRange));
    assert_eq!(to_payload(&f64::NAN).unwrap().args, [Value::Null]);
    assert_eq!(from_arg::<f64>(&json!(3), &[]).unwrap(), 3.0);
    assert_eq!(from_arg::<i8>(&json!(-128), &[]).unwrap(), -128);
    assert!(from_arg::<u64>(&json!(-1), &[]).is_err());
    assert!(from_arg::<u32>(&json!(1.0), &[]).is_err());
    assert_eq!(from_arg::<char>(&json!("c"), &[]).unwrap(), 'c');
    assert!(from_arg::<char>(&json!("cd"), &[]).is_err());
}

#[test]
fn matches_serde_json_without_binary() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Mixed {
        a: Option<Vec<(u8, String)>>,
        b: HashMap<i16, bool>,
        c: (),
        d: Option<()>,
        #[serde(rename = "e-e")]
        e: char,
        f: Vec<Option<f32>>,
    }
    let value = Mixed {
        a: Some(vec![(1, "x".into()), (2, "y".into())]),
        b: HashMap::from([(-4, true)]),
        c: (),
        d: Some(()),
        e: 'é',
        f: vec![None, Some(1.25)],
    };
    let expected = serde_json::to_value(&value).unwrap();
    let payload = to_payload(&value).unwrap();
    assert_eq!(payload.args, std::slice::from_ref(&expected));
    assert!(payload.attachments.is_empty());
    let ours: Mixed = from_arg(&expected, &[]).unwrap();
    let theirs: Mixed = serde_json::from_value(expected).unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn rest_takes_the_remaining_arguments() {
    let payload = to_payload(&("kind", 1, blob(&[1]), json!({"x": null}))).unwrap();
    let (kind, Rest(rest)): (String, Rest) = from_args(&payload).unwrap();
    assert_eq!(kind, "kind");
    assert_eq!(rest, [json!(1), placeholder(0), json!({"x": null})]);

    let (a, b, c, d, Rest(rest)): (String, u8, Blob, Value, Rest) = from_args(&payload).unwrap();
    assert_eq!(
        (a.as_str(), b, c, d),
        ("kind", 1, blob(&[1]), json!({"x": null}))
    );
    assert!(rest.is_empty());

    let Rest(all) = from_args(&payload).unwrap();
    assert_eq!(all, payload.args);

    // Anything after a `Rest` is absent.
    let (_, _, after): (String, Rest, Option<u8>) = from_args(&payload).unwrap();
    assert_eq!(after, None);

    // Outside an argument list it is a plain array.
    let nested: Rest = serde_json::from_value(json!([1, 2])).unwrap();
    assert_eq!(nested, Rest(vec![json!(1), json!(2)]));
}

#[test]
fn borrowed_and_custom_errors() {
    #[derive(Debug)]
    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("nope"))
        }
    }
    assert_eq!(
        to_payload(&("a", Fails)),
        Err(SerdeError::Message("nope".into()))
    );
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Random {
    name: String,
    count: u64,
    delta: i32,
    ratio: f64,
    data: Blob,
    chunks: Vec<Blob>,
    plain: Vec<u8>,
    maybe: Option<Blob>,
    nested: Vec<(String, Blob)>,
}

fn blob_strategy() -> impl Strategy<Value = Blob> {
    proptest::collection::vec(any::<u8>(), 0..32).prop_map(Blob)
}

fn random_strategy() -> impl Strategy<Value = Random> {
    (
        (".*", any::<u64>(), any::<i32>(), -1e300f64..1e300f64),
        (
            blob_strategy(),
            proptest::collection::vec(blob_strategy(), 0..4),
            proptest::collection::vec(any::<u8>(), 0..16),
            proptest::option::of(blob_strategy()),
            proptest::collection::vec((".*", blob_strategy()), 0..3),
        ),
    )
        .prop_map(
            |((name, count, delta, ratio), (data, chunks, plain, maybe, nested))| Random {
                name,
                count,
                delta,
                ratio,
                data,
                chunks,
                plain,
                maybe,
                nested,
            },
        )
}

fn count_placeholders(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.iter().map(count_placeholders).sum(),
        Value::Object(map) if placeholder_index(value).is_some() => {
            debug_assert_eq!(map.len(), 2);
            1
        }
        Value::Object(map) => map.values().map(count_placeholders).sum(),
        _ => 0,
    }
}

proptest! {
    #[test]
    fn random_round_trip(value in random_strategy(), tag in ".*") {
        let payload = to_payload(&(tag.clone(), value.clone())).unwrap();
        let blobs = 1 + value.chunks.len() + usize::from(value.maybe.is_some()) + value.nested.len();
        prop_assert_eq!(payload.attachments.len(), blobs);
        prop_assert_eq!(count_placeholders(&Value::Array(payload.args.to_vec())), blobs);
        prop_assert_eq!(payload.attachments[0].as_ref(), value.data.0.as_slice());
        let back: (String, Random) = from_args(&payload).unwrap();
        prop_assert_eq!(back, (tag, value));
    }

    #[test]
    fn without_binary_matches_serde_json(
        entries in proptest::collection::btree_map(any::<i64>(), (".*", any::<bool>(), proptest::option::of(any::<f32>())), 0..5),
    ) {
        let expected = serde_json::to_value(&entries).unwrap();
        prop_assert_eq!(to_payload(&entries).unwrap().args, vec![expected.clone()]);
        let ours: BTreeMap<i64, (String, bool, Option<f32>)> = from_arg(&expected, &[]).unwrap();
        let theirs: BTreeMap<i64, (String, bool, Option<f32>)> = serde_json::from_value(expected).unwrap();
        prop_assert_eq!(ours, theirs);
    }
}

#[test]
fn bytes_fields_receive_attachments_as_sent_by_socket_io_client() {
    // socket.io-client's `emit("e", { a: Buffer.from([1, 2]) }, "x")`, event name removed.
    #[derive(Deserialize, Serialize, Debug, PartialEq)]
    struct WithBytes {
        a: Bytes,
    }
    let payload = Payload {
        args: vec![json!({"a": {"_placeholder": true, "num": 0}}), json!("x")].into(),
        attachments: vec![Bytes::from_static(&[1, 2])],
    };
    let (value, text): (WithBytes, String) = from_args(&payload).unwrap();
    assert_eq!(value.a, Bytes::from_static(&[1, 2]));
    assert_eq!(text, "x");
    let back = to_payload(&(value, text)).unwrap();
    assert_eq!(
        back, payload,
        "serializing gives the same placeholders and attachments"
    );
}
