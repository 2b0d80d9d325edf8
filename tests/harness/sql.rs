//! Helpers for the SQL the harness writes.

/// Panics unless `name` is a plain lowercase identifier, which needs no quoting in either
/// dialect.
pub(crate) fn check_identifier(name: &str) {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63;
    assert!(
        plain,
        "`{name}` is not a plain identifier: use lowercase letters, digits and `_`"
    );
}
