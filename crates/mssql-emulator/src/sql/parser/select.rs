//! SELECT: the select list, FROM with joins and OPENROWSET, aliases.

use super::*;

impl Parser {
    pub(super) fn select(&mut self) -> R<Select> {
        self.expect_kw(Kw::Select)?;
        let mut s = Select::default();
        if self.eat_kw(Kw::Distinct) {
            s.distinct = true;
        } else {
            let _ = self.eat_kw(Kw::All);
        }
        if self.eat_kw(Kw::Top) {
            s.top = Some(if self.eat_sym("(") {
                let e = self.expr()?;
                self.expect_sym(")")?;
                e
            } else {
                self.primary()?
            });
        }
        loop {
            s.items.push(self.select_item()?);
            if !self.eat_sym(",") {
                break;
            }
        }
        if self.eat_kw(Kw::From) {
            s.from = Some(self.table_ref()?);
            loop {
                let left = if self.eat_kw(Kw::Left) {
                    let _ = self.eat_kw(Kw::Outer);
                    true
                } else if self.eat_kw(Kw::Inner) || self.is_kw(Kw::Join) {
                    false
                } else if self.eat_kw(Kw::Cross) {
                    self.expect_kw(Kw::Join)?;
                    let table = self.table_ref()?;
                    s.joins.push(Join {
                        left: false,
                        table,
                        on: Expr::Literal(Value::Bit(true), SqlType::Bit),
                    });
                    continue;
                } else {
                    break;
                };
                self.expect_kw(Kw::Join)?;
                let table = self.table_ref()?;
                self.expect_kw(Kw::On)?;
                let on = self.expr()?;
                s.joins.push(Join { left, table, on });
            }
        }
        if self.eat_kw(Kw::Where) {
            s.filter = Some(self.expr()?);
        }
        if self.eat_kw(Kw::Group) {
            self.expect_kw(Kw::By)?;
            loop {
                s.group_by.push(self.expr()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.eat_kw(Kw::Having) {
            s.having = Some(self.expr()?);
        }
        if self.eat_kw(Kw::Order) {
            self.expect_kw(Kw::By)?;
            loop {
                let e = self.expr()?;
                let desc = if self.eat_kw(Kw::Desc) {
                    true
                } else {
                    let _ = self.eat_kw(Kw::Asc);
                    false
                };
                s.order_by.push((e, desc));
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        Ok(s)
    }

    pub(super) fn alias(&mut self) -> R<Option<String>> {
        if self.eat_kw(Kw::As) {
            return match &self.peek().kind {
                TokenKind::Str { text, .. } => {
                    let t = text.clone();
                    self.bump();
                    Ok(Some(t))
                }
                _ => Ok(Some(self.ident()?)),
            };
        }
        match &self.peek().kind {
            TokenKind::QuotedIdent(s) => {
                let s = s.clone();
                self.bump();
                Ok(Some(s))
            }
            TokenKind::Ident(w) if !is_reserved(w) => {
                let s = w.clone();
                self.bump();
                Ok(Some(s))
            }
            TokenKind::Str { text, .. } => {
                let t = text.clone();
                self.bump();
                Ok(Some(t))
            }
            _ => Ok(None),
        }
    }

    pub(super) fn select_item(&mut self) -> R<SelectItem> {
        if self.eat_sym("*") {
            return Ok(SelectItem::Star(None));
        }
        // alias.*
        if matches!(
            self.peek().kind,
            TokenKind::Ident(_) | TokenKind::QuotedIdent(_)
        ) && matches!(self.peek_at(1).kind, TokenKind::Symbol("."))
            && matches!(self.peek_at(2).kind, TokenKind::Symbol("*"))
        {
            let q = self.ident()?;
            self.bump();
            self.bump();
            return Ok(SelectItem::Star(Some(q)));
        }
        // @v = expr
        if let TokenKind::Variable(v) = &self.peek().kind {
            if !v.starts_with("@@") && matches!(self.peek_at(1).kind, TokenKind::Symbol("=")) {
                let variable = v.clone();
                self.bump();
                self.bump();
                return Ok(SelectItem::Assign {
                    variable,
                    expr: self.expr()?,
                });
            }
        }
        // alias = expr
        let is_name = match &self.peek().kind {
            TokenKind::QuotedIdent(_) => true,
            TokenKind::Ident(w) => !is_reserved(w),
            TokenKind::Str { .. } => true,
            _ => false,
        };
        if is_name && matches!(self.peek_at(1).kind, TokenKind::Symbol("=")) {
            let alias = self.bump().kind;
            let alias = match alias {
                TokenKind::QuotedIdent(s)
                | TokenKind::Ident(s)
                | TokenKind::Str { text: s, .. } => s,
                _ => unreachable!(),
            };
            self.bump();
            return Ok(SelectItem::Expr {
                expr: self.expr()?,
                alias: Some(alias),
            });
        }
        let expr = self.expr()?;
        let alias = self.alias()?;
        Ok(SelectItem::Expr { expr, alias })
    }

    pub(super) fn table_ref(&mut self) -> R<TableRef> {
        if self.eat_kw(Kw::Openrowset) {
            self.expect_sym("(")?;
            self.expect_kw(Kw::Bulk)?;
            let path = self.string_lit()?;
            self.expect_sym(",")?;
            let mode = self.ident()?.to_uppercase();
            if !["SINGLE_BLOB", "SINGLE_CLOB", "SINGLE_NCLOB"].contains(&mode.as_str()) {
                return Err(SyntaxError::custom(
                    102,
                    format!("Incorrect syntax near '{mode}'."),
                    self.peek().line,
                ));
            }
            self.expect_sym(")")?;
            let line = self.peek().line;
            let alias = self.alias()?;
            if alias.is_none() {
                return Err(SyntaxError::custom(
                    491,
                    "A correlation name must be specified for the bulk rowset in the from clause.",
                    line,
                )
                .with_class(16));
            }
            return Ok(TableRef::OpenRowsetBulk { path, mode, alias });
        }
        if self.is_sym("(") {
            self.bump();
            let q = self.select()?;
            self.expect_sym(")")?;
            let alias = self.alias()?.ok_or_else(|| self.err())?;
            return Ok(TableRef::Subquery {
                query: Box::new(q),
                alias,
            });
        }
        let name = self.object_name()?;
        if self.eat_sym("(") {
            let mut args = Vec::new();
            if !self.is_sym(")") {
                loop {
                    args.push(self.expr()?);
                    if !self.eat_sym(",") {
                        break;
                    }
                }
            }
            self.expect_sym(")")?;
            let alias = self.alias()?;
            return Ok(TableRef::Function { name, args, alias });
        }
        let alias = self.alias()?;
        Ok(TableRef::Named { name, alias })
    }
}
