//! The Windows password policy SQL Server applies to key and login passwords.

use super::assumptions::{PASSWORD_MAX_LEN, PASSWORD_MIN_LEN};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    TooShort,
    TooLong,
    NotComplex,
}

impl Violation {
    pub fn number(self) -> i32 {
        match self {
            Violation::TooShort => 15116,
            Violation::TooLong => 15117,
            Violation::NotComplex => 15118,
        }
    }
}

/// Windows complexity: at least three of upper case, lower case, digits, symbols (and
/// letters without case, which count as a fourth kind of letter); the account name must
/// not appear in it when it is longer than two characters.
pub fn check(password: &str, account: Option<&str>) -> Result<(), Violation> {
    let len = password.chars().count();
    if len < PASSWORD_MIN_LEN {
        return Err(Violation::TooShort);
    }
    if len > PASSWORD_MAX_LEN {
        return Err(Violation::TooLong);
    }
    if let Some(a) = account {
        if a.chars().count() > 2 && password.to_lowercase().contains(&a.to_lowercase()) {
            return Err(Violation::NotComplex);
        }
    }
    let mut classes = [false; 5];
    for c in password.chars() {
        if c.is_uppercase() {
            classes[0] = true;
        } else if c.is_lowercase() {
            classes[1] = true;
        } else if c.is_ascii_digit() {
            classes[2] = true;
        } else if c.is_alphabetic() {
            classes[4] = true;
        } else {
            classes[3] = true;
        }
    }
    if classes.iter().filter(|c| **c).count() < 3 {
        return Err(Violation::NotComplex);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_password_passes() {
        assert_eq!(check("3dH85Hhk003GHk2597gheij4", None), Ok(()));
        assert_eq!(check("sd092735kjn$&adsg", None), Ok(()));
    }

    #[test]
    fn short_simple_and_named_passwords_fail() {
        assert_eq!(check("Ab1!", None), Err(Violation::TooShort));
        assert_eq!(check("alllowercase", None), Err(Violation::NotComplex));
        assert_eq!(check("lowerand123", None), Err(Violation::NotComplex));
        assert_eq!(
            check("Operator#2024x", Some("operator")),
            Err(Violation::NotComplex)
        );
        assert_eq!(check(&"Aa1!".repeat(40), None), Err(Violation::TooLong));
    }

    #[test]
    fn symbols_and_unicode_count_as_classes() {
        assert_eq!(check("lower123!!", None), Ok(()));
        assert_eq!(check("пароль123!", None), Ok(()));
    }
}
