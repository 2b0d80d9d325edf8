//! MySQL and MariaDB through diesel-async's `AsyncMysqlConnection` (mysql_async).
//!
//! Connections are opened with mysql_async directly and handed to diesel-async, so that a
//! connection authenticates as exactly the account and over exactly the transport the URL
//! names: mysql_async would otherwise reconnect a TCP connection to a loopback server over
//! its Unix socket (`prefer_socket`), where `app@localhost` is another account.

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

/// MySQL's names of the TLS settings in a URL (the client's options), with the underscore
/// spellings and libpq's `sslmode` as well.
/// Whether the server refuses writes.
const READ_ONLY: &str = "CAST(@@global.read_only OR @@global.innodb_read_only AS SIGNED)";

/// Whether the server's replication threads run and are connected to a primary (MariaDB's
/// `Slave_running`). A server where the question fails (MySQL 8 moved the variable) is
/// judged by `read_only` alone. A server that replicates is a replica even when writable:
/// writing to it would fork its data.
const REPLICATING: &str = "(SELECT COUNT(*) FROM information_schema.GLOBAL_STATUS \
    WHERE VARIABLE_NAME = 'SLAVE_RUNNING' AND VARIABLE_VALUE = 'ON')";

/// A replica's replayed GTID position, and the position of what the server wrote (MariaDB).
const POSITIONS: &str = "@@global.gtid_slave_pos, @@global.gtid_binlog_pos";

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

    async fn connect(url: &ServerUrl, role: Role, _: &Arc<Watch>) -> Result<Self, BoxError> {
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
        Ok(Self::try_from(conn).await?)
    }

    async fn probe(&mut self) -> QueryResult<()> {
        // A text-protocol query: one round trip.
        self.batch_execute("SELECT 1").await
    }

    async fn health(&mut self) -> QueryResult<Health> {
        let read_only = diesel::dsl::sql::<BigInt>(READ_ONLY);
        let read_only: i64 =
            diesel_async::RunQueryDsl::get_result(diesel::select(read_only), &mut *self).await?;
        let replicating = diesel::dsl::sql::<BigInt>(REPLICATING);
        let replicating: Option<i64> =
            diesel_async::RunQueryDsl::get_result(diesel::select(replicating), &mut *self)
                .await
                .ok();
        let role = match (replicating, read_only) {
            (Some(1), _) => ServerRole::Replica,
            (None, 1) => ServerRole::Replica,
            (_, 1) => ServerRole::Detached,
            _ => ServerRole::Primary,
        };
        let positions = diesel::dsl::sql::<(Text, Text)>(POSITIONS);
        let positions: Option<(String, String)> =
            diesel_async::RunQueryDsl::get_result(diesel::select(positions), self)
                .await
                .ok();
        let position = positions.and_then(|(replayed, written)| match role {
            ServerRole::Primary => Position::parse_gtid(&written),
            _ => Position::parse_gtid(&replayed),
        });
        Ok(Health { role, position })
    }

    async fn position(&mut self) -> QueryResult<Option<Position>> {
        let written = diesel::dsl::sql::<Text>("@@global.gtid_binlog_pos");
        let written: Result<String, _> =
            diesel_async::RunQueryDsl::get_result(diesel::select(written), self).await;
        match written {
            Ok(written) => Ok(Position::parse_gtid(&written)),
            // MySQL has no such variable: no position, and reads given none go where any do.
            Err(diesel::result::Error::DatabaseError(_, _)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// MariaDB's `MASTER_GTID_WAIT` waits on the server, in one round trip.
    async fn wait_for(&mut self, position: &Position, limit: Duration) -> QueryResult<bool> {
        let Some(gtids) = position.gtid_text() else {
            return Ok(false);
        };
        let wait = diesel::dsl::sql::<BigInt>("CAST(MASTER_GTID_WAIT(")
            .bind::<Text, _>(gtids)
            .sql(", ")
            .bind::<Double, _>(limit.as_secs_f64())
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
