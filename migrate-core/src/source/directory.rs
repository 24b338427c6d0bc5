//! Listing the migrations of a Prisma migrations directory.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{collation_order, LockFile, Script, SourceError};

/// The ledger's `migration_name` column is `VARCHAR(255)`.
const MAX_NAME_BYTES: usize = 255;

/// A Prisma migrations directory (by default `prisma/migrations`).
#[derive(Debug, Clone)]
pub struct MigrationSource {
    dir: PathBuf,
}

impl MigrationSource {
    /// The directory Prisma uses when nothing else is configured.
    pub const DEFAULT_DIR: &'static str = "prisma/migrations";

    /// A source reading `dir`.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory read by this source.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads every migration, in Prisma's order, with its scripts.
    ///
    /// Like Prisma: every direct subdirectory is a migration (hidden ones included; symbolic links
    /// are skipped, as Node's `isDirectory()` does), top-level files are ignored, a directory
    /// without `migration.sql` is still listed (see [`LocalMigration::script`]), and
    /// `migration_lock.toml` must name `postgresql` when present.
    ///
    /// # Errors
    ///
    /// A [`SourceError`] when the directory is missing or unreadable, a name is not UTF-8 or too
    /// long for the ledger, the provider is not PostgreSQL, or Prisma's collation order and byte
    /// order of the names disagree.
    pub fn load(&self) -> Result<Migrations, SourceError> {
        let read_err = |source| SourceError::Read {
            path: self.dir.clone(),
            source,
        };
        if !self.dir.is_dir() {
            return Err(SourceError::NotFound {
                path: self.dir.clone(),
            });
        }
        let lock_file = LockFile::read(&self.dir)?;
        if let Some(lock) = &lock_file {
            lock.check_postgresql()?;
        }

        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            if !entry.file_type().map_err(read_err)?.is_dir() {
                continue;
            }
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| SourceError::NonUtf8Name { path: entry.path() })?;
            if name.len() > MAX_NAME_BYTES {
                return Err(SourceError::NameTooLong {
                    len: name.len(),
                    name,
                });
            }
            names.push(name);
        }
        if let Some((first, second)) = collation_order(&mut names) {
            return Err(SourceError::AmbiguousOrder {
                dir: self.dir.clone(),
                first,
                second,
            });
        }

        // Read and checksum in parallel (a long history is hundreds of files); the first error
        // in migration order is the one reported, as a sequential read would.
        let migrations = names
            .into_par_iter()
            .map(|name| LocalMigration::read(&self.dir, name))
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<_, _>>()?;
        Ok(Migrations {
            dir: self.dir.clone(),
            lock_file,
            migrations,
        })
    }
}

impl Default for MigrationSource {
    fn default() -> Self {
        Self::new(Self::DEFAULT_DIR)
    }
}

/// One migration directory.
#[derive(Debug, Clone)]
pub struct LocalMigration {
    name: String,
    dir: PathBuf,
    script: Option<Script>,
    down: Option<Script>,
}

impl LocalMigration {
    fn read(parent: &Path, name: String) -> Result<Self, SourceError> {
        let dir = parent.join(&name);
        Ok(Self {
            script: read_optional(&dir.join("migration.sql"))?,
            down: read_optional(&dir.join("down.sql"))?,
            name,
            dir,
        })
    }

    /// Builds a migration from memory (for tools and tests that do not read a directory).
    #[must_use]
    pub fn from_sql(name: impl Into<String>, sql: &str) -> Self {
        let name = name.into();
        let dir = PathBuf::from(&name);
        Self {
            script: Some(Script::from_bytes(
                dir.join("migration.sql"),
                sql.as_bytes(),
            )),
            down: None,
            name,
            dir,
        }
    }

    /// The migration name: the directory name, as stored in `migration_name`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The migration directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `migration.sql`, or `None` when the directory has none (Prisma lists such a directory and
    /// fails with P3015 when it comes to apply it).
    #[must_use]
    pub fn script(&self) -> Option<&Script> {
        self.script.as_ref()
    }

    /// The optional `down.sql` beside `migration.sql`, which reverts it (Prisma's documented
    /// down-migration workflow; Prisma itself never reads it).
    #[must_use]
    pub fn down(&self) -> Option<&Script> {
        self.down.as_ref()
    }
}

fn read_optional(path: &Path) -> Result<Option<Script>, SourceError> {
    match Script::read(path) {
        Ok(script) => Ok(Some(script)),
        Err(SourceError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The migrations of a directory, in the order they are applied.
#[derive(Debug, Clone)]
pub struct Migrations {
    dir: PathBuf,
    lock_file: Option<LockFile>,
    migrations: Vec<LocalMigration>,
}

impl Migrations {
    /// Builds a migration list from memory, in the given order.
    #[must_use]
    pub fn from_vec(dir: impl Into<PathBuf>, migrations: Vec<LocalMigration>) -> Self {
        Self {
            dir: dir.into(),
            lock_file: None,
            migrations,
        }
    }

    /// The directory they were read from.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `migration_lock.toml`, when present.
    #[must_use]
    pub fn lock_file(&self) -> Option<&LockFile> {
        self.lock_file.as_ref()
    }

    /// All migrations in order.
    #[must_use]
    pub fn as_slice(&self) -> &[LocalMigration] {
        &self.migrations
    }

    /// The migration with this name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&LocalMigration> {
        self.migrations.iter().find(|m| m.name == name)
    }

    /// Iterates over the migrations in order.
    pub fn iter(&self) -> std::slice::Iter<'_, LocalMigration> {
        self.migrations.iter()
    }

    /// Number of migrations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// True when the directory holds no migration.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a LocalMigration;
    type IntoIter = std::slice::Iter<'a, LocalMigration>;
    fn into_iter(self) -> Self::IntoIter {
        self.migrations.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(dir: &Path, rel: &str, body: &[u8]) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, body).unwrap();
    }

    #[test]
    fn lists_direct_subdirectories_in_prisma_order() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "20240102000000_b/migration.sql", b"SELECT 2;");
        write(d, "20240101000000_a/migration.sql", b"SELECT 1;");
        write(d, "20240101000000_a/down.sql", b"SELECT 0;");
        write(d, ".hidden/migration.sql", b"SELECT 3;");
        write(d, "20240103000000_empty/README", b"no script");
        write(d, "migration_lock.toml", b"provider = \"postgresql\"\n");
        write(d, "README.md", b"ignored");
        std::os::unix::fs::symlink(d.join("20240101000000_a"), d.join("20240104000000_link"))
            .unwrap();

        let m = MigrationSource::new(d).load().unwrap();
        let names: Vec<_> = m.iter().map(LocalMigration::name).collect();
        assert_eq!(
            names,
            [
                ".hidden",
                "20240101000000_a",
                "20240102000000_b",
                "20240103000000_empty"
            ]
        );
        assert_eq!(m.as_slice()[1].down().unwrap().text(), "SELECT 0;");
        assert!(m.get("20240103000000_empty").unwrap().script().is_none());
        assert_eq!(
            m.lock_file().unwrap().provider.as_deref(),
            Some("postgresql")
        );
    }

    #[test]
    fn refuses_wrong_provider_and_missing_dir() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "migration_lock.toml", b"provider = \"mysql\"\n");
        let err = MigrationSource::new(tmp.path()).load().unwrap_err();
        assert!(matches!(err, SourceError::ProviderMismatch { .. }), "{err}");

        let err = MigrationSource::new(tmp.path().join("nope"))
            .load()
            .unwrap_err();
        assert!(matches!(err, SourceError::NotFound { .. }), "{err}");
    }

    #[test]
    fn refuses_ambiguous_order_naming_both_directories() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "20240101000000_a/migration.sql", b"SELECT 1;");
        write(
            tmp.path(),
            "20240101000000-dash/migration.sql",
            b"SELECT 1;",
        );
        let err = MigrationSource::new(tmp.path())
            .load()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("20240101000000_a") && err.contains("20240101000000-dash"),
            "{err}"
        );
    }

    /// One entry of a generated migrations directory.
    #[derive(Debug, Clone)]
    enum Entry {
        Migration(String, Option<Vec<u8>>),
        File(String),
        Link(String, String),
    }

    fn entry() -> impl proptest::strategy::Strategy<Value = Entry> {
        use proptest::prelude::*;
        // Names that sort differently by bytes and by collation, hidden ones, unicode.
        let name = "[0-9a-zA-Z_.é☃ -]{1,12}".prop_filter("not . or ..", |n| n != "." && n != "..");
        prop_oneof![
            (
                name.clone(),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64))
            )
                .prop_map(|(n, sql)| Entry::Migration(n, sql)),
            name.clone().prop_map(Entry::File),
            (name.clone(), name).prop_map(|(n, t)| Entry::Link(n, t)),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// The fuzz target `migration_dir`'s properties: success lists exactly the real
        /// subdirectories, in Prisma's order, with the checksum of the text on disk; failure names
        /// the directory.
        #[test]
        fn loading_lists_real_directories_in_order_or_names_the_problem(
            entries in proptest::collection::vec(entry(), 0..12),
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let d = tmp.path();
            for e in &entries {
                match e {
                    Entry::Migration(n, sql) => {
                        let _ = fs::create_dir(d.join(n));
                        if let Some(sql) = sql {
                            let _ = fs::write(d.join(n).join("migration.sql"), sql);
                        }
                    }
                    Entry::File(n) => {
                        let _ = fs::write(d.join(n), b"x");
                    }
                    Entry::Link(n, t) => {
                        let _ = std::os::unix::fs::symlink(t, d.join(n));
                    }
                }
            }
            match MigrationSource::new(d).load() {
                Ok(m) => {
                    let names: Vec<&str> = m.iter().map(LocalMigration::name).collect();
                    for pair in names.windows(2) {
                        proptest::prop_assert!(
                            crate::source::prisma_compare(pair[0], pair[1]).is_le(),
                            "{:?}",
                            pair
                        );
                    }
                    let mut real: Vec<String> = fs::read_dir(d)
                        .unwrap()
                        .flatten()
                        .filter(|e| e.file_type().unwrap().is_dir())
                        .map(|e| e.file_name().into_string().unwrap())
                        .collect();
                    real.sort();
                    let mut listed: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
                    listed.sort();
                    proptest::prop_assert_eq!(listed, real);
                    for local in m.iter() {
                        if let Some(script) = local.script() {
                            let bytes = fs::read(d.join(local.name()).join("migration.sql")).unwrap();
                            proptest::prop_assert_eq!(
                                script.checksum(),
                                crate::source::checksum(&String::from_utf8_lossy(&bytes))
                            );
                        }
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    proptest::prop_assert!(message.contains(d.to_str().unwrap()), "{}", message);
                }
            }
        }
    }
}
