//! `tillcode-api verify-ledger`: every invariant of the ledger, checked
//! against the whole database. Also run by the tests after every scenario.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

/// Each check counts the rows that break one invariant; zero means it holds.
///
/// A transfer is one row that names both of its books (the customer's
/// account and, through the account's program, the issuance book), so the
/// entries' own invariants (two per transfer, summing to zero, booked to the
/// account's program) hold by construction; `ledger_entries` is a view that
/// shows them. What can still go wrong is checked here.
const CHECKS: &[(&str, &str)] = &[
    (
        "every balance equals the sum of its transfers",
        "SELECT count(*) AS n FROM accounts a
         LEFT JOIN (SELECT merchant_id, account_id, sum(balance_change) AS s FROM ledger_transfers
                    GROUP BY merchant_id, account_id) t
           ON t.merchant_id = a.merchant_id AND t.account_id = a.id
         WHERE a.balance <> COALESCE(t.s, 0)",
    ),
    (
        "a code pays only from the account of its device's customer",
        "SELECT count(*) AS n FROM ledger_transfers t
         JOIN devices d ON d.merchant_id = t.merchant_id AND d.id = t.code_device_id
         JOIN accounts a ON a.merchant_id = t.merchant_id AND a.id = t.account_id
         WHERE a.customer_id <> d.customer_id",
    ),
    (
        "a redemption's reversed amount is the sum of its voids and refunds",
        "SELECT count(*) AS n FROM ledger_transfers r
         LEFT JOIN (SELECT merchant_id, reverses_id, sum(balance_change) AS s FROM ledger_transfers
                    WHERE reverses_id IS NOT NULL GROUP BY merchant_id, reverses_id) x
           ON x.merchant_id = r.merchant_id AND x.reverses_id = r.id
         WHERE r.kind = 'redeem' AND r.reversed_amount <> COALESCE(x.s, 0)",
    ),
    (
        "a redemption is marked voided exactly when a void names it",
        "SELECT count(*) AS n FROM ledger_transfers r
         WHERE r.kind = 'redeem' AND r.voided <> EXISTS (
             SELECT 1 FROM ledger_transfers v
             WHERE v.merchant_id = r.merchant_id AND v.reverses_id = r.id AND v.kind = 'void')",
    ),
    (
        "voids and refunds reverse a redemption of the same account",
        "SELECT count(*) AS n FROM ledger_transfers x
         JOIN ledger_transfers r ON r.merchant_id = x.merchant_id AND r.id = x.reverses_id
         WHERE r.kind <> 'redeem' OR r.account_id <> x.account_id",
    ),
];

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(Debug, Serialize, QueryableByName)]
pub struct ProgramTotals {
    #[diesel(sql_type = SqlUuid)]
    pub merchant_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub program_id: Uuid,
    #[diesel(sql_type = Text)]
    pub unit: String,
    #[diesel(sql_type = BigInt)]
    pub accounts: i64,
    /// What the merchant owes its customers: the sum of their balances.
    #[diesel(sql_type = BigInt)]
    pub liability: i64,
    /// The issuance book's balance; always `-liability` in a sound ledger.
    #[diesel(sql_type = BigInt)]
    pub issuance_balance: i64,
    #[diesel(sql_type = BigInt)]
    pub transfers: i64,
}

const TOTALS: &str = "
    SELECT p.merchant_id, p.id AS program_id, p.unit,
           (SELECT count(*) FROM accounts a WHERE a.merchant_id = p.merchant_id AND a.program_id = p.id) AS accounts,
           (SELECT COALESCE(sum(a.balance), 0)::bigint FROM accounts a
             WHERE a.merchant_id = p.merchant_id AND a.program_id = p.id) AS liability,
           (SELECT COALESCE(sum(e.amount), 0)::bigint FROM ledger_entries e
             WHERE e.merchant_id = p.merchant_id AND e.program_id = p.id AND e.book = 'issuance') AS issuance_balance,
           (SELECT count(*) FROM ledger_entries e
             WHERE e.merchant_id = p.merchant_id AND e.program_id = p.id AND e.book = 'issuance') AS transfers
    FROM programs p ORDER BY p.merchant_id";

#[derive(Debug, Serialize)]
pub struct Violation {
    pub invariant: &'static str,
    pub rows: i64,
}

#[derive(Debug, Serialize)]
pub struct LedgerReport {
    pub ok: bool,
    pub programs: Vec<ProgramTotals>,
    pub violations: Vec<Violation>,
}

impl LedgerReport {
    /// Whether the check named `invariant` found rows that break it.
    pub fn breaks(&self, invariant: &str) -> bool {
        self.violations.iter().any(|v| v.invariant == invariant)
    }
}

/// Checks every invariant. Run it in a REPEATABLE READ transaction so that all
/// checks see one snapshot even while the API keeps writing.
pub async fn verify(conn: &mut AsyncPgConnection) -> QueryResult<LedgerReport> {
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            // Every check reads whole tables, where hash joins are right. With
            // statistics from before a burst of writes (autovacuum not yet
            // round), the planner once chose a nested loop that re-ran an
            // aggregate of ledger_transfers for each of its 180,000 rows: 11
            // minutes and counting, in ops/bench.sh.
            diesel::sql_query("SET LOCAL enable_nestloop = off")
                .execute(conn)
                .await?;
            let mut violations = Vec::new();
            for (invariant, sql) in CHECKS {
                let rows = diesel::sql_query(*sql).get_result::<Count>(conn).await?.n;
                if rows != 0 {
                    violations.push(Violation { invariant, rows });
                }
            }
            let programs: Vec<ProgramTotals> = diesel::sql_query(TOTALS).load(conn).await?;
            for p in &programs {
                if p.liability != -p.issuance_balance {
                    violations.push(Violation {
                        invariant: "a program's liability mirrors its issuance book",
                        rows: 1,
                    });
                }
            }
            Ok(LedgerReport {
                ok: violations.is_empty(),
                programs,
                violations,
            })
        })
        .await
}
