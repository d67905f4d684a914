//! GRANT, REVOKE and DENY.

use super::*;

impl Parser {
    pub(super) fn permission(&mut self) -> R<Statement> {
        let kind = match Kw::parse(&self.bump().text) {
            Some(Kw::Grant) => PermissionKind::Grant,
            Some(Kw::Revoke) => PermissionKind::Revoke,
            _ => PermissionKind::Deny,
        };
        if kind == PermissionKind::Revoke {
            let _ = self.eat_kw(Kw::Grant) && {
                self.expect_kws(&[Kw::Option, Kw::For])?;
                true
            };
        }
        let mut permissions = Vec::new();
        loop {
            let mut words = Vec::new();
            while let TokenKind::Ident(w) = &self.peek().kind {
                if matches!(Kw::parse(w), Some(Kw::On | Kw::To | Kw::From)) {
                    break;
                }
                words.push(w.to_uppercase());
                self.bump();
            }
            if words.is_empty() {
                return Err(self.err());
            }
            permissions.push(words.join(" "));
            if !self.eat_sym(",") {
                break;
            }
        }
        let on = if self.eat_kw(Kw::On) {
            let first = self.bump();
            let first_text = match &first.kind {
                TokenKind::Ident(w) | TokenKind::QuotedIdent(w) => w.clone(),
                _ => return Err(SyntaxError::near(&first)),
            };
            let class = if first_text.eq_ignore_ascii_case("SYMMETRIC") && self.eat_kw(Kw::Key) {
                "SYMMETRIC KEY".to_string()
            } else {
                first_text.to_uppercase()
            };
            if self.eat_sym("::") {
                let mut name = self.ident()?;
                while self.eat_sym(".") {
                    name = format!("{name}.{}", self.ident()?);
                }
                Some((class, name))
            } else {
                // ON [db.][schema.]object: an OBJECT.
                let mut name = first_text;
                while self.eat_sym(".") {
                    name = format!("{name}.{}", self.ident()?);
                }
                Some(("OBJECT".into(), name))
            }
        } else {
            None
        };
        if !(self.eat_kw(Kw::To) || (kind == PermissionKind::Revoke && self.eat_kw(Kw::From))) {
            return Err(self.err());
        }
        let mut principals = vec![self.ident()?];
        while self.eat_sym(",") {
            principals.push(self.ident()?);
        }
        if self.eat_kw(Kw::With) {
            self.expect_kws(&[Kw::Grant, Kw::Option])?;
        }
        if kind != PermissionKind::Grant {
            let _ = self.eat_kw(Kw::Cascade);
        }
        Ok(Statement::Permission(PermissionStatement {
            kind,
            permissions,
            on,
            principals,
        }))
    }
}
