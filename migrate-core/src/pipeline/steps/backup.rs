//! The backup, taken through the provider and verified before anything changes.

use std::time::Instant;

use super::super::run::Run;
use super::super::{PipelineError, Step, StepStatus};
use crate::backup::{
    backup_verified_scoped, progress_events, BackupMode, RolePrivileges, ScopeRequest,
};
use crate::event::Event;

/// Why an `auto` backup is full although the analyzer bounds the migrations.
const FULL_NOTHING_AT_RISK: &str =
    "full: no existing table at risk (the whole database is as small as the scope)";

/// What to back up for `pending`: a scope, or the whole database (with why, when a scope was
/// wanted); an error when a scope is required and the analyzer cannot bound the migrations.
///
/// In `auto` mode, a scope that covers no existing table (a fresh database, or migrations that
/// only create) becomes the whole database: its dump holds no more data, and the whole-database
/// restore also drops whatever the migrations created. Unless the role could not run that
/// restore (no `CREATEDB`): then the scope stays, whose table-level restore needs nothing.
/// The readiness step asks this too, so it judges the rollback of the backup actually taken.
pub(crate) fn scope_for(
    run: &mut Run<'_>,
    pending: &[String],
) -> Result<(Option<ScopeRequest>, String), crate::backup::BackupError> {
    let mode = run.pipeline.options.backup_mode;
    let (request, why) = crate::backup::request_for(&run.migrations, pending, mode)?;
    if let Some(scope) = &request {
        if mode == BackupMode::Auto && whole_is_as_small(run, scope)? {
            return Ok((None, FULL_NOTHING_AT_RISK.to_owned()));
        }
    }
    let kind = match (&request, why) {
        (Some(_), _) => "scoped".to_owned(),
        (None, Some(why)) => why,
        (None, None) => "full".to_owned(),
    };
    Ok((request, kind))
}

/// Whether `scope` covers no existing table and the role could restore the whole database.
fn whole_is_as_small(
    run: &mut Run<'_>,
    scope: &ScopeRequest,
) -> Result<bool, crate::backup::BackupError> {
    let pipeline = run.pipeline;
    let target = pipeline.url.target();
    // Without a session the backup step fails anyway, saying why.
    let Ok(db) = run.recorder.db() else {
        return Ok(false);
    };
    if !crate::backup::resolve_at_risk(db, &scope.tables, &target)?.is_empty() {
        return Ok(false);
    }
    let privileges = RolePrivileges::read(db, &target)?;
    Ok(pipeline
        .backup
        .restore_missing(&privileges, None)
        .is_empty())
}

pub(crate) fn take(run: &mut Run<'_>, pending: &[String]) -> Result<(), PipelineError> {
    let pipeline = run.pipeline;
    if !pipeline.options.runs(Step::Backup) {
        run.switched_off(
            Step::Backup,
            "a failure can only be undone by down.sql or a transaction",
        );
        return Ok(());
    }
    let t = Instant::now();
    let options = &pipeline.options;
    let store = run.store.clone();
    let (mut scope, mut kind) = match scope_for(run, pending) {
        Ok(chosen) => chosen,
        Err(e) => return Err(run.refuse(Step::Backup, e.into(), t)),
    };
    if scope.is_none() && kind != "full" && kind != FULL_NOTHING_AT_RISK {
        run.warn(format!("backup: {kind}"));
    }
    if let Some(request) = scope.as_mut() {
        request.replay = super::replay::ready(run, t)?;
    }
    // Another deployment applying migrations meanwhile changes tables under the dump (pg_dump
    // fails on a column dropped after its snapshot): let it finish first, and take the dump
    // again when the ledger moved during it anyway.
    let mut tries = 0;
    let taken = loop {
        if let Ok(db) = run.recorder.db() {
            // A stuck holder is the apply step's business (it names it); not waiting is safe.
            let _ = crate::ledger::wait_until_free(db, options.deploy.lock_wait);
        }
        let before = ledger_mark(run);
        let taken = backup_verified_scoped(
            pipeline.backup.as_ref(),
            &pipeline.url,
            &store,
            options.backup_verify,
            scope.as_ref(),
            &mut progress_events(options.progress_interval, &mut *run.events),
        );
        match taken {
            // A provider without scoped backups takes the whole database.
            Err(crate::backup::BackupError::Unsupported { .. })
                if scope.is_some() && options.backup_mode == BackupMode::Auto =>
            {
                scope = None;
                kind = format!(
                    "full, because {} has no scoped backups",
                    pipeline.backup.name()
                );
                run.warn(format!("backup: {kind}"));
            }
            Err(e) if tries < 3 && ledger_mark(run) != before => {
                tries += 1;
                run.warn(format!(
                    "another deployment applied migrations during the backup, which failed \
                     ({}): taking it again",
                    super::super::run::first_line(&e.to_string())
                ));
            }
            other => break other,
        }
    };
    match taken {
        Ok((backup, verify)) => {
            recorded(run, &backup, verify.level, &kind, t);
            run.taken = Some(super::super::run::TakenBackup {
                provider: pipeline.backup.as_ref(),
                backup,
            });
            Ok(())
        }
        Err(e) => Err(run.refuse(Step::Backup, e.into(), t)),
    }
}

/// The backup, told to the events and the report: what it covers, or why it is full.
fn recorded(run: &mut Run<'_>, backup: &crate::backup::Backup, level: u8, kind: &str, t: Instant) {
    run.event(&Event::BackupCreated {
        id: backup.id().to_owned(),
        bytes: backup.manifest.digests.bytes,
        level,
    });
    run.report.backup_id = Some(backup.id().to_owned());
    run.report.step(
        Step::Backup,
        StepStatus::Passed,
        format!(
            "{} ({}) verified at L{level}",
            backup.id(),
            describe(backup, kind)
        ),
        t.elapsed(),
    );
}

/// Where the ledger stands: rows, finished rows, the latest start (`None` without a ledger).
fn ledger_mark(run: &mut Run<'_>) -> Option<(i64, i64, Option<chrono::DateTime<chrono::Utc>>)> {
    let db = run.recorder.db().ok()?;
    db.query_one(
        "SELECT count(*), count(finished_at), max(started_at) FROM _prisma_migrations",
        &[],
    )
    .ok()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
}

/// `scoped: public.t (DELETE in m1), …; 3 tables' data left out`, or why it is full.
fn describe(backup: &crate::backup::Backup, kind: &str) -> String {
    match &backup.manifest.scope {
        Some(scope) if scope.covered.is_empty() => format!(
            "scoped: no existing table at risk; {} tables' data left out",
            scope.excluded.len()
        ),
        Some(scope) => {
            // The first few, with why: the manifest has them all.
            const SHOWN: usize = 8;
            let mut shown: Vec<String> = scope
                .covered
                .iter()
                .take(SHOWN)
                .map(|t| {
                    let why = t.reasons.first().cloned().unwrap_or_default();
                    match t.reasons.len().saturating_sub(1) {
                        0 => format!("{} {} rows ({why})", t.qualified(), t.rows),
                        more => format!("{} {} rows ({why}, {more} more)", t.qualified(), t.rows),
                    }
                })
                .collect();
            if scope.covered.len() > SHOWN {
                shown.push(format!("{} more", scope.covered.len() - SHOWN));
            }
            format!(
                "scoped: {} table(s) covered: {}; {} tables' data left out",
                scope.covered.len(),
                shown.join(", "),
                scope.excluded.len()
            )
        }
        None => kind.to_owned(),
    }
}
