//! The OpenAPI 3.1 document, generated from the handlers, and its UI.

use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

/// An RFC 9457 problem, as every error response carries it.
#[derive(ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)] // documentation only: the wire type is tillcode_protocol::Problem
pub struct ProblemSchema {
    /// Stable URI naming the cause, under https://tillcode.dev/problems/.
    #[schema(rename = "type")]
    type_uri: String,
    title: String,
    status: u16,
    detail: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tillcode API", description = "Rewards redemption at the till."),
    paths(
        crate::routes::health::healthz,
        crate::routes::health::readyz,
        crate::metrics::metrics,
    ),
    components(schemas(ProblemSchema)),
    tags((name = "operations", description = "Health, readiness and metrics"))
)]
pub struct ApiDoc;

/// `/docs/` (the UI, with assets compiled into the binary: no network
/// needed) and `/openapi.json`.
pub fn service() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi())
}
