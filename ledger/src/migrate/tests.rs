//! Every migration's down.sql undoes its up.sql (Lemmy's `diff_check` is
//! the model): from an empty database, each migration in turn is applied,
//! reverted and applied again, and the schema after each step is compared
//! with what it must be. The schema is read from Postgres's catalog
//! (columns, constraints, indexes, views, functions with their settings,
//! triggers, enum types), so a down.sql that forgets an index, a constraint
//! or a view fails here, not in a rollback at 3 am.
//!
//! Then the ledger's functions (`ledger/sql/`): each released version keeps
//! the body it was released with, and creating them is harmless to repeat.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, sql_query};
use diesel_migrations::MigrationHarness;
use sha2::{Digest, Sha256};

use super::{FUNCTIONS, MIGRATIONS, create_functions};
use crate::testing::TestDatabase;

/// The migrations that once held only function bodies, which now live in
/// `ledger/sql/`: they change nothing any more.
const EMPTIED: [&str; 5] = [
    "20261123000005",
    "20261205000008",
    "20261205000009",
    "20261205000010",
    "20261206000012",
];

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// The public schema, one sorted line per object.
fn schema(conn: &mut PgConnection) -> Vec<String> {
    sql_query(
        "SELECT line FROM (
            SELECT format('column %s.%s %s %s default %s', table_name, column_name, data_type,
                          is_nullable, coalesce(column_default, '-')) AS line
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
          UNION ALL
            SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
            FROM pg_constraint WHERE connamespace = 'public'::regnamespace
          UNION ALL
            SELECT format('index %s', indexdef) FROM pg_indexes
            WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'
          UNION ALL
            SELECT format('view %s %s', viewname, definition) FROM pg_views WHERE schemaname = 'public'
          UNION ALL
            SELECT format('function %s', pg_get_functiondef(oid)) FROM pg_proc
            WHERE pronamespace = 'public'::regnamespace AND prokind IN ('f', 'p')
          UNION ALL
            SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
          UNION ALL
            SELECT format('enum %s %s', t.typname, e.enumlabel)
            FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
        ) AS schema ORDER BY line",
    )
    .load::<Line>(conn)
    .expect("read the schema from the catalog")
    .into_iter()
    .map(|l| l.line)
    .collect()
}

/// The lines of `after` that are not in `before`, and the other way round.
fn difference(before: &[String], after: &[String]) -> String {
    let gone: Vec<&String> = before.iter().filter(|l| !after.contains(l)).collect();
    let new: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    format!("missing: {gone:#?}\nextra: {new:#?}")
}

#[test]
fn every_migration_reverted_leaves_the_schema_it_found_and_applies_again() {
    let db = TestDatabase::empty();
    let mut conn = PgConnection::establish(db.url()).expect("connect");
    let count = conn.pending_migrations(MIGRATIONS).unwrap().len();
    assert!(count > 10, "only {count} migrations found");
    for _ in 0..count {
        let before = schema(&mut conn);
        let name = conn.run_next_migration(MIGRATIONS).unwrap().to_string();
        let applied = schema(&mut conn);
        let emptied = EMPTIED.iter().any(|version| name.starts_with(version));
        assert_eq!(
            applied == before,
            emptied,
            "{name}: changes nothing (or changes something, though listed in EMPTIED)"
        );
        conn.revert_last_migration(MIGRATIONS).unwrap();
        let reverted = schema(&mut conn);
        assert!(
            reverted == before,
            "{name}: down.sql does not undo up.sql\n{}",
            difference(&before, &reverted)
        );
        conn.run_next_migration(MIGRATIONS).unwrap();
        let again = schema(&mut conn);
        assert!(
            again == applied,
            "{name}: applied again after down.sql, it is not what it was\n{}",
            difference(&applied, &again)
        );
    }
    assert!(conn.pending_migrations(MIGRATIONS).unwrap().is_empty());
}

/// Every version of a function, with the SHA-256 of the body it was
/// released with (comments and spacing aside). Changing a released body
/// changes what hosts of the previous release get during a rolling deploy:
/// give the function a new version instead (`_v2`, and the Rust that calls
/// it), and add that here. A change that truly keeps the signature and the
/// meaning (a faster plan for the same answers) may update the hash, with
/// the reason in the commit.
const RELEASED: [(&str, &str); 6] = [
    (
        "ledger_code_refusal_v1",
        "b5c5b3cae382e2cf33b124aec4cf90e48370f48f97189d6a2443f94c4837409f",
    ),
    (
        "ledger_balance_refusal_v1",
        "95979f76068c0286c9ac2edf7c3ad2fe8abbdefbf036a73f8387fe2179985bf1",
    ),
    (
        "ledger_reversal_refusal_v1",
        "51cce96aea0e14c87852548965de047630367aea19c01b54604650dd7c8dcb63",
    ),
    (
        "ledger_refusal_v1",
        "6198f8f8091990d54a8a426906c32fcb474f786066659e1ef219cdc0226e86f5",
    ),
    (
        "ledger_post_each_v1",
        "f597f0135bab81e83ce1ae9f45e0e6154d774a006ceeecb28284442234060919",
    ),
    (
        "ledger_post_batch_v1",
        "9ef7d81d6eaf2debff71632db3fe0a8e320fe87368df00c24f9593c15998e944",
    ),
];

/// The names a file creates, and the hash of its SQL without comments and
/// with spacing made uniform.
fn functions_and_body(sql: &str) -> (Vec<String>, String) {
    let code: Vec<&str> = sql
        .lines()
        .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
        .flat_map(str::split_whitespace)
        .collect();
    let found = code
        .windows(5)
        .filter(|w| w[..4] == ["CREATE", "OR", "REPLACE", "FUNCTION"])
        .map(|w| w[4].split('(').next().unwrap_or(w[4]).to_owned())
        .collect();
    (found, hex::encode(Sha256::digest(code.join(" "))))
}

#[test]
fn every_released_function_keeps_its_body_and_carries_a_version() {
    let mut seen = Vec::new();
    for file in &FUNCTIONS {
        let (names, hash) = functions_and_body(file.sql);
        assert_eq!(
            names.len(),
            1,
            "{}: one function a file, found {names:?}",
            file.name
        );
        let name = &names[0];
        let version = name.rsplit_once("_v").map(|(_, v)| v);
        assert!(
            version.is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())),
            "{}: {name} has no version suffix (_v1, _v2...)",
            file.name
        );
        let released = RELEASED.iter().find(|(n, _)| n == name);
        assert_eq!(
            released.map(|(_, h)| *h),
            Some(hash.as_str()),
            "{}: {name} is not released with this body; a released function keeps its body \
             (give it a new version), a new one is added to RELEASED with hash {hash}",
            file.name
        );
        seen.push(name.clone());
    }
    for (name, _) in RELEASED {
        assert!(
            seen.iter().any(|s| s == name),
            "{name} is in RELEASED but in no file"
        );
    }
}

#[test]
fn migrating_again_recreates_the_functions_and_leaves_older_versions_alone() {
    let db = TestDatabase::new();
    let mut conn = PgConnection::establish(db.url()).expect("connect");
    // A function of an earlier release, which its hosts may still call.
    sql_query("CREATE FUNCTION ledger_post_batch_v0() RETURNS integer LANGUAGE sql AS 'SELECT 0'")
        .execute(&mut conn)
        .unwrap();
    let before = schema(&mut conn);

    let applied = super::run(db.url()).unwrap();
    create_functions(&mut conn).unwrap();

    assert!(applied.is_empty(), "{applied:?}");
    assert_eq!(schema(&mut conn), before);
}
