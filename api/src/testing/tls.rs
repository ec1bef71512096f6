//! Certificates made at test time: a private CA, and a server certificate
//! it signed for `localhost` and 127.0.0.1, in PEM files that the API's
//! TLS listener and the SDKs' `--ca-cert` read.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use uuid::Uuid;

use crate::tls::TlsFiles;

/// A fresh CA and server certificate in a directory of their own, removed
/// on drop. Two of them are two unrelated CAs.
pub struct TestPki {
    dir: PathBuf,
    /// The CA's certificate: what a client must trust.
    pub ca_cert: PathBuf,
    /// The server's certificate (for `localhost` and 127.0.0.1) and key.
    pub server: TlsFiles,
}

impl TestPki {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tillcode-pki-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create the certificate directory");

        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own: a CA of the same name would be taken for the
        // issuer of another's certificates (a bad signature, not an unknown
        // issuer).
        ca.distinguished_name.push(
            DnType::CommonName,
            format!("Tillcode test CA {}", Uuid::new_v4().simple()),
        );
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key"))
            .expect("self-sign the CA");

        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let mut server = CertificateParams::new(names).expect("server parameters");
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().expect("server key");
        let cert = server
            .signed_by(&key, &ca)
            .expect("sign the server certificate");

        let write = |name: &str, pem: String| {
            let path = dir.join(name);
            std::fs::write(&path, pem).expect("write a PEM file");
            path
        };
        Self {
            ca_cert: write("ca.pem", ca.pem()),
            server: TlsFiles {
                cert: write("server.pem", cert.pem()),
                key: write("server.key", key.serialize_pem()),
            },
            dir,
        }
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TestPki {
    /// The whole API on a random port, over HTTPS with this PKI's server
    /// certificate, with the demo merchant, customer and enrollment code
    /// (`tillcode-api demo-seed`).
    pub async fn https_demo_api(&self) -> (super::TestApp, crate::demo_seed::DemoData) {
        let tls = self.server.clone();
        let app = super::spawn_app_configured(|config| config.tls = Some(tls)).await;
        let demo = crate::demo_seed::seed(&mut app.db.connect().await)
            .await
            .expect("seed the demo data");
        (app, demo)
    }
}
