//! Blocking database work called from inside an async runtime.
//!
//! The sync `postgres` client drives its connection on a runtime of its own; started from a
//! thread that already runs a tokio runtime (an axum or actix service's `main`), it panics
//! with "Cannot start a runtime from within a runtime". Such calls move to a thread of their
//! own for their duration.

/// Runs `work` here, or on a scoped thread when this thread is inside a tokio runtime.
pub fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(work)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_inside_a_runtime_runs_on_another_thread_and_outside_on_this_one() {
        let here = std::thread::current().id();
        assert_eq!(off_runtime(|| std::thread::current().id()), here);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let inside = runtime.block_on(async { off_runtime(|| std::thread::current().id()) });
        assert_ne!(inside, here);
    }
}
