//! TEMPORARY stub, replaced by the real module.
#![allow(missing_docs, dead_code)]
use bytes::Bytes;
use http::HeaderValue;
#[derive(Clone, Debug, Default)]
pub struct Compression {
    pub threshold: usize,
    pub gzip: bool,
    pub deflate: bool,
}
#[derive(Clone, Copy, Debug)]
pub(crate) enum Encoding {
    Gzip,
}
impl Encoding {
    pub(crate) fn as_header(&self) -> &'static str {
        "gzip"
    }
}
impl Compression {
    pub(crate) fn negotiate(&self, _a: Option<&HeaderValue>) -> Option<Encoding> {
        None
    }
    pub(crate) fn worth_compressing(&self, _len: usize) -> bool {
        false
    }
    pub(crate) fn compress(&self, body: Bytes, _e: Encoding) -> Bytes {
        body
    }
}
