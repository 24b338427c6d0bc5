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
