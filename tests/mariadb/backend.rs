//! What the shared application (`../replicated/schema.rs`) needs of MariaDB.

use diesel::sql_types::{BigInt, Text};
use diesel_route::prelude::*;
use harness::{MariaDbCluster, ServerRef};

/// The cluster the tests run on.
pub(crate) type Cluster = MariaDbCluster;

/// The tables of `default` and of `other`.
pub(crate) const SCHEMA: &str = "
    CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL);
    CREATE TABLE events (id INT AUTO_INCREMENT PRIMARY KEY, kind VARCHAR(200) NOT NULL);
    CREATE SEQUENCE item_seq;
";

/// Which server answered a query, as the server itself says.
#[derive(QueryableByName, Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    #[diesel(sql_type = BigInt)]
    pub(crate) server_id: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) port: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) read_only: i64,
    #[diesel(sql_type = Text)]
    pub(crate) database: String,
}

pub(crate) const IDENTITY: &str = "SELECT CAST(@@server_id AS SIGNED) AS server_id, \
                        CAST(@@port AS SIGNED) AS port, \
                        CAST(@@read_only AS SIGNED) AS read_only, DATABASE() AS `database`";

impl Identity {
    /// The harness's name for the server, checking what the server says of itself.
    pub(crate) fn server(&self, cluster: &MariaDbCluster) -> ServerRef {
        let id = u32::try_from(self.server_id).expect("a server id");
        let server = cluster.server_by_id(id).expect("a server of the cluster");
        assert_eq!(i64::from(server.port), self.port, "{self:?}");
        assert_eq!(self.read_only == 1, !server.is_primary, "{self:?}");
        server
    }
}

/// `mysql://USER:PASSWORD@127.0.0.1:PORT/app`.
pub(crate) fn url_as(user: &str, password: &str, port: u16) -> String {
    format!("mysql://{user}:{password}@127.0.0.1:{port}/app")
}

/// The cluster every test shares.
pub(crate) fn shared_cluster() -> Option<&'static MariaDbCluster> {
    harness::shared_mariadb_cluster_or_skip()
}

/// `sql` run as root on `server`, in `database`.
pub(crate) fn sql_in(
    cluster: &MariaDbCluster,
    server: &ServerRef,
    database: &str,
    sql: &str,
) -> String {
    cluster.sql(server, &format!("USE {database};\n{sql}"))
}

/// A raw insert of one item, its name bound.
pub(crate) const INSERT_ITEM: &str = "INSERT INTO items (name) VALUES (?)";

/// The next value of a sequence: a write, inside a `SELECT`.
pub(crate) const NEXT_VALUE: &str = "NEXTVAL(item_seq)";

/// A query of the sequence's state, and its answer while no value was taken.
pub(crate) const SEQUENCE_UNMOVED: (&str, &str) =
    ("SELECT next_not_cached_value FROM item_seq", "1");

/// Raw statements a reader might run to make its session writable: a reader cannot even
/// send them.
pub(crate) const SESSION_FLIPS: &[&str] = &[
    "SET SESSION TRANSACTION READ WRITE",
    "SET SESSION tx_read_only = 0",
    "SET @@session.transaction_read_only = 0",
    "START TRANSACTION READ WRITE",
    "/*!40101 SET SESSION TRANSACTION READ WRITE */",
];

/// `SELECT`s that write through a function the read-only mode lets through: none known.
pub(crate) const WRITING_SELECTS: &[&str] = &[];

/// Queries of what such functions would have written.
pub(crate) const NOTHING_ELSE_WRITTEN: &[(&str, &str)] = &[];

/// 1 when the session is still read-only.
pub(crate) const SESSION_IS_READ_ONLY: &str = "SELECT CAST(@@session.tx_read_only AS SIGNED) AS n";
