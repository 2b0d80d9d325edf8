//! MySQL and MariaDB through diesel-async's `AsyncMysqlConnection` (mysql_async).
//!
//! Connections are opened with mysql_async directly and handed to diesel-async, so that a
//! connection authenticates as exactly the account and over exactly the transport the URL
//! names: mysql_async would otherwise reconnect a TCP connection to a loopback server over
//! its Unix socket (`prefer_socket`), where `app@localhost` is another account.
//!
//! MariaDB and MySQL keep their replication positions apart: MariaDB a GTID per domain
//! (`@@gtid_binlog_pos`, `MASTER_GTID_WAIT`), MySQL a GTID set (`@@gtid_executed`,
//! `WAIT_FOR_EXECUTED_GTID_SET`). A connection knows which server it reached from the
//! handshake, and asks only what that server has.

use diesel::QueryResult;
use diesel::sql_types::{BigInt, Double, Text};
use diesel_async::SimpleAsyncConnection;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::PrivateKeyDer;

use super::{Backend, BoxFuture, Health, Watch, sealed};
use crate::error::{BoxError, Role};
use crate::server::ServerRole;
use crate::tls::{TlsMode, TlsSettings};
use crate::token::Position;
use crate::url::{ServerUrl, TlsParameters};

/// diesel-async's MySQL/MariaDB connection; declare it with `default: mysql`.
pub type MysqlConnection = diesel_async::AsyncMysqlConnection;

impl sealed::Sealed for MysqlConnection {}

/// Whether the server refuses writes, and what it is (`10.11.6-MariaDB-log`, `8.0.36`).
const READ_ONLY_AND_VERSION: &str =
    "CAST(@@global.read_only OR @@global.innodb_read_only AS SIGNED), @@version";

/// Which server a connection reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavour {
    MariaDb = 0,
    Mysql = 1,
}

impl Flavour {
    /// From the version the handshake announced, as mysql_async reads it: MariaDB's own
    /// (`5.5.5-10.11.6-MariaDB` gives 10.11.6), which starts at 10, where MySQL's versions
    /// (5.x, 8.x, 9.x) have stayed below.
    fn of_handshake((major, _, _): (u16, u16, u16)) -> Self {
        if major >= 10 {
            Self::MariaDb
        } else {
            Self::Mysql
        }
    }

    /// From `@@version`, which names MariaDB.
    fn of_version(version: &str) -> Self {
        if version.contains("MariaDB") {
            Self::MariaDb
        } else {
            Self::Mysql
        }
    }

    /// As a connection's watch keeps it.
    fn of_kind(kind: u8) -> Self {
        if kind == Self::Mysql as u8 {
            Self::Mysql
        } else {
            Self::MariaDb
        }
    }

    /// Whether the server's replication threads run and are connected to a primary. A
    /// server where the question fails is judged by `read_only` alone. A server that
    /// replicates is a replica even when writable: writing to it would fork its data.
    fn replicating_sql(self) -> &'static str {
        match self {
            // `Slave_running`.
            Self::MariaDb => {
                "(SELECT COUNT(*) FROM information_schema.GLOBAL_STATUS \
                 WHERE VARIABLE_NAME = 'SLAVE_RUNNING' AND VARIABLE_VALUE = 'ON')"
            }
            Self::Mysql => {
                "(SELECT COUNT(*) FROM performance_schema.replication_connection_status \
                 WHERE SERVICE_STATE = 'ON')"
            }
        }
    }

    /// A replica's replayed position, and the position of what the server wrote. MySQL's
    /// executed set holds both.
    fn positions_sql(self) -> &'static str {
        match self {
            Self::MariaDb => "@@global.gtid_slave_pos, @@global.gtid_binlog_pos",
            Self::Mysql => "@@global.gtid_executed, @@global.gtid_executed",
        }
    }

    /// The position of what the server wrote.
    fn written_sql(self) -> &'static str {
        match self {
            Self::MariaDb => "@@global.gtid_binlog_pos",
            Self::Mysql => "@@global.gtid_executed",
        }
    }

    fn parse(self, position: &str) -> Option<Position> {
        match self {
            Self::MariaDb => Position::parse_gtid(position),
            Self::Mysql => Position::parse_gtid_set(position),
        }
    }
}

/// The statement that waits on a replica until it has `position`, up to `seconds`, and
/// whether it gives 0 once there: MariaDB's `MASTER_GTID_WAIT` (0, or -1 on timeout),
/// MySQL's `WAIT_FOR_EXECUTED_GTID_SET` (0, or 1). `None` for a position of neither.
fn wait_sql(position: &Position) -> Option<(&'static str, String)> {
    match position {
        Position::Gtid(_) => Some(("MASTER_GTID_WAIT", position.gtid_text()?)),
        Position::GtidSet(_) => Some(("WAIT_FOR_EXECUTED_GTID_SET", position.gtid_set_text()?)),
        Position::Lsn(_) => None,
    }
}

/// MySQL's names of the TLS settings in a URL (the client's options), with the underscore
/// spellings and libpq's `sslmode` as well.
const TLS_PARAMETERS: TlsParameters = TlsParameters {
    mode: &["ssl-mode", "ssl_mode", "sslmode"],
    root_cert: &["ssl-ca", "ssl_ca"],
    client_cert: &["ssl-cert", "ssl_cert"],
    client_key: &["ssl-key", "ssl_key"],
};

/// mysql_async's options for a connection to `url` in `role`.
fn options(url: &ServerUrl, role: Role) -> Result<mysql_async::OptsBuilder, BoxError> {
    let opts = mysql_async::Opts::from_url(url.secret())?;
    let explicit_socket = url.secret().contains("prefer_socket=");
    let mut builder = mysql_async::OptsBuilder::from_opts(opts.clone());
    if !explicit_socket {
        builder = builder.prefer_socket(false);
    }
    if role == Role::Reader {
        // Refuses writes with 1792 even for users with `READ_ONLY ADMIN`, whom the server's
        // `read_only` lets through. Sent with the handshake's first queries.
        let mut init = opts.init().to_vec();
        init.push("SET SESSION TRANSACTION READ ONLY".to_owned());
        builder = builder.init(init);
    }
    Ok(builder.ssl_opts(ssl_options(url.tls())?))
}

/// mysql_async's TLS options for `tls`: certificates checked as the mode says, against the
/// given CA alone when one is given.
fn ssl_options(tls: &TlsSettings) -> Result<Option<mysql_async::SslOpts>, String> {
    let verify = match tls.mode {
        TlsMode::Disable => return Ok(None),
        TlsMode::Prefer | TlsMode::Require => None,
        TlsMode::VerifyCa => Some(false),
        TlsMode::VerifyFull => Some(true),
    };
    let mut ssl = mysql_async::SslOpts::default()
        .with_danger_accept_invalid_certs(verify.is_none())
        .with_danger_skip_domain_validation(verify != Some(true));
    if let Some(root) = &tls.root_cert {
        let root = root.clone().into();
        ssl = ssl
            .with_root_certs(vec![root])
            .with_disable_built_in_roots(true);
    }
    if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
        let key = rsa_key_pkcs1(key)?;
        let identity = mysql_async::ClientIdentity::new(cert.clone().into(), key.into());
        ssl = ssl.with_client_identity(Some(identity));
    }
    Ok(Some(ssl))
}

/// The client key of `file` as PKCS#1 DER, the one form mysql_async's rustls identity
/// takes: a key in PKCS#8 (what `openssl genpkey` and most tools write) would fail every
/// connection with "No private key found". Keys that are not RSA are refused, naming the file.
fn rsa_key_pkcs1(file: &Path) -> Result<Vec<u8>, String> {
    let refused = || {
        format!(
            "the client key `{}` is not an RSA key, the only kind the MySQL driver takes",
            file.display()
        )
    };
    match crate::tls::private_key(file)? {
        PrivateKeyDer::Pkcs1(key) => Ok(key.secret_pkcs1_der().to_vec()),
        PrivateKeyDer::Pkcs8(key) => rsa_of_pkcs8(key.secret_pkcs8_der())
            .map(<[u8]>::to_vec)
            .ok_or_else(refused),
        _ => Err(refused()),
    }
}

/// The RSA key a PKCS#8 `PrivateKeyInfo` wraps: `SEQUENCE { version, SEQUENCE { algorithm,
/// parameters }, OCTET STRING key }`, whose algorithm is `rsaEncryption`.
fn rsa_of_pkcs8(der: &[u8]) -> Option<&[u8]> {
    /// The DER of OID 1.2.840.113549.1.1.1.
    const RSA_ENCRYPTION: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    let (info, _) = der_element(der, 0x30)?;
    let (_version, rest) = der_element(info, 0x02)?;
    let (algorithm, rest) = der_element(rest, 0x30)?;
    let (key, _) = der_element(rest, 0x04)?;
    algorithm.starts_with(RSA_ENCRYPTION).then_some(key)
}

/// The content of the DER element `input` starts with, when its tag is `tag`, and what
/// follows the element.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    let (&length, rest) = rest.split_first()?;
    if found != tag {
        return None;
    }
    let (length, rest) = match length {
        0..=0x7f => (usize::from(length), rest),
        0x81..=0x84 => {
            let (bytes, rest) = rest.split_at_checked(usize::from(length & 0x7f))?;
            let length = bytes
                .iter()
                .fold(0, |length, byte| length << 8 | usize::from(*byte));
            (length, rest)
        }
        _ => return None,
    };
    rest.split_at_checked(length)
}

impl Backend for MysqlConnection {
    const NAME: &'static str = "mysql";

    /// A session the server killed (`KILL`, `wait_timeout`) shows only when used. A read is
    /// then retried elsewhere, a write cannot be: writer checkouts ping first.
    const WRITER_PING_AFTER: Option<std::time::Duration> = Some(std::time::Duration::ZERO);

    fn parse_url(url: &str, tls: &TlsSettings) -> Result<ServerUrl, String> {
        let url = ServerUrl::network(url, &["mysql", "mariadb"], 3306)?;
        let url = url.with_tls(&TLS_PARAMETERS, tls)?;
        url.tls().check()?;
        if let Some(key) = &url.tls().client_key {
            rsa_key_pkcs1(key)?;
        }
        Ok(url)
    }

    async fn connect(url: &ServerUrl, role: Role, watch: &Arc<Watch>) -> Result<Self, BoxError> {
        // mysql_async builds its TLS configuration with rustls' process-wide provider: make
        // it `ring`, also when another crate of the program enabled a second one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = options(url, role)?;
        let conn = match (
            url.tls().mode,
            mysql_async::Conn::new(builder.clone()).await,
        ) {
            // `PREFERRED`: plaintext when the server offers no TLS.
            (
                TlsMode::Prefer,
                Err(mysql_async::Error::Driver(
                    mysql_async::DriverError::NoClientSslFlagFromServer,
                )),
            ) => mysql_async::Conn::new(builder.ssl_opts(None)).await?,
            (_, conn) => conn?,
        };
        watch.set_server_kind(Flavour::of_handshake(conn.server_version()) as u8);
        Ok(Self::try_from(conn).await?)
    }

    async fn probe(&mut self) -> QueryResult<()> {
        // A text-protocol query: one round trip.
        self.batch_execute("SELECT 1").await
    }

    async fn health(&mut self) -> QueryResult<Health> {
        let asked = diesel::dsl::sql::<(BigInt, Text)>(READ_ONLY_AND_VERSION);
        let (read_only, version): (i64, String) =
            diesel_async::RunQueryDsl::get_result(diesel::select(asked), &mut *self).await?;
        let flavour = Flavour::of_version(&version);
        let replicating = diesel::dsl::sql::<BigInt>(flavour.replicating_sql());
        let replicating: Option<i64> =
            diesel_async::RunQueryDsl::get_result(diesel::select(replicating), &mut *self)
                .await
                .ok();
        let role = match (replicating, read_only) {
            (Some(1..), _) => ServerRole::Replica,
            (None, 1) => ServerRole::Replica,
            (_, 1) => ServerRole::Detached,
            _ => ServerRole::Primary,
        };
        let positions = diesel::dsl::sql::<(Text, Text)>(flavour.positions_sql());
        let positions: Option<(String, String)> =
            diesel_async::RunQueryDsl::get_result(diesel::select(positions), self)
                .await
                .ok();
        let position = positions.and_then(|(replayed, written)| match role {
            ServerRole::Primary => flavour.parse(&written),
            _ => flavour.parse(&replayed),
        });
        Ok(Health { role, position })
    }

    async fn position(&mut self, watch: &Watch) -> QueryResult<Option<Position>> {
        let flavour = Flavour::of_kind(watch.server_kind());
        let written = diesel::dsl::sql::<Text>(flavour.written_sql());
        let written: String =
            diesel_async::RunQueryDsl::get_result(diesel::select(written), self).await?;
        Ok(flavour.parse(&written))
    }

    /// Waits on the server, in one round trip.
    async fn wait_for(&mut self, position: &Position, limit: Duration) -> QueryResult<bool> {
        const SHORTEST_WAIT: Duration = Duration::from_millis(1);
        let Some((function, position)) = wait_sql(position) else {
            return Ok(false);
        };
        let wait = diesel::dsl::sql::<BigInt>("CAST(")
            .sql(function)
            .sql("(")
            .bind::<Text, _>(position)
            .sql(", ")
            // Never 0: MySQL's `WAIT_FOR_EXECUTED_GTID_SET` takes 0 for "wait forever".
            .bind::<Double, _>(limit.max(SHORTEST_WAIT).as_secs_f64())
            .sql(") AS SIGNED)");
        let reached: i64 =
            diesel_async::RunQueryDsl::get_result(diesel::select(wait), self).await?;
        Ok(reached == 0)
    }

    fn cancel_request(&self, _: &ServerUrl) -> Option<BoxFuture<()>> {
        let token = self.cancel_token();
        Some(Box::pin(async move {
            let _ = token.cancel_query().await;
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

    #[test]
    fn the_handshake_tells_mariadb_from_mysql() {
        // mysql_async's reading of `5.5.5-10.11.6-MariaDB-0+deb12u1`, and MySQL's own.
        assert_eq!(Flavour::of_handshake((10, 11, 6)), Flavour::MariaDb);
        assert_eq!(Flavour::of_handshake((11, 4, 2)), Flavour::MariaDb);
        for mysql in [(5, 7, 44), (8, 0, 36), (8, 4, 0), (9, 1, 0)] {
            assert_eq!(Flavour::of_handshake(mysql), Flavour::Mysql, "{mysql:?}");
        }
        assert_eq!(Flavour::of_version("10.11.6-MariaDB-log"), Flavour::MariaDb);
        assert_eq!(Flavour::of_version("8.0.36"), Flavour::Mysql);
        for flavour in [Flavour::MariaDb, Flavour::Mysql] {
            let watch = Watch::default();
            watch.set_server_kind(flavour as u8);
            assert_eq!(Flavour::of_kind(watch.server_kind()), flavour);
        }
    }

    #[test]
    fn each_flavour_asks_only_what_its_server_has() {
        let mariadb = Flavour::MariaDb;
        assert_eq!(mariadb.written_sql(), "@@global.gtid_binlog_pos");
        assert!(mariadb.positions_sql().contains("gtid_slave_pos"));
        assert!(mariadb.replicating_sql().contains("SLAVE_RUNNING"));
        let mysql = Flavour::Mysql;
        for sql in [
            mysql.written_sql(),
            mysql.positions_sql(),
            mysql.replicating_sql(),
        ] {
            assert!(
                !sql.contains("gtid_binlog_pos") && !sql.contains("gtid_slave_pos"),
                "{sql}"
            );
            assert!(!sql.contains("GLOBAL_STATUS"), "{sql}");
        }
        assert_eq!(mysql.written_sql(), "@@global.gtid_executed");
        assert!(
            mysql
                .replicating_sql()
                .contains("replication_connection_status")
        );
    }

    #[test]
    fn each_flavour_reads_its_positions() {
        let executed = format!("{SOURCE}:1-5:11-18,\nb2a1c0de-0000-4000-8000-00000000000f:1-27");
        let set = Flavour::Mysql.parse(&executed).unwrap();
        assert!(matches!(set, Position::GtidSet(_)));
        assert_eq!(Flavour::Mysql.parse(""), None, "GTIDs off");
        assert_eq!(Flavour::Mysql.parse("0-1-5"), None);
        let gtid = Flavour::MariaDb.parse("0-1-5,1-2-3").unwrap();
        assert!(matches!(gtid, Position::Gtid(_)));
        assert_eq!(Flavour::MariaDb.parse(&executed), None);
    }

    #[test]
    fn a_wait_uses_the_function_of_its_position() {
        let set = Position::parse_gtid_set(&format!("{SOURCE}:1-5")).unwrap();
        let (function, text) = wait_sql(&set).unwrap();
        assert_eq!(function, "WAIT_FOR_EXECUTED_GTID_SET");
        assert_eq!(text, format!("{SOURCE}:1-5"));
        let gtid = Position::parse_gtid("0-1-5").unwrap();
        assert_eq!(
            wait_sql(&gtid),
            Some(("MASTER_GTID_WAIT", "0-1-5".to_owned()))
        );
        assert_eq!(wait_sql(&Position::Lsn(5)), None);
    }
}
