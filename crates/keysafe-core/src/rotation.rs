//! Safe rotation of a TDE certificate across the servers its databases can end up on, as one
//! plan: every member reachable and the new name free first; then the new certificate on
//! the primary, backed up to the medium and verified, copied to every other member and
//! proven by thumbprint, all **before** `ALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER
//! CERTIFICATE`; then each database's encryptor read back. The old certificate is kept
//! ("retiring"): backups and log taken before the rotation still need it (Msg 33111
//! without it). The rotation is recorded in the history. Any step that fails stops the plan
//! before the next; nothing before the ALTER changes what the databases are encrypted with.

use crate::backup::{KeyRef, Secrets};
use crate::connection::{connect, ConnectOptions, SqlConnection};
use crate::error::{ErrorCode, KeysafeError, Result};
use crate::run::{self, RunRequest, Selection};
use crate::tsql;
use serde::Serialize;

/// What to rotate, where, and where the new certificate's backup goes.
#[derive(Debug, Clone)]
pub struct RotationRequest {
    /// The primary first (where the databases are encrypted), then every other member.
    pub members: Vec<ConnectOptions>,
    /// The certificate in master that protects the databases' encryption keys now.
    pub certificate: String,
    pub new_name: String,
    /// None: "TDE certificate NEW_NAME", or "Backup encryption certificate NEW_NAME".
    pub subject: Option<String>,
    /// The new certificate's expiry (UTC), if not SQL Server's default (a year).
    pub expiry: Option<chrono::NaiveDate>,
    /// Take the log backup SQL Server requires between key changes where one is pending
    /// (BACKUP LOG, into `log_backup_dir` or the instance's default backup folder); without
    /// it, a pending change stops the plan before anything changes.
    pub take_log_backups: bool,
    pub log_backup_dir: Option<String>,
    /// The backup of the new certificate: the run's settings (the selection is replaced),
    /// custody, report folder and history.
    pub backup: RunRequest,
}

/// One step of the plan, as it went.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RotationStep {
    pub what: String,
    pub done: bool,
    pub detail: String,
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rotation {
    pub certificate: String,
    pub new_name: String,
    pub old_thumbprint: String,
    pub new_thumbprint: Option<String>,
    /// The databases whose encryption key the new certificate protects now.
    pub databases: Vec<String>,
    /// A backup-encryption certificate: no database's key changes; the backup jobs are
    /// pointed at the new one (Microsoft: create a new certificate rather than renew one),
    /// and the old one stays for the backups encrypted with it.
    pub backup_encryption: bool,
    pub steps: Vec<RotationStep>,
    /// Why it stopped, when it did.
    pub error: Option<KeysafeError>,
}

impl Rotation {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.steps.iter().all(|s| s.done)
    }
}

/// The steps of the plan, in order, before anything runs.
pub const STEPS: [&str; 7] = [
    "every member reachable, the new name free",
    "the new certificate created on the primary",
    "the new certificate backed up to the medium and verified",
    "the new certificate on every other member, thumbprint proven",
    "a log backup of each database whose last key change has none since",
    "each database's encryption key protected by the new certificate",
    "the rotation recorded; the old certificate kept as retiring",
];

async fn thumbprints(c: &mut SqlConnection, name: &str) -> Result<Option<(String, String)>> {
    let rows = c
        .rows(&format!(
            "SELECT CONVERT(nvarchar(64), thumbprint, 2), pvt_key_encryption_type FROM master.sys.certificates WHERE name = {}",
            tsql::literal(name, "the certificate name", 128)?
        ))
        .await?;
    Ok(rows.first().and_then(|r| {
        Some((
            r.get::<&str, _>(0)?.to_string(),
            r.get::<&str, _>(1).unwrap_or("").to_string(),
        ))
    }))
}

/// The databases whose encryption key `thumbprint` protects, and each one's encryptor now.
async fn encryptors(c: &mut SqlConnection) -> Result<Vec<(String, String)>> {
    let rows = c
        .rows("SELECT DB_NAME(database_id), CONVERT(nvarchar(64), encryptor_thumbprint, 2) FROM sys.dm_database_encryption_keys WHERE database_id > 4")
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some((
                r.get::<&str, _>(0)?.to_string(),
                r.get::<&str, _>(1).unwrap_or("").to_string(),
            ))
        })
        .collect())
}

/// The databases among `databases` whose encryption key was changed (ALTER DATABASE
/// ENCRYPTION KEY: modify_date or regenerate_date after create_date, the DMV's dates in
/// UTC) after their last log backup (msdb's local time, made UTC by its time_zone), outside the
/// SIMPLE recovery model. SQL Server refuses a third change without a log backup in between
/// (ALTER DATABASE ENCRYPTION KEY's Remarks), and a log backup spanning several changes needs
/// every certificate involved: Keysafe wants one between any two. Each with when it changed.
/// Should a server move modify_date when encryption is switched on (undocumented), a
/// database with no log backup since gets one asked for: harmless, and wise after TDE.
async fn pending_log_backups(
    c: &mut SqlConnection,
    msdbs: &[String],
    databases: &[String],
) -> Result<Vec<(String, chrono::NaiveDateTime)>> {
    let keys = c
        .rows("SELECT DB_NAME(k.database_id), k.create_date, k.modify_date, d.recovery_model_desc, k.regenerate_date FROM sys.dm_database_encryption_keys AS k JOIN sys.databases AS d ON d.database_id = k.database_id WHERE k.database_id > 4")
        .await?;
    // The instance's msdb, and each contained availability group's own (a log backup taken
    // in the group's environment is recorded there).
    const LOGS: &str = "SELECT database_name, backup_finish_date, time_zone FROM {msdb}.dbo.backupset WHERE type = 'L'";
    let mut logs = Vec::new();
    for msdb in msdbs {
        logs.extend(c.rows(&LOGS.replace("{msdb}", msdb)).await?);
    }
    let mut out = Vec::new();
    for r in &keys {
        let (Some(name), Some(created), Some(modified)) = (
            r.get::<&str, _>(0),
            r.get::<chrono::NaiveDateTime, _>(1),
            r.get::<chrono::NaiveDateTime, _>(2),
        ) else {
            continue;
        };
        let modified = r
            .get::<chrono::NaiveDateTime, _>(4)
            .map_or(modified, |g| g.max(modified));
        if !databases.iter().any(|d| d == name)
            || r.get::<&str, _>(3)
                .is_some_and(|m| m.eq_ignore_ascii_case("SIMPLE"))
            || modified <= created
        {
            continue;
        }
        let last_log = logs
            .iter()
            .filter(|l| l.get::<&str, _>(0) == Some(name))
            .filter_map(|l| {
                l.get::<chrono::NaiveDateTime, _>(1).map(|d| {
                    crate::coverage::backupset_utc(d, crate::coverage::time_zone_quarters(l, 2))
                })
            })
            .max();
        if last_log.is_none_or(|l| l < modified) {
            out.push((name.to_string(), modified));
        }
    }
    Ok(out)
}

/// Whether msdb (the instance's or a contained group's) records a full backup of `database`.
async fn has_full_backup(c: &mut SqlConnection, msdbs: &[String], database: &str) -> Result<bool> {
    for msdb in msdbs {
        let rows = c
            .rows(&format!(
                "SELECT COUNT(*) FROM {msdb}.dbo.backupset WHERE type = 'D' AND database_name = {}",
                tsql::literal(database, "the database name", 128)?
            ))
            .await?;
        if rows.first().and_then(|r| r.get::<i32, _>(0)).unwrap_or(0) > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How many backups msdb records as encrypted with `thumbprint` (the instance's msdb and
/// each contained availability group's).
async fn backups_encrypted_with(
    c: &mut SqlConnection,
    msdbs: &[String],
    thumbprint: &str,
) -> Result<u64> {
    let mut n = 0u64;
    for msdb in msdbs {
        let rows = c
            .rows(&format!(
                "SELECT COUNT(*) FROM {msdb}.dbo.backupset WHERE CONVERT(nvarchar(64), encryptor_thumbprint, 2) = {}",
                tsql::literal(thumbprint, "the thumbprint", 64)?
            ))
            .await?;
        n += rows
            .first()
            .and_then(|r| r.get::<i32, _>(0))
            .unwrap_or(0)
            .max(0) as u64;
    }
    Ok(n)
}

/// Runs the plan; `progress` hears each step as it starts. `secrets` protect the new
/// certificate's backup; `new_master_key` creates a master key in a member's master that
/// has none (then it must be backed up).
pub async fn rotate(
    req: &RotationRequest,
    secrets: &Secrets,
    new_master_key: Option<&crate::Password>,
    progress: &(dyn Fn(&str) + Sync),
) -> Rotation {
    let mut out = Rotation {
        certificate: req.certificate.clone(),
        new_name: req.new_name.clone(),
        old_thumbprint: String::new(),
        new_thumbprint: None,
        databases: vec![],
        backup_encryption: false,
        steps: STEPS
            .iter()
            .map(|s| RotationStep {
                what: s.to_string(),
                done: false,
                detail: String::new(),
            })
            .collect(),
        error: None,
    };
    if let Err(e) = steps(req, secrets, new_master_key, progress, &mut out).await {
        out.error = Some(e);
    }
    out
}

async fn steps(
    req: &RotationRequest,
    secrets: &Secrets,
    new_master_key: Option<&crate::Password>,
    progress: &(dyn Fn(&str) + Sync),
    out: &mut Rotation,
) -> Result<()> {
    let [primary_o, others @ ..] = req.members.as_slice() else {
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            "A rotation needs the primary and every server its databases can end up on.",
        ));
    };
    // 1. Everything reachable and the plan possible, before anything changes.
    progress(STEPS[0]);
    let mut conns = Vec::new();
    for o in &req.members {
        let mut c = connect(o).await.map_err(|e| {
            KeysafeError::new(
                e.code,
                format!(
                    "Nothing was changed: {} cannot be reached ({}), and every member must have the new certificate before the databases use it.",
                    o.server, e.message
                ),
            )
            .next(e.next_step.clone().unwrap_or_else(|| "Bring it back, or leave it out only if no database of the group can end up there.".into()))
        })?;
        if thumbprints(&mut c, &req.new_name).await?.is_some() {
            return Err(KeysafeError::new(
                ErrorCode::InvalidInput,
                format!(
                    "Nothing was changed: {} already has a certificate named {} in master.",
                    o.server, req.new_name
                ),
            )
            .next("Choose another name for the new certificate."));
        }
        conns.push(c);
    }
    let (mut primary, mut rest) = {
        let mut it = conns.into_iter();
        (it.next().expect("the primary"), it.collect::<Vec<_>>())
    };
    let (old, _) = thumbprints(&mut primary, &req.certificate)
        .await?
        .ok_or_else(|| {
            KeysafeError::new(
                ErrorCode::NotFound,
                format!(
                    "Nothing was changed: {} has no certificate {} in master.",
                    primary_o.server, req.certificate
                ),
            )
        })?;
    out.old_thumbprint = old.clone();
    let databases: Vec<String> = encryptors(&mut primary)
        .await?
        .into_iter()
        .filter(|(_, t)| t.eq_ignore_ascii_case(&old))
        .map(|(d, _)| d)
        .collect();
    // Every msdb that records the primary's backups, read once for the checks below.
    let msdbs = crate::coverage::msdbs(&mut primary).await?;
    // Not a TDE protector: a backup-encryption certificate, if backups are encrypted with it.
    let encrypted_backups = if databases.is_empty() {
        backups_encrypted_with(&mut primary, &msdbs, &old).await?
    } else {
        0
    };
    if databases.is_empty() && encrypted_backups == 0 {
        return Err(KeysafeError::new(
            ErrorCode::NotFound,
            format!(
                "Nothing was changed: certificate {} protects no database's encryption key and encrypts no backup msdb records on {}.",
                req.certificate, primary_o.server
            ),
        ));
    }
    out.backup_encryption = databases.is_empty();
    let pending = pending_log_backups(&mut primary, &msdbs, &databases).await?;
    if !pending.is_empty() && !req.take_log_backups {
        let which = pending
            .iter()
            .map(|(d, at)| format!("{d} (changed {} UTC)", at.format("%Y-%m-%d %H:%M")))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            format!(
                "Nothing was changed: the encryption key of {which} changed after its last log backup. SQL Server refuses a third change without a log backup in between, and one log backup spanning several changes needs every certificate involved."
            ),
        )
        .next("Take a log backup of each first (your log-backup job), or let Keysafe take it as part of the rotation (--log-backup)."));
    }
    // Where the log backups go, and the server's path separator, when one is needed.
    let log_dir = if pending.is_empty() {
        None
    } else {
        let facts = crate::inventory::preflight(&mut primary).await?;
        let dir = req
            .log_backup_dir
            .clone()
            .or(facts.default_backup_path.clone())
            .ok_or_else(|| {
                KeysafeError::new(
                    ErrorCode::InvalidInput,
                    "Nothing was changed: the instance's default backup folder is unknown, and a log backup is needed first.",
                )
                .next("Give the folder for the log backup (--log-backup-dir).")
            })?;
        let dir = dir.trim_end_matches(['\\', '/']).to_string();
        // SQL Server takes no log backup of a database that has never had a full one (Msg
        // 4214): found now, before anything changes, not after the new certificate is
        // everywhere.
        for (d, _) in &pending {
            if !has_full_backup(&mut primary, &msdbs, d).await? {
                return Err(KeysafeError::new(
                    ErrorCode::InvalidInput,
                    format!("Nothing was changed: {d} needs a log backup first, and msdb records no full backup of it, without which SQL Server takes none (Msg 4214)."),
                )
                .next(format!("Take a full backup of {d}, then rotate again.")));
            }
        }
        if let Some(note) = crate::backup::ensure_server_dir(&mut primary, &dir).await? {
            tracing::info!(folder = %dir, "{note}");
        }
        Some(format!("{dir}{}", facts.path_separator))
    };
    out.steps[0].done = true;
    out.steps[0].detail = if out.backup_encryption {
        format!(
            "{} reachable; {} encrypts {} msdb records (backup encryption)",
            crate::words::count(req.members.len() as u64, "member"),
            req.certificate,
            crate::words::count(encrypted_backups, "backup")
        )
    } else {
        format!(
            "{} reachable; {} protects {}",
            crate::words::count(req.members.len() as u64, "member"),
            req.certificate,
            databases.join(", ")
        )
    };

    // 2. The new certificate.
    progress(STEPS[1]);
    let mut create = format!(
        "USE master;\nCREATE CERTIFICATE {} WITH SUBJECT = {}",
        tsql::ident(&req.new_name)?,
        tsql::literal(
            &req.subject
                .clone()
                .unwrap_or_else(|| if out.backup_encryption {
                    format!("Backup encryption certificate {}", req.new_name)
                } else {
                    format!("TDE certificate {}", req.new_name)
                }),
            "the subject",
            4000
        )?
    );
    if let Some(d) = req.expiry {
        create.push_str(&format!(", EXPIRY_DATE = '{}'", d.format("%Y%m%d")));
    }
    create.push(';');
    primary.execute(&create).await?;
    let (new, _) = thumbprints(&mut primary, &req.new_name)
        .await?
        .ok_or_else(|| {
            KeysafeError::new(
                ErrorCode::VerificationFailed,
                "The new certificate is not in master after CREATE CERTIFICATE.",
            )
        })?;
    out.new_thumbprint = Some(new.clone());
    out.steps[1].done = true;
    out.steps[1].detail = format!("{} ({})", req.new_name, new);

    // 3. Its backup, verified, before anything depends on it.
    progress(STEPS[2]);
    let mut backup = req.backup.clone();
    backup.targets = vec![primary_o.clone()];
    backup.settings.selection = Selection::Keys(vec![KeyRef::Certificate {
        database: "master".into(),
        name: req.new_name.clone(),
    }]);
    let record = run::execute(&backup, secrets, &|_| {}).await?;
    if !record.report.succeeded() {
        let why = record
            .report
            .instances
            .iter()
            .flat_map(|i| {
                i.error
                    .iter()
                    .chain(i.keys.iter().filter_map(|k| k.error.as_ref()))
            })
            .map(|e| e.message.clone())
            .next()
            .unwrap_or_else(|| "not verified".into());
        return Err(KeysafeError::new(
            ErrorCode::VerificationFailed,
            format!("Stopped before any database changed: the backup of {} failed: {why}", req.new_name),
        )
        .next(format!("The new certificate exists on {} but protects nothing yet: fix the backup and rotate again with another name, or drop it.", primary_o.server)));
    }
    out.steps[2].done = true;
    out.steps[2].detail = format!("report {}", record.files.html.display());

    // 4. On every other member.
    progress(STEPS[3]);
    let mut copied = Vec::new();
    for (o, c) in others.iter().zip(rest.iter_mut()) {
        let copy = crate::recovery::copy_certificate(
            &mut primary,
            c,
            "master",
            &req.new_name,
            "master",
            new_master_key,
        )
        .await
        .map_err(|e| {
            KeysafeError::new(
                e.code,
                format!(
                    "Stopped before any database changed: the copy to {} failed: {}",
                    o.server, e.message
                ),
            )
            .next(e.next_step.clone().unwrap_or_default())
        })?;
        if !copy.verified() {
            return Err(KeysafeError::new(
                ErrorCode::VerificationFailed,
                format!(
                    "Stopped before any database changed: the copy on {} has another thumbprint.",
                    o.server
                ),
            ));
        }
        copied.push(format!(
            "{}{}",
            o.server,
            if copy.created_master_key {
                " (a master key was created in master: back it up)"
            } else {
                ""
            }
        ));
    }
    out.steps[3].done = true;
    out.steps[3].detail = if copied.is_empty() {
        "no other member".into()
    } else {
        copied.join(", ")
    };

    // 5. The log backup SQL Server requires between two key changes, where one is pending.
    progress(STEPS[4]);
    let mut taken = Vec::new();
    if let Some(dir) = &log_dir {
        // The time and a random tag: two databases whose names read alike once made safe
        // for a file name still get files of their own.
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        for (d, _) in &pending {
            let file = format!(
                "{dir}{}_LOG_keysafe_{stamp}-{:04x}.trn",
                crate::backup::safe_name(d),
                rand::random::<u16>()
            );
            primary
                .execute(&format!(
                    "BACKUP LOG {} TO DISK = {};",
                    tsql::ident(d)?,
                    tsql::literal(&file, "the log backup file", 260)?
                ))
                .await
                .map_err(|e| {
                    KeysafeError::new(
                        e.code,
                        format!(
                            "Stopped before any database changed: the log backup of {d} failed: {}",
                            e.message
                        ),
                    )
                    .next(e.next_step.clone().unwrap_or_else(|| format!("The new certificate {} is on every member and the medium; take the log backup yourself and rotate again with another name, or drop it.", req.new_name)))
                })?;
            taken.push(file);
        }
    }
    out.steps[4].done = true;
    out.steps[4].detail = if taken.is_empty() {
        "none needed: every key change has a log backup since".into()
    } else {
        format!(
            "taken: {} (part of the log chain: keep it with the others)",
            taken.join(", ")
        )
    };

    // 6. The switch, database by database, read back (none for backup encryption: its
    // step says what the backup jobs need instead).
    progress(STEPS[5]);
    if out.backup_encryption {
        out.steps[5].done = true;
        out.steps[5].detail = format!(
            "backup encryption: no database key changes. Point the backup jobs at {new_name}: BACKUP DATABASE ... WITH ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = {ident}). Keep {old_name} for the {count} encrypted with it.",
            new_name = req.new_name,
            ident = tsql::ident(&req.new_name)?,
            old_name = req.certificate,
            count = crate::words::count(encrypted_backups, "backup"),
        );
    }
    for d in databases.iter().filter(|_| !out.backup_encryption) {
        primary
            .execute(&format!(
                "USE {};\nALTER DATABASE ENCRYPTION KEY ENCRYPTION BY SERVER CERTIFICATE {};",
                tsql::ident(d)?,
                tsql::ident(&req.new_name)?
            ))
            .await?;
        out.databases.push(d.clone());
    }
    let now = encryptors(&mut primary).await?;
    let wrong: Vec<&String> = databases
        .iter()
        .filter(|d| {
            !now.iter()
                .any(|(n, t)| n == *d && t.eq_ignore_ascii_case(&new))
        })
        .collect();
    if !wrong.is_empty() {
        return Err(KeysafeError::new(
            ErrorCode::VerificationFailed,
            format!(
                "After the change, the encryption key of {} does not name the new certificate.",
                wrong
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !out.backup_encryption {
        out.steps[5].done = true;
        out.steps[5].detail = format!(
            "{} now protected by {}. Take a log backup of each before any further key change; keep {} while any kept backup needs it.",
            databases.join(", "),
            req.new_name,
            req.certificate
        );
    }

    // 7. The record.
    progress(STEPS[6]);
    crate::history::record_rotation(
        &req.backup.history,
        &primary_o.server.to_string(),
        &req.certificate,
        &old,
        &req.new_name,
        &new,
        &databases,
        &others
            .iter()
            .map(|o| o.server.to_string())
            .collect::<Vec<_>>(),
    )?;
    out.steps[6].done = true;
    out.steps[6].detail = format!(
        "{} is retiring: kept until no kept backup needs it",
        req.certificate
    );
    Ok(())
}

/// Whether a certificate may be dropped from one server: what still needs it there.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetireCheck {
    /// The server as given.
    pub server: String,
    pub certificate: String,
    /// None when the server has no such certificate in master.
    pub thumbprint: Option<String>,
    /// Databases whose encryption key it protects now.
    pub protects: Vec<String>,
    /// Kept backups (within the retention) that need it to be restored, described.
    pub needed_by: Vec<String>,
    /// Why the check could not be made, when it could not (then nothing is dropped).
    pub unknown: Option<String>,
}

impl RetireCheck {
    /// Nothing needs it and the check was made: it may go.
    pub fn may_drop(&self) -> bool {
        self.thumbprint.is_some()
            && self.protects.is_empty()
            && self.needed_by.is_empty()
            && self.unknown.is_none()
    }
}

/// What needs `certificate` on this server: the databases it protects now and every kept
/// backup of the last `retention_days` (msdb, and the backup files themselves for TDE, as
/// coverage reads them) that needs it. Sends nothing that changes anything.
pub async fn retire_check(
    c: &mut SqlConnection,
    server: &str,
    certificate: &str,
    retention_days: u32,
    history: &[crate::history::Entry],
) -> Result<RetireCheck> {
    let runs: Vec<crate::history::RunRecord> = history
        .iter()
        .filter_map(crate::history::Entry::run)
        .collect();
    let runs = runs.as_slice();
    let mut out = RetireCheck {
        server: server.to_string(),
        certificate: certificate.to_string(),
        thumbprint: None,
        protects: vec![],
        needed_by: vec![],
        unknown: None,
    };
    let Some((thumb, _)) = thumbprints(c, certificate).await? else {
        return Ok(out);
    };
    out.protects = encryptors(c)
        .await?
        .into_iter()
        .filter(|(_, t)| t.eq_ignore_ascii_case(&thumb))
        .map(|(d, _)| d)
        .collect();
    match crate::coverage::coverage(c, retention_days, runs).await {
        Ok(cov) => {
            for b in &cov.backups {
                if let Some(n) = b
                    .needs
                    .iter()
                    .find(|n| n.thumbprint.eq_ignore_ascii_case(&thumb))
                {
                    out.needed_by.push(format!(
                        "{}'s {} backup of {} ({}){}",
                        b.database,
                        b.kind_words(),
                        b.finished.format("%Y-%m-%d %H:%M"),
                        b.device,
                        if n.source == crate::coverage::EARLIER_LOG {
                            ": it holds log written before the certificate changed"
                        } else {
                            ""
                        }
                    ));
                }
                if b.unknown.is_some() && out.unknown.is_none() {
                    out.unknown = Some(format!(
                        "what {}'s backup in {} needs could not be read: {}",
                        b.database,
                        b.device,
                        b.unknown.as_deref().unwrap_or_default()
                    ));
                }
            }
            out.needed_by
                .extend(spanning_log_backups(&cov, &thumb, history));
        }
        Err(e) => out.unknown = Some(e.message),
    }
    out.needed_by.extend(active_logs(c, &thumb).await);
    out.thumbprint = Some(thumb);
    Ok(out)
}

/// The first log backup of a database after the last kept backup that needs `thumb` holds
/// log written before the protector changed: it needs `thumb` too, though msdb and the
/// file list name only the new certificate (`LOG_KEEPS_OLD_ENCRYPTOR` in the emulator's
/// assumptions; KB4534430).
fn spanning_log_backups(
    cov: &crate::coverage::Coverage,
    thumb: &str,
    history: &[crate::history::Entry],
) -> Vec<String> {
    let needs = |b: &crate::coverage::RetainedBackup| {
        b.needs
            .iter()
            .any(|n| n.thumbprint.eq_ignore_ascii_case(thumb))
    };
    let mut out = Vec::new();
    let mut databases: Vec<&str> = cov.backups.iter().map(|b| b.database.as_str()).collect();
    databases.sort();
    databases.dedup();
    for d in databases {
        let of_db: Vec<&crate::coverage::RetainedBackup> =
            cov.backups.iter().filter(|b| b.database == d).collect();
        // After the last kept backup that needs it, or after a rotation Keysafe recorded
        // away from it (the old protector's log stays until the next log backup).
        let rotated = history
            .iter()
            .filter(|e| e.record["action"] == "rotation")
            .filter(|e| {
                e.record["rotation"]["retiring"]["thumbprint"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case(thumb))
                    && e.record["rotation"]["databases"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(d)))
            })
            .filter_map(|e| e.record["at"].as_str())
            .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.naive_utc())
            .max();
        let start = match (of_db.iter().rposition(|b| needs(b)), rotated) {
            (Some(i), _) => i + 1,
            (None, Some(at)) => match of_db.iter().position(|b| b.finished >= at) {
                Some(i) => i,
                None => continue,
            },
            (None, None) => continue,
        };
        if let Some(log) = of_db[start..].iter().find(|b| b.kind == "L") {
            out.push(format!(
                "{d}'s log backup of {} ({}): it holds log written before the certificate changed",
                log.finished.format("%Y-%m-%d %H:%M"),
                log.device
            ));
        }
    }
    out
}

/// Databases whose active log is still encrypted by `thumb` (sys.dm_db_log_info's
/// vlf_encryptor_thumbprint, SQL Server 2019 and later; older servers do not say): their
/// next log backup will need it.
async fn active_logs(c: &mut SqlConnection, thumb: &str) -> Vec<String> {
    let Ok(dbs) = encryptors(c).await else {
        return vec![];
    };
    let mut out = Vec::new();
    for (d, _) in dbs {
        let Ok(lit) = tsql::literal(&d, "the database name", 128) else {
            continue;
        };
        let Ok(rows) = c
            .rows(&format!("SELECT DISTINCT CONVERT(nvarchar(64), vlf_encryptor_thumbprint, 2) FROM sys.dm_db_log_info(DB_ID({lit})) WHERE vlf_active = 1"))
            .await
        else {
            continue;
        };
        if rows.iter().any(|r| {
            r.get::<&str, _>(0)
                .is_some_and(|t| t.eq_ignore_ascii_case(thumb))
        }) {
            out.push(format!(
                "{d}'s active log is still encrypted by it: take a log backup (which will need it too)"
            ));
        }
    }
    out
}

/// Drops the certificate `check` cleared, and records it. Refuses, naming what needs it,
/// when anything does.
pub async fn drop_retired(
    c: &mut SqlConnection,
    check: &RetireCheck,
    history: &std::path::Path,
) -> Result<()> {
    if !check.may_drop() {
        let mut why: Vec<String> = Vec::new();
        if check.thumbprint.is_none() {
            why.push(format!(
                "{} has no certificate {} in master",
                check.server, check.certificate
            ));
        }
        if !check.protects.is_empty() {
            why.push(format!(
                "it protects the encryption key of {}",
                check.protects.join(", ")
            ));
        }
        if !check.needed_by.is_empty() {
            why.push(format!(
                "kept backups need it: {}",
                check.needed_by.join("; ")
            ));
        }
        if let Some(u) = &check.unknown {
            why.push(format!("not every kept backup could be checked ({u})"));
        }
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            format!(
                "Certificate {} was not dropped on {}: {}.",
                check.certificate,
                check.server,
                why.join("; ")
            ),
        )
        .next("Keep it until the retention has passed for every backup that needs it (Msg 33111 otherwise, on every restore of them)."));
    }
    c.execute(&format!(
        "USE master;\nDROP CERTIFICATE {};",
        tsql::ident(&check.certificate)?
    ))
    .await?;
    crate::history::append(
        history,
        serde_json::json!({
            "schema": crate::history::RECORD_SCHEMA,
            "action": "retired",
            "at": chrono::Utc::now(),
            "operator": crate::host::current_operator(),
            "succeeded": true,
            "retired": {
                "server": check.server,
                "name": check.certificate,
                "thumbprint": check.thumbprint,
            },
        }),
    )?;
    Ok(())
}
