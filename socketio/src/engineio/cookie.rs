//! The optional `Set-Cookie` header carrying the session id on the handshake response, which
//! load balancers can use for sticky sessions.

use std::time::Duration;

use http::HeaderValue;

/// Settings of the session cookie set on the handshake response.
///
/// Off unless configured. The cookie value is the session id.
///
/// ```rust
/// use std::time::Duration;
/// use socketio::engineio::{CookieConfig, SameSite};
///
/// let cookie = CookieConfig {
///     secure: true,
///     same_site: Some(SameSite::Strict),
///     max_age: Some(Duration::from_secs(3600)),
///     ..CookieConfig::named("sticky")
/// };
/// assert_eq!(cookie.name, "sticky");
/// assert_eq!(cookie.path, "/");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieConfig {
    /// Cookie name. Default: `io`.
    pub name: String,
    /// `Path` attribute; an empty string leaves it out. Default: `/`.
    pub path: String,
    /// Add `HttpOnly`, hiding the cookie from page scripts. Default: `true`.
    pub http_only: bool,
    /// `SameSite` attribute, left out when `None`. Default: `Some(SameSite::Lax)`.
    pub same_site: Option<SameSite>,
    /// Add `Secure`, limiting the cookie to HTTPS. Browsers require it with
    /// [`SameSite::None`]. Default: `false`.
    pub secure: bool,
    /// `Domain` attribute; an empty string leaves it out. Default: `None`.
    pub domain: Option<String>,
    /// `Max-Age` attribute, in whole seconds. Default: `None`, a cookie that ends with
    /// the browser session.
    pub max_age: Option<Duration>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "io".to_owned(),
            path: "/".to_owned(),
            http_only: true,
            same_site: Some(SameSite::Lax),
            secure: false,
            domain: None,
            max_age: None,
        }
    }
}

impl CookieConfig {
    /// The default settings with another cookie name.
    ///
    /// ```rust
    /// use socketio::engineio::CookieConfig;
    ///
    /// assert_eq!(CookieConfig::named("sid").name, "sid");
    /// ```
    pub fn named(name: impl Into<String>) -> Self {
        CookieConfig {
            name: name.into(),
            ..CookieConfig::default()
        }
    }

    /// The `Set-Cookie` value for session `sid`, such as `io=abc; Path=/; HttpOnly; SameSite=Lax`.
    ///
    /// `None` when the name, the session id, the path or the domain holds characters a
    /// cookie cannot carry; the caller then sends no cookie.
    pub(crate) fn header_value(&self, sid: &str) -> Option<HeaderValue> {
        if !is_cookie_name(&self.name) || !is_cookie_value(sid) {
            return None;
        }
        let mut cookie = format!("{}={sid}", self.name);
        if !self.path.is_empty() {
            cookie.push_str("; Path=");
            cookie.push_str(attribute_value(&self.path)?);
        }
        if let Some(domain) = self.domain.as_deref().filter(|domain| !domain.is_empty()) {
            cookie.push_str("; Domain=");
            cookie.push_str(attribute_value(domain)?);
        }
        if let Some(max_age) = self.max_age {
            cookie.push_str(&format!("; Max-Age={}", max_age.as_secs()));
        }
        if self.http_only {
            cookie.push_str("; HttpOnly");
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        if let Some(same_site) = self.same_site {
            cookie.push_str("; SameSite=");
            cookie.push_str(same_site.as_str());
        }
        HeaderValue::from_str(&cookie).ok()
    }
}

/// The `SameSite` cookie attribute: when browsers send the cookie with cross-site requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Only with same-site requests.
    Strict,
    /// With same-site requests and top-level cross-site navigations.
    Lax,
    /// With every request; browsers accept it only together with `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// A cookie name must be an HTTP token (RFC 6265 section 4.1.1).
fn is_cookie_name(name: &str) -> bool {
    const TOKEN_SYMBOLS: &[u8] = b"!#$%&'*+-.^_`|~";
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || TOKEN_SYMBOLS.contains(&b))
}

/// Cookie value characters: visible ASCII except `"`, `,`, `;` and `\` (RFC 6265 section 4.1.1).
fn is_cookie_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
}

/// An attribute value may hold any printable ASCII except `;`, which would start a new
/// attribute.
fn attribute_value(value: &str) -> Option<&str> {
    value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b';')
        .then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(config: &CookieConfig, sid: &str) -> Option<String> {
        config
            .header_value(sid)
            .map(|value| value.to_str().unwrap_or("<bytes>").to_owned())
    }

    #[test]
    fn defaults() {
        let config = CookieConfig::default();
        assert_eq!(config.name, "io");
        assert_eq!(config.path, "/");
        assert!(config.http_only);
        assert_eq!(config.same_site, Some(SameSite::Lax));
        assert!(!config.secure);
        assert_eq!(config.domain, None);
        assert_eq!(config.max_age, None);
        assert_eq!(CookieConfig::named("io"), config);
    }

    #[test]
    fn header_value_table() {
        let cases: Vec<(CookieConfig, &str, Option<&str>)> = vec![
            (
                CookieConfig::default(),
                "abc",
                Some("io=abc; Path=/; HttpOnly; SameSite=Lax"),
            ),
            (
                CookieConfig::named("sticky"),
                "a-B_c",
                Some("sticky=a-B_c; Path=/; HttpOnly; SameSite=Lax"),
            ),
            (
                CookieConfig {
                    path: "/socket.io/".into(),
                    http_only: false,
                    same_site: Some(SameSite::None),
                    secure: true,
                    domain: Some("example.com".into()),
                    max_age: Some(Duration::from_millis(90_500)),
                    ..CookieConfig::default()
                },
                "xyz",
                Some(
                    "io=xyz; Path=/socket.io/; Domain=example.com; Max-Age=90; Secure; SameSite=None",
                ),
            ),
            (
                CookieConfig {
                    same_site: Some(SameSite::Strict),
                    ..CookieConfig::default()
                },
                "s",
                Some("io=s; Path=/; HttpOnly; SameSite=Strict"),
            ),
            (
                CookieConfig {
                    path: String::new(),
                    http_only: false,
                    same_site: None,
                    domain: Some(String::new()),
                    ..CookieConfig::default()
                },
                "bare",
                Some("io=bare"),
            ),
            (
                CookieConfig {
                    max_age: Some(Duration::ZERO),
                    ..CookieConfig::default()
                },
                "gone",
                Some("io=gone; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
            ),
            (
                CookieConfig::default(),
                "",
                Some("io=; Path=/; HttpOnly; SameSite=Lax"),
            ),
            (CookieConfig::named("my cookie"), "abc", None),
            (CookieConfig::named("a=b"), "abc", None),
            (CookieConfig::named(""), "abc", None),
            (CookieConfig::named("caf\u{e9}"), "abc", None),
            (CookieConfig::default(), "a;b", None),
            (CookieConfig::default(), "a b", None),
            (CookieConfig::default(), "a\"b", None),
            (CookieConfig::default(), "a,b", None),
            (CookieConfig::default(), "a\\b", None),
            (CookieConfig::default(), "a\r\nSet-Cookie: x=y", None),
            (CookieConfig::default(), "\u{e9}", None),
            (
                CookieConfig {
                    path: "/a;Secure".into(),
                    ..CookieConfig::default()
                },
                "abc",
                None,
            ),
            (
                CookieConfig {
                    path: "/a\nb".into(),
                    ..CookieConfig::default()
                },
                "abc",
                None,
            ),
            (
                CookieConfig {
                    domain: Some("ex;ample".into()),
                    ..CookieConfig::default()
                },
                "abc",
                None,
            ),
            (
                CookieConfig {
                    domain: Some("exa\u{e9}mple".into()),
                    ..CookieConfig::default()
                },
                "abc",
                None,
            ),
        ];
        for (index, (config, sid, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                rendered(&config, sid).as_deref(),
                expected,
                "case {index}: {config:?}"
            );
        }
    }
}
