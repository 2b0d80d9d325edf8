//! Certificates for TLS tests, made once per test process with `openssl`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::process::{RunAs, hermetic, run};
use crate::workdir::WorkDir;

/// The certificates of TLS clusters ([`crate::Tls`]), in a dir under the harness root that goes
/// when the test process ends. Every path is absolute.
#[derive(Debug)]
pub struct Certificates {
    /// The CA that signed both server certificates: what a client trusts to accept them.
    pub ca_cert: PathBuf,
    /// A second CA that signed nothing here: a client trusting only it refuses every server.
    pub other_ca_cert: PathBuf,
    /// The server certificate for `DNS:localhost` and `IP:127.0.0.1`.
    pub server_cert: PathBuf,
    /// The key of both server certificates, mode 0600, owned by the user PostgreSQL runs as.
    pub server_key: PathBuf,
    /// A server certificate for `DNS:wrong.example` only, also signed by `ca_cert`.
    pub wrong_host_cert: PathBuf,
    /// A client certificate for the application user (`CN=app`), signed by `ca_cert`: what
    /// [`crate::Tls::ClientCert`] servers ask of that user.
    pub client_cert: PathBuf,
    /// The key of `client_cert`, mode 0600.
    pub client_key: PathBuf,
}

/// The test process's certificates, made on first use (about a second: four RSA keys).
pub fn certificates() -> &'static Certificates {
    static CERTIFICATES: OnceLock<(WorkDir, Certificates)> = OnceLock::new();
    &CERTIFICATES.get_or_init(make_certificates).1
}

/// Ten years: a certificate must not expire under a cached build.
const DAYS: &str = "3650";

fn make_certificates() -> (WorkDir, Certificates) {
    let dir = WorkDir::new("tls");
    let path = dir.path();
    let ca_cert = certificate_authority(path, "ca", "diesel-route test CA");
    let other_ca_cert = certificate_authority(path, "other-ca", "diesel-route other CA");
    let server_key = private_key(path, "server.key");
    let server_cert = sign_server(path, "server", "localhost", "DNS:localhost, IP:127.0.0.1");
    let wrong_host_cert = sign_server(path, "wrong-host", "wrong.example", "DNS:wrong.example");
    hand_key_to_postgres(path, &server_key);
    let client_key = private_key(path, "client.key");
    let client_extensions = "extendedKeyUsage = clientAuth\n";
    let client_cert = sign(path, "client", "client.key", "app", client_extensions);
    let certificates = Certificates {
        ca_cert,
        other_ca_cert,
        server_cert,
        server_key,
        wrong_host_cert,
        client_cert,
        client_key,
    };
    (dir, certificates)
}

/// A self-signed CA `<name>.crt` with its key `<name>.key`.
fn certificate_authority(dir: &Path, name: &str, common_name: &str) -> PathBuf {
    let subject = format!("/CN={common_name}");
    let key = format!("{name}.key");
    let args = [
        "req", "-x509", "-newkey", "rsa:2048", "-noenc", "-days", DAYS,
    ];
    let args = args.into_iter().chain(["-subj", &subject, "-keyout", &key]);
    let extensions = [
        "-addext",
        "basicConstraints = critical, CA:TRUE",
        "-addext",
        "keyUsage = critical, keyCertSign, cRLSign",
    ];
    let certificate = format!("{name}.crt");
    openssl(
        dir,
        &args.chain(extensions).collect::<Vec<_>>(),
        &certificate,
    );
    dir.join(certificate)
}

/// A new private key `<name>`, mode 0600: RSA, 2048 bits by default, as for the CAs, what
/// every client library takes.
fn private_key(dir: &Path, name: &str) -> PathBuf {
    openssl(dir, &["genpkey", "-algorithm", "RSA"], name);
    let key = dir.join(name);
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", key.display()));
    key
}

/// `<name>.crt` for `common_name` and `subject_alt_name`, with the key `server.key`, signed by
/// `ca.crt`. Rustls (webpki) takes only X.509 v3 server certificates whose SAN names the host.
fn sign_server(dir: &Path, name: &str, common_name: &str, subject_alt_name: &str) -> PathBuf {
    let extensions = format!(
        "keyUsage = critical, digitalSignature, keyEncipherment\n\
         extendedKeyUsage = serverAuth\n\
         subjectAltName = {subject_alt_name}\n"
    );
    sign(dir, name, "server.key", common_name, &extensions)
}

/// `<name>.crt` for `common_name`, with the key `key` and the X.509 v3 `extensions` of an
/// end entity, signed by `ca.crt`.
fn sign(dir: &Path, name: &str, key: &str, common_name: &str, extensions: &str) -> PathBuf {
    let request = format!("{name}.csr");
    let subject = format!("/CN={common_name}");
    openssl(
        dir,
        &["req", "-new", "-key", key, "-subj", &subject],
        &request,
    );
    let extensions = format!("basicConstraints = critical, CA:FALSE\n{extensions}");
    let extensions_file = format!("{name}.ext");
    write(&dir.join(&extensions_file), &extensions);
    let certificate = format!("{name}.crt");
    // The CA picks a random serial, so the certificates differ in it.
    let signing = [
        "x509", "-req", "-in", &request, "-CA", "ca.crt", "-CAkey", "ca.key",
    ];
    let options = ["-days", DAYS, "-extfile", &extensions_file];
    openssl(dir, &[&signing[..], &options].concat(), &certificate);
    dir.join(certificate)
}

/// PostgreSQL takes a key only when its own user owns it with mode 0600; MariaDB runs as root
/// and reads it anyway.
fn hand_key_to_postgres(dir: &Path, key: &Path) {
    if let Ok(postgres) = RunAs::postgres_user() {
        postgres.chown(dir);
        postgres.chown(key);
    }
}

/// Runs `openssl ARGS -out OUT` in `dir`.
fn openssl(dir: &Path, args: &[&str], out: &str) {
    let mut openssl = hermetic("openssl");
    openssl.args(args).args(["-out", out]).current_dir(dir);
    run(&mut openssl, "").unwrap_or_else(|why| {
        panic!("cannot make test certificates (`apt-get install -y openssl`): {why}")
    });
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
