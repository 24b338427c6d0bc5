//! The superuser password of a cluster.

/// Length of generated passwords.
const LENGTH: usize = 24;

/// A random password of 24 lowercase hex characters (~96 bits), built from
/// v4 UUIDs so that no extra randomness crate is needed.
///
/// The version nibble (always `4`) and the variant nibble (two fixed bits) of
/// each UUID are skipped so that every character is fully random.
pub(crate) fn generate() -> String {
    let mut password = String::with_capacity(LENGTH);
    while password.len() < LENGTH {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        let random = hex
            .char_indices()
            .filter(|(index, _)| *index != 12 && *index != 16)
            .map(|(_, c)| c);
        password.extend(random.take(LENGTH - password.len()));
    }
    password
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_alphanumeric_and_distinct() {
        let first = generate();
        assert_eq!(first.len(), LENGTH);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()), "{first}");
        assert_ne!(first, generate());
    }
}
