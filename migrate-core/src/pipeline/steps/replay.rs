//! The replication slot of a scoped backup, which lets a rollback keep the writes made after
//! the backup (issue #12): whether the server and the role allow one (said once when not), and
//! the slots dead deployments left behind, dropped before they fill the disk with WAL.

use std::time::Instant;

use super::super::run::Run;
use super::super::{PipelineError, Step};
use crate::backup::replay::{drop_orphaned_slots, ReplayReadiness};
use crate::backup::BackupError;
use crate::journal::Journal;

/// Whether the scoped backup about to be taken can keep later writes (why not was said by the
/// readiness step, once); refuses the run (nothing changed) when every slot is in use.
pub(crate) fn ready(run: &mut Run<'_>, t: Instant) -> Result<bool, PipelineError> {
    let target = run.pipeline.url.target();
    let readiness = match run.recorder.db() {
        Ok(db) => ReplayReadiness::read(db, &target),
        Err(_) => return Ok(false),
    };
    match readiness {
        Ok(ReplayReadiness::Ready) => Ok(true),
        Ok(ReplayReadiness::SlotsExhausted { used, max }) => Err(run.refuse(
            Step::Backup,
            BackupError::SlotsExhausted { used, max }.into(),
            t,
        )),
        Ok(ReplayReadiness::Unavailable(_)) => Ok(false),
        Err(e) => {
            run.warn(format!("backup: later writes cannot be replayed: {e}"));
            Ok(false)
        }
    }
}

/// Drops our slots that no live process holds, except those a dead deployment's unfinished
/// rollback still needs; each one dropped is said.
pub(crate) fn drop_orphans(run: &mut Run<'_>) {
    let target = run.pipeline.url.target();
    let Ok(db) = run.recorder.db() else { return };
    let keep: Vec<String> = Journal::unfinished(db)
        .map(|d| d.into_iter().filter_map(|d| d.backup_id).collect())
        .unwrap_or_default();
    match drop_orphaned_slots(db, &target, &keep) {
        Ok(dropped) => {
            for slot in dropped {
                run.warn(format!(
                    "dropped replication slot {slot}: its deployment's process died and no \
                     rollback needs it (a forgotten slot keeps WAL forever)"
                ));
            }
        }
        Err(e) => {
            log::warn!(target: "migrate_core::pipeline", "looking for orphaned replication slots: {e}")
        }
    }
}
