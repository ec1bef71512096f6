//! What `till-load chaos` finds in the ledger afterwards: this merchant's
//! redemption debits and spent codes, against what the API acknowledged.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tillcode_api::schema::ledger_transfers;
use tillcode_protocol::MerchantId;
use uuid::Uuid;

/// The ledger as written: this merchant's redemptions and spent codes.
pub struct Ledger {
    /// Redemption transfers with their reference (the load's idempotency key).
    debits: Vec<(Uuid, Option<String>)>,
    /// Spent codes: each fingerprint and the transfer it paid.
    codes: Vec<(Vec<u8>, Uuid)>,
}

pub async fn read_ledger(database_url: &str, merchant: MerchantId) -> anyhow::Result<Ledger> {
    let pool = tillcode_api::db::pool(database_url, 1).context("pool")?;
    let mut conn = pool.get().await.context("connect to read the ledger")?;
    let m = Uuid::from(merchant);
    let debits = ledger_transfers::table
        .filter(ledger_transfers::merchant_id.eq(m))
        .filter(ledger_transfers::kind.eq("redeem"))
        .select((ledger_transfers::id, ledger_transfers::reference))
        .load(&mut conn)
        .await?;
    let codes = ledger_transfers::table
        .filter(ledger_transfers::merchant_id.eq(m))
        .filter(ledger_transfers::code_fingerprint.is_not_null())
        .select((
            ledger_transfers::code_fingerprint.assume_not_null(),
            ledger_transfers::id,
        ))
        .load(&mut conn)
        .await?;
    Ok(Ledger { debits, codes })
}

/// Counts of what the ledger says against the acknowledged redemptions.
pub struct Findings {
    pub acknowledged: usize,
    pub in_ledger: usize,
    /// Acknowledged, but not in the ledger.
    pub lost: usize,
    /// In the ledger, but never acknowledged.
    pub unacknowledged: usize,
    /// One idempotency key (the transfer's reference), several debits.
    pub keys_debited_twice: usize,
    /// One code fingerprint, several spent-code rows.
    pub codes_debited_twice: usize,
    /// A redemption debit that spent no code.
    pub debits_without_code: usize,
    /// One code payload acknowledged with different transfers.
    pub codes_paid_twice: usize,
}

impl Ledger {
    /// `paid`: each acknowledged transfer with the code that paid it.
    pub fn compare(&self, paid: &[(Uuid, &str)]) -> Findings {
        let in_ledger: HashSet<Uuid> = self.debits.iter().map(|(id, _)| *id).collect();
        let acknowledged: HashSet<Uuid> = paid.iter().map(|(id, _)| *id).collect();
        let mut per_reference: HashMap<&str, u64> = HashMap::new();
        for (_, reference) in &self.debits {
            *per_reference
                .entry(reference.as_deref().unwrap_or(""))
                .or_default() += 1;
        }
        let mut per_fingerprint: HashMap<&[u8], u64> = HashMap::new();
        for (fingerprint, _) in &self.codes {
            *per_fingerprint.entry(fingerprint).or_default() += 1;
        }
        let with_code: HashSet<Uuid> = self.codes.iter().map(|(_, t)| *t).collect();
        let mut per_code: HashMap<&str, HashSet<Uuid>> = HashMap::new();
        for (transfer, code) in paid {
            per_code.entry(code).or_default().insert(*transfer);
        }
        Findings {
            acknowledged: acknowledged.len(),
            in_ledger: in_ledger.len(),
            lost: acknowledged.difference(&in_ledger).count(),
            unacknowledged: in_ledger.difference(&acknowledged).count(),
            keys_debited_twice: per_reference.values().filter(|&&n| n > 1).count(),
            codes_debited_twice: per_fingerprint.values().filter(|&&n| n > 1).count(),
            debits_without_code: in_ledger.difference(&with_code).count(),
            codes_paid_twice: per_code.values().filter(|ids| ids.len() > 1).count(),
        }
    }
}
