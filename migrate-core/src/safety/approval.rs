//! Approvals: destructive or high-risk findings block `deploy` until someone approves them,
//! bound to the migration's checksum so an edited migration needs a new approval.
//!
//! Three ways to approve, all recorded in the report:
//! - the approvals file `migrate-approvals.toml` beside the migrations:
//!   ```toml
//!   [[approval]]
//!   migration = "20240102000000_drop_legacy"
//!   checksum = "9f86d081…"          # the migration's checksum when it was reviewed
//!   rules = ["drop-column"]          # or ["*"]
//!   reason = "legacyId unused since v2.3 (PR #412)"
//!   approved_by = "alice"            # optional
//!   ```
//! - a directive in the SQL, right above the statement, with a mandatory reason:
//!   `-- migrate:approve drop-column reason: data copied to "User"."externalId" in #410`;
//! - `--approve MIGRATION` or `--approve MIGRATION:RULE` for one run (and the CLI's interactive
//!   confirmation on a terminal, which becomes such an approval).
//!
//! A rule is named as reports show it: a built-in rule's name, or a custom rule's (see
//! [`CustomRule`](super::CustomRule)). The analysis alone knows custom rules, so a well-formed
//! name that is not built in is accepted when approvals are read, and judged against the
//! findings: an approval naming a rule that no finding of its migration has is reported as
//! unused, and such a directive as invalid (unknown rule).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::analyzer::SafetyReport;
use super::rule::{check_kebab_case, Rule};
use crate::sql::{split, LineCol};

/// The approvals file name, in the migrations directory.
pub const APPROVALS_FILE: &str = "migrate-approvals.toml";

/// What can go wrong with approvals.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// The approvals file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The approvals file is not valid.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line when known.
        reason: String,
    },
    /// An `--approve` argument is not `MIGRATION` or `MIGRATION:RULE`.
    #[error("--approve {arg:?}: {reason}")]
    InvalidArgument {
        /// The argument.
        arg: String,
        /// What is wrong.
        reason: String,
    },
}

/// One approval from the approvals file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileApproval {
    /// The migration approved.
    pub migration: String,
    /// Its checksum when it was reviewed.
    pub checksum: String,
    /// Rule names approved, or `["*"]`.
    pub rules: Vec<String>,
    /// Why it is fine.
    pub reason: String,
    /// Who approved.
    #[serde(default)]
    pub approved_by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalsFile {
    #[serde(default)]
    approval: Vec<FileApproval>,
}

/// A one-run approval (`--approve`, or an interactive confirmation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunApproval {
    /// The migration.
    pub migration: String,
    /// The name of the rule (built-in or custom), or `None` for every rule of the migration.
    pub rule: Option<String>,
}

/// Checks a rule name an approval gives: a built-in rule's, or one a custom rule can have.
fn check_approvable(name: &str) -> Result<(), String> {
    if name.parse::<Rule>().is_ok() {
        return Ok(());
    }
    check_kebab_case(name).map_err(|e| {
        format!(
            "unknown rule {name:?}: neither a built-in rule (see `migrate plan --list-rules`) nor \
             a custom rule name ({e})"
        )
    })
}

impl std::str::FromStr for RunApproval {
    type Err = ApprovalError;
    fn from_str(arg: &str) -> Result<Self, ApprovalError> {
        let invalid = |reason: String| ApprovalError::InvalidArgument {
            arg: arg.to_owned(),
            reason,
        };
        let (migration, rule) = match arg.split_once(':') {
            Some((m, r)) => {
                check_approvable(r).map_err(invalid)?;
                (m, Some(r.to_owned()))
            }
            None => (arg, None),
        };
        if migration.is_empty() {
            return Err(invalid("expected MIGRATION or MIGRATION:RULE".into()));
        }
        Ok(Self {
            migration: migration.to_owned(),
            rule,
        })
    }
}

/// All approvals in force for a run.
#[derive(Debug, Clone, Default)]
pub struct Approvals {
    file: Vec<FileApproval>,
    run: Vec<RunApproval>,
}

/// What applying approvals found besides the approvals themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApprovalReview {
    /// Approvals that matched no finding (the migration is already deployed, or the rule no
    /// longer fires): they can be removed.
    pub unused: Vec<String>,
    /// Approvals whose checksum is not the migration's any more: the migration was edited after
    /// review and needs a new approval.
    pub stale: Vec<String>,
    /// In-SQL directives that cannot count (no reason, unknown rule), with their position.
    pub invalid: Vec<String>,
}

impl Approvals {
    /// Reads `migrate-approvals.toml` from `dir` (none is fine).
    ///
    /// # Errors
    ///
    /// [`ApprovalError`] when the file exists but cannot be read or parsed, or names a rule that
    /// is neither built in nor a valid custom rule name, or has an empty reason.
    pub fn load(dir: &Path) -> Result<Self, ApprovalError> {
        let path = dir.join(APPROVALS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(ApprovalError::Read { path, source }),
        };
        Self::parse(&text, &path)
    }

    /// Parses approvals-file text (`path` is for messages).
    ///
    /// # Errors
    ///
    /// [`ApprovalError::Invalid`] naming the problem.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ApprovalError> {
        let invalid = |reason: String| ApprovalError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let file: ApprovalsFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for (i, a) in file.approval.iter().enumerate() {
            let which = format!("approval #{} ({})", i + 1, a.migration);
            if a.reason.trim().is_empty() {
                return Err(invalid(format!(
                    "{which}: reason is empty; say why the change is safe"
                )));
            }
            if a.rules.is_empty() {
                return Err(invalid(format!(
                    "{which}: rules is empty; name rules or use [\"*\"]"
                )));
            }
            for rule in a.rules.iter().filter(|r| *r != "*") {
                check_approvable(rule).map_err(|e| invalid(format!("{which}: {e}")))?;
            }
        }
        Ok(Self {
            file: file.approval,
            run: Vec::new(),
        })
    }

    /// Adds one-run approvals.
    pub fn add_run(&mut self, approvals: impl IntoIterator<Item = RunApproval>) -> &mut Self {
        self.run.extend(approvals);
        self
    }

    /// Marks the findings of `report` that these approvals (and the in-SQL directives of
    /// `scripts`, by migration name) cover, and reports unused, stale and invalid approvals.
    ///
    /// A rule name that is not built in counts when some finding of the migration has it (a
    /// custom rule's); otherwise a file approval naming it is reported as unused (the name
    /// alone, when the approval's other rules are used) and a directive naming it as invalid.
    pub fn apply(
        &self,
        report: &mut SafetyReport,
        script_of: &dyn Fn(&str) -> Option<String>,
    ) -> ApprovalReview {
        let mut review = ApprovalReview::default();
        let mut used_file = vec![false; self.file.len()];
        let mut stale_file = vec![false; self.file.len()];
        let mut used_run = vec![false; self.run.len()];
        // (migration, rule name) of every finding: what a custom rule name can refer to.
        let mut seen: HashSet<(String, String)> = HashSet::new();
        for analysis in &mut report.migrations {
            let rules: HashSet<&str> = analysis.findings.iter().map(|f| f.rule.name()).collect();
            let directives = script_of(&analysis.migration)
                .map(|sql| {
                    directives(
                        &sql,
                        &analysis.migration,
                        &|rule| rules.contains(rule),
                        &mut review.invalid,
                    )
                })
                .unwrap_or_default();
            seen.extend(
                rules
                    .into_iter()
                    .map(|r| (analysis.migration.clone(), r.to_owned())),
            );
            for (i, a) in self.file.iter().enumerate() {
                if a.migration == analysis.migration && a.checksum != analysis.checksum {
                    review.stale.push(format!(
                        "{}: approved for checksum {}…, but the migration is now {}… (edited after review)",
                        a.migration,
                        a.checksum.get(..12).unwrap_or(&a.checksum),
                        analysis.checksum.get(..12).unwrap_or(&analysis.checksum)
                    ));
                    used_file[i] = true; // reported as stale, not as unused
                    stale_file[i] = true;
                }
            }
            for finding in analysis.findings.iter_mut().filter(|f| f.needs_approval()) {
                let rule = finding.rule.name().to_owned();
                if let Some(d) = directives
                    .iter()
                    .find(|d| d.rule == rule && d.applies_to_line == finding.line)
                {
                    finding.approved_by =
                        Some(format!("directive at line {}: {}", d.at.line, d.reason));
                    continue;
                }
                let by_file = self.file.iter().position(|a| {
                    a.migration == analysis.migration
                        && a.checksum == analysis.checksum
                        && a.rules.iter().any(|r| r == "*" || *r == rule)
                });
                if let Some(i) = by_file {
                    used_file[i] = true;
                    let a = &self.file[i];
                    let who = a
                        .approved_by
                        .as_deref()
                        .map(|w| format!(" ({w})"))
                        .unwrap_or_default();
                    finding.approved_by = Some(format!("{APPROVALS_FILE}{who}: {}", a.reason));
                    continue;
                }
                let by_run = self.run.iter().position(|a| {
                    a.migration == analysis.migration && a.rule.as_deref().is_none_or(|r| r == rule)
                });
                if let Some(i) = by_run {
                    used_run[i] = true;
                    finding.approved_by = Some("--approve".to_owned());
                }
            }
        }
        for (i, a) in self.file.iter().enumerate() {
            if !used_file[i] {
                review.unused.push(format!(
                    "{}: {} ({APPROVALS_FILE})",
                    a.migration,
                    a.rules.join(", ")
                ));
            } else if !stale_file[i] {
                // Used for other rules: a name that is neither built in nor any finding's.
                for rule in &a.rules {
                    let known = rule == "*"
                        || rule.parse::<Rule>().is_ok()
                        || seen.contains(&(a.migration.clone(), rule.clone()));
                    if !known {
                        review
                            .unused
                            .push(format!("{}: {rule} ({APPROVALS_FILE})", a.migration));
                    }
                }
            }
        }
        for (a, used) in self.run.iter().zip(&used_run) {
            if !used {
                let rule = a
                    .rule
                    .as_deref()
                    .map(|r| format!(":{r}"))
                    .unwrap_or_default();
                review
                    .unused
                    .push(format!("{}{rule} (--approve)", a.migration));
            }
        }
        review
    }
}

/// A `-- migrate:approve RULE reason: …` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Directive {
    rule: String,
    reason: String,
    at: LineCol,
    /// The line of the statement that follows the directive.
    applies_to_line: usize,
}

const MARKER: &str = "migrate:approve";

/// The directives of `sql`; those that cannot count go to `invalid`. A rule name that is not
/// built in must be `known` (a rule of one of the migration's findings).
fn directives(
    sql: &str,
    migration: &str,
    known: &dyn Fn(&str) -> bool,
    invalid: &mut Vec<String>,
) -> Vec<Directive> {
    let statements = split(sql);
    let mut out = Vec::new();
    for (n, line) in sql.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("--").map(str::trim_start) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix(MARKER) else {
            continue;
        };
        let at = LineCol {
            line: n + 1,
            column: line.len() - line.trim_start().len() + 1,
        };
        let (rule, reason) = match rest.split_once("reason:") {
            Some((rule, reason)) => (rule.trim(), reason.trim()),
            None => (rest.trim(), ""),
        };
        let next = statements.iter().find(|s| s.start.line > n + 1);
        let problem = if reason.is_empty() {
            Some("no reason (write `reason: …`)".to_owned())
        } else if rule.parse::<Rule>().is_err() && !known(rule) {
            Some(format!("unknown rule {rule:?}"))
        } else if next.is_none() {
            Some("no statement follows it".to_owned())
        } else {
            None
        };
        match (problem, next) {
            (None, Some(next)) => out.push(Directive {
                rule: rule.to_owned(),
                reason: reason.to_owned(),
                at,
                applies_to_line: next.start.line,
            }),
            (problem, _) => invalid.push(format!(
                "{migration}/migration.sql:{at}: approval directive ignored: {}",
                problem.unwrap_or_default()
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::{
        parse_script, CustomRule, DefaultAnalyzer, Finding, SafetyAnalyzer, Scope, Severity,
    };
    use crate::source::{LocalMigration, Migrations};

    const HISTORY: &str = "CREATE TABLE u (id int, legacy text);";

    fn report(sql: &str) -> (SafetyReport, Migrations) {
        let migrations = Migrations::from_vec(
            "m",
            vec![
                LocalMigration::from_sql("20240101000000_init", HISTORY),
                LocalMigration::from_sql("20240102000000_drop", sql),
            ],
        );
        let report = DefaultAnalyzer::default().analyze(
            &migrations,
            &Scope::pending(["20240102000000_drop".to_owned()]),
        );
        (report, migrations)
    }

    fn apply(approvals: &Approvals, sql: &str) -> (SafetyReport, ApprovalReview) {
        let (mut report, migrations) = report(sql);
        let review = approvals.apply(&mut report, &|name| {
            migrations
                .get(name)
                .and_then(|m| m.script())
                .map(|s| s.text().to_owned())
        });
        (report, review)
    }

    #[test]
    fn unapproved_destructive_findings_block() {
        let (report, _) = apply(&Approvals::default(), "ALTER TABLE u DROP COLUMN legacy;");
        assert_eq!(report.needing_approval().count(), 1);
    }

    #[test]
    fn directive_with_reason_approves_the_next_statement_only() {
        let sql = "-- migrate:approve drop-column reason: unused since v2\nALTER TABLE u DROP COLUMN legacy;\nALTER TABLE u DROP COLUMN id;";
        let (report, review) = apply(&Approvals::default(), sql);
        let pending: Vec<usize> = report.needing_approval().map(|f| f.line).collect();
        assert_eq!(pending, [3]);
        assert!(review.invalid.is_empty());
        let approved = report.findings().find(|f| f.line == 2).unwrap();
        assert!(approved
            .approved_by
            .as_deref()
            .unwrap()
            .contains("unused since v2"));

        let (report, review) = apply(
            &Approvals::default(),
            "-- migrate:approve drop-column\nALTER TABLE u DROP COLUMN legacy;",
        );
        assert_eq!(
            report.needing_approval().count(),
            1,
            "a reason is mandatory"
        );
        assert!(
            review.invalid[0].contains("no reason") && review.invalid[0].contains(":1:1"),
            "{review:?}"
        );
    }

    #[test]
    fn file_approvals_bind_to_the_checksum() {
        let sql = "ALTER TABLE u DROP COLUMN legacy;";
        let checksum = crate::source::checksum(sql);
        let text = format!("[[approval]]\nmigration = \"20240102000000_drop\"\nchecksum = \"{checksum}\"\nrules = [\"drop-column\"]\nreason = \"reviewed\"\n\n[[approval]]\nmigration = \"20230101000000_old\"\nchecksum = \"x\"\nrules = [\"*\"]\nreason = \"old\"\n");
        let approvals = Approvals::parse(&text, Path::new("a.toml")).unwrap();
        let (report, review) = apply(&approvals, sql);
        assert_eq!(report.needing_approval().count(), 0);
        assert_eq!(review.unused.len(), 1, "{review:?}");

        let (report, review) = apply(&approvals, "ALTER TABLE u DROP COLUMN legacy; -- edited");
        assert_eq!(
            report.needing_approval().count(),
            1,
            "an edited migration needs a new approval"
        );
        assert_eq!(review.stale.len(), 1);
    }

    #[test]
    fn run_approvals_and_bad_input() {
        let mut approvals = Approvals::default();
        approvals.add_run(["20240102000000_drop:drop-column".parse().unwrap()]);
        let (report, _) = apply(&approvals, "ALTER TABLE u DROP COLUMN legacy;");
        assert_eq!(report.needing_approval().count(), 0);
        // A well-formed name may be a custom rule's: judged against the findings.
        assert_eq!(
            "x:no-such-rule"
                .parse::<RunApproval>()
                .unwrap()
                .rule
                .as_deref(),
            Some("no-such-rule")
        );
        let err = "x:No Such Rule".parse::<RunApproval>().unwrap_err();
        assert!(err.to_string().contains("unknown rule"), "{err}");
        let err = Approvals::parse("[[approval]]\nmigration = \"m\"\nchecksum = \"c\"\nrules = [\"Drop_Column\"]\nreason = \"r\"\n", Path::new("a.toml")).unwrap_err();
        assert!(
            err.to_string().contains("unknown rule \"Drop_Column\""),
            "{err}"
        );
        let err = Approvals::parse("[[approval]]\nmigration = \"m\"\nchecksum = \"c\"\nrules = [\"drop-column\"]\nreason = \" \"\n", Path::new("a.toml")).unwrap_err();
        assert!(err.to_string().contains("reason is empty"), "{err}");
        let err =
            Approvals::parse("[[approval]]\nmigration = 3\n", Path::new("a.toml")).unwrap_err();
        assert!(err.to_string().contains("a.toml"), "{err}");
    }

    /// An organisation's analyzer: the default one, plus a rule of its own against `TRUNCATE`.
    #[derive(Debug)]
    struct NoTruncate {
        inner: DefaultAnalyzer,
        rule: CustomRule,
    }

    impl NoTruncate {
        fn new() -> Self {
            Self {
                inner: DefaultAnalyzer::default(),
                rule: CustomRule::new(
                    "no-truncate",
                    Severity::Error,
                    "Archive the rows, then delete them in batches.",
                )
                .unwrap(),
            }
        }
    }

    impl SafetyAnalyzer for NoTruncate {
        fn analyze(&self, migrations: &Migrations, scope: &Scope) -> SafetyReport {
            let mut report = self.inner.analyze(migrations, scope);
            for analysis in &mut report.migrations {
                let Some(script) = migrations.get(&analysis.migration).and_then(|m| m.script())
                else {
                    continue;
                };
                for statement in parse_script(script.sql()) {
                    let text = script.sql()[statement.span.clone()].to_ascii_uppercase();
                    if text.contains("TRUNCATE") {
                        analysis.findings.push(Finding::custom_on(
                            &self.rule,
                            &analysis.migration,
                            &statement,
                            "TRUNCATE is forbidden in this organisation.",
                        ));
                    }
                }
            }
            report
        }
    }

    const TRUNCATE: &str = "SELECT 1;\nTRUNCATE u;";

    /// The custom analyzer's report on `sql` as the pending migration, with `approvals` applied
    /// the way the safety gate applies them.
    fn apply_custom(approvals: &Approvals, sql: &str) -> (SafetyReport, ApprovalReview) {
        let migrations = Migrations::from_vec(
            "m",
            vec![
                LocalMigration::from_sql("20240101000000_init", HISTORY),
                LocalMigration::from_sql("20240102000000_drop", sql),
            ],
        );
        let analyzer: Box<dyn SafetyAnalyzer> = Box::new(NoTruncate::new());
        let mut report = analyzer.analyze(
            &migrations,
            &Scope::pending(["20240102000000_drop".to_owned()]),
        );
        let review = approvals.apply(&mut report, &|name| {
            migrations
                .get(name)
                .and_then(|m| m.script())
                .map(|s| s.text().to_owned())
        });
        (report, review)
    }

    fn pending(report: &SafetyReport) -> Vec<String> {
        report
            .needing_approval()
            .map(|f| format!("{}:{}", f.rule, f.line))
            .collect()
    }

    #[test]
    fn a_custom_rule_blocks_until_approved_by_its_name() {
        let (report, review) = apply_custom(&Approvals::default(), TRUNCATE);
        assert_eq!(pending(&report), ["truncate-table:2", "no-truncate:2"]);
        let custom = report
            .findings()
            .find(|f| f.rule.name() == "no-truncate")
            .unwrap();
        assert_eq!(custom.severity, Severity::Error);
        assert_eq!(
            custom.help,
            "Archive the rows, then delete them in batches."
        );
        assert_eq!(custom.migration, "20240102000000_drop");
        assert_eq!((custom.line, custom.column), (2, 1));
        assert_eq!(review, ApprovalReview::default());

        let mut approvals = Approvals::default();
        approvals.add_run(["20240102000000_drop:no-truncate".parse().unwrap()]);
        let (report, review) = apply_custom(&approvals, TRUNCATE);
        assert_eq!(
            pending(&report),
            ["truncate-table:2"],
            "only the custom rule is approved"
        );
        let custom = report
            .findings()
            .find(|f| f.rule.name() == "no-truncate")
            .unwrap();
        assert_eq!(custom.approved_by.as_deref(), Some("--approve"));
        assert!(review.unused.is_empty(), "{review:?}");

        approvals.add_run(["20240102000000_drop:truncate-table".parse().unwrap()]);
        let (report, _) = apply_custom(&approvals, TRUNCATE);
        assert_eq!(pending(&report), Vec::<String>::new());

        let mut whole = Approvals::default();
        whole.add_run(["20240102000000_drop".parse().unwrap()]);
        let (report, _) = apply_custom(&whole, TRUNCATE);
        assert_eq!(
            pending(&report),
            Vec::<String>::new(),
            "MIGRATION approves every rule"
        );
    }

    #[test]
    fn a_custom_rule_is_approved_by_directive_and_file_too() {
        let sql =
            "SELECT 1;\n-- migrate:approve no-truncate reason: staging copy only\nTRUNCATE u;";
        let (report, review) = apply_custom(&Approvals::default(), sql);
        assert_eq!(pending(&report), ["truncate-table:3"]);
        assert!(review.invalid.is_empty(), "{review:?}");

        let checksum = crate::source::checksum(TRUNCATE);
        let text = format!("[[approval]]\nmigration = \"20240102000000_drop\"\nchecksum = \"{checksum}\"\nrules = [\"no-truncate\", \"truncate-table\"]\nreason = \"reviewed\"\n");
        let approvals = Approvals::parse(&text, Path::new("a.toml")).unwrap();
        let (report, review) = apply_custom(&approvals, TRUNCATE);
        assert_eq!(pending(&report), Vec::<String>::new());
        assert_eq!(review, ApprovalReview::default());
    }

    #[test]
    fn a_rule_name_no_finding_has_is_unused_or_invalid() {
        let checksum = crate::source::checksum(TRUNCATE);
        let text = format!("[[approval]]\nmigration = \"20240102000000_drop\"\nchecksum = \"{checksum}\"\nrules = [\"no-truncat\", \"truncate-table\"]\nreason = \"reviewed\"\n");
        let mut approvals = Approvals::parse(&text, Path::new("a.toml")).unwrap();
        approvals.add_run(["20240102000000_drop:no-truncat".parse().unwrap()]);
        let (report, review) = apply_custom(&approvals, TRUNCATE);
        assert_eq!(pending(&report), ["no-truncate:2"]);
        assert_eq!(
            review.unused,
            [
                format!("20240102000000_drop: no-truncat ({APPROVALS_FILE})"),
                "20240102000000_drop:no-truncat (--approve)".to_owned()
            ]
        );

        let sql = "SELECT 1;\n-- migrate:approve no-truncat reason: typo\nTRUNCATE u;";
        let (report, review) = apply_custom(&Approvals::default(), sql);
        assert_eq!(pending(&report), ["truncate-table:3", "no-truncate:3"]);
        assert_eq!(
            review.invalid,
            ["20240102000000_drop/migration.sql:2:1: approval directive ignored: unknown rule \"no-truncat\""]
        );
    }

    #[test]
    fn analyzers_can_be_shared_across_threads() {
        fn shared<T: Send + Sync + std::fmt::Debug + ?Sized>() {}
        shared::<DefaultAnalyzer>();
        shared::<dyn SafetyAnalyzer>();
    }
}
