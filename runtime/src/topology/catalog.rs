//! The databases a crate declares, as the router builds them: one cluster each, from its
//! configuration, checked for the database's backend.

use std::collections::HashSet;

use crate::backend::Backend;
use crate::config::{DatabaseConfig, Setting};
use crate::database::Database;
use crate::error::Error;
use crate::topology::rotation::MAX_REPLICAS;
use crate::topology::{AnyCluster, Cluster};
use crate::url::ServerUrl;

/// The databases a crate declares: `databases!` generates it as `Databases`, and
/// [`Router::builder`](crate::Router::builder) takes it.
pub trait Catalog {
    #[doc(hidden)]
    fn databases() -> Vec<Declared>;
}

/// One declared database, type-erased so that a router can hold several backends.
#[doc(hidden)]
pub struct Declared {
    pub(crate) key: &'static str,
    pub(crate) build: fn(&DatabaseConfig) -> Result<Box<dyn AnyCluster>, Error>,
}

impl Declared {
    /// The entry of database `D`.
    pub fn of<D: Database>() -> Self {
        Self {
            key: D::KEY,
            build: |config| Ok(Box::new(Cluster::<D>::build(config)?)),
        }
    }
}

/// The checked URLs of a database's servers: the primary's (one per host, when its URL names
/// several: candidates, the one that accepts writes being the primary) and the replicas'.
pub(crate) struct Servers {
    pub(crate) primaries: Vec<ServerUrl>,
    pub(crate) replicas: Vec<ServerUrl>,
}

impl Servers {
    /// Checks every setting of `config` for backend `B`; errors name the setting and the
    /// problem.
    pub(crate) fn of<B: Backend>(config: &DatabaseConfig, key: &str) -> Result<Self, Error> {
        let fail = |setting: Setting, problem: String| {
            Error::config(key, config.setting_name(setting), problem)
        };
        let tls = &config.tls;
        let parse = |url: &str, setting| B::parse_url(url, tls).map_err(|p| fail(setting, p));
        let primaries = one_url_per_host(&config.primary)
            .iter()
            .chain(&config.candidates)
            .map(|url| parse(url, Setting::Url))
            .collect::<Result<Vec<_>, _>>()?;
        let replicas = config
            .replicas
            .iter()
            .flat_map(|url| one_url_per_host(url))
            .map(|url| parse(&url, Setting::ReplicaUrls))
            .collect::<Result<Vec<_>, _>>()?;
        let (primaries, replicas) = once_each(primaries, replicas);
        if primaries.len() + replicas.len() > MAX_REPLICAS {
            let problem = format!(
                "names {} servers in all, more than {MAX_REPLICAS}",
                primaries.len() + replicas.len()
            );
            return Err(fail(Setting::ReplicaUrls, problem));
        }
        config.check_pool(key)?;
        if primaries.len() > 1 && B::MAX_WRITERS == Some(1) {
            return Err(fail(
                Setting::Url,
                "names several hosts: a file has no failover".into(),
            ));
        }
        B::prepare_primary(&primaries[0]).map_err(|p| fail(Setting::Url, p))?;
        Ok(Self {
            primaries,
            replicas,
        })
    }
}

/// Each server once, where it is first listed (the primary and its candidates first): a
/// server listed twice, as a candidate and a replica say, is one server. Two of them would
/// both say they are the primary after a promotion, and writes would fail closed.
fn once_each(
    mut primaries: Vec<ServerUrl>,
    mut replicas: Vec<ServerUrl>,
) -> (Vec<ServerUrl>, Vec<ServerUrl>) {
    let mut seen = HashSet::new();
    primaries.retain(|url| seen.insert(url.address().to_owned()));
    replicas.retain(|url| seen.insert(url.address().to_owned()));
    (primaries, replicas)
}

/// libpq's multi-host form, `postgres://user:pw@h1:5432,h2:5433/db?...`, as one URL per
/// host; any other text as it is.
fn one_url_per_host(url: &str) -> Vec<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return vec![url.to_owned()];
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (user, hosts) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    if !hosts.contains(',') {
        return vec![url.to_owned()];
    }
    hosts
        .split(',')
        .map(|host| format!("{scheme}://{user}{}{tail}", host.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::one_url_per_host;

    #[cfg(feature = "postgres")]
    #[test]
    fn a_server_listed_twice_is_one_server() {
        use super::Servers;
        use crate::config::DatabaseConfig;
        let config = DatabaseConfig::new("postgres://app:pw@db1:5432,DB2:5433/app")
            .primary_candidate("postgres://other@db1/app")
            .replica("postgres://app:pw@db2:5433/app?sslmode=disable")
            .replica("postgres://app@db3:5432/app")
            .replica("postgres://app@db3:5432/reports")
            .replica("postgres://app@db3:5432/app");
        let servers = Servers::of::<diesel_async::AsyncPgConnection>(&config, "default").unwrap();
        let shown = |urls: &[crate::url::ServerUrl]| {
            urls.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        assert_eq!(
            shown(&servers.primaries),
            [
                "postgres://app:***@db1:5432/app",
                "postgres://app:***@DB2:5433/app"
            ]
        );
        assert_eq!(
            shown(&servers.replicas),
            [
                "postgres://app@db3:5432/app",
                "postgres://app@db3:5432/reports"
            ]
        );
    }

    #[test]
    fn a_multi_host_url_is_one_url_per_host() {
        assert_eq!(
            one_url_per_host("postgres://app:pw@h1:5432,h2:5433,[::1]/db?sslmode=require"),
            [
                "postgres://app:pw@h1:5432/db?sslmode=require",
                "postgres://app:pw@h2:5433/db?sslmode=require",
                "postgres://app:pw@[::1]/db?sslmode=require",
            ]
        );
        assert_eq!(one_url_per_host("mysql://app@h1/db"), ["mysql://app@h1/db"]);
        assert_eq!(one_url_per_host("app.db"), ["app.db"]);
    }
}
