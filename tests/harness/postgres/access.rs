//! Who may connect to a PostgreSQL cluster and how: `pg_hba.conf`, TLS and passwords.

use super::{PgCluster, append};
use crate::node::Node;
use crate::options::Tls;

impl PgCluster {
    /// Writes `pg_hba.conf` and the TLS settings into a freshly copied data dir: per cluster,
    /// after the copy, so that one template serves every kind of cluster.
    pub(super) fn configure_access(&self, node: &Node) {
        let postgres = &self.cluster.flavor;
        postgres.write(&node.data_dir.join("pg_hba.conf"), &self.hba_conf());
        if let Some(tls) = self.options.server_tls() {
            let settings = format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nssl_ca_file = '{}'\n",
                tls.cert.display(),
                tls.key.display(),
                tls.ca.display()
            );
            append(&node.data_dir.join("postgresql.conf"), &settings);
        }
    }

    /// The harness's superuser and the standbys are trusted, with TLS or without, so the
    /// harness works the same on every cluster. The application user gives its password where
    /// the options ask for one, and is refused without TLS where they require it, and without
    /// a client certificate for `app` where they require one. Roles that tests create are
    /// trusted.
    fn hba_conf(&self) -> String {
        let method = if self.options.password {
            "scram-sha-256"
        } else {
            "trust"
        };
        let app = match self.options.tls {
            Tls::Off | Tls::Optional => format!("host      all  app  127.0.0.1/32  {method}\n"),
            Tls::Required => format!(
                "hostssl   all  app  127.0.0.1/32  {method}\n\
                 hostnossl all  app  127.0.0.1/32  reject\n"
            ),
            Tls::ClientCert => format!(
                "hostssl   all  app  127.0.0.1/32  {method}  clientcert=verify-full\n\
                 hostnossl all  app  127.0.0.1/32  reject\n"
            ),
        };
        format!(
            "# Written by the test harness for this cluster; the first matching line counts.\n\
             host      replication  replicator  127.0.0.1/32  trust\n\
             host      all  postgres  127.0.0.1/32  trust\n\
             {app}\
             host      all  all  127.0.0.1/32  trust\n"
        )
    }
}
