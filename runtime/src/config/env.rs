//! Configuration from environment variables: `DATABASE_URL` for `default`,
//! `<KEY>_DATABASE_URL` for the others, and the pool options beside them.

use std::time::Duration;

use super::{DatabaseConfig, Origin, ReadFallback, Setting};
use crate::error::Error;
use crate::tls::TlsMode;
use crate::url::redact_text;

/// Reads database `key`'s variables through `lookup` (the process environment, or a map in
/// tests). `Ok(None)` when its URL variable is unset.
pub(super) fn load(
    key: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<DatabaseConfig>, Error> {
    let prefix = prefix(key);
    let read = |setting: Setting| {
        let name = format!("{prefix}{}", setting.env_suffix());
        lookup(&name)
            .filter(|value| !value.trim().is_empty())
            .map(|value| (name, value))
    };
    let Some((_, url)) = read(Setting::Url) else {
        return Ok(None);
    };
    let mut config = DatabaseConfig::new(url.trim());
    config.origin = Origin::Env {
        prefix: prefix.clone(),
    };
    if let Some((_, urls)) = read(Setting::ReplicaUrls) {
        config.replicas = urls
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(String::from)
            .collect();
    }
    apply_pool_options(&mut config, key, read)?;
    Ok(Some(config))
}

/// The keys in `DATABASE_TOKEN_KEYS`, read through `lookup`: separated by commas, blanks
/// around them dropped.
pub(super) fn token_keys(lookup: impl Fn(&str) -> Option<String>) -> Vec<Vec<u8>> {
    let keys = lookup("DATABASE_TOKEN_KEYS").unwrap_or_default();
    keys.split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(|key| key.as_bytes().to_vec())
        .collect()
}

fn apply_pool_options(
    config: &mut DatabaseConfig,
    key: &str,
    read: impl Fn(Setting) -> Option<(String, String)>,
) -> Result<(), Error> {
    let pool = &mut config.pool;
    let parse = |setting| read(setting).map(|(name, value)| Value { key, name, value });
    if let Some(value) = parse(Setting::MaxSize) {
        pool.max_size = value.count()?;
    }
    if let Some(value) = parse(Setting::MinIdle) {
        pool.min_idle = value.count()?;
    }
    if let Some(value) = parse(Setting::ConnectTimeout) {
        pool.connect_timeout = value.duration()?;
    }
    if let Some(value) = parse(Setting::CheckoutTimeout) {
        pool.checkout_timeout = value.duration()?;
    }
    if let Some(value) = parse(Setting::PingAfter) {
        pool.ping_after = Some(value.duration()?);
    }
    if let Some(value) = parse(Setting::HealthCheckInterval) {
        pool.health_check_interval = value.duration()?;
    }
    if let Some(value) = parse(Setting::HealthCheckTimeout) {
        pool.health_check_timeout = value.duration()?;
    }
    if let Some(value) = parse(Setting::ReadTimeout) {
        pool.read_timeout = value.duration_or_off()?;
    }
    if let Some(value) = parse(Setting::WriteTimeout) {
        pool.write_timeout = value.duration_or_off()?;
    }
    if let Some(value) = parse(Setting::MaxLifetime) {
        pool.max_lifetime = value.duration_or_off()?;
    }
    if let Some(value) = parse(Setting::IdleTimeout) {
        pool.idle_timeout = value.duration_or_off()?;
    }
    if let Some(value) = parse(Setting::Keepalive) {
        pool.keepalive = value.duration_or_off()?;
    }
    if let Some(value) = parse(Setting::ReadFallback) {
        pool.read_fallback = value.fallback()?;
    }
    if let Some(value) = parse(Setting::ReadYourWrites) {
        pool.read_your_writes = value.switch()?;
    }
    if let Some(value) = parse(Setting::ReadYourWritesWait) {
        pool.read_your_writes_wait = value.duration()?;
    }
    if let Some(value) = parse(Setting::MaxReplicaLag) {
        pool.max_replica_lag = value.duration_or_off()?;
    }
    if let Some(value) = parse(Setting::MaxReplicaBehind) {
        pool.max_replica_behind = match value.value.trim() {
            "off" | "none" => None,
            _ => Some(value.count()? as u64),
        };
    }
    let tls = &mut config.tls;
    if let Some(value) = parse(Setting::TlsMode) {
        tls.mode = value.tls_mode()?;
    }
    if let Some(value) = parse(Setting::TlsRootCert) {
        tls.root_cert = Some(value.value.trim().into());
    }
    if let Some(value) = parse(Setting::TlsClientCert) {
        tls.client_cert = Some(value.value.trim().into());
    }
    if let Some(value) = parse(Setting::TlsClientKey) {
        tls.client_key = Some(value.value.trim().into());
    }
    Ok(())
}

/// `""` for `default` (`DATABASE_URL`), `"ANALYTICS_"` for `analytics`.
fn prefix(key: &str) -> String {
    match key {
        "default" => String::new(),
        other => format!("{}_", other.to_ascii_uppercase()),
    }
}

/// A value as an error may quote it: a URL set in the wrong variable is redacted.
fn shown(value: &str) -> String {
    match value.contains(['@', ':']) {
        true => redact_text(value),
        false => value.to_owned(),
    }
}

/// One variable's value, with what an error about it must name.
struct Value<'a> {
    key: &'a str,
    name: String,
    value: String,
}

impl Value<'_> {
    fn invalid(&self, expected: &str) -> Error {
        Error::config(
            self.key,
            &self.name,
            format!("must be {expected}, not `{}`", shown(self.value.trim())),
        )
    }

    fn count(&self) -> Result<usize, Error> {
        self.value
            .trim()
            .parse()
            .map_err(|_| self.invalid("a whole number"))
    }

    fn duration(&self) -> Result<Duration, Error> {
        humantime::parse_duration(self.value.trim())
            .map_err(|_| self.invalid("a duration such as `5s` or `250ms`"))
    }

    fn duration_or_off(&self) -> Result<Option<Duration>, Error> {
        match self.value.trim() {
            "off" | "none" | "never" => Ok(None),
            _ => self
                .duration()
                .map(Some)
                .map_err(|_| self.invalid("a duration such as `30m`, or `off`")),
        }
    }

    fn tls_mode(&self) -> Result<TlsMode, Error> {
        TlsMode::parse(self.value.trim()).ok_or_else(|| {
            self.invalid("`disable`, `prefer`, `require`, `verify-ca` or `verify-full`")
        })
    }

    fn switch(&self) -> Result<bool, Error> {
        match self.value.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "1" => Ok(true),
            "off" | "false" | "no" | "0" => Ok(false),
            _ => Err(self.invalid("`on` or `off`")),
        }
    }

    fn fallback(&self) -> Result<ReadFallback, Error> {
        match self.value.trim() {
            "primary" => Ok(ReadFallback::Primary),
            "fail" => Ok(ReadFallback::Fail),
            _ => Err(self.invalid("`primary` or `fail`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load_from(key: &str, vars: &[(&str, &str)]) -> Result<Option<DatabaseConfig>, Error> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        load(key, |name| vars.get(name).cloned())
    }

    #[test]
    fn default_uses_unprefixed_names() {
        let config = load_from(
            "default",
            &[
                ("DATABASE_URL", "postgres://a@p/app"),
                (
                    "DATABASE_REPLICA_URLS",
                    "postgres://a@r1/app, ,postgres://a@r2/app",
                ),
                ("DATABASE_POOL_MAX_SIZE", "32"),
                ("DATABASE_CHECKOUT_TIMEOUT", "250ms"),
                ("DATABASE_KEEPALIVE", "off"),
                ("DATABASE_READ_FALLBACK", "fail"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(config.primary, "postgres://a@p/app");
        assert_eq!(
            config.replicas,
            ["postgres://a@r1/app", "postgres://a@r2/app"]
        );
        assert_eq!(config.pool.max_size, 32);
        assert_eq!(config.pool.checkout_timeout, Duration::from_millis(250));
        assert_eq!(config.pool.keepalive, None);
        assert_eq!(config.pool.read_fallback, ReadFallback::Fail);
    }

    #[test]
    fn other_databases_are_prefixed_and_unset_means_none() {
        let vars = [("ANALYTICS_DATABASE_URL", "mysql://a@h/x")];
        assert!(load_from("analytics", &vars).unwrap().is_some());
        assert!(load_from("default", &vars).unwrap().is_none());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let error = load_from(
            "analytics",
            &[
                ("ANALYTICS_DATABASE_URL", "mysql://a@h/x"),
                ("ANALYTICS_DATABASE_POOL_MAX_SIZE", "ten"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "configuration of database `analytics`: `ANALYTICS_DATABASE_POOL_MAX_SIZE` \
             must be a whole number, not `ten`"
        );
    }
}
