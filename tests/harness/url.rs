//! Application URLs.

use std::fmt::Write as _;

/// `url` with `params` appended as its query, each name and value percent-encoded.
pub(crate) fn with_params(mut url: String, params: &[(&str, &str)]) -> String {
    for (i, (name, value)) in params.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(&encode(name));
        url.push('=');
        url.push_str(&encode(value));
    }
    url
}

/// Percent-encodes all but unreserved characters and `/`, so file paths stay readable.
fn encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}
