//! Server URLs: the secret string the driver gets, and a redacted form for everything else.

use std::fmt;

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
}

impl ServerUrl {
    /// A network URL (`postgres://`, `mysql://`), with the port the backend defaults to.
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) fn network(
        input: &str,
        schemes: &[&str],
        default_port: u16,
    ) -> Result<Self, String> {
        let mut url = url::Url::parse(input).map_err(|error| {
            format!("is not a valid URL ({error}): `{}`", redact_unparsed(input))
        })?;
        if !schemes.contains(&url.scheme()) {
            return Err(format!(
                "has scheme `{}`, expected {}",
                url.scheme(),
                one_of(schemes)
            ));
        }
        let host = match url.host_str() {
            Some(host) if !host.is_empty() => host.to_owned(),
            _ => return Err(format!("names no host: `{}`", redact(&url))),
        };
        if schemes[0] != url.scheme() {
            // Aliases (`postgresql`, `mariadb`) are spelled the way the driver expects.
            url = rescheme(&url, schemes[0])?;
        }
        Ok(Self {
            secret: url.to_string(),
            redacted: redact(&url),
            host: Some(host),
            port: Some(url.port().unwrap_or(default_port)),
        })
    }

    /// A file path (SQLite), printed as given: it holds no secret.
    pub(crate) fn file(path: &str) -> Self {
        Self {
            secret: path.to_owned(),
            redacted: format!("sqlite://{path}"),
            host: None,
            port: None,
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

#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
fn rescheme(url: &url::Url, scheme: &str) -> Result<url::Url, String> {
    let rest = &url.as_str()[url.scheme().len()..];
    url::Url::parse(&format!("{scheme}{rest}")).map_err(|error| error.to_string())
}

/// The URL with its password, and any `password` query parameter, replaced by `***`.
fn redact(url: &url::Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(key, value)| {
            let secret = key.to_ascii_lowercase().contains("password");
            let value = if secret { "***".into() } else { value };
            (key.into_owned(), value.into_owned())
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// Text that should be a URL, printed without what could be a password, parsed or not.
pub(crate) fn redact_text(input: &str) -> String {
    url::Url::parse(input).map_or_else(|_| redact_unparsed(input), |url| redact(&url))
}

/// Text that did not parse as a URL may hold a password (`user:pw@host` with a typo,
/// `?password=`, libpq's `password=...`): a URL-like text is shown without what stands
/// before its `@` and without its query, anything else only when it has none of the
/// characters a secret comes with.
fn redact_unparsed(input: &str) -> String {
    let Some((scheme, rest)) = input.split_once("://") else {
        let may_hold_secret =
            input.contains(['@', '=', ':']) || input.contains(char::is_whitespace);
        return if may_hold_secret {
            "***".to_owned()
        } else {
            input.to_owned()
        };
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    match rest.rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => format!("{scheme}://{rest}"),
    }
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

    #[test]
    fn password_never_printed() {
        let url = ServerUrl::network(
            "postgres://app:hunter2@db.internal:6432/app?sslpassword=s3cret&sslmode=require",
            &["postgres", "postgresql"],
            5432,
        )
        .unwrap();
        let shown = format!("{url} {url:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(shown.contains("app:***@db.internal:6432"), "{shown}");
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
    fn bad_urls_are_explained_without_the_password() {
        let schemes = &["postgres", "postgresql"];
        let error = ServerUrl::network("postgres//app:pw@host", schemes, 5432).unwrap_err();
        assert!(error.starts_with("is not a valid URL"), "{error}");
        assert!(error.ends_with("`***`"), "{error}");
        let conninfo = "host=db user=app password=pw dbname=app";
        let error = ServerUrl::network(conninfo, schemes, 5432).unwrap_err();
        assert!(!error.contains("pw"), "{error}");
        let unparsable = "postgres://db:port/app?password=pw";
        assert_eq!(redact_text(unparsable), "postgres://db:port/app");
        let unparsable = "postgres://a:pw@db:port/app";
        assert_eq!(redact_text(unparsable), "postgres://***@db:port/app");
        let error = ServerUrl::network("postgres://app:pw@:5432/db", schemes, 5432).unwrap_err();
        assert!(
            error.contains("not a valid URL") || error.contains("no host"),
            "{error}"
        );
        assert!(!error.contains("pw"), "{error}");
        let error = ServerUrl::network("mysql://app:pw@host/db", schemes, 5432).unwrap_err();
        assert_eq!(
            error,
            "has scheme `mysql`, expected `postgres` or `postgresql`"
        );
    }
}
