//! Redaction of secrets in URLs given to probes and webhooks: user info, secret-bearing query
//! values and token-like path segments (Slack and Discord webhooks carry their secret in the path).

/// What replaces a secret.
const MASK: &str = "********";

/// Query keys whose values are secrets, matched as case-insensitive substrings
/// (`api_key`, `X-Amz-Signature`, `access_token`, …).
const SECRET_KEYS: &[&str] = &[
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "pwd",
    "sig",
    "auth",
    "credential",
    "session",
];

/// `raw` with its secrets replaced by `********`: the user info (user and password), the values
/// of query keys like `token`, `key`, `secret`, `password` or `sig`, the fragment, and path
/// segments that look like tokens (16+ characters mixing letters and digits, or 24+ characters).
/// A URL that does not parse keeps only its scheme.
///
/// ```
/// use migrate_core::health::redact_url;
///
/// assert_eq!(
///     redact_url("https://u:pw@example.com/hook?token=abc&x=1"),
///     "https://********@example.com/hook?token=********&x=1"
/// );
/// ```
#[must_use]
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return match raw.split_once("://") {
            Some((scheme, _)) if scheme.len() < 20 && !scheme.contains(['@', '/', ' ']) => {
                format!("{scheme}://…")
            }
            _ => "(unparsable url)".to_owned(),
        };
    };
    if !url.username().is_empty() || url.password().is_some() {
        // Both can fail only for URLs that cannot have user info, which then have none.
        let _ = url.set_password(None);
        let _ = url.set_username(MASK);
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_key(&k) {
                    MASK.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    if url.fragment().is_some() {
        url.set_fragment(Some(MASK));
    }
    if !url.cannot_be_a_base() {
        let path: Vec<String> = url
            .path_segments()
            .map(|segments| {
                segments
                    .map(|s| {
                        if looks_like_token(s) {
                            MASK.to_owned()
                        } else {
                            s.to_owned()
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        url.set_path(&path.join("/"));
    }
    url.to_string()
}

/// `text` with every secret of `raw_url` (raw and percent-decoded) replaced by `********`, for
/// messages of libraries that quote the URL they were given.
#[must_use]
pub fn redact_text(text: &str, raw_url: &str) -> String {
    let mut out = text.replace(raw_url, &redact_url(raw_url));
    for secret in secrets(raw_url) {
        // Short values (`1`, `on`) would mask unrelated text and are not credentials anyway.
        if secret.len() >= 4 {
            out = out.replace(&secret, MASK);
        }
    }
    out
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| key.contains(s))
}

fn looks_like_token(segment: &str) -> bool {
    let letters = segment.chars().any(|c| c.is_ascii_alphabetic());
    let digits = segment.chars().any(|c| c.is_ascii_digit());
    let token_chars = segment
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '%'));
    token_chars && ((segment.len() >= 16 && letters && digits) || segment.len() >= 24)
}

/// Every secret in `raw`, as written and percent-decoded.
fn secrets(raw: &str) -> Vec<String> {
    let Ok(url) = url::Url::parse(raw) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    found.push(url.username().to_owned());
    found.extend(url.password().map(str::to_owned));
    for (k, v) in url.query_pairs() {
        if is_secret_key(&k) {
            found.push(v.into_owned());
        }
    }
    found.extend(url.fragment().map(str::to_owned));
    if let Some(segments) = url.path_segments() {
        found.extend(segments.filter(|s| looks_like_token(s)).map(str::to_owned));
    }
    let decoded: Vec<String> = found
        .iter()
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    found.extend(decoded);
    found.retain(|s| !s.is_empty());
    // Longest first, so that a secret containing another is masked whole.
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_masks_user_info() {
        assert_eq!(
            redact_url("https://alice:s3cr3t@example.com/health"),
            "https://********@example.com/health"
        );
        assert_eq!(
            redact_url("https://ghp_token@example.com/"),
            "https://********@example.com/"
        );
    }

    #[test]
    fn redact_url_masks_secret_query_values_only() {
        let out = redact_url(
            "http://127.0.0.1:8080/h?token=t0k&api_key=k3y&X-Amz-Signature=abc&Secret=s&page=2",
        );
        assert_eq!(
            out,
            "http://127.0.0.1:8080/h?token=********&api_key=********&X-Amz-Signature=********&Secret=********&page=2"
        );
    }

    #[test]
    fn redact_url_masks_webhook_path_tokens() {
        let out = redact_url(
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        );
        assert_eq!(
            out,
            "https://hooks.slack.com/services/T00000000/B00000000/********"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:9000/healthz"),
            "http://127.0.0.1:9000/healthz"
        );
    }

    #[test]
    fn redact_url_masks_fragment_and_unparsable() {
        assert_eq!(
            redact_url("https://example.com/cb#access_token=abc"),
            "https://example.com/cb#********"
        );
        assert_eq!(redact_url("http://u:p@[bad"), "http://…");
        assert_eq!(redact_url("no scheme at all"), "(unparsable url)");
    }

    #[test]
    fn redact_text_masks_secrets_quoted_by_other_libraries() {
        let raw = "https://bob:hunter22@example.com/x?token=abcd%2Fef";
        let text = format!("error for {raw}: hunter22 rejected, token abcd/ef");
        let out = redact_text(&text, raw);
        assert!(!out.contains("hunter22"), "{out}");
        assert!(!out.contains("abcd"), "{out}");
        assert!(out.contains("example.com"), "{out}");
    }
}
