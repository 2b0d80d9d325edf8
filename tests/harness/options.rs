//! How a cluster starts: how many replicas, TLS and passwords.

use std::path::Path;

use crate::tls::certificates;

/// What [`PgCluster::start_with`](crate::PgCluster::start_with) and
/// [`MariaDbCluster::start_with`](crate::MariaDbCluster::start_with) start. The default is what
/// `start(0)` starts: a primary alone, without TLS, PostgreSQL's application user trusted
/// without a password.
///
/// ```no_run
/// use harness::{ClusterOptions, PgCluster, Tls};
///
/// let cluster = PgCluster::start_with(ClusterOptions {
///     replicas: 1,
///     tls: Tls::Required,
///     ..ClusterOptions::default()
/// });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClusterOptions {
    /// How many replicas follow the primary.
    pub replicas: usize,
    /// Whether the servers speak TLS, and whether the application user must.
    pub tls: Tls,
    /// The certificate the servers present when `tls` is not [`Tls::Off`].
    pub server_cert: ServerCert,
    /// Whether PostgreSQL's application user must give [`PG_APP_PASSWORD`](crate::PG_APP_PASSWORD)
    /// (`scram-sha-256`); its URLs then hold it. MariaDB's application user always has a
    /// password, [`MARIADB_APP_PASSWORD`](crate::MARIADB_APP_PASSWORD), so MariaDB ignores this.
    pub password: bool,
}

/// TLS on a cluster's servers, with the certificates of [`crate::certificates`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tls {
    /// No TLS: a client that requires it cannot connect.
    #[default]
    Off,
    /// TLS for the clients that ask for it, plaintext for the others.
    Optional,
    /// The application user must use TLS: its plaintext connections are refused. The
    /// harness's own superuser and replication connections may stay plaintext.
    Required,
    /// As [`Tls::Required`], and the application user must also present a client
    /// certificate signed by [`Certificates::ca_cert`](crate::Certificates::ca_cert), such as
    /// [`Certificates::client_cert`](crate::Certificates::client_cert): PostgreSQL checks
    /// that it names the user (`clientcert=verify-full`), MariaDB that the CA signed it
    /// (`REQUIRE X509`).
    ClientCert,
}

/// The certificate a TLS cluster's servers present. Both are signed by
/// [`Certificates::ca_cert`](crate::Certificates::ca_cert).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServerCert {
    /// For `localhost` and `127.0.0.1`: clients that verify the host name accept it.
    #[default]
    Localhost,
    /// For `wrong.example` only: clients that verify the chain accept it, clients that also
    /// verify the host name (`verify-full`, `--ssl-verify-server-cert`) refuse it.
    WrongHost,
}

/// The files a TLS server is started with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerTls {
    pub(crate) cert: &'static Path,
    pub(crate) key: &'static Path,
    pub(crate) ca: &'static Path,
}

impl ClusterOptions {
    /// The server's TLS files, or `None` without TLS. Makes the certificates on first use.
    pub(crate) fn server_tls(&self) -> Option<ServerTls> {
        if self.tls == Tls::Off {
            return None;
        }
        let certificates = certificates();
        let cert = match self.server_cert {
            ServerCert::Localhost => &certificates.server_cert,
            ServerCert::WrongHost => &certificates.wrong_host_cert,
        };
        Some(ServerTls {
            cert,
            key: &certificates.server_key,
            ca: &certificates.ca_cert,
        })
    }
}
