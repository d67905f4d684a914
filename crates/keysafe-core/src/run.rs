//! A whole run: one instance or a fleet, each isolated from the others' failures, with
//! bounded concurrency and one consolidated report.

use crate::backup::{self, BackupOptions, KeyRef};

use crate::connection::{connect, ConnectOptions};
use crate::error::{ErrorCode, KeysafeError};
use crate::inventory::{self, Inventory};
use crate::report::InstanceReport;
use futures_util::StreamExt;
use std::path::PathBuf;

/// Which keys to back up on each instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    ServiceMasterKey,
    /// These databases' master keys, or every one when empty.
    DatabaseMasterKeys(Vec<String>),
    /// These certificates ("db.name"), or every one with a private key when empty.
    Certificates(Vec<(String, String)>),
    All,
    /// Exactly these keys (Object Explorer's selection).
    Keys(Vec<KeyRef>),
}

impl Selection {
    pub fn resolve(&self, inv: &Inventory) -> Vec<KeyRef> {
        let dmks = |only: &[String]| -> Vec<KeyRef> {
            inv.databases
                .iter()
                .filter(|d| {
                    d.master_key.is_some()
                        && (only.is_empty() || only.iter().any(|o| o.eq_ignore_ascii_case(&d.name)))
                })
                .map(|d| KeyRef::DatabaseMasterKey {
                    database: d.name.clone(),
                })
                .collect()
        };
        let certs = |only: &[(String, String)]| -> Vec<KeyRef> {
            inv.databases
                .iter()
                .flat_map(|d| d.certificates.iter().map(move |c| (d, c)))
                .filter(|(d, c)| {
                    if only.is_empty() {
                        c.private_key != "NA"
                    } else {
                        only.iter().any(|(db, n)| {
                            db.eq_ignore_ascii_case(&d.name) && n.eq_ignore_ascii_case(&c.name)
                        })
                    }
                })
                .map(|(d, c)| KeyRef::Certificate {
                    database: d.name.clone(),
                    name: c.name.clone(),
                })
                .collect()
        };
        match self {
            Selection::ServiceMasterKey => vec![KeyRef::ServiceMasterKey],
            Selection::DatabaseMasterKeys(only) => dmks(only),
            Selection::Certificates(only) => certs(only),
            Selection::Keys(keys) => keys.clone(),
            Selection::All => {
                let mut v = vec![KeyRef::ServiceMasterKey];
                v.extend(dmks(&[]));
                v.extend(certs(&[]));
                v
            }
        }
    }
}

/// Everything but the connection, shared by every instance of a run.
#[derive(Clone)]
pub struct RunSettings {
    pub selection: Selection,
    pub backup: BackupOptions,
    /// Prove restorability in scratch databases (needs CREATE ANY DATABASE).
    pub verify_restore: bool,
    /// Where `server_dir` is visible from this machine (a mounted share): read directly.
    pub server_dir_local: Option<PathBuf>,
    /// Principals besides SYSTEM, Administrators and the service account that get full
    /// control of a Windows server folder (SIDs or DOMAIN\name, e.g. DOMAIN\HOST$ for a share).
    pub acl_principals: Vec<String>,
}

/// Progress, for a terminal or a window (the desktop app sends it to its UI as it is).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    Connecting {
        server: String,
    },
    Planned {
        server: String,
        keys: usize,
    },
    /// The server folder exists and has been protected (or the protection described).
    FolderReady {
        server: String,
        folder: String,
        protection: String,
    },
    KeyStarted {
        server: String,
        key: String,
    },
    KeyDone {
        server: String,
        key: String,
        verified: bool,
    },
    InstanceDone {
        server: String,
        verified: bool,
    },
    /// The run's reports: HTML, JSON, CSV, in that order.
    ReportWritten {
        paths: Vec<String>,
    },
}

/// How many instances a fleet run backs up at once unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// A whole run as the CLI and the desktop app start it: what to back up where, the custody
/// record, and where the reports and the history go.
pub struct RunRequest {
    pub targets: Vec<ConnectOptions>,
    pub settings: RunSettings,
    pub concurrency: usize,
    pub custody: crate::report::Custody,
    /// Where the JSON, HTML and CSV reports are written.
    pub report_dir: PathBuf,
    /// The run history (hash-chained JSON lines).
    pub history: PathBuf,
}

/// What a run leaves: the report and where its files are.
pub struct RunRecord {
    pub report: crate::report::Report,
    pub files: crate::report::ReportFiles,
}

/// The backup password against the policy SQL Server enforces (Windows' defaults), before
/// anything is sent: a refusal names the Msg SQL Server would have answered.
pub fn check_backup_password(p: &crate::Password) -> crate::Result<()> {
    crate::password::check_policy(p, None).map_err(|v| {
        KeysafeError::new(ErrorCode::PasswordPolicy, v.explain()).next(format!(
            "Nothing was sent. SQL Server would answer Msg {}.",
            v.sql_error()
        ))
    })
}

/// Checks the medium before anything is sent: it must be usable (created when missing), and
/// what is known about its volume (not removable, nearly full) comes back as warnings.
pub fn prepare_medium(copy_to: &std::path::Path) -> crate::Result<Vec<String>> {
    std::fs::create_dir_all(copy_to).map_err(|e| {
        KeysafeError::new(
            ErrorCode::MediumRemoved,
            format!("Cannot use {} as the backup medium: {e}", copy_to.display()),
        )
        .next("Check that the medium is inserted and writable.")
    })?;
    Ok(crate::volumes::check_destination(copy_to, 0).warnings)
}

/// Runs a backup from start to end, as both front ends do: the backup password checked
/// against the policy before anything is sent, the medium prepared, every instance backed up
/// (`concurrency` at a time), the report written and the run recorded in the history.
pub async fn execute(
    req: &RunRequest,
    progress: &(dyn Fn(Progress) + Sync),
) -> crate::Result<RunRecord> {
    check_backup_password(&req.settings.backup.password)?;
    if req.targets.is_empty() {
        return Err(KeysafeError::new(
            ErrorCode::InvalidInput,
            "Choose at least one instance.",
        ));
    }
    prepare_medium(&req.settings.backup.copy_to)?;
    let started = chrono::Utc::now();
    tracing::info!(instances = req.targets.len(), "backup run started");
    let reports = back_up_fleet(&req.targets, &req.settings, req.concurrency, progress).await;
    let report = crate::report::Report::new(
        crate::report::current_operator(),
        started,
        req.settings.backup.copy_to.clone(),
        req.custody.clone(),
        reports,
    );
    let files = report.write_files(&req.report_dir)?;
    crate::history::record_run(&req.history, &report, &files.json)?;
    progress(Progress::ReportWritten {
        paths: files
            .all()
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    });
    tracing::info!(run = %report.run_id, verified = report.summary.keys_verified, "backup run finished");
    Ok(RunRecord { report, files })
}

/// The folder for one instance's copies on the medium.
pub fn medium_folder(copy_to: &std::path::Path, server: &str) -> PathBuf {
    let safe: String = server
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    copy_to.join(safe)
}

pub async fn back_up_instance(
    o: &ConnectOptions,
    s: &RunSettings,
    progress: &(dyn Fn(Progress) + Sync),
) -> InstanceReport {
    let label = o.server.to_string();
    progress(Progress::Connecting {
        server: label.clone(),
    });
    let mut report = InstanceReport {
        server: label.clone(),
        facts: None,
        server_folder: None,
        folder_protection: String::new(),
        folder_protection_failed: false,
        keys: vec![],
        error: None,
    };
    let result: crate::Result<()> = async {
        let mut c = connect(o).await?;
        let inv = inventory::inventory(&mut c).await?;
        report.server = inv.server.server_name.clone();
        report.facts = Some(inv.server.clone());
        // Known before anything is written: SQL Server will not let this login read back.
        let forecast = &inv.server.read_back;
        if forecast.verdict == crate::inventory::ReadBackVerdict::Impossible {
            let mut e = KeysafeError::new(
                ErrorCode::PermissionDenied,
                format!("Nothing was backed up: {}", forecast.reason),
            );
            if let Some(fix) = &forecast.fix {
                e = e.next(fix.clone());
            }
            return Err(e);
        }
        let keys = s.selection.resolve(&inv);
        if keys.is_empty() {
            return Err(KeysafeError::new(
                ErrorCode::NotFound,
                "There is nothing to back up on this instance for that selection.",
            ));
        }
        // Each key is planned on its own: one that cannot be planned (a password-only master
        // key without its password) fails alone.
        let now = chrono::Utc::now();
        let mut plan = Vec::new();
        let mut unplanned = Vec::new();
        for key in keys {
            match backup::plan(&inv, std::slice::from_ref(&key), &s.backup, now) {
                Ok(mut p) => plan.append(&mut p),
                Err(e) => unplanned.push(backup::KeyResult {
                    key: key.clone(),
                    outcome: backup::Outcome::Failed,
                    script: String::new(),
                    files: vec![],
                    started: now,
                    finished: now,
                    error: Some(e),
                    restore_check: None,
                }),
            }
        }
        report.keys.append(&mut unplanned);
        progress(Progress::Planned {
            server: report.server.clone(),
            keys: plan.len(),
        });
        let dir = match &s.backup.server_dir {
            Some(d) => d.clone(),
            None => backup::default_server_dir(&inv)?,
        };
        let folder_note = backup::ensure_server_dir(&mut c, &dir).await?;
        if forecast.verdict == crate::inventory::ReadBackVerdict::Conditional {
            backup::probe_read_back(&mut c, &dir, &inv.server.path_separator).await?;
        }
        (report.folder_protection, report.folder_protection_failed) = protect_folder(
            o,
            &inv,
            &dir,
            s.server_dir_local.as_deref(),
            &s.acl_principals,
        );
        if let Some(note) = folder_note {
            report.folder_protection = format!("{note} {}", report.folder_protection);
        }
        progress(Progress::FolderReady {
            server: report.server.clone(),
            folder: dir.clone(),
            protection: report.folder_protection.clone(),
        });
        report.server_folder = Some(dir);
        // @@SERVERNAME plus the address: cloned servers share a name but not an address.
        let addr = o.server.to_string();
        let folder = if addr.eq_ignore_ascii_case(&report.server) {
            addr
        } else {
            format!("{}_{addr}", report.server)
        };
        let dest = medium_folder(&s.backup.copy_to, &folder);
        std::fs::create_dir_all(&dest).map_err(|e| {
            KeysafeError::new(
                ErrorCode::MediumRemoved,
                format!("Cannot create {} on the backup medium: {e}", dest.display()),
            )
            .next("Check that the medium is inserted and writable.")
        })?;
        for p in &plan {
            let view = s
                .server_dir_local
                .as_ref()
                .zip(report.server_folder.as_ref())
                .map(|(l, d)| backup::LocalView {
                    server_dir: d.clone(),
                    local_dir: l.clone(),
                });
            progress(Progress::KeyStarted {
                server: report.server.clone(),
                key: p.key.label(),
            });
            let mut r = backup::run_one_with(&mut c, p, &dest, view.as_ref()).await;
            if s.verify_restore && r.error.is_none() {
                let proof = crate::restore_check::check(&mut c, &r, &s.backup.password).await;
                // The user asked for the proof: without it the key is not verified.
                if let crate::restore_check::RestoreCheck::Failed { reason, .. } = &proof {
                    r.outcome = backup::Outcome::Failed;
                    r.error = Some(
                        KeysafeError::new(
                            ErrorCode::RestoreCheckFailed,
                            format!("The backup was copied, but restoring it failed: {reason}"),
                        )
                        .next("Do not rely on this backup: back the key up again, then restore it on a test server."),
                    );
                }
                r.restore_check = Some(proof);
            }
            progress(Progress::KeyDone {
                server: report.server.clone(),
                key: r.key.label(),
                verified: r.error.is_none(),
            });
            let lost = r.error.as_ref().is_some_and(|e| {
                matches!(e.code, ErrorCode::ConnectionLost | ErrorCode::MediumRemoved)
            });
            report.keys.push(r);
            if lost {
                break;
            }
        }
        Ok(())
    }
    .await;
    report.error = result.err();
    progress(Progress::InstanceDone {
        server: report.server.clone(),
        verified: report.all_verified(),
    });
    report
}

/// Many instances, at most `concurrency` at a time; reports come back in input order.
pub async fn back_up_fleet(
    targets: &[ConnectOptions],
    s: &RunSettings,
    concurrency: usize,
    progress: &(dyn Fn(Progress) + Sync),
) -> Vec<InstanceReport> {
    // Boxed and collected before awaiting: a closure held across the await trips the
    // compiler's higher-ranked Send check when a caller (a Tauri command) must prove the
    // run is Send.
    type Job<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = InstanceReport> + Send + 'a>>;
    let mut jobs: Vec<Job<'_>> = Vec::with_capacity(targets.len());
    for o in targets {
        jobs.push(Box::pin(back_up_instance(o, s, progress)));
    }
    futures_util::stream::iter(jobs)
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// Who gets read access to the server folder besides those with full control: a Windows
/// login's own account, since SQL Server reads the backups back as that account.
fn folder_readers(inv: &Inventory) -> Vec<String> {
    if inv.server.windows_login {
        inv.server.login_sid.iter().cloned().collect()
    } else {
        vec![]
    }
}

/// The DACL Keysafe applies to a Windows server folder, as SDDL: protected; full control for
/// SYSTEM, Administrators, the instance's service SID and `extra` (SIDs); read access for the
/// Windows account of a Windows-authenticated login. What an administrator (or a test) sets
/// where Keysafe cannot reach the folder.
pub fn intended_folder_sddl(inv: &Inventory, extra: &[String]) -> crate::Result<String> {
    use crate::windows::{sddl, sid};
    let svc = inv
        .server
        .service_account
        .as_deref()
        .and_then(sid::service_name)
        .map(sid::service_sid)
        .ok_or_else(|| {
            KeysafeError::new(
                ErrorCode::NotFound,
                "The SQL Server service account is unknown or not a virtual account (needs VIEW SERVER STATE).",
            )
        })?;
    let readers = folder_readers(inv);
    sddl::backup_folder_dacl(&svc, extra, &readers)
        .map_err(|e| KeysafeError::new(ErrorCode::InvalidInput, e.to_string()))
}

/// Applies restrictive permissions to the server folder where this machine can: SQL Server
/// on Linux running here gets 0700 owned by its service account; on Windows the protected
/// DACL is applied to a folder reachable from here; otherwise the report carries the exact
/// icacls commands for the server and says the ACL is not verified. `local_view` is where the
/// user said the server folder is visible from here (--server-dir-local): it wins over any
/// path Keysafe would guess.
fn protect_folder(
    o: &ConnectOptions,
    inv: &Inventory,
    dir: &str,
    local_view: Option<&std::path::Path>,
    extra: &[String],
) -> (String, bool) {
    use crate::protection::FolderProtection;
    use crate::windows::{paths::WindowsPath, sid};
    let local = ["localhost", "127.0.0.1", "::1", "."]
        .iter()
        .any(|h| o.server.host.eq_ignore_ascii_case(h));
    let account = inv.server.service_account.as_deref();
    let readers = folder_readers(inv);
    // Applied and read back as something else: a failed check, not a missing one.
    let describe = |out: crate::protection::ProtectionOutcome| {
        let failed = !out.applied && out.read_back.is_some();
        let text = match out.read_back {
            Some(r) => format!("{} (read back: {r})", out.note),
            None => out.note,
        };
        (text, failed)
    };
    if !inv.server.is_windows() {
        #[cfg(unix)]
        if local && std::path::Path::new(dir).is_dir() {
            return describe(
                crate::protection::PosixLocal.protect(std::path::Path::new(dir), account),
            );
        }
        return describe(
            crate::protection::RemoteServer.protect(std::path::Path::new(dir), account),
        );
    }
    let Some(wp) = WindowsPath::parse(dir) else {
        return (
            format!("ACL not verified: '{dir}' is not a Windows path."),
            false,
        );
    };
    #[cfg(windows)]
    {
        let reachable = match local_view {
            Some(v) => v.to_path_buf(),
            None if local || wp.is_unc() => dir.into(),
            None => wp.from_elsewhere(&o.server.host).into(),
        };
        let p = reachable.as_path();
        if p.is_dir() {
            return describe(
                crate::windows::acl::WindowsAcl {
                    extra: extra.to_vec(),
                    readers: readers.clone(),
                }
                .protect(p, account),
            );
        }
    }
    let _ = (local, local_view);
    let mut principals = vec![
        sid::LOCAL_SYSTEM.to_string(),
        sid::ADMINISTRATORS.to_string(),
    ];
    match account {
        Some(a) => principals.push(sid::service_name(a).map(sid::service_sid).unwrap_or_else(|| a.to_string())),
        None => return ("ACL not verified: the service account is unknown (needs VIEW SERVER STATE), so no ACL can be prepared.".into(), false),
    }
    principals.extend(extra.iter().cloned());
    let share_note = if wp.is_unc() && account.is_some_and(|a| sid::service_name(a).is_some()) {
        " The folder is on a share: also grant the SQL Server computer account (DOMAIN\\HOST$), which is how a virtual account reaches the network."
    } else {
        ""
    };
    let text = match crate::windows::paths::icacls_commands(dir, &principals, &readers) {
        Ok(cmds) => format!("ACL not verified: the folder is not reachable from this machine. Run on the server:\n{}{share_note}", cmds.join("\n")),
        Err(e) => format!("ACL not verified: {e}"),
    };
    (text, false)
}
