//! `fault-matrix`: prints the fault matrix recorded by the last run of the fault-injection tests,
//! or writes it into a Markdown file between `<!-- fault-matrix:start -->` and
//! `<!-- fault-matrix:end -->`.
//!
//! ```text
//! cargo test -p migrate-tests --test it -- faults && cargo test -p migrate-tests --test crash
//! cargo run -p migrate-tests --bin fault-matrix -- --write README.md
//! ```
//!
//! Exits 1 when a scenario did not survive, 2 on a usage or file error.

use std::process::ExitCode;

use migrate_tests::fault_matrix::{read_all, render, results_dir};

const START: &str = "<!-- fault-matrix:start -->";
const END: &str = "<!-- fault-matrix:end -->";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let records = match read_all(&results_dir()) {
        Ok(records) if !records.is_empty() => records,
        Ok(_) => {
            eprintln!("no records: run the fault-injection tests first");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("{e}: run the fault-injection tests first");
            return ExitCode::from(2);
        }
    };
    let table = render(&records);
    match args.as_slice() {
        [] => print!("{table}"),
        [flag, file] if flag == "--write" => {
            let text = match std::fs::read_to_string(file) {
                Ok(text) => text,
                Err(e) => {
                    eprintln!("{file}: {e}");
                    return ExitCode::from(2);
                }
            };
            let (Some(start), Some(end)) = (text.find(START), text.find(END)) else {
                eprintln!("{file}: no {START} … {END} markers");
                return ExitCode::from(2);
            };
            let updated = format!("{}{START}\n{table}{}", &text[..start], &text[end..]);
            if let Err(e) = std::fs::write(file, updated) {
                eprintln!("{file}: {e}");
                return ExitCode::from(2);
            }
            eprintln!(
                "{file}: fault matrix of {} scenario(s) written",
                records.len()
            );
        }
        _ => {
            eprintln!("usage: fault-matrix [--write FILE.md]");
            return ExitCode::from(2);
        }
    }
    if records.iter().all(|r| r.survived) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
