//! TEMPORARY stub, replaced by the real module.
#![allow(missing_docs, dead_code)]
use axum::body::Body;
use http::{HeaderMap, HeaderValue, Response};
use std::sync::Arc;
#[derive(Clone, Default)]
pub enum CorsOrigins {
    #[default]
    SameOrigin,
    Any,
    List(Vec<String>),
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
    Disabled,
}
impl std::fmt::Debug for CorsOrigins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CorsOrigins")
    }
}
#[derive(Debug)]
pub(crate) struct ForbiddenOrigin(pub(crate) String);
impl std::fmt::Display for ForbiddenOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
pub(crate) struct Cors {
    origins: CorsOrigins,
    credentials: bool,
}
impl Cors {
    pub(crate) fn new(origins: CorsOrigins, credentials: bool) -> Self {
        Cors {
            origins,
            credentials,
        }
    }
    pub(crate) fn check(
        &self,
        headers: &HeaderMap,
        _secure: bool,
    ) -> Result<Option<HeaderValue>, ForbiddenOrigin> {
        Ok(headers.get("origin").cloned())
    }
    pub(crate) fn apply(&self, _o: Option<&HeaderValue>, _h: &mut HeaderMap) {}
    pub(crate) fn preflight(&self, _o: Option<&HeaderValue>, _h: &HeaderMap) -> Response<Body> {
        Response::new(Body::empty())
    }
}
