//! Customers: sign-up, sign-in, and who is calling.

pub mod email;
pub mod me;
pub mod merchant;
pub mod session;
pub mod sign_in;

#[cfg(test)]
mod tests;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(merchant::by_slug)
        .service(sign_in::sign_up)
        .service(sign_in::sign_in)
        .service(me::balance)
        .service(me::history)
        .service(me::change_password);
}
