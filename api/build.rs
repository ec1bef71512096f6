//! `embed_migrations!` reads `../migrations` at compile time, but cargo
//! only rebuilds a crate when its own sources change: without this a new
//! migration is silently left out of an incremental build.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
