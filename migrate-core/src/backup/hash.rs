//! MD5 (what `md5sum` prints) and SHA-256 of a stream, both in one pass and constant memory.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use md5::Md5;
use sha2::{Digest, Sha256};

/// Bytes moved per read: large enough for throughput, small enough for constant memory.
pub(crate) const CHUNK: usize = 256 * 1024;

/// The size and digests of a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Digests {
    /// Size in bytes.
    pub bytes: u64,
    /// MD5, lowercase hex, as `md5sum` prints it.
    pub md5: String,
    /// SHA-256, lowercase hex, as `sha256sum` prints it.
    pub sha256: String,
}

/// A writer that hashes everything written through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    md5: Md5,
    sha256: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            md5: Md5::new(),
            sha256: Sha256::new(),
            bytes: 0,
        }
    }

    /// The digests of what was written, and the inner writer.
    pub(crate) fn finish(self) -> (W, Digests) {
        let digests = Digests {
            bytes: self.bytes,
            md5: format!("{:x}", self.md5.finalize()),
            sha256: format!("{:x}", self.sha256.finalize()),
        };
        (self.inner, digests)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        self.sha256.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Copies `reader` into `writer` in fixed-size chunks.
pub(crate) fn copy_chunked(reader: &mut impl Read, writer: &mut impl Write) -> io::Result<u64> {
    copy_observed(reader, writer, &mut |_| {})
}

/// [`copy_chunked`], telling `on_chunk` the running total after each chunk.
pub(crate) fn copy_observed(
    reader: &mut impl Read,
    writer: &mut impl Write,
    on_chunk: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(&buf[..n])?;
        total += n as u64;
        on_chunk(total);
    }
}

/// The size, MD5 and SHA-256 of the file at `path`, read once.
///
/// # Errors
///
/// When the file cannot be read.
pub fn hash_file(path: &Path) -> io::Result<Digests> {
    let mut file = File::open(path)?;
    let mut sink = HashingWriter::new(io::sink());
    copy_chunked(&mut file, &mut sink)?;
    Ok(sink.finish().1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_coreutils() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"hello\n").expect("write to a Vec");
        let (inner, d) = w.finish();
        assert_eq!(inner, b"hello\n");
        assert_eq!(d.bytes, 6);
        // `printf 'hello\n' | md5sum` and `| sha256sum`.
        assert_eq!(d.md5, "b1946ac92492d2347c6235b4d2611184");
        assert_eq!(
            d.sha256,
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
    }
}
