//! Backup passwords: the verdict SQL Server's Windows-policy check will give, a strength
//! estimate, a generator, and the confirmation check.

use crate::secret::Password;
use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyViolation {
    /// Msg 15116
    TooShort,
    /// Msg 15117
    TooLong,
    /// Msg 15118
    NotComplex,
}

impl PolicyViolation {
    pub fn sql_error(self) -> i32 {
        match self {
            PolicyViolation::TooShort => 15116,
            PolicyViolation::TooLong => 15117,
            PolicyViolation::NotComplex => 15118,
        }
    }
    pub fn explain(self) -> &'static str {
        match self {
            PolicyViolation::TooShort => "SQL Server will refuse it: at least 8 characters are required.",
            PolicyViolation::TooLong => "SQL Server will refuse it: at most 128 characters are allowed.",
            PolicyViolation::NotComplex => {
                "SQL Server will refuse it: use at least three of upper case, lower case, digits and symbols, and not the login name."
            }
        }
    }
}

/// The Windows password policy as SQL Server applies it to key passwords.
pub fn check_policy(p: &Password, account: Option<&str>) -> Result<(), PolicyViolation> {
    let s = p.expose();
    let n = s.chars().count();
    if n < 8 {
        return Err(PolicyViolation::TooShort);
    }
    if n > 128 {
        return Err(PolicyViolation::TooLong);
    }
    if let Some(a) = account.filter(|a| a.chars().count() > 2) {
        if s.to_lowercase().contains(&a.to_lowercase()) {
            return Err(PolicyViolation::NotComplex);
        }
    }
    let c = classes(s);
    if c.iter().filter(|x| **x).count() < 3 {
        return Err(PolicyViolation::NotComplex);
    }
    Ok(())
}

fn classes(s: &str) -> [bool; 5] {
    let mut c = [false; 5];
    for ch in s.chars() {
        let i = if ch.is_uppercase() {
            0
        } else if ch.is_lowercase() {
            1
        } else if ch.is_ascii_digit() {
            2
        } else if ch.is_alphabetic() {
            4
        } else {
            3
        };
        c[i] = true;
    }
    c
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    Weak,
    Fair,
    Strong,
    VeryStrong,
}

impl Strength {
    /// As the password meter says it.
    pub fn words(self) -> &'static str {
        match self {
            Strength::Weak => "weak",
            Strength::Fair => "fair",
            Strength::Strong => "strong",
            Strength::VeryStrong => "very strong",
        }
    }
}

/// How hard the password is to guess, by zxcvbn (dictionaries, keyboard patterns, dates,
/// l33t substitutions): its score as a level, and its estimated guesses as bits.
pub fn strength(p: &Password) -> (Strength, u32) {
    let e = zxcvbn::zxcvbn(p.expose(), &[]);
    let bits = (e.guesses_log10() * std::f64::consts::LOG2_10).round() as u32;
    let level = match u8::from(e.score()) {
        0 | 1 => Strength::Weak,
        2 => Strength::Fair,
        3 => Strength::Strong,
        _ => Strength::VeryStrong,
    };
    (level, bits)
}

/// A random password that passes the policy: `len` characters from all four classes,
/// without characters that are easy to misread when written down for custody.
pub fn generate(len: usize) -> Password {
    const UPPER: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &str = "abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &str = "23456789";
    const SYMBOL: &str = "!#%+-=?@_~";
    let len = len.clamp(12, 128);
    let sets: [&[u8]; 4] = [
        UPPER.as_bytes(),
        LOWER.as_bytes(),
        DIGIT.as_bytes(),
        SYMBOL.as_bytes(),
    ];
    let all: Vec<u8> = sets.concat();
    let mut rng = rand::thread_rng();
    let mut out: Vec<u8> = sets.iter().map(|s| s[rng.gen_range(0..s.len())]).collect();
    while out.len() < len {
        out.push(all[rng.gen_range(0..all.len())]);
    }
    for i in (1..out.len()).rev() {
        let j = rng.gen_range(0..=i);
        out.swap(i, j);
    }
    Password::new(String::from_utf8(out).expect("ASCII"))
}

/// Whether the confirmation matches (constant time).
pub fn confirmed(p: &Password, again: &Password) -> bool {
    p == again
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        for _ in 0..200 {
            let p = generate(24);
            assert_eq!(p.expose().len(), 24);
            assert_eq!(check_policy(&p, None), Ok(()));
            assert!(strength(&p).0 >= Strength::Strong);
        }
        assert_ne!(generate(24), generate(24));
    }

    #[test]
    fn weak_passwords_are_named_as_sql_server_would() {
        assert_eq!(
            check_policy(&Password::new("Ab1!"), None),
            Err(PolicyViolation::TooShort)
        );
        assert_eq!(
            check_policy(&Password::new("onlylowercase"), None),
            Err(PolicyViolation::NotComplex)
        );
        assert_eq!(
            check_policy(&Password::new("Operator!2026x"), Some("operator")),
            Err(PolicyViolation::NotComplex)
        );
        assert_eq!(strength(&Password::new("Password123!")).0, Strength::Weak);
    }
}
