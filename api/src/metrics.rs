//! Prometheus metrics, served as text at `/metrics`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::get;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Every metric the server exports, registered in its own registry (not the
/// global one) so that tests running many servers in one process stay apart.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_request_duration: HistogramVec,
    /// Redemptions and accruals by `operation`, `result` (`ok` or a problem
    /// slug: a closed set) and `code_kind` (`online`, `offline`, `numeric`, `none`).
    pub sales: IntCounterVec,
    /// Amounts of successful redemptions and accruals, in program units.
    pub sale_amount: HistogramVec,
    /// Refused codes and terminal requests by `reason` (a closed set).
    pub fraud_events: IntCounterVec,
    /// Time to verify a payment code, by `code_kind`.
    pub code_verification: HistogramVec,
    /// Connection pools (`pool`: postgres) by `state` (size, available, waiting).
    pools: IntGaugeVec,
    /// Failures to get a connection from a pool, by `pool` (postgres).
    pub pool_errors: IntCounterVec,
    /// Redis commands that failed for want of a working connection (refused,
    /// dropped, timed out), whether the connection was being made or used.
    pub redis_connection_errors: IntCounter,
    /// What merchants owe customers, per program, read at scrape time.
    liability: IntGaugeVec,
    /// The ledger writers' batch sizes and posting times.
    pub ledger: tillcode_ledger::WriterMetrics,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("tillcode".into()), None)?;
        let http_request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern, method and status.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route", "status"],
        )?;
        registry.register(Box::new(http_request_duration.clone()))?;
        let sales = IntCounterVec::new(
            Opts::new(
                "sales_total",
                "Redemptions and accruals by operation, result and code kind.",
            ),
            &["operation", "result", "code_kind"],
        )?;
        registry.register(Box::new(sales.clone()))?;
        let sale_amount = HistogramVec::new(
            HistogramOpts::new(
                "sale_amount",
                "Amounts of successful sales, in program units.",
            )
            .buckets(prometheus::exponential_buckets(1.0, 4.0, 12)?),
            &["operation"],
        )?;
        registry.register(Box::new(sale_amount.clone()))?;
        let fraud_events = IntCounterVec::new(
            Opts::new(
                "fraud_events_total",
                "Refused codes and terminal requests by reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(fraud_events.clone()))?;
        let code_verification = HistogramVec::new(
            HistogramOpts::new(
                "code_verification_seconds",
                "Time to verify a payment code.",
            )
            .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1]),
            &["code_kind"],
        )?;
        registry.register(Box::new(code_verification.clone()))?;
        let pools = IntGaugeVec::new(
            Opts::new("pool_connections", "Connection pool state at scrape time."),
            &["pool", "state"],
        )?;
        registry.register(Box::new(pools.clone()))?;
        let pool_errors = IntCounterVec::new(
            Opts::new(
                "pool_errors_total",
                "Failures to get a connection from a pool.",
            ),
            &["pool"],
        )?;
        registry.register(Box::new(pool_errors.clone()))?;
        // Shown at zero from the start, so an alert can use rate() at once.
        pool_errors.with_label_values(&["postgres"]);
        let redis_connection_errors = IntCounter::new(
            "redis_connection_errors_total",
            "Redis commands that failed for want of a working connection (refused, dropped, timed out).",
        )?;
        registry.register(Box::new(redis_connection_errors.clone()))?;
        let liability = IntGaugeVec::new(
            Opts::new(
                "ledger_liability",
                "Sum of customer balances per program, in program units.",
            ),
            &["merchant", "program"],
        )?;
        registry.register(Box::new(liability.clone()))?;
        let ledger =
            tillcode_ledger::WriterMetrics::new(pool_errors.with_label_values(&["postgres"]))?;
        registry.register(Box::new(ledger.batch_size.clone()))?;
        registry.register(Box::new(ledger.posting_seconds.clone()))?;
        Ok(Self {
            ledger,
            pools,
            pool_errors,
            redis_connection_errors,
            liability,
            registry,
            http_request_duration,
            sales,
            sale_amount,
            fraud_events,
            code_verification,
        })
    }

    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// Times every request. The route label is the matched pattern (like
/// `/v1/accounts/{id}`), never the raw path, so the label set stays bounded.
pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let recorder = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().as_str().to_owned();
    let response = next.call(req).await?;
    if let Some(recorder) = recorder {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        recorder
            .http_request_duration
            .with_label_values(&[method.as_str(), route.as_str(), response.status().as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}

#[utoipa::path(tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(
    metrics: web::Data<Metrics>,
    state: web::Data<crate::state::AppState>,
) -> HttpResponse {
    metrics.sample(&state).await;
    match metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(e) => actix_web::ResponseError::error_response(&crate::error::ApiError::Internal(
            format!("metrics: {e}"),
        )),
    }
}

impl Metrics {
    /// Gauges read at scrape time: pool state, and the ledger's liability
    /// (one aggregate query per scrape, not per request). Redis has no pool:
    /// one connection per worker (`redis_conn.rs`).
    async fn sample(&self, state: &crate::state::AppState) {
        let db = state.db.status();
        for (state, value) in [
            ("size", db.size),
            ("available", db.available),
            ("waiting", db.waiting),
        ] {
            self.pools
                .with_label_values(&["postgres", state])
                .set(value as i64);
        }
        let Ok(mut conn) = state.db.get().await else {
            return;
        };
        use crate::schema::accounts;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let rows: QueryResult<Vec<(uuid::Uuid, uuid::Uuid, i64)>> = accounts::table
            .group_by((accounts::merchant_id, accounts::program_id))
            .select((
                accounts::merchant_id,
                accounts::program_id,
                diesel::dsl::sql::<diesel::sql_types::BigInt>("COALESCE(SUM(balance), 0)::bigint"),
            ))
            .load(&mut conn)
            .await;
        match rows {
            Ok(rows) => {
                for (merchant, program, total) in rows {
                    self.liability
                        .with_label_values(&[&merchant.to_string(), &program.to_string()])
                        .set(total);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the liability for /metrics"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::testing::spawn_app;

    #[tokio::test]
    async fn metrics_expose_request_latency_by_route_and_status() {
        let app = spawn_app().await;
        reqwest::get(app.url("/healthz")).await.unwrap();
        reqwest::get(app.url("/nowhere/42")).await.unwrap();
        let response = reqwest::get(app.url("/metrics")).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let text = response.text().await.unwrap();
        assert!(text.contains(
            r#"tillcode_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1"#
        ), "{text}");
        // Unmatched paths share one label value: the label set stays bounded.
        assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
        assert!(!text.contains("/nowhere/42"));
    }
}

#[cfg(test)]
mod gauge_tests {
    use crate::ledger::{self, Operation};
    use crate::testing::spawn_app;

    #[tokio::test]
    async fn metrics_show_the_ledger_liability_and_the_pools() {
        let app = spawn_app().await;
        let merchant = app.merchant().await;
        let mut conn = app.db.connect().await;
        let account = merchant.account_with(&mut conn, 0).await;
        let accrue = Operation::Accrue {
            account,
            amount: tillcode_protocol::Amount::new(1234).unwrap(),
        };
        ledger::post(&mut conn, &merchant.posting("earn", accrue))
            .await
            .unwrap();
        let text = reqwest::get(app.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let liability = format!(
            "tillcode_ledger_liability{{merchant=\"{}\",program=\"{}\"}} 1234",
            merchant.merchant, merchant.program
        );
        assert!(text.contains(&liability), "{text}");
        assert!(
            text.contains(r#"tillcode_pool_connections{pool="postgres",state="size"}"#),
            "{text}"
        );
        assert!(!text.contains(r#"pool="redis""#), "{text}");
        assert!(
            text.contains("tillcode_redis_connection_errors_total 0"),
            "{text}"
        );
    }
}
