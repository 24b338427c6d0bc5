//! [`HttpProbe`]: `GET` an endpoint, healthy on 2xx within a timeout.

use std::fmt;
use std::time::Duration;

use super::error::error_chain;
use super::{redact_text, redact_url, HealthError, HealthProbe, ProbeContext, ProbeFailure};

/// `GET url`; passes when the answer is 2xx and arrives (body included) within the timeout.
/// Redirects are followed. The URL's secrets never appear in its name, errors or `Debug`.
#[derive(Clone)]
pub struct HttpProbe {
    url: String,
    redacted: String,
    timeout: Duration,
    agent: ureq::Agent,
}

impl HttpProbe {
    /// The default timeout of one attempt.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A probe of `url` with a timeout of `timeout` per attempt.
    ///
    /// # Errors
    ///
    /// [`HealthError::InvalidUrl`] unless `url` is an absolute `http` or `https` URL with a host;
    /// [`HealthError::InvalidSetting`] for a zero timeout.
    pub fn new(url: impl Into<String>, timeout: Duration) -> Result<Self, HealthError> {
        let url = url.into();
        let redacted = redact_url(&url);
        check_http_url(&url)?;
        if timeout.is_zero() {
            return Err(HealthError::InvalidSetting {
                setting: "timeout_secs",
                reason: "must be greater than zero".into(),
            });
        }
        Ok(Self {
            agent: http_agent(timeout),
            url,
            redacted,
            timeout,
        })
    }

    /// Parses `--health-url URL`, with the default timeout.
    ///
    /// # Errors
    ///
    /// As [`HttpProbe::new`].
    pub fn from_flag(flag: &str) -> Result<Self, HealthError> {
        Self::new(flag.trim(), Self::DEFAULT_TIMEOUT)
    }

    /// The URL, redacted.
    #[must_use]
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// The timeout of one attempt.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl fmt::Debug for HttpProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProbe")
            .field("url", &self.redacted)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HealthProbe for HttpProbe {
    fn name(&self) -> String {
        format!("http GET {}", self.redacted)
    }

    fn check(&self, _ctx: &ProbeContext) -> Result<(), ProbeFailure> {
        let response = self
            .agent
            .get(&self.url)
            .call()
            .map_err(|e| self.failure(&e))?;
        let status = response.status().as_u16();
        // Read the body too: "healthy within the timeout" includes the whole answer.
        let mut body = response.into_body();
        body.read_to_vec().map_err(|e| self.failure(&e))?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(ProbeFailure::Status {
                url: self.redacted.clone(),
                status,
            })
        }
    }
}

impl HttpProbe {
    fn failure(&self, error: &ureq::Error) -> ProbeFailure {
        if matches!(error, ureq::Error::Timeout(_)) {
            return ProbeFailure::HttpTimeout {
                url: self.redacted.clone(),
                timeout: self.timeout,
            };
        }
        ProbeFailure::Request {
            url: self.redacted.clone(),
            reason: redact_text(&error_chain(error), &self.url),
        }
    }
}

/// Accepts absolute `http`/`https` URLs with a host.
pub(crate) fn check_http_url(url: &str) -> Result<(), HealthError> {
    let invalid = |reason: &str| HealthError::InvalidUrl {
        url: redact_url(url),
        reason: reason.to_owned(),
    };
    let parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the url has no host"));
    }
    Ok(())
}

/// An HTTP client whose every request, body included, ends within `timeout`; statuses are
/// answers, not errors; TLS goes through the system's library and roots, like PostgreSQL's.
pub(crate) fn http_agent(timeout: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .tls_config(tls)
        .user_agent(concat!("migrate/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_rejects_non_http_urls() {
        for bad in ["ftp://x/", "localhost:80", "http://", ""] {
            assert!(
                matches!(
                    HttpProbe::new(bad, Duration::from_secs(1)),
                    Err(HealthError::InvalidUrl { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_name_and_errors_hide_secrets() {
        let raw = "http://user:pa55word@127.0.0.1:1/h?token=t0ps3cret";
        let probe = HttpProbe::new(raw, Duration::from_millis(500)).unwrap();
        let error = probe
            .check(&ProbeContext::without_database())
            .unwrap_err()
            .to_string();
        for text in [format!("{probe:?}"), probe.name(), error] {
            assert!(!text.contains("pa55word"), "{text}");
            assert!(!text.contains("t0ps3cret"), "{text}");
            assert!(text.contains("127.0.0.1:1"), "{text}");
        }
    }
}
