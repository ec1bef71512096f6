//! `/wallet/{merchant-slug}`: the customer's wallet, a web app served from
//! assets built into the binary, like `/till`.
//!
//! Plain HTML, CSS and JavaScript modules, no build step, nothing from a CDN.
//! The page finds the merchant by its slug (`GET /v1/merchants/{slug}`),
//! signs the customer up or in, makes the device key in the browser
//! (WebCrypto Ed25519, non-extractable, kept in IndexedDB with the TOTP
//! secret as a non-extractable HMAC key) and registers it with the proof of
//! possession of docs/protocol.md section 10.1. The pay screen then shows an
//! offline token (section 5) as a QR, made anew every 20 s, the numeric code
//! (section 6) under it, and the balance. `codes.mjs` holds the bytes; it
//! imports what the till also encodes from `/till/signing.mjs` and is checked
//! against the protocol vectors by `ops/browser-test/wallet-codes.test.mjs`.
//!
//! A service worker (`sw.js`) keeps the app shell, so that after one online
//! visit the page opens and shows a valid code with no network at all.
//!
//! The page's addresses are `/wallet/{slug}`; the files' names all contain
//! a dot, which no slug does, so one route serves both.

use actix_web::web;

use crate::customers::merchant::is_slug;
use crate::web_app::{Asset, CSS, HTML, JS, WebApp};

/// The page's policy: as the till's, without camera or media, and the
/// manifest and service worker from this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
     img-src 'self' data: blob:; style-src 'self'; script-src 'self'; worker-src 'self'; \
     manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Keeping the screen awake while the code is shown; nothing else.
const PERMISSIONS_POLICY: &str =
    "camera=(), microphone=(), geolocation=(), payment=(), screen-wake-lock=(self)";

/// The page, then every file it may load. Nothing else under `/wallet/`
/// exists but the page's own addresses.
static ASSETS: &[Asset] = &[
    Asset {
        name: "",
        content_type: HTML,
        body: include_bytes!("index.html"),
    },
    Asset {
        name: "wallet.css",
        content_type: CSS,
        body: include_bytes!("wallet.css"),
    },
    Asset {
        name: "app.mjs",
        content_type: JS,
        body: include_bytes!("app.mjs"),
    },
    Asset {
        name: "codes.mjs",
        content_type: JS,
        body: include_bytes!("codes.mjs"),
    },
    Asset {
        name: "qrcode.mjs",
        content_type: JS,
        body: include_bytes!("qrcode.mjs"),
    },
    Asset {
        name: "sw.js",
        content_type: JS,
        body: include_bytes!("sw.js"),
    },
    Asset {
        name: "manifest.webmanifest",
        content_type: "application/manifest+json",
        body: include_bytes!("manifest.webmanifest"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("icon.svg"),
    },
    Asset {
        name: "qrcode.LICENSE.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("qrcode.LICENSE.txt"),
    },
    Asset {
        name: "THIRD_PARTY.md",
        content_type: "text/markdown; charset=utf-8",
        body: include_bytes!("THIRD_PARTY.md"),
    },
];

static APP: WebApp = WebApp::new(
    "/wallet",
    ASSETS,
    CONTENT_SECURITY_POLICY,
    PERMISSIONS_POLICY,
);

pub fn routes(cfg: &mut web::ServiceConfig) {
    APP.routes_with_pages(cfg, is_slug);
}

#[cfg(test)]
mod tests {
    use actix_web::App;
    use actix_web::http::StatusCode;
    use actix_web::test as actix_test;

    use super::{ASSETS, CONTENT_SECURITY_POLICY, routes};
    use crate::customers::merchant::is_slug;
    use crate::web_app::{CSS, HTML, JS};

    fn header_of<'a>(res: &'a actix_web::dev::ServiceResponse, name: &str) -> &'a str {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    #[actix_web::test]
    async fn a_slug_is_the_page_a_file_is_the_file_and_nothing_else_exists() {
        let app = actix_test::init_service(App::new().configure(routes)).await;
        for (path, ty) in [
            ("/wallet/demo", HTML),
            ("/wallet/m-0190f3c2", HTML),
            ("/wallet/wallet.css", CSS),
            ("/wallet/app.mjs", JS),
            ("/wallet/codes.mjs", JS),
            ("/wallet/qrcode.mjs", JS),
            ("/wallet/sw.js", JS),
            ("/wallet/manifest.webmanifest", "application/manifest+json"),
            ("/wallet/icon.svg", "image/svg+xml"),
        ] {
            let res = actix_test::call_service(
                &app,
                actix_test::TestRequest::get().uri(path).to_request(),
            )
            .await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(header_of(&res, "content-type"), ty, "{path}");
            assert_eq!(header_of(&res, "cache-control"), "no-cache", "{path}");
            let csp = header_of(&res, "content-security-policy");
            assert_eq!(csp, CONTENT_SECURITY_POLICY);
            assert!(!csp.contains("unsafe"), "{csp}");
            assert!(header_of(&res, "etag").starts_with('"'));
        }
        for path in [
            "/wallet",
            "/wallet/",
            "/wallet/Demo",
            "/wallet/mod.rs",
            "/wallet/index.html",
            "/wallet/..%2Fmod.rs",
            "/wallet/demo/app.mjs",
        ] {
            let res = actix_test::call_service(
                &app,
                actix_test::TestRequest::get().uri(path).to_request(),
            )
            .await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    /// The policy forbids inline script and style, so the page has none;
    /// every file it names is served; no file name could be a slug.
    #[test]
    fn the_page_obeys_its_policy_and_names_only_served_files() {
        let html = std::str::from_utf8(ASSETS[0].body).unwrap();
        let lower = html.to_ascii_lowercase();
        assert!(html.starts_with("<!doctype html>"));
        assert!(!lower.contains(" style="), "inline style attribute");
        assert!(!lower.contains("<style"), "inline <style>");
        for (at, _) in lower.match_indices(" on") {
            let attr: String = lower[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let after = &lower[at + 1 + attr.len()..];
            assert!(!after.starts_with('='), "inline event handler {attr}");
        }
        for (at, _) in lower.match_indices("<script") {
            let tag = &lower[at..at + lower[at..].find('>').unwrap()];
            assert!(tag.contains(" src="), "inline script: {tag}");
        }
        let mut named = 0;
        for (at, _) in html.match_indices("\"/wallet/") {
            let rest = &html[at + "\"/wallet/".len()..];
            let name = &rest[..rest.find('"').unwrap()];
            assert!(
                ASSETS.iter().any(|a| !a.name.is_empty() && a.name == name),
                "index.html names /wallet/{name}, which is not served"
            );
            named += 1;
        }
        assert!(named >= 3, "{named}");
        for a in ASSETS.iter().skip(1) {
            assert!(!is_slug(a.name), "{} could be a merchant's slug", a.name);
        }
        for a in ASSETS
            .iter()
            .filter(|a| a.content_type == JS && a.name != "qrcode.mjs")
        {
            let js = std::str::from_utf8(a.body).unwrap();
            assert!(!js.contains("innerHTML"), "{} writes innerHTML", a.name);
        }
    }

    /// The service worker keeps every file of the app shell, and the
    /// shared module of the till the page imports.
    #[test]
    fn the_service_worker_keeps_every_file_the_page_needs() {
        let sw =
            std::str::from_utf8(ASSETS.iter().find(|a| a.name == "sw.js").unwrap().body).unwrap();
        for a in ASSETS
            .iter()
            .skip(1)
            .filter(|a| a.content_type == JS || a.content_type == CSS || a.name.ends_with(".svg"))
        {
            if a.name == "sw.js" {
                continue;
            }
            assert!(
                sw.contains(&format!("\"/wallet/{}\"", a.name)),
                "sw.js does not keep {}",
                a.name
            );
        }
        assert!(sw.contains("\"/till/signing.mjs\""));
        assert!(sw.contains("\"/till/page.mjs\""));
    }
}
