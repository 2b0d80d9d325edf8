//! The router: every declared database's cluster, built from code or from the environment.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use crate::config::{DatabaseConfig, Setting};
use crate::database::Database;
use crate::error::{Error, Role};
use crate::server::Server;
use crate::token::{Position, SHORTEST_KEY, Token, TokenKeys, TokenSlot};
use crate::topology::stats::Stats;
use crate::topology::watchdog::{self, Deadline, Watchdog};
use crate::topology::{AnyCluster, Catalog, Cluster, Declared};

/// Holds the pools of every declared database and hands out connections to routed
/// functions. Cheap to clone: clones share the pools.
///
/// Build it once at start-up, from the environment or from code:
///
/// ```
/// # diesel_route::databases! { default: sqlite }
/// use diesel_route::{DatabaseConfig, Router};
///
/// #[tokio::main]
/// async fn main() -> Result<(), diesel_route::Error> {
/// #   let dir = tempfile::tempdir().unwrap();
/// #   let path = dir.path().join("app.db");
/// #   let path = path.to_str().unwrap();
///     let router = Router::builder(Databases)
///         .database("default", DatabaseConfig::new(path))
///         .build()?;
///     Ok(())
/// }
/// ```
///
/// Pass it (`&mut router`) to a routed function; each call checks out its connection and
/// returns it when done.
#[derive(Clone)]
pub struct Router {
    pub(super) clusters: Arc<[Box<dyn AnyCluster>]>,
    /// Whether the pools' maintenance runs: started by `build` inside a Tokio runtime, else
    /// by the first call.
    maintenance: Arc<Once>,
    /// The calls' deadlines (see `watchdog.rs`).
    watchdog: Arc<Watchdog>,
    /// This handle's token: where its writes reached, for its reads to see them.
    pub(crate) token: TokenSlot,
    /// Tokens ignored (text that did not parse, or not signed by a key), across handles.
    tokens_ignored: Arc<AtomicU64>,
    /// The keys that sign the tokens the router hands out and check those it is given.
    token_keys: Option<TokenKeys>,
}

impl Router {
    /// A builder for the databases declared by `databases!` (pass the `Databases` it
    /// generates).
    pub fn builder<C: Catalog>(catalog: C) -> RouterBuilder {
        let _ = catalog;
        RouterBuilder {
            declared: C::databases(),
            configs: Vec::new(),
            from_env: false,
            token_keys: Vec::new(),
        }
    }

    /// A router configured from the environment: `DATABASE_URL`, `DATABASE_REPLICA_URLS`
    /// and `<KEY>_DATABASE_URL`, `<KEY>_DATABASE_REPLICA_URLS` for the other databases, with
    /// their pool options (see [`DatabaseConfig::from_env`]).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable that is missing or wrong.
    pub fn from_env<C: Catalog>(catalog: C) -> Result<Self, Error> {
        Self::builder(catalog).with_env().build()
    }

    /// A snapshot of the counters of every database, server and pool: checkouts, waits,
    /// errors by kind, fallbacks to the primary, replicas taken out of rotation.
    pub fn stats(&self) -> Stats {
        Stats {
            databases: self
                .clusters
                .iter()
                .map(|cluster| cluster.stats())
                .collect(),
            tokens_ignored: self.tokens_ignored.load(Ordering::Relaxed),
        }
    }

    /// Where the writes made through this handle reached, with the token it was given: give
    /// it to a later session ([`Session::with_token`](crate::Session::with_token)), or
    /// another handle, and its reads see those writes. Empty until a write (or with
    /// `read_your_writes(false)`).
    /// Signed with the router's token key, when it has one.
    pub fn token(&self) -> Token {
        self.signed(self.token.get())
    }

    /// This handle, its reads seeing the writes `token` covers (merged with its own). With
    /// token keys, a token not signed by one of them is ignored (and counted in
    /// [`Stats::tokens_ignored`]).
    #[must_use]
    pub fn with_token(self, token: &Token) -> Self {
        let token = self.accepted(token);
        self.token.merge(&token);
        self
    }

    /// [`with_token`](Self::with_token) for the token's text form, from a cookie, a header
    /// or a job's payload. Text that does not parse is ignored (and counted in
    /// [`Stats::tokens_ignored`]): a mangled or forged token never fails a request.
    #[must_use]
    pub fn with_token_text(self, text: &str) -> Self {
        let token = self.parse_token(text);
        self.with_token(&token)
    }

    /// The token `text` stands for; an empty one, counted, when it does not parse.
    pub(crate) fn parse_token(&self, text: &str) -> Token {
        Token::parse(text).unwrap_or_else(|| self.ignored())
    }

    /// `token` if the router honours it: any, without token keys; else one signed by one of
    /// them. An empty one, counted, otherwise.
    pub(crate) fn accepted(&self, token: &Token) -> Token {
        match &self.token_keys {
            Some(keys) if !keys.verify(token) => self.ignored(),
            _ => token.clone(),
        }
    }

    fn ignored(&self) -> Token {
        self.tokens_ignored.fetch_add(1, Ordering::Relaxed);
        Token::default()
    }

    /// A session's write to database `key` committed: its primary is at `position` now (a
    /// sample of its history, so that the token covering the write is known to be genuine).
    pub(crate) fn primary_wrote(&self, key: &str, position: &Position, server: &Arc<Server>) {
        let cluster = self.clusters.iter().find(|cluster| cluster.key() == key);
        if let Some(cluster) = cluster {
            cluster.primary_wrote(position, server);
        }
    }

    /// `token`, signed when the router has token keys.
    pub(crate) fn signed(&self, token: Token) -> Token {
        match &self.token_keys {
            Some(keys) => keys.sign(token),
            None => token,
        }
    }

    /// Whether every token the router honours is signed by it, so that the positions it
    /// names are trusted to be the primary's.
    pub(crate) fn signs_tokens(&self) -> bool {
        self.token_keys.is_some()
    }

    /// Drops every pooled connection of every database; new ones are opened on demand. For
    /// after a failover, a DNS change, or a fork.
    pub async fn dispose(&self) {
        for cluster in self.clusters.iter() {
            cluster.dispose().await;
        }
    }

    /// Drops every pooled connection of database `key`; new ones are opened on demand.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when no database of that key is declared.
    pub async fn dispose_database(&self, key: &str) -> Result<(), Error> {
        let cluster = self.clusters.iter().find(|cluster| cluster.key() == key);
        let cluster = cluster
            .ok_or_else(|| Error::config(key, "Router::dispose_database", "is not declared"))?;
        cluster.dispose().await;
        Ok(())
    }

    /// The replica selection step alone, for benchmarks: the server a read of `D` would go
    /// to.
    ///
    /// # Errors
    ///
    /// When `D` is not in the router, or no server can serve reads.
    #[doc(hidden)]
    pub fn pick_reader<D: Database>(&self) -> Result<&Server, Error> {
        self.cluster::<D>()?.pick_reader().map(|server| &**server)
    }

    /// The deadline of a call of `role` to database `D` (none when `D` is not in the router:
    /// the call then fails at its checkout).
    pub(crate) fn deadline<D: Database>(&self, role: Role) -> Option<Deadline> {
        let options = self.cluster::<D>().ok()?.options();
        let limit = match role {
            Role::Reader => options.read_timeout,
            Role::Writer => options.write_timeout,
        }?;
        self.keep_watchdog();
        Some(Deadline {
            limit,
            watchdog: Arc::clone(&self.watchdog),
        })
    }

    /// Starts the watchdog's task on the current runtime when none runs (the runtime that
    /// started it may be gone: a router outlives runtimes in tests and tools).
    fn keep_watchdog(&self) {
        if self.watchdog.is_alive() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current()
            && self.watchdog.claim_start()
        {
            runtime.spawn(watchdog::keep(Arc::downgrade(&self.watchdog)));
        }
    }

    /// The cluster of database `D`.
    pub(crate) fn cluster<D: Database>(&self) -> Result<&Cluster<D>, Error> {
        self.start_maintenance();
        self.clusters
            .iter()
            .find_map(|cluster| (&**cluster as &dyn std::any::Any).downcast_ref())
            .ok_or_else(|| {
                Error::config(
                    D::KEY,
                    "Router::builder",
                    "is given a catalog that does not declare this database",
                )
            })
    }
}

impl Router {
    /// Starts the maintenance task of every server, once, when a Tokio runtime is there to
    /// run them.
    fn start_maintenance(&self) {
        if self.maintenance.is_completed() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            self.maintenance.call_once(|| {
                for cluster in self.clusters.iter() {
                    cluster.start_maintenance(&runtime);
                }
            });
        }
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("databases", &self.clusters.len())
            .finish_non_exhaustive()
    }
}

/// The variable of the token keys, separated by commas, the signing one first.
const TOKEN_KEYS_VARIABLE: &str = "DATABASE_TOKEN_KEYS";

/// Configures each declared database, then builds the [`Router`].
#[must_use]
pub struct RouterBuilder {
    declared: Vec<Declared>,
    configs: Vec<(String, DatabaseConfig)>,
    from_env: bool,
    /// The keys given in code, the signing one first; never printed.
    token_keys: Vec<Vec<u8>>,
}

impl RouterBuilder {
    /// Configures database `key` in code; it wins over the environment.
    pub fn database(mut self, key: impl Into<String>, config: DatabaseConfig) -> Self {
        self.configs.push((key.into(), config));
        self
    }

    /// Reads the environment for every database not configured in code.
    pub fn with_env(mut self) -> Self {
        self.from_env = true;
        self
    }

    /// Signs the read-your-writes tokens the router and its sessions hand out with `key`
    /// (HMAC-SHA-256, at least 16 bytes: 32 random bytes are right), and ignores every token
    /// they are given that is not signed by one of the router's keys. Given twice, the last
    /// key signs and the earlier one is still accepted. From the environment (with
    /// [`with_env`](Self::with_env), when no key is given in code): `DATABASE_TOKEN_KEYS`,
    /// keys separated by commas, the signing one first.
    pub fn token_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.token_keys.insert(0, key.as_ref().to_vec());
        self
    }

    /// A key whose tokens are still accepted, though none is signed with it any more: the
    /// key that [`token_key`](Self::token_key) replaces, until the tokens it signed have
    /// expired.
    pub fn accept_token_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.token_keys.push(key.as_ref().to_vec());
        self
    }

    /// The token keys, from code or else from the environment, checked.
    fn token_keys(&self) -> Result<Option<TokenKeys>, Error> {
        let (keys, setting) = match (self.token_keys.is_empty(), self.from_env) {
            (true, true) => (crate::config::token_keys_from_env(), TOKEN_KEYS_VARIABLE),
            _ => (self.token_keys.clone(), "RouterBuilder::token_key"),
        };
        if keys.iter().any(|key| key.len() < SHORTEST_KEY) {
            let problem = format!("holds a key shorter than {SHORTEST_KEY} bytes");
            return Err(Error::config("every database", setting, problem));
        }
        Ok(TokenKeys::new(&keys))
    }

    /// Checks the configuration of every declared database and builds the pools.
    /// Connections are opened on first use. The pools' maintenance (health checks,
    /// keepalive, recycling) starts on the current Tokio runtime, or on the first call's when
    /// built outside one.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a key is not declared, a declared database has no
    /// configuration, or a setting is invalid (a malformed URL, a URL of another backend, a
    /// pool size of zero, ...). The error names the database, the setting and the problem.
    pub fn build(self) -> Result<Router, Error> {
        self.reject_undeclared()?;
        let token_keys = self.token_keys()?;
        let clusters = self
            .declared
            .iter()
            .map(|declared| (declared.build)(&self.config_of(declared)?))
            .collect::<Result<Vec<_>, Error>>()?;
        let shortest = clusters
            .iter()
            .flat_map(|cluster| cluster.deadlines())
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(1));
        let router = Router {
            clusters: clusters.into(),
            maintenance: Arc::new(Once::new()),
            watchdog: Arc::new(Watchdog::new(shortest)),
            token: TokenSlot::default(),
            tokens_ignored: Arc::new(AtomicU64::new(0)),
            token_keys,
        };
        router.start_maintenance();
        router.keep_watchdog();
        Ok(router)
    }

    fn reject_undeclared(&self) -> Result<(), Error> {
        let Some((key, _)) = self
            .configs
            .iter()
            .find(|(key, _)| !self.declared.iter().any(|declared| declared.key == key))
        else {
            return Ok(());
        };
        let keys: Vec<&str> = self.declared.iter().map(|declared| declared.key).collect();
        Err(Error::config(
            key.as_str(),
            "RouterBuilder::database",
            format!(
                "names a database that is not declared; `databases!` declares {}",
                crate::url::one_of(&keys)
            ),
        ))
    }

    fn config_of(&self, declared: &Declared) -> Result<DatabaseConfig, Error> {
        let in_code = self
            .configs
            .iter()
            .rev()
            .find(|(key, _)| key == declared.key);
        if let Some((_, config)) = in_code {
            return Ok(config.clone());
        }
        let from_env = match self.from_env {
            true => DatabaseConfig::from_env(declared.key)?,
            false => None,
        };
        from_env.ok_or_else(|| missing(declared.key, self.from_env))
    }
}

fn missing(key: &str, from_env: bool) -> Error {
    let variable = match key {
        "default" => Setting::Url.env_suffix().to_owned(),
        other => format!(
            "{}_{}",
            other.to_ascii_uppercase(),
            Setting::Url.env_suffix()
        ),
    };
    let problem = match from_env {
        true => "is not set, but the database is declared in `databases!`: set it to the \
                 primary's URL, or configure the database in code"
            .to_owned(),
        false => "has no configuration: call `.database(...)` for it, or `.with_env()` to \
                  read `DATABASE_URL`-style variables"
            .to_owned(),
    };
    let setting = if from_env {
        variable
    } else {
        "RouterBuilder".into()
    };
    Error::config(key, setting, problem)
}

impl std::fmt::Debug for RouterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("configs", &self.configs)
            .field("from_env", &self.from_env)
            .field(
                "token_keys",
                &format_args!("{} redacted", self.token_keys.len()),
            )
            .finish_non_exhaustive()
    }
}
