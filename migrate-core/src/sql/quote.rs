//! Quoting identifiers for SQL the engine builds itself.

/// Quotes an identifier for PostgreSQL: wrapped in double quotes, inner quotes doubled, so any
/// name (quotes, semicolons, unicode) is taken literally.
///
/// ```
/// assert_eq!(migrate_core::sql::quote_ident(r#"we"ird;"#), r#""we""ird;""#);
/// ```
#[must_use]
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal for statements that take no bind parameters (`COMMENT ON`,
/// `ALTER … SET`): like libpq's `PQescapeLiteral`, an `E''` literal with quotes and backslashes
/// doubled, so it reads the same whatever `standard_conforming_strings` is.
///
/// ```
/// assert_eq!(migrate_core::sql::quote_literal(r"it's \ ok"), r"E'it''s \\ ok'");
/// ```
#[must_use]
pub fn quote_literal(value: &str) -> String {
    format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}
