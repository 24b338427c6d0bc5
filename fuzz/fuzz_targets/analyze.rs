//! The analyzer never panics on arbitrary bytes, understands or reports every statement, and
//! points every finding inside the file; every report format renders it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use migrate_core::safety::report::{self, Format, Sources};
use migrate_core::safety::{ApprovalReview, DefaultAnalyzer, SafetyReport};

fuzz_target!(|data: &[u8]| {
    let sql = String::from_utf8_lossy(data);
    let analysis = DefaultAnalyzer::default().analyze_sql("fuzz", &sql);
    let lines = sql.split('\n').count();
    let mut last = 0;
    for st in &analysis.statements {
        assert!(st.line >= 1 && st.line <= lines);
        assert!(st.line >= last, "statements in order");
        last = st.line;
    }
    for f in &analysis.findings {
        assert!(f.span.end <= sql.len() && f.line <= lines);
    }
    let report = SafetyReport {
        migrations: vec![analysis],
    };
    let text = |_: &str| Some(sql.to_string());
    let path = |_: &str| "fuzz/migration.sql".to_owned();
    let sources = Sources {
        path: &path,
        text: &text,
    };
    for format in [
        Format::Human,
        Format::Json,
        Format::Markdown,
        Format::Sarif,
        Format::Github,
    ] {
        let _ = report::render(&report, &ApprovalReview::default(), &sources, format);
    }
});
