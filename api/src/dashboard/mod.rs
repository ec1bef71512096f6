//! `/dashboard`: the merchant's dashboard, a static page built into the
//! binary, and the JSON it reads and writes under `/v1/dashboard/` (see
//! [`api`]).
//!
//! Plain HTML, CSS and JavaScript modules, no build step, nothing from a CDN,
//! so the page works on a closed network: staff sign in (`/v1/staff/sign-in`:
//! an HttpOnly, Secure, SameSite=Strict cookie and a CSRF token the page keeps
//! in `sessionStorage` and sends as `X-CSRF-Token` on every POST), then see
//! the overview (liability, issued and redeemed per day as SVG charts drawn
//! by `charts.mjs`, today, per store), search customers, page through their
//! ledger, adjust a balance with a reason (`actions.rs`, one Idempotency-Key
//! per intended adjustment, reused on retry) and unlock a device whose
//! numeric codes are locked (`devices.rs` lists them with their lock
//! state), create terminal enrollments (code and QR), approve, suspend and
//! revoke terminals, see refused codes and anomaly flags (`fraud.rs`,
//! `anomalies.rs`), change the fraud limits and offline code windows
//! (`settings.rs`), and download the ledger as CSV. A session that expires
//! (401) brings the sign-in form back. Viewers see everything and change
//! nothing: the server refuses (`forbidden`, 403) whatever the page shows,
//! and the page does not offer them the customer actions.
//!
//! Every asset is served as `/till` serves its own: a strict
//! Content-Security-Policy (no inline script or style; connections to this
//! origin only; `data:` images for the enrollment QR), `Cache-Control:
//! no-cache` with an `ETag`. `ops/browser-test/dashboard.spec.mjs` drives the
//! page in headless Chromium against a real server.

pub mod actions;
pub mod anomalies;
pub mod api;
pub mod devices;
pub mod fraud;
pub mod settings;

#[cfg(test)]
mod actions_tests;
#[cfg(test)]
mod tests;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::web_app::{Asset, CSS, HTML, JS, WebApp};

/// The page's policy: as the till's, without camera or media, and images
/// from this origin or `data:` (the enrollment QR).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
     img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=()";

/// The page, then every file it may load. Nothing else under `/dashboard/`
/// exists.
static ASSETS: &[Asset] = &[
    Asset {
        name: "",
        content_type: HTML,
        body: include_bytes!("index.html"),
    },
    Asset {
        name: "dashboard.css",
        content_type: CSS,
        body: include_bytes!("dashboard.css"),
    },
    Asset {
        name: "app.mjs",
        content_type: JS,
        body: include_bytes!("app.mjs"),
    },
    Asset {
        name: "charts.mjs",
        content_type: JS,
        body: include_bytes!("charts.mjs"),
    },
];

static APP: WebApp = WebApp::new(
    "/dashboard",
    ASSETS,
    CONTENT_SECURITY_POLICY,
    PERMISSIONS_POLICY,
);

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.configure(api::routes)
        .configure(actions::routes)
        .configure(anomalies::routes)
        .configure(devices::routes)
        .configure(settings::routes);
}

/// The dashboard's web page and its assets: not API, not in the OpenAPI
/// document.
pub fn pages(cfg: &mut web::ServiceConfig) {
    APP.routes(cfg);
}
