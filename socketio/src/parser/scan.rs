//! One pass over a JSON array that checks it and finds its elements, without building values.
//!
//! It answers only for the plain case, and says `None` for everything it leaves to the full
//! parse (serde_json into a tree, after the depth pre-scan), which then decides with its own
//! errors: invalid JSON, nesting deeper than allowed, `\u` escapes (they could spell a
//! placeholder key, and serde_json checks their surrogates), a `_placeholder` string,
//! exponents and very long numbers (serde_json refuses those out of `f64`'s range). So when it
//! does answer, the full parse would have accepted the text and found the same elements.

use std::ops::Range;

/// Nesting this deep inside the array is left to the full parse.
const MAX_NESTING: usize = 64;

/// More integer digits than this might not fit an `f64`; left to the full parse.
const MAX_INTEGER_DIGITS: usize = 300;

/// The placeholder key, which only the full parse checks.
const PLACEHOLDER: &[u8] = b"_placeholder";

/// The byte range of each element of the JSON array `text`, when it is a plain one (see the
/// module documentation) of at most `max_depth` levels, the array itself counted.
pub(crate) fn plain_array(text: &str, max_depth: usize) -> Option<Vec<Range<usize>>> {
    let bytes = text.as_bytes();
    let nesting = max_depth.checked_sub(1)?.min(MAX_NESTING);
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    at = skip_space(bytes, at + 1);
    let mut spans = Vec::new();
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

/// What the scanner expects next inside a value.
enum Expect {
    /// A value.
    Value,
    /// A `,` or the closing bracket of the innermost container, after a value.
    After,
}

/// Where the value starting at `at` ends, with at most `nesting` containers open inside it.
fn value_end(bytes: &[u8], mut at: usize, nesting: usize) -> Option<usize> {
    // The closing byte of each open container, innermost last.
    let mut open = [0u8; MAX_NESTING];
    let mut depth = 0;
    let mut expect = Expect::Value;
    loop {
        match expect {
            Expect::Value => {
                at = skip_space(bytes, at);
                match *bytes.get(at)? {
                    opening @ (b'[' | b'{') => {
                        if depth == nesting {
                            return None;
                        }
                        let closing = if opening == b'[' { b']' } else { b'}' };
                        open[depth] = closing;
                        depth += 1;
                        at = skip_space(bytes, at + 1);
                        if bytes.get(at) == Some(&closing) {
                            at += 1;
                            depth -= 1;
                            expect = Expect::After;
                        } else if closing == b'}' {
                            at = key_end(bytes, at)?;
                        }
                        continue;
                    }
                    b'"' => at = string_end(bytes, at)?,
                    b't' => at = literal_end(bytes, at, b"true")?,
                    b'f' => at = literal_end(bytes, at, b"false")?,
                    b'n' => at = literal_end(bytes, at, b"null")?,
                    b'-' | b'0'..=b'9' => at = number_end(bytes, at)?,
                    _ => return None,
                }
                expect = Expect::After;
            }
            Expect::After => {
                if depth == 0 {
                    return Some(at);
                }
                at = skip_space(bytes, at);
                let closing = open[depth - 1];
                match *bytes.get(at)? {
                    b',' => {
                        at += 1;
                        if closing == b'}' {
                            at = key_end(bytes, skip_space(bytes, at))?;
                        }
                        expect = Expect::Value;
                    }
                    byte if byte == closing => {
                        at += 1;
                        depth -= 1;
                    }
                    _ => return None,
                }
            }
        }
    }
}

/// After an object key and its `:`.
fn key_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let at = skip_space(bytes, string_end(bytes, at)?);
    (bytes.get(at) == Some(&b':')).then_some(at + 1)
}

/// After the string starting at `at` (its opening quote).
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let start = at + 1;
    let mut at = start;
    loop {
        // Plain characters run up to a quote, a backslash or a control character.
        at += bytes
            .get(at..)?
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)?;
        match bytes[at] {
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

fn digits_end(bytes: &[u8], at: usize) -> usize {
    at + bytes[at..]
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count()
}

fn skip_space(bytes: &[u8], at: usize) -> usize {
    at + bytes
        .get(at..)
        .unwrap_or_default()
        .iter()
        .take_while(|byte| matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
        .count()
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
