//! Data-aware mode: enrich findings with live facts from the target database, under a time
//! budget, and downgrade what the data proves harmless (an empty column dropped, an empty table).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use postgres::Client;

use super::ir::{Action, Column, Constraint, DefaultKind, Name, ObjectKind};
use super::timeline::{ColumnOrigin, TableOrigin, Timeline};
use super::{parse_script, Finding, Rule, SafetyReport, Severity};
use crate::ledger::{self, RowState};
use crate::source::Migrations;
use crate::sql::quote_ident;

/// Enriches every finding of `report` with facts read from `client` (read-only queries), within
/// `budget` in total. `schema` is the URL's `?schema=` for unqualified names. A fact that cannot
/// be measured in time says so; nothing fails.
///
/// Data at risk is data that exists before the deployment: the analysed migrations not yet
/// applied are taken as the pending ones, in order, and each finding is judged against the
/// database as it is now plus what the earlier pending statements did. `DROP … IF EXISTS` of an
/// absent object, or an object created or dropped earlier in the deployment, holds nothing to
/// lose: such findings become `info`, saying why. A table or column renamed earlier in the
/// deployment is probed under its name in the database. What cannot be told (absent without
/// `IF EXISTS`, `IF NOT EXISTS` creations, statements inside `DO` blocks, a probe out of time)
/// keeps its severity, with a fact. Findings of custom rules are left as they are.
pub fn enrich(
    report: &mut SafetyReport,
    migrations: &Migrations,
    continuing: &[String],
    client: &mut Client,
    schema: Option<&str>,
    budget: Duration,
) {
    let deadline = Instant::now() + budget;
    let _ = client.batch_execute("SET default_transaction_read_only = on");
    let applied = applied_migrations(client);
    let mut probe = Probe {
        client,
        deadline,
        schema,
    };
    let mut timeline = Timeline::new(schema);
    // The interrupted deployment this one continues: what it created is this deployment's.
    // `IF NOT EXISTS` may have found the object there before it, so that stays the database's.
    for name in continuing {
        let Some(script) = migrations.get(name).and_then(|m| m.script()) else {
            continue;
        };
        for statement in outer_statements(script.sql()) {
            let if_not_exists = script.sql()[statement.span.clone()]
                .to_ascii_uppercase()
                .contains("IF NOT EXISTS");
            for action in &statement.actions {
                timeline.continue_from(name, action, !if_not_exists);
            }
        }
    }
    for analysis in &mut report.migrations {
        let Some(script) = migrations.get(&analysis.migration).and_then(|m| m.script()) else {
            continue;
        };
        // An applied migration (`plan --since`, `plan <file>`) is not part of what deploys
        // next: its findings get facts, never a verdict from the deployment's timeline.
        let pending = !applied.contains(&analysis.migration);
        // Statements inside a DO block or a routine body follow it, positioned inside it:
        // they may run conditionally (IF, EXCEPTION), so they never feed the timeline.
        let mut outer_end = 0;
        for statement in parse_script(script.sql()) {
            let nested = statement.span.start < outer_end;
            outer_end = outer_end.max(statement.span.end);
            let text = script.sql()[statement.span.clone()].to_ascii_uppercase();
            let context = Context {
                pending,
                if_exists: text.contains("IF EXISTS"),
            };
            for finding in analysis
                .findings
                .iter_mut()
                .filter(|f| f.span == statement.span)
            {
                judge(finding, &timeline, &mut probe, context);
            }
            if pending && !nested {
                let if_not_exists = text.contains("IF NOT EXISTS");
                for action in &statement.actions {
                    // `IF NOT EXISTS` creates only what is not there: it may find the object,
                    // with its data.
                    let creates = !if_not_exists || absent_before(action, &timeline, &mut probe);
                    timeline.apply(action, &analysis.migration, creates);
                }
            }
        }
    }
    let _ = probe
        .client
        .batch_execute("RESET statement_timeout; RESET default_transaction_read_only");
}

/// A table the interrupted deployment this one continues created: harmless while it holds no
/// row.
fn continued_table(table: &Name, migration: &str, probe: &mut Probe<'_>) -> Before<(Name, String)> {
    let Found::Yes(relation) = probe.relation(table) else {
        return Before::Unknown(format!(
            "{table}, created by the interrupted deployment this one continues ({migration}), \
             could not be found"
        ));
    };
    match probe.count(&format!("SELECT count(*) FROM {relation}")) {
        Some(0) => Before::Nothing(format!(
            "{table} is created by the interrupted deployment this one continues ({migration}) \
             and holds no row"
        )),
        Some(_) => Before::Exists((table.clone(), relation)),
        None => Before::Unknown(format!(
            "whether {table} holds rows could not be checked in time"
        )),
    }
}

/// The statements of `sql` that are not inside a DO block or a routine body (those may run
/// conditionally).
fn outer_statements(sql: &str) -> Vec<super::parse::ParsedStatement> {
    let mut outer_end = 0;
    parse_script(sql)
        .into_iter()
        .filter(|statement| {
            let nested = statement.span.start < outer_end;
            outer_end = outer_end.max(statement.span.end);
            !nested
        })
        .collect()
}

/// Whether the table or column that `action` creates is certainly not there when it runs:
/// neither in the database nor made by an earlier statement of the deployment.
fn absent_before(action: &Action, timeline: &Timeline, probe: &mut Probe<'_>) -> bool {
    match action {
        Action::CreateTable { table, .. } => match timeline.table(table) {
            TableOrigin::Dropped(_) => true,
            TableOrigin::Created(_) | TableOrigin::Filled(_) => false,
            TableOrigin::Database(name) => matches!(probe.relation(&name), Found::No),
        },
        Action::AddColumn { table, column } => match timeline.table(table) {
            TableOrigin::Dropped(_) => false,
            TableOrigin::Created(_) | TableOrigin::Filled(_) => !matches!(
                timeline.column(table, &column.name),
                Some(ColumnOrigin::Added(_))
            ),
            TableOrigin::Database(name) => match timeline.column(table, &column.name) {
                Some(ColumnOrigin::Added(_)) => false,
                None => true,
                Some(ColumnOrigin::Database(before)) => match probe.relation(&name) {
                    Found::Yes(relation) => probe.column_exists(&relation, &before) == Some(false),
                    Found::No | Found::Unknown => false,
                },
            },
        },
        _ => false,
    }
}

/// The migrations the ledger records as applied (none without a ledger, or unreadable).
fn applied_migrations(client: &mut Client) -> HashSet<String> {
    if !ledger::table_exists(client).unwrap_or(false) {
        return HashSet::new();
    }
    ledger::read_rows(client)
        .map(|rows| {
            rows.into_iter()
                .filter(|r| r.state() == RowState::Applied)
                .map(|r| r.migration_name)
                .collect()
        })
        .unwrap_or_default()
}

/// What the statement of a finding is, for judging it.
#[derive(Debug, Clone, Copy)]
struct Context {
    /// Part of the deployment (not an applied migration).
    pending: bool,
    /// Written with `IF EXISTS`: an absent object makes it a no-op.
    if_exists: bool,
}

/// The table a finding is about: for `DROP TABLE a, b`, the one its `table` names.
fn finding_table(finding: &Finding, action: &Action) -> Option<Name> {
    if let (Action::DropTable { tables }, Some(named)) = (action, &finding.table) {
        if let Some(t) = tables.iter().find(|t| t.to_string() == *named) {
            return Some(t.clone());
        }
    }
    action.table().cloned()
}

/// The column an action changes, when it changes one.
fn action_column(action: &Action) -> Option<&str> {
    match action {
        Action::DropColumn { column, .. }
        | Action::AlterColumnType { column, .. }
        | Action::SetNotNull { column, .. }
        | Action::DropNotNull { column, .. }
        | Action::SetDefault { column, .. }
        | Action::RenameColumn { from: column, .. } => Some(column),
        _ => None,
    }
}

/// `action` with its column named `column` (its name in the database before the deployment).
fn with_column(action: &Action, column: &str) -> Action {
    let mut action = action.clone();
    match &mut action {
        Action::DropColumn { column: c, .. }
        | Action::AlterColumnType { column: c, .. }
        | Action::SetNotNull { column: c, .. }
        | Action::DropNotNull { column: c, .. }
        | Action::SetDefault { column: c, .. }
        | Action::RenameColumn { from: c, .. } => *c = column.to_owned(),
        _ => {}
    }
    action
}

fn harmless(finding: &mut Finding, why: String) {
    finding.facts.push(format!("downgraded to info: {why}"));
    finding.severity = Severity::Info;
}

/// What a table or column named by a finding is before the deployment.
enum Before<T> {
    /// It exists in the database: what to probe.
    Exists(T),
    /// It holds nothing from before the deployment, and why: the finding becomes `info`.
    Nothing(String),
    /// It cannot be told: the finding keeps its severity, with this fact.
    Unknown(String),
}

/// What `table`, as named at this point of the deployment, is in the database before it: its
/// name there and its quoted relation.
fn before_deployment(
    table: &Name,
    timeline: &Timeline,
    probe: &mut Probe<'_>,
    context: Context,
) -> Before<(Name, String)> {
    let before = if context.pending {
        match timeline.table(table) {
            // Made by the interrupted deployment this one continues: nothing of it existed when
            // that deployment was reviewed, but rows may have been written since.
            TableOrigin::Created(migration) | TableOrigin::Filled(migration)
                if timeline.is_continued(&migration) =>
            {
                return continued_table(table, &migration, probe);
            }
            TableOrigin::Created(migration) => {
                return Before::Nothing(format!(
                    "{table} is created earlier in this deployment ({migration}): no row of it \
                     exists before the deployment"
                ));
            }
            TableOrigin::Filled(migration) => {
                return Before::Unknown(format!(
                    "{table} is created earlier in this deployment and filled by it ({migration}): \
                     its rows may come from existing data"
                ));
            }
            TableOrigin::Dropped(migration) => {
                return Before::Nothing(format!(
                    "{table} is already dropped earlier in this deployment ({migration})"
                ));
            }
            TableOrigin::Database(name) => name,
        }
    } else {
        table.clone()
    };
    match probe.relation(&before) {
        Found::Yes(relation) => Before::Exists((before, relation)),
        Found::No if context.pending && context.if_exists => Before::Nothing(format!(
            "{table} does not exist in the database before this deployment (IF EXISTS): no \
             data at risk"
        )),
        Found::No => Before::Unknown(format!(
            "{table} does not exist in the database now, and no earlier statement that the \
             analysis understands creates it"
        )),
        Found::Unknown => Before::Unknown(format!(
            "whether {table} exists could not be checked in time"
        )),
    }
}

/// Judges one finding against the database before the deployment and the timeline so far.
fn judge(finding: &mut Finding, timeline: &Timeline, probe: &mut Probe<'_>, context: Context) {
    // A custom rule's meaning is its analyzer's: no verdict from here.
    let Some(rule) = finding.rule.built_in() else {
        return;
    };
    let Some(action) = finding.action.clone() else {
        return;
    };
    if let Action::DropObject {
        kind: ObjectKind::Schema,
        names,
        ..
    } = &action
    {
        let absent = !names.is_empty()
            && names
                .iter()
                .all(|n| probe.schema_exists(&n.name) == Some(false));
        if absent && context.pending && context.if_exists {
            let names: Vec<String> = names.iter().map(ToString::to_string).collect();
            harmless(
                finding,
                format!(
                    "schema {} does not exist in the database before this deployment (IF \
                     EXISTS): no data at risk",
                    names.join(", ")
                ),
            );
        }
        return;
    }
    let Some(table) = finding_table(finding, &action) else {
        return;
    };
    // `TRUNCATE a, b`: harmless only if every table is.
    if let Action::Truncate { tables } = &action {
        if tables.len() > 1 {
            let mut whys = Vec::new();
            for t in tables {
                match before_deployment(t, timeline, probe, context) {
                    Before::Nothing(why) => whys.push(why),
                    Before::Unknown(fact) => finding.facts.push(fact),
                    Before::Exists(_) => {}
                }
            }
            if whys.len() == tables.len() {
                harmless(finding, whys.join("; "));
            }
            return;
        }
    }
    let (before, relation) = match before_deployment(&table, timeline, probe, context) {
        Before::Exists(found) => found,
        Before::Nothing(why) => return harmless(finding, why),
        Before::Unknown(fact) => return finding.facts.push(fact),
    };
    if before != table {
        finding.facts.push(format!(
            "{table} is {before} in the database, renamed earlier in this deployment"
        ));
    }
    let mut action = action;
    if let Some(column) = action_column(&action).map(str::to_owned) {
        let origin = if context.pending {
            timeline.column(&table, &column)
        } else {
            Some(ColumnOrigin::Database(column.clone()))
        };
        let column_before = match origin {
            // Added by the interrupted deployment this one continues: it may hold values now.
            Some(ColumnOrigin::Added(migration)) if timeline.is_continued(&migration) => {
                column.clone()
            }
            Some(ColumnOrigin::Added(migration)) => {
                return harmless(
                    finding,
                    format!(
                        "column {column} is added earlier in this deployment ({migration}): no \
                         value of it exists before the deployment"
                    ),
                );
            }
            None => {
                return harmless(
                    finding,
                    format!("column {column} is already dropped earlier in this deployment"),
                );
            }
            Some(ColumnOrigin::Database(name)) => name,
        };
        match probe.column_exists(&relation, &column_before) {
            Some(false) if context.pending && context.if_exists => {
                return harmless(
                    finding,
                    format!(
                        "column {column} does not exist in the database before this deployment \
                         (IF EXISTS): no data at risk"
                    ),
                );
            }
            Some(false) => {
                return finding.facts.push(format!(
                    "column {column} does not exist in the database now, and no earlier \
                     statement that the analysis understands adds it"
                ));
            }
            Some(true) if column_before != column => {
                finding.facts.push(format!(
                    "column {column} is {column_before} in the database, renamed earlier in this \
                     deployment"
                ));
                action = with_column(&action, &column_before);
            }
            _ => {}
        }
    }
    if let Some(rows) = probe.rows(&relation) {
        finding.facts.push(format!("{table}: {rows}"));
    }
    match probe.verdict(rule, &action, &relation) {
        Verdict::Harmless(why) => harmless(finding, why),
        // Counted before the deployment: an earlier write of it (the backfill before a SET NOT
        // NULL) may change the count by the time this statement runs.
        Verdict::WillFail(why) if context.pending && timeline.written(&table).is_some() => {
            finding.facts.push(format!(
                "before this deployment, {why}; {} writes {table} earlier in this deployment, so \
                 whether the statement fails depends on that write",
                timeline.written(&table).unwrap_or_default()
            ));
        }
        Verdict::WillFail(why) => {
            finding.facts.push(format!("will fail: {why}"));
            finding.severity = Severity::Error;
        }
        Verdict::Fact(fact) => finding.facts.push(fact),
        Verdict::Unknown => {}
    }
}

/// Whether a relation exists.
enum Found {
    /// Yes: its quoted name.
    Yes(String),
    No,
    /// The budget ran out or the catalog could not be read.
    Unknown,
}

enum Verdict {
    Harmless(String),
    WillFail(String),
    Fact(String),
    Unknown,
}

struct Probe<'a> {
    client: &'a mut Client,
    deadline: Instant,
    schema: Option<&'a str>,
}

impl Probe<'_> {
    /// Whether `table` exists, with its quoted name when it does.
    fn relation(&mut self, table: &Name) -> Found {
        let schema = table.schema.as_deref().or(self.schema);
        let quoted = match schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&table.name)),
            None => quote_ident(&table.name),
        };
        let exists: Option<bool> = self
            .query_one(&format!(
                "SELECT to_regclass('{}') IS NOT NULL",
                quoted.replace('\'', "''")
            ))
            .and_then(|r| r.try_get(0).ok());
        match exists {
            Some(true) => Found::Yes(quoted),
            Some(false) => Found::No,
            None => Found::Unknown,
        }
    }

    /// Whether schema `name` exists; `None` when it could not be read in time.
    fn schema_exists(&mut self, name: &str) -> Option<bool> {
        self.query_one(&format!(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '{}')",
            name.replace('\'', "''")
        ))
        .and_then(|r| r.try_get(0).ok())
    }

    /// Whether `column` exists in `relation`; `None` when it could not be read in time.
    fn column_exists(&mut self, relation: &str, column: &str) -> Option<bool> {
        self.query_one(&format!(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '{}'::regclass \
             AND attname = '{}' AND attnum > 0 AND NOT attisdropped)",
            relation.replace('\'', "''"),
            column.replace('\'', "''")
        ))
        .and_then(|r| r.try_get(0).ok())
    }

    /// The table's rows and size, as a fact: PostgreSQL's estimate when it has one, else an
    /// exact count within the budget (a table never analysed has no estimate: -1, or 0 with
    /// pages), else "unknown", never a made-up 0.
    fn rows(&mut self, relation: &str) -> Option<String> {
        let quoted = relation.replace('\'', "''");
        let row = self.query_one(&format!(
            "SELECT c.reltuples::float8, c.relpages::int8, pg_total_relation_size(c.oid) \
             FROM pg_class c WHERE c.oid = '{quoted}'::regclass"
        ))?;
        let (estimate, pages, bytes): (f64, i64, i64) = (
            row.try_get(0).ok()?,
            row.try_get(1).ok()?,
            row.try_get(2).ok()?,
        );
        let rows = if estimate > 0.0 || (estimate == 0.0 && pages == 0) {
            format!("about {} rows", estimate.round() as i64)
        } else {
            match self.count(&format!("SELECT count(*) FROM {relation}")) {
                Some(n) => format!("{n} rows (counted: no statistics yet)"),
                None => "rows unknown (no statistics yet, not counted in time)".to_owned(),
            }
        };
        Some(format!("{rows}, {}", size(bytes)))
    }

    fn query_one(&mut self, sql: &str) -> Option<postgres::Row> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        let ms = left.as_millis().max(1);
        self.client
            .batch_execute(&format!("SET statement_timeout = {ms}"))
            .ok()?;
        let sql = format!("{}{sql}", crate::sql::ENGINE_MARKER);
        self.client.query_one(&sql, &[]).ok()
    }

    /// A count, or why it failed (see [`Probed`]).
    fn try_count(&mut self, sql: &str) -> Result<i64, Probed> {
        let left = self
            .deadline
            .checked_duration_since(Instant::now())
            .ok_or(Probed::NoTime)?;
        self.client
            .batch_execute(&format!(
                "SET statement_timeout = {}",
                left.as_millis().max(1)
            ))
            .map_err(|_| Probed::NoTime)?;
        let sql = format!("{}{sql}", crate::sql::ENGINE_MARKER);
        match self.client.query_one(&sql, &[]) {
            Ok(row) => row.try_get(0).map_err(|_| Probed::NoTime),
            Err(e) => match e.as_db_error() {
                Some(db) if db.code() == &postgres::error::SqlState::QUERY_CANCELED => {
                    Err(Probed::NoTime)
                }
                Some(db) => {
                    let reason = format!("{}: {}", db.code().code(), without_values(db.message()));
                    // Class 22, data exception: a row's value is the cause. Anything else (a
                    // type created earlier in the same migration, a privilege) says nothing
                    // about the data.
                    Err(if db.code().code().starts_with("22") {
                        Probed::DataError(reason)
                    } else {
                        Probed::Other(reason)
                    })
                }
                None => Err(Probed::NoTime),
            },
        }
    }

    fn count(&mut self, sql: &str) -> Option<i64> {
        self.query_one(sql).and_then(|r| r.try_get(0).ok())
    }

    /// What `pg_proc` says of functions the analyzer does not know: a default calling only
    /// immutable or stable ones is stored in the catalog, without a rewrite.
    fn volatility(&mut self, functions: &[String]) -> Verdict {
        for function in functions {
            let row = self.query_one(&format!(
                "SELECT count(*), coalesce(bool_or(provolatile = 'v'), false) FROM pg_proc \
                 WHERE proname = '{}'",
                function.replace('\'', "''")
            ));
            let Some((found, volatile)) = row
                .and_then(|r| Some((r.try_get::<_, i64>(0).ok()?, r.try_get::<_, bool>(1).ok()?)))
            else {
                return Verdict::Unknown;
            };
            if found == 0 {
                return Verdict::Fact(format!(
                    "{function}() is not in pg_proc (created by this deployment?): treated as \
                     volatile"
                ));
            }
            if volatile {
                return Verdict::Fact(format!(
                    "pg_proc: {function}() is volatile: every row is rewritten"
                ));
            }
        }
        Verdict::Harmless(format!(
            "pg_proc: {}() immutable or stable: the default is stored in the catalog, no rewrite",
            functions.join("(), ")
        ))
    }

    fn verdict(&mut self, rule: Rule, action: &Action, relation: &str) -> Verdict {
        let rows = |p: &mut Self| p.count(&format!("SELECT count(*) FROM {relation}"));
        // Hazards of the rows a table holds: none when it holds none (a database deployed part
        // way has the tables of its history, empty until the application writes).
        let on_empty = match rule {
            Rule::ChangingColumnType | Rule::EnumValueRemoval => {
                Some("the table is empty: no value to convert")
            }
            Rule::SettingNotNullWithoutCheck
            | Rule::AddingCheckWithoutNotValid
            | Rule::AddingForeignKeyWithoutNotValid => {
                Some("the table is empty: the validating scan is instant")
            }
            Rule::AddingUniqueConstraint | Rule::CreateIndexNonConcurrently => {
                Some("the table is empty: the index build is instant")
            }
            _ => None,
        };
        if let Some(why) = on_empty {
            if rows(self) == Some(0) {
                return Verdict::Harmless(why.into());
            }
        }
        match (rule, action) {
            (
                Rule::DropTable
                | Rule::TruncateTable
                | Rule::DeleteWithoutWhere
                | Rule::UpdateWithoutWhere,
                _,
            ) => match rows(self) {
                Some(0) => Verdict::Harmless("the table is empty".into()),
                Some(n) => Verdict::Fact(format!("{n} rows affected")),
                None => Verdict::Unknown,
            },
            // A rewrite or rebuild of an empty table is instant.
            (
                Rule::RewriteByStorageChange
                | Rule::VacuumFullOrCluster
                | Rule::ReindexNonConcurrently,
                _,
            ) => match rows(self) {
                Some(0) => Verdict::Harmless("the table is empty: the rewrite is instant".into()),
                Some(n) => {
                    Verdict::Fact(format!("{n} rows, rewritten or reindexed under the lock"))
                }
                None => Verdict::Unknown,
            },
            (Rule::AttachPartitionWithoutCheck, _) => match rows(self) {
                Some(0) => Verdict::Harmless("the partition is empty: its scan is instant".into()),
                Some(n) => match self.count(&format!(
                    "SELECT count(*) FROM pg_constraint WHERE conrelid = '{}'::regclass \
                     AND contype = 'c' AND convalidated",
                    relation.replace('\'', "''")
                )) {
                    Some(0) | None => Verdict::Fact(format!("{n} rows to scan")),
                    Some(checks) => Verdict::Fact(format!(
                        "{n} rows; {checks} validated CHECK constraint(s) on the partition: the \
                         scan is skipped if one implies the bound"
                    )),
                },
                None => Verdict::Unknown,
            },
            (
                Rule::AddingColumnWithVolatileDefault,
                Action::AddColumn {
                    column:
                        Column {
                            default: Some(DefaultKind::UnknownFunctions),
                            unknown_functions,
                            ..
                        },
                    ..
                },
            ) => self.volatility(unknown_functions),
            (Rule::DropColumn, Action::DropColumn { column, .. }) => {
                match self.count(&format!(
                    "SELECT count({}) FROM {relation}",
                    quote_ident(column)
                )) {
                    Some(0) => {
                        Verdict::Harmless(format!("column {column} holds no non-null value"))
                    }
                    Some(n) => {
                        Verdict::Fact(format!("column {column} still holds {n} non-null values"))
                    }
                    None => Verdict::Unknown,
                }
            }
            // Only a value can hold a removed label: a column without any loses nothing.
            (Rule::EnumValueRemoval, Action::AlterColumnType { column, .. }) => {
                match self.count(&format!(
                    "SELECT count({}) FROM {relation}",
                    quote_ident(column)
                )) {
                    Some(0) => Verdict::Harmless(format!(
                        "column {column} holds no value: none can hold a removed label"
                    )),
                    Some(n) => Verdict::Fact(format!(
                        "column {column} holds {n} non-null value(s); one holding a removed \
                         label makes the cast fail"
                    )),
                    None => Verdict::Unknown,
                }
            }
            (Rule::AddingRequiredColumnWithoutDefault, _) => match rows(self) {
                Some(0) => {
                    Verdict::Harmless("the table is empty, so the column can be required".into())
                }
                Some(n) => Verdict::WillFail(format!("{n} existing rows would get NULL")),
                None => Verdict::Unknown,
            },
            (Rule::SettingNotNullWithoutCheck, Action::SetNotNull { column, .. }) => {
                match self.count(&format!(
                    "SELECT count(*) FROM {relation} WHERE {} IS NULL",
                    quote_ident(column)
                )) {
                    Some(0) => Verdict::Fact(format!(
                        "no NULL in {column}: it will succeed (the scan still blocks)"
                    )),
                    Some(n) => Verdict::WillFail(format!("{n} rows have NULL in {column}")),
                    None => Verdict::Unknown,
                }
            }
            (Rule::AddingUniqueConstraint | Rule::CreateIndexNonConcurrently, _) => {
                let columns = match action {
                    Action::AddConstraint {
                        constraint:
                            Constraint::Unique { columns, .. } | Constraint::PrimaryKey { columns, .. },
                        ..
                    } => columns.clone(),
                    Action::CreateIndex {
                        unique: true,
                        columns,
                        ..
                    } => columns.clone(),
                    _ => return Verdict::Unknown,
                };
                if columns.is_empty() {
                    return Verdict::Unknown;
                }
                let cols = columns
                    .iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", ");
                match self.count(&format!(
                    "SELECT count(*) FROM (SELECT 1 FROM {relation} GROUP BY {cols} HAVING count(*) > 1) d"
                )) {
                    Some(0) => Verdict::Fact(format!("no duplicate ({cols})")),
                    Some(n) => Verdict::WillFail(format!("{n} duplicated value(s) of ({cols})")),
                    None => Verdict::Unknown,
                }
            }
            (
                Rule::ChangingColumnType,
                Action::AlterColumnType {
                    column,
                    to,
                    to_sql,
                    using,
                    ..
                },
            ) => {
                // The conversion the ALTER will run: its USING expression, else the cast, to the
                // type exactly as written. An aggregate of it, so that it really runs on every
                // row (the planner drops a subquery's unused outputs).
                let value = using.clone().unwrap_or_else(|| quote_ident(column));
                // The ALTER converts with an assignment cast, which rejects a string longer
                // than varchar(n) or char(n); the explicit cast below silently truncates it.
                if let (false, [limit]) = (to.array, to.modifiers.as_slice()) {
                    if matches!(
                        to.base.as_str(),
                        "character varying" | "character" | "varchar" | "char" | "bpchar"
                    ) {
                        let sql = format!(
                            "SELECT count(*) FROM {relation} WHERE length(rtrim(({value})::text)) > {limit}"
                        );
                        match self.try_count(&sql) {
                            Ok(0) => {}
                            Ok(n) => {
                                return Verdict::WillFail(format!(
                                    "{n} value(s) longer than {limit} characters (22001: value too long for type {to})"
                                ))
                            }
                            Err(Probed::NoTime) => {
                                return Verdict::Fact(format!(
                                    "the conversion to {to} could not be tested in time"
                                ))
                            }
                            Err(Probed::DataError(_) | Probed::Other(_)) => {}
                        }
                    }
                }
                let sql =
                    format!("SELECT count(({value})::{to_sql}) * 0 + count(*) FROM {relation}");
                match self.try_count(&sql) {
                    // No row, no value to lose, and the rewrite is instant.
                    Ok(0) => Verdict::Harmless(format!(
                        "the table is empty: no value to convert to {to}"
                    )),
                    Ok(n) => Verdict::Fact(format!("all {n} values convert to {to}")),
                    Err(Probed::DataError(reason)) => {
                        Verdict::WillFail(format!("a value does not convert to {to} ({reason})"))
                    }
                    Err(Probed::Other(reason)) => Verdict::Fact(format!(
                        "the conversion to {to} could not be tested ({reason})"
                    )),
                    Err(Probed::NoTime) => Verdict::Fact(format!(
                        "the conversion to {to} could not be tested in time"
                    )),
                }
            }
            _ => Verdict::Unknown,
        }
    }
}

/// Why a probe gave no number.
enum Probed {
    /// PostgreSQL rejected a value (SQLSTATE class 22), with the reason.
    DataError(String),
    /// The query failed for another reason, with it.
    Other(String),
    /// The budget ran out, or the session failed.
    NoTime,
}

/// A server message without the values it quotes (`value "2147483648" is out of range`,
/// `invalid input syntax for type integer: "abc"`): reports are shared, the data may be private.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"…\"");
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

fn size(bytes: i64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MB {
        format!("{:.1} MB", bytes as f64 / MB)
    } else {
        format!("{} kB", bytes / 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_lose_their_quoted_values() {
        assert_eq!(
            without_values(r#"value "2147483648" is out of range for type integer"#),
            r#"value "…" is out of range for type integer"#
        );
        assert_eq!(
            without_values(r#"invalid input syntax for type integer: "secret-7""#),
            r#"invalid input syntax for type integer: "…""#
        );
        assert_eq!(
            without_values("value too long for type character varying(5)"),
            "value too long for type character varying(5)"
        );
    }
}
