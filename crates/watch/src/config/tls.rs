//! `tls_ca_file`: the PEM file of CA certificates trusted on top of the Mozilla roots,
//! read and checked as the configuration loads.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
use std::path::{Path, PathBuf};

/// Why the trusted certificates cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file cannot be read.
    #[error("cannot read tls_ca_file {path}: {source}; check the path in watch.toml")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file holds no certificate, or one that cannot be parsed.
    #[error("tls_ca_file {path}: {message}; give the PEM certificate (-----BEGIN CERTIFICATE-----) of the CA that signed your servers' certificates")]
    Invalid {
        /// File.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The HTTP client cannot be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// Every certificate in the PEM file `path`.
pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let extra = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(path, format!("not PEM: {e}")))?;
    if extra.is_empty() {
        return Err(invalid(path, "no certificate in the file".into()));
    }
    Ok(extra)
}

/// The Mozilla root set plus `extra`.
pub(crate) fn root_store(extra: &[CertificateDer<'static>]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for (i, cert) in extra.iter().enumerate() {
        roots
            .add(cert.clone())
            .map_err(|e| format!("certificate #{} cannot be used as a CA: {e}", i + 1))?;
    }
    Ok(roots)
}

/// The problem with the PEM file `path`, if any (the check `validate` makes).
pub(crate) fn check_ca_file(path: &Path) -> Result<(), TlsError> {
    let extra = read_ca_file(path)?;
    root_store(&extra).map_err(|m| invalid(path, m))?;
    Ok(())
}

fn invalid(path: &Path, message: String) -> TlsError {
    TlsError::Invalid {
        path: path.to_path_buf(),
        message,
    }
}
