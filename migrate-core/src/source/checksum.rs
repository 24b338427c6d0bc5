//! Prisma's migration checksum: lowercase hex SHA-256 of the script text.

use sha2::{Digest, Sha256};

/// Computes Prisma's checksum of a migration script: the SHA-256 of its UTF-8 text as 64 lowercase
/// hex characters.
///
/// The text must already be what Prisma hashes: the lossy UTF-8 decoding of the file, BOM kept
/// (see [`Script`](super::Script)).
///
/// ```
/// assert_eq!(
///     migrate_core::source::checksum("hello"),
///     "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
/// );
/// ```
#[must_use]
pub fn checksum(script: &str) -> String {
    hex(&Sha256::digest(script.as_bytes()))
}

/// Tells whether `stored` (a ledger checksum) matches `script`, as Prisma's
/// `script_matches_checksum` does: the raw text, the text with CRLF turned into LF, or with LF
/// turned into CRLF; and for a stored value that is not 64 characters long, the legacy format that
/// wrote each byte without zero padding.
#[must_use]
pub fn checksum_matches(script: &str, stored: &str) -> bool {
    let variants = [
        script.to_owned(),
        script.replace("\r\n", "\n"),
        script.replace('\n', "\r\n"),
    ];
    variants.iter().any(|text| {
        let digest = Sha256::digest(text.as_bytes());
        if hex(&digest) == stored {
            return true;
        }
        // Prisma engines issue #1887: early versions rendered bytes with `{:x}`.
        !stored.is_empty() && stored.len() != 64 && legacy_hex(&digest) == stored
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn legacy_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_prisma_test_vector() {
        assert_eq!(
            checksum("hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn comparison_is_tolerant_of_line_endings() {
        let lf = "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n";
        let crlf = lf.replace('\n', "\r\n");
        assert!(checksum_matches(lf, &checksum(&crlf)));
        assert!(checksum_matches(&crlf, &checksum(lf)));
        assert!(!checksum_matches(
            lf,
            &checksum("CREATE TABLE c (id int);\n")
        ));
    }

    #[test]
    fn accepts_legacy_unpadded_checksums() {
        let script = "SELECT 1;";
        let legacy = legacy_hex(&Sha256::digest(script.as_bytes()));
        assert_ne!(
            legacy.len(),
            64,
            "this vector must contain a byte below 0x10"
        );
        assert!(checksum_matches(script, &legacy));
        assert!(!checksum_matches("SELECT 2;", &legacy));
    }

    proptest::proptest! {
        #[test]
        fn line_ending_variants_always_match(text in "[a-z ;\\n]{0,64}") {
            let crlf = text.replace('\n', "\r\n");
            proptest::prop_assert!(checksum_matches(&text, &checksum(&crlf)));
            proptest::prop_assert!(checksum_matches(&crlf, &checksum(&text)));
            proptest::prop_assert_eq!(checksum(&text).len(), 64);
        }
    }
}
