//! The servers the benches run against: a PostgreSQL server over loopback (started here, or
//! found), and a SQLite file.

use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use diesel::sql_types::Integer;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use crate::{COUNTER_TABLE, PLAIN_ROW, ROUTED_ROW, cpus_allowed};

/// The server most machines of the project have running already (trust auth).
const FALLBACK_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A PostgreSQL server for one bench process, and how it was found; with a streaming
/// standby when the bench starts its own.
pub struct PgServer {
    url: String,
    /// The standby's URL, when there is one.
    standby_url: Option<String>,
    origin: String,
    // Stops the server when the bench ends; `None` for a server found running.
    _cluster: Option<harness::PgCluster>,
}

impl PgServer {
    /// In order: the server at `BENCH_POSTGRES_URL`; else a server of the bench's own,
    /// started with the test harness on a free loopback port (about 0.3 s; it inherits the
    /// bench's CPU affinity, so `taskset` on the bench pins the server too); else the server
    /// at 127.0.0.1:5432. Panics when there is none.
    pub fn start_or_find() -> Self {
        if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
            return Self {
                url,
                standby_url: std::env::var("BENCH_POSTGRES_STANDBY_URL").ok(),
                origin: "BENCH_POSTGRES_URL".into(),
                _cluster: None,
            };
        }
        match harness::postgres_available() {
            Ok(()) => {
                let cluster = harness::PgCluster::start(1);
                Self {
                    url: cluster.primary_url(),
                    standby_url: cluster.replica_urls().pop(),
                    origin: "started by the bench (test harness, fsync off, one standby)".into(),
                    _cluster: Some(cluster),
                }
            }
            Err(missing) if reachable("127.0.0.1:5432") => Self {
                url: FALLBACK_URL.into(),
                standby_url: None,
                origin: format!("found on 127.0.0.1:5432 ({missing})"),
                _cluster: None,
            },
            Err(missing) => panic!(
                "no PostgreSQL server: set BENCH_POSTGRES_URL, or install the server \
                 binaries so that the bench starts its own ({missing})"
            ),
        }
    }

    /// The application URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL reads go to: the standby's, else the primary's (then routed reads run on the
    /// primary's read-only pool, in guarded transactions, and cost more than plain ones: see
    /// BENCHMARKS.md).
    pub fn read_url(&self) -> &str {
        self.standby_url.as_deref().unwrap_or(&self.url)
    }

    /// The standby's URL, when there is one.
    pub fn standby_url(&self) -> Option<&str> {
        self.standby_url.as_deref()
    }

    /// Creates the table of the write benches, and prints on stderr which server this is
    /// and on which CPUs its session runs.
    pub async fn prepare(&self) {
        use diesel_async::RunQueryDsl;
        let mut conn = AsyncPgConnection::establish(&self.url)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to {}: {error}", self.url));
        conn.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {COUNTER_TABLE} (id integer PRIMARY KEY, n bigint NOT NULL);
             INSERT INTO {COUNTER_TABLE} VALUES ({PLAIN_ROW}, 0), ({ROUTED_ROW}, 0)
                 ON CONFLICT (id) DO NOTHING;"
        ))
        .await
        .expect("the bench table");
        // Apart: a multi-statement batch runs as one transaction, and VACUUM refuses that.
        conn.batch_execute(&format!("VACUUM {COUNTER_TABLE}"))
            .await
            .expect("a vacuum of the bench table");
        let version: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "current_setting('server_version')",
        ))
        .get_result(&mut conn)
        .await
        .expect("the server version");
        let backend: i32 = diesel::select(diesel::dsl::sql::<Integer>("pg_backend_pid()"))
            .get_result(&mut conn)
            .await
            .expect("the backend pid");
        let backend = u32::try_from(backend).unwrap_or_default();
        eprintln!(
            "postgres: {} at {} ({}); PostgreSQL {version}; its sessions run on CPUs {}",
            self.origin,
            redact(&self.url),
            postmaster_of(backend).map_or_else(
                || "not on this machine".to_owned(),
                |pid| format!("postmaster pid {pid}")
            ),
            cpus_allowed(backend),
        );
    }
}

/// The parent of a backend process: the postmaster.
fn postmaster_of(backend: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{backend}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("PPid:"))
        .and_then(|pid| pid.trim().parse().ok())
}

fn reachable(address: &str) -> bool {
    address.parse().is_ok_and(|address| {
        TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
    })
}

/// The URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if url[scheme + 3..at].contains(':') => {
            let user_end = scheme + 3 + url[scheme + 3..at].find(':').unwrap_or(0);
            format!("{}:***{}", &url[..user_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// A SQLite database file in a temp dir, on tmpfs (`/dev/shm`) where there is one: a bench
/// of the library, not of the disk's `fsync`.
pub struct SqliteFile {
    dir: tempfile::TempDir,
}

impl SqliteFile {
    /// A new, empty temp dir for the file.
    pub fn new() -> Self {
        let shm = std::path::Path::new("/dev/shm");
        let dir = match shm.is_dir() {
            true => tempfile::tempdir_in(shm),
            false => tempfile::tempdir(),
        }
        .expect("a temp dir");
        Self { dir }
    }

    /// The path of the database file.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("bench.db")
    }

    /// The path as the URL both diesel-route and diesel take.
    pub fn url(&self) -> String {
        self.path().to_str().expect("a UTF-8 temp path").to_owned()
    }

    /// Creates the table of the write benches (and the file, in WAL mode as diesel-route
    /// sets it) and prints where the file is.
    pub fn prepare(&self) {
        use diesel::connection::SimpleConnection;
        use diesel::{Connection, RunQueryDsl, SqliteConnection};
        let mut conn = SqliteConnection::establish(&self.url()).expect("the SQLite file");
        conn.batch_execute(&format!(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS {COUNTER_TABLE} (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
             INSERT OR IGNORE INTO {COUNTER_TABLE} VALUES ({PLAIN_ROW}, 0), ({ROUTED_ROW}, 0);"
        ))
        .expect("the bench table");
        eprintln!(
            "sqlite: {} (WAL, bundled SQLite {})",
            self.path().display(),
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
                "sqlite_version()"
            ))
            .get_result::<String>(&mut conn)
            .unwrap_or_default()
        );
    }
}

impl Default for SqliteFile {
    fn default() -> Self {
        Self::new()
    }
}
