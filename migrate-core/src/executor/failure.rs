//! Turning a database error into Prisma's failure text (the ledger's `logs`).

use postgres::error::ErrorPosition;

use crate::sql::LineCol;

/// The database error as people read it: message, detail, hint, and the lines around the error
/// position when the server gave one.
pub(crate) fn describe(error: &postgres::Error, script: &str) -> (String, Option<LineCol>) {
    let Some(db) = error.as_db_error() else {
        return (error.to_string(), None);
    };
    let mut text = format!("{}: {}", db.severity(), db.message());
    if let Some(detail) = db.detail() {
        text.push_str(&format!("\nDETAIL: {detail}"));
    }
    if let Some(hint) = db.hint() {
        text.push_str(&format!("\nHINT: {hint}"));
    }
    if let Some(where_) = db.where_() {
        text.push_str(&format!("\nCONTEXT: {where_}"));
    }
    let at = match db.position() {
        Some(ErrorPosition::Original(pos)) => locate(script, *pos as usize),
        _ => None,
    };
    if let Some(at) = at {
        text.push_str("\n\nPosition:\n");
        let first = at.line.saturating_sub(4).max(1);
        for (n, line) in script
            .lines()
            .enumerate()
            .skip(first - 1)
            .take(at.line - first + 1)
        {
            text.push_str(&format!("{:>5} {line}\n", n + 1));
        }
    }
    (text, at)
}

/// Line and column of a 1-based character position.
fn locate(script: &str, position: usize) -> Option<LineCol> {
    let offset = script.char_indices().nth(position.checked_sub(1)?)?.0;
    let before = &script[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Some(LineCol {
        line,
        column: script[line_start..offset].chars().count() + 1,
    })
}

/// The text Prisma stores in `logs` for a failed migration (P3018).
pub(crate) fn prisma_logs(name: &str, code: Option<&str>, message: &str) -> String {
    format!(
        "A migration failed to apply. New migrations cannot be applied before the error is \
         recovered from. Read more about how to resolve migration issues in a production \
         database: https://pris.ly/d/migrate-resolve\n\nMigration name: {name}\n\nDatabase error \
         code: {}\n\nDatabase error:\n{message}\n",
        code.unwrap_or("none")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_character_positions() {
        let script = "SELECT 1;\nSELECT é FROM nowhere;";
        assert_eq!(locate(script, 1), Some(LineCol { line: 1, column: 1 }));
        assert_eq!(locate(script, 18), Some(LineCol { line: 2, column: 8 }));
        assert_eq!(locate(script, 999), None);
        assert_eq!(locate(script, 0), None);
    }
}
