//! Customers: sign-up, sign-in, and who is calling.

pub mod email;
pub mod me;
pub mod session;
pub mod sign_in;

#[cfg(test)]
mod tests;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/customers/sign-up", web::post().to(sign_in::sign_up))
        .route("/v1/customers/sign-in", web::post().to(sign_in::sign_in))
        .route("/v1/me/balance", web::get().to(me::balance))
        .route("/v1/me/history", web::get().to(me::history))
        .route("/v1/me/password", web::post().to(me::change_password));
}
