//! Database names: generation, validation and quoting.

use std::sync::atomic::{AtomicU64, Ordering};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::error::EmbeddedError;

/// PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1); we
/// refuse instead, as truncation could make two generated names collide.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// Everything but RFC 3986 "unreserved" characters is percent-encoded in URLs.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A database name unique within this process (counter) and across processes
/// sharing a cluster (pid): `<prefix>_<counter>_<pid>`.
///
/// The prefix may be user input, so only `[a-z0-9_]` is allowed: the name then
/// needs no case folding or escaping anywhere (shells, URLs, logs).
pub(crate) fn unique_database_name(prefix: &str) -> Result<String, EmbeddedError> {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let invalid = |reason: String| EmbeddedError::InvalidName {
        prefix: prefix.to_owned(),
        reason,
    };
    if prefix.is_empty() {
        return Err(invalid("it is empty".to_owned()));
    }
    if let Some(bad) = prefix
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_'))
    {
        return Err(invalid(format!("{bad:?} is not one of a-z, 0-9 and _")));
    }
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("{prefix}_{counter}_{}", std::process::id());
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(invalid(format!(
            "the database name {name} would exceed PostgreSQL's {MAX_IDENTIFIER_BYTES}-byte identifier limit"
        )));
    }
    Ok(name)
}

/// Quotes `name` as an SQL identifier: in double quotes, inner quotes doubled.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Percent-encodes `text` for use as one component (user, password, path) of a URL.
pub(crate) fn url_component(text: &str) -> String {
    utf8_percent_encode(text, URL_COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_unique_and_carry_prefix() {
        let first = unique_database_name("it_test").expect("valid prefix");
        let second = unique_database_name("it_test").expect("valid prefix");
        assert_ne!(first, second);
        assert!(first.starts_with("it_test_"), "{first}");
        assert!(
            first.ends_with(&format!("_{}", std::process::id())),
            "{first}"
        );
    }

    #[test]
    fn rejects_bad_prefixes() {
        for prefix in [
            "",
            "Upper",
            "semi;colon",
            "quo\"te",
            "space d",
            "dash-ed",
            "é",
        ] {
            let err = unique_database_name(prefix).expect_err(prefix);
            assert!(matches!(err, EmbeddedError::InvalidName { .. }), "{err:?}");
            assert!(
                err.to_string().starts_with("invalid database name prefix"),
                "{err}"
            );
        }
        let long = "a".repeat(60);
        let err = unique_database_name(&long).expect_err("too long");
        assert!(err.to_string().contains("63-byte"), "{err}");
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_identifier("abc"), "\"abc\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn encodes_url_components() {
        assert_eq!(url_component("db_1-x.y~z"), "db_1-x.y~z");
        assert_eq!(url_component("a b/c@d:e%"), "a%20b%2Fc%40d%3Ae%25");
        assert_eq!(url_component("ü"), "%C3%BC");
    }
}
