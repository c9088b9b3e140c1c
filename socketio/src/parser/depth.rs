//! Cheap nesting-depth pre-scan run before handing JSON to serde_json.

use super::error::ParseError;

/// Fails if `json` opens more than `max` arrays/objects at once.
///
/// Brackets inside string literals are skipped (escapes honoured). The scan
/// does not validate anything else; malformed input is left to serde_json.
pub(crate) fn check_depth(json: &[u8], max: usize) -> Result<(), ParseError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(ParseError::TooDeep { max });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}
