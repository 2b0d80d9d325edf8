//! What the shared application (`../replicated/schema.rs`) needs of PostgreSQL.

use diesel::sql_types::{Bool, Integer, Text};
use diesel_route::prelude::*;
use harness::{PgCluster, ServerRef};

/// The cluster the tests run on.
pub(crate) type Cluster = PgCluster;

/// The tables of `default` and of `other`.
pub(crate) const SCHEMA: &str = "
    CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
    CREATE TABLE events (id serial PRIMARY KEY, kind text NOT NULL);
";

/// Which server answered a query, as the server itself says.
#[derive(QueryableByName, Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    #[diesel(sql_type = Bool)]
    pub(crate) in_recovery: bool,
    #[diesel(sql_type = Integer)]
    pub(crate) port: i32,
    #[diesel(sql_type = Text)]
    pub(crate) database: String,
}

pub(crate) const IDENTITY: &str = "SELECT pg_is_in_recovery() AS in_recovery, \
                                   inet_server_port() AS port, current_database()::text AS database";

impl Identity {
    /// The harness's name for the server, checking what the server says of itself.
    pub(crate) fn server(&self, cluster: &PgCluster) -> ServerRef {
        let port = u16::try_from(self.port).expect("a port");
        let server = cluster
            .server_by_port(port)
            .expect("a server of the cluster");
        assert_eq!(self.in_recovery, !server.is_primary, "{self:?}");
        server
    }
}

/// `postgres://USER:PASSWORD@127.0.0.1:PORT/app`.
pub(crate) fn url_as(user: &str, password: &str, port: u16) -> String {
    format!("postgres://{user}:{password}@127.0.0.1:{port}/app")
}

/// The cluster every test shares.
pub(crate) fn shared_cluster() -> Option<&'static PgCluster> {
    harness::shared_pg_cluster_or_skip()
}

/// `sql` run as the superuser on `server`, in `database`.
pub(crate) fn sql_in(cluster: &PgCluster, server: &ServerRef, database: &str, sql: &str) -> String {
    cluster.sql_in(server, database, sql)
}

/// A raw insert of one item, its name bound.
pub(crate) const INSERT_ITEM: &str = "INSERT INTO items (name) VALUES ($1)";

/// The next value of a sequence: a write, inside a `SELECT`.
pub(crate) const NEXT_VALUE: &str = "nextval('items_id_seq')";

/// A query of the sequence's state, and its answer while no value was taken.
pub(crate) const SEQUENCE_UNMOVED: (&str, &str) = ("SELECT is_called FROM items_id_seq", "f");

/// Raw statements a reader might run to make its session writable. Those a reader cannot
/// even send (`SET`, `BEGIN`) are refused before they leave; the ones that are `SELECT`s
/// run, and the read guard on the primary rolls them back.
pub(crate) const SESSION_FLIPS: &[&str] = &[
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT set_config('transaction_read_only', 'off', false)",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "SET default_transaction_read_only = off",
    "BEGIN READ WRITE",
    "COMMIT",
];

/// `SELECT`s that write through a function PostgreSQL lets run in a read-only transaction.
pub(crate) const WRITING_SELECTS: &[&str] =
    &["SELECT lo_create(0)", "SELECT lo_from_bytea(0, 'x')"];

/// Queries of what such functions would have written, each with its answer when nothing was.
pub(crate) const NOTHING_ELSE_WRITTEN: &[(&str, &str)] =
    &[("SELECT count(*) FROM pg_largeobject_metadata", "0")];

/// 1 when the session is still read-only.
pub(crate) const SESSION_IS_READ_ONLY: &str =
    "SELECT (current_setting('default_transaction_read_only') = 'on')::int::bigint AS n";
