//! EXEC, SET, DECLARE and the type names they use.

use super::*;

impl Parser {
    pub(super) fn exec_body(&mut self) -> R<Statement> {
        if self.is_sym("(") {
            // EXEC ('dynamic SQL'): the string is run as a batch of its own.
            self.bump();
            let e = self.expr()?;
            self.expect_sym(")")?;
            return Ok(Statement::Exec(Exec {
                procedure: vec![],
                args: vec![ExecArg {
                    name: None,
                    value: e,
                    output: false,
                }],
            }));
        }
        let procedure = self.object_name()?;
        let mut args = Vec::new();
        if !self.at_statement_end() {
            loop {
                let name = if matches!(self.peek().kind, TokenKind::Variable(_))
                    && matches!(self.peek_at(1).kind, TokenKind::Symbol("="))
                {
                    let n = self.bump().text;
                    self.bump();
                    Some(n)
                } else {
                    None
                };
                let value = if self.is_kw(Kw::Default) {
                    self.bump();
                    Expr::Literal(Value::Null, SqlType::Int)
                } else {
                    self.expr()?
                };
                let output = self.eat_kw(Kw::Output) || self.eat_kw(Kw::Out);
                args.push(ExecArg {
                    name,
                    value,
                    output,
                });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        Ok(Statement::Exec(Exec { procedure, args }))
    }

    pub(super) fn set(&mut self) -> R<Statement> {
        self.expect_kw(Kw::Set)?;
        if let TokenKind::Variable(v) = &self.peek().kind {
            let name = v.clone();
            self.bump();
            self.expect_sym("=")?;
            let expr = self.expr()?;
            return Ok(Statement::SetVariable { name, expr });
        }
        let mut words = Vec::new();
        while !self.at_eof()
            && !self.is_sym(";")
            && (words.is_empty() || !STATEMENT_STARTS.iter().any(|k| self.is_kw(*k)))
        {
            let t = self.bump();
            if matches!(t.kind, TokenKind::Symbol(s) if s != ",") {
                return Err(SyntaxError::near(&t));
            }
            words.push(t.text);
        }
        if words.len() < 2 {
            return Err(self.err());
        }
        let value = words.pop().unwrap();
        Ok(Statement::SetOption {
            option: words.join(" ").to_uppercase(),
            value: value.to_uppercase(),
        })
    }

    pub(super) fn declare(&mut self) -> R<Statement> {
        self.expect_kw(Kw::Declare)?;
        let mut vars = Vec::new();
        loop {
            let name = match &self.peek().kind {
                TokenKind::Variable(v) if !v.starts_with("@@") => v.clone(),
                _ => return Err(self.err()),
            };
            self.bump();
            let _ = self.eat_kw(Kw::As);
            let ty = self.type_name(true)?;
            let init = if self.eat_sym("=") {
                Some(self.expr()?)
            } else {
                None
            };
            vars.push((name, ty, init));
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(Statement::Declare(vars))
    }

    /// A data type. `declare` picks the default length: 1 in DECLARE, 30 in CAST/CONVERT.
    pub(super) fn type_name(&mut self, declare: bool) -> R<SqlType> {
        let t = self.peek().clone();
        let name = match &t.kind {
            TokenKind::Ident(w) | TokenKind::QuotedIdent(w) => w.to_lowercase(),
            _ => return Err(self.err()),
        };
        self.bump();
        let name = if name == "sys" && self.eat_sym(".") {
            self.ident()?.to_lowercase()
        } else {
            name
        };
        let default_len: u16 = if declare { 1 } else { 30 };
        let len_arg = |p: &mut Parser, max_ok: bool, limit: u16| -> R<Option<Option<u16>>> {
            if !p.eat_sym("(") {
                return Ok(None);
            }
            let r = if max_ok && p.eat_kw(Kw::Max) {
                None
            } else {
                let n = p.number_u32()?;
                if n == 0 || n > limit as u32 {
                    return Err(SyntaxError::custom(
                        131,
                        format!("The size ({n}) given to the type '{name}' exceeds the maximum allowed for any data type ({limit})."),
                        t.line,
                    ));
                }
                Some(n as u16)
            };
            p.expect_sym(")")?;
            Ok(Some(r))
        };
        Ok(match name.as_str() {
            "int" | "integer" => SqlType::Int,
            "bigint" => SqlType::BigInt,
            "smallint" => SqlType::SmallInt,
            "tinyint" => SqlType::TinyInt,
            "bit" => SqlType::Bit,
            "float" => {
                let _ = len_arg(self, false, 53)?;
                SqlType::Float
            }
            "real" => SqlType::Real,
            "decimal" | "numeric" => {
                if self.eat_sym("(") {
                    let p = self.number_u32()? as u8;
                    let s = if self.eat_sym(",") {
                        self.number_u32()? as u8
                    } else {
                        0
                    };
                    self.expect_sym(")")?;
                    if p == 0 || p > 38 || s > p {
                        return Err(SyntaxError::custom(2750, format!("Column or parameter #0: Specified column precision {p} is greater than the maximum precision of 38."), t.line));
                    }
                    SqlType::Decimal(p, s)
                } else {
                    SqlType::Decimal(18, 0)
                }
            }
            "nvarchar" => {
                SqlType::NVarChar(len_arg(self, true, 4000)?.unwrap_or(Some(default_len)))
            }
            "varchar" => SqlType::VarChar(len_arg(self, true, 8000)?.unwrap_or(Some(default_len))),
            "nchar" => SqlType::NChar(len_arg(self, false, 4000)?.flatten().unwrap_or(default_len)),
            "char" => SqlType::Char(len_arg(self, false, 8000)?.flatten().unwrap_or(default_len)),
            "varbinary" => {
                SqlType::VarBinary(len_arg(self, true, 8000)?.unwrap_or(Some(default_len)))
            }
            "binary" => {
                SqlType::Binary(len_arg(self, false, 8000)?.flatten().unwrap_or(default_len))
            }
            "sysname" => SqlType::NVarChar(Some(128)),
            "datetime" => SqlType::DateTime,
            "date" => SqlType::Date,
            "datetime2" => SqlType::DateTime2(
                len_arg(self, false, 7)?
                    .flatten()
                    .map(|n| n as u8)
                    .unwrap_or(7),
            ),
            "datetimeoffset" => SqlType::DateTimeOffset(
                len_arg(self, false, 7)?
                    .flatten()
                    .map(|n| n as u8)
                    .unwrap_or(7),
            ),
            "uniqueidentifier" => SqlType::UniqueIdentifier,
            "sql_variant" => SqlType::SqlVariant,
            _ => {
                return Err(SyntaxError::custom(
                    2715,
                    format!("Column, parameter, or variable #1: Cannot find data type {name}."),
                    t.line,
                )
                .with_class(16))
            }
        })
    }

    pub(super) fn number_u32(&mut self) -> R<u32> {
        match &self.peek().kind {
            TokenKind::Number(n) => {
                let v = n.parse::<u32>().map_err(|_| self.err())?;
                self.bump();
                Ok(v)
            }
            _ => Err(self.err()),
        }
    }
}
