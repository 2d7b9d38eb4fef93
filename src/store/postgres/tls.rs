//! TLS to the database, through rustls: with the URL's `sslmode=prefer` (the default) or
//! `require`, the server's certificate is checked against the CA file given (`[store] ca_file`)
//! or else the platform's roots, and the host name in the URL against the certificate; with
//! `sslmode=disable` nothing is encrypted. The pool and the sessions of their own (the doorbell,
//! the clock's lease) all connect through the same [`Tls`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The protocol name PostgreSQL servers answer to (required with `sslnegotiation=direct`).
const ALPN: &[u8] = b"postgresql";

/// The CA certificates a server's certificate must chain to, read from a PEM file.
#[derive(Debug, Clone)]
pub struct CaFile {
    path: PathBuf,
    certs: Vec<CertificateDer<'static>>,
}

impl CaFile {
    /// Reads the PEM file at `path`: it must hold at least one certificate rustls can use as a
    /// root. The error names the file and what is wrong with it.
    pub fn read(path: &Path) -> Result<CaFile, String> {
        let shown = path.display();
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read the CA file {shown}: {e}"))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("the CA file {shown} is not valid PEM: {e}"))?;
        if certs.is_empty() {
            return Err(format!(
                "the CA file {shown} holds no certificate (a PEM file with -----BEGIN CERTIFICATE----- blocks)"
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        let (usable, _) = roots.add_parsable_certificates(certs.iter().cloned());
        if usable == 0 {
            return Err(format!(
                "none of the certificates in the CA file {shown} can be read as a CA certificate"
            ));
        }
        Ok(CaFile {
            path: path.to_path_buf(),
            certs,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What reaching a database takes besides its URL: the password (never in the URL), and the CA
/// the server's certificate is checked against (`None`: the platform's roots). No `Debug`: it
/// holds the password.
#[derive(Clone, Default)]
pub struct PgAccess {
    pub password: Option<String>,
    pub ca: Option<CaFile>,
}

impl PgAccess {
    /// A password and no CA file (the platform's roots if the server speaks TLS).
    pub fn password(password: Option<&str>) -> PgAccess {
        PgAccess {
            password: password.map(str::to_string),
            ca: None,
        }
    }
}

/// How connections to one database make their TLS sessions.
pub(super) type Tls = MakeRustlsConnect;

/// The connector for `config`'s `sslmode`: roots from `ca`, else the platform's (read only when
/// TLS may be used).
pub(super) fn connector(config: &tokio_postgres::Config, ca: Option<&CaFile>) -> Tls {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(ca) => {
            roots.add_parsable_certificates(ca.certs.iter().cloned());
        }
        None if config.get_ssl_mode() != SslMode::Disable => {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::debug!("platform certificates: {e}");
            }
            let (usable, _) = roots.add_parsable_certificates(found.certs);
            if usable == 0 {
                tracing::debug!("no platform CA certificates found for TLS to the database");
            }
        }
        None => {}
    }
    // Its own provider rather than the process's default: the store works whoever installed one.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    MakeRustlsConnect::new(tls)
}

/// Why a connection failed, when TLS is why (tokio-postgres says "error performing TLS
/// handshake"): worded with what to do about it.
pub(super) fn failure(e: &tokio_postgres::Error) -> Option<String> {
    if !e.to_string().contains("TLS") {
        return None;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        // tokio-rustls hands rustls's error over inside an io::Error.
        let rustls = s.downcast_ref::<rustls::Error>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(r) = rustls {
            return Some(advice(r));
        }
        if s.to_string().contains("server does not support TLS") {
            return Some(
                "the server does not offer TLS, which the URL's sslmode asks for (require, verify-ca or verify-full); turn ssl on in the server's postgresql.conf, or drop sslmode from the URL"
                    .into(),
            );
        }
        source = s.source();
    }
    Some(format!(
        "{}; check the server's TLS settings, and [store] ca_file (or OPSDECK_STORE_CA_FILE)",
        super::error::describe(e)
    ))
}

fn advice(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let fix = match e {
        rustls::Error::InvalidCertificate(
            C::UnknownIssuer | C::BadSignature | C::UnhandledCriticalExtension | C::BadEncoding,
        ) => {
            "the server's certificate is not signed by a CA opsdeck trusts: set [store] ca_file (or OPSDECK_STORE_CA_FILE) to the PEM file of the CA that signed it"
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => {
            "the server's certificate is not issued for the host in the URL: name the host as the certificate does, or have the certificate reissued"
        }
        rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => {
            "the server's certificate is out of its validity period: renew it (or check this machine's clock)"
        }
        rustls::Error::InvalidCertificate(_) => {
            "the server's certificate was refused: check it, and [store] ca_file (or OPSDECK_STORE_CA_FILE)"
        }
        _ => "check the server's TLS settings, and [store] ca_file (or OPSDECK_STORE_CA_FILE)",
    };
    format!("{e}; {fix}")
}
