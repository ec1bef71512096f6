//! `docs/protocol.md` stays in step with the code it documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tillcode_protocol::http_signature::signature_base;
use tillcode_protocol::{Domain, ProblemType, RequestParts, parse_signature};

fn protocol_md() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_protocol_document_names_every_problem_type() {
    let doc = protocol_md();
    for t in ProblemType::ALL {
        assert!(
            doc.contains(&format!("`{}`", t.slug())),
            "{} missing",
            t.slug()
        );
    }
}

#[test]
fn the_protocol_document_gives_every_label_with_its_length() {
    let doc = protocol_md();
    for d in Domain::ALL {
        let row = format!("| `{}` | {} |", d.label(), d.label().len() + 1);
        assert!(doc.contains(&row), "{row} missing");
    }
}

/// The text of the first ```text block after `marker`.
fn text_block_after<'a>(doc: &'a str, marker: &str) -> &'a str {
    let after = &doc[doc.find(marker).unwrap()..];
    let start = after.find("```text\n").unwrap() + "```text\n".len();
    let len = after[start..].find("\n```").unwrap();
    &after[start..start + len]
}

#[test]
fn the_protocol_document_gives_the_shared_vector_s_signature_base_byte_for_byte() {
    let doc = protocol_md();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/shared-v1.json");
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = &vectors["http_signatures"][0];
    let headers = &case["headers"];
    let signature_input = headers["Signature-Input"].as_str().unwrap();
    let parts = RequestParts {
        method: "POST",
        path: "/v1/redemptions",
        query: None,
        content_digest: headers["Content-Digest"].as_str(),
        idempotency_key: headers["Idempotency-Key"].as_str(),
        authority: None,
        headers: &[],
    };
    let received = parse_signature(
        signature_input,
        headers["Signature"].as_str().unwrap(),
        &parts,
    )
    .unwrap();
    let base = signature_base(&parts, received.signature_params()).unwrap();
    assert_eq!(text_block_after(&doc, "The signature base (6 lines"), base);

    let shown = text_block_after(&doc, "Worked example, `shared-v1.json`");
    for name in [
        "Content-Digest",
        "Idempotency-Key",
        "Signature-Input",
        "Signature",
    ] {
        let line = format!("{name}: {}", headers[name].as_str().unwrap());
        assert!(shown.lines().any(|l| l == line), "{line}");
    }
}
