//! ## What it does
//! Flags `VACUUM FULL` and `CLUSTER`.
//!
//! ## Why is this bad?
//! Both rewrite the whole table under `ACCESS EXCLUSIVE`: the table is unavailable for reads and
//! writes for the whole rewrite, and they need disk space for a full copy.
//!
//! ## Example
//! ```sql
//! VACUUM FULL "Event";
//! ```
//! ## Use instead
//! Plain `VACUUM` (no lock against the application), or an online rebuild tool such as
//! `pg_repack`, outside the migration.

use super::prelude::*;

pub(crate) const NAME: &str = "vacuum-full-or-cluster";
pub(crate) const HELP: &str = "Use plain VACUUM, or pg_repack outside the migration.";

pub(crate) fn check(cx: &mut Checker<'_>) {
    let what = match cx.action {
        Some(Action::VacuumFull { .. }) => "VACUUM FULL",
        Some(Action::Cluster { .. }) => "CLUSTER",
        _ => return,
    };
    cx.report(
        Rule::VacuumFullOrCluster,
        format!("{what} rewrites the table under ACCESS EXCLUSIVE."),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_rewrites() {
        lint_one("VACUUM FULL \"Event\";", Rule::VacuumFullOrCluster);
        lint_one(
            "CLUSTER \"Event\" USING \"Event_pkey\";",
            Rule::VacuumFullOrCluster,
        );
        lint_ok("VACUUM ANALYZE \"Event\";", Rule::VacuumFullOrCluster);
    }

    #[test]
    fn reads_vacuum_options() {
        for sql in [
            "VACUUM (FULL) t;",
            "VACUUM (FULL, ANALYZE) t;",
            "VACUUM (FULL TRUE) t;",
        ] {
            let f = lint_one(sql, Rule::VacuumFullOrCluster);
            assert_eq!(f.table.as_deref(), Some("t"), "{sql}");
            assert!(f.blocks_reads, "{sql}");
        }
        for sql in [
            "VACUUM (FULL FALSE) t;",
            "VACUUM (FULL OFF, ANALYZE) t;",
            "VACUUM (FULL 0) t;",
            "VACUUM (ANALYZE) t;",
        ] {
            lint_ok(sql, Rule::VacuumFullOrCluster);
        }
    }
}
