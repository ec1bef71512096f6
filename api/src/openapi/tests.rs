//! The document: what it lists, and what OpenAPI 3.1 and its readers need
//! of it (a description on every response, examples, unique operation ids).
#![allow(clippy::unwrap_used)]

use crate::testing::spawn_app;

#[tokio::test]
async fn the_openapi_document_is_version_3_1_and_lists_the_operations_routes() {
    let app = spawn_app().await;
    let doc: serde_json::Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/terminal",
        "/v1/me/balance",
        "/v1/staff/me",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "GET {path} missing");
    }
    for path in [
        "/v1/redemptions",
        "/v1/accruals",
        "/v1/redemptions/{id}/void",
        "/v1/redemptions/{id}/refunds",
        "/v1/terminals/enroll",
        "/v1/customers/sign-up",
        "/v1/devices",
        "/v1/links/join",
        "/v1/staff/sign-in",
    ] {
        assert!(
            doc["paths"][path]["post"].is_object(),
            "POST {path} missing"
        );
    }
    assert!(doc["components"]["securitySchemes"]["terminal_signature"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[test]
fn every_error_answer_is_a_documented_problem_and_every_secured_operation_may_be_401() {
    let doc = serde_json::to_value(super::document()).unwrap();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not a problem"
                    );
                }
            }
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} is secured but documents no 401"
                );
            }
            if path.starts_with("/v1/dashboard/") {
                assert!(secured, "{method} {path} is behind the staff session");
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "path" {
                    let name = parameter["name"].as_str().unwrap();
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: {name}"
                    );
                }
            }
        }
    }
    assert!(operations > 40, "{operations}");
}

fn document() -> serde_json::Value {
    serde_json::to_value(super::document()).unwrap()
}

/// Every operation of the document: (method, path, operation).
fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    all
}

/// OpenAPI requires a description on every response (utoipa leaves out
/// an empty one, which validators then refuse).
#[test]
fn every_response_has_a_description() {
    let doc = document();
    let mut missing = Vec::new();
    let mut responses = 0;
    for (method, path, operation) in operations(&doc) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            responses += 1;
            let described = response["description"]
                .as_str()
                .is_some_and(|d| !d.trim().is_empty());
            if !described {
                missing.push(format!("{method} {path} {status}"));
            }
        }
    }
    assert!(missing.is_empty(), "no description: {missing:#?}");
    assert!(responses > 200, "{responses}");
}

/// Code generators name a client's methods after operation ids.
#[test]
fn every_operation_has_an_id_of_its_own() {
    let doc = document();
    let mut seen = std::collections::BTreeMap::new();
    for (method, path, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap().to_owned();
        if let Some(other) = seen.insert(id.clone(), format!("{method} {path}")) {
            panic!("{method} {path} and {other} share the operation id {id}");
        }
    }
}

#[test]
fn every_error_answer_has_an_example_problem_of_its_status() {
    let doc = document();
    assert_eq!(
        doc["components"]["schemas"]["Problem"]["example"]["status"],
        422
    );
    for (method, path, operation) in operations(&doc) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let example = &response["content"]["application/problem+json"]["example"];
            assert_eq!(
                example["status"].to_string(),
                *status,
                "{method} {path} {status}: {example}"
            );
            let uri = example["type"].as_str().unwrap();
            assert!(
                tillcode_protocol::ProblemType::from_uri(uri).is_some(),
                "{method} {path} {status}: {uri}"
            );
        }
    }
}

#[test]
fn a_redemption_documents_the_velocity_limit_and_a_request_still_in_flight() {
    let doc = document();
    let problem = |path: &str, status: &str| {
        let response = &doc["paths"][path]["post"]["responses"][status];
        assert!(response.is_object(), "POST {path} has no {status}");
        response.clone()
    };
    let velocity = problem("/v1/redemptions", "429");
    assert_eq!(
        velocity["content"]["application/problem+json"]["example"]["type"],
        "https://tillcode.dev/problems/velocity-limit"
    );
    for path in ["/v1/redemptions", "/v1/accruals"] {
        let in_flight = problem(path, "409");
        assert!(
            in_flight["description"]
                .as_str()
                .unwrap()
                .starts_with("request-in-flight: "),
            "{in_flight}"
        );
        assert_eq!(
            in_flight["content"]["application/problem+json"]["example"]["type"],
            "https://tillcode.dev/problems/request-in-flight"
        );
        assert!(in_flight["headers"]["Retry-After"].is_object(), "{path}");
    }
}

/// The fields of `schema`'s example, checked against it: every field the
/// schema requires is there, and no field the schema does not know.
fn example_fields<'a>(
    name: &str,
    schema: &'a serde_json::Value,
) -> &'a serde_json::Map<String, serde_json::Value> {
    let fields = schema["example"]
        .as_object()
        .unwrap_or_else(|| panic!("{name} has no example object"));
    let properties = schema["properties"].as_object();
    for field in fields.keys() {
        assert!(
            properties.is_some_and(|p| p.contains_key(field)),
            "the example of {name} has {field}, which {name} has not"
        );
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        assert!(
            fields.contains_key(required.as_str().unwrap()),
            "the example of {name} lacks {required}"
        );
    }
    fields
}

/// Every request body has an example of its schema.
#[test]
fn every_request_body_has_an_example_of_its_schema() {
    let doc = document();
    let mut bodies = 0;
    for (method, path, operation) in operations(&doc) {
        let Some(content) = operation["requestBody"]["content"].as_object() else {
            continue;
        };
        bodies += 1;
        let schema_ref = content["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no schema"));
        let name = schema_ref.strip_prefix("#/components/schemas/").unwrap();
        example_fields(name, &doc["components"]["schemas"][name]);
    }
    assert!(bodies >= 16, "{bodies}");
}

/// An example kept beside a struct goes stale when a field is added or
/// renamed: every object example of the document still fits its schema.
#[test]
fn every_schema_s_example_has_its_required_fields_and_no_others() {
    let doc = document();
    let mut examples = 0;
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if schema["example"].is_object() && schema["properties"].is_object() {
            examples += 1;
            example_fields(name, schema);
        }
    }
    assert!(examples >= 24, "{examples}");
}

#[tokio::test]
async fn the_docs_ui_is_served_from_the_binary() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .unwrap();
    let page = client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    // The UI's script is vendored, not fetched from a CDN.
    let script = client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.bytes().await.unwrap().len() > 100_000);
}

/// `docs/protocol.md` section 14 is what an outside implementer builds a
/// phone or a till from: it names every endpoint they call.
#[test]
fn the_protocol_document_names_every_endpoint_of_phones_and_tills() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let protocol = std::fs::read_to_string(path).unwrap();
    let section = &protocol[protocol.find("## 14. The HTTP API").unwrap()..];
    // Path parameters may be named differently: `{id}` for `{device_id}`.
    let unnamed = |text: &str| {
        let mut out = String::new();
        let mut in_braces = false;
        for c in text.chars() {
            match c {
                '{' => {
                    in_braces = true;
                    out.push('{');
                }
                '}' => {
                    in_braces = false;
                    out.push('}');
                }
                _ if in_braces => {}
                _ => out.push(c),
            }
        }
        out
    };
    let section = unnamed(section);
    let doc = document();
    let mut named = 0;
    for (method, path, operation) in operations(&doc) {
        let tag = operation["tags"][0].as_str().unwrap_or_default();
        if ![
            "customers",
            "devices",
            "codes",
            "links",
            "terminals",
            "till",
        ]
        .contains(&tag)
        {
            continue;
        }
        named += 1;
        let path = unnamed(&path);
        let method = method.to_uppercase();
        assert!(
            section.contains(&format!("{method} {path}")),
            "section 14 does not name {method} {path}"
        );
    }
    assert!(named >= 20, "{named}");
}

/// Every path pattern the router has, once per resource (actix-web keeps
/// one resource per registered route: `#[get]` and `#[put]` on one path are
/// two). actix-web has no public way to list them, but its `ResourceMap`,
/// which holds them all, has a `Debug` that names each pattern (if a new
/// actix-web prints it differently, this fails rather than passes).
async fn router_patterns() -> Vec<String> {
    use actix_web::{App, HttpRequest, HttpResponse, test as actix_test, web};
    let app = actix_test::init_service(
        App::new()
            .configure(crate::server::configure)
            .default_service(web::to(|req: HttpRequest| async move {
                HttpResponse::Ok().body(format!("{:?}", req.resource_map()))
            })),
    )
    .await;
    let request = actix_test::TestRequest::get()
        .uri("/no/route/has/this/path")
        .to_request();
    let map = actix_test::call_and_read_body(&app, request).await;
    let map = std::str::from_utf8(&map).unwrap();
    // The root's `named` resources come first, then its `nodes`: each
    // resource once. No node has nodes of its own (a scope would: its
    // patterns would be relative to it).
    let nodes = &map[map.find("nodes: Some([").unwrap()..];
    assert_eq!(nodes.matches("nodes: Some(").count(), 1, "{map}");
    assert!(!map.contains("patterns: List("), "{map}");
    let map = nodes;
    let mut patterns = Vec::new();
    for part in map.split("patterns: Single(\"").skip(1) {
        let pattern = &part[..part.find("\")").unwrap()];
        if !pattern.is_empty() {
            patterns.push(pattern.to_owned());
        }
    }
    assert!(patterns.len() > 40, "{map}");
    patterns
}

/// The router and the document cannot drift apart: every route the server
/// answers is an operation of the document, but for the few it leaves out
/// on purpose (`server::UNDOCUMENTED`), and each documented path has as
/// many routes as the document has operations on it (no method answered
/// but undocumented).
#[tokio::test]
async fn every_route_the_server_answers_is_documented_or_deliberately_not() {
    let doc = document();
    let mut routes = std::collections::BTreeMap::<String, usize>::new();
    for pattern in router_patterns().await {
        *routes.entry(pattern).or_default() += 1;
    }
    let undocumented = crate::server::UNDOCUMENTED;
    for (pattern, count) in &routes {
        if undocumented.contains(&pattern.as_str()) {
            assert!(
                doc["paths"][pattern].is_null(),
                "{pattern} is documented after all"
            );
            continue;
        }
        let operations = doc["paths"][pattern]
            .as_object()
            .unwrap_or_else(|| panic!("the server answers {pattern}, the document lacks it"))
            .len();
        assert_eq!(
            operations, *count,
            "{pattern}: {count} routes, {operations} operations documented"
        );
    }
    for pattern in undocumented {
        assert!(routes.contains_key(*pattern), "no route {pattern}");
    }
    for path in doc["paths"].as_object().unwrap().keys() {
        assert!(
            routes.contains_key(path),
            "{path} is documented, not routed"
        );
    }
}
