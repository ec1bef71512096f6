//! `/dashboard`: the merchant's dashboard, a static page built into the
//! binary, and the JSON it reads and writes under `/v1/dashboard/` (see
//! [`api`]).
//!
//! Plain HTML, CSS and JavaScript modules, no build step, nothing from a CDN,
//! so the page works on a closed network: staff sign in (`/v1/staff/sign-in`:
//! an HttpOnly, Secure, SameSite=Strict cookie and a CSRF token the page keeps
//! in `sessionStorage` and sends as `X-CSRF-Token` on every POST), then see
//! the overview (liability, issued and redeemed per day as SVG charts drawn
//! by `charts.mjs`, today, per store), search customers and page through
//! their ledger, create terminal enrollments (code and QR), approve, suspend
//! and revoke terminals, and download the ledger as CSV. A session that
//! expires (401) brings the sign-in form back. Viewers see everything and
//! change nothing: the server refuses (`forbidden`, 403) whatever the page
//! shows.
//!
//! Every asset is served as `/till` serves its own: a strict
//! Content-Security-Policy (no inline script or style; connections to this
//! origin only; `data:` images for the enrollment QR), `Cache-Control:
//! no-cache` with an `ETag`. `ops/browser-test/dashboard.spec.mjs` drives the
//! page in headless Chromium against a real server.

pub mod api;
pub mod fraud;

#[cfg(test)]
mod tests;

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

/// The page's policy: as the till's, without camera or media, and images
/// from this origin or `data:` (the enrollment QR).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
     img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=()";

struct Asset {
    /// The file name under `/dashboard/`; empty for the page itself.
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

/// The page, then every file it may load. Nothing else under `/dashboard/`
/// exists.
static ASSETS: &[Asset] = &[
    Asset {
        name: "",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("index.html"),
    },
    Asset {
        name: "dashboard.css",
        content_type: "text/css; charset=utf-8",
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

/// A strong ETag per asset, in `ASSETS` order.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.body)[..16])))
        .collect()
});

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(page))
        .route(
            "/dashboard/",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, "/dashboard"))
                    .finish()
            }),
        )
        .route("/dashboard/{file}", web::get().to(file))
        .configure(api::routes);
}

async fn page(req: HttpRequest) -> HttpResponse {
    serve(0, &req)
}

async fn file(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let name = name.into_inner();
    match ASSETS
        .iter()
        .position(|a| !a.name.is_empty() && a.name == name)
    {
        Some(i) => serve(i, &req),
        None => crate::error::not_found().await,
    }
}

fn serve(i: usize, req: &HttpRequest) -> HttpResponse {
    let (Some(asset), Some(etag)) = (ASSETS.get(i), ETAGS.get(i)) else {
        return HttpResponse::InternalServerError().finish();
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
        });
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((
            header::HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(PERMISSIONS_POLICY),
        ))
        .insert_header((
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));
    if fresh {
        res.finish()
    } else {
        res.content_type(asset.content_type).body(asset.body)
    }
}
