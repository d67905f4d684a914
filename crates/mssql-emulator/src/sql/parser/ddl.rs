//! CREATE, ALTER and DROP of logins, users, databases, keys and roles.

use super::*;

impl Parser {
    pub(super) fn create(&mut self) -> R<Statement> {
        self.expect_kw(Kw::Create)?;
        if self.eat_kw(Kw::Master) {
            self.expect_kw(Kw::Key)?;
            let password = if self.is_kw(Kw::Encryption) {
                Some(self.lit_option(&[Kw::Encryption, Kw::By, Kw::Password])?)
            } else {
                None
            };
            return Ok(Statement::CreateMasterKey { password });
        }
        if self.eat_kw(Kw::Certificate) {
            return self.create_certificate();
        }
        if self.eat_kw(Kw::Availability) {
            return self.create_availability_group();
        }
        if self.eat_kw(Kw::Symmetric) {
            self.expect_kw(Kw::Key)?;
            let name = self.ident()?;
            self.expect_kws(&[Kw::With, Kw::Algorithm])?;
            self.expect_sym("=")?;
            let algorithm = self.ident()?.to_ascii_uppercase();
            let mut by = Vec::new();
            self.expect_kws(&[Kw::Encryption, Kw::By])?;
            loop {
                if self.eat_kw(Kw::Certificate) {
                    by.push(SymmetricKeyEncryption::Certificate(self.ident()?));
                } else {
                    by.push(SymmetricKeyEncryption::Password(
                        self.lit_option(&[Kw::Password])?,
                    ));
                }
                if !self.eat_sym(",") {
                    break;
                }
            }
            return Ok(Statement::CreateSymmetricKey {
                name,
                algorithm,
                by,
            });
        }
        if self.eat_kw(Kw::Database) {
            if self.eat_kw(Kw::Encryption) {
                self.expect_kw(Kw::Key)?;
                self.expect_kw(Kw::With)?;
                let algorithm = self.encryption_algorithm()?;
                self.expect_kws(&[Kw::Encryption, Kw::By, Kw::Server, Kw::Certificate])?;
                let certificate = self.ident()?;
                return Ok(Statement::CreateDatabaseEncryptionKey {
                    algorithm,
                    certificate,
                });
            }
            let name = self.ident()?;
            return Ok(Statement::CreateDatabase(name));
        }
        if self.eat_kw(Kw::Login) {
            let name = self.ident()?;
            if self.eat_kw(Kw::From) {
                self.expect_kw(Kw::Windows)?;
                return Ok(Statement::CreateLogin {
                    name,
                    password: String::new(),
                    check_policy: None,
                    default_database: None,
                });
            }
            self.expect_kw(Kw::With)?;
            let password = self.lit_option(&[Kw::Password])?;
            let _ = self.eat_kw(Kw::MustChange);
            let mut check_policy = None;
            let mut default_database = None;
            while self.eat_sym(",") {
                let opt = self.ident()?.to_uppercase();
                self.expect_sym("=")?;
                match Kw::parse(&opt) {
                    Some(Kw::CheckPolicy | Kw::CheckExpiration) => {
                        let on = if self.eat_kw(Kw::On) {
                            true
                        } else if self.eat_kw(Kw::Off) {
                            false
                        } else {
                            return Err(self.err());
                        };
                        if opt.eq_ignore_ascii_case(Kw::CheckPolicy.as_str()) {
                            check_policy = Some(on);
                        }
                    }
                    Some(Kw::DefaultDatabase) => default_database = Some(self.ident()?),
                    Some(Kw::DefaultLanguage) => {
                        self.ident()?;
                    }
                    Some(Kw::Sid) => match self.bump().kind {
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
        if self.eat_kw(Kw::User) {
            let name = self.ident()?;
            let login = if self.eat_kw(Kw::For) || self.eat_kw(Kw::From) {
                self.expect_kw(Kw::Login)?;
                Some(self.ident()?)
            } else if self.eat_kw(Kw::Without) {
                self.expect_kw(Kw::Login)?;
                None
            } else {
                Some(name.clone())
            };
            return Ok(Statement::CreateUser { name, login });
        }
        Err(self.err())
    }

    pub(super) fn alter(&mut self) -> R<Statement> {
        self.expect_kw(Kw::Alter)?;
        if self.eat_kw(Kw::Service) {
            self.expect_kws(&[Kw::Master, Kw::Key])?;
            let force = self.eat_kw(Kw::Force);
            self.expect_kw(Kw::Regenerate)?;
            return Ok(Statement::AlterServiceMasterKey { force });
        }
        if self.eat_kw(Kw::Master) {
            self.expect_kw(Kw::Key)?;
            let force = self.eat_kw(Kw::Force);
            if self.eat_kw(Kw::Regenerate) {
                let password =
                    self.lit_option(&[Kw::With, Kw::Encryption, Kw::By, Kw::Password])?;
                return Ok(Statement::AlterMasterKey(AlterMasterKey::Regenerate {
                    password,
                    force,
                }));
            }
            if force {
                return Err(self.err());
            }
            let add = if self.eat_kw(Kw::Add) {
                true
            } else if self.eat_kw(Kw::Drop) {
                false
            } else {
                return Err(self.err());
            };
            self.expect_kws(&[Kw::Encryption, Kw::By])?;
            if self.eat_kw(Kw::Service) {
                self.expect_kws(&[Kw::Master, Kw::Key])?;
                return Ok(Statement::AlterMasterKey(if add {
                    AlterMasterKey::AddServiceMasterKey
                } else {
                    AlterMasterKey::DropServiceMasterKey
                }));
            }
            let pw = self.lit_option(&[Kw::Password])?;
            return Ok(Statement::AlterMasterKey(if add {
                AlterMasterKey::AddPassword(pw)
            } else {
                AlterMasterKey::DropPassword(pw)
            }));
        }
        if self.eat_kw(Kw::Database) {
            if self.eat_kw(Kw::Encryption) {
                self.expect_kw(Kw::Key)?;
                self.expect_kws(&[Kw::Encryption, Kw::By, Kw::Server, Kw::Certificate])?;
                let certificate = self.ident()?;
                return Ok(Statement::AlterDatabaseEncryptionKey { certificate });
            }
            let database = if self.eat_kw(Kw::Current) {
                String::new()
            } else {
                self.ident()?
            };
            self.expect_kws(&[Kw::Set, Kw::Encryption])?;
            let on = if self.eat_kw(Kw::On) {
                true
            } else if self.eat_kw(Kw::Off) {
                false
            } else {
                return Err(self.err());
            };
            return Ok(Statement::AlterDatabaseEncryption { database, on });
        }
        if self.eat_kw(Kw::Server) {
            self.expect_kw(Kw::Role)?;
            let role = self.ident()?;
            let add = self.alter_role_action()?;
            let member = self.ident()?;
            return Ok(Statement::AlterServerRole { role, add, member });
        }
        if self.eat_kw(Kw::Role) {
            let role = self.ident()?;
            let add = self.alter_role_action()?;
            let member = self.ident()?;
            return Ok(Statement::AlterRole { role, add, member });
        }
        if self.eat_kw(Kw::Login) {
            let name = self.ident()?;
            let action = if self.eat_kw(Kw::Enable) {
                AlterLogin::Enable
            } else if self.eat_kw(Kw::Disable) {
                AlterLogin::Disable
            } else {
                self.expect_kw(Kw::With)?;
                AlterLogin::Password(self.lit_option(&[Kw::Password])?)
            };
            return Ok(Statement::AlterLogin { name, action });
        }
        Err(self.err())
    }

    pub(super) fn alter_role_action(&mut self) -> R<bool> {
        let add = if self.eat_kw(Kw::Add) {
            true
        } else if self.eat_kw(Kw::Drop) {
            false
        } else {
            return Err(self.err());
        };
        self.expect_kw(Kw::Member)?;
        Ok(add)
    }

    pub(super) fn drop(&mut self) -> R<Statement> {
        self.expect_kw(Kw::Drop)?;
        if self.eat_kw(Kw::Master) {
            self.expect_kw(Kw::Key)?;
            return Ok(Statement::DropMasterKey);
        }
        if self.eat_kw(Kw::Certificate) {
            return Ok(Statement::DropCertificate(self.ident()?));
        }
        if self.eat_kw(Kw::Symmetric) {
            self.expect_kw(Kw::Key)?;
            return Ok(Statement::DropSymmetricKey(self.ident()?));
        }
        if self.eat_kw(Kw::Database) {
            if self.eat_kw(Kw::Encryption) {
                self.expect_kw(Kw::Key)?;
                return Ok(Statement::DropDatabaseEncryptionKey);
            }
            let mut names = vec![self.ident()?];
            while self.eat_sym(",") {
                names.push(self.ident()?);
            }
            return Ok(Statement::DropDatabase(names));
        }
        if self.eat_kw(Kw::Login) {
            return Ok(Statement::DropLogin(self.ident()?));
        }
        if self.eat_kw(Kw::User) {
            return Ok(Statement::DropUser(self.ident()?));
        }
        Err(self.err())
    }
}

impl Parser {
    /// The rest of CREATE AVAILABILITY GROUP, after AVAILABILITY.
    fn create_availability_group(&mut self) -> R<Statement> {
        self.expect_kw(Kw::Group)?;
        let name = self.ident()?;
        let mut contained = false;
        if self.eat_kw(Kw::With) {
            for (k, _) in self.option_list()? {
                contained |= k == Kw::Contained.as_str();
            }
        }
        self.expect_kw(Kw::For)?;
        let mut databases = Vec::new();
        if self.eat_kw(Kw::Database) {
            loop {
                databases.push(self.ident()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_kws(&[Kw::Replica, Kw::On])?;
        let mut replicas = Vec::new();
        loop {
            let server = self.string_lit()?;
            self.expect_kw(Kw::With)?;
            let options = self.option_list()?;
            replicas.push(AgReplicaSpec { server, options });
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(Statement::CreateAvailabilityGroup(
            CreateAvailabilityGroup {
                name,
                contained,
                databases,
                replicas,
            },
        ))
    }

    /// `( NAME [= value] | NAME ( ... ) [, ...] )`: each option's upper-cased name and its
    /// value as text (empty for a flag or a nested list).
    fn option_list(&mut self) -> R<Vec<(String, String)>> {
        self.expect_sym("(")?;
        let mut out = Vec::new();
        loop {
            let key = match &self.peek().kind {
                TokenKind::Ident(w) | TokenKind::QuotedIdent(w) => w.to_ascii_uppercase(),
                _ => return Err(self.err()),
            };
            self.bump();
            let mut value = String::new();
            if self.eat_sym("=") {
                value = match &self.peek().kind {
                    TokenKind::Str { text, .. } => text.clone(),
                    TokenKind::Ident(w) | TokenKind::QuotedIdent(w) => w.to_ascii_uppercase(),
                    TokenKind::Number(n) => n.to_string(),
                    _ => return Err(self.err()),
                };
                self.bump();
            } else if self.is_sym("(") {
                self.skip_parenthesised()?;
            }
            out.push((key, value));
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        Ok(out)
    }

    /// A balanced `( ... )`, skipped.
    fn skip_parenthesised(&mut self) -> R<()> {
        self.expect_sym("(")?;
        let mut depth = 1;
        while depth > 0 {
            if self.at_eof() {
                return Err(self.err());
            }
            if self.is_sym("(") {
                depth += 1;
            } else if self.is_sym(")") {
                depth -= 1;
            }
            self.bump();
        }
        Ok(())
    }
}
