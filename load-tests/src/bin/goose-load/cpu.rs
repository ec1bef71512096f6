//! Where the CPU went during the attack: user + system time from
//! `/proc/<pid>/stat` of the API, Redis, this load generator and every
//! Postgres backend connected to the API's database, read before and after.
//! Shown as percent of one core (200% = both cores of a 2-core machine).
//!
//! Postgres's shared background processes (WAL writer, checkpointer) serve
//! every database on the server and are left out; so is whatever else shares
//! Redis.

use std::collections::HashMap;
use std::time::Instant;

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

/// `/proc` counts in USER_HZ, which Linux fixes at 100 for user space.
const TICKS_PER_SECOND: f64 = 100.0;

/// `name=pid`, as given on the command line.
#[derive(Clone, Debug)]
pub struct Named {
    pub name: String,
    pub pid: u32,
}

impl std::str::FromStr for Named {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, pid) = s.split_once('=').ok_or("expected NAME=PID")?;
        Ok(Self {
            name: name.to_owned(),
            pid: pid.parse().map_err(|e| format!("{pid}: {e}"))?,
        })
    }
}

/// utime + stime of a process, in ticks; `None` once it is gone.
fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields count from after its ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[derive(diesel::QueryableByName)]
struct Backend {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

async fn backends(conn: &mut AsyncPgConnection) -> Vec<u32> {
    let rows: Vec<Backend> = diesel::sql_query(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .load(conn)
    .await
    .unwrap_or_default();
    rows.into_iter()
        .filter_map(|b| u32::try_from(b.pid).ok())
        .collect()
}

pub struct Sample {
    at: Instant,
    named: Vec<(String, u64)>,
    postgres: HashMap<u32, u64>,
}

pub async fn sample(named: &[Named], conn: &mut AsyncPgConnection) -> Sample {
    let mut all: Vec<(String, u64)> = named
        .iter()
        .map(|n| (n.name.clone(), ticks(n.pid).unwrap_or(0)))
        .collect();
    all.push((
        "load_generator".into(),
        ticks(std::process::id()).unwrap_or(0),
    ));
    let postgres = backends(conn)
        .await
        .into_iter()
        .filter_map(|pid| ticks(pid).map(|t| (pid, t)))
        .collect();
    Sample {
        at: Instant::now(),
        named: all,
        postgres,
    }
}

/// Percent of one core each used between `before` and `after`. Backends
/// that connected in between count from zero; those that left are lost
/// (the API keeps its pool open, so few do).
pub fn split(before: &Sample, after: &Sample) -> Value {
    let seconds = (after.at - before.at).as_secs_f64().max(1e-9);
    let percent = |ticks: u64| (ticks as f64 / TICKS_PER_SECOND / seconds * 1000.0).round() / 10.0;
    let mut out = serde_json::Map::new();
    for ((name, start), (_, end)) in before.named.iter().zip(&after.named) {
        out.insert(name.clone(), json!(percent(end.saturating_sub(*start))));
    }
    let postgres: u64 = after
        .postgres
        .iter()
        .map(|(pid, end)| end.saturating_sub(before.postgres.get(pid).copied().unwrap_or(0)))
        .sum();
    out.insert("postgres".into(), json!(percent(postgres)));
    out.insert("postgres_backends".into(), json!(after.postgres.len()));
    out.insert("seconds".into(), json!(seconds));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_and_pids_parse_and_this_process_has_cpu_ticks() {
        let named: Named = "api=1234".parse().unwrap();
        assert_eq!((named.name.as_str(), named.pid), ("api", 1234));
        assert!("api".parse::<Named>().is_err());
        assert!("api=x".parse::<Named>().is_err());
        // Burn a little CPU so that the count cannot be zero.
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        assert!(ticks(std::process::id()).is_some_and(|t| t > 0));
        assert_eq!(ticks(u32::MAX), None);
    }
}
