//! Issue #12 on real histories: how often `--backup auto` can take a scoped backup, deploying
//! each migration on its own (the usual deployment), and what makes the others full. Offline
//! (the analyzer only): fast, no database.

use migrate_core::backup::{at_risk, AtRisk};
use migrate_core::source::MigrationSource;

#[test]
fn scoped_backup_coverage_on_every_history() {
    for dir in super::histories() {
        let migrations = MigrationSource::new(&dir).load().unwrap();
        let (mut bounded, mut unbounded, mut tables) = (0, 0, 0);
        let mut why: Vec<String> = Vec::new();
        for m in migrations.iter() {
            match at_risk(&[m]) {
                AtRisk::Tables(t) => {
                    bounded += 1;
                    tables += t.len();
                }
                AtRisk::Unbounded(reasons) => {
                    unbounded += 1;
                    why.extend(reasons.into_iter().take(1));
                }
                _ => {}
            }
        }
        let project = dir
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!(
            "corpus | scoped backups on {project}: {bounded}/{} migrations bounded ({tables} table(s) at risk in all), {unbounded} full",
            bounded + unbounded
        );
        for reason in why.iter().take(5) {
            eprintln!("corpus |   full because {reason}");
        }
        assert_eq!(bounded + unbounded, migrations.len());
    }
}
