//! MariaDB: a primary and GTID replicas.

mod replication;

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::node::{Flavor, Node, Role};
use crate::options::{ClusterOptions, ServerTls, Tls};
use crate::process::{Signal, effective_uid, find_program, hermetic, run, running_as_root};
use crate::sql::check_identifier;
use crate::template::{cached_template, copy_template, fingerprint};
use crate::url::with_params;
use crate::wait::{PATIENCE, wait_until};
use crate::workdir::WorkDir;
use crate::{ServerRef, Stop};

/// The application user's password, also part of every URL.
pub const MARIADB_APP_PASSWORD: &str = "app-secret";

const REPLICATION_PASSWORD: &str = "replicator-secret";

/// Options of every server. Durability is relaxed (test data is thrown away) and names are not
/// resolved, so `'app'@'%'` matches loopback clients without DNS.
const SERVER_ARGS: &[&str] = &[
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--gtid-strict-mode=1",
    "--relay-log=relay-bin",
    "--innodb-log-file-size=8M",
    "--innodb-buffer-pool-size=32M",
    "--innodb-flush-log-at-trx-commit=2",
    "--innodb-doublewrite=0",
    "--innodb-buffer-pool-dump-at-shutdown=0",
    "--innodb-buffer-pool-load-at-startup=0",
    "--sync-binlog=0",
];

/// The application user gets its databases only: no `SUPER` or `READ_ONLY ADMIN`, so
/// `read_only` on replicas refuses its writes.
const TEMPLATE_SQL: &str = "
CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret';
CREATE DATABASE app;
GRANT ALL PRIVILEGES ON app.* TO 'app'@'%';
CREATE USER 'replicator'@'%' IDENTIFIED BY 'replicator-secret';
GRANT REPLICATION SLAVE ON *.* TO 'replicator'@'%';
";

/// A MariaDB primary with GTID replicas (`read_only=1`) on loopback ports, in a temp dir.
///
/// Servers have `@@server_id` 1 (the primary), 2, 3, ... Every server is a clone of one
/// template without binlogs, so replicas simply replicate the primary's binlog from its start.
/// Every server writes a binlog, replicas with what they replicate, so that any can be
/// promoted. Dropping the cluster stops the servers and removes their files.
#[derive(Debug)]
pub struct MariaDbCluster {
    cluster: Cluster<MariaDb>,
    options: ClusterOptions,
}

impl MariaDbCluster {
    /// Starts a primary and `replicas` replicas and waits until every replica replicates.
    ///
    /// Panics with the server's log when something fails: tests cannot go on without it. See
    /// [`crate::mariadb_cluster_or_skip`] for machines without MariaDB.
    pub fn start(replicas: usize) -> MariaDbCluster {
        MariaDbCluster::start_with(ClusterOptions {
            replicas,
            ..ClusterOptions::default()
        })
    }

    /// Starts a cluster as `options` say, with TLS or not, and waits until every replica
    /// replicates, and has the application user's `REQUIRE SSL` where TLS is required
    /// (`REQUIRE X509` where a client certificate is). Panics
    /// as [`MariaDbCluster::start`] does.
    pub fn start_with(options: ClusterOptions) -> MariaDbCluster {
        let mut mariadb = MariaDb::find().unwrap_or_else(|why| panic!("{why}"));
        let template = mariadb.template();
        mariadb.tls = options.server_tls();
        let mut cluster = Cluster::new(mariadb, "mariadb", options.replicas);
        for (node, id) in cluster.nodes.iter_mut().zip(1..) {
            node.server_id = Some(id);
        }
        let this = MariaDbCluster { cluster, options };
        let cluster = &this.cluster;
        copy_template(&template, &cluster.primary().data_dir);
        cluster.start_node(cluster.primary());
        let require = match options.tls {
            Tls::Off | Tls::Optional => None,
            Tls::Required => Some("SSL"),
            Tls::ClientCert => Some("X509"),
        };
        if let Some(require) = require {
            let sql = format!("ALTER USER 'app'@'%' REQUIRE {require}");
            this.sql(&this.primary(), &sql);
        }
        cluster.start_replicas(|node| copy_template(&template, &node.data_dir));
        for node in cluster.replicas() {
            this.follow_primary(node);
        }
        for node in cluster.replicas() {
            this.wait_replicating(node);
        }
        this.wait_caught_up();
        this
    }

    /// The primary: the server named `primary` until [`MariaDbCluster::promote`] makes another
    /// one.
    pub fn primary(&self) -> ServerRef {
        self.cluster.primary().server_ref()
    }

    /// The replicas that follow the primary, in order; a former primary only once demoted.
    pub fn replicas(&self) -> Vec<ServerRef> {
        self.cluster.replicas().map(Node::server_ref).collect()
    }

    /// Every server, in the order `primary`, `replica1`, ..., whatever their roles now.
    pub fn servers(&self) -> Vec<ServerRef> {
        self.cluster.servers()
    }

    /// The server listening on `port`.
    pub fn server_by_port(&self, port: u16) -> Option<ServerRef> {
        self.cluster.server_by_port(port)
    }

    /// The server whose `@@server_id` is `id`, to tell which one answered a query.
    pub fn server_by_id(&self, id: u32) -> Option<ServerRef> {
        let nodes = self.cluster.nodes.iter();
        nodes
            .filter(|node| node.server_id == Some(id))
            .map(Node::server_ref)
            .next()
    }

    /// `mysql://app:PASSWORD@127.0.0.1:PORT/app`: the application user, which has privileges on
    /// its databases only.
    pub fn url(&self, server: &ServerRef) -> String {
        app_url(server.port, "app")
    }

    /// [`MariaDbCluster::url`] with `params` as its query, percent-encoded, such as
    /// `[("require_ssl", "true")]`; which parameters a client takes is the client's business.
    pub fn url_with_params(&self, server: &ServerRef, params: &[(&str, &str)]) -> String {
        with_params(self.url(server), params)
    }

    /// The application URL of the primary.
    pub fn primary_url(&self) -> String {
        self.url(&self.primary())
    }

    /// The application URLs of the replicas.
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

    /// Starts a stopped `server` again on its port and waits until it accepts connections. A
    /// replica replicates from the current primary again, also if its replication was
    /// stopped; while the primary runs, this waits until the replicas it concerns replicate. A
    /// former primary starts as the primary it was, without `read_only`.
    pub fn restart(&self, server: &ServerRef) {
        let node = self.cluster.node(server);
        self.cluster.start_node(node);
        let primary_runs = self.cluster.primary().is_running();
        match node.role() {
            Role::Replica => {
                self.follow_primary(node);
                if primary_runs {
                    self.wait_replicating(node);
                }
            }
            Role::Primary => self
                .cluster
                .following_replicas()
                .for_each(|replica| self.wait_replicating(replica)),
            _ => {}
        }
    }

    /// Whether `server` runs.
    pub fn is_running(&self, server: &ServerRef) -> bool {
        self.cluster.node(server).is_running()
    }

    /// Freezes `server` like a host that stopped answering: SIGSTOP to `mariadbd`. TCP
    /// connections still complete, in the kernel's backlog, but no greeting, answer or error
    /// comes, so only client timeouts end the calls; [`MariaDbCluster::sql`] on it would hang.
    /// Stopping or dropping the cluster thaws it first. Panics unless it runs.
    pub fn freeze(&self, server: &ServerRef) {
        self.cluster.node(server).freeze();
    }

    /// Thaws a [`MariaDbCluster::freeze`]d `server`: it answers what waited meanwhile.
    pub fn thaw(&self, server: &ServerRef) {
        let thawed = self.cluster.node(server).thaw();
        assert!(thawed, "`{}` is not frozen", server.name);
    }

    /// `KILL`s connection `id` (`CONNECTION_ID()`) on `server` and waits until it is gone; its
    /// client sees error 2013 or 2006. Returns whether there was such a connection.
    pub fn terminate_session(&self, server: &ServerRef, id: u64) -> bool {
        // Error 1094, "Unknown thread id", when there is none.
        if self
            .try_sql(server, &format!("KILL CONNECTION {id}"))
            .is_err()
        {
            return false;
        }
        self.wait_connections_gone(server, &id.to_string());
        true
    }

    /// `KILL`s every connection of the application user on `server` and waits until they are
    /// gone; their clients see error 2013 or 2006. Returns how many there were.
    pub fn terminate_app_sessions(&self, server: &ServerRef) -> usize {
        let list = "SELECT id FROM information_schema.PROCESSLIST WHERE user = 'app'";
        let ids: Vec<String> = self.sql(server, list).lines().map(str::to_owned).collect();
        if ids.is_empty() {
            return 0;
        }
        let kills: String = ids
            .iter()
            .map(|id| format!("KILL CONNECTION {id};\n"))
            .collect();
        // `--force` goes on past a connection that ended by itself meanwhile.
        let _ = run(self.root_client(server.port).arg("--force"), &kills);
        self.wait_connections_gone(server, &ids.join(","));
        ids.len()
    }

    /// Waits until no connection of the comma-separated `ids` is left on `server`: a killed
    /// connection ends a moment later.
    fn wait_connections_gone(&self, server: &ServerRef, ids: &str) {
        let left =
            format!("SELECT count(*) FROM information_schema.PROCESSLIST WHERE id IN ({ids})");
        wait_until("killed connections to end", PATIENCE, || {
            Ok(self.try_sql(server, &left)? == "0")
        })
        .unwrap_or_else(|why| panic!("{why}"));
    }

    /// Delays the replica `replica` by `delay`, rounded up to whole seconds (`MASTER_DELAY`).
    /// `Duration::ZERO` removes the delay.
    pub fn set_replication_delay(&self, replica: &ServerRef, delay: Duration) {
        assert!(
            !replica.is_primary,
            "a replication delay is set on a replica, not the primary"
        );
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        self.sql(
            replica,
            &format!("STOP SLAVE;\nCHANGE MASTER TO MASTER_DELAY = {seconds};\nSTART SLAVE;"),
        );
        if self.cluster.primary().is_running() {
            self.wait_replicating(self.cluster.node(replica));
        }
    }

    /// Waits until every running replica has applied the primary's `@@gtid_binlog_pos`; a
    /// replica whose replication is stopped is not waited for.
    pub fn wait_caught_up(&self) {
        assert!(
            self.cluster.primary().is_running(),
            "wait_caught_up needs the primary running"
        );
        let position = self.sql(&self.primary(), "SELECT @@gtid_binlog_pos");
        let timeout = PATIENCE.as_secs();
        let wait = format!("SELECT MASTER_GTID_WAIT('{position}', {timeout})");
        for node in self.cluster.following_replicas() {
            let replica = node.server_ref();
            let waited = self.sql(&replica, &wait);
            if waited != "0" {
                let status = self.slave_status(&replica).unwrap_or_default();
                panic!(
                    "`{}` did not reach {position} in {timeout} s: {status:?}",
                    node.name
                );
            }
        }
    }

    /// Runs `sql` (one or more statements) as root in database `app` on `server` and returns
    /// its trimmed output: one line per row, columns separated by tabs. Panics on error.
    pub fn sql(&self, server: &ServerRef, sql: &str) -> String {
        self.try_sql(server, sql)
            .unwrap_or_else(|why| panic!("SQL failed on `{}`: {why}\n{sql}", server.name))
    }

    /// Runs `sql` as the application user in database `app`; the error holds the client's
    /// message with the error code, such as `ERROR 1290 (HY000) at line 1: The MariaDB server
    /// is running with the --read-only option`.
    pub fn app_sql(&self, server: &ServerRef, sql: &str) -> Result<String, String> {
        run(&mut self.app_command(server), sql)
    }

    /// A `mariadb` client command connected to `server` as the application user, in batch mode;
    /// add `-e SQL`, or spawn it to hold a session open. On a TLS cluster it uses TLS without
    /// verifying the certificate (`--ssl`), with the client certificate where the cluster
    /// requires one; add `--ssl-ca=...`, `--ssl-verify-server-cert` or `--skip-ssl` to connect
    /// otherwise.
    pub fn app_command(&self, server: &ServerRef) -> Command {
        let mut client = self.cluster.flavor.client(server.port, "app");
        client.arg(format!("--password={MARIADB_APP_PASSWORD}"));
        if self.options.tls != Tls::Off {
            client.arg("--ssl");
        }
        if self.options.tls == Tls::ClientCert {
            let certificates = crate::certificates();
            client.arg(format!("--ssl-cert={}", certificates.client_cert.display()));
            client.arg(format!("--ssl-key={}", certificates.client_key.display()));
        }
        client.arg("app");
        client
    }

    /// Creates database `name` with all privileges for the application user, waits until the
    /// replicas have it, and returns its application URLs: the primary's and the replicas'.
    pub fn create_database(&self, name: &str) -> (String, Vec<String>) {
        check_identifier(name);
        let sql =
            format!("CREATE DATABASE {name};\nGRANT ALL PRIVILEGES ON {name}.* TO 'app'@'%';");
        self.sql(&self.primary(), &sql);
        self.wait_caught_up();
        let replicas = self
            .replicas()
            .iter()
            .map(|server| app_url(server.port, name))
            .collect();
        (app_url(self.primary().port, name), replicas)
    }

    fn try_sql(&self, server: &ServerRef, sql: &str) -> Result<String, String> {
        run(self.root_client(server.port).arg("app"), sql)
    }

    fn root_client(&self, port: u16) -> Command {
        self.cluster.flavor.client(port, "root")
    }

    /// Has the replica `node` replicate from the current primary, from its `gtid_slave_pos` on.
    /// Changing the master drops the relay log, which GTIDs make harmless: what it had not
    /// applied comes again.
    fn follow_primary(&self, node: &Node) {
        let sql = format!(
            "STOP SLAVE;\n\
             CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, \
             MASTER_USER = 'replicator', MASTER_PASSWORD = '{REPLICATION_PASSWORD}', \
             MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1;\n\
             START SLAVE;",
            self.cluster.primary().port()
        );
        self.sql(&node.server_ref(), &sql);
    }

    /// `SHOW SLAVE STATUS` as field names to values.
    fn slave_status(&self, replica: &ServerRef) -> Result<HashMap<String, String>, String> {
        let status = run(
            self.root_client(replica.port)
                .args(["--vertical", "--column-names"]),
            "SHOW SLAVE STATUS",
        )?;
        let fields = status.lines().filter_map(|line| line.split_once(':'));
        Ok(fields
            .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
            .collect())
    }

    /// Waits until both replication threads of `node` run, the I/O thread connected.
    fn wait_replicating(&self, node: &Node) {
        let replica = node.server_ref();
        let mut last = HashMap::new();
        let running = wait_until(&format!("`{}` to replicate", node.name), PATIENCE, || {
            last = self.slave_status(&replica)?;
            let yes = |field: &str| last.get(field).is_some_and(|value| value == "Yes");
            Ok(yes("Slave_IO_Running") && yes("Slave_SQL_Running"))
        });
        if let Err(why) = running {
            let errors = ["Last_IO_Error", "Last_SQL_Error"].map(|field| last.get(field).cloned());
            panic!("{why}; replication errors: {errors:?}");
        }
    }
}

fn app_url(port: u16, database: &str) -> String {
    format!("mysql://app:{MARIADB_APP_PASSWORD}@127.0.0.1:{port}/{database}")
}

/// The MariaDB installation, and the TLS files of a cluster's servers.
#[derive(Debug)]
pub(crate) struct MariaDb {
    server: PathBuf,
    install_db: PathBuf,
    client: PathBuf,
    tls: Option<ServerTls>,
}

impl MariaDb {
    /// Finds the binaries, or says how to install them.
    pub(crate) fn find() -> Result<MariaDb, String> {
        let find = |name: &str| {
            find_program(name, &["/usr/sbin", "/usr/local/sbin", "/usr/bin"]).ok_or_else(|| {
                format!(
                    "MariaDB's `{name}` not found on PATH or in /usr/sbin: install it with \
                     `apt-get install -y mariadb-server`"
                )
            })
        };
        Ok(MariaDb {
            server: find("mariadbd")?,
            install_db: find("mariadb-install-db")?,
            client: find("mariadb")?,
            tls: None,
        })
    }

    /// A batch-mode client for `user` on `port` over TCP, ignoring every option file.
    fn client(&self, port: u16, user: &str) -> Command {
        let mut client = hermetic(&self.client);
        client.args([
            "--no-defaults",
            "--protocol=TCP",
            "--host=127.0.0.1",
            "--batch",
        ]);
        client.args([
            "--skip-column-names",
            &format!("--port={port}"),
            &format!("--user={user}"),
        ]);
        client
    }

    /// The cached template for this installation, built on first use.
    fn template(&self) -> PathBuf {
        static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
        let build = || {
            let version = run(hermetic(&self.server).arg("--version"), "")
                .unwrap_or_else(|why| panic!("{why}"));
            // "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for ...": kept short for socket paths.
            let number = version
                .split_whitespace()
                .skip_while(|w| *w != "Ver")
                .nth(1);
            let number = number
                .and_then(|n| n.split('-').next())
                .unwrap_or("unknown");
            let hash = fingerprint(&[&version, &SERVER_ARGS.join(" "), TEMPLATE_SQL]);
            let name = format!("mariadb-{number}-u{}-{hash}", effective_uid());
            cached_template(&name, |work| self.build_template(work))
        };
        TEMPLATE.get_or_init(build).clone()
    }

    /// `mariadb-install-db`, then a first run to create the users and database every cluster
    /// needs. Without `--log-bin`, so clusters start with empty binlogs.
    fn build_template(&self, work: &WorkDir) -> PathBuf {
        let node = Node::new(
            work.path(),
            work.pid_file("template"),
            "template",
            Role::Template,
        );
        self.install_db(&node);
        node.start(self, 0);
        run(&mut self.client(node.port(), "root"), TEMPLATE_SQL)
            .unwrap_or_else(|why| panic!("cannot prepare the MariaDB template: {why}"));
        node.stop(Signal::Term, Duration::from_secs(30));
        node.data_dir
    }

    /// Runs `mariadb-install-db`, twice if need be: it has been seen to crash once in ~26 runs.
    fn install_db(&self, node: &Node) {
        let mut failure = String::new();
        for _ in 0..2 {
            let _ = fs::remove_dir_all(&node.data_dir);
            let mut install = hermetic(&self.install_db);
            install.arg("--no-defaults").args(root_user());
            install.args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
            install.arg(format!("--datadir={}", node.data_dir.display()));
            install.arg("--innodb-log-file-size=8M");
            match run(&mut install, "") {
                Ok(_) => return,
                Err(why) => failure = why,
            }
        }
        panic!("mariadb-install-db failed twice: {failure}");
    }
}

/// `--user=root` lets a root process run the server as root; other users run it as themselves.
fn root_user() -> Option<&'static str> {
    running_as_root().then_some("--user=root")
}

impl Flavor for MariaDb {
    fn product(&self) -> &'static str {
        "MariaDB"
    }

    fn command(&self, node: &Node, port: u16, _primary_port: u16) -> Command {
        let mut server = hermetic(&self.server);
        server
            .arg("--no-defaults")
            .args(root_user())
            .args(SERVER_ARGS);
        server.arg(format!("--datadir={}", node.data_dir.display()));
        server.arg(format!(
            "--socket={}",
            node.data_dir.join("mariadbd.sock").display()
        ));
        server.arg(format!("--port={port}"));
        server.arg(format!("--server-id={}", node.server_id.unwrap_or(1)));
        let role = node.role();
        if role != Role::Template {
            server.args([
                "--log-bin=binlog",
                "--binlog-format=ROW",
                "--log-slave-updates",
            ]);
        }
        if role == Role::Replica {
            server.args(["--read-only=1", "--skip-slave-start"]);
        }
        if let Some(tls) = &self.tls {
            server.arg(format!("--ssl-ca={}", tls.ca.display()));
            server.arg(format!("--ssl-cert={}", tls.cert.display()));
            server.arg(format!("--ssl-key={}", tls.key.display()));
        }
        server.current_dir(&node.data_dir);
        server
    }

    fn is_ready(&self, node: &Node, _pid: u32) -> bool {
        node.log_of_last_run().contains("ready for connections")
    }

    fn signal(&self, how: Stop) -> Signal {
        match how {
            Stop::Fast => Signal::Term,
            Stop::Kill => Signal::Kill,
        }
    }
}
