DROP FUNCTION ledger_post_batch;
