//! Statements of the encryption hierarchy: BACKUP and RESTORE of keys, the private key options, CREATE CERTIFICATE.

use super::*;

impl Parser {
    pub(super) fn backup(&mut self) -> R<Statement> {
        self.expect_kw(Kw::Backup)?;
        if self.is_kw(Kw::Database) || self.is_kw(Kw::Log) {
            return self.backup_database();
        }
        if self.eat_kw(Kw::Service) {
            self.expect_kws(&[Kw::Master, Kw::Key])?;
            let file = self.lit_option(&[Kw::To, Kw::File])?;
            let password = self.lit_option(&[Kw::Encryption, Kw::By, Kw::Password])?;
            return Ok(Statement::BackupServiceMasterKey { file, password });
        }
        if self.eat_kw(Kw::Master) {
            self.expect_kw(Kw::Key)?;
            let file = self.lit_option(&[Kw::To, Kw::File])?;
            let password = self.lit_option(&[Kw::Encryption, Kw::By, Kw::Password])?;
            return Ok(Statement::BackupMasterKey { file, password });
        }
        if self.eat_kw(Kw::Certificate) {
            let name = self.ident()?;
            let file = self.lit_option(&[Kw::To, Kw::File])?;
            let mut pfx = false;
            let mut private_key = None;
            if self.eat_kw(Kw::With) {
                if self.version >= 16 && self.is_kw(Kw::Format) {
                    let f = self.lit_option(&[Kw::Format])?;
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
                self.expect_kws(&[Kw::Private, Kw::Key])?;
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

    pub(super) fn private_key_options(&mut self) -> R<PrivateKeyOptions> {
        self.expect_sym("(")?;
        let mut o = PrivateKeyOptions::default();
        loop {
            let dup = |p: &Parser| Err(p.err());
            if self.is_kw(Kw::File) {
                if o.file.is_some() || o.binary.is_some() {
                    return dup(self);
                }
                o.file = Some(self.lit_option(&[Kw::File])?);
            } else if self.is_kw(Kw::Binary) {
                if o.file.is_some() || o.binary.is_some() {
                    return dup(self);
                }
                self.bump();
                self.expect_sym("=")?;
                o.binary = Some(self.binary_lit()?);
            } else if self.is_kw(Kw::Encryption) {
                if o.encryption_password.is_some() {
                    return dup(self);
                }
                o.encryption_password =
                    Some(self.lit_option(&[Kw::Encryption, Kw::By, Kw::Password])?);
            } else if self.is_kw(Kw::Decryption) {
                if o.decryption_password.is_some() {
                    return dup(self);
                }
                o.decryption_password =
                    Some(self.lit_option(&[Kw::Decryption, Kw::By, Kw::Password])?);
            } else if self.version >= 16 && self.is_kw(Kw::Algorithm) {
                o.algorithm = Some(self.lit_option(&[Kw::Algorithm])?);
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

    /// BACKUP DATABASE | LOG: the options Keysafe's users' jobs use; any other is a syntax
    /// error here rather than silently ignored.
    fn backup_database(&mut self) -> R<Statement> {
        let log = self.eat_kw(Kw::Log);
        if !log {
            self.expect_kw(Kw::Database)?;
        }
        let mut b = BackupDatabase {
            database: self.ident()?,
            log,
            file: self.lit_option(&[Kw::To, Kw::Disk])?,
            ..Default::default()
        };
        if self.eat_kw(Kw::With) {
            loop {
                if !log && self.eat_kw(Kw::Differential) {
                    b.differential = true;
                } else if self.eat_kw(Kw::CopyOnly) {
                    b.copy_only = true;
                } else if self.eat_kw(Kw::Init) || self.eat_kw(Kw::Format) {
                    b.overwrite = true;
                } else if self.eat_kw(Kw::NoInit) || self.eat_kw(Kw::NoFormat) {
                    b.overwrite = false;
                } else if self.eat_kw(Kw::Compression) {
                    b.compression = true;
                } else if self.eat_kw(Kw::NoCompression)
                    || self.eat_kw(Kw::Checksum)
                    || self.eat_kw(Kw::NoChecksum)
                {
                } else if self.eat_kw(Kw::Stats) {
                    if self.eat_sym("=") {
                        match self.peek().kind {
                            TokenKind::Number(_) => {
                                self.bump();
                            }
                            _ => return Err(self.err()),
                        }
                    }
                } else if self.is_kw(Kw::Name) {
                    b.name = Some(self.lit_option(&[Kw::Name])?);
                } else if self.is_kw(Kw::Description) {
                    self.lit_option(&[Kw::Description])?;
                } else if self.eat_kw(Kw::Encryption) {
                    self.expect_sym("(")?;
                    let algorithm = self.encryption_algorithm()?;
                    self.expect_sym(",")?;
                    self.expect_kws(&[Kw::Server, Kw::Certificate])?;
                    self.expect_sym("=")?;
                    let cert = self.ident()?;
                    self.expect_sym(")")?;
                    b.encryption = Some((algorithm, cert));
                } else {
                    return Err(self.err());
                }
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        Ok(Statement::BackupDatabase(b))
    }

    pub(super) fn restore(&mut self) -> R<Statement> {
        self.expect_kw(Kw::Restore)?;
        let info = if self.eat_kw(Kw::Headeronly) {
            Some(RestoreInfo::Header)
        } else if self.eat_kw(Kw::Filelistonly) {
            Some(RestoreInfo::FileList)
        } else if self.eat_kw(Kw::Verifyonly) {
            Some(RestoreInfo::Verify)
        } else {
            None
        };
        if let Some(what) = info {
            let file = self.lit_option(&[Kw::From, Kw::Disk])?;
            let mut position = None;
            if self.eat_kw(Kw::With) {
                loop {
                    if self.eat_kw(Kw::File) {
                        self.expect_sym("=")?;
                        match self.peek().kind.clone() {
                            TokenKind::Number(n) => {
                                self.bump();
                                position = n.parse::<i64>().ok();
                                if position.is_none() {
                                    return Err(self.err());
                                }
                            }
                            _ => return Err(self.err()),
                        }
                    } else if !(self.eat_kw(Kw::Checksum) || self.eat_kw(Kw::NoChecksum)) {
                        return Err(self.err());
                    }
                    if !self.eat_sym(",") {
                        break;
                    }
                }
            }
            return Ok(Statement::RestoreInfo {
                what,
                file,
                position,
            });
        }
        let service = self.eat_kw(Kw::Service);
        self.expect_kws(&[Kw::Master, Kw::Key])?;
        let file = self.lit_option(&[Kw::From, Kw::File])?;
        let decryption = self.lit_option(&[Kw::Decryption, Kw::By, Kw::Password])?;
        if service {
            let force = self.eat_kw(Kw::Force);
            return Ok(Statement::RestoreServiceMasterKey {
                file,
                password: decryption,
                force,
            });
        }
        let encryption = self.lit_option(&[Kw::Encryption, Kw::By, Kw::Password])?;
        let force = self.eat_kw(Kw::Force);
        Ok(Statement::RestoreMasterKey {
            file,
            decryption,
            encryption,
            force,
        })
    }

    pub(super) fn create_certificate(&mut self) -> R<Statement> {
        let name = self.ident()?;
        let authorization = if self.eat_kw(Kw::Authorization) {
            Some(self.ident()?)
        } else {
            None
        };
        let mut encryption_password = None;
        let source;
        if self.eat_kw(Kw::From) {
            if self.eat_kw(Kw::Binary) {
                self.expect_sym("=")?;
                let der = self.binary_lit()?;
                let mut private_key = None;
                if self.eat_kw(Kw::With) {
                    self.expect_kws(&[Kw::Private, Kw::Key])?;
                    private_key = Some(self.private_key_options()?);
                }
                return Ok(Statement::CreateCertificate(CreateCertificate {
                    name,
                    authorization,
                    source: CertificateSource::Binary { der, private_key },
                    encryption_password: None,
                }));
            }
            let _ = self.eat_kw(Kw::Executable);
            let file = self.lit_option(&[Kw::File])?;
            let mut pfx = false;
            let mut private_key = None;
            if self.eat_kw(Kw::With) {
                if self.version >= 16 && self.is_kw(Kw::Format) {
                    let f = self.lit_option(&[Kw::Format])?;
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
                self.expect_kws(&[Kw::Private, Kw::Key])?;
                private_key = Some(self.private_key_options()?);
            }
            source = CertificateSource::File {
                file,
                pfx,
                private_key,
            };
        } else {
            if self.is_kw(Kw::Encryption) {
                encryption_password =
                    Some(self.lit_option(&[Kw::Encryption, Kw::By, Kw::Password])?);
            }
            self.expect_kw(Kw::With)?;
            let mut subject = None;
            let mut start_date = None;
            let mut expiry_date = None;
            loop {
                let opt = self.ident()?.to_uppercase();
                self.expect_sym("=")?;
                let v = self.string_lit()?;
                match Kw::parse(&opt) {
                    Some(Kw::Subject) => subject = Some(v),
                    Some(Kw::StartDate) => start_date = Some(v),
                    Some(Kw::ExpiryDate) => expiry_date = Some(v),
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
        if self.eat_kw(Kw::Active) {
            self.expect_kws(&[Kw::For, Kw::BeginDialog])?;
            self.expect_sym("=")?;
            if !(self.eat_kw(Kw::On) || self.eat_kw(Kw::Off)) {
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
}
