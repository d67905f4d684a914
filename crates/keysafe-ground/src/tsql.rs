//! T-SQL text for the backup statements. SQL Server accepts only string literals where a
//! path or a password goes (no variables, no parameters), so quoting is where safety lives:
//! every string becomes an N'...' literal with quotes doubled, and strings SQL Server
//! cannot hold are refused before anything is sent.

use crate::secret::Password;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiteralError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error(
        "{what} contains a NUL character, which SQL Server cannot store in a path or password"
    )]
    Nul { what: &'static str },
    #[error("{what} is {len} characters long; SQL Server allows at most {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what} contains a line break or control character")]
    Control { what: &'static str },
}

/// An N'...' literal. `max` is in characters.
pub fn literal(s: &str, what: &'static str, max: usize) -> Result<String, LiteralError> {
    if s.is_empty() {
        return Err(LiteralError::Empty { what });
    }
    if s.contains('\0') {
        return Err(LiteralError::Nul { what });
    }
    let len = s.chars().count();
    if len > max {
        return Err(LiteralError::TooLong { what, len, max });
    }
    Ok(format!("N'{}'", s.replace('\'', "''")))
}

/// A path literal: no control characters (they are never part of a real path).
pub fn path_literal(p: &str) -> Result<String, LiteralError> {
    if p.chars().any(|c| c.is_control() && c != '\0') {
        return Err(LiteralError::Control { what: "the path" });
    }
    literal(p, "the path", 4000)
}

/// A password literal: SQL Server passwords are at most 128 characters.
pub fn password_literal(p: &Password) -> Result<String, LiteralError> {
    literal(p.expose(), "the password", 128)
}

/// A [bracketed] identifier with ] doubled.
pub fn ident(name: &str) -> Result<String, LiteralError> {
    if name.is_empty() {
        return Err(LiteralError::Empty { what: "the name" });
    }
    if name.contains('\0') {
        return Err(LiteralError::Nul { what: "the name" });
    }
    if name.chars().count() > 128 {
        return Err(LiteralError::TooLong {
            what: "the name",
            len: name.chars().count(),
            max: 128,
        });
    }
    Ok(format!("[{}]", name.replace(']', "]]")))
}

/// A statement in two forms: the one sent, and the one shown to people with every password
/// replaced by asterisks.
#[derive(Clone, PartialEq, Eq)]
pub struct Script {
    sent: String,
    pub shown: String,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("shown", &self.shown)
            .finish()
    }
}

impl Script {
    pub fn sent(&self) -> &str {
        &self.sent
    }

    /// The same statements with `database`'s master key opened by its password before and
    /// closed after: for a key SQL Server cannot open by itself (password only, or a
    /// database restored from another server).
    pub fn with_master_key_open(
        self,
        database: &str,
        key: &Password,
    ) -> Result<Script, LiteralError> {
        let b = Builder::new()
            .text(&format!(
                "USE {};\nOPEN MASTER KEY DECRYPTION BY PASSWORD = ",
                ident(database)?
            ))
            .secret(key)?
            .text(";\n");
        let mut s = b.done();
        s.sent.push_str(&self.sent);
        s.shown.push_str(&self.shown);
        s.sent.push_str("\nCLOSE MASTER KEY;");
        s.shown.push_str("\nCLOSE MASTER KEY;");
        Ok(s)
    }
}

const MASK: &str = "N'********'";

struct Builder {
    sent: String,
    shown: String,
}

impl Builder {
    fn new() -> Self {
        Builder {
            sent: String::new(),
            shown: String::new(),
        }
    }
    fn text(mut self, t: &str) -> Self {
        self.sent.push_str(t);
        self.shown.push_str(t);
        self
    }
    /// Bytes as a binary literal; people see their first bytes and their size only.
    fn binary(mut self, b: &[u8]) -> Self {
        self.sent.push_str(&format!("0x{}", hex::encode_upper(b)));
        let head = hex::encode_upper(&b[..b.len().min(8)]);
        self.shown
            .push_str(&format!("0x{head}… ({} bytes)", b.len()));
        self
    }
    fn secret(mut self, p: &Password) -> Result<Self, LiteralError> {
        self.sent.push_str(&password_literal(p)?);
        self.shown.push_str(MASK);
        Ok(self)
    }
    fn done(self) -> Script {
        Script {
            sent: self.sent,
            shown: self.shown,
        }
    }
}

pub fn backup_service_master_key(file: &str, password: &Password) -> Result<Script, LiteralError> {
    Ok(Builder::new()
        .text(&format!(
            "BACKUP SERVICE MASTER KEY TO FILE = {} ENCRYPTION BY PASSWORD = ",
            path_literal(file)?
        ))
        .secret(password)?
        .text(";")
        .done())
}

/// BACKUP MASTER KEY in `database`; a password-only key is opened first and closed after.
pub fn backup_master_key(
    database: &str,
    file: &str,
    password: &Password,
    open_with: Option<&Password>,
) -> Result<Script, LiteralError> {
    let mut b = Builder::new().text(&format!("USE {};\n", ident(database)?));
    if let Some(k) = open_with {
        b = b
            .text("OPEN MASTER KEY DECRYPTION BY PASSWORD = ")
            .secret(k)?
            .text(";\n");
    }
    b = b
        .text(&format!(
            "BACKUP MASTER KEY TO FILE = {} ENCRYPTION BY PASSWORD = ",
            path_literal(file)?
        ))
        .secret(password)?
        .text(";");
    if open_with.is_some() {
        b = b.text("\nCLOSE MASTER KEY;");
    }
    Ok(b.done())
}

/// Gives `database`'s master key this server's service master key encryption again, so it
/// opens by itself (after a restore or attach from another server). Changes the server: only
/// on an explicit, confirmed request.
pub fn add_service_master_key_encryption(
    database: &str,
    key: &Password,
) -> Result<Script, LiteralError> {
    Ok(Builder::new()
        .text(&format!(
            "USE {};\nOPEN MASTER KEY DECRYPTION BY PASSWORD = ",
            ident(database)?
        ))
        .secret(key)?
        .text(";\nALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY;\nCLOSE MASTER KEY;")
        .done())
}

/// A certificate and its private key over the connection, with SQL Server's SHA-256 of
/// each: CERTENCODED (the .cer's DER) and CERTPRIVATEKEY (the private key encrypted by the
/// backup password, PVK). One row: cer, cer hash, pvk, pvk hash.
pub fn export_certificate(
    database: &str,
    certificate: &str,
    password: &Password,
    decryption: Option<&Password>,
) -> Result<Script, LiteralError> {
    let id = format!(
        "CERT_ID({})",
        literal(certificate, "the certificate name", 128)?
    );
    let mut b = Builder::new()
        .text(&format!(
            "USE {};\nSELECT e.cer, HASHBYTES('SHA2_256', e.cer), e.pvk, HASHBYTES('SHA2_256', e.pvk)\n  FROM (SELECT CERTENCODED({id}) AS cer, CERTPRIVATEKEY({id}, ",
            ident(database)?
        ))
        .secret(password)?;
    if let Some(d) = decryption {
        b = b.text(", ").secret(d)?;
    }
    Ok(b.text(&format!(
        ") AS pvk) AS e;\nSELECT HAS_PERMS_BY_NAME({}, 'CERTIFICATE', 'CONTROL');",
        literal(certificate, "the certificate name", 128)?
    ))
    .done())
}

/// The source side of a certificate copy: its thumbprint, CERTENCODED (DER) and
/// CERTPRIVATEKEY encrypted by a one-time password, in one row (NULL where the login cannot
/// see the certificate or open its private key).
pub fn read_certificate_for_copy(
    database: &str,
    certificate: &str,
    one_time: &Password,
) -> Result<Script, LiteralError> {
    let name = literal(certificate, "the certificate name", 128)?;
    Ok(Builder::new()
        .text(&format!(
            "USE {};\nSELECT c.thumbprint, CERTENCODED(c.certificate_id), CERTPRIVATEKEY(c.certificate_id, ",
            ident(database)?
        ))
        .secret(one_time)?
        .text(&format!(
            "), c.pvt_key_encryption_type, HAS_PERMS_BY_NAME(c.name, 'CERTIFICATE', 'CONTROL')\n  FROM sys.certificates AS c WHERE c.name = {name};"
        ))
        .done())
}

/// A database master key protected by `password` (and, as CREATE MASTER KEY does, by the
/// service master key).
pub fn create_master_key(database: &str, password: &Password) -> Result<Script, LiteralError> {
    Ok(Builder::new()
        .text(&format!(
            "USE {};\nCREATE MASTER KEY ENCRYPTION BY PASSWORD = ",
            ident(database)?
        ))
        .secret(password)?
        .text(";")
        .done())
}

/// The target side: the certificate and its private key from the bytes the source gave
/// (the private key then protected by the target database's master key), and what the
/// target now holds, in one batch.
pub fn create_certificate_from_binary(
    database: &str,
    certificate: &str,
    der: &[u8],
    private_key: &[u8],
    one_time: &Password,
) -> Result<Script, LiteralError> {
    let name = literal(certificate, "the certificate name", 128)?;
    Ok(Builder::new()
        .text(&format!(
            "USE {};\nCREATE CERTIFICATE {} FROM BINARY = ",
            ident(database)?,
            ident(certificate)?,
        ))
        .binary(der)
        .text("\n  WITH PRIVATE KEY (BINARY = ")
        .binary(private_key)
        .text(", DECRYPTION BY PASSWORD = ")
        .secret(one_time)?
        .text(&format!(
            ");\nSELECT c.thumbprint, c.pvt_key_encryption_type FROM sys.certificates AS c WHERE c.name = {name};"
        ))
        .done())
}

/// RESTORE SERVICE MASTER KEY from a file the server reads. FORCE only when the caller has
/// explained what it loses and the user confirmed it.
pub fn restore_service_master_key(
    file: &str,
    password: &Password,
    force: bool,
) -> Result<Script, LiteralError> {
    Ok(Builder::new()
        .text(&format!(
            "RESTORE SERVICE MASTER KEY FROM FILE = {}\n    DECRYPTION BY PASSWORD = ",
            path_literal(file)?
        ))
        .secret(password)?
        .text(if force { " FORCE;" } else { ";" })
        .done())
}

/// RESTORE MASTER KEY into `database` from a file the server reads: the backup's password
/// decrypts the file, `encryption` protects the restored key.
pub fn restore_master_key(
    database: &str,
    file: &str,
    decryption: &Password,
    encryption: &Password,
    force: bool,
) -> Result<Script, LiteralError> {
    Ok(Builder::new()
        .text(&format!(
            "USE {};\nRESTORE MASTER KEY FROM FILE = {}\n    DECRYPTION BY PASSWORD = ",
            ident(database)?,
            path_literal(file)?
        ))
        .secret(decryption)?
        .text("\n    ENCRYPTION BY PASSWORD = ")
        .secret(encryption)?
        .text(if force { " FORCE;" } else { ";" })
        .done())
}

/// The proof of a restored database master key: opened by its new password, it must give
/// back the private key of every certificate it protects (each re-encrypted by a one-time
/// password that never leaves the process). One row per such certificate: name, key or NULL.
pub fn proof_of_master_key(
    database: &str,
    password: &Password,
    one_time: &Password,
) -> Result<Script, LiteralError> {
    Ok(Builder::new()
        .text(&format!(
            "USE {};\nOPEN MASTER KEY DECRYPTION BY PASSWORD = ",
            ident(database)?
        ))
        .secret(password)?
        .text(";\nSELECT c.name, CERTPRIVATEKEY(c.certificate_id, ")
        .secret(one_time)?
        .text(") FROM sys.certificates AS c WHERE c.pvt_key_encryption_type = 'MK';\nCLOSE MASTER KEY;")
        .done())
}

/// A certificate and its private key from a PFX file the server reads (SQL Server 2022 and
/// later); the private key is then protected by the database master key. What the database
/// holds under that name afterwards comes back in the same batch.
pub fn create_certificate_from_pfx(
    database: &str,
    certificate: &str,
    file: &str,
    decryption: &Password,
) -> Result<Script, LiteralError> {
    let name = literal(certificate, "the certificate name", 128)?;
    Ok(Builder::new()
        .text(&format!(
            "USE {};\nCREATE CERTIFICATE {} FROM FILE = {}\n  WITH FORMAT = 'PFX', PRIVATE KEY (DECRYPTION BY PASSWORD = ",
            ident(database)?,
            ident(certificate)?,
            path_literal(file)?
        ))
        .secret(decryption)?
        .text(&format!(
            ");\nSELECT c.thumbprint, c.pvt_key_encryption_type FROM sys.certificates AS c WHERE c.name = {name};"
        ))
        .done())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum CertificateFormat {
    /// .cer + .pvk (every version)
    Pvk,
    /// one .pfx (SQL Server 2022 and later)
    Pfx,
}

pub fn backup_certificate(
    database: &str,
    certificate: &str,
    cert_file: &str,
    key_file: Option<&str>,
    format: CertificateFormat,
    password: &Password,
    decryption: Option<&Password>,
) -> Result<Script, LiteralError> {
    let mut b = Builder::new().text(&format!(
        "USE {};\nBACKUP CERTIFICATE {} TO FILE = {}\n    WITH ",
        ident(database)?,
        ident(certificate)?,
        path_literal(cert_file)?
    ));
    match format {
        CertificateFormat::Pfx => {
            b = b
                .text("FORMAT = 'PFX', PRIVATE KEY (ENCRYPTION BY PASSWORD = ")
                .secret(password)?
        }
        CertificateFormat::Pvk => {
            let kf = key_file.ok_or(LiteralError::Empty {
                what: "the private key file",
            })?;
            b = b
                .text(&format!(
                    "PRIVATE KEY (FILE = {}, ENCRYPTION BY PASSWORD = ",
                    path_literal(kf)?
                ))
                .secret(password)?;
        }
    }
    if let Some(d) = decryption {
        b = b.text(", DECRYPTION BY PASSWORD = ").secret(d)?;
    }
    Ok(b.text(");").done())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_and_scripts_mask_passwords() {
        let s =
            backup_service_master_key(r"C:\It's\smk.key", &Password::new("a'b'c!D1xx")).unwrap();
        assert_eq!(
            s.sent(),
            r"BACKUP SERVICE MASTER KEY TO FILE = N'C:\It''s\smk.key' ENCRYPTION BY PASSWORD = N'a''b''c!D1xx';"
        );
        assert_eq!(
            s.shown,
            r"BACKUP SERVICE MASTER KEY TO FILE = N'C:\It''s\smk.key' ENCRYPTION BY PASSWORD = N'********';"
        );
        assert!(!format!("{s:?}").contains("a''b"));
    }

    #[test]
    fn strings_sql_server_cannot_hold_are_refused() {
        assert!(matches!(
            path_literal("C:\\a\0b"),
            Err(LiteralError::Nul { .. })
        ));
        assert!(matches!(
            path_literal("C:\\a\nb"),
            Err(LiteralError::Control { .. })
        ));
        assert!(matches!(
            password_literal(&Password::new("x".repeat(129))),
            Err(LiteralError::TooLong { max: 128, .. })
        ));
        assert!(matches!(
            password_literal(&Password::new("")),
            Err(LiteralError::Empty { .. })
        ));
        assert_eq!(ident("a]b").unwrap(), "[a]]b]");
    }

    #[test]
    fn a_password_only_master_key_is_opened_and_closed() {
        let s = backup_master_key(
            "Sales",
            r"C:\k",
            &Password::new("Backup!Pass1"),
            Some(&Password::new("Open!Pass1")),
        )
        .unwrap();
        assert_eq!(
            s.shown,
            "USE [Sales];\nOPEN MASTER KEY DECRYPTION BY PASSWORD = N'********';\nBACKUP MASTER KEY TO FILE = N'C:\\k' ENCRYPTION BY PASSWORD = N'********';\nCLOSE MASTER KEY;"
        );
        assert!(s.sent().contains("N'Open!Pass1'"));
    }
}
