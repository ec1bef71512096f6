//! What every command starts from: the home directory, the API address, and
//! for the commands that need the API as this device, a fresh session.

use std::path::PathBuf;

use tillcode_customer::client::{Bearer, Client, Transport};
use tillcode_customer::{DeviceKey, DeviceRecord, Home};

use super::CliResult;

/// Where a device that has not registered yet (or an `--api`-less command)
/// finds the API: the address `ops/dev.sh` serves on.
pub const DEFAULT_API: &str = "http://127.0.0.1:8080";

pub struct Context {
    pub home: Home,
    /// `--api` or `TILLCODE_API`, when given.
    api: Option<String>,
    /// `--ca-cert` or `TILLCODE_CA_CERT`, read by the commands that need
    /// the API (so that offline ones work with it set to a missing file).
    ca_cert: Option<PathBuf>,
    insecure_http: bool,
}

/// A device session, held in memory for one command and never stored.
pub struct Signed {
    pub client: Client,
    pub token: Bearer,
    pub record: DeviceRecord,
}

impl Context {
    pub fn new(
        home: Home,
        api: Option<String>,
        ca_cert: Option<PathBuf>,
        insecure_http: bool,
    ) -> Self {
        Self {
            home,
            api,
            ca_cert,
            insecure_http,
        }
    }

    /// A client for the API given on the command line, else the one the
    /// device registered with, else [`DEFAULT_API`].
    pub fn client(&self, record: Option<&DeviceRecord>) -> CliResult<Client> {
        let url = self
            .api
            .as_deref()
            .or(record.map(|r| r.api_url.as_str()))
            .unwrap_or(DEFAULT_API);
        let mut transport = Transport::default().allow_insecure_http(self.insecure_http);
        if let Some(path) = &self.ca_cert {
            transport = transport.with_ca_file(path)?;
        }
        Ok(Client::with_transport(url, &transport)?)
    }

    /// Loads the device and its key and opens a session by signing a
    /// challenge.
    pub async fn sign_in_device(&self) -> CliResult<Signed> {
        let record = self.home.load_device()?;
        let key: DeviceKey = self.home.load_key()?;
        let client = self.client(Some(&record))?;
        let session = client
            .open_session(record.merchant_id, record.device_id, &key)
            .await?;
        Ok(Signed {
            client,
            token: session.access_token,
            record,
        })
    }
}
