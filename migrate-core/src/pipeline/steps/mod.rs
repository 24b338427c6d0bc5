//! The pipeline's steps, one file each, in the order they run: preflight (and the resumption
//! of a dead run), safety, backup, apply, check (verification and health), and rollback on a
//! failure.

pub(crate) mod apply;
pub(crate) mod backup;
pub(crate) mod check;
pub(crate) mod compat;
pub(crate) mod drift;
pub(crate) mod preflight;
pub(crate) mod readiness;
pub(crate) mod replay;
pub(crate) mod resume;
pub(crate) mod rollback;
pub(crate) mod safety;
