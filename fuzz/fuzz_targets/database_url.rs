//! Parsing never panics, and the password never shows in Display, Debug or errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use migrate_core::DatabaseUrl;

const SECRET: &str = "S3cretPassw0rdXYZ";

fuzz_target!(|data: &[u8]| {
    let tail = String::from_utf8_lossy(data);
    // The secret may legitimately be shown where the input itself repeats it (as a host name…),
    // also once the URL parser has dropped tabs and line breaks, as WHATWG URLs do.
    let normalized: String = tail
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    if normalized.contains(SECRET) {
        return;
    }
    let raw = format!("postgresql://user:{SECRET}@{tail}");
    match raw.parse::<DatabaseUrl>() {
        Ok(url) => {
            assert!(!url.to_string().contains(SECRET));
            assert!(!format!("{url:?}").contains(SECRET));
        }
        Err(e) => assert!(!e.to_string().contains(SECRET), "{e}"),
    }
});
