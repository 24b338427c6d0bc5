//! The targets file: one `[[target]]` entry per database.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use super::FleetError;
use crate::connection::DatabaseUrl;

/// One database of a fleet.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its name: unique in the fleet, letters, digits, `-`, `_` and `.`; it names the target
    /// in events, reports and its backup directory.
    pub name: String,
    /// Its URL (`?schema=` for a schema per tenant). Displayed redacted.
    pub url: DatabaseUrl,
    /// Waves run in ascending order. By default, 1.
    pub wave: u32,
}

impl Target {
    /// A target in wave 1.
    #[must_use]
    pub fn new(name: impl Into<String>, url: DatabaseUrl) -> Self {
        Self {
            name: name.into(),
            url,
            wave: 1,
        }
    }

    /// Sets the wave.
    #[must_use]
    pub fn wave(mut self, wave: u32) -> Self {
        self.wave = wave;
        self
    }

    /// `host:port/database`, and the schema when the URL names one: for messages.
    #[must_use]
    pub fn location(&self) -> String {
        match self.url.schema() {
            Some(schema) => format!("{}?schema={schema}", self.url.target()),
            None => self.url.target(),
        }
    }
}

/// A targets file:
///
/// ```toml
/// [[target]]
/// name = "eu-acme"
/// url_env = "EU_ACME_DATABASE_URL"   # or url = "postgresql://…" (local use; redacted everywhere)
/// wave = 1                           # default 1; waves run in ascending order
///
/// [[target]]
/// name = "tenant-x"
/// url_env = "SHARED_TENANT_X_URL"    # …/app?schema=tenant_x: a schema per tenant
/// wave = 2
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsFile {
    /// The entries, in file order.
    #[serde(default, rename = "target")]
    pub targets: Vec<TargetEntry>,
}

/// One `[[target]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEntry {
    /// The target's name.
    pub name: String,
    /// The environment variable holding its URL.
    pub url_env: Option<String>,
    /// Its URL, for local use (a password here is redacted in every output).
    pub url: Option<String>,
    /// Its wave; by default 1.
    pub wave: Option<u32>,
}

impl TargetsFile {
    /// Reads and resolves `path`: every URL read from its variable and parsed.
    ///
    /// # Errors
    ///
    /// [`FleetError::Read`], [`FleetError::Invalid`], [`FleetError::MissingUrl`],
    /// [`FleetError::Url`], [`FleetError::Empty`].
    pub fn load(path: &Path) -> Result<Vec<Target>, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)?.resolve(path)
    }

    /// Parses the text of a targets file (`path` is for messages).
    ///
    /// # Errors
    ///
    /// [`FleetError::Invalid`], never quoting the file's text (it may hold a password).
    pub fn parse(text: &str, path: &Path) -> Result<Self, FleetError> {
        toml::from_str(text).map_err(|e| {
            let at = e.span().map_or_else(String::new, |span| {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: ")
            });
            FleetError::Invalid {
                path: path.to_owned(),
                reason: format!("{at}{}", crate::config::redact_values(e.message())),
            }
        })
    }

    /// The targets: names checked, URLs read and parsed.
    ///
    /// # Errors
    ///
    /// See [`TargetsFile::load`].
    pub fn resolve(&self, path: &Path) -> Result<Vec<Target>, FleetError> {
        let invalid = |reason: String| FleetError::Invalid {
            path: path.to_owned(),
            reason,
        };
        if self.targets.is_empty() {
            return Err(FleetError::Empty);
        }
        let mut seen = BTreeSet::new();
        let mut targets = Vec::with_capacity(self.targets.len());
        for entry in &self.targets {
            let name = &entry.name;
            if !valid_name(name) {
                return Err(invalid(format!(
                    "target name {name:?}: use letters, digits, '-', '_' and '.'"
                )));
            }
            if !seen.insert(name.clone()) {
                return Err(invalid(format!("target {name} is listed twice")));
            }
            let raw = match (&entry.url_env, &entry.url) {
                (Some(var), None) => {
                    if !crate::config::is_env_var_name(var) {
                        return Err(invalid(format!(
                            "target {name}: url_env must name an environment variable, not hold \
                             its value"
                        )));
                    }
                    std::env::var(var)
                        .ok()
                        .filter(|v| !v.trim().is_empty())
                        .ok_or_else(|| FleetError::MissingUrl {
                            target: name.clone(),
                            var: var.clone(),
                        })?
                }
                (None, Some(url)) => url.clone(),
                _ => {
                    return Err(invalid(format!(
                        "target {name}: give exactly one of url_env and url"
                    )))
                }
            };
            let url = raw.parse().map_err(|source| FleetError::Url {
                target: name.clone(),
                source,
            })?;
            targets.push(Target::new(name.clone(), url).wave(entry.wave.unwrap_or(1)));
        }
        Ok(targets)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_resolve_with_default_wave_and_never_echo_a_url() {
        let path = Path::new("targets.toml");
        let file = TargetsFile::parse(
            "[[target]]\nname = \"a\"\nurl = \"postgresql://u:s3cret@h/db?schema=t1\"\n\
             [[target]]\nname = \"b\"\nurl = \"postgresql://u:s3cret@h/db2\"\nwave = 3\n",
            path,
        )
        .unwrap();
        let targets = file.resolve(path).unwrap();
        assert_eq!(targets[0].wave, 1);
        assert_eq!(targets[1].wave, 3);
        assert_eq!(targets[0].location(), "h:5432/db?schema=t1");
        assert!(!format!("{:?}", targets[0]).contains("s3cret"));

        let bad = TargetsFile::parse(
            "[[target]]\nname = \"a\"\nurl = \"postgresql://u:s3cret@h/db\"\nwav = 2\n",
            path,
        )
        .unwrap_err();
        assert!(!bad.to_string().contains("s3cret"), "{bad}");
        let twice = TargetsFile::parse(
            "[[target]]\nname = \"a\"\nurl = \"postgresql://u@h/x\"\n\
             [[target]]\nname = \"a\"\nurl = \"postgresql://u@h/y\"\n",
            path,
        )
        .unwrap()
        .resolve(path)
        .unwrap_err();
        assert!(twice.to_string().contains("listed twice"), "{twice}");
        let unparsable = TargetsFile::parse(
            "[[target]]\nname = \"a\"\nurl = \"postgresql://u:s3cret@h:notaport/db\"\n",
            path,
        )
        .unwrap()
        .resolve(path)
        .unwrap_err();
        assert!(!unparsable.to_string().contains("s3cret"), "{unparsable}");
    }
}
