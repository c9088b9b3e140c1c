//! Runs every case under `on/`, `namespace/`, `event/`, `emit/`, `event_set/` and `handler/`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("on/pass/*.rs");
    cases.pass("namespace/pass/*.rs");
    cases.compile_fail("on/fail/*.rs");
    cases.compile_fail("namespace/fail/*.rs");
    cases.pass("event/pass/*.rs");
    cases.compile_fail("event/fail/*.rs");
    cases.compile_fail("emit/fail/*.rs");
    cases.pass("event_set/pass/*.rs");
    cases.compile_fail("event_set/fail/*.rs");
    cases.pass("handler/pass/*.rs");
    cases.compile_fail("handler/fail/*.rs");
}
