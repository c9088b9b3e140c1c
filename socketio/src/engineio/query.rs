//! The query string of an Engine.IO request.

/// Decoded `name=value` pairs, in order, repeats kept.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(query: &str) -> Query {
        let pairs = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name), percent_decode(value))
            })
            .collect();
        Query { pairs }
    }

    /// The first value of `name`.
    pub(crate) fn first(&self, name: &str) -> Option<String> {
        self.get_all(name).next().map(str::to_owned)
    }

    /// The only value of `name`; `Err` when it is given more than once.
    pub(crate) fn single<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, Repeated> {
        let mut values = self.get_all(name);
        let first = values.next();
        match values.next() {
            Some(_) => Err(Repeated),
            None => Ok(first),
        }
    }

    fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A query parameter that must appear once appeared several times.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Repeated;

/// Percent-decodes `+` as space and `%XX` escapes; invalid escapes and invalid UTF-8 are kept
/// lossily rather than rejected, since the values are only compared.
fn percent_decode(text: &str) -> String {
    if !text.contains(['+', '%']) {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let query = Query::parse("EIO=4&transport=polling&t=a%20b+c&x&bad=%zz&end=%4");
        assert_eq!(query.first("EIO").as_deref(), Some("4"));
        assert_eq!(query.first("t").as_deref(), Some("a b c"));
        assert_eq!(query.first("x").as_deref(), Some(""));
        assert_eq!(query.first("bad").as_deref(), Some("%zz"));
        assert_eq!(query.first("end").as_deref(), Some("%4"));
        assert_eq!(query.first("missing"), None);
    }

    #[test]
    fn detects_repeats() {
        let query = Query::parse("transport=polling&transport=websocket");
        assert_eq!(query.single("transport"), Err(Repeated));
        assert_eq!(query.single("sid"), Ok(None));
    }
}
