//! How the SDKs' clients reach the API: TLS through rustls (with the `ring`
//! crypto provider), trusting the system's certificate authorities or only
//! a private CA; and plain HTTP only to this machine unless allowed.

use std::path::{Path, PathBuf};

use reqwest::{Certificate, ClientBuilder, Url};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use url::Host;

/// Which servers a client trusts, and whether it may speak plain HTTP to
/// another machine. The default trusts the system's CAs and speaks plain
/// HTTP to loopback addresses only.
#[derive(Clone, Debug, Default)]
pub struct Transport {
    /// `None`: the system's CAs (rustls-platform-verifier).
    private_ca: Option<Vec<Certificate>>,
    insecure_http: bool,
}

/// Why a CA certificate file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaCertError {
    #[error("cannot read the CA certificate file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the CA certificate file {} is not usable: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

impl Transport {
    /// Trusts only the CAs in the PEM file at `path` (one or more
    /// `CERTIFICATE` blocks), not the system's: for an API whose
    /// certificate a private CA signed. Checked here, not at the first
    /// request.
    pub fn with_ca_file(mut self, path: &Path) -> Result<Self, CaCertError> {
        let invalid = |reason: String| CaCertError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|source| CaCertError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut anchors = RootCertStore::empty();
        let mut certs = Vec::new();
        for (n, der) in CertificateDer::pem_slice_iter(&pem).enumerate() {
            let der = der.map_err(|e| invalid(format!("certificate {}: {e}", n + 1)))?;
            anchors
                .add(der.clone())
                .map_err(|e| invalid(format!("certificate {}: {e}", n + 1)))?;
            certs.push(
                Certificate::from_der(&der)
                    .map_err(|e| invalid(format!("certificate {}: {e}", n + 1)))?,
            );
        }
        if certs.is_empty() {
            return Err(invalid(
                "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
            ));
        }
        self.private_ca = Some(certs);
        Ok(self)
    }

    /// Allows plain `http://` to any host, not only to this machine:
    /// passwords and tokens then cross the network in clear.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.insecure_http = allow;
        self
    }

    /// Why `base` must not be used, if it must not.
    pub(super) fn refusal(&self, base: &Url) -> Option<&'static str> {
        match base.scheme() {
            "https" => None,
            "http" if self.insecure_http || is_loopback(base) => None,
            "http" => Some(
                "plain http:// to another machine would send passwords and tokens in clear: \
                 use https://, or allow plain HTTP explicitly (--insecure-http in the CLIs)",
            ),
            _ => Some("not an https:// or http:// address"),
        }
    }

    /// `builder` with these trust settings, for an API at `base`.
    pub(super) fn apply(&self, mut builder: ClientBuilder, base: &Url) -> ClientBuilder {
        install_crypto_provider();
        if let Some(certs) = &self.private_ca {
            builder = builder.tls_certs_only(certs.iter().cloned());
        }
        // A redirect must not take a request (a password in a 307's body)
        // from TLS to plain HTTP.
        builder.https_only(base.scheme() == "https")
    }
}

/// Whether `url` names this machine: `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// reqwest is built without a crypto provider of its own (its default,
/// aws-lc-rs, takes long to build): ring becomes the process default,
/// unless the application installed another one first.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only when another thread installed one in the meantime.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    fn refusal(transport: &Transport, url: &str) -> Option<&'static str> {
        transport.refusal(&Url::parse(url).unwrap())
    }

    #[test]
    fn plain_http_is_accepted_to_loopback_addresses_only() {
        let default = Transport::default();
        for local in [
            "http://127.0.0.1:8080",
            "http://127.7.0.1",
            "http://[::1]:8080/",
            "http://localhost:8080",
            "http://LOCALHOST",
        ] {
            assert_eq!(refusal(&default, local), None, "{local}");
        }
        for remote in [
            "http://api.test",
            "http://10.0.0.5:8080",
            "http://[2001:db8::1]",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
        ] {
            let reason = refusal(&default, remote).unwrap();
            assert!(reason.contains("in clear"), "{remote}: {reason}");
        }
    }

    #[test]
    fn insecure_http_allows_plain_http_to_any_host_and_https_needs_nothing() {
        let insecure = Transport::default().allow_insecure_http(true);
        assert_eq!(refusal(&insecure, "http://api.test"), None);
        assert_eq!(refusal(&Transport::default(), "https://api.test"), None);
        assert!(refusal(&insecure, "ftp://api.test").is_some());
    }

    #[test]
    fn a_missing_ca_file_is_refused_with_its_path() {
        let dir = TestDir::new();
        let path = dir.path("missing.pem");
        let err = Transport::default().with_ca_file(&path).unwrap_err();
        assert!(matches!(err, CaCertError::Read { .. }), "{err}");
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("key.pem");
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = Transport::default().with_ca_file(&path).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn a_ca_file_with_a_broken_certificate_is_refused() {
        let dir = TestDir::new();
        let path = dir.path("broken.pem");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = Transport::default().with_ca_file(&path).unwrap_err();
        assert!(
            matches!(&err, CaCertError::Invalid { reason, .. } if reason.starts_with("certificate 1")),
            "{err}"
        );
    }
}
