//! The fault matrix's results: each fault-injection test records its scenario when it starts
//! (as not survived) and again when every check has passed, in `<target>/fault-matrix/`. The
//! `fault-matrix` binary turns the records into the README's table, so the table says what the
//! last run of the tests found, not what someone wrote.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// One scenario's record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// Position in the table.
    pub order: u32,
    /// What was done to the engine.
    pub scenario: String,
    /// Whether every check of the test passed (ledger, schema, row counts, output).
    pub survived: bool,
    /// What happened and what the next run did.
    pub outcome: String,
    /// How long the recovering run took, in seconds.
    pub recover_secs: Option<f64>,
    /// The test that ran it.
    pub test: String,
}

/// The directory of the records: `fault-matrix/` in Cargo's target directory (the one holding
/// `CACHEDIR.TAG`) above the running executable.
///
/// # Panics
/// When the executable is not inside a Cargo target directory.
#[must_use]
pub fn results_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the running executable");
    let target = exe
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .expect("a Cargo target directory above the executable");
    target.join("fault-matrix")
}

/// A running scenario: recorded as not survived until [`Scenario::survived`].
#[derive(Debug)]
pub struct Scenario {
    record: Record,
    path: PathBuf,
}

impl Scenario {
    /// Records the start of scenario `order`, `name`.
    ///
    /// # Panics
    /// When the record cannot be written.
    #[must_use]
    pub fn start(order: u32, name: &str) -> Self {
        let test = std::thread::current()
            .name()
            .unwrap_or("unknown")
            .to_owned();
        let dir = results_dir();
        std::fs::create_dir_all(&dir).expect("the fault-matrix directory");
        let scenario = Self {
            path: dir.join(format!("{order:02}.json")),
            record: Record {
                order,
                scenario: name.to_owned(),
                survived: false,
                outcome: "FAILED: the test did not finish (see its output)".to_owned(),
                recover_secs: None,
                test,
            },
        };
        scenario.write();
        scenario
    }

    /// Records that every check passed; call it last.
    pub fn survived(mut self, outcome: &str, recovered_in: Duration) {
        self.record.survived = true;
        self.record.outcome = outcome.to_owned();
        self.record.recover_secs = Some(recovered_in.as_secs_f64());
        self.write();
        eprintln!(
            "fault-matrix | {} | {outcome} | {:.2} s",
            self.record.scenario,
            recovered_in.as_secs_f64()
        );
    }

    fn write(&self) {
        let text = serde_json::to_string_pretty(&self.record).expect("a record serializes");
        std::fs::write(&self.path, text).expect("the fault-matrix record");
    }
}

/// Reads every record in `dir`, in table order.
///
/// # Errors
/// When the directory or a record cannot be read.
pub fn read_all(dir: &Path) -> Result<Vec<Record>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut records = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            records
                .push(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?);
        }
    }
    records.sort_by_key(|r: &Record| r.order);
    Ok(records)
}

/// The Markdown table of `records` and the summary line.
#[must_use]
pub fn render(records: &[Record]) -> String {
    let mut out =
        String::from("| scenario | survived | outcome | time to recover |\n|---|---|---|---:|\n");
    for r in records {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.scenario,
            if r.survived { "yes" } else { "**NO**" },
            r.outcome.replace('|', "\\|"),
            r.recover_secs
                .map_or_else(|| "–".to_owned(), |s| format!("{s:.1} s")),
        ));
    }
    let survived = records.iter().filter(|r| r.survived).count();
    out.push_str(&format!(
        "\nScenarios survived: {survived} / {}; data lost in any surviving scenario: 0 (each \
         test compares the ledger, the schema fingerprint and every table's row count with the \
         expected state: a twin database deployed without the fault, or the state at backup \
         time).\n",
        records.len()
    ));
    out
}
