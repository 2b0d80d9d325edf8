//! PostgreSQL: a primary and streaming standbys.

mod access;
mod replication;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::node::{Flavor, Node, Role};
use crate::options::ClusterOptions;
use crate::process::{RunAs, Signal, find_program, hermetic, run};
use crate::sql::check_identifier;
use crate::template::{cached_template, copy_template, fingerprint};
use crate::url::with_params;
use crate::wait::{PATIENCE, wait_until};
use crate::workdir::WorkDir;
use crate::{ServerRef, Stop};

/// The application user's password where [`ClusterOptions::password`] asks for one (else it
/// is trusted); then also part of every URL.
pub const PG_APP_PASSWORD: &str = "app-secret";

const INITDB_ARGS: &str = "-U postgres -A trust -E UTF8 --locale=C --no-sync --wal-segsize=1";

/// Settings of every server. Durability is off (test data is thrown away) but for full-page
/// writes and hint-bit logging, which `pg_rewind` needs to turn a former primary into a
/// standby. Standbys retry the primary every 100 ms instead of 5 s, keep 256 MB of WAL for
/// standbys that were stopped, and report their snapshots so the primary's vacuum does not
/// cancel their queries. `replication.conf` names the primary a standby follows (see
/// [`Postgres::follow`]): a file, not `-c`, so that a reload can change it.
const SERVER_CONF: &str = "
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
full_page_writes = on
wal_log_hints = on
wal_level = replica
max_wal_senders = 10
wal_keep_size = '256MB'
hot_standby = on
hot_standby_feedback = on
wal_retrieve_retry_interval = '100ms'
shared_buffers = '16MB'
log_line_prefix = '%m [%p] %q%u@%d '
include_if_exists = 'replication.conf'
";

/// The application role owns database `app`; `replicator` is only for standbys. The
/// application role's password counts only where `pg_hba.conf` asks for it.
const TEMPLATE_SQL: &str = "
CREATE ROLE app LOGIN PASSWORD 'app-secret';
CREATE DATABASE app OWNER app;
CREATE ROLE replicator REPLICATION LOGIN;
";

/// A PostgreSQL primary with streaming standbys on loopback ports, in a temp dir.
///
/// Every server is a clone of one template, so standbys need no base backup: they start from
/// the template's shutdown checkpoint and stream the rest from the primary. Who may connect
/// and how (TLS, passwords) is set per cluster, after the copy. Dropping the cluster stops the
/// servers and removes their files.
#[derive(Debug)]
pub struct PgCluster {
    cluster: Cluster<Postgres>,
    options: ClusterOptions,
}

impl PgCluster {
    /// Starts a primary and `replicas` standbys and waits until every standby streams.
    ///
    /// Panics with the server's log when something fails: tests cannot go on without it. See
    /// [`crate::pg_cluster_or_skip`] for machines without PostgreSQL.
    pub fn start(replicas: usize) -> PgCluster {
        PgCluster::start_with(ClusterOptions {
            replicas,
            ..ClusterOptions::default()
        })
    }

    /// Starts a cluster as `options` say, with TLS or passwords, and waits until every standby
    /// streams. Panics as [`PgCluster::start`] does.
    pub fn start_with(options: ClusterOptions) -> PgCluster {
        let postgres = Postgres::find().unwrap_or_else(|why| panic!("{why}"));
        let template = postgres.template();
        let this = PgCluster {
            cluster: Cluster::new(postgres, "pg", options.replicas),
            options,
        };
        let cluster = &this.cluster;
        cluster.flavor.run_as.chown(cluster.dir.path());
        let copy = |node: &Node| {
            copy_template(&template, &node.data_dir);
            this.configure_access(node);
        };
        copy(cluster.primary());
        cluster.start_node(cluster.primary());
        cluster.start_replicas(copy);
        this.wait_streaming(cluster.replicas());
        this
    }

    /// The primary: the server named `primary` until [`PgCluster::promote`] makes another one.
    pub fn primary(&self) -> ServerRef {
        self.cluster.primary().server_ref()
    }

    /// The standbys that follow the primary, in order; a former primary only once demoted.
    pub fn replicas(&self) -> Vec<ServerRef> {
        self.cluster.replicas().map(Node::server_ref).collect()
    }

    /// Every server, in the order `primary`, `replica1`, ..., whatever their roles now.
    pub fn servers(&self) -> Vec<ServerRef> {
        self.cluster.servers()
    }

    /// The server listening on `port`, to tell which one answered a query.
    pub fn server_by_port(&self, port: u16) -> Option<ServerRef> {
        self.cluster.server_by_port(port)
    }

    /// `postgres://app@127.0.0.1:PORT/app`: the application user (no superuser, owner of `app`),
    /// with `app:PASSWORD@` where [`ClusterOptions::password`] asks for one.
    pub fn url(&self, server: &ServerRef) -> String {
        self.app_url(server.port, "app")
    }

    /// [`PgCluster::url`] with `params` as its query, percent-encoded, such as
    /// `[("sslmode", "require")]`. Which parameters a client takes is the client's business:
    /// libpq's `sslrootcert`, for one, is unknown to `tokio-postgres`.
    pub fn url_with_params(&self, server: &ServerRef, params: &[(&str, &str)]) -> String {
        with_params(self.url(server), params)
    }

    /// The application URL of the primary.
    pub fn primary_url(&self) -> String {
        self.url(&self.primary())
    }

    /// The application URLs of the standbys.
    pub fn replica_urls(&self) -> Vec<String> {
        self.replicas()
            .iter()
            .map(|server| self.url(server))
            .collect()
    }

    /// Stops `server`, keeping its data dir; see [`Stop`].
    pub fn stop(&self, server: &ServerRef, how: Stop) {
        self.cluster.stop(server, how);
    }

    /// Starts a stopped `server` again on its port and waits until it accepts connections and,
    /// while the primary runs, until the standbys it concerns stream again. A standby follows
    /// the current primary, also if its replication was stopped or paused; a former primary
    /// starts as the primary it was.
    pub fn restart(&self, server: &ServerRef) {
        let node = self.cluster.node(server);
        self.cluster.start_node(node);
        match node.role() {
            Role::Replica if self.cluster.primary().is_running() => self.wait_streaming([node]),
            Role::Primary => self.wait_streaming(self.cluster.following_replicas()),
            _ => {}
        }
    }

    /// Whether `server` runs.
    pub fn is_running(&self, server: &ServerRef) -> bool {
        self.cluster.node(server).is_running()
    }

    /// Freezes `server` like a host that stopped answering: SIGSTOP to the postmaster, then to
    /// every child process (backends, WAL sender and receiver, ...). TCP connections still
    /// complete, in the kernel's backlog, but nothing answers them or open sessions, so only
    /// client timeouts end the calls; [`PgCluster::sql`] on it would hang. Stopping or dropping
    /// the cluster thaws it first. Panics unless it runs.
    pub fn freeze(&self, server: &ServerRef) {
        self.cluster.node(server).freeze();
    }

    /// Thaws a [`PgCluster::freeze`]d `server`: it answers what waited meanwhile.
    pub fn thaw(&self, server: &ServerRef) {
        let thawed = self.cluster.node(server).thaw();
        assert!(thawed, "`{}` is not frozen", server.name);
    }

    /// Terminates the session of backend `pid` (`pg_backend_pid()`) on `server` and waits until
    /// it is gone; its client sees SQLSTATE 57P01. Returns whether there was such a session.
    pub fn terminate_session(&self, server: &ServerRef, pid: u32) -> bool {
        // A pid that is no backend gives a warning and `f`.
        self.sql(
            server,
            &format!("SELECT pg_terminate_backend({pid}, 10000)"),
        ) == "t"
    }

    /// Terminates every session of the application user on `server` and waits until they are
    /// gone; their clients see SQLSTATE 57P01. Returns how many there were.
    pub fn terminate_app_sessions(&self, server: &ServerRef) -> usize {
        // Materialized, so the planner cannot call `pg_terminate_backend` before the filter.
        let sql =
            "WITH app AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE usename = 'app')
                   SELECT count(*) FROM app WHERE pg_terminate_backend(pid, 10000)";
        self.sql(server, sql).parse().expect("a count")
    }

    /// Delays replay on the standby `replica` by `delay` (`recovery_min_apply_delay`), from
    /// the next transaction on. `Duration::ZERO` removes the delay.
    pub fn set_replication_delay(&self, replica: &ServerRef, delay: Duration) {
        assert!(
            !replica.is_primary,
            "a replication delay is set on a standby, not the primary"
        );
        let millis = delay.as_millis();
        let sql = format!(
            "ALTER SYSTEM SET recovery_min_apply_delay = '{millis}ms';\nSELECT pg_reload_conf();"
        );
        self.sql(replica, &sql);
        // A new session sees the setting once the postmaster has reloaded and signalled the
        // startup process, which then applies it before replaying anything else.
        let current = "SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'";
        wait_until("the new replication delay", PATIENCE, || {
            Ok(self.try_sql(replica, "app", current)? == millis.to_string())
        })
        .unwrap_or_else(|why| panic!("{why}"));
    }

    /// Waits until every running standby has replayed everything the primary has written; a
    /// standby whose replication is stopped or paused is not waited for.
    pub fn wait_caught_up(&self) {
        assert!(
            self.cluster.primary().is_running(),
            "wait_caught_up needs the primary running"
        );
        let primary = self.primary();
        let lsn = self.sql(&primary, "SELECT pg_current_wal_lsn()");
        let replayed = format!("SELECT pg_last_wal_replay_lsn() >= '{lsn}'");
        for node in self.cluster.following_replicas() {
            let replica = node.server_ref();
            wait_until(
                &format!("`{}` to replay up to {lsn}", node.name),
                PATIENCE,
                || Ok(self.try_sql(&replica, "app", &replayed)? == "t"),
            )
            .unwrap_or_else(|why| panic!("{why}"));
        }
    }

    /// Runs `sql` (one or more statements) as the superuser in database `app` on `server` and
    /// returns its trimmed output: one line per row, columns separated by `|`. Panics on error.
    pub fn sql(&self, server: &ServerRef, sql: &str) -> String {
        self.sql_in(server, "app", sql)
    }

    /// Like [`PgCluster::sql`], in `database`.
    pub fn sql_in(&self, server: &ServerRef, database: &str, sql: &str) -> String {
        self.try_sql(server, database, sql)
            .unwrap_or_else(|why| panic!("SQL failed on `{}`: {why}\n{sql}", server.name))
    }

    /// Runs `sql` as the application user in database `app`; the error holds psql's message
    /// with the SQLSTATE, such as `ERROR:  25006: cannot execute INSERT in a read-only
    /// transaction`.
    pub fn app_sql(&self, server: &ServerRef, sql: &str) -> Result<String, String> {
        run(self.app_command(server).args(["-q", "-A", "-t"]), sql)
    }

    /// A `psql` command connected to `server` as the application user, stopping at the first
    /// error and printing SQLSTATEs; add `-c SQL`, or spawn it to hold a session open. It
    /// gives the password where one is needed (`PGPASSWORD`) and, on a TLS cluster, uses TLS
    /// without verifying the certificate (libpq's default `sslmode=prefer`), with the client
    /// certificate where the cluster requires one; set `PGSSLMODE`, `PGSSLROOTCERT` or
    /// `PGPASSWORD` on it to connect otherwise.
    pub fn app_command(&self, server: &ServerRef) -> Command {
        let postgres = &self.cluster.flavor;
        let mut psql = postgres.app_psql(server.port, "app", self.options.password);
        if self.options.tls == crate::Tls::ClientCert {
            let certificates = crate::certificates();
            psql.env("PGSSLCERT", &certificates.client_cert)
                .env("PGSSLKEY", &certificates.client_key);
        }
        psql
    }

    /// Creates database `name` owned by the application user, waits until the standbys have
    /// it, and returns its application URLs: the primary's and the standbys'.
    pub fn create_database(&self, name: &str) -> (String, Vec<String>) {
        check_identifier(name);
        self.sql(
            &self.primary(),
            &format!("CREATE DATABASE {name} OWNER app"),
        );
        self.wait_caught_up();
        let replicas = self
            .replicas()
            .iter()
            .map(|server| self.app_url(server.port, name))
            .collect();
        (self.app_url(self.primary().port, name), replicas)
    }

    fn app_url(&self, port: u16, database: &str) -> String {
        app_url(port, database, self.options.password)
    }

    pub(crate) fn postgres(&self) -> &Postgres {
        &self.cluster.flavor
    }

    pub(crate) fn options(&self) -> ClusterOptions {
        self.options
    }

    fn try_sql(&self, server: &ServerRef, database: &str, sql: &str) -> Result<String, String> {
        let mut psql = self.cluster.flavor.psql(server.port, "postgres", database);
        run(psql.args(["-q", "-A", "-t"]), sql)
    }

    /// Waits until each of `standbys` has a WAL receiver streaming from the primary. Asked of
    /// the standby, not the primary, whose view may still show a connection that just died.
    fn wait_streaming<'a>(&self, standbys: impl IntoIterator<Item = &'a Node>) {
        let streaming = format!(
            "SELECT count(*) FROM pg_stat_wal_receiver
             WHERE status = 'streaming' AND sender_port = {}",
            self.cluster.primary().port()
        );
        let streaming = streaming.as_str();
        for node in standbys {
            let standby = node.server_ref();
            wait_until(
                &format!("`{}` to stream from the primary", node.name),
                PATIENCE,
                || Ok(self.try_sql(&standby, "app", streaming)? == "1"),
            )
            .unwrap_or_else(|why| panic!("{why}\n--- end of its log ---\n{}", log_tail(node)));
        }
    }
}

/// The application user's URL, with its password where it needs one.
pub(crate) fn app_url(port: u16, database: &str, password: bool) -> String {
    let password = if password {
        format!(":{PG_APP_PASSWORD}")
    } else {
        String::new()
    };
    format!("postgres://app{password}@127.0.0.1:{port}/{database}")
}

fn log_tail(node: &Node) -> String {
    let log = node.log_of_last_run();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The PostgreSQL installation and the user its servers run as.
#[derive(Clone, Debug)]
pub(crate) struct Postgres {
    bin: PathBuf,
    run_as: RunAs,
}

impl Postgres {
    /// Finds the binaries, or says how to install them.
    pub(crate) fn find() -> Result<Postgres, String> {
        let bin = server_bin_dir().ok_or_else(|| {
            "PostgreSQL server binaries (`initdb`, `postgres`, `psql`) not found in \
             /usr/lib/postgresql/*/bin or on PATH: install them with \
             `apt-get install -y postgresql`"
                .to_owned()
        })?;
        Ok(Postgres {
            bin,
            run_as: RunAs::postgres_user()?,
        })
    }

    pub(crate) fn run_as(&self) -> RunAs {
        self.run_as
    }

    /// `psql` for the application user, with its password when `password`.
    pub(crate) fn app_psql(&self, port: u16, database: &str, password: bool) -> Command {
        let mut psql = self.psql(port, "app", database);
        if password {
            psql.env("PGPASSWORD", PG_APP_PASSWORD);
        }
        psql
    }

    /// Writes a file in a data dir, owned like the rest of it by the server's user: `pg_rewind`,
    /// which runs as that user, replaces such files.
    fn write(&self, path: &Path, text: &str) {
        fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        self.run_as.chown(path);
    }

    /// Points the standby `node` at the primary on `primary_port`, or at none, in its
    /// `replication.conf`; a running standby takes it on reload.
    fn follow(&self, node: &Node, primary_port: Option<u16>) {
        let conninfo = primary_port.map_or_else(String::new, |port| {
            format!(
                "host=127.0.0.1 port={port} user=replicator application_name={}",
                node.name
            )
        });
        let setting = format!("primary_conninfo = '{conninfo}'\n");
        self.write(&node.data_dir.join("replication.conf"), &setting);
    }

    fn psql(&self, port: u16, user: &str, database: &str) -> Command {
        let mut psql = hermetic(self.bin.join("psql"));
        let port = port.to_string();
        psql.args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            "VERBOSITY=verbose",
            "-h",
            "127.0.0.1",
        ])
        .args(["-p", &port, "-U", user, "-d", database]);
        psql
    }

    /// The cached template for this installation, built on first use.
    fn template(&self) -> PathBuf {
        static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
        let build = || {
            let mut postgres = hermetic(self.bin.join("postgres"));
            let version = run(postgres.arg("--version"), "").unwrap_or_else(|e| panic!("{e}"));
            let number = version.split_whitespace().nth(2).unwrap_or("unknown");
            let hash = fingerprint(&[&version, INITDB_ARGS, SERVER_CONF, TEMPLATE_SQL]);
            let name = format!("pg-{number}-{}-{hash}", self.run_as.label());
            cached_template(&name, |work| self.build_template(work))
        };
        TEMPLATE.get_or_init(build).clone()
    }

    /// initdb, then a first run to create the roles and database every cluster needs.
    fn build_template(&self, work: &WorkDir) -> PathBuf {
        self.run_as.chown(work.path());
        let node = Node::new(
            work.path(),
            work.pid_file("template"),
            "template",
            Role::Template,
        );
        let mut initdb = hermetic(self.bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&node.data_dir)
            .args(INITDB_ARGS.split(' '))
            .current_dir(work.path());
        self.run_as.apply(&mut initdb);
        run(&mut initdb, "").unwrap_or_else(|why| panic!("initdb failed: {why}"));
        append(&node.data_dir.join("postgresql.conf"), SERVER_CONF);
        node.start(self, 0);
        run(
            &mut self.psql(node.port(), "postgres", "postgres"),
            TEMPLATE_SQL,
        )
        .unwrap_or_else(|why| panic!("cannot prepare the PostgreSQL template: {why}"));
        node.stop(Signal::Int, Duration::from_secs(30));
        node.data_dir
    }
}

impl Flavor for Postgres {
    fn product(&self) -> &'static str {
        "PostgreSQL"
    }

    /// A standby starts in standby mode, following the cluster's primary of the moment.
    fn prepare(&self, node: &Node, _port: u16, primary_port: u16) {
        if node.role() == Role::Replica {
            self.write(&node.data_dir.join("standby.signal"), "");
            self.follow(node, Some(primary_port));
        }
    }

    fn command(&self, node: &Node, port: u16, _primary_port: u16) -> Command {
        let mut postgres = hermetic(self.bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&node.data_dir)
            .current_dir(&node.data_dir);
        postgres.args([
            "-p",
            &port.to_string(),
            "-c",
            &format!("cluster_name={}", node.name),
        ]);
        self.run_as.apply(&mut postgres);
        postgres
    }

    /// `postmaster.pid` names the postmaster on line 1 and its state on line 8, as `pg_ctl -w`
    /// reads it: "ready" on a primary, "standby" once a standby takes read-only connections.
    fn is_ready(&self, node: &Node, pid: u32) -> bool {
        let Ok(lock_file) = fs::read_to_string(node.data_dir.join("postmaster.pid")) else {
            return false;
        };
        let lines: Vec<&str> = lock_file.lines().map(str::trim).collect();
        lines.first() == Some(&pid.to_string().as_str())
            && matches!(lines.get(7), Some(&("ready" | "standby")))
    }

    fn signal(&self, how: Stop) -> Signal {
        match how {
            Stop::Fast => Signal::Int,
            Stop::Kill => Signal::Quit,
        }
    }
}

/// Debian keeps server binaries off `PATH`, one dir per major version: take the newest, else
/// whatever `PATH` has.
fn server_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| {
        ["initdb", "postgres", "psql"]
            .iter()
            .all(|t| dir.join(t).is_file())
    };
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path())))
        .map(|(version, dir)| (version, dir.join("bin")))
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).or_else(|| {
        let postgres = find_program("postgres", &[])?;
        postgres
            .parent()
            .filter(|dir| has_tools(dir))
            .map(Path::to_path_buf)
    })
}

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new().append(true).open(path);
    let appended = file.as_mut().map(|file| file.write_all(text.as_bytes()));
    assert!(
        matches!(appended, Ok(Ok(()))),
        "cannot append to {}",
        path.display()
    );
}
