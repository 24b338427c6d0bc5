//! An async service that embeds the engine at start-up with parts of its own: a backup
//! provider that delegates to `pg_dump` and keeps a second copy of each dump, a health probe,
//! and a safety rule of the organisation's. Everything else is the default pipeline, the same
//! one the CLI runs.
//!
//! ```text
//! DATABASE_URL=postgresql://app:secret@localhost/app \
//!     cargo run -p migrate-core --example embed_custom -- prisma/migrations
//! ```

use std::path::PathBuf;

use migrate_core::backup::{
    Backup, BackupError, BackupStore, RestoreOptions, RestoreReport, VerifyLevel, VerifyOptions,
    VerifyReport,
};
use migrate_core::health::{HealthProbe, ProbeContext, ProbeFailure};
use migrate_core::safety::{
    CustomRule, DefaultAnalyzer, Finding, SafetyAnalyzer, SafetyReport, Scope, Severity,
};
use migrate_core::source::Migrations;
use migrate_core::{BackupProvider, DatabaseUrl, Engine, PgDumpBackup};

/// `pg_dump`, plus a copy of every dump in a second directory (a mounted volume, a bucket's
/// sync folder…).
#[derive(Debug)]
struct CopyingBackup {
    dump: PgDumpBackup,
    copies: PathBuf,
}

impl BackupProvider for CopyingBackup {
    fn name(&self) -> &'static str {
        "pg_dump+copy"
    }

    fn backup(&self, url: &DatabaseUrl, store: &BackupStore) -> Result<Backup, BackupError> {
        let backup = self.dump.backup(url, store)?;
        let file = backup.dir.join(&backup.manifest.file);
        let copy = self.copies.join(&backup.manifest.file);
        std::fs::create_dir_all(&self.copies)
            .and_then(|()| std::fs::copy(&file, &copy))
            .map_err(|source| BackupError::Io {
                action: "copy",
                path: copy.clone(),
                source,
            })?;
        println!(
            "custom-backup: {} ({} bytes) copied to {}",
            backup.id(),
            backup.manifest.digests.bytes,
            copy.display()
        );
        Ok(backup)
    }

    fn verify(
        &self,
        backup: &Backup,
        level: VerifyLevel,
        options: &VerifyOptions,
    ) -> Result<VerifyReport, BackupError> {
        self.dump.verify(backup, level, options)
    }

    fn restore(
        &self,
        backup: &Backup,
        url: &DatabaseUrl,
        options: &RestoreOptions,
    ) -> Result<RestoreReport, BackupError> {
        self.dump.restore(backup, url, options)
    }
}

/// The service's own readiness check: the ledger is complete and readable.
#[derive(Debug)]
struct LedgerProbe;

impl HealthProbe for LedgerProbe {
    fn name(&self) -> String {
        "ledger readable".into()
    }

    fn check(&self, ctx: &ProbeContext) -> Result<(), ProbeFailure> {
        let url = ctx.database_url().ok_or(ProbeFailure::NoDatabase)?;
        let mut client = migrate_core::connection::connect(url).map_err(ProbeFailure::Connect)?;
        let query = "SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL";
        let row = client
            .query_one(query, &[])
            .map_err(|source| ProbeFailure::Query {
                query: query.into(),
                source,
            })?;
        let applied: i64 = row.get(0);
        println!("custom-probe: {applied} migration(s) recorded as applied");
        Ok(())
    }
}

/// The default rules, plus the organisation's: no `TRUNCATE` in a migration.
#[derive(Debug)]
struct OrgAnalyzer {
    defaults: DefaultAnalyzer,
    no_truncate: CustomRule,
}

impl SafetyAnalyzer for OrgAnalyzer {
    fn analyze(&self, migrations: &Migrations, scope: &Scope) -> SafetyReport {
        let mut report = self.defaults.analyze(migrations, scope);
        let mut found = 0;
        for analysis in &mut report.migrations {
            let Some(sql) = migrations
                .get(&analysis.migration)
                .and_then(|m| m.script())
                .map(|s| s.text().to_owned())
            else {
                continue;
            };
            for (i, line) in sql.lines().enumerate() {
                if line
                    .trim_start()
                    .to_ascii_uppercase()
                    .starts_with("TRUNCATE")
                {
                    found += 1;
                    analysis.findings.push(Finding::custom(
                        &self.no_truncate,
                        &analysis.migration,
                        i + 1,
                        1,
                        "TRUNCATE empties a table",
                    ));
                }
            }
        }
        println!(
            "custom-rule: {} checked {} migration(s), {found} finding(s)",
            self.no_truncate.name(),
            report.migrations.len()
        );
        report
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "prisma/migrations".into());
    let url: DatabaseUrl = std::env::var("DATABASE_URL")?.parse()?;
    let work = tempfile::tempdir()?;
    let no_truncate = CustomRule::new(
        "org-no-truncate",
        Severity::Error,
        "Delete rows in batches from the application instead",
    )?;
    let engine = Engine::new(url, dir)
        .backup_dir(work.path().join("backups"))
        .backup_provider(Box::new(CopyingBackup {
            dump: PgDumpBackup::default(),
            copies: work.path().join("copies"),
        }))
        .probe(Box::new(LedgerProbe))
        .analyzer(Box::new(OrgAnalyzer {
            defaults: DefaultAnalyzer::default(),
            no_truncate,
        }));
    let report = engine.deploy_async().await?;
    println!(
        "deployed {} migration(s) in {:.1}s",
        report.applied.len(),
        report.duration.as_secs_f64()
    );
    Ok(())
}
