//! The one error type of the Engine.IO layer and its mapping to HTTP responses.

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header};

/// Why an Engine.IO request was refused.
///
/// Every variant maps to exactly one HTTP response (see [`EngineError::status`]); the
/// protocol's numeric error codes appear in the JSON body as `{"code":N,"message":"…"}`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The `transport` query parameter is missing, repeated, unknown or disabled.
    #[error("Transport unknown")]
    UnknownTransport,
    /// The `sid` does not name an open session.
    #[error("Session ID unknown")]
    UnknownSid,
    /// A handshake (no `sid`) used a method other than GET.
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    /// The request is malformed; the text says how.
    #[error("Bad request: {0}")]
    BadRequest(String),
    /// The `Origin` header is not allowed by the CORS settings.
    #[error("Forbidden: origin {0:?} is not accepted")]
    ForbiddenOrigin(String),
    /// `EIO` is missing or is not `4`.
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
    /// A session-level HTTP method other than GET, POST or OPTIONS.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// The connect handler refused the session.
    #[error("Connection refused: {0}")]
    ConnectRejected(#[from] ConnectRejection),
    /// The server holds [`EngineConfig::max_sessions`](super::EngineConfig::max_sessions)
    /// sessions already; answered with 503 and `Retry-After`.
    #[error("Too many sessions")]
    TooManySessions,
}

impl EngineError {
    /// The Engine.IO protocol error code, when the variant has one.
    pub fn code(&self) -> Option<u8> {
        match self {
            EngineError::UnknownTransport => Some(0),
            EngineError::UnknownSid => Some(1),
            EngineError::BadHandshakeMethod => Some(2),
            EngineError::BadRequest(_) => Some(3),
            EngineError::ForbiddenOrigin(_) => Some(4),
            EngineError::UnsupportedProtocolVersion => Some(5),
            EngineError::MethodNotAllowed
            | EngineError::ConnectRejected(_)
            | EngineError::TooManySessions => None,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            EngineError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            EngineError::ConnectRejected(_) => StatusCode::UNAUTHORIZED,
            EngineError::TooManySessions => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The short message the protocol puts next to the code.
    fn protocol_message(&self) -> &'static str {
        match self {
            EngineError::UnknownTransport => "Transport unknown",
            EngineError::UnknownSid => "Session ID unknown",
            EngineError::BadHandshakeMethod => "Bad handshake method",
            EngineError::BadRequest(_) => "Bad request",
            EngineError::ForbiddenOrigin(_) => "Forbidden",
            EngineError::UnsupportedProtocolVersion => "Unsupported protocol version",
            EngineError::MethodNotAllowed => "Method not allowed",
            EngineError::ConnectRejected(_) => "Unauthorized",
            EngineError::TooManySessions => "Too many sessions",
        }
    }

    /// The HTTP response for this error.
    pub(crate) fn into_response(self) -> Response<Body> {
        let status = self.status();
        let body = match &self {
            EngineError::ConnectRejected(rejection) => rejection.to_json(),
            other => serde_json::json!({
                "code": other.code(),
                "message": other.protocol_message(),
            }),
        };
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            response.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static("GET, POST, OPTIONS"),
            );
        }
        response
    }
}

/// A connect handler's refusal, sent to the client as HTTP 401 with a JSON body.
///
/// ```
/// use socketio::engineio::ConnectRejection;
///
/// let refused = ConnectRejection::new("bad token").with_data(serde_json::json!({"retry": false}));
/// assert_eq!(refused.message(), "bad token");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectRejection {
    message: String,
    data: Option<serde_json::Value>,
}

impl ConnectRejection {
    /// A refusal with a message for the client.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectRejection {
            message: message.into(),
            data: None,
        }
    }

    /// Adds structured data the client receives next to the message.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The message for the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The extra data, if any.
    pub fn data(&self) -> Option<&serde_json::Value> {
        self.data.as_ref()
    }

    fn to_json(&self) -> serde_json::Value {
        match &self.data {
            Some(data) => serde_json::json!({ "message": self.message, "data": data }),
            None => serde_json::json!({ "message": self.message }),
        }
    }
}

impl Default for ConnectRejection {
    fn default() -> Self {
        ConnectRejection::new("Connection refused by the server")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(err: EngineError) -> (StatusCode, String) {
        let response = err.into_response();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn maps_each_error_to_status_and_body() {
        let cases = [
            (
                EngineError::UnknownTransport,
                400,
                r#"{"code":0,"message":"Transport unknown"}"#,
            ),
            (
                EngineError::UnknownSid,
                400,
                r#"{"code":1,"message":"Session ID unknown"}"#,
            ),
            (
                EngineError::BadHandshakeMethod,
                400,
                r#"{"code":2,"message":"Bad handshake method"}"#,
            ),
            (
                EngineError::BadRequest("x".into()),
                400,
                r#"{"code":3,"message":"Bad request"}"#,
            ),
            (
                EngineError::ForbiddenOrigin("o".into()),
                400,
                r#"{"code":4,"message":"Forbidden"}"#,
            ),
            (
                EngineError::UnsupportedProtocolVersion,
                400,
                r#"{"code":5,"message":"Unsupported protocol version"}"#,
            ),
            (
                EngineError::MethodNotAllowed,
                405,
                r#"{"code":null,"message":"Method not allowed"}"#,
            ),
            (
                EngineError::ConnectRejected(ConnectRejection::new("no")),
                401,
                r#"{"message":"no"}"#,
            ),
        ];
        for (err, status, body) in cases {
            assert_eq!(
                body_of(err).await,
                (StatusCode::from_u16(status).unwrap(), body.to_string())
            );
        }
    }
}
