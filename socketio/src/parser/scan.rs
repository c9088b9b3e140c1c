//! One pass over a JSON array that checks it and finds its elements, without building values.
//!
//! It answers only for the plain case, and says `None` for everything it leaves to the full
//! parse (serde_json into a tree, after the depth pre-scan), which then decides with its own
//! errors: invalid JSON, nesting deeper than allowed, `\u` escapes (they could spell a
//! placeholder key, and serde_json checks their surrogates), a `_placeholder` string,
//! exponents and very long numbers (serde_json refuses those out of `f64`'s range). So when it
//! does answer, the full parse would have accepted the text and found the same elements.

use std::ops::Range;

use smallvec::SmallVec;

/// Nesting this deep inside the array is left to the full parse. At most 64, so that the kind
/// of every open container fits one bit of a `u64`.
const MAX_NESTING: usize = 64;

/// More integer digits than this might not fit an `f64`; left to the full parse.
const MAX_INTEGER_DIGITS: usize = 300;

/// The placeholder key, which only the full parse checks.
const PLACEHOLDER: &[u8] = b"_placeholder";

/// The byte ranges of an array's elements. Events rarely carry more than a few arguments, so
/// these live inline, without an allocation of their own.
pub(crate) type Spans = SmallVec<[Range<usize>; 4]>;

/// The byte range of each element of the JSON array `text`, when it is a plain one (see the
/// module documentation) of at most `max_depth` levels, the array itself counted.
pub(crate) fn plain_array(text: &str, max_depth: usize) -> Option<Spans> {
    let bytes = text.as_bytes();
    let nesting = max_depth.checked_sub(1)?.min(MAX_NESTING);
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    at = skip_space(bytes, at + 1);
    let mut spans = Spans::new();
    if bytes.get(at) == Some(&b']') {
        at += 1;
    } else {
        loop {
            let end = value_end(bytes, at, nesting)?;
            spans.push(at..end);
            at = skip_space(bytes, end);
            match bytes.get(at)? {
                b',' => at = skip_space(bytes, at + 1),
                b']' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_space(bytes, at) == bytes.len()).then_some(spans)
}

/// Where the value starting at `at` (not at a space) ends, with at most `nesting` containers
/// open inside it.
fn value_end(bytes: &[u8], mut at: usize, nesting: usize) -> Option<usize> {
    // One bit per open container, innermost lowest: set for an object, clear for an array.
    let mut objects: u64 = 0;
    let mut depth = 0;
    loop {
        // A value starts at `at`.
        match *bytes.get(at)? {
            b'"' => at = string_end(bytes, at + 1)?,
            opening @ (b'{' | b'[') => {
                if depth == nesting {
                    return None;
                }
                let object = opening == b'{';
                at = skip_space(bytes, at + 1);
                let closing = if object { b'}' } else { b']' };
                if bytes.get(at) != Some(&closing) {
                    objects = objects << 1 | u64::from(object);
                    depth += 1;
                    if object {
                        at = key_end(bytes, at)?;
                    }
                    continue;
                }
                at += 1;
            }
            b'0'..=b'9' | b'-' => at = number_end(bytes, at)?,
            b't' => at = literal_end(bytes, at, b"true")?,
            b'f' => at = literal_end(bytes, at, b"false")?,
            b'n' => at = literal_end(bytes, at, b"null")?,
            _ => return None,
        }
        // After a value: close containers until one goes on with a `,`.
        loop {
            if depth == 0 {
                return Some(at);
            }
            at = skip_space(bytes, at);
            let in_object = objects & 1 == 1;
            match *bytes.get(at)? {
                b',' => {
                    at = skip_space(bytes, at + 1);
                    if in_object {
                        at = key_end(bytes, at)?;
                    }
                    break;
                }
                b'}' if in_object => {}
                b']' if !in_object => {}
                _ => return None,
            }
            at += 1;
            objects >>= 1;
            depth -= 1;
        }
    }
}

/// After an object key starting at `at`, its `:` and the spaces before the value.
fn key_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let at = skip_space(bytes, string_end(bytes, at + 1)?);
    (bytes.get(at) == Some(&b':')).then(|| skip_space(bytes, at + 1))
}

/// After the string whose text starts at `start` (just past its opening quote).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    loop {
        at = plain_run_end(bytes, at);
        match *bytes.get(at)? {
            b'"' => break,
            b'\\' => match *bytes.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                _ => return None,
            },
            _ => return None,
        }
    }
    (&bytes[start..at] != PLACEHOLDER).then_some(at + 1)
}

/// The first position from `at` on holding a quote, a backslash or a control character (or
/// the end). Eight bytes at a time: string text is most of what an event carries.
fn plain_run_end(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    /// Whether some byte of `word` is zero (exact as a yes/no answer).
    fn has_zero(word: u64) -> bool {
        word.wrapping_sub(ONES) & !word & HIGHS != 0
    }
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
        let special = has_zero(word ^ (ONES * u64::from(b'"')))
            || has_zero(word ^ (ONES * u64::from(b'\\')))
            // A byte below 0x20 borrows in the subtraction; exact as a yes/no answer too.
            || word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0;
        if special {
            break;
        }
        at += 8;
    }
    while let Some(&byte) = bytes.get(at) {
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            break;
        }
        at += 1;
    }
    at
}

fn literal_end(bytes: &[u8], at: usize, literal: &[u8]) -> Option<usize> {
    let end = at + literal.len();
    (bytes.get(at..end) == Some(literal)).then_some(end)
}

/// After the number starting at `at`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, no exponent.
fn number_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    if bytes[at] == b'-' {
        at += 1;
    }
    let integer = digits_end(bytes, at);
    match integer - at {
        0 => return None,
        1 => {}
        _ if bytes[at] == b'0' => return None,
        count if count > MAX_INTEGER_DIGITS => return None,
        _ => {}
    }
    at = integer;
    if bytes.get(at) == Some(&b'.') {
        let fraction = digits_end(bytes, at + 1);
        if fraction == at + 1 {
            return None;
        }
        at = fraction;
    }
    match bytes.get(at) {
        Some(b'e' | b'E') => None,
        _ => Some(at),
    }
}

fn digits_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(text: &str) -> Option<Vec<&str>> {
        plain_array(text, 32).map(|spans| spans.into_iter().map(|span| &text[span]).collect())
    }

    #[test]
    fn finds_the_elements_of_plain_arrays() {
        assert_eq!(elements("[]"), Some(vec![]));
        assert_eq!(elements(" [ ] "), Some(vec![]));
        assert_eq!(
            elements(r#"["echo",{"c":7,"i":12,"p":"xx"}]"#),
            Some(vec![r#""echo""#, r#"{"c":7,"i":12,"p":"xx"}"#])
        );
        assert_eq!(
            elements(
                r#"[ 1 , -2.5 , true,false ,null, "a\"b\n", [ [] , {} ], { "k" : [1,{"x":0}] } ]"#
            ),
            Some(vec![
                "1",
                "-2.5",
                "true",
                "false",
                "null",
                r#""a\"b\n""#,
                "[ [] , {} ]",
                r#"{ "k" : [1,{"x":0}] }"#
            ])
        );
        assert_eq!(elements(r#"["é ✓ 😀"]"#), Some(vec![r#""é ✓ 😀""#]));
    }

    /// Everything the scanner answers, serde_json accepts with the same elements; what it
    /// leaves, serde_json may accept or refuse.
    #[test]
    fn answers_only_what_serde_json_accepts_alike() {
        let cases = [
            "[1,]",
            "[,1]",
            "[1 2]",
            "[01]",
            "[1.]",
            "[.5]",
            "[-]",
            "[1e5]",
            "[1E-5]",
            "[tru]",
            "[nul]",
            "[\"a]",
            "[\"\\x\"]",
            "[\"\\u0041\"]",
            "[\"tab\there\"]",
            "[{\"a\"}]",
            "[{\"a\":}]",
            "[{1:2}]",
            "[{\"a\":1,}]",
            "[{\"_placeholder\":true,\"num\":0}]",
            "[[1]",
            "[1]]",
            "[1] x",
            "{}",
            "\"a\"",
            "",
            "[",
            "[\"a\",[{\"b\":[null,{\"c\":\"d\"}]}]]",
            "[-0,0.0,-0.5,123456789012345678901234567890]",
        ];
        for case in cases {
            let ours = elements(case);
            let theirs: Option<Vec<serde_json::Value>> = serde_json::from_str(case).ok();
            if let Some(ours) = ours {
                let theirs = theirs.unwrap_or_else(|| panic!("{case}: serde_json refuses it"));
                let ours: Vec<serde_json::Value> = ours
                    .iter()
                    .map(|element| {
                        serde_json::from_str(element)
                            .unwrap_or_else(|e| panic!("{case}: {element}: {e}"))
                    })
                    .collect();
                assert_eq!(ours, theirs, "{case}");
            }
        }
        for left in [
            "[1e5]",
            "[\"\\u0041\"]",
            "[{\"_placeholder\":true,\"num\":0}]",
            "[1,]",
        ] {
            assert_eq!(elements(left), None, "{left}");
        }
    }

    /// The eight-bytes-at-a-time search finds a quote, a backslash or a control character at
    /// every position of a word, next to multi-byte characters too.
    #[test]
    fn string_ends_are_found_at_every_offset() {
        for special in ["\\\"", "\\\\", "\\n", "\n", "\u{1f}", "\""] {
            for before in 0..20 {
                for filler in ["x", "é"] {
                    let text = format!(
                        "[\"{}{special}{}\",1]",
                        filler.repeat(before),
                        "y".repeat(9)
                    );
                    let ours = elements(&text);
                    let theirs: Option<Vec<serde_json::Value>> = serde_json::from_str(&text).ok();
                    if special.starts_with('\\') {
                        assert!(ours.is_some(), "{text:?}: a plain escape is the scanner's");
                    }
                    match (ours, theirs) {
                        (Some(ours), Some(theirs)) => {
                            assert_eq!(ours.len(), theirs.len(), "{text:?}");
                            let first: serde_json::Value = serde_json::from_str(ours[0]).unwrap();
                            assert_eq!(first, theirs[0], "{text:?}");
                        }
                        (None, _) => {}
                        (Some(_), None) => panic!("{text:?}: serde_json refuses it"),
                    }
                }
            }
            assert_eq!(
                elements(&format!("[\"{}{special}\"]", "x".repeat(8))).is_some(),
                serde_json::from_str::<serde_json::Value>(&format!(
                    "[\"{}{special}\"]",
                    "x".repeat(8)
                ))
                .is_ok(),
                "{special:?}"
            );
        }
    }

    #[test]
    fn nesting_beyond_the_limit_is_left_to_the_full_parse() {
        assert!(plain_array("[[[1]]]", 3).is_some());
        assert!(plain_array("[[[1]]]", 2).is_none());
        assert!(plain_array("[1]", 1).is_some());
        assert!(plain_array("[[1]]", 1).is_none());
        assert!(plain_array("[1]", 0).is_none());
        let deep = format!("[{}{}]", "[".repeat(70), "]".repeat(70));
        assert!(plain_array(&deep, 1000).is_none());
    }
}
