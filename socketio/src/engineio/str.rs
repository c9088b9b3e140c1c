//! A cheaply cloneable UTF-8 string backed by [`Bytes`].

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Text that is known to be valid UTF-8, stored in reference-counted [`Bytes`].
///
/// Cloning is cheap, so one message can be handed to many connections without copying.
///
/// ```
/// use socketio::engineio::Str;
///
/// let text = Str::from("hello");
/// assert_eq!(text.as_str(), "hello");
/// assert_eq!(text.clone(), "hello");
/// ```
///
/// It wraps the WebSocket library's UTF-8 buffer, so a queued text frame goes out without
/// being validated again for every recipient.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Str(Utf8Bytes);

impl Str {
    /// A `Str` borrowing a `'static` string without copying it.
    pub const fn from_static(text: &'static str) -> Self {
        Str(Utf8Bytes::from_static(text))
    }

    /// Checks that `bytes` are UTF-8 and wraps them without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        Utf8Bytes::try_from(bytes).map(Str)
    }

    /// The text as `&str`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_ref()
    }

    /// Turns this into its underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0.into()
    }

    pub(crate) fn into_utf8_bytes(self) -> Utf8Bytes {
        self.0
    }

    pub(crate) fn from_utf8_bytes(text: Utf8Bytes) -> Self {
        Str(text)
    }

    /// The text from byte offset `start` on, sharing the same buffer.
    ///
    /// Returns `None` when `start` is not on a char boundary or past the end.
    pub fn slice_from(&self, start: usize) -> Option<Str> {
        if !self.as_str().is_char_boundary(start) {
            return None;
        }
        let bytes: &Bytes = self.0.as_ref();
        // Cutting at a char boundary keeps the text valid, so this check always passes.
        Utf8Bytes::try_from(bytes.slice(start..)).ok().map(Str)
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Str {
    fn from(text: String) -> Self {
        Str(Utf8Bytes::from(text))
    }
}

impl From<&str> for Str {
    fn from(text: &str) -> Self {
        Str(Utf8Bytes::from(text))
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
