//! The splitter never panics, its spans are ordered and on char boundaries, and the transaction
//! analysis agrees with it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use migrate_core::sql::{split, StatementKind, TransactionShape};

fuzz_target!(|data: &[u8]| {
    let sql = String::from_utf8_lossy(data);
    let statements = split(&sql);
    let mut last = 0;
    for st in &statements {
        assert!(st.span.start >= last && st.span.start <= st.span.end);
        assert!(sql.is_char_boundary(st.span.start) && sql.is_char_boundary(st.span.end));
        assert!(st.start.line >= 1 && st.start.column >= 1);
        for w in &st.words {
            assert!(w.start >= st.span.start && w.end <= st.span.end);
        }
        last = st.span.end;
    }
    let shape = TransactionShape::of(&sql);
    let sql_count = statements
        .iter()
        .filter(|s| s.kind == StatementKind::Sql)
        .count();
    assert_eq!(shape.statements, sql_count);
    assert!(shape.splits.iter().all(|s| s.statements_after > 0));
});
