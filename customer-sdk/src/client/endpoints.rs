//! One method per endpoint of the customer API, as the contract names them.
//! The ones that need a proof of possession are wrapped in `flows`.

use tillcode_protocol::MerchantId;
use uuid::Uuid;

use super::types::{
    Balance, Bearer, Challenge, ChangePasswordRequest, DeviceView, HistoryPage, JoinLinkRequest,
    LinkCreated, LinkStatus, OnlineKey, OpenSessionRequest, RegisterDeviceRequest,
    RegisteredDevice, RenameRequest, Session, SignInRequest, SignUpRequest, SignedIn,
};
use super::{Client, ClientError};

impl Client {
    /// `POST /v1/customers/sign-up`; also succeeds for an existing customer
    /// whose password matches.
    pub async fn sign_up(
        &self,
        merchant_id: MerchantId,
        email: &str,
        password: &str,
        display_name: &str,
    ) -> Result<SignedIn, ClientError> {
        let body = SignUpRequest {
            merchant_id,
            email,
            password,
            display_name,
        };
        let url = self.url(&["v1", "customers", "sign-up"]);
        self.json("sign-up", self.http().post(url).json(&body))
            .await
    }

    /// `POST /v1/customers/sign-in`.
    pub async fn sign_in(
        &self,
        merchant_id: MerchantId,
        email: &str,
        password: &str,
    ) -> Result<SignedIn, ClientError> {
        let body = SignInRequest {
            merchant_id,
            email,
            password,
        };
        let url = self.url(&["v1", "customers", "sign-in"]);
        self.json("sign-in", self.http().post(url).json(&body))
            .await
    }

    /// `POST /v1/challenges`: 32 single-use bytes to sign.
    pub async fn challenge(&self) -> Result<Challenge, ClientError> {
        let url = self.url(&["v1", "challenges"]);
        self.json("challenge", self.http().post(url)).await
    }

    pub(crate) async fn post_device(
        &self,
        sign_in: &Bearer,
        body: &RegisterDeviceRequest<'_>,
    ) -> Result<RegisteredDevice, ClientError> {
        let url = self.url(&["v1", "devices"]);
        let request = self
            .http()
            .post(url)
            .bearer_auth(sign_in.expose())
            .json(body);
        self.json("device registration", request).await
    }

    pub(crate) async fn post_session(
        &self,
        device_id: Uuid,
        body: &OpenSessionRequest,
    ) -> Result<Session, ClientError> {
        let url = self.url(&["v1", "devices", &device_id.to_string(), "sessions"]);
        self.json("device session", self.http().post(url).json(body))
            .await
    }

    pub(crate) async fn post_link_join(
        &self,
        body: &JoinLinkRequest<'_>,
    ) -> Result<RegisteredDevice, ClientError> {
        let url = self.url(&["v1", "links", "join"]);
        self.json("link join", self.http().post(url).json(body))
            .await
    }

    /// `GET /v1/me/devices`.
    pub async fn devices(&self, session: &Bearer) -> Result<Vec<DeviceView>, ClientError> {
        let url = self.url(&["v1", "me", "devices"]);
        let request = self.http().get(url).bearer_auth(session.expose());
        self.json("device list", request).await
    }

    /// `PATCH /v1/me/devices/{device_id}`.
    pub async fn rename_device(
        &self,
        session: &Bearer,
        device_id: Uuid,
        name: &str,
    ) -> Result<(), ClientError> {
        let url = self.url(&["v1", "me", "devices", &device_id.to_string()]);
        let request = self
            .http()
            .patch(url)
            .bearer_auth(session.expose())
            .json(&RenameRequest { name });
        self.empty("rename", request).await
    }

    /// `POST /v1/me/devices/{device_id}/revoke`.
    pub async fn revoke_device(
        &self,
        session: &Bearer,
        device_id: Uuid,
    ) -> Result<(), ClientError> {
        let url = self.url(&["v1", "me", "devices", &device_id.to_string(), "revoke"]);
        let request = self.http().post(url).bearer_auth(session.expose());
        self.empty("revoke", request).await
    }

    /// `POST /v1/me/online-keys`: a single-use key, valid `expires_in` s.
    pub async fn online_key(&self, session: &Bearer) -> Result<OnlineKey, ClientError> {
        let url = self.url(&["v1", "me", "online-keys"]);
        let request = self.http().post(url).bearer_auth(session.expose());
        self.json("online key", request).await
    }

    /// `GET /v1/me/balance`.
    pub async fn balance(&self, session: &Bearer) -> Result<Balance, ClientError> {
        let url = self.url(&["v1", "me", "balance"]);
        let request = self.http().get(url).bearer_auth(session.expose());
        self.json("balance", request).await
    }

    /// `GET /v1/me/history`, newest first; `None`s leave the server's
    /// defaults (20 items, from the newest).
    pub async fn history(
        &self,
        session: &Bearer,
        limit: Option<u32>,
        starting_after: Option<Uuid>,
    ) -> Result<HistoryPage, ClientError> {
        let mut url = self.url(&["v1", "me", "history"]);
        {
            let mut query = url.query_pairs_mut();
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
            if let Some(cursor) = starting_after {
                query.append_pair("starting_after", &cursor.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let request = self.http().get(url).bearer_auth(session.expose());
        self.json("history", request).await
    }

    /// `POST /v1/me/password`; the server revokes every other device.
    pub async fn change_password(
        &self,
        session: &Bearer,
        current_password: &str,
        new_password: &str,
    ) -> Result<(), ClientError> {
        let url = self.url(&["v1", "me", "password"]);
        let request =
            self.http()
                .post(url)
                .bearer_auth(session.expose())
                .json(&ChangePasswordRequest {
                    current_password,
                    new_password,
                });
        self.empty("password change", request).await
    }

    /// `POST /v1/me/links`: a link code for another device to join with.
    pub async fn create_link(&self, session: &Bearer) -> Result<LinkCreated, ClientError> {
        let url = self.url(&["v1", "me", "links"]);
        let request = self.http().post(url).bearer_auth(session.expose());
        self.json("link creation", request).await
    }

    /// `GET /v1/me/links/{link_id}`.
    pub async fn link_status(
        &self,
        session: &Bearer,
        link_id: &str,
    ) -> Result<LinkStatus, ClientError> {
        let url = self.url(&["v1", "me", "links", link_id]);
        let request = self.http().get(url).bearer_auth(session.expose());
        self.json("link status", request).await
    }

    /// `POST /v1/me/links/{link_id}/approve`: the joined device becomes active.
    pub async fn approve_link(&self, session: &Bearer, link_id: &str) -> Result<(), ClientError> {
        let url = self.url(&["v1", "me", "links", link_id, "approve"]);
        let request = self.http().post(url).bearer_auth(session.expose());
        self.empty("link approval", request).await
    }

    /// `POST /v1/me/links/{link_id}/reject`.
    pub async fn reject_link(&self, session: &Bearer, link_id: &str) -> Result<(), ClientError> {
        let url = self.url(&["v1", "me", "links", link_id, "reject"]);
        let request = self.http().post(url).bearer_auth(session.expose());
        self.empty("link rejection", request).await
    }
}
