//! Compile-time behaviour: `pass/` must compile, `fail/` must not, with the error in the
//! `.stderr` beside each case. Re-bless with `TRYBUILD=overwrite cargo test -p diesel-route-ui-tests`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/pass/*/*.rs");
    cases.compile_fail("tests/fail/*/*.rs");
}
