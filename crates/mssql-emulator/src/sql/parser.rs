//! Recursive-descent parser. A syntax error rejects the whole batch, as SQL Server does.

use super::ast::*;
use super::lexer::{is_reserved, tokenize, Token, TokenKind};
use super::SyntaxError;
use crate::value::{SqlType, Value};

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

const STATEMENT_STARTS: &[&str] = &[
    "SELECT", "USE", "BACKUP", "RESTORE", "CREATE", "ALTER", "DROP", "OPEN", "CLOSE", "GRANT",
    "REVOKE", "DENY", "EXEC", "EXECUTE", "SET", "DECLARE", "PRINT", "BEGIN", "COMMIT", "ROLLBACK",
    "IF", "WAITFOR", "INSERT", "UPDATE", "DELETE", "WHILE", "RETURN",
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
    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(&self.peek_at(n).kind, TokenKind::Ident(w) if w.eq_ignore_ascii_case(kw))
    }
    fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, kw: &str) -> R<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.err())
        }
    }
    fn expect_kws(&mut self, kws: &[&str]) -> R<()> {
        for k in kws {
            self.expect_kw(k)?;
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
    fn lit_option(&mut self, kws: &[&str]) -> R<String> {
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
        self.at_eof() || self.is_sym(";") || STATEMENT_STARTS.iter().any(|k| self.is_kw(k))
    }

    fn statement(&mut self, first_in_batch: bool) -> R<Statement> {
        let t = self.peek().clone();
        let word = match &t.kind {
            TokenKind::Ident(w) => w.to_uppercase(),
            _ => return Err(self.err()),
        };
        match word.as_str() {
            "USE" => {
                self.bump();
                Ok(Statement::Use(self.ident()?))
            }
            "SELECT" => Ok(Statement::Select(Box::new(self.select()?))),
            "BACKUP" => self.backup(),
            "RESTORE" => self.restore(),
            "CREATE" => self.create(),
            "ALTER" => self.alter(),
            "DROP" => self.drop(),
            "OPEN" => {
                self.bump();
                self.expect_kws(&["MASTER", "KEY"])?;
                let password = self.lit_option(&["DECRYPTION", "BY", "PASSWORD"])?;
                Ok(Statement::OpenMasterKey { password })
            }
            "CLOSE" => {
                self.bump();
                self.expect_kws(&["MASTER", "KEY"])?;
                Ok(Statement::CloseMasterKey)
            }
            "GRANT" | "REVOKE" | "DENY" => self.permission(),
            "EXEC" | "EXECUTE" => {
                self.bump();
                self.exec_body()
            }
            "SET" => self.set(),
            "DECLARE" => self.declare(),
            "PRINT" => {
                self.bump();
                Ok(Statement::Print(self.expr()?))
            }
            "BEGIN" => {
                self.bump();
                if !(self.eat_kw("TRAN") || self.eat_kw("TRANSACTION")) {
                    return Err(self.err());
                }
                if let TokenKind::Ident(w) = &self.peek().kind {
                    if !is_reserved(w) {
                        self.bump();
                    }
                }
                Ok(Statement::BeginTransaction)
            }
            "COMMIT" | "ROLLBACK" => {
                self.bump();
                let _ = self.eat_kw("TRAN") || self.eat_kw("TRANSACTION") || self.eat_kw("WORK");
                Ok(if word == "COMMIT" {
                    Statement::Commit
                } else {
                    Statement::Rollback
                })
            }
            "WAITFOR" => {
                self.bump();
                self.expect_kw("DELAY")?;
                Ok(Statement::WaitFor(self.primary()?))
            }
            _ if first_in_batch && !is_reserved(&word) => {
                // A batch may start with a bare procedure name: `xp_fileexist 'C:\'`.
                self.exec_body()
            }
            _ => Err(self.err()),
        }
    }

    fn backup(&mut self) -> R<Statement> {
        self.expect_kw("BACKUP")?;
        if self.eat_kw("SERVICE") {
            self.expect_kws(&["MASTER", "KEY"])?;
            let file = self.lit_option(&["TO", "FILE"])?;
            let password = self.lit_option(&["ENCRYPTION", "BY", "PASSWORD"])?;
            return Ok(Statement::BackupServiceMasterKey { file, password });
        }
        if self.eat_kw("MASTER") {
            self.expect_kw("KEY")?;
            let file = self.lit_option(&["TO", "FILE"])?;
            let password = self.lit_option(&["ENCRYPTION", "BY", "PASSWORD"])?;
            return Ok(Statement::BackupMasterKey { file, password });
        }
        if self.eat_kw("CERTIFICATE") {
            let name = self.ident()?;
            let file = self.lit_option(&["TO", "FILE"])?;
            let mut pfx = false;
            let mut private_key = None;
            if self.eat_kw("WITH") {
                if self.version >= 16 && self.is_kw("FORMAT") {
                    let f = self.lit_option(&["FORMAT"])?;
                    if !f.eq_ignore_ascii_case("PFX") {
                        return Err(SyntaxError::custom(
                            102,
                            format!("Incorrect syntax near '{f}'."),
                            self.peek().line,
                        ));
                    }
                    pfx = true;
                    self.expect_sym(",")?;
                }
                self.expect_kws(&["PRIVATE", "KEY"])?;
                private_key = Some(self.private_key_options()?);
            }
            return Ok(Statement::BackupCertificate(BackupCertificate {
                name,
                file,
                pfx,
                private_key,
            }));
        }
        Err(self.err())
    }

    fn private_key_options(&mut self) -> R<PrivateKeyOptions> {
        self.expect_sym("(")?;
        let mut o = PrivateKeyOptions::default();
        loop {
            let dup = |p: &Parser| Err(p.err());
            if self.is_kw("FILE") {
                if o.file.is_some() || o.binary.is_some() {
                    return dup(self);
                }
                o.file = Some(self.lit_option(&["FILE"])?);
            } else if self.is_kw("BINARY") {
                if o.file.is_some() || o.binary.is_some() {
                    return dup(self);
                }
                self.bump();
                self.expect_sym("=")?;
                o.binary = Some(self.binary_lit()?);
            } else if self.is_kw("ENCRYPTION") {
                if o.encryption_password.is_some() {
                    return dup(self);
                }
                o.encryption_password = Some(self.lit_option(&["ENCRYPTION", "BY", "PASSWORD"])?);
            } else if self.is_kw("DECRYPTION") {
                if o.decryption_password.is_some() {
                    return dup(self);
                }
                o.decryption_password = Some(self.lit_option(&["DECRYPTION", "BY", "PASSWORD"])?);
            } else if self.version >= 16 && self.is_kw("ALGORITHM") {
                o.algorithm = Some(self.lit_option(&["ALGORITHM"])?);
            } else {
                return Err(self.err());
            }
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        Ok(o)
    }

    fn restore(&mut self) -> R<Statement> {
        self.expect_kw("RESTORE")?;
        let service = self.eat_kw("SERVICE");
        self.expect_kws(&["MASTER", "KEY"])?;
        let file = self.lit_option(&["FROM", "FILE"])?;
        let decryption = self.lit_option(&["DECRYPTION", "BY", "PASSWORD"])?;
        if service {
            let force = self.eat_kw("FORCE");
            return Ok(Statement::RestoreServiceMasterKey {
                file,
                password: decryption,
                force,
            });
        }
        let encryption = self.lit_option(&["ENCRYPTION", "BY", "PASSWORD"])?;
        let force = self.eat_kw("FORCE");
        Ok(Statement::RestoreMasterKey {
            file,
            decryption,
            encryption,
            force,
        })
    }

    fn create(&mut self) -> R<Statement> {
        self.expect_kw("CREATE")?;
        if self.eat_kw("MASTER") {
            self.expect_kw("KEY")?;
            let password = if self.is_kw("ENCRYPTION") {
                Some(self.lit_option(&["ENCRYPTION", "BY", "PASSWORD"])?)
            } else {
                None
            };
            return Ok(Statement::CreateMasterKey { password });
        }
        if self.eat_kw("CERTIFICATE") {
            return self.create_certificate();
        }
        if self.eat_kw("DATABASE") {
            if self.eat_kw("ENCRYPTION") {
                self.expect_kw("KEY")?;
                self.expect_kws(&["WITH", "ALGORITHM"])?;
                self.expect_sym("=")?;
                let algorithm = self.ident()?.to_uppercase();
                if !["AES_128", "AES_192", "AES_256", "TRIPLE_DES_3KEY"]
                    .contains(&algorithm.as_str())
                {
                    return Err(SyntaxError::custom(
                        102,
                        format!("Incorrect syntax near '{algorithm}'."),
                        self.peek().line,
                    ));
                }
                self.expect_kws(&["ENCRYPTION", "BY", "SERVER", "CERTIFICATE"])?;
                let certificate = self.ident()?;
                return Ok(Statement::CreateDatabaseEncryptionKey {
                    algorithm,
                    certificate,
                });
            }
            let name = self.ident()?;
            return Ok(Statement::CreateDatabase(name));
        }
        if self.eat_kw("LOGIN") {
            let name = self.ident()?;
            if self.eat_kw("FROM") {
                self.expect_kw("WINDOWS")?;
                return Ok(Statement::CreateLogin {
                    name,
                    password: String::new(),
                    check_policy: None,
                    default_database: None,
                });
            }
            self.expect_kw("WITH")?;
            let password = self.lit_option(&["PASSWORD"])?;
            let _ = self.eat_kw("MUST_CHANGE");
            let mut check_policy = None;
            let mut default_database = None;
            while self.eat_sym(",") {
                let opt = self.ident()?.to_uppercase();
                self.expect_sym("=")?;
                match opt.as_str() {
                    "CHECK_POLICY" | "CHECK_EXPIRATION" => {
                        let on = if self.eat_kw("ON") {
                            true
                        } else if self.eat_kw("OFF") {
                            false
                        } else {
                            return Err(self.err());
                        };
                        if opt == "CHECK_POLICY" {
                            check_policy = Some(on);
                        }
                    }
                    "DEFAULT_DATABASE" => default_database = Some(self.ident()?),
                    "DEFAULT_LANGUAGE" => {
                        self.ident()?;
                    }
                    "SID" => match self.bump().kind {
                        TokenKind::Binary(_) => {}
                        _ => return Err(self.err()),
                    },
                    _ => return Err(self.err()),
                }
            }
            return Ok(Statement::CreateLogin {
                name,
                password,
                check_policy,
                default_database,
            });
        }
        if self.eat_kw("USER") {
            let name = self.ident()?;
            let login = if self.eat_kw("FOR") || self.eat_kw("FROM") {
                self.expect_kw("LOGIN")?;
                Some(self.ident()?)
            } else if self.eat_kw("WITHOUT") {
                self.expect_kw("LOGIN")?;
                None
            } else {
                Some(name.clone())
            };
            return Ok(Statement::CreateUser { name, login });
        }
        Err(self.err())
    }

    fn create_certificate(&mut self) -> R<Statement> {
        let name = self.ident()?;
        let authorization = if self.eat_kw("AUTHORIZATION") {
            Some(self.ident()?)
        } else {
            None
        };
        let mut encryption_password = None;
        let source;
        if self.eat_kw("FROM") {
            if self.eat_kw("BINARY") {
                self.expect_sym("=")?;
                let der = self.binary_lit()?;
                let mut private_key = None;
                if self.eat_kw("WITH") {
                    self.expect_kws(&["PRIVATE", "KEY"])?;
                    private_key = Some(self.private_key_options()?);
                }
                return Ok(Statement::CreateCertificate(CreateCertificate {
                    name,
                    authorization,
                    source: CertificateSource::Binary { der, private_key },
                    encryption_password: None,
                }));
            }
            let _ = self.eat_kw("EXECUTABLE");
            let file = self.lit_option(&["FILE"])?;
            let mut pfx = false;
            let mut private_key = None;
            if self.eat_kw("WITH") {
                if self.version >= 16 && self.is_kw("FORMAT") {
                    let f = self.lit_option(&["FORMAT"])?;
                    if !f.eq_ignore_ascii_case("PFX") {
                        return Err(SyntaxError::custom(
                            102,
                            format!("Incorrect syntax near '{f}'."),
                            self.peek().line,
                        ));
                    }
                    pfx = true;
                    self.expect_sym(",")?;
                }
                self.expect_kws(&["PRIVATE", "KEY"])?;
                private_key = Some(self.private_key_options()?);
            }
            source = CertificateSource::File {
                file,
                pfx,
                private_key,
            };
        } else {
            if self.is_kw("ENCRYPTION") {
                encryption_password = Some(self.lit_option(&["ENCRYPTION", "BY", "PASSWORD"])?);
            }
            self.expect_kw("WITH")?;
            let mut subject = None;
            let mut start_date = None;
            let mut expiry_date = None;
            loop {
                let opt = self.ident()?.to_uppercase();
                self.expect_sym("=")?;
                let v = self.string_lit()?;
                match opt.as_str() {
                    "SUBJECT" => subject = Some(v),
                    "START_DATE" => start_date = Some(v),
                    "EXPIRY_DATE" => expiry_date = Some(v),
                    _ => return Err(self.err()),
                }
                if !self.eat_sym(",") {
                    break;
                }
            }
            let subject = subject.ok_or_else(|| self.err())?;
            source = CertificateSource::Generate {
                subject,
                start_date,
                expiry_date,
            };
        }
        if self.eat_kw("ACTIVE") {
            self.expect_kws(&["FOR", "BEGIN_DIALOG"])?;
            self.expect_sym("=")?;
            if !(self.eat_kw("ON") || self.eat_kw("OFF")) {
                return Err(self.err());
            }
        }
        Ok(Statement::CreateCertificate(CreateCertificate {
            name,
            authorization,
            source,
            encryption_password,
        }))
    }

    fn alter(&mut self) -> R<Statement> {
        self.expect_kw("ALTER")?;
        if self.eat_kw("SERVICE") {
            self.expect_kws(&["MASTER", "KEY"])?;
            let force = self.eat_kw("FORCE");
            self.expect_kw("REGENERATE")?;
            return Ok(Statement::AlterServiceMasterKey { force });
        }
        if self.eat_kw("MASTER") {
            self.expect_kw("KEY")?;
            let force = self.eat_kw("FORCE");
            if self.eat_kw("REGENERATE") {
                let password = self.lit_option(&["WITH", "ENCRYPTION", "BY", "PASSWORD"])?;
                return Ok(Statement::AlterMasterKey(AlterMasterKey::Regenerate {
                    password,
                    force,
                }));
            }
            if force {
                return Err(self.err());
            }
            let add = if self.eat_kw("ADD") {
                true
            } else if self.eat_kw("DROP") {
                false
            } else {
                return Err(self.err());
            };
            self.expect_kws(&["ENCRYPTION", "BY"])?;
            if self.eat_kw("SERVICE") {
                self.expect_kws(&["MASTER", "KEY"])?;
                return Ok(Statement::AlterMasterKey(if add {
                    AlterMasterKey::AddServiceMasterKey
                } else {
                    AlterMasterKey::DropServiceMasterKey
                }));
            }
            let pw = self.lit_option(&["PASSWORD"])?;
            return Ok(Statement::AlterMasterKey(if add {
                AlterMasterKey::AddPassword(pw)
            } else {
                AlterMasterKey::DropPassword(pw)
            }));
        }
        if self.eat_kw("DATABASE") {
            let database = if self.eat_kw("CURRENT") {
                String::new()
            } else {
                self.ident()?
            };
            self.expect_kws(&["SET", "ENCRYPTION"])?;
            let on = if self.eat_kw("ON") {
                true
            } else if self.eat_kw("OFF") {
                false
            } else {
                return Err(self.err());
            };
            return Ok(Statement::AlterDatabaseEncryption { database, on });
        }
        if self.eat_kw("SERVER") {
            self.expect_kw("ROLE")?;
            let role = self.ident()?;
            let add = self.alter_role_action()?;
            let member = self.ident()?;
            return Ok(Statement::AlterServerRole { role, add, member });
        }
        if self.eat_kw("ROLE") {
            let role = self.ident()?;
            let add = self.alter_role_action()?;
            let member = self.ident()?;
            return Ok(Statement::AlterRole { role, add, member });
        }
        if self.eat_kw("LOGIN") {
            let name = self.ident()?;
            let action = if self.eat_kw("ENABLE") {
                AlterLogin::Enable
            } else if self.eat_kw("DISABLE") {
                AlterLogin::Disable
            } else {
                self.expect_kw("WITH")?;
                AlterLogin::Password(self.lit_option(&["PASSWORD"])?)
            };
            return Ok(Statement::AlterLogin { name, action });
        }
        Err(self.err())
    }

    fn alter_role_action(&mut self) -> R<bool> {
        let add = if self.eat_kw("ADD") {
            true
        } else if self.eat_kw("DROP") {
            false
        } else {
            return Err(self.err());
        };
        self.expect_kw("MEMBER")?;
        Ok(add)
    }

    fn drop(&mut self) -> R<Statement> {
        self.expect_kw("DROP")?;
        if self.eat_kw("MASTER") {
            self.expect_kw("KEY")?;
            return Ok(Statement::DropMasterKey);
        }
        if self.eat_kw("CERTIFICATE") {
            return Ok(Statement::DropCertificate(self.ident()?));
        }
        if self.eat_kw("DATABASE") {
            if self.eat_kw("ENCRYPTION") {
                self.expect_kw("KEY")?;
                return Ok(Statement::DropDatabaseEncryptionKey);
            }
            let mut names = vec![self.ident()?];
            while self.eat_sym(",") {
                names.push(self.ident()?);
            }
            return Ok(Statement::DropDatabase(names));
        }
        if self.eat_kw("LOGIN") {
            return Ok(Statement::DropLogin(self.ident()?));
        }
        if self.eat_kw("USER") {
            return Ok(Statement::DropUser(self.ident()?));
        }
        Err(self.err())
    }

    fn permission(&mut self) -> R<Statement> {
        let kind = match self.bump().text.to_uppercase().as_str() {
            "GRANT" => PermissionKind::Grant,
            "REVOKE" => PermissionKind::Revoke,
            _ => PermissionKind::Deny,
        };
        if kind == PermissionKind::Revoke {
            let _ = self.eat_kw("GRANT") && {
                self.expect_kws(&["OPTION", "FOR"])?;
                true
            };
        }
        let mut permissions = Vec::new();
        loop {
            let mut words = Vec::new();
            while let TokenKind::Ident(w) = &self.peek().kind {
                if ["ON", "TO", "FROM"]
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(w))
                {
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
        let on = if self.eat_kw("ON") {
            let first = self.bump();
            let first_text = match &first.kind {
                TokenKind::Ident(w) | TokenKind::QuotedIdent(w) => w.clone(),
                _ => return Err(SyntaxError::near(&first)),
            };
            if self.eat_sym("::") {
                let name = self.ident()?;
                Some((first_text.to_uppercase(), name))
            } else {
                Some(("OBJECT".into(), first_text))
            }
        } else {
            None
        };
        if !(self.eat_kw("TO") || (kind == PermissionKind::Revoke && self.eat_kw("FROM"))) {
            return Err(self.err());
        }
        let mut principals = vec![self.ident()?];
        while self.eat_sym(",") {
            principals.push(self.ident()?);
        }
        if self.eat_kw("WITH") {
            self.expect_kws(&["GRANT", "OPTION"])?;
        }
        if kind != PermissionKind::Grant {
            let _ = self.eat_kw("CASCADE");
        }
        Ok(Statement::Permission(PermissionStatement {
            kind,
            permissions,
            on,
            principals,
        }))
    }

    fn exec_body(&mut self) -> R<Statement> {
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
                let value = if self.is_kw("DEFAULT") {
                    self.bump();
                    Expr::Literal(Value::Null, SqlType::Int)
                } else {
                    self.expr()?
                };
                let output = self.eat_kw("OUTPUT") || self.eat_kw("OUT");
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

    fn set(&mut self) -> R<Statement> {
        self.expect_kw("SET")?;
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
            && (words.is_empty() || !STATEMENT_STARTS.iter().any(|k| self.is_kw(k)))
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

    fn declare(&mut self) -> R<Statement> {
        self.expect_kw("DECLARE")?;
        let mut vars = Vec::new();
        loop {
            let name = match &self.peek().kind {
                TokenKind::Variable(v) if !v.starts_with("@@") => v.clone(),
                _ => return Err(self.err()),
            };
            self.bump();
            let _ = self.eat_kw("AS");
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
    fn type_name(&mut self, declare: bool) -> R<SqlType> {
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
            let r = if max_ok && p.eat_kw("MAX") {
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

    fn number_u32(&mut self) -> R<u32> {
        match &self.peek().kind {
            TokenKind::Number(n) => {
                let v = n.parse::<u32>().map_err(|_| self.err())?;
                self.bump();
                Ok(v)
            }
            _ => Err(self.err()),
        }
    }

    // ---- SELECT ----

    fn select(&mut self) -> R<Select> {
        self.expect_kw("SELECT")?;
        let mut s = Select::default();
        if self.eat_kw("DISTINCT") {
            s.distinct = true;
        } else {
            let _ = self.eat_kw("ALL");
        }
        if self.eat_kw("TOP") {
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
        if self.eat_kw("FROM") {
            s.from = Some(self.table_ref()?);
            loop {
                let left = if self.eat_kw("LEFT") {
                    let _ = self.eat_kw("OUTER");
                    true
                } else if self.eat_kw("INNER") || self.is_kw("JOIN") {
                    false
                } else if self.eat_kw("CROSS") {
                    self.expect_kw("JOIN")?;
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
                self.expect_kw("JOIN")?;
                let table = self.table_ref()?;
                self.expect_kw("ON")?;
                let on = self.expr()?;
                s.joins.push(Join { left, table, on });
            }
        }
        if self.eat_kw("WHERE") {
            s.filter = Some(self.expr()?);
        }
        if self.eat_kw("GROUP") {
            self.expect_kw("BY")?;
            loop {
                s.group_by.push(self.expr()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.eat_kw("HAVING") {
            s.having = Some(self.expr()?);
        }
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let e = self.expr()?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    let _ = self.eat_kw("ASC");
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

    fn alias(&mut self) -> R<Option<String>> {
        if self.eat_kw("AS") {
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

    fn select_item(&mut self) -> R<SelectItem> {
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

    fn table_ref(&mut self) -> R<TableRef> {
        if self.eat_kw("OPENROWSET") {
            self.expect_sym("(")?;
            self.expect_kw("BULK")?;
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

    // ---- expressions ----

    pub fn expr(&mut self) -> R<Expr> {
        let mut l = self.and_expr()?;
        while self.eat_kw("OR") {
            let r = self.and_expr()?;
            l = Expr::Binary(BinOp::Or, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn and_expr(&mut self) -> R<Expr> {
        let mut l = self.not_expr()?;
        while self.eat_kw("AND") {
            let r = self.not_expr()?;
            l = Expr::Binary(BinOp::And, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn not_expr(&mut self) -> R<Expr> {
        if self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> R<Expr> {
        if self.eat_kw("EXISTS") {
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
        if self.eat_kw("IS") {
            let negated = self.eat_kw("NOT");
            self.expect_kw("NULL")?;
            return Ok(Expr::IsNull {
                expr: Box::new(l),
                negated,
            });
        }
        let negated = if self.is_kw("NOT")
            && (self.is_kw_at(1, "LIKE") || self.is_kw_at(1, "IN") || self.is_kw_at(1, "BETWEEN"))
        {
            self.bump();
            true
        } else {
            false
        };
        if self.eat_kw("LIKE") {
            let pattern = self.additive()?;
            let escape = if self.eat_kw("ESCAPE") {
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
        if self.eat_kw("IN") {
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
        if self.eat_kw("BETWEEN") {
            let low = self.additive()?;
            self.expect_kw("AND")?;
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

    fn additive(&mut self) -> R<Expr> {
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

    fn multiplicative(&mut self) -> R<Expr> {
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

    fn unary(&mut self) -> R<Expr> {
        if self.eat_sym("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat_sym("+") {
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> R<Expr> {
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
                if self.is_kw("SELECT") {
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
                match up.as_str() {
                    "NULL" => {
                        self.bump();
                        Ok(Expr::Literal(Value::Null, SqlType::Int))
                    }
                    "CASE" => self.case(),
                    "CAST" | "TRY_CAST"
                        if matches!(self.peek_at(1).kind, TokenKind::Symbol("(")) =>
                    {
                        self.bump();
                        self.bump();
                        let e = self.expr()?;
                        self.expect_kw("AS")?;
                        let ty = self.type_name(false)?;
                        self.expect_sym(")")?;
                        Ok(Expr::Cast {
                            expr: Box::new(e),
                            ty,
                        })
                    }
                    "CONVERT" | "TRY_CONVERT" => {
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
                    "CURRENT_TIMESTAMP" | "CURRENT_USER" | "SYSTEM_USER" | "SESSION_USER"
                    | "USER"
                        if !matches!(self.peek_at(1).kind, TokenKind::Symbol("(")) =>
                    {
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

    fn column_or_function(&mut self) -> R<Expr> {
        let parts = self.object_name()?;
        if self.is_sym("(") {
            // schema-qualified scalar function: dbo.f(), sys.fn_x()
            let name = parts.join(".").to_uppercase();
            return self.function_call(name);
        }
        Ok(Expr::Column(parts))
    }

    fn function_call(&mut self, name: String) -> R<Expr> {
        self.expect_sym("(")?;
        let mut args = Vec::new();
        let mut star = false;
        let mut distinct = false;
        if self.eat_sym("*") {
            star = true;
        } else if !self.is_sym(")") {
            distinct = self.eat_kw("DISTINCT");
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

    fn case(&mut self) -> R<Expr> {
        self.expect_kw("CASE")?;
        let operand = if self.is_kw("WHEN") {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        let mut whens = Vec::new();
        while self.eat_kw("WHEN") {
            let c = self.expr()?;
            self.expect_kw("THEN")?;
            let v = self.expr()?;
            whens.push((c, v));
        }
        if whens.is_empty() {
            return Err(self.err());
        }
        let otherwise = if self.eat_kw("ELSE") {
            Some(Box::new(self.expr()?))
        } else {
            None
        };
        self.expect_kw("END")?;
        Ok(Expr::Case {
            operand,
            whens,
            otherwise,
        })
    }
}

fn number_literal(n: &str) -> Option<Expr> {
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
