//! gzip / deflate compression of long-polling response bodies, chosen from the request's
//! `Accept-Encoding` header.

use std::io::Write;

use bytes::Bytes;
use http::HeaderValue;

/// Compression of HTTP long-polling responses.
///
/// Bodies of at least `threshold` bytes are compressed with gzip or deflate when the client
/// accepts one of them. WebSocket frames are never affected.
///
/// ```rust
/// use socketio::engineio::Compression;
///
/// let gzip_only = Compression { threshold: 4096, deflate: false, ..Compression::default() };
/// assert!(gzip_only.gzip);
/// assert!(!Compression::disabled().gzip);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compression {
    /// Smallest body, in bytes, worth compressing. Default: 1024.
    pub threshold: usize,
    /// Offer gzip. Default: `true`.
    pub gzip: bool,
    /// Offer deflate (the zlib format, as HTTP defines `deflate`). Default: `true`.
    pub deflate: bool,
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            threshold: 1024,
            gzip: true,
            deflate: true,
        }
    }
}

impl Compression {
    /// Never compress.
    pub fn disabled() -> Self {
        Compression {
            gzip: false,
            deflate: false,
            ..Compression::default()
        }
    }

    /// Whether a body of `len` bytes should be compressed at all.
    pub(crate) fn worth_compressing(&self, len: usize) -> bool {
        (self.gzip || self.deflate) && len >= self.threshold
    }

    /// The encoding to use for a client sending this `Accept-Encoding`, if any.
    ///
    /// The client's quality values are honoured (`q=0` refuses a coding, `*` stands for
    /// codings not named); on a tie gzip wins.
    pub(crate) fn negotiate(&self, accept_encoding: Option<&HeaderValue>) -> Option<Encoding> {
        let accepted = AcceptedCodings::parse(accept_encoding?.to_str().ok()?);
        let gzip = if self.gzip { accepted.gzip() } else { 0 };
        let deflate = if self.deflate { accepted.deflate() } else { 0 };
        match (gzip, deflate) {
            (0, 0) => None,
            (gzip, deflate) if gzip >= deflate => Some(Encoding::Gzip),
            _ => Some(Encoding::Deflate),
        }
    }

    /// Compresses `body` with `encoding`. Call it only when [`Compression::worth_compressing`]
    /// says so.
    pub(crate) fn compress(&self, body: Bytes, encoding: Encoding) -> Bytes {
        let level = flate2::Compression::default();
        // Polling payloads are mostly JSON text, which usually shrinks to well under half.
        let buffer = Vec::with_capacity(body.len() / 2);
        let compressed = match encoding {
            Encoding::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(buffer, level);
                encoder.write_all(&body).and_then(|()| encoder.finish())
            }
            Encoding::Deflate => {
                let mut encoder = flate2::write::ZlibEncoder::new(buffer, level);
                encoder.write_all(&body).and_then(|()| encoder.finish())
            }
        };
        // The encoders fail only when their writer does, and a `Vec` never does: no input
        // can reach this panic. Sending the body unchanged instead would contradict the
        // `Content-Encoding` header the caller sets.
        let compressed = compressed.expect("compressing into memory cannot fail");
        Bytes::from(compressed)
    }
}

/// A content coding the engine can apply to a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `gzip`.
    Gzip,
    /// `deflate` (zlib-wrapped, as HTTP defines it).
    Deflate,
}

impl Encoding {
    /// The value for the `Content-Encoding` header.
    pub(crate) fn as_header(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }
}

/// Quality values (in thousandths, 0..=1000) that an `Accept-Encoding` header gives to the
/// codings the engine cares about. `None` means the coding was not mentioned.
#[derive(Debug, Default, PartialEq, Eq)]
struct AcceptedCodings {
    gzip: Option<u16>,
    deflate: Option<u16>,
    any: Option<u16>,
}

impl AcceptedCodings {
    fn parse(header: &str) -> Self {
        let mut accepted = AcceptedCodings::default();
        for item in header.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let quality = parse_quality(parts);
            let slot =
                if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                    &mut accepted.gzip
                } else if coding.eq_ignore_ascii_case("deflate") {
                    &mut accepted.deflate
                } else if coding == "*" {
                    &mut accepted.any
                } else {
                    continue;
                };
            // A coding listed twice keeps its first quality.
            slot.get_or_insert(quality);
        }
        accepted
    }

    fn gzip(&self) -> u16 {
        self.gzip.or(self.any).unwrap_or(0)
    }

    fn deflate(&self) -> u16 {
        self.deflate.or(self.any).unwrap_or(0)
    }
}

/// The `q` parameter among a coding's parameters, in thousandths; 1000 when absent.
/// A malformed value counts as 0, so a coding is never used on a guess.
fn parse_quality<'a>(params: impl Iterator<Item = &'a str>) -> u16 {
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            return parse_qvalue(value.trim()).unwrap_or(0);
        }
    }
    1000
}

/// Parses an HTTP qvalue (`0`, `0.5`, `1.000`, at most three decimals) into thousandths.
fn parse_qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let mut thousandths = 0u16;
    for position in 0..3 {
        let digit = fraction
            .as_bytes()
            .get(position)
            .map_or(0, |b| u16::from(b - b'0'));
        thousandths = thousandths * 10 + digit;
    }
    let value = whole * 1000 + thousandths;
    (value <= 1000).then_some(value)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn defaults() {
        assert_eq!(
            Compression::default(),
            Compression {
                threshold: 1024,
                gzip: true,
                deflate: true
            }
        );
        assert_eq!(
            Compression::disabled(),
            Compression {
                threshold: 1024,
                gzip: false,
                deflate: false
            }
        );
    }

    #[test]
    fn negotiate_table() {
        use Encoding::{Deflate, Gzip};
        let cases: &[(Option<&str>, Option<Encoding>)] = &[
            (None, None),
            (Some(""), None),
            (Some("gzip"), Some(Gzip)),
            (Some("deflate"), Some(Deflate)),
            (Some("gzip, deflate, br"), Some(Gzip)),
            (Some("deflate, gzip"), Some(Gzip)),
            (Some("br, deflate"), Some(Deflate)),
            (Some("GZIP"), Some(Gzip)),
            (Some("x-gzip"), Some(Gzip)),
            (Some("identity"), None),
            (Some("br"), None),
            (Some("*"), Some(Gzip)),
            (Some("gzip;q=0, *"), Some(Deflate)),
            (Some("gzip;q=0, deflate;q=0"), None),
            (Some("gzip; q=0.000, deflate"), Some(Deflate)),
            (Some("*;q=0"), None),
            (Some("*;q=0, deflate"), Some(Deflate)),
            (Some("gzip;q=0.5, deflate;q=0.8"), Some(Deflate)),
            (Some("gzip;q=0.8, deflate;q=0.8"), Some(Gzip)),
            (Some("deflate;Q=1.0, gzip;q=0.999"), Some(Deflate)),
            (Some("gzip;q=1.5"), None),
            (Some("gzip;q=abc, deflate"), Some(Deflate)),
            (Some("gzip;q=0.1234"), None),
            (Some("gzip;level=9"), Some(Gzip)),
            (Some("gzip;q=0, gzip"), None),
            (Some("  gzip  ;  q=0.3 ,deflate;q=0.2"), Some(Gzip)),
            (Some(",,;,"), None),
        ];
        let compression = Compression::default();
        for (header, expected) in cases {
            let value = header.map(|text| HeaderValue::from_str(text).expect("test header"));
            assert_eq!(
                compression.negotiate(value.as_ref()),
                *expected,
                "header {header:?}"
            );
        }
    }

    #[test]
    fn negotiate_respects_disabled_codings() {
        let header = HeaderValue::from_static("gzip, deflate");
        let cases = [
            (Compression::default(), Some(Encoding::Gzip)),
            (
                Compression {
                    gzip: false,
                    ..Compression::default()
                },
                Some(Encoding::Deflate),
            ),
            (
                Compression {
                    deflate: false,
                    ..Compression::default()
                },
                Some(Encoding::Gzip),
            ),
            (Compression::disabled(), None),
        ];
        for (compression, expected) in cases {
            assert_eq!(
                compression.negotiate(Some(&header)),
                expected,
                "{compression:?}"
            );
        }
        let gzip_refused = HeaderValue::from_static("deflate;q=0.1, gzip");
        let no_gzip = Compression {
            gzip: false,
            ..Compression::default()
        };
        assert_eq!(
            no_gzip.negotiate(Some(&gzip_refused)),
            Some(Encoding::Deflate)
        );
    }

    #[test]
    fn non_text_header_is_ignored() {
        let value = HeaderValue::from_bytes(b"gzip\xff").expect("obs-text is allowed");
        assert_eq!(Compression::default().negotiate(Some(&value)), None);
    }

    #[test]
    fn qvalue_table() {
        let cases = [
            ("0", Some(0)),
            ("1", Some(1000)),
            ("0.5", Some(500)),
            ("0.05", Some(50)),
            ("0.123", Some(123)),
            ("1.000", Some(1000)),
            ("1.", Some(1000)),
            ("1.001", None),
            ("2", None),
            ("-0", None),
            ("0.1234", None),
            ("0.+1", None),
            ("", None),
            (".5", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_qvalue(text), expected, "qvalue {text:?}");
        }
    }

    #[test]
    fn worth_compressing_table() {
        let cases = [
            (Compression::default(), 1023, false),
            (Compression::default(), 1024, true),
            (
                Compression {
                    threshold: 0,
                    ..Compression::default()
                },
                0,
                true,
            ),
            (Compression::disabled(), 1_000_000, false),
            (
                Compression {
                    gzip: false,
                    ..Compression::default()
                },
                2048,
                true,
            ),
        ];
        for (compression, len, expected) in cases {
            assert_eq!(
                compression.worth_compressing(len),
                expected,
                "{compression:?} {len}"
            );
        }
    }

    #[test]
    fn header_names() {
        assert_eq!(Encoding::Gzip.as_header(), "gzip");
        assert_eq!(Encoding::Deflate.as_header(), "deflate");
    }

    fn sample_body() -> Vec<u8> {
        "4{\"event\":\"message\",\"data\":\"hello\"}\u{1e}"
            .repeat(100)
            .into_bytes()
    }

    #[test]
    fn gzip_round_trip() {
        let body = sample_body();
        let compressed = Compression::default().compress(Bytes::from(body.clone()), Encoding::Gzip);
        assert_eq!(&compressed[..2], [0x1f, 0x8b], "gzip magic number");
        assert!(compressed.len() < body.len());
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_end(&mut decoded)
            .expect("gunzip");
        assert_eq!(decoded, body);
    }

    #[test]
    fn deflate_is_zlib_format() {
        let body = sample_body();
        let compressed =
            Compression::default().compress(Bytes::from(body.clone()), Encoding::Deflate);
        // A zlib stream starts with CMF 0x78 and a header checksum that is a multiple of 31.
        assert_eq!(compressed[0], 0x78);
        assert_eq!(u16::from_be_bytes([compressed[0], compressed[1]]) % 31, 0);
        let mut decoded = Vec::new();
        flate2::read::ZlibDecoder::new(&compressed[..])
            .read_to_end(&mut decoded)
            .expect("inflate");
        assert_eq!(decoded, body);
    }

    #[test]
    fn empty_body_round_trips() {
        for encoding in [Encoding::Gzip, Encoding::Deflate] {
            let compressed = Compression::default().compress(Bytes::new(), encoding);
            let mut decoded = Vec::new();
            match encoding {
                Encoding::Gzip => {
                    flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut decoded)
                }
                Encoding::Deflate => {
                    flate2::read::ZlibDecoder::new(&compressed[..]).read_to_end(&mut decoded)
                }
            }
            .expect("decode");
            assert!(decoded.is_empty(), "{encoding:?}");
        }
    }
}
