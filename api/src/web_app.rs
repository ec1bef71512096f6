//! Serving a small web app built into the binary (`/till`, `/dashboard`,
//! `/wallet`):
//! a fixed list of files, nothing else under the mount point, a strict
//! Content-Security-Policy, `Cache-Control: no-cache` with a strong ETag,
//! and the headers that keep the pages out of frames and other origins.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

pub const JS: &str = "text/javascript; charset=utf-8";
pub const CSS: &str = "text/css; charset=utf-8";
pub const HTML: &str = "text/html; charset=utf-8";

pub struct Asset {
    /// The file name under the mount point; empty for the page itself.
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

pub struct WebApp {
    /// Where the page lives, e.g. `/till`.
    pub mount: &'static str,
    /// The page first, then every file it may load.
    pub assets: &'static [Asset],
    pub content_security_policy: &'static str,
    pub permissions_policy: &'static str,
    etags: OnceLock<Vec<String>>,
}

impl WebApp {
    pub const fn new(
        mount: &'static str,
        assets: &'static [Asset],
        content_security_policy: &'static str,
        permissions_policy: &'static str,
    ) -> Self {
        Self {
            mount,
            assets,
            content_security_policy,
            permissions_policy,
            etags: OnceLock::new(),
        }
    }

    /// `GET <mount>` (the page), `<mount>/` (redirect) and `<mount>/{file}`.
    pub fn routes(&'static self, cfg: &mut web::ServiceConfig) {
        cfg.route(
            self.mount,
            web::get().to(move |req: HttpRequest| async move { self.serve(0, &req) }),
        )
        .route(
            &format!("{}/", self.mount),
            web::get().to(move || async move {
                HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, self.mount))
                    .finish()
            }),
        )
        .route(
            &format!("{}/{{file}}", self.mount),
            web::get().to(
                move |req: HttpRequest, name: web::Path<String>| async move {
                    match self
                        .assets
                        .iter()
                        .position(|a| !a.name.is_empty() && a.name == *name)
                    {
                        Some(i) => self.serve(i, &req),
                        None => crate::error::not_found().await,
                    }
                },
            ),
        );
    }

    /// `GET <mount>/{name}` only, for an app whose page has many addresses
    /// (`/wallet/{merchant-slug}`): a name in the asset list is that file,
    /// a name `is_page` accepts is the page (the first asset), anything
    /// else is 404. No asset name may be one `is_page` accepts.
    pub fn routes_with_pages(
        &'static self,
        cfg: &mut web::ServiceConfig,
        is_page: fn(&str) -> bool,
    ) {
        cfg.route(
            &format!("{}/{{name}}", self.mount),
            web::get().to(
                move |req: HttpRequest, name: web::Path<String>| async move {
                    match self
                        .assets
                        .iter()
                        .position(|a| !a.name.is_empty() && a.name == *name)
                    {
                        Some(i) => self.serve(i, &req),
                        None if is_page(&name) => self.serve(0, &req),
                        None => crate::error::not_found().await,
                    }
                },
            ),
        );
    }

    fn etag(&self, i: usize) -> Option<&str> {
        let etags = self.etags.get_or_init(|| {
            self.assets
                .iter()
                .map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.body)[..16])))
                .collect()
        });
        etags.get(i).map(String::as_str)
    }

    fn serve(&self, i: usize, req: &HttpRequest) -> HttpResponse {
        let (Some(asset), Some(etag)) = (self.assets.get(i), self.etag(i)) else {
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
            .insert_header((header::ETAG, etag))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                self.content_security_policy,
            ))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"))
            .insert_header((
                header::HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static(self.permissions_policy),
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
}
