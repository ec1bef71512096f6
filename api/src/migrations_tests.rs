//! Every migration's down.sql undoes its up.sql (Lemmy's `diff_check` is
//! the model): from an empty database, each migration in turn is applied,
//! reverted and applied again, and the schema after each step is compared
//! with what it must be. The schema is read from Postgres's catalog
//! (columns, constraints, indexes, views, functions with their settings,
//! triggers, enum types), so a down.sql that forgets a function's old body,
//! an index or a `SET plan_cache_mode` fails here, not in a rollback at 3 am.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, sql_query};
use diesel_migrations::MigrationHarness;

use crate::db::MIGRATIONS;
use crate::testing::TestDatabase;

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
        assert_ne!(applied, before, "{name} changed nothing in the schema");
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
