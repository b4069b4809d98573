//! Trust for outgoing TLS: the Mozilla root set (webpki-roots) plus, when `tls_ca_file`
//! is set, the CA certificates in that PEM file. One rustls configuration serves every
//! `https://` request (RPC, exporters, signers, webhooks), every `wss://` websocket and
//! SMTP over TLS, so a private CA is trusted the same way everywhere.

pub use crate::config::TlsError;
use crate::config::{read_ca_file, root_store, Config};
use rustls::pki_types::CertificateDer;
use rustls::ClientConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The certificates outgoing TLS connections trust.
#[derive(Clone)]
pub struct Trust {
    extra: Arc<Vec<CertificateDer<'static>>>,
    source: Option<PathBuf>,
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("tls_ca_file", &self.source)
            .field("extra_certificates", &self.extra.len())
            .finish()
    }
}

impl Default for Trust {
    fn default() -> Self {
        Self::system()
    }
}

impl Trust {
    /// The Mozilla root set only.
    pub fn system() -> Self {
        let config = client_config(&[]).expect("the built-in roots are valid");
        Self {
            extra: Arc::new(Vec::new()),
            source: None,
            config,
        }
    }

    /// The Mozilla root set plus the certificates of `path`, when given.
    pub fn load(path: Option<&Path>) -> Result<Self, TlsError> {
        match path {
            None => Ok(Self::system()),
            Some(p) => Self::from_pem_file(p),
        }
    }

    /// The Mozilla root set plus every certificate in the PEM file `path`.
    pub fn from_pem_file(path: &Path) -> Result<Self, TlsError> {
        let extra = read_ca_file(path)?;
        let invalid = |message: String| TlsError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let config = client_config(&extra).map_err(invalid)?;
        Ok(Self {
            extra: Arc::new(extra),
            source: Some(path.to_path_buf()),
            config,
        })
    }

    /// The certificates added to the Mozilla root set (DER).
    pub fn extra(&self) -> &[CertificateDer<'static>] {
        &self.extra
    }

    /// The rustls client configuration (no ALPN: HTTP/1.1 and websockets).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// An HTTP client that trusts these certificates.
    pub fn http_client(&self, connect_timeout: Duration) -> Result<reqwest::Client, TlsError> {
        reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .use_preconfigured_tls((*self.config).clone())
            .build()
            .map_err(|e| TlsError::Client(crate::net::root_cause(&e)))
    }
}

fn client_config(extra: &[CertificateDer<'static>]) -> Result<Arc<ClientConfig>, String> {
    let roots = root_store(extra)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `message` (an error's text) with what to do when it is a certificate problem.
pub fn explain(message: &str) -> String {
    let hint = if message.contains("UnknownIssuer") || message.contains("unknown issuer") {
        "the server's TLS certificate is not signed by a CA the watch trusts: set tls_ca_file in watch.toml to the PEM file of the CA that signed it"
    } else if message.contains("NotValidForName") || message.contains("not valid for name") {
        "the server's TLS certificate is not issued for this host name or address: use the name or address in the certificate, or reissue it"
    } else if message.contains("Expired") || message.contains("expired") {
        "the server's TLS certificate has expired (or this host's clock is wrong): renew the certificate"
    } else if message.contains("invalid peer certificate") {
        "the server's TLS certificate was rejected: check it with `openssl s_client -connect HOST:PORT`"
    } else {
        return message.to_string();
    };
    format!("TLS certificate error: {message}; {hint}")
}

/// What a watch config's outgoing connections trust (the system roots plus
/// `tls_ca_file`), and the HTTP client built on it.
pub(crate) fn outgoing(config: &Config) -> Result<(Trust, reqwest::Client), TlsError> {
    let trust = Trust::load(config.tls_ca_file.as_deref())?;
    let http = trust.http_client(config.request_timeout)?;
    Ok((trust, http))
}
