//! ## What it does
//! Flags identifiers longer than 63 bytes in names the migration creates.
//!
//! ## Why is this bad?
//! PostgreSQL silently truncates them to 63 bytes (`NAMEDATALEN - 1`): two long names can
//! collide, and later statements that use the full name fail to find the object. Prisma's
//! generated index and constraint names reach this limit on long model names.
//!
//! ## Example
//! ```sql
//! CREATE INDEX "OrganizationMembershipInvitation_organizationId_createdAt_email_idx" ON …;
//! ```
//! ## Use instead
//! Shorter names (Prisma: `map: "…"` on `@@index`, `@@unique`, `@relation`).

use super::prelude::*;

pub(crate) const NAME: &str = "identifier-too-long";
pub(crate) const HELP: &str = "Use a name of at most 63 bytes (Prisma: map: \"…\").";

const LIMIT: usize = 63;

pub(crate) fn check(cx: &mut Checker<'_>) {
    let Some(action) = cx.action else { return };
    let mut names: Vec<&str> = Vec::new();
    match action {
        Action::CreateTable {
            table,
            columns,
            constraints,
        } => {
            names.push(&table.name);
            names.extend(columns.iter().map(|c| c.name.as_str()));
            names.extend(constraints.iter().filter_map(Constraint::name));
        }
        Action::AddColumn { column, .. } => names.push(&column.name),
        Action::AddConstraint { constraint, .. } => names.extend(constraint.name()),
        Action::CreateIndex {
            name: Some(name), ..
        } => names.push(name),
        Action::RenameTable { to, .. }
        | Action::RenameColumn { to, .. }
        | Action::RenameConstraint { to, .. }
        | Action::RenameIndex { to, .. }
        | Action::RenameType { to, .. } => names.push(to),
        Action::CreateEnum { name, .. } => names.push(&name.name),
        _ => {}
    }
    let long: Vec<String> = names
        .into_iter()
        .filter(|n| n.len() > LIMIT)
        .map(|n| format!("{n:?} ({} bytes)", n.len()))
        .collect();
    if !long.is_empty() {
        cx.report(
            Rule::IdentifierTooLong,
            format!("PostgreSQL truncates {} to 63 bytes.", long.join(", ")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::rules::test_utils::{lint_ok, lint_one};

    #[test]
    fn flags_names_over_63_bytes() {
        let long = "x".repeat(64);
        lint_one(
            &format!("CREATE INDEX \"{long}\" ON t (a);"),
            Rule::IdentifierTooLong,
        );
        lint_ok(
            &format!("CREATE INDEX \"{}\" ON t (a);", "x".repeat(63)),
            Rule::IdentifierTooLong,
        );
    }
}
