//! Recovery: putting keys back where they are needed. First, copying a certificate with its
//! private key from one instance to another without any shared folder and without widening
//! a file's permissions: CERTENCODED and CERTPRIVATEKEY (the private key encrypted by a
//! one-time password that exists only in this process) from the source, CREATE CERTIFICATE
//! ... FROM BINARY on the target, the thumbprints compared.

use crate::connection::SqlConnection;
use crate::error::{ErrorCode, KeysafeError, Result};
use crate::{password, tsql};
use serde::Serialize;

/// What a certificate copy did and proved.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CertificateCopy {
    pub certificate: String,
    pub source_database: String,
    pub target_database: String,
    /// The source's thumbprint (hex).
    pub thumbprint: String,
    /// What the target holds under that name afterwards (hex).
    pub target_thumbprint: String,
    /// The target already held this very certificate: nothing was created.
    pub already_present: bool,
    /// How the target protects the private key (MK: its database master key).
    pub target_protection: String,
    /// The target database had no master key and Keysafe created one (back it up now).
    pub created_master_key: bool,
}

impl CertificateCopy {
    pub fn verified(&self) -> bool {
        !self.thumbprint.is_empty() && self.thumbprint == self.target_thumbprint
    }
}

fn hex_of(row: &tiberius::Row, i: usize) -> String {
    row.try_get::<&[u8], _>(i)
        .ok()
        .flatten()
        .map(hex::encode_upper)
        .unwrap_or_default()
}

/// Copies `database`.`certificate` with its private key from `source` to `target_database`
/// on `target`, then compares the thumbprints. The target database needs a master key (it
/// protects the copied private key): with `new_master_key` Keysafe creates one protected by
/// that password where there is none (then it must be backed up); a certificate of the same
/// name and another thumbprint on the target is never replaced.
pub async fn copy_certificate(
    source: &mut SqlConnection,
    target: &mut SqlConnection,
    database: &str,
    certificate: &str,
    target_database: &str,
    new_master_key: Option<&crate::Password>,
) -> Result<CertificateCopy> {
    // The private key travels from one session to the other: both must be encrypted.
    source.require_private(&format!("the private key of {database}.{certificate}"))?;
    target.require_private(&format!("the private key of {database}.{certificate}"))?;
    // The target first: refusing there costs nothing on the source.
    let db = tsql::ident(target_database)?;
    let name = tsql::literal(certificate, "the certificate name", 128)?;
    let probe = target
        .batch(&format!(
            "USE {db};\nSELECT c.thumbprint, c.pvt_key_encryption_type FROM sys.certificates AS c WHERE c.name = {name};\nSELECT COUNT(*) FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##';\nSELECT HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'VIEW DEFINITION');"
        ))
        .await?;
    if !sees_catalog(&probe, 2) {
        return Err(cannot_see_catalog(
            target_database,
            "the target",
            certificate,
        ));
    }
    let existing = probe
        .first()
        .and_then(|rows| rows.first())
        .map(|r| (hex_of(r, 0), r.get::<&str, _>(1).unwrap_or("").to_string()));
    let target_has_master_key = probe
        .get(1)
        .and_then(|rows| rows.first())
        .and_then(|r| r.get::<i32, _>(0))
        .unwrap_or(0)
        > 0;

    let one_time = password::generate(32);
    let read = tsql::read_certificate_for_copy(database, certificate, &one_time)?;
    let rows = source.rows(read.sent()).await?;
    let row = rows.first().ok_or_else(|| {
        KeysafeError::new(
            ErrorCode::NotFound,
            format!("There is no certificate {certificate} in {database} on the source, or this login cannot see it."),
        )
    })?;
    let thumbprint = hex_of(row, 0);
    let der = row
        .try_get::<&[u8], _>(1)
        .ok()
        .flatten()
        .map(<[u8]>::to_vec);
    let pvk = row
        .try_get::<&[u8], _>(2)
        .ok()
        .flatten()
        .map(<[u8]>::to_vec);
    let source_protection = row.get::<&str, _>(3).unwrap_or("").to_string();

    if let Some((t, protection)) = &existing {
        if *t == thumbprint {
            return Ok(CertificateCopy {
                certificate: certificate.into(),
                source_database: database.into(),
                target_database: target_database.into(),
                thumbprint: thumbprint.clone(),
                target_thumbprint: t.clone(),
                already_present: true,
                target_protection: protection.clone(),
                created_master_key: false,
            });
        }
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            format!("{target_database} on the target already has a certificate named {certificate} with another thumbprint ({t}, the source's is {thumbprint}): it is not replaced."),
        )
        .next("Drop or rename the target's certificate if it is not needed (no backup or database may depend on it), or copy into another database."));
    }
    if pvk.is_none() && row.try_get::<i32, _>(4).ok().flatten() == Some(0) {
        return Err(crate::error::no_control_on_certificate(
            database,
            certificate,
            "this login",
        ));
    }
    let (Some(der), Some(pvk)) = (der, pvk) else {
        return Err(KeysafeError::new(
            ErrorCode::MasterKeyNotOpen,
            format!("SQL Server gave no private key for {database}.{certificate} on the source (protection {source_protection}): this login cannot open it."),
        )
        .next(if source_protection == "NA" {
            "The certificate has no private key in the database: only its public part exists there."
        } else {
            "The database master key must open (by the service master key, or give its password), or the certificate's own password is needed."
        }));
    };
    let created_master_key = ensure_master_key(
        target,
        target_database,
        target_has_master_key,
        new_master_key,
        || KeysafeError::new(
            ErrorCode::MasterKeyNotOpen,
            format!("{target_database} on the target has no database master key to protect the copied private key."),
        )
        .next("Give a password for a new one (keysafe copy-certificate --create-master-key-password-env VAR), or create it yourself; then back it up with Keysafe before anything depends on it."),
    )
    .await?;
    let create =
        tsql::create_certificate_from_binary(target_database, certificate, &der, &pvk, &one_time)?;
    let sets = target.batch(create.sent()).await?;
    let after = sets
        .iter()
        .rev()
        .find_map(|rows| rows.first())
        .map(|r| (hex_of(r, 0), r.get::<&str, _>(1).unwrap_or("").to_string()))
        .unwrap_or_default();
    let copy = CertificateCopy {
        certificate: certificate.into(),
        source_database: database.into(),
        target_database: target_database.into(),
        thumbprint,
        target_thumbprint: after.0,
        already_present: false,
        target_protection: after.1,
        created_master_key,
    };
    if !copy.verified() {
        return Err(KeysafeError::new(
            ErrorCode::VerificationFailed,
            format!(
                "The copy of {certificate} on the target has thumbprint {} where the source's is {}.",
                copy.target_thumbprint, copy.thumbprint
            ),
        ));
    }
    Ok(copy)
}

/// "Make this TDE database restorable on another instance", done.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TdeReady {
    pub database: String,
    pub copy: CertificateCopy,
    /// The rehearsal on the target, when a backup file was given.
    pub backup_verified: Option<String>,
}

/// Copies the certificate that protects `database`'s encryption key on `source` into the
/// target's master (its master key created with `new_master_key` where it has none), then,
/// with `verify_backup`, proves it with RESTORE VERIFYONLY of that backup on the target.
pub async fn make_tde_database_restorable(
    source: &mut SqlConnection,
    target: &mut SqlConnection,
    database: &str,
    new_master_key: Option<&crate::Password>,
    verify_backup: Option<&str>,
) -> Result<TdeReady> {
    let db = tsql::literal(database, "the database name", 128)?;
    let rows = source
        .rows(&format!(
            "SELECT c.name FROM sys.dm_database_encryption_keys AS k INNER JOIN master.sys.certificates AS c ON c.thumbprint = k.encryptor_thumbprint WHERE k.database_id = DB_ID({db})"
        ))
        .await?;
    let cert = rows
        .first()
        .and_then(|r| r.get::<&str, _>(0))
        .map(str::to_string)
        .ok_or_else(|| {
            KeysafeError::new(
                ErrorCode::NotFound,
                format!("{database} on the source has no database encryption key protected by a certificate in master (TDE is off, or it uses an asymmetric key in an EKM provider)."),
            )
            .next("Check sys.dm_database_encryption_keys on the source; this login needs VIEW SERVER STATE.")
        })?;
    let copy = copy_certificate(source, target, "master", &cert, "master", new_master_key).await?;
    let backup_verified = match verify_backup {
        Some(f) => Some(rehearse(target, f).await?),
        None => None,
    };
    Ok(TdeReady {
        database: database.into(),
        copy,
        backup_verified,
    })
}

/// One copy on the medium against what its report recorded.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CopyCheck {
    pub server: String,
    pub key: String,
    /// The key itself, to restore it.
    pub key_ref: crate::backup::KeyRef,
    /// Where the copy was found (or looked for).
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub path: std::path::PathBuf,
    /// SQL Server's SHA-256 of the file when it was backed up (hex).
    pub expected_sha256: String,
    /// The copy's SHA-256 now; empty when it is missing.
    pub actual_sha256: String,
    pub state: CopyState,
    /// A certificate's thumbprint as the report recorded it (reports since 2026-12).
    pub thumbprint: Option<String>,
    /// Why the copy was not read (state `refused`): what the report pointed at is not a
    /// file inside the medium.
    pub refused: Option<String>,
    /// The bytes that were hashed: the ones a restore sends, never read a second time.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub bytes: std::sync::Arc<Vec<u8>>,
}

impl CopyCheck {
    /// What is wrong with this copy, in words; None when it matches the report.
    pub fn problem(&self) -> Option<String> {
        match self.state {
            CopyState::Matches => None,
            CopyState::Missing => Some(format!("{} is not on the medium", self.path.display())),
            CopyState::Refused => Some(format!(
                "The report on the medium points at something Keysafe will not read ({})",
                self.refused
                    .as_deref()
                    .unwrap_or("not a file inside the medium")
            )),
            CopyState::Differs => Some(format!(
                "{} is not the file that was backed up (SHA-256 {} where the server gave {})",
                self.path.display(),
                self.actual_sha256,
                self.expected_sha256
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CopyState {
    Matches,
    Differs,
    Missing,
    /// The report names something that is not a file inside the medium: not read.
    Refused,
}

/// The largest copy Keysafe reads from a medium: SQL Server's key backups are a few KB.
pub const MAX_COPY_BYTES: u64 = 1 << 20;

/// Reads `rel`, a path the report gives relative to the medium at `root`, and only from
/// inside it: plain components (no root, no drive, no `..`), no folder that links outside,
/// not a link itself, a regular file (never a device or a pipe, which would hang or never
/// end), at most MAX_COPY_BYTES. Err is why, in words; Ok(None) when it is not there.
pub fn read_inside(
    root: &std::path::Path,
    rel: &std::path::Path,
) -> std::result::Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    use std::path::Component;
    if rel.as_os_str().is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!(
            "the report names {}, which is not a path inside the medium",
            rel.display()
        ));
    }
    let path = root.join(rel);
    let (Ok(root_c), Some(parent)) = (root.canonicalize(), path.parent()) else {
        return Ok(None);
    };
    let Ok(parent_c) = parent.canonicalize() else {
        return Ok(None);
    };
    if !parent_c.starts_with(&root_c) {
        return Err(format!(
            "{} leads out of the medium through a link",
            rel.display()
        ));
    }
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Not through a link; and a pipe must not block the open.
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        // FILE_FLAG_OPEN_REPARSE_POINT: the link itself, to be refused below.
        o.custom_flags(0x0020_0000);
    }
    let f = match o.open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(format!("{} is a link, not a file", rel.display()))
        }
        Err(e) => return Err(format!("{} cannot be opened: {e}", rel.display())),
    };
    let m = f
        .metadata()
        .map_err(|e| format!("{}: {e}", rel.display()))?;
    if m.file_type().is_symlink() {
        return Err(format!("{} is a link, not a file", rel.display()));
    }
    if !m.is_file() {
        return Err(format!("{} is not a regular file", rel.display()));
    }
    if m.len() > MAX_COPY_BYTES {
        return Err(format!(
            "{} is {} bytes, more than any key backup ({} at most)",
            rel.display(),
            m.len(),
            MAX_COPY_BYTES
        ));
    }
    let mut bytes = Vec::new();
    f.take(MAX_COPY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", rel.display()))?;
    if bytes.len() as u64 > MAX_COPY_BYTES {
        return Err(format!("{} grew while it was read", rel.display()));
    }
    Ok(Some(bytes))
}

/// Every verified copy a report lists, checked on the medium before anything is sent to a
/// server.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediumCheck {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub report: std::path::PathBuf,
    pub run_id: String,
    pub copies: Vec<CopyCheck>,
}

impl MediumCheck {
    pub fn all_match(&self) -> bool {
        !self.copies.is_empty() && self.copies.iter().all(|c| c.state == CopyState::Matches)
    }
}

/// The report to restore from: `path` itself, or the newest Keysafe report in that folder.
pub fn find_report(path: &std::path::Path) -> Result<std::path::PathBuf> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let newest = std::fs::read_dir(path)
        .map_err(|e| {
            KeysafeError::new(
                ErrorCode::NotFound,
                format!("Cannot read {}: {e}", path.display()),
            )
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("keysafe-report-") && n.ends_with(".json"))
        })
        // The names start with the run's UTC time: the greatest is the newest.
        .max();
    newest.ok_or_else(|| {
        KeysafeError::new(
            ErrorCode::NotFound,
            format!(
                "{} holds no Keysafe report (keysafe-report-*.json).",
                path.display()
            ),
        )
        .next("Give the report's path, or the folder on the medium that holds it.")
    })
}

/// Reads the report and hashes every copy it recorded as verified. A copy is looked for
/// where the report's folder puts it now (the medium may be mounted elsewhere than when it
/// was written), then at the path the report recorded.
pub fn check_medium(report_or_folder: &std::path::Path) -> Result<MediumCheck> {
    check_copies(report_or_folder, |_, _| true)
}

/// `check_medium` for the copies `wanted(server, key)` accepts: only those are read and hashed.
pub fn check_copies(
    report_or_folder: &std::path::Path,
    wanted: impl Fn(&str, &crate::backup::KeyRef) -> bool,
) -> Result<MediumCheck> {
    let report = find_report(report_or_folder)?;
    let text = std::fs::read_to_string(&report).map_err(|e| {
        KeysafeError::new(
            ErrorCode::Io,
            format!("Cannot read {}: {e}", report.display()),
        )
    })?;
    let bad = |why: &str| {
        KeysafeError::new(
            ErrorCode::InvalidInput,
            format!("{} is not a Keysafe report: {why}.", report.display()),
        )
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    if v["schema"].as_str() != Some("keysafe.report/1") {
        return Err(bad("its schema is not keysafe.report/1"));
    }
    let destination = std::path::PathBuf::from(v["destination"].as_str().unwrap_or(""));
    let here = report.parent().unwrap_or(std::path::Path::new("."));
    let mut copies = Vec::new();
    for inst in v["instances"].as_array().into_iter().flatten() {
        let server = inst["server"].as_str().unwrap_or("").to_string();
        for k in inst["keys"].as_array().into_iter().flatten() {
            if k["outcome"].as_str() != Some("verified") {
                continue;
            }
            let key: crate::backup::KeyRef = match serde_json::from_value(k["key"].clone()) {
                Ok(key) => key,
                Err(e) => return Err(bad(&e.to_string())),
            };
            if !wanted(&server, &key) {
                continue;
            }
            for f in k["files"].as_array().into_iter().flatten() {
                let Some(recorded) = f["copy"]["path"].as_str().map(std::path::PathBuf::from)
                else {
                    continue;
                };
                let expected = f["server_sha256"].as_str().unwrap_or("").to_uppercase();
                // A copy is read from the medium the report is on, at the place it had under
                // the folder the run wrote to, and nowhere else: the report is input, not a
                // map to this machine's files.
                let rel = recorded
                    .strip_prefix(&destination)
                    .map(std::path::Path::to_path_buf)
                    .unwrap_or_else(|_| recorded.clone());
                let path = here.join(&rel);
                let (actual, state, refused, bytes) = match read_inside(here, &rel) {
                    Ok(Some(bytes)) => {
                        let h = crate::copy::sha256_hex(&bytes).to_uppercase();
                        let s = if h == expected {
                            CopyState::Matches
                        } else {
                            CopyState::Differs
                        };
                        (h, s, None, bytes)
                    }
                    Ok(None) => (String::new(), CopyState::Missing, None, Vec::new()),
                    Err(why) => (String::new(), CopyState::Refused, Some(why), Vec::new()),
                };
                copies.push(CopyCheck {
                    server: server.clone(),
                    key: key.label(),
                    key_ref: key.clone(),
                    path,
                    expected_sha256: expected,
                    actual_sha256: actual,
                    state,
                    thumbprint: k["thumbprint"].as_str().map(str::to_uppercase),
                    refused,
                    bytes: std::sync::Arc::new(bytes),
                });
            }
        }
    }
    Ok(MediumCheck {
        report,
        run_id: v["run_id"].as_str().unwrap_or("").to_string(),
        copies,
    })
}

/// Whether the probe's result set `i` (HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'VIEW
/// DEFINITION')) says the login sees the database's keys. A server that answers nothing is
/// given the benefit of the doubt: its catalog answers decide then.
pub(crate) fn sees_catalog(probe: &[Vec<tiberius::Row>], i: usize) -> bool {
    probe
        .get(i)
        .and_then(|rows| rows.first())
        .and_then(|r| r.try_get::<i32, _>(0).ok().flatten())
        != Some(0)
}

/// Without VIEW DEFINITION in the database, SQL Server hides its master key and certificates
/// from the login (metadata visibility): "no master key" and "no certificate of that name"
/// would both be guesses, so nothing is created and the permission is named.
pub(crate) fn cannot_see_catalog(database: &str, server: &str, certificate: &str) -> KeysafeError {
    KeysafeError::new(
        ErrorCode::PermissionDenied,
        format!("This login lacks VIEW DEFINITION in {database} on {server}: SQL Server hides the database's master key and certificates from it, so Keysafe cannot tell whether {certificate} is there already or what would protect its private key. Nothing was created."),
    )
    .next(format!(
        "USE {}; GRANT VIEW DEFINITION TO <the login's user>; (besides CREATE CERTIFICATE), or use a login with CONTROL on the database.",
        tsql::ident(database).unwrap_or_else(|_| database.to_string())
    ))
}

/// A database master key for `database` when it has none, so a certificate's private key has
/// something to be protected by: created with `password` (checked against the policy first,
/// as SQL Server would with Msg 15118), or `refusal` when no password was given. True when
/// one was created: its backup is then the caller's first advice.
pub(crate) async fn ensure_master_key(
    c: &mut SqlConnection,
    database: &str,
    exists: bool,
    password: Option<&crate::Password>,
    refusal: impl FnOnce() -> KeysafeError,
) -> Result<bool> {
    if exists {
        return Ok(false);
    }
    let Some(p) = password else {
        return Err(refusal());
    };
    if let Err(v) = password::check_policy(p, None) {
        return Err(KeysafeError::new(
            ErrorCode::PasswordPolicy,
            format!("The new master key's password: {}", v.explain()),
        ));
    }
    c.execute(tsql::create_master_key(database, p)?.sent())
        .await?;
    Ok(true)
}

/// RESTORE VERIFYONLY of a backup file on the target: it reads the backup, which needs the
/// certificates it was encrypted with. A failure is the rehearsal's failure.
pub async fn rehearse(c: &mut SqlConnection, file: &str) -> Result<String> {
    rehearse_set(c, file, None).await
}

/// `rehearse` of one backup set in a media file that may hold several (WITH FILE = position).
pub async fn rehearse_set(
    c: &mut SqlConnection,
    file: &str,
    position: Option<i32>,
) -> Result<String> {
    let lit = tsql::path_literal(file)?;
    let set = position
        .filter(|p| *p >= 1)
        .map(|p| format!(" WITH FILE = {p}"))
        .unwrap_or_default();
    c.execute(&format!("RESTORE VERIFYONLY FROM DISK = {lit}{set}"))
        .await
        .map_err(|e| {
            let n = e.server.as_ref().map(|s| s.number);
            let m = e.message.clone();
            let e = e.with_message(format!("RESTORE VERIFYONLY of {file} failed: {m}"));
            if n == Some(33111) {
                e.next("The backup needs a certificate this server does not have: restore that one too (keysafe coverage names it).")
            } else {
                e
            }
        })?;
    Ok(format!("RESTORE VERIFYONLY FROM DISK = {lit}{set} succeeded: the backup set is valid and every certificate it needs is here."))
}
