//! PgBouncer in front of one PostgreSQL server.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::node::{Flavor, Node, Role};
use crate::postgres::{PG_APP_PASSWORD, Postgres, app_url};
use crate::process::{Signal, find_program, hermetic, run};
use crate::workdir::WorkDir;
use crate::{PgCluster, ServerRef, Stop};

/// How PgBouncer lends server connections to its clients (`pool_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolMode {
    /// A client keeps one server connection for its whole session.
    Session,
    /// A client gets a server connection per transaction, so nothing of a session carries
    /// from one transaction to the next: not `SET`, not temp tables, not prepared statements.
    /// PgBouncer 1.18 does not track protocol-level prepared statements either (1.21 and
    /// later can), so a client's named statement vanishes when its next transaction lands on
    /// another server connection.
    Transaction,
}

/// Debian's `pgbouncer` on a free loopback port, pooling connections to one server of a
/// [`PgCluster`], for any of its databases. Stopped on drop.
///
/// It runs as the user PostgreSQL runs as (it refuses root), with its config and log
/// (`pgbouncer.log`) in a work dir of its own. It asks the application user for its password
/// where the cluster does, logs in to the server with it, and uses TLS to the server where
/// the server offers it. Pools hold at most [`PgBouncer::POOL_SIZE`] server connections.
#[derive(Debug)]
pub struct PgBouncer {
    node: Node,
    bouncer: Bouncer,
    // Declared last so that PgBouncer stops (in `Drop`) before its dir goes.
    _dir: WorkDir,
}

impl PgBouncer {
    /// Server connections per database and user (`default_pool_size`).
    pub const POOL_SIZE: usize = 4;

    /// Starts PgBouncer in front of `server` and waits until it listens; panics with its log
    /// when it cannot start.
    pub fn start(cluster: &PgCluster, server: &ServerRef, mode: PoolMode) -> PgBouncer {
        let dir = WorkDir::new("pgbouncer");
        let postgres = cluster.postgres().clone();
        postgres.run_as().chown(dir.path());
        let bouncer = Bouncer {
            program: Bouncer::find().unwrap_or_else(|why| panic!("{why}")),
            postgres,
            mode,
            password: cluster.options().password,
            dir: dir.path().to_path_buf(),
        };
        let node = Node::new(
            dir.path(),
            dir.pid_file("pgbouncer"),
            "pgbouncer",
            Role::Pooler,
        );
        node.start(&bouncer, server.port);
        PgBouncer {
            node,
            bouncer,
            _dir: dir,
        }
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.node.port()
    }

    /// The application URL of database `app` through PgBouncer, as [`PgCluster::url`] gives
    /// it for the server.
    pub fn url(&self) -> String {
        self.database_url("app")
    }

    /// The application URL of `database` through PgBouncer.
    pub fn database_url(&self, database: &str) -> String {
        app_url(self.port(), database, self.bouncer.password)
    }

    /// A `psql` command connected through PgBouncer as the application user to database
    /// `app`, as [`PgCluster::app_command`] gives it for the server.
    pub fn app_command(&self) -> Command {
        let postgres = &self.bouncer.postgres;
        postgres.app_psql(self.port(), "app", self.bouncer.password)
    }

    /// Runs `sql` through PgBouncer as the application user, as [`PgCluster::app_sql`] does.
    pub fn app_sql(&self, sql: &str) -> Result<String, String> {
        run(self.app_command().args(["-q", "-A", "-t"]), sql)
    }

    /// The version of the installed `pgbouncer`, such as `1.18.0`; panics if it is missing.
    pub fn version() -> String {
        let program = Bouncer::find().unwrap_or_else(|why| panic!("{why}"));
        let version = run(hermetic(program).arg("--version"), "");
        let version = version.unwrap_or_else(|why| panic!("{why}"));
        // "PgBouncer 1.18.0", then the libraries on lines of their own.
        version.split_whitespace().nth(1).unwrap_or("").to_owned()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let signal = self.bouncer.signal(Stop::Fast);
        self.node.stop(signal, Duration::from_secs(10));
    }
}

/// The `pgbouncer` program and what its config says.
#[derive(Debug)]
pub(crate) struct Bouncer {
    program: PathBuf,
    postgres: Postgres,
    mode: PoolMode,
    password: bool,
    dir: PathBuf,
}

impl Bouncer {
    /// Finds the program, or says how to install it.
    pub(crate) fn find() -> Result<PathBuf, String> {
        find_program("pgbouncer", &["/usr/sbin", "/usr/bin"]).ok_or_else(|| {
            "`pgbouncer` not found on PATH or in /usr/sbin: install it with \
             `apt-get install -y pgbouncer`"
                .to_owned()
        })
    }

    fn config_file(&self) -> PathBuf {
        self.dir.join("pgbouncer.ini")
    }

    /// Every database of the server on `server_port`, for clients on `port`. In `trust` mode
    /// PgBouncer still wants the user in its auth file; the password there is also what it
    /// logs in to the server with.
    fn config(&self, port: u16, server_port: u16) -> String {
        let auth_type = if self.password {
            "scram-sha-256"
        } else {
            "trust"
        };
        let pool_mode = match self.mode {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        };
        let auth_file = self.dir.join("userlist.txt");
        format!(
            "[databases]\n\
             * = host=127.0.0.1 port={server_port}\n\
             \n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = {auth_type}\n\
             auth_file = {}\n\
             pool_mode = {pool_mode}\n\
             max_client_conn = 100\n\
             default_pool_size = {}\n\
             server_tls_sslmode = prefer\n\
             server_login_retry = 1\n\
             ignore_startup_parameters = extra_float_digits\n",
            auth_file.display(),
            PgBouncer::POOL_SIZE,
        )
    }
}

impl Flavor for Bouncer {
    fn product(&self) -> &'static str {
        "PgBouncer"
    }

    fn prepare(&self, _node: &Node, port: u16, server_port: u16) {
        let users = format!("\"app\" \"{PG_APP_PASSWORD}\"\n\"postgres\" \"\"\n");
        write(&self.dir.join("userlist.txt"), &users);
        write(&self.config_file(), &self.config(port, server_port));
    }

    fn command(&self, _node: &Node, _port: u16, _server_port: u16) -> Command {
        let mut pgbouncer = hermetic(&self.program);
        pgbouncer.arg(self.config_file()).current_dir(&self.dir);
        self.postgres.run_as().apply(&mut pgbouncer);
        pgbouncer
    }

    fn is_ready(&self, node: &Node, _pid: u32) -> bool {
        node.log_of_last_run().contains("process up")
    }

    /// SIGTERM exits at once; SIGINT would wait for its clients to go.
    fn signal(&self, how: Stop) -> Signal {
        match how {
            Stop::Fast => Signal::Term,
            Stop::Kill => Signal::Kill,
        }
    }
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
