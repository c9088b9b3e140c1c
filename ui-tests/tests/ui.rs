//! Runs every case under `on/` and `namespace/`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("on/pass/*.rs");
    cases.pass("namespace/pass/*.rs");
    cases.compile_fail("on/fail/*.rs");
    cases.compile_fail("namespace/fail/*.rs");
}
