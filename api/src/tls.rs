//! The optional TLS listener: `TILLCODE_TLS_CERT` and `TILLCODE_TLS_KEY`
//! name PEM files, and the API then speaks HTTPS itself (rustls, ring
//! crypto provider, TLS 1.2 and 1.3) instead of plain HTTP behind a proxy
//! that terminates TLS.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the server's certificate and key are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// `TILLCODE_TLS_CERT`: the certificate chain, the server's own first,
    /// then any intermediates.
    pub cert: PathBuf,
    /// `TILLCODE_TLS_KEY`: its private key (PKCS #8, PKCS #1 or SEC1).
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TILLCODE_TLS_CERT {}: {problem}", path.display())]
    Cert { path: PathBuf, problem: String },
    #[error("TILLCODE_TLS_KEY {}: {problem}", path.display())]
    Key { path: PathBuf, problem: String },
    #[error("TILLCODE_TLS_CERT and TILLCODE_TLS_KEY do not go together: {0}")]
    Mismatch(rustls::Error),
}

impl TlsFiles {
    /// Reads both files and checks that the key is the certificate's.
    pub fn server_config(&self) -> Result<ServerConfig, TlsError> {
        let cert_problem = |problem: String| TlsError::Cert {
            path: self.cert.clone(),
            problem,
        };
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| cert_problem(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| cert_problem(e.to_string()))?;
        if chain.is_empty() {
            return Err(cert_problem(
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| TlsError::Key {
            path: self.key.clone(),
            problem: e.to_string(),
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(TlsError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestPki;

    #[test]
    fn a_certificate_and_its_key_make_a_server_config() {
        let pki = TestPki::new();
        pki.server.server_config().unwrap();
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused() {
        let (one, two) = (TestPki::new(), TestPki::new());
        let files = TlsFiles {
            cert: one.server.cert.clone(),
            key: two.server.key.clone(),
        };
        let err = files.server_config().unwrap_err();
        assert!(matches!(err, TlsError::Mismatch(_)), "{err}");
    }

    #[test]
    fn a_missing_file_or_one_without_the_right_pem_block_is_named() {
        let pki = TestPki::new();
        let key = &pki.server.key;
        let missing = TlsFiles {
            cert: key.with_file_name("missing.pem"),
            key: key.clone(),
        };
        let err = missing.server_config().unwrap_err().to_string();
        assert!(
            err.starts_with("TILLCODE_TLS_CERT") && err.contains("missing.pem"),
            "{err}"
        );
        let key_as_cert = TlsFiles {
            cert: key.clone(),
            key: key.clone(),
        };
        let err = key_as_cert.server_config().unwrap_err().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
        let cert_as_key = TlsFiles {
            cert: pki.server.cert.clone(),
            key: pki.server.cert.clone(),
        };
        let err = cert_as_key.server_config().unwrap_err().to_string();
        assert!(err.starts_with("TILLCODE_TLS_KEY"), "{err}");
    }
}
