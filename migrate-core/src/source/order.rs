//! Prisma's migration ordering.
//!
//! Since 6.6.0 Prisma sorts migration directories with JavaScript's `localeCompare` (ICU
//! collation, root/en locale); before, it used byte order. Both orders agree for the names Prisma
//! generates, but not for hand-made ones (`_` and `-` sort before digits in ICU, case is a tertiary
//! difference). We sort by collation and refuse directories whose byte order disagrees, so no
//! Prisma version can apply the migrations in another order than we do.

use std::cmp::Ordering;
use std::sync::OnceLock;

use icu_collator::options::CollatorOptions;
use icu_collator::{Collator, CollatorBorrowed};

fn collator() -> &'static CollatorBorrowed<'static> {
    static COLLATOR: OnceLock<CollatorBorrowed<'static>> = OnceLock::new();
    COLLATOR.get_or_init(|| {
        // Compiled-in root collation data: construction cannot fail for the root locale.
        Collator::try_new(Default::default(), CollatorOptions::default())
            .expect("root collation data is compiled into icu_collator")
    })
}

/// Compares two migration names as Prisma ≥ 6.6 does (`a.localeCompare(b)`).
#[must_use]
pub fn prisma_compare(a: &str, b: &str) -> Ordering {
    collator().compare(a, b)
}

/// Sorts names in Prisma's collation order and returns the first adjacent pair whose byte order
/// disagrees, if any.
pub fn collation_order(names: &mut [String]) -> Option<(String, String)> {
    names.sort_by(|a, b| prisma_compare(a, b).then_with(|| a.cmp(b)));
    names
        .windows(2)
        .find(|pair| pair[0].as_bytes() > pair[1].as_bytes())
        .map(|pair| (pair[0].clone(), pair[1].clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_order_observed_with_prisma() {
        // shared/docs/prisma-compat.md §3, observed with Prisma 6.19.
        let expected = [
            "202401010000_short",
            "2024010100000_13digits",
            "20240101000000_10",
            "20240101000000_9",
            "20240101000000_a",
            "20240101000000_A",
            "20240101000000_ä",
            "20240101000000_b",
            "20240101000000_B",
            "20240101000000_init",
            "20240101000000_Init",
            "20240101000000_z",
            "20240101000000-dash",
        ];
        let mut names: Vec<String> = expected.iter().rev().map(|s| s.to_string()).collect();
        let disagreement = collation_order(&mut names);
        assert_eq!(names, expected);
        assert!(disagreement.is_some(), "byte order differs for these names");
    }

    #[test]
    fn standard_names_agree() {
        let mut names = vec![
            "20240102000000_add_post".to_string(),
            "20240101000000_init".to_string(),
            "20240101000001_init_2".to_string(),
        ];
        assert_eq!(collation_order(&mut names), None);
        assert_eq!(names[0], "20240101000000_init");
    }

    #[test]
    fn detects_odd_standard_case() {
        let mut names = vec![
            "20240101000000__x".to_string(),
            "20240101000000_1".to_string(),
        ];
        assert!(collation_order(&mut names).is_some());
    }
}
