//! Cross-origin rules for Engine.IO requests: which `Origin` headers are accepted, and the
//! `Access-Control-*` headers sent back to browsers.
//!
//! The rules follow python-engineio: by default only pages served by this same host may
//! connect, a request without an `Origin` header (a non-browser client) is always let in,
//! and an accepted origin is echoed back rather than answered with `*`, so that browsers
//! accept credentialed requests.

use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

/// Which browser origins may open Engine.IO sessions.
///
/// The default, [`CorsOrigins::SameOrigin`], accepts only pages served from the host the
/// request was sent to.
///
/// ```rust
/// use socketio::engineio::CorsOrigins;
///
/// let open = CorsOrigins::Any;
/// let listed = CorsOrigins::list(["https://example.com", "http://localhost:3000"]);
/// let custom = CorsOrigins::predicate(|origin| origin.ends_with(".example.com"));
/// assert!(matches!(CorsOrigins::default(), CorsOrigins::SameOrigin));
/// # let _ = (open, listed, custom);
/// ```
#[derive(Clone, Default)]
pub enum CorsOrigins {
    /// Accept only `http://<Host>` (or `https://<Host>` behind TLS), plus the origin a
    /// reverse proxy describes with `X-Forwarded-Proto` / `X-Forwarded-Host`.
    #[default]
    SameOrigin,
    /// Accept every origin. The origin is echoed back, so credentialed requests work.
    Any,
    /// Accept exactly these origins, compared as written (for example `https://example.com`,
    /// without a trailing slash).
    List(Vec<String>),
    /// Accept the origins for which the function returns `true`.
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
    /// Turn CORS handling off: no origin checks and no CORS headers at all, for when a
    /// proxy or another layer takes care of it.
    Disabled,
}

impl CorsOrigins {
    /// Accept exactly the given origins.
    ///
    /// ```rust
    /// use socketio::engineio::CorsOrigins;
    ///
    /// let origins = CorsOrigins::list(["https://example.com"]);
    /// assert!(matches!(origins, CorsOrigins::List(ref list) if list.len() == 1));
    /// ```
    pub fn list(origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        CorsOrigins::List(origins.into_iter().map(Into::into).collect())
    }

    /// Accept the origins for which `accept` returns `true`.
    ///
    /// ```rust
    /// use socketio::engineio::CorsOrigins;
    ///
    /// let origins = CorsOrigins::predicate(|origin| origin.starts_with("https://"));
    /// # let _ = origins;
    /// ```
    pub fn predicate(accept: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        CorsOrigins::Predicate(Arc::new(accept))
    }
}

impl fmt::Debug for CorsOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorsOrigins::SameOrigin => f.write_str("SameOrigin"),
            CorsOrigins::Any => f.write_str("Any"),
            CorsOrigins::List(origins) => f.debug_tuple("List").field(origins).finish(),
            // A closure has nothing useful to print.
            CorsOrigins::Predicate(_) => f.write_str("Predicate(..)"),
            CorsOrigins::Disabled => f.write_str("Disabled"),
        }
    }
}

/// A request whose `Origin` header the CORS settings refuse. Displays as the origin alone,
/// so that callers can word the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}")]
pub(crate) struct ForbiddenOrigin {
    /// The refused origin, lossily decoded, for logs and error messages.
    pub(crate) origin: String,
}

impl ForbiddenOrigin {
    fn new(origin: &HeaderValue) -> Self {
        ForbiddenOrigin {
            origin: String::from_utf8_lossy(origin.as_bytes()).into_owned(),
        }
    }
}

/// The engine's CORS policy: the accepted origins and whether credentials are allowed.
#[derive(Debug, Clone)]
pub(crate) struct Cors {
    origins: CorsOrigins,
    credentials: bool,
}

const ALLOWED_METHODS: &str = "OPTIONS, GET, POST";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";
const X_FORWARDED_HOST: &str = "x-forwarded-host";

impl Cors {
    /// A policy accepting `origins`; `credentials` adds `Access-Control-Allow-Credentials`.
    pub(crate) fn new(origins: CorsOrigins, credentials: bool) -> Self {
        Cors {
            origins,
            credentials,
        }
    }

    fn is_disabled(&self) -> bool {
        matches!(self.origins, CorsOrigins::Disabled)
    }

    /// Checks the request's `Origin` header.
    ///
    /// Returns the origin to echo back in `Access-Control-Allow-Origin`, or `None` when the
    /// request has no `Origin` (non-browser clients are not subject to CORS) or CORS is
    /// disabled. `secure` tells whether the request arrived over TLS.
    pub(crate) fn check(
        &self,
        headers: &HeaderMap,
        secure: bool,
    ) -> Result<Option<HeaderValue>, ForbiddenOrigin> {
        if self.is_disabled() {
            return Ok(None);
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(None);
        };
        if self.accepts(origin, headers, secure) {
            Ok(Some(origin.clone()))
        } else {
            Err(ForbiddenOrigin::new(origin))
        }
    }

    fn accepts(&self, origin: &HeaderValue, headers: &HeaderMap, secure: bool) -> bool {
        // `Any` echoes the raw bytes back, so it needs no text form of the origin.
        if matches!(self.origins, CorsOrigins::Any | CorsOrigins::Disabled) {
            return true;
        }
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        match &self.origins {
            CorsOrigins::SameOrigin => is_same_origin(origin, headers, secure),
            CorsOrigins::List(accepted) => accepted.iter().any(|item| item == origin),
            CorsOrigins::Predicate(accept) => accept(origin),
            CorsOrigins::Any | CorsOrigins::Disabled => true,
        }
    }

    /// Adds the CORS headers of a normal (non-preflight) response.
    pub(crate) fn apply(
        &self,
        allowed_origin: Option<&HeaderValue>,
        response_headers: &mut HeaderMap,
    ) {
        if self.is_disabled() {
            return;
        }
        // The answer depends on the request's origin, so caches must keep them apart.
        response_headers.append(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = allowed_origin else {
            return;
        };
        response_headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        if self.credentials {
            response_headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }

    /// The answer to an `OPTIONS` preflight request whose origin already passed [`Cors::check`].
    ///
    /// Like python-engineio this is `200 OK` with a `text/plain` body of `OK`.
    pub(crate) fn preflight(
        &self,
        allowed_origin: Option<&HeaderValue>,
        request_headers: &HeaderMap,
    ) -> Response<Body> {
        let mut response = Response::new(Body::from("OK"));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        if self.is_disabled() {
            return response;
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        if let Some(requested) = request_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        self.apply(allowed_origin, headers);
        response
    }
}

/// Whether `origin` names the host the request was sent to, either directly or as a
/// reverse proxy reports it through `X-Forwarded-Proto` / `X-Forwarded-Host`.
fn is_same_origin(origin: &str, headers: &HeaderMap, secure: bool) -> bool {
    let Some((origin_scheme, origin_host)) = origin.split_once("://") else {
        return false;
    };
    // Without a Host header there is nothing to compare with (python-engineio agrees).
    let Some(host) = header_text(headers, header::HOST.as_str()) else {
        return false;
    };
    // Scheme and host names are case-insensitive.
    let matches = |scheme: &str, host: &str| {
        scheme.eq_ignore_ascii_case(origin_scheme) && host.eq_ignore_ascii_case(origin_host)
    };
    let own_scheme = if secure { "https" } else { "http" };
    if matches(own_scheme, host) {
        return true;
    }
    let forwarded_proto = first_list_item(headers, X_FORWARDED_PROTO);
    let forwarded_host = first_list_item(headers, X_FORWARDED_HOST);
    if forwarded_proto.is_none() && forwarded_host.is_none() {
        return false;
    }
    matches(
        forwarded_proto.unwrap_or(own_scheme),
        forwarded_host.unwrap_or(host),
    )
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// The first entry of a comma-separated header: the hop nearest the client when several
/// proxies appended to it.
fn first_list_item<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    header_text(headers, name)
        .and_then(|text| text.split(',').next())
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`Cors::check`] answered: the echoed origin, or the refused one.
    type Outcome = Result<Option<String>, String>;
    /// Response headers as (name, value) text pairs, in order.
    type HeaderList = Vec<(String, String)>;
    /// Request headers as (name, value) pairs.
    type Header = (&'static str, &'static str);
    type Pairs = [Header];

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("test header name"),
                HeaderValue::from_str(value).expect("test header value"),
            );
        }
        map
    }

    fn outcome(cors: &Cors, pairs: &[(&str, &str)], secure: bool) -> Outcome {
        cors.check(&headers(pairs), secure)
            .map(|origin| origin.map(|value| value.to_str().unwrap_or("<bytes>").to_owned()))
            .map_err(|forbidden| forbidden.origin)
    }

    fn ok(origin: &str) -> Outcome {
        Ok(Some(origin.to_owned()))
    }

    fn forbidden(origin: &str) -> Outcome {
        Err(origin.to_owned())
    }

    #[test]
    fn same_origin_table() {
        let cors = Cors::new(CorsOrigins::SameOrigin, true);
        let cases: &[(&Pairs, bool, Outcome)] = &[
            (&[("host", "example.com")], false, Ok(None)),
            (&[], false, Ok(None)),
            (
                &[("host", "example.com"), ("origin", "http://example.com")],
                false,
                ok("http://example.com"),
            ),
            (
                &[
                    ("host", "example.com:8080"),
                    ("origin", "http://example.com:8080"),
                ],
                false,
                ok("http://example.com:8080"),
            ),
            (
                &[("host", "Example.COM"), ("origin", "http://example.com")],
                false,
                ok("http://example.com"),
            ),
            (
                &[("host", "example.com"), ("origin", "https://example.com")],
                false,
                forbidden("https://example.com"),
            ),
            (
                &[("host", "example.com"), ("origin", "https://example.com")],
                true,
                ok("https://example.com"),
            ),
            (
                &[("host", "example.com"), ("origin", "http://example.com")],
                true,
                forbidden("http://example.com"),
            ),
            (
                &[("host", "example.com"), ("origin", "http://evil.com")],
                false,
                forbidden("http://evil.com"),
            ),
            (
                &[
                    ("host", "example.com"),
                    ("origin", "http://example.com.evil.com"),
                ],
                false,
                forbidden("http://example.com.evil.com"),
            ),
            (
                &[("host", "example.com"), ("origin", "null")],
                false,
                forbidden("null"),
            ),
            (
                &[("origin", "http://example.com")],
                false,
                forbidden("http://example.com"),
            ),
            // Behind a TLS-terminating proxy.
            (
                &[
                    ("host", "example.com"),
                    ("x-forwarded-proto", "https"),
                    ("origin", "https://example.com"),
                ],
                false,
                ok("https://example.com"),
            ),
            (
                &[
                    ("host", "example.com"),
                    ("x-forwarded-proto", "https, http"),
                    ("origin", "https://example.com"),
                ],
                false,
                ok("https://example.com"),
            ),
            // The plain host stays accepted as well, as in python-engineio.
            (
                &[
                    ("host", "example.com"),
                    ("x-forwarded-proto", "https"),
                    ("origin", "http://example.com"),
                ],
                false,
                ok("http://example.com"),
            ),
            (
                &[
                    ("host", "internal:8000"),
                    ("x-forwarded-host", "public.example"),
                    ("origin", "http://public.example"),
                ],
                false,
                ok("http://public.example"),
            ),
            (
                &[
                    ("host", "internal:8000"),
                    ("x-forwarded-host", "public.example, other"),
                    ("x-forwarded-proto", "https"),
                    ("origin", "https://public.example"),
                ],
                false,
                ok("https://public.example"),
            ),
            (
                &[
                    ("host", "internal:8000"),
                    ("x-forwarded-host", "public.example"),
                    ("x-forwarded-proto", "https"),
                    ("origin", "http://public.example"),
                ],
                false,
                forbidden("http://public.example"),
            ),
        ];
        for (index, (pairs, secure, expected)) in cases.iter().enumerate() {
            assert_eq!(
                &outcome(&cors, pairs, *secure),
                expected,
                "case {index}: {pairs:?}"
            );
        }
    }

    #[test]
    fn policy_table() {
        let with_origin = |origin: &'static str| vec![("host", "example.com"), ("origin", origin)];
        let cases: Vec<(CorsOrigins, Vec<Header>, Outcome)> = vec![
            (
                CorsOrigins::Any,
                with_origin("http://anywhere.test"),
                ok("http://anywhere.test"),
            ),
            (CorsOrigins::Any, with_origin("null"), ok("null")),
            (CorsOrigins::Any, vec![("host", "example.com")], Ok(None)),
            (
                CorsOrigins::list(["http://a.test", "https://b.test"]),
                with_origin("https://b.test"),
                ok("https://b.test"),
            ),
            (
                CorsOrigins::list(["http://a.test"]),
                with_origin("http://a.test/"),
                forbidden("http://a.test/"),
            ),
            (
                CorsOrigins::list(["http://a.test"]),
                with_origin("http://example.com"),
                forbidden("http://example.com"),
            ),
            (
                CorsOrigins::list(Vec::<String>::new()),
                with_origin("http://a.test"),
                forbidden("http://a.test"),
            ),
            (
                CorsOrigins::predicate(|o| o.ends_with(".good.test")),
                with_origin("https://x.good.test"),
                ok("https://x.good.test"),
            ),
            (
                CorsOrigins::predicate(|o| o.ends_with(".good.test")),
                with_origin("https://bad.test"),
                forbidden("https://bad.test"),
            ),
            (
                CorsOrigins::Disabled,
                with_origin("http://evil.test"),
                Ok(None),
            ),
            (CorsOrigins::Disabled, vec![], Ok(None)),
        ];
        for (index, (origins, pairs, expected)) in cases.into_iter().enumerate() {
            let cors = Cors::new(origins, true);
            assert_eq!(
                outcome(&cors, &pairs, false),
                expected,
                "case {index}: {pairs:?}"
            );
        }
    }

    #[test]
    fn non_utf8_origin_is_refused_unless_any() {
        let mut map = HeaderMap::new();
        map.insert(header::HOST, HeaderValue::from_static("example.com"));
        let raw = HeaderValue::from_bytes(b"http://\xffexample.com").expect("obs-text is allowed");
        map.insert(header::ORIGIN, raw.clone());

        let refused = Cors::new(CorsOrigins::SameOrigin, true).check(&map, false);
        assert_eq!(
            refused,
            Err(ForbiddenOrigin {
                origin: "http://\u{fffd}example.com".into()
            })
        );
        let echoed = Cors::new(CorsOrigins::Any, true).check(&map, false);
        assert_eq!(echoed, Ok(Some(raw)));
    }

    #[test]
    fn forbidden_origin_message() {
        let error = ForbiddenOrigin {
            origin: "http://evil.test".into(),
        };
        assert_eq!(error.to_string(), "http://evil.test");
    }

    fn header_list(map: &HeaderMap) -> HeaderList {
        map.iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or("<bytes>").to_owned(),
                )
            })
            .collect()
    }

    fn owned(pairs: &[(&str, &str)]) -> HeaderList {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn apply_table() {
        let origin = HeaderValue::from_static("http://a.test");
        let cases: Vec<(Cors, Option<&HeaderValue>, HeaderList)> = vec![
            (
                Cors::new(CorsOrigins::Any, true),
                Some(&origin),
                owned(&[
                    ("vary", "Origin"),
                    ("access-control-allow-origin", "http://a.test"),
                    ("access-control-allow-credentials", "true"),
                ]),
            ),
            (
                Cors::new(CorsOrigins::Any, false),
                Some(&origin),
                owned(&[
                    ("vary", "Origin"),
                    ("access-control-allow-origin", "http://a.test"),
                ]),
            ),
            (
                Cors::new(CorsOrigins::SameOrigin, true),
                None,
                owned(&[("vary", "Origin")]),
            ),
            (
                Cors::new(CorsOrigins::Disabled, true),
                Some(&origin),
                vec![],
            ),
        ];
        for (index, (cors, allowed, expected)) in cases.into_iter().enumerate() {
            let mut map = HeaderMap::new();
            cors.apply(allowed, &mut map);
            assert_eq!(header_list(&map), expected, "case {index}");
        }
    }

    #[test]
    fn apply_keeps_existing_vary() {
        let mut map = HeaderMap::new();
        map.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        Cors::new(CorsOrigins::SameOrigin, true).apply(None, &mut map);
        let vary: Vec<_> = map.get_all(header::VARY).iter().collect();
        assert_eq!(vary, ["Accept-Encoding", "Origin"]);
    }

    #[tokio::test]
    async fn preflight_table() {
        let origin = HeaderValue::from_static("http://a.test");
        let asks_headers = headers(&[("access-control-request-headers", "content-type, x-token")]);
        let cases: Vec<(Cors, Option<&HeaderValue>, HeaderMap, HeaderList)> = vec![
            (
                Cors::new(CorsOrigins::Any, true),
                Some(&origin),
                asks_headers.clone(),
                owned(&[
                    ("content-type", "text/plain"),
                    ("access-control-allow-methods", "OPTIONS, GET, POST"),
                    ("access-control-allow-headers", "content-type, x-token"),
                    ("vary", "Origin"),
                    ("access-control-allow-origin", "http://a.test"),
                    ("access-control-allow-credentials", "true"),
                ]),
            ),
            (
                Cors::new(CorsOrigins::SameOrigin, false),
                None,
                HeaderMap::new(),
                owned(&[
                    ("content-type", "text/plain"),
                    ("access-control-allow-methods", "OPTIONS, GET, POST"),
                    ("vary", "Origin"),
                ]),
            ),
            (
                Cors::new(CorsOrigins::Disabled, true),
                None,
                asks_headers,
                owned(&[("content-type", "text/plain")]),
            ),
        ];
        for (index, (cors, allowed, request, expected)) in cases.into_iter().enumerate() {
            let response = cors.preflight(allowed, &request);
            assert_eq!(response.status(), StatusCode::OK, "case {index}");
            assert_eq!(header_list(response.headers()), expected, "case {index}");
            let body = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .expect("body");
            assert_eq!(&body[..], b"OK", "case {index}");
        }
    }

    #[test]
    fn debug_output() {
        let cases = [
            (CorsOrigins::SameOrigin, "SameOrigin"),
            (CorsOrigins::Any, "Any"),
            (
                CorsOrigins::list(["http://a.test"]),
                "List([\"http://a.test\"])",
            ),
            (CorsOrigins::predicate(|_| true), "Predicate(..)"),
            (CorsOrigins::Disabled, "Disabled"),
        ];
        for (origins, expected) in cases {
            assert_eq!(format!("{origins:?}"), expected);
        }
    }
}
