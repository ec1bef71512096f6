//! `docs/protocol.md` stays in step with the code it documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tillcode_protocol::{Domain, ProblemType};

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
