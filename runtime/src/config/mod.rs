//! Configuration of each database: its servers and pool options, from code or from the
//! environment, validated when the router is built.

mod env;

use std::fmt;
use std::time::Duration;

use std::path::PathBuf;

use crate::error::Error;
use crate::tls::{TlsMode, TlsSettings};
use crate::url::redact_text;

/// The servers of one database and the options of their pools.
///
/// ```
/// use std::time::Duration;
/// use diesel_route::DatabaseConfig;
///
/// let config = DatabaseConfig::new("postgres://app:secret@primary.internal/app")
///     .replica("postgres://app:secret@replica1.internal/app")
///     .replica("postgres://app:secret@replica2.internal/app")
///     .max_size(16)
///     .checkout_timeout(Duration::from_secs(2));
/// // Passwords never show.
/// assert!(!format!("{config:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct DatabaseConfig {
    pub(crate) primary: String,
    /// Other hosts that may be the primary (after a failover).
    pub(crate) candidates: Vec<String>,
    pub(crate) replicas: Vec<String>,
    pub(crate) pool: PoolOptions,
    /// TLS for every server whose URL does not say otherwise.
    pub(crate) tls: TlsSettings,
    origin: Origin,
}

/// Pool options, the same for every server of a database.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PoolOptions {
    pub(crate) max_size: usize,
    pub(crate) min_idle: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) checkout_timeout: Duration,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    /// `None`: the backend's default (see [`PoolOptions::ping_after`]).
    pub(crate) ping_after: Option<Duration>,
    pub(crate) keepalive: Option<Duration>,
    pub(crate) health_check_interval: Duration,
    pub(crate) health_check_timeout: Duration,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) read_fallback: ReadFallback,
    /// Whether write calls take the primary's position after them (see [`Token`]).
    pub(crate) read_your_writes: bool,
    /// How long a read given a token waits for a replica to replay it.
    pub(crate) read_your_writes_wait: Duration,
    /// Replicas further behind than this leave the rotation.
    pub(crate) max_replica_lag: Option<Duration>,
    /// And further behind than this in WAL bytes (PostgreSQL) or transactions (MariaDB).
    pub(crate) max_replica_behind: Option<u64>,
}

/// Where reads go when no replica is healthy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFallback {
    /// Read from the primary, through a read-only session (the default).
    Primary,
    /// Fail with [`Error::NoServerAvailable`], to keep read load off the primary.
    Fail,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 10,
            min_idle: 0,
            connect_timeout: Duration::from_secs(5),
            checkout_timeout: Duration::from_secs(5),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            ping_after: None,
            keepalive: Some(Duration::from_secs(60)),
            health_check_interval: Duration::from_secs(2),
            health_check_timeout: Duration::from_secs(2),
            read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            read_fallback: ReadFallback::Primary,
            read_your_writes: true,
            read_your_writes_wait: Duration::from_millis(200),
            max_replica_lag: None,
            max_replica_behind: None,
        }
    }
}

impl PoolOptions {
    /// How often the maintenance task looks at pools: often enough for the health checks, the
    /// keepalive and the idle timeout.
    pub(crate) fn maintenance_tick(&self) -> Duration {
        [
            Some(self.health_check_interval),
            self.keepalive,
            self.idle_timeout,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(self.health_check_interval)
    }
}

/// The token keys of `DATABASE_TOKEN_KEYS`: separated by commas, the signing one first.
pub(crate) fn token_keys_from_env() -> Vec<Vec<u8>> {
    env::token_keys(|name| std::env::var(name).ok())
}

/// Whether a configuration came from code or from environment variables, so that an error
/// names the setting the way the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Origin {
    Code,
    Env { prefix: String },
}

/// A setting, named by its builder method or its environment variable.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Setting {
    Url,
    ReplicaUrls,
    MaxSize,
    MinIdle,
    ConnectTimeout,
    CheckoutTimeout,
    MaxLifetime,
    IdleTimeout,
    PingAfter,
    Keepalive,
    HealthCheckInterval,
    HealthCheckTimeout,
    ReadTimeout,
    WriteTimeout,
    ReadFallback,
    ReadYourWrites,
    ReadYourWritesWait,
    MaxReplicaLag,
    MaxReplicaBehind,
    TlsMode,
    TlsRootCert,
    TlsClientCert,
    TlsClientKey,
}

impl Setting {
    fn method(self) -> &'static str {
        match self {
            Self::Url => "DatabaseConfig::new",
            Self::ReplicaUrls => "replica",
            Self::MaxSize => "max_size",
            Self::MinIdle => "min_idle",
            Self::ConnectTimeout => "connect_timeout",
            Self::CheckoutTimeout => "checkout_timeout",
            Self::MaxLifetime => "max_lifetime",
            Self::IdleTimeout => "idle_timeout",
            Self::PingAfter => "ping_after",
            Self::Keepalive => "keepalive",
            Self::HealthCheckInterval => "health_check_interval",
            Self::HealthCheckTimeout => "health_check_timeout",
            Self::ReadTimeout => "read_timeout",
            Self::WriteTimeout => "write_timeout",
            Self::TlsMode => "tls_mode",
            Self::TlsRootCert => "tls_root_cert",
            Self::TlsClientCert | Self::TlsClientKey => "tls_client_identity",
            Self::ReadFallback => "read_fallback",
            Self::ReadYourWrites => "read_your_writes",
            Self::ReadYourWritesWait => "read_your_writes_wait",
            Self::MaxReplicaLag => "max_replica_lag",
            Self::MaxReplicaBehind => "max_replica_behind",
        }
    }

    /// The variable's name after the database's prefix (`ANALYTICS_`, or none for `default`).
    pub(crate) fn env_suffix(self) -> &'static str {
        match self {
            Self::Url => "DATABASE_URL",
            Self::ReplicaUrls => "DATABASE_REPLICA_URLS",
            Self::MaxSize => "DATABASE_POOL_MAX_SIZE",
            Self::MinIdle => "DATABASE_POOL_MIN_IDLE",
            Self::ConnectTimeout => "DATABASE_CONNECT_TIMEOUT",
            Self::CheckoutTimeout => "DATABASE_CHECKOUT_TIMEOUT",
            Self::MaxLifetime => "DATABASE_MAX_LIFETIME",
            Self::IdleTimeout => "DATABASE_IDLE_TIMEOUT",
            Self::PingAfter => "DATABASE_PING_AFTER",
            Self::Keepalive => "DATABASE_KEEPALIVE",
            Self::HealthCheckInterval => "DATABASE_HEALTH_CHECK_INTERVAL",
            Self::HealthCheckTimeout => "DATABASE_HEALTH_CHECK_TIMEOUT",
            Self::ReadTimeout => "DATABASE_READ_TIMEOUT",
            Self::WriteTimeout => "DATABASE_WRITE_TIMEOUT",
            Self::TlsMode => "DATABASE_TLS_MODE",
            Self::TlsRootCert => "DATABASE_TLS_ROOT_CERT",
            Self::TlsClientCert => "DATABASE_TLS_CLIENT_CERT",
            Self::TlsClientKey => "DATABASE_TLS_CLIENT_KEY",
            Self::ReadFallback => "DATABASE_READ_FALLBACK",
            Self::ReadYourWrites => "DATABASE_READ_YOUR_WRITES",
            Self::ReadYourWritesWait => "DATABASE_READ_YOUR_WRITES_WAIT",
            Self::MaxReplicaLag => "DATABASE_MAX_REPLICA_LAG",
            Self::MaxReplicaBehind => "DATABASE_MAX_REPLICA_BEHIND",
        }
    }
}

impl DatabaseConfig {
    /// A database whose primary is at `primary_url`, with no replica: reads go to the
    /// primary through read-only sessions.
    ///
    /// URLs: `postgres://user:password@host:port/db`, `mysql://...` (or `mariadb://`), and
    /// for SQLite a file path, optionally as `sqlite://path`.
    pub fn new(primary_url: impl Into<String>) -> Self {
        Self {
            primary: primary_url.into(),
            candidates: Vec::new(),
            replicas: Vec::new(),
            pool: PoolOptions::default(),
            tls: TlsSettings::default(),
            origin: Origin::Code,
        }
    }

    /// Adds a host that may be the primary: writes go to whichever of the primary's hosts
    /// says it accepts writes (`pg_is_in_recovery()`, `@@read_only`), found again after a
    /// failover. The same as a primary URL naming several hosts, libpq's
    /// `postgres://app@h1:5432,h2:5432/app`.
    #[must_use]
    pub fn primary_candidate(mut self, url: impl Into<String>) -> Self {
        self.candidates.push(url.into());
        self
    }

    /// Adds a replica; reads pick one of the healthy replicas at random.
    #[must_use]
    pub fn replica(mut self, url: impl Into<String>) -> Self {
        self.replicas.push(url.into());
        self
    }

    /// Adds replicas.
    #[must_use]
    pub fn replicas<I>(mut self, urls: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.replicas.extend(urls.into_iter().map(Into::into));
        self
    }

    /// Most connections each pool holds (default 10). A SQLite writer pool holds one.
    #[must_use]
    pub fn max_size(mut self, size: usize) -> Self {
        self.pool.max_size = size;
        self
    }

    /// Connections each pool keeps open even when idle (default 0).
    #[must_use]
    pub fn min_idle(mut self, count: usize) -> Self {
        self.pool.min_idle = count;
        self
    }

    /// How long opening a connection may take (default 5 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.pool.connect_timeout = timeout;
        self
    }

    /// How long a call waits for a free connection before [`Error::PoolTimeout`] (default 5 s).
    #[must_use]
    pub fn checkout_timeout(mut self, timeout: Duration) -> Self {
        self.pool.checkout_timeout = timeout;
        self
    }

    /// Connections older than this are closed and replaced (default 30 min, `None` for
    /// never). Each connection's lifetime is shortened by up to 10% at random so that a pool
    /// does not reconnect all at once.
    #[must_use]
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.pool.max_lifetime = lifetime;
        self
    }

    /// Connections idle for longer than this are closed, down to `min_idle` (default 10 min,
    /// `None` for never).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool.idle_timeout = timeout;
        self
    }

    /// A connection idle for longer than this is pinged before it is handed out, and
    /// replaced if dead; one used more recently is handed out at once (default 1 s; on
    /// MySQL/MariaDB writer connections are pinged on every checkout unless this is set).
    /// `Duration::ZERO` pings on every checkout.
    #[must_use]
    pub fn ping_after(mut self, idle: Duration) -> Self {
        self.pool.ping_after = Some(idle);
        self
    }

    /// Pings idle connections this often, so that a server's or a firewall's idle timeout
    /// never kills them (default 60 s, `None` to turn off).
    #[must_use]
    pub fn keepalive(mut self, interval: Option<Duration>) -> Self {
        self.pool.keepalive = interval;
        self
    }

    /// How often replicas are checked; a failing replica leaves the rotation within this
    /// interval and rejoins once it answers again (default 2 s).
    #[must_use]
    pub fn health_check_interval(mut self, interval: Duration) -> Self {
        self.pool.health_check_interval = interval;
        self
    }

    /// How long a health check, or the ping of a connection before its use, may wait for an
    /// answer before the server counts as down (default 2 s). A frozen replica leaves the
    /// rotation within `health_check_interval` plus this.
    #[must_use]
    pub fn health_check_timeout(mut self, timeout: Duration) -> Self {
        self.pool.health_check_timeout = timeout;
        self
    }

    /// The deadline of each attempt of a read call: checkout, body and end (default 30 s,
    /// `None` for none). A read that misses it is retried once on another server, and the
    /// replica it was on leaves the rotation until it answers health checks again; the
    /// statement is cancelled on the server where the protocol allows. A read call so ends
    /// within this deadline, or twice it when its first server froze.
    #[must_use]
    pub fn read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool.read_timeout = timeout;
        self
    }

    /// The deadline of a write call: checkout, body and commit (default 30 s, `None` for
    /// none). A write that misses it fails with [`Error::Timeout`], whose `commit_unknown`
    /// says whether it may have taken effect; it is never retried.
    #[must_use]
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool.write_timeout = timeout;
        self
    }

    /// Whether write calls take the primary's position after they commit, so that reads
    /// given it (through the same router handle or session, or a [`Token`] carried to a
    /// later request) see their writes (default on). Costs one round trip per write call
    /// (per database written, for a request session): `false` for write-heavy work whose
    /// reads need not see its writes.
    ///
    /// [`Token`]: crate::Token
    #[must_use]
    pub fn read_your_writes(mut self, on: bool) -> Self {
        self.pool.read_your_writes = on;
        self
    }

    /// How long a read given a position waits for replicas to replay it (default 200 ms).
    /// A replica known to have the position serves at once; otherwise up to two replicas are
    /// asked to wait, sharing this time (MariaDB's `MASTER_GTID_WAIT`, MySQL's
    /// `WAIT_FOR_EXECUTED_GTID_SET`, PostgreSQL's replay position polled). Then the read goes
    /// to the primary when the fallback policy allows it, else to the freshest replica.
    #[must_use]
    pub fn read_your_writes_wait(mut self, wait: Duration) -> Self {
        self.pool.read_your_writes_wait = wait;
        self
    }

    /// Replicas whose data is older than this leave the read rotation, and rejoin once
    /// within half of it (default none). The lag is how long ago the primary last had no
    /// more than the replica has: an idle primary does not make a current replica look
    /// stale, and a replica that stopped replaying shows its growing lag. It is measured at
    /// each health check, so a replica falling behind leaves within `health_check_interval`.
    #[must_use]
    pub fn max_replica_lag(mut self, lag: Option<Duration>) -> Self {
        self.pool.max_replica_lag = lag;
        self
    }

    /// Replicas further behind the primary than this leave the read rotation, and rejoin
    /// once within half of it (default none): WAL bytes on PostgreSQL, transactions on
    /// MariaDB and MySQL.
    #[must_use]
    pub fn max_replica_behind(mut self, behind: Option<u64>) -> Self {
        self.pool.max_replica_behind = behind;
        self
    }

    /// How connections to the database's servers use TLS (default [`TlsMode::Prefer`], as
    /// libpq's and MySQL's): [`TlsMode::Require`] never falls back to plaintext,
    /// [`TlsMode::VerifyFull`] also checks that the certificate names the host. A server's
    /// URL may say otherwise (`sslmode=` for PostgreSQL, `ssl-mode=` for MySQL/MariaDB).
    #[must_use]
    pub fn tls_mode(mut self, mode: TlsMode) -> Self {
        self.tls.mode = mode;
        self
    }

    /// The CA certificates (a PEM file) a verifying TLS mode trusts; without one, the
    /// system's (URL: `sslrootcert=`, `ssl-ca=`). Read when the router is built: a file
    /// that cannot be read or parsed is a configuration error then.
    #[must_use]
    pub fn tls_root_cert(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.tls.root_cert = Some(pem_file.into());
        self
    }

    /// A client certificate and its key (PEM files), for servers that ask for one (URL:
    /// `sslcert=`/`sslkey=`, `ssl-cert=`/`ssl-key=`).
    #[must_use]
    pub fn tls_client_identity(
        mut self,
        cert_pem_file: impl Into<PathBuf>,
        key_pem_file: impl Into<PathBuf>,
    ) -> Self {
        self.tls.client_cert = Some(cert_pem_file.into());
        self.tls.client_key = Some(key_pem_file.into());
        self
    }

    /// Where reads go when no replica is healthy (default [`ReadFallback::Primary`]).
    #[must_use]
    pub fn read_fallback(mut self, fallback: ReadFallback) -> Self {
        self.pool.read_fallback = fallback;
        self
    }

    /// Reads the configuration of database `key` from the environment: `DATABASE_URL` and
    /// friends for `default`, `<KEY>_DATABASE_URL` and friends for the others. `Ok(None)`
    /// when its URL variable is not set.
    ///
    /// | variable | meaning |
    /// | --- | --- |
    /// | `DATABASE_URL` | the primary |
    /// | `DATABASE_REPLICA_URLS` | replicas, comma-separated |
    /// | `DATABASE_POOL_MAX_SIZE`, `DATABASE_POOL_MIN_IDLE` | pool size |
    /// | `DATABASE_CONNECT_TIMEOUT`, `DATABASE_CHECKOUT_TIMEOUT` | durations: `5s`, `250ms` |
    /// | `DATABASE_MAX_LIFETIME`, `DATABASE_IDLE_TIMEOUT`, `DATABASE_KEEPALIVE` | durations, or `off` |
    /// | `DATABASE_PING_AFTER`, `DATABASE_HEALTH_CHECK_INTERVAL`, `DATABASE_HEALTH_CHECK_TIMEOUT` | durations |
    /// | `DATABASE_READ_TIMEOUT`, `DATABASE_WRITE_TIMEOUT` | durations, or `off` |
    /// | `DATABASE_TLS_MODE` | `disable`, `prefer`, `require`, `verify-ca`, `verify-full` (or MySQL's names) |
    /// | `DATABASE_TLS_ROOT_CERT`, `DATABASE_TLS_CLIENT_CERT`, `DATABASE_TLS_CLIENT_KEY` | PEM files |
    /// | `DATABASE_READ_FALLBACK` | `primary` or `fail` |
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable whose value cannot be parsed.
    pub fn from_env(key: &str) -> Result<Option<Self>, Error> {
        env::load(key, |name| std::env::var(name).ok())
    }

    /// Checks the pool options; errors name the setting and the problem.
    pub(crate) fn check_pool(&self, key: &str) -> Result<(), Error> {
        self.pool_problem()
            .map_err(|(setting, problem)| Error::config(key, self.setting_name(setting), problem))
    }

    fn pool_problem(&self) -> Result<(), (Setting, &'static str)> {
        let pool = &self.pool;
        let positive = |setting, duration: Duration| match duration.is_zero() {
            true => Err((setting, "must be longer than zero")),
            false => Ok(()),
        };
        if pool.max_size == 0 {
            return Err((Setting::MaxSize, "must be at least 1"));
        }
        if pool.min_idle > pool.max_size {
            return Err((Setting::MinIdle, "must not exceed the pool's max size"));
        }
        positive(Setting::ConnectTimeout, pool.connect_timeout)?;
        positive(Setting::CheckoutTimeout, pool.checkout_timeout)?;
        positive(Setting::HealthCheckInterval, pool.health_check_interval)?;
        positive(Setting::HealthCheckTimeout, pool.health_check_timeout)?;
        for (setting, value) in [
            (Setting::MaxLifetime, pool.max_lifetime),
            (Setting::IdleTimeout, pool.idle_timeout),
            (Setting::Keepalive, pool.keepalive),
            (Setting::ReadTimeout, pool.read_timeout),
            (Setting::WriteTimeout, pool.write_timeout),
        ] {
            value.map_or(Ok(()), |duration| positive(setting, duration))?;
        }
        Ok(())
    }

    pub(crate) fn setting_name(&self, setting: Setting) -> String {
        match &self.origin {
            Origin::Code => setting.method().to_owned(),
            Origin::Env { prefix } => format!("{prefix}{}", setting.env_suffix()),
        }
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let replicas: Vec<String> = self.replicas.iter().map(|url| redact_text(url)).collect();
        f.debug_struct("DatabaseConfig")
            .field("primary", &redact_text(&self.primary))
            .field("replicas", &replicas)
            .field("pool", &self.pool)
            .field("tls", &self.tls)
            .finish()
    }
}
