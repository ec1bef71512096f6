//! `/till`: the cashier's web app, served from assets built into the binary.
//!
//! Plain HTML, CSS and JavaScript modules, no build step, nothing from a CDN:
//! the page enrolls the terminal (an Ed25519 key generated non-extractable in
//! WebCrypto, kept in IndexedDB), waits for a manager's approval, then scans
//! payment codes with the camera and submits redemptions signed with RFC 9421
//! (docs/protocol.md sections 10.3 and 11). `page.mjs` shows its screens and keeps
//! the key in IndexedDB (the wallet uses it too). `signing.mjs` holds the bytes it
//! signs and is checked against the protocol vectors by
//! `ops/browser-test/signing.test.mjs`; `ops/browser-test.sh` drives the whole
//! page in headless Chromium against a real server.
//!
//! Every response carries a strict Content-Security-Policy (no inline script
//! or style, connections to this origin only) and `Cache-Control: no-cache`
//! with an `ETag`, so a till picks up a new release on its next load without
//! downloading unchanged files again.

use actix_web::web;

use crate::web_app::{Asset, CSS, HTML, JS, WebApp};

/// The page's policy. `worker-src` and the rest only narrow what
/// `default-src 'self'` would allow.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; \
     script-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The camera for this origin only; nothing else the page does not use.
const PERMISSIONS_POLICY: &str = "camera=(self), microphone=(), geolocation=(), payment=()";

const TEXT: &str = "text/plain; charset=utf-8";

/// The page, then every file it may load. Nothing else under `/till/`
/// exists.
static ASSETS: &[Asset] = &[
    Asset {
        name: "",
        content_type: HTML,
        body: include_bytes!("index.html"),
    },
    Asset {
        name: "till.css",
        content_type: CSS,
        body: include_bytes!("till.css"),
    },
    Asset {
        name: "app.mjs",
        content_type: JS,
        body: include_bytes!("app.mjs"),
    },
    Asset {
        name: "signing.mjs",
        content_type: JS,
        body: include_bytes!("signing.mjs"),
    },
    Asset {
        name: "page.mjs",
        content_type: JS,
        body: include_bytes!("page.mjs"),
    },
    Asset {
        name: "scan-worker.js",
        content_type: JS,
        body: include_bytes!("scan-worker.js"),
    },
    Asset {
        name: "jsQR.js",
        content_type: JS,
        body: include_bytes!("jsQR.js"),
    },
    Asset {
        name: "jsQR.LICENSE.txt",
        content_type: TEXT,
        body: include_bytes!("jsQR.LICENSE.txt"),
    },
    Asset {
        name: "THIRD_PARTY.md",
        content_type: "text/markdown; charset=utf-8",
        body: include_bytes!("THIRD_PARTY.md"),
    },
];

static APP: WebApp = WebApp::new("/till", ASSETS, CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY);

pub fn routes(cfg: &mut web::ServiceConfig) {
    APP.routes(cfg);
}

#[cfg(test)]
mod tests {
    use actix_web::App;
    use actix_web::http::{StatusCode, header};
    use actix_web::test as actix_test;

    use super::{ASSETS, CONTENT_SECURITY_POLICY, routes};
    use crate::web_app::{CSS, HTML};

    fn header_of<'a>(res: &'a actix_web::dev::ServiceResponse, name: &str) -> &'a str {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    #[actix_web::test]
    async fn the_page_is_html_with_a_strict_policy() {
        let app = actix_test::init_service(App::new().configure(routes)).await;
        let res = actix_test::call_service(
            &app,
            actix_test::TestRequest::get().uri("/till").to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header_of(&res, "content-type"), HTML);
        assert_eq!(header_of(&res, "cache-control"), "no-cache");
        let csp = header_of(&res, "content-security-policy");
        assert_eq!(csp, CONTENT_SECURITY_POLICY);
        for directive in [
            "default-src 'self'",
            "connect-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob:",
            "style-src 'self'",
            "script-src 'self'",
        ] {
            assert!(
                csp.split("; ").any(|d| d == directive),
                "{directive} missing"
            );
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(header_of(&res, "x-content-type-options"), "nosniff");
        let body = actix_test::read_body(res).await;
        let html = std::str::from_utf8(&body).unwrap();
        assert!(html.starts_with("<!doctype html>"), "{html}");
    }

    #[actix_web::test]
    async fn every_asset_is_served_with_its_type_and_others_are_404() {
        let app = actix_test::init_service(App::new().configure(routes)).await;
        for (path, ty) in [
            ("/till/till.css", CSS),
            ("/till/app.mjs", "text/javascript; charset=utf-8"),
            ("/till/signing.mjs", "text/javascript; charset=utf-8"),
            ("/till/page.mjs", "text/javascript; charset=utf-8"),
            ("/till/scan-worker.js", "text/javascript; charset=utf-8"),
            ("/till/jsQR.js", "text/javascript; charset=utf-8"),
            ("/till/jsQR.LICENSE.txt", "text/plain; charset=utf-8"),
        ] {
            let res = actix_test::call_service(
                &app,
                actix_test::TestRequest::get().uri(path).to_request(),
            )
            .await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(header_of(&res, "content-type"), ty, "{path}");
            assert_eq!(header_of(&res, "cache-control"), "no-cache", "{path}");
            assert_eq!(
                header_of(&res, "content-security-policy"),
                CONTENT_SECURITY_POLICY
            );
        }
        for path in [
            "/till/mod.rs",
            "/till/..%2Fmod.rs",
            "/till/index.html",
            "/till/nope.js",
        ] {
            let res = actix_test::call_service(
                &app,
                actix_test::TestRequest::get().uri(path).to_request(),
            )
            .await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let res = actix_test::call_service(
            &app,
            actix_test::TestRequest::get().uri("/till/").to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(header_of(&res, "location"), "/till");
    }

    #[actix_web::test]
    async fn a_matching_etag_is_304() {
        let app = actix_test::init_service(App::new().configure(routes)).await;
        let res = actix_test::call_service(
            &app,
            actix_test::TestRequest::get()
                .uri("/till/app.mjs")
                .to_request(),
        )
        .await;
        let etag = header_of(&res, "etag").to_owned();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let res = actix_test::call_service(
            &app,
            actix_test::TestRequest::get()
                .uri("/till/app.mjs")
                .insert_header((header::IF_NONE_MATCH, format!("\"x\", {etag}")))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header_of(&res, "cache-control"), "no-cache");
        assert!(actix_test::read_body(res).await.is_empty());
    }

    /// The policy forbids inline script and style, so the page must have
    /// none; and every file it names must be one that is served.
    #[test]
    fn the_page_obeys_its_policy_and_names_only_served_files() {
        let html = std::str::from_utf8(ASSETS[0].body).unwrap();
        let lower = html.to_ascii_lowercase();
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
        for (at, _) in html.match_indices("\"/till/") {
            let rest = &html[at + "\"/till/".len()..];
            let name = &rest[..rest.find('"').unwrap()];
            assert!(
                ASSETS.iter().any(|a| !a.name.is_empty() && a.name == name),
                "index.html names /till/{name}, which is not served"
            );
        }
        for a in ASSETS
            .iter()
            .filter(|a| a.content_type.starts_with("text/javascript") && a.name != "jsQR.js")
        {
            let js = std::str::from_utf8(a.body).unwrap();
            assert!(!js.contains("innerHTML"), "{} writes innerHTML", a.name);
        }
    }
}
