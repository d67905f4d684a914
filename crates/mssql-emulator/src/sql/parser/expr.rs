//! Expressions, by precedence: OR, AND, NOT, predicates, + -, * / %, unary, primaries, CASE.

use super::*;

impl Parser {
    pub(super) fn expr(&mut self) -> R<Expr> {
        let mut l = self.and_expr()?;
        while self.eat_kw(Kw::Or) {
            let r = self.and_expr()?;
            l = Expr::Binary(BinOp::Or, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    pub(super) fn and_expr(&mut self) -> R<Expr> {
        let mut l = self.not_expr()?;
        while self.eat_kw(Kw::And) {
            let r = self.not_expr()?;
            l = Expr::Binary(BinOp::And, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    pub(super) fn not_expr(&mut self) -> R<Expr> {
        if self.eat_kw(Kw::Not) {
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        self.predicate()
    }

    pub(super) fn predicate(&mut self) -> R<Expr> {
        if self.eat_kw(Kw::Exists) {
            self.expect_sym("(")?;
            let q = self.select()?;
            self.expect_sym(")")?;
            return Ok(Expr::Exists(Box::new(q)));
        }
        let l = self.additive()?;
        let op = match &self.peek().kind {
            TokenKind::Symbol("=") => Some(BinOp::Eq),
            TokenKind::Symbol("<>") | TokenKind::Symbol("!=") => Some(BinOp::Ne),
            TokenKind::Symbol("<") | TokenKind::Symbol("!>") => Some(if self.is_sym("<") {
                BinOp::Lt
            } else {
                BinOp::Le
            }),
            TokenKind::Symbol(">") | TokenKind::Symbol("!<") => Some(if self.is_sym(">") {
                BinOp::Gt
            } else {
                BinOp::Ge
            }),
            TokenKind::Symbol("<=") => Some(BinOp::Le),
            TokenKind::Symbol(">=") => Some(BinOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let r = self.additive()?;
            return Ok(Expr::Binary(op, Box::new(l), Box::new(r)));
        }
        if self.eat_kw(Kw::Is) {
            let negated = self.eat_kw(Kw::Not);
            self.expect_kw(Kw::Null)?;
            return Ok(Expr::IsNull {
                expr: Box::new(l),
                negated,
            });
        }
        let negated = if self.is_kw(Kw::Not)
            && (self.is_kw_at(1, Kw::Like)
                || self.is_kw_at(1, Kw::In)
                || self.is_kw_at(1, Kw::Between))
        {
            self.bump();
            true
        } else {
            false
        };
        if self.eat_kw(Kw::Like) {
            let pattern = self.additive()?;
            let escape = if self.eat_kw(Kw::Escape) {
                Some(Box::new(self.additive()?))
            } else {
                None
            };
            return Ok(Expr::Like {
                expr: Box::new(l),
                pattern: Box::new(pattern),
                escape,
                negated,
            });
        }
        if self.eat_kw(Kw::In) {
            self.expect_sym("(")?;
            let mut list = Vec::new();
            loop {
                list.push(self.expr()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
            return Ok(Expr::In {
                expr: Box::new(l),
                list,
                negated,
            });
        }
        if self.eat_kw(Kw::Between) {
            let low = self.additive()?;
            self.expect_kw(Kw::And)?;
            let high = self.additive()?;
            return Ok(Expr::Between {
                expr: Box::new(l),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            });
        }
        if negated {
            return Err(self.err());
        }
        Ok(l)
    }

    pub(super) fn additive(&mut self) -> R<Expr> {
        let mut l = self.multiplicative()?;
        loop {
            let op = if self.is_sym("+") {
                BinOp::Add
            } else if self.is_sym("-") {
                BinOp::Sub
            } else {
                break;
            };
            self.bump();
            let r = self.multiplicative()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    pub(super) fn multiplicative(&mut self) -> R<Expr> {
        let mut l = self.unary()?;
        loop {
            let op = if self.is_sym("*") {
                BinOp::Mul
            } else if self.is_sym("/") {
                BinOp::Div
            } else if self.is_sym("%") {
                BinOp::Mod
            } else {
                break;
            };
            self.bump();
            let r = self.unary()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    pub(super) fn unary(&mut self) -> R<Expr> {
        if self.eat_sym("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat_sym("+") {
            return self.unary();
        }
        self.primary()
    }

    pub(super) fn primary(&mut self) -> R<Expr> {
        let t = self.peek().clone();
        match &t.kind {
            TokenKind::Number(n) => {
                self.bump();
                Ok(number_literal(n).ok_or_else(|| SyntaxError::near(&t))?)
            }
            TokenKind::Str { text, unicode } => {
                self.bump();
                let len = text.chars().count().max(1);
                let ty = if *unicode {
                    SqlType::NVarChar(if len > 4000 { None } else { Some(len as u16) })
                } else {
                    SqlType::VarChar(if len > 8000 { None } else { Some(len as u16) })
                };
                Ok(Expr::Literal(Value::Str(text.clone()), ty))
            }
            TokenKind::Binary(b) => {
                self.bump();
                let len = b.len().max(1);
                Ok(Expr::Literal(
                    Value::Bytes(b.clone()),
                    SqlType::VarBinary(if len > 8000 { None } else { Some(len as u16) }),
                ))
            }
            TokenKind::Variable(v) => {
                self.bump();
                if let Some(g) = v.strip_prefix("@@") {
                    Ok(Expr::Global(g.to_uppercase()))
                } else {
                    Ok(Expr::Variable(v.clone()))
                }
            }
            TokenKind::Symbol("(") => {
                self.bump();
                if self.is_kw(Kw::Select) {
                    let q = self.select()?;
                    self.expect_sym(")")?;
                    return Ok(Expr::Subquery(Box::new(q)));
                }
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            TokenKind::Ident(w) => {
                let up = w.to_uppercase();
                match Kw::parse(&up) {
                    Some(Kw::Null) => {
                        self.bump();
                        Ok(Expr::Literal(Value::Null, SqlType::Int))
                    }
                    Some(Kw::Case) => self.case(),
                    Some(Kw::Cast | Kw::TryCast)
                        if matches!(self.peek_at(1).kind, TokenKind::Symbol("(")) =>
                    {
                        self.bump();
                        self.bump();
                        let e = self.expr()?;
                        self.expect_kw(Kw::As)?;
                        let ty = self.type_name(false)?;
                        self.expect_sym(")")?;
                        Ok(Expr::Cast {
                            expr: Box::new(e),
                            ty,
                        })
                    }
                    Some(Kw::Convert | Kw::TryConvert) => {
                        self.bump();
                        self.expect_sym("(")?;
                        let ty = self.type_name(false)?;
                        self.expect_sym(",")?;
                        let e = self.expr()?;
                        let style = if self.eat_sym(",") {
                            Some(Box::new(self.expr()?))
                        } else {
                            None
                        };
                        self.expect_sym(")")?;
                        Ok(Expr::Convert {
                            ty,
                            expr: Box::new(e),
                            style,
                        })
                    }
                    Some(
                        Kw::CurrentTimestamp
                        | Kw::CurrentUser
                        | Kw::SystemUser
                        | Kw::SessionUser
                        | Kw::User,
                    ) if !matches!(self.peek_at(1).kind, TokenKind::Symbol("(")) => {
                        self.bump();
                        Ok(Expr::Function {
                            name: up,
                            args: vec![],
                            star: false,
                            distinct: false,
                        })
                    }
                    _ if matches!(self.peek_at(1).kind, TokenKind::Symbol("("))
                        && (!is_reserved(w)
                            || ["COALESCE", "NULLIF", "LEFT", "RIGHT", "USER"]
                                .contains(&up.as_str())) =>
                    {
                        self.bump();
                        self.function_call(up)
                    }
                    _ if is_reserved(w) => Err(SyntaxError::near(&t)),
                    _ => self.column_or_function(),
                }
            }
            TokenKind::QuotedIdent(_) => self.column_or_function(),
            _ => Err(self.err()),
        }
    }

    pub(super) fn column_or_function(&mut self) -> R<Expr> {
        let parts = self.object_name()?;
        if self.is_sym("(") {
            // schema-qualified scalar function: dbo.f(), sys.fn_x()
            let name = parts.join(".").to_uppercase();
            return self.function_call(name);
        }
        Ok(Expr::Column(parts))
    }

    pub(super) fn function_call(&mut self, name: String) -> R<Expr> {
        self.expect_sym("(")?;
        let mut args = Vec::new();
        let mut star = false;
        let mut distinct = false;
        if self.eat_sym("*") {
            star = true;
        } else if !self.is_sym(")") {
            distinct = self.eat_kw(Kw::Distinct);
            loop {
                args.push(self.expr()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_sym(")")?;
        if star && !name.eq_ignore_ascii_case("COUNT") && !name.eq_ignore_ascii_case("COUNT_BIG") {
            return Err(self.err());
        }
        Ok(Expr::Function {
            name,
            args,
            star,
            distinct,
        })
    }

    pub(super) fn case(&mut self) -> R<Expr> {
        self.expect_kw(Kw::Case)?;
        let operand = if self.is_kw(Kw::When) {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        let mut whens = Vec::new();
        while self.eat_kw(Kw::When) {
            let c = self.expr()?;
            self.expect_kw(Kw::Then)?;
            let v = self.expr()?;
            whens.push((c, v));
        }
        if whens.is_empty() {
            return Err(self.err());
        }
        let otherwise = if self.eat_kw(Kw::Else) {
            Some(Box::new(self.expr()?))
        } else {
            None
        };
        self.expect_kw(Kw::End)?;
        Ok(Expr::Case {
            operand,
            whens,
            otherwise,
        })
    }
}

pub(super) fn number_literal(n: &str) -> Option<Expr> {
    if n.contains(['e', 'E']) {
        return n
            .parse::<f64>()
            .ok()
            .map(|f| Expr::Literal(Value::Float(f), SqlType::Float));
    }
    if let Some(dot) = n.find('.') {
        let digits: String = n.chars().filter(|c| *c != '.').collect();
        if n[dot + 1..].contains('.') {
            return None;
        }
        let scale = (n.len() - dot - 1) as u8;
        let m: i128 = digits.parse().ok()?;
        let precision = (digits.trim_start_matches('0').len().max(1) as u8).max(scale);
        if precision > 38 {
            return None;
        }
        return Some(Expr::Literal(
            Value::Decimal(m, scale),
            SqlType::Decimal(precision, scale),
        ));
    }
    let v: i128 = n.parse().ok()?;
    if v <= i32::MAX as i128 {
        Some(Expr::Literal(Value::Int(v as i64), SqlType::Int))
    } else if v <= i64::MAX as i128 {
        Some(Expr::Literal(
            Value::Decimal(v, 0),
            SqlType::Decimal(n.len().min(38) as u8, 0),
        ))
    } else if n.len() <= 38 {
        Some(Expr::Literal(
            Value::Decimal(v, 0),
            SqlType::Decimal(n.len() as u8, 0),
        ))
    } else {
        None
    }
}
