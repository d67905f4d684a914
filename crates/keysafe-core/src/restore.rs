//! Restoring a key from a Keysafe medium, on the instance it came from or another one.
//!
//! The copies are checked against the SHA-256 the report recorded before anything is sent
//! to a server. A certificate saved as .cer + .pvk needs no file on the server at all: its
//! bytes go as CREATE CERTIFICATE ... FROM BINARY (BACKUP CERTIFICATE writes the private key
//! in the PVK format FROM BINARY reads). A PFX, a database master key and the service master
//! key are read by SQL Server itself from a file: Keysafe puts the file in a folder the
//! server reads and it can reach (`Placement::Local`), or names what to copy where and waits
//! (`Placement::Manual`); either way the server's own HASHBYTES of the file must equal the
//! medium's before the RESTORE is sent.

use crate::backup::KeyRef;
use crate::connection::SqlConnection;
use crate::error::{ErrorCode, KeysafeError, Result};
use crate::recovery::{self, CopyCheck};
use crate::secret::Password;
use crate::{password, tsql};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// How a file the server must read gets into its folder.
#[derive(Debug, Clone)]
pub enum Placement {
    /// The server's folder as this machine sees it (a share or a mounted path): Keysafe
    /// writes the file there and removes it after the restore.
    Local(PathBuf),
    /// The administrator copies the file; Keysafe names it and waits this long for the
    /// server to see the same bytes.
    Manual { wait: Duration },
}

/// What to restore, from which report, and how.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The report (keysafe-report-*.json) or the medium folder holding it.
    pub report: PathBuf,
    /// Which instance's key, when the report holds several (its name as the report has it).
    pub from_server: Option<String>,
    pub key: KeyRef,
    /// Where a certificate or database master key goes (default: the same database name).
    pub target_database: Option<String>,
    /// The folder on the target server it reads the file from (default: its backup folder's
    /// Keysafe subfolder).
    pub server_dir: Option<String>,
    pub placement: Placement,
    /// RESTORE ... FORCE: only after the consequences were shown and confirmed.
    pub force: bool,
    /// A database master key: add encryption by the target's service master key afterwards,
    /// so it opens by itself there (TDE and automatic key opening need it).
    pub add_service_master_key: bool,
    /// The rehearsal: after a certificate is restored, RESTORE VERIFYONLY of this backup file
    /// (a server path on the target, TDE-encrypted or encrypted by that certificate) proves the
    /// target can now read backups that need it.
    pub verify_backup: Option<String>,
    /// The service master key: the target instance's name as the administrator typed it
    /// after reading SERVICE_MASTER_KEY_CONSEQUENCES. Nothing is sent unless it matches.
    pub confirmed_instance: Option<String>,
}

/// The passwords a restore uses; none of them ever leaves the statements sent.
pub struct RestoreSecrets<'a> {
    /// The password the backup was made with.
    pub backup: &'a Password,
    /// A database master key: the password that protects the restored key. A certificate:
    /// the password of a new master key for a target database without one.
    pub master_key: Option<&'a Password>,
}

/// A step of a restore, as it happens.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum RestoreProgress {
    MediumChecked {
        copies: usize,
    },
    Placed {
        server_path: String,
    },
    /// Nothing here can reach the server's folder: copy `medium_path` to `server_path`.
    CopyNeeded {
        medium_path: String,
        server_path: String,
        waiting_seconds: u32,
    },
    Restoring {
        statement: String,
    },
}

/// A file the server read, and how it got there.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlacedFile {
    pub medium_path: String,
    /// Empty when nothing had to be placed (FROM BINARY).
    pub server_path: String,
    pub sha256: String,
    /// "keysafe", "administrator", or "not needed".
    pub placed_by: String,
}

/// What a restore did and proved.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RestoreResult {
    pub key: String,
    pub from_server: String,
    pub target_server: String,
    pub target_database: Option<String>,
    pub files: Vec<PlacedFile>,
    /// The statement sent, passwords masked.
    pub statement: String,
    /// What shows the key is in place: a thumbprint compared, a key that opens, a message.
    pub proof: String,
    pub expected_thumbprint: Option<String>,
    pub actual_thumbprint: Option<String>,
    /// The restored database master key is also encrypted by the target's service master key.
    pub opens_by_itself: Option<bool>,
    /// The target database had no master key and Keysafe created one (back it up now).
    pub created_master_key: bool,
    /// The rehearsal's RESTORE VERIFYONLY, when asked: what SQL Server said.
    pub backup_verified: Option<String>,
}

fn err(code: ErrorCode, m: impl Into<String>) -> KeysafeError {
    KeysafeError::new(code, m)
}

/// The medium checked for one restore: the copies of the key asked for, each read and found
/// to be what the report recorded, and the instance they were backed up from.
pub struct Prepared {
    copies: Vec<CopyCheck>,
    from_server: String,
    /// The report the copies were found by (a folder given resolved to its report).
    pub report: PathBuf,
}

/// Checks the medium for `req` without a connection: only the copies of the key asked for
/// are read and hashed; any that is missing or differs stops the restore here. `restore`
/// does this itself; a front end that wants to fail before asking for passwords or
/// connecting calls it first and gives the result to `restore_prepared`.
pub fn prepare(req: &RestoreRequest) -> Result<Prepared> {
    let label = req.key.label();
    let check = recovery::check_copies(&req.report, |server, key| {
        *key == req.key
            && req
                .from_server
                .as_ref()
                .is_none_or(|s| server.eq_ignore_ascii_case(s))
    })?;
    let mine = check.copies;
    let servers: std::collections::BTreeSet<&str> =
        mine.iter().map(|c| c.server.as_str()).collect();
    if mine.is_empty() {
        return Err(err(
            ErrorCode::NotFound,
            format!(
                "{} lists no verified copy of the {label}{}.",
                check.report.display(),
                req.from_server
                    .as_ref()
                    .map(|s| format!(" of {s}"))
                    .unwrap_or_default()
            ),
        )
        .next("keysafe check-medium lists what the report holds."));
    }
    if servers.len() > 1 {
        return Err(err(
            ErrorCode::InvalidInput,
            format!(
                "The report holds the {label} of {} instances ({}).",
                servers.len(),
                servers.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
        .next("Say which one with --from-server."));
    }
    let from = mine[0].server.clone();
    if let Some(problem) = mine.iter().find_map(CopyCheck::problem) {
        return Err(err(
            ErrorCode::VerificationFailed,
            format!("{problem}: nothing was sent to the server."),
        )
        .next("Use another copy of this backup (the off-site medium), or back the key up again from a server that still has it."));
    }
    Ok(Prepared {
        copies: mine,
        from_server: from,
        report: check.report,
    })
}

fn file_name(p: &std::path::Path) -> Result<String> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            err(
                ErrorCode::InvalidInput,
                format!("{} has no file name", p.display()),
            )
        })
}

/// The server's SHA-256 of a file it reads (upper-case hex), or its error.
async fn server_hash(c: &mut SqlConnection, server_path: &str) -> Result<String> {
    let lit = tsql::path_literal(server_path)?;
    let rows = c
        .rows(&format!(
            "SELECT HASHBYTES('SHA2_256', BulkColumn) FROM OPENROWSET(BULK {lit}, SINGLE_BLOB) AS restore_file"
        ))
        .await?;
    Ok(rows
        .first()
        .and_then(|r| r.try_get::<&[u8], _>(0).ok().flatten())
        .map(hex::encode_upper)
        .unwrap_or_default())
}

/// Puts one medium copy where the server reads it and proves the server sees its bytes.
async fn place(
    c: &mut SqlConnection,
    copy: &CopyCheck,
    server_dir: &str,
    sep: &str,
    placement: &Placement,
    progress: &mut (dyn FnMut(RestoreProgress) + Send),
) -> Result<PlacedFile> {
    let name = file_name(&copy.path)?;
    let server_path = format!("{}{sep}{name}", server_dir.trim_end_matches(['\\', '/']));
    let expected = copy.expected_sha256.to_uppercase();
    let placed_by = match placement {
        Placement::Local(dir) => {
            // The bytes hashed when the medium was checked, not a second read of the file.
            let bytes: &[u8] = &copy.bytes;
            std::fs::create_dir_all(dir).map_err(|e| {
                err(
                    ErrorCode::Io,
                    format!("Cannot create {}: {e}", dir.display()),
                )
            })?;
            let there = dir.join(&name);
            let same = std::fs::read(&there)
                .ok()
                .is_some_and(|b| crate::copy::sha256_hex(&b).eq_ignore_ascii_case(&expected));
            if !same {
                crate::copy::write_new(dir, &name, bytes).map_err(|e| {
                    e.next("A different file of that name is in the server's folder: move it away, or choose another folder (--server-dir).")
                })?;
            }
            // What Keysafe wrote does not stay behind when the server cannot use it.
            let remove_ours = || {
                if !same {
                    let _ = std::fs::remove_file(&there);
                }
            };
            let got = server_hash(c, &server_path).await.map_err(|e| {
                remove_ours();
                let m = e.message.clone();
                let what = if same {
                    format!("The file already in {} (left there)", dir.display())
                } else if there.exists() {
                    format!(
                        "The file was placed in {} (and could not be removed again)",
                        dir.display()
                    )
                } else {
                    format!("The file was placed in {} and removed again", dir.display())
                };
                e.with_message(format!("{what}: the server cannot read {server_path}: {m}"))
            })?;
            if got != expected {
                remove_ours();
                return Err(err(ErrorCode::VerificationFailed, format!("The server reads {server_path} as SHA-256 {got}, not the medium's {expected}: {} is not the folder the server sees as {server_dir}.", dir.display()))
                    .next("Give the local path of exactly that server folder (--server-dir-local), or let Keysafe name what to copy (omit it)."));
            }
            progress(RestoreProgress::Placed {
                server_path: server_path.clone(),
            });
            // Only what Keysafe wrote is removed afterwards: an identical file that was there
            // already is someone's, and stays.
            if same {
                "already there"
            } else {
                "keysafe"
            }
        }
        Placement::Manual { wait } => {
            progress(RestoreProgress::CopyNeeded {
                medium_path: copy.path.display().to_string(),
                server_path: server_path.clone(),
                waiting_seconds: u32::try_from(wait.as_secs()).unwrap_or(u32::MAX),
            });
            let deadline = tokio::time::Instant::now() + *wait;
            loop {
                let last = match server_hash(c, &server_path).await {
                    Ok(h) if h == expected => break,
                    Ok(h) => format!("the file there has SHA-256 {h}, not {expected}"),
                    Err(e) if e.code == ErrorCode::ConnectionLost => return Err(e),
                    Err(e) => e.message,
                };
                if tokio::time::Instant::now() >= deadline {
                    return Err(err(ErrorCode::ConnectionTimeout, format!("The server did not see the backup at {server_path} within {} s: {last}.", wait.as_secs()))
                        .next(format!("Copy {} to {server_path} on the server (the service account must be able to read it), then run the restore again.", copy.path.display())));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            progress(RestoreProgress::Placed {
                server_path: server_path.clone(),
            });
            "administrator"
        }
    };
    Ok(PlacedFile {
        medium_path: copy.path.display().to_string(),
        server_path,
        sha256: expected,
        placed_by: placed_by.into(),
    })
}

/// Removes what Keysafe itself put in the server's folder.
fn tidy(placement: &Placement, files: &[PlacedFile]) {
    if let Placement::Local(dir) = placement {
        for f in files.iter().filter(|f| f.placed_by == "keysafe") {
            if let Some(name) = std::path::Path::new(&f.medium_path).file_name() {
                let _ = std::fs::remove_file(dir.join(name));
            }
        }
    }
}

/// What SQL Server does when it restores a service master key, and what FORCE loses: shown
/// before the typed confirmation.
pub const SERVICE_MASTER_KEY_CONSEQUENCES: &str = "RESTORE SERVICE MASTER KEY decrypts everything the instance's current service master key protects (linked server passwords, credentials, database master keys encrypted by it) and re-encrypts it with the key in the file. If any of it cannot be decrypted the restore stops and changes nothing. With FORCE it goes on and whatever could not be decrypted is lost for good: use FORCE only when the current key is already broken.";

/// Restores one key from the medium on `c`'s instance.
pub async fn restore(
    c: &mut SqlConnection,
    req: &RestoreRequest,
    secrets: &RestoreSecrets<'_>,
    progress: &mut (dyn FnMut(RestoreProgress) + Send),
) -> Result<RestoreResult> {
    let prepared = prepare(req)?;
    restore_prepared(c, req, prepared, secrets, progress).await
}

/// `restore` with the medium already checked by `prepare` (for the same request).
pub async fn restore_prepared(
    c: &mut SqlConnection,
    req: &RestoreRequest,
    prepared: Prepared,
    secrets: &RestoreSecrets<'_>,
    progress: &mut (dyn FnMut(RestoreProgress) + Send),
) -> Result<RestoreResult> {
    let Prepared {
        copies,
        from_server,
        ..
    } = prepared;
    progress(RestoreProgress::MediumChecked {
        copies: copies.len(),
    });
    c.require_private(&format!(
        "the backup password and the key file of the {}",
        req.key.label()
    ))?;
    let inv = crate::inventory::inventory(c).await?;
    let target_server = inv.server.server_name.clone();
    if req.key == KeyRef::ServiceMasterKey {
        let typed = req.confirmed_instance.as_deref().unwrap_or("").trim();
        if !typed.eq_ignore_ascii_case(&target_server) {
            return Err(err(
                ErrorCode::NotConfirmed,
                if typed.is_empty() {
                    format!("Restoring {target_server}'s service master key needs the instance's name typed as confirmation: nothing was changed.")
                } else {
                    format!("'{typed}' is not {target_server}: the service master key was not restored, nothing was changed.")
                },
            )
            .next(format!("Read what it does first: {SERVICE_MASTER_KEY_CONSEQUENCES} Then type {target_server} to confirm.")));
        }
    }
    // The server-level permissions, before anything is placed or sent (README's table).
    let login = tsql::ident(&inv.server.login).unwrap_or_else(|_| "[login]".into());
    if req.key == KeyRef::ServiceMasterKey && !inv.server.has("CONTROL SERVER") {
        return Err(err(
            ErrorCode::PermissionDenied,
            format!("{} lacks CONTROL SERVER, which restoring the service master key needs (RESTORE SERVICE MASTER KEY): nothing was placed on the server or changed.", inv.server.login),
        )
        .next(format!("GRANT CONTROL SERVER TO {login}; (it implies ADMINISTER BULK OPERATIONS, which the placed file's hash needs)")));
    }
    let places_a_file = match &req.key {
        KeyRef::Certificate { .. } => {
            !(copies.iter().any(|c| has_ext(&c.path, "cer"))
                && copies.iter().any(|c| has_ext(&c.path, "pvk")))
        }
        _ => true,
    };
    let read_back = &inv.server.read_back;
    if places_a_file && read_back.verdict == crate::inventory::ReadBackVerdict::Impossible {
        let e = err(
            ErrorCode::PermissionDenied,
            format!("Nothing was placed on the server or changed: SQL Server must read the {}'s file in its folder (its SHA-256, through OPENROWSET(BULK)) before the restore, and {}", req.key.label(), read_back.reason),
        );
        return Err(match &read_back.fix {
            Some(fix) => e.next(fix.clone()),
            None => e,
        });
    }
    let sep = inv.server.path_separator.clone();
    let server_dir = match &req.server_dir {
        Some(d) => d.clone(),
        None => crate::backup::default_server_dir(&inv)?,
    };
    let target_db = match &req.key {
        KeyRef::ServiceMasterKey => None,
        KeyRef::DatabaseMasterKey { database } | KeyRef::Certificate { database, .. } => {
            let db = req
                .target_database
                .clone()
                .unwrap_or_else(|| database.clone());
            if !inv
                .databases
                .iter()
                .any(|d| d.name.eq_ignore_ascii_case(&db))
            {
                return Err(err(
                    ErrorCode::NotFound,
                    format!("{target_server} has no database {db} (or this login cannot see it)."),
                )
                .next(
                    "Create or restore the database first, or choose another one (--to-database).",
                ));
            }
            Some(db)
        }
    };
    let mut result = RestoreResult {
        key: req.key.label(),
        from_server,
        target_server: target_server.clone(),
        target_database: target_db.clone(),
        files: vec![],
        statement: String::new(),
        proof: String::new(),
        expected_thumbprint: copies.iter().find_map(|c| c.thumbprint.clone()),
        actual_thumbprint: None,
        opens_by_itself: None,
        created_master_key: false,
        backup_verified: None,
    };
    let r = restore_inner(
        c,
        req,
        secrets,
        progress,
        &copies,
        &server_dir,
        &sep,
        &mut result,
    )
    .await;
    tidy(&req.placement, &result.files);
    let r = match r {
        // Keysafe checked the placed file's hash as this login; SQL Server opens the file as
        // its service account. For a SQL login those are the same account; for a Windows
        // login they are not, and the file may be readable by one and not the other.
        Err(e)
            if inv.server.windows_login
                && e.server
                    .as_ref()
                    .is_some_and(|s| matches!(s.number, 15317 | 15208)) =>
        {
            let service = inv
                .server
                .service_account
                .clone()
                .unwrap_or_else(|| "its service account".into());
            Err(e.next(format!(
                "Either the password is not the one the backup was made with, or SQL Server cannot read the file: Keysafe checked it as {} (a Windows login reads files as itself), and SQL Server opens it as {service}. Give {service} read access to {server_dir}, or use a folder it can read.",
                inv.server.login
            )))
        }
        r => r,
    };
    r?;
    if let Some(file) = &req.verify_backup {
        result.backup_verified = Some(rehearse(c, file).await?);
    }
    Ok(result)
}

pub use crate::recovery::{rehearse, rehearse_set};

#[allow(clippy::too_many_arguments)]
async fn restore_inner(
    c: &mut SqlConnection,
    req: &RestoreRequest,
    secrets: &RestoreSecrets<'_>,
    progress: &mut (dyn FnMut(RestoreProgress) + Send),
    copies: &[CopyCheck],
    server_dir: &str,
    sep: &str,
    result: &mut RestoreResult,
) -> Result<()> {
    match &req.key {
        KeyRef::ServiceMasterKey => {
            let placed = place(c, &copies[0], server_dir, sep, &req.placement, progress).await?;
            let s =
                tsql::restore_service_master_key(&placed.server_path, secrets.backup, req.force)?;
            result.files.push(placed);
            result.statement = s.shown.clone();
            progress(RestoreProgress::Restoring {
                statement: s.shown.clone(),
            });
            c.execute(s.sent()).await.map_err(explain_restore)?;
            let rows = c
                .rows("SELECT CONVERT(nvarchar(36), key_guid), modify_date FROM master.sys.symmetric_keys WHERE name = N'##MS_ServiceMasterKey##'")
                .await?;
            let guid = rows
                .first()
                .and_then(|r| r.get::<&str, _>(0))
                .unwrap_or("")
                .to_string();
            result.proof = format!("SQL Server decrypted the file with the backup's password and now holds that service master key (key GUID {guid}); everything the old key protected was re-encrypted with it.");
        }
        KeyRef::DatabaseMasterKey { .. } => {
            let db = result.target_database.clone().unwrap_or_default();
            let Some(new_password) = secrets.master_key else {
                return Err(err(ErrorCode::InvalidInput, "RESTORE MASTER KEY needs a password to protect the restored key (ENCRYPTION BY PASSWORD).")
                    .next("Give it (--master-key-password-env VAR); keep it with the backup's password."));
            };
            if let Err(v) = password::check_policy(new_password, None) {
                return Err(err(
                    ErrorCode::PasswordPolicy,
                    format!("The restored master key's password: {}", v.explain()),
                ));
            }
            let placed = place(c, &copies[0], server_dir, sep, &req.placement, progress).await?;
            let s = tsql::restore_master_key(
                &db,
                &placed.server_path,
                secrets.backup,
                new_password,
                req.force,
            )?;
            result.files.push(placed);
            result.statement = s.shown.clone();
            progress(RestoreProgress::Restoring {
                statement: s.shown.clone(),
            });
            c.execute(s.sent()).await.map_err(explain_restore)?;
            if req.add_service_master_key {
                let add = tsql::add_service_master_key_encryption(&db, new_password)?;
                result.statement.push('\n');
                result.statement.push_str(&add.shown);
                c.execute(add.sent()).await?;
            }
            // The proof: the restored key opens by the new password, and every certificate
            // it protects gives its private key back.
            let otp = password::generate(32);
            let probe = tsql::proof_of_master_key(&db, new_password, &otp)?;
            let sets = c.batch(probe.sent()).await.map_err(|e| {
                let m = e.message.clone();
                e.with_message(format!(
                    "The master key was restored, but it does not open with its new password: {m}"
                ))
            })?;
            let rows: Vec<&tiberius::Row> = sets.iter().flatten().collect();
            let certs = rows.len();
            let opened = rows
                .iter()
                .filter(|r| {
                    r.try_get::<&[u8], _>(1)
                        .ok()
                        .flatten()
                        .is_some_and(|b| !b.is_empty())
                })
                .count();
            let by_smk = c
                .rows(&format!(
                    "SELECT is_master_key_encrypted_by_server FROM sys.databases WHERE name = {}",
                    tsql::literal(&db, "the database name", 128)?
                ))
                .await?
                .first()
                .and_then(|r| r.get::<bool, _>(0));
            result.opens_by_itself = by_smk;
            if opened != certs {
                return Err(err(ErrorCode::RestoreCheckFailed, format!("The master key was restored, but it opens only {opened} of the {certs} certificate private keys it protects in {db}.")));
            }
            result.proof = format!("The restored master key opens with its new password and gives back the private key of all {certs} certificate(s) it protects in {db}.");
        }
        KeyRef::Certificate { name, .. } => {
            let db = result.target_database.clone().unwrap_or_default();
            let probe = c
                .batch(&format!(
                    "USE {};\nSELECT CONVERT(nvarchar(64), thumbprint, 2) FROM sys.certificates WHERE name = {};\nSELECT COUNT(*) FROM sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##';\nSELECT HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'VIEW DEFINITION');",
                    tsql::ident(&db)?,
                    tsql::literal(name, "the certificate name", 128)?
                ))
                .await?;
            if !recovery::sees_catalog(&probe, 2) {
                return Err(recovery::cannot_see_catalog(
                    &db,
                    &result.target_server,
                    name,
                ));
            }
            let existing = probe
                .first()
                .and_then(|r| r.first())
                .and_then(|r| r.get::<&str, _>(0))
                .map(str::to_uppercase);
            let has_mk = probe
                .get(1)
                .and_then(|r| r.first())
                .and_then(|r| r.get::<i32, _>(0))
                .unwrap_or(0)
                > 0;
            let cer = copies.iter().find(|c| has_ext(&c.path, "cer"));
            let pvk = copies.iter().find(|c| has_ext(&c.path, "pvk"));
            let pfx = copies.iter().find(|c| has_ext(&c.path, "pfx"));
            if result.expected_thumbprint.is_none() {
                // An older report: the .cer on the medium (its SHA-256 just checked) says it.
                if let Some(cer) = cer {
                    use sha1::Digest;
                    result.expected_thumbprint =
                        Some(hex::encode_upper(sha1::Sha1::digest(cer.bytes.as_slice())));
                }
            }
            if let Some(t) = existing {
                if Some(&t) == result.expected_thumbprint.as_ref() {
                    result.actual_thumbprint = Some(t);
                    result.proof = "The certificate was already there with the same thumbprint: nothing was created.".into();
                    return Ok(());
                }
                return Err(err(ErrorCode::InvalidInput, format!("{db} on {} already has a certificate named {name} with thumbprint {t}: it is not replaced.", result.target_server))
                    .next("Drop or rename that certificate if nothing depends on it, or restore into another database (--to-database)."));
            }
            let target = result.target_server.clone();
            result.created_master_key = recovery::ensure_master_key(c, &db, has_mk, secrets.master_key, || {
                err(ErrorCode::MasterKeyNotOpen, format!("{db} on {target} has no database master key to protect the restored private key."))
                    .next("Give a password for a new one (--master-key-password-env VAR) or restore the database master key first; then back it up with Keysafe.")
            })
            .await?;
            let s = match (cer, pvk, pfx) {
                (Some(cer), Some(pvk), _) => {
                    // What was hashed is what is sent: swapping a file after the check changes
                    // nothing.
                    let (der, key) = (cer.bytes.as_slice(), pvk.bytes.as_slice());
                    for f in [cer, pvk] {
                        result.files.push(PlacedFile {
                            medium_path: f.path.display().to_string(),
                            server_path: String::new(),
                            sha256: f.expected_sha256.clone(),
                            placed_by: "not needed".into(),
                        });
                    }
                    tsql::create_certificate_from_binary(&db, name, der, key, secrets.backup)?
                }
                (_, _, Some(pfx)) => {
                    let placed = place(c, pfx, server_dir, sep, &req.placement, progress).await?;
                    let s = tsql::create_certificate_from_pfx(&db, name, &placed.server_path, secrets.backup)?;
                    result.files.push(placed);
                    s
                }
                _ => return Err(err(ErrorCode::NotFound, format!("The medium holds no private key for {}: a certificate is restored from its .cer and .pvk, or its .pfx.", req.key.label()))),
            };
            result.statement = s.shown.clone();
            progress(RestoreProgress::Restoring {
                statement: s.shown.clone(),
            });
            let sets = c.batch(s.sent()).await.map_err(explain_restore)?;
            let after = sets
                .iter()
                .rev()
                .find_map(|rows| rows.first())
                .and_then(|r| r.try_get::<&[u8], _>(0).ok().flatten())
                .map(hex::encode_upper);
            result.actual_thumbprint = after.clone();
            if after.is_none() || after != result.expected_thumbprint {
                return Err(err(
                    ErrorCode::VerificationFailed,
                    format!(
                        "The restored certificate's thumbprint is {} where the backup's is {}.",
                        after.unwrap_or_default(),
                        result.expected_thumbprint.clone().unwrap_or_default()
                    ),
                ));
            }
            result.proof = format!("Thumbprint {} equals the backed-up certificate's; its private key is protected by {db}'s master key.", result.actual_thumbprint.clone().unwrap_or_default());
        }
    }
    Ok(())
}

fn has_ext(p: &std::path::Path, ext: &str) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// SQL Server's answers to a RESTORE, with what to do about them.
fn explain_restore(e: KeysafeError) -> KeysafeError {
    let n = e.server.as_ref().map(|s| s.number);
    match n {
        Some(15317) => e.next("The backup's password is not the one given: use the password the backup was made with."),
        Some(15320) | Some(15329) => e.next("FORCE would go on and lose what cannot be decrypted; try it only when the current key is already broken."),
        _ => e,
    }
}

/// Where a restore's record went: the history entry, and the report's two files.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RestoreRecord {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub html: PathBuf,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub json: PathBuf,
}

/// Records a restore, proven or not, as a backup run is: a line in the history and a report
/// (HTML for people, JSON for tools) in `report_dir`. No secret is in either: the statement
/// is the masked one and errors never echo a password.
pub fn record(
    outcome: &Result<RestoreResult>,
    req: &RestoreRequest,
    target: &str,
    history: &std::path::Path,
    report_dir: &std::path::Path,
) -> Result<RestoreRecord> {
    crate::history::record_restore(
        history,
        &req.report,
        outcome.as_ref(),
        &req.key.label(),
        target,
    )?;
    let at = chrono::Utc::now();
    let (result, error) = match outcome {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e)),
    };
    let json = serde_json::json!({
        "schema": "keysafe.restore/1",
        "at": at,
        "operator": crate::report::current_operator(),
        "workstation": crate::report::hostname(),
        "medium_report": req.report,
        "key": req.key.label(),
        "target": target,
        "succeeded": result.is_some(),
        "result": result,
        "error": error,
    });
    let env = crate::report::template("restore.html", include_str!("../templates/restore.html"));
    let html = env
        .get_template("restore.html")
        .expect("registered")
        .render(minijinja::context! {
            key => req.key.label(),
            target => result.map(|r| r.target_server.clone()).unwrap_or_else(|| target.to_string()),
            operator => crate::report::current_operator(),
            workstation => crate::report::hostname(),
            at => crate::report::when(at),
            medium_report => req.report.display().to_string(),
            succeeded => result.is_some(),
            result => result,
            error => error,
        })
        .expect("the restore report renders");
    crate::private_fs::require_unicode(report_dir, "report folder")?;
    crate::private_fs::create_dir_all(report_dir)?;
    let stem = format!(
        "keysafe-restore-{}-{}",
        at.format("%Y%m%dT%H%M%S%.3fZ"),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let write = |ext: &str, body: &str| -> Result<PathBuf> {
        let name = format!("{stem}.{ext}");
        crate::copy::write_new(report_dir, &name, body.as_bytes())?;
        Ok(report_dir.join(name))
    };
    Ok(RestoreRecord {
        json: write("json", &serde_json::to_string_pretty(&json).expect("json"))?,
        html: write("html", &html)?,
    })
}
