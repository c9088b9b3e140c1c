//! TEMPORARY stub, replaced by the real module.
#![allow(missing_docs, dead_code)]
use http::HeaderValue;
#[derive(Clone, Debug, Default)]
pub struct CookieConfig {
    pub name: String,
}
#[derive(Clone, Debug)]
pub enum SameSite {
    Lax,
}
impl CookieConfig {
    pub(crate) fn header_value(&self, sid: &str) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!("{}={sid}", self.name)).ok()
    }
}
