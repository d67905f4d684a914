//! What reaches the terminal: every line Keysafe prints may hold names a server chose
//! (databases, certificates, logins, its messages). Control characters in them (escape
//! sequences that repaint the screen, line feeds that forge a line in a scheduled task's
//! log) and the Unicode marks that reorder text are shown escaped, never obeyed.

/// `s` with every control character and bidirectional mark escaped as `\u{..}`.
pub fn safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let hidden = c.is_control()
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if hidden {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// An error as three lines: what happened, what to do, SQL Server's own words.
pub fn error_lines(prefix: &str, e: &keysafe_core::KeysafeError) -> Vec<String> {
    let mut v = vec![format!("{prefix}{}", e.message)];
    if let Some(n) = &e.next_step {
        v.push(format!("  Next: {n}"));
    }
    if let Some(m) = &e.server {
        v.push(format!("  SQL Server: {m}"));
    }
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_and_reordering_marks_are_shown_not_obeyed() {
        assert_eq!(super::safe("Sales"), "Sales");
        assert_eq!(
            super::safe("x\u{1b}[2K\rOK\nforged\u{202e}"),
            "x\\u{1b}[2K\\u{d}OK\\u{a}forged\\u{202e}"
        );
        assert_eq!(super::safe("tab\there"), "tab\\u{9}here");
        assert_eq!(super::safe("\u{85}c1"), "\\u{85}c1");
    }
}
