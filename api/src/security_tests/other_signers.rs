//! A till signing with another RFC 9421 library: its components in another
//! order, and `date` and `@authority` besides the required ones. The
//! signature base is written out here by hand, as RFC 9421 section 2.5
//! says, not with `tillcode_protocol`.

use ed25519_dalek::Signer;
use rand_core::OsRng;
use serde_json::json;
use tillcode_protocol::content_digest;
use tillcode_protocol::http_signature::new_nonce;

use super::{Shop, now_ms, problem};

/// `Date` as such a library sends it.
const DATE: &str = "Sun, 06 Dec 2026 21:00:00 GMT";

/// Signs a redemption of `code` covering `components` (names of the
/// Signature-Input, in order), sends it, and returns the answer.
async fn redeem_signed_over(
    shop: &Shop,
    components: &[&str],
    code: &str,
    key: &str,
) -> (u16, serde_json::Value) {
    let url = shop.app.url("/v1/redemptions");
    let authority = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let body = json!({"code": code, "amount": 10}).to_string();
    let digest = content_digest(body.as_bytes());
    let value = |name: &str| match name {
        "@method" => "POST".to_owned(),
        "@path" => "/v1/redemptions".to_owned(),
        "@query" => "?".to_owned(),
        "@authority" => authority.clone(),
        "content-digest" => digest.clone(),
        "idempotency-key" => key.to_owned(),
        "date" => DATE.to_owned(),
        other => panic!("no value for {other}"),
    };
    let inner = components
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let params = format!(
        "({inner});created={};keyid=\"terminal:{}\";alg=\"ed25519\";nonce=\"{}\";tag=\"tillcode/v1\"",
        now_ms() / 1000,
        shop.terminal.id,
        new_nonce(&mut OsRng)
    );
    let mut base = String::new();
    for c in components {
        base.push_str(&format!("\"{c}\": {}\n", value(c)));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    let signature = shop.terminal.key.sign(base.as_bytes()).to_bytes();
    let response = reqwest::Client::new()
        .post(&url)
        .header("Content-Type", "application/json")
        .header("Content-Digest", &digest)
        .header("Idempotency-Key", key)
        .header("Date", DATE)
        .header("Signature-Input", format!("tc={params}"))
        .header(
            "Signature",
            format!(
                "tc=:{}:",
                data_encoding::BASE64.encode(signature.as_slice())
            ),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_till_that_signs_content_digest_last_and_covers_date_and_authority_is_accepted() {
    let shop = Shop::open().await;
    let orders: [&[&str]; 2] = [
        &[
            "@method",
            "@path",
            "@query",
            "idempotency-key",
            "content-digest",
        ],
        &[
            "date",
            "@method",
            "@authority",
            "@path",
            "@query",
            "idempotency-key",
            "content-digest",
        ],
    ];
    for (i, components) in orders.iter().enumerate() {
        let code = shop.phone.offline_code(now_ms() + i as u64);
        let (status, body) =
            redeem_signed_over(&shop, components, &code, &format!("other-{i}")).await;
        assert_eq!(status, 201, "{components:?}: {body}");
    }
    assert_eq!(shop.balance().await, 80);
}

#[tokio::test]
async fn a_till_that_leaves_a_required_component_uncovered_is_refused_whatever_else_it_covers() {
    let shop = Shop::open().await;
    let code = shop.phone.offline_code(now_ms());
    let components = [
        "date",
        "@method",
        "@authority",
        "@path",
        "@query",
        "content-digest",
    ];
    let (status, body) = redeem_signed_over(&shop, &components, &code, "uncovered-key").await;
    assert_eq!(
        (status, &body["type"]),
        (401, &problem("signature-invalid")),
        "{body}"
    );
    assert_eq!(shop.balance().await, 100);
}
