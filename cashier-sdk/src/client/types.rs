//! Request and response bodies of the terminal HTTP API. Responses accept
//! fields they do not know, so that a newer server does not break an older
//! till; requests send exactly the fields the server expects. Responses are
//! also `Serialize`, so the CLI prints what it read.

use serde::{Deserialize, Serialize};
use tillcode_protocol::{Amount, CustomerId, MerchantId, StoreId, TransferId};
use uuid::Uuid;

/// `POST /v1/terminals/enroll` and `GET /v1/terminal`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalView {
    pub terminal_id: Uuid,
    pub merchant_id: MerchantId,
    pub store_id: StoreId,
    pub name: String,
    /// `pending`, `active`, `suspended` or `revoked`; kept as text so that
    /// a status added later is shown rather than refused.
    pub status: String,
    pub fingerprint: String,
}

/// The body of `POST /v1/redemptions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RedeemRequest {
    /// The payload read off the customer's phone, exactly as read.
    pub code: String,
    pub amount: Amount,
    /// Points to accrue in the same sale, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earn: Option<Amount>,
    /// The till's own reference for the sale (at most 64 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// `POST /v1/redemptions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    pub redemption_id: TransferId,
    pub amount: i64,
    pub balance_after: i64,
    #[serde(default)]
    pub earned: Option<Earned>,
    /// The customer's masked name (`Ana B.`), for the till screen.
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub code_kind: Option<String>,
    /// True when this is the stored answer to an earlier attempt with the
    /// same idempotency key: the balance moved once, then.
    #[serde(default)]
    pub replayed: bool,
}

/// The accrual made with a redemption (`earn`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earned {
    pub accrual_id: TransferId,
    pub amount: i64,
    pub balance_after: i64,
}

/// Whose balance an accrual credits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum AccrualTarget {
    /// A payment code shown by the customer.
    #[serde(rename = "code")]
    Code(String),
    /// A customer the till already knows.
    #[serde(rename = "customer_id")]
    Customer(CustomerId),
}

/// The body of `POST /v1/accruals`: `{code | customer_id, amount, reference?}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccrueRequest {
    #[serde(flatten)]
    pub target: AccrualTarget,
    pub amount: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// `POST /v1/accruals`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accrual {
    pub accrual_id: TransferId,
    pub amount: i64,
    pub balance_after: i64,
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub replayed: bool,
}

/// `POST /v1/redemptions/{id}/void`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Void {
    /// The contract names it `void_id`; the API as first written answers
    /// `id`. Both are read, so the till works with either.
    #[serde(alias = "id")]
    pub void_id: TransferId,
    pub redemption_id: TransferId,
    pub amount: i64,
    pub balance_after: i64,
    #[serde(default)]
    pub replayed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct RefundRequest {
    pub amount: Amount,
}

/// `POST /v1/redemptions/{id}/refunds`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// `refund_id`, or `id` (see [`Void::void_id`]).
    #[serde(alias = "id")]
    pub refund_id: TransferId,
    pub redemption_id: TransferId,
    pub amount: i64,
    pub balance_after: i64,
    #[serde(default)]
    pub replayed: bool,
}

/// `GET /v1/terminal/transactions`: one page, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionPage {
    pub items: Vec<Transaction>,
    /// Pass as `starting_after` for the next page; `None` on the last.
    #[serde(default)]
    pub next_cursor: Option<Uuid>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub transfer_id: TransferId,
    /// `redeem`, `accrue`, `void`, `refund`, ...
    pub kind: String,
    pub amount: i64,
    #[serde(default)]
    pub balance_after: Option<i64>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub code_kind: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// The id a response names, for the CLI's paths: `Uuid` text.
pub(crate) fn id_segment(id: TransferId) -> String {
    Uuid::from(id).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn amount(n: i64) -> Amount {
        Amount::new(n).unwrap()
    }

    #[test]
    fn a_redemption_request_sends_only_the_fields_given() {
        let bare = RedeemRequest {
            code: "TC1K".into(),
            amount: amount(30),
            earn: None,
            reference: None,
        };
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            json!({"code": "TC1K", "amount": 30})
        );
        let full = RedeemRequest {
            earn: Some(amount(3)),
            reference: Some("order-7".into()),
            ..bare
        };
        assert_eq!(
            serde_json::to_value(&full).unwrap(),
            json!({"code": "TC1K", "amount": 30, "earn": 3, "reference": "order-7"})
        );
    }

    #[test]
    fn an_accrual_names_either_a_code_or_a_customer() {
        let by_code = AccrueRequest {
            target: AccrualTarget::Code("TC1K".into()),
            amount: amount(5),
            reference: None,
        };
        assert_eq!(
            serde_json::to_value(&by_code).unwrap(),
            json!({"code": "TC1K", "amount": 5})
        );
        let customer: CustomerId = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f01".parse().unwrap();
        let by_customer = AccrueRequest {
            target: AccrualTarget::Customer(customer),
            amount: amount(5),
            reference: Some("r".into()),
        };
        assert_eq!(
            serde_json::to_value(&by_customer).unwrap(),
            json!({"customer_id": customer, "amount": 5, "reference": "r"})
        );
    }

    #[test]
    fn a_redemption_answer_with_earned_points_and_unknown_fields_reads() {
        let answer = json!({
            "redemption_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f0a",
            "amount": 30,
            "balance_after": 70,
            "earned": {
                "accrual_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f0b",
                "amount": 3,
                "balance_after": 73,
            },
            "customer": "Ana B.",
            "code_kind": "offline",
            "replayed": false,
            "added_later": true,
        });
        let redemption: Redemption = serde_json::from_value(answer).unwrap();
        assert_eq!(redemption.earned.unwrap().balance_after, 73);
        assert_eq!(redemption.customer.as_deref(), Some("Ana B."));
    }

    #[test]
    fn a_void_or_refund_answer_names_its_own_id_either_way() {
        let id = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f0c";
        let redemption = "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f0a";
        for field in ["void_id", "id"] {
            let void: Void = serde_json::from_value(json!({
                field: id, "redemption_id": redemption, "amount": 5,
                "balance_after": 50, "replayed": false,
            }))
            .unwrap();
            assert_eq!(void.void_id.to_string(), id);
        }
        for field in ["refund_id", "id"] {
            let refund: Refund = serde_json::from_value(json!({
                field: id, "redemption_id": redemption, "amount": 5,
                "balance_after": 50, "replayed": true,
            }))
            .unwrap();
            assert_eq!(refund.refund_id.to_string(), id);
            // Printed under the contract's name.
            assert_eq!(serde_json::to_value(&refund).unwrap()["refund_id"], id);
        }
    }

    #[test]
    fn a_transaction_page_reads_with_nulls() {
        let page: TransactionPage = serde_json::from_value(json!({
            "items": [{
                "transfer_id": "0190f3c2-6a8e-7b3d-9c41-5e2a7d1b8f0a",
                "kind": "redeem",
                "amount": 30,
                "balance_after": 70,
                "reference": null,
                "code_kind": "online",
                "created_at": "2026-11-23T10:00:00Z",
            }],
            "next_cursor": null,
        }))
        .unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next_cursor, None);
    }
}
