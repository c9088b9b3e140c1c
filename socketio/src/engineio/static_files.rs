//! Static files served next to the engine, with python-engineio's `static_files` rules.
//!
//! A rule maps a URL to a file or directory path. A request URL that is not itself a rule
//! is matched by walking up its path one segment at a time until a rule (with or without a
//! trailing `/`) is found; the part walked over is appended to the rule's target. A result
//! ending in `/` gets the default file (`index.html` unless configured) appended.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::body::Body;
use http::{HeaderValue, Method, Response, StatusCode, header};

const INDEX_FILE: &str = "index.html";
const FALLBACK_CONTENT_TYPE: &str = "application/octet-stream";

/// URL-to-file rules for static files served alongside the engine.
///
/// ```rust
/// use socketio::engineio::StaticFiles;
///
/// let files = StaticFiles::new()
///     .route("/", "latency.html")
///     .route("/static", "./public")
///     .route_with_content_type("/data", "data.bin", "application/x-custom")
///     .default_file("home.html");
/// # let _ = files;
/// ```
///
/// With these rules `/` serves `latency.html`, `/static/css/app.css` serves
/// `./public/css/app.css` and `/static/` serves `./public/home.html`. Only `GET` and `HEAD`
/// are answered; a request that matches no rule, or whose file does not exist, is passed
/// on to the application the engine wraps.
#[derive(Debug, Clone, Default)]
pub struct StaticFiles {
    routes: BTreeMap<String, Target>,
    default_file: Option<Target>,
}

/// A configured file name and, optionally, the content type that overrides the guess from
/// its extension.
#[derive(Debug, Clone)]
struct Target {
    file: String,
    content_type: Option<String>,
}

/// The file a request resolves to, before any file system access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StaticTarget {
    /// The local file to read.
    pub(crate) path: PathBuf,
    /// The `Content-Type` to answer with.
    pub(crate) content_type: String,
}

impl StaticFiles {
    /// No rules.
    pub fn new() -> Self {
        StaticFiles::default()
    }

    /// Serves `target` for `url`, and for URLs below `url` when `target` is a directory.
    ///
    /// `url` is a path such as `/` or `/static`; `target` a local file or directory path,
    /// relative to the working directory unless absolute. A later rule for the same `url`
    /// replaces the earlier one.
    pub fn route(self, url: impl Into<String>, target: impl Into<String>) -> Self {
        self.add_route(url.into(), target.into(), None)
    }

    /// Like [`StaticFiles::route`], with an explicit `Content-Type` instead of the one
    /// guessed from the file extension.
    pub fn route_with_content_type(
        self,
        url: impl Into<String>,
        target: impl Into<String>,
        content_type: impl Into<String>,
    ) -> Self {
        self.add_route(url.into(), target.into(), Some(content_type.into()))
    }

    /// The file served for URLs resolving to a directory (ending in `/`), instead of
    /// `index.html`.
    pub fn default_file(mut self, name: impl Into<String>) -> Self {
        self.default_file = Some(Target {
            file: name.into(),
            content_type: None,
        });
        self
    }

    /// Like [`StaticFiles::default_file`], with an explicit `Content-Type`.
    pub fn default_file_with_content_type(
        mut self,
        name: impl Into<String>,
        content_type: impl Into<String>,
    ) -> Self {
        self.default_file = Some(Target {
            file: name.into(),
            content_type: Some(content_type.into()),
        });
        self
    }

    fn add_route(mut self, url: String, file: String, content_type: Option<String>) -> Self {
        self.routes.insert(url, Target { file, content_type });
        self
    }

    /// The file that `url_path` (the raw, still percent-encoded path of a request URL)
    /// resolves to, or `None` when no rule matches or the path is unsafe.
    ///
    /// Pure: the file is not looked at.
    pub(crate) fn resolve(&self, url_path: &str) -> Option<StaticTarget> {
        let path = percent_decode(url_path)?;
        if !is_safe(&path) {
            return None;
        }
        let (rule, rest) = self.find_rule(&path)?;

        // The rest starts with `/`; a directory target already supplies one. An empty
        // target means the working directory, and must not turn `/x` into an absolute path:
        // every leading slash goes, since `//x` would be absolute as well.
        let rest = if rule.file.is_empty() || rule.file.ends_with('/') {
            rest.trim_start_matches('/')
        } else {
            rest
        };
        let mut file = format!("{}{rest}", rule.file);
        let mut content_type = rule.content_type.clone();
        if file.is_empty() || file.ends_with('/') {
            match &self.default_file {
                Some(default) => {
                    file.push_str(&default.file);
                    if default.content_type.is_some() {
                        content_type.clone_from(&default.content_type);
                    }
                }
                None => file.push_str(INDEX_FILE),
            }
        }
        let path = PathBuf::from(file);
        let content_type = content_type.unwrap_or_else(|| content_type_for(&path).to_owned());
        Some(StaticTarget { path, content_type })
    }

    /// The rule for `path` and the part of the path below it (empty or starting with `/`).
    fn find_rule<'p>(&self, path: &'p str) -> Option<(&Target, &'p str)> {
        if let Some(rule) = self.routes.get(path) {
            return Some((rule, ""));
        }
        let mut prefix = path;
        while !prefix.is_empty() {
            let cut = prefix.rfind('/')?;
            prefix = &path[..cut];
            let rest = &path[cut..];
            if let Some(rule) = self.routes.get(prefix) {
                return Some((rule, rest));
            }
            if let Some(rule) = self.routes.get(&format!("{prefix}/")) {
                return Some((rule, rest));
            }
        }
        None
    }

    /// Answers a `GET` or `HEAD` request for a static file.
    ///
    /// `None` when the request is not for a static file (another method, no matching
    /// rule, an unsafe path, or no regular file at the resolved path), so that the caller
    /// passes it on; `500` when the file exists but cannot be read.
    pub(crate) async fn serve(&self, method: &Method, url_path: &str) -> Option<Response<Body>> {
        let head_only = match *method {
            Method::GET => false,
            Method::HEAD => true,
            _ => return None,
        };
        let target = self.resolve(url_path)?;
        // python-engineio also falls through when the file is missing: a rule like
        // `"/" -> "index.html"` matches every URL, and must not hide the wrapped app.
        let metadata = tokio::fs::metadata(&target.path).await.ok()?;
        if !metadata.is_file() {
            return None;
        }
        let content_type = HeaderValue::from_str(&target.content_type)
            .unwrap_or(HeaderValue::from_static(FALLBACK_CONTENT_TYPE));

        let mut response = if head_only {
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(metadata.len()));
            response
        } else {
            match tokio::fs::read(&target.path).await {
                Ok(bytes) => Response::new(Body::from(bytes)),
                Err(_) => return Some(internal_error()),
            }
        };
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
        Some(response)
    }
}

fn internal_error() -> Response<Body> {
    let mut response = Response::new(Body::from("Internal Server Error"));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Decodes `%XX` escapes as UTF-8. `None` for malformed escapes, invalid UTF-8, or an
/// escaped `/`, which would otherwise smuggle a separator into a single segment.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let high = hex_value(*bytes.get(index + 1)?)?;
            let low = hex_value(*bytes.get(index + 2)?)?;
            let value = (high << 4) | low;
            if value == b'/' {
                return None;
            }
            decoded.push(value);
            index += 3;
        } else {
            decoded.push(byte);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// A decoded path is safe when no part of it can leave the configured target: no `..`
/// segment, and no backslash or NUL that a file system could read differently.
fn is_safe(path: &str) -> bool {
    !path.contains(['\\', '\0']) && !path.split('/').any(|segment| segment == "..")
}

/// The content type for a file, from its extension.
fn content_type_for(path: &Path) -> &'static str {
    let Some(extension) = path.extension().and_then(|ext| ext.to_str()) else {
        return FALLBACK_CONTENT_TYPE;
    };
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "json" | "map" => "application/json",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "wasm" => "application/wasm",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        _ => FALLBACK_CONTENT_TYPE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(files: &StaticFiles, url: &str) -> Option<(String, String)> {
        files.resolve(url).map(|target| {
            (
                target.path.to_string_lossy().into_owned(),
                target.content_type,
            )
        })
    }

    fn expect(path: &str, content_type: &str) -> Option<(String, String)> {
        Some((path.to_owned(), content_type.to_owned()))
    }

    fn check(files: &StaticFiles, cases: &[(&str, Option<(String, String)>)]) {
        for (url, expected) in cases {
            assert_eq!(&resolved(files, url), expected, "url {url:?}");
        }
    }

    #[test]
    fn single_files() {
        let files = StaticFiles::new()
            .route("/", "latency.html")
            .route("/static/socket.io.js", "static/socket.io.js")
            .route("/static/style.css", "static/style.css");
        check(
            &files,
            &[
                ("/", expect("latency.html", "text/html")),
                (
                    "/static/socket.io.js",
                    expect("static/socket.io.js", "text/javascript"),
                ),
                ("/static/style.css", expect("static/style.css", "text/css")),
                // As in python, the `/` rule is a prefix of everything; `serve` then finds
                // no such file and passes the request on.
                (
                    "/other",
                    expect("latency.html/other", FALLBACK_CONTENT_TYPE),
                ),
                (
                    "/static/other.js",
                    expect("latency.html/static/other.js", "text/javascript"),
                ),
            ],
        );
        assert_eq!(
            resolved(&StaticFiles::new().route("/a", "a.txt"), "/b"),
            None
        );
        assert_eq!(resolved(&StaticFiles::new(), "/"), None);
    }

    #[test]
    fn explicit_content_type() {
        let files = StaticFiles::new().route_with_content_type("/", "latency.html", "text/plain");
        check(&files, &[("/", expect("latency.html", "text/plain"))]);
    }

    #[test]
    fn directory_without_trailing_slash() {
        let files = StaticFiles::new().route("/static", "./public");
        check(
            &files,
            &[
                (
                    "/static/index.html",
                    expect("./public/index.html", "text/html"),
                ),
                (
                    "/static/css/styles.css",
                    expect("./public/css/styles.css", "text/css"),
                ),
                ("/static/", expect("./public/index.html", "text/html")),
                ("/static", expect("./public", FALLBACK_CONTENT_TYPE)),
                (
                    "/static/img/",
                    expect("./public/img/index.html", "text/html"),
                ),
                ("/staticfile", None),
                ("/other/static/x.js", None),
            ],
        );
    }

    #[test]
    fn directory_with_trailing_slash() {
        let files = StaticFiles::new().route("/static/", "./public/");
        check(
            &files,
            &[
                ("/static/", expect("./public/index.html", "text/html")),
                (
                    "/static/app.js",
                    expect("./public/app.js", "text/javascript"),
                ),
                (
                    "/static/a/b/c.png",
                    expect("./public/a/b/c.png", "image/png"),
                ),
                // `/static` alone matches no rule.
                ("/static", None),
            ],
        );
        let mixed = StaticFiles::new().route("/static/", "./public");
        check(
            &mixed,
            &[(
                "/static/app.js",
                expect("./public/app.js", "text/javascript"),
            )],
        );
        let mixed = StaticFiles::new().route("/static", "./public/");
        check(
            &mixed,
            &[(
                "/static/app.js",
                expect("./public/app.js", "text/javascript"),
            )],
        );
    }

    #[test]
    fn default_file() {
        let files = StaticFiles::new()
            .route("/static", "./public")
            .default_file("image.gif");
        check(
            &files,
            &[
                ("/static/", expect("./public/image.gif", "image/gif")),
                (
                    "/static/sub/",
                    expect("./public/sub/image.gif", "image/gif"),
                ),
                ("/static/a.css", expect("./public/a.css", "text/css")),
            ],
        );
        let typed = StaticFiles::new()
            .route("/static", "./public")
            .default_file_with_content_type("image.gif", "text/plain");
        check(
            &typed,
            &[
                ("/static/", expect("./public/image.gif", "text/plain")),
                ("/static/a.gif", expect("./public/a.gif", "image/gif")),
            ],
        );
        // A route's own content type stays unless the default file brings one.
        let route_typed = StaticFiles::new()
            .route_with_content_type("/docs/", "./docs/", "text/markdown")
            .default_file("README");
        check(
            &route_typed,
            &[("/docs/", expect("./docs/README", "text/markdown"))],
        );
    }

    #[test]
    fn root_directory() {
        let files = StaticFiles::new().route("/", "./site/");
        check(
            &files,
            &[
                ("/", expect("./site/index.html", "text/html")),
                ("/app.js", expect("./site/app.js", "text/javascript")),
                ("/a/b.json", expect("./site/a/b.json", "application/json")),
            ],
        );
        let empty_target = StaticFiles::new().route("/files", "");
        check(
            &empty_target,
            &[
                ("/files/x.txt", expect("x.txt", "text/plain")),
                ("/files/", expect("index.html", "text/html")),
            ],
        );
    }

    #[test]
    fn longest_rule_wins() {
        let files = StaticFiles::new()
            .route("/", "./site/")
            .route("/static", "./public")
            .route("/static/special.js", "special/v2.js");
        check(
            &files,
            &[
                (
                    "/static/special.js",
                    expect("special/v2.js", "text/javascript"),
                ),
                (
                    "/static/app.js",
                    expect("./public/app.js", "text/javascript"),
                ),
                ("/app.js", expect("./site/app.js", "text/javascript")),
            ],
        );
    }

    #[test]
    fn later_route_replaces_earlier() {
        let files = StaticFiles::new().route("/", "a.html").route("/", "b.html");
        check(&files, &[("/", expect("b.html", "text/html"))]);
    }

    #[test]
    fn percent_decoding() {
        let files = StaticFiles::new().route("/static", "./public");
        check(
            &files,
            &[
                (
                    "/static/my%20file.txt",
                    expect("./public/my file.txt", "text/plain"),
                ),
                (
                    "/static/caf%C3%A9.css",
                    expect("./public/caf\u{e9}.css", "text/css"),
                ),
                ("/st%61tic/a.js", expect("./public/a.js", "text/javascript")),
                ("/static/%ff.txt", None),
                ("/static/%zz.txt", None),
                ("/static/bad%", None),
                ("/static/bad%4", None),
                // Decoded once only: `%252e` is a file literally named `%2e`.
                (
                    "/static/%252e%252e/x",
                    expect("./public/%2e%2e/x", FALLBACK_CONTENT_TYPE),
                ),
            ],
        );
    }

    #[test]
    fn traversal_is_refused() {
        let files = StaticFiles::new()
            .route("/static", "./public")
            .route("/", "./site/");
        let attempts = [
            "/static/../secret.txt",
            "/static/../../etc/passwd",
            "/static/a/../../secret",
            "/static/..",
            "/static/%2e%2e/secret",
            "/static/%2E%2E/secret",
            "/static/.%2e/secret",
            "/static/..%2fsecret",
            "/static/%2f..%2fsecret",
            "/static/a%2Fb.txt",
            "/static/..\\secret",
            "/static/%5c..%5csecret",
            "/static/..%5Csecret",
            "/static/a%00.txt",
            "/static/a\0.txt",
            "/../site/x",
            "/..",
        ];
        for url in attempts {
            assert_eq!(resolved(&files, url), None, "url {url:?}");
        }
        // Dots inside a segment are just part of the name.
        check(
            &files,
            &[
                (
                    "/static/a..b.txt",
                    expect("./public/a..b.txt", "text/plain"),
                ),
                (
                    "/static/.well-known/x.json",
                    expect("./public/.well-known/x.json", "application/json"),
                ),
                ("/static/./a.css", expect("./public/./a.css", "text/css")),
            ],
        );
    }

    /// Found by the `static_path` fuzz target: extra slashes after the rule of an empty target
    /// (the working directory) made an absolute path, `/e//etc/passwd` serving `/etc/passwd`.
    #[test]
    fn repeated_slashes_stay_below_an_empty_target() {
        let files = StaticFiles::new()
            .route("/e", "")
            .route("/", "")
            .route("/d/", "./public/");
        check(
            &files,
            &[
                (
                    "/e//etc/passwd",
                    expect("etc/passwd", FALLBACK_CONTENT_TYPE),
                ),
                (
                    "/e///etc/passwd",
                    expect("etc/passwd", FALLBACK_CONTENT_TYPE),
                ),
                ("///a", expect("a", FALLBACK_CONTENT_TYPE)),
                ("//", expect("index.html", "text/html")),
                (
                    "/d//etc/passwd",
                    expect("./public/etc/passwd", FALLBACK_CONTENT_TYPE),
                ),
            ],
        );
        let empty_url = StaticFiles::new().route("", "");
        check(&empty_url, &[("//", expect("index.html", "text/html"))]);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let files = StaticFiles::new().route("/", "./site/").route("", "./root");
        for url in [
            "", "no-slash", "//", "///a", "%", "%%", "/\u{e9}/", "/%C3", "/%C3%A9",
        ] {
            let _ = files.resolve(url);
        }
        check(
            &files,
            &[
                ("", expect("./root", FALLBACK_CONTENT_TYPE)),
                ("no-slash", None),
                ("//", expect("./site/index.html", "text/html")),
            ],
        );
    }

    #[test]
    fn content_types() {
        let cases = [
            ("a.html", "text/html"),
            ("a.HTM", "text/html"),
            ("a.css", "text/css"),
            ("a.js", "text/javascript"),
            ("a.mjs", "text/javascript"),
            ("a.json", "application/json"),
            ("a.js.map", "application/json"),
            ("a.txt", "text/plain"),
            ("a.xml", "application/xml"),
            ("a.png", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.JPEG", "image/jpeg"),
            ("a.gif", "image/gif"),
            ("a.svg", "image/svg+xml"),
            ("a.ico", "image/x-icon"),
            ("a.webp", "image/webp"),
            ("a.wasm", "application/wasm"),
            ("a.woff", "font/woff"),
            ("a.woff2", "font/woff2"),
            ("a.unknown", FALLBACK_CONTENT_TYPE),
            ("Makefile", FALLBACK_CONTENT_TYPE),
            ("dir.d/file", FALLBACK_CONTENT_TYPE),
            (".hidden", FALLBACK_CONTENT_TYPE),
        ];
        for (file, expected) in cases {
            assert_eq!(content_type_for(Path::new(file)), expected, "file {file:?}");
        }
    }

    /// A scratch directory removed on drop (the crate has no temp-dir dev-dependency).
    struct ScratchDir(PathBuf);

    impl ScratchDir {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "socketio-static-files-{name}-{}",
                std::process::id()
            ));
            // A leftover from an earlier, aborted run with the same process id.
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).expect("create scratch dir");
            ScratchDir(path)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    struct Site {
        dir: ScratchDir,
        files: StaticFiles,
    }

    fn site(name: &str) -> Site {
        let dir = ScratchDir::new(name);
        let root = dir.path();
        std::fs::create_dir_all(root.join("public/sub")).expect("mkdir");
        std::fs::create_dir_all(root.join("public/nested.dir")).expect("mkdir");
        std::fs::write(root.join("public/index.html"), "<h1>home</h1>").expect("write");
        std::fs::write(root.join("public/app.js"), "console.log(1)").expect("write");
        std::fs::write(root.join("secret.txt"), "top secret").expect("write");
        let public = format!("{}/public", root.display());
        let files = StaticFiles::new()
            .route("/static", public.clone())
            .route_with_content_type(
                "/raw",
                format!("{public}/app.js"),
                "text/plain; charset=utf-8",
            )
            .route_with_content_type("/broken", format!("{public}/app.js"), "bad\nvalue");
        Site { dir, files }
    }

    /// Expected answer of `serve`: status, content type and body.
    type Served = Option<(StatusCode, &'static str, &'static [u8])>;

    async fn body_of(response: Response<Body>) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec()
    }

    #[tokio::test]
    async fn serve_table() {
        let site = site("serve");
        let cases: &[(Method, &str, Served)] = &[
            (
                Method::GET,
                "/static/app.js",
                Some((StatusCode::OK, "text/javascript", b"console.log(1)")),
            ),
            (
                Method::GET,
                "/static/",
                Some((StatusCode::OK, "text/html", b"<h1>home</h1>")),
            ),
            (
                Method::GET,
                "/static/index.html",
                Some((StatusCode::OK, "text/html", b"<h1>home</h1>")),
            ),
            (
                Method::GET,
                "/raw",
                Some((
                    StatusCode::OK,
                    "text/plain; charset=utf-8",
                    b"console.log(1)",
                )),
            ),
            (
                Method::GET,
                "/broken",
                Some((StatusCode::OK, FALLBACK_CONTENT_TYPE, b"console.log(1)")),
            ),
            (
                Method::HEAD,
                "/static/app.js",
                Some((StatusCode::OK, "text/javascript", b"")),
            ),
            // Missing files and directories fall through to the wrapped app.
            (Method::GET, "/static/missing.js", None),
            (Method::GET, "/static/sub", None),
            (Method::GET, "/static/nested.dir", None),
            (Method::GET, "/static/sub/", None),
            (Method::GET, "/static/app.js/x", None),
            (Method::GET, "/static/../secret.txt", None),
            (Method::GET, "/static/%2e%2e/secret.txt", None),
            (Method::GET, "/elsewhere", None),
            (Method::POST, "/static/app.js", None),
            (Method::PUT, "/static/app.js", None),
            (Method::OPTIONS, "/static/app.js", None),
        ];
        for (method, url, expected) in cases {
            let response = site.files.serve(method, url).await;
            match (response, expected) {
                (None, None) => {}
                (Some(response), Some((status, content_type, body))) => {
                    assert_eq!(response.status(), *status, "{method} {url}");
                    assert_eq!(
                        response
                            .headers()
                            .get(header::CONTENT_TYPE)
                            .map(HeaderValue::as_bytes),
                        Some(content_type.as_bytes()),
                        "{method} {url}"
                    );
                    assert_eq!(body_of(response).await, *body, "{method} {url}");
                }
                (response, expected) => {
                    panic!("{method} {url}: got {response:?}, expected {expected:?}")
                }
            }
        }
        assert!(site.dir.path().join("secret.txt").exists());
    }

    #[tokio::test]
    async fn head_reports_length() {
        let site = site("head");
        let response = site
            .files
            .serve(&Method::HEAD, "/static/app.js")
            .await
            .expect("served");
        assert_eq!(
            response.headers().get(header::CONTENT_LENGTH),
            Some(&HeaderValue::from_static("14"))
        );
        assert!(body_of(response).await.is_empty());
    }
}
