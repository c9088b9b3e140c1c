//! Decoder limits.

/// Limits applied by the [`Decoder`](super::Decoder) to untrusted input.
///
/// ```
/// use socketio::parser::ParserLimits;
///
/// let limits = ParserLimits { max_attachments: 4, ..ParserLimits::default() };
/// assert_eq!(limits.max_depth, 32);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserLimits {
    /// Maximum number of binary attachments a packet may announce (default 10).
    pub max_attachments: usize,
    /// Maximum number of digits of an ack id (default 10). Whatever this is
    /// set to, ids that do not fit in a `u64` are rejected.
    pub max_ack_id_digits: usize,
    /// Maximum nesting depth of the JSON payload, counting every array and
    /// object, the outer event array included (default 32). serde_json
    /// itself refuses more than 128 levels whatever this is set to.
    pub max_depth: usize,
}

impl ParserLimits {
    /// Upper bound on the digits of the attachment count prefix.
    pub(crate) const MAX_COUNT_DIGITS: usize = 10;
}

impl Default for ParserLimits {
    fn default() -> Self {
        Self {
            max_attachments: 10,
            max_ack_id_digits: 10,
            max_depth: 32,
        }
    }
}
