//! `keysafe selftest` and the conformance suite (`tests/conformance`): Keysafe's own checks run
//! against a server someone points it at (a test instance of theirs, a SQL Server container, or
//! the emulator started as a separate process). They reach the server only over TDS and seed
//! only through T-SQL: every object a check creates is named `keysafe_conf_<random>_...`, and
//! every one is dropped afterwards over a fresh connection, whether the check passed, failed or
//! panicked. Nothing of the instance's own keys is changed; the one exception (creating master's
//! database master key when a check needs it and master has none) needs `may_change_master`,
//! meant for throw-away instances, and the check says when it was skipped for want of it.
//! Files Keysafe wrote into the server's folder stay there (Keysafe never deletes a backup);
//! each check names them.

use crate::backup::{KeyRef, Secrets};
use crate::connection::{connect, Authentication, ConnectOptions, SqlConnection};
use crate::run::{RunSettings, Selection};
use crate::tsql::{ident, literal, password_literal, path_literal};
use crate::{ErrorCode, KeysafeError, Password, Result};
use serde::Serialize;
use std::path::PathBuf;

/// What the checks run against, and where they may put things.
#[derive(Debug, Clone)]
pub struct SelfTest {
    pub target: ConnectOptions,
    /// The server folder the backups go to (default: the instance's backup folder + \Keysafe).
    pub server_dir: Option<String>,
    /// Where this machine sees `server_dir`, if it does (a share, a container's volume): the
    /// database master key restore places its file there.
    pub server_dir_local: Option<PathBuf>,
    /// A local folder for the medium and the reports (one subfolder per check).
    pub work: PathBuf,
    /// Create master's database master key when a check needs one and there is none (and drop
    /// it afterwards). Only for throw-away instances.
    pub may_change_master: bool,
    /// A second instance: copy-certificate copies to it (else between two databases of the
    /// first).
    pub second: Option<ConnectOptions>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Passed => "PASS",
            Status::Failed => "FAIL",
            Status::Skipped => "SKIP",
        }
    }
}

/// One check's verdict and what it saw (or why it failed, with the next step).
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub check: String,
    pub status: Status,
    pub detail: String,
}

/// The checks, in the order `run_all` runs them, with what each proves.
pub const CHECKS: &[(&str, &str)] = &[
    ("backup", "the service master key, a database master key and a certificate are backed up, copied, read back and hashed; the master key and the certificate are restore-proven in scratch databases (the service master key is never restored on its own instance: its copy is verified by hash); the copies hash as the report says"),
    ("restore", "a certificate and a database master key are restored from the medium into scratch databases and proven (thumbprint, key that opens)"),
    ("copy-certificate", "a certificate with its private key is copied to another database (on a second instance when one is given) with nothing but the connections, and the thumbprints match"),
    ("coverage", "an encrypted BACKUP DATABASE whose certificate was dropped is reported as needing a certificate that is lost; a TDE database's BACKUP DATABASE is judged by its TDE certificate: at risk while only on the server, covered once Keysafe backed the certificate up, lost (copy only, with Keysafe's copy) once the database and the certificate are dropped"),
    ("least-privilege", "a login with exactly the documented permissions backs up a database master key; without CONTROL on the database, or without ADMINISTER BULK OPERATIONS, it fails naming the one missing"),
    ("weak-password", "a backup password the policy refuses is refused before anything is sent, with the rule it breaks"),
    ("missing-folder", "a server folder that is missing and cannot be created is SQL Server's refusal, explained"),
];

/// A check's own result before it is an outcome.
enum Done {
    Passed(String),
    Skipped(String),
}

/// Runs `names` (all when empty), telling `progress` each outcome as it lands.
pub async fn run(
    st: &SelfTest,
    names: &[String],
    progress: &(dyn Fn(&CheckOutcome) + Sync),
) -> Vec<CheckOutcome> {
    let mut out = Vec::new();
    for (name, _) in CHECKS {
        if !names.is_empty() && !names.iter().any(|n| n == name) {
            continue;
        }
        let o = run_check(st, name).await;
        progress(&o);
        out.push(o);
    }
    out
}

/// One check by name (see `CHECKS`).
pub async fn run_check(st: &SelfTest, name: &str) -> CheckOutcome {
    let r = match name {
        "backup" => check_backup(st).await,
        "restore" => check_restore(st).await,
        "copy-certificate" => check_copy_certificate(st).await,
        "coverage" => check_coverage(st).await,
        "least-privilege" => check_least_privilege(st).await,
        "weak-password" => check_weak_password(st).await,
        "missing-folder" => check_missing_folder(st).await,
        other => Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            format!("There is no self-test check named {other:?}."),
        )),
    };
    let (status, detail) = match r {
        Ok(Done::Passed(d)) => (Status::Passed, d),
        Ok(Done::Skipped(d)) => (Status::Skipped, d),
        Err(e) => (Status::Failed, e.describe()),
    };
    CheckOutcome {
        check: name.to_string(),
        status,
        detail,
    }
}

/// The objects one check created, dropped by `cleanup` in the reverse order of their making.
#[derive(Debug, Default)]
pub struct Scratch {
    tag: String,
    databases: Vec<String>,
    logins: Vec<String>,
    master_certificates: Vec<String>,
    master_key_created: bool,
    /// Databases whose msdb backup history the check made.
    history_of: Vec<String>,
    /// Databases the check encrypted with TDE: the cleanup waits for their encryption scan
    /// (SQL Server refuses DROP DATABASE while one runs).
    encrypted: Vec<String>,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            tag: format!("keysafe_conf_{:08x}", rand::random::<u32>()),
            ..Default::default()
        }
    }

    /// `keysafe_conf_<random>_<what>`.
    pub fn name(&self, what: &str) -> String {
        format!("{}_{what}", self.tag)
    }

    /// CREATE DATABASE, remembered for the cleanup.
    pub async fn database(&mut self, c: &mut SqlConnection, what: &str) -> Result<String> {
        let name = self.name(what);
        self.databases.push(name.clone());
        c.execute(&format!("USE master; CREATE DATABASE {};", ident(&name)?))
            .await
            .map_err(|e| setup_refused(e, &format!("its scratch database {name}")))?;
        Ok(name)
    }

    /// CREATE LOGIN with a password, remembered for the cleanup.
    pub async fn login(
        &mut self,
        c: &mut SqlConnection,
        what: &str,
        password: &Password,
    ) -> Result<String> {
        let name = self.name(what);
        c.require_private("a login's password")?;
        self.logins.push(name.clone());
        c.execute(&format!(
            "USE master; CREATE LOGIN {} WITH PASSWORD = {};",
            ident(&name)?,
            password_literal(password)?
        ))
        .await
        .map_err(|e| setup_refused(e, &format!("its scratch login {name}")))?;
        Ok(name)
    }

    /// CREATE CERTIFICATE in master, remembered for the cleanup (until `forget_certificate`).
    pub async fn master_certificate(
        &mut self,
        c: &mut SqlConnection,
        what: &str,
    ) -> Result<String> {
        let name = self.name(what);
        self.master_certificates.push(name.clone());
        c.execute(&format!(
            "USE master; CREATE CERTIFICATE {} WITH SUBJECT = N'Keysafe self-test';",
            ident(&name)?
        ))
        .await
        .map_err(|e| setup_refused(e, &format!("its scratch certificate {name} in master")))?;
        Ok(name)
    }

    /// Whether master has a database master key (which a certificate in master needs), after
    /// creating one when it has none and `may_change_master` allows it (remembered for the
    /// cleanup, which drops it).
    pub async fn master_key(
        &mut self,
        c: &mut SqlConnection,
        may_change_master: bool,
    ) -> Result<bool> {
        let has_key = c
            .rows("SELECT COUNT(*) FROM master.sys.symmetric_keys WHERE name = N'##MS_DatabaseMasterKey##'")
            .await?
            .first()
            .and_then(|r| r.get::<i32, _>(0))
            == Some(1);
        if has_key || self.master_key_created {
            return Ok(true);
        }
        if !may_change_master {
            return Ok(false);
        }
        c.require_private("a master key's password")?;
        self.master_key_created = true;
        c.execute(&format!(
            "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = {};",
            password_literal(&crate::password::generate(24))?
        ))
        .await?;
        Ok(true)
    }

    /// A master certificate the check dropped itself.
    pub fn forget_certificate(&mut self, name: &str) {
        self.master_certificates.retain(|n| n != name);
    }

    /// The check wrote msdb backup history for `database`.
    pub fn made_history(&mut self, database: &str) {
        self.history_of.push(database.to_string());
    }

    /// Encrypts `database` (one of this scratch's) with TDE: a database encryption key
    /// protected by `certificate` in master, ENCRYPTION ON, and the encryption scan waited
    /// for (`TDE_SCAN_WAIT`).
    pub async fn encrypt_database(
        &mut self,
        c: &mut SqlConnection,
        database: &str,
        certificate: &str,
    ) -> Result<()> {
        self.encrypted.push(database.to_string());
        c.execute(&format!(
            "USE {db}; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE {cert}; USE master; ALTER DATABASE {db} SET ENCRYPTION ON;",
            db = ident(database)?,
            cert = ident(certificate)?
        ))
        .await?;
        match wait_for_encryption_scan(c, database).await? {
            Some(3) => Ok(()),
            state => Err(failed(format!(
                "{database} is not encrypted after ALTER DATABASE ... SET ENCRYPTION ON: sys.dm_database_encryption_keys shows encryption_state {state:?} after {} seconds (3 is encrypted).",
                TDE_SCAN_WAIT.as_secs()
            ))),
        }
    }

    /// Drops everything remembered, each step on its own so one failure does not keep the
    /// rest; the first failure is returned after all were tried.
    pub async fn cleanup(&self, c: &mut SqlConnection) -> Result<()> {
        let mut first = None;
        for d in &self.encrypted {
            if let Err(e) = wait_for_encryption_scan(c, d).await {
                first.get_or_insert(e);
            }
        }
        let mut statements = Vec::new();
        for d in &self.history_of {
            statements.push(format!(
                "EXEC msdb.dbo.sp_delete_database_backuphistory @database_name = {};",
                literal(d, "a database name", 128)?
            ));
        }
        for d in self.databases.iter().rev() {
            statements.push(format!(
                "USE master; IF DB_ID({lit}) IS NOT NULL DROP DATABASE {id};",
                lit = literal(d, "a database name", 128)?,
                id = ident(d)?
            ));
        }
        for l in self.logins.iter().rev() {
            statements.push(format!(
                "USE master; IF EXISTS (SELECT 1 FROM sys.server_principals WHERE name = {lit}) DROP LOGIN {id};",
                lit = literal(l, "a login name", 128)?,
                id = ident(l)?
            ));
        }
        for n in self.master_certificates.iter().rev() {
            statements.push(format!(
                "USE master; IF CERT_ID({lit}) IS NOT NULL DROP CERTIFICATE {id};",
                lit = literal(n, "a certificate name", 128)?,
                id = ident(n)?
            ));
        }
        if self.master_key_created {
            statements.push("USE master; DROP MASTER KEY;".into());
        }
        for s in statements {
            if let Err(e) = c.execute(&s).await {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// A permission refusal while a check makes its own objects is the self-test's login, not
/// Keysafe under test: said so, with what the self-test needs (SQL Server's message kept).
fn setup_refused(e: KeysafeError, what: &str) -> KeysafeError {
    if e.code != ErrorCode::PermissionDenied {
        return e;
    }
    let message = format!("The self-test could not create {what}: {}", e.message);
    e.with_message(message).next(
        "The self-test creates and drops its own databases, logins and certificates: run it with a sysadmin login, on a test instance.",
    )
}

/// How long a check waits for a TDE encryption scan of its (empty) scratch database.
const TDE_SCAN_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Waits while `database`'s encryption scan runs (encryption_state 2, 4, 5 or 6), at most
/// `TDE_SCAN_WAIT`; its encryption_state then, None when it has no database encryption key.
async fn wait_for_encryption_scan(c: &mut SqlConnection, database: &str) -> Result<Option<i32>> {
    let query = format!(
        "SELECT encryption_state FROM sys.dm_database_encryption_keys WHERE database_id = DB_ID({})",
        literal(database, "a database name", 128)?
    );
    let until = std::time::Instant::now() + TDE_SCAN_WAIT;
    loop {
        let state = c
            .rows(&query)
            .await?
            .first()
            .and_then(|r| r.get::<i32, _>(0));
        if !matches!(state, Some(2 | 4 | 5 | 6)) || std::time::Instant::now() >= until {
            return Ok(state);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Runs `body` with a fresh connection and a `Scratch`, then drops what it made over another
/// fresh connection, whatever the body did (an error, or a panic, which goes on after the
/// cleanup). A failed cleanup fails a body that succeeded.
pub async fn with_scratch<T>(
    target: &ConnectOptions,
    body: impl AsyncFnOnce(&mut SqlConnection, &mut Scratch) -> Result<T>,
) -> Result<T> {
    use futures_util::FutureExt;
    let mut scratch = Scratch::new();
    let mut c = connect(target).await?;
    let outcome = std::panic::AssertUnwindSafe(body(&mut c, &mut scratch))
        .catch_unwind()
        .await;
    drop(c);
    let cleaned = match connect(target).await {
        Ok(mut c) => scratch.cleanup(&mut c).await,
        Err(e) => Err(e),
    };
    match outcome {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(Err(e)) => Err(e),
        Ok(Ok(v)) => cleaned.map(|_| v).map_err(|e| {
            e.with_message(format!(
                "The self-test's objects ({}_*) could not all be dropped.",
                scratch.tag
            ))
        }),
    }
}

/// The instance's inventory and the server folder the checks back up into: the one given,
/// else its default.
async fn server_dir(
    st: &SelfTest,
    c: &mut SqlConnection,
) -> Result<(crate::inventory::Inventory, String)> {
    let inv = crate::inventory::inventory(c).await?;
    let dir = match &st.server_dir {
        Some(d) => d.clone(),
        None => crate::backup::default_server_dir(&inv)?,
    };
    Ok((inv, dir))
}

fn failed(message: impl Into<String>) -> KeysafeError {
    KeysafeError::new(ErrorCode::VerificationFailed, message)
}

fn settings(st: &SelfTest, selection: Selection, check: &str) -> RunSettings {
    let mut s = RunSettings::new(selection, st.work.join(check).join("medium"));
    s.backup.server_dir = st.server_dir.clone();
    s.server_dir_local = st.server_dir_local.clone();
    s
}

/// A database with a master key (protected by a password and the service master key) and a
/// certificate under it.
async fn keys_database(c: &mut SqlConnection, s: &mut Scratch) -> Result<(String, String)> {
    let db = s.database(c, "keys").await?;
    let cert = s.name("cert");
    c.require_private("a master key's password")?;
    c.execute(&format!(
        "USE {db}; CREATE MASTER KEY ENCRYPTION BY PASSWORD = {pw}; CREATE CERTIFICATE {cert} WITH SUBJECT = N'Keysafe self-test'; USE master;",
        db = ident(&db)?,
        pw = password_literal(&crate::password::generate(24))?,
        cert = ident(&cert)?
    ))
    .await?;
    Ok((db, cert))
}

/// Each key verified, or the first that was not, as an error.
fn all_verified(r: &crate::report::InstanceReport) -> Result<()> {
    if let Some(e) = &r.error {
        return Err(e.clone());
    }
    if r.keys.is_empty() {
        return Err(failed("The run backed up no key."));
    }
    if r.folder_protection_failed {
        return Err(failed(format!(
            "The server folder's protection did not hold: {}",
            r.folder_protection
        )));
    }
    for k in &r.keys {
        if k.outcome != crate::backup::Outcome::Verified {
            return Err(k
                .error
                .clone()
                .unwrap_or_else(|| failed(format!("{} was not verified.", k.key.label()))));
        }
    }
    Ok(())
}

/// What the restore checks of a run with `verify_restore` proved, as the detail says it: the
/// keys restored in a scratch database and found identical (each database master key and
/// certificate must be), and those no restore check applies to (the service master key, never
/// restored on its own instance), verified by hash only, with the reason.
fn restore_proofs(r: &crate::report::InstanceReport) -> Result<String> {
    use crate::restore_check::RestoreCheck;
    let mut proven = Vec::new();
    let mut by_hash = Vec::new();
    for k in &r.keys {
        match (&k.key, &k.restore_check) {
            (_, Some(RestoreCheck::Proven { .. })) => proven.push(k.key.label()),
            (KeyRef::ServiceMasterKey, Some(RestoreCheck::NotApplicable { reason })) => by_hash
                .push(format!(
                    "{} verified by its SHA-256, not restore-proven ({reason})",
                    k.key.label()
                )),
            (_, check) => {
                return Err(failed(format!(
                    "{} was not restore-proven: its restore check is {check:?}.",
                    k.key.label()
                )))
            }
        }
    }
    let mut s = format!("{} restore-proven", proven.len());
    if !proven.is_empty() {
        s.push_str(&format!(" ({})", proven.join(", ")));
    }
    for b in by_hash {
        s.push_str("; ");
        s.push_str(&b);
    }
    Ok(s)
}

/// The medium's copies hash as the run recorded them, and as the server hashed its files.
fn copies_match(r: &crate::report::InstanceReport) -> Result<usize> {
    let mut n = 0;
    for k in &r.keys {
        for f in &k.files {
            let Some(copy) = &f.copy else { continue };
            let bytes = std::fs::read(&copy.path)?;
            let sha = crate::copy::sha256_hex(&bytes);
            if sha != copy.sha256 || !sha.eq_ignore_ascii_case(&f.server_sha256) {
                return Err(failed(format!(
                    "{} on the medium hashes {sha}; the run recorded {} and the server {}.",
                    copy.path.display(),
                    copy.sha256,
                    f.server_sha256
                )));
            }
            n += 1;
        }
    }
    Ok(n)
}

fn server_files(r: &crate::report::InstanceReport) -> String {
    r.keys
        .iter()
        .flat_map(|k| k.files.iter())
        .map(|f| f.server_path.as_str())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

fn backup_report(
    medium: &std::path::Path,
    r: crate::report::InstanceReport,
) -> Result<crate::report::ReportFiles> {
    Ok(backup_report_and_record(medium, r)?.0)
}

/// The run's report on the medium, and the history record `keysafe backup` would append for
/// it (what coverage reads Keysafe's copies from).
fn backup_report_and_record(
    medium: &std::path::Path,
    r: crate::report::InstanceReport,
) -> Result<(crate::report::ReportFiles, crate::history::RunRecord)> {
    let report = crate::report::Report::new(
        crate::report::current_operator(),
        chrono::Utc::now(),
        medium.to_path_buf(),
        Default::default(),
        vec![r],
    );
    let files = report.write_files(medium)?;
    let record = serde_json::from_value(crate::report::run_record(&report, &files.json))
        .map_err(|e| failed(format!("The run's history record does not read back: {e}")))?;
    Ok((files, record))
}

async fn check_backup(st: &SelfTest) -> Result<Done> {
    with_scratch(&st.target, async |c, s| {
        let (db, cert) = keys_database(c, s).await?;
        let mut set = settings(
            st,
            Selection::Keys(vec![
                KeyRef::ServiceMasterKey,
                KeyRef::DatabaseMasterKey {
                    database: db.clone(),
                },
                KeyRef::Certificate {
                    database: db.clone(),
                    name: cert.clone(),
                },
            ]),
            "backup",
        );
        set.verify_restore = true;
        std::fs::create_dir_all(&set.backup.copy_to)?;
        let secrets = Secrets::new(crate::password::generate(24));
        let r = crate::run::back_up_instance(&st.target, &set, &secrets, &|_| {}).await;
        all_verified(&r)?;
        let proofs = restore_proofs(&r)?;
        let copies = copies_match(&r)?;
        let files = server_files(&r);
        let keys = r.keys.len();
        let report = backup_report(&set.backup.copy_to, r)?;
        Ok(Done::Passed(format!(
            "{keys} keys backed up, copied, read back and hashed; {proofs}; {copies} copies on the medium hash as recorded; report {}; server files left in place: {files}",
            report.html.display()
        )))
    })
    .await
}

async fn check_restore(st: &SelfTest) -> Result<Done> {
    use crate::restore::{Placement, RestoreRequest, RestoreSecrets};
    with_scratch(&st.target, async |c, s| {
        let (db, cert) = keys_database(c, s).await?;
        let target = s.database(c, "target").await?;
        let target_dmk = s.database(c, "target_dmk").await?;
        let dmk = KeyRef::DatabaseMasterKey {
            database: db.clone(),
        };
        let certificate = KeyRef::Certificate {
            database: db.clone(),
            name: cert.clone(),
        };
        let set = settings(
            st,
            Selection::Keys(vec![dmk.clone(), certificate.clone()]),
            "restore",
        );
        std::fs::create_dir_all(&set.backup.copy_to)?;
        let password = crate::password::generate(24);
        let r = crate::run::back_up_instance(
            &st.target,
            &set,
            &Secrets::new(password.clone()),
            &|_| {},
        )
        .await;
        all_verified(&r)?;
        let report = backup_report(&set.backup.copy_to, r)?;
        let request = |key: KeyRef, into: &str, placement: Placement| RestoreRequest {
            report: report.json.clone(),
            from_server: None,
            key,
            target_database: Some(into.to_string()),
            server_dir: st.server_dir.clone(),
            placement,
            force: false,
            add_service_master_key: true,
            verify_backup: None,
            confirmed_instance: None,
        };
        let new_master = crate::password::generate(24);
        let restored = crate::restore::restore(
            c,
            &request(certificate, &target, Placement::Manual {
                wait: std::time::Duration::ZERO,
            }),
            &RestoreSecrets {
                backup: &password,
                master_key: Some(&new_master),
            },
            &mut |_| {},
        )
        .await?;
        if restored.actual_thumbprint.is_none()
            || restored.actual_thumbprint != restored.expected_thumbprint
        {
            return Err(failed(format!(
                "The restored certificate's thumbprint is {:?}, the backup's {:?}.",
                restored.actual_thumbprint, restored.expected_thumbprint
            )));
        }
        let mut detail = format!(
            "certificate {cert} restored into {target}, thumbprint {} as backed up",
            restored.expected_thumbprint.unwrap_or_default()
        );
        match &st.server_dir_local {
            None => detail.push_str("; the database master key's restore was not tried: it needs its file in the server's folder, and this machine does not see that folder (give where it does)"),
            Some(local) => {
                let r = crate::restore::restore(
                    c,
                    &request(dmk, &target_dmk, Placement::Local(local.clone())),
                    &RestoreSecrets {
                        backup: &password,
                        master_key: Some(&crate::password::generate(24)),
                    },
                    &mut |_| {},
                )
                .await?;
                if r.opens_by_itself != Some(true) {
                    return Err(failed(format!(
                        "The database master key restored into {target_dmk} does not open by itself: {}",
                        r.proof
                    )));
                }
                detail.push_str(&format!(
                    "; database master key restored into {target_dmk}: {}",
                    r.proof
                ));
            }
        }
        Ok(Done::Passed(detail))
    })
    .await
}

async fn check_copy_certificate(st: &SelfTest) -> Result<Done> {
    let copied = |r: crate::recovery::CertificateCopy, where_: String| {
        if r.verified() {
            Ok(Done::Passed(format!(
                "certificate {} copied to {where_}, thumbprint {} on both",
                r.certificate, r.thumbprint
            )))
        } else {
            Err(failed(format!(
                "The copy of {} has thumbprint {:?}, the source {:?}.",
                r.certificate, r.target_thumbprint, r.thumbprint
            )))
        }
    };
    with_scratch(&st.target, async |c, s| {
        let (db, cert) = keys_database(c, s).await?;
        let master = crate::password::generate(24);
        match &st.second {
            None => {
                let into = s.database(c, "copy").await?;
                let mut source = connect(&st.target).await?;
                let r = crate::recovery::copy_certificate(
                    &mut source,
                    c,
                    &db,
                    &cert,
                    &into,
                    Some(&master),
                )
                .await?;
                copied(r, format!("{into} on the same instance"))
            }
            Some(second) => {
                with_scratch(second, async move |c2, s2| {
                    let into = s2.database(c2, "copy").await?;
                    let r =
                        crate::recovery::copy_certificate(c, c2, &db, &cert, &into, Some(&master))
                            .await?;
                    copied(r, format!("{into} on {}", second.server))
                })
                .await
            }
        }
    })
    .await
}

async fn check_coverage(st: &SelfTest) -> Result<Done> {
    with_scratch(&st.target, async |c, s| {
        if !s.master_key(c, st.may_change_master).await? {
            return Ok(Done::Skipped("master has no database master key, which a certificate that encrypts a backup needs; the self-test does not create one on your instance unless allowed (throw-away instances only)".into()));
        }
        let db = s.database(c, "sales").await?;
        let cert = s.master_certificate(c, "backupcert").await?;
        let thumbprint = c
            .rows(&format!(
                "SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM master.sys.certificates WHERE name = {}",
                literal(&cert, "a certificate name", 128)?
            ))
            .await?
            .first()
            .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
            .ok_or_else(|| failed(format!("The certificate {cert} is not in master.sys.certificates.")))?;
        let (inv, dir) = server_dir(st, c).await?;
        crate::backup::ensure_server_dir(c, &dir).await?;
        let file = format!("{dir}{}{}.bak", inv.server.path_separator, s.name("sales"));
        s.made_history(&db);
        c.execute(&format!(
            "BACKUP DATABASE {} TO DISK = {} WITH ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = {});",
            ident(&db)?,
            path_literal(&file)?,
            ident(&cert)?
        ))
        .await?;
        c.execute(&format!("USE master; DROP CERTIFICATE {};", ident(&cert)?))
            .await?;
        s.forget_certificate(&cert);
        let cov = crate::coverage::coverage(c, 1, &[]).await?;
        let backup = cov
            .backups
            .iter()
            .find(|b| b.database.eq_ignore_ascii_case(&db))
            .ok_or_else(|| failed(format!("Coverage lists no backup of {db}.")))?;
        if !backup
            .needs
            .iter()
            .any(|n| n.thumbprint.eq_ignore_ascii_case(&thumbprint))
        {
            return Err(failed(format!(
                "Coverage does not say the backup of {db} needs certificate {thumbprint}: {:?}",
                backup.needs
            )));
        }
        let verdict = cov
            .certificates
            .iter()
            .find(|x| x.thumbprint.eq_ignore_ascii_case(&thumbprint))
            .map(|x| x.verdict);
        if verdict != Some(crate::coverage::Verdict::Lost) {
            return Err(failed(format!(
                "Coverage judges the dropped certificate {thumbprint} {verdict:?}, not lost."
            )));
        }
        let tde = tde_coverage(st, c, s, &inv, &dir).await?;
        Ok(Done::Passed(format!(
            "the encrypted backup {file} needs certificate {thumbprint}, dropped: coverage says {}; {tde}",
            crate::coverage::Verdict::Lost.title()
        )))
    })
    .await
}

/// The certificate `database`'s backup needs for TDE, as coverage (given `runs` for Keysafe's
/// history) judges it: its verdict and where coverage learnt the need.
async fn tde_verdict(
    c: &mut SqlConnection,
    database: &str,
    thumbprint: &str,
    runs: &[crate::history::RunRecord],
) -> Result<(crate::coverage::Verdict, String, Option<String>)> {
    let cov = crate::coverage::coverage(c, 1, runs).await?;
    let backup = cov
        .backups
        .iter()
        .find(|b| b.database.eq_ignore_ascii_case(database))
        .ok_or_else(|| failed(format!("Coverage lists no backup of {database}.")))?;
    let need = backup
        .needs
        .iter()
        .find(|n| n.kind == crate::coverage::NeedKind::Tde)
        .ok_or_else(|| {
            failed(format!(
                "Coverage does not say the backup of the TDE database {database} needs its TDE certificate: needs {:?}, unknown {:?}",
                backup.needs, backup.unknown
            ))
        })?;
    if !need.thumbprint.eq_ignore_ascii_case(thumbprint) {
        return Err(failed(format!(
            "Coverage says the backup of {database} needs certificate {} for TDE; its database encryption key is protected by {thumbprint}.",
            need.thumbprint
        )));
    }
    let cert = cov
        .certificates
        .iter()
        .find(|x| x.thumbprint.eq_ignore_ascii_case(thumbprint))
        .ok_or_else(|| failed(format!("Coverage judges no certificate {thumbprint}.")))?;
    Ok((cert.verdict, need.source.clone(), cert.copy_report.clone()))
}

/// Whether the self-test may encrypt a database with TDE here: encrypting one also encrypts
/// tempdb until the instance restarts, which no cleanup undoes, so only on a throw-away
/// instance (`may_change_master`) or where tempdb is encrypted already.
pub async fn may_encrypt_a_database(
    c: &mut SqlConnection,
    may_change_master: bool,
) -> Result<bool> {
    if may_change_master {
        return Ok(true);
    }
    Ok(
        c.rows("SELECT COUNT(*) FROM sys.dm_database_encryption_keys WHERE database_id = 2")
            .await?
            .first()
            .and_then(|r| r.get::<i32, _>(0))
            .unwrap_or(0)
            > 0,
    )
}

/// A TDE database (its certificate in master), a BACKUP DATABASE of it, and coverage's verdict
/// on the certificate that backup needs: at risk while the certificate is only on the server,
/// covered once Keysafe backed it up (the run's history record given to coverage), and once
/// the database and the certificate are dropped, lost without that record and copy only with
/// it. Encrypting a database also encrypts tempdb until the instance restarts, which no
/// cleanup undoes: only on a throw-away instance, or one where a database is encrypted
/// already (tempdb with it); otherwise the detail says it was not tried.
async fn tde_coverage(
    st: &SelfTest,
    c: &mut SqlConnection,
    s: &mut Scratch,
    inv: &crate::inventory::Inventory,
    dir: &str,
) -> Result<String> {
    use crate::coverage::Verdict;
    if !may_encrypt_a_database(c, st.may_change_master).await? {
        return Ok("the TDE database was not tried: encrypting a database with TDE also encrypts tempdb until the instance restarts, which the self-test cannot undo; it does so only on a throw-away instance (--throwaway-instance, KEYSAFE_TEST_THROWAWAY=1) or where a database is encrypted already".into());
    }
    let db = s.database(c, "tde").await?;
    let cert = s.master_certificate(c, "tdecert").await?;
    s.encrypt_database(c, &db, &cert).await?;
    let one = async |c: &mut SqlConnection, query: String, what: String| -> Result<String> {
        c.rows(&query)
            .await?
            .first()
            .and_then(|r| r.get::<&str, _>(0).map(str::to_string))
            .ok_or_else(|| failed(what))
    };
    let thumbprint = one(
        c,
        format!(
            "SELECT CONVERT(nvarchar(64), thumbprint, 2) FROM master.sys.certificates WHERE name = {}",
            literal(&cert, "a certificate name", 128)?
        ),
        format!("The certificate {cert} is not in master.sys.certificates."),
    )
    .await?;
    let encryptor = one(
        c,
        format!(
            "SELECT CONVERT(nvarchar(64), encryptor_thumbprint, 2) FROM sys.dm_database_encryption_keys WHERE database_id = DB_ID({})",
            literal(&db, "a database name", 128)?
        ),
        format!("{db} has no database encryption key in sys.dm_database_encryption_keys."),
    )
    .await?;
    if !encryptor.eq_ignore_ascii_case(&thumbprint) {
        return Err(failed(format!(
            "{db}'s database encryption key is protected by {encryptor}, not by {cert} ({thumbprint})."
        )));
    }
    let file = format!("{dir}{}{}.bak", inv.server.path_separator, s.name("tde"));
    s.made_history(&db);
    c.execute(&format!(
        "BACKUP DATABASE {} TO DISK = {};",
        ident(&db)?,
        path_literal(&file)?
    ))
    .await?;
    let expect = |when: &str, got: (Verdict, String, Option<String>), want: Verdict| {
        if got.0 == want {
            Ok(got)
        } else {
            Err(failed(format!(
                "{when}, coverage judges the TDE certificate {cert} ({thumbprint}) that the backup {file} needs {:?} ({}), not {:?} ({}).",
                got.0,
                got.0.title(),
                want,
                want.title()
            )))
        }
    };
    let (_, source, _) = expect(
        "Before Keysafe backed it up",
        tde_verdict(c, &db, &thumbprint, &[]).await?,
        Verdict::ServerOnly,
    )?;

    // Keysafe backs the certificate up, as `keysafe backup cert` would.
    let set = settings(
        st,
        Selection::Keys(vec![KeyRef::Certificate {
            database: "master".into(),
            name: cert.clone(),
        }]),
        "coverage",
    );
    std::fs::create_dir_all(&set.backup.copy_to)?;
    let r = crate::run::back_up_instance(
        &st.target,
        &set,
        &Secrets::new(crate::password::generate(24)),
        &|_| {},
    )
    .await;
    all_verified(&r)?;
    let (report, record) = backup_report_and_record(&set.backup.copy_to, r)?;
    let runs = [record];
    let (_, _, copy) = expect(
        "After Keysafe backed it up",
        tde_verdict(c, &db, &thumbprint, &runs).await?,
        Verdict::Covered,
    )?;
    if copy.as_deref() != Some(&*report.json.display().to_string()) {
        return Err(failed(format!(
            "Coverage names {copy:?} as the certificate's copy, not the run's report {}.",
            report.json.display()
        )));
    }

    // The database and its certificate dropped: only the backup file says what it needs.
    c.execute(&format!(
        "USE master; DROP DATABASE {}; DROP CERTIFICATE {};",
        ident(&db)?,
        ident(&cert)?
    ))
    .await?;
    s.forget_certificate(&cert);
    let (_, dropped_source, _) = expect(
        "With the database and the certificate dropped and no Keysafe copy",
        tde_verdict(c, &db, &thumbprint, &[]).await?,
        Verdict::Lost,
    )?;
    expect(
        "With the database and the certificate dropped and Keysafe's copy",
        tde_verdict(c, &db, &thumbprint, &runs).await?,
        Verdict::CopyOnly,
    )?;
    Ok(format!(
        "the TDE database {db}'s backup {file} needs its TDE certificate {cert} ({thumbprint}): before Keysafe's copy coverage says {} (from {source}); after Keysafe backed it up (report {}), {}; with the database and certificate dropped, {} (from {dropped_source}), and {} with Keysafe's copy",
        Verdict::ServerOnly.title(),
        report.html.display(),
        Verdict::Covered.title(),
        Verdict::Lost.title(),
        Verdict::CopyOnly.title()
    ))
}

/// A login with CONTROL on one database and ADMINISTER BULK OPERATIONS (what README's table
/// documents for `backup dmk`), and its connection options.
async fn operator(
    st: &SelfTest,
    c: &mut SqlConnection,
    s: &mut Scratch,
    db: &str,
) -> Result<(String, ConnectOptions)> {
    let password = crate::password::generate(24);
    let login = s.login(c, "operator", &password).await?;
    c.execute(&format!(
        "USE {db}; CREATE USER {u} FOR LOGIN {u}; GRANT CONTROL TO {u}; USE master; GRANT ADMINISTER BULK OPERATIONS TO {u};",
        db = ident(db)?,
        u = ident(&login)?
    ))
    .await?;
    let mut o = st.target.clone();
    o.authentication = Authentication::SqlServer {
        login: login.clone(),
        password,
    };
    Ok((login, o))
}

/// A backup by `login` without `missing` (as `what` says it): it must fail, and its error
/// must name `missing`.
async fn refused_naming(
    o: &ConnectOptions,
    set: &RunSettings,
    secrets: &Secrets,
    login: &str,
    missing: &str,
    what: &str,
) -> Result<KeysafeError> {
    let r = crate::run::back_up_instance(o, set, secrets, &|_| {}).await;
    let e = r.first_error().cloned().ok_or_else(|| {
        failed(format!(
            "Without {what} the backup by {login} did not fail."
        ))
    })?;
    if !e.describe().contains(missing) {
        return Err(failed(format!(
            "Without {what} the error does not name it: {}",
            e.describe()
        )));
    }
    Ok(e)
}

async fn check_least_privilege(st: &SelfTest) -> Result<Done> {
    with_scratch(&st.target, async |c, s| {
        let (db, _) = keys_database(c, s).await?;
        let (login, o) = operator(st, c, s, &db).await?;
        // The folder exists first: only CONTROL SERVER may create it (xp_create_subdir).
        let (_, dir) = server_dir(st, c).await?;
        crate::backup::ensure_server_dir(c, &dir).await?;
        let set = settings(
            st,
            Selection::DatabaseMasterKeys(vec![db.clone()]),
            "least-privilege",
        );
        std::fs::create_dir_all(&set.backup.copy_to)?;
        let secrets = Secrets::new(crate::password::generate(24));
        let r = crate::run::back_up_instance(&o, &set, &secrets, &|_| {}).await;
        all_verified(&r)?;
        c.execute(&format!(
            "USE {}; REVOKE CONTROL TO {};",
            ident(&db)?,
            ident(&login)?
        ))
        .await?;
        let e = refused_naming(&o, &set, &secrets, &login, "CONTROL", &format!("CONTROL on {db}")).await?;
        // CONTROL back, ADMINISTER BULK OPERATIONS (the server's hash of its file) away.
        c.execute(&format!(
            "USE {db}; GRANT CONTROL TO {u}; USE master; REVOKE ADMINISTER BULK OPERATIONS TO {u};",
            db = ident(&db)?,
            u = ident(&login)?
        ))
        .await?;
        let bulk = refused_naming(
            &o,
            &set,
            &secrets,
            &login,
            "ADMINISTER BULK OPERATIONS",
            "ADMINISTER BULK OPERATIONS",
        )
        .await?;
        Ok(Done::Passed(format!(
            "{login} (CONTROL on {db}, ADMINISTER BULK OPERATIONS) backed up its master key; without CONTROL: {}; without ADMINISTER BULK OPERATIONS: {}",
            e.message, bulk.message
        )))
    })
    .await
}

async fn check_weak_password(_st: &SelfTest) -> Result<Done> {
    let weak = Password::new("keysafe");
    match crate::run::check_backup_password(&weak) {
        Ok(()) => Err(failed(
            "A seven-letter lower-case backup password passed the policy.",
        )),
        Err(e) if e.code == ErrorCode::PasswordPolicy => Ok(Done::Passed(format!(
            "refused before sending: {}",
            e.message
        ))),
        Err(e) => Err(failed(format!(
            "A weak password was refused for another reason: {}",
            e.describe()
        ))),
    }
}

async fn check_missing_folder(st: &SelfTest) -> Result<Done> {
    with_scratch(&st.target, async |c, s| {
        let (db, _) = keys_database(c, s).await?;
        let (login, o) = operator(st, c, s, &db).await?;
        let (inv, base) = server_dir(st, c).await?;
        let missing = format!("{base}{}{}", inv.server.path_separator, s.name("missing"));
        let mut set = settings(
            st,
            Selection::DatabaseMasterKeys(vec![db.clone()]),
            "missing-folder",
        );
        set.backup.server_dir = Some(missing.clone());
        set.server_dir_local = None;
        std::fs::create_dir_all(&set.backup.copy_to)?;
        let r = crate::run::back_up_instance(
            &o,
            &set,
            &Secrets::new(crate::password::generate(24)),
            &|_| {},
        )
        .await;
        let e = r.first_error().cloned().ok_or_else(|| {
            failed(format!(
                "A backup by {login} into the missing {missing} did not fail."
            ))
        })?;
        if e.next_step.is_none() || e.server.is_none() {
            return Err(failed(format!(
                "The refusal is not explained (no next step or no server message): {}",
                e.describe()
            )));
        }
        Ok(Done::Passed(format!(
            "into {missing}, which {login} may not create: {} (SQL Server: Msg {})",
            e.message,
            e.server.as_ref().map(|m| m.number).unwrap_or_default()
        )))
    })
    .await
}
