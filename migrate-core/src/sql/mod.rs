//! SQL front end: a psql-compatible statement splitter with exact spans, and what a script does
//! to the implicit transaction PostgreSQL wraps a multi-statement query in.

mod marker;
mod quote;
mod split;
mod transaction;

pub use marker::ENGINE_MARKER;
pub use quote::{quote_ident, quote_literal};
pub(crate) use split::LineIndex;
pub use split::{split, LineCol, Statement, StatementKind, Unterminated};
pub use transaction::{TransactionEnd, TransactionShape};
