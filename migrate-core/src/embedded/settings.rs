//! Server settings, written to `postgresql.conf` rather than passed through
//! `pg_ctl -o` (which goes through a shell): no shell quoting to get wrong, and
//! they survive [`restart_immediate`](super::EmbeddedCluster::restart_immediate).

use std::path::Path;

use super::error::EmbeddedError;

/// Settings for a fast, private, throwaway server. Surviving an OS crash is
/// pointless for a cluster deleted at exit, hence no fsync; 200 connections
/// leave room for parallel tests.
///
/// `synchronous_commit` stays on: with fsync off it only costs a `write()`,
/// and turning it off would let a crash (`restart_immediate`, used by fault
/// tests) lose transactions that were reported committed.
const FIXED: [(&str, &str); 4] = [
    ("listen_addresses", "127.0.0.1"),
    ("fsync", "off"),
    ("full_page_writes", "off"),
    ("max_connections", "200"),
];

/// The block appended to `postgresql.conf`: our fixed settings, then the
/// user's (later lines win, so the user can override ours).
pub(crate) fn config_block(
    socket_dir: &Path,
    user_settings: &[(String, String)],
) -> Result<String, EmbeddedError> {
    validate(user_settings)?;
    let socket_dir = socket_dir.to_string_lossy();
    let fixed = FIXED
        .into_iter()
        .chain([("unix_socket_directories", socket_dir.as_ref())]);
    let user = user_settings
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    let mut block = String::from("\n# Added by migrate-core for an embedded, throwaway cluster.\n");
    for (name, value) in fixed.chain(user) {
        block.push_str(&format!("{name} = {}\n", quote_value(value)));
    }
    Ok(block)
}

/// Rejects names that are not plain (possibly dotted, for extensions) GUC
/// names and values that would break out of their config line.
pub(crate) fn validate(settings: &[(String, String)]) -> Result<(), EmbeddedError> {
    for (name, value) in settings {
        let invalid = |reason| EmbeddedError::InvalidSetting {
            name: name.clone(),
            reason,
        };
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
        if name.is_empty() || !name.chars().all(plain) {
            return Err(invalid(
                "names may contain only ASCII letters, digits, _ and .",
            ));
        }
        if value.contains(['\n', '\r', '\0']) {
            return Err(invalid("values may not contain line breaks or NUL"));
        }
    }
    Ok(())
}

/// A `postgresql.conf` string literal: single quotes, with `'` doubled and
/// backslashes (escape characters there) escaped.
fn quote_value(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn user_settings_come_last_and_are_quoted() {
        let user = [
            setting("work_mem", "64MB"),
            setting("search_path", r"a'b\c"),
        ];
        let block = config_block(Path::new("/tmp/x/sock"), &user).expect("valid settings");
        assert!(block.contains("fsync = 'off'\n"), "{block}");
        assert!(
            block.contains("unix_socket_directories = '/tmp/x/sock'\n"),
            "{block}"
        );
        assert!(
            block.ends_with("work_mem = '64MB'\nsearch_path = 'a''b\\\\c'\n"),
            "{block}"
        );
    }

    #[test]
    fn rejects_bad_settings() {
        for bad in [
            setting("", "x"),
            setting("a b", "x"),
            setting("a=b", "x"),
            setting("ok", "x\ny = 1"),
        ] {
            let err = validate(std::slice::from_ref(&bad)).expect_err(&bad.0);
            assert!(
                err.to_string().starts_with("invalid server setting"),
                "{err}"
            );
        }
        validate(&[setting("auto_explain.log_min_duration", "0")]).expect("dotted names are fine");
    }
}
