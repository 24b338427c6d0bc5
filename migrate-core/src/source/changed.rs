//! Which migrations a change touched, from git.

use std::path::Path;
use std::process::Command;

use super::SourceError;

/// Names of the migrations under `dir` added or modified since the git revision `rev`
/// (committed, staged or not), for reviewing a pull request.
///
/// # Errors
///
/// [`SourceError::Git`] when git fails (not a repository, unknown revision), with its message.
pub fn changed_since(dir: &Path, rev: &str) -> Result<Vec<String>, SourceError> {
    if rev.starts_with('-') {
        return Err(SourceError::Git {
            rev: rev.to_owned(),
            message: "a revision cannot start with '-'".into(),
        });
    }
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["diff", "--name-only", "--relative", rev, "--", "."])
        .output()
        .map_err(|e| SourceError::Git {
            rev: rev.to_owned(),
            message: format!("cannot run git: {e}"),
        })?;
    if !output.status.success() {
        return Err(SourceError::Git {
            rev: rev.to_owned(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|path| path.split_once('/').map(|(name, _)| name.to_owned()))
        .collect();
    // Untracked new migrations count too.
    let untracked = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["ls-files", "--others", "--exclude-standard", "."])
        .output();
    if let Ok(out) = untracked {
        names.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|path| path.split_once('/').map(|(name, _)| name.to_owned())),
        );
    }
    names.sort();
    names.dedup();
    Ok(names)
}
