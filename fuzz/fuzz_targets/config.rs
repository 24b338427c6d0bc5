//! `migrate.toml`: parsing never panics, and a value never reaches an error message (a URL with a
//! password pasted into any field must not be echoed). Keys and environment names may be named.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use migrate_core::config::ConfigFile;

const SECRET: &str = "S3cretPassw0rdXYZ";

/// Whether any key of the table (at any depth) contains `needle`.
fn in_a_key(table: &toml::Table, needle: &str) -> bool {
    fn value(v: &toml::Value, needle: &str) -> bool {
        match v {
            toml::Value::Table(t) => in_a_key(t, needle),
            toml::Value::Array(a) => a.iter().any(|v| value(v, needle)),
            _ => false,
        }
    }
    table
        .iter()
        .any(|(k, v)| k.contains(needle) || value(v, needle))
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    // `@@` stands for the secret, so the fuzzer can place it anywhere cheaply.
    let text = raw.replace("@@", SECRET);
    let result = ConfigFile::parse(&text, Path::new("migrate.toml"));
    let Err(err) = result else {
        return;
    };
    let message = err.to_string();
    if !message.contains(SECRET) {
        return;
    }
    // Keys are the user's own names, not values: serde names an unknown one (its value may not
    // parse, e.g. an integer too large, so the document is not always a table to look in).
    let named_key = message.split("unknown field `").skip(1).any(|rest| {
        rest.split('`')
            .next()
            .is_some_and(|key| key.contains(SECRET))
    });
    if named_key {
        return;
    }
    // A document that does not parse as TOML at all must not echo anything either.
    match text.parse::<toml::Table>() {
        Ok(doc) if in_a_key(&doc, SECRET) => {}
        _ => panic!("a value reached the error message: {message}"),
    }
});
