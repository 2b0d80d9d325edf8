//! TLS to PostgreSQL and MySQL/MariaDB, on rustls (with the `ring` provider: no system
//! OpenSSL needed).
//!
//! The modes are libpq's, which MySQL's `ssl-mode` values map onto: `disable`; `prefer`
//! (TLS when the server offers it, unverified); `require` (TLS or no connection, unverified);
//! `verify-ca` (TLS with a certificate signed by a trusted CA); `verify-full` (and issued for
//! the host the URL names). The files a mode needs are read and checked when the router is
//! built, so that a bad CA file is a configuration error at start-up, not at the first call.

use std::fmt;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use std::path::Path;
use std::path::PathBuf;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use std::sync::Arc;

#[cfg(any(feature = "postgres", feature = "mysql"))]
use rustls::pki_types::pem::PemObject;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How a connection uses TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plaintext only.
    Disable,
    /// TLS when the server offers it, plaintext otherwise; the certificate is not verified
    /// (the default, as libpq's and MySQL's).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not verified.
    Require,
    /// TLS with a certificate signed by a trusted CA, for any host name.
    VerifyCa,
    /// TLS with a certificate signed by a trusted CA and issued for the host the URL names.
    VerifyFull,
}

impl TlsMode {
    /// The mode a `sslmode` (PostgreSQL) or `ssl-mode` (MySQL) value names, in either
    /// spelling and any case.
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().replace('_', "-").as_str() {
            "disable" | "disabled" => Some(Self::Disable),
            "prefer" | "preferred" | "allow" => Some(Self::Prefer),
            "require" | "required" => Some(Self::Require),
            "verify-ca" => Some(Self::VerifyCa),
            "verify-full" | "verify-identity" => Some(Self::VerifyFull),
            _ => None,
        }
    }

    /// Whether the server's certificate is checked against trusted CAs.
    pub fn verifies(self) -> bool {
        matches!(self, Self::VerifyCa | Self::VerifyFull)
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        })
    }
}

/// The TLS settings of a server: its mode, the CAs it trusts (a PEM file; the system's
/// when none is given), and a client certificate if the server asks for one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// The mode.
    pub mode: TlsMode,
    /// A PEM file of trusted CA certificates.
    pub root_cert: Option<PathBuf>,
    /// A PEM file of the client's certificate chain.
    pub client_cert: Option<PathBuf>,
    /// A PEM file of the client's private key.
    pub client_key: Option<PathBuf>,
}

impl TlsSettings {
    /// Reads and parses every file the settings name, as a connection would: the error says
    /// what is wrong, naming the file.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err("a client certificate needs its key, and a key its certificate".into());
        }
        if self.mode != TlsMode::Disable {
            client_config(self)?;
        }
        Ok(())
    }
}

/// rustls' configuration for `settings`: which certificates it accepts, and the client's.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn client_config(settings: &TlsSettings) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS: {error}"))?;
    let chain = match settings.mode.verifies() {
        true => Some(
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(trusted_roots(settings)?),
                Arc::clone(&provider),
            )
            .build()
            .map_err(|error| format!("cannot set up TLS: {error}"))?,
        ),
        false => None,
    };
    let verifier = Arc::new(verify::Verifier {
        mode: settings.mode,
        chain,
        signatures: provider.signature_verification_algorithms,
    });
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match (&settings.client_cert, &settings.client_key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(certificates(cert)?, private_key(key)?)
            .map_err(|error| format!("the client certificate `{}`: {error}", cert.display())),
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// The CAs of `settings.root_cert`, or the system's when it names none.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn trusted_roots(settings: &TlsSettings) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    match &settings.root_cert {
        Some(file) => {
            for certificate in certificates(file)? {
                roots.add(certificate).map_err(|error| {
                    format!(
                        "the CA file `{}` holds a certificate rustls refuses: {error}",
                        file.display()
                    )
                })?;
            }
        }
        None if settings.mode.verifies() => {
            let system = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(system.certs);
            if roots.is_empty() {
                return Err(format!(
                    "`{}` needs trusted CAs, and none were given (`sslrootcert`, `ssl-ca`) \
                     nor found in the system's store",
                    settings.mode
                ));
            }
        }
        None => {}
    }
    Ok(roots)
}

/// The certificates of a PEM file; an error naming it when it cannot be read or holds none.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates: Vec<_> = CertificateDer::pem_file_iter(file)
        .map_err(|error| {
            format!(
                "cannot read the certificate file `{}`: {error}",
                file.display()
            )
        })?
        .collect::<Result<_, _>>()
        .map_err(|error| {
            format!(
                "the certificate file `{}` is not valid PEM: {error}",
                file.display()
            )
        })?;
    if certificates.is_empty() {
        return Err(format!(
            "the certificate file `{}` holds no certificate",
            file.display()
        ));
    }
    Ok(certificates)
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn private_key(file: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(file).map_err(|error| {
        format!(
            "cannot read a private key from `{}`: {error}",
            file.display()
        )
    })
}

/// The certificate check of each mode.
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod verify {
    use std::sync::Arc;

    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{
        WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
    };
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

    use super::TlsMode;

    /// `verify-full`: rustls' own check of the chain and the name. `verify-ca`: the same,
    /// but a certificate issued for another name passes. `prefer` and `require`: any
    /// certificate passes (the connection is encrypted, not authenticated); the handshake's
    /// signatures are checked in every mode.
    #[derive(Debug)]
    pub(super) struct Verifier {
        pub(super) mode: TlsMode,
        /// The trusted CAs' check, in the verifying modes.
        pub(super) chain: Option<Arc<WebPkiServerVerifier>>,
        pub(super) signatures: WebPkiSupportedAlgorithms,
    }

    impl ServerCertVerifier for Verifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            let Some(chain) = &self.chain else {
                return Ok(ServerCertVerified::assertion());
            };
            let verified =
                chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
            match verified {
                Err(Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) if self.mode == TlsMode::VerifyCa => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls12_signature(message, cert, dss, &self.signatures)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            verify_tls13_signature(message, cert, dss, &self.signatures)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.signatures.supported_schemes()
        }
    }
}
