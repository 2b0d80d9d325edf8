//! Server URLs: the secret string the driver gets, and a redacted form for everything else.
//!
//! Redaction never depends on the URL parsing: a URL mistyped in any way (one slash, no
//! slash, three, an unescaped `@` or `?` in the password) is printed by the same rules as a
//! valid one. The rules keep what is known to be safe and hide the rest: everything before
//! the last `@` but the user name, the value of every query parameter not known to be
//! harmless, and a "port" that is not a number (often a password whose host was forgotten).

use std::fmt;
use std::path::PathBuf;

use crate::tls::{TlsMode, TlsSettings};

/// The URL of one server, checked for its backend.
///
/// `Display` and `Debug` print it with the password replaced by `***`; only the driver sees
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl {
    secret: String,
    redacted: String,
    host: Option<String>,
    port: Option<u16>,
    /// Which server it names, whatever the credentials and settings: one server listed
    /// twice (as a replica and a primary candidate, say) has one address.
    address: String,
    tls: TlsSettings,
}

/// The names a backend's URLs give the TLS settings (`sslmode`, `ssl-mode`, ...).
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
pub(crate) struct TlsParameters {
    pub(crate) mode: &'static [&'static str],
    pub(crate) root_cert: &'static [&'static str],
    pub(crate) client_cert: &'static [&'static str],
    pub(crate) client_key: &'static [&'static str],
}

impl ServerUrl {
    /// A network URL (`postgres://`, `mysql://`), with the port the backend defaults to.
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) fn network(
        input: &str,
        schemes: &[&str],
        default_port: u16,
    ) -> Result<Self, String> {
        let shown = redact_text(input);
        let mut url = url::Url::parse(input)
            .map_err(|error| format!("is not a valid URL ({error}): `{shown}`"))?;
        if !schemes.contains(&url.scheme()) {
            return Err(format!(
                "has scheme `{}`, expected {}",
                url.scheme(),
                one_of(schemes)
            ));
        }
        let host = match url.host_str() {
            Some(host) if !host.is_empty() && input.contains("://") => host.to_owned(),
            _ => return Err(format!("names no host: `{shown}`")),
        };
        if schemes[0] != url.scheme() {
            // Aliases (`postgresql`, `mariadb`) are spelled the way the driver expects.
            url = rescheme(&url, schemes[0])?;
        }
        let port = url.port().unwrap_or(default_port);
        Ok(Self {
            secret: url.to_string(),
            redacted: redact_text(url.as_str()),
            address: address(&url, &host, port),
            host: Some(host),
            port: Some(port),
            tls: TlsSettings::default(),
        })
    }

    /// Takes the TLS settings out of the URL's query (the names in `names`), over the
    /// database's `defaults`; the driver then gets the URL without them. Errors say which
    /// parameter is wrong and why.
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) fn with_tls(
        mut self,
        names: &TlsParameters,
        defaults: &TlsSettings,
    ) -> Result<Self, String> {
        let mut url = url::Url::parse(&self.secret).map_err(|error| error.to_string())?;
        let mut tls = defaults.clone();
        let mut kept = Vec::new();
        for (key, value) in url.query_pairs() {
            let path = || Some(PathBuf::from(value.as_ref()));
            match key.as_ref() {
                key if names.mode.contains(&key) => {
                    tls.mode = TlsMode::parse(&value).ok_or_else(|| {
                        format!(
                            "has `{key}={value}`, expected one of `disable`, `prefer`, \
                             `require`, `verify-ca`, `verify-full` (or MySQL's `DISABLED`, \
                             `PREFERRED`, `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY`)"
                        )
                    })?;
                }
                key if names.root_cert.contains(&key) => tls.root_cert = path(),
                key if names.client_cert.contains(&key) => tls.client_cert = path(),
                key if names.client_key.contains(&key) => tls.client_key = path(),
                _ => kept.push((key.into_owned(), value.into_owned())),
            }
        }
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
        self.secret = url.to_string();
        self.tls = tls;
        Ok(self)
    }

    /// How connections to the server use TLS.
    pub fn tls(&self) -> &TlsSettings {
        &self.tls
    }

    /// A file path (SQLite). It is printed as given unless it looks like it holds
    /// credentials (a server URL given to a SQLite database, say).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn file(path: &str) -> Self {
        Self {
            secret: path.to_owned(),
            redacted: format!("sqlite://{}", redact_path(path)),
            address: path.to_owned(),
            host: None,
            port: None,
            tls: TlsSettings {
                mode: TlsMode::Disable,
                ..TlsSettings::default()
            },
        }
    }

    /// The string handed to the driver. It may hold a password: never log it.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// The host name or address, for network servers.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The port, for network servers.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Which server the URL names: host and port, database and socket; a file's path.
    /// Secret where the URL is malformed enough to hold a password there: never log it.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// The password in the URL, as written and percent-decoded, for scrubbing driver
    /// messages that might quote it.
    pub(crate) fn secrets(&self) -> Vec<String> {
        secrets_in(&self.secret)
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerUrl({})", self.redacted)
    }
}

/// `host:port/database`, and the Unix socket when a query parameter names one (libpq's
/// `host`, MySQL's `socket`): what tells one server from another.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
fn address(url: &url::Url, host: &str, port: u16) -> String {
    let socket = url
        .query_pairs()
        .find(|(key, _)| key == "host" || key == "socket")
        .map(|(_, path)| format!(" socket {path}"))
        .unwrap_or_default();
    let database = url.path().trim_end_matches('/');
    format!("{}:{port}{database}{socket}", host.to_ascii_lowercase())
}

#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
fn rescheme(url: &url::Url, scheme: &str) -> Result<url::Url, String> {
    let rest = &url.as_str()[url.scheme().len()..];
    url::Url::parse(&format!("{scheme}{rest}")).map_err(|error| error.to_string())
}

/// The schemes diesel-route reads; a URL of any other is shown by its scheme alone.
const KNOWN_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "sqlite",
    "file",
];

/// Query parameters whose values are shown: settings, never credentials.
const SHOWN_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "ssl_mode",
    "sslrootcert",
    "ssl-ca",
    "ssl_ca",
    "sslcert",
    "ssl-cert",
    "connect_timeout",
    "application_name",
    "target_session_attrs",
    "prefer_socket",
    "statement_cache_size",
];

/// Text that should be a URL, printed without what could be a password, whether it parses
/// or not.
pub(crate) fn redact_text(input: &str) -> String {
    if input.contains(char::is_whitespace) || input.contains(char::is_control) {
        // libpq's `key=value` strings and other things that are no URL.
        return "*** (not a URL)".to_owned();
    }
    let Some((scheme, rest)) = split_scheme(input) else {
        return redact_path(input);
    };
    let slashes = rest.len() - rest.trim_start_matches('/').len();
    let rest = &rest[slashes..];
    let file = matches!(scheme.to_ascii_lowercase().as_str(), "sqlite" | "file");
    let slashes_shown = "/".repeat(slashes);
    if file {
        return format!("{scheme}:{slashes_shown}{}", redact_path(rest));
    }
    if slashes != 2 || !KNOWN_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) {
        // Not a server URL of ours, or one mistyped before its host: what follows the colon
        // may be anything, a password included.
        return format!("{scheme}:{slashes_shown}***");
    }
    let slashes = slashes_shown;
    let (credentials, after) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    if credentials.is_some_and(|credentials| credentials.contains('@')) {
        // An unescaped `@` in the password: where it ends and the host begins is anyone's
        // guess, so neither is shown.
        return format!("{scheme}:{slashes}***");
    }
    let (location, query) = match after.find(['?', '#']) {
        Some(at) => (&after[..at], Some(&after[at..])),
        None => (after, None),
    };
    let mut shown = format!("{scheme}:{slashes}");
    if let Some(credentials) = credentials {
        shown.push_str(&redact_credentials(credentials));
        shown.push('@');
    }
    shown.push_str(&redact_location(location));
    if let Some(query) = query {
        shown.push_str(&redact_query(query));
    }
    shown
}

/// `scheme` and what follows its `:`, when `input` starts with one.
fn split_scheme(input: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = input.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// `user:***`, or `***` when the user cannot be told from the rest.
fn redact_credentials(credentials: &str) -> String {
    match credentials.split_once(':') {
        Some((user, _)) if is_plain_name(user) => format!("{user}:***"),
        Some(_) => "***".to_owned(),
        None if is_plain_name(credentials) => credentials.to_owned(),
        None => "***".to_owned(),
    }
}

/// `host:port/path`: a "port" that is not a number, or a path holding `:`, may be a
/// password: hidden.
fn redact_location(location: &str) -> String {
    let (authority, path) = match location.find('/') {
        Some(at) => location.split_at(at),
        None => (location, ""),
    };
    let authority = match authority.rsplit_once(':') {
        // A host has no `:` unless it is an address in brackets: this is `user:password`.
        Some((host, _)) if host.contains(':') && !host.starts_with('[') => "***".to_owned(),
        Some((host, port)) if !port.chars().all(|c| c.is_ascii_digit()) => {
            format!("{}:***", plain_or_hidden(host))
        }
        _ => plain_or_hidden(authority),
    };
    let path = match path.contains(':') {
        true => "/***".to_owned(),
        false => plain_or_hidden(path),
    };
    format!("{authority}{path}")
}

/// Host names, ports and database paths are made of few characters; text with others in it
/// may be (part of) a password.
fn plain_or_hidden(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '[' | ']' | ':'));
    match plain {
        true => text.to_owned(),
        false => "***".to_owned(),
    }
}

/// `?key=value&...` with only the parameters of [`SHOWN_PARAMETERS`] shown: any other piece
/// may hold a password, or the tail of one that had a `&` in it.
fn redact_query(query: &str) -> String {
    let (marker, pairs) = query.split_at(1);
    let mut shown: Vec<String> = Vec::new();
    for pair in pairs.split('&') {
        let known = pair.split_once('=').filter(|(key, value)| {
            SHOWN_PARAMETERS.contains(&key.to_ascii_lowercase().as_str())
                && plain_or_hidden(value) == *value
        });
        match known {
            Some((key, value)) => shown.push(format!("{key}={value}")),
            None if shown.last().is_some_and(|last| last == "***") => {}
            None => shown.push("***".to_owned()),
        }
    }
    format!("{marker}{}", shown.join("&"))
}

/// A path or a bare word: shown unless it holds what credentials come with.
fn redact_path(text: &str) -> String {
    if text.contains(['@', ':', '=', '?', '#']) || text.contains(char::is_whitespace) {
        "***".to_owned()
    } else {
        text.to_owned()
    }
}

fn is_plain_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '%'))
}

/// What could be the password in a URL: the part after the user's `:` before the last `@`,
/// as written and percent-decoded, and the values of `password`-like parameters.
fn secrets_in(url: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    let rest = split_scheme(url).map_or(url, |(_, rest)| rest.trim_start_matches('/'));
    if let Some(at) = rest.rfind('@')
        && let Some((_, password)) = rest[..at].split_once(':')
    {
        secrets.push(password.to_owned());
    }
    if let Some((_, query)) = rest.split_once('?') {
        for pair in query.split('&') {
            if let Some((key, value)) = pair.split_once('=')
                && !SHOWN_PARAMETERS.contains(&key.to_ascii_lowercase().as_str())
            {
                secrets.push(value.to_owned());
            }
        }
    }
    let decoded: Vec<String> = secrets
        .iter()
        .map(|secret| percent_decode(secret))
        .collect();
    secrets.extend(decoded);
    secrets.retain(|secret| secret.len() >= 2);
    secrets.sort();
    secrets.dedup();
    secrets
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// `text` with every secret replaced by `***`: for driver messages, which may quote a URL.
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret.as_str(), "***")
    })
}

pub(crate) fn one_of(options: &[&str]) -> String {
    let quoted: Vec<String> = options.iter().map(|option| format!("`{option}`")).collect();
    match quoted.as_slice() {
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &[&str] = &["postgres", "postgresql"];

    #[test]
    fn password_never_printed() {
        let url = ServerUrl::network(
            "postgres://app:hunter2@db.internal:6432/app?sslpassword=s3cret&sslmode=require",
            PG,
            5432,
        )
        .unwrap();
        let shown = format!("{url} {url:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(shown.contains("app:***@db.internal:6432"), "{shown}");
        assert!(shown.contains("sslmode=require"), "{shown}");
        assert!(url.secret().contains("hunter2"));
        assert_eq!((url.host(), url.port()), (Some("db.internal"), Some(6432)));
    }

    #[test]
    fn aliases_are_rewritten_and_ports_defaulted() {
        let url =
            ServerUrl::network("mariadb://app@localhost/app", &["mysql", "mariadb"], 3306).unwrap();
        assert_eq!(url.secret(), "mysql://app@localhost/app");
        assert_eq!(url.port(), Some(3306));
    }

    #[test]
    fn malformed_urls_are_redacted_by_the_same_rules() {
        for (input, shown) in [
            ("postgres:/app:pw@host/app", "postgres:/***"),
            ("postgres:app:pw@host/app", "postgres:***"),
            ("postgres:///app:pw@host/app", "postgres:///***"),
            ("sqlite:app.db", "sqlite:app.db"),
            ("postgres//app:pw@host", "***"),
            (
                "postgres://db:port/app?password=pw",
                "postgres://db:***/app?***",
            ),
            ("postgres://a:pw@db:port/app", "postgres://a:***@db:***/app"),
            ("postgres://app:p@ss@host/db", "postgres://***"),
            ("postgres://app:p?ss@host/db", "postgres://app:***@host/db"),
            ("postgres://app:pw/db", "postgres://app:***/db"),
            ("host=db user=app password=pw", "*** (not a URL)"),
            ("mysql://app@host:3306/db", "mysql://app@host:3306/db"),
        ] {
            assert_eq!(redact_text(input), shown, "{input}");
        }
    }

    #[test]
    fn bad_urls_are_explained_without_the_password() {
        for input in [
            "postgres//app:pw@host",
            "host=db user=app password=pw",
            "postgres://app:pw@:5432/db",
            "postgres:/app:pw@host/app",
            "postgres:app:pw@host/app",
            "postgres:///app:pw@host/app",
        ] {
            let error = ServerUrl::network(input, PG, 5432).unwrap_err();
            assert!(!error.contains("pw"), "{input}: {error}");
        }
        let error = ServerUrl::network("mysql://app:pw@host/db", PG, 5432).unwrap_err();
        assert_eq!(
            error,
            "has scheme `mysql`, expected `postgres` or `postgresql`"
        );
    }

    #[test]
    fn secrets_are_found_as_written_and_decoded() {
        let secrets = secrets_in("postgres://app:p%40ss@host/db?password=other");
        assert!(secrets.contains(&"p%40ss".to_owned()), "{secrets:?}");
        assert!(secrets.contains(&"p@ss".to_owned()), "{secrets:?}");
        assert!(secrets.contains(&"other".to_owned()), "{secrets:?}");
        let scrubbed = scrub("bad password p@ss for app", &secrets);
        assert_eq!(scrubbed, "bad password *** for app");
    }
}
