//! The reaper: a tiny shell process that stops the server and deletes the
//! cluster directory once our process goes away, however it goes away.
//!
//! `Drop` alone is not enough: the per-test-binary cluster lives in a `static`
//! (never dropped), and a killed process runs no destructors at all. The reaper
//! blocks reading a pipe whose only write end we hold. The kernel closes that
//! end when our process exits for any reason (including SIGKILL), or we close
//! it ourselves in [`Reaper::finish`]; either way the reaper sees EOF and cleans up.
//!
//! The write end must not leak into other children, or they would keep the
//! pipe open: `std` creates pipes with `O_CLOEXEC`, so exec'd children (the
//! server, tools, other processes a test starts) do not inherit it.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::error::EmbeddedError;

/// Runs as `sh -c SCRIPT migrate-pg-reaper DIR DATA_DIR`.
///
/// After EOF: if `DATA_DIR/postmaster.pid` names a live process whose working
/// directory is `DATA_DIR` (checked so that a recycled PID is never signalled,
/// which matters when we are root), send it SIGQUIT (immediate shutdown) and
/// wait up to 10 s for the pid file to disappear (the postmaster removes it on
/// exit; a zombie postmaster that nobody reaps keeps answering `kill -0`),
/// then SIGKILL. Finally remove DIR.
const SCRIPT: &str = r#"
trap '' HUP INT
while read -r _; do :; done
pidfile="$2/postmaster.pid"
pid=
if [ -f "$pidfile" ]; then read -r pid < "$pidfile"; fi
case "$pid" in ''|*[!0-9]*) pid= ;; esac
if [ -n "$pid" ] && [ -d /proc/self ] && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" != "$2" ]; then
  pid=
fi
if [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null; then
  i=0
  while [ -f "$pidfile" ] && kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 100 ]; then kill -KILL "$pid" 2>/dev/null; break; fi
    sleep 0.1
  done
fi
rm -rf -- "$1"
"#;

/// How long [`Reaper::finish`] waits: the script's own 10 s bound plus slack.
const FINISH_TIMEOUT: Duration = Duration::from_secs(30);

/// Owns a cluster directory: removes it (stopping the server first) when
/// finished, dropped, or when our process dies.
#[derive(Debug)]
pub(crate) struct Reaper {
    dir: PathBuf,
    /// Write end of the reaper's stdin; closing it triggers the cleanup.
    trigger: Option<ChildStdin>,
    child: Child,
    finished: bool,
}

impl Reaper {
    /// Starts a reaper for `dir`, whose server data directory is `data_dir`.
    /// Both paths must be canonical: the script compares `data_dir` with the
    /// server's working directory.
    pub(crate) fn spawn(dir: &Path, data_dir: &Path) -> Result<Self, EmbeddedError> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("migrate-pg-reaper")
            .arg(dir)
            .arg(data_dir)
            .stdin(Stdio::piped())
            // Not our stdout/stderr: a reaper outliving us must not keep the
            // pipes of whoever reads our output open.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/")
            // Own process group: Ctrl-C on the terminal must not kill the
            // reaper before it has cleaned up after us.
            .process_group(0)
            .spawn()
            .map_err(|e| EmbeddedError::io("start the cleanup process for", dir, e))?;
        let trigger = child.stdin.take();
        log::debug!("reaper {} watches {}", child.id(), dir.display());
        Ok(Self {
            dir: dir.to_owned(),
            trigger,
            child,
            finished: false,
        })
    }

    /// Triggers the cleanup and waits (bounded) for it. Idempotent.
    ///
    /// If the reaper exits but the directory is still there, removes it here.
    pub(crate) fn finish(&mut self) -> Result<(), EmbeddedError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        drop(self.trigger.take());
        self.wait_bounded()?;
        if self.dir.exists() {
            fs::remove_dir_all(&self.dir)
                .map_err(|e| self.cleanup_error(format!("remove it: {e}")))?;
        }
        log::debug!("removed embedded cluster directory {}", self.dir.display());
        Ok(())
    }

    fn wait_bounded(&mut self) -> Result<(), EmbeddedError> {
        let deadline = Instant::now() + FINISH_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(_status)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                // Leave it running rather than racing it on the directory.
                Ok(None) => {
                    return Err(self.cleanup_error(format!(
                        "cleanup process {} still running after {FINISH_TIMEOUT:?}",
                        self.child.id()
                    )))
                }
                Err(e) => {
                    return Err(self.cleanup_error(format!("wait for the cleanup process: {e}")))
                }
            }
        }
    }

    fn cleanup_error(&self, detail: String) -> EmbeddedError {
        EmbeddedError::Cleanup {
            dir: self.dir.clone(),
            detail,
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            log::warn!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_removes_directory() {
        let dir = tempfile::Builder::new()
            .prefix("migrate-reaper-test-")
            .tempdir()
            .expect("tempdir")
            .keep();
        fs::create_dir(dir.join("data")).expect("create data dir");
        fs::write(dir.join("data/file"), "x").expect("write file");
        let mut reaper = Reaper::spawn(&dir, &dir.join("data")).expect("spawn reaper");
        assert!(dir.exists(), "the reaper waits for EOF");
        reaper.finish().expect("finish");
        assert!(!dir.exists());
        reaper.finish().expect("finish is idempotent");
    }

    #[test]
    fn ignores_pid_file_of_a_foreign_process() {
        let dir = tempfile::Builder::new()
            .prefix("migrate-reaper-test-")
            .tempdir()
            .expect("tempdir")
            .keep();
        let data = dir.join("data");
        fs::create_dir(&data).expect("create data dir");
        // A live process that is not a server in `data`: it must survive.
        let mut bystander = Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        fs::write(data.join("postmaster.pid"), format!("{}\n", bystander.id())).expect("pid file");
        drop(Reaper::spawn(&dir, &data).expect("spawn reaper"));
        assert!(!dir.exists());
        let alive = bystander.try_wait().expect("try_wait").is_none();
        bystander.kill().expect("kill sleep");
        bystander.wait().expect("reap sleep");
        assert!(
            alive,
            "the reaper signalled a process that is not our server"
        );
    }
}
