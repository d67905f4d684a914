//! Recursive-descent parser. A syntax error rejects the whole batch, as SQL Server does.

use super::ast::*;
use super::keyword::Kw;
use super::lexer::{is_reserved, tokenize, Token, TokenKind};
use super::SyntaxError;
use crate::value::{SqlType, Value};

mod ddl;
mod expr;
mod keys;
mod procedural;
mod security;
mod select;

type R<T> = Result<T, SyntaxError>;

/// Parses a batch for a server of the given major version (13 = 2016 ... 16 = 2022):
/// syntax that version lacks is a syntax error there.
pub fn parse_batch(src: &str, major_version: u8) -> R<Vec<Located>> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        version: major_version,
    };
    let mut out = Vec::new();
    while !p.at_eof() {
        if p.eat_sym(";") {
            continue;
        }
        let line = p.peek().line;
        let first = out.is_empty();
        let stmt = p.statement(first)?;
        out.push(Located { line, stmt });
    }
    Ok(out)
}

/// Parses one standalone expression (for the tests and the fuzz targets).
#[cfg(any(test, feature = "internals"))]
pub fn parse_expression(src: &str) -> R<Expr> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        version: 16,
    };
    let e = p.expr()?;
    if !p.at_eof() {
        return Err(p.err());
    }
    Ok(e)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    version: u8,
}

const STATEMENT_STARTS: &[Kw] = &[
    Kw::Select,
    Kw::Use,
    Kw::Backup,
    Kw::Restore,
    Kw::Create,
    Kw::Alter,
    Kw::Drop,
    Kw::Open,
    Kw::Close,
    Kw::Grant,
    Kw::Revoke,
    Kw::Deny,
    Kw::Exec,
    Kw::Execute,
    Kw::Set,
    Kw::Declare,
    Kw::Print,
    Kw::Begin,
    Kw::Commit,
    Kw::Rollback,
    Kw::If,
    Kw::Waitfor,
    Kw::Kill,
    Kw::Insert,
    Kw::Update,
    Kw::Delete,
    Kw::While,
    Kw::Return,
    // The ends of an IF branch or a BEGIN ... END block.
    Kw::Else,
    Kw::End,
];

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }
    fn peek_at(&self, n: usize) -> &Token {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)]
    }
    fn at_eof(&self) -> bool {
        matches!(self.peek().kind, TokenKind::Eof)
    }
    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }
    /// The error SQL Server gives at the current token (at the end: near the last one).
    fn err(&self) -> SyntaxError {
        let t = self.peek();
        if matches!(t.kind, TokenKind::Eof) && self.pos > 0 {
            SyntaxError::near(&self.toks[self.pos - 1])
        } else {
            SyntaxError::near(t)
        }
    }
    fn is_kw_at(&self, n: usize, kw: Kw) -> bool {
        matches!(&self.peek_at(n).kind, TokenKind::Ident(w) if w.eq_ignore_ascii_case(kw.as_str()))
    }
    fn is_kw(&self, kw: Kw) -> bool {
        self.is_kw_at(0, kw)
    }
    fn eat_kw(&mut self, kw: Kw) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, kw: Kw) -> R<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.err())
        }
    }
    fn expect_kws(&mut self, kws: &[Kw]) -> R<()> {
        for k in kws {
            self.expect_kw(*k)?;
        }
        Ok(())
    }
    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek().kind, TokenKind::Symbol(x) if x == s)
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn expect_sym(&mut self, s: &str) -> R<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.err())
        }
    }
    /// A name: a regular identifier that is not reserved, or a delimited one.
    fn ident(&mut self) -> R<String> {
        match &self.peek().kind {
            TokenKind::QuotedIdent(s) => {
                let s = s.clone();
                self.bump();
                Ok(s)
            }
            TokenKind::Ident(w) if !is_reserved(w) => {
                let s = w.clone();
                self.bump();
                Ok(s)
            }
            _ => Err(self.err()),
        }
    }
    /// A string literal, and only that: paths and passwords can't be expressions or variables.
    fn string_lit(&mut self) -> R<String> {
        match &self.peek().kind {
            TokenKind::Str { text, .. } => {
                let s = text.clone();
                self.bump();
                Ok(s)
            }
            _ => Err(self.err()),
        }
    }
    fn binary_lit(&mut self) -> R<Vec<u8>> {
        match &self.peek().kind {
            TokenKind::Binary(b) => {
                let b = b.clone();
                self.bump();
                Ok(b)
            }
            _ => Err(self.err()),
        }
    }
    /// `KEYWORD = 'literal'`
    /// `ALGORITHM = AES_128 | AES_192 | AES_256 | TRIPLE_DES_3KEY`, upper-cased: CREATE
    /// DATABASE ENCRYPTION KEY and BACKUP ... WITH ENCRYPTION take the same four.
    fn encryption_algorithm(&mut self) -> R<String> {
        self.expect_kw(Kw::Algorithm)?;
        self.expect_sym("=")?;
        let algorithm = self.ident()?.to_uppercase();
        if !["AES_128", "AES_192", "AES_256", "TRIPLE_DES_3KEY"].contains(&algorithm.as_str()) {
            return Err(SyntaxError::custom(
                102,
                format!("Incorrect syntax near '{algorithm}'."),
                self.peek().line,
            ));
        }
        Ok(algorithm)
    }

    fn lit_option(&mut self, kws: &[Kw]) -> R<String> {
        self.expect_kws(kws)?;
        self.expect_sym("=")?;
        self.string_lit()
    }
    /// a.b.c, with empty parts allowed in the middle (master..xp_fileexist).
    fn object_name(&mut self) -> R<Vec<String>> {
        let mut parts = vec![self.ident()?];
        while self.is_sym(".") {
            self.bump();
            if self.is_sym(".") {
                parts.push(String::new());
                continue;
            }
            parts.push(self.ident()?);
        }
        if parts.len() > 4 {
            return Err(self.err());
        }
        Ok(parts)
    }
    fn at_statement_end(&self) -> bool {
        self.at_eof() || self.is_sym(";") || STATEMENT_STARTS.iter().any(|k| self.is_kw(*k))
    }

    /// The statement an IF or ELSE runs: one statement, or a BEGIN ... END block.
    fn branch(&mut self) -> R<Vec<Located>> {
        while self.eat_sym(";") {}
        let line = self.peek().line;
        Ok(vec![Located {
            line,
            stmt: self.statement(false)?,
        }])
    }

    fn statement(&mut self, first_in_batch: bool) -> R<Statement> {
        let t = self.peek().clone();
        let word = match &t.kind {
            TokenKind::Ident(w) => w.to_uppercase(),
            _ => return Err(self.err()),
        };
        match Kw::parse(&word) {
            Some(Kw::Use) => {
                self.bump();
                Ok(Statement::Use(self.ident()?))
            }
            Some(Kw::Select) => Ok(Statement::Select(Box::new(self.select()?))),
            Some(Kw::Backup) => self.backup(),
            Some(Kw::Restore) => self.restore(),
            Some(Kw::Create) => self.create(),
            Some(Kw::Alter) => self.alter(),
            Some(Kw::Drop) => self.drop(),
            Some(Kw::Open) => {
                self.bump();
                self.expect_kws(&[Kw::Master, Kw::Key])?;
                let password = self.lit_option(&[Kw::Decryption, Kw::By, Kw::Password])?;
                Ok(Statement::OpenMasterKey { password })
            }
            Some(Kw::Close) => {
                self.bump();
                self.expect_kws(&[Kw::Master, Kw::Key])?;
                Ok(Statement::CloseMasterKey)
            }
            Some(Kw::Grant | Kw::Revoke | Kw::Deny) => self.permission(),
            Some(Kw::Exec | Kw::Execute) => {
                self.bump();
                self.exec_body()
            }
            Some(Kw::Set) => self.set(),
            Some(Kw::Declare) => self.declare(),
            Some(Kw::Print) => {
                self.bump();
                Ok(Statement::Print(self.expr()?))
            }
            Some(Kw::If) => {
                self.bump();
                let condition = self.expr()?;
                let then = self.branch()?;
                let otherwise = if self.eat_kw(Kw::Else) {
                    self.branch()?
                } else {
                    vec![]
                };
                Ok(Statement::If {
                    condition,
                    then,
                    otherwise,
                })
            }
            Some(Kw::Begin)
                if !(self.is_kw_at(1, Kw::Tran) || self.is_kw_at(1, Kw::Transaction)) =>
            {
                self.bump();
                let mut body = Vec::new();
                loop {
                    while self.eat_sym(";") {}
                    if self.eat_kw(Kw::End) {
                        break;
                    }
                    if self.at_eof() {
                        return Err(self.err());
                    }
                    let line = self.peek().line;
                    body.push(Located {
                        line,
                        stmt: self.statement(false)?,
                    });
                }
                Ok(Statement::Block(body))
            }
            Some(Kw::Begin) => {
                self.bump();
                if !(self.eat_kw(Kw::Tran) || self.eat_kw(Kw::Transaction)) {
                    return Err(self.err());
                }
                if let TokenKind::Ident(w) = &self.peek().kind {
                    if !is_reserved(w) {
                        self.bump();
                    }
                }
                Ok(Statement::BeginTransaction)
            }
            Some(Kw::Commit | Kw::Rollback) => {
                self.bump();
                let _ =
                    self.eat_kw(Kw::Tran) || self.eat_kw(Kw::Transaction) || self.eat_kw(Kw::Work);
                Ok(if word.eq_ignore_ascii_case(Kw::Commit.as_str()) {
                    Statement::Commit
                } else {
                    Statement::Rollback
                })
            }
            Some(Kw::Kill) => {
                self.bump();
                // kill-transact-sql.md: a session ID is an integer literal; KILL @spid is a
                // syntax error on SQL Server (build the statement with dynamic SQL).
                let t = self.peek().clone();
                if !matches!(&t.kind, TokenKind::Number(n) if n.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(SyntaxError::near(&t));
                }
                Ok(Statement::Kill(self.primary()?))
            }
            Some(Kw::Waitfor) => {
                self.bump();
                self.expect_kw(Kw::Delay)?;
                Ok(Statement::WaitFor(self.primary()?))
            }
            _ if first_in_batch && !is_reserved(&word) => {
                // A batch may start with a bare procedure name: `xp_fileexist 'C:\'`.
                self.exec_body()
            }
            _ => Err(self.err()),
        }
    }

    // ---- SELECT ----

    // ---- expressions ----
}

impl SyntaxError {
    fn with_class(mut self, class: u8) -> Self {
        self.class = class;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Statement {
        let mut v = parse_batch(sql, 16).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        assert_eq!(v.len(), 1, "{sql}");
        v.remove(0).stmt
    }

    fn err(sql: &str) -> SyntaxError {
        parse_batch(sql, 16).expect_err(sql)
    }

    #[test]
    fn key_statements_take_only_literals() {
        assert_eq!(
            one("backup service master key to file = N'C:\\k''s.key' encryption by password = 'p''w'"),
            Statement::BackupServiceMasterKey { file: "C:\\k's.key".into(), password: "p'w".into() }
        );
        assert_eq!(
            one("RESTORE SERVICE MASTER KEY FROM FILE = 'f' DECRYPTION BY PASSWORD = 'p' FORCE"),
            Statement::RestoreServiceMasterKey {
                file: "f".into(),
                password: "p".into(),
                force: true
            }
        );
        assert_eq!(
            one("RESTORE MASTER KEY FROM FILE = 'f' DECRYPTION BY PASSWORD = 'd' ENCRYPTION BY PASSWORD = 'e'"),
            Statement::RestoreMasterKey { file: "f".into(), decryption: "d".into(), encryption: "e".into(), force: false }
        );
        assert_eq!(
            err("BACKUP MASTER KEY TO FILE = @f ENCRYPTION BY PASSWORD = 'p'").text,
            "Incorrect syntax near '@f'."
        );
        assert_eq!(err("BACKUP SERVICE MASTER KEY TO FILE = 'f'").number, 102);
    }

    #[test]
    fn certificate_options_parse_in_any_order_once_each() {
        match one("BACKUP CERTIFICATE [c] TO FILE = 'c.cer' WITH PRIVATE KEY (ENCRYPTION BY PASSWORD = 'e', FILE = 'c.pvk', DECRYPTION BY PASSWORD = 'd')") {
            Statement::BackupCertificate(b) => {
                let pk = b.private_key.unwrap();
                assert_eq!((pk.file.as_deref(), pk.encryption_password.as_deref(), pk.decryption_password.as_deref()), (Some("c.pvk"), Some("e"), Some("d")));
                assert!(!b.pfx);
            }
            s => panic!("{s:?}"),
        }
        assert_eq!(
            err("BACKUP CERTIFICATE c TO FILE = 'x' WITH PRIVATE KEY (FILE = 'a', FILE = 'b')")
                .text,
            "Incorrect syntax near the keyword 'FILE'."
        );
        // FORMAT = 'PFX' exists from SQL Server 2022 only.
        assert!(parse_batch("BACKUP CERTIFICATE c TO FILE = 'x' WITH FORMAT = 'PFX', PRIVATE KEY (ENCRYPTION BY PASSWORD = 'e')", 16).is_ok());
        assert!(parse_batch("BACKUP CERTIFICATE c TO FILE = 'x' WITH FORMAT = 'PFX', PRIVATE KEY (ENCRYPTION BY PASSWORD = 'e')", 15).is_err());
    }

    #[test]
    fn selects_parse_joins_groups_and_aliases() {
        match one("SELECT TOP 5 d.name AS n, cnt = COUNT(*), 'lit' label FROM master.sys.databases d LEFT OUTER JOIN sys.dm_database_encryption_keys k ON k.database_id = d.database_id WHERE NOT d.name IN ('a', 'b') GROUP BY d.name HAVING COUNT(*) > 0 ORDER BY 2 DESC, n") {
            Statement::Select(s) => {
                assert!(s.top.is_some());
                assert_eq!(s.items.len(), 3);
                assert!(matches!(&s.items[1], SelectItem::Expr { alias: Some(a), .. } if a == "cnt"));
                assert!(matches!(&s.items[2], SelectItem::Expr { alias: Some(a), .. } if a == "label"));
                assert!(matches!(&s.from, Some(TableRef::Named { name, alias: Some(a) }) if name.len() == 3 && a == "d"));
                assert!(s.joins[0].left);
                assert_eq!(s.group_by.len(), 1);
                assert_eq!(s.order_by.len(), 2);
                assert!(s.order_by[0].1);
            }
            s => panic!("{s:?}"),
        }
    }

    #[test]
    fn precedence_binds_and_tighter_than_or_and_multiplication_tighter_than_addition() {
        assert_eq!(
            parse_expression("1 + 2 * 3").unwrap(),
            Expr::Binary(
                BinOp::Add,
                Box::new(Expr::Literal(Value::Int(1), SqlType::Int)),
                Box::new(Expr::Binary(
                    BinOp::Mul,
                    Box::new(Expr::Literal(Value::Int(2), SqlType::Int)),
                    Box::new(Expr::Literal(Value::Int(3), SqlType::Int))
                ))
            )
        );
        match parse_expression("a = 1 OR b = 2 AND c = 3").unwrap() {
            Expr::Binary(BinOp::Or, _, r) => assert!(matches!(*r, Expr::Binary(BinOp::And, _, _))),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn syntax_errors_name_the_token_like_sql_server() {
        assert_eq!(
            err("SELECT FROM x").text,
            "Incorrect syntax near the keyword 'FROM'."
        );
        assert_eq!(err("SELECT 1 +").text, "Incorrect syntax near '+'.");
        // GO belongs to the client: alone it is a procedure call, after a statement an error.
        assert!(matches!(one("GO"), Statement::Exec(_)));
        assert_eq!(err("USE master\nGO").text, "Incorrect syntax near 'GO'.");
        assert_eq!(err("USE master\nGO").line, 2);
        assert_eq!(err("CREATE TABLE t (a int)").number, 156);
        assert_eq!(err("SELECT CAST(1 AS nvarchar(5000))").number, 131);
    }

    #[test]
    fn a_batch_holds_several_statements_with_their_lines() {
        let v = parse_batch("USE master;\nSELECT 1\n\nCREATE DATABASE x; GRANT VIEW SERVER STATE, CONTROL SERVER TO [op]", 16).unwrap();
        assert_eq!(
            v.iter().map(|l| l.line).collect::<Vec<_>>(),
            vec![1, 2, 4, 4]
        );
        match &v[3].stmt {
            Statement::Permission(p) => {
                assert_eq!(p.permissions, vec!["VIEW SERVER STATE", "CONTROL SERVER"])
            }
            s => panic!("{s:?}"),
        }
    }
}
