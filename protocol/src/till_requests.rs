//! The JSON bodies a till sends to the redemption endpoints, as the server
//! reads them (`POST /v1/redemptions`, `/v1/accruals`,
//! `/v1/redemptions/{id}/void` and `/refunds`).
//!
//! They live here, not in the API crate, so that the fuzz targets in `fuzz/`
//! deserialize exactly the types the server does without building the
//! server (actix, diesel, Redis). The `openapi` feature, which only the API
//! enables, derives their OpenAPI schemas.
//!
//! Unknown fields are refused. Amounts are read as any JSON integer (`i128`)
//! so that a value beyond `i64` is refused by [`crate::Amount`] as an
//! invalid amount rather than as bad JSON; the server converts them with
//! `Amount::try_from`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"code": "TC1KAAISEM2EKVTHPCEZVK54ZXPO74", "amount": 30, "earn": 5, "reference": "order-1042"}))
)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The scanned QR payload or the typed numeric code.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "TC1KAAISEM2EKVTHPCEZVK54ZXPO74")
    )]
    pub code: String,
    /// To spend, in the program's unit.
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 30))]
    pub amount: i128,
    /// To earn on the rest of the purchase, in the same transaction.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, example = 5))]
    pub earn: Option<i128>,
    /// The till's order reference.
    #[cfg_attr(feature = "openapi", schema(example = "order-1042"))]
    pub reference: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"code": "123456789938022008", "amount": 100, "reference": "order-1043"}))
)]
#[serde(deny_unknown_fields)]
pub struct AccrueRequest {
    /// A scanned code; or give `customer_id`.
    pub code: Option<String>,
    pub customer_id: Option<Uuid>,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 100))]
    pub amount: i128,
    pub reference: Option<String>,
}

/// Voiding takes no parameters: the body is `{}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({}))
)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"amount": 10}))
)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 10))]
    pub amount: i128,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vector_redemption_body_reads_and_writes_back_the_same() {
        let body =
            r#"{"code":"TC1KAAISEM2EKVTHPCEZVK54ZXPO74","amount":30,"earn":null,"reference":null}"#;
        let request: RedeemRequest = serde_json::from_str(body).unwrap();
        assert_eq!(request.amount, 30);
        assert_eq!(serde_json::to_string(&request).unwrap(), body);
    }

    #[test]
    fn unknown_fields_are_refused_and_big_amounts_are_read() {
        assert!(serde_json::from_str::<VoidRequest>(r#"{"x":1}"#).is_err());
        assert!(serde_json::from_str::<RefundRequest>(r#"{"amount":1,"y":2}"#).is_err());
        let huge: RefundRequest =
            serde_json::from_str(r#"{"amount":100000000000000000000000}"#).unwrap();
        assert!(crate::Amount::try_from(huge.amount).is_err());
    }
}
