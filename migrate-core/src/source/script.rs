//! One SQL file of a migration, decoded the way Prisma decodes it.

use std::path::{Path, PathBuf};

use super::{checksum, SourceError};

/// A migration script (`migration.sql` or `down.sql`) as Prisma reads it.
///
/// Prisma ≥ 6.6 reads files with Node's `readFile(path, 'utf-8')`: invalid UTF-8 sequences become
/// U+FFFD and a byte-order mark is kept. The checksum is taken over that text, so a Latin-1 file gets
/// the checksum of its lossy decoding, not of its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Script {
    path: PathBuf,
    text: String,
    checksum: String,
    byte_len: u64,
    lossy: bool,
}

impl Script {
    /// Reads and decodes a script file.
    ///
    /// # Errors
    ///
    /// [`SourceError::Read`] when the file cannot be read.
    pub fn read(path: &Path) -> Result<Self, SourceError> {
        let bytes = std::fs::read(path).map_err(|source| SourceError::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::from_bytes(path.to_owned(), &bytes))
    }

    /// Decodes script bytes as Prisma does (lossy UTF-8, BOM kept).
    #[must_use]
    pub fn from_bytes(path: PathBuf, bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let lossy = matches!(text, std::borrow::Cow::Owned(_));
        let text = text.into_owned();
        Self {
            checksum: checksum(&text),
            path,
            byte_len: bytes.len() as u64,
            text,
            lossy,
        }
    }

    /// The file this script was read from.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The decoded text, exactly what is sent to the server.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text to send to the server: [`text`](Self::text) without a leading byte-order mark,
    /// which PostgreSQL would reject as a syntax error (the checksum keeps it, like Prisma's).
    #[must_use]
    pub fn sql(&self) -> &str {
        self.text.strip_prefix('\u{feff}').unwrap_or(&self.text)
    }

    /// Prisma's checksum of the text (64 lowercase hex characters).
    #[must_use]
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// Size of the file in bytes.
    #[must_use]
    pub fn byte_len(&self) -> u64 {
        self.byte_len
    }

    /// True when the file held bytes that are not valid UTF-8 and were replaced by U+FFFD.
    #[must_use]
    pub fn is_lossy(&self) -> bool {
        self.lossy
    }

    /// True when the text starts with a UTF-8 byte-order mark.
    #[must_use]
    pub fn has_bom(&self) -> bool {
        self.text.starts_with('\u{feff}')
    }
}

impl std::fmt::Debug for Script {
    // The text can be megabytes long: show what identifies the script instead.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("path", &self.path)
            .field("checksum", &self.checksum)
            .field("byte_len", &self.byte_len)
            .field("lossy", &self.lossy)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn bom_is_kept_and_hashed() {
        let bytes = b"\xef\xbb\xbfSELECT 1;\n";
        let script = Script::from_bytes("m.sql".into(), bytes);
        assert!(script.has_bom());
        assert!(!script.is_lossy());
        let raw = Sha256::digest(bytes);
        assert_eq!(script.checksum(), format!("{raw:x}"));
    }

    #[test]
    fn invalid_utf8_is_hashed_after_lossy_decoding() {
        let bytes = b"-- caf\xe9\nSELECT 1;\n";
        let script = Script::from_bytes("m.sql".into(), bytes);
        assert!(script.is_lossy());
        assert_eq!(script.text(), "-- caf\u{fffd}\nSELECT 1;\n");
        let raw = format!("{:x}", Sha256::digest(bytes));
        assert_ne!(script.checksum(), raw);
        assert_eq!(script.checksum(), checksum("-- caf\u{fffd}\nSELECT 1;\n"));
    }
}
