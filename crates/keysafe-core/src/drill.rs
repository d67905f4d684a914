//! The recovery drill: proof, before the disaster, that the medium and the passwords in custody
//! are enough. On an instance the administrator designated as scratch (never the one the keys
//! came from), every key a report holds is restored from the medium alone: certificates FROM
//! BINARY, each database master key into a throw-away database, the service master key with
//! FORCE (last: it makes the scratch instance's own master keys unopenable by it). Each is
//! proven as a restore proves it. Then a sample of the source's kept backups, per certificate,
//! is read with RESTORE VERIFYONLY on the scratch instance: proof that they restore with what
//! the medium holds. Everything the drill created is dropped; the source is only read.

use crate::backup::KeyRef;
use crate::connection::SqlConnection;
use crate::coverage::RetainedBackup;
use crate::error::{ErrorCode, KeysafeError, Result};
use crate::recovery::{self, CopyCheck, MediumCheck};
use crate::restore::{self, Placement, RestoreRequest, RestoreSecrets};
use crate::secret::Password;
use crate::{password, tsql};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What to drill, from which medium, and how the scratch instance reaches files.
#[derive(Debug, Clone)]
pub struct DrillRequest {
    /// The report (keysafe-report-*.json) or the medium folder holding it.
    pub report: PathBuf,
    /// Which instance's keys, when the report holds several.
    pub from_server: Option<String>,
    /// The scratch server's folder for the files it must read itself (the service and
    /// database master keys), and where this machine sees it. Without the local path those
    /// keys fail the drill: nobody is there to copy files by hand.
    pub server_dir: Option<String>,
    pub server_dir_local: Option<PathBuf>,
    /// Kept backups are read where the source's msdb says they are, except where a prefix
    /// here says how the scratch instance sees that folder (`D:\Backup` -> `\\sql01\backup`).
    pub backups_seen_as: Vec<(String, String)>,
    /// How many kept backups per certificate are read (the newest first).
    pub sample: usize,
    /// How far back the source's msdb is read.
    pub retention_days: u32,
    /// The scratch instance's name as the administrator typed it: needed the first time an
    /// instance is drilled on, then remembered in `designations`.
    pub confirmed_scratch: Option<String>,
    /// The file that remembers which instances were designated scratch (in Keysafe's home).
    pub designations: PathBuf,
}

/// What a drill does to the scratch instance, shown before the typed confirmation.
pub const SCRATCH_CONSEQUENCES: &str = "The drill restores the service master key with FORCE on the scratch instance (its own service master key is replaced for good, and whatever it protected there is lost), creates the medium's certificates in its master database and its database master keys in throw-away databases, then drops what it created. Use an instance nothing depends on.";

/// The medium checked for a drill: every copy of the source's keys read and found to be what
/// the report recorded, before any server is reached.
pub struct Medium {
    check: MediumCheck,
    pub source: String,
    pub keys: Vec<KeyRef>,
}

fn err(code: ErrorCode, m: impl Into<String>) -> KeysafeError {
    KeysafeError::new(code, m)
}

/// Checks every copy the report lists for the source instance. Any copy missing, changed or
/// pointing outside the medium stops the drill here, before a connection is made.
pub fn check_medium(req: &DrillRequest) -> Result<Medium> {
    let check = recovery::check_copies(&req.report, |server, _| {
        req.from_server
            .as_ref()
            .is_none_or(|s| server.eq_ignore_ascii_case(s))
    })?;
    let servers: std::collections::BTreeSet<&str> =
        check.copies.iter().map(|c| c.server.as_str()).collect();
    let source = match servers.len() {
        0 => {
            return Err(err(
                ErrorCode::NotFound,
                format!(
                    "{} lists no verified copy of any key{}: there is nothing to drill.",
                    check.report.display(),
                    req.from_server
                        .as_ref()
                        .map(|s| format!(" of {s}"))
                        .unwrap_or_default()
                ),
            ))
        }
        1 => servers.into_iter().next().unwrap_or_default().to_string(),
        _ => {
            return Err(err(
                ErrorCode::InvalidInput,
                format!(
                    "The report holds the keys of {} instances ({}).",
                    servers.len(),
                    servers.into_iter().collect::<Vec<_>>().join(", ")
                ),
            )
            .next("Say which one with --from-server."))
        }
    };
    let bad: Vec<String> = check.copies.iter().filter_map(CopyCheck::problem).collect();
    if !bad.is_empty() {
        return Err(err(
            ErrorCode::VerificationFailed,
            format!(
                "The medium fails the drill before anything was sent to a server: {}.",
                bad.join("; ")
            ),
        )
        .next("Use another copy of this backup (the off-site medium), or back the keys up again from the source."));
    }
    let mut keys: Vec<KeyRef> = Vec::new();
    for c in &check.copies {
        if !keys.contains(&c.key_ref) {
            keys.push(c.key_ref.clone());
        }
    }
    Ok(Medium {
        check,
        source,
        keys,
    })
}

/// One instance designated as scratch, and when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Designation {
    pub instance: String,
    pub designated: DateTime<Utc>,
    pub by: String,
}

/// The instances designated as scratch so far (none when the file is missing). A file that
/// is not a list of designations designates nothing.
pub fn designations(file: &Path) -> Vec<Designation> {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn designate(file: &Path, instance: &str) -> Result<()> {
    let mut all = designations(file);
    if all
        .iter()
        .any(|d| d.instance.eq_ignore_ascii_case(instance))
    {
        return Ok(());
    }
    all.push(Designation {
        instance: instance.to_string(),
        designated: Utc::now(),
        by: crate::report::current_operator(),
    });
    let body = serde_json::to_vec_pretty(&all).expect("designations serialize");
    crate::private_fs::replace(file, &body).map_err(|e| {
        err(
            ErrorCode::Io,
            format!("Cannot write {}: {e}", file.display()),
        )
    })
}

/// How one key fared.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DrillKey {
    pub key: KeyRef,
    pub label: String,
    pub passed: bool,
    /// The restore's proof, or why it failed.
    pub detail: String,
    /// The statement sent, passwords masked.
    pub statement: String,
    pub thumbprint: Option<String>,
    /// Seconds from the drill's start until this key was restored and proven.
    pub restored_after_seconds: Option<f64>,
}

/// What became of one kept backup on the scratch instance.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum BackupResult {
    /// RESTORE VERIFYONLY read it on the scratch instance with the restored certificates.
    Proven {
        detail: String,
    },
    Failed {
        reason: String,
    },
    /// It needs certificates the medium does not hold (or that failed to restore): it cannot
    /// be restored with this medium.
    Stranded {
        missing: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DrillBackup {
    pub backup: RetainedBackup,
    /// The path the scratch instance read it from.
    pub read_as: String,
    pub result: BackupResult,
}

/// The drill's record: JSON (schema keysafe.drill/1) and HTML.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DrillReport {
    pub schema: String,
    pub run_id: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub started: DateTime<Utc>,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub finished: DateTime<Utc>,
    pub operator: String,
    pub workstation: String,
    /// The report on the medium the keys came from.
    pub medium_report: String,
    pub source: String,
    pub scratch: String,
    pub keys: Vec<DrillKey>,
    /// Kept backups read on the scratch instance (and those stranded): empty without a
    /// connection to the source.
    pub backups: Vec<DrillBackup>,
    /// Whether the source's kept backups were looked at (a source connection was given).
    pub backups_checked: bool,
    /// Why the source's backup history could not be read (the drill then fails).
    pub backups_error: Option<String>,
    /// From the start to the last key restored and proven: the time to recover.
    pub time_to_recover_seconds: Option<f64>,
    /// What the drill created and dropped again; what it could not drop.
    pub cleaned: Vec<String>,
    pub left_behind: Vec<String>,
    pub passed: bool,
}

/// A step of the drill, as it happens.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum DrillProgress {
    Key {
        label: String,
        passed: bool,
        detail: String,
    },
    Backup {
        device: String,
        result: String,
    },
}

/// Where the scratch instance reads `device`: the first prefix of `map` it starts with
/// (case-insensitively, as Windows paths compare) replaced.
pub fn read_as(device: &str, map: &[(String, String)]) -> String {
    for (from, to) in map {
        let from_t = from.trim_end_matches(['\\', '/']);
        if device.len() >= from_t.len()
            && device.is_char_boundary(from_t.len())
            && device[..from_t.len()].eq_ignore_ascii_case(from_t)
            && device[from_t.len()..]
                .chars()
                .next()
                .is_none_or(|c| c == '\\' || c == '/')
        {
            return format!(
                "{}{}",
                to.trim_end_matches(['\\', '/']),
                &device[from_t.len()..]
            );
        }
    }
    device.to_string()
}

/// Runs the drill on `scratch` with what `medium` holds; `source`, when given, is only read
/// (its msdb, for the kept backups). Refuses before any change when the scratch instance is
/// the source, or was never designated and the typed name is not its name.
pub async fn run(
    req: &DrillRequest,
    medium: Medium,
    scratch: &mut SqlConnection,
    source: Option<&mut SqlConnection>,
    backup_password: &Password,
    progress: &mut (dyn FnMut(DrillProgress) + Send),
) -> Result<DrillReport> {
    let started = Utc::now();
    let clock = std::time::Instant::now();
    scratch.require_private("the backup password and the key files")?;
    let scratch_name = scratch.server_name().await?;
    let mut source = source;
    let source_name = match source.as_deref_mut() {
        Some(s) => Some(s.server_name().await?),
        None => None,
    };
    for (what, name) in [
        ("the instance the keys came from", Some(&medium.source)),
        ("the source instance", source_name.as_ref()),
    ] {
        if name.is_some_and(|n| n.eq_ignore_ascii_case(&scratch_name)) {
            return Err(err(ErrorCode::InvalidInput, format!("{scratch_name} is {what}: a drill never runs there (it restores the service master key with FORCE). Nothing was changed."))
                .next("Run it on an instance nothing depends on (a scratch or test instance)."));
        }
    }
    if let Some(src) = &source_name {
        if !src.eq_ignore_ascii_case(&medium.source) {
            return Err(err(ErrorCode::InvalidInput, format!("The medium holds {}'s keys, but the source instance given is {src}. Nothing was changed.", medium.source)));
        }
    }
    let designated = designations(&req.designations)
        .iter()
        .any(|d| d.instance.eq_ignore_ascii_case(&scratch_name));
    if !designated {
        let typed = req.confirmed_scratch.as_deref().unwrap_or("").trim();
        if !typed.eq_ignore_ascii_case(&scratch_name) {
            return Err(err(
                ErrorCode::NotConfirmed,
                if typed.is_empty() {
                    format!("{scratch_name} has not been designated as a scratch instance: nothing was changed.")
                } else {
                    format!("'{typed}' is not {scratch_name}: nothing was changed.")
                },
            )
            .next(format!("{SCRATCH_CONSEQUENCES} To designate it, type its name ({scratch_name}); later drills on it need no confirmation.")));
        }
        designate(&req.designations, &scratch_name)?;
    }

    let mut keys: Vec<DrillKey> = Vec::new();
    let mut cleanup = Cleanup::default();
    // Certificates first (master's, which backups need, then the others), the database
    // master keys, the kept backups while master's key still opens by the service master
    // key, and the service master key last.
    let mut order: Vec<&KeyRef> = medium.keys.iter().collect();
    order.sort_by_key(|k| match k {
        KeyRef::Certificate { database, .. } if database.eq_ignore_ascii_case("master") => 0,
        KeyRef::Certificate { .. } => 1,
        KeyRef::DatabaseMasterKey { .. } => 2,
        KeyRef::ServiceMasterKey => 3,
    });
    let mut smk: Option<&KeyRef> = None;
    let mut available: Vec<String> = Vec::new();
    for key in order {
        if *key == KeyRef::ServiceMasterKey {
            smk = Some(key);
            continue;
        }
        let k = drill_key(
            req,
            &medium,
            scratch,
            key,
            backup_password,
            &mut cleanup,
            clock,
        )
        .await;
        if let (true, KeyRef::Certificate { database, .. }, Some(t)) =
            (k.passed, &k.key, &k.thumbprint)
        {
            if database.eq_ignore_ascii_case("master") {
                available.push(t.clone());
            }
        }
        told(progress, &k);
        keys.push(k);
    }

    let mut backups = Vec::new();
    let mut backups_error = None;
    let backups_checked = source.is_some();
    if let Some(src) = source {
        match crate::coverage::coverage(src, req.retention_days, &[]).await {
            Ok(cov) => backups = kept_backups(req, &cov, &available, scratch, progress).await,
            Err(e) => {
                backups_error = Some(format!(
                    "The source's backup history could not be read: {}",
                    e.message
                ))
            }
        }
    }

    if let Some(key) = smk {
        let k = drill_key(
            req,
            &medium,
            scratch,
            key,
            backup_password,
            &mut cleanup,
            clock,
        )
        .await;
        told(progress, &k);
        keys.push(k);
    }
    let last_restored = keys
        .iter()
        .filter_map(|k| k.restored_after_seconds)
        .reduce(f64::max);

    let (cleaned, left_behind) = cleanup.run(scratch).await;
    let passed = keys.iter().all(|k| k.passed)
        && backups
            .iter()
            .all(|b| matches!(b.result, BackupResult::Proven { .. }))
        && backups_error.is_none()
        && left_behind.is_empty();
    Ok(DrillReport {
        schema: "keysafe.drill/1".into(),
        run_id: uuid::Uuid::new_v4().to_string(),
        started,
        finished: Utc::now(),
        operator: crate::report::current_operator(),
        workstation: crate::report::hostname(),
        medium_report: medium.check.report.display().to_string(),
        source: medium.source.clone(),
        scratch: scratch_name,
        keys,
        backups,
        backups_checked,
        backups_error,
        time_to_recover_seconds: last_restored,
        cleaned,
        left_behind,
        passed,
    })
}

/// What the drill made on the scratch instance, dropped at the end in reverse order.
#[derive(Default)]
struct Cleanup {
    /// (label, statement)
    steps: Vec<(String, String)>,
}

impl Cleanup {
    fn add(&mut self, label: String, statement: String) {
        self.steps.push((label, statement));
    }

    async fn run(self, c: &mut SqlConnection) -> (Vec<String>, Vec<String>) {
        let (mut done, mut left) = (Vec::new(), Vec::new());
        for (label, statement) in self.steps.into_iter().rev() {
            match c.execute(&statement).await {
                Ok(()) => done.push(label),
                Err(e) => left.push(format!("{label}: {}", e.message)),
            }
        }
        (done, left)
    }
}

fn scratch_database() -> String {
    format!(
        "keysafe_drill_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn told(progress: &mut (dyn FnMut(DrillProgress) + Send), k: &DrillKey) {
    progress(DrillProgress::Key {
        label: k.label.clone(),
        passed: k.passed,
        detail: k.detail.clone(),
    });
}

/// Restores and proves one key; `clock` started with the drill (the time to recover).
async fn drill_key(
    req: &DrillRequest,
    medium: &Medium,
    c: &mut SqlConnection,
    key: &KeyRef,
    backup_password: &Password,
    cleanup: &mut Cleanup,
    clock: std::time::Instant,
) -> DrillKey {
    let mut out = DrillKey {
        key: key.clone(),
        label: key.label(),
        passed: false,
        detail: String::new(),
        statement: String::new(),
        thumbprint: None,
        restored_after_seconds: None,
    };
    match drill_key_inner(req, medium, c, key, backup_password, cleanup, &mut out).await {
        Ok(proof) => {
            out.passed = true;
            out.detail = proof;
            out.restored_after_seconds = Some(clock.elapsed().as_secs_f64());
        }
        Err(e) => {
            out.detail = match &e.next_step {
                Some(n) => format!("{} {n}", e.message),
                None => e.message.clone(),
            }
        }
    }
    out
}

async fn drill_key_inner(
    req: &DrillRequest,
    medium: &Medium,
    c: &mut SqlConnection,
    key: &KeyRef,
    backup_password: &Password,
    cleanup: &mut Cleanup,
    out: &mut DrillKey,
) -> Result<String> {
    let needs_file = matches!(
        key,
        KeyRef::ServiceMasterKey | KeyRef::DatabaseMasterKey { .. }
    );
    let placement = match (&req.server_dir_local, needs_file) {
        (Some(p), _) => Placement::Local(p.clone()),
        (None, false) => Placement::Manual {
            wait: std::time::Duration::ZERO,
        },
        (None, true) => {
            return Err(err(ErrorCode::InvalidInput, format!("The {} is read by SQL Server from a file, and the drill has no folder to put it in.", key.label()))
                .next("Give the scratch server's folder and where this machine sees it (--server-dir, --server-dir-local)."))
        }
    };
    let one_time = password::generate(32);
    let target_database = match key {
        KeyRef::ServiceMasterKey => None,
        KeyRef::Certificate { database, .. } if database.eq_ignore_ascii_case("master") => None,
        _ => {
            let db = scratch_database();
            let q = tsql::ident(&db)?;
            c.execute(&format!("CREATE DATABASE {q}")).await?;
            cleanup.add(
                format!("database {db}"),
                format!("USE master; DROP DATABASE {q}"),
            );
            Some(db)
        }
    };
    let mut rreq = RestoreRequest {
        report: medium.check.report.clone(),
        from_server: Some(medium.source.clone()),
        key: key.clone(),
        target_database: target_database.clone(),
        server_dir: req.server_dir.clone(),
        placement,
        force: *key == KeyRef::ServiceMasterKey,
        add_service_master_key: false,
        verify_backup: None,
        confirmed_instance: None,
    };
    if *key == KeyRef::ServiceMasterKey {
        rreq.confirmed_instance = Some(c.server_name().await?);
    }
    // The copies were checked with the whole medium; this reads the key's again, so what is
    // sent is what was just hashed.
    let prepared = restore::prepare(&rreq)?;
    let secrets = RestoreSecrets {
        backup: backup_password,
        master_key: Some(&one_time),
    };
    let r = restore::restore_prepared(c, &rreq, prepared, &secrets, &mut |_| {}).await;
    if let (KeyRef::Certificate { name, .. }, None) = (key, &target_database) {
        // In master: dropped unless it was there before the drill.
        let created = match &r {
            Ok(res) => !res.proof.starts_with("The certificate was already there"),
            Err(_) => false,
        };
        if created {
            cleanup.add(
                format!("certificate master.{name}"),
                format!("USE master; DROP CERTIFICATE {}", tsql::ident(name)?),
            );
        }
        if r.as_ref().is_ok_and(|res| res.created_master_key) {
            // Dropped after the certificate (cleanup runs in reverse).
            let at = cleanup.steps.len().saturating_sub(usize::from(created));
            cleanup.steps.insert(
                at,
                (
                    "master's database master key".into(),
                    "USE master; DROP MASTER KEY".into(),
                ),
            );
        }
    }
    let res = r?;
    out.statement = res.statement.clone();
    out.thumbprint = res.actual_thumbprint.clone();
    Ok(res.proof)
}

async fn kept_backups(
    req: &DrillRequest,
    cov: &crate::coverage::Coverage,
    available: &[String],
    scratch: &mut SqlConnection,
    progress: &mut (dyn FnMut(DrillProgress) + Send),
) -> Vec<DrillBackup> {
    let name_of = |t: &str| {
        cov.certificates
            .iter()
            .find(|c| c.thumbprint.eq_ignore_ascii_case(t))
            .and_then(|c| c.name.clone())
            .map(|n| format!("{n} ({t})"))
            .unwrap_or_else(|| t.to_string())
    };
    let mut out: Vec<DrillBackup> = Vec::new();
    // Every kept backup that needs a certificate the medium cannot give is stranded: all of
    // them are named, not a sample.
    let mut newest_first: Vec<&RetainedBackup> = cov.backups.iter().collect();
    newest_first.sort_by_key(|b| std::cmp::Reverse(b.finished));
    for b in &newest_first {
        let missing: Vec<String> = b
            .needs
            .iter()
            .filter(|n| {
                !available
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&n.thumbprint))
            })
            .map(|n| name_of(&n.thumbprint))
            .collect();
        if !missing.is_empty() {
            out.push(DrillBackup {
                backup: (*b).clone(),
                read_as: read_as(&b.device, &req.backups_seen_as),
                result: BackupResult::Stranded { missing },
            });
        }
    }
    // Then the newest `sample` backups of each certificate that the medium does give.
    let mut chosen: Vec<&RetainedBackup> = Vec::new();
    for t in available {
        for b in newest_first
            .iter()
            .filter(|b| b.needs.iter().any(|n| n.thumbprint.eq_ignore_ascii_case(t)))
            .filter(|b| !out.iter().any(|o| same(&o.backup, b)))
            .take(req.sample)
        {
            if !chosen.iter().any(|c| same(c, b)) {
                chosen.push(b);
            }
        }
    }
    for b in chosen {
        let path = read_as(&b.device, &req.backups_seen_as);
        let result = match restore::rehearse_set(scratch, &path, b.position).await {
            Ok(detail) => BackupResult::Proven { detail },
            Err(e) => BackupResult::Failed {
                reason: e.message.clone(),
            },
        };
        out.push(DrillBackup {
            backup: b.clone(),
            read_as: path,
            result,
        });
    }
    for b in &out {
        progress(DrillProgress::Backup {
            device: b.read_as.clone(),
            result: match &b.result {
                BackupResult::Proven { .. } => "proven".into(),
                BackupResult::Failed { reason } => format!("failed: {reason}"),
                BackupResult::Stranded { missing } => {
                    format!("stranded: needs {}", missing.join(", "))
                }
            },
        });
    }
    out
}

fn same(a: &RetainedBackup, b: &RetainedBackup) -> bool {
    a.device == b.device && a.position == b.position && a.finished == b.finished
}

/// Where a drill's report went.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DrillFiles {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub html: PathBuf,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub json: PathBuf,
}

impl DrillReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the drill report serializes")
    }

    pub fn to_html(&self) -> String {
        use minijinja::context;
        let env = crate::report::template("drill.html", include_str!("../templates/drill.html"));
        let backups: Vec<_> = self
            .backups
            .iter()
            .map(|b| {
                let (class, result, detail) = match &b.result {
                    BackupResult::Proven { detail } => ("ok", "Restorable", detail.clone()),
                    BackupResult::Failed { reason } => ("bad", "FAILED", reason.clone()),
                    BackupResult::Stranded { missing } => (
                        "bad",
                        "STRANDED",
                        format!("needs {}, which the medium does not give", missing.join(", ")),
                    ),
                };
                context! {
                    database => b.backup.database,
                    kind => match b.backup.kind.as_str() { "I" => "differential", "L" => "log", _ => "full" },
                    finished => b.backup.finished.format("%Y-%m-%d %H:%M:%S").to_string(),
                    device => b.read_as,
                    class, result, detail,
                }
            })
            .collect();
        let keys: Vec<_> = self
            .keys
            .iter()
            .map(|k| {
                context! {
                    label => k.label, passed => k.passed, detail => k.detail, thumbprint => k.thumbprint,
                    after => k.restored_after_seconds.map(|s| format!("{s:.1} s")),
                }
            })
            .collect();
        env.get_template("drill.html")
            .expect("registered")
            .render(context! {
                r => self,
                keys => keys,
                started => crate::report::when(self.started),
                ttr => self.time_to_recover_seconds.map(|s| format!("{s:.1} s")),
                backups => backups,
            })
            .expect("the drill report renders")
    }

    /// keysafe-drill-<UTC time>-<run>.{html,json} in `dir`, never replacing a file.
    pub fn write_files(&self, dir: &Path) -> Result<DrillFiles> {
        crate::private_fs::create_dir_all(dir).map_err(|e| {
            err(
                ErrorCode::Io,
                format!("Cannot create {}: {e}", dir.display()),
            )
        })?;
        let stem = format!(
            "keysafe-drill-{}-{}",
            self.started.format("%Y%m%dT%H%M%SZ"),
            &self.run_id[..8]
        );
        Ok(DrillFiles {
            json: crate::copy::write_new(dir, &format!("{stem}.json"), self.to_json().as_bytes())?,
            html: crate::copy::write_new(dir, &format!("{stem}.html"), self.to_html().as_bytes())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_path_is_read_where_the_scratch_instance_sees_its_folder() {
        let map = vec![(r"D:\Backup\".to_string(), r"\\sql01\backup".to_string())];
        assert_eq!(
            read_as(r"d:\backup\Payroll.bak", &map),
            r"\\sql01\backup\Payroll.bak"
        );
        // Only whole folder names: D:\Backup2 is another folder.
        assert_eq!(read_as(r"D:\Backup2\x.bak", &map), r"D:\Backup2\x.bak");
        assert_eq!(read_as(r"E:\x.bak", &map), r"E:\x.bak");
    }

    #[test]
    fn a_designation_file_that_is_not_a_list_designates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("scratch-instances.json");
        std::fs::write(&f, "{\"instance\": \"SQL01\"}").unwrap();
        assert!(designations(&f).is_empty());
        std::fs::remove_file(&f).unwrap();
        designate(&f, "SCRATCH01").unwrap();
        designate(&f, "scratch01").unwrap();
        let d = designations(&f);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].instance, "SCRATCH01");
    }
}
