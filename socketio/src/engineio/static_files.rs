//! TEMPORARY stub, replaced by the real module.
#![allow(missing_docs, dead_code)]
use axum::body::Body;
use http::{Method, Response};
#[derive(Clone, Debug, Default)]
pub struct StaticFiles;
impl StaticFiles {
    pub(crate) async fn serve(&self, _m: &Method, _p: &str) -> Option<Response<Body>> {
        None
    }
}
