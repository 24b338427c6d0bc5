//! Time of the backward-compatibility check (issue #13) on a real history: the documenso
//! migrations of `../shared/corpus` (163), with 200 captured statements of the "old version".
//!
//! The target database gets the first `MIGRATE_BENCH_APPLIED` migrations (default: half); the
//! old version's statements are generated from that schema as Prisma sends them (findUnique,
//! findMany, create, update, delete, count on every table, round-robin, until there are
//! `MIGRATE_BENCH_STATEMENTS`, default 200) and written to a queries file; then
//! `migrate_core::compat::check` copies the schema into a disposable cluster, applies the
//! remaining migrations one by one and prepares every statement after each.
//!
//! ```text
//! cargo bench -p migrate-benches --bench compat            # 3 rounds
//! MIGRATE_BENCH_ROUNDS=5 MIGRATE_BENCH_APPLIED=1 cargo bench -p migrate-benches --bench compat
//! ```

use std::path::PathBuf;
use std::time::Duration;

use migrate_core::compat::{self, CompatOptions};
use migrate_core::embedded::EmbeddedCluster;
use migrate_core::executor::MigrationExecutor;
use migrate_core::{DeployOptions, MigrationSource, Migrations, PgExecutor};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let dir = std::env::var_os("MIGRATE_BENCH_DIR").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/corpus/documenso/migrations")
        },
        PathBuf::from,
    );
    if !dir.is_dir() {
        println!("NOTICE: benchmark skipped: {} not found", dir.display());
        return;
    }
    let migrations = MigrationSource::new(&dir)
        .load()
        .expect("reading the migrations");
    let rounds = env_or("MIGRATE_BENCH_ROUNDS", 3);
    let applied = env_or("MIGRATE_BENCH_APPLIED", migrations.len() / 2).min(migrations.len());
    let wanted = env_or("MIGRATE_BENCH_STATEMENTS", 200);

    let cluster = EmbeddedCluster::start().expect("starting the embedded cluster");
    let db = cluster.create_database("compat_bench").expect("database");
    let url: migrate_core::DatabaseUrl = cluster.url(&db).parse().expect("url");
    let old: Vec<_> = migrations.iter().take(applied).cloned().collect();
    let old = Migrations::from_vec(dir.clone(), old);
    PgExecutor::connect(&url)
        .expect("connect")
        .deploy(&old, &DeployOptions::default(), &mut |_| {})
        .expect("deploying the old version's migrations");
    let pending: Vec<String> = migrations
        .iter()
        .skip(applied)
        .map(|m| m.name().to_owned())
        .collect();

    let statements = prisma_statements(&mut cluster.connect(&db).expect("session"), wanted);
    let queries = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(queries.path(), statements.join(";\n") + ";\n").expect("write queries");
    let mut options = CompatOptions::default();
    options.pg_stat_statements = false;
    options.queries_file = Some(queries.path().to_owned());
    options.budget = Duration::from_secs(600);

    println!(
        "documenso: {} migrations, {applied} applied on the target, {} pending; {} captured \
         statements; {rounds} round(s)",
        migrations.len(),
        pending.len(),
        statements.len()
    );
    let mut totals = Vec::new();
    for round in 1..=rounds {
        let mut client = cluster.connect(&db).expect("session");
        let report = compat::check(&url, &mut client, &migrations, &pending, &options)
            .expect("the compatibility check");
        println!(
            "round {round}: {:.3} s in all (copy {:.3} s, cluster start included), {} PREPAREs, \
             {} statement(s), {} break(s), {} failing before, {} unchecked, {} copy warning(s)",
            report.duration.as_secs_f64(),
            report.copy_duration.as_secs_f64(),
            report.prepares,
            report.capture.statements.len(),
            report.breaks.len(),
            report.failing_before.len(),
            report.unchecked,
            report.copy_warnings.len()
        );
        if round == 1 {
            for b in report.breaks.iter().take(5) {
                println!(
                    "  e.g. {}:{} breaks `{}`: {}",
                    b.migration, b.line, b.statement, b.error
                );
            }
        }
        totals.push(report.duration);
    }
    totals.sort();
    println!(
        "median: {:.3} s for {} distinct statements against {} pending migrations",
        totals[totals.len() / 2].as_secs_f64(),
        statements.len(),
        pending.len()
    );
}

/// Statements as Prisma's query engine writes them, for every table of `public` in turn.
fn prisma_statements(client: &mut postgres::Client, wanted: usize) -> Vec<String> {
    let rows = client
        .query(
            "SELECT c.relname::text, a.attname::text, a.attnotnull AND NOT a.atthasdef \
             FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' \
               AND c.relname <> '_prisma_migrations' AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY c.relname, a.attnum",
            &[],
        )
        .expect("reading the schema");
    let mut tables: Vec<(String, Vec<(String, bool)>)> = Vec::new();
    for row in rows {
        let (table, column, required): (String, String, bool) =
            (row.get(0), row.get(1), row.get(2));
        match tables.last_mut() {
            Some((t, cols)) if *t == table => cols.push((column, required)),
            _ => tables.push((table, vec![(column, required)])),
        }
    }
    let q = |t: &str, c: &str| format!("\"public\".\"{t}\".\"{c}\"");
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Pass p gives every table shape p % 6 on column p / 6 (+ its index): distinct texts, as an
    // application's queries filter and write different fields.
    for pass in 0..600 {
        if out.len() >= wanted || tables.is_empty() {
            break;
        }
        for (i, (t, cols)) in tables.iter().enumerate() {
            if out.len() >= wanted {
                break;
            }
            let key = &cols.iter().find(|(c, _)| c == "id").unwrap_or(&cols[0]).0;
            let select = cols
                .iter()
                .map(|(c, _)| q(t, c))
                .collect::<Vec<_>>()
                .join(", ");
            let other = &cols[(pass / 6 + i) % cols.len()].0;
            let filter = if pass < 6 { key } else { other };
            let statement = match pass % 6 {
                0 => format!(
                    "SELECT {select} FROM \"public\".\"{t}\" WHERE ({} = $1 AND 1=1) LIMIT $2 OFFSET $3",
                    q(t, filter)
                ),
                1 => format!(
                    "SELECT {select} FROM \"public\".\"{t}\" WHERE {} = $1 ORDER BY {} ASC LIMIT $2 OFFSET $3",
                    q(t, other),
                    q(t, key)
                ),
                2 => {
                    let mut set: Vec<&str> = cols
                        .iter()
                        .filter(|(_, required)| *required)
                        .map(|(c, _)| c.as_str())
                        .collect();
                    if !set.contains(&other.as_str()) {
                        set.push(other);
                    }
                    let names: Vec<String> = set.iter().map(|c| format!("\"{c}\"")).collect();
                    let params: Vec<String> = (1..=set.len()).map(|i| format!("${i}")).collect();
                    format!(
                        "INSERT INTO \"public\".\"{t}\" ({}) VALUES ({}) RETURNING {select}",
                        names.join(","),
                        params.join(",")
                    )
                }
                3 => format!(
                    "UPDATE \"public\".\"{t}\" SET \"{other}\" = $1 WHERE ({} = $2 AND 1=1) RETURNING {select}",
                    q(t, key)
                ),
                4 => format!(
                    "DELETE FROM \"public\".\"{t}\" WHERE ({} = $1 AND 1=1)",
                    q(t, filter)
                ),
                _ => format!(
                    "SELECT COUNT(*) AS \"_count._all\" FROM (SELECT {} FROM \"public\".\"{t}\" WHERE {} = $1 OFFSET $2) AS \"sub\"",
                    q(t, key),
                    q(t, filter)
                ),
            };
            if seen.insert(statement.clone()) {
                out.push(statement);
            }
        }
    }
    out
}
