//! `migrate`: deploy Prisma migrations to PostgreSQL safely. See `migrate --help`.

use std::process::ExitCode;

// Analysing a history allocates millions of small AST nodes; mimalloc spends about half the
// instructions glibc's malloc does on them (`plan` on 820 migrations).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ignore_sigxfsz();
    let cli = migrate_cli::Cli::parse_tailored();
    migrate_cli::init_logging(&cli);
    migrate_cli::run(&cli)
}

/// Under a file size limit (`ulimit -f`), a write past it must fail with `EFBIG`, which the backup
/// reports and cleans up after, instead of `SIGXFSZ` killing the process and leaving a partial
/// file behind.
#[allow(unsafe_code)]
fn ignore_sigxfsz() {
    // SAFETY: changes one signal's disposition to SIG_IGN at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
