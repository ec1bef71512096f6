//! Assembles the actix-web application and runs it.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::config::Config;
use crate::http_limits::{self, HttpLimits};
use crate::metrics::{self, Metrics};
use crate::state::AppState;
use crate::telemetry::{self, Spans};
use crate::{
    codes, customers, dashboard, db, devices, error, links, openapi, redemptions, redis_conn,
    routes, staff, terminals, till, wallet,
};

/// Routes and extractor settings with the default [`HttpLimits`]; shared by
/// `serve` and the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    configure_with(cfg, &HttpLimits::default());
}

/// Routes and extractor settings under `limits`: [`routes`], then
/// `/openapi.json` (the document of those routes) and its UI under `/docs/`.
pub fn configure_with(cfg: &mut web::ServiceConfig, limits: &HttpLimits) {
    cfg.app_data(limits.json_config())
        .app_data(limits.payload_config())
        .app_data(web::Data::new(*limits))
        .app_data(error::path_config())
        .app_data(error::query_config());
    // The paths this collects are dropped: `openapi::document` collects
    // the same from the same function.
    routes(&mut ServiceConfig::new(cfg));
    cfg.service(openapi::service());
}

/// Routes the server answers but deliberately leaves out of the OpenAPI
/// document: the UI and the document themselves, and the three web apps'
/// pages and assets. [`routes`] registers these, and only these, without
/// documenting them (`openapi/tests.rs` checks it against the router).
pub const UNDOCUMENTED: &[&str] = &[
    "/docs",
    "/docs/{_:.*}",
    "/openapi.json",
    "/till",
    "/till/",
    "/till/{file}",
    "/dashboard",
    "/dashboard/",
    "/dashboard/{file}",
    "/wallet/{name}",
];

/// Every route the server answers, in one list for the router and the
/// OpenAPI document. A handler registered with `service` carries its method
/// and path in its actix-web macro (`#[post("/v1/redemptions")]`) and its
/// documentation in `#[utoipa::path]`; registering it is what puts it in
/// the document (utoipa-actix-web; `openapi::document` runs this function).
/// What is not to be documented goes through `map`, a plain actix-web
/// `ServiceConfig`: the [`UNDOCUMENTED`] routes and nothing else.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(routes::health::healthz)
        .service(routes::health::readyz)
        .service(metrics::metrics)
        .configure(customers::routes)
        .configure(devices::routes)
        .configure(codes::routes)
        .configure(links::routes)
        .configure(terminals::routes)
        .configure(redemptions::routes)
        .configure(staff::routes)
        .configure(dashboard::routes)
        .map(|cfg| {
            cfg.route(
                "/docs",
                web::get().to(|| async {
                    HttpResponse::PermanentRedirect()
                        .insert_header(("Location", "/docs/"))
                        .finish()
                }),
            )
            .configure(till::routes)
            .configure(dashboard::pages)
            .configure(wallet::routes)
        });
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("postgres pool: {0}")]
    Db(#[from] diesel_async::pooled_connection::deadpool::BuildError),
    #[error("redis: {0}")]
    Redis(#[from] redis_conn::RedisError),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// Builds the pools and starts serving on `listener`, HTTPS when
/// `config.tls` names a certificate and key. actix-server stops
/// accepting on SIGTERM/SIGINT and lets in-flight requests finish, for at
/// most `config.shutdown_timeout`.
pub fn start(config: &Config, listener: TcpListener) -> Result<Server, StartError> {
    // Read first: a wrong file stops start-up before any pool is built.
    let tls = config.tls.as_ref().map(|f| f.server_config()).transpose()?;
    let metrics = Metrics::new()?;
    // actix's default, made explicit. Each worker thread has Postgres pools
    // of its own (`per_thread`: the connections split between them), and a
    // Redis connection of its own (`redis_conn`, made in the factory below).
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let server_pool = |size| {
        db::server_pool(
            config.database.url.expose(),
            size,
            config.timeouts.database_pool,
            config.timeouts.database_statement,
        )
    };
    let db = db::DbPools::per_thread(workers, || {
        server_pool(config.database.pool_size.div_ceil(workers))
    })?;
    // The ledger's writers (tasks of the main thread) get connections of
    // their own. Without batching, handlers post on their own pools.
    let ledger_db = if config.ledger_batch.max > 1 {
        db::DbPools::single(server_pool(config.ledger_batch.writers)?)
    } else {
        db.clone()
    };
    let batching = crate::ledger::BatchSettings {
        queue_timeout: config.timeouts.database_pool,
        ..config.ledger_batch
    };
    let ledger = crate::ledger::Writer::start(ledger_db, batching, metrics.ledger.clone());
    let state = AppState {
        db,
        redis: redis_conn::connect(
            &config.redis_urls(),
            config.redis_cluster,
            Some(config.timeouts.redis),
            metrics.redis_connection_errors.clone(),
        )?,
        redis_prefix: config.redis_prefix.clone(),
        metrics: metrics.clone(),
        settings: Default::default(),
        keys: Default::default(),
        devices: Default::default(),
        terminals: Default::default(),
        ledger,
    };
    let metrics = web::Data::new(metrics);
    let limits = config.http;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.for_this_thread()))
            .app_data(metrics.clone())
            .wrap(from_fn(error::plain_errors_as_problems))
            .wrap(from_fn(http_limits::body_deadline))
            .wrap(from_fn(metrics::record_request))
            // A span per request with its route and id, around everything
            // the request logs, and one `tillcode::http` line per answer.
            .wrap(TracingLogger::<Spans>::new())
            // Outermost: the id exists before the span, and every answer,
            // even one made of an error no middleware answered, carries it.
            .wrap(from_fn(telemetry::assign_request_id))
            .configure(|cfg| configure_with(cfg, &limits))
            .default_service(web::to(error::not_found))
    })
    // A client that sends its headers too slowly is answered 408 and cut off.
    .workers(workers)
    .client_request_timeout(limits.head_timeout)
    .keep_alive(limits.keep_alive)
    .shutdown_timeout(config.shutdown_timeout.as_secs());
    let server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls)?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}
