//! The OS user the server runs as.
//!
//! PostgreSQL refuses to run as root, and CI runs as root. As root we therefore
//! run `initdb`, `pg_ctl` and the server as an unprivileged user and hand it the
//! cluster's directories; otherwise everything runs as the current user.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use super::error::EmbeddedError;

/// Users tried, in order, when running as root.
const CANDIDATES: [&str; 2] = ["postgres", "nobody"];

/// An unprivileged user to switch to in child processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OsUser {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl OsUser {
    /// The user to run the server as: `None` means "as ourselves" (not root);
    /// as root, `postgres` if it exists, else `nobody`.
    pub(crate) fn for_server() -> Result<Option<Self>, EmbeddedError> {
        if !running_as_root() {
            return Ok(None);
        }
        let passwd = fs::read_to_string("/etc/passwd")
            .map_err(|e| EmbeddedError::io("read", "/etc/passwd", e))?;
        let user = CANDIDATES
            .into_iter()
            .find_map(|name| lookup(&passwd, name))
            .ok_or(EmbeddedError::NoUnprivilegedUser)?;
        log::debug!("running as root: the postgresql server will run as {user:?}");
        Ok(Some(user))
    }

    /// Makes `command` run as this user. `std` also drops the supplementary
    /// groups when switching away from root.
    pub(crate) fn apply(&self, command: &mut Command) {
        command.uid(self.uid).gid(self.gid);
    }

    /// Gives `path` to this user, so that the server can write there.
    pub(crate) fn chown(&self, path: &Path) -> Result<(), EmbeddedError> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(|e| EmbeddedError::io("change the owner of", path, e))
    }
}

/// Applies `user` to `command` if there is one.
pub(crate) fn run_as(command: &mut Command, user: Option<&OsUser>) {
    if let Some(user) = user {
        user.apply(command);
    }
}

/// Gives `path` to `user` if there is one.
pub(crate) fn give(path: &Path, user: Option<&OsUser>) -> Result<(), EmbeddedError> {
    user.map_or(Ok(()), |user| user.chown(path))
}

#[allow(unsafe_code)]
fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() == 0 }
}

/// Finds `name` in the text of an `/etc/passwd` file
/// (`name:password:uid:gid:gecos:home:shell`); the primary group is all we need.
fn lookup(passwd: &str, name: &str) -> Option<OsUser> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(OsUser {
            name: name.to_owned(),
            uid,
            gid,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        # a comment\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        postgresql:x:7:7::/:/bin/sh\n\
        postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n\
        broken:x:notanumber:1::/:/bin/sh\n";

    #[test]
    fn looks_up_exact_names() {
        let user = lookup(PASSWD, "postgres").expect("postgres is listed");
        assert_eq!((user.uid, user.gid), (101, 104));
        let nobody = lookup(PASSWD, "nobody").expect("nobody is listed");
        assert_eq!((nobody.uid, nobody.gid), (65534, 65534));
        assert_eq!(lookup(PASSWD, "postgre"), None);
        assert_eq!(lookup(PASSWD, "broken"), None);
        assert_eq!(lookup(PASSWD, "missing"), None);
    }

    #[test]
    fn root_switches_to_an_unprivileged_user() {
        let user = OsUser::for_server().expect("read /etc/passwd");
        match user {
            Some(user) => {
                assert!(running_as_root());
                assert_ne!(user.uid, 0, "{user:?}");
                assert!(CANDIDATES.contains(&user.name.as_str()), "{user:?}");
            }
            None => assert!(!running_as_root()),
        }
    }
}
