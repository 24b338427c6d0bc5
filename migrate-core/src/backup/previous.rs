//! The databases a restore kept (`RestoreOptions::keep_previous`): the replaced database,
//! renamed `<db>_pre_restore_<stamp>` and read-only, for forensics. Listed and dropped here, so
//! that nobody has to recognise them in `\l` by hand.

use chrono::NaiveDateTime;

use super::BackupError;
use crate::connection::{connect, DatabaseUrl};
use crate::sql::quote_ident;

/// A replaced database a restore kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PreviousDatabase {
    /// Its name, `<db>_pre_restore_<YYYYmmdd_HHMMSS>`.
    pub name: String,
    /// When the restore replaced it (UTC), from its name.
    pub replaced_at: Option<NaiveDateTime>,
    /// Its size on disk.
    pub bytes: i64,
}

/// The name a restore of `database` gives the database it replaces at `stamp`.
pub(crate) fn previous_name(database: &str, stamp: &str) -> String {
    format!("{}_pre_restore_{stamp}", prefix(database))
}

/// Names are at most 63 bytes: the database's name is cut to 30 to leave room for the suffix.
fn prefix(database: &str) -> &str {
    let mut end = database.len().min(30);
    while !database.is_char_boundary(end) {
        end -= 1;
    }
    &database[..end]
}

/// The databases restores of `url`'s database kept, oldest first.
///
/// # Errors
///
/// [`BackupError`] when the server cannot be reached or its catalog read.
pub fn previous_databases(url: &DatabaseUrl) -> Result<Vec<PreviousDatabase>, BackupError> {
    let mut admin = connect(&url.with_database("postgres"))?;
    let head = format!("{}_pre_restore_", prefix(url.database()));
    let rows = admin
        .query(
            "SELECT datname::text, pg_database_size(oid) FROM pg_database \
             WHERE starts_with(datname, $1) ORDER BY datname",
            &[&head],
        )
        .map_err(BackupError::query(
            "listing the databases restores kept",
            url.target(),
        ))?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name: String = r.get(0);
            let stamp = name.strip_prefix(&head)?;
            let replaced_at = NaiveDateTime::parse_from_str(stamp, "%Y%m%d_%H%M%S").ok()?;
            Some(PreviousDatabase {
                name,
                replaced_at: Some(replaced_at),
                bytes: r.get(1),
            })
        })
        .collect())
}

/// Drops `name`, one of [`previous_databases`] of `url` (any other name is refused).
///
/// # Errors
///
/// [`BackupError::NotAPreviousDatabase`] when `name` is not a database a restore of `url`
/// kept, and [`BackupError`] when it cannot be dropped.
pub fn drop_previous_database(url: &DatabaseUrl, name: &str) -> Result<(), BackupError> {
    if !previous_databases(url)?.iter().any(|p| p.name == name) {
        return Err(BackupError::NotAPreviousDatabase {
            name: name.to_owned(),
            database: url.database().to_owned(),
        });
    }
    let mut admin = connect(&url.with_database("postgres"))?;
    admin
        .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", quote_ident(name)))
        .map_err(BackupError::query(format!("dropping {name}"), url.target()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_keeps_the_suffix_within_postgres_limit() {
        let long = "a".repeat(60);
        let name = previous_name(&long, "20261130_101010");
        assert!(name.len() <= 63, "{name}");
        assert!(name.ends_with("_pre_restore_20261130_101010"));
        assert_eq!(
            previous_name("app", "20261130_101010"),
            "app_pre_restore_20261130_101010"
        );
    }
}
