//! Liveness and readiness, for load balancers and orchestrators.

use std::time::Duration;

use actix_web::get;
use actix_web::{HttpResponse, web};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use tillcode_protocol::ProblemType;
use utoipa::ToSchema;

use crate::error::problem_response;
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// The process is up. Checks nothing else, so that a database outage does
/// not make an orchestrator restart healthy servers.
#[utoipa::path(tag = "operations",
    responses((status = 200, body = Health, description = "The process is up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    postgres: &'static str,
    redis: &'static str,
}

/// Postgres and Redis both answer: the server can take traffic. A 503
/// problem names the dependency that failed.
#[utoipa::path(tag = "operations",
    responses(
        (status = 200, body = Readiness, description = "PostgreSQL and Redis answer"),
        (status = 503, description = "A dependency is unreachable; `detail` names it",
         content_type = "application/problem+json", body = crate::openapi::ProblemSchema)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (postgres, redis) = tokio::join!(postgres_ok(&state), redis_ok(&state));
    let verdict = |ok: bool| if ok { "ok" } else { "unavailable" };
    if postgres && redis {
        return HttpResponse::Ok().json(Readiness {
            postgres: "ok",
            redis: "ok",
        });
    }
    let detail = format!("postgres: {}; redis: {}", verdict(postgres), verdict(redis));
    tracing::warn!(%detail, "not ready");
    problem_response(ProblemType::ServiceUnavailable, Some(detail))
}

async fn postgres_ok(state: &AppState) -> bool {
    let check = async {
        let mut conn = state.db_conn().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    };
    matches!(
        tokio::time::timeout(CHECK_TIMEOUT, check).await,
        Ok(Some(_))
    )
}

async fn redis_ok(state: &AppState) -> bool {
    let check = async {
        let mut conn = state.redis_conn().await.ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .ok()
    };
    matches!(
        tokio::time::timeout(CHECK_TIMEOUT, check).await,
        Ok(Some(_))
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::testing::{spawn_app, spawn_app_with_dead_redis};

    #[tokio::test]
    async fn healthz_answers_ok() {
        let app = spawn_app().await;
        let response = reqwest::get(app.url("/healthz")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }

    #[tokio::test]
    async fn readyz_is_ok_when_postgres_and_redis_answer() {
        let app = spawn_app().await;
        let response = reqwest::get(app.url("/readyz")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"postgres": "ok", "redis": "ok"}));
    }

    #[tokio::test]
    async fn readyz_is_a_503_problem_naming_redis_when_redis_is_unreachable() {
        let app = spawn_app_with_dead_redis().await;
        let response = reqwest::get(app.url("/readyz")).await.unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["type"], "https://tillcode.dev/problems/unavailable");
        assert_eq!(body["detail"], "postgres: ok; redis: unavailable");
        let metrics = reqwest::get(app.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("tillcode_redis_connection_errors_total 1"),
            "{metrics}"
        );
    }
}
