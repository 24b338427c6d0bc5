//! What every rule file imports.

pub(crate) use crate::safety::checker::Checker;
pub(crate) use crate::safety::ir::{Action, Constraint, DefaultKind, Name, ObjectKind};
pub(crate) use crate::safety::rule::Rule;

/// The names dropped by a `DROP <kind>` action, joined for a message.
pub(crate) fn dropped(action: Option<&Action>, kind: ObjectKind) -> Option<String> {
    match action {
        Some(Action::DropObject { kind: k, names, .. }) if *k == kind => Some(
            names
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    }
}
