//! The rollback, proven executable before anything changes: a deployment whose failed health
//! check could only be undone by a strategy the role may not run (a whole-database restore
//! without `CREATEDB`, issue #12) is refused here, not discovered half-way through a rollback.

use std::time::Instant;

use super::super::run::Run;
use super::super::{PipelineError, RollbackMode, Step, StepStatus};
use crate::backup::RolePrivileges;
use crate::rollback::{ProspectContext, ProspectPlan};

/// Checks that the planner could undo `pending` after they commit, with the role's privileges;
/// says which strategy that would be. Refuses (nothing changed) when only a missing privilege
/// stands in the way.
pub(crate) fn check(run: &mut Run<'_>, pending: &[String]) -> Result<(), PipelineError> {
    let pipeline = run.pipeline;
    let options = &pipeline.options;
    // Nothing will be rolled back: nothing to prove.
    if !options.runs(Step::Rollback) || options.rollback == RollbackMode::ReportOnly {
        return Ok(());
    }
    let t = Instant::now();
    let target = pipeline.url.target();
    let privileges = match run.recorder.db() {
        Ok(db) => RolePrivileges::read(db, &target),
        Err(e) => return Err(run.refuse(Step::Preflight, e, t)),
    };
    let privileges = match privileges {
        Ok(p) => p,
        Err(e) => return Err(run.refuse(Step::Preflight, e.into(), t)),
    };
    let covered = match covered(run, pending) {
        Ok(covered) => covered,
        Err(e) => return Err(run.refuse(Step::Preflight, e.into(), t)),
    };
    let migrations: Vec<&crate::source::LocalMigration> = pending
        .iter()
        .filter_map(|name| run.migrations.get(name))
        .collect();
    let scoped = covered.is_some();
    let ctx = ProspectContext {
        migrations: &migrations,
        privileges: &privileges,
        backup: options.runs(Step::Backup),
        covered,
        provider: pipeline.backup.as_ref(),
    };
    match pipeline.planner.prospect(&ctx, options.rollback_preference) {
        Ok(prospect) => {
            let by_restore = prospect.strategy == Some(crate::rollback::StrategyKind::Restore);
            let kept = if scoped && by_restore {
                later_writes(run)
            } else {
                String::new()
            };
            announce(run, &prospect, &privileges, &kept);
            Ok(())
        }
        Err(e) => Err(run.refuse(Step::Preflight, e.into(), t)),
    }
}

/// The tables the backup step will cover (`"schema"."table"`), `None` when it will be full.
fn covered(
    run: &mut Run<'_>,
    pending: &[String],
) -> Result<Option<Vec<String>>, crate::backup::BackupError> {
    if !run.pipeline.options.runs(Step::Backup) {
        return Ok(None);
    }
    let (request, _) = match super::backup::scope_for(run, pending) {
        Ok(chosen) => chosen,
        // The backup step refuses it, saying why.
        Err(_) => return Ok(None),
    };
    let Some(request) = request else {
        return Ok(None);
    };
    let target = run.pipeline.url.target();
    let db = match run.recorder.db() {
        Ok(db) => db,
        Err(_) => return Ok(None),
    };
    let tables = crate::backup::resolve_at_risk(db, &request.tables, &target)?;
    Ok(Some(
        tables
            .iter()
            .map(|(s, t, _)| {
                format!(
                    "{}.{}",
                    crate::sql::quote_ident(s),
                    crate::sql::quote_ident(t)
                )
            })
            .collect(),
    ))
}

/// What a table-level restore will do with the writes made to the covered tables after the
/// backup, said before anything changes.
fn later_writes(run: &mut Run<'_>) -> String {
    use crate::backup::replay::ReplayReadiness;
    let target = run.pipeline.url.target();
    let readiness = run
        .recorder
        .db()
        .ok()
        .and_then(|db| ReplayReadiness::read(db, &target).ok());
    match readiness {
        Some(ReplayReadiness::Ready) => "; writes made to the covered tables after the backup \
             will be replayed (logical replication slot), what cannot be replayed goes to \
             reconciliation files"
            .to_owned(),
        Some(ReplayReadiness::Unavailable(why)) => format!("; {why}"),
        _ => "; writes made to the covered tables after the backup would be lost (counted)"
            .to_owned(),
    }
}

fn announce(run: &mut Run<'_>, prospect: &ProspectPlan, privileges: &RolePrivileges, kept: &str) {
    let who = if privileges.superuser {
        format!("role {} (superuser)", privileges.role)
    } else {
        format!("role {}", privileges.role)
    };
    let detail = format!("{prospect}, as {who}{kept}");
    if prospect.strategy.is_none() {
        run.warn(detail.clone());
    }
    run.announce(Step::Preflight, StepStatus::Passed, detail);
}
