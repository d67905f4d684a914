//! Secrets (login and backup passwords) from the moment they are typed until they are sent.
//! `Debug` prints `<redacted>`; there is no `Serialize`, no `Display`.

use secrecy::{ExposeSecret, SecretString};

#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Password(SecretString::from(s.into()))
    }

    /// The clear text, for the one place that must send it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.expose().as_bytes(), other.expose().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::new("hunter2!Secret");
        assert_eq!(format!("{p:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(p.clone())), "Some(<redacted>)");
        assert_eq!(p.expose(), "hunter2!Secret");
    }
}
