//! The query string of a request URL, compared with the `url` crate's form parser, then
//! sent to the engine service. The checks live in `socketio::__fuzz::query_string`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    socketio::__fuzz::query_string(data, |query| {
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    })
});
