//! Rows to post against: a merchant with a points program, and accounts.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

/// A merchant with a points program and one customer account, for tests
/// and benchmarks that need somewhere to post.
pub struct TestMerchant {
    pub merchant: tillcode_protocol::MerchantId,
    pub program: Uuid,
}

impl TestMerchant {
    pub async fn create(conn: &mut AsyncPgConnection) -> Self {
        use diesel::ExpressionMethods;
        use diesel_async::RunQueryDsl;
        use tillcode_db::schema::{merchants, programs};

        let merchant = Uuid::now_v7();
        let program = Uuid::now_v7();
        diesel::insert_into(merchants::table)
            .values((
                merchants::id.eq(merchant),
                merchants::slug.eq(format!("m-{}", merchant.simple())),
                merchants::name.eq("Test merchant"),
            ))
            .execute(conn)
            .await
            .expect("insert merchant");
        diesel::insert_into(programs::table)
            .values((
                programs::merchant_id.eq(merchant),
                programs::id.eq(program),
                programs::name.eq("Test points"),
                programs::unit.eq("points"),
                programs::minor_units.eq(0i16),
            ))
            .execute(conn)
            .await
            .expect("insert program");
        Self {
            merchant: merchant.into(),
            program,
        }
    }

    /// A new customer with an account holding `balance`, credited through
    /// the ledger like any accrual.
    pub async fn account_with(
        &self,
        conn: &mut AsyncPgConnection,
        balance: i64,
    ) -> tillcode_protocol::AccountId {
        use diesel::ExpressionMethods;
        use diesel_async::RunQueryDsl;
        use tillcode_db::schema::{accounts, customers};

        let merchant = Uuid::from(self.merchant);
        let customer = Uuid::now_v7();
        let account = Uuid::now_v7();
        diesel::insert_into(customers::table)
            .values((
                customers::merchant_id.eq(merchant),
                customers::id.eq(customer),
                customers::email.eq(format!("c-{}@example.com", customer.simple())),
                customers::display_name.eq("Test customer"),
            ))
            .execute(conn)
            .await
            .expect("insert customer");
        diesel::insert_into(accounts::table)
            .values((
                accounts::merchant_id.eq(merchant),
                accounts::id.eq(account),
                accounts::program_id.eq(self.program),
                accounts::customer_id.eq(customer),
            ))
            .execute(conn)
            .await
            .expect("insert account");
        let account = tillcode_protocol::AccountId::from(account);
        if balance > 0 {
            let amount = tillcode_protocol::Amount::new(balance).expect("valid starting balance");
            crate::post(
                conn,
                &self.posting(
                    &format!("opening-{account}"),
                    crate::Operation::Accrue { account, amount },
                ),
            )
            .await
            .expect("opening balance");
        }
        account
    }

    /// A posting by the test caller with the given idempotency key.
    pub fn posting(&self, key: &str, operation: crate::Operation) -> crate::Posting {
        crate::Posting {
            merchant: self.merchant,
            caller: TEST_CALLER,
            key: crate::IdempotencyKey::parse(key).expect("valid idempotency key"),
            operation,
            code: None,
            context: None,
            request_fingerprint: None,
        }
    }
}

/// The caller id test postings are made under.
pub const TEST_CALLER: Uuid = Uuid::from_u128(0x7e57);
