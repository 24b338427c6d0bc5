//! Reading a migrations directory built from the input (odd names, files where directories
//! belong, symbolic links and loops, any bytes in `migration.sql` and `migration_lock.toml`):
//! never panics; success lists exactly the real subdirectories in Prisma's order with checksums
//! of the text on disk; failure names a path in the directory.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use migrate_core::source::{prisma_compare, MigrationSource, SourceError};
use sha2::{Digest, Sha256};

#[derive(Debug, Arbitrary)]
enum Entry {
    Migration {
        name: Vec<u8>,
        sql: Option<Vec<u8>>,
        down: Option<Vec<u8>>,
        sql_is_dir: bool,
    },
    File {
        name: Vec<u8>,
        bytes: Vec<u8>,
    },
    /// A link named `name` to `target` (another entry, itself, `..`).
    Link {
        name: Vec<u8>,
        target: Vec<u8>,
    },
    /// `migration.sql` of migration `name` is a link to itself.
    LoopingScript {
        name: Vec<u8>,
    },
    LockFile(Vec<u8>),
}

fn plain_name(bytes: &[u8]) -> Option<&OsStr> {
    let ok = !bytes.is_empty()
        && bytes.len() <= 255
        && !bytes.contains(&b'/')
        && !bytes.contains(&0)
        && bytes != b"."
        && bytes != b"..";
    ok.then(|| OsStr::from_bytes(bytes))
}

fn build(root: &Path, entries: &[Entry]) {
    for entry in entries {
        // Collisions between entries are fine: the first one wins, errors are ignored.
        let _ = match entry {
            Entry::Migration {
                name,
                sql,
                down,
                sql_is_dir,
            } => plain_name(name).map(|n| {
                let dir = root.join(n);
                let _ = std::fs::create_dir(&dir);
                if *sql_is_dir {
                    let _ = std::fs::create_dir(dir.join("migration.sql"));
                } else if let Some(sql) = sql {
                    let _ = std::fs::write(dir.join("migration.sql"), sql);
                }
                if let Some(down) = down {
                    let _ = std::fs::write(dir.join("down.sql"), down);
                }
            }),
            Entry::File { name, bytes } => plain_name(name).map(|n| {
                let _ = std::fs::write(root.join(n), bytes);
            }),
            Entry::Link { name, target } => plain_name(name).map(|n| {
                let _ = symlink(OsStr::from_bytes(target), root.join(n));
            }),
            Entry::LoopingScript { name } => plain_name(name).map(|n| {
                let dir = root.join(n);
                let _ = std::fs::create_dir(&dir);
                let _ = symlink("migration.sql", dir.join("migration.sql"));
            }),
            Entry::LockFile(bytes) => {
                let _ = std::fs::write(root.join("migration_lock.toml"), bytes);
                Some(())
            }
        };
    }
}

fuzz_target!(|entries: Vec<Entry>| {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("migrations");
    std::fs::create_dir(&root).unwrap();
    build(&root, &entries);

    match MigrationSource::new(&root).load() {
        Ok(migrations) => {
            let mut real_dirs: Vec<String> = std::fs::read_dir(&root)
                .unwrap()
                .flatten()
                .filter(|e| e.file_type().unwrap().is_dir())
                .map(|e| e.file_name().into_string().unwrap())
                .collect();
            let mut listed: Vec<String> = migrations.iter().map(|m| m.name().to_owned()).collect();
            for pair in listed.windows(2) {
                assert_ne!(
                    prisma_compare(&pair[0], &pair[1]),
                    std::cmp::Ordering::Greater,
                    "{pair:?}"
                );
            }
            listed.sort();
            real_dirs.sort();
            assert_eq!(listed, real_dirs);
            for m in migrations.iter() {
                if let Some(script) = m.script() {
                    let bytes = std::fs::read(root.join(m.name()).join("migration.sql")).unwrap();
                    // Prisma hashes the text it decoded (lossy UTF-8).
                    let text = String::from_utf8_lossy(&bytes);
                    assert_eq!(script.checksum(), hex(&Sha256::digest(text.as_bytes())));
                }
            }
        }
        Err(err) => {
            let message = err.to_string();
            match err {
                SourceError::NameTooLong { .. } => {}
                _ => assert!(
                    message.contains(root.to_str().unwrap()),
                    "{message} does not say where"
                ),
            }
        }
    }
});

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
