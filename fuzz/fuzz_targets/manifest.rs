//! Backup manifests: parsing any text never panics; an accepted manifest names a backup file that
//! is one plain name inside the backup directory (pruning deletes it) and round-trips.
#![no_main]

use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use migrate_core::backup::{is_backup_id, Manifest};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = Manifest::parse(text, Path::new("m.json")) else {
        return;
    };
    let parts: Vec<_> = Path::new(&manifest.file).components().collect();
    assert!(
        matches!(parts.as_slice(), [Component::Normal(_)]),
        "{:?}",
        manifest.file
    );
    assert!(is_backup_id(&manifest.id), "{:?}", manifest.id);
    let again = serde_json::to_string(&manifest).unwrap();
    assert_eq!(
        Manifest::parse(&again, Path::new("m.json")).unwrap(),
        manifest
    );
});
