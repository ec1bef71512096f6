//! The OpenAPI 3.1 document, generated from the handlers, and its UI.

use std::sync::LazyLock;

use tillcode_protocol::ProblemType;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

/// An RFC 9457 problem, as every error response carries it.
#[derive(ToSchema)]
#[schema(as = Problem, example = json!({
    "type": "https://tillcode.dev/problems/insufficient-balance",
    "title": "Insufficient balance",
    "status": 422,
    "detail": "the balance is 20, lower than 30",
    "request_id": "0198f3a2-6c1e-7b3d-9a41-2f6d8e0c5b17"
}))]
#[allow(dead_code)] // documentation only: the wire type is tillcode_protocol::Problem
pub struct ProblemSchema {
    /// Stable URI naming the cause, under https://tillcode.dev/problems/.
    #[schema(rename = "type")]
    type_uri: String,
    title: String,
    status: u16,
    detail: Option<String>,
    /// The request's id, as in its `X-Request-Id` answer header: quote it
    /// when reporting a failure.
    request_id: Option<String>,
}

/// What the document says besides its paths: those come from the router
/// ([`document`]).
#[derive(OpenApi)]
#[openapi(
    info(title = "Tillcode API", description = "Rewards redemption at the till."),
    components(schemas(ProblemSchema)),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "customers", description = "Sign-up, sign-in, balance, history, password"),
        (name = "devices", description = "Device keys: registration with proof of possession, sessions, revocation"),
        (name = "codes", description = "Payment codes"),
        (name = "links", description = "Linking a second device"),
        (name = "terminals", description = "Cashier terminals: enrollment and status"),
        (name = "till", description = "What a terminal does at the till; every request signed (RFC 9421) and idempotent"),
        (name = "staff", description = "Staff sign-in for the dashboard (cookie session, CSRF header)"),
        (name = "dashboard", description = "The merchant dashboard's data; staff session cookie, X-CSRF-Token on every POST, viewers may only read"),
    )
)]
pub struct ApiDoc;

/// How callers authenticate: two bearer tokens (a password sign-in, which
/// registers one device, and a device session for `/v1/me`), and a
/// terminal's RFC 9421 signature.
struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["sign_in_token", "device_session"] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
        components.add_security_scheme(
            STAFF_SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::staff::session::COOKIE,
                "Staff session cookie from POST /v1/staff/sign-in; every request but GET also \
                 sends its CSRF token as X-CSRF-Token",
            ))),
        );
        components.add_security_scheme(
            "terminal_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Signature",
                "RFC 9421 HTTP Message Signature (label tc, Ed25519) with Signature-Input and \
                 Content-Digest; see docs/protocol.md section 11",
            ))),
        );
    }
}

/// The dashboard's cookie session (see `staff/session.rs`).
const STAFF_SESSION: &str = "staff_session";

/// Paths behind a staff session: the whole dashboard API, and the staff
/// session itself once signed in.
fn needs_staff_session(path: &str) -> bool {
    path.starts_with("/v1/dashboard/") || path == "/v1/staff/me" || path == "/v1/staff/sign-out"
}

/// Every error answer is a problem: an error response documented without a
/// body gets the `Problem` schema, with an example of the problem type its
/// description names first ([`example_problem`]), and every operation lists
/// the refusals the shared extractors and limits give any request of its
/// shape (`error.rs`, `http_limits.rs`), so that no handler has to repeat
/// them.
struct ProblemResponses;

impl ProblemResponses {
    /// What any operation of this shape may answer besides its own causes.
    fn common(
        path: &str,
        method: &str,
        operation: &utoipa::openapi::path::Operation,
    ) -> Vec<ProblemType> {
        let mut kinds = Vec::new();
        if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
            kinds.push(ProblemType::Unauthorized);
        }
        if needs_staff_session(path) && method != "get" {
            // A viewer changing something, or a missing CSRF token.
            kinds.push(ProblemType::Forbidden);
        }
        if operation.request_body.is_some() {
            kinds.extend([
                ProblemType::BadRequest,
                ProblemType::RequestTimeout,
                ProblemType::PayloadTooLarge,
                ProblemType::UnsupportedMediaType,
            ]);
        }
        let has_query = operation
            .parameters
            .iter()
            .flatten()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
        if has_query {
            kinds.push(ProblemType::BadRequest);
        }
        if path.contains('{') {
            kinds.push(ProblemType::NotFound);
        }
        if path.starts_with("/v1/") || path == "/readyz" {
            kinds.push(ProblemType::ServiceUnavailable);
        }
        kinds
    }
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else {
                    continue;
                };
                if needs_staff_session(path) && operation.security.is_none() {
                    operation.security = Some(vec![SecurityRequirement::new(
                        STAFF_SESSION,
                        Vec::<String>::new(),
                    )]);
                }
                for kind in Self::common(path, method, operation) {
                    operation
                        .responses
                        .responses
                        .entry(kind.status().to_string())
                        .or_insert_with(|| RefOr::T(Response::new(kind.title())));
                }
                for (status, response) in operation.responses.responses.iter_mut() {
                    let is_error = status.starts_with('4') || status.starts_with('5');
                    let (true, RefOr::T(response)) = (is_error, response) else {
                        continue;
                    };
                    if !response.content.is_empty()
                        && !response.content.contains_key("application/problem+json")
                    {
                        continue;
                    }
                    let example = example_problem(status, &response.description);
                    let content = response
                        .content
                        .entry("application/problem+json".to_owned())
                        .or_insert_with(|| {
                            RefOr::T(Content::new(Some(Ref::from_schema_name("Problem"))))
                        });
                    if let RefOr::T(content) = content
                        && content.example.is_none()
                    {
                        content.example = example;
                    }
                }
            }
        }
    }
}

/// An example body for an error response: the first problem type its
/// description names (they list slugs, first the likeliest), or failing
/// that the first of its status.
fn example_problem(status: &str, description: &str) -> Option<serde_json::Value> {
    let status: u16 = status.parse().ok()?;
    let of_status = ProblemType::ALL.iter().filter(|t| t.status() == status);
    let named = of_status
        .clone()
        .filter_map(|t| description.find(t.slug()).map(|at| (at, *t)))
        .min_by_key(|(at, _)| *at)
        .map(|(_, t)| t);
    let kind = named.or_else(|| of_status.clone().next().copied())?;
    serde_json::to_value(tillcode_protocol::Problem::new(kind, None)).ok()
}

/// A struct flattened into another (`#[serde(flatten)]`) becomes one part of
/// an `allOf`, and every part is checked against the whole object: a part
/// that forbids additional properties (from `deny_unknown_fields`, right
/// for it as a request body) would forbid the other parts' fields. Such a
/// part is inlined here without that rule; the component itself keeps it.
struct FlattenedParts;

impl Modify for FlattenedParts {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let closed = |schema: &RefOr<Schema>| match schema {
            RefOr::T(Schema::Object(object)) => matches!(
                object.additional_properties.as_deref(),
                Some(AdditionalProperties::FreeForm(false))
            )
            .then(|| {
                let mut open = object.clone();
                open.additional_properties = None;
                RefOr::T(Schema::Object(open))
            }),
            _ => None,
        };
        let lookup = components.schemas.clone();
        for schema in components.schemas.values_mut() {
            let RefOr::T(Schema::AllOf(all_of)) = schema else {
                continue;
            };
            for part in &mut all_of.items {
                let target = match part {
                    RefOr::Ref(r) => r
                        .ref_location
                        .strip_prefix("#/components/schemas/")
                        .and_then(|name| lookup.get(name)),
                    RefOr::T(_) => Some(&*part),
                };
                if let Some(open) = target.and_then(closed) {
                    *part = open;
                }
            }
        }
    }
}

/// The OpenAPI document: every route [`crate::server::routes`] registers
/// with `service` (utoipa-actix-web gathers each handler's
/// `#[utoipa::path]` as it registers it, and the schemas it names), with
/// [`ApiDoc`]'s title, tags and schemas, then the modifiers that need every
/// path in place (security schemes, the problems every operation may
/// answer, flattened schemas). Built once per process.
pub fn document() -> utoipa::openapi::OpenApi {
    static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
        // An app that is never served: only its paths are kept.
        let (_, mut doc) = actix_web::App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .configure(crate::server::routes)
            .split_for_parts();
        let modifiers: [&dyn Modify; 3] = [&BearerTokens, &ProblemResponses, &FlattenedParts];
        for modifier in modifiers {
            modifier.modify(&mut doc);
        }
        doc
    });
    DOCUMENT.clone()
}

/// `/docs/` (the UI, with assets compiled into the binary: no network
/// needed) and `/openapi.json`.
pub fn service() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document())
}

#[cfg(test)]
mod tests;
