-- Generic plans for the statements inside the posting function.
--
-- This migration once created or restated the ledger's posting functions.
-- They now live in ledger/sql/, one file each under a versioned name, and
-- `tillcode-api migrate` creates them after the migrations (docs/ledger.md,
-- "Where the SQL lives"); migrations change only tables and data. Databases
-- that ran the old text of this migration keep the unversioned functions it
-- made, for hosts of the releases before ledger/sql/.
SELECT 1;
